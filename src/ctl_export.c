/*
 * ctl_export.c: smshookctl export [--from DAY] [--to DAY] [--format
 * csv|jsonl]. The spool's normalised rows on stdout, read straight from
 * the day files, with the database's uniqueness rules applied: a row
 * that import would ignore as a duplicate is not written. CSV follows
 * RFC 4180 (header line, CRLF, quotes doubled); NULL is an empty field.
 */
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

enum fmt { FMT_CSV, FMT_JSONL };

/* The set of uniqueness keys seen: open addressing on FNV-1a hashes. */
struct keyset {
	char	**slot;
	size_t	  cap, n;
};

static unsigned long long
fnv(const char *s)
{
	unsigned long long h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Add key (taken over); 1 if new, 0 if present (key freed), -1 on error. */
static int
keyset_add(struct keyset *ks, char *key)
{
	char **old = ks->slot, **ns;
	size_t i, j, oldcap = ks->cap;

	if ((ks->n + 1) * 2 > ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 4096;
		if ((ns = calloc(ks->cap, sizeof(*ns))) == NULL) {
			ks->cap = oldcap;
			free(key);
			return -1;
		}
		for (i = 0; i < oldcap; i++) {
			if (old[i] == NULL)
				continue;
			for (j = fnv(old[i]) & (ks->cap - 1); ns[j] != NULL;
			    j = (j + 1) & (ks->cap - 1))
				;
			ns[j] = old[i];
		}
		free(old);
		ks->slot = ns;
	}
	for (j = fnv(key) & (ks->cap - 1); ks->slot[j] != NULL;
	    j = (j + 1) & (ks->cap - 1)) {
		if (strcmp(ks->slot[j], key) == 0) {
			free(key);
			return 0;
		}
	}
	ks->slot[j] = key;
	ks->n++;
	return 1;
}

static void
keyset_free(struct keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->cap; i++)
		free(ks->slot[i]);
	free(ks->slot);
}

/*
 * 1 if the row is new by the database's rules, 0 if a duplicate, -1
 * on error. Rows whose key columns are NULL are always new, as in SQL.
 */
static int
row_new(struct keyset *ks, const struct ctl_line *l, const struct ctl_row *r)
{
	char *key = NULL;
	int n;

	if (!r->has_event_type)
		return 1;
	if (r->sms_id != NULL)
		n = asprintf(&key, "m%lld\037%s", r->event_type, r->sms_id);
	else if (l->template_id != NULL && l->has_event_time)
		n = asprintf(&key, "t%lld\037%s\037%lld", r->event_type,
		    l->template_id, l->event_time);
	else
		return 1;
	if (n == -1)
		return -1;
	return keyset_add(ks, key);
}

/* One CSV field, quoted when it must be. */
static void
csv_field(const char *v)
{
	const char *p;

	if (v == NULL)
		return;
	if (strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, stdout);
		return;
	}
	putchar('"');
	for (p = v; *p != '\0'; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	putchar('"');
}

static int
put_csv(const struct ctl_line *l, const struct ctl_row *r)
{
	char buf[32];
	int c;

	for (c = 0; c < NCOLS; c++) {
		if (c > 0)
			putchar(',');
		csv_field(ctl_row_text(l, r, c, buf, sizeof(buf)));
	}
	fputs("\r\n", stdout);
	return 0;
}

static int
put_jsonl(const struct ctl_line *l, const struct ctl_row *r)
{
	cJSON *o;
	char buf[32], *s = NULL;
	const char *v;
	int c, rc = -1;
	cJSON *it;

	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	for (c = 0; c < NCOLS; c++) {
		v = ctl_row_text(l, r, c, buf, sizeof(buf));
		if (v == NULL)
			it = cJSON_CreateNull();
		else if (c == COL_PAYLOAD)
			it = cJSON_CreateRaw(v);
		else if (ctl_col_int[c])
			it = cJSON_CreateRaw(v);	/* exact integer text */
		else
			it = cJSON_CreateString(v);
		if (it == NULL || !cJSON_AddItemToObject(o, ctl_col_names[c],
		    it)) {
			cJSON_Delete(it);
			goto out;
		}
	}
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	puts(s);
	rc = 0;
 out:
	free(s);
	cJSON_Delete(o);
	return rc;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: smshookctl export [--from DAY] [--to DAY] "
	    "[--format csv|jsonl]\n"
	    "Write the spool's normalised rows (the sms_events columns) on "
	    "stdout.\n"
	    "  --from DAY, --to DAY  limit to these days (YYYY-MM-DD, "
	    "inclusive)\n"
	    "  --format FMT          csv (default, RFC 4180) or jsonl\n");
}

