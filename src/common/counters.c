/* counters.c: see counters.h. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "fsutil.h"

static const char magic[16] = "smshook-cnt-1\n";

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
 * size in *size unless size is NULL. Anything but a regular file is
 * EINVAL.
 */
static int
open_page(const char *path, int create, off_t *size)
{
	struct stat st;
	int fd;

	if ((fd = open(path, (create ? O_RDWR | O_CREAT : O_RDONLY) |
	    O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640)) == -1)
		return -1;
	if (!fs_regular(fd, &st))
		goto fail;
	/* two creators at once: the lock makes one of them write it */
	if (create && st.st_size < (off_t)sizeof(struct counters_page)) {
		if (lockf(fd, F_LOCK, 0) == -1)
			goto fail;
		if (fstat(fd, &st) == -1 || (st.st_size == 0 &&
		    init_page(fd) == -1)) {
			lockf(fd, F_ULOCK, 0);
			goto fail;
		}
		lockf(fd, F_ULOCK, 0);
		if (st.st_size == 0)
			st.st_size = sizeof(struct counters_page);
	}
	if (size != NULL)
		*size = st.st_size;
	return fd;
 fail:
	close(fd);
	return -1;
}

int
counters_open(struct counters *c, const char *dir)
{
	char path[PATH_MAX];
	off_t size;
	void *m;
	int fd;

	counters_close(c);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    COUNTERS_FILE) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open_page(path, 1, &size)) == -1)
		return -1;
	/* a page shorter than ours would fault when touched */
	if (size < (off_t)sizeof(*c->page)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	m = mmap(NULL, sizeof(struct counters_page), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	if (memcmp(m, magic, sizeof(magic)) != 0) {
		munmap(m, sizeof(struct counters_page));
		errno = EINVAL;		/* not ours: leave it alone */
		return -1;
	}
	c->page = m;
	return 0;
}

void
counters_close(struct counters *c)
{
	if (c->page != NULL)
		munmap(c->page, sizeof(*c->page));
	c->page = NULL;
}

void
counters_add(struct counters *c, enum counter k, uint64_t bytes, uint64_t ms)
{
	if (c->page == NULL)
		return;
	__atomic_fetch_add(&c->page->n[k], 1, __ATOMIC_RELAXED);
	if (bytes > 0) {
		__atomic_fetch_add(&c->page->stored_bytes, bytes,
		    __ATOMIC_RELAXED);
		__atomic_store_n(&c->page->last_stored_ms, ms,
		    __ATOMIC_RELAXED);
	}
}

int
counters_read(const char *dir, struct counters_page *out)
{
	char path[PATH_MAX];
	int fd, rc = -1;

	memset(out, 0, sizeof(*out));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    COUNTERS_FILE) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open_page(path, 0, NULL)) == -1)
		return -1;
	if (pread(fd, out, sizeof(*out), 0) != (ssize_t)sizeof(*out) ||
	    memcmp(out->magic, magic, sizeof(magic)) != 0) {
		memset(out, 0, sizeof(*out));	/* nothing of a foreign file */
		errno = EINVAL;
	} else
		rc = 0;
	close(fd);
	return rc;
}
