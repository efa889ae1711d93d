/*
 * ctl_compress.c: smshookctl compress [--after DAYS]. Gzip closed days:
 * never today (in the configured time zone), never a file modified in
 * the last ten minutes. DAY.jsonl.gz.tmp is written, synced, checked,
 * renamed to DAY.jsonl.gz and the directory synced before DAY.jsonl is
 * unlinked, so a crash at any point leaves one complete copy. Bytes are
 * copied verbatim: import positions (uncompressed offsets) stay valid.
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
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "conf.h"
#include "ctl.h"
#include "ctl_day.h"
#include "ctl_spool.h"
#include "spool.h"

#define QUIET_SECS	600		/* "closed": not modified for this long */
#define CHUNK		65536

/* Uncompressed length of the gzip file path, or -1. */
static long long
gz_length(const char *path)
{
	static char buf[CHUNK];
	long long total = 0;
	gzFile gz;
	int n;

	if ((gz = gzopen(path, "rb")) == NULL)
		return -1;
	while ((n = gzread(gz, buf, sizeof(buf))) > 0)
		total += n;
	if (gzclose(gz) != Z_OK || n < 0)
		return -1;
	return total;
}

/*
 * Write the first len bytes of fd to tmp as gzip, synced. Returns 0 or
 * -1 with errno set.
 */
static int
write_gz(int fd, off_t len, const char *tmp, const struct stat *st)
{
	static char buf[CHUNK];
	gzFile gz = NULL;
	off_t at = 0;
	ssize_t n;
	int out = -1, gfd, rc = -1, saved;

	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, st->st_mode & 0777)) == -1)
		return -1;
	if (geteuid() == 0 && fchown(out, st->st_uid, st->st_gid) == -1)
		goto out;
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
			goto out;
		}
		if (gzwrite(gz, buf, (unsigned)n) != n) {
			errno = EIO;
			goto out;
		}
		at += n;
	}
	n = gzclose(gz);
	gz = NULL;
	if (n != Z_OK) {
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
	close(out);
	errno = saved;
	return rc;
}

/* Compress one closed day; 0 done, -1 with a message on stderr. */
static int
compress_day(const char *dir, const struct spool_file *f, int verbose)
{
	char tmp[PATH_MAX], gzpath[PATH_MAX];
	struct stat st, st2;
	long long check;
	int fd = -1, rc = -1;

	if ((size_t)snprintf(gzpath, sizeof(gzpath), "%s.gz", f->path) >=
	    sizeof(gzpath) || (size_t)snprintf(tmp, sizeof(tmp), "%s.gz.tmp",
	    f->path) >= sizeof(tmp)) {
		fprintf(stderr, "smshookctl: compress: %s: path too long\n",
		    f->path);
		return -1;
	}
	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    flock(fd, LOCK_SH) == -1 || fstat(fd, &st) == -1)
		goto syserr;
	if (time(NULL) - st.st_mtime < QUIET_SECS) {
		rc = 0;			/* still being written: not closed */
		goto out;
	}
	if (write_gz(fd, st.st_size, tmp, &st) == -1)
		goto syserr;
	if ((check = gz_length(tmp)) != (long long)st.st_size) {
		fprintf(stderr, "smshookctl: compress: %s: the compressed copy "
		    "does not read back; left as it is\n", f->path);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, gzpath) == -1 || spool_sync_dir(dir) == -1)
		goto syserr;
	/* a late writer appended after all: keep the .jsonl, drop the copy */
	if (fstat(fd, &st2) == -1 || st2.st_size != st.st_size) {
		fprintf(stderr, "smshookctl: compress: %s changed while being "
		    "compressed; left as it is\n", f->path);
		unlink(gzpath);
		goto out;
	}
	if (unlink(f->path) == -1 || spool_sync_dir(dir) == -1)
		goto syserr;
	if (verbose)
		printf("compress: %s -> %s\n", f->path, gzpath);
	rc = 0;
	goto out;
 syserr:
	fprintf(stderr, "smshookctl: compress: %s: %s\n", f->path,
	    strerror(errno));
	unlink(tmp);
 out:
	if (fd != -1)
		close(fd);
	return rc;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: smshookctl compress [--after DAYS] [-v]\n"
	    "Gzip day files at least DAYS days old (default 1), never today's\n"
	    "nor one modified in the last ten minutes.\n");
}

int
cmd_compress(struct ctl *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "after",	required_argument,	NULL, 'a' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct spool_file *files = NULL;
	unsigned long long after = 1;
	char last[11];
	size_t n = 0, i;
	int ch, lock = -1, verbose = 0, rc = CTL_FAIL, done;

	while ((ch = ctl_getopt(argc, argv, "a:vh", opts, usage, &done)) != -1) {
		switch (ch) {
		case 'a':
			if (conf_number(optarg, 0, 100000, &after) == -1) {
				fprintf(stderr, "smshookctl: compress: --after "
				    "\"%s\": expected a number of days\n",
				    optarg);
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
	/* never today, whatever --after says */
	if (day_before_today(c->conf.timezone, after > 0 ? (int)after : 1,
	    last) == -1) {
		fprintf(stderr, "smshookctl: compress: cannot read the clock\n");
		return CTL_FAIL;
	}
	if (access(c->conf.spool_dir, F_OK) == -1 && errno == ENOENT)
		return CTL_OK;		/* nothing received yet */
	if ((lock = ctl_lock(c)) == -1)
		return CTL_FAIL;
	if (spool_list(c->conf.spool_dir, NULL, last, &files, &n) == -1) {
		fprintf(stderr, "smshookctl: compress: %s: %s\n",
		    c->conf.spool_dir, strerror(errno));
		goto out;
	}
	rc = CTL_OK;
	for (i = 0; i < n; i++)
		if (!files[i].gz &&
		    compress_day(c->conf.spool_dir, &files[i], verbose) == -1)
			rc = CTL_FAIL;
 out:
	free(files);
	close(lock);
	return rc;
}
