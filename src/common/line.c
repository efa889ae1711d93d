/*
 * line.c: see line.h. The table below is the envelope's definition: the
 * writer takes its member names from it, readers their types and the
 * reason they give when a member is missing or wrong.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "day.h"
#include "line.h"
#include "utf8.h"

/* Extra checks on a member's value, beyond its JSON type. */
enum check { C_NONE, C_ONE, C_STAMP, C_ENCODING, C_TOKEN, C_TIMESTAMP };

struct member {
	unsigned	 types;		/* JSON_T() set it may have */
	enum check	 check;
	const char	*why;		/* when absent or wrong */
};

const char line_too_long[] = "line longer than the receiver writes";

const struct json_name line_member_names[LINE_NMEMBERS] = {
	JSON_NAME("v"), JSON_NAME("received_at"), JSON_NAME("remote_addr"),
	JSON_NAME("encoding"), JSON_NAME("verified"), JSON_NAME("payload")
};

static const struct member envelope[LINE_NMEMBERS] = {
	[LINE_V] = { JSON_T(JSON_NUMBER), C_ONE, "not a v1 spool line" },
	[LINE_RECEIVED_AT] = { JSON_T(JSON_STRING), C_STAMP,
	    "no received_at" },
	[LINE_REMOTE_ADDR] = { JSON_T(JSON_STRING), C_NONE,
	    "not a v1 envelope: bad or no \"remote_addr\"" },
	[LINE_ENCODING] = { JSON_T(JSON_STRING), C_ENCODING,
	    "not a v1 envelope: bad or no \"encoding\"" },
	[LINE_VERIFIED] = { JSON_T(JSON_TRUE) | JSON_T(JSON_FALSE), C_NONE,
	    "not a v1 envelope: bad or no \"verified\"" },
	[LINE_PAYLOAD] = { JSON_T(JSON_OBJECT), C_NONE, "no payload object" },
};

/* The order members are checked in, so the first reason is the likeliest. */
static const enum line_member check_order[LINE_NMEMBERS] = {
	LINE_V, LINE_PAYLOAD, LINE_RECEIVED_AT, LINE_REMOTE_ADDR,
	LINE_ENCODING, LINE_VERIFIED
};

const struct json_name line_field_names[PF_NFIELDS] = {
	JSON_NAME("token"), JSON_NAME("timestamp"), JSON_NAME("eventType"),
	JSON_NAME("event"), JSON_NAME("userId"), JSON_NAME("smsUser"),
	JSON_NAME("templateId"), JSON_NAME("message"),
	JSON_NAME("statusCode"), JSON_NAME("smsIds"), JSON_NAME("phones"),
	JSON_NAME("smsId"), JSON_NAME("phone"), JSON_NAME("replyContent"),
	JSON_NAME("replyTime")
};

/* The payload members every line must have; the rest are read leniently. */
static const struct {
	enum line_field	 field;
	struct member	 m;
} required[] = {
	{ PF_TOKEN, { JSON_T(JSON_STRING), C_TOKEN, "payload has no token" } },
	{ PF_TIMESTAMP, { JSON_T(JSON_NUMBER) | JSON_T(JSON_STRING),
	    C_TIMESTAMP, "payload has no timestamp" } },
};

/* The longest line the receiver writes with max_body. */
static unsigned long long
longest(unsigned long long max_body)
{
	/* the envelope, an escaped address: well under 4 KiB */
	return 6 * max_body + 4096;
}

size_t
line_max(unsigned long long max_body)
{
	unsigned long long n = longest(max_body);

	return n > SIZE_MAX ? SIZE_MAX : (size_t)n;	/* 32 bits: 1g */
}

int
line_beyond_any(unsigned long long len)
{
	return len > longest(CONF_MAX_BODY);
}

