/*
 * cmd_purge.c: smshookctl purge --keep-days N [--force] [--db URL]. Delete
 * the day files (.jsonl or .jsonl.gz) of days before today minus N in the
 * configured time zone. A day holding complete lines past its imported
 * position is refused unless --force: the database is asked, so purge
 * needs it (database = or --db) unless forced.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "day.h"
#include "db.h"
#include "fsutil.h"
#include "pos.h"
#include "reader.h"

/*
 * 1 if f has no complete line past its imported position (pos.h: from
 * its start if the position is another file's); 0 if it has, or is
 * shorter than that position (not the text that was imported), after
 * saying why it is kept; -1 on error. Messages on stderr.
 */
static int
imported(struct ctl_db *db, const struct day_file *f)
{
	struct reader *r;
	struct db_pos p;
	const char *line;
	char err[1024];
	size_t len;
	off_t off;
	int n, k = 0;

	/* no tables yet (db NULL): nothing imported, read from the start */
	if (pos_get(db, f, &p, err, sizeof(err)) == -1) {
		ctl_err("%s", err);
		return -1;
	}
	if ((r = pos_open(f, &p, NULL)) == NULL) {
		if (errno != ERANGE) {
			ctl_errno("%s", f->path);
			return -1;
		}
		ctl_err("%s: no line ends at its imported position %lld, or "
		    "the bytes before it are not those imported; kept (it is "
		    "not the text that was imported: run smshookctl import)",
		    f->path, p.off);
		return 0;
	}
	/*
	 * a line not imported: read on to the end, so that a damaged file
	 * (which import can never finish) is named as such
	 */
	if ((n = reader_next(r, &line, &len, &off)) > 0)
		while ((k = reader_next(r, &line, &len, &off)) > 0)
			continue;
	if (n == -1 || (n > 0 && k == -1)) {
		ctl_errno("read %s", f->path);
		reader_close(r);
		return -1;
	}
	reader_close(r);
	if (n == 0)
		return 1;
	ctl_err("%s is not fully imported; kept (run smshookctl import, or "
	    "purge --force)", f->path);
	return 0;
}

/*
 * Delete the files of one day if import has committed all of it (or
 * force): 1 deleted, 0 gone meanwhile, -1 kept (not all imported) or on
 * error; messages on stderr. The day's .jsonl, if any, is held under an
 * exclusive lock from the check to its removal, so no line the receiver
 * appends in between is lost. A DAY.jsonl.gz.tmp a killed compress left
 * goes first (the cron lock keeps out a running one): left after the
 * day's files, no later run would visit the day again to remove it, so
 * one that cannot be removed keeps the day. Its path in tmp[PATH_MAX] if
 * removed, else "".
 */
static int
purge_day(struct ctl_db *db, const struct day_file *f, int force,
    char *tmp)
{
	const char *plain = f->late[0] != '\0' ? f->late : f->gz ? NULL :
	    f->path;
	struct day_file held = *f;
	struct stat st;
	int fd = -1, rc = -1;

	*tmp = '\0';
	if (plain != NULL && ((fd = open(plain, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK)) == -1 || flock(fd, LOCK_EX) == -1)) {
		if (errno == ENOENT)
			rc = 0;		/* compressed or gone meanwhile */
		else
			ctl_errno("%s", plain);
		goto out;
	}
	held.locked = 1;	/* the reader must not wait for our lock */
	if (!force && imported(db, &held) != 1)
		goto out;
	/*
	 * looked for first, so that only a leftover that is there is
	 * unlinked (a fault injected into unlink(2) then reaches the day's
	 * own files, as the tests need)
	 */
	if ((size_t)snprintf(tmp, PATH_MAX, "%s%s", f->path, f->gz ? ".tmp" :
	    ".gz.tmp") >= PATH_MAX)
		*tmp = '\0';		/* a name too long was never made */
	else if (lstat(tmp, &st) == -1 || unlink(tmp) == -1) {
		if (errno != ENOENT) {
			ctl_err("%s: %s; the day is kept until it can be "
			    "removed", tmp, strerror(errno));
			*tmp = '\0';
			goto out;
		}
		*tmp = '\0';
	}
	if (f->gz && unlink(f->path) == -1 && errno != ENOENT) {
		ctl_errno("%s", f->path);
		goto out;
	}
	if (plain != NULL && unlink(plain) == -1 && errno != ENOENT) {
		ctl_errno("%s", plain);
		goto out;
	}
	rc = 1;
 out:
	if (fd != -1)
		close(fd);	/* after the unlink: the lock went with it */
	return rc;
}

