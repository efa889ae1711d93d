/* schema.c: see schema.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "schema.h"

#define K_MESSAGE	(1u << 0)
#define K_TEMPLATE	(1u << 1)
#define K_REPLY		(1u << 2)
#define K_TOKEN		(1u << 3)
#define BOTH		(SC_TABLE | SC_EXPORT)

const struct schema_col schema_cols[NCOLS] = {
	[COL_EVENT_TYPE] = { "event_type", { "INTEGER", "bigint" }, 1,
	    K_MESSAGE | K_TEMPLATE | K_REPLY, BOTH },
	[COL_EVENT] = { "event", { "TEXT", "text" }, 0, 0, BOTH },
	[COL_SMS_ID] = { "sms_id", { "TEXT", "text" }, 0, K_MESSAGE, BOTH },
	[COL_PHONE] = { "phone", { "TEXT", "text" }, 0, K_REPLY, BOTH },
	[COL_USER_ID] = { "user_id", { "TEXT", "text" }, 0, 0, BOTH },
	[COL_SMS_USER] = { "sms_user", { "TEXT", "text" }, 0, 0, BOTH },
	[COL_TEMPLATE_ID] = { "template_id", { "TEXT", "text" }, 0,
	    K_TEMPLATE, BOTH },
	[COL_MESSAGE] = { "message", { "TEXT", "text" }, 0, K_REPLY, BOTH },
	[COL_STATUS_CODE] = { "status_code", { "INTEGER", "bigint" }, 1, 0,
	    BOTH },
	[COL_EVENT_TIME] = { "event_time", { "INTEGER", "bigint" }, 1,
	    K_TEMPLATE | K_REPLY, BOTH },
	[COL_RECEIVED_AT] = { "received_at", { "TEXT", "timestamptz" }, 0,
	    0, BOTH },
	[COL_VERIFIED] = { "verified", { "INTEGER", "boolean" }, 1, K_TOKEN,
	    BOTH },
	[COL_PAYLOAD] = { "payload", { "TEXT NOT NULL", "jsonb NOT NULL" },
	    0, 0, SC_EXPORT },
	[COL_PAYLOAD_ID] = { "payload_id", { "INTEGER", "bigint" }, 1, 0,
	    SC_TABLE },
	/* of the token key's rows alone; the payload has it too: not
	 * exported */
	[COL_TOKEN] = { "token", { "TEXT", "text" }, 0, K_TOKEN,
	    SC_TABLE | SC_V7 },
	[COL_TOKEN_ROW] = { "token_row", { "INTEGER", "bigint" }, 1, K_TOKEN,
	    SC_TABLE | SC_V7 },
};

/* The rows the message key does not hold: the token key's, by name. */
#define UNKEYED		"sms_id IS NULL OR event_type IS NULL"
#define TOKEN_INDEX	"sms_events_token"

const struct schema_key schema_keys[NKEYS] = {
	/* message events: one row per (type, message id) */
	{ "sms_events_message", "sms_id IS NOT NULL", COL_SMS_ID, NULL, 0,
	    NULL, 0 },
	/* template reviews: one per (type, template, time); not other events
	 * without a message id, two of which may share all three */
	{ "sms_events_template", "sms_id IS NULL AND event_type = 8",
	    COL_SMS_ID, NULL, 1, "8", 0 },
	/* replies: one per (phone, reply time, text), only */
	{ "sms_events_reply", "event_type = 6", COL_EVENT_TYPE, "6", 0,
	    NULL, 0 },
	/* a row the message key does not hold (no message id, or no
	 * type): one per (token, verified, its place among its event's
	 * such rows), however the event reads; keyed by verified too, so
	 * that an unverified line cannot stand in for a verified one */
	{ TOKEN_INDEX, UNKEYED, COL_SMS_ID, NULL, 1, NULL, 1 },
};

/*
 * Every phone's replies together, latest first. NULLS LAST: PostgreSQL
 * would put a reply without a time first.
 */
const char schema_latest_replies[] =
	"SELECT phone, message, event_time FROM sms_events "
	"WHERE event_type = 6 AND phone IS NOT NULL "
	"ORDER BY phone, event_time DESC NULLS LAST, id DESC";

