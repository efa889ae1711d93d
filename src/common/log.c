/*
 * log.c: one write per line, so concurrent workers never interleave:
 * one write(2) to stderr, one syslog(3) datagram, or one FastCGI stderr
 * record through the sink of the request in hand.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "day.h"
#include "log.h"

#define LOG_LINE_MAX	1024	/* bytes of a line, its newline included */

static const char *log_prog = "smshook";
static enum log_level log_threshold = LL_INFO;
static enum log_dest log_dest = LD_STDERR;
static int log_stamped;			/* stderr lines start with the time */
static int log_syslog_open;
static log_sink log_sink_fn;
static void *log_sink_arg;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
static const char *const dest_names[] = { "stderr", "syslog", "fcgi" };
static const struct {
	const char	*name;
	int		 facility;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

void
log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_threshold = level;
}

/* Index of name in the list of n names, or -1. */
static int
name_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

int
log_level_parse(const char *name)
{
	return name_index(level_names, sizeof(level_names) /
	    sizeof(level_names[0]), name);
}

int
log_dest_parse(const char *name)
{
	return name_index(dest_names, sizeof(dest_names) /
	    sizeof(dest_names[0]), name);
}

int
log_facility_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(name, facilities[i].name) == 0)
			return facilities[i].facility;
	return -1;
}

/* A decimal number ending at end: 0 and its value, or -1. */
static int
number(const char *s, char end, const char **next, unsigned long long *v)
{
	char *e;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoull(s, &e, 10);
	if (errno != 0 || *e != end)
		return -1;
	*next = e;
	return 0;
}

/*
 * Is stderr the systemd journal? systemd says so in $JOURNAL_STREAM,
 * "device:inode" of the stream it connected; a descendant whose stderr
 * was redirected still has the variable, hence the comparison.
 */
static int
stderr_is_journal(void)
{
	const char *s = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (s == NULL || number(s, ':', &s, &dev) == -1 ||
	    number(s + 1, '\0', &s, &ino) == -1 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_open(enum log_dest dest, int facility)
{
	if (log_syslog_open) {
		closelog();
		log_syslog_open = 0;
	}
	log_dest = dest;
	log_stamped = !stderr_is_journal();
	if (dest == LD_SYSLOG) {
		openlog(log_prog, LOG_PID | LOG_NDELAY, facility);
		log_syslog_open = 1;
	}
}

void
log_set_sink(log_sink fn, void *arg)
{
	log_sink_fn = fn;
	log_sink_arg = arg;
}

/*
 * "[time ]prog[pid]: level: msg\n" into line (LOG_LINE_MAX bytes), msg
 * cut to fit; its length.
 */
static size_t
make_line(char *line, int stamped, enum log_level level, const char *msg)
{
	char stamp[DAY_STAMP_LEN + 2] = "";
	struct timespec now;
	int n;

	if (stamped) {
		clock_gettime(CLOCK_REALTIME, &now);
		day_stamp(&now, stamp);
		stamp[DAY_STAMP_LEN] = ' ';
		stamp[DAY_STAMP_LEN + 1] = '\0';
	}
	n = snprintf(line, LOG_LINE_MAX - 1, "%s%s[%ld]: %s: %s", stamp,
	    log_prog, (long)getpid(), level_names[level], msg);
	if (n < 0)
		return 0;
	if (n > LOG_LINE_MAX - 2)
		n = LOG_LINE_MAX - 2;		/* truncated message */
	line[n++] = '\n';
	return (size_t)n;
}

/* One line on stderr with one write(2). */
static void
to_stderr(enum log_level level, const char *msg)
{
	char line[LOG_LINE_MAX];
	size_t len;

	if ((len = make_line(line, log_stamped, level, msg)) > 0)
		(void)!write(STDERR_FILENO, line, len);
}

/* One line to the request's sink (its server adds the time); -1: failed. */
static int
to_sink(enum log_level level, const char *msg)
{
	char line[LOG_LINE_MAX];
	size_t len;

	if ((len = make_line(line, 0, level, msg)) == 0)
		return 0;
	return log_sink_fn(log_sink_arg, line, len);
}

/*
 * The bytes of the character at s that a log line must not carry, else
 * 0: a C0 or C1 control or DEL (a new line, a terminal's escape), U+2028
 * and U+2029 (new lines to some readers), or a mark or control of text
 * direction (U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), which
 * would show a line's words in another order. s is NUL-terminated.
 */
static int
forging(const unsigned char *s)
{
	if (s[0] < 0x20 || s[0] == 0x7f)
		return 1;
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (s[0] == 0xe2 && s[1] == 0x80 && ((s[2] >= 0xa8 && s[2] <= 0xae) ||
	    s[2] == 0x8e || s[2] == 0x8f))
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
		return 3;
	return 0;
}

void
logmsg(enum log_level level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	va_list ap;
	int n, k;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* no client byte may forge a line: '?' for each of its bytes */
	for (n = 0; msg[n] != '\0'; n += k > 0 ? k : 1)
		if ((k = forging((unsigned char *)msg + n)) > 0)
			memset(msg + n, '?', (size_t)k);
	if (log_dest == LD_SYSLOG)
		syslog(level_prio[level], "%s: %s", level_names[level], msg);
	else if (log_dest != LD_FCGI || log_sink_fn == NULL ||
	    to_sink(level, msg) == -1)
		to_stderr(level, msg);
}
