/*
 * cmd_export.c: smshookctl export [--from DAY] [--to DAY] [--format
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

#include "csv.h"
#include "ctl.h"
#include "day.h"
#include "reader.h"
#include "rows.h"

enum fmt { FMT_CSV, FMT_JSONL };

/* The set of uniqueness keys seen: open addressing on FNV-1a hashes. */
struct keyset {
	char	**slot;
	size_t	  cap, n;
};

/* The 64-bit FNV-1a hash of s. */
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

/* Free every key and the slots; ks itself is the caller's. */
static void
keyset_free(struct keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->cap; i++)
		free(ks->slot[i]);
	free(ks->slot);
}

/* 1 if key is in ks. */
static int
keyset_has(const struct keyset *ks, const char *key)
{
	size_t j;

	if (ks->cap == 0)
		return 0;
	for (j = fnv(key) & (ks->cap - 1); ks->slot[j] != NULL;
	    j = (j + 1) & (ks->cap - 1))
		if (strcmp(ks->slot[j], key) == 0)
			return 1;
	return 0;
}

/*
 * 1 if the row is new by the database's unique keys (schema.h): none of
 * the keys it has was seen, and now they all are; 0 if a duplicate, -1
 * on error.
 */
static int
row_new(struct keyset *ks, const struct rows *l, const struct row *r)
{
	const char *v[NCOLS];
	char num[NCOLS][32], *keys[NKEYS], *nk;
	size_t sz = 64, nkeys = 0, i;
	int c, k, rc = 1;

	for (c = 0; c < NCOLS; c++) {
		if (c == COL_PAYLOAD) {
			v[c] = NULL;	/* in no key */
			continue;
		}
		v[c] = row_text(l, r, c, num[c], sizeof(num[c]));
		if (v[c] != NULL)	/* separator, length, ':' and text */
			sz += strlen(v[c]) + 24;
	}
	for (k = 0; k < NKEYS && rc == 1; k++) {
		if ((keys[nkeys] = malloc(sz)) == NULL) {
			rc = -1;
			break;
		}
		switch (schema_row_key(k, v, keys[nkeys], sz)) {
		case 1:
			if (!keyset_has(ks, keys[nkeys])) {
				/* kept for the run: no more than it needs */
				if ((nk = realloc(keys[nkeys],
				    strlen(keys[nkeys]) + 1)) != NULL)
					keys[nkeys] = nk;
				nkeys++;
				continue;
			}
			rc = 0;
			break;
		case -1:
			rc = -1;
			break;
		}
		free(keys[nkeys]);
	}
	for (i = 0; i < nkeys; i++)
		if (rc == 1 && keyset_add(ks, keys[i]) == -1)
			rc = -1;	/* keyset_add freed it */
		else if (rc != 1)
			free(keys[i]);
	return rc;
}

/* Row r of l as one CSV record on stdout (CRLF); returns 0. */
static int
put_csv(const struct rows *l, const struct row *r)
{
	char buf[32];
	int c;

	for (c = 0; c < NCOLS; c++) {
		if (!(schema_cols[c].where & SC_EXPORT))
			continue;
		if (c > 0)
			putchar(',');
		csv_field(row_text(l, r, c, buf, sizeof(buf)),
		    schema_cols[c].integer ? 0 : CSV_TEXT);
	}
	fputs("\r\n", stdout);
	return 0;
}

