/*
 * cmd_verify.c: smshookctl verify [DAY...]: read every day file through
 * the spool reader and report each line line_parse refuses (the rule
 * import applies too), a last line still without '\n' (a warning: it may be
 * being written), and files in spool_dir that do not belong there.
 * One line per problem, "FILE:OFFSET: reason", then a summary.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "ctl.h"
#include "day.h"
#include "line.h"
#include "reader.h"
#include "replay.h"

struct vstats {
	unsigned long long	files, lines, invalid, foreign, incomplete;
	int			errors;		/* could not read something */
};

/* Names in spool_dir that are not day files but are ours. */
static const struct known {
	const char	*name;
	int		 prefix;	/* 1: name is a prefix */
} known[] = {
	{ REPLAY_FILE,		0 },
	{ REPLAY_FILE ".bad-",	1 },	/* a foreign table set aside */
	{ REPLAY_FILE ".",	1 },	/* a table being created */
	{ CTL_LOCK_FILE,	0 },
	{ COUNTERS_FILE,	0 },	/* the receiver's answers */
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

/*
 * Check every line of f; problems to stdout. A day purged since the
 * listing is missing if it was named, else no longer one to check.
 */
static void
verify_file(const struct day_file *f, int named, struct vstats *st)
{
	struct reader *r;
	struct line ln;
	const char *line, *why;
	size_t len;
	off_t off, part;
	int n;

	if ((r = reader_open(f, 0)) == NULL) {
		if (errno == ENOENT && !named)
			return;
		printf("%s:0: cannot read: %s\n", f->path,
		    reader_strerror(errno));
		st->errors++;
		return;
	}
	st->files++;
	while ((n = reader_next(r, &line, &len, &off)) > 0) {
		if (n == READER_TORN) {
			/* a warning, as at the end of a file */
			printf("%s:%lld: %s, %zu bytes, before a later file\n",
			    f->path, (long long)off, reader_unfinished, len);
			st->incomplete++;
			continue;
		}
		st->lines++;
		if (reader_unread(n, len)) {
			/* stored under a larger max_body: not invalid */
			printf("%s:%lld: line not read: %zu bytes, longer "
			    "than max_body lets the receiver write now (raise "
			    "max_body to read it)\n", f->path, (long long)off,
			    len);
			st->errors++;
		} else if (n == READER_LONG) {
			printf("%s:%lld: invalid line: %s (%zu bytes)\n",
			    f->path, (long long)off, line_too_long, len);
			st->invalid++;
		} else if (line_parse(&ln, line, len, &why) == -1) {
			printf("%s:%lld: invalid line: %s\n", f->path,
			    (long long)off, why);
			st->invalid++;
		}
	}
	if (n == -1) {
		printf("%s:%lld: read error: %s\n", f->path,
		    (long long)reader_pos(r), reader_strerror(errno));
		st->errors++;
	} else if ((part = reader_partial(r)) > 0) {
		/*
		 * Not an error, as no reader takes it: in a compressed day
		 * it is a line the receiver was stopped in, copied as it was
		 */
		printf("%s:%lld: incomplete last line (%lld bytes, %s)\n",
		    f->path, (long long)reader_pos(r), (long long)part,
		    f->gz && f->late[0] == '\0' ? "never completed: the day "
		    "is compressed" : "a write that failed: the receiver's "
		    "next line replaces it");
		st->incomplete++;
	}
	reader_close(r);
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
		/* a spool at the root of a file system of its own */
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    (strcmp(de->d_name, "lost+found") == 0 &&
		    de->d_type == DT_DIR))
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

/* 1 if argv[a] is one of argv[from..a). */
static int
named_before(char *argv[], int from, int a)
{
	int i;

	for (i = from; i < a; i++)
		if (strcmp(argv[i], argv[a]) == 0)
			return 1;
	return 0;
}

/* smshookctl verify: report problems; CTL_FAIL if any line or file is bad. */
int
cmd_verify(struct ctl *ctl, int argc, char *argv[])
{
	struct day_file *files = NULL;
	struct vstats st;
	size_t n = 0, i;
	int a, rc = CTL_FAIL, done;

	while (ctl_getopt(argc, argv, "h", longopts, usage, &done) != -1)
		;
	if (done != -1)
		return done;
	for (a = optind; a < argc; a++)
		if (!day_valid(argv[a])) {
			ctl_err("\"%s\" is not a day (YYYY-MM-DD)", argv[a]);
			usage(stderr);
			return CTL_USAGE;
		}
	if (ctl_conf_ready(ctl) != CTL_OK)
		return CTL_FAIL;
	memset(&st, 0, sizeof(st));
	if (optind == argc) {
		if (reader_list(ctl->conf.spool_dir, NULL, NULL, &files,
		    &n) == -1) {
			if (errno != ENOENT) {
				ctl_errno("%s", ctl->conf.spool_dir);
				goto out;
			}
			/* nothing received yet: nothing wrong either */
			printf("%s: no spool yet\n", ctl->conf.spool_dir);
		} else {
			for (i = 0; i < n; i++)
				verify_file(&files[i], 0, &st);
			find_foreign(ctl->conf.spool_dir, &st);
		}
	}
	for (a = optind; a < argc; a++) {
		if (named_before(argv, optind, a))
			continue;	/* each day once */
		free(files);
		if (reader_list(ctl->conf.spool_dir, argv[a], argv[a], &files,
		    &n) == -1) {
			ctl_errno("%s", ctl->conf.spool_dir);
			files = NULL;
			goto out;
		}
		if (n == 0) {
			printf("%s/%s.jsonl:0: no such day\n",
			    ctl->conf.spool_dir, argv[a]);
			st.errors++;
		}
		for (i = 0; i < n; i++)
			verify_file(&files[i], 1, &st);
	}
	printf("verify: %llu file%s, %llu line%s, %llu invalid, "
	    "%llu foreign, %llu incomplete, %d missing or unreadable\n",
	    st.files, st.files == 1 ? "" : "s", st.lines,
	    st.lines == 1 ? "" : "s", st.invalid, st.foreign, st.incomplete,
	    st.errors);
	if (ctl_stdout_flush() == -1)
		goto out;
	if (st.invalid == 0 && st.foreign == 0 && st.errors == 0)
		rc = CTL_OK;
 out:
	free(files);
	return rc;
}
