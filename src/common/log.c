/* log.c: one write(2) per message, so concurrent workers never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *log_prog = "smshook";
static enum log_level log_threshold = LL_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_threshold = level;
}

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void
logmsg(enum log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n, m;

	if (level > log_threshold)
		return;
	n = snprintf(buf, sizeof(buf), "%s[%ld]: %s: ", log_prog,
	    (long)getpid(), level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	m = n + m;
	if ((size_t)m > sizeof(buf) - 2)
		m = (int)sizeof(buf) - 2;	/* truncated message */
	for (; n < m; n++)		/* no client byte may forge a line */
		if ((unsigned char)buf[n] < 0x20 || buf[n] == 0x7f)
			buf[n] = '?';
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, (size_t)n);
}
