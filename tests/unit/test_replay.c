/*
 * test_replay.c: the on-disk token table. Creation, memory within the
 * window and not after it, independence of tokens, recovery from a
 * foreign or damaged file, many processes at once, a full bucket; the
 * bucket locks (a second copy of a token in flight waits for the first,
 * other buckets do not, a killed holder lets go); a header that cannot
 * be read is a failure, not a foreign table.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/evp.h>

#include "replay.h"
#include "testutil.h"

#include "mallocfail.h"

#define TABLE_SIZE	(64LL + 65536LL * 16 * 32)
#define NOW		1764174582123LL		/* 2025-11-26, in ms */
#define WINDOW		1296000LL		/* 15 days, in s */
#define NPROC		4
#define NTOKENS		150

struct fixture {
	char	dir[64];
	char	table[96];
};

static pid_t kid;	/* a child a failed test left running */

/*
 * pread of this test program, in front of the C library's: while
 * header_fails is set, a read of a table's header (64 bytes at offset
 * 0) fails with EIO.
 */
static int header_fails;

ssize_t
pread(int fd, void *buf, size_t n, off_t off)
{
	if (header_fails && off == 0 && n == 64) {
		errno = EIO;
		return -1;
	}
	return (ssize_t)syscall(SYS_pread64, fd, buf, n, off);
}

/*
 * fcntl of this test program, in front of the C library's: the next
 * lock_fails waits for a bucket lock (F_OFD_SETLKW) fail with ENOLCK.
 */
static int lock_fails;

int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);	/* as the C library reads it */
	va_end(ap);
	if (cmd == F_OFD_SETLKW && lock_fails > 0) {
		lock_fails--;
		errno = ENOLCK;
		return -1;
	}
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

/*
 * time of this test program, in front of the C library's: fixed_time
 * when it is not 0 (the name a damaged table is set aside under).
 */
static time_t fixed_time;

time_t
time(time_t *t)
{
	struct timespec ts;
	time_t now;

	if (fixed_time != 0)
		now = fixed_time;
	else {
		clock_gettime(CLOCK_REALTIME, &ts);
		now = ts.tv_sec;
	}
	if (t != NULL)
		*t = now;
	return now;
}

static pid_t	spawn(void);
static void	reap(pid_t);

static int
setup(void **state)
{
	struct fixture *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_replay.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->table, sizeof(f->table), "%s/%s", f->dir, REPLAY_FILE);
	umask(027);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (kid > 0) {
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
		kid = 0;
	}
	test_rmtree(f->dir);
	free(f);
	return 0;
}

/* Open the table as a request at at_ms would. */
static void
lock_at(const struct fixture *f, struct replay *r, long long window_s,
    long long at_ms)
{
	char err[512] = "";

	if (replay_open(r, f->dir, window_s, at_ms, err, sizeof(err)) != 0)
		fail_msg("replay_open: %s", err);
	assert_true(r->fd >= 0);
}

static void
lock(const struct fixture *f, struct replay *r, long long window_s)
{
	lock_at(f, r, window_s, NOW);
}

/* How many names in dir start with prefix. */
static int
count_prefix(const char *dir, const char *prefix)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void
test_create(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	struct stat st;
	char other[128];
	int fd;

	/* what a process of our pid in another PID namespace is making */
	snprintf(other, sizeof(other), "%s.%ld", f->table, (long)getpid());
	assert_true((fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	close(fd);
	assert_int_equal(stat(f->table, &st), -1);
	lock(f, &r, WINDOW);
	assert_int_equal(stat(f->table, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_true(st.st_size == TABLE_SIZE);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(replay_seen(&r, "never-added", NOW), 0);
	replay_close(&r);
	assert_int_equal(r.fd, -1);
	replay_close(&r);		/* twice is harmless */
	/* no temporary of its own left behind, the other's left alone */
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(unlink(other), 0);
	assert_int_equal(count_prefix(f->dir, ".replay."), 0);
	assert_int_equal(count_prefix(f->dir, ".replay"), 1);
}

static void
test_seen_and_window(void **state)
{
	const struct fixture *f = *state;
	struct replay r;

	lock(f, &r, 10);		/* 10 s window */
	assert_int_equal(replay_seen(&r, "tok-a", NOW), 0);
	assert_int_equal(replay_add(&r, "tok-a", NOW, 0), 0);
	assert_int_equal(replay_seen(&r, "tok-a", NOW), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + 9999), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + 10000), 0);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + 86400000), 0);
	/* others are independent, including near-identical ones */
	assert_int_equal(replay_seen(&r, "tok-b", NOW), 0);
	assert_int_equal(replay_seen(&r, "tok-a ", NOW), 0);
	assert_int_equal(replay_seen(&r, "Tok-a", NOW), 0);
	assert_int_equal(replay_add(&r, "tok-b", NOW + 5000, 0), 0);
	assert_int_equal(replay_seen(&r, "tok-b", NOW + 14999), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + 14999), 0);
	replay_close(&r);

	/* remembered across opens, and by the window of the new opener */
	lock(f, &r, WINDOW);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + 86400000), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + WINDOW * 1000 - 1), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + WINDOW * 1000), 0);
	/* an expired token can be accepted again */
	assert_int_equal(replay_add(&r, "tok-a", NOW + WINDOW * 1000, 0), 0);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + WINDOW * 1000 + 1), 1);
	replay_close(&r);
}

