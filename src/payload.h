/* payload.h: a request body (JSON or form) turned into a validated event. */
#ifndef SMSHOOK_PAYLOAD_H
#define SMSHOOK_PAYLOAD_H

#include <stddef.h>

enum payload_encoding { PAYLOAD_JSON, PAYLOAD_FORM };

struct event {
	enum payload_encoding encoding;
	char		*payload;	/* the event as one line of JSON */
	size_t		 payload_len;
	char		*token;
	char		 timestamp[20];	/* decimal text exactly as sent */
	long long	 timestamp_ms;
	char		*signature;	/* NULL when absent */
	int		 event_type;	/* normalised code, 0 if none given */
	const char	*bad_field;	/* while parsing: the field at fault */
	int		 empty;		/* while parsing: no fields at all */
};

#define TOKEN_MAX	256

/*
 * Parse body into ev (caller-owned; release with payload_free). Returns
 * 0; 1 for an object or form without any field (a test, ev left empty);
 * or -1 with a static reason for a 400 answer in *why and the name of
 * the offending field, if one is to blame, in *field (else NULL).
 */
int	payload_parse(struct event *ev, const char *body, size_t len,
	    enum payload_encoding enc, const char **why, const char **field);
void	payload_free(struct event *ev);
/* Strict decimal integer ("-" allowed, at most 18 digits); -1 if not. */
int	payload_int(const char *s, long long *out);

#endif
