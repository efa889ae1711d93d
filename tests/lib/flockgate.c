/*
 * flockgate.c: LD_PRELOAD shim holding smshookctl between opening its
 * cron lock and taking it (tests/ctl/test_import.py, lock_unlinked).
 * With $FLOCKGATE (a directory) set, the first flock(LOCK_EX | LOCK_NB)
 * makes the FIFO $FLOCKGATE/<pid>.fifo and waits there until the test
 * writes 'y' (the test replaces the lock file meanwhile); then the real
 * flock runs. Other calls, and every call without $FLOCKGATE, go
 * straight through.
 */
#include <sys/file.h>

#include <dlfcn.h>
#include <stdlib.h>

#include "fifogate.h"

int
flock(int fd, int op)
{
	static int (*real)(int, int);
	static int gated;
	const char *dir = getenv("FLOCKGATE");

	if (real == NULL &&
	    (real = (int (*)(int, int))dlsym(RTLD_NEXT, "flock")) == NULL)
		abort();
	if (dir == NULL || op != (LOCK_EX | LOCK_NB) || gated++)
		return real(fd, op);
	if (fifogate(dir) != 'y')
		abort();
	return real(fd, op);
}
