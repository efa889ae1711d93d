/* payload.h: a request body (JSON or form) turned into a validated event. */
#ifndef SMSHOOK_PAYLOAD_H
#define SMSHOOK_PAYLOAD_H

#include <stddef.h>

#include "line.h"

/*
 * What the receiver accepts, so that every database the importer feeds
 * can store it (smshook(8), LIMITS): ids, phones and the like at most
 * PAYLOAD_ID_MAX bytes, message at most PAYLOAD_TEXT_MAX, lists at most
 * PAYLOAD_LIST_MAX items, numbers at most JSON_NUM_MAX characters with
 * an exponent within JSON_EXP_MAX.
 */
#define PAYLOAD_ID_MAX		256
#define PAYLOAD_TEXT_MAX	4096
#define PAYLOAD_REPLY_MAX	1024	/* a reply's text is part of its key */
#define PAYLOAD_LIST_MAX	2000

struct event {
	enum line_encoding encoding;
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


/*
 * Parse body into ev (caller-owned; release with payload_free). Returns
 * 0; 1 for an object or form without any field (a test, ev left empty);
 * or -1 with a static reason for a 400 answer in *why and the name of
 * the offending field, if one is to blame, in *field (else NULL).
 */
int	payload_parse(struct event *ev, const char *body, size_t len,
	    enum line_encoding enc, const char **why, const char **field);
void	payload_free(struct event *ev);

#endif
