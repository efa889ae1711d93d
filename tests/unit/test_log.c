/*
 * test_log.c: log lines as they reach stderr (the time first, unless
 * stderr is the journal $JOURNAL_STREAM names) and the FastCGI sink (one
 * call per line, no time); the RFC 3339 stamp; the key values.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "day.h"
#include "log.h"

#define LINE_MAX_BYTES	1024	/* log.c's longest line, newline included */

struct fx {
	char	path[64];	/* the file stderr goes to */
	int	saved;		/* the real stderr */
	char	got[4096];	/* what reached the file */
};

static int
setup(void **state)
{
	struct fx *f;
	int fd;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "/tmp/test_log.XXXXXX");
	if ((fd = mkstemp(f->path)) == -1 || (f->saved = dup(2)) == -1 ||
	    dup2(fd, 2) == -1) {
		free(f);
		return -1;
	}
	close(fd);
	unsetenv("JOURNAL_STREAM");
	log_init("smshook", LL_DEBUG);
	log_set_sink(NULL, NULL);
	*state = f;
	return 0;
}

/* Restores stderr and shows on it what a failing check left behind. */
static int
teardown(void **state)
{
	struct fx *f = *state;
	ssize_t n;
	int fd;

	if ((fd = open(f->path, O_RDONLY)) != -1) {
		while ((n = read(fd, f->got, sizeof(f->got))) > 0)
			(void)!write(f->saved, f->got, (size_t)n);
		close(fd);
	}
	dup2(f->saved, 2);
	close(f->saved);
	unlink(f->path);
	free(f);
	return 0;
}

/* What reached stderr since the last call, as a string. */
static const char *
take(struct fx *f)
{
	ssize_t n;
	int fd;

	assert_true((fd = open(f->path, O_RDWR)) != -1);
	n = read(fd, f->got, sizeof(f->got) - 1);
	assert_true(n >= 0);
	f->got[n] = '\0';
	assert_int_equal(ftruncate(fd, 0), 0);
	close(fd);
	assert_int_equal(lseek(2, 0, SEEK_SET), 0);
	return f->got;
}

/* s is "smshook[<our pid>]: " then rest. */
static void
check_own(const char *s, const char *rest)
{
	char want[1200];

	snprintf(want, sizeof(want), "smshook[%ld]: %s", (long)getpid(), rest);
	assert_string_equal(s, want);
}

/* s starts with an RFC 3339 UTC time with milliseconds and a space. */
static void
check_stamped(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
	size_t i;

	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' :
		    s[i] != shape[i])
			fail_msg("\"%s\" does not start with a time", s);
}

static void
test_plain_before_open(void **state)
{
	struct fx *f = *state;

	/* first in main(): no log_open yet, as in smshookctl */
	logmsg(LL_WARN, "%d from %s: %s", 401, "127.0.0.1",
	    "Invalid signature");
	check_own(take(f), "warn: 401 from 127.0.0.1: Invalid signature\n");
}

static void
test_stamp(void **state)
{
	struct timespec ts = { 1795710582, 123456789 };
	char s[DAY_STAMP_LEN + 1];

	(void)state;
	day_stamp(&ts, s);
	assert_string_equal(s, "2026-11-26T16:29:42.123Z");
	ts.tv_nsec = 999999999;
	day_stamp(&ts, s);
	assert_string_equal(s, "2026-11-26T16:29:42.999Z");
	ts.tv_sec = 0;
	ts.tv_nsec = 7000000;
	day_stamp(&ts, s);
	assert_string_equal(s, "1970-01-01T00:00:00.007Z");
	assert_int_equal(strlen(s), DAY_STAMP_LEN);
	/* the second's text is kept between calls: a new second, one
	 * gone back to, and a year that does not fit are each made anew */
	ts.tv_sec = 1795710582;
	ts.tv_nsec = 0;
	day_stamp(&ts, s);
	assert_string_equal(s, "2026-11-26T16:29:42.000Z");
	ts.tv_sec++;
	day_stamp(&ts, s);
	assert_string_equal(s, "2026-11-26T16:29:43.000Z");
	ts.tv_sec = 1795680000;		/* 08:00:00, earlier that day */
	day_stamp(&ts, s);
	assert_string_equal(s, "2026-11-26T08:00:00.000Z");
	ts.tv_sec = (time_t)400000000000LL;	/* year 12,677 */
	day_stamp(&ts, s);
	assert_string_equal(s, "0000-00-00T00:00:00.000Z");
	ts.tv_sec = 1795680000;
	day_stamp(&ts, s);
	assert_string_equal(s, "2026-11-26T08:00:00.000Z");
}

static void
test_stderr_stamped(void **state)
{
	struct fx *f = *state;
	const char *s;

	log_open(LD_STDERR, LOG_DAEMON);
	logmsg(LL_WARN, "%d from %s: %s", 401, "127.0.0.1",
	    "Invalid signature");
	s = take(f);
	check_stamped(s);
	check_own(s + DAY_STAMP_LEN + 1,
	    "warn: 401 from 127.0.0.1: Invalid signature\n");
}

