/* payload.h: a request body (JSON or form) turned into a validated event. */
#ifndef SMSHOOK_PAYLOAD_H
#define SMSHOOK_PAYLOAD_H

#include <stddef.h>

#include "line.h"

/*
 * What the receiver accepts, so that every database the importer feeds
 * can store it (smshook(8), Bodies): ids, phones and the like at most
 * PAYLOAD_ID_MAX bytes, message at most PAYLOAD_TEXT_MAX, the lists
 * smsIds and phones at most PAYLOAD_LIST_MAX items, numbers at most
 * JSON_NUM_MAX characters with an exponent within JSON_EXP_MAX.
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
	int		 empty;		/* while parsing: no fields at all */
};

/* What was wrong with a body payload_parse refused. */
enum payload_fault {
	PAYLOAD_SYNTAX,		/* not one JSON object, or not a form */
	PAYLOAD_FIELD,		/* a known field: type, size, count, twice */
	PAYLOAD_SIGNED,		/* token or timestamp missing or malformed */
	PAYLOAD_NOMEM		/* out of memory: not the sender's fault */
};

struct payload_error {
	enum payload_fault	 fault;
	const char		*why;	/* static text for the answer */
	const char		*field;	/* the field to blame, or NULL */
};

/*
 * Parse body into ev (caller-owned; release with payload_free). Returns
 * 0; 1 for an object or form without any field (a test, ev left empty);
 * or -1 with *err filled.
 */
int	payload_parse(struct event *ev, const char *body, size_t len,
	    enum line_encoding enc, struct payload_error *err);
/* Free what payload_parse gave ev and leave ev empty, to reuse. */
void	payload_free(struct event *ev);

#endif
