/*
 * ctl_purge.c: smshookctl purge --keep-days N [--force] [--db URL]. Delete
 * the day files (.jsonl or .jsonl.gz) of days before today minus N in the
 * configured time zone. A day holding complete lines past its imported
 * position is refused unless --force: the database is asked, so purge
 * needs it (database = or --db) unless forced.
 */
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
#include "ctl_day.h"
#include "ctl_db.h"
#include "ctl_spool.h"

/* 1 if f has no complete line past its imported position, 0 if it has,
 * -1 on error (message on stderr). */
static int
imported(struct ctl_db *db, const struct spool_file *f)
{
	struct spool_reader *r;
	long long pos, gz_size;
	const char *line;
	size_t len;
	off_t off;
	int n;

	if (db_get_pos(db, f->day, &pos, &gz_size) == -1) {
		fprintf(stderr, "smshookctl: purge: %s: %s\n", f->day, db->err);
		return -1;
	}
	if ((r = spool_reader_open(f, (off_t)pos)) == NULL) {
		if (errno == ERANGE)
			return 1;	/* shorter than imported: all in */
		fprintf(stderr, "smshookctl: purge: %s: %s\n", f->path,
		    strerror(errno));
		return -1;
	}
	n = spool_reader_next(r, &line, &len, &off);
	spool_reader_close(r);
	if (n == -1) {
		fprintf(stderr, "smshookctl: purge: read %s: %s\n", f->path,
		    strerror(errno));
		return -1;
	}
	return n == 0;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: smshookctl purge --keep-days N [--force] "
	    "[--db URL] [-v]\n"
	    "Delete the day files older than N days; a day not fully imported\n"
	    "into the database is kept unless --force.\n");
}

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
	struct spool_file *files = NULL;
	struct ctl_db *db = NULL;
	unsigned long long keep = 0;
	const char *url;
	char last[11], err[512], source[sizeof(db->source)];
	size_t n = 0, i;
	int ch, ok, lock = -1, force = 0, verbose = 0, have_keep = 0, done;
	int removed = 0, rc = CTL_FAIL;

	url = c->conf.database;
	while ((ch = ctl_getopt(argc, argv, "k:fd:vh", opts, usage, &done)) != -1) {
		switch (ch) {
		case 'k':
			if (conf_number(optarg, 0, 100000, &keep) == -1) {
				fprintf(stderr, "smshookctl: purge: "
				    "--keep-days \"%s\": expected a number of "
				    "days\n", optarg);
				return CTL_USAGE;
			}
			have_keep = 1;
			break;
		case 'f':
			force = 1;
			break;
		case 'd':
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
		fprintf(stderr, "smshookctl: purge: --keep-days is required\n");
		usage(stderr);
		return CTL_USAGE;
	}
	if (url == NULL && !force) {
		fprintf(stderr, "smshookctl: purge: no database to tell which "
		    "days were imported: set \"database =\" in %s or use "
		    "--db URL (or --force to delete regardless)\n", c->confpath);
		return CTL_FAIL;
	}
	/* days strictly before today - N: --keep-days 0 still keeps today */
	if (day_before_today(c->conf.timezone, (int)keep + 1, last) == -1) {
		fprintf(stderr, "smshookctl: purge: cannot read the clock\n");
		return CTL_FAIL;
	}
	if (access(c->conf.spool_dir, F_OK) == -1 && errno == ENOENT)
		return CTL_OK;
	if ((lock = ctl_lock(c)) == -1)
		return CTL_FAIL;
	if (spool_list(c->conf.spool_dir, NULL, last, &files, &n) == -1) {
		fprintf(stderr, "smshookctl: purge: %s: %s\n",
		    c->conf.spool_dir, strerror(errno));
		goto out;
	}
	if (n > 0 && !force) {
		db_source(c->conf.spool_dir, source, sizeof(source));
		if ((db = db_open(url, source, err, sizeof(err))) == NULL) {
			fprintf(stderr, "smshookctl: purge: %s\n", err);
			goto out;
		}
	}
	rc = CTL_OK;
	for (i = 0; i < n; i++) {
		if (!force && (ok = imported(db, &files[i])) != 1) {
			if (ok == 0)
				fprintf(stderr, "smshookctl: purge: %s is not "
				    "fully imported; kept (run smshookctl "
				    "import, or purge --force)\n",
				    files[i].path);
			rc = CTL_FAIL;
			continue;
		}
		if (unlink(files[i].path) == -1 && errno != ENOENT) {
			fprintf(stderr, "smshookctl: purge: %s: %s\n",
			    files[i].path, strerror(errno));
			rc = CTL_FAIL;
			continue;
		}
		/* a compress in progress may have left the other copy */
		if (!files[i].gz) {
			char gz[PATH_MAX];

			if ((size_t)snprintf(gz, sizeof(gz), "%s.gz",
			    files[i].path) < sizeof(gz))
				(void)unlink(gz);
		}
		removed = 1;
		if (verbose)
			printf("purge: removed %s\n", files[i].path);
	}
	if (removed) {
		int dfd = open(c->conf.spool_dir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);

		if (dfd != -1) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
 out:
	db_close(db);
	free(files);
	close(lock);
	return rc;
}