static void
test_journal_stream(void **state)
{
	struct fx *f = *state;
	struct stat st;
	char v[64];
	const char *s;

	assert_int_equal(fstat(2, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	log_open(LD_STDERR, LOG_DAEMON);
	logmsg(LL_ERROR, "spool unavailable");
	check_own(take(f), "error: spool unavailable\n");
	/* another stream (inherited, stderr since redirected): the time */
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", v, 1);
	log_open(LD_STDERR, LOG_DAEMON);
	logmsg(LL_ERROR, "x");
	check_stamped(s = take(f));
	/* not "dev:ino": the time */
	snprintf(v, sizeof(v), "%llu:", (unsigned long long)st.st_dev);
	setenv("JOURNAL_STREAM", v, 1);
	log_open(LD_STDERR, LOG_DAEMON);
	logmsg(LL_ERROR, "x");
	check_stamped(take(f));
	snprintf(v, sizeof(v), " %llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	log_open(LD_STDERR, LOG_DAEMON);
	logmsg(LL_ERROR, "x");
	check_stamped(take(f));
}

struct sink {
	int	calls;
	int	fail;
	char	line[2048];
	size_t	len;
};

static int
capture(void *arg, const char *line, size_t len)
{
	struct sink *k = arg;

	k->calls++;
	assert_true(len < sizeof(k->line));
	memcpy(k->line, line, len);
	k->line[len] = '\0';
	k->len = len;
	return k->fail ? -1 : 0;
}

static void
test_fcgi_sink(void **state)
{
	struct fx *f = *state;
	struct sink k = { 0 };
	const char *s;

	log_open(LD_FCGI, LOG_DAEMON);
	logmsg(LL_INFO, "FastCGI worker ready");	/* no request: stderr */
	s = take(f);
	check_stamped(s);
	check_own(s + DAY_STAMP_LEN + 1, "info: FastCGI worker ready\n");
	log_set_sink(capture, &k);
	logmsg(LL_WARN, "401 from %s: %s", "::1", "Invalid signature");
	assert_int_equal(k.calls, 1);
	check_own(k.line, "warn: 401 from ::1: Invalid signature\n");
	assert_int_equal(k.len, strlen(k.line));
	assert_string_equal(take(f), "");
	/* the web server is gone: the line goes to stderr */
	k.fail = 1;
	logmsg(LL_ERROR, "spool unavailable");
	assert_int_equal(k.calls, 2);
	s = take(f);
	check_stamped(s);
	check_own(s + DAY_STAMP_LEN + 1, "error: spool unavailable\n");
	log_set_sink(NULL, NULL);
	logmsg(LL_INFO, "between requests");
	assert_int_equal(k.calls, 2);
	check_stamped(take(f));
	/* stderr and syslog never use the sink */
	log_set_sink(capture, &k);
	log_open(LD_STDERR, LOG_DAEMON);
	logmsg(LL_INFO, "x");
	assert_int_equal(k.calls, 2);
	check_stamped(take(f));
}

static void
test_line_rules(void **state)
{
	struct fx *f = *state;
	char big[3000];
	const char *s;
	size_t len;

	log_open(LD_STDERR, LOG_DAEMON);
	/* a client's bytes cannot make a second line */
	logmsg(LL_WARN, "token %s", "a\nsmshook[1]: error: forged\r\x7f");
	s = take(f);
	check_own(s + DAY_STAMP_LEN + 1,
	    "warn: token a?smshook[1]: error: forged??\n");
	/* long messages are cut, the line still ends in one newline */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	logmsg(LL_INFO, "%s", big);
	s = take(f);
	len = strlen(s);
	assert_int_equal(len, LINE_MAX_BYTES - 1);
	assert_int_equal(s[len - 1], '\n');
	assert_ptr_equal(strchr(s, '\n'), s + len - 1);
	/* below the threshold: nothing */
	log_init("smshook", LL_WARN);
	logmsg(LL_INFO, "quiet");
	logmsg(LL_DEBUG, "quiet");
	assert_string_equal(take(f), "");
}

static void
test_parse(void **state)
{
	(void)state;
	assert_int_equal(log_dest_parse("stderr"), LD_STDERR);
	assert_int_equal(log_dest_parse("syslog"), LD_SYSLOG);
	assert_int_equal(log_dest_parse("fcgi"), LD_FCGI);
	assert_int_equal(log_dest_parse("FCGI"), -1);
	assert_int_equal(log_dest_parse(""), -1);
	assert_int_equal(log_facility_parse("daemon"), LOG_DAEMON);
	assert_int_equal(log_facility_parse("user"), LOG_USER);
	assert_int_equal(log_facility_parse("local0"), LOG_LOCAL0);
	assert_int_equal(log_facility_parse("local7"), LOG_LOCAL7);
	assert_int_equal(log_facility_parse("local8"), -1);
	assert_int_equal(log_facility_parse("kern"), -1);
	assert_int_equal(log_level_parse("warn"), LL_WARN);
	assert_int_equal(log_level_parse("warning"), -1);
}

int
main(void)
{
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_plain_before_open),	/* first: before any log_open */
		T(test_stamp),
		T(test_stderr_stamped),
		T(test_journal_stream),
		T(test_fcgi_sink),
		T(test_line_rules),
		T(test_parse),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
