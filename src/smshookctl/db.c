/* db.c: pick the backend from the URL; thin wrappers over its ops. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

#ifndef NO_PG
#define PG_OPEN		db_pg_open
#else
#define PG_OPEN		no_pg

/* The PostgreSQL backend of a build without it. */
static struct ctl_db *
no_pg(const char *conninfo, int look, char *err, size_t errlen)
{
	(void)conninfo;
	(void)look;
	snprintf(err, errlen, "built without PostgreSQL: use sqlite:PATH");
	return NULL;
}
#endif

/* The backends by URL prefix; skip: what the backend is not given. */
static const struct {
	const char	*prefix;
	size_t		 skip;
	const char	*name;		/* "sqlite" is a file */
	struct ctl_db	*(*open)(const char *, int, char *, size_t);
} backends[] = {
	{ "sqlite://", 9, "sqlite", db_sqlite_open },
	{ "sqlite:", 7, "sqlite", db_sqlite_open },
	{ "postgresql://", 0, "postgresql", PG_OPEN },
	{ "postgres://", 0, "postgresql", PG_OPEN },
};

/*
 * The backend of url, or -1 with why in err, which names the scheme
 * alone: the rest may hold a password.
 */
static int
backend(const char *url, char *err, size_t errlen)
{
	size_t i, n;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strncmp(url, backends[i].prefix,
		    strlen(backends[i].prefix)) == 0)
			return (int)i;
	/* a scheme's letters, never more: "password=..." may come first */
	n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789+.-");
	if (n > 0 && url[n] == ':')
		snprintf(err, errlen, "database scheme \"%.*s:\": expected "
		    "sqlite:PATH or postgresql://...", (int)n, url);
	else
		snprintf(err, errlen, "database: not a URL (its value is not "
		    "shown: it may hold a password): expected sqlite:PATH or "
		    "postgresql://...");
	return -1;
}

struct ctl_db *
db_open(const char *url, const char *source, char *err, size_t errlen)
{
	struct ctl_db *db;
	int b;

	if ((b = backend(url, err, errlen)) == -1 ||
	    (db = backends[b].open(url + backends[b].skip, 0, err,
	    errlen)) == NULL)
		return NULL;
	snprintf(db->source, sizeof(db->source), "%s", source);
	return db;
}

/*
 * Whether db's tables besides sms_events are each absent or have the
 * columns import uses: 0; 1 with the first that has not in db->err, as
 * name's; -1 if the database does not answer.
 */
static int
tables_fit(struct ctl_db *db, const char *name)
{
	const struct schema_table *t;
	char q[256];
	long long n;
	size_t i;
	int r;

	for (i = 0; i < SCHEMA_NTABLES; i++) {
		t = &schema_tables[i];
		snprintf(q, sizeof(q), "SELECT count(*) FROM (SELECT 1 FROM "
		    "%s LIMIT 0) x", t->name);
		if ((r = db->ops->scalar(db, q, &n)) != 0) {
			if (r == -1)
				return -1;
			continue;		/* absent: import makes it */
		}
		snprintf(q, sizeof(q), "SELECT count(*) FROM (SELECT %s FROM "
		    "%s LIMIT 0) x", t->cols, t->name);
		if ((r = db->ops->scalar(db, q, &n)) != 0) {
			if (r == -1)
				return -1;
			snprintf(db->err, sizeof(db->err), "%s: table %s has "
			    "not the columns %s", name, t->name, t->cols);
			return 1;
		}
	}
	return 0;
}

/*
 * The state of db's sms_events and version (see db_look), *v their
 * version; the cause in db->err for a fault, naming the backend as name.
 */
static enum db_state
look_tables(struct ctl_db *db, const char *name, int *v)
{
	char why[sizeof(db->err)];
	long long n;
	int r;

	if ((r = db->ops->scalar(db, schema_version_query, &n)) == -1)
		return DB_BROKEN;
	*v = r == 1 || n < 0 ? 0 : n > INT_MAX ? INT_MAX : (int)n;
	if (schema_may_write(*v, name, db->err, sizeof(db->err)) == -1)
		return DB_NEWER;
	if ((r = db->ops->scalar(db, schema_shape(SHAPE_THIS), &n)) != 1)
		return r == -1 ? DB_BROKEN : *v == SCHEMA_VERSION ? DB_CURRENT :
		    DB_OLDER;
	snprintf(why, sizeof(why), "%s", db->err);
	if (*v <= 1 && (r = db->ops->scalar(db, schema_shape(SHAPE_V1),
	    &n)) != 1) {
		*v = 1;
		return r == -1 ? DB_BROKEN : DB_OLDER;
	}
	if (*v == 0 && (r = db->ops->scalar(db, schema_shape(SHAPE_ANY),
	    &n)) != 0)
		return r == -1 ? DB_BROKEN : DB_NONE;
	snprintf(db->err, sizeof(db->err), "%s", why);
	return DB_FOREIGN;
}

