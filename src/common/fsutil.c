/* fsutil.c: see fsutil.h. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "fsutil.h"

int
fs_mkdir_spool(const char *dir)
{
	return mkdir(dir, 0750) == 0 || errno == EEXIST ? 0 : -1;
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
