/*
 * fsync_loop.c: what the disk gives a synced spool with P writers. P
 * processes append one line each time to the same file (O_APPEND) and
 * fdatasync it, for S seconds; prints the total lines per second (more
 * writers give more: one sync can carry others' lines). -l takes an
 * exclusive flock around write + fdatasync, as smshook's spool did before
 * group commit; -w takes it around the write only and syncs after
 * unlocking (a sync may then carry several writers' lines, as the spool's
 * does now). -g is explicit group commit at its cheapest:
 * flock around the write, then under a second lock a writer syncs only if
 * no sync that began after its write has succeeded (the synced length is
 * kept in memory all writers share); it prints the syncs made too.
 *   fsync_loop [-glw] [-p procs] [-t seconds] [-b bytes] file
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
	fprintf(stderr, "usage: fsync_loop [-glw] [-p procs] [-t seconds] "
	    "[-b bytes] file\n");
	exit(2);
}

#include "benchutil.h"

/* -g: the length every writer knows synced, and the syncs made. */
struct shared {
	off_t	synced;
	long	syncs;
};

/*
 * -g: make the line ending at end durable under the sync lock sfd,
 * syncing only if no sync that began after it was written covered it.
 */
static int
group_sync(int fd, int sfd, off_t end, struct shared *sh)
{
	struct stat st;
	int rc = 0;

	if (flock(sfd, LOCK_EX) == -1)
		return -1;
	if (sh->synced < end) {
		if (fstat(fd, &st) == -1 || fdatasync(fd) == -1)
			rc = -1;
		else {
			sh->synced = st.st_size;
			sh->syncs++;
		}
	}
	flock(sfd, LOCK_UN);
	return rc;
}

/*
 * One writer: append + fdatasync until the deadline; lines written.
 * lock: 0 none, 1 around write + sync, 2 around the write only, 3 as 2
 * with group_sync (sh, sync lock file spath).
 */
static long
writer(const char *path, int lock, size_t bytes, double until,
    struct shared *sh, const char *spath)
{
	char line[4096];
	long n = 0;
	off_t end = 0;
	int fd, sfd = -1;

	memset(line, 'x', bytes - 1);
	line[bytes - 1] = '\n';
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0640)) == -1) {
		perror(path);
		return -1;
	}
	if (lock == 3 && (sfd = open(spath, O_RDWR | O_CREAT, 0640)) == -1) {
		perror(spath);
		close(fd);
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
		if (lock == 3 && (end = lseek(fd, 0, SEEK_CUR)) == -1) {
			perror("lseek");
			n = -1;
			break;
		}
		if (lock >= 2)
			flock(fd, LOCK_UN);
		if (lock == 3 ? group_sync(fd, sfd, end, sh) == -1 :
		    fdatasync(fd) == -1) {
			perror("fdatasync");
			n = -1;
			break;
		}
		if (lock == 1)
			flock(fd, LOCK_UN);
		n++;
	}
	if (sfd != -1)
		close(sfd);
	close(fd);
	return n;
}

int
main(int argc, char *argv[])
{
	int ch, i, lock = 0, p[2], status;
	long procs = 2, secs = 5, bytes = 450, total = 0, got;
	double start, until;
	struct shared *sh;
	char spath[PATH_MAX];
	pid_t pid;

	while ((ch = getopt(argc, argv, "glwp:t:b:")) != -1) {
		switch (ch) {
		case 'g':
			lock = 3;
			break;
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
	if ((size_t)snprintf(spath, sizeof(spath), "%s.sync", argv[optind]) >=
	    sizeof(spath))
		usage();
	if ((sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(sh, 0, sizeof(*sh));
	start = now();
	until = start + (double)secs;
	for (i = 0; i < procs; i++) {
		if ((pid = fork()) == -1) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			got = writer(argv[optind], lock, (size_t)bytes, until,
			    sh, spath);
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
	printf("lines=%ld seconds=%.3f rate=%.1f", total, now() - start,
	    (double)total / (now() - start));
	if (lock == 3)
		printf(" syncs=%ld", sh->syncs);
	printf("\n");
	if (lock == 3)
		unlink(spath);
	return 0;
}
