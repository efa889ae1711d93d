/*
 * test_counters.c: the receiver's answer counters: a page shared by
 * processes, atomic across them, surviving a reopen; the message of each
 * answer counted under its reason; foreign or odd files left alone.
 */
#include <sys/stat.h>
#include <sys/wait.h>

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

#include "counters.h"
#include "testutil.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_counters.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	test_rmtree(dir);
	return 0;
}

static void
test_add_and_read(void **state)
{
	struct counters c;
	struct counters_page p;
	char path[128];
	struct stat st;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(counters_read(dir, &p), -1);
	assert_int_equal(errno, ENOENT);	/* not made by a reader */
	assert_int_equal(counters_open(&c, dir, 0), 0);
	counters_add(&c, CNT_SUCCESS, 120, 1700000000123ULL);
	counters_add(&c, CNT_SUCCESS, 80, 1700000000456ULL);
	counters_add(&c, CNT_401, 0, 1700000000999ULL);
	counters_close(&c);
	assert_int_equal(counters_read(dir, &p), 0);
	assert_int_equal(p.n[CNT_SUCCESS], 2);
	assert_int_equal(p.n[CNT_401], 1);
	assert_int_equal(p.stored_bytes, 200);
	assert_true(p.last_stored_ms == 1700000000456ULL);
	assert_true(p.created_ms > 0);
	snprintf(path, sizeof(path), "%s/%s", dir, COUNTERS_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777 & ~0640, 0);
	/* reopened: the counts go on */
	assert_int_equal(counters_open(&c, dir, 0), 0);
	counters_add(&c, CNT_SUCCESS, 1, 1);
	counters_close(&c);
	assert_int_equal(counters_read(dir, &p), 0);
	assert_int_equal(p.n[CNT_SUCCESS], 3);
}

/* Four processes adding at once lose nothing. */
static void
test_processes(void **state)
{
	struct counters c;
	struct counters_page p;
	pid_t pid[4];
	int i, k, st;

	(void)state;
	for (i = 0; i < 4; i++) {
		if ((pid[i] = fork()) == 0) {
			memset(&c, 0, sizeof(c));
			if (counters_open(&c, dir, 0) == -1)
				_exit(1);
			for (k = 0; k < 20000; k++)
				counters_add(&c, CNT_DUPLICATE, 1, 5);
			_exit(0);
		}
		assert_true(pid[i] > 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(counters_read(dir, &p), 0);
	assert_int_equal(p.n[CNT_DUPLICATE], 80000);
	assert_int_equal(p.stored_bytes, 80000);
}

/* Every counter has a reason, the label stats and metrics show. */
static void
test_reasons(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NCOUNTERS; i++)
		assert_non_null(counter_defs[i].reason);
}

/* The size of the file at path, or -1. */
static long long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* A file that is not ours, or not a file: left alone, not counted. */
static void
test_foreign(void **state)
{
	struct counters c;
	struct counters_page p;
	char path[128];
	int fd;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), "%s/%s", dir, COUNTERS_FILE);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0640)) != -1);
	assert_int_equal(write(fd, "something else, longer than a page"
	    " header but not ours at all.........................", 86), 86);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	assert_int_equal(counters_open(&c, dir, 0), -1);
	assert_int_equal(errno, EINVAL);
	counters_add(&c, CNT_SUCCESS, 1, 1);	/* not counting: no crash */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0640), 0);
	assert_int_equal(counters_open(&c, dir, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(unlink(path), 0);
	/* shorter than a page (mapping it would fault): left as it is */
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0640)) != -1);
	assert_int_equal(write(fd, "short", 5), 5);
	close(fd);
	assert_int_equal(counters_open(&c, dir, 0), -1);
	assert_int_equal(errno, EINVAL);
	counters_add(&c, CNT_SUCCESS, 1, 1);
	assert_int_equal(file_size(path), 5);
	assert_int_equal(counters_read(dir, &p), -1);
	assert_int_equal(errno, EINVAL);
	/* empty (made by a receiver that could not fill it): none yet */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(counters_read(dir, &p), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(unlink(path), 0);
}

/*
 * A worker's mapped page, looked at once per COUNTERS_RECHECK_MS: let go
 * once its file is cut short or removed, and mapped anew from the file
 * then at the path. A count that touches a page cut short before it was
 * looked at faults: that count is lost, and the page let go, not the
 * process.
 */
static void
test_fresh(void **state)
{
	struct counters c;
	struct counters_page p;
	char path[128];

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), "%s/%s", dir, COUNTERS_FILE);
	assert_int_equal(counters_open(&c, dir, 1000), 0);
	assert_true(counters_fresh(&c, 1000 + COUNTERS_RECHECK_MS));
	assert_int_equal(truncate(path, 0), 0);
	/* within the interval it is not looked at: the count faults */
	assert_true(counters_fresh(&c, 1000 + 2 * COUNTERS_RECHECK_MS - 1));
	counters_add(&c, CNT_SUCCESS, 1, 1);
	assert_null(c.page);
	counters_add(&c, CNT_SUCCESS, 1, 1);	/* not counting */
	/* an empty file gets the page's layout again; cut short once more,
	 * it is seen at the next look */
	assert_int_equal(counters_open(&c, dir, 5000), 0);
	assert_int_equal(truncate(path, 8), 0);
	assert_false(counters_fresh(&c, 5000 + COUNTERS_RECHECK_MS));
	assert_null(c.page);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(counters_open(&c, dir, 7000), 0);
	counters_add(&c, CNT_SUCCESS, 1, 1);
	assert_int_equal(unlink(path), 0);	/* removed: counts for nobody */
	assert_false(counters_fresh(&c, 7000 + COUNTERS_RECHECK_MS));
	assert_int_equal(counters_open(&c, dir, 9000), 0);
	counters_add(&c, CNT_401, 0, 0);
	counters_close(&c);
	assert_int_equal(counters_read(dir, &p), 0);
	assert_int_equal(p.n[CNT_401], 1);
	assert_int_equal(p.n[CNT_SUCCESS], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_and_read, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes, setup,
		    teardown),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test_setup_teardown(test_foreign, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
