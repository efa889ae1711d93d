/*
 * test_request.c: the checks on what a transport hands over: method,
 * CONTENT_LENGTH, the body read, CONTENT_TYPE, and the client address
 * behind trusted proxies.
 */
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

#include "mallocfail.h"

/* The five variables in one pass: exact names, the first one wins. */
static void
test_params(void **state)
{
	char *env[] = {
		"CONTENT_TYPEX=no", "REQUEST_METHO=no", "CONTENT_LENGTH",
		"XCONTENT_LENGTH=no", "REQUEST_METHOD=POST",
		"CONTENT_TYPE=application/json", "REQUEST_METHOD=GET",
		"CONTENT_LENGTH=", "HTTP_X_FORWARDED_FOR=a=b, c",
		"REMOTE_ADDR=203.0.113.9", "REMOTE_ADDR=198.51.100.1", NULL
	};
	char *none[] = { "PATH=/bin", "=x", "", NULL };
	char *twice[] = { "HTTP_X_FORWARDED_FOR=203.0.113.5",
		"HTTP_X_FORWARDED_FORX=no", "HTTP_X_FORWARDED_FOR=198.51.100.7",
		NULL };
	struct request rq;

	(void)state;
	memset(&rq, 0xa5, sizeof(rq));
	request_params(&rq, env);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.content_type, "application/json");
	assert_string_equal(rq.content_length, "");
	assert_string_equal(rq.remote_addr, "203.0.113.9");
	assert_string_equal(rq.forwarded_for, "a=b, c");
	assert_int_equal(rq.forwarded_twice, 0);
	/* a second X-Forwarded-For is seen, not taken */
	memset(&rq, 0xa5, sizeof(rq));
	request_params(&rq, twice);
	assert_string_equal(rq.forwarded_for, "203.0.113.5");
	assert_int_equal(rq.forwarded_twice, 1);
	twice[2] = "HTTP_X_FORWARDED_FO=no";
	request_params(&rq, twice);
	assert_int_equal(rq.forwarded_twice, 0);
	memset(&rq, 0xa5, sizeof(rq));
	request_params(&rq, none);
	assert_null(rq.method);
	assert_null(rq.content_type);
	assert_null(rq.content_length);
	assert_null(rq.remote_addr);
	assert_null(rq.forwarded_for);
	memset(&rq, 0xa5, sizeof(rq));
	request_params(&rq, NULL);
	assert_null(rq.method);
}

static void
test_method(void **state)
{
	(void)state;
	assert_int_equal(request_method("GET"), M_GET);
	assert_int_equal(request_method("HEAD"), M_HEAD);
	assert_int_equal(request_method("POST"), M_POST);
	assert_int_equal(request_method("PUT"), M_OTHER);
	assert_int_equal(request_method("DELETE"), M_OTHER);
	assert_int_equal(request_method("OPTIONS"), M_OTHER);
	assert_int_equal(request_method("get"), M_OTHER);
	assert_int_equal(request_method("POSTX"), M_OTHER);
	assert_int_equal(request_method(""), M_OTHER);
	assert_int_equal(request_method(NULL), M_OTHER);
}

