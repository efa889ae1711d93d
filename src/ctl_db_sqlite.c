/*
 * ctl_db_sqlite.c: the embedded default. WAL with synchronous=NORMAL: a
 * crash of smshookctl never loses a commit, and since each day's read
 * position commits with its rows, power loss can only roll both back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ctl_db.h"

struct sqlite_db {
	struct ctl_db	 db;		/* first: the generic part */
	sqlite3		*h;
	sqlite3_stmt	*st[5];
	unsigned long long pending;	/* new rows in the open transaction */
};

enum { ST_ROW, ST_REJECT, ST_GETPOS, ST_SETPOS, ST_BEGIN };

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS sms_events ("
	" id INTEGER PRIMARY KEY,"
	" event_type INTEGER, event TEXT, sms_id TEXT, phone TEXT,"
	" user_id TEXT, sms_user TEXT, template_id TEXT, message TEXT,"
	" status_code INTEGER, event_time INTEGER, received_at TEXT,"
	" payload TEXT NOT NULL);"
	"CREATE UNIQUE INDEX IF NOT EXISTS sms_events_message"
	" ON sms_events (event_type, sms_id) WHERE sms_id IS NOT NULL;"
	"CREATE UNIQUE INDEX IF NOT EXISTS sms_events_template"
	" ON sms_events (event_type, template_id, event_time)"
	" WHERE sms_id IS NULL;"
	"CREATE INDEX IF NOT EXISTS sms_events_time ON sms_events (event_time);"
	"CREATE TABLE IF NOT EXISTS smshook_positions ("
	" source TEXT NOT NULL, day TEXT NOT NULL,"
	" byte_offset INTEGER NOT NULL, gz_size INTEGER,"
	" PRIMARY KEY (source, day));"
	"CREATE TABLE IF NOT EXISTS smshook_rejects ("
	" source TEXT NOT NULL, day TEXT NOT NULL, byte_offset INTEGER NOT NULL,"
	" reason TEXT NOT NULL, line TEXT NOT NULL,"
	" PRIMARY KEY (source, day, byte_offset));";

static const char *const sql[] = {
	[ST_ROW] = "INSERT INTO sms_events (event_type, event, sms_id, phone,"
	    " user_id, sms_user, template_id, message, status_code, event_time,"
	    " received_at, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
	    " ON CONFLICT DO NOTHING",
	[ST_REJECT] = "INSERT INTO smshook_rejects (source, day, byte_offset,"
	    " reason, line) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
	[ST_GETPOS] = "SELECT byte_offset, gz_size FROM smshook_positions"
	    " WHERE source = ? AND day = ?",
	[ST_SETPOS] = "INSERT INTO smshook_positions (source, day, byte_offset,"
	    " gz_size) VALUES (?,?,?,?) ON CONFLICT (source, day) DO UPDATE"
	    " SET byte_offset = excluded.byte_offset,"
	    " gz_size = excluded.gz_size",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
};

/* Record the handle's last error in db->err; returns -1. */
static int
sq_fail(struct sqlite_db *s, const char *what)
{
	snprintf(s->db.err, sizeof(s->db.err), "sqlite: %s: %s", what,
	    sqlite3_errmsg(s->h));
	return -1;
}

/* Run a statement that returns no rows; reset it afterwards. */
static int
sq_step_done(struct sqlite_db *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, what);
	return 0;
}

static int
sq_exec(struct sqlite_db *s, const char *q)
{
	if (sqlite3_exec(s->h, q, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(s, q);
	return 0;
}

static int
sq_begin(struct ctl_db *db)
{
	struct sqlite_db *s = (struct sqlite_db *)db;

	return sq_step_done(s, s->st[ST_BEGIN], "begin");
}

static int
sq_commit(struct ctl_db *db)
{
	struct sqlite_db *s = (struct sqlite_db *)db;

	if (sq_exec(s, "COMMIT") == -1)
		return -1;
	db->inserted += s->pending;
	s->pending = 0;
	return 0;
}

static int
sq_rollback(struct ctl_db *db)
{
	struct sqlite_db *s = (struct sqlite_db *)db;

	s->pending = 0;
	if (sqlite3_get_autocommit(s->h))
		return 0;		/* nothing open */
	return sq_exec(s, "ROLLBACK");
}

static int
sq_get_pos(struct ctl_db *db, const char *day, long long *off,
    long long *gz_size)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st = s->st[ST_GETPOS];
	int rc = -1, r;

	*off = 0;
	*gz_size = -1;
	sqlite3_bind_text(st, 1, db->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		*off = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			*gz_size = sqlite3_column_int64(st, 1);
		rc = 0;
	} else if (r == SQLITE_DONE)
		rc = 0;
	else
		sq_fail(s, "read position");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int
sq_set_pos(struct ctl_db *db, const char *day, long long off,
    long long gz_size)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st = s->st[ST_SETPOS];

	sqlite3_bind_text(st, 1, db->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, off);
	if (gz_size >= 0)
		sqlite3_bind_int64(st, 4, gz_size);
	return sq_step_done(s, st, "store position");
}

/* l outlives the step, so its strings are bound without a copy. */
static int
sq_insert_row(struct ctl_db *db, const struct ctl_line *l,
    const struct ctl_row *r)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st = s->st[ST_ROW];
	char buf[32];
	const char *v;
	long long n;
	int c, rc;

	for (c = 0; c < NCOLS; c++) {
		if (ctl_col_int[c]) {
			if (ctl_row_int(l, r, c, &n))
				sqlite3_bind_int64(st, c + 1, n);
			else
				sqlite3_bind_null(st, c + 1);
		} else if ((v = ctl_row_text(l, r, c, buf, sizeof(buf))) ==
		    NULL)
			sqlite3_bind_null(st, c + 1);
		else
			sqlite3_bind_text(st, c + 1, v, c == COL_PAYLOAD ?
			    (int)l->payload_len : -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "insert row");
	s->pending += sqlite3_changes(s->h) > 0;
	return 0;
}

static int
sq_insert_reject(struct ctl_db *db, const char *day, long long off,
    const char *reason, const char *line)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st = s->st[ST_REJECT];

	sqlite3_bind_text(st, 1, db->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, off);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, line, -1, SQLITE_STATIC);
	return sq_step_done(s, st, "insert reject");
}

static void
sq_close(struct ctl_db *db)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	size_t i;

	for (i = 0; i < sizeof(s->st) / sizeof(s->st[0]); i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->h);
	free(s);
}

static const struct ctl_db_ops sqlite_ops = {
	sq_begin, sq_get_pos, sq_set_pos, sq_insert_row, sq_insert_reject,
	sq_commit, sq_rollback, sq_close
};

struct ctl_db *
db_sqlite_open(const char *path, char *err, size_t errlen)
{
	struct sqlite_db *s;
	size_t i;

	if (*path == '\0') {
		snprintf(err, errlen, "sqlite: empty path");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->db.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &s->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(s->h, 30000);
	if (sqlite3_exec(s->h, schema, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (sqlite3_prepare_v3(s->h, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK)
			goto fail;
	return &s->db;
 fail:
	snprintf(err, errlen, "sqlite %s: %s", path, s->h != NULL ?
	    sqlite3_errmsg(s->h) : "out of memory");
	sq_close(&s->db);
	return NULL;
}
