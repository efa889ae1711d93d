/*
 * gzcorrupt.c: LD_PRELOAD shim acting on smshookctl compress's copy just
 * before it is read back (tests/ctl/test_export_compress_purge.py).
 * With $GZCORRUPT set, a "*.gz.tmp" opened for reading is first cut to
 * 10 bytes, as if the copy had not reached the disk whole. With
 * $GZAPPEND set, its value and a '\n' are first appended to the day file
 * the copy is made of ("D.jsonl" for "D.jsonl.gz.tmp"), as a writer that
 * does not take the lock would. Every other open, and every open without
 * either, goes straight through.
 */
#include <sys/types.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUFFIX	".gz.tmp"

int
open(const char *path, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	size_t n = strlen(path), k = sizeof(SUFFIX) - 1;
	const char *more = getenv("GZAPPEND");
	char day[PATH_MAX];
	mode_t mode = 0;
	va_list ap;
	int fd;

	if (real == NULL && (real = (int (*)(const char *, int, ...))
	    dlsym(RTLD_NEXT, "open")) == NULL)
		abort();
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if ((flags & O_ACCMODE) != O_RDONLY || n <= k ||
	    strcmp(path + n - k, SUFFIX) != 0)
		return real(path, flags, mode);
	if (getenv("GZCORRUPT") != NULL)
		(void)truncate(path, 10);
	if (more != NULL) {
		if ((size_t)snprintf(day, sizeof(day), "%.*s", (int)(n - k),
		    path) >= sizeof(day) ||
		    (fd = real(day, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1 ||
		    write(fd, more, strlen(more)) != (ssize_t)strlen(more) ||
		    write(fd, "\n", 1) != 1)
			abort();	/* the test sees the process die */
		close(fd);
	}
	return real(path, flags, mode);
}
