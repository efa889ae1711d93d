/*
 * fuzz_roundtrip.c: the receiver's promise to the importer. The first
 * input byte picks the encoding (even: JSON, odd: form), the rest is the
 * body, as fuzz_payload takes it. Every body payload_parse accepts gives,
 * through line_format, a spool line no longer than line_max allows, that
 * rows_parse takes (no reject), whose rows keep the receiver's bounds and
 * event type, and that SQLite takes whole (nothing refused). Seeds:
 * tests/fuzz/corpus/payload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "event.h"
#include "line.h"
#include "payload.h"
#include "rows.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Stop the run, saying what and the line it is about. */
static void
broken(const char *what, const char *line, size_t len)
{
	fprintf(stderr, "%s\nline: %.*s\n", what, (int)len, line);
	abort();
}

/* s is NULL or at most max bytes long. */
static int
within(const char *s, size_t max)
{
	return s == NULL || strlen(s) <= max;
}

/*
 * The rows of an accepted event keep the receiver's bounds and its event
 * type (an unknown one is never read as known): NULL, or what is wrong.
 */
static const char *
rows_wrong(const struct event *ev, const struct rows *l)
{
	const struct row *r0 = &l->rows[0];
	size_t i;

	if (l->nrows == 0 || l->nrows > PAYLOAD_LIST_MAX)
		return "row count";
	if (!l->has_event_time)
		return "no event time";
	if (!within(l->user_id, PAYLOAD_ID_MAX) ||
	    !within(l->sms_user, PAYLOAD_ID_MAX) ||
	    !within(l->template_id, PAYLOAD_ID_MAX) ||
	    !within(l->message, PAYLOAD_TEXT_MAX))
		return "a field longer than the receiver takes";
	for (i = 0; i < l->nrows; i++)
		if (!within(l->rows[i].sms_id, PAYLOAD_ID_MAX) ||
		    !within(l->rows[i].phone, PAYLOAD_ID_MAX))
			return "an id or phone longer than the receiver takes";
	if (ev->event_type != 0 ? !r0->has_event_type ||
	    r0->event_type != ev->event_type : r0->has_event_type &&
	    event_by_code(r0->event_type) != NULL)
		return "event type not the receiver's";
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_db *db = fuzz_db();
	struct timespec now = { 1764000000, 123000000 };
	struct db_line dl = { "2026-01-01", 0, NULL, 0 };
	enum line_encoding enc;
	struct payload_error pe;
	struct event ev;
	struct rows l;
	const char *why;
	char *body, *line = NULL;
	size_t len, cap = 0, n;

	if ((body = fuzz_body(data, size, &enc, &len)) == NULL)
		return 0;
	if (payload_parse(&ev, body, len, enc, &pe) != 0)
		goto out;
	if ((n = line_format(&line, &cap, &now, "203.0.113.9", enc, 1,
	    ev.payload, ev.payload_len)) == 0)
		abort();
	if (n > line_max(len))
		broken("longer than line_max", line, n - 1);
	if (rows_parse(&l, line, n - 1, &why) != 0)
		broken(why, line, n - 1);
	if ((why = rows_wrong(&ev, &l)) != NULL)
		broken(why, line, n - 1);
	dl.text = line;
	dl.len = n - 1;
	if (db_begin(db) == -1 || db_insert_event(db, &l, &dl) == -1)
		broken(db->err, line, n - 1);
	if (db->pending_refused != 0)
		broken("refused by the database", line, n - 1);
	if (db_rollback(db) == -1)
		abort();
	db->pending_refused = db->pending_refused_rows = 0;
	rows_free(&l);
	payload_free(&ev);
 out:
	free(line);
	free(body);
	return 0;
}
