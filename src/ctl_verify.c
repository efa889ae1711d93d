/*
 * ctl_verify.c: smshookctl verify [DAY...]: read every day file through
 * the spool reader and report each line that is not a v1 envelope
 * around an event, a last line still without '\n' (a warning: it may be
 * being written), and files in spool_dir that do not belong there.
 * One line per problem, "FILE:OFFSET: reason", then a summary.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ctl.h"
#include "ctl_day.h"
#include "ctl_rows.h"
#include "ctl_spool.h"
#include "payload.h"
#include "replay.h"
#include "utf8.h"

struct vstats {
	unsigned long long	files, lines, invalid, foreign, incomplete;
	int			errors;		/* could not read something */
};

enum jt { T_ONE, T_STR, T_ENCODING, T_BOOL, T_OBJ };

/* The v1 envelope's members and what each must hold. */
static const struct member {
	const char	*name;
	enum jt		 type;
} envelope[] = {
	{ "v",		 T_ONE },
	{ "received_at", T_STR },
	{ "remote_addr", T_STR },
	{ "encoding",	 T_ENCODING },
	{ "verified",	 T_BOOL },
	{ "payload",	 T_OBJ },
};
#define NENVELOPE (sizeof(envelope) / sizeof(envelope[0]))

/* Names in spool_dir that are not day files but are ours. */
static const struct known {
	const char	*name;
	int		 prefix;	/* 1: name is a prefix */
} known[] = {
	{ REPLAY_FILE,		0 },
	{ REPLAY_FILE ".bad-",	1 },	/* a foreign table set aside */
	{ REPLAY_FILE ".",	1 },	/* a table being created */
	{ ".smshookctl.lock",	0 },
	{ ".smshookctl.",	1 },	/* smshookctl's temporary files */
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

static const struct option longopts[] = {
	{ "help",	no_argument,	NULL,	'h' },
	{ NULL,		0,		NULL,	0 }
};

/* The usage text on f. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: smshookctl verify [DAY ...]\n"
	    "  check every day file (or the days named, YYYY-MM-DD) for\n"
	    "  invalid lines and spool_dir for foreign files; exit 1 if any\n");
}

/* Does member it hold what m says? */
static int
member_ok(const struct member *m, const cJSON *it)
{
	switch (m->type) {
	case T_ONE:
		return cJSON_IsNumber(it) && it->valuedouble == 1;
	case T_STR:
		return cJSON_IsString(it);
	case T_ENCODING:
		return cJSON_IsString(it) &&
		    (strcmp(it->valuestring, "json") == 0 ||
		    strcmp(it->valuestring, "form") == 0);
	case T_BOOL:
		return cJSON_IsBool(it);
	case T_OBJ:
		return cJSON_IsObject(it);
	}
	return 0;
}

/*
 * NULL if line is a v1 envelope around an event, else why it is not:
 * first what import would refuse, then the envelope's every member.
 */
static const char *
line_problem(const char *line, size_t len, char *why, size_t whylen)
{
	const cJSON *p, *it;
	struct ctl_line l;
	cJSON *o = NULL;
	const char *r = why;
	long long ms;
	size_t i;
	int bad;

	if (len == 0)
		return "empty line";
	if (!utf8_valid(line, len))
		return "invalid UTF-8 or NUL byte";
	if ((o = cJSON_ParseWithLength(line, len)) == NULL)
		return "not JSON";
	bad = ctl_line_parse(&l, line, len, &r);
	ctl_line_free(&l);
	if (bad) {
		snprintf(why, whylen, "%s", r);
		r = why;
		goto out;
	}
	r = why;
	if (!cJSON_IsObject(o)) {
		r = "not a JSON object";
		goto out;
	}
	for (i = 0; i < NENVELOPE; i++) {
		it = cJSON_GetObjectItemCaseSensitive(o, envelope[i].name);
		if (!member_ok(&envelope[i], it)) {
			snprintf(why, whylen, "not a v1 envelope: %s \"%s\"",
			    it == NULL ? "no" : "bad", envelope[i].name);
			goto out;
		}
	}
	p = cJSON_GetObjectItemCaseSensitive(o, "payload");
	it = cJSON_GetObjectItemCaseSensitive(p, "token");
	if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
		r = "payload has no token";
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(p, "timestamp");
	if (!(cJSON_IsNumber(it) && it->valuedouble >= 0) &&
	    !(cJSON_IsString(it) && payload_int(it->valuestring, &ms) == 0)) {
		r = "payload has no timestamp";
		goto out;
	}
	r = NULL;
 out:
	cJSON_Delete(o);
	return r;
}

/* Check every line of f; problems to stdout. */
static void
verify_file(const struct spool_file *f, struct vstats *st)
{
	struct spool_reader *r;
	const char *line, *why;
	char buf[128];
	size_t len;
	off_t off, part;
	int n;

	if ((r = spool_reader_open(f, 0)) == NULL) {
		printf("%s:0: cannot read: %s\n", f->path, strerror(errno));
		st->errors++;
		return;
	}
	st->files++;
	while ((n = spool_reader_next(r, &line, &len, &off)) == 1) {
		st->lines++;
		if ((why = line_problem(line, len, buf, sizeof(buf))) != NULL) {
			printf("%s:%lld: invalid line: %s\n", f->path,
			    (long long)off, why);
			st->invalid++;
		}
	}
	if (n == -1) {
		printf("%s:%lld: read error: %s\n", f->path,
		    (long long)spool_reader_pos(r), strerror(errno));
		st->errors++;
	} else if ((part = spool_reader_partial(r)) > 0) {
		if (f->gz) {
			/* a closed day: nobody is still writing it */
			printf("%s:%lld: invalid line: truncated last line "
			    "(%lld bytes) in a compressed day\n", f->path,
			    (long long)spool_reader_pos(r), (long long)part);
			st->invalid++;
		} else {
			printf("%s:%lld: incomplete last line (%lld bytes, "
			    "may still be being written)\n", f->path,
			    (long long)spool_reader_pos(r), (long long)part);
			st->incomplete++;
		}
	}
	spool_reader_close(r);
}

/* 1 if name is a day file, a day file's temporary or one of ours. */
static int
name_known(const char *name)
{
	static const char *const suffixes[] = { ".jsonl", ".jsonl.gz" };
	char day[11];
	const char *rest;
	size_t i;

	for (i = 0; i < NKNOWN; i++)
		if (known[i].prefix ? strncmp(name, known[i].name,
		    strlen(known[i].name)) == 0 :
		    strcmp(name, known[i].name) == 0)
			return 1;
	if (strlen(name) < 10)
		return 0;
	memcpy(day, name, 10);
	day[10] = '\0';
	if (!day_valid(day))
		return 0;
	rest = name + 10;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(rest, suffixes[i]) == 0)
			return 1;
		/* YYYY-MM-DD.jsonl.gz.tmp and the like: compress at work */
		if (strncmp(rest, suffixes[i], strlen(suffixes[i])) == 0 &&
		    strncmp(rest + strlen(suffixes[i]), ".tmp", 4) == 0)
			return 1;
	}
	return 0;
}

