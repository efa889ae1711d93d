/*
 * gzcorrupt.c: LD_PRELOAD shim spoiling smshookctl compress's copy just
 * before it is read back (tests/ctl/test_export_compress_purge.py).
 * With $GZCORRUPT set, a "*.gz.tmp" opened for reading is first cut to
 * 10 bytes, as if the copy had not reached the disk whole. Every other
 * open, and every open without $GZCORRUPT, goes straight through.
 */
#include <sys/types.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUFFIX	".gz.tmp"

int
open(const char *path, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	size_t n = strlen(path), k = sizeof(SUFFIX) - 1;
	mode_t mode = 0;
	va_list ap;

	if (real == NULL && (real = (int (*)(const char *, int, ...))
	    dlsym(RTLD_NEXT, "open")) == NULL)
		abort();
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (getenv("GZCORRUPT") != NULL && (flags & O_ACCMODE) == O_RDONLY &&
	    n > k && strcmp(path + n - k, SUFFIX) == 0)
		(void)truncate(path, 10);
	return real(path, flags, mode);
}
