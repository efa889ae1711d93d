/*
 * cmd_import.c: smshookctl import [--db URL] [-v]. For each day file,
 * the complete lines past the stored position become rows; the new
 * position commits in the same transaction as the rows, so a crash or
 * a rerun never loses or duplicates one. Quiet on success (cron mails
 * any output) unless -v; rejected lines are stored and counted.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "db.h"
#include "line.h"
#include "pos.h"
#include "reader.h"
#include "rows.h"
#include "utf8.h"

#define BATCH_LINES	50000

struct import {
	struct ctl_db	*db;
	unsigned long long max_body;	/* the configuration's */
	int		 tty;
	unsigned long long files, lines, rows, rejects;	/* committed */
	unsigned long long tx_lines, tx_rows, tx_rejects; /* not yet */
	char		*clean;		/* a rejected line made valid UTF-8 */
	size_t		 cleancap;
	struct pos_tail	 tail;		/* the text before the reader's pos */
	struct timespec	 t0, last;
};

static double
secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* On a terminal, a progress line on stderr about four times a second. */
static void
progress(struct import *im, const char *day, long long left, int done)
{
	struct timespec now;
	double t;

	if (!im->tty)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!done && secs(&im->last, &now) < 0.25)
		return;
	im->last = now;
	t = secs(&im->t0, &now);
	fprintf(stderr, "\rimport %s: %llu lines, %.0f lines/s, %lld bytes "
	    "left in this day   %s", day, im->lines,
	    t > 0 ? (double)im->lines / t : 0.0, left, done ? "\n" : "");
}

/*
 * A copy of line[0..len) fit for a text column: invalid UTF-8 and NUL
 * bytes become U+FFFD. Returns the NUL-terminated copy or NULL.
 */
