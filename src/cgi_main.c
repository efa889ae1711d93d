/*
 * cgi_main.c: one request from the environment and stdin, one answer on
 * stdout. The configuration is read per request; a bad one answers 500
 * and logs why.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "transport.h"

static ssize_t
cgi_read(void *io, char *buf, size_t len)
{
	ssize_t n;

	(void)io;
	while ((n = read(STDIN_FILENO, buf, len)) == -1 && errno == EINTR)
		;
	return n;
}

/* Write all of buf to stdout; -1 if the server went away. */
static int
write_all(const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(STDOUT_FILENO, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
cgi_run(const char *confpath)
{
	struct server s;
	struct request rq;
	struct response rs;
	char head[512], err[512];
	int n, rc = 0;

	rq.method = getenv("REQUEST_METHOD");
	rq.content_type = getenv("CONTENT_TYPE");
	rq.content_length = getenv("CONTENT_LENGTH");
	rq.remote_addr = getenv("REMOTE_ADDR");
	rq.forwarded_for = getenv("HTTP_X_FORWARDED_FOR");
	rq.read = cgi_read;
	rq.io = NULL;
	if (server_init(&s, confpath, err, sizeof(err)) == -1) {
		logmsg(LOG_ERR, "configuration: %s", err);
		memset(&rs, 0, sizeof(rs));
		response_error(&rs, 500, "configuration error", NULL);
		rc = 1;
	} else {
		handle(&s, &rq, &rs);
		server_free(&s);
	}
	if ((n = response_head(&rs, head, sizeof(head))) == -1 ||
	    write_all(head, (size_t)n) == -1 ||
	    (request_method(rq.method) != M_HEAD &&
	    write_all(rs.body, rs.body_len) == -1))
		return 1;
	return rc;
}
