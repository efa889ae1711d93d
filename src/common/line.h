/*
 * line.h: the v1 spool line, defined once for the receiver that writes
 * it and for every smshookctl command that reads it. One JSON object on
 * one line, members in this order:
 *
 *   {"v":1,"received_at":"2026-11-26T16:29:42.123Z",
 *    "remote_addr":"203.0.113.9","encoding":"json","verified":true,
 *    "payload":{...the event as received...}}
 *
 * A line is valid when the strict lexer (json.h) accepts it, with no
 * member twice, and every member has the type the table in line.c gives
 * it; its payload must hold a token and a timestamp. The day-file names
 * a line lives in are day.h's.
 */
#ifndef SMSHOOK_LINE_H
#define SMSHOOK_LINE_H

#include <stddef.h>
#include <time.h>

#include "json.h"

#define LINE_VERSION	1

/* The envelope's members, in the order they are written. */
enum line_member {
	LINE_V, LINE_RECEIVED_AT, LINE_REMOTE_ADDR, LINE_ENCODING,
	LINE_VERIFIED, LINE_PAYLOAD, LINE_NMEMBERS
};

/* The payload members smshookctl reads (all others are kept unread). */
enum line_field {
	PF_TOKEN, PF_TIMESTAMP, PF_EVENT_TYPE, PF_EVENT, PF_USER_ID,
	PF_SMS_USER, PF_TEMPLATE_ID, PF_MESSAGE, PF_STATUS_CODE, PF_SMS_IDS,
	PF_PHONES, PF_SMS_ID, PF_PHONE, PF_REPLY_CONTENT, PF_REPLY_TIME,
	PF_NFIELDS
};

enum line_encoding { LINE_JSON, LINE_FORM };

/* A parsed line: spans into the caller's text, which must outlive it. */
struct line {
	const char		*text;
	size_t			 len;
	struct json_span	 m[LINE_NMEMBERS];	/* the envelope */
	struct json_span	 f[PF_NFIELDS];		/* payload members */
	enum line_encoding	 encoding;
	int			 verified;
};

/* The reason for a line longer than line_max() allows. */
extern const char line_too_long[];

/* The reason when memory ran out: it says nothing of the line. */
extern const char line_nomem[];

/* Member names, indexed by enum line_member and enum line_field. */
extern const struct json_name line_member_names[LINE_NMEMBERS];
extern const struct json_name line_field_names[PF_NFIELDS];

/*
 * Parse text[0..len) (without its '\n') into l. Returns 0, or -1 with a
 * static reason in *why (line_nomem if memory ran out). Nothing is
 * allocated that outlives the call.
 */
int	line_parse(struct line *l, const char *text, size_t len,
	    const char **why);

/*
 * Write the line for an accepted event and its '\n' into *buf (grown as
 * needed; the caller frees): payload[0..plen) is a compact JSON object,
 * remote_addr any text. Returns the length, or 0 if out of memory.
 */
size_t	line_format(char **buf, size_t *cap, const struct timespec *now,
	    const char *remote_addr, enum line_encoding enc, int verified,
	    const char *payload, size_t plen);

/*
 * The longest line the receiver writes when bodies are at most max_body
 * bytes: a form's bytes may become \u00XX escapes, six times as long.
 */
size_t	line_max(unsigned long long max_body);
/*
 * 1 if a line of len bytes is longer than the receiver writes with any
 * max_body it accepts: not one of its lines, whatever max_body was then.
 */
int	line_beyond_any(unsigned long long len);

/* 1 if s[0..n) is YYYY-MM-DDTHH:MM:SS, an optional fraction, then Z. */
int	line_stamp_ok(const char *s, size_t n);

#endif