static const char *
clean_text(struct import *im, const char *line, size_t len)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t i = 0, o = 0, n;
	char *nb;

	if (len > (((size_t)-1) - 1) / 3)
		return NULL;
	if (len * 3 + 1 > im->cleancap) {
		if ((nb = realloc(im->clean, len * 3 + 1)) == NULL)
			return NULL;
		im->clean = nb;
		im->cleancap = len * 3 + 1;
	}
	while (i < len) {
		if (s[i] != 0 && (n = utf8_seq(s + i, len - i)) > 0) {
			memcpy(im->clean + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(im->clean + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	im->clean[o] = '\0';
	return im->clean;
}

/*
 * One line: its rows, or a reject. A READER_LONG or READER_TORN line (n)
 * is a reject holding only its first bytes, unless a larger max_body
 * could have let the receiver write it: then the day stops (-1).
 */
static int
import_line(struct import *im, const char *day, int n, const char *line,
    size_t len, off_t off)
{
	struct rows l;
	struct db_line dl;
	const char *why, *text;
	int rc = -1, parsed = -1;

	memset(&l, 0, sizeof(l));
	if (reader_unread(n, len)) {
		/* stored under a larger max_body: no reject, the day stops */
		snprintf(im->db->err, sizeof(im->db->err), "offset %lld: a "
		    "line of %zu bytes, longer than max_body = %llu lets the "
		    "receiver write (it was larger when the line was stored): "
		    "raise max_body to import it", (long long)off, len,
		    im->max_body);
		goto out;
	}
	if (n != READER_LINE) {
		why = n == READER_LONG ? line_too_long : reader_unfinished;
		len = len < READER_HEAD ? len : READER_HEAD;
	} else if ((parsed = rows_parse(&l, line, len, &why)) == -2) {
		/* says nothing of the line: not a reject, and the day stops */
		snprintf(im->db->err, sizeof(im->db->err), "out of memory");
		goto out;
	}
	if (parsed == -1) {
		if ((text = clean_text(im, line, len)) == NULL) {
			snprintf(im->db->err, sizeof(im->db->err),
			    "out of memory");
			goto out;
		}
		if (db_insert_reject(im->db, day, (long long)off, why,
		    text) == -1)
			goto out;
		im->tx_rejects++;
		rc = 0;
		goto out;
	}
	dl.day = day;
	dl.off = (long long)off;
	dl.text = line;
	dl.len = len;
	if (db_insert_event(im->db, &l, &dl) == -1)
		goto out;
	im->tx_rows += l.nrows;
	rc = 0;
 out:
	rows_free(&l);
	return rc;
}

/* What the transaction just committed now counts. */
static void
committed(struct import *im)
{
	im->lines += im->tx_lines;
	im->rows += im->tx_rows;
	im->rejects += im->tx_rejects;
	im->tx_lines = im->tx_rows = im->tx_rejects = 0;
}

/*
 * Store, in the open transaction, that f was read up to r's position
 * (gz_size: the size of a .jsonl.gz read to its end, else -1), with the
 * mark of f's first line; -1 with the reason in db->err. The text read
 * is made durable first: with fsync = no the receiver's lines may be in
 * memory only, and a position past what a power loss leaves of the file
 * would skip the lines written after it.
 */
static int
store_pos(struct import *im, const struct day_file *f,
    const struct reader *r, struct db_pos *p, long long gz_size)
{
	p->off = (long long)reader_pos(r);
	p->gz_size = gz_size;
	pos_tail_mark(&im->tail, p->off, p->tail);
	if (reader_sync(r) == -1) {
		snprintf(im->db->err, sizeof(im->db->err), "sync: %s",
		    strerror(errno));
		return -1;
	}
	errno = 0;
	if (p->off > 0 && p->mark[0] == '\0' && pos_mark(f, p->mark) != 1) {
		snprintf(im->db->err, sizeof(im->db->err), "its first line: "
		    "%s", errno != 0 ? reader_strerror(errno) : "gone");
		return -1;
	}
	return db_set_pos(im->db, f->day, p);
}

/*
 * 1 if the text before the position p in f is the text imported (or not
 * known), else 0; a failure to read is 0 too, for pos_open_text to say.
 */
static int
same_end(const struct day_file *f, const struct db_pos *p)
{
	struct reader *r;

	if (p->tail[0] == '\0' || (r = pos_open(f, p, NULL)) == NULL)
		return p->tail[0] == '\0';
	reader_close(r);
	return 1;
}

/* Import what is new in one day file; -1 with a message on stderr. */
static int
import_file(struct import *im, const struct day_file *f)
{
	struct reader *r = NULL;
	struct db_pos p;
	const char *line;
	struct stat st;
	char err[1024];
	unsigned long long inbatch = 0, before = im->lines;
	size_t len;
	off_t off;
	long long was;
	int n, same, other, intx = 0, rc = -1;

	if (stat(f->path, &st) == -1) {
		if (errno == ENOENT)
			return 0;	/* compressed or purged meanwhile */
		ctl_errno("%s", f->path);
		return -1;
	}
	if ((same = pos_get(im->db, f, &p, err, sizeof(err))) == -1) {
		ctl_err("%s", err);
		return -1;
	}
	if (same == POS_OTHER)
		ctl_err("%s is not the file imported before as its day (its "
		    "first line differs); read from its start", f->path);
	/*
	 * nothing new: skip without reading (a day of two files: read), a
	 * .jsonl once the text before its position is the text imported
	 */
	if (same == POS_SAME && f->late[0] == '\0' && (f->gz ? p.gz_size ==
	    (long long)st.st_size : p.off == st.st_size && same_end(f, &p)))
		return 0;
	was = p.off;
	if ((r = pos_open_text(f, &p, &other, &im->tail)) != NULL && other)
		ctl_err("%s is not the text imported before (no line ends at "
		    "its imported position %lld, or the bytes before it are "
		    "not those imported: it was cut back); read from its "
		    "start", f->path, was);
	if (r == NULL) {
		ctl_errno("%s", f->path);
		return -1;
	}
	intx = 1;	/* a begin that failed half-way is rolled back too */
	if (db_begin(im->db) == -1)
		goto dberr;
	while ((n = reader_next(r, &line, &len, &off)) > 0) {
		if (import_line(im, f->day, n, line, len, off) == -1)
			goto dberr;
		pos_tail_add(&im->tail, n, line, len);
		im->tx_lines++;
		if (++inbatch >= BATCH_LINES) {
			if (store_pos(im, f, r, &p, -1) == -1 ||
			    db_commit(im->db) == -1)
				goto dberr;
			committed(im);
			if (db_begin(im->db) == -1)
				goto dberr;
			inbatch = 0;
		}
		if (((im->lines + im->tx_lines) & 1023) == 0)
			progress(im, f->day, f->gz ? -1 :
			    (long long)(st.st_size - reader_pos(r)), 0);
	}
	if (n == -1) {
		ctl_errno("read %s", f->path);
		goto out;
	}
	/* a .jsonl.gz never changes: remember it was read to its end */
	if (store_pos(im, f, r, &p, f->gz && f->late[0] == '\0' ?
	    (long long)st.st_size : -1) == -1 || db_commit(im->db) == -1)
		goto dberr;
	committed(im);
	intx = 0;
	rc = 0;
	goto out;
 dberr:
	ctl_err("%s: %s", f->day, im->db->err);
 out:
	if (intx)
		db_rollback(im->db);
	/* not counted */
	im->tx_lines = im->tx_rows = im->tx_rejects = 0;
	im->files += im->lines > before;	/* batches committed count */
	reader_close(r);
	return rc;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: smshookctl import [--db URL] [-v]\n"
	    "Load new complete spool lines into the database (sqlite:PATH or\n"
	    "postgresql://...; default: \"database\" in the configuration).\n"
	    "  -d, --db URL   the database to load into\n"
	    "  -v, --verbose  print a summary\n");
}

int
cmd_import(struct ctl *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "db",		required_argument,	NULL, 'd' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct day_file *files = NULL;
	struct timespec now;
	struct import im;
	const char *url = NULL;
	size_t n = 0, i;
	int ch, lock = -1, verbose = 0, failed = 0, rc = CTL_FAIL, done, walk;

	memset(&im, 0, sizeof(im));
	while ((ch = ctl_getopt(argc, argv, "d:vh", opts, usage,
	    &done)) != -1) {
		switch (ch) {
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
	if (ctl_conf_ready(c) != CTL_OK ||
	    (url = ctl_db_pick(c, url, "", 0)) == NULL)
		return CTL_FAIL;
	if ((walk = ctl_walk_begin(c, NULL, NULL, &files, &n, &lock)) != 1)
		return walk == 0 ? CTL_OK : CTL_FAIL;	/* 0: nothing yet */
	if ((im.db = ctl_db_open(c, url)) == NULL)
		goto out;
	im.tty = c->tty;
	im.max_body = c->conf.max_body;
	clock_gettime(CLOCK_MONOTONIC, &im.t0);
	for (i = 0; i < n; i++) {
		if (import_file(&im, &files[i]) == -1)
			failed = 1;	/* the other days still go in */
		if (im.db->stop != NULL && i + 1 < n) {	/* unless none can */
			ctl_err("%s: the days after %s are left for the next "
			    "run", im.db->stop, files[i].day);
			break;
		}
	}
	if (im.lines > 0)
		progress(&im, "done", 0, 1);
	im.rejects += im.db->refused;
	if (im.rejects > 0)
		ctl_err("%llu line%s rejected (see table smshook_rejects)",
		    im.rejects, im.rejects == 1 ? "" : "s");
	if (verbose)
		printf("import: %llu files, %llu lines, %llu rows inserted, "
		    "%llu duplicates, %llu rejected\n", im.files, im.lines,
		    im.db->inserted, im.rows - im.db->refused_rows -
		    im.db->inserted, im.rejects);
	rc = failed ? CTL_FAIL : CTL_OK;
	if (!failed) {			/* for stats: the last good run */
		clock_gettime(CLOCK_REALTIME, &now);
		if (db_set_run(im.db, (long long)now.tv_sec * 1000 +
		    now.tv_nsec / 1000000) == -1)
			ctl_err("%s", im.db->err);
	}
 out:
	free(im.clean);
	db_close(im.db);
	ctl_walk_end(files, lock);
	return rc;
}