/* Per backend: the primary key column, the payloads table. */
static const char *const id_def[2] = {
	"id INTEGER PRIMARY KEY", "id bigserial PRIMARY KEY"
};
static const char *const payloads_ddl[2] = {
	"CREATE TABLE IF NOT EXISTS sms_event_payloads ("
	"id INTEGER PRIMARY KEY, received_at TEXT, verified INTEGER, "
	"payload TEXT NOT NULL);",
	"CREATE TABLE IF NOT EXISTS sms_event_payloads ("
	"id bigserial PRIMARY KEY, received_at timestamptz, verified boolean, "
	"payload jsonb NOT NULL);"
};
static const char *const view_make[2] = {
	"CREATE VIEW IF NOT EXISTS", "CREATE OR REPLACE VIEW"
};

/*
 * Replies as import names them: version 1 knew no code 6, and kept a
 * reply named by "event" alone without a type, as sent.
 */
#define NAME_REPLIES \
	"UPDATE sms_events SET event_type = 6, event = 'Reply' WHERE " \
	"event_type = 6 OR (event_type IS NULL AND lower(event) = 'reply');"

/*
 * Of the replies the reply key holds (none of its columns NULL: NULL
 * equals nothing), all but the first of those it finds the same.
 */
#define DELETE_SAME_REPLIES \
	"DELETE FROM sms_events WHERE event_type = 6 AND phone IS NOT NULL " \
	"AND event_time IS NOT NULL AND message IS NOT NULL AND id NOT IN " \
	"(SELECT min(id) FROM sms_events WHERE event_type = 6 GROUP BY " \
	"phone, event_time, message);"

/*
 * Version 1 kept the payload in every row: make one payload row per
 * distinct (received_at, payload), point the rows at it, drop the
 * column. verified was not kept then: NULL for those rows. Replies are
 * named as import names them (NAME_REPLIES). They got neither their
 * text nor their time: take both from the payload, and
 * keep the first of replies the reply key then finds the same. A reply
 * time is read as rows.c reads it: YYYY-MM-DD HH:MM:SS, hour below 24,
 * a day past its month's end running on into the next month as in
 * timegm(). PostgreSQL counts from the month's start (a cast would
 * refuse such a day and undo the migration); SQLite's strftime() sees
 * only that form, for it reads others (a date alone, hour 24) that
 * rows.c does not. Anything else leaves event_time as it is.
 */
static const char *const migrate_v1[2] = {
	"CREATE TABLE sms_event_payloads ("
	"id INTEGER PRIMARY KEY, received_at TEXT, verified INTEGER, "
	"payload TEXT NOT NULL);"
	"INSERT INTO sms_event_payloads (received_at, payload) "
	"SELECT received_at, payload FROM sms_events "
	"GROUP BY received_at, payload ORDER BY min(id);"
	"CREATE INDEX smshook_migrate ON sms_event_payloads "
	"(received_at, payload);"
	"ALTER TABLE sms_events ADD COLUMN verified INTEGER;"
	"ALTER TABLE sms_events ADD COLUMN payload_id INTEGER;"
	"UPDATE sms_events SET payload_id = (SELECT p.id FROM "
	"sms_event_payloads p WHERE p.received_at IS sms_events.received_at "
	"AND p.payload = sms_events.payload);"
	"DROP INDEX smshook_migrate;"
	NAME_REPLIES
	"UPDATE sms_events SET message = coalesce(json_extract(payload, "
	"'$.replyContent'), message), event_time = coalesce((SELECT (CAST("
	"strftime('%s', t) AS INTEGER) - 28800) * 1000 FROM (SELECT "
	"json_extract(payload, '$.replyTime') AS t) WHERE t GLOB '[0-9][0-9]"
	"[0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]' "
	"AND substr(t, 12, 2) < '24'), event_time) WHERE event_type = 6 AND "
	"json_valid(payload);"
	DELETE_SAME_REPLIES
	SCHEMA_UNNAMED_PAYLOADS_SQLITE
	"ALTER TABLE sms_events DROP COLUMN payload;",
	"CREATE TABLE sms_event_payloads ("
	"id bigserial PRIMARY KEY, received_at timestamptz, verified boolean, "
	"payload jsonb NOT NULL);"
	"INSERT INTO sms_event_payloads (received_at, payload) "
	"SELECT received_at, payload FROM sms_events "
	"GROUP BY received_at, payload ORDER BY min(id);"
	"ALTER TABLE sms_events ADD COLUMN verified boolean, "
	"ADD COLUMN payload_id bigint;"
	"UPDATE sms_events e SET payload_id = p.id FROM sms_event_payloads p "
	"WHERE p.received_at IS NOT DISTINCT FROM e.received_at "
	"AND p.payload = e.payload;"
	NAME_REPLIES
	"UPDATE sms_events SET message = coalesce(payload->>'replyContent', "
	"message), event_time = coalesce((SELECT (extract(epoch FROM "
	"timestamp '2000-01-01' + make_interval(t[1] - 2000, t[2] - 1, 0, "
	"t[3] - 1, t[4], t[5], t[6])) - 28800)::bigint * 1000 FROM (SELECT "
	"regexp_match(payload->>'replyTime', '^([0-9]{4})-(0[1-9]|1[0-2])-"
	"(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):([0-5][0-9]):"
	"([0-5][0-9])$')::int[]) AS m(t)), event_time) WHERE event_type = 6;"
	DELETE_SAME_REPLIES
	SCHEMA_UNNAMED_PAYLOADS_PG
	"ALTER TABLE sms_events DROP COLUMN payload;"
};