/* A token longer than any the receiver accepts is refused, not hashed. */
static void
test_long_token(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	char tok[EVENT_TOKEN_MAX + 2];

	memset(tok, 'x', sizeof(tok) - 1);
	tok[sizeof(tok) - 1] = '\0';
	lock(f, &r, WINDOW);
	errno = 0;
	assert_int_equal(replay_seen(&r, tok, NOW), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(replay_add(&r, tok, NOW, 0), -1);
	tok[EVENT_TOKEN_MAX] = '\0';		/* the longest allowed */
	assert_int_equal(replay_seen(&r, tok, NOW), 0);
	assert_int_equal(replay_add(&r, tok, NOW, 0), 0);
	assert_int_equal(replay_seen(&r, tok, NOW + 1), 1);
	replay_close(&r);
}

/*
 * In a new process (so the table is opened anew): the damaged table was
 * replaced, "remembered" is forgotten and "fresh" is stored. Exit status
 * 0 when so.
 */
static void
child_replaced(const struct fixture *f)
{
	struct replay r;
	char err[512];

	if (replay_open(&r, f->dir, WINDOW, NOW, err, sizeof(err)) != 0)
		_exit(1);
	if (replay_seen(&r, "remembered", NOW + 1) != 0)
		_exit(2);
	if (replay_add(&r, "fresh", NOW, 0) != 0 ||
	    replay_seen(&r, "fresh", NOW + 1) != 1)
		_exit(3);
	replay_close(&r);
	_exit(0);
}

/*
 * A damaged table is set aside and replaced: a wrong size when a process
 * opens it, and by a worker that keeps it open at its next check (a
 * second after the last); a wrong header when a process opens it (a
 * worker holding it open goes on using its buckets). Requests from at_ms.
 */
static void
corrupt_and_check(const struct fixture *f, int how, long long at_ms)
{
	struct replay r;
	struct stat st;
	pid_t pid;
	int fd, bad;

	lock_at(f, &r, WINDOW, at_ms);
	assert_int_equal(replay_add(&r, "remembered", NOW, 0), 0);
	replay_close(&r);

	fd = open(f->table, O_RDWR);
	assert_true(fd != -1);
	if (how == 0)
		assert_int_equal(pwrite(fd, "NOTOURS!", 8, 0), 8);
	else if (how == 1)
		assert_int_equal(ftruncate(fd, 4096), 0);
	else
		assert_int_equal(ftruncate(fd, TABLE_SIZE + 1), 0);
	close(fd);

	bad = count_prefix(f->dir, ".replay.bad-");
	lock_at(f, &r, WINDOW, at_ms + 1000);
	if (how == 0) {
		/* this process has it open: the header is not read again */
		assert_int_equal(replay_seen(&r, "remembered", NOW + 1), 1);
		replay_close(&r);
		assert_int_equal(count_prefix(f->dir, ".replay.bad-"), bad);
		if ((pid = spawn()) == 0)
			child_replaced(f);
		assert_true(pid > 0);
		reap(pid);
	} else {
		assert_int_equal(replay_seen(&r, "remembered", NOW + 1), 0);
		assert_int_equal(replay_add(&r, "fresh", NOW, 0), 0);
		assert_int_equal(replay_seen(&r, "fresh", NOW + 1), 1);
		replay_close(&r);
	}
	assert_int_equal(stat(f->table, &st), 0);
	assert_true(st.st_size == TABLE_SIZE);
	/* the old one kept for a look, not deleted (same second: replaced) */
	assert_true(count_prefix(f->dir, ".replay.bad-") >= 1);
	assert_true(count_prefix(f->dir, ".replay.bad-") <= bad + 1);
	unlink(f->table);
}

static void
test_corrupt(void **state)
{
	const struct fixture *f = *state;

	corrupt_and_check(f, 0, NOW);		/* bad magic */
	corrupt_and_check(f, 1, NOW + 10000);	/* too short */
	corrupt_and_check(f, 2, NOW + 20000);	/* too long */
}

static void
test_not_a_table(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	int fd, i;

	/*
	 * an empty file where the table should be, three times over in one
	 * second: each is set aside under its own name
	 */
	fixed_time = 1700000000;
	for (i = 1; i <= 3; i++) {
		assert_true(unlink(f->table) == 0 || errno == ENOENT);
		fd = open(f->table, O_WRONLY | O_CREAT | O_EXCL, 0640);
		assert_true(fd != -1);
		close(fd);
		/* a second apart on the table's clock: the kept one rechecked */
		lock_at(f, &r, WINDOW, NOW + i * 1000);
		assert_int_equal(replay_add(&r, "x", NOW + i * 1000, 0), 0);
		replay_close(&r);
		assert_int_equal(count_prefix(f->dir, ".replay.bad-"), i);
	}
	fixed_time = 0;
}

static void
test_unusable_dir(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	char err[512] = "", dir[128];

	snprintf(dir, sizeof(dir), "%s/missing/dir", f->dir);
	assert_int_equal(replay_open(&r, dir, WINDOW, NOW, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "replay table"));
	assert_non_null(strstr(err, "No such file"));
}

static int
adder(const struct fixture *f, int p)
{
	struct replay r;
	char err[512], tok[64];
	int i;

	for (i = 0; i < NTOKENS; i++) {
		snprintf(tok, sizeof(tok), "proc%d-token%d", p, i);
		if (replay_open(&r, f->dir, WINDOW, NOW, err, sizeof(err)) == -1) {
			fprintf(stderr, "adder %d: %s\n", p, err);
			return 1;
		}
		if (replay_seen(&r, tok, NOW + i) != 0 ||
		    replay_add(&r, tok, NOW + i, 0) != 0) {
			replay_close(&r);
			return 2;
		}
		replay_close(&r);
	}
	return 0;
}

static void
test_concurrent(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	pid_t pids[NPROC];
	char tok[64];
	int p, i, st;

	/* all start before the table exists: they race to create it */
	for (p = 0; p < NPROC; p++) {
		if ((pids[p] = fork()) == 0)
			_exit(adder(f, p));
		assert_true(pids[p] > 0);
	}
	for (p = 0; p < NPROC; p++) {
		assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(count_prefix(f->dir, ".replay.bad-"), 0);
	assert_int_equal(count_prefix(f->dir, ".replay"), 1);
	lock(f, &r, WINDOW);
	for (p = 0; p < NPROC; p++)
		for (i = 0; i < NTOKENS; i++) {
			snprintf(tok, sizeof(tok), "proc%d-token%d", p, i);
			if (replay_seen(&r, tok, NOW + NTOKENS) != 1)
				fail_msg("%s forgotten", tok);
		}
	replay_close(&r);
}

/* The bucket of token, computed as replay.c does. */
static unsigned
bucket_of(EVP_MD_CTX *ctx, const EVP_MD *md, const char *tok)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n;

	if (!EVP_DigestInit_ex(ctx, md, NULL) ||
	    !EVP_DigestUpdate(ctx, tok, strlen(tok)) ||
	    !EVP_DigestFinal_ex(ctx, d, &n))
		return 0;
	return (unsigned)(d[16] | d[17] << 8) % 65536;
}

#define SAME	17

/*
 * Find SAME tokens that share one bucket: the first bucket to fill.
 * The search is done once and remembered (it is slow under valgrind).
 */
static void
same_bucket(char toks[SAME][32])
{
	static char found[SAME][32];
	static int done;
	EVP_MD_CTX *ctx;
	EVP_MD *md;
	uint32_t (*idx)[SAME];
	uint8_t *cnt;
	char tok[32];
	unsigned b;
	uint32_t i;
	int k;

	if (done) {
		memcpy(toks, found, sizeof(found));
		return;
	}
	ctx = EVP_MD_CTX_new();
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
	cnt = calloc(65536, 1);
	idx = calloc(65536, sizeof(*idx));
	assert_true(ctx != NULL && md != NULL && cnt != NULL && idx != NULL);
	for (i = 0;; i++) {
		snprintf(tok, sizeof(tok), "bucket-%u", i);
		b = bucket_of(ctx, md, tok);
		idx[b][cnt[b]++] = i;
		if (cnt[b] == SAME)
			break;
	}
	for (k = 0; k < SAME; k++)
		snprintf(found[k], 32, "bucket-%u", idx[b][k]);
	memcpy(toks, found, sizeof(found));
	done = 1;
	free(idx);
	free(cnt);
	EVP_MD_free(md);
	EVP_MD_CTX_free(ctx);
}

static void
test_bucket_overflow(void **state)
{
	const struct fixture *f = *state;
	char toks[SAME][32];
	long long when[SAME];
	struct replay r;
	int k, oldest = 0;

	same_bucket(toks);
	lock(f, &r, WINDOW);
	/* 16 fill the bucket, acceptance times out of slot order */
	for (k = 0; k < SAME - 1; k++) {
		when[k] = NOW + (k * 7) % 16 * 1000;
		if (when[k] < when[oldest])
			oldest = k;
		assert_int_equal(replay_add(&r, toks[k], when[k], 0), 0);
	}
	for (k = 0; k < SAME - 1; k++)
		assert_int_equal(replay_seen(&r, toks[k], NOW + 20000), 1);
	assert_int_equal(replay_seen(&r, toks[SAME - 1], NOW + 20000), 0);
	/* the 17th evicts the oldest one, and only it */
	assert_int_equal(replay_add(&r, toks[SAME - 1], NOW + 20000, 0), 0);
	for (k = 0; k < SAME; k++)
		assert_int_equal(replay_seen(&r, toks[k], NOW + 20001),
		    k == oldest ? 0 : 1);
	replay_close(&r);
}

/* Expired slots are reused; no live token is evicted meanwhile. */
static void
test_bucket_reuse_expired(void **state)
{
	const struct fixture *f = *state;
	char toks[SAME][32];
	struct replay r;
	int k;

	same_bucket(toks);
	lock(f, &r, 100);
	/* even slots expire by NOW + 120 s, odd ones are still live then */
	for (k = 0; k < SAME - 1; k++)
		assert_int_equal(replay_add(&r, toks[k],
		    k % 2 == 0 ? NOW + k : NOW + 50000 + k, 0), 0);
	assert_int_equal(replay_add(&r, toks[SAME - 1], NOW + 120000, 0), 0);
	for (k = 0; k < SAME - 1; k++)
		assert_int_equal(replay_seen(&r, toks[k], NOW + 120000),
		    k % 2);
	assert_int_equal(replay_seen(&r, toks[SAME - 1], NOW + 120000), 1);
	replay_close(&r);
}

/*
 * Two receivers of one spool with different windows (a migration, or a
 * pool still on the old configuration): the shorter one's token takes an
 * empty slot, not one of the other's tokens that its own window calls
 * ended; in a full bucket the oldest goes.
 */
static void
test_shorter_window(void **state)
{
	const struct fixture *f = *state;
	char toks[SAME][32];
	struct replay r;
	int k;

	same_bucket(toks);
	lock(f, &r, WINDOW);			/* 15 days */
	assert_int_equal(replay_add(&r, toks[0], NOW, 0), 0);
	replay_close(&r);
	/* three days on, a 2-day window adds one of the same bucket */
	lock_at(f, &r, 2 * 86400, NOW + 3 * 86400000LL);
	assert_int_equal(replay_add(&r, toks[1], NOW + 3 * 86400000LL, 0), 0);
	replay_close(&r);
	lock_at(f, &r, WINDOW, NOW + 3 * 86400000LL);
	assert_int_equal(replay_seen(&r, toks[0], NOW + 3 * 86400000LL), 1);
	assert_int_equal(replay_seen(&r, toks[1], NOW + 3 * 86400000LL), 1);
	/* the bucket full, newer tokens after toks[0]: it goes first */
	for (k = 2; k < SAME - 1; k++)
		assert_int_equal(replay_add(&r, toks[k], NOW + k, 0), 0);
	replay_close(&r);
	lock_at(f, &r, 2 * 86400, NOW + 4 * 86400000LL);
	assert_int_equal(replay_add(&r, toks[SAME - 1],
	    NOW + 4 * 86400000LL, 0), 0);
	replay_close(&r);
	lock_at(f, &r, WINDOW, NOW + 4 * 86400000LL);
	for (k = 0; k < SAME; k++)
		assert_int_equal(replay_seen(&r, toks[k],
		    NOW + 4 * 86400000LL), k != 0);
	replay_close(&r);
}

/*
 * A window starting ahead of now (an event's timestamp): the token is
 * live till a window after that, and counted meanwhile; a start behind
 * now is now, one more than a window ahead is a window ahead. The other
 * slots of the bucket are judged at now, not at the window's start.
 */
static void
test_window_ahead(void **state)
{
	const struct fixture *f = *state;
	char toks[SAME][32];
	struct replay r;
	long long n = -1;
	int k;

	lock(f, &r, 10);
	assert_int_equal(replay_add(&r, "ahead", NOW, NOW + 8000), 0);
	assert_int_equal(replay_seen(&r, "ahead", NOW + 17999), 1);
	assert_int_equal(replay_seen(&r, "ahead", NOW + 18000), 0);
	assert_int_equal(replay_add(&r, "behind", NOW, NOW - 8000), 0);
	assert_int_equal(replay_seen(&r, "behind", NOW + 9999), 1);
	assert_int_equal(replay_seen(&r, "behind", NOW + 10000), 0);
	assert_int_equal(replay_add(&r, "far", NOW, NOW + 3600000), 0);
	assert_int_equal(replay_seen(&r, "far", NOW + 19999), 1);
	assert_int_equal(replay_seen(&r, "far", NOW + 20000), 0);
	replay_close(&r);
	assert_int_equal(replay_count(f->table, 10000, NOW + 12000, &n), 0);
	assert_int_equal(n, 2);			/* ahead and far */

	/* a full bucket, the oldest in the last slot; at the new token's
	 * start all would have ended, at now all are live: the oldest goes */
	same_bucket(toks);
	lock(f, &r, 10);
	for (k = 0; k < SAME - 1; k++)
		assert_int_equal(replay_add(&r, toks[k], NOW + SAME - k, 0), 0);
	assert_int_equal(replay_add(&r, toks[SAME - 1], NOW + 5000,
	    NOW + 12000), 0);
	for (k = 0; k < SAME; k++)
		assert_int_equal(replay_seen(&r, toks[k], NOW + 5000),
		    k != SAME - 2);
	replay_close(&r);
}

/* replay_count: live tokens only; ENOENT without a table, EINVAL if bad. */
static void
test_count(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	long long n = -1;
	int fd;

	assert_int_equal(replay_count(f->table, 10000, NOW, &n), -1);
	assert_int_equal(errno, ENOENT);
	lock(f, &r, 10);
	assert_int_equal(replay_add(&r, "old", NOW - 20000, 0), 0);
	assert_int_equal(replay_add(&r, "a", NOW - 5000, 0), 0);
	assert_int_equal(replay_add(&r, "b", NOW, 0), 0);
	replay_close(&r);
	assert_int_equal(replay_count(f->table, 10000, NOW, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(replay_count(f->table, 100000, NOW, &n), 0);
	assert_int_equal(n, 3);
	assert_true((fd = open(f->table, O_WRONLY)) != -1);
	assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
	close(fd);
	assert_int_equal(replay_count(f->table, 10000, NOW, &n), -1);
	assert_int_equal(errno, EINVAL);
}

#define BUCKET_BYTES	(16 * 32)
#define DEADLINE_MS	10000		/* for another process to get along */

/* Where token's bucket starts in the table, computed as replay.c does. */
static long long
bucket_start(const char *tok)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n;

	if (!EVP_Digest(tok, strlen(tok), d, &n, EVP_sha256(), NULL))
		return -1;
	return 64 + (long long)((d[16] | d[17] << 8) % 65536) * BUCKET_BYTES;
}

/*
 * 1 if an open file description other than a new one of ours holds the
 * lock of tok's bucket, 0 if not, -1 on error (no cmocka: children call
 * it too).
 */
static int
bucket_held(const struct fixture *f, const char *tok)
{
	struct flock fl;
	int fd, rc;

	if ((fd = open(f->table, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)bucket_start(tok);
	fl.l_len = BUCKET_BYTES;
	rc = fcntl(fd, F_OFD_GETLK, &fl) == -1 ? -1 : fl.l_type != F_UNLCK;
	close(fd);
	return rc;
}

/*
 * 1 if /proc/locks shows a process waiting for an OFD lock on the bucket
 * of tok in the table; -1 if /proc/locks cannot be read. Polled for
 * readiness.
 */
static int
bucket_waited_for(const struct fixture *f, const char *tok)
{
	char line[256], where[96];
	struct stat st;
	FILE *fp;
	int found = 0;

	if (stat(f->table, &st) == -1)
		return -1;
	/* "... -> OFDLCK ADVISORY WRITE pid maj:min:ino start end" */
	snprintf(where, sizeof(where), " %02x:%02x:%lu %lld ",
	    major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino,
	    bucket_start(tok));
	if ((fp = fopen("/proc/locks", "r")) == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = strstr(line, "->") != NULL &&
		    strstr(line, "OFDLCK") != NULL &&
		    strstr(line, where) != NULL;
	fclose(fp);
	return found;
}

/* One character from the other process (0: none in time, or its end). */
static char
read_code(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, DEADLINE_MS) != 1 || read(fd, &c, 1) != 1)
		return 0;
	return c;
}

static void
write_code(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(9);
}

/* fork, the parent remembering the child for teardown. */
static pid_t
spawn(void)
{
	pid_t pid = fork();

	if (pid > 0)
		kid = pid;
	return pid;
}

static void
reap(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	kid = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/*
 * In a child: open the table and look tok up, as the handler does; '0'
 * or '1' as replay_seen answers, 'X' if it fails, 'E' if replay_open
 * does. The bucket stays locked (r open) unless 'E'.
 */
static char
child_seen(const struct fixture *f, struct replay *r, const char *tok)
{
	char err[512];

	if (replay_open(r, f->dir, WINDOW, NOW, err, sizeof(err)) == -1)
		return 'E';
	switch (replay_seen(r, tok, NOW)) {
	case 0:
		return '0';
	case 1:
		return '1';
	default:
		return 'X';
	}
}

/*
 * A child that looks tok up, reports on up, then waits for a byte on
 * down before replay_close and exit; its pid. The pipes' other ends are
 * closed in the parent.
 */
static pid_t
looker(const struct fixture *f, const char *tok, int up[2], int down[2])
{
	pid_t pid;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	if ((pid = spawn()) == 0) {
		struct replay c = { .fd = -1 };

		close(up[0]);
		close(down[1]);
		write_code(up[1], child_seen(f, &c, tok));
		(void)read_code(down[0]);
		replay_close(&c);
		_exit(0);
	}
	assert_true(pid > 0);
	close(up[1]);
	close(down[0]);
	return pid;
}

/* Tell a looker to finish, and reap it. */
static void
finish(pid_t pid, int up[2], int down[2])
{
	assert_int_equal(write(down[1], "q", 1), 1);
	close(down[1]);
	close(up[0]);
	reap(pid);
}

/*
 * Wait until the looker on up is seen blocked on tok's bucket, and check
 * it has not answered yet.
 */
static void
assert_blocked(const struct fixture *f, const char *tok, pid_t pid, int up)
{
	struct pollfd pfd = { .fd = up, .events = POLLIN };
	int ms, w;

	for (ms = 0; (w = bucket_waited_for(f, tok)) == 0 && ms < DEADLINE_MS;
	    ms++) {
		if (poll(&pfd, 1, 0) == 1)
			fail_msg("the other process did not wait: %c",
			    read_code(up));
		usleep(1000);
	}
	if (w == -1)
		skip();				/* no /proc/locks here */
	if (w != 1)
		fail_msg("the other process is not seen waiting");
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(waitpid(pid, &w, WNOHANG), 0);
}

/*
 * While one process holds a token's bucket, another cannot lock it; the
 * other buckets are free, the whole file too (it only guards setting a
 * damaged table aside).
 */
static void
test_exclusive(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	pid_t pid;

	assert_true(bucket_start("tok-x") != bucket_start("tok-y"));
	lock(f, &r, WINDOW);
	assert_int_equal(bucket_held(f, "tok-x"), 0);	/* open: no lock */
	assert_int_equal(replay_seen(&r, "tok-x", NOW), 0);
	assert_int_equal(r.locked, 1);
	if ((pid = spawn()) == 0) {
		struct flock fl;
		int fd = open(f->table, O_RDWR);

		if (fd == -1)
			_exit(2);
		if (bucket_held(f, "tok-x") != 1 ||
		    bucket_held(f, "tok-y") != 0)
			_exit(3);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = (off_t)bucket_start("tok-x");
		fl.l_len = 1;
		if (fcntl(fd, F_OFD_SETLK, &fl) != -1 || errno != EAGAIN)
			_exit(4);
		fl.l_start = (off_t)bucket_start("tok-y");
		if (fcntl(fd, F_OFD_SETLK, &fl) == -1)
			_exit(5);
		if (flock(fd, LOCK_EX | LOCK_NB) == -1)
			_exit(6);
		_exit(0);
	}
	assert_true(pid > 0);
	reap(pid);		/* exit status: the check that failed there */
	replay_close(&r);
	assert_int_equal(bucket_held(f, "tok-x"), 0);
}

/*
 * A second copy of a token in flight waits in replay_seen until the
 * first is stored (and then finds it) or has failed (and then has the
 * bucket itself).
 */
static void
test_copy_waits(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	int up[2], down[2], st;
	pid_t pid;

	/* stored meanwhile: the copy is a duplicate */
	lock(f, &r, WINDOW);
	assert_int_equal(replay_seen(&r, "tok-w", NOW), 0);
	pid = looker(f, "tok-w", up, down);
	assert_blocked(f, "tok-w", pid, up[0]);
	assert_int_equal(replay_add(&r, "tok-w", NOW, 0), 0);
	assert_int_equal(r.locked, 1);		/* till replay_close */
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
	replay_close(&r);
	assert_int_equal(read_code(up[0]), '1');
	finish(pid, up, down);

	/* the first one failed: the copy goes on, holding the bucket */
	lock(f, &r, WINDOW);
	assert_int_equal(replay_seen(&r, "tok-v", NOW), 0);
	pid = looker(f, "tok-v", up, down);
	assert_blocked(f, "tok-v", pid, up[0]);
	replay_close(&r);
	assert_int_equal(read_code(up[0]), '0');
	assert_int_equal(bucket_held(f, "tok-v"), 1);
	finish(pid, up, down);
	assert_int_equal(bucket_held(f, "tok-v"), 0);
}

/*
 * Tokens in other buckets do not wait; tokens sharing the bucket do
 * (the lock is per bucket, not per token).
 */
static void
test_other_tokens(void **state)
{
	const struct fixture *f = *state;
	char toks[SAME][32];
	struct replay r;
	int up[2], down[2];
	pid_t pid;

	same_bucket(toks);
	assert_true(bucket_start("tok-a") != bucket_start(toks[0]));
	lock(f, &r, WINDOW);
	assert_int_equal(replay_seen(&r, toks[0], NOW), 0);
	pid = looker(f, "tok-a", up, down);
	assert_int_equal(read_code(up[0]), '0');	/* did not wait */
	assert_int_equal(bucket_held(f, "tok-a"), 1);	/* the child's */
	finish(pid, up, down);

	pid = looker(f, toks[1], up, down);
	assert_blocked(f, toks[1], pid, up[0]);
	replay_close(&r);
	assert_int_equal(read_code(up[0]), '0');
	finish(pid, up, down);

	/* looking up another token lets the first one's bucket go */
	lock(f, &r, WINDOW);
	assert_int_equal(replay_seen(&r, toks[0], NOW), 0);
	assert_int_equal(bucket_held(f, toks[0]), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW), 0);
	assert_int_equal(bucket_held(f, toks[0]), 0);
	assert_int_equal(bucket_held(f, "tok-a"), 1);
	replay_close(&r);
	assert_int_equal(bucket_held(f, "tok-a"), 0);
}

/* A holder killed outright leaves the bucket free. */
static void
test_holder_killed(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	int up[2], st;
	pid_t pid;

	assert_int_equal(pipe(up), 0);
	if ((pid = spawn()) == 0) {
		struct replay c = { .fd = -1 };

		close(up[0]);
		write_code(up[1], child_seen(f, &c, "tok-k"));
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	close(up[1]);
	assert_int_equal(read_code(up[0]), '0');
	close(up[0]);
	assert_int_equal(bucket_held(f, "tok-k"), 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	kid = 0;
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(bucket_held(f, "tok-k"), 0);
	lock(f, &r, WINDOW);
	assert_int_equal(replay_seen(&r, "tok-k", NOW), 0);
	replay_close(&r);
}

/*
 * replay_close of a struct never opened, or twice, is harmless and lets
 * the bucket go; replay_add of the token looked up keeps the one lock.
 */
static void
test_close(void **state)
{
	const struct fixture *f = *state;
	struct replay r = { .fd = -1 };

	replay_close(&r);			/* never opened */
	assert_int_equal(r.fd, -1);
	lock(f, &r, WINDOW);
	replay_close(&r);			/* opened, nothing locked */
	lock(f, &r, WINDOW);
	assert_int_equal(replay_add(&r, "tok-c", NOW, 0), 0);	/* locks too */
	assert_int_equal(bucket_held(f, "tok-c"), 1);
	replay_close(&r);
	assert_int_equal(bucket_held(f, "tok-c"), 0);
	replay_close(&r);			/* twice */
	assert_int_equal(r.fd, -1);
	assert_int_equal(r.locked, 0);
	assert_int_equal(bucket_held(f, "tok-c"), 0);
	/* the table stays open in this process, usable again */
	lock(f, &r, WINDOW);
	assert_int_equal(replay_seen(&r, "tok-c", NOW + 1), 1);
	assert_int_equal(bucket_held(f, "tok-c"), 1);
	replay_close(&r);
}

/*
 * The table removed while this process keeps it open: within a second
 * of its last check the process goes on with the old one; the first open
 * a second or more later (or with the clock set back) makes a new one,
 * and the bucket locked is in that one, the one others see.
 */
static void
test_table_unlinked(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	struct stat st;

	lock(f, &r, WINDOW);
	assert_int_equal(replay_add(&r, "tok-d", NOW, 0), 0);
	replay_close(&r);
	assert_int_equal(unlink(f->table), 0);
	lock_at(f, &r, WINDOW, NOW + 999);
	assert_int_equal(replay_seen(&r, "tok-d", NOW + 999), 1);	/* old */
	replay_close(&r);
	assert_int_equal(stat(f->table, &st), -1);
	lock_at(f, &r, WINDOW, NOW - 1);
	assert_int_equal(stat(f->table, &st), 0);			/* new */
	replay_close(&r);
	assert_int_equal(unlink(f->table), 0);
	lock_at(f, &r, WINDOW, NOW + 998);
	assert_int_equal(stat(f->table, &st), -1);
	replay_close(&r);
	lock_at(f, &r, WINDOW, NOW + 999);
	assert_int_equal(stat(f->table, &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size == TABLE_SIZE);
	assert_int_equal(replay_seen(&r, "tok-d", NOW + 1), 0);	/* new */
	assert_int_equal(bucket_held(f, "tok-d"), 1);
	replay_close(&r);
	assert_int_equal(bucket_held(f, "tok-d"), 0);
}

/*
 * The table cut short while this process keeps it open: the read fails
 * at once, and the next open, in the same second, looks at the path
 * again and sets the table aside for a fresh one. (A failed lock or
 * write asks the same; neither can be made to fail on a sound table.)
 */
static void
test_table_cut(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	int bad;

	lock(f, &r, WINDOW);
	assert_int_equal(replay_add(&r, "tok-e", NOW, 0), 0);
	replay_close(&r);
	assert_int_equal(truncate(f->table, 64), 0);	/* the header only */
	bad = count_prefix(f->dir, ".replay.bad-");
	lock_at(f, &r, WINDOW, NOW + 1);
	assert_int_equal(replay_seen(&r, "tok-e", NOW + 1), -1);
	assert_int_equal(errno, EIO);
	replay_close(&r);
	assert_int_equal(count_prefix(f->dir, ".replay.bad-"), bad);
	lock_at(f, &r, WINDOW, NOW + 2);
	assert_int_equal(count_prefix(f->dir, ".replay.bad-"), bad + 1);
	assert_int_equal(replay_seen(&r, "tok-e", NOW + 2), 0);
	assert_int_equal(replay_add(&r, "tok-e", NOW + 2, 0), 0);
	assert_int_equal(replay_seen(&r, "tok-e", NOW + 3), 1);
	replay_close(&r);
}

static int
storer(const struct fixture *f)
{
	struct replay r;
	char err[512], tok[64];
	int i, stored = 0;

	for (i = 0; i < NTOKENS; i++) {
		snprintf(tok, sizeof(tok), "shared-token%d", i);
		if (replay_open(&r, f->dir, WINDOW, NOW, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "storer: %s\n", err);
			return 255;
		}
		switch (replay_seen(&r, tok, NOW + i)) {
		case 0:
			if (replay_add(&r, tok, NOW + i, 0) != 0) {
				replay_close(&r);
				return 254;
			}
			stored++;
			break;
		case 1:
			break;
		default:
			replay_close(&r);
			return 253;
		}
		replay_close(&r);
	}
	return stored;
}

/* Processes storing the same tokens at once: each is stored once. */
static void
test_once_per_token(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	pid_t pids[NPROC];
	char tok[64];
	int p, i, st, total = 0;

	for (p = 0; p < NPROC; p++) {
		if ((pids[p] = fork()) == 0)
			_exit(storer(f));
		assert_true(pids[p] > 0);
	}
	for (p = 0; p < NPROC; p++) {
		assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
		assert_true(WIFEXITED(st));
		assert_true(WEXITSTATUS(st) <= NTOKENS);
		total += WEXITSTATUS(st);
	}
	assert_int_equal(total, NTOKENS);
	lock(f, &r, WINDOW);
	for (i = 0; i < NTOKENS; i++) {
		snprintf(tok, sizeof(tok), "shared-token%d", i);
		assert_int_equal(replay_seen(&r, tok, NOW + NTOKENS), 1);
	}
	replay_close(&r);
}

/*
 * The header of a sound table cannot be read (an I/O error): the open
 * fails with that error, as for a table that cannot be used (the event
 * is then stored without the check), and the table is not set aside:
 * the next open reads it, with every token it held.
 */
static void
test_header_unreadable(void **state)
{
	const struct fixture *f = *state;
	struct replay r = { .fd = -1 };
	struct stat before, after;
	char err[512] = "";
	pid_t pid;

	/* made by another process: this one has no table open for dir */
	if ((pid = spawn()) == 0) {
		if (replay_open(&r, f->dir, WINDOW, NOW, err,
		    sizeof(err)) == -1 || replay_add(&r, "tok-h", NOW, 0) == -1)
			_exit(1);
		replay_close(&r);
		_exit(0);
	}
	reap(pid);
	assert_int_equal(stat(f->table, &before), 0);
	header_fails = 1;
	assert_int_equal(replay_open(&r, f->dir, WINDOW, NOW + 1, err,
	    sizeof(err)), -1);
	header_fails = 0;
	if (strstr(err, f->table) == NULL ||
	    strstr(err, strerror(EIO)) == NULL)
		fail_msg("err: %s", err);
	assert_int_equal(count_prefix(f->dir, ".replay.bad-"), 0);
	assert_int_equal(stat(f->table, &after), 0);
	assert_true(after.st_ino == before.st_ino);
	lock_at(f, &r, WINDOW, NOW + 2);
	assert_int_equal(replay_seen(&r, "tok-h", NOW + 2), 1);
	replay_close(&r);
	/* replay_count says so too, and leaves the table alone */
	header_fails = 1;
	assert_int_equal(replay_count(f->table, WINDOW * 1000, NOW + 3,
	    &(long long){ 0 }), -1);
	header_fails = 0;
	assert_int_equal(errno, EIO);
	assert_int_equal(count_prefix(f->dir, ".replay.bad-"), 0);
}

/*
 * A token's bucket that cannot be locked: replay_seen and replay_add say
 * -1 (errno kept), nothing is held; the next look locks and finds what
 * was added before.
 */
static void
test_bucket_lock_fails(void **state)
{
	const struct fixture *f = *state;
	struct replay r;

	lock(f, &r, WINDOW);
	assert_int_equal(replay_add(&r, "tok-l", NOW, 0), 0);
	replay_close(&r);
	lock(f, &r, WINDOW);
	lock_fails = 1;
	assert_int_equal(replay_seen(&r, "tok-l", NOW), -1);
	assert_int_equal(errno, ENOLCK);
	assert_int_equal(lock_fails, 0);
	assert_int_equal(bucket_held(f, "tok-l"), 0);
	lock_fails = 1;
	assert_int_equal(replay_add(&r, "tok-m", NOW, 0), -1);
	assert_int_equal(replay_seen(&r, "tok-l", NOW), 1);
	assert_int_equal(replay_seen(&r, "tok-m", NOW), 0);
	replay_close(&r);
}

/*
 * The token's digest cannot be had for want of memory, at each of
 * OpenSSL's allocations in turn: -1 with ENOMEM (the allocation's), not
 * an errno left from before, which the log would give as the cause; or
 * OpenSSL gets over it. In a child each: the digest is fetched once per
 * process.
 */
static void
test_digest_no_memory(void **state)
{
	struct fixture *f = *state;
	struct replay r;
	pid_t pid;
	long n;
	int st, rc, failed = 0;

	if (!mallocfail_works())	/* valgrind's malloc comes first */
		skip();
	/* OpenSSL started, as the receiver starts it (verify.c) */
	EVP_MAC_free(EVP_MAC_fetch(NULL, "HMAC", NULL));
	for (n = 0;; n++) {
		assert_true((pid = fork()) != -1);
		if (pid == 0) {
			lock(f, &r, WINDOW);
			errno = EEXIST;
			fail_in = n;
			rc = replay_seen(&r, "tok-d", NOW);
			/* done; -1 and ENOMEM; -1 and another; a failure
			   OpenSSL got over */
			_exit(fail_in >= 0 ? 0 : rc == -1 && errno == ENOMEM ?
			    1 : rc == -1 ? 2 : 3);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) == 2)
			fail_msg("allocation %ld failed: %s %d", n,
			    WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ?
			    WEXITSTATUS(st) : WTERMSIG(st));
		if (WEXITSTATUS(st) == 0)
			break;		/* every allocation done */
		failed += WEXITSTATUS(st) == 1;
	}
	assert_true(failed > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_digest_no_memory, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seen_and_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_token, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exclusive, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_table, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unusable_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bucket_overflow, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_window_ahead, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_shorter_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bucket_reuse_expired,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_waits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_other_tokens, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_holder_killed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_unlinked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_table_cut, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_once_per_token, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_header_unreadable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bucket_lock_fails, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
