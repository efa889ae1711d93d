/*
 * cmd_compress.c: smshookctl compress [--after DAYS]. Gzip closed days:
 * never today (in the configured time zone), never a file modified in
 * the last ten minutes. DAY.jsonl.gz.tmp is written, synced, checked,
 * renamed to DAY.jsonl.gz and the directory synced before DAY.jsonl is
 * unlinked, so a crash at any point leaves one complete copy. Bytes are
 * copied verbatim: import positions (uncompressed offsets) stay valid.
 * Only whole lines are copied: an unfinished last line is a write that
 * failed, never acknowledged, and a .gz that ended in one would glue it
 * to the first line of a late .jsonl.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "conf.h"
#include "ctl.h"
#include "day.h"
#include "fsutil.h"
#include "reader.h"

#define QUIET_SECS	600	/* "closed": not modified for this long */
#define CHUNK		65536

/*
 * A new file at tmp, with the mode (and, run as root, the owner) of st,
 * open for writing: whatever was at that name (a link another user put
 * there, say) is removed first, never written through. fd, or -1.
 */
static int
new_tmp(const char *tmp, const struct stat *st)
{
	if (unlink(tmp) == -1 && errno != ENOENT)
		return -1;
	return fs_create(tmp, O_WRONLY, st->st_mode & 0777, st->st_uid,
	    st->st_gid);
}

/*
 * Write bytes [at, len) of fd to out, after what it holds, as one gzip
 * member, and sync out. Returns 0, -1 with errno set when fd could not
 * be read, or -2 with errno set when out could not be written (a full
 * disk is ENOSPC there, not zlib's EIO).
 */
static int
write_gz(int fd, off_t at, off_t len, int out)
{
	static char buf[CHUNK];
	gzFile gz = NULL;
	ssize_t n;
	int gfd, zerr, rc = -2, saved;

	if ((gfd = dup(out)) == -1)
		goto out;
	if ((gz = gzdopen(gfd, "wb6")) == NULL) {
		close(gfd);
		errno = ENOMEM;
		goto out;
	}
	while (at < len) {
		n = pread(fd, buf, (size_t)(len - at < CHUNK ? len - at :
		    CHUNK), at);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* shrank under us */
			rc = -1;
			goto out;
		}
		if (gzwrite(gz, buf, (unsigned)n) != n) {
			(void)gzerror(gz, &zerr);
			if (zerr != Z_ERRNO)	/* else write(2)'s errno */
				errno = EIO;
			goto out;
		}
		at += n;
	}
	n = gzclose(gz);
	gz = NULL;
	if (n != Z_OK) {
		if (n != Z_ERRNO)
			errno = EIO;
		goto out;
	}
	if (fsync(out) == -1)
		goto out;
	rc = 0;
 out:
	saved = errno;
	if (gz != NULL)
		gzclose(gz);
	errno = saved;
	return rc;
}

/* Compress one closed day; 0 done, -1 with a message on stderr. */
static int
compress_day(const char *dir, const struct day_file *f, int verbose)
{
	char tmp[PATH_MAX], gzpath[PATH_MAX];
	const char *what = f->path;	/* the file an error is about */
	struct stat st, st2;
	off_t end;
	int fd = -1, out = -1, rc = -1, w;

	if ((size_t)snprintf(gzpath, sizeof(gzpath), "%s.gz", f->path) >=
	    sizeof(gzpath) || (size_t)snprintf(tmp, sizeof(tmp), "%s.gz.tmp",
	    f->path) >= sizeof(tmp)) {
		ctl_err("%s: path too long", f->path);
		return -1;
	}
	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1 || !fs_regular(fd, &st) ||
	    flock(fd, LOCK_SH) == -1 || fstat(fd, &st) == -1)
		goto syserr;
	if (time(NULL) - st.st_mtime < QUIET_SECS) {
		rc = 0;			/* still being written: not closed */
		goto out;
	}
	if ((end = fs_line_end(fd, 0, st.st_size)) == -1)
		goto syserr;
	if ((out = new_tmp(tmp, &st)) == -1) {
		what = tmp;
		goto syserr;
	}
	if ((w = write_gz(fd, 0, end, out)) != 0) {
		if (w == -2)
			what = tmp;
		goto syserr;
	}
	if (reader_gz_len(tmp) != end) {
		ctl_err("%s: the compressed copy does not read back; left as "
		    "it is", f->path);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, gzpath) == -1 || fs_sync_dir(dir) == -1)
		goto syserr;
	/* a late writer appended after all: keep the .jsonl, drop the copy */
	if (fstat(fd, &st2) == -1 || st2.st_size != st.st_size) {
		ctl_err("%s changed while being compressed; left as it is",
		    f->path);
		unlink(gzpath);
		goto out;
	}
	if (unlink(f->path) == -1 || fs_sync_dir(dir) == -1)
		goto syserr;
	if (verbose)
		printf("compress: %s -> %s\n", f->path, gzpath);
	rc = 0;
	goto out;
 syserr:
	ctl_errno("%s", what);
	if (out != -1)
		unlink(tmp);
 out:
	if (out != -1)
		close(out);
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * Copy the regular file at from to out; 0, or with errno set -1 if from
 * could not be read, -2 if out could not be written.
 */
