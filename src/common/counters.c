/* counters.c: see counters.h. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "fsutil.h"

static const char magic[16] = "smshook-cnt-1\n";

/*
 * A page whose file was cut short faults (SIGBUS) when touched, until
 * counters_fresh sees it. counters_add arms bus_jmp around its touches
 * and on_bus jumps back there, so that such a fault loses a count, not
 * the process; a SIGBUS anywhere else is let take its default action.
 */
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void
on_bus(int sig)
{
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	signal(sig, SIG_DFL);	/* returning faults again, now fatally */
}

/* Install on_bus (at each mapping: rare, and nothing else may own it). */
static int
catch_bus(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bus;
	sa.sa_flags = SA_NODEFER;	/* left by a jump, not a return */
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL);
}

const struct counter_def counter_defs[NCOUNTERS] = {
	[CNT_SUCCESS] = { 200, "success" },
	[CNT_DUPLICATE] = { 200, "duplicate" },
	[CNT_PING] = { 200, "ping" },
	[CNT_400_BODY] = { 400, "body" },
	[CNT_400_JSON] = { 400, "json" },
	[CNT_400_FIELD] = { 400, "field" },
	[CNT_400_SIGNED] = { 400, "signed_fields" },
	[CNT_401] = { 401, "signature" },
	[CNT_403_CLIENT] = { 403, "client" },
	[CNT_403_CLOCK] = { 403, "clock" },
	[CNT_405] = { 405, "method" },
	[CNT_413] = { 413, "size" },
	[CNT_415] = { 415, "content_type" },
	[CNT_500] = { 500, "internal" },
	[CNT_503] = { 503, "spool" },
};

/* Give a new (empty) file its layout; 0 or -1. */
static int
init_page(int fd)
{
	struct counters_page p;
	struct timespec ts;

	memset(&p, 0, sizeof(p));
	memcpy(p.magic, magic, sizeof(magic));
	clock_gettime(CLOCK_REALTIME, &ts);
	p.created_ms = (uint64_t)ts.tv_sec * 1000 +
	    (uint64_t)ts.tv_nsec / 1000000;
	return pwrite(fd, &p, sizeof(p), 0) == (ssize_t)sizeof(p) ? 0 : -1;
}

/*
 * Open path's page, creating it if create; fd or -1 with errno, its
 * stat in *st (the size counting a page just written). Anything but a
 * regular file is EINVAL.
 */
static int
open_page(const char *path, int create, struct stat *st)
{
	int fd;

	if ((fd = open(path, (create ? O_RDWR | O_CREAT : O_RDONLY) |
	    O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640)) == -1)
		return -1;
	if (!fs_regular(fd, st))
		goto fail;
	/* two creators at once: the lock makes one of them write it */
	if (create && st->st_size < (off_t)sizeof(struct counters_page)) {
		if (lockf(fd, F_LOCK, 0) == -1)
			goto fail;
		if (fstat(fd, st) == -1 || (st->st_size == 0 &&
		    init_page(fd) == -1)) {
			lockf(fd, F_ULOCK, 0);
			goto fail;
		}
		lockf(fd, F_ULOCK, 0);
		if (st->st_size == 0)
			st->st_size = sizeof(struct counters_page);
	}
	return fd;
 fail:
	close(fd);
	return -1;
}

int
counters_open(struct counters *c, const char *dir, long long now_ms)
{
	char path[PATH_MAX];
	struct stat st;
	void *m = MAP_FAILED;
	int fd, saved;

	counters_close(c);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    COUNTERS_FILE) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (catch_bus() == -1 || (fd = open_page(path, 1, &st)) == -1)
		return -1;
	/* a page shorter than ours would fault when touched */
	if (st.st_size < (off_t)sizeof(*c->page)) {
		errno = EINVAL;
		goto fail;
	}
	m = mmap(NULL, sizeof(struct counters_page), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto fail;
	if (memcmp(m, magic, sizeof(magic)) != 0) {
		errno = EINVAL;		/* not ours: leave it alone */
		goto fail;
	}
	c->page = m;
	fs_kept_set(&c->file, fd, &st, path);
	c->file.checked_ms = now_ms;
	return 0;
 fail:
	saved = errno;
	if (m != MAP_FAILED)
		munmap(m, sizeof(struct counters_page));
	close(fd);
	errno = saved;
	return -1;
}

int
counters_fresh(struct counters *c, long long now_ms)
{
	if (c->page == NULL)
		return 0;
	if (fs_kept_fresh(&c->file, now_ms, COUNTERS_RECHECK_MS,
	    (off_t)sizeof(*c->page), -1))
		return 1;
	counters_close(c);	/* cut, removed or replaced: map it anew */
	return 0;
}

void
counters_close(struct counters *c)
{
	if (c->page != NULL)
		munmap(c->page, sizeof(*c->page));
	c->page = NULL;
	fs_kept_drop(&c->file);
}

void
counters_add(struct counters *c, enum counter k, uint64_t bytes, uint64_t ms)
{
	if (c->page == NULL)
		return;
	if (sigsetjmp(bus_jmp, 0) != 0) {
		bus_armed = 0;
		counters_close(c);	/* its file was cut short: let go */
		return;
	}
	bus_armed = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);	/* no touch before */
	__atomic_fetch_add(&c->page->n[k], 1, __ATOMIC_RELAXED);
	if (bytes > 0) {
		__atomic_fetch_add(&c->page->stored_bytes, bytes,
		    __ATOMIC_RELAXED);
		__atomic_store_n(&c->page->last_stored_ms, ms,
		    __ATOMIC_RELAXED);
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);	/* nor after */
	bus_armed = 0;
}

int
counters_read(const char *dir, struct counters_page *out)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc = -1;

	memset(out, 0, sizeof(*out));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    COUNTERS_FILE) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open_page(path, 0, &st)) == -1)
		return -1;
	if (st.st_size == 0) {		/* made, not yet filled: none yet */
		close(fd);
		errno = ENOENT;
		return -1;
	}
	if (pread(fd, out, sizeof(*out), 0) != (ssize_t)sizeof(*out) ||
	    memcmp(out->magic, magic, sizeof(magic)) != 0) {
		memset(out, 0, sizeof(*out));	/* nothing of a foreign file */
		errno = EINVAL;
	} else
		rc = 0;
	close(fd);
	return rc;
}