/* Report every name in dir that does not belong there. */
static void
find_foreign(const char *dir, struct vstats *st)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		printf("%s:0: cannot list: %s\n", dir, strerror(errno));
		st->errors++;
		return;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (name_known(de->d_name) && de->d_type != DT_DIR)
			continue;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		printf("%s/%s:0: foreign %s\n", dir, de->d_name,
		    de->d_type == DT_DIR ? "directory" : "file");
		st->foreign++;
	}
	if (errno != 0) {
		printf("%s:0: cannot list: %s\n", dir, strerror(errno));
		st->errors++;
	}
	closedir(d);
}

/* smshookctl verify: report problems; CTL_FAIL if any line or file is bad. */
int
cmd_verify(struct ctl *ctl, int argc, char *argv[])
{
	struct spool_file *files = NULL;
	struct vstats st;
	size_t n = 0, i;
	int a, rc = CTL_FAIL, done;

	while (ctl_getopt(argc, argv, "h", longopts, usage, &done) != -1)
		;
	if (done != -1)
		return done;
	for (a = optind; a < argc; a++)
		if (!day_valid(argv[a])) {
			fprintf(stderr, "smshookctl verify: \"%s\" is not a "
			    "day (YYYY-MM-DD)\n", argv[a]);
			usage(stderr);
			return CTL_USAGE;
		}
	memset(&st, 0, sizeof(st));
	if (optind == argc) {
		if (spool_list(ctl->conf.spool_dir, NULL, NULL, &files,
		    &n) == -1) {
			if (errno != ENOENT) {
				fprintf(stderr, "smshookctl verify: %s: %s\n",
				    ctl->conf.spool_dir, strerror(errno));
				goto out;
			}
			/* nothing received yet: nothing wrong either */
			printf("%s: no spool yet\n", ctl->conf.spool_dir);
		} else {
			for (i = 0; i < n; i++)
				verify_file(&files[i], &st);
			find_foreign(ctl->conf.spool_dir, &st);
		}
	}
	for (a = optind; a < argc; a++) {
		free(files);
		if (spool_list(ctl->conf.spool_dir, argv[a], argv[a], &files,
		    &n) == -1) {
			fprintf(stderr, "smshookctl verify: %s: %s\n",
			    ctl->conf.spool_dir, strerror(errno));
			files = NULL;
			goto out;
		}
		if (n == 0) {
			printf("%s/%s.jsonl:0: no such day\n",
			    ctl->conf.spool_dir, argv[a]);
			st.errors++;
		}
		for (i = 0; i < n; i++)
			verify_file(&files[i], &st);
	}
	printf("verify: %llu file%s, %llu line%s, %llu invalid, "
	    "%llu foreign, %llu incomplete, %d missing or unreadable\n",
	    st.files, st.files == 1 ? "" : "s", st.lines,
	    st.lines == 1 ? "" : "s", st.invalid, st.foreign, st.incomplete,
	    st.errors);
	if (fflush(stdout) == EOF) {
		perror("smshookctl verify: stdout");
		goto out;
	}
	if (st.invalid == 0 && st.foreign == 0 && st.errors == 0)
		rc = CTL_OK;
 out:
	free(files);
	return rc;
}
