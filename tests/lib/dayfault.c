/*
 * dayfault.c: LD_PRELOAD shim acting on one day file smshookctl reads
 * (tests/ctl/test_export_compress_purge.py), $DAYFAULT_FILE, whatever
 * name it is opened by (the same file: device and inode).
 * With $DAYFAULT_PREAD set to "OFF" or "OFF:NTH", the NTH pread(2) of
 * that file at offset OFF (default the first) fails with EIO, once. With
 * $DAYFAULT_TRUNCATE set, the first fdatasync(2) of that file first cuts
 * it to 0 bytes, as if it were emptied between its reading and the
 * commit. With $DAYFAULT_GATE set to "NTH:DIR", the NTH open(2) of that
 * file holds the process until the test has changed the spool: it makes
 * the FIFO DIR/<pid>.fifo, waits for the test to open it and write one
 * byte, then opens whatever the path names by then. With
 * $DAYFAULT_UNLINK set, unlink(2) of that file fails with EIO. Every
 * other call, and every call without $DAYFAULT_FILE, goes straight
 * through.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fifogate.h"

/* 1 if fd (or, fd -1, the file at name) is $DAYFAULT_FILE. */
static int
the_day(int fd, const char *name)
{
	const char *path = getenv("DAYFAULT_FILE");
	struct stat a, b;
	int saved = errno, rc;

	rc = path != NULL && (fd == -1 ? stat(name, &a) : fstat(fd, &a)) ==
	    0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino;
	errno = saved;
	return rc;
}

int
open(const char *name, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	static long seen;
	const char *at = getenv("DAYFAULT_GATE");
	char dir[PATH_MAX];
	mode_t mode = 0;
	va_list ap;
	long nth;

	if (real == NULL && (real = (int (*)(const char *, int, ...))dlsym(
	    RTLD_NEXT, "open")) == NULL)
		abort();
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (at != NULL && sscanf(at, "%ld:%4095s", &nth, dir) == 2 &&
	    the_day(-1, name) && ++seen == nth)
		fifogate(dir);
	return real(name, flags, mode);
}

ssize_t
pread(int fd, void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, void *, size_t, off_t);
	static long seen;
	const char *at = getenv("DAYFAULT_PREAD");
	long long want;
	long nth = 1;

	if (real == NULL && (real = (ssize_t (*)(int, void *, size_t,
	    off_t))dlsym(RTLD_NEXT, "pread")) == NULL)
		abort();
	if (at != NULL && sscanf(at, "%lld:%ld", &want, &nth) >= 1 &&
	    off == (off_t)want && the_day(fd, NULL) && ++seen == nth) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n, off);
}

int
fdatasync(int fd)
{
	static int (*real)(int);
	static int done;
	const char *path = getenv("DAYFAULT_FILE");

	if (real == NULL && (real = (int (*)(int))dlsym(RTLD_NEXT,
	    "fdatasync")) == NULL)
		abort();
	if (!done && getenv("DAYFAULT_TRUNCATE") != NULL &&
	    the_day(fd, NULL)) {
		done = 1;
		if (truncate(path, 0) == -1)
			abort();	/* the test sees the process die */
	}
	return real(fd);
}

int
unlink(const char *name)
{
	static int (*real)(const char *);

	if (real == NULL && (real = (int (*)(const char *))dlsym(RTLD_NEXT,
	    "unlink")) == NULL)
		abort();
	if (getenv("DAYFAULT_UNLINK") != NULL && the_day(-1, name)) {
		errno = EIO;
		return -1;
	}
	return real(name);
}
