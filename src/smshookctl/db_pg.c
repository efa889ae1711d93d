/*
 * db_pg.c: PostgreSQL through libpq. Lines are queued as COPY text (a
 * payload record each, their message rows beside) and sent a batch at a
 * time inside a savepoint, bounded in rows and in bytes so that memory
 * stays the same whatever the spool holds:
 *
 *   - COPY sms_event_payloads, then COPY sms_events: the common case,
 *     no round trip per row;
 *   - a row that breaks a unique key (a retry, or a row stored before):
 *     the batch again, its rows through a temporary stage table and one
 *     INSERT ... SELECT ... ON CONFLICT DO NOTHING, then the payloads
 *     of its lines that got no row deleted again;
 *   - a value the database refuses (a number jsonb cannot hold, an id
 *     too long for its index, a time it cannot read): the batch again a
 *     line at a time, and the line refused goes to smshook_rejects with
 *     PostgreSQL's reason.
 *
 * Payload ids are taken from the table's sequence ahead, a block per
 * round trip. payload is jsonb, received_at timestamptz. Importers on
 * several hosts take turns a transaction at a time (an advisory lock
 * taken first in each): two spools holding the same events in another
 * order would otherwise each wait on the other's uncommitted keys, and
 * PostgreSQL would end one of them as a deadlock.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"

#define PG_BATCH_ROWS	10000		/* rows a savepoint holds */
#define PG_BATCH_BYTES	(8 << 20)	/* bytes of text queued, at most */
#define PG_IDS		1000		/* payload ids taken at once */

/* What sending a batch came to. */
enum { SENT, DUPLICATE, REFUSED };

/* One queued line: its place in the spool and its text in the queue. */
struct pline {
	char		 day[11];
	long long	 off;
	size_t		 raw, rawlen;	/* the spool line, for a reject */
	size_t		 pay, paylen;	/* its sms_event_payloads record */
	size_t		 rows, rowslen;	/* its sms_events records */
	size_t		 nrows;
};

struct pg_db {
	struct ctl_db	 db;		/* first: the generic part */
	PGconn		*c;
	char		*buf;		/* the queue's text */
	size_t		 len, cap;
	struct pline	*q;		/* the queued lines */
	size_t		 nq, capq, nrows;
	long long	 ids[PG_IDS];	/* payload ids taken, not yet used */
	size_t		 nids, nextid;
	char		 why[512];	/* the last refusal's reason */
};

/* The statements naming sms_events' columns, made from schema.h. */
static struct {
	char	stage[1024];		/* the temporary stage table */
	char	copy_events[512];	/* COPY sms_events (...) */
	char	copy_stage[512];	/* COPY smshook_stage (...) */
	char	from_stage[1024];	/* INSERT INTO sms_events ... */
	int	last;			/* the last column of a row record */
} pgsql;

static const char copy_payloads[] = "COPY sms_event_payloads (id, "
    "received_at, verified, payload) FROM STDIN";
/* After the stage: the batch's payloads that no row names (retries). */
static const char unused_payloads[] = "DELETE FROM sms_event_payloads p "
    "USING (SELECT DISTINCT payload_id FROM smshook_stage) s WHERE p.id = "
    "s.payload_id AND NOT EXISTS (SELECT 1 FROM sms_events e WHERE "
    "e.payload_id = p.id)";

/*
 * Around the tables of schema.h: one creator at a time (read committed
 * whatever the session's default, so that the one that waited sees what
 * the other made), a lock a reader's open transaction holds on them
 * waited for a minute at most, and the tables made or migrated in the
 * schema that already holds them (else the first of search_path: a
 * schema named after the role, made since, must not get a second set).
 */
static const char schema_begin[] =
	"BEGIN ISOLATION LEVEL READ COMMITTED;"
	"SET LOCAL client_min_messages = warning;"
	"SET LOCAL lock_timeout = '60s';"
	"SELECT pg_advisory_xact_lock(7262917);"
	"SELECT set_config('search_path', quote_ident(n.nspname), true)"
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	" WHERE c.oid = coalesce(to_regclass('sms_events'),"
	" to_regclass('smshook_schema'));";
/* What schema_current looks for besides schema.h's schema_tables. */
static const char *const schema_names[] = {
	"smshook_schema", "sms_events", "sms_events_full"
};
/* positions before version 4 had no mark of the day's first line, nor
 * before version 5 of the bytes before them */
static const char migrate_v3[] =
	"ALTER TABLE smshook_positions ADD COLUMN IF NOT EXISTS"
	" first_line text;"
	"ALTER TABLE smshook_positions ADD COLUMN IF NOT EXISTS"
	" last_line text;";
static const char schema_end[] =
	"CREATE TABLE IF NOT EXISTS smshook_schema ("
	" version integer NOT NULL);"
	"CREATE TABLE IF NOT EXISTS smshook_positions ("
	" source text NOT NULL, day text NOT NULL,"
	" byte_offset bigint NOT NULL, gz_size bigint, first_line text,"
	" last_line text, PRIMARY KEY (source, day));"
	"CREATE TABLE IF NOT EXISTS smshook_rejects ("
	" source text NOT NULL, day text NOT NULL, byte_offset bigint NOT NULL,"
	" reason text NOT NULL, line text NOT NULL,"
	" PRIMARY KEY (source, day, byte_offset));"
	"CREATE TABLE IF NOT EXISTS smshook_runs ("
	" source text PRIMARY KEY, finished_at bigint NOT NULL);"
	"DELETE FROM smshook_schema;";

