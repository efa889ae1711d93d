/*
 * ctl_db_pg.c: PostgreSQL through libpq. Rows stream with COPY (no round
 * trip per row) straight into sms_events, a batch at a time inside a
 * savepoint; the batch is kept, and if it breaks a uniqueness rule (a
 * duplicate within it or of a stored row) it is rolled back to the
 * savepoint and sent again through a temporary staging table with one
 * INSERT ... SELECT ... ON CONFLICT DO NOTHING. Either way it lands
 * before anything else runs in the transaction (position, reject,
 * commit).
 * payload is jsonb, received_at timestamptz. Concurrent importers from
 * several hosts are safe: "on conflict do nothing" waits for the other's
 * transaction on the same key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "ctl_db.h"

/* Rows per savepoint: a duplicate sends at most this many again. */
#define PG_BATCH_ROWS	10000

struct pg_db {
	struct ctl_db	 db;		/* first: the generic part */
	PGconn		*c;
	int		 copying;	/* a COPY into sms_events is open */
	int		 staged;	/* rows in the batch */
	unsigned long long pending;	/* new rows in the open transaction */
	char		*buf;		/* the batch's COPY text */
	size_t		 len, cap;
};

#define COLS_SQL "event_type, event, sms_id, phone, user_id, sms_user," \
	" template_id, message, status_code, event_time, received_at, payload"

static const char stage[] =
	"CREATE TEMP TABLE smshook_stage (seq bigserial,"
	" event_type bigint, event text, sms_id text, phone text,"
	" user_id text, sms_user text, template_id text, message text,"
	" status_code bigint, event_time bigint, received_at timestamptz,"
	" payload jsonb NOT NULL)";

static const char schema[] =
	"BEGIN;"
	"SET LOCAL client_min_messages = warning;"
	"SELECT pg_advisory_xact_lock(7262917);"	/* one creator at a time */
	"CREATE TABLE IF NOT EXISTS sms_events ("
	" id bigserial PRIMARY KEY,"
	" event_type bigint, event text, sms_id text, phone text,"
	" user_id text, sms_user text, template_id text, message text,"
	" status_code bigint, event_time bigint, received_at timestamptz,"
	" payload jsonb NOT NULL);"
	"CREATE UNIQUE INDEX IF NOT EXISTS sms_events_message"
	" ON sms_events (event_type, sms_id) WHERE sms_id IS NOT NULL;"
	"CREATE UNIQUE INDEX IF NOT EXISTS sms_events_template"
	" ON sms_events (event_type, template_id, event_time)"
	" WHERE sms_id IS NULL;"
	"CREATE INDEX IF NOT EXISTS sms_events_time ON sms_events (event_time);"
	"CREATE TABLE IF NOT EXISTS smshook_positions ("
	" source text NOT NULL, day text NOT NULL,"
	" byte_offset bigint NOT NULL, gz_size bigint,"
	" PRIMARY KEY (source, day));"
	"CREATE TABLE IF NOT EXISTS smshook_rejects ("
	" source text NOT NULL, day text NOT NULL, byte_offset bigint NOT NULL,"
	" reason text NOT NULL, line text NOT NULL,"
	" PRIMARY KEY (source, day, byte_offset));"
	"COMMIT;";

static const struct {
	const char	*name;
	const char	*sql;
	int		 nparams;
} stmts[] = {
	{ "smshook_reject", "INSERT INTO smshook_rejects (source, day,"
	    " byte_offset, reason, line) VALUES ($1,$2,$3,$4,$5)"
	    " ON CONFLICT DO NOTHING", 5 },
	{ "smshook_getpos", "SELECT byte_offset, gz_size FROM"
	    " smshook_positions WHERE source = $1 AND day = $2", 2 },
	{ "smshook_setpos", "INSERT INTO smshook_positions (source, day,"
	    " byte_offset, gz_size) VALUES ($1,$2,$3,$4) ON CONFLICT (source,"
	    " day) DO UPDATE SET byte_offset = EXCLUDED.byte_offset,"
	    " gz_size = EXCLUDED.gz_size", 4 },
};

