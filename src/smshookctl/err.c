/*
 * err.c: every smshookctl message on standard error has one shape,
 * "smshookctl CMD: message", CMD being the subcommand run.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "ctl.h"
#include "fsutil.h"
#include "reader.h"

static const char *err_cmd;	/* NULL until main knows the command */

static void	verr(int, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

/* Prefix later messages with cmd (NULL: none yet). */
void
ctl_err_init(const char *cmd)
{
	err_cmd = cmd;
}

/*
 * The prefix, fmt with ap, ": " and errnum's text (reader_strerror's)
 * unless errnum is 0, '\n'.
 */
static void
verr(int errnum, const char *fmt, va_list ap)
{
	if (err_cmd != NULL)
		fprintf(stderr, "smshookctl %s: ", err_cmd);
	else
		fputs("smshookctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (errnum != 0)
		fprintf(stderr, ": %s", reader_strerror(errnum));
	fputc('\n', stderr);
}

/* One message line on stderr; errno is left as it was. */
void
ctl_err(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	verr(0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
ctl_unread(const char *path, long long off, size_t len, const char *done)
{
	ctl_err("%s: offset %lld: a line of %zu bytes, longer than max_body "
	    "lets the receiver write now: %s", path, off, len, done);
}

/* One message line ending in ": strerror(errno)"; errno is kept. */
void
ctl_errno(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	verr(saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

int
ctl_stdout_flush(void)
{
	int e = fs_stdout_error();

	if (e == 0)
		return 0;
	errno = e;
	ctl_errno("stdout");
	return -1;
}
