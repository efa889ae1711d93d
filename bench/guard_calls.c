/*
 * guard_calls.c: what the system calls behind smshook's promises cost on
 * this machine, with no request around them. Per iteration it makes the
 * calls a FastCGI worker makes per stored event beyond what the
 * hello-world responder makes (see BENCHMARKS.md, "The floor"), in the
 * same order, on a spool laid out as smshook lays it out in dir:
 *
 *   statx .replay                     the kept token table is still the file
 *   fcntl F_OFD_SETLKW, pread         lock and read the token's bucket
 *   flock LOCK_EX, statx day file     lock the day file, still linked there
 *   pread 1 byte                      no torn tail to glue the line to
 *   write line                        the line itself
 *   flock LOCK_UN
 *   pwrite, fcntl F_OFD_SETLK unlock  record the token, let its bucket go
 *
 * Both files are opened as the receiver opens them (O_NOATIME, no
 * read-ahead on the table), and asked, as the receiver asks, for no time
 * stamps. -n leaves out the table's five calls (replay_window = 0); -t
 * leaves out the tail read, to price what skipping it would save; -s
 * asks stat(2) instead, time stamps and all, as the receiver did before.
 * Prints the CPU time (user + system, as the harness counts a worker's)
 * per iteration:
 *   guard_calls [-nst] [-i iterations] [-b bytes] dir
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TABLE_SIZE	(64 + 65536LL * 512)	/* header + buckets */
#define BUCKET		512

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: guard_calls [-nst] [-i iterations] [-b bytes] "
	    "dir\n");
	exit(2);
}

#include "benchutil.h"

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "guard_calls: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * Open as the receiver does (fs_open_noatime): without access-time
 * updates, plainly where the kernel refuses that.
 */
static int
open_noatime(const char *path, int flags)
{
	int fd;

	if ((fd = open(path, flags | O_NOATIME, 0640)) == -1 &&
	    errno == EPERM)
		fd = open(path, flags, 0640);
	return fd;
}

/* Lock (F_WRLCK, waiting) or unlock (F_UNLCK) a bucket's bytes. */
static int plain_stat;		/* -s */

/* The size of the file at path, asked as the receiver asks; -1 on error. */
static off_t
size_of(const char *path)
{
	struct statx sx;
	struct stat st;

	if (plain_stat)
		return stat(path, &st) == -1 ? -1 : st.st_size;
	if (statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_MODE | STATX_INO |
	    STATX_SIZE, &sx) == -1)
		return -1;
	return (off_t)sx.stx_size;
}

static void
bucket_lock(int fd, off_t off, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = off;
	fl.l_len = BUCKET;
	if (fcntl(fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW, &fl) == -1)
		die("fcntl");
}

int
main(int argc, char *argv[])
{
	char table[PATH_MAX], day[PATH_MAX], line[4096], bucket[BUCKET],
	    tail;
	uint64_t x = 88172645463325252ULL;
	long i, iters = 100000;
	size_t bytes = 586;
	off_t size;
	int c, notable = 0, notail = 0, tfd = -1, dfd;
	double t0;
	off_t off;

	while ((c = getopt(argc, argv, "nstb:i:")) != -1)
		switch (c) {
		case 'n':
			notable = 1;
			break;
		case 's':
			plain_stat = 1;
			break;
		case 't':
			notail = 1;
			break;
		case 'b':
			bytes = (size_t)number(optarg, 2, sizeof(line));
			break;
		case 'i':
			iters = number(optarg, 1, 100000000);
			break;
		default:
			usage();
		}
	if (argc - optind != 1)
		usage();
	if ((size_t)snprintf(table, sizeof(table), "%s/.replay",
	    argv[optind]) >= sizeof(table) ||
	    (size_t)snprintf(day, sizeof(day), "%s/2000-01-01.jsonl",
	    argv[optind]) >= sizeof(day))
		usage();
	memset(line, 'x', bytes - 1);
	line[bytes - 1] = '\n';
	if (!notable) {
		if ((tfd = open_noatime(table, O_RDWR | O_CREAT | O_TRUNC |
		    O_CLOEXEC)) == -1 || write(tfd, "SMSHKRP1", 8) != 8 ||
		    ftruncate(tfd, TABLE_SIZE) == -1)
			die(table);
		(void)posix_fadvise(tfd, 0, 0, POSIX_FADV_RANDOM);
	}
	if ((dfd = open_noatime(day, O_RDWR | O_APPEND | O_CREAT | O_TRUNC |
	    O_CLOEXEC)) == -1 || write(dfd, line, bytes) != (ssize_t)bytes)
		die(day);
	t0 = cpu_us();
	for (i = 0; i < iters; i++) {
		x ^= x << 13;		/* xorshift64: the token's bucket */
		x ^= x >> 7;
		x ^= x << 17;
		off = 64 + (off_t)(x % 65536) * BUCKET;
		if (!notable) {
			if (size_of(table) == -1)
				die("stat");
			bucket_lock(tfd, off, F_WRLCK);
			if (pread(tfd, bucket, sizeof(bucket), off) !=
			    (ssize_t)sizeof(bucket))
				die("pread");
		}
		if (flock(dfd, LOCK_EX) == -1 || (size = size_of(day)) == -1 ||
		    (!notail && pread(dfd, &tail, 1, size - 1) != 1) ||
		    write(dfd, line, bytes) != (ssize_t)bytes ||
		    flock(dfd, LOCK_UN) == -1)
			die(day);
		if (!notable) {
			if (pwrite(tfd, bucket, 32, off) != 32)
				die("pwrite");
			bucket_lock(tfd, off, F_UNLCK);
		}
	}
	printf("RESULT us_per_event=%.2f iterations=%ld table=%s tail=%s "
	    "stat=%s\n", (cpu_us() - t0) / (double)iters, iters,
	    notable ? "no" : "yes", notail ? "no" : "yes",
	    plain_stat ? "stat" : "statx");
	unlink(day);
	if (!notable)
		unlink(table);
	return 0;
}
