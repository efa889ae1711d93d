/*
 * fuzz_import_sqlite.c: the importer's database path against a real
 * SQLite database. Each input is a spool day: its lines go through
 * rows_parse and, when accepted, db_insert_event, in one transaction as
 * smshookctl import does. Whatever a line holds, the database either
 * takes it or refuses it into smshook_rejects: db_insert_event never
 * fails, and the transaction commits. Seeds: tests/fuzz/corpus/ctl_rows,
 * whose first byte (fuzz_ctl_rows' path selector) is left out, and whose
 * last piece, most often their one line, is taken as if '\n' ended it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "rows.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct ctl_db *db = fuzz_db();
	struct db_line dl = { "2026-01-01", 0, NULL, 0 };
	const char *s = (const char *)d, *nl, *why;
	struct rows l;
	size_t len;

	if (n == 0)
		return 0;
	s++;		/* ctl_rows' path selector */
	n--;
	if (db_begin(db) == -1)
		abort();
	while (n > 0) {
		if ((nl = memchr(s, '\n', n)) == NULL)
			nl = s + n;	/* the last piece, as a line */
		len = (size_t)(nl - s);
		if (rows_parse(&l, s, len, &why) == 0) {
			dl.text = s;
			dl.len = len;
			if (db_insert_event(db, &l, &dl) == -1) {
				fprintf(stderr, "insert failed: %s\n",
				    db->err);
				abort();
			}
		}
		rows_free(&l);
		dl.off += (long long)len + 1;
		if (len == n)
			break;
		n -= len + 1;
		s = nl + 1;
	}
	if (db_rollback(db) == -1)	/* keep the database small */
		abort();
	return 0;
}
