/*
 * guard_calls.c: what the system calls behind smshook's promises cost on
 * this machine, with no request around them. Per iteration it makes the
 * calls a FastCGI worker makes per stored event beyond what the
 * hello-world responder makes (see BENCHMARKS.md, "The floor"), in the
 * same order, on a spool laid out as smshook lays it out in dir:
 *
 *   fcntl F_OFD_SETLKW, pread         lock and read the token's bucket
 *   flock LOCK_EX, statx day file     lock the day file, still linked there
 *   pread 1 byte                      no torn tail to glue the line to
 *   write line                        the line itself
 *   flock LOCK_UN
 *   pwrite, fcntl F_OFD_SETLK unlock  record the token, let its bucket go
 *
 * The receiver checks the kept table's path (one statx) at most once a
 * second, so not in this loop. Both files are opened as the receiver
 * opens them (O_NOATIME, no read-ahead on the table), and asked, as the
 * receiver asks, for no time stamps. -n leaves out the table's four
 * calls (replay_window = 0); -t leaves out the tail read, to price what
 * skipping it would save; -s
 * asks stat(2) instead, time stamps and all, as the receiver did before.
 * Prints the CPU time (user + system, as the harness counts a worker's)
 * per iteration. -p prices each call alone instead, in a loop of its
 * own, beside a call that does nothing (getppid: the price of entering
 * the kernel) and a non-blocking read of an empty inotify descriptor
 * watching dir (what one check for removed files would cost instead of
 * a statx):
 *   guard_calls [-nstp] [-i iterations] [-b bytes] dir
 */
#include <sys/file.h>
#include <sys/inotify.h>
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
	fprintf(stderr, "usage: guard_calls [-nstp] [-i iterations] [-b bytes] "
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

/* The next token's bucket offset (xorshift64 over *x). */
static off_t
next_bucket(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return 64 + (off_t)(*x % 65536) * BUCKET;
}

/* What one priced call works on. */
struct price_ctx {
	const char	*table, *day, *line;
	size_t		 bytes;
	int		 tfd, dfd, ifd;
	uint64_t	 x;
	char		 bucket[BUCKET];
};

static int
p_null(struct price_ctx *c)
{
	(void)c;
	return getppid() > 0 ? 0 : -1;
}

static int
p_table_statx(struct price_ctx *c)
{
	return size_of(c->table) == -1 ? -1 : 0;
}

static int
p_bucket_lock(struct price_ctx *c)
{
	off_t off = next_bucket(&c->x);

	bucket_lock(c->tfd, off, F_WRLCK);
	bucket_lock(c->tfd, off, F_UNLCK);
	return 0;
}

static int
p_bucket_read(struct price_ctx *c)
{
	return pread(c->tfd, c->bucket, BUCKET, next_bucket(&c->x)) ==
	    BUCKET ? 0 : -1;
}

static int
p_slot_write(struct price_ctx *c)
{
	return pwrite(c->tfd, c->bucket, 32, next_bucket(&c->x)) == 32 ?
	    0 : -1;
}

static int
p_day_flock(struct price_ctx *c)
{
	return flock(c->dfd, LOCK_EX) == 0 && flock(c->dfd, LOCK_UN) == 0 ?
	    0 : -1;
}

static int
p_day_statx(struct price_ctx *c)
{
	return size_of(c->day) == -1 ? -1 : 0;
}

static int
p_tail_read(struct price_ctx *c)
{
	char tail;

	return pread(c->dfd, &tail, 1, (off_t)c->bytes - 1) == 1 ? 0 : -1;
}

static int
p_append(struct price_ctx *c)
{
	return write(c->dfd, c->line, c->bytes) == (ssize_t)c->bytes ? 0 : -1;
}

static int
p_inotify(struct price_ctx *c)
{
	char ev[4096];

	return read(c->ifd, ev, sizeof(ev)) == -1 && errno == EAGAIN ? 0 : -1;
}

static const struct {
	const char	 *name;
	int		(*call)(struct price_ctx *);
	int		  calls;
} prices[] = {
	{ "getppid",			p_null,		1 },
	{ "statx_table",		p_table_statx,	1 },
	{ "bucket_lock_unlock",		p_bucket_lock,	2 },
	{ "pread_bucket",		p_bucket_read,	1 },
	{ "pwrite_slot",		p_slot_write,	1 },
	{ "flock_unlock_day",		p_day_flock,	2 },
	{ "statx_day",			p_day_statx,	1 },
	{ "pread_tail",			p_tail_read,	1 },
	{ "write_line",			p_append,	1 },
	{ "read_inotify_empty",		p_inotify,	1 },
};

/* -p: each call of the guard alone, iters times; prints µs per call. */
static void
price_each(const char *table, const char *day, const char *dir,
    const char *line, size_t bytes, int tfd, int dfd, long iters)
{
	struct price_ctx c = { .table = table, .day = day, .line = line,
	    .bytes = bytes, .tfd = tfd, .dfd = dfd,
	    .x = 88172645463325252ULL };
	size_t k;
	long i;
	double t0;

	if ((c.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(c.ifd, dir, IN_DELETE | IN_MOVED_FROM |
	    IN_MOVE_SELF | IN_DELETE_SELF) == -1)
		die("inotify");
	printf("RESULT iterations=%ld", iters);
	for (k = 0; k < sizeof(prices) / sizeof(prices[0]); k++) {
		t0 = cpu_us();
		for (i = 0; i < iters; i++)
			if (prices[k].call(&c) == -1)
				die(prices[k].name);
		printf(" %s_us=%.2f", prices[k].name,
		    (cpu_us() - t0) / (double)iters / prices[k].calls);
	}
	printf("\n");
	close(c.ifd);
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
	int c, notable = 0, notail = 0, price = 0, tfd = -1, dfd;
	double t0;
	off_t off;

	while ((c = getopt(argc, argv, "nstpb:i:")) != -1)
		switch (c) {
		case 'n':
			notable = 1;
			break;
		case 'p':
			price = 1;
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
	if (argc - optind != 1 || (price && notable))
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
	if (price) {
		price_each(table, day, argv[optind], line, bytes, tfd, dfd,
		    iters);
		goto out;
	}
	t0 = cpu_us();
	for (i = 0; i < iters; i++) {
		off = next_bucket(&x);
		if (!notable) {
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
 out:
	unlink(day);
	if (!notable)
		unlink(table);
	return 0;
}