/* Keep the server's notices off stderr: cron mails whatever is printed. */
static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Check res for want; on failure record the reason. Clears res. */
static int
pg_check(struct pg_db *p, PGresult *res, ExecStatusType want,
    const char *what)
{
	const char *m;
	int rc = 0;

	if (res == NULL || PQresultStatus(res) != want) {
		m = res != NULL ? PQresultErrorMessage(res) : "";
		if (*m == '\0')
			m = PQerrorMessage(p->c);
		snprintf(p->db.err, sizeof(p->db.err), "postgresql: %s: %.*s",
		    what, (int)strcspn(m, "\n"), m);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static int
pg_exec(struct pg_db *p, const char *q)
{
	return pg_check(p, PQexec(p->c, q), PGRES_COMMAND_OK, q);
}

/* Run q, which must start a COPY FROM STDIN. */
static int
pg_copy_start(struct pg_db *p, const char *q)
{
	return pg_check(p, PQexec(p->c, q), PGRES_COPY_IN, "copy");
}

/*
 * End the open COPY. Returns 0 with its row count added to *n, 1 if it
 * broke a uniqueness rule (SQLSTATE 23505), -1 on any other failure.
 */
static int
pg_copy_end(struct pg_db *p, unsigned long long *n)
{
	PGresult *res;
	const char *st;
	int rc = 0;

	if (PQputCopyEnd(p->c, NULL) != 1)
		return pg_check(p, NULL, PGRES_COMMAND_OK, "copy end");
	while ((res = PQgetResult(p->c)) != NULL) {
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			*n += strtoull(PQcmdTuples(res), NULL, 10);
			PQclear(res);
			continue;
		}
		st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (rc == 0 && st != NULL && strcmp(st, "23505") == 0) {
			PQclear(res);
			rc = 1;
		} else if (pg_check(p, res, PGRES_COMMAND_OK, "copy") == -1)
			rc = -1;
	}
	return rc;
}

/* The batch again, through the stage: duplicates are dropped there. */
static int
pg_stage(struct pg_db *p)
{
	PGresult *res;
	unsigned long long dummy = 0;
	int rc;

	if (pg_exec(p, "ROLLBACK TO SAVEPOINT smshook_batch") == -1 ||
	    pg_exec(p, "RELEASE SAVEPOINT smshook_batch") == -1 ||
	    pg_copy_start(p, "COPY smshook_stage (" COLS_SQL
	    ") FROM STDIN") == -1)
		return -1;
	if (PQputCopyData(p->c, p->buf, (int)p->len) != 1)
		return pg_check(p, NULL, PGRES_COMMAND_OK, "copy data");
	if ((rc = pg_copy_end(p, &dummy)) == 1)
		snprintf(p->db.err, sizeof(p->db.err), "postgresql: copy: "
		    "unique violation in the stage");
	if (rc != 0)
		return -1;
	res = PQexec(p->c, "INSERT INTO sms_events (" COLS_SQL ") SELECT "
	    COLS_SQL " FROM smshook_stage ORDER BY seq ON CONFLICT DO NOTHING");
	if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK)
		p->pending += strtoull(PQcmdTuples(res), NULL, 10);
	if (pg_check(p, res, PGRES_COMMAND_OK, "insert rows") == -1 ||
	    pg_exec(p, "TRUNCATE smshook_stage") == -1)
		return -1;
	return 0;
}

/* End the open batch: its rows are in sms_events, once each. */
static int
pg_flush(struct pg_db *p)
{
	unsigned long long n = 0;
	int rc;

	if (!p->copying)
		return 0;
	p->copying = 0;
	if ((rc = pg_copy_end(p, &n)) == -1)
		return -1;
	if (rc == 0) {
		p->pending += n;
		rc = pg_exec(p, "RELEASE SAVEPOINT smshook_batch");
	} else
		rc = pg_stage(p);
	p->staged = 0;
	p->len = 0;
	return rc;
}

static int
pg_begin(struct ctl_db *db)
{
	struct pg_db *p = (struct pg_db *)db;

	p->pending = 0;
	p->staged = 0;
	p->len = 0;
	return pg_exec(p, "BEGIN");
}

static int
pg_commit(struct ctl_db *db)
{
	struct pg_db *p = (struct pg_db *)db;

	if (pg_flush(p) == -1 || pg_exec(p, "COMMIT") == -1)
		return -1;
	db->inserted += p->pending;
	p->pending = 0;
	return 0;
}

static int
pg_rollback(struct ctl_db *db)
{
	struct pg_db *p = (struct pg_db *)db;
	PGresult *res;

	if (p->copying) {
		p->copying = 0;
		PQputCopyEnd(p->c, "rollback");
		while ((res = PQgetResult(p->c)) != NULL)
			PQclear(res);
	}
	p->pending = 0;
	p->staged = 0;
	p->len = 0;
	if (PQtransactionStatus(p->c) == PQTRANS_IDLE)
		return 0;
	return pg_exec(p, "ROLLBACK");
}

