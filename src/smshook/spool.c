/*
 * spool.c: the one place that writes day files. Every writer (CGI
 * processes, FastCGI workers) takes the file's exclusive flock around
 * the write, so a failed write can be cut back without touching anyone
 * else's line; readers take a shared lock. The sync comes after the lock
 * is dropped, so concurrent appends share one journal commit (group
 * commit); a failed sync leaves a whole line, never a partial one.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "spool.h"

/*
 * A long-lived process keeps its day file open between requests; per
 * request it only locks it and checks it is still linked. dir_synced: the
 * spool directory and its parent were synced since that file was opened.
 * own_end: the length this process's last whole line left the kept file
 * at, or -1.
 */
static struct fs_kept kept = FS_KEPT_NONE;
static int dir_synced;
static off_t own_end = -1;

/* "what path: strerror(errno)" into err; returns -1. */
static int
fail(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

/*
 * Why a write that should have taken the file to want bytes came up
 * short: EFBIG past the process's file size limit (ulimit -f), else
 * ENOSPC (a full disk, a quota).
 */
static int
short_cause(off_t want)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && (rlim_t)want > rl.rlim_cur ?
	    EFBIG : ENOSPC;
}

/*
 * Open the day file for appending and for reading its tail (cut_torn_tail),
 * creating the directory if missing.
 */
static int
open_day(const char *dir, const char *path)
{
	int fd, flags = O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK;		/* a FIFO there must not block the request */

	if ((fd = fs_open_noatime(path, flags, 0640)) == -1 &&
	    errno == ENOENT && fs_remake_spool(dir) == 0)
		fd = fs_open_noatime(path, flags, 0640);
	return fd;
}

/*
 * Lock the kept day file and check, with one stat under the lock that
 * compress and purge take to remove it, that path still names it (not
 * compressed or purged away, nor moved with its directory, meanwhile),
 * its stat into st: 1; else 0 (let go), or -1 if it cannot be locked
 * (let go, errno set).
 */
static int
lock_kept(struct stat *st)
{
	int saved;

	while (flock(kept.fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			saved = errno;
			fs_kept_drop(&kept);
			errno = saved;
			return -1;
		}
	if (fs_kept_still(&kept, st))
		return 1;
	fs_kept_drop(&kept);
	return 0;
}

/*
 * Open and exclusively lock the day file, with its stat in st. The file
 * kept from the last request, or the one just opened, is used only if
 * its path still names it once it is locked (lock_kept); else the path
 * is opened afresh, so no line goes to a file removed or moved while we
 * waited. The fd is kept for the next request. Returns the fd, or -1
 * with err set.
 */
static int
lock_day(const char *dir, const char *path, struct stat *st, char *err,
    size_t errlen)
{
	int fd, tries;

	if (fs_kept_fd(&kept, path) != -1 && lock_kept(st) == 1)
		return kept.fd;
	for (tries = 0; tries < 3; tries++) {
		if ((fd = open_day(dir, path)) == -1)
			return fail(err, errlen, "open", path);
		if (!fs_regular(fd, st)) {
			if (errno == EINVAL)
				snprintf(err, errlen, "%s: not a regular file",
				    path);
			else
				fail(err, errlen, "stat", path);
			close(fd);
			return -1;
		}
		fs_kept_set(&kept, fd, st, path);
		dir_synced = 0;
		own_end = -1;
		switch (lock_kept(st)) {
		case 1:
			return fd;
		case -1:
			return fail(err, errlen, "lock", path);
		}
	}
	errno = ESTALE;
	return fail(err, errlen, "open", path);
}

/*
 * A last line without '\n' is a writer killed mid-write: it was never
 * acknowledged, so cut it off rather than glue the next line to it.
 * Returns the file's length after the repair, or -1.
 */
static off_t
cut_torn_tail(int fd, off_t size, const char *path)
{
	off_t end;

	if ((end = fs_line_end(fd, 0, size)) == -1)
		return -1;
	if (end == size)
		return size;	/* the usual case: one byte read */
	if (ftruncate(fd, end) == -1)
		return -1;
	logmsg(LL_WARN, "%s: removed %lld bytes of an unfinished line",
	    path, (long long)(size - end));
	return end;
}

int
spool_write(struct spool_pending *p, const char *dir, const char *day,
    const char *line, size_t len, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	off_t before;
	ssize_t n;
	int fd, rc = -1, saved;

	p->fd = -1;
	p->synced = 0;
	p->dir = dir;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.jsonl", dir, day) >=
	    sizeof(path)) {
		snprintf(err, errlen, "spool path too long");
		return -1;
	}
	if ((fd = lock_day(dir, path, &st, err, errlen)) == -1)
		return -1;
	/*
	 * Still the length our last line left: its '\n' is the last byte
	 * (a write makes the file longer, a cut-back returns to a line's end).
	 */
	if ((before = st.st_size) > 0 && before != own_end &&
	    (before = cut_torn_tail(fd, st.st_size, path)) == -1) {
		fail(err, errlen, "repair", path);
		goto out;
	}
	own_end = -1;
	if ((n = write(fd, line, len)) != (ssize_t)len) {
		if (n >= 0)		/* short: cut back, as a failure */
			errno = short_cause(before + (off_t)len);
		fail(err, errlen, "write", path);
		saved = errno;
		if (ftruncate(fd, before) == -1)
			logmsg(LL_ERROR, "%s: cannot cut back to %lld bytes: "
			    "%s", path, (long long)before, strerror(errno));
		else if (fdatasync(fd) == -1)
			logmsg(LL_ERROR, "%s: cut back to %lld bytes, but not "
			    "synced: %s", path, (long long)before,
			    strerror(errno));
		errno = saved;
		goto out;
	}
	p->fd = fd;
	own_end = before + (off_t)len;
	rc = 0;
 out:
	/* the fd stays open for the next; closing it drops a stuck lock */
	if (flock(fd, LOCK_UN) == -1) {
		saved = errno;
		/* the fd goes now: the line is synced before, not after */
		if (rc == 0 && fdatasync(fd) == -1)
			rc = fail(err, errlen, "sync", path);
		logmsg(LL_ERROR, "%s: unlock: %s", path, strerror(saved));
		p->synced = rc == 0;
		p->fd = -1;
		fs_kept_drop(&kept);
	} else if (rc == -1)
		fs_kept_drop(&kept);
	return rc;
}

void
spool_let_go(void)
{
	fs_kept_drop(&kept);
	own_end = -1;
}

int
spool_sync(struct spool_pending *p, char *err, size_t errlen)
{
	if (p->fd == -1 && !p->synced) {
		snprintf(err, errlen, "sync: no line written");
		return -1;
	}
	if (!p->synced && fdatasync(p->fd) == -1)
		return fail(err, errlen, "sync", kept.path);
	if (!dir_synced) {
		if (fs_sync_spool(p->dir) == -1)
			return fail(err, errlen, "sync", p->dir);
		dir_synced = 1;
	}
	return 0;
}
