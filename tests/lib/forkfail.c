/*
 * forkfail.c: LD_PRELOAD shim making fork(2) fail with EAGAIN, as when a
 * user's process limit is reached (tests/reliability/test_worker_start.py).
 * $FORKFAIL is how many calls fail before fork works again, "always", or
 * "children-N": a call fails while the caller has N children or more (a
 * limit that a child's end makes room under again); unset or malformed,
 * every call goes straight through. A child forked through it counts on
 * from where its parent was.
 */
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The children the calling process has now (/proc), or -1. */
static long
children(void)
{
	char path[64], buf[4096], *p, *save;
	ssize_t n;
	long k = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/children",
	    (long)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (p = strtok_r(buf, " \n", &save); p != NULL;
	    p = strtok_r(NULL, " \n", &save))
		k++;
	return k;
}

/* $FORKFAIL read: *left (-1: always), or *limit for "children-N". */
static void
mode(long *left, long *limit)
{
	const char *s = getenv("FORKFAIL");
	char *end;

	*left = 0;
	*limit = -1;
	if (s == NULL)
		return;
	if (strcmp(s, "always") == 0) {
		*left = -1;
		return;
	}
	errno = 0;
	if (strncmp(s, "children-", 9) == 0) {
		*limit = strtol(s + 9, &end, 10);
		if (errno != 0 || end == s + 9 || *end != '\0' || *limit < 0)
			*limit = -1;
		return;
	}
	*left = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *left < 0)
		*left = 0;
}

pid_t
fork(void)
{
	static pid_t (*real)(void);
	static long left = -2, limit;	/* -2: not read yet; -1: always */

	if (real == NULL &&
	    (real = (pid_t (*)(void))dlsym(RTLD_NEXT, "fork")) == NULL)
		abort();
	if (left == -2)
		mode(&left, &limit);
	if (limit >= 0 && children() < limit)
		return real();
	if (left == 0 && limit < 0)
		return real();
	if (left > 0)
		left--;
	errno = EAGAIN;
	return -1;
}
