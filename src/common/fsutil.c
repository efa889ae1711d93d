/* fsutil.c: see fsutil.h. */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

int
fs_parent_dir(const char *path, char *buf, size_t bufsz)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;			/* "spool/" is "spool" */
	while (n > 0 && path[n - 1] != '/')
		n--;			/* its last name */
	while (n > 1 && path[n - 1] == '/')
		n--;			/* "a//spool": "a" */
	if ((n == 0 ? 1 : n) >= bufsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (n == 0)
		snprintf(buf, bufsz, ".");
	else
		snprintf(buf, bufsz, "%.*s", (int)n, path);
	return 0;
}

int
fs_mkdir_spool(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0750) == 0)
		return 1;
	if (errno != EEXIST || stat(dir, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;	/* a file of that name */
		return -1;
	}
	return 0;
}

int
fs_remake_spool(const char *dir)
{
	int rc;

	if ((rc = fs_mkdir_spool(dir)) == 1)
		logmsg(LL_WARN, "spool_dir %s was missing: made it anew (moved "
		    "or removed while the receiver ran?)", dir);
	return rc == -1 ? -1 : 0;
}

int
fs_sync_spool(const char *dir)
{
	char parent[PATH_MAX];

	if (fs_sync_dir(dir) == -1)
		return -1;
	/* its own name, which a crash could lose if it was made just now */
	if (fs_parent_dir(dir, parent, sizeof(parent)) == -1)
		return -1;
	if (fs_sync_dir(parent) == -1)
		return errno == EACCES ? 0 : -1;	/* not ours to open */
	return 0;
}

int
fs_sync_dir(const char *dir)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
fs_open_noatime(const char *path, int flags, mode_t mode)
{
	int fd;

	if ((fd = open(path, flags | O_NOATIME, mode)) == -1 && errno == EPERM)
		fd = open(path, flags, mode);
	return fd;
}

off_t
fs_line_end(int fd, off_t from, off_t size)
{
	char buf[4096];
	off_t end = size, at;
	ssize_t n, i;

	while (end > from) {
		/* the usual case first: one byte, the last line's '\n' */
		at = end == size ? end - 1 : end - (off_t)sizeof(buf);
		if (at < from)
			at = from;
		if ((n = pread(fd, buf, (size_t)(end - at), at)) == -1 &&
		    errno == EINTR)
			continue;
		if (n != end - at) {
			if (n >= 0)
				errno = EIO;	/* shorter than size */
			return -1;
		}
		for (i = n - 1; i >= 0; i--)
			if (buf[i] == '\n')
				return at + i + 1;
		end = at;
	}
	return from;
}

int
fs_create(const char *path, int flags, mode_t mode, uid_t uid, gid_t gid)
{
	int fd, saved;

	if ((fd = open(path, flags | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1)
		return -1;
	if (geteuid() == 0 && fchown(fd, uid, gid) == -1) {
		saved = errno;
		close(fd);
		unlink(path);
		errno = saved;
		return -1;
	}
	return fd;
}

int
fs_regular(int fd, struct stat *st)
{
	struct stat own;

	if (st == NULL)
		st = &own;
	if (fstat(fd, st) == -1)
		return 0;
	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		return 0;
	}
	return 1;
}

static pid_t my_pid;		/* 0: not known yet, or forked since */

static void
forget_pid(void)
{
	my_pid = 0;
}

pid_t
fs_pid(void)
{
	static int registered;

	if (my_pid != 0)
		return my_pid;
	if (!registered && pthread_atfork(NULL, NULL, forget_pid) != 0)
		return getpid();		/* cannot cache it safely */
	registered = 1;
	return my_pid = getpid();
}

int
fs_kept_fd(const struct fs_kept *k, const char *path)
{
	if (k->fd == -1 || k->pid != fs_pid() ||
	    (path != NULL && strcmp(k->path, path) != 0))
		return -1;
	return k->fd;
}

/*
 * stat(2) of path filling st_dev, st_ino, st_mode and st_size only. The
 * time stamps are not asked for: on a file system with fine-grained time
 * stamps (Linux 6.13 on), a stat that reads them makes the next write
 * stamp the inode anew, not once per clock tick.
 */
static int
stat_id(const char *path, struct stat *st)
{
	struct statx sx;

	if (statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_MODE | STATX_INO |
	    STATX_SIZE, &sx) == -1)
		return errno == ENOSYS || errno == EPERM ? stat(path, st) : -1;
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	st->st_ino = sx.stx_ino;
	st->st_mode = sx.stx_mode;
	st->st_size = (off_t)sx.stx_size;
	return 0;
}

int
fs_kept_still(const struct fs_kept *k, struct stat *st)
{
	return stat_id(k->path, st) == 0 && st->st_dev == k->dev &&
	    st->st_ino == k->ino;
}

int
fs_kept_fresh(struct fs_kept *k, long long now_ms, long long every_ms,
    off_t min, off_t max)
{
	struct stat st;

	if (now_ms >= k->checked_ms && now_ms - k->checked_ms < every_ms)
		return 1;
	if (!fs_kept_still(k, &st) || st.st_size < min ||
	    (max != -1 && st.st_size > max))
		return 0;
	k->checked_ms = now_ms;
	return 1;
}

void
fs_kept_set(struct fs_kept *k, int fd, const struct stat *st,
    const char *path)
{
	fs_kept_drop(k);
	k->fd = fd;
	k->pid = fs_pid();
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->checked_ms = FS_KEPT_LOOK;
	snprintf(k->path, sizeof(k->path), "%s", path);
}

void
fs_kept_drop(struct fs_kept *k)
{
	if (k->fd != -1 && k->pid == fs_pid())
		close(k->fd);
	k->fd = -1;
}

int
fs_std_fds(void)
{
	int fd, null, filled = 0;

	for (fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* output given nowhere fails; messages go nowhere */
		if ((null = open("/dev/null", fd == STDERR_FILENO ? O_WRONLY :
		    O_RDONLY)) == -1)
			return -1;
		if (null != fd) {	/* not the lowest free: cannot be */
			close(null);
			return -1;
		}
		filled |= 1 << fd;
	}
	return filled;
}

int
fs_stdout_nowhere(void)
{
	int null;

	if ((null = open("/dev/null", O_WRONLY)) == -1)
		return -1;
	if (null != STDOUT_FILENO && (dup2(null, STDOUT_FILENO) == -1 ||
	    close(null) == -1))
		return -1;
	return 0;
}

const char *
fs_kept_fix(int e)
{
	return e == EISDIR || e == ELOOP || e == EINVAL ? "remove it, a new "
	    "one is made" : "chown it to the receiver's user";
}

int
fs_stdout_error(void)
{
	return fflush(stdout) == EOF ? errno : ferror(stdout) ? EIO : 0;
}
