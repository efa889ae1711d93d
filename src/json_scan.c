/* json_scan.c: one pass over the body; see json_scan.h. Never recurses. */
#include <string.h>

#include "json_scan.h"
#include "utf8.h"

struct scan {
	const unsigned char	*in;
	size_t			 len, i;
	char			*out;
	size_t			 o;
	const char		*why;
};

/* The 4 hex digits after "\u" at s->i; -1 if not hex or truncated. */
static long
u_escape(struct scan *s, size_t at)
{
	long v = 0;
	size_t k;
	int h;

	if (at + 4 > s->len)
		return -1;
	for (k = 0; k < 4; k++) {
		if ((h = hex_value(s->in[at + k])) == -1)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Validate one escape at s->i (the backslash); returns bytes it spans. */
static size_t
escape(struct scan *s)
{
	long u, lo;

	if (s->i + 1 >= s->len)
		return 0;
	if (strchr("\"\\/bfnrt", s->in[s->i + 1]) != NULL && s->in[s->i + 1])
		return 2;
	if (s->in[s->i + 1] != 'u' || (u = u_escape(s, s->i + 2)) == -1)
		return 0;
	if (u == 0)
		return 0;			/* \u0000: no NUL anywhere */
	if (u >= 0xdc00 && u <= 0xdfff)
		return 0;			/* lone low surrogate */
	if (u < 0xd800 || u > 0xdbff)
		return 6;
	if (s->i + 7 >= s->len || s->in[s->i + 6] != '\\' ||
	    s->in[s->i + 7] != 'u' || (lo = u_escape(s, s->i + 8)) == -1 ||
	    lo < 0xdc00 || lo > 0xdfff)
		return 0;			/* high surrogate without low */
	return 12;
}

/* Copy the string starting at the opening quote at s->i. */
static int
string(struct scan *s)
{
	size_t start = s->i++, n;

	while (s->i < s->len) {
		unsigned char c = s->in[s->i];

		if (c == '"') {
			s->i++;
			memcpy(s->out + s->o, s->in + start, s->i - start);
			s->o += s->i - start;
			return 0;
		}
		if (c < 0x20) {
			s->why = c == 0 ? "NUL byte in body" :
			    "control character in a JSON string";
			return -1;
		}
		if (c == '\\')
			n = escape(s);
		else
			n = utf8_seq(s->in + s->i, s->len - s->i);
		if (n == 0) {
			s->why = c == '\\' ? "bad escape in a JSON string" :
			    "invalid UTF-8";
			return -1;
		}
		s->i += n;
	}
	s->why = "unterminated JSON string";
	return -1;
}

/* 1 if c may end a number or a literal (true, false, null). */
static int
word_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

/* Skip a run of digits; returns how many. */
static size_t
digits(struct scan *s)
{
	size_t start = s->i;

	while (s->i < s->len && s->in[s->i] >= '0' && s->in[s->i] <= '9')
		s->i++;
	return s->i - start;
}

/* Copy the number at s->i: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static int
number(struct scan *s)
{
	size_t start = s->i, n;

	if (s->in[s->i] == '-')
		s->i++;
	if (s->i < s->len && s->in[s->i] == '0')
		s->i++;
	else if (digits(s) == 0)
		goto bad;
	if (s->i < s->len && s->in[s->i] == '.') {
		s->i++;
		if (digits(s) == 0)
			goto bad;
	}
	if (s->i < s->len && (s->in[s->i] == 'e' || s->in[s->i] == 'E')) {
		s->i++;
		if (s->i < s->len && (s->in[s->i] == '+' || s->in[s->i] == '-'))
			s->i++;
		if (digits(s) == 0)
			goto bad;
	}
	if (s->i < s->len && s->in[s->i] >= '0' && s->in[s->i] <= '9')
		goto bad;			/* "01" */
	n = s->i - start;
	memcpy(s->out + s->o, s->in + start, n);
	s->o += n;
	return 0;
 bad:
	s->why = "malformed JSON number";
	return -1;
}

int
json_scan(const char *in, size_t len, char *out, size_t *outlen,
    struct json_scan *js, const char **why)
{
	struct scan s = { (const unsigned char *)in, len, 0, out, 0, NULL };
	size_t depth = 0, key_off = 0, key_len = 0, klen;
	int expect_key = 0, capture = 0, spaced = 0;
	unsigned char c;

	klen = js->capture_key != NULL ? strlen(js->capture_key) : 0;
	js->capture_len = 0;
	while (s.i < s.len) {
		c = s.in[s.i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			s.i++;
			spaced = 1;
			continue;
		}
		/* "1 2" or "tr ue" must not become "12" or "true" */
		if (spaced && s.o > 0 && word_char(s.out[s.o - 1]) &&
		    (c == '-' || word_char(c))) {
			s.why = "invalid JSON";
			goto fail;
		}
		spaced = 0;
		if (c == '"') {
			size_t at = s.o;

			if (string(&s) == -1)
				goto fail;
			if (depth == 1 && expect_key) {
				key_off = at + 1;
				key_len = s.o - at - 2;
				expect_key = 0;
			}
			continue;
		}
		if (c == '-' || (c >= '0' && c <= '9')) {
			size_t at = s.o;

			if (number(&s) == -1)
				goto fail;
			if (capture && depth == 1) {
				js->capture_off = at;
				js->capture_len = s.o - at;
			}
			capture = 0;
			continue;
		}
		if (c >= 'a' && c <= 'z') {	/* literals: cJSON checks them */
			s.out[s.o++] = (char)s.in[s.i++];
			continue;
		}
		switch (c) {
		case '{':
		case '[':
			depth++;
			expect_key = depth == 1 && c == '{';
			capture = 0;
			break;
		case '}':
		case ']':
			if (depth-- == 0) {
				s.why = "unbalanced JSON";
				goto fail;
			}
			break;
		case ',':
			expect_key = depth == 1;
			capture = 0;
			break;
		case ':':
			capture = depth == 1 && klen > 0 && key_len == klen &&
			    memcmp(s.out + key_off, js->capture_key, klen) == 0;
			break;
		default:
			s.why = c == 0 ? "NUL byte in body" : c >= 0x80 ?
			    "invalid JSON (non-ASCII outside a string)" :
			    "invalid JSON";
			goto fail;
		}
		s.out[s.o++] = (char)s.in[s.i++];
	}
	s.out[s.o] = '\0';
	*outlen = s.o;
	return 0;
 fail:
	*why = s.why;
	return -1;
}