static void
test_length(void **state)
{
	static const struct {
		const char		*cl;
		unsigned long long	 max;
		int			 status;
		int			 known;
		size_t			 len;
	} cases[] = {
		{ NULL, 100, 0, 0, 0 },
		{ "", 100, 0, 0, 0 },
		{ "0", 100, 0, 1, 0 },
		{ "10", 100, 0, 1, 10 },
		{ "0010", 100, 0, 1, 10 },
		{ "100", 100, 0, 1, 100 },
		{ "101", 100, 413, 1, 0 },
		{ "1048576", 1048576, 0, 1, 1048576 },
		{ "1048577", 1048576, 413, 1, 0 },
		{ "1073741824", 1073741824ULL, 0, 1, 1073741824 },
		{ "1073741825", 1073741824ULL, 413, 1, 0 },
		{ "abc", 100, 400, 1, 0 },
		{ "-1", 100, 400, 1, 0 },
		{ "+5", 100, 400, 1, 0 },
		{ "1e3", 100, 400, 1, 0 },
		{ " 10", 100, 400, 1, 0 },
		{ "10 ", 100, 400, 1, 0 },
		{ "0x10", 100, 400, 1, 0 },
		{ "1.0", 100, 400, 1, 0 },
		/* 30 digits: too large, and no wrap-around to something small */
		{ "123456789012345678901234567890", 1048576, 413, 1, 0 },
		{ "18446744073709551616", 1048576, 413, 1, 0 },
		{ "18446744073709551626", 1073741824ULL, 413, 1, 0 },
		{ "000000000000000000000000000010", 100, 0, 1, 10 },
		/* not a number, however large its digits before the rest */
		{ "99999999999abc", 1048576, 400, 1, 0 },
		{ "123456789012345678901234567890 ", 1048576, 400, 1, 0 },
	};
	struct request rq;
	size_t i, len;
	int known, st;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&rq, 0, sizeof(rq));
		rq.content_length = cases[i].cl;
		len = 12345;
		known = -1;
		st = request_length(&rq, cases[i].max, &len, &known);
		if (st != cases[i].status)
			fail_msg("\"%s\": status %d, wanted %d", cases[i].cl ?
			    cases[i].cl : "(null)", st, cases[i].status);
		if (st == 0) {
			assert_int_equal(known, cases[i].known);
			assert_int_equal(len, cases[i].len);
		}
	}
}

/* A body source that hands out at most chunk bytes per call. */
struct fake {
	const char	*data;
	size_t		 len, off, chunk;
	int		 fail_at;	/* fail on this call (1-based), or 0 */
	int		 calls;
};

static ssize_t
fake_read(void *io, char *buf, size_t len)
{
	struct fake *f = io;
	size_t n = f->len - f->off;

	f->calls++;
	if (f->fail_at != 0 && f->calls == f->fail_at)
		return -1;
	if (n > len)
		n = len;
	if (n > f->chunk)
		n = f->chunk;
	memcpy(buf, f->data + f->off, n);
	f->off += n;
	return (ssize_t)n;
}

/*
 * request_body over data in chunks, the transport marking the end or not,
 * into a fresh buffer; what it holds copied to buf (64 bytes or more).
 */
static int
read_body_as(int ends_body, const char *data, size_t chunk, int known,
    size_t want, unsigned long long max, char *buf, size_t *got,
    struct fake *f)
{
	struct request_buf b = { NULL, 0 };
	struct request rq;
	int rc;

	memset(&rq, 0, sizeof(rq));
	memset(f, 0, sizeof(*f));
	f->data = data;
	f->len = strlen(data);
	f->chunk = chunk;
	rq.read = fake_read;
	rq.io = f;
	rq.ends_body = ends_body;
	rc = request_body(&rq, &b, want, known, max, got);
	if (rc != -1) {
		assert_true(*got < b.cap && *got < 64);
		memcpy(buf, b.p, *got + 1);
	}
	free(b.p);
	return rc;
}

static int
read_body(const char *data, size_t chunk, int known, size_t want,
    unsigned long long max, char *buf, size_t *got, struct fake *f)
{
	return read_body_as(0, data, chunk, known, want, max, buf, got, f);
}

