/* lock.c: one smshookctl at a time per spool (import, compress, purge). */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "fsutil.h"

#define LOCK_WAIT_MS	5000
#define LOCK_STEP_MS	100

/*
 * Open the lock file at path in dir: made anew, run as root, it is given
 * to dir's owner, so that a run as root leaves it usable by the
 * receiver's user; one already there is opened as it is, a regular file
 * only, never chowned (it may be a link another user made). fd, or -1.
 */
static int
open_lock(const char *dir, const char *path)
{
	struct stat st;
	int fd, saved;

	if (stat(dir, &st) == -1)
		return -1;
	if ((fd = fs_create(path, O_RDWR, 0640, st.st_uid, st.st_gid)) != -1)
		return fd;
	if (errno != EEXIST || (fd = open(path, O_RDWR | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK)) == -1)
		return -1;
	if (fs_regular(fd, NULL))
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* 1 if fd is still the file at path (not removed or replaced), else 0. */
static int
still_linked(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * The cron lock's fd, waiting up to LOCK_WAIT_MS; -1 after saying why.
 * A lock taken on a file no longer at its path (removed as if stale
 * while another run held it) is no lock: taken again on the new one.
 */
int
ctl_lock(struct ctl *c)
{
	struct timespec step = { 0, LOCK_STEP_MS * 1000000L };
	char path[PATH_MAX];
	int fd = -1, waited = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->conf.spool_dir,
	    CTL_LOCK_FILE) >= sizeof(path)) {
		ctl_err("%s: path too long", c->conf.spool_dir);
		goto fail;
	}
	for (;;) {
		if ((fd = open_lock(c->conf.spool_dir, path)) == -1) {
			ctl_errno("%s", path);
			goto fail;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (still_linked(fd, path))
				return fd;
		} else if (errno != EWOULDBLOCK && errno != EINTR) {
			ctl_errno("lock %s", path);
			goto fail;
		}
		close(fd);
		fd = -1;
		if ((waited += LOCK_STEP_MS) > LOCK_WAIT_MS) {
			ctl_err("another smshookctl is running (%s is locked; "
			    "it is never stale: do not remove it)", path);
			goto fail;
		}
		nanosleep(&step, NULL);
	}
 fail:
	if (fd != -1)
		close(fd);
	return -1;
}
