/*
 * db_sqlite.c: the embedded default. WAL with synchronous=FULL: each
 * commit is on disk before import goes on (one sync a batch), so purge,
 * which deletes what the positions say was imported, never trusts a
 * commit a power loss can still take back (with NORMAL one waits for a
 * checkpoint, which another open connection can put off); a day's read
 * position commits with its rows, so nothing is ever half in.
 * A line is its payload row, then its message rows; a line whose rows
 * were all stored before loses its payload row again, and a statement
 * the database refuses for the line's data undoes the line's rows and
 * puts the line in smshook_rejects.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "fsutil.h"

enum { ST_ROW, ST_PAYLOAD, ST_REJECT, ST_GETPOS, ST_SETPOS, ST_BEGIN,
	ST_UNDO_ROWS, ST_UNDO_PAYLOAD, ST_SETRUN, ST_GETRUN, NST };

struct sqlite_db {
	struct ctl_db	 db;		/* first: the generic part */
	sqlite3		*h;
	sqlite3_stmt	*st[NST];
};

static const char pragmas[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;";
/* Besides the tables of schema.h. */
static const char tables[] =
	"CREATE TABLE IF NOT EXISTS smshook_schema ("
	" version INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS smshook_positions ("
	" source TEXT NOT NULL, day TEXT NOT NULL,"
	" byte_offset INTEGER NOT NULL, gz_size INTEGER, first_line TEXT,"
	" last_line TEXT, PRIMARY KEY (source, day));"
	"CREATE TABLE IF NOT EXISTS smshook_rejects ("
	" source TEXT NOT NULL, day TEXT NOT NULL,"
	" byte_offset INTEGER NOT NULL,"
	" reason TEXT NOT NULL, line TEXT NOT NULL,"
	" PRIMARY KEY (source, day, byte_offset));"
	"CREATE TABLE IF NOT EXISTS smshook_runs ("
	" source TEXT PRIMARY KEY, finished_at INTEGER NOT NULL);";
/* Positions before version 4 had no mark of the day's first line. */
static const char migrate_v3[] =
	"ALTER TABLE smshook_positions ADD COLUMN first_line TEXT";
/* Positions before version 5 had no mark of the bytes before them. */
static const char migrate_v4[] =
	"ALTER TABLE smshook_positions ADD COLUMN last_line TEXT";

static const char *const sql[NST] = {
	[ST_ROW] = NULL,	/* insert_sql() */
	[ST_PAYLOAD] = "INSERT INTO sms_event_payloads (received_at, verified,"
	    " payload) VALUES (?,?,?)",
	[ST_REJECT] = "INSERT INTO smshook_rejects (source, day, byte_offset,"
	    " reason, line) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
	[ST_GETPOS] = "SELECT byte_offset, gz_size, first_line, last_line FROM"
	    " smshook_positions WHERE source = ? AND day = ?",
	[ST_SETPOS] = "INSERT INTO smshook_positions (source, day, byte_offset,"
	    " gz_size, first_line, last_line) VALUES (?,?,?,?,?,?) ON CONFLICT"
	    " (source, day) DO UPDATE SET byte_offset = excluded.byte_offset,"
	    " gz_size = excluded.gz_size, first_line = excluded.first_line,"
	    " last_line = excluded.last_line",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_UNDO_ROWS] = "DELETE FROM sms_events WHERE payload_id = ?",
	[ST_UNDO_PAYLOAD] = "DELETE FROM sms_event_payloads WHERE id = ?",
	[ST_SETRUN] = "INSERT INTO smshook_runs (source, finished_at) VALUES"
	    " (?,?) ON CONFLICT (source) DO UPDATE SET finished_at ="
	    " excluded.finished_at",
	[ST_GETRUN] = "SELECT finished_at FROM smshook_runs WHERE source = ?",
};

/*
 * Record the handle's last error in db->err, with the system's reason
 * for an I/O one (a file size limit, a full disk); returns -1.
 */
