/*
 * db.h: the import database, SQLite or PostgreSQL behind one small
 * interface. The schema (schema.h) is created on first use, and a
 * database of an older version is migrated. A spool line goes in as one
 * payload row and its message rows, these with "on conflict do nothing"
 * on the unique keys; a line the database refuses (a value it cannot
 * hold) goes to smshook_rejects with the database's reason instead, and
 * the rest goes on. Read positions are kept per (source, day) so that
 * several receiver hosts can feed one database, each with the mark of
 * the day's first line (pos.h).
 */
#ifndef SMSHOOK_DB_H
#define SMSHOOK_DB_H

#include <stddef.h>

#include "rows.h"

struct ctl_db;

/*
 * Called with each phone's latest reply and its time in ms (NULL: none);
 * non-zero stops the walk.
 */
typedef int	(*db_reply_fn)(void *arg, const char *phone, const char *text,
		    const long long *ms);

/* Where a line comes from, for smshook_rejects. */
struct db_line {
	const char	*day;
	long long	 off;
	const char	*text;		/* the line, valid UTF-8 */
	size_t		 len;
};

/* The mark of a day's first line (pos.h): "LENGTH:SHA-256 in hex". */
#define DB_MARK_SIZE	96

/* Where import stands in a day: a row of smshook_positions. */
struct db_pos {
	long long	off;		/* bytes of the day's text imported */
	long long	gz_size;	/* its .jsonl.gz of this size was read
					   to its end, or -1 */
	char		mark[DB_MARK_SIZE];	/* of its first line, or "" */
	char		tail[DB_MARK_SIZE];	/* of the bytes before off
						   (pos.h), or "" */
};

struct ctl_db_ops {
	int	(*begin)(struct ctl_db *);
	int	(*get_pos)(struct ctl_db *, const char *day, struct db_pos *);
	int	(*set_pos)(struct ctl_db *, const char *day,
		    const struct db_pos *);
	int	(*insert_event)(struct ctl_db *, const struct rows *,
		    const struct db_line *);
	int	(*insert_reject)(struct ctl_db *, const char *day,
		    long long off, const char *reason, const char *line);
	int	(*commit)(struct ctl_db *);
	int	(*rollback)(struct ctl_db *);
	int	(*replies)(struct ctl_db *, db_reply_fn, void *);
	/*
	 * sql's one value in *v: 0; 1 if a table or column it names is
	 * missing, -1 on other failures, both with why in db->err
	 */
	int	(*scalar)(struct ctl_db *, const char *sql, long long *v);
	int	(*set_run)(struct ctl_db *, long long ms);
	int	(*get_run)(struct ctl_db *, long long *ms);
	void	(*close)(struct ctl_db *);
};

struct ctl_db {
	const struct ctl_db_ops	*ops;
	char			 source[512];	/* host:spool_dir */
	char			 err[512];	/* the last error */
	unsigned long long	 inserted;	/* rows committed as new */
	unsigned long long	 refused;	/* lines committed as rejects */
	unsigned long long	 refused_rows;	/* the rows those lines held */
	/* the open transaction's, which db_commit adds to the three above */
	unsigned long long	 pending;	/* new rows */
	unsigned long long	 pending_refused;	/* lines refused */
	unsigned long long	 pending_refused_rows;	/* their rows */
	/*
	 * why no later day can go in this run, once one cannot: another
	 * session held the lock past the wait (the next day would wait as
	 * long), or the connection is lost; else NULL
	 */
	const char		*stop;
};

/*
 * Open url (sqlite:PATH, postgresql://... or postgres://...) for the
 * spool of source, creating or migrating the schema if needed. NULL
 * with the reason in err on failure.
 */
struct ctl_db	*db_open(const char *url, const char *source, char *err,
		    size_t errlen);
/* 0 if url names a database smshookctl knows, else -1 with why in err. */
int		 db_url_known(const char *url, char *err, size_t errlen);
/*
 * The source name of this host's spool: "hostname:realpath(dir)"; 0, or
 * -1 with why in err if it does not fit buf whole.
 */
int		 db_source(const char *spool_dir, char *buf, size_t bufsz,
		    char *err, size_t errlen);

