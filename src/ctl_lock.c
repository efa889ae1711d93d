/* ctl_lock.c: one smshookctl at a time per spool (import, compress, purge). */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define LOCK_NAME	".smshookctl.lock"
#define LOCK_WAIT_MS	5000
#define LOCK_STEP_MS	100

int
ctl_lock(struct ctl *c)
{
	struct timespec step = { 0, LOCK_STEP_MS * 1000000L };
	char path[PATH_MAX];
	int fd = -1, waited;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->conf.spool_dir,
	    LOCK_NAME) >= sizeof(path)) {
		fprintf(stderr, "smshookctl: %s: path too long\n",
		    c->conf.spool_dir);
		goto fail;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0640)) == -1) {
		fprintf(stderr, "smshookctl: %s: %s\n", path, strerror(errno));
		goto fail;
	}
	for (waited = 0; flock(fd, LOCK_EX | LOCK_NB) == -1;
	    waited += LOCK_STEP_MS) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			fprintf(stderr, "smshookctl: lock %s: %s\n", path,
			    strerror(errno));
			goto fail;
		}
		if (waited >= LOCK_WAIT_MS) {
			fprintf(stderr, "smshookctl: another smshookctl is "
			    "running (%s is locked)\n", path);
			goto fail;
		}
		nanosleep(&step, NULL);
	}
	return fd;
 fail:
	if (fd != -1)
		close(fd);
	return -1;
}
