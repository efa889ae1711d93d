/*
 * forkfail.c: LD_PRELOAD shim making fork(2) fail with EAGAIN, as when a
 * user's process limit is reached (tests/reliability/test_worker_start.py).
 * $FORKFAIL is how many calls fail before fork works again, "always", or
 * "always-after-N": N calls work, then every one fails; unset or
 * malformed, every call goes straight through. A child forked through it
 * counts on from where its parent was.
 */
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pid_t
fork(void)
{
	static pid_t (*real)(void);
	static long left = -2;		/* -2: not read yet; -1: always */
	static long ok;			/* calls that work before that */
	const char *s;
	char *end;

	if (real == NULL &&
	    (real = (pid_t (*)(void))dlsym(RTLD_NEXT, "fork")) == NULL)
		abort();
	if (left == -2) {
		left = 0;
		if ((s = getenv("FORKFAIL")) != NULL && strcmp(s, "always") == 0)
			left = -1;
		else if (s != NULL && strncmp(s, "always-after-", 13) == 0) {
			errno = 0;
			ok = strtol(s + 13, &end, 10);
			if (errno == 0 && end != s + 13 && *end == '\0' &&
			    ok >= 0)
				left = -1;
			else
				ok = 0;
		} else if (s != NULL) {
			errno = 0;
			left = strtol(s, &end, 10);
			if (errno != 0 || end == s || *end != '\0' || left < 0)
				left = 0;
		}
	}
	if (left == 0)
		return real();
	if (ok > 0) {
		ok--;
		return real();
	}
	if (left > 0)
		left--;
	errno = EAGAIN;
	return -1;
}