int
line_stamp_ok(const char *s, size_t n)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	if (n < sizeof(pat))
		return 0;
	for (i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	if (s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
	return i + 1 == n && s[i] == 'Z';
}

/* Does span sp of text pass check c? A string is checked unescaped. */
static int
check_ok(const char *text, const struct json_span *sp, enum check c)
{
	char buf[64];
	const char *s = text + sp->off;
	size_t n = sp->len;
	long long v;

	if (sp->type == JSON_STRING && c != C_NONE && c != C_TOKEN) {
		if (sp->esc) {
			if (sp->len > sizeof(buf))
				return 0;	/* longer than any good value */
			n = json_unescape(text, sp, buf);
			s = buf;
		} else {
			s++;
			n -= 2;
		}
	}
	switch (c) {
	case C_NONE:
		return 1;
	case C_ONE:
		return n == 1 && s[0] == '1';
	case C_STAMP:
		return line_stamp_ok(s, n);
	case C_ENCODING:
		return n == 4 && (memcmp(s, "json", 4) == 0 ||
		    memcmp(s, "form", 4) == 0);
	case C_TOKEN:
		return n > 2;
	case C_TIMESTAMP:
		if (sp->type == JSON_STRING)
			return json_int(s, n, &v) == 0 && v >= 0;
		return s[0] != '-';
	}
	return 0;
}

/* 1 if the (valid) encoding span sp says "json". */
static int
check_json(const char *text, const struct json_span *sp)
{
	char buf[64];

	if (!sp->esc)
		return text[sp->off + 1] == 'j';
	json_unescape(text, sp, buf);
	return buf[0] == 'j';
}

/* NULL if span sp of text is what m wants, else m's reason. */
static const char *
member_ok(const char *text, const struct json_span *sp,
    const struct member *m)
{
	if (!(m->types & JSON_T(sp->type)) || !check_ok(text, sp, m->check))
		return m->why;
	return NULL;
}

const char line_nomem[] = "out of memory";

int
line_parse(struct line *l, const char *text, size_t len, const char **why)
{
	struct json_lex jl;
	size_t i;

	memset(l, 0, sizeof(*l));
	l->text = text;
	l->len = len;
	if (len == 0) {
		*why = "empty line";
		return -1;
	}
	memset(&jl, 0, sizeof(jl));
	jl.top_names = line_member_names;
	jl.ntop = LINE_NMEMBERS;
	jl.top = l->m;
	jl.sub_names = line_field_names;
	jl.nsub = PF_NFIELDS;
	jl.sub_of = LINE_PAYLOAD;
	jl.sub = l->f;
	if (json_lex(text, len, &jl, why) == -1) {
		if (jl.fault == JSON_FAULT_NOMEM)
			*why = line_nomem;
		else if (strcmp(*why, "duplicate member name") != 0)
			*why = !utf8_valid(text, len) ?
			    "invalid UTF-8 or NUL byte" : "not JSON";
		return -1;
	}
	if (jl.root != JSON_OBJECT) {
		*why = envelope[LINE_V].why;
		return -1;
	}
	for (i = 0; i < LINE_NMEMBERS; i++)
		if ((*why = member_ok(text, &l->m[check_order[i]],
		    &envelope[check_order[i]])) != NULL)
			return -1;
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if ((*why = member_ok(text, &l->f[required[i].field],
		    &required[i].m)) != NULL)
			return -1;
	l->encoding = check_json(text, &l->m[LINE_ENCODING]) ? LINE_JSON :
	    LINE_FORM;
	l->verified = l->m[LINE_VERIFIED].type == JSON_TRUE;
	return 0;
}

/* Append s[0..n) at *o. */
static void
put(char **o, const char *s, size_t n)
{
	memcpy(*o, s, n);
	*o += n;
}

/* Append "name": for member m. */
static void
put_name(char **o, enum line_member m)
{
	*(*o)++ = m == LINE_V ? '{' : ',';
	*(*o)++ = '"';
	put(o, line_member_names[m].s, line_member_names[m].n);
	put(o, "\":", 2);
}

size_t
line_format(char **buf, size_t *cap, const struct timespec *now,
    const char *remote_addr, enum line_encoding enc, int verified,
    const char *payload, size_t plen)
{
	char stamp[DAY_STAMP_LEN + 1], *o, *nb;
	size_t alen = strlen(remote_addr), need;

	/* names and fixed values ~110 bytes; an address escapes to 6x */
	need = plen + 6 * alen + 160;	/* and the NUL */
	if (need > *cap) {
		if ((nb = realloc(*buf, need)) == NULL)
			return 0;
		*buf = nb;
		*cap = need;
	}
	day_stamp(now, stamp);
	o = *buf;
	put_name(&o, LINE_V);
	*o++ = '0' + LINE_VERSION;
	put_name(&o, LINE_RECEIVED_AT);
	*o++ = '"';
	put(&o, stamp, DAY_STAMP_LEN);
	*o++ = '"';
	put_name(&o, LINE_REMOTE_ADDR);
	o += json_quote(remote_addr, alen, o);
	put_name(&o, LINE_ENCODING);
	put(&o, enc == LINE_JSON ? "\"json\"" : "\"form\"", 6);
	put_name(&o, LINE_VERIFIED);
	put(&o, verified ? "true" : "false", verified ? 4 : 5);
	put_name(&o, LINE_PAYLOAD);
	put(&o, payload, plen);
	put(&o, "}\n", 3);		/* and a NUL, not counted */
	return (size_t)(o - *buf) - 1;
}