const char schema_migrate_v2[] = "DROP INDEX IF EXISTS sms_events_template;";
const char schema_unmark_first[] =
	"UPDATE smshook_positions SET first_line = NULL;";
const char schema_unmark_last[] =
	"UPDATE smshook_positions SET last_line = NULL;";
const char schema_migrate_v5[] = "UPDATE sms_events SET sms_id = NULL "
	"WHERE sms_id = '' AND event_type IS DISTINCT FROM 8;";

/*
 * The token of each row the token key holds (UNKEYED), from its payload
 * if that holds one as a string; no other row is rewritten.
 */
#define FILL_TOKENS_SQLITE \
	"UPDATE sms_events SET token = p.t FROM (SELECT id, CASE WHEN " \
	"json_valid(payload) THEN CASE json_type(payload, '$.token') WHEN " \
	"'text' THEN json_extract(payload, '$.token') END END AS t FROM " \
	"sms_event_payloads) AS p WHERE p.id = sms_events.payload_id AND " \
	"(" UNKEYED ");"
#define FILL_TOKENS_PG \
	"UPDATE sms_events SET token = p.payload->>'token' FROM " \
	"sms_event_payloads p WHERE p.id = sms_events.payload_id AND " \
	"jsonb_typeof(p.payload->'token') = 'string' AND (" UNKEYED ");"

/*
 * The token key goes first: tables of this version an older binary
 * wrote to (it steps the version back) hold its copies of rows, without
 * token columns, which the key did not see. A row the message key does
 * not hold: its place among such rows of its payload, in the order they
 * were stored (that of the line's messages); then, of the rows the
 * token key finds the same, the first alone (numbered in one pass: a
 * NOT IN would make PostgreSQL scan a list per row once it outgrows
 * work_mem), and the payloads no row names any more. schema_ddl() makes
 * the key again.
 */
#define TOKEN_ROWS \
	"DROP INDEX IF EXISTS " TOKEN_INDEX ";" \
	"UPDATE sms_events SET token_row = w.n FROM (SELECT id, " \
	"row_number() OVER (PARTITION BY payload_id ORDER BY id) - 1 AS n " \
	"FROM sms_events WHERE " UNKEYED ") AS w WHERE w.id = " \
	"sms_events.id;" \
	"DELETE FROM sms_events WHERE id IN (SELECT id FROM (SELECT id, " \
	"row_number() OVER (PARTITION BY verified, token, token_row ORDER " \
	"BY id) AS k FROM sms_events WHERE (" UNKEYED ") AND verified IS " \
	"NOT NULL AND token IS NOT NULL AND token_row IS NOT NULL) AS d " \
	"WHERE k > 1);"

static const char *const migrate_v6[2] = {
	FILL_TOKENS_SQLITE TOKEN_ROWS SCHEMA_UNNAMED_PAYLOADS_SQLITE,
	FILL_TOKENS_PG TOKEN_ROWS SCHEMA_UNNAMED_PAYLOADS_PG
};

/* Append to buf at *o; -1 once it no longer fits. */
static int
add(char *buf, size_t sz, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *o, sz - *o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sz - *o)
		return -1;
	*o += (size_t)n;
	return 0;
}

/*
 * "a, b, ..." of the columns with where-flag w and without flag not
 * into buf; -1 if it does not fit.
 */
static int
col_list(char *buf, size_t sz, unsigned w, unsigned not)
{
	size_t o = 0;
	int c;

	*buf = '\0';
	for (c = 0; c < NCOLS; c++)
		if ((schema_cols[c].where & w) && !(schema_cols[c].where &
		    not) && add(buf, sz, &o, "%s%s", o > 0 ? ", " : "",
		    schema_cols[c].name) == -1)
			return -1;
	return 0;
}