static const struct {
	const char	*name;
	const char	*sql;
	int		 nparams;
	int		 read;		/* prepared to look too */
} stmts[] = {
	{ "smshook_reject", "INSERT INTO smshook_rejects (source, day,"
	    " byte_offset, reason, line) VALUES ($1,$2,$3,$4,$5)"
	    " ON CONFLICT DO NOTHING", 5, 0 },
	{ "smshook_getpos", "SELECT byte_offset, gz_size, first_line,"
	    " last_line FROM smshook_positions WHERE source = $1 AND day = $2",
	    2, 1 },
	{ "smshook_setpos", "INSERT INTO smshook_positions (source, day,"
	    " byte_offset, gz_size, first_line, last_line) VALUES"
	    " ($1,$2,$3,$4,$5,$6) ON CONFLICT (source, day) DO UPDATE SET"
	    " byte_offset = EXCLUDED.byte_offset, gz_size = EXCLUDED.gz_size,"
	    " first_line = EXCLUDED.first_line,"
	    " last_line = EXCLUDED.last_line", 6, 0 },
	{ "smshook_setrun", "INSERT INTO smshook_runs (source, finished_at)"
	    " VALUES ($1,$2) ON CONFLICT (source) DO UPDATE SET finished_at ="
	    " EXCLUDED.finished_at", 2, 0 },
	{ "smshook_getrun", "SELECT finished_at FROM smshook_runs WHERE"
	    " source = $1", 1, 1 },
};

/* Keep the server's notices off stderr: cron mails whatever is printed. */
static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/*
 * The first line of res's error (or the connection's) into buf; a lost
 * connection stops the run.
 */
static void
reason(struct pg_db *p, const PGresult *res, const char *what, char *buf,
    size_t bufsz)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : "";

	if (*m == '\0')
		m = PQerrorMessage(p->c);
	snprintf(buf, bufsz, "postgresql: %s: %.*s", what,
	    (int)strcspn(m, "\n"), m);
	if (PQstatus(p->c) == CONNECTION_BAD)
		p->db.stop = "the connection to the database was lost";
}

/*
 * s, a decimal integer PostgreSQL returned, in *out: 0, or -1 with why
 * in p->db.err (named what) if s is not one whole, in range.
 */
