/* db.c: pick the backend from the URL; thin wrappers over its ops. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

struct ctl_db *
db_open(const char *url, const char *source, char *err, size_t errlen)
{
	struct ctl_db *db = NULL;

	if (strncmp(url, "sqlite://", 9) == 0)
		db = db_sqlite_open(url + 9, err, errlen);
	else if (strncmp(url, "sqlite:", 7) == 0)
		db = db_sqlite_open(url + 7, err, errlen);
	else if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0)
#ifndef NO_PG
		db = db_pg_open(url, err, errlen);
#else
		snprintf(err, errlen, "built without PostgreSQL: use sqlite:PATH");
#endif
	else
		snprintf(err, errlen, "database \"%s\": expected sqlite:PATH "
		    "or postgresql://...", url);
	if (db != NULL)
		snprintf(db->source, sizeof(db->source), "%s", source);
	return db;
}

void
db_source(const char *spool_dir, char *buf, size_t bufsz)
{
	char host[256], real[PATH_MAX];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (realpath(spool_dir, real) == NULL)
		snprintf(real, sizeof(real), "%s", spool_dir);
	snprintf(buf, bufsz, "%s:%s", host, real);
}

int
db_begin(struct ctl_db *db)
{
	return db->ops->begin(db);
}

int
db_get_pos(struct ctl_db *db, const char *day, long long *off,
    long long *gz_size)
{
	return db->ops->get_pos(db, day, off, gz_size);
}

int
db_set_pos(struct ctl_db *db, const char *day, long long off,
    long long gz_size)
{
	return db->ops->set_pos(db, day, off, gz_size);
}

int
db_insert_event(struct ctl_db *db, const struct rows *l,
    const struct db_line *dl)
{
	return db->ops->insert_event(db, l, dl);
}

int
db_insert_reject(struct ctl_db *db, const char *day, long long off,
    const char *reason, const char *line)
{
	return db->ops->insert_reject(db, day, off, reason, line);
}

int
db_commit(struct ctl_db *db)
{
	return db->ops->commit(db);
}

int
db_rollback(struct ctl_db *db)
{
	return db->ops->rollback(db);
}

int
db_set_run(struct ctl_db *db, long long ms)
{
	return db->ops->set_run(db, ms);
}

int
db_get_run(struct ctl_db *db, long long *ms)
{
	return db->ops->get_run(db, ms);
}

int
db_probe(struct ctl_db *db)
{
	return db->ops->probe(db);
}

int
db_replies(struct ctl_db *db, db_reply_fn fn, void *arg)
{
	return db->ops->replies(db, fn, arg);
}

void
db_close(struct ctl_db *db)
{
	if (db != NULL)
		db->ops->close(db);
}