const char *
schema_col_list(unsigned w)
{
	static char buf[4][512];

	if (buf[w & 3][0] == '\0' && col_list(buf[w & 3], sizeof(buf[0]), w,
	    0) == -1)
		buf[w & 3][0] = '\0';
	return buf[w & 3][0] != '\0' ? buf[w & 3] : NULL;
}

const char *
schema_col_defs(enum schema_backend b)
{
	static char buf[2][1024];
	size_t o = 0;
	int c, first = 1;

	if (buf[b][0] != '\0')
		return buf[b];
	for (c = 0; c < NCOLS; c++) {
		if (!(schema_cols[c].where & SC_TABLE))
			continue;
		if (add(buf[b], sizeof(buf[b]), &o, "%s%s %s",
		    first ? "" : ", ", schema_cols[c].name,
		    schema_cols[c].type[b]) == -1)
			return NULL;
		first = 0;
	}
	return buf[b];
}

/*
 * The view at *o: sms_events' columns as of version 6, the payload,
 * then the columns added since (PostgreSQL's CREATE OR REPLACE VIEW
 * keeps a view's columns where they are, and takes new ones only
 * after them).
 */
static int
add_view(char *buf, size_t sz, size_t *o, enum schema_backend b)
{
	int c, late;

	if (add(buf, sz, o, "%s sms_events_full AS SELECT e.id",
	    view_make[b]) == -1)
		return -1;
	for (late = 0; late < 2; late++) {
		if (late && add(buf, sz, o, ", p.payload") == -1)
			return -1;
		for (c = 0; c < NCOLS; c++)
			if ((schema_cols[c].where & SC_TABLE) &&
			    !(schema_cols[c].where & SC_V7) == !late &&
			    add(buf, sz, o, ", e.%s", schema_cols[c].name) ==
			    -1)
				return -1;
	}
	return add(buf, sz, o, " FROM sms_events e JOIN sms_event_payloads "
	    "p ON p.id = e.payload_id;");
}

const char *
schema_add_v7(enum schema_backend b)
{
	static char buf[2][512];
	size_t o = 0;
	int c;

	if (buf[b][0] != '\0')
		return buf[b];
	/* SQLite keeps a view's "e.*" unexpanded: made again, in order */
	if (b == SCHEMA_SQLITE && add(buf[b], sizeof(buf[b]), &o,
	    "DROP VIEW IF EXISTS sms_events_full;") == -1)
		goto fail;
	for (c = 0; c < NCOLS; c++)
		if ((schema_cols[c].where & SC_V7) && add(buf[b],
		    sizeof(buf[b]), &o, "ALTER TABLE sms_events ADD COLUMN "
		    "%s%s %s;", b == SCHEMA_PG ? "IF NOT EXISTS " : "",
		    schema_cols[c].name, schema_cols[c].type[b]) == -1)
			goto fail;
	return buf[b];
 fail:
	buf[b][0] = '\0';
	return NULL;
}

const char *
schema_migrate_v6(enum schema_backend b)
{
	return migrate_v6[b];
}

/* "CREATE UNIQUE INDEX ... (cols) WHERE ...;" for key k at *o. */
static int
add_key(char *buf, size_t sz, size_t *o, int k)
{
	int c, first = 1;

	if (add(buf, sz, o, "CREATE UNIQUE INDEX IF NOT EXISTS %s ON "
	    "sms_events (", schema_keys[k].index) == -1)
		return -1;
	for (c = 0; c < NCOLS; c++) {
		if (!(schema_cols[c].keys & (1u << k)))
			continue;
		if (add(buf, sz, o, "%s%s", first ? "" : ", ",
		    schema_cols[c].name) == -1)
			return -1;
		first = 0;
	}
	return add(buf, sz, o, ") WHERE %s;", schema_keys[k].where);
}