/* How a database stands for import, as db_look() finds it. */
enum db_state {
	DB_BROKEN,		/* cannot be opened or read */
	DB_FOREIGN,		/* tables of another shape */
	DB_NEWER,		/* tables a newer smshookctl made */
	DB_NONE,		/* no file or tables yet: import makes them */
	DB_OLDER,		/* an older version: import migrates it */
	DB_CURRENT		/* this version's tables */
};

/*
 * Look at the database at url without changing it: no file, table or
 * index is made, nothing is migrated (SQLite: a query-only connection
 * to an existing file; PostgreSQL: a read-only session). A missing
 * SQLite file is DB_NONE if this user may create it. The state, with
 * *version the tables' version (0: none) and the cause in err for
 * DB_BROKEN, DB_FOREIGN and DB_NEWER.
 */
enum db_state	 db_look(const char *url, int *version, char *err,
		    size_t errlen);

/*
 * db_look, and for a DB_CURRENT database its look-only connection in
 * *db (else NULL), for the spool of source: it reads positions, runs
 * and replies (db_get_pos, db_get_run, db_replies), changing nothing.
 */
enum db_state	 db_look_open(const char *url, const char *source,
		    int *version, char *err, size_t errlen, struct ctl_db **db);

/*
 * Backends. With look, open only to look (see db_look): then only the
 * scalar, get_pos, get_run, replies and close operations may be used,
 * the reads only when the tables are there.
 */
struct ctl_db	*db_sqlite_open(const char *path, int look, char *err,
		    size_t errlen);
struct ctl_db	*db_pg_open(const char *conninfo, int look, char *err,
		    size_t errlen);
/*
 * For db_look: 0 if there is a file at path, 1 if there is none but
 * this user may create it, -1 with why in err if neither.
 */
int		 db_sqlite_absent(const char *path, char *err, size_t errlen);
/* 0 if import, as this user, could write the database at url (-1, why in
 * err, if not): an SQLite file there must be writable, and so must its
 * folder, where SQLite makes the file's -wal and -shm; a server: 0. */
int		 db_writable(const char *url, char *err, size_t errlen);
int		 db_sqlite_writable(const char *path, char *err, size_t errlen);
/*
 * 0 if the role import connects as to the server at url has the rights
 * it needs (-1, the first one missing in err, if not; -2 if no session
 * of it could write, why and its fix in err): db_pg_rights; a file: 0
 * (db_writable).
 */
int		 db_rights(const char *url, int migrate, char *err,
		    size_t errlen);
/*
 * 0 if the role of conninfo has what import needs: TEMPORARY on the
 * database; with no tables, CREATE on the schema they go in; with
 * them, its rights on each table and sequence import writes, and with
 * migrate, or tables of this version not whole, their ownership and
 * CREATE in their schema. -1 with the first right missing in err; -2
 * with why and its fix if its sessions are read only (a standby, or
 * default_transaction_read_only).
 */
int		 db_pg_rights(const char *conninfo, int migrate, char *err,
		    size_t errlen);

/*
 * Wrappers: 0 on success, -1 with the reason in db->err. get_pos gives
 * off 0, gz_size -1 and no mark for a day never imported (and no mark
 * for a position an earlier version stored); set_pos stores "" as none.
 */
int	db_begin(struct ctl_db *);
int	db_get_pos(struct ctl_db *, const char *day, struct db_pos *);
int	db_set_pos(struct ctl_db *, const char *day, const struct db_pos *);
/*
 * Queue one line's payload and rows; by the next commit db->inserted
 * counts the new rows and db->refused the lines the database refused
 * (each in smshook_rejects). -1 only when the database itself fails.
 */
int	db_insert_event(struct ctl_db *, const struct rows *,
	    const struct db_line *);
int	db_insert_reject(struct ctl_db *, const char *day, long long off,
	    const char *reason, const char *line);
int	db_commit(struct ctl_db *);
int	db_rollback(struct ctl_db *);
/*
 * Record that this source's import finished at ms (committed by itself),
 * or read when it last did: 0 with *ms (-1: never), -1 on error.
 */
int	db_set_run(struct ctl_db *, long long ms);
int	db_get_run(struct ctl_db *, long long *ms);
/*
 * Call fn with the latest reply (event_type 6) of every phone, by phone;
 * a reply's time is its replyTime. 0, or -1 with the reason in db->err.
 */
int	db_replies(struct ctl_db *, db_reply_fn fn, void *arg);
void	db_close(struct ctl_db *);

#endif