static int
pg_ll(struct pg_db *p, const char *s, const char *what, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0) {
		snprintf(p->db.err, sizeof(p->db.err), "postgresql: %s: not "
		    "a number: \"%.32s\"", what, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Check res for want; on failure record the reason. Clears res. */
static int
pg_check(struct pg_db *p, PGresult *res, ExecStatusType want,
    const char *what)
{
	int rc = 0;

	if (res == NULL || PQresultStatus(res) != want) {
		reason(p, res, what, p->db.err, sizeof(p->db.err));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/*
 * Run q, which returns no rows; on failure the reason, named what (not
 * q, whose text would crowd the server's words out of it).
 */
static int
pg_exec(struct pg_db *p, const char *q, const char *what)
{
	return pg_check(p, PQexec(p->c, q), PGRES_COMMAND_OK, what);
}

/*
 * What a failed statement's SQLSTATE says: DUPLICATE for a unique key
 * (23505), REFUSED for a value the database cannot take (data
 * exceptions, other integrity rules, program limits), else -1.
 */
static int
classify(const PGresult *res)
{
	const char *st = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (st == NULL)
		return -1;
	if (strcmp(st, "23505") == 0)
		return DUPLICATE;
	if (strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0 ||
	    strncmp(st, "54", 2) == 0)
		return REFUSED;
	return -1;
}

/*
 * Add the rows res's command touched to *n (a command such as TRUNCATE
 * gives no count): 0, or -1 with why in p->db.err.
 */
static int
pg_count(struct pg_db *p, PGresult *res, unsigned long long *n)
{
	const char *t = PQcmdTuples(res);
	long long v;

	if (*t == '\0')
		return 0;
	if (pg_ll(p, t, "row count", &v) == -1)
		return -1;
	if (v < 0) {
		snprintf(p->db.err, sizeof(p->db.err), "postgresql: row "
		    "count: negative: \"%.32s\"", t);
		return -1;
	}
	*n += (unsigned long long)v;
	return 0;
}

/*
 * Run q (a statement, or with text a COPY FROM STDIN fed the records of
 * queued lines [a, b) at offset field of struct pline). SENT with the
 * row count added to *n, DUPLICATE, REFUSED (reason in p->why), or -1.
 */
static int
pg_run(struct pg_db *p, const char *q, size_t field, size_t a, size_t b,
    unsigned long long *n)
{
	PGresult *res;
	const struct pline *l;
	size_t i, at, len;
	int rc = SENT, k, copy = field != 0;

	res = PQexec(p->c, q);
	if (copy && PQresultStatus(res) == PGRES_COPY_IN) {
		PQclear(res);
		for (i = a; i < b; i++) {
			l = &p->q[i];
			at = *(const size_t *)((const char *)l + field);
			len = *(const size_t *)((const char *)l + field +
			    sizeof(size_t));
			if (len > 0 && PQputCopyData(p->c, p->buf + at,
			    (int)len) != 1)
				return pg_check(p, NULL, PGRES_COMMAND_OK,
				    "copy data");
		}
		if (PQputCopyEnd(p->c, NULL) != 1)
			return pg_check(p, NULL, PGRES_COMMAND_OK, "copy end");
		res = PQgetResult(p->c);
	}
	for (; res != NULL; res = copy ? PQgetResult(p->c) : NULL) {
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			if (rc == SENT && pg_count(p, res, n) == -1)
				rc = -1;
		} else if (rc == SENT && (k = classify(res)) != -1) {
			rc = k;
			reason(p, res, "refused", p->why, sizeof(p->why));
		} else if (rc == SENT) {
			reason(p, res, "import", p->db.err, sizeof(p->db.err));
			rc = -1;
		}
		PQclear(res);
	}
	return rc;
}

/* Back to the savepoint after a failed step; rc, or -1 if that fails. */
static int
pg_undo(struct pg_db *p, int rc)
{
	if (pg_exec(p, "ROLLBACK TO SAVEPOINT smshook_batch",
	    "roll back the batch") == -1 ||
	    pg_exec(p, "RELEASE SAVEPOINT smshook_batch", "end the batch") ==
	    -1)
		return -1;
	return rc;
}

/*
 * Send queued lines [a, b) in one savepoint: SENT (their new rows
 * counted), REFUSED (nothing kept, reason in p->why), or -1.
 */
static int
pg_send(struct pg_db *p, size_t a, size_t b)
{
	const size_t pay = offsetof(struct pline, pay),
	    rows = offsetof(struct pline, rows);
	unsigned long long n = 0, dummy = 0;
	int rc;

	if (pg_exec(p, "SAVEPOINT smshook_batch", "begin a batch") == -1)
		return -1;
	if ((rc = pg_run(p, copy_payloads, pay, a, b, &dummy)) != SENT)
		return rc == -1 ? -1 : pg_undo(p, REFUSED);
	rc = pg_run(p, pgsql.copy_events, rows, a, b, &n);
	if (rc == DUPLICATE) {
		/* again, the rows through the stage, duplicates dropped */
		n = 0;
		if (pg_undo(p, 0) == -1 ||
		    pg_exec(p, "SAVEPOINT smshook_batch", "begin a batch") ==
		    -1 ||
		    (rc = pg_run(p, copy_payloads, pay, a, b, &dummy)) !=
		    SENT || (rc = pg_run(p, pgsql.copy_stage, rows, a, b,
		    &dummy)) != SENT || (rc = pg_run(p, pgsql.from_stage, 0,
		    a, b, &n)) != SENT || (rc = pg_run(p, unused_payloads, 0,
		    a, b, &dummy)) != SENT || (rc = pg_run(p, "TRUNCATE "
		    "smshook_stage", 0, a, b, &dummy)) != SENT)
			return rc == -1 ? -1 : pg_undo(p, REFUSED);
	} else if (rc != SENT)
		return rc == -1 ? -1 : pg_undo(p, REFUSED);
	if (pg_exec(p, "RELEASE SAVEPOINT smshook_batch", "end the batch") ==
	    -1)
		return -1;
	p->db.pending += n;
	return SENT;
}

/* Put queued line l in smshook_rejects with reason why. */
static int
pg_reject_line(struct pg_db *p, const struct pline *l, const char *why)
{
	char o[32], *text;
	const char *v[5];
	int rc;

	if ((text = strndup(p->buf + l->raw, l->rawlen)) == NULL) {
		snprintf(p->db.err, sizeof(p->db.err), "out of memory");
		return -1;
	}
	snprintf(o, sizeof(o), "%lld", l->off);
	v[0] = p->db.source;
	v[1] = l->day;
	v[2] = o;
	v[3] = why;
	v[4] = text;
	rc = pg_check(p, PQexecPrepared(p->c, "smshook_reject", 5, v, NULL,
	    NULL, 0), PGRES_COMMAND_OK, "insert reject");
	free(text);
	return rc;
}

/* Send the queue: whole, or a line at a time if a line is refused. */
static int
pg_flush(struct pg_db *p)
{
	size_t i;
	int rc = 0;

	if (p->nq == 0)
		return 0;
	switch (pg_send(p, 0, p->nq)) {
	case SENT:
		break;
	case REFUSED:
		for (i = 0; i < p->nq && rc == 0; i++) {
			switch (pg_send(p, i, i + 1)) {
			case SENT:
				break;
			case REFUSED:
				rc = pg_reject_line(p, &p->q[i], p->why);
				p->db.pending_refused++;
				p->db.pending_refused_rows += p->q[i].nrows;
				break;
			default:
				rc = -1;
			}
		}
		break;
	default:
		rc = -1;
	}
	p->nq = p->nrows = p->len = 0;
	return rc;
}

/*
 * The key is "smshook" in ASCII; the lock ends with the transaction,
 * which reads committed whatever the session's default: under
 * repeatable read or serializable its snapshot would be taken while it
 * waited, and every write meeting the other host's rows would fail.
 * The wait is bounded by session_limits.
 */
static const char begin_import[] =
	"BEGIN ISOLATION LEVEL READ COMMITTED;"
	"SELECT pg_advisory_xact_lock(32489964762525547)";

/*
 * Set once per import session, where the role sets none: a turn above
 * is waited for five minutes at most; and as an import stopped or cut
 * off inside a transaction would hold it, and every other host's turn,
 * until the server noticed, the server ends a session a minute idle in
 * one.
 */
static const char session_limits[] =
	"SELECT set_config('lock_timeout', '5min', false)"
	" WHERE current_setting('lock_timeout') = '0';"
	"SELECT set_config('idle_in_transaction_session_timeout', '1min',"
	" false) WHERE current_setting('idle_in_transaction_session_timeout')"
	" = '0'";

static int
pg_begin(struct ctl_db *db)
{
	struct pg_db *p = (struct pg_db *)db;
	const char *st;
	PGresult *res;

	p->nq = p->nrows = p->len = 0;
	res = PQexec(p->c, begin_import);
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK) {
		PQclear(res);
		return 0;
	}
	/* the wait for the lock ended by lock_timeout or statement_timeout */
	st = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (st != NULL && (strcmp(st, "55P03") == 0 ||
	    strcmp(st, "57014") == 0))
		db->stop = "the database stayed locked by another session";
	return pg_check(p, res, PGRES_TUPLES_OK, "begin");
}

static int
pg_commit(struct ctl_db *db)
{
	struct pg_db *p = (struct pg_db *)db;

	return pg_flush(p) == -1 ? -1 : pg_exec(p, "COMMIT", "commit");
}

static int
pg_rollback(struct ctl_db *db)
{
	struct pg_db *p = (struct pg_db *)db;
	PGresult *res;

	while ((res = PQgetResult(p->c)) != NULL)
		PQclear(res);
	p->nq = p->nrows = p->len = 0;
	if (PQtransactionStatus(p->c) == PQTRANS_IDLE)
		return 0;
	return pg_exec(p, "ROLLBACK", "roll back");
}

static int
pg_get_pos(struct ctl_db *db, const char *day, struct db_pos *pos)
{
	struct pg_db *p = (struct pg_db *)db;
	const char *v[2] = { db->source, day };
	PGresult *res;
	int rc = 0;

	pos->off = 0;
	pos->gz_size = -1;
	pos->mark[0] = pos->tail[0] = '\0';
	res = PQexecPrepared(p->c, "smshook_getpos", 2, v, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		return pg_check(p, res, PGRES_TUPLES_OK, "read position");
	if (PQntuples(res) == 1) {
		if (pg_ll(p, PQgetvalue(res, 0, 0), "read position",
		    &pos->off) == -1 || (!PQgetisnull(res, 0, 1) &&
		    pg_ll(p, PQgetvalue(res, 0, 1), "read position",
		    &pos->gz_size) == -1))
			rc = -1;
		else {
			if (!PQgetisnull(res, 0, 2))
				snprintf(pos->mark, sizeof(pos->mark), "%s",
				    PQgetvalue(res, 0, 2));
			if (!PQgetisnull(res, 0, 3))
				snprintf(pos->tail, sizeof(pos->tail), "%s",
				    PQgetvalue(res, 0, 3));
		}
	}
	PQclear(res);
	return rc;
}

static int
pg_set_pos(struct ctl_db *db, const char *day, const struct db_pos *pos)
{
	struct pg_db *p = (struct pg_db *)db;
	char o[32], g[32];
	const char *v[6] = { db->source, day, o, pos->gz_size >= 0 ? g : NULL,
	    pos->mark[0] != '\0' ? pos->mark : NULL,
	    pos->tail[0] != '\0' ? pos->tail : NULL };

	if (pg_flush(p) == -1)
		return -1;
	snprintf(o, sizeof(o), "%lld", pos->off);
	snprintf(g, sizeof(g), "%lld", pos->gz_size);
	return pg_check(p, PQexecPrepared(p->c, "smshook_setpos", 6, v, NULL,
	    NULL, 0), PGRES_COMMAND_OK, "store position");
}

/* Make room for need more bytes of queue text. */
static int
room(struct pg_db *p, size_t need)
{
	size_t ncap;
	char *nb;

	if (p->len + need <= p->cap)
		return 0;
	ncap = p->cap * 2 > p->len + need + 4096 ? p->cap * 2 :
	    p->len + need + 4096;
	if ((nb = realloc(p->buf, ncap)) == NULL)
		return -1;
	p->buf = nb;
	p->cap = ncap;
	return 0;
}

/* Append v (n bytes; NULL for \N) as one COPY text field. */
static int
copy_field(struct pg_db *p, const char *v, size_t n)
{
	const char *end;
	size_t run;

	if (room(p, v == NULL ? 2 : 2 * n + 1) == -1)
		return -1;
	if (v == NULL) {
		memcpy(p->buf + p->len, "\\N", 2);
		p->len += 2;
		return 0;
	}
	for (end = v + n; v < end; ) {
		/* a run of plain bytes, then one that needs a backslash */
		run = strcspn(v, "\\\n\r\t");
		if (run > (size_t)(end - v))
			run = (size_t)(end - v);
		memcpy(p->buf + p->len, v, run);
		p->len += run;
		if ((v += run) == end)
			break;
		p->buf[p->len++] = '\\';
		switch (*v++) {
		case '\n':
			p->buf[p->len++] = 'n';
			break;
		case '\r':
			p->buf[p->len++] = 'r';
			break;
		case '\t':
			p->buf[p->len++] = 't';
			break;
		default:
			p->buf[p->len++] = '\\';
		}
	}
	return 0;
}

/* Append a field separator or, with last, the record's end. */
static int
copy_sep(struct pg_db *p, int last)
{
	if (room(p, 1) == -1)
		return -1;
	p->buf[p->len++] = last ? '\n' : '\t';
	return 0;
}

/* Take the next payload id, fetching a block from the sequence. */
static int
next_id(struct pg_db *p, long long *id)
{
	PGresult *res;
	int i, n;

	if (p->nextid == p->nids) {
		res = PQexec(p->c, "SELECT nextval(pg_get_serial_sequence("
		    "'sms_event_payloads', 'id')) FROM generate_series(1, "
		    "1000)");
		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
			return pg_check(p, res, PGRES_TUPLES_OK, "payload ids");
		n = PQntuples(res);
		for (i = 0; i < n && i < PG_IDS; i++)
			if (pg_ll(p, PQgetvalue(res, i, 0), "payload ids",
			    &p->ids[i]) == -1) {
				PQclear(res);
				return -1;
			}
		PQclear(res);
		if (i == 0) {
			snprintf(p->db.err, sizeof(p->db.err),
			    "postgresql: no payload ids");
			return -1;
		}
		p->nids = (size_t)i;
		p->nextid = 0;
	}
	*id = p->ids[p->nextid++];
	return 0;
}

/* Queue line dl: its text, its payload record, its rows' records. */
static int
queue_line(struct pg_db *p, const struct rows *l, const struct db_line *dl,
    long long id)
{
	struct pline *q = &p->q[p->nq];
	char num[32], idtext[32];
	const char *v;
	size_t i;
	int c;

	snprintf(q->day, sizeof(q->day), "%s", dl->day);
	q->off = dl->off;
	snprintf(idtext, sizeof(idtext), "%lld", id);
	q->raw = p->len;
	if (room(p, dl->len) == -1)
		return -1;
	memcpy(p->buf + p->len, dl->text, dl->len);
	p->len += dl->len;
	q->rawlen = dl->len;
	q->pay = p->len;
	if (copy_field(p, idtext, strlen(idtext)) == -1 || copy_sep(p, 0) ||
	    copy_field(p, l->received_at, strlen(l->received_at)) == -1 ||
	    copy_sep(p, 0) || copy_field(p, l->verified ? "t" : "f", 1) ||
	    copy_sep(p, 0) || copy_field(p, l->payload, l->payload_len) ||
	    copy_sep(p, 1))
		return -1;
	q->paylen = p->len - q->pay;
	q->rows = p->len;
	for (i = 0; i < l->nrows; i++)
		for (c = 0; c < NCOLS; c++) {
			if (!(schema_cols[c].where & SC_TABLE))
				continue;
			v = c == COL_PAYLOAD_ID ? idtext :
			    row_text(l, &l->rows[i], c, num, sizeof(num));
			if (copy_field(p, v, v != NULL ? strlen(v) : 0) == -1 ||
			    copy_sep(p, c == pgsql.last) == -1)
				return -1;
		}
	q->rowslen = p->len - q->rows;
	q->nrows = l->nrows;
	p->nq++;
	p->nrows += l->nrows;
	return 0;
}

static int
pg_insert_event(struct ctl_db *db, const struct rows *l,
    const struct db_line *dl)
{
	struct pg_db *p = (struct pg_db *)db;
	struct pline *nq;
	long long id = 0;

	if (p->nq == p->capq) {
		p->capq = p->capq ? p->capq * 2 : 256;
		if ((nq = reallocarray(p->q, p->capq, sizeof(*nq))) == NULL) {
			snprintf(db->err, sizeof(db->err), "out of memory");
			return -1;
		}
		p->q = nq;
	}
	if (next_id(p, &id) == -1)
		return -1;
	if (queue_line(p, l, dl, id) == -1) {
		snprintf(db->err, sizeof(db->err), "out of memory");
		return -1;
	}
	if (p->nrows >= PG_BATCH_ROWS || p->len >= PG_BATCH_BYTES)
		return pg_flush(p);
	return 0;
}

static int
pg_insert_reject(struct ctl_db *db, const char *day, long long off,
    const char *reason_text, const char *line)
{
	struct pg_db *p = (struct pg_db *)db;
	char o[32];
	const char *v[5] = { db->source, day, o, reason_text, line };

	if (pg_flush(p) == -1)
		return -1;
	snprintf(o, sizeof(o), "%lld", off);
	return pg_check(p, PQexecPrepared(p->c, "smshook_reject", 5, v, NULL,
	    NULL, 0), PGRES_COMMAND_OK, "insert reject");
}

static int
pg_replies(struct ctl_db *db, db_reply_fn fn, void *arg)
{
	struct pg_db *p = (struct pg_db *)db;
	PGresult *res;
	long long ms;
	int i, n, rc = 0;

	res = PQexec(p->c, schema_latest_replies);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		return pg_check(p, res, PGRES_TUPLES_OK, "read replies");
	n = PQntuples(res);
	for (i = 0; i < n && rc == 0; i++) {
		if (!PQgetisnull(res, i, 2) && pg_ll(p, PQgetvalue(res, i, 2),
		    "read replies", &ms) == -1) {
			rc = -1;
			break;
		}
		rc = fn(arg, PQgetvalue(res, i, 0), PQgetisnull(res, i, 1) ?
		    NULL : PQgetvalue(res, i, 1), PQgetisnull(res, i, 2) ?
		    NULL : &ms);
	}
	PQclear(res);
	return rc == 0 ? 0 : -1;
}

static int
pg_set_run(struct ctl_db *db, long long ms)
{
	struct pg_db *p = (struct pg_db *)db;
	char m[32];
	const char *v[2] = { db->source, m };

	snprintf(m, sizeof(m), "%lld", ms);
	return pg_check(p, PQexecPrepared(p->c, "smshook_setrun", 2, v, NULL,
	    NULL, 0), PGRES_COMMAND_OK, "store the run");
}

static int
pg_get_run(struct ctl_db *db, long long *ms)
{
	struct pg_db *p = (struct pg_db *)db;
	const char *v[1] = { db->source };
	PGresult *res;
	int rc = 0;

	*ms = -1;
	res = PQexecPrepared(p->c, "smshook_getrun", 1, v, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		return pg_check(p, res, PGRES_TUPLES_OK, "read the run");
	if (PQntuples(res) == 1 && pg_ll(p, PQgetvalue(res, 0, 0),
	    "read the run", ms) == -1)
		rc = -1;
	PQclear(res);
	return rc;
}

static int
pg_scalar(struct ctl_db *db, const char *q, long long *v)
{
	struct pg_db *p = (struct pg_db *)db;
	PGresult *res = PQexec(p->c, q);
	const char *st;
	int missing, rc;

	*v = 0;
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && PQnfields(res) == 1) {
		rc = pg_ll(p, PQgetvalue(res, 0, 0), "schema", v);
		PQclear(res);
		return rc;
	}
	/* 42P01, 42703: no such table, no such column */
	st = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	missing = st != NULL && (strcmp(st, "42P01") == 0 ||
	    strcmp(st, "42703") == 0);
	reason(p, res, "schema", db->err, sizeof(db->err));
	PQclear(res);
	return missing ? 1 : -1;
}

static void
pg_close(struct ctl_db *db)
{
	struct pg_db *p = (struct pg_db *)db;

	PQfinish(p->c);
	free(p->buf);
	free(p->q);
	free(p);
}

static const struct ctl_db_ops pg_ops = {
	pg_begin, pg_get_pos, pg_set_pos, pg_insert_event, pg_insert_reject,
	pg_commit, pg_rollback, pg_replies, pg_scalar, pg_set_run, pg_get_run,
	pg_close
};

/* Fill pgsql from schema.h; -1 if a statement does not fit (a bug). */
static int
make_sql(void)
{
	const char *cols = schema_col_list(SC_TABLE),
	    *defs = schema_col_defs(SCHEMA_PG);
	int n[4];

	if (cols == NULL || defs == NULL)
		return -1;
	for (pgsql.last = NCOLS - 1; !(schema_cols[pgsql.last].where &
	    SC_TABLE); pgsql.last--)
		continue;
	n[0] = snprintf(pgsql.stage, sizeof(pgsql.stage), "CREATE TEMP TABLE "
	    "smshook_stage (seq bigserial, %s)", defs);
	n[1] = snprintf(pgsql.copy_events, sizeof(pgsql.copy_events),
	    "COPY sms_events (%s) FROM STDIN", cols);
	n[2] = snprintf(pgsql.copy_stage, sizeof(pgsql.copy_stage),
	    "COPY smshook_stage (%s) FROM STDIN", cols);
	n[3] = snprintf(pgsql.from_stage, sizeof(pgsql.from_stage),
	    "INSERT INTO sms_events (%s) SELECT %s FROM smshook_stage "
	    "ORDER BY seq ON CONFLICT DO NOTHING", cols, cols);
	return n[0] < 0 || (size_t)n[0] >= sizeof(pgsql.stage) || n[1] < 0 ||
	    (size_t)n[1] >= sizeof(pgsql.copy_events) || n[2] < 0 ||
	    (size_t)n[2] >= sizeof(pgsql.copy_stage) || n[3] < 0 ||
	    (size_t)n[3] >= sizeof(pgsql.from_stage) ? -1 : 0;
}

/* Append to the query q (qlen bytes, *o used) that name exists. */
static void
and_exists(char *q, size_t qlen, size_t *o, const char *name)
{
	if (*o < qlen)
		*o += (size_t)snprintf(q + *o, qlen - *o, " AND "
		    "to_regclass('%s') IS NOT NULL", name);
}

/*
 * 1 if the schema is current and whole (version SCHEMA_VERSION, and
 * every table, the view and the unique indexes there), else 0; -1 on
 * error. Then there is nothing to create: no DDL waits for a reader's
 * open transaction, nor needs the tables' owner.
 */
static int
schema_current(struct pg_db *p)
{
	PGresult *res;
	char q[2048];
	size_t o, i;
	long long n;
	int k, whole;

	o = (size_t)snprintf(q, sizeof(q), "SELECT true");
	for (i = 0; i < sizeof(schema_names) / sizeof(schema_names[0]); i++)
		and_exists(q, sizeof(q), &o, schema_names[i]);
	for (i = 0; i < SCHEMA_NTABLES; i++)
		and_exists(q, sizeof(q), &o, schema_tables[i].name);
	for (k = 0; k < NKEYS; k++)
		and_exists(q, sizeof(q), &o, schema_keys[k].index);
	if (o >= sizeof(q)) {
		snprintf(p->db.err, sizeof(p->db.err), "postgresql: schema "
		    "query too long");
		return -1;
	}
	res = PQexec(p->c, q);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1)
		return pg_check(p, res, PGRES_TUPLES_OK, "read schema");
	whole = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!whole)
		return 0;
	res = PQexec(p->c, schema_version_query);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1)
		return pg_check(p, res, PGRES_TUPLES_OK, "read schema version");
	k = pg_ll(p, PQgetvalue(res, 0, 0), "read schema version", &n);
	PQclear(res);
	return k == -1 ? -1 : n == SCHEMA_VERSION;
}

