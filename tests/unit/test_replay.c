/*
 * test_replay.c: the on-disk token table. Creation, memory within the
 * window and not after it, independence of tokens, recovery from a
 * foreign or damaged file, many processes at once, a full bucket.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "replay.h"
#include "testutil.h"

#define TABLE_SIZE	(64LL + 65536LL * 16 * 32)
#define NOW		1764174582123LL		/* 2025-11-26, in ms */
#define WINDOW		1296000LL		/* 15 days, in s */
#define NPROC		4
#define NTOKENS		150

struct fixture {
	char	dir[64];
	char	table[96];
};

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

	test_rmtree(f->dir);
	free(f);
	return 0;
}

static void
lock(const struct fixture *f, struct replay *r, long long window_s)
{
	char err[512] = "";

	if (replay_lock(r, f->dir, window_s, err, sizeof(err)) != 0)
		fail_msg("replay_lock: %s", err);
	assert_true(r->fd >= 0);
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

	assert_int_equal(stat(f->table, &st), -1);
	lock(f, &r, WINDOW);
	assert_int_equal(stat(f->table, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_true(st.st_size == TABLE_SIZE);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(replay_seen(&r, "never-added", NOW), 0);
	replay_unlock(&r);
	assert_int_equal(r.fd, -1);
	replay_unlock(&r);		/* twice is harmless */
	/* no temporary left behind */
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
	assert_int_equal(replay_add(&r, "tok-a", NOW), 0);
	assert_int_equal(replay_seen(&r, "tok-a", NOW), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + 9999), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + 10000), 0);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + 86400000), 0);
	/* others are independent, including near-identical ones */
	assert_int_equal(replay_seen(&r, "tok-b", NOW), 0);
	assert_int_equal(replay_seen(&r, "tok-a ", NOW), 0);
	assert_int_equal(replay_seen(&r, "Tok-a", NOW), 0);
	assert_int_equal(replay_add(&r, "tok-b", NOW + 5000), 0);
	assert_int_equal(replay_seen(&r, "tok-b", NOW + 14999), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + 14999), 0);
	replay_unlock(&r);

	/* remembered across opens, and by the window of the new opener */
	lock(f, &r, WINDOW);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + 86400000), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + WINDOW * 1000 - 1), 1);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + WINDOW * 1000), 0);
	/* an expired token can be accepted again */
	assert_int_equal(replay_add(&r, "tok-a", NOW + WINDOW * 1000), 0);
	assert_int_equal(replay_seen(&r, "tok-a", NOW + WINDOW * 1000 + 1), 1);
	replay_unlock(&r);
}

/* While one process holds the table, no other can lock it. */
static void
test_exclusive(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	pid_t pid;
	int st;

	lock(f, &r, WINDOW);
	if ((pid = fork()) == 0) {
		int fd = open(f->table, O_RDWR);

		if (fd == -1)
			_exit(2);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			_exit(3);
		_exit(errno == EWOULDBLOCK ? 0 : 4);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	replay_unlock(&r);
}

static void
corrupt_and_check(const struct fixture *f, int how)
{
	struct replay r;
	struct stat st;
	int fd, bad;

	lock(f, &r, WINDOW);
	assert_int_equal(replay_add(&r, "remembered", NOW), 0);
	replay_unlock(&r);

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
	lock(f, &r, WINDOW);
	assert_int_equal(replay_seen(&r, "remembered", NOW + 1), 0);
	assert_int_equal(replay_add(&r, "fresh", NOW), 0);
	assert_int_equal(replay_seen(&r, "fresh", NOW + 1), 1);
	replay_unlock(&r);
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

	corrupt_and_check(f, 0);	/* bad magic */
	corrupt_and_check(f, 1);	/* too short */
	corrupt_and_check(f, 2);	/* too long */
}

static void
test_not_a_table(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	int fd;

	/* an empty file where the table should be */
	fd = open(f->table, O_WRONLY | O_CREAT, 0640);
	assert_true(fd != -1);
	close(fd);
	lock(f, &r, WINDOW);
	assert_int_equal(replay_add(&r, "x", NOW), 0);
	replay_unlock(&r);
	assert_int_equal(count_prefix(f->dir, ".replay.bad-"), 1);
}

static void
test_unusable_dir(void **state)
{
	const struct fixture *f = *state;
	struct replay r;
	char err[512] = "", dir[128];

	snprintf(dir, sizeof(dir), "%s/missing/dir", f->dir);
	assert_int_equal(replay_lock(&r, dir, WINDOW, err, sizeof(err)), -1);
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
		if (replay_lock(&r, f->dir, WINDOW, err, sizeof(err)) == -1) {
			fprintf(stderr, "adder %d: %s\n", p, err);
			return 1;
		}
		if (replay_seen(&r, tok, NOW + i) != 0 ||
		    replay_add(&r, tok, NOW + i) != 0) {
			replay_unlock(&r);
			return 2;
		}
		replay_unlock(&r);
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
	replay_unlock(&r);
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
		assert_int_equal(replay_add(&r, toks[k], when[k]), 0);
	}
	for (k = 0; k < SAME - 1; k++)
		assert_int_equal(replay_seen(&r, toks[k], NOW + 20000), 1);
	assert_int_equal(replay_seen(&r, toks[SAME - 1], NOW + 20000), 0);
	/* the 17th evicts the oldest one, and only it */
	assert_int_equal(replay_add(&r, toks[SAME - 1], NOW + 20000), 0);
	for (k = 0; k < SAME; k++)
		assert_int_equal(replay_seen(&r, toks[k], NOW + 20001),
		    k == oldest ? 0 : 1);
	replay_unlock(&r);
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
		    k % 2 == 0 ? NOW + k : NOW + 50000 + k), 0);
	assert_int_equal(replay_add(&r, toks[SAME - 1], NOW + 120000), 0);
	for (k = 0; k < SAME - 1; k++)
		assert_int_equal(replay_seen(&r, toks[k], NOW + 120000),
		    k % 2);
	assert_int_equal(replay_seen(&r, toks[SAME - 1], NOW + 120000), 1);
	replay_unlock(&r);
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
	assert_int_equal(replay_add(&r, "old", NOW - 20000), 0);
	assert_int_equal(replay_add(&r, "a", NOW - 5000), 0);
	assert_int_equal(replay_add(&r, "b", NOW), 0);
	replay_unlock(&r);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seen_and_window, setup,
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
		cmocka_unit_test_setup_teardown(test_bucket_reuse_expired,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
