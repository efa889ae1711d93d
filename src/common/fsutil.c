/* fsutil.c: see fsutil.h. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
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