static int
sq_fail(struct sqlite_db *s, const char *what)
{
	int rc = sqlite3_errcode(s->h) & 0xff, e = sqlite3_system_errno(s->h);
	int io = (rc == SQLITE_IOERR || rc == SQLITE_FULL ||
	    rc == SQLITE_CANTOPEN) && e != 0;

	snprintf(s->db.err, sizeof(s->db.err), "sqlite: %s: %s%s%s%s", what,
	    sqlite3_errmsg(s->h), io ? " (" : "", io ? strerror(e) : "",
	    io ? ")" : "");
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

/*
 * Run SQL text q; -1 with the reason, named what (not q, whose text
 * would crowd SQLite's words out of it), on failure.
 */
static int
sq_exec(struct sqlite_db *s, const char *q, const char *what)
{
	if (sqlite3_exec(s->h, q, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(s, what);
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

	return sq_exec(s, "COMMIT", "commit");
}

static int
sq_rollback(struct ctl_db *db)
{
	struct sqlite_db *s = (struct sqlite_db *)db;

	if (sqlite3_get_autocommit(s->h))
		return 0;		/* nothing open */
	return sq_exec(s, "ROLLBACK", "roll back");
}

/* A read on a database looked at that has no import tables: -1. */
static int
no_tables(struct sqlite_db *s)
{
	snprintf(s->db.err, sizeof(s->db.err), "sqlite: no import tables");
	return -1;
}

static int
sq_get_pos(struct ctl_db *db, const char *day, struct db_pos *p)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st = s->st[ST_GETPOS];
	const unsigned char *mark;
	int rc = -1, r;

	p->off = 0;
	p->gz_size = -1;
	p->mark[0] = p->tail[0] = '\0';
	if (st == NULL)
		return no_tables(s);
	sqlite3_bind_text(st, 1, db->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		p->off = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			p->gz_size = sqlite3_column_int64(st, 1);
		if ((mark = sqlite3_column_text(st, 2)) != NULL)
			snprintf(p->mark, sizeof(p->mark), "%s", mark);
		if ((mark = sqlite3_column_text(st, 3)) != NULL)
			snprintf(p->tail, sizeof(p->tail), "%s", mark);
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
sq_set_pos(struct ctl_db *db, const char *day, const struct db_pos *p)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st = s->st[ST_SETPOS];

	sqlite3_bind_text(st, 1, db->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->off);
	if (p->gz_size >= 0)
		sqlite3_bind_int64(st, 4, p->gz_size);
	if (p->mark[0] != '\0')
		sqlite3_bind_text(st, 5, p->mark, -1, SQLITE_STATIC);
	if (p->tail[0] != '\0')
		sqlite3_bind_text(st, 6, p->tail, -1, SQLITE_STATIC);
	return sq_step_done(s, st, "store position");
}

/* 1 if rc says the statement's data was refused, not the database. */
static int
data_error(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_TOOBIG:
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return 1;
	default:
		return 0;
	}
}

/* Step st (already bound) once and reset it; the SQLite result code. */
static int
sq_step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc;
}

/* Bind the sms_events columns of row r of l, the payload's id last. */
static void
bind_row(sqlite3_stmt *st, const struct rows *l, const struct row *r,
    long long pid)
{
	char buf[32];
	const char *v;
	long long n;
	int c, i = 0;

	for (c = 0; c < NCOLS; c++) {
		if (!(schema_cols[c].where & SC_TABLE))
			continue;
		i++;
		if (c == COL_PAYLOAD_ID)
			sqlite3_bind_int64(st, i, pid);
		else if (schema_cols[c].integer) {
			if (row_int(l, r, c, &n))
				sqlite3_bind_int64(st, i, n);
			else
				sqlite3_bind_null(st, i);
		} else if ((v = row_text(l, r, c, buf, sizeof(buf))) == NULL)
			sqlite3_bind_null(st, i);
		else		/* l outlives the step: no copy */
			sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	}
}

/* Take back the rows and the payload of a line the database refused. */
static int
undo_line(struct sqlite_db *s, long long pid, unsigned long long rows)
{
	sqlite3_bind_int64(s->st[ST_UNDO_ROWS], 1, pid);
	sqlite3_bind_int64(s->st[ST_UNDO_PAYLOAD], 1, pid);
	if (sq_step_done(s, s->st[ST_UNDO_ROWS], "undo rows") == -1 ||
	    sq_step_done(s, s->st[ST_UNDO_PAYLOAD], "undo payload") == -1)
		return -1;
	s->db.pending -= rows;
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
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, line, -1, SQLITE_STATIC);
	return sq_step_done(s, st, "insert reject");
}

