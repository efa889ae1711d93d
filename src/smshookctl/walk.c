/*
 * walk.c: the start and end every command that walks the spool under the
 * cron lock shares (import, compress, purge), and the database they open
 * (to write, or only to read).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl.h"
#include "db.h"
#include "reader.h"

struct ctl_db *
ctl_db_open(const struct ctl *c, const char *url)
{
	struct ctl_db *db;
	char source[sizeof(db->source)], err[512];

	if (db_source(c->conf.spool_dir, source, sizeof(source), err,
	    sizeof(err)) == -1 ||
	    (db = db_open(url, source, err, sizeof(err))) == NULL) {
		ctl_err("%s", err);
		return NULL;
	}
	return db;
}

struct ctl_db *
ctl_db_read(const struct ctl *c, const char *url, const char *what,
    int *none)
{
	struct ctl_db *db = NULL;
	char source[sizeof(db->source)], err[512];
	int version;

	*none = 0;
	if (db_source(c->conf.spool_dir, source, sizeof(source), err,
	    sizeof(err)) == -1) {
		ctl_err("%s%s", what, err);
		return NULL;
	}
	switch (db_look_open(url, source, &version, err, sizeof(err), &db)) {
	case DB_CURRENT:
		return db;
	case DB_NONE:
		*none = 1;
		return NULL;
	case DB_OLDER:
		snprintf(err, sizeof(err), "the database has version %d "
		    "tables: smshookctl import migrates them", version);
		break;
	default:
		break;
	}
	ctl_err("%s%s", what, err);
	return NULL;
}

/* Lock, then list [from, to]: 1 to walk, 0 no spool_dir, -1 failed. */
int
ctl_walk_begin(struct ctl *c, const char *from, const char *to,
    struct day_file **files, size_t *n, int *lockfd)
{
	*files = NULL;
	*n = 0;
	*lockfd = -1;
	if (access(c->conf.spool_dir, F_OK) == -1 && errno == ENOENT)
		return 0;		/* nothing received yet */
	if ((*lockfd = ctl_lock(c)) == -1)
		goto fail;
	if (reader_list(c->conf.spool_dir, from, to, files, n) == -1) {
		ctl_errno("%s", c->conf.spool_dir);
		goto fail;
	}
	return 1;
 fail:
	ctl_walk_end(*files, *lockfd);
	*files = NULL;
	*n = 0;
	*lockfd = -1;
	return -1;
}

/* Free the list and drop the lock ctl_walk_begin handed out. */
void
ctl_walk_end(struct day_file *files, int lockfd)
{
	free(files);
	if (lockfd != -1)
		close(lockfd);
}