/* The usage text on fp. */
static void
usage(FILE *fp)
{
	fprintf(fp, "usage: smshookctl purge --keep-days N [--force] "
	    "[--db URL] [-v]\n"
	    "Delete the day files older than N days; a day not fully imported\n"
	    "into the database is kept unless --force.\n"
	    "  -k, --keep-days N  delete the days more than N days before "
	    "today\n"
	    "  -f, --force        delete a day not fully imported too\n"
	    "  -d, --db URL       the database to consult (default: "
	    "\"database\"\n"
	    "                     in the configuration)\n"
	    "  -v, --verbose      name each day file removed\n");
}

/* smshookctl purge: see the top of this file and ctl.h. */
int
cmd_purge(struct ctl *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "keep-days",	required_argument,	NULL, 'k' },
		{ "force",	no_argument,		NULL, 'f' },
		{ "db",		required_argument,	NULL, 'd' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct day_file *files = NULL;
	struct ctl_db *db = NULL;
	unsigned long long keep = 0;
	const char *url = NULL;
	char last[11], tmp[PATH_MAX];
	size_t n = 0, i;
	int ch, ok, lock = -1, force = 0, verbose = 0, have_keep = 0, done;
	int none = 0;
	int walk;
	int removed = 0, rc = CTL_FAIL;

	while ((ch = ctl_getopt(argc, argv, "k:fd:vh", opts, usage,
	    &done)) != -1) {
		switch (ch) {
		case 'k':
			if (ctl_days(optarg, &keep) == -1) {
				ctl_err("--keep-days \"%s\": expected a number "
				    "of days", optarg);
				return CTL_USAGE;
			}
			have_keep = 1;
			break;
		case 'f':
			force = 1;
			break;
		case 'd':
			if (ctl_db_url(optarg) != 0)
				return CTL_USAGE;
			url = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		}
	}
	if (done != -1)
		return done;
	if (ctl_no_operands(argc, argv, usage) != 0)
		return CTL_USAGE;
	if (!have_keep) {
		ctl_err("--keep-days is required");
		usage(stderr);
		return CTL_USAGE;
	}
	if (ctl_conf_ready(c) != CTL_OK)
		return CTL_FAIL;
	if ((url = ctl_db_pick(c, url, " to tell which days were imported "
	    "(--force deletes regardless)", force)) == NULL && !force)
		return CTL_FAIL;
	/* days strictly before today - N: --keep-days 0 still keeps today */
	if (day_before_today(c->conf.timezone, (int)keep + 1, last) == -1) {
		ctl_err("cannot read the clock");
		return CTL_FAIL;
	}
	if ((walk = ctl_walk_begin(c, NULL, last, &files, &n, &lock)) != 1)
		return walk == 0 ? CTL_OK : CTL_FAIL;
	if (n > 0 && !force && (db = ctl_db_read(c, url, "", &none)) ==
	    NULL && !none)
		goto out;
	rc = CTL_OK;
	for (i = 0; i < n; i++) {
		if ((ok = purge_day(db, &files[i], force, tmp)) == -1)
			rc = CTL_FAIL;
		if (ok < 1)
			continue;
		removed = 1;
		if (!verbose)
			continue;
		printf("purge: removed %s\n", files[i].path);
		if (files[i].late[0] != '\0')
			printf("purge: removed %s\n", files[i].late);
		if (*tmp != '\0')
			printf("purge: removed %s\n", tmp);
	}
	/* best effort: a deletion lost in a crash is redone next run */
	if (removed)
		(void)fs_sync_dir(c->conf.spool_dir);
 out:
	db_close(db);
	ctl_walk_end(files, lock);
	return rc;
}
