/*
 * syncgate.c: LD_PRELOAD shim holding a process in its first fdatasync
 * until the test says how it ends (tests/reliability/test_group_commit.py).
 * With $SYNCGATE (a directory) set, the first call makes the FIFO
 * $SYNCGATE/<pid>.fifo, waits for the test to open it and reads one byte:
 * 'y' runs the real fdatasync, 'f' fails it with EIO. Later calls, and
 * every call without $SYNCGATE, go straight through.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

#include "fifogate.h"

int
fdatasync(int fd)
{
	static int (*real)(int);
	static int gated;
	const char *dir = getenv("SYNCGATE");
	char c;

	if (real == NULL &&
	    (real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync")) == NULL)
		abort();
	if (dir == NULL || gated++)
		return real(fd);
	c = fifogate(dir);
	if (c == 'y')
		return real(fd);
	if (c != 'f')
		abort();
	errno = EIO;
	return -1;
}
