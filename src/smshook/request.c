/* request.c: method, client address, length and type, each to a status. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"

void
request_params(struct request *rq, char *const *env)
{
	static const struct {
		const char	*name;
		size_t		 len;
	} vars[] = {
#define VAR(name)	{ name, sizeof(name) - 1 }
		VAR("REQUEST_METHOD"), VAR("CONTENT_TYPE"),
		VAR("CONTENT_LENGTH"), VAR("REMOTE_ADDR"),
		VAR("HTTP_X_FORWARDED_FOR"),
#undef VAR
	};
	const char **field[] = { &rq->method, &rq->content_type,
	    &rq->content_length, &rq->remote_addr, &rq->forwarded_for };
	const char *eq;
	size_t i, n;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		*field[i] = NULL;
	rq->forwarded_twice = 0;
	for (; env != NULL && *env != NULL; env++) {
		if ((eq = strchr(*env, '=')) == NULL)
			continue;
		n = (size_t)(eq - *env);
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (vars[i].len == n &&
			    memcmp(vars[i].name, *env, n) == 0) {
				if (*field[i] == NULL)	/* the first counts */
					*field[i] = eq + 1;
				else if (field[i] == &rq->forwarded_for)
					rq->forwarded_twice = 1;
				break;
			}
	}
}

enum method
request_method(const char *name)
{
	if (name == NULL)
		return M_OTHER;
	if (strcmp(name, "GET") == 0)
		return M_GET;
	if (strcmp(name, "HEAD") == 0)
		return M_HEAD;
	if (strcmp(name, "POST") == 0)
		return M_POST;
	return M_OTHER;
}

/* Parse one address into c; -1 if it is not one. */
static int
client_set(struct client *c, const char *s, size_t n)
{
	if (n == 0 || n >= sizeof(c->text))
		return -1;
	memcpy(c->text, s, n);
	c->text[n] = '\0';
	return cidr_addr_parse(c->text, c->addr);
}

/* 1 if s[0..n) is ":" and a port number, 1 to 5 digits. */
static int
port_text(const char *s, size_t n)
{
	size_t i;

	if (n < 2 || n > 6 || s[0] != ':')
		return 0;
	for (i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * One X-Forwarded-For hop into c, as proxies write them: an address, an
 * IPv4 address with a port ("a.b.c.d:port"), or an IPv6 address in
 * brackets with or without one; -1 if it is none of these.
 */
static int
hop_set(struct client *c, const char *s, size_t n)
{
	const char *close, *colon;

	if (n > 0 && s[0] == '[') {
		if ((close = memchr(s, ']', n)) == NULL ||
		    (close + 1 < s + n && !port_text(close + 1,
		    (size_t)(s + n - close - 1))))
			return -1;
		return client_set(c, s + 1, (size_t)(close - s - 1));
	}
	if ((colon = memchr(s, ':', n)) != NULL &&
	    memchr(colon + 1, ':', (size_t)(s + n - colon - 1)) == NULL) {
		if (!port_text(colon, (size_t)(s + n - colon)))
			return -1;
		n = (size_t)(colon - s);	/* one colon: IPv4 and port */
	}
	return client_set(c, s, n);
}

int
request_client(const struct conf *cf, const struct request *rq,
    struct client *c)
{
	const char *xff = rq->forwarded_for, *end, *start, *seg;
	struct client hop;

	if (rq->remote_addr == NULL ||
	    client_set(c, rq->remote_addr, strlen(rq->remote_addr)) == -1)
		return -1;
	if (xff == NULL || !cidr_list_match(&cf->trusted_proxies, c->addr))
		return 0;
	if (rq->forwarded_twice)
		return -1;	/* which line did the proxy write? */
	end = xff + strlen(xff);
	while (end > xff && isspace((unsigned char)end[-1]))
		end--;			/* an empty header: none */
	/* walk right to left while the hops are trusted proxies */
	while (end > xff) {
		start = end;
		while (start > xff && start[-1] != ',')
			start--;
		seg = start;
		while (start < end && isspace((unsigned char)*start))
			start++;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		/* what the proxies vouch for is not an address: unknown */
		if (hop_set(&hop, start, (size_t)(end - start)) == -1)
			return -1;
		*c = hop;
		if (!cidr_list_match(&cf->trusted_proxies, hop.addr))
			break;
		end = seg > xff ? seg - 1 : xff;	/* before the comma */
	}
	return 0;
}

int
request_length(const struct request *rq, unsigned long long max, size_t *len,
    int *known)
{
	const char *s = rq->content_length;
	unsigned long long v = 0;

	*len = 0;
	*known = s != NULL && *s != '\0';
	if (!*known)
		return 0;
	for (; *s >= '0' && *s <= '9'; s++)
		if (v <= max)		/* past max: no more, and no overflow */
			v = v * 10 + (unsigned long long)(*s - '0');
	if (*s != '\0')
		return 400;		/* not a number, however long */
	if (v > max)
		return 413;
	*len = (size_t)v;
	return 0;
}

/*
 * Make room in b for have bytes, a NUL and, below most bytes in all, one
 * more byte: grown to step, or to twice its size once it has that, never
 * past most. 0, or -1 out of memory.
 */
static int
body_grow(struct request_buf *b, size_t have, size_t step, size_t most)
{
	size_t need = have + 2 < most ? have + 2 : most;
	size_t n = b->cap >= step ? b->cap * 2 : step;
	char *p;

	if (need <= b->cap)
		return 0;
	if (n > most)
		n = most;
	if (n < need)
		n = need;
	if ((p = realloc(b->p, n)) == NULL)
		return -1;
	b->p = p;
	b->cap = n;
	return 0;
}

int
request_body(const struct request *rq, struct request_buf *b, size_t want,
    int known, unsigned long long max, size_t *got)
{
	size_t limit = known ? want + (rq->ends_body != 0) : (size_t)max + 1;
	/* a known length at once; an unknown one as it comes */
	size_t step = known ? limit + 1 : REQUEST_BUF_STEP;
	ssize_t n;

	*got = 0;
	do {
		if (body_grow(b, *got, step, limit + 1) == -1)
			return -1;
		if (*got == limit)
			break;
		if ((n = rq->read(rq->io, b->p + *got, (limit < b->cap - 1 ?
		    limit : b->cap - 1) - *got)) == -1)
			return 500;
		*got += (size_t)n;
	} while (n > 0);
	if (known && *got > want)
		*got = want;		/* past Content-Length: not the body */
	b->p[*got] = '\0';
	if (known && *got < want)
		return 400;
	if (!known && *got > max)
		return 413;
	return 0;
}

/*
 * 1 if the media type of ct is t: t, then only spaces or tabs before the
 * end or a ';' and its parameters.
 */
static int
media_is(const char *ct, const char *t)
{
	size_t n = strlen(t);

	if (strncasecmp(ct, t, n) != 0)
		return 0;
	ct += n;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

int
request_encoding(const char *ct, const char *body, size_t len,
    enum line_encoding *enc)
{
	size_t i;

	if (ct == NULL || *ct == '\0') {	/* sniff: JSON starts with { */
		for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
			;
		*enc = i < len && body[i] == '{' ? LINE_JSON : LINE_FORM;
		return 0;
	}
	if (media_is(ct, "application/json") || media_is(ct, "text/json")) {
		*enc = LINE_JSON;
		return 0;
	}
	if (media_is(ct, "application/x-www-form-urlencoded")) {
		*enc = LINE_FORM;
		return 0;
	}
	return 415;
}