static void
test_body(void **state)
{
	const char *data = "{\"token\":\"abc\",\"timestamp\":1}";
	size_t n = strlen(data), got;
	char buf[256];
	struct fake f;

	(void)state;
	/* exact read, in 3-byte chunks */
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(read_body(data, 3, 1, n, 100, buf, &got, &f), 0);
	assert_int_equal(got, n);
	assert_string_equal(buf, data);
	assert_true(f.calls >= (int)(n / 3));

	/* a known length shorter than what is there: only that much */
	assert_int_equal(read_body(data, 7, 1, 5, 100, buf, &got, &f), 0);
	assert_int_equal(got, 5);
	assert_string_equal(buf, "{\"tok");
	assert_int_equal(f.off, 5);

	/* short body: fewer bytes than CONTENT_LENGTH */
	assert_int_equal(read_body(data, 4, 1, n + 10, 100, buf, &got, &f),
	    400);
	assert_int_equal(got, n);
	assert_int_equal(buf[got], '\0');

	/* unknown length: to the end */
	assert_int_equal(read_body(data, 1, 0, 0, 100, buf, &got, &f), 0);
	assert_int_equal(got, n);
	assert_string_equal(buf, data);

	/* unknown length exactly max, then one over */
	assert_int_equal(read_body(data, 5, 0, 0, n, buf, &got, &f), 0);
	assert_int_equal(got, n);
	assert_int_equal(read_body(data, 5, 0, 0, n - 1, buf, &got, &f), 413);
	assert_int_equal(got, n);	/* stopped at max + 1 */
	assert_int_equal(buf[got], '\0');
	/* far over max: stops reading at max + 1 */
	assert_int_equal(read_body(data, 2, 0, 0, 4, buf, &got, &f), 413);
	assert_int_equal(got, 5);
	assert_int_equal(f.off, 5);

	/* read errors */
	f.fail_at = 0;
	{
		struct request_buf b = { NULL, 0 };
		struct request rq;

		memset(&rq, 0, sizeof(rq));
		memset(&f, 0, sizeof(f));
		f.data = data;
		f.len = n;
		f.chunk = 4;
		f.fail_at = 3;
		rq.read = fake_read;
		rq.io = &f;
		assert_int_equal(request_body(&rq, &b, n, 1, 100, &got), 500);
		memset(&f, 0, sizeof(f));
		f.data = data;
		f.len = n;
		f.chunk = 4;
		f.fail_at = 2;
		assert_int_equal(request_body(&rq, &b, 0, 0, 100, &got), 500);
		free(b.p);
	}

	/* empty body with a zero length */
	assert_int_equal(read_body("", 4, 1, 0, 100, buf, &got, &f), 0);
	assert_int_equal(got, 0);
	assert_string_equal(buf, "");
}

/* Make f hand out data (len bytes) in 4096-byte pieces from its start. */
static void
feed(struct fake *f, const char *data, size_t len)
{
	memset(f, 0, sizeof(*f));
	f->data = data;
	f->len = len;
	f->chunk = 4096;
}

/*
 * The buffer grows with what comes: without a length, a short body under
 * a max_body of 1 GiB takes REQUEST_BUF_STEP, not the max (Apache's CGI
 * passes chunked bodies so, under a memory limit); a long one doubles it
 * as needed, read whole; a known length is made room for at once.
 */
static void
test_body_grows(void **state)
{
	struct request_buf b = { NULL, 0 };
	struct request rq;
	struct fake f;
	size_t n = 200000, got;
	char *data;

	(void)state;
	assert_non_null(data = malloc(n + 1));
	memset(data, 'a', n);
	data[n] = '\0';
	memset(&rq, 0, sizeof(rq));
	rq.read = fake_read;
	rq.io = &f;
	feed(&f, "{}", 2);
	assert_int_equal(request_body(&rq, &b, 0, 0, 1ULL << 30, &got), 0);
	assert_int_equal(got, 2);
	assert_int_equal(b.cap, REQUEST_BUF_STEP);
	assert_string_equal(b.p, "{}");
	feed(&f, data, n);
	assert_int_equal(request_body(&rq, &b, 0, 0, 1ULL << 30, &got), 0);
	assert_int_equal(got, n);
	assert_int_equal(b.cap, 4 * REQUEST_BUF_STEP);
	assert_int_equal(strlen(b.p), n);
	/* kept for the next request, and not shrunk: a known length fits */
	feed(&f, data, n);
	assert_int_equal(request_body(&rq, &b, 100, 1, 1ULL << 30, &got), 0);
	assert_int_equal(got, 100);
	assert_int_equal(b.cap, 4 * REQUEST_BUF_STEP);
	free(b.p);
	/* a known length in one go: its bytes and a NUL */
	b.p = NULL;
	b.cap = 0;
	feed(&f, data, n);
	assert_int_equal(request_body(&rq, &b, 1000, 1, 1ULL << 30, &got), 0);
	assert_int_equal(b.cap, 1001);
	/* out of memory: -1 */
	free(b.p);
	b.p = NULL;
	b.cap = 0;
	feed(&f, data, n);
	if (mallocfail_works()) {
		fail_in = 1;	/* the first doubling */
		assert_int_equal(request_body(&rq, &b, 0, 0, 1ULL << 30, &got),
		    -1);
		fail_in = -1;
	}
	free(b.p);
	free(data);
}

