/*
 * fifogate.h: the gate the test shims hold a process at (syncgate.c,
 * dayfault.c): make the FIFO dir/<pid>.fifo, wait for the test to open
 * it and write one byte, and return that byte; errno is kept. A FIFO
 * that cannot be made or opened aborts: the test sees the process die.
 * The test's side is gate_wait and gate_release in smshooktest.py.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char
fifogate(const char *dir)
{
	char path[PATH_MAX + 32], c = 0;
	int f, saved = errno;

	snprintf(path, sizeof(path), "%s/%ld.fifo", dir, (long)getpid());
	if (mkfifo(path, 0600) == -1 || (f = open(path, O_RDONLY)) == -1)
		abort();
	unlink(path);
	while (read(f, &c, 1) == -1 && errno == EINTR)
		;
	close(f);
	errno = saved;
	return c;
}