static int
pg_get_pos(struct ctl_db *db, const char *day, long long *off,
    long long *gz_size)
{
	struct pg_db *p = (struct pg_db *)db;
	const char *v[2] = { db->source, day };
	PGresult *res;
	int rc = -1;

	*off = 0;
	*gz_size = -1;
	res = PQexecPrepared(p->c, "smshook_getpos", 2, v, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		return pg_check(p, res, PGRES_TUPLES_OK, "read position");
	if (PQntuples(res) == 1) {
		*off = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (!PQgetisnull(res, 0, 1))
			*gz_size = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	rc = 0;
	PQclear(res);
	return rc;
}

static int
pg_set_pos(struct ctl_db *db, const char *day, long long off,
    long long gz_size)
{
	struct pg_db *p = (struct pg_db *)db;
	char o[32], g[32];
	const char *v[4] = { db->source, day, o, gz_size >= 0 ? g : NULL };

	if (pg_flush(p) == -1)
		return -1;
	snprintf(o, sizeof(o), "%lld", off);
	snprintf(g, sizeof(g), "%lld", gz_size);
	return pg_check(p, PQexecPrepared(p->c, "smshook_setpos", 4, v, NULL,
	    NULL, 0), PGRES_COMMAND_OK, "store position");
}

/* Append v to the COPY text in p->buf at *o, escaped for COPY text. */
static int
copy_field(struct pg_db *p, size_t *o, const char *v)
{
	size_t n = v != NULL ? strlen(v) : 0, need = 2 * n + 2, ncap, run;
	const char *end;
	char *nb;

	if (*o + need > p->cap) {
		ncap = p->cap * 2 > *o + need + 4096 ? p->cap * 2 :
		    *o + need + 4096;
		if ((nb = realloc(p->buf, ncap)) == NULL)
			return -1;
		p->buf = nb;
		p->cap = ncap;
	}
	if (v == NULL) {
		memcpy(p->buf + *o, "\\N", 2);
		*o += 2;
		return 0;
	}
	for (end = v + n; v < end; ) {
		/* a run of plain bytes, then one that needs a backslash */
		run = strcspn(v, "\\\n\r\t");
		memcpy(p->buf + *o, v, run);
		*o += run;
		if ((v += run) == end)
			break;
		p->buf[(*o)++] = '\\';
		switch (*v++) {
		case '\n':
			p->buf[(*o)++] = 'n';
			break;
		case '\r':
			p->buf[(*o)++] = 'r';
			break;
		case '\t':
			p->buf[(*o)++] = 't';
			break;
		default:
			p->buf[(*o)++] = '\\';
		}
	}
	return 0;
}

static int
pg_insert_row(struct ctl_db *db, const struct ctl_line *l,
    const struct ctl_row *r)
{
	struct pg_db *p = (struct pg_db *)db;
	char num[32];
	size_t o;
	int c;

	if (!p->copying) {
		if (pg_exec(p, "SAVEPOINT smshook_batch") == -1 ||
		    pg_copy_start(p, "COPY sms_events (" COLS_SQL
		    ") FROM STDIN") == -1)
			return -1;
		p->copying = 1;
		p->len = 0;
	}
	o = p->len;
	for (c = 0; c < NCOLS; c++) {
		if (copy_field(p, &o, ctl_row_text(l, r, c, num,
		    sizeof(num))) == -1) {
			snprintf(db->err, sizeof(db->err), "out of memory");
			return -1;
		}
		p->buf[o++] = c + 1 < NCOLS ? '\t' : '\n';
	}
	if (PQputCopyData(p->c, p->buf + p->len, (int)(o - p->len)) != 1)
		return pg_check(p, NULL, PGRES_COMMAND_OK, "copy data");
	p->len = o;
	if (++p->staged >= PG_BATCH_ROWS)
		return pg_flush(p);
	return 0;
}

static int
pg_insert_reject(struct ctl_db *db, const char *day, long long off,
    const char *reason, const char *line)
{
	struct pg_db *p = (struct pg_db *)db;
	char o[32];
	const char *v[5] = { db->source, day, o, reason, line };

	if (pg_flush(p) == -1)
		return -1;
	snprintf(o, sizeof(o), "%lld", off);
	return pg_check(p, PQexecPrepared(p->c, "smshook_reject", 5, v, NULL,
	    NULL, 0), PGRES_COMMAND_OK, "insert reject");
}

static void
pg_close(struct ctl_db *db)
{
	struct pg_db *p = (struct pg_db *)db;

	PQfinish(p->c);
	free(p->buf);
	free(p);
}

static const struct ctl_db_ops pg_ops = {
	pg_begin, pg_get_pos, pg_set_pos, pg_insert_row, pg_insert_reject,
	pg_commit, pg_rollback, pg_close
};

struct ctl_db *
db_pg_open(const char *conninfo, char *err, size_t errlen)
{
	struct pg_db *p;
	const char *m;
	size_t i;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->db.ops = &pg_ops;
	p->c = PQconnectdb(conninfo);
	if (PQstatus(p->c) != CONNECTION_OK) {
		m = PQerrorMessage(p->c);
		snprintf(err, errlen, "postgresql: %.*s", (int)strcspn(m, "\n"),
		    m);
		goto fail;
	}
	PQsetNoticeProcessor(p->c, quiet, NULL);
	if (PQsetClientEncoding(p->c, "UTF8") != 0) {
		snprintf(err, errlen, "postgresql: cannot use UTF8");
		goto fail;
	}
	if (pg_check(p, PQexec(p->c, schema), PGRES_COMMAND_OK,
	    "create schema") == -1 || pg_exec(p, stage) == -1)
		goto fail_db;
	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		if (pg_check(p, PQprepare(p->c, stmts[i].name, stmts[i].sql,
		    stmts[i].nparams, NULL), PGRES_COMMAND_OK, "prepare") == -1)
			goto fail_db;
	return &p->db;
 fail_db:
	snprintf(err, errlen, "%s", p->db.err);
 fail:
	pg_close(&p->db);
	return NULL;
}