static int
sq_insert_event(struct ctl_db *db, const struct rows *l,
    const struct db_line *dl)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st = s->st[ST_PAYLOAD];
	unsigned long long rows = 0;
	char why[256], *text = NULL;
	long long pid = -1;
	size_t i;
	int rc;

	sqlite3_bind_text(st, 1, l->received_at, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, l->verified);
	sqlite3_bind_text(st, 3, l->payload, (int)l->payload_len,
	    SQLITE_STATIC);
	rc = sq_step(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		pid = sqlite3_last_insert_rowid(s->h);
	for (i = 0; rc == SQLITE_DONE && i < l->nrows; i++) {
		bind_row(s->st[ST_ROW], l, &l->rows[i], pid);
		rc = sq_step(s->st[ST_ROW]);
		if (rc == SQLITE_DONE && sqlite3_changes(s->h) > 0)
			rows++;
	}
	sqlite3_clear_bindings(s->st[ST_ROW]);
	s->db.pending += rows;
	if (rc == SQLITE_DONE && rows == 0) {
		/* all stored before (a retry): no payload row of its own */
		sqlite3_bind_int64(s->st[ST_UNDO_PAYLOAD], 1, pid);
		return sq_step_done(s, s->st[ST_UNDO_PAYLOAD], "undo payload");
	}
	if (rc == SQLITE_DONE)
		return 0;
	if (!data_error(rc))
		return sq_fail(s, "insert");
	/* the line's data is refused: its rows go, a reject comes */
	snprintf(why, sizeof(why), "sqlite: %s", sqlite3_errmsg(s->h));
	if ((pid != -1 && undo_line(s, pid, rows) == -1) ||
	    (text = strndup(dl->text, dl->len)) == NULL ||
	    sq_insert_reject(db, dl->day, dl->off, why, text) == -1) {
		free(text);
		return text == NULL ? sq_fail(s, "out of memory") : -1;
	}
	free(text);
	db->pending_refused++;
	db->pending_refused_rows += l->nrows;
	return 0;
}

static int
sq_replies(struct ctl_db *db, db_reply_fn fn, void *arg)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st;
	long long ms;
	int r, rc = 0;

	if (sqlite3_prepare_v2(s->h, schema_latest_replies, -1, &st, NULL) !=
	    SQLITE_OK)
		return sq_fail(s, "read replies");
	while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
		ms = sqlite3_column_int64(st, 2);
		rc = fn(arg, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    sqlite3_column_type(st, 2) == SQLITE_NULL ? NULL : &ms);
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = sq_fail(s, "read replies");
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}

static int
sq_set_run(struct ctl_db *db, long long ms)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st = s->st[ST_SETRUN];

	sqlite3_bind_text(st, 1, db->source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ms);
	return sq_step_done(s, st, "store the run");
}

static int
sq_get_run(struct ctl_db *db, long long *ms)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st = s->st[ST_GETRUN];
	int r;

	*ms = -1;
	if (st == NULL)
		return no_tables(s);
	sqlite3_bind_text(st, 1, db->source, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		*ms = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 :
	    sq_fail(s, "read the run");
}

static int
sq_scalar(struct ctl_db *db, const char *q, long long *v)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	sqlite3_stmt *st;
	int rc;

	*v = 0;
	if ((rc = sqlite3_prepare_v2(s->h, q, -1, &st, NULL)) != SQLITE_OK) {
		sq_fail(s, "schema");
		return rc == SQLITE_ERROR ? 1 : -1;	/* no such table */
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else
		sq_fail(s, "schema");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static void
sq_close(struct ctl_db *db)
{
	struct sqlite_db *s = (struct sqlite_db *)db;
	size_t i;

	for (i = 0; i < NST; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->h);
	free(s);
}

static const struct ctl_db_ops sqlite_ops = {
	sq_begin, sq_get_pos, sq_set_pos, sq_insert_event, sq_insert_reject,
	sq_commit, sq_rollback, sq_replies, sq_scalar, sq_set_run, sq_get_run,
	sq_close
};

/* INSERT INTO sms_events (...) VALUES (?,...) ON CONFLICT DO NOTHING */
static const char *
insert_sql(void)
{
	static char buf[1024];
	const char *cols = schema_col_list(SC_TABLE);
	int n, c, k = 0;

	if (buf[0] != '\0')
		return buf;
	if (cols == NULL)
		return NULL;
	n = snprintf(buf, sizeof(buf), "INSERT INTO sms_events (%s) VALUES (",
	    cols);
	for (c = 0; c < NCOLS && n > 0 && (size_t)n < sizeof(buf); c++)
		if (schema_cols[c].where & SC_TABLE)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s?",
			    k++ ? "," : "");
	if (n > 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
		    ") ON CONFLICT DO NOTHING");
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		buf[0] = '\0';
		return NULL;
	}
	return buf;
}