/*
 * A transport that marks the body's end (FastCGI) has a known length read
 * one byte past, so the end is seen; a byte past Content-Length is read
 * but never part of the body.
 */
static void
test_body_end(void **state)
{
	const char *data = "{\"token\":\"abc\"}";
	size_t n = strlen(data), got, chunk;
	char buf[64];
	struct fake f;

	(void)state;
	for (chunk = 1; chunk <= n + 1; chunk++) {
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(read_body_as(1, data, chunk, 1, n, 100, buf,
		    &got, &f), 0);
		assert_int_equal(got, n);
		assert_string_equal(buf, data);
		/* the last call was the one that saw the end */
		assert_int_equal(f.calls, (int)((n + chunk - 1) / chunk) + 1);

		/* more than Content-Length said: one byte past, not kept */
		assert_int_equal(read_body_as(1, data, chunk, 1, 5, 100, buf,
		    &got, &f), 0);
		assert_int_equal(got, 5);
		assert_string_equal(buf, "{\"tok");
		assert_int_equal(f.off, 6);

		/* still short: 400 */
		assert_int_equal(read_body_as(1, data, chunk, 1, n + 1, 100,
		    buf, &got, &f), 400);
		assert_int_equal(got, n);
	}
}

static void
test_encoding(void **state)
{
	static const struct {
		const char	*ct;
		const char	*body;
		int		 status;
		int		 enc;
	} cases[] = {
		{ "application/json", "{}", 0, LINE_JSON },
		{ "application/json; charset=utf-8", "a=b", 0, LINE_JSON },
		{ "application/json;charset=UTF-8", "{}", 0, LINE_JSON },
		{ "Application/JSON", "{}", 0, LINE_JSON },
		{ "text/json", "{}", 0, LINE_JSON },
		{ "text/json; charset=utf-8", "{}", 0, LINE_JSON },
		{ "application/x-www-form-urlencoded", "a=b", 0, LINE_FORM },
		{ "application/x-www-form-urlencoded; charset=UTF-8", "{}", 0,
		  LINE_FORM },
		{ NULL, "{\"a\":1}", 0, LINE_JSON },
		{ NULL, " \r\n\t{\"a\":1}", 0, LINE_JSON },
		{ "", "{\"a\":1}", 0, LINE_JSON },
		{ NULL, "token=a&timestamp=1", 0, LINE_FORM },
		{ "", "token=a", 0, LINE_FORM },
		{ NULL, "[1]", 0, LINE_FORM },
		{ "text/xml", "<a/>", 415, 0 },
		{ "application/xml", "<a/>", 415, 0 },
		{ "multipart/form-data; boundary=xyz", "--xyz", 415, 0 },
		{ "text/plain", "{}", 415, 0 },
		{ "application/jsonx", "{}", 415, 0 },
		{ "application/json-patch+json", "{}", 415, 0 },
		{ "application/x-www-form-urlencodedx", "a=b", 415, 0 },
		{ "application", "{}", 415, 0 },
		{ "application/json x", "{}", 415, 0 },
		{ "application/json\tnot/a-type", "{}", 415, 0 },
		{ "text/json ;", "{}", 0, LINE_JSON },
		{ "application/json \t; charset=utf-8", "{}", 0, LINE_JSON },
		{ "application/x-www-form-urlencoded garbage", "a=b", 415, 0 },
		{ "application/x-www-form-urlencoded ", "a=b", 0, LINE_FORM },
	};
	enum line_encoding enc;
	size_t i;
	int st;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enc = (enum line_encoding)-1;
		st = request_encoding(cases[i].ct, cases[i].body,
		    strlen(cases[i].body), &enc);
		if (st != cases[i].status)
			fail_msg("\"%s\": status %d, wanted %d", cases[i].ct ?
			    cases[i].ct : "(null)", st, cases[i].status);
		if (st == 0 && (int)enc != cases[i].enc)
			fail_msg("\"%s\" / %s: wrong encoding", cases[i].ct ?
			    cases[i].ct : "(null)", cases[i].body);
	}
}