/*
 * Create the schema, or migrate an older one, in one transaction; a
 * newer one is refused with why in p->db.err. A current one is left
 * as it is.
 */
static int
make_schema(struct pg_db *p)
{
	const char *ddl = schema_ddl(SCHEMA_PG),
	    *add7 = schema_add_v7(SCHEMA_PG),
	    *mig6 = schema_migrate_v6(SCHEMA_PG);
	PGresult *res;
	char ver[96];
	long long n;
	int old, had, v;

	if ((v = schema_current(p)) != 0)
		return v == 1 ? 0 : -1;
	if (ddl == NULL || add7 == NULL ||
	    pg_check(p, PQexec(p->c, schema_begin), PGRES_TUPLES_OK,
	    "create schema") == -1)
		goto fail;
	/* another host made it current while this one waited its turn */
	if ((v = schema_current(p)) != 0) {
		if (v == 1 && pg_exec(p, "COMMIT", "create schema") == 0)
			return 0;
		goto fail;
	}
	if (pg_exec(p, schema_version_table, "create schema") == -1)
		goto fail;
	res = PQexec(p->c, schema_version_query);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		pg_check(p, res, PGRES_TUPLES_OK, "read schema version");
		goto fail;
	}
	if (pg_ll(p, PQgetvalue(res, 0, 0), "read schema version",
	    &n) == -1) {
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	/* as db_look reads it: beyond int is newer than any */
	v = n < 0 ? 0 : n > INT_MAX ? INT_MAX : (int)n;
	if (schema_may_write(v, "postgresql", p->db.err,
	    sizeof(p->db.err)) == -1)
		goto fail;
	/* whether sms_events is there, and still with its payload */
	res = PQexec(p->c, "SELECT count(*) > 0, count(*) FILTER (WHERE "
	    "column_name = 'payload') > 0 FROM information_schema.columns "
	    "WHERE table_schema = current_schema() AND table_name = "
	    "'sms_events'");
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		pg_check(p, res, PGRES_TUPLES_OK, "read schema");
		goto fail;
	}
	had = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	old = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	snprintf(ver, sizeof(ver), "INSERT INTO smshook_schema VALUES (%d);"
	    "COMMIT;", SCHEMA_VERSION);
	if ((v < SCHEMA_VERSION && pg_exec(p, schema_migrate_v2,
	    "migrate") == -1) ||
	    (old && pg_exec(p, schema_migrate_v1(SCHEMA_PG),
	    "migrate") == -1) ||
	    (had && v < SCHEMA_V6 && pg_exec(p, schema_migrate_v5,
	    "migrate") == -1) ||
	    (had && pg_exec(p, add7, "migrate") == -1) ||
	    (had && v < SCHEMA_VERSION && pg_exec(p, mig6, "migrate") == -1) ||
	    pg_exec(p, ddl, "create schema") == -1 ||
	    pg_exec(p, schema_end, "create schema") == -1 ||
	    (v < SCHEMA_VERSION && pg_exec(p, migrate_v3, "migrate") == -1) ||
	    (v < SCHEMA_V4 && pg_exec(p, SCHEMA_UNNAMED_PAYLOADS_PG,
	    "migrate") == -1) ||
	    (v < SCHEMA_V4 && pg_exec(p, schema_unmark_first,
	    "migrate") == -1) ||
	    (v < SCHEMA_V5 && pg_exec(p, schema_unmark_last,
	    "migrate") == -1) ||
	    pg_exec(p, ver, "store schema version") == -1)
		goto fail;
	return 0;
 fail:
	PQclear(PQexec(p->c, "ROLLBACK"));
	return -1;
}

