/*
 * acceptfail.c: LD_PRELOAD shim making accept(2) fail as when
 * descriptors or memory run short (tests/reliability/test_worker_start.py).
 * $ACCEPTFAIL is a comma-separated list of errno numbers: the first calls
 * fail with them, one each, in order; then every call goes straight
 * through. Unset or malformed, no call fails.
 */
#include <sys/socket.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

int	accept(int, struct sockaddr *, socklen_t *);

/* The errno the next call fails with: 0 once the list is used up. */
static int
next_errno(void)
{
	static const char *left;
	static int read;
	char *end;
	long e;

	if (!read) {
		read = 1;
		left = getenv("ACCEPTFAIL");
	}
	if (left == NULL || *left == '\0')
		return 0;
	e = strtol(left, &end, 10);
	if (end == left || e <= 0 || e > 4095 ||
	    (*end != ',' && *end != '\0')) {
		left = NULL;
		return 0;
	}
	left = *end == ',' ? end + 1 : end;
	return (int)e;
}

int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);
	int e;

	if (real == NULL && (real = (int (*)(int, struct sockaddr *,
	    socklen_t *))dlsym(RTLD_NEXT, "accept")) == NULL)
		abort();
	if ((e = next_errno()) != 0) {
		errno = e;
		return -1;
	}
	return real(fd, sa, len);
}