static int
copy_file(const char *from, int out)
{
	static char buf[CHUNK];
	ssize_t n, w;
	int in, rc = -1, saved;

	if ((in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return -1;
	if (!fs_regular(in, NULL))
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if ((w = write(out, buf, (size_t)n)) != n) {
			if (w >= 0)
				errno = ENOSPC;	/* short: out of space */
			rc = -2;
			goto out;
		}
	if (n == 0)
		rc = 0;
 out:
	saved = errno;
	close(in);
	errno = saved;
	return rc;
}

/*
 * A day with a .jsonl beside its .jsonl.gz (reader.h): append what the
 * .jsonl holds beyond the .gz to a copy of the .gz as one more gzip
 * member, put it in place of the .gz, then remove the .jsonl. The day's
 * text, and so every import position, stays the same. 0 done or not
 * yet due, -1 with a message.
 */
static int
merge_day(const char *dir, const struct day_file *f, int verbose)
{
	const char *what = f->late;	/* the file an error is about */
	char tmp[PATH_MAX];
	struct stat st, st2;
	off_t gzlen, skip, torn, end;
	int fd = -1, out = -1, rc = -1, w;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", f->path) >=
	    sizeof(tmp)) {
		ctl_err("%s: path too long", f->path);
		return -1;
	}
	/* the shared lock keeps the receiver out till the .jsonl is gone */
	if ((fd = open(f->late, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1 || !fs_regular(fd, NULL) ||
	    flock(fd, LOCK_SH) == -1 || fstat(fd, &st) == -1)
		goto syserr;
	if (time(NULL) - st.st_mtime < QUIET_SECS) {
		rc = 0;			/* still being written: not closed */
		goto out;
	}
	if (reader_pair(f, &gzlen, &skip, &torn) == -1) {
		if (errno == READER_ETRUNC || errno == READER_ENOTGZ)
			what = f->path;	/* the .gz is cut short or no gzip */
		goto syserr;
	}
	if (torn > 0) {
		/* an older compress copied an unfinished line: keep both */
		ctl_err("%s ends in an unfinished line; %s left beside it",
		    f->path, f->late);
		rc = 0;
		goto out;
	}
	if ((end = fs_line_end(fd, skip, st.st_size)) == -1)
		goto syserr;
	if ((out = new_tmp(tmp, &st)) == -1) {
		what = tmp;
		goto syserr;
	}
	if ((w = copy_file(f->path, out)) != 0) {
		what = w == -2 ? tmp : f->path;
		goto syserr;
	}
	if ((w = write_gz(fd, skip, end, out)) != 0) {
		what = w == -2 ? tmp : f->late;
		goto syserr;
	}
	if (reader_gz_len(tmp) != gzlen + end - skip ||
	    fstat(fd, &st2) == -1 || st2.st_size != st.st_size) {
		ctl_err("%s: the merged copy does not read back; left as it "
		    "is", f->path);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, f->path) == -1 || fs_sync_dir(dir) == -1 ||
	    unlink(f->late) == -1 || fs_sync_dir(dir) == -1)
		goto syserr;
	if (verbose)
		printf("compress: %s merged into %s (%lld bytes)\n", f->late,
		    f->path, (long long)(end - skip));
	rc = 0;
	goto out;
 syserr:
	ctl_errno("%s", what);
	if (out != -1)
		unlink(tmp);
 out:
	if (out != -1)
		close(out);
	if (fd != -1)
		close(fd);
	return rc;
}

/* The usage text on fp. */
static void
usage(FILE *fp)
{
	fprintf(fp, "usage: smshookctl compress [--after DAYS] [-v]\n"
	    "Gzip day files at least DAYS days old (default 1), never today's\n"
	    "nor one modified in the last ten minutes.\n"
	    "  -a, --after DAYS  the age in days (default 1)\n"
	    "  -v, --verbose     name each day file compressed or merged\n");
}

/* smshookctl compress: see the top of this file and ctl.h. */
int
cmd_compress(struct ctl *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "after",	required_argument,	NULL, 'a' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct day_file *files = NULL;
	unsigned long long after = 1;
	char last[11];
	size_t n = 0, i;
	int ch, lock = -1, verbose = 0, rc = CTL_OK, done, walk;

	while ((ch = ctl_getopt(argc, argv, "a:vh", opts, usage,
	    &done)) != -1) {
		switch (ch) {
		case 'a':
			if (ctl_days(optarg, &after) == -1) {
				ctl_err("--after \"%s\": expected a number of "
				    "days", optarg);
				return CTL_USAGE;
			}
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
	if (ctl_conf_ready(c) != CTL_OK)
		return CTL_FAIL;
	/* never today, whatever --after says */
	if (day_before_today(c->conf.timezone, after > 0 ? (int)after : 1,
	    last) == -1) {
		ctl_err("cannot read the clock");
		return CTL_FAIL;
	}
	if ((walk = ctl_walk_begin(c, NULL, last, &files, &n, &lock)) != 1)
		return walk == 0 ? CTL_OK : CTL_FAIL;
	for (i = 0; i < n; i++)
		if ((files[i].late[0] != '\0' ? merge_day(c->conf.spool_dir,
		    &files[i], verbose) : !files[i].gz ?
		    compress_day(c->conf.spool_dir, &files[i], verbose) : 0) ==
		    -1)
			rc = CTL_FAIL;
	ctl_walk_end(files, lock);
	return rc;
}
