/* response.h: the JSON answer and its CGI/FastCGI header block. */
#ifndef SMSHOOK_RESPONSE_H
#define SMSHOOK_RESPONSE_H

#include <stddef.h>

#include "counters.h"

enum answer { ANSWER_OK, ANSWER_SUCCESS, ANSWER_DUPLICATE };

struct response {
	int		 status;
	enum answer	 answer;	/* of a 200 */
	const char	*reason;	/* of an error: its message */
	enum counter	 kind;		/* of an error: what it counts as */
	size_t		 stored;	/* bytes of the line stored, if any */
	long long	 stored_ms;	/* its received_at, ms since 1970 */
	const char	*header;	/* one extra header line, or NULL */
	const char	*body;
	size_t		 body_len;
	char		 buf[384];	/* error bodies are built here */
};

/* Answer 200 {"status":"ok"}, {"status":"success"} or "duplicate". */
int	response_status(struct response *, enum answer);
/* Answer {"error":msg}, msg suffixed by " (field)" when field is set. */
int	response_error(struct response *, int status, const char *msg,
	    const char *field);
/* Format the header block for a CGI/FastCGI answer; its length, or -1. */
int	response_head(const struct response *, char *out, size_t outlen);

#endif