static void
check_client(const struct conf *cf, const char *remote, const char *xff,
    int rc, const char *want)
{
	struct request rq;
	struct client c;
	int got;

	memset(&rq, 0, sizeof(rq));
	memset(&c, 0, sizeof(c));
	rq.remote_addr = remote;
	rq.forwarded_for = xff;
	got = request_client(cf, &rq, &c);
	if (got != rc)
		fail_msg("%s via \"%s\": rc %d, wanted %d", remote ? remote :
		    "(null)", xff ? xff : "(null)", got, rc);
	if (rc == 0 && strcmp(c.text, want) != 0)
		fail_msg("%s via \"%s\": client %s, wanted %s", remote ?
		    remote : "(null)", xff ? xff : "(null)", c.text, want);
}

static void
test_client(void **state)
{
	struct conf cf;
	struct client c;
	struct request rq;
	char bad[64];

	(void)state;
	memset(&cf, 0, sizeof(cf));
	/* no trusted proxies: REMOTE_ADDR, whatever X-Forwarded-For says */
	check_client(&cf, "203.0.113.9", NULL, 0, "203.0.113.9");
	check_client(&cf, "203.0.113.9", "198.51.100.1", 0, "203.0.113.9");
	check_client(&cf, "2001:db8::1", "198.51.100.1", 0, "2001:db8::1");
	check_client(&cf, NULL, "198.51.100.1", -1, NULL);
	check_client(&cf, "", NULL, -1, NULL);
	check_client(&cf, "not-an-address", NULL, -1, NULL);
	check_client(&cf, "203.0.113.9:443", NULL, -1, NULL);
	check_client(&cf, "256.1.1.1", NULL, -1, NULL);

	assert_int_equal(cidr_list_add(&cf.trusted_proxies,
	    "10.0.0.0/8, ::1, 2001:db8:ffff::/48", bad, sizeof(bad)), 0);
	/* untrusted REMOTE_ADDR: its X-Forwarded-For is not believed */
	check_client(&cf, "203.0.113.9", "198.51.100.1", 0, "203.0.113.9");
	check_client(&cf, "11.0.0.1", "198.51.100.1", 0, "11.0.0.1");
	/* trusted: the rightmost address that is not a trusted proxy */
	check_client(&cf, "10.0.0.1", "198.51.100.1", 0, "198.51.100.1");
	check_client(&cf, "10.0.0.1", "198.51.100.1,203.0.113.9", 0,
	    "203.0.113.9");
	check_client(&cf, "10.0.0.1", "198.51.100.1, 203.0.113.9, 10.1.2.3",
	    0, "203.0.113.9");
	check_client(&cf, "10.0.0.1", "198.51.100.1 ,\t10.1.2.3 , 10.9.9.9",
	    0, "198.51.100.1");
	check_client(&cf, "10.0.0.1", "  198.51.100.1  ", 0, "198.51.100.1");
	/* the client may put anything on the left: it is not believed */
	check_client(&cf, "10.0.0.1", "1.1.1.1, 2.2.2.2, 203.0.113.9", 0,
	    "203.0.113.9");
	/* every hop a trusted proxy: the leftmost one */
	check_client(&cf, "10.0.0.1", "10.0.0.3, 10.0.0.2", 0, "10.0.0.3");
	/*
	 * a hop the proxies vouch for that is not an address: the client
	 * is unknown (never the proxy taken for it); the client's own
	 * garbage on the left is not read
	 */
	check_client(&cf, "10.0.0.1", "garbage", -1, NULL);
	check_client(&cf, "10.0.0.1", "198.51.100.1, garbage", -1, NULL);
	check_client(&cf, "10.0.0.1", "198.51.100.1, garbage, 10.0.0.7", -1,
	    NULL);
	check_client(&cf, "10.0.0.1", "garbage, 198.51.100.1", 0,
	    "198.51.100.1");
	check_client(&cf, "10.0.0.1", ",", -1, NULL);
	check_client(&cf, "10.0.0.1", "198.51.100.1,", -1, NULL);
	/* an empty header: none */
	check_client(&cf, "10.0.0.1", "", 0, "10.0.0.1");
	check_client(&cf, "10.0.0.1", " \t ", 0, "10.0.0.1");
	/* ports, and IPv6 in brackets, as some proxies write hops */
	check_client(&cf, "10.0.0.1", "203.0.113.9:1234", 0, "203.0.113.9");
	check_client(&cf, "10.0.0.1", "203.0.113.9:1234, 10.0.0.7:80", 0,
	    "203.0.113.9");
	check_client(&cf, "10.0.0.1", "[2001:db8::5]:443", 0, "2001:db8::5");
	check_client(&cf, "10.0.0.1", "203.0.113.9:", -1, NULL);
	check_client(&cf, "10.0.0.1", "203.0.113.9:123456", -1, NULL);
	check_client(&cf, "10.0.0.1", "203.0.113.9:80x", -1, NULL);
	check_client(&cf, "10.0.0.1", "[2001:db8::5", -1, NULL);
	check_client(&cf, "10.0.0.1", "[2001:db8::5]x", -1, NULL);
	check_client(&cf, "10.0.0.1", "[203.0.113.9:80]", -1, NULL);
	check_client(&cf, "10.0.0.1", "[]", -1, NULL);
	/* IPv6 proxies and clients */
	check_client(&cf, "::1", "2001:db8::5", 0, "2001:db8::5");
	check_client(&cf, "::1", "2001:db8::5, 2001:db8:ffff::9", 0,
	    "2001:db8::5");
	check_client(&cf, "2001:db8:ffff::1", "203.0.113.9, ::1", 0,
	    "203.0.113.9");
	check_client(&cf, "::1", "[2001:db8::5]", 0, "2001:db8::5");
	check_client(&cf, "::2", "2001:db8::5", 0, "::2");
	/* an IPv4-mapped REMOTE_ADDR is the IPv4 proxy */
	check_client(&cf, "::ffff:10.0.0.1", "198.51.100.1", 0,
	    "198.51.100.1");

	/*
	 * X-Forwarded-For twice (a second line, or one spelt
	 * X_Forwarded_For, passed on under the same name): the client's own
	 * may be the first, so from a trusted proxy the client is unknown;
	 * from another address, neither is read
	 */
	memset(&rq, 0, sizeof(rq));
	rq.remote_addr = "10.0.0.1";
	rq.forwarded_for = "203.0.113.5";
	rq.forwarded_twice = 1;
	assert_int_equal(request_client(&cf, &rq, &c), -1);
	rq.remote_addr = "198.51.100.7";
	assert_int_equal(request_client(&cf, &rq, &c), 0);
	assert_string_equal(c.text, "198.51.100.7");

	/* the address bytes, not only the text */
	memset(&rq, 0, sizeof(rq));
	rq.remote_addr = "10.0.0.1";
	rq.forwarded_for = "198.51.100.1";
	assert_int_equal(request_client(&cf, &rq, &c), 0);
	assert_int_equal(c.addr[10], 0xff);
	assert_int_equal(c.addr[11], 0xff);
	assert_int_equal(c.addr[12], 198);
	assert_int_equal(c.addr[15], 1);
	cidr_list_free(&cf.trusted_proxies);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_method),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_body_grows),
		cmocka_unit_test(test_body_end),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
