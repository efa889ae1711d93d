/*
 * fuzzutil.h: what several harnesses share, as static inline functions
 * (each harness is built from its own file and the sources it names).
 */
#ifndef SMSHOOK_FUZZUTIL_H
#define SMSHOOK_FUZZUTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"

/*
 * A body as the receiver hands it over: the first input byte picks the
 * encoding (even: JSON, odd: form) into *enc, the rest is copied and
 * NUL-terminated, its length in *len. NULL for an empty input or when
 * memory runs out; the caller frees.
 */
static inline char *
fuzz_body(const uint8_t *data, size_t size, enum line_encoding *enc,
    size_t *len)
{
	char *body;

	if (size == 0)
		return NULL;
	*enc = (data[0] & 1) ? LINE_FORM : LINE_JSON;
	*len = size - 1;
	if ((body = malloc(*len + 1)) == NULL)
		return NULL;
	memcpy(body, data + 1, *len);
	body[*len] = '\0';
	return body;
}

#ifdef SMSHOOK_DB_H
#include <stdio.h>

/*
 * The run's in-memory SQLite database for smshookctl's rows, opened on
 * the first call; aborts if none.
 */
static inline struct ctl_db *
fuzz_db(void)
{
	static struct ctl_db *db;
	char err[512];

	if (db != NULL)
		return db;
	if ((db = db_sqlite_open(":memory:", 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	snprintf(db->source, sizeof(db->source), "fuzz");
	return db;
}
#endif

#endif
