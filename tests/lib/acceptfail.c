/*
 * acceptfail.c: LD_PRELOAD shim making accept(2) fail as when
 * descriptors or memory run short, and poll(2) fail outright
 * (tests/reliability/test_worker_start.py). $ACCEPTFAIL and $POLLFAIL
 * are comma-separated lists of errno numbers: the first calls fail with
 * them, one each, in order; then every call goes straight through.
 * Unset or malformed, no call fails.
 */
#include <sys/socket.h>

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

int	accept(int, struct sockaddr *, socklen_t *);
int	poll(struct pollfd *, nfds_t, int);

/* A list read from the environment, and what is left of it. */
struct fails {
	const char	*name;
	const char	*left;
	int		 read;
};

static struct fails accept_fails = { "ACCEPTFAIL", NULL, 0 };
static struct fails poll_fails = { "POLLFAIL", NULL, 0 };

/* The errno the next call fails with: 0 once the list is used up. */
static int
next_errno(struct fails *f)
{
	char *end;
	long e;

	if (!f->read) {
		f->read = 1;
		f->left = getenv(f->name);
	}
	if (f->left == NULL || *f->left == '\0')
		return 0;
	e = strtol(f->left, &end, 10);
	if (end == f->left || e <= 0 || e > 4095 ||
	    (*end != ',' && *end != '\0')) {
		f->left = NULL;
		return 0;
	}
	f->left = *end == ',' ? end + 1 : end;
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
	if ((e = next_errno(&accept_fails)) != 0) {
		errno = e;
		return -1;
	}
	return real(fd, sa, len);
}

int
poll(struct pollfd *fds, nfds_t n, int ms)
{
	static int (*real)(struct pollfd *, nfds_t, int);
	int e;

	if (real == NULL && (real = (int (*)(struct pollfd *, nfds_t,
	    int))dlsym(RTLD_NEXT, "poll")) == NULL)
		abort();
	if ((e = next_errno(&poll_fails)) != 0) {
		errno = e;
		return -1;
	}
	return real(fds, n, ms);
}
