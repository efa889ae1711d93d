/*
 * schema.h: the import database's tables, defined once.
 *
 *   sms_event_payloads  one row per imported spool line: the payload as
 *                       received, stored once however many messages it
 *                       names
 *   sms_events          one row per message (a requested event with N
 *                       smsIds gives N rows), payload_id naming its
 *                       payload; unique keys collapse retries: per
 *                       message, per template review, per reply, and
 *                       a row without a message id or type per token
 *   sms_events_full     a view: sms_events with its payload
 *
 * From the column table below come both backends' DDL and inserts,
 * export's header and its duplicate rule: a unique key applies to a row
 * when its condition column is NULL, not NULL or a given value (and its
 * event_type is the one it takes, if it names one), and a row whose key
 * columns are all set is a duplicate of an earlier row with the same
 * key, as the database's partial unique indexes say.
 */
#ifndef SMSHOOK_SCHEMA_H
#define SMSHOOK_SCHEMA_H

#include <stddef.h>

/* version 7: rows without a message id are held by their token */
#define SCHEMA_VERSION	7
#define SCHEMA_V4	4	/* the first to mark a day's first line */
#define SCHEMA_V5	5	/* the first to mark what precedes a position */
#define SCHEMA_V6	6	/* the first whose template key is narrow */

/* The columns of a row, in table order. */
enum col {
	COL_EVENT_TYPE, COL_EVENT, COL_SMS_ID, COL_PHONE, COL_USER_ID,
	COL_SMS_USER, COL_TEMPLATE_ID, COL_MESSAGE, COL_STATUS_CODE,
	COL_EVENT_TIME, COL_RECEIVED_AT, COL_VERIFIED, COL_PAYLOAD,
	COL_PAYLOAD_ID, COL_TOKEN, COL_TOKEN_ROW, NCOLS
};

enum schema_backend { SCHEMA_SQLITE, SCHEMA_PG };

#define SC_TABLE	0x1	/* a column of sms_events */
#define SC_EXPORT	0x2	/* written by smshookctl export */
#define SC_V7		0x4	/* since version 7: added to older tables,
				 * after every older column */

struct schema_col {
	const char	*name;
	const char	*type[2];	/* per enum schema_backend */
	int		 integer;	/* bound and exported as an integer */
	unsigned	 keys;		/* bit k: part of schema_keys[k] */
	unsigned	 where;		/* SC_TABLE, SC_EXPORT, SC_V7 */
};

/* A partial unique index: its columns have the key's bit. */
struct schema_key {
	const char	*index;		/* the unique index's name */
	const char	*where;		/* the rows it applies to, in SQL */
	enum col	 col;		/* ... the same in C: this column */
	const char	*equals;	/* equal to this text, or NULL: */
	int		 null;		/* NULL (1) or not (0) */
	const char	*type;		/* and event_type this, or NULL */
	int		 untyped;	/* or else event_type is NULL */
};

#define NKEYS	4

extern const struct schema_col schema_cols[NCOLS];
extern const struct schema_key schema_keys[NKEYS];

/*
 * The statements creating every table, index and view for backend b,
 * each ending in ';' (static text, built on first use); NULL if it does
 * not fit (a bug).
 */
const char	*schema_ddl(enum schema_backend b);
/*
 * The statements that turn a version 1 database (the payload in every
 * sms_events row) into this version, keeping every row.
 */
const char	*schema_migrate_v1(enum schema_backend b);
/*
 * The statement that takes an older database's template key away (up
 * to version 5 it held every event without a message id, so that two
 * such events of one template and millisecond were one row; in versions
 * 1 and 2 replies too), run before schema_migrate_v1 gives replies their
 * reply time; schema_ddl() then makes it anew, for template reviews
 * alone. The rows already meet the narrower key.
 */
extern const char schema_migrate_v2[];
/*
 * The marks of positions a version before the mark's own kept may be
 * stale (a binary that old, run on newer tables, moved positions
 * without them): taken away, the positions are taken as they are.
 */
extern const char schema_unmark_first[];
extern const char schema_unmark_last[];
/*
 * An empty smsId names no message: rows versions before 6 stored with
 * sms_id '' get NULL, as import now stores them (not template reviews,
 * which the narrowed template key may hold already).
 */
extern const char schema_migrate_v5[];
/*
 * Version 7's columns for the tables of an older version (SQLite: one
 * ALTER TABLE a statement; PostgreSQL: only those missing), before the
 * view is made again (its new columns go last).
 */
const char	*schema_add_v7(enum schema_backend b);
/*
 * Then each row the message key does not hold (no message id, or no
 * type) gets its event's token and its place among its event's such
 * rows; of rows the token key then finds the same (one event read twice
 * before), all but the first go, and the payloads no row names any
 * more. Run before schema_ddl() makes the token key.
 */
const char	*schema_migrate_v6(enum schema_backend b);
/*
 * Remove the payload rows no event row names: those of replies the
 * version 1 migration found the same, and of retries an earlier version
 * stored twice.
 */
#define SCHEMA_UNNAMED_PAYLOADS_SQLITE \
	"DELETE FROM sms_event_payloads WHERE id NOT IN (SELECT payload_id " \
	"FROM sms_events WHERE payload_id IS NOT NULL);"
#define SCHEMA_UNNAMED_PAYLOADS_PG \
	"DELETE FROM sms_event_payloads p WHERE NOT EXISTS (SELECT 1 FROM " \
	"sms_events e WHERE e.payload_id = p.id);"
/*
 * Each phone's latest reply: phone, text, time (ms), ordered by phone
 * (the same text and order for both backends). A reply without a time
 * is older than any with one; of equal times the last stored is latest.
 */
extern const char schema_latest_replies[];

/* Which tables schema_shape() asks for. */
enum schema_shape {
	SHAPE_THIS,		/* this version's */
	SHAPE_V1,		/* version 1's sms_events, the payload in it */
	SHAPE_ANY		/* an sms_events table of any shape */
};
/*
 * A query naming every column of those tables, one row (static); it
 * fails on a database without them. NULL if it does not fit (a bug).
 */
const char	*schema_shape(enum schema_shape which);
/*
 * The tables besides sms_events and smshook_schema, each with the
 * columns of it import uses, as every version since the first has them:
 * absent (import makes it) or with those columns.
 */
struct schema_table {
	const char	*name;
	const char	*cols;
};
#define SCHEMA_NTABLES	4
extern const struct schema_table schema_tables[SCHEMA_NTABLES];
/* The statement that creates the version table, if missing. */
extern const char schema_version_table[];
/* The statement reading the tables' version: one row, 0 for none. */
extern const char schema_version_query[];
/*
 * Tables at version v may be written by this build: 0, or -1 with why
 * in err when a newer smshookctl made them (never step them back).
 */
int	schema_may_write(int v, const char *backend, char *err,
	    size_t errlen);

/* "event_type, event, ..." of the columns with where-flag w (static). */
const char	*schema_col_list(unsigned w);
/* "event_type bigint, ..." of the sms_events columns (static). */
const char	*schema_col_defs(enum schema_backend b);
/*
 * Key k of row values v[] (text, NULL for SQL NULL) as text into buf,
 * each value after its length, so that no two rows' keys run together
 * into one: 1, or 0 when the key does not apply to the row or one of
 * its columns is NULL (in SQL, NULL equals nothing); -1 if buf is too
 * small. A row is a duplicate when any key it has was seen before.
 */
int		 schema_row_key(int k, const char *const v[NCOLS], char *buf,
		    size_t bufsz);

#endif