/* 1 if table has column, 0 if not (or there is no such table), -1. */
static int
has_column(struct sqlite_db *s, const char *table, const char *column)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->h, "SELECT 1 FROM pragma_table_info(?) "
	    "WHERE name = ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The version the tables say they are (0: none yet), or -1. */
static int
sq_version(struct sqlite_db *s)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sq_exec(s, schema_version_table, "create schema") == -1 ||
	    sqlite3_prepare_v2(s->h, schema_version_query, -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * Create the schema, or migrate an older one, in one transaction; a
 * newer one is refused with why in s->db.err.
 */
static int
make_schema(struct sqlite_db *s)
{
	const char *ddl = schema_ddl(SCHEMA_SQLITE),
	    *add7 = schema_add_v7(SCHEMA_SQLITE),
	    *mig6 = schema_migrate_v6(SCHEMA_SQLITE);
	char ver[128];
	int old, had, tokens, marked, v;

	if (ddl == NULL || add7 == NULL ||
	    sq_exec(s, "BEGIN IMMEDIATE", "begin") == -1)
		return -1;
	if ((v = sq_version(s)) == -1 || schema_may_write(v, "sqlite",
	    s->db.err, sizeof(s->db.err)) == -1 ||
	    (old = has_column(s, "sms_events", "payload")) == -1 ||
	    (had = has_column(s, "sms_events", "event_type")) == -1 ||
	    (tokens = has_column(s, "sms_events", "token")) == -1 ||
	    (v < SCHEMA_VERSION && sq_exec(s, schema_migrate_v2,
	    "migrate") == -1) ||
	    (old && sq_exec(s, schema_migrate_v1(SCHEMA_SQLITE),
	    "migrate") == -1) ||
	    (had && v < SCHEMA_V6 && sq_exec(s, schema_migrate_v5,
	    "migrate") == -1) ||
	    (had && !tokens && sq_exec(s, add7, "migrate") == -1) ||
	    (had && v < SCHEMA_VERSION && sq_exec(s, mig6, "migrate") == -1) ||
	    sq_exec(s, ddl, "create schema") == -1 ||
	    sq_exec(s, tables, "create schema") == -1 ||
	    (marked = has_column(s, "smshook_positions", "first_line")) ==
	    -1 || (!marked && sq_exec(s, migrate_v3, "migrate") == -1) ||
	    (marked = has_column(s, "smshook_positions", "last_line")) ==
	    -1 || (!marked && sq_exec(s, migrate_v4, "migrate") == -1) ||
	    (v < SCHEMA_V4 && sq_exec(s, SCHEMA_UNNAMED_PAYLOADS_SQLITE,
	    "migrate") == -1) ||
	    (v < SCHEMA_V4 && sq_exec(s, schema_unmark_first, "migrate") ==
	    -1) ||
	    (v < SCHEMA_V5 && sq_exec(s, schema_unmark_last, "migrate") ==
	    -1))
		goto fail;
	snprintf(ver, sizeof(ver), "DELETE FROM smshook_schema;"
	    "INSERT INTO smshook_schema VALUES (%d);", SCHEMA_VERSION);
	if (sq_exec(s, ver, "store schema version") == -1 ||
	    sq_exec(s, "COMMIT", "commit") == -1)
		goto fail;
	return 0;
 fail:
	sqlite3_exec(s->h, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Whether import (the effective user) may make files in path's folder, as
 * SQLite makes the database and its -wal and -shm files there: 0 if so,
 * else -1 with dir holding the folder (or "" if the path is too long).
 */
static int
folder_writable(const char *path, char *dir, size_t dirlen)
{
	if (fs_parent_dir(path, dir, dirlen) == -1) {
		*dir = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS);
}

int
db_sqlite_absent(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;

	if (*path == '\0') {		/* as db_sqlite_open refuses it */
		snprintf(err, errlen, "sqlite: empty path");
		return -1;
	}
	if (stat(path, &st) == 0 || errno != ENOENT ||
	    strcmp(path, ":memory:") == 0)
		return 0;		/* open says what else is wrong */
	if (folder_writable(path, dir, sizeof(dir)) == 0)
		return 1;
	snprintf(err, errlen, "sqlite %s: no such file, and import cannot "
	    "create it: %s: %s", path, dir, strerror(errno));
	return -1;
}

int
db_sqlite_writable(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;

	if (stat(path, &st) == -1)
		return 0;		/* none: db_sqlite_absent's to judge */
	if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) == -1) {
		snprintf(err, errlen, "sqlite %s: import cannot write it: %s",
		    path, strerror(errno));
		return -1;
	}
	if (folder_writable(path, dir, sizeof(dir)) == -1) {
		snprintf(err, errlen, "sqlite %s: import cannot make its -wal "
		    "and -shm files in %s: %s", path, dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Create the database file at path, or leave what is there: SQLite would
 * make it 0644 less the umask, so it is made 0640 first (an empty file is
 * an empty database), and, run as root, given to its folder's owner, the
 * user whose cron imports (SQLite gives its -wal and -shm files the
 * database's mode and owner). fd, or -1.
 */
static int
create_file(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;

	if (fs_parent_dir(path, dir, sizeof(dir)) == -1 ||
	    stat(dir, &st) == -1) {
		st.st_uid = (uid_t)-1;		/* fchown: left as is */
		st.st_gid = (gid_t)-1;
	}
	return fs_create(path, O_RDWR, 0640, st.st_uid, st.st_gid);
}

struct ctl_db *
db_sqlite_open(const char *path, int look, char *err, size_t errlen)
{
	static const int reads[] = { ST_GETPOS, ST_GETRUN };
	struct sqlite_db *s;
	size_t i;
	int fd;

	if (*path == '\0') {
		snprintf(err, errlen, "sqlite: empty path");
		return NULL;
	}
	if (!look && strcmp(path, ":memory:") != 0 &&
	    (fd = create_file(path)) != -1)
		close(fd);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->db.ops = &sqlite_ops;
	/*
	 * smshookctl is one thread: no mutexes, no allocation statistics
	 * (each malloc took a global mutex for them). Only possible before
	 * SQLite's first use in the process; later calls change nothing.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/*
	 * To look: no file made, and query-only rather than read-only, as
	 * a read-only connection leaves the WAL's files behind.
	 */
	if (sqlite3_open_v2(path, &s->h, SQLITE_OPEN_READWRITE | (look ? 0 :
	    SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(s->h, 30000);
	if (look) {
		if (sq_exec(s, "PRAGMA query_only = 1", "read only") == -1)
			goto fail;
		/* the two reads, if the tables are there (else NULL) */
		for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
			if (sqlite3_prepare_v2(s->h, sql[reads[i]], -1,
			    &s->st[reads[i]], NULL) != SQLITE_OK)
				s->st[reads[i]] = NULL;
		return &s->db;
	}
	if (sqlite3_exec(s->h, pragmas, NULL, NULL, NULL) != SQLITE_OK ||
	    make_schema(s) == -1)
		goto fail;
	for (i = 0; i < NST; i++)
		if (sqlite3_prepare_v3(s->h, i == ST_ROW ? insert_sql() :
		    sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
		    SQLITE_OK)
			goto fail;
	return &s->db;
 fail:
	if (s->db.err[0] != '\0')
		snprintf(err, errlen, "%s", s->db.err);
	else
		snprintf(err, errlen, "sqlite %s: %s", path, s->h != NULL ?
		    sqlite3_errmsg(s->h) : "out of memory");
	sq_close(&s->db);
	return NULL;
}