struct ctl_db *
db_pg_open(const char *conninfo, int look, char *err, size_t errlen)
{
	struct pg_db *p;
	PQconninfoOption *opts;
	const char *m;
	char *perr = NULL;
	size_t i;

	if (make_sql() == -1) {
		snprintf(err, errlen, "postgresql: statement too long");
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->db.ops = &pg_ops;
	if ((opts = PQconninfoParse(conninfo, &perr)) == NULL) {
		/* libpq's message quotes the string, password and all */
		PQfreemem(perr);
		snprintf(err, errlen, "postgresql: malformed connection "
		    "string (libpq's words left out: they would show it)");
		goto fail;
	}
	PQconninfoFree(opts);
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
	/* a refused line's reject must fit where the line would not */
	if ((m = PQparameterStatus(p->c, "server_encoding")) == NULL ||
	    strcmp(m, "UTF8") != 0) {
		snprintf(err, errlen, "postgresql: database encoding %s: "
		    "smshook needs a UTF8 database (CREATE DATABASE ... "
		    "ENCODING 'UTF8')", m == NULL ? "unknown" : m);
		goto fail;
	}
	if (look) {	/* a read-only session: no DDL, no write */
		if (pg_exec(p, "SET default_transaction_read_only = on",
		    "read only") == -1)
			goto fail_db;
		/* the reads, if the tables are there: else they fail later */
		for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
			if (stmts[i].read)
				PQclear(PQprepare(p->c, stmts[i].name,
				    stmts[i].sql, stmts[i].nparams, NULL));
		return &p->db;
	}
	if (pg_check(p, PQexec(p->c, session_limits), PGRES_TUPLES_OK,
	    "session settings") == -1 || make_schema(p) == -1 ||
	    pg_exec(p, pgsql.stage, "stage table") == -1)
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

/*
 * The first right import needs that the session's role lacks, as text
 * (NULL: none); $1: the tables are to be migrated. The rights of each
 * table are those of its statements: rows read, added, updated (the
 * upserts) and payload rows taken back; the sequences number rows.
 */
static const char rights_sql[] =
	"SELECT CASE"
	" WHEN NOT has_database_privilege(current_database(), 'TEMPORARY')"
	" THEN 'no TEMPORARY right on database ' ||"
	" quote_ident(current_database()) || ' (import stages its rows in a"
	" temporary table)'"
	" WHEN to_regclass('sms_events') IS NULL THEN CASE"
	" WHEN current_schema() IS NULL THEN 'no schema of its search_path"
	" exists (import makes the tables in the first)'"
	" WHEN NOT has_schema_privilege(current_schema(), 'CREATE')"
	" THEN 'no CREATE right on schema ' || quote_ident(current_schema())"
	" || ' (import makes the tables there)' END"
	" WHEN $1::boolean AND NOT pg_has_role((SELECT relowner FROM pg_class"
	" WHERE oid = to_regclass('sms_events')), 'USAGE')"
	" THEN 'not the owner of table sms_events (import migrates the"
	" tables: run it once as their owner)'"
	" WHEN $1::boolean AND NOT has_schema_privilege((SELECT relnamespace"
	" FROM pg_class WHERE oid = to_regclass('sms_events')), 'CREATE')"
	" THEN 'no CREATE right on schema ' || (SELECT quote_ident(nspname)"
	" FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid"
	" WHERE c.oid = to_regclass('sms_events')) || ' (import migrates"
	" the tables there)'"
	" ELSE (SELECT w FROM (SELECT 'no ' || p || ' right on table ' || o"
	" AS w FROM (VALUES ('sms_events', 'SELECT'), ('sms_events', 'INSERT'),"
	" ('sms_event_payloads', 'SELECT'), ('sms_event_payloads', 'INSERT'),"
	" ('sms_event_payloads', 'DELETE'), ('smshook_positions', 'SELECT'),"
	" ('smshook_positions', 'INSERT'), ('smshook_positions', 'UPDATE'),"
	" ('smshook_rejects', 'INSERT'), ('smshook_runs', 'SELECT'),"
	" ('smshook_runs', 'INSERT'), ('smshook_runs', 'UPDATE'),"
	" ('smshook_schema', 'SELECT')) v(o, p)"
	" WHERE to_regclass(o) IS NOT NULL AND"
	" NOT has_table_privilege(to_regclass(o), p)"
	" UNION ALL SELECT 'no USAGE right on sequence ' || s FROM"
	" (SELECT pg_get_serial_sequence(a.attrelid::regclass::text, 'id') s"
	" FROM pg_attribute a WHERE a.attname = 'id' AND a.attrelid IN"
	" (to_regclass('sms_events'), to_regclass('sms_event_payloads'))) q"
	" WHERE s IS NOT NULL AND"
	" NOT has_sequence_privilege(s, 'USAGE, UPDATE')) r"
	" LIMIT 1) END";

/*
 * Why no session of the role could write (NULL: it could): a standby, or
 * transactions read only by default before the look-only session's own
 * SET (reset_val: the role's, the database's, PGOPTIONS' or the
 * server's), each with its fix.
 */
static const char read_only_sql[] =
	"SELECT CASE WHEN pg_is_in_recovery() THEN 'the server is a standby,"
	" read only (point \"database =\" at the primary)'"
	" WHEN (SELECT reset_val FROM pg_settings"
	" WHERE name = 'default_transaction_read_only') = 'on'"
	" THEN 'transactions are read only by default for this role"
	" (default_transaction_read_only is on: ALTER ROLE ... SET"
	" default_transaction_read_only = off, or find where it is set:"
	" the database, PGOPTIONS, postgresql.conf)' END";

/* Run q, one text or NULL, on p: 0, -1 with q's text or the failure in err. */
static int
pg_why(struct pg_db *p, const char *q, int nparams, const char *const *v,
    char *err, size_t errlen)
{
	PGresult *res;
	int rc = -1;

	res = PQexecParams(p->c, q, nparams, NULL, v, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		reason(p, res, "rights", err, errlen);
		goto out;
	}
	if (!PQgetisnull(res, 0, 0)) {
		snprintf(err, errlen, "postgresql: %s", PQgetvalue(res, 0, 0));
		goto out;
	}
	rc = 0;
 out:
	PQclear(res);
	return rc;
}

int
db_pg_rights(const char *conninfo, int migrate, char *err, size_t errlen)
{
	const char *v[1] = { "true" };
	struct ctl_db *db;
	struct pg_db *p;
	int rc = -1, cur = 0;

	if ((db = db_pg_open(conninfo, 1, err, errlen)) == NULL)
		return -1;
	p = (struct pg_db *)db;
	if (pg_why(p, read_only_sql, 0, NULL, err, errlen) == -1) {
		rc = -2;
		goto out;
	}
	/* tables of this version but not whole: import makes what lacks */
	if (!migrate && (cur = schema_current(p)) == -1) {
		snprintf(err, errlen, "%s", db->err);
		goto out;
	}
	if (cur == 1)
		v[0] = "false";
	rc = pg_why(p, rights_sql, 1, v, err, errlen);
 out:
	pg_close(db);
	return rc;
}