/* Export one day file; counts rejected lines. */
static int
export_file(const struct spool_file *f, enum fmt fmt, struct keyset *ks,
    unsigned long long *rejects)
{
	struct spool_reader *r;
	struct ctl_line l;
	const char *line, *why;
	size_t len, i;
	off_t off;
	int n, isnew, rc = -1;

	if ((r = spool_reader_open(f, 0)) == NULL) {
		if (errno == ENOENT)
			return 0;	/* compressed meanwhile */
		fprintf(stderr, "smshookctl: export: %s: %s\n", f->path,
		    strerror(errno));
		return -1;
	}
	while ((n = spool_reader_next(r, &line, &len, &off)) == 1) {
		if (ctl_line_parse(&l, line, len, &why) == -1) {
			(*rejects)++;
			ctl_line_free(&l);
			continue;
		}
		for (i = 0; i < l.nrows; i++) {
			if ((isnew = row_new(ks, &l, &l.rows[i])) == -1 ||
			    (isnew && (fmt == FMT_CSV ? put_csv(&l,
			    &l.rows[i]) : put_jsonl(&l, &l.rows[i])) == -1)) {
				ctl_line_free(&l);
				fprintf(stderr, "smshookctl: export: out of "
				    "memory\n");
				goto out;
			}
		}
		ctl_line_free(&l);
	}
	if (n == -1) {
		fprintf(stderr, "smshookctl: export: read %s: %s\n", f->path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
 out:
	spool_reader_close(r);
	return rc;
}

int
cmd_export(struct ctl *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "from",	required_argument,	NULL, 'f' },
		{ "to",		required_argument,	NULL, 't' },
		{ "format",	required_argument,	NULL, 'F' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct spool_file *files = NULL;
	struct keyset ks = { NULL, 0, 0 };
	const char *from = NULL, *to = NULL;
	unsigned long long rejects = 0;
	enum fmt fmt = FMT_CSV;
	size_t n = 0, i;
	int ch, col, rc = CTL_FAIL, done;

	while ((ch = ctl_getopt(argc, argv, "h", opts, usage, &done)) != -1) {
		switch (ch) {
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'F':
			if (strcmp(optarg, "csv") == 0)
				fmt = FMT_CSV;
			else if (strcmp(optarg, "jsonl") == 0)
				fmt = FMT_JSONL;
			else {
				fprintf(stderr, "smshookctl: export: format "
				    "\"%s\": expected csv or jsonl\n", optarg);
				return CTL_USAGE;
			}
			break;
		}
	}
	if (done != -1)
		return done;
	if (ctl_no_operands(argc, argv, usage) != 0)
		return CTL_USAGE;
	if ((from != NULL && !day_valid(from)) ||
	    (to != NULL && !day_valid(to))) {
		fprintf(stderr, "smshookctl: export: a day is YYYY-MM-DD\n");
		usage(stderr);
		return CTL_USAGE;
	}
	if (spool_list(c->conf.spool_dir, from, to, &files, &n) == -1) {
		if (errno != ENOENT) {
			fprintf(stderr, "smshookctl: export: %s: %s\n",
			    c->conf.spool_dir, strerror(errno));
			goto out;
		}
	}
	if (fmt == FMT_CSV) {
		for (col = 0; col < NCOLS; col++)
			printf("%s%s", col ? "," : "", ctl_col_names[col]);
		fputs("\r\n", stdout);
	}
	for (i = 0; i < n; i++)
		if (export_file(&files[i], fmt, &ks, &rejects) == -1)
			goto out;
	if (rejects > 0)
		fprintf(stderr, "smshookctl: export: skipped %llu line%s that "
		    "are not v1 spool lines (see smshookctl verify)\n",
		    rejects, rejects == 1 ? "" : "s");
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "smshookctl: export: stdout: %s\n",
		    strerror(errno));
		goto out;
	}
	rc = CTL_OK;
 out:
	keyset_free(&ks);
	free(files);
	return rc;
}