const char *
schema_ddl(enum schema_backend b)
{
	static char buf[2][4096];
	const char *defs = schema_col_defs(b);
	size_t o = 0, sz = sizeof(buf[b]);
	int k;

	if (buf[b][0] != '\0')
		return buf[b];
	if (defs == NULL || add(buf[b], sz, &o, "%s", payloads_ddl[b]) == -1 ||
	    add(buf[b], sz, &o, "CREATE TABLE IF NOT EXISTS sms_events "
	    "(%s, %s);", id_def[b], defs) == -1)
		goto fail;
	for (k = 0; k < NKEYS; k++)
		if (add_key(buf[b], sz, &o, k) == -1)
			goto fail;
	if (add(buf[b], sz, &o, "CREATE INDEX IF NOT EXISTS sms_events_time "
	    "ON sms_events (%s);CREATE INDEX IF NOT EXISTS "
	    "sms_events_payload ON sms_events (%s);",
	    schema_cols[COL_EVENT_TIME].name,
	    schema_cols[COL_PAYLOAD_ID].name) == -1 ||
	    add_view(buf[b], sz, &o, b) == -1 ||
	    add(buf[b], sz, &o, "CREATE INDEX IF NOT EXISTS sms_events_phone "
	    "ON sms_events (%s, %s) WHERE event_type = 6;",
	    schema_cols[COL_PHONE].name, schema_cols[COL_EVENT_TIME].name) ==
	    -1)
		goto fail;
	return buf[b];
 fail:
	buf[b][0] = '\0';
	return NULL;
}

const struct schema_table schema_tables[SCHEMA_NTABLES] = {
	{ "sms_event_payloads", "id, received_at, verified, payload" },
	{ "smshook_positions", "source, day, byte_offset, gz_size" },
	{ "smshook_rejects", "source, day, byte_offset, reason, line" },
	{ "smshook_runs", "source, finished_at" },
};

const char *
schema_shape(enum schema_shape which)
{
	static char buf[1024];
	char cols[512];

	switch (which) {
	case SHAPE_ANY:
		return "SELECT count(*) FROM (SELECT 1 FROM sms_events "
		    "LIMIT 0) e";
	case SHAPE_V1:
		return "SELECT count(*) FROM (SELECT event_type, event, "
		    "sms_id, phone, user_id, sms_user, template_id, message, "
		    "status_code, event_time, received_at, payload FROM "
		    "sms_events LIMIT 0) e";
	case SHAPE_THIS:
		break;
	}
	if (buf[0] != '\0')
		return buf;
	/* not version 7's columns: an older version's tables have all
	 * the rest, and import adds them */
	if (col_list(cols, sizeof(cols), SC_TABLE, SC_V7) == 0)
		snprintf(buf, sizeof(buf), "SELECT (SELECT count(*) FROM "
		    "(SELECT %s FROM sms_events LIMIT 0) e) + "
		    "(SELECT count(*) FROM "
		    "(SELECT id, received_at, verified, payload FROM "
		    "sms_event_payloads LIMIT 0) p) + (SELECT count(*) FROM "
		    "(SELECT source, day, byte_offset, gz_size FROM "
		    "smshook_positions LIMIT 0) q)", cols);
	return buf[0] != '\0' ? buf : NULL;
}

const char *
schema_migrate_v1(enum schema_backend b)
{
	return migrate_v1[b];
}

int
schema_row_key(int k, const char *const v[NCOLS], char *buf, size_t bufsz)
{
	const struct schema_key *key = &schema_keys[k];
	const char *x = v[key->col];
	size_t o = 0;
	int c;

	if ((key->equals != NULL ? (x == NULL ||
	    strcmp(x, key->equals) != 0) : (x == NULL) != key->null) &&
	    !(key->untyped && v[COL_EVENT_TYPE] == NULL))
		return 0;		/* not a row of this index */
	if (key->type != NULL && (v[COL_EVENT_TYPE] == NULL ||
	    strcmp(v[COL_EVENT_TYPE], key->type) != 0))
		return 0;		/* ... nor is this */
	if (add(buf, bufsz, &o, "%d", k) == -1)
		return -1;
	for (c = 0; c < NCOLS; c++) {
		if (!(schema_cols[c].keys & (1u << k)))
			continue;
		if (v[c] == NULL)
			return 0;	/* NULL never equals NULL in SQL */
		if (add(buf, bufsz, &o, "\037%zu:%s", strlen(v[c]), v[c]) ==
		    -1)
			return -1;
	}
	return 1;
}

const char schema_version_table[] =
	"CREATE TABLE IF NOT EXISTS smshook_schema (version integer NOT NULL)";
const char schema_version_query[] =
	"SELECT coalesce(max(version), 0) FROM smshook_schema";

int
schema_may_write(int v, const char *backend, char *err, size_t errlen)
{
	if (v <= SCHEMA_VERSION)
		return 0;
	snprintf(err, errlen, "%s: the tables are schema version %d, newer "
	    "than this smshookctl's %d: use a newer smshookctl", backend, v,
	    SCHEMA_VERSION);
	return -1;
}