/* Row r of l as one JSON object line on stdout; 0, or -1 if out of memory. */
static int
put_jsonl(const struct rows *l, const struct row *r)
{
	cJSON *o;
	char buf[32], *s = NULL;
	const char *v;
	int c, rc = -1;
	cJSON *it;

	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	for (c = 0; c < NCOLS; c++) {
		if (!(schema_cols[c].where & SC_EXPORT))
			continue;
		v = row_text(l, r, c, buf, sizeof(buf));
		if (v == NULL)
			it = cJSON_CreateNull();
		else if (c == COL_PAYLOAD)
			it = cJSON_CreateRaw(v);
		else if (schema_cols[c].integer)
			it = cJSON_CreateRaw(v);	/* exact integer text */
		else
			it = cJSON_CreateString(v);
		if (it == NULL || !cJSON_AddItemToObject(o, schema_cols[c].name,
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
	    "Write the spool's normalised rows (the sms_events_full columns "
	    "but id and\npayload_id) on stdout.\n"
	    "  --from DAY, --to DAY  limit to these days (YYYY-MM-DD, "
	    "inclusive)\n"
	    "  --format FMT          csv (default, RFC 4180) or jsonl\n");
}

/* Export one day file; counts rejected lines. */
static int
export_file(const struct day_file *f, enum fmt fmt, struct keyset *ks,
    unsigned long long *rejects)
{
	struct reader *r;
	struct rows l;
	const char *line, *why;
	size_t len, i;
	off_t off;
	int n, isnew, parsed, rc = -1;

	if ((r = reader_open(f, 0)) == NULL) {
		if (errno == ENOENT)
			return 0;	/* purged meanwhile */
		ctl_errno("%s", f->path);
		return -1;
	}
	while ((n = reader_next(r, &line, &len, &off)) > 0) {
		if (reader_unread(n, len)) {
			ctl_unread(f->path, (long long)off, len, "raise "
			    "max_body to export it");
			goto out;
		}
		if (n != READER_LINE) {
			(*rejects)++;
			continue;
		}
		if ((parsed = rows_parse(&l, line, len, &why)) != 0) {
			rows_free(&l);
			if (parsed == -2) {
				ctl_err("out of memory");
				goto out;
			}
			(*rejects)++;
			continue;
		}
		for (i = 0; i < l.nrows; i++) {
			if ((isnew = row_new(ks, &l, &l.rows[i])) == -1 ||
			    (isnew && (fmt == FMT_CSV ? put_csv(&l,
			    &l.rows[i]) : put_jsonl(&l, &l.rows[i])) == -1)) {
				rows_free(&l);
				ctl_err("out of memory");
				goto out;
			}
		}
		rows_free(&l);
	}
	if (n == -1) {
		ctl_errno("read %s", f->path);
		goto out;
	}
	rc = 0;
 out:
	reader_close(r);
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
	struct day_file *files = NULL;
	struct keyset ks = { NULL, 0, 0 };
	const char *from = NULL, *to = NULL;
	unsigned long long rejects = 0;
	enum fmt fmt = FMT_CSV;
	size_t n = 0, i;
	int ch, col, first, rc = CTL_FAIL, done;

	while ((ch = ctl_getopt(argc, argv, "h", opts, usage,
	    &done)) != -1) {
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
				ctl_err("format \"%s\": expected csv or jsonl",
				    optarg);
				return CTL_USAGE;
			}
			break;
		}
	}
	if (done != -1)
		return done;
	if (ctl_no_operands(argc, argv, usage) != 0)
		return CTL_USAGE;
	if (ctl_day_range(from, to) != 0)
		return CTL_USAGE;
	if (ctl_conf_ready(c) != CTL_OK)
		return CTL_FAIL;
	if (reader_list(c->conf.spool_dir, from, to, &files, &n) == -1) {
		if (errno != ENOENT) {
			ctl_errno("%s", c->conf.spool_dir);
			goto out;
		}
	}
	if (fmt == FMT_CSV) {
		for (col = 0, first = 1; col < NCOLS; col++)
			if (schema_cols[col].where & SC_EXPORT) {
				printf("%s%s", first ? "" : ",",
				    schema_cols[col].name);
				first = 0;
			}
		fputs("\r\n", stdout);
	}
	for (i = 0; i < n; i++)
		if (export_file(&files[i], fmt, &ks, &rejects) == -1)
			goto out;
	if (rejects > 0)
		ctl_err("skipped %llu line%s that %s not v1 spool lines "
		    "(see smshookctl verify)", rejects,
		    rejects == 1 ? "" : "s", rejects == 1 ? "is" : "are");
	if (ctl_stdout_flush() == -1)
		goto out;
	rc = CTL_OK;
 out:
	keyset_free(&ks);
	free(files);
	return rc;
}