/*
 * The state of db's tables (see db_look), *v their version: look_tables,
 * and DB_FOREIGN if another table import uses does not fit (tables_fit).
 */
static enum db_state
look(struct ctl_db *db, const char *name, int *v)
{
	enum db_state st = look_tables(db, name, v);

	if (st < DB_NONE)
		return st;
	switch (tables_fit(db, name)) {
	case -1:
		return DB_BROKEN;
	case 1:
		return DB_FOREIGN;
	}
	return st;
}

/*
 * db_look; with keep, a DB_CURRENT database's look-only connection is
 * not closed but handed over in *keep, for the spool of source.
 */
static enum db_state
look_at(const char *url, const char *source, int *version, char *err,
    size_t errlen, struct ctl_db **keep)
{
	struct ctl_db *db;
	enum db_state st;
	int b;

	*version = 0;
	if ((b = backend(url, err, errlen)) == -1)
		return DB_BROKEN;
	if (strcmp(backends[b].name, "sqlite") == 0) {
		switch (db_sqlite_absent(url + backends[b].skip, err, errlen)) {
		case 1:
			return DB_NONE;
		case -1:
			return DB_BROKEN;
		}
	}
	if ((db = backends[b].open(url + backends[b].skip, 1, err,
	    errlen)) == NULL)
		return DB_BROKEN;
	if ((st = look(db, backends[b].name, version)) < DB_NONE)
		snprintf(err, errlen, "%s", db->err);
	if (keep != NULL && st == DB_CURRENT) {
		snprintf(db->source, sizeof(db->source), "%s", source);
		*keep = db;
	} else
		db_close(db);
	return st;
}

enum db_state
db_look(const char *url, int *version, char *err, size_t errlen)
{
	return look_at(url, NULL, version, err, errlen, NULL);
}

enum db_state
db_look_open(const char *url, const char *source, int *version,
    char *err, size_t errlen, struct ctl_db **db)
{
	*db = NULL;
	return look_at(url, source, version, err, errlen, db);
}

int
db_writable(const char *url, char *err, size_t errlen)
{
	int b;

	if ((b = backend(url, err, errlen)) == -1)
		return -1;
	if (strcmp(backends[b].name, "sqlite") != 0)
		return 0;	/* a server's grants: db_rights */
	return db_sqlite_writable(url + backends[b].skip, err, errlen);
}

int
db_rights(const char *url, int migrate, char *err, size_t errlen)
{
	int b;

	if ((b = backend(url, err, errlen)) == -1)
		return -1;
	if (strcmp(backends[b].name, "sqlite") == 0)
		return 0;	/* a file's: db_writable */
#ifndef NO_PG
	return db_pg_rights(url + backends[b].skip, migrate, err, errlen);
#else
	(void)migrate;
	return 0;		/* db_look said it is not built in */
#endif
}

int
db_url_known(const char *url, char *err, size_t errlen)
{
	return backend(url, err, errlen) == -1 ? -1 : 0;
}

int
db_source(const char *spool_dir, char *buf, size_t bufsz, char *err,
    size_t errlen)
{
	char host[256], real[PATH_MAX];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (realpath(spool_dir, real) == NULL)
		snprintf(real, sizeof(real), "%s", spool_dir);
	/* cut short, two spools alike in their first bytes would be one */
	if ((size_t)snprintf(buf, bufsz, "%s:%s", host, real) >= bufsz) {
		snprintf(err, errlen, "spool_dir: the spool's name in the "
		    "database (host name:path) is longer than %zu bytes: use a "
		    "shorter path", bufsz - 1);
		return -1;
	}
	return 0;
}

/* A transaction's rows and refused lines not counted: it began or ended. */
static void
forget_pending(struct ctl_db *db)
{
	db->pending = db->pending_refused = db->pending_refused_rows = 0;
}

int
db_begin(struct ctl_db *db)
{
	forget_pending(db);
	return db->ops->begin(db);
}

int
db_get_pos(struct ctl_db *db, const char *day, struct db_pos *p)
{
	return db->ops->get_pos(db, day, p);
}

int
db_set_pos(struct ctl_db *db, const char *day, const struct db_pos *p)
{
	return db->ops->set_pos(db, day, p);
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

/* Commit, then count the transaction's rows and refused lines as done. */
int
db_commit(struct ctl_db *db)
{
	if (db->ops->commit(db) == -1)
		return -1;
	db->inserted += db->pending;
	db->refused += db->pending_refused;
	db->refused_rows += db->pending_refused_rows;
	forget_pending(db);
	return 0;
}

int
db_rollback(struct ctl_db *db)
{
	forget_pending(db);
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
