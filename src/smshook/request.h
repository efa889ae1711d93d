/* request.h: what a transport hands the handler, and the checks on it. */
#ifndef SMSHOOK_REQUEST_H
#define SMSHOOK_REQUEST_H

#include <sys/types.h>

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "payload.h"

/* One request, as CGI variables; pointers live for the request only. */
struct request {
	const char	*method;
	const char	*content_type;
	const char	*content_length;
	const char	*remote_addr;
	const char	*forwarded_for;	/* X-Forwarded-For, or NULL */
	int		 forwarded_twice;	/* and it came more than once */
	/* Read up to len body bytes: >0 read, 0 at the end, -1 on error. */
	ssize_t		(*read)(void *io, char *buf, size_t len);
	void		*io;
	/*
	 * The transport marks the body's end itself (FastCGI's empty stdin
	 * record): a known length is read one byte past, to see that end.
	 */
	int		 ends_body;
};

enum method { M_GET, M_HEAD, M_POST, M_OTHER };

struct client {
	uint8_t	addr[16];
	char	text[INET6_ADDRSTRLEN];
};

/*
 * Set rq's five CGI variables from env ("NAME=value" strings, ending in
 * NULL) in one pass; the first of a name counts, as with getenv(3), and
 * forwarded_twice says whether HTTP_X_FORWARDED_FOR came again. The
 * pointers point into env.
 */
void		request_params(struct request *, char *const *env);
/* The request method, by its name. */
enum method	request_method(const char *name);
/*
 * The client's address: REMOTE_ADDR, or the nearest untrusted address of
 * X-Forwarded-For when REMOTE_ADDR is a trusted proxy (a hop's port
 * dropped). -1 if unparsable, if a hop read on the way is not one, or
 * if X-Forwarded-For came twice from a trusted proxy (a client's own
 * line may come first, as a server passes a second line or a header
 * spelt X_Forwarded_For: which one did the proxy write is not known).
 */
int		request_client(const struct conf *, const struct request *,
		    struct client *);
/*
 * Parse CONTENT_LENGTH: 0 with *len (or *known = 0 when absent), 400 if
 * malformed, 413 if over max.
 */
int		request_length(const struct request *, unsigned long long max,
		    size_t *len, int *known);
/* A body's buffer, grown as needed and kept for the next request. */
struct request_buf {
	char	*p;
	size_t	 cap;
};

/* An unknown length's buffer starts at this size, and doubles. */
#define REQUEST_BUF_STEP	(64 * 1024)

/*
 * Read the body into b, NUL-terminated, growing it: at once to a known
 * length, as the bytes come without one, so that a large max_body costs
 * no memory a short body does not need. With a known length read
 * exactly want bytes (400 if fewer come; with ends_body a read past them
 * sees the end, and any more is left); otherwise read to the end (413
 * past max). 0 with *got on success, 400/413, 500 if the read failed,
 * -1 out of memory.
 */
int		request_body(const struct request *, struct request_buf *b,
		    size_t want,
		    int known, unsigned long long max, size_t *got);
/* The body's encoding from CONTENT_TYPE: 0, or 415 if unsupported. */
int		request_encoding(const char *content_type, const char *body,
		    size_t len, enum line_encoding *enc);

#endif
