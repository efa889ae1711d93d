/*
 * fsync_loop.c: the disk's limit for a synced spool. P processes append
 * one line each time to the same file (O_APPEND) and fdatasync it, for S
 * seconds; prints the total lines per second. -l takes an exclusive flock
 * around write + fdatasync, as smshook's spool does; -w takes it around
 * the write only and syncs after unlocking (lets syncs of several writers
 * share one journal commit).
 *   fsync_loop [-lw] [-p procs] [-t seconds] [-b bytes] file
 */
#include <sys/file.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: fsync_loop [-lw] [-p procs] [-t seconds] "
	    "[-b bytes] file\n");
	exit(2);
}

#include "benchutil.h"

/*
 * One writer: append + fdatasync until the deadline; lines written.
 * lock: 0 none, 1 around write + sync, 2 around the write only.
 */
static long
writer(const char *path, int lock, size_t bytes, double until)
{
	char line[4096];
	long n = 0;
	int fd;

	memset(line, 'x', bytes - 1);
	line[bytes - 1] = '\n';
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0640)) == -1) {
		perror(path);
		return -1;
	}
	while (now() < until) {
		if (lock && flock(fd, LOCK_EX) == -1)
			break;
		if (write(fd, line, bytes) != (ssize_t)bytes) {
			perror("write");
			n = -1;
			break;
		}
		if (lock == 2)
			flock(fd, LOCK_UN);
		if (fdatasync(fd) == -1) {
			perror("fdatasync");
			n = -1;
			break;
		}
		if (lock == 1)
			flock(fd, LOCK_UN);
		n++;
	}
	close(fd);
	return n;
}

int
main(int argc, char *argv[])
{
	int ch, i, lock = 0, p[2], status;
	long procs = 2, secs = 5, bytes = 450, total = 0, got;
	double start, until;
	pid_t pid;

	while ((ch = getopt(argc, argv, "lwp:t:b:")) != -1) {
		switch (ch) {
		case 'l':
			lock = 1;
			break;
		case 'w':
			lock = 2;
			break;
		case 'p':
			procs = number(optarg, 1, 256);
			break;
		case 't':
			secs = number(optarg, 1, 3600);
			break;
		case 'b':
			bytes = number(optarg, 2, 4096);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || pipe(p) == -1)
		usage();
	start = now();
	until = start + (double)secs;
	for (i = 0; i < procs; i++) {
		if ((pid = fork()) == -1) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			got = writer(argv[optind], lock, (size_t)bytes, until);
			_exit(write(p[1], &got, sizeof(got)) == sizeof(got) ?
			    0 : 1);
		}
	}
	close(p[1]);
	for (i = 0; i < procs; i++) {
		if (read(p[0], &got, sizeof(got)) != sizeof(got) || got < 0)
			return 1;
		total += got;
	}
	while (wait(&status) > 0)
		;
	printf("lines=%ld seconds=%.3f rate=%.1f\n", total, now() - start,
	    (double)total / (now() - start));
	return 0;
}
