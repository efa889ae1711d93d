/*
 * ctl_db.h: the import database, SQLite or PostgreSQL behind one small
 * interface. The schema is created on first use. Rows go in with "on
 * conflict do nothing" on the uniqueness rules (event_type, sms_id) for
 * message events and (event_type, template_id, event_time) for events
 * without an sms_id; read positions are kept per (source, day) so that
 * several receiver hosts can feed one database.
 */
#ifndef SMSHOOK_CTL_DB_H
#define SMSHOOK_CTL_DB_H

#include <stddef.h>

#include "ctl_rows.h"

struct ctl_db;

struct ctl_db_ops {
	int	(*begin)(struct ctl_db *);
	int	(*get_pos)(struct ctl_db *, const char *day, long long *off,
		    long long *gz_size);
	int	(*set_pos)(struct ctl_db *, const char *day, long long off,
		    long long gz_size);
	int	(*insert_row)(struct ctl_db *, const struct ctl_line *,
		    const struct ctl_row *);
	int	(*insert_reject)(struct ctl_db *, const char *day, long long off,
		    const char *reason, const char *line);
	int	(*commit)(struct ctl_db *);
	int	(*rollback)(struct ctl_db *);
	void	(*close)(struct ctl_db *);
};

struct ctl_db {
	const struct ctl_db_ops	*ops;
	char			 source[512];	/* host:spool_dir */
	char			 err[512];	/* the last error */
	unsigned long long	 inserted;	/* rows committed as new */
};

/*
 * Open url (sqlite:PATH, postgresql://... or postgres://...) for the
 * spool of source, creating the schema if needed. NULL with the reason
 * in err on failure.
 */
struct ctl_db	*db_open(const char *url, const char *source, char *err,
		    size_t errlen);
/* The source name of this host's spool: "hostname:realpath(dir)". */
void		 db_source(const char *spool_dir, char *buf, size_t bufsz);

/* Backends. */
struct ctl_db	*db_sqlite_open(const char *path, char *err, size_t errlen);
struct ctl_db	*db_pg_open(const char *conninfo, char *err, size_t errlen);

/*
 * Wrappers: 0 on success, -1 with the reason in db->err. get_pos gives
 * 0 and -1 for a day never imported; gz_size is -1 unless the day's
 * .jsonl.gz of that size was read to its end.
 */
int	db_begin(struct ctl_db *);
int	db_get_pos(struct ctl_db *, const char *day, long long *off,
	    long long *gz_size);
int	db_set_pos(struct ctl_db *, const char *day, long long off,
	    long long gz_size);
/* Queue one row; db->inserted counts the new ones by the next commit. */
int	db_insert_row(struct ctl_db *, const struct ctl_line *,
	    const struct ctl_row *);
int	db_insert_reject(struct ctl_db *, const char *day, long long off,
	    const char *reason, const char *line);
int	db_commit(struct ctl_db *);
int	db_rollback(struct ctl_db *);
void	db_close(struct ctl_db *);

#endif
