/*
 * test_handler.c: handle() against the HTTP contract of smshook(8), HTTP
 * ANSWERS, through a fake request over a temporary config and spool; then
 * the header block (response_head) and the spool line (line_format).
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "counters.h"
#include "day.h"
#include "mallocfail.h"
#include "payload.h"
#include "line.h"
#include "response.h"
#include "server.h"
#include "spool.h"
#include "testutil.h"

#define KEY	"test-app-key-0123456789"
#define KEY2	"rotated-key-ABCDEFGHIJ"
#define CLIENT	"203.0.113.9"

/*
 * OpenSSL's EVP_MAC_final, in front of the library's: fails while
 * mac_fails is set (a MAC that cannot be computed), else the real one.
 */
static int mac_fails;

int
EVP_MAC_final(EVP_MAC_CTX *ctx, unsigned char *out, size_t *outl,
    size_t outsize)
{
	static int (*real)(EVP_MAC_CTX *, unsigned char *, size_t *, size_t);

	if (mac_fails)
		return 0;
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "EVP_MAC_final");
	return real(ctx, out, outl, outsize);
}

struct fixture {
	char		 tmp[64];
	char		 spool[96];
	char		 conf[96];
	char		 logpath[96];
	struct server	 s;
	int		 up;
	char		 log[8192];	/* stderr of the last call */
	int		 seq;		/* for unique tokens */
	int		 ends_body;	/* the transport marks the end (FastCGI) */
};

/* The body a fake request hands out, in small pieces. */
struct io {
	const char	*data;
	size_t		 len, off;
};

/*
 * clock_gettime of this test program, in front of the C library's: the
 * real time moved on by clock_shift_ms, or stopped at clock_fixed_ms,
 * for the receiver's clock.
 */
static long long clock_shift_ms;
static long long clock_fixed_ms;	/* not 0: the real time, stopped */

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	long long ns;

	if (syscall(SYS_clock_gettime, id, ts) == -1)
		return -1;
	if (id == CLOCK_REALTIME && clock_fixed_ms != 0) {
		ts->tv_sec = (time_t)(clock_fixed_ms / 1000);
		ts->tv_nsec = (long)(clock_fixed_ms % 1000) * 1000000L;
	} else if (id == CLOCK_REALTIME && clock_shift_ms != 0) {
		ns = ts->tv_sec * 1000000000LL + ts->tv_nsec +
		    clock_shift_ms * 1000000LL;
		ts->tv_sec = (time_t)(ns / 1000000000LL);
		ts->tv_nsec = (long)(ns % 1000000000LL);
	}
	return 0;
}

static ssize_t
io_read(void *v, char *buf, size_t len)
{
	struct io *io = v;
	size_t n = io->len - io->off;

	if (n > len)
		n = len;
	if (n > 7)
		n = 7;
	memcpy(buf, io->data + io->off, n);
	io->off += n;
	return (ssize_t)n;
}

static int
setup(void **state)
{
	struct fixture *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/test_handler.XXXXXX");
	if (mkdtemp(f->tmp) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->tmp);
	snprintf(f->conf, sizeof(f->conf), "%s/smshook.conf", f->tmp);
	snprintf(f->logpath, sizeof(f->logpath), "%s/stderr", f->tmp);
	umask(027);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	clock_shift_ms = 0;
	clock_fixed_ms = 0;
	if (f->up)
		server_free(&f->s);
	test_rmtree(f->tmp);
	free(f);
	return 0;
}

/* (Re)start the server on a config of spool_dir plus the given lines. */
static void
start(struct fixture *f, const char *lines)
{
	char err[512];
	FILE *fp;

	if (f->up)
		server_free(&f->s);
	f->up = 0;
	fp = fopen(f->conf, "w");
	assert_non_null(fp);
	assert_int_equal(fchmod(fileno(fp), 0600), 0);
	fprintf(fp, "# test\nspool_dir = %s\n%s%s\n", f->spool,
	    strstr(lines, "fsync") == NULL ? "fsync = no\n" : "", lines);
	fclose(fp);
	if (server_init(&f->s, f->conf, err, sizeof(err)) != 0)
		fail_msg("server_init: %s", err);
	server_spool(&f->s);
	f->up = 1;
}

/* hex(HMAC-SHA256(key, ts + token)), computed apart from verify.c. */
static void
sign(const char *key, const char *ts, const char *tok, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE], msg[512];
	unsigned int n = 0, i;
	size_t tl = strlen(ts), kl = strlen(tok);

	assert_true(tl + kl < sizeof(msg));
	memcpy(msg, ts, tl);
	memcpy(msg + tl, tok, kl);
	assert_non_null(HMAC(EVP_sha256(), key, (int)strlen(key), msg, tl + kl,
	    mac, &n));
	assert_int_equal(n, 32);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A signed delivered event (compact JSON) carrying token tok. */
static void
event_tok(const char *key, long long ms, char *body, size_t cap,
    const char *tok)
{
	char ts[32], sig[65];

	snprintf(ts, sizeof(ts), "%lld", ms);
	if (key != NULL)
		sign(key, ts, tok, sig);
	snprintf(body, cap, "{\"event\":\"Delivered\",\"eventType\":20,"
	    "\"smsId\":\"1652117371408_19999_376_4631_qrwnpq$13888888888\","
	    "\"msgCount\":1.50e3,\"userId\":12345678901234567890,"
	    "\"timestamp\":%s,\"token\":\"%s\"%s%s%s}", ts, tok,
	    key != NULL ? ",\"signature\":\"" : "", key != NULL ? sig : "",
	    key != NULL ? "\"" : "");
}

/* A signed delivered event (compact JSON); a new token out in tok. */
static void
event(struct fixture *f, const char *key, long long ms, char *body,
    size_t cap, char tok[64])
{
	snprintf(tok, 64, "tok%02d-%040d", f->seq++, 7);
	event_tok(key, ms, body, cap, tok);
}

/*
 * Run one request; stderr goes to f->log meanwhile. cl is the
 * CONTENT_LENGTH text, "auto" for the body's length.
 */
static int
call(struct fixture *f, const char *method, const char *ct, const char *cl,
    const char *body, const char *remote, struct response *rs)
{
	struct request rq;
	struct io io = { body != NULL ? body : "", 0, 0 };
	char len[32];
	int saved, fd, st;
	ssize_t n;

	io.len = strlen(io.data);
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.content_type = ct;
	if (cl != NULL && strcmp(cl, "auto") == 0) {
		snprintf(len, sizeof(len), "%zu", io.len);
		cl = len;
	}
	rq.content_length = cl;
	rq.remote_addr = remote != NULL ? remote : CLIENT;
	rq.read = io_read;
	rq.io = &io;
	rq.ends_body = f->ends_body;
	fflush(stderr);
	saved = dup(2);
	fd = open(f->logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(saved != -1 && fd != -1);
	dup2(fd, 2);
	st = handle(&f->s, &rq, rs);
	handle_count(&f->s, rs);	/* as the transport does, answered */
	dup2(saved, 2);
	close(saved);
	n = pread(fd, f->log, sizeof(f->log) - 1, 0);
	f->log[n > 0 ? n : 0] = '\0';
	close(fd);
	assert_int_equal(st, rs->status);
	assert_non_null(rs->body);
	assert_int_equal(strlen(rs->body), rs->body_len);
	return st;
}

static int
post(struct fixture *f, const char *body, struct response *rs)
{
	return call(f, "POST", "application/json", "auto", body, NULL, rs);
}

/* Concatenation of every day file in the spool (NULL if none). */
static char *
spool_text(const struct fixture *f, size_t *nlines)
{
	DIR *d;
	struct dirent *e;
	char path[512], *all = NULL, buf[4096];
	size_t len = 0, k;
	ssize_t n;
	int fd;

	*nlines = 0;
	if ((d = opendir(f->spool)) == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);

		if (nl < 6 || strcmp(e->d_name + nl - 6, ".jsonl") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->spool, e->d_name);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			all = realloc(all, len + (size_t)n + 1);
			assert_non_null(all);
			memcpy(all + len, buf, (size_t)n);
			len += (size_t)n;
			all[len] = '\0';
		}
		close(fd);
	}
	closedir(d);
	for (k = 0; k < len; k++)
		if (all[k] == '\n')
			(*nlines)++;
	return all;
}

static size_t
spool_count(const struct fixture *f)
{
	size_t n;

	free(spool_text(f, &n));
	return n;
}

/* Names in the spool dir other than . and .. */
static int
spool_entries(const struct fixture *f)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if ((d = opendir(f->spool)) == NULL)
		return 0;
	/* the receiver's answer counters are not spool content */
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    strcmp(e->d_name, COUNTERS_FILE) != 0)
			n++;
	closedir(d);
	return n;
}

static void
assert_body(const struct response *rs, int status, const char *body)
{
	if (rs->status != status || strcmp(rs->body, body) != 0)
		fail_msg("got %d %s, wanted %d %s", rs->status, rs->body,
		    status, body);
}

/* The error text of a JSON {"error":...} answer must contain want. */
static void
assert_error(const struct response *rs, int status, const char *want)
{
	cJSON *o, *e;

	if (rs->status != status)
		fail_msg("got %d %s, wanted %d", rs->status, rs->body, status);
	o = cJSON_Parse(rs->body);
	assert_non_null(o);
	e = cJSON_GetObjectItemCaseSensitive(o, "error");
	assert_true(cJSON_IsString(e));
	if (want != NULL && strstr(e->valuestring, want) == NULL)
		fail_msg("error \"%s\", wanted \"%s\"", e->valuestring, want);
	assert_int_equal(cJSON_GetArraySize(o), 1);
	cJSON_Delete(o);
}

static void
test_get_head(void **state)
{
	struct fixture *f = *state;
	struct response rs;

	start(f, "app_key = " KEY);
	assert_int_equal(call(f, "GET", NULL, NULL, NULL, NULL, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"ok\"}");
	assert_null(rs.header);
	assert_int_equal(call(f, "HEAD", NULL, NULL, NULL, NULL, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"ok\"}");
	/* a GET with a body (and any type) is still just a check */
	assert_int_equal(call(f, "GET", "text/xml", "auto", "<x/>", NULL,
	    &rs), 200);
	assert_int_equal(spool_entries(f), 0);
}

static void
test_empty_post(void **state)
{
	struct fixture *f = *state;
	struct response rs;

	start(f, "app_key = " KEY);
	assert_int_equal(call(f, "POST", NULL, "0", "", NULL, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"ok\"}");
	assert_int_equal(call(f, "POST", NULL, NULL, "", NULL, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"ok\"}");
	assert_int_equal(call(f, "POST", "application/json", "auto", " \r\n",
	    NULL, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"ok\"}");
	assert_int_equal(post(f, "{}", &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"ok\"}");
	assert_int_equal(call(f, "POST", "application/x-www-form-urlencoded",
	    "auto", "&", NULL, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"ok\"}");
	assert_int_equal(spool_entries(f), 0);
}

/* The payload member of a spool line, as raw text. */
static void
check_line(const char *line, const char *payload, const char *encoding,
    int verified)
{
	char want[4096];
	cJSON *o, *it;

	o = cJSON_Parse(line);
	if (o == NULL)
		fail_msg("spool line is not JSON: %s", line);
	it = cJSON_GetObjectItemCaseSensitive(o, "v");
	assert_true(cJSON_IsNumber(it) && it->valueint == 1);
	it = cJSON_GetObjectItemCaseSensitive(o, "remote_addr");
	assert_true(cJSON_IsString(it));
	assert_string_equal(it->valuestring, CLIENT);
	it = cJSON_GetObjectItemCaseSensitive(o, "encoding");
	assert_true(cJSON_IsString(it));
	assert_string_equal(it->valuestring, encoding);
	it = cJSON_GetObjectItemCaseSensitive(o, "verified");
	assert_true(verified ? cJSON_IsTrue(it) : cJSON_IsFalse(it));
	it = cJSON_GetObjectItemCaseSensitive(o, "received_at");
	assert_true(cJSON_IsString(it));
	assert_int_equal(strlen(it->valuestring), 24);
	assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o,
	    "payload")));
	cJSON_Delete(o);
	/* verbatim: the same text, number spellings included */
	snprintf(want, sizeof(want), ",\"payload\":%s}\n", payload);
	assert_true(strlen(line) > strlen(want));
	assert_string_equal(line + strlen(line) - strlen(want), want);
}

static void
test_valid_and_duplicate(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64], *text;
	size_t n;

	start(f, "app_key = " KEY);
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	text = spool_text(f, &n);
	assert_int_equal(n, 1);
	check_line(text, body, "json", 1);
	free(text);

	/* the same event again (a retry, or a replay) */
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"duplicate\"}");
	assert_int_equal(spool_count(f), 1);
	/* also after a restart: the memory is on disk */
	start(f, "app_key = " KEY);
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"duplicate\"}");
	assert_int_equal(spool_count(f), 1);

	/* pretty-printed JSON: stored compact, values untouched */
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	{
		char pretty[1200], *p = pretty;
		const char *q;

		for (q = body; *q != '\0'; q++) {
			*p++ = *q;
			if (*q == ',' || *q == '{')
				*p++ = '\n', *p++ = ' ';
		}
		*p = '\0';
		assert_int_equal(post(f, pretty, &rs), 200);
		assert_body(&rs, 200, "{\"status\":\"success\"}");
	}
	text = spool_text(f, &n);
	assert_int_equal(n, 2);
	check_line(strchr(text, '\n') + 1, body, "json", 1);
	free(text);
}

static void
test_form(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], ts[32], sig[65], want[1024], *text;
	size_t n;

	start(f, "app_key = " KEY);
	snprintf(ts, sizeof(ts), "%lld", now_ms());
	sign(KEY, ts, "formtoken", sig);
	snprintf(body, sizeof(body), "event=Requested&eventType=1"
	    "&smsIds=%%5B%%22a%%22%%2C%%22b%%22%%5D&timestamp=%s"
	    "&token=formtoken&signature=%s", ts, sig);
	assert_int_equal(call(f, "POST",
	    "application/x-www-form-urlencoded; charset=UTF-8", "auto", body,
	    NULL, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	snprintf(want, sizeof(want), "{\"event\":\"Requested\","
	    "\"eventType\":\"1\",\"smsIds\":\"[\\\"a\\\",\\\"b\\\"]\","
	    "\"timestamp\":\"%s\",\"token\":\"formtoken\","
	    "\"signature\":\"%s\"}", ts, sig);
	text = spool_text(f, &n);
	assert_int_equal(n, 1);
	check_line(text, want, "form", 1);
	free(text);
	/* without a content type, sniffed as a form */
	assert_int_equal(call(f, "POST", NULL, "auto", body, NULL, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"duplicate\"}");
}

static void
test_bad_requests(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64], ts[32];

	start(f, "app_key = " KEY);
	assert_int_equal(post(f, "{\"token\":", &rs), 400);
	assert_error(&rs, 400, NULL);
	assert_int_equal(post(f, "[1,2]", &rs), 400);
	assert_int_equal(post(f, "{\"token\":\"t\",\"timestamp\":\"1\","
	    "\"signature\":\"x\"}", &rs), 400);
	assert_error(&rs, 400, "timestamp");
	assert_int_equal(post(f, "{\"token\":\"t\",\"timestamp\":1,"
	    "\"smsIds\":{}}", &rs), 400);
	assert_error(&rs, 400, "(smsIds)");
	assert_int_equal(post(f, "{\"token\":\"t\",\"timestamp\":1,"
	    "\"a\":\"\xff\"}", &rs), 400);
	assert_int_equal(post(f, "{\"timestamp\":1,\"signature\":\"x\"}", &rs),
	    400);
	assert_error(&rs, 400, "missing token");
	/* missing signature */
	event(f, NULL, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 400);
	assert_error(&rs, 400, "missing signature");
	/* rejections are logged with the reason and the client */
	assert_non_null(strstr(f->log, "missing signature"));
	assert_non_null(strstr(f->log, CLIENT));
	/* a NUL byte in the body */
	{
		static const char nul[] = "{\"token\":\"t\",\"timestamp\":1,"
		    "\"a\":\"x\0\"}";
		struct request rq;
		struct io io = { nul, sizeof(nul) - 1, 0 };
		char len[16];

		snprintf(len, sizeof(len), "%zu", sizeof(nul) - 1);
		memset(&rq, 0, sizeof(rq));
		rq.method = "POST";
		rq.content_type = "application/json";
		rq.content_length = len;
		rq.remote_addr = CLIENT;
		rq.read = io_read;
		rq.io = &io;
		assert_int_equal(handle(&f->s, &rq, &rs), 400);
	}
	/* bad Content-Length */
	assert_int_equal(call(f, "POST", "application/json", "12x", "{}", NULL,
	    &rs), 400);
	/* short body */
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	snprintf(ts, sizeof(ts), "%zu", strlen(body) + 10);
	assert_int_equal(call(f, "POST", "application/json", ts, body, NULL,
	    &rs), 400);
	assert_error(&rs, 400, "shorter");
	/* XML */
	assert_int_equal(call(f, "POST", "text/xml", "auto", "<e/>", NULL,
	    &rs), 415);
	assert_error(&rs, 415, NULL);
	assert_int_equal(call(f, "POST", "multipart/form-data; boundary=x",
	    "auto", body, NULL, &rs), 415);
	assert_int_equal(spool_count(f), 0);
}

static void
test_bad_signature(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64], ts[32], good[65], *p;
	long long ms = now_ms();

	start(f, "app_key = " KEY);
	event(f, "some-other-key", ms, body, sizeof(body), tok);
	snprintf(ts, sizeof(ts), "%lld", ms);
	sign(KEY, ts, tok, good);
	assert_int_equal(post(f, body, &rs), 401);
	assert_body(&rs, 401, "{\"error\":\"Invalid signature\"}");
	assert_null(strstr(rs.body, good));
	assert_null(strstr(f->log, good));
	assert_null(strstr(f->log, KEY));
	/* upper case hex of the right one is fine */
	event(f, KEY, ms, body, sizeof(body), tok);
	p = strstr(body, "\"signature\":\"") + 13;
	for (; *p != '"'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(post(f, body, &rs), 200);
	/* truncated and non-hex signatures */
	event(f, KEY, ms, body, sizeof(body), tok);
	p = strstr(body, "\"signature\":\"") + 13;
	memmove(p + 10, p + 11, strlen(p + 11) + 1);
	assert_int_equal(post(f, body, &rs), 401);
	event(f, KEY, ms, body, sizeof(body), tok);
	p = strstr(body, "\"signature\":\"") + 13;
	p[3] = 'g';
	assert_int_equal(post(f, body, &rs), 401);
	/* the signature covers the timestamp text */
	event(f, KEY, ms, body, sizeof(body), tok);
	snprintf(ts, sizeof(ts), "%lld", ms);
	p = strstr(body, ts) + strlen(ts) - 1;
	*p = *p == '9' ? '0' : (char)(*p + 1);
	assert_int_equal(post(f, body, &rs), 401);
	assert_int_equal(spool_count(f), 1);
}

static void
test_allow_from(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64];

	start(f, "app_key = " KEY "\nallow_from = 10.0.0.0/8, 2001:db8::/32");
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 403);
	assert_error(&rs, 403, NULL);
	assert_int_equal(call(f, "GET", NULL, NULL, NULL, NULL, &rs), 403);
	assert_int_equal(call(f, "POST", NULL, "auto", body, "10.1.2.3", &rs),
	    200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	assert_int_equal(call(f, "GET", NULL, NULL, NULL, "2001:db8::7", &rs),
	    200);
	assert_int_equal(call(f, "GET", NULL, NULL, NULL, "garbage", &rs),
	    403);
	assert_error(&rs, 403, "client address unknown");
	assert_int_equal(spool_count(f), 1);

	/* behind a trusted proxy, the forwarded client is the one checked */
	start(f, "app_key = " KEY "\nallow_from = 198.51.100.0/24\n"
	    "trusted_proxies = 127.0.0.1");
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	{
		struct request rq;
		struct io io = { body, strlen(body), 0 };
		char len[16];

		snprintf(len, sizeof(len), "%zu", strlen(body));
		memset(&rq, 0, sizeof(rq));
		rq.method = "POST";
		rq.content_length = len;
		rq.remote_addr = "127.0.0.1";
		rq.forwarded_for = "203.0.113.50, 198.51.100.7";
		rq.read = io_read;
		rq.io = &io;
		assert_int_equal(handle(&f->s, &rq, &rs), 200);
		assert_body(&rs, 200, "{\"status\":\"success\"}");
		rq.forwarded_for = "198.51.100.7, 203.0.113.50";
		assert_int_equal(handle(&f->s, &rq, &rs), 403);
	}
}

/* The transport's read that fails after a first chunk. */
static ssize_t
io_fail(void *v, char *buf, size_t len)
{
	struct io *io = v;

	if (io->off > 0) {
		errno = ECONNRESET;
		return -1;
	}
	return io_read(v, buf, len);
}

/* POST body through a transport whose read fails; the status. */
static int
post_unreadable(struct fixture *f, const char *body, struct response *rs)
{
	struct request rq;
	struct io io = { body, strlen(body), 0 };
	char len[32];
	int st;

	snprintf(len, sizeof(len), "%zu", io.len);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.content_type = "application/json";
	rq.content_length = len;
	rq.remote_addr = CLIENT;
	rq.read = io_fail;
	rq.io = &io;
	st = handle(&f->s, &rq, rs);
	handle_count(&f->s, rs);
	return st;
}

/* A body the transport cannot deliver: 500, nothing stored. */
static void
test_read_fails(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64];

	start(f, "app_key = " KEY);
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post_unreadable(f, body, &rs), 500);
	assert_error(&rs, 500, "cannot read body");
	assert_int_equal(spool_count(f), 0);
}

static void
test_tolerance(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64], path[512];

	start(f, "app_key = " KEY "\ntimestamp_tolerance = 5m");
	event(f, KEY, now_ms() - 3600 * 1000LL, body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 403);
	assert_error(&rs, 403, "timestamp");
	/* no token table yet: none is made to refuse a late event */
	snprintf(path, sizeof(path), "%s/.replay", f->spool);
	assert_int_equal(access(path, F_OK), -1);
	event(f, KEY, now_ms() + 3600 * 1000LL, body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 403);
	event(f, KEY, now_ms() - 60 * 1000LL, body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	assert_int_equal(spool_count(f), 1);
	/* a token stored before comes back late: duplicate, not 403 */
	event_tok(KEY, now_ms() - 3600 * 1000LL, body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	assert_non_null(strstr(rs.body, "\"duplicate\""));
	assert_int_equal(spool_count(f), 1);
	/* the same late, signed by no key: still 401 */
	event_tok("other key", now_ms() - 3600 * 1000LL, body, sizeof(body),
	    tok);
	assert_int_equal(post(f, body, &rs), 401);
	/* off by default: a 40-hour-late retry is stored */
	start(f, "app_key = " KEY);
	event(f, KEY, now_ms() - 40 * 3600 * 1000LL, body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	assert_int_equal(spool_count(f), 2);
}

/*
 * replay_window = timestamp_tolerance: an event stored on time is a
 * duplicate for as long as its timestamp is accepted, and too old after.
 */
static void
test_tolerance_window(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64];

	start(f, "app_key = " KEY "\ntimestamp_tolerance = 10\n"
	    "replay_window = 10");
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	clock_shift_ms = 9900;
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"duplicate\"}");
	clock_shift_ms = 10500;		/* past the window: 10 s, not 11 */
	assert_int_equal(post(f, body, &rs), 403);
	assert_error(&rs, 403, "timestamp");
	assert_int_equal(spool_count(f), 1);
}

/*
 * An event stamped ahead of the receiver's clock is a duplicate for as
 * long as its timestamp is accepted: its token is remembered for
 * replay_window from the timestamp, not from when it was stored.
 */
static void
test_timestamp_ahead(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64];

	start(f, "app_key = " KEY "\ntimestamp_tolerance = 10\n"
	    "replay_window = 10");
	event(f, KEY, now_ms() + 9000, body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"duplicate\"}");
	clock_shift_ms = 10500;		/* a window after it was stored */
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"duplicate\"}");
	clock_shift_ms = 18800;		/* 9.8 s after its timestamp */
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"duplicate\"}");
	clock_shift_ms = 19200;		/* 10.2 s after: too old, forgotten */
	assert_int_equal(post(f, body, &rs), 403);
	assert_int_equal(spool_count(f), 1);
}

static void
test_methods(void **state)
{
	static const char *const others[] = { "PUT", "DELETE", "PATCH",
	    "OPTIONS", "get", "" };
	struct fixture *f = *state;
	struct response rs;
	size_t i;

	start(f, "app_key = " KEY);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		assert_int_equal(call(f, others[i], NULL, NULL, NULL, NULL,
		    &rs), 405);
		assert_error(&rs, 405, NULL);
		assert_non_null(rs.header);
		assert_string_equal(rs.header, "Allow: GET, HEAD, POST");
	}
	assert_int_equal(call(f, NULL, NULL, NULL, NULL, NULL, &rs), 405);
}

/* Pad a JSON object body with an unknown field to exactly size bytes. */
static void
pad_body(char *body, size_t size)
{
	size_t n = strlen(body);

	body[n - 1] = '\0';
	strcat(body, ",\"pad\":\"");
	n = strlen(body);
	memset(body + n, 'p', size - n - 2);
	memcpy(body + size - 2, "\"}", 3);
	assert_int_equal(strlen(body), size);
}

/*
 * A transport that marks the body's end (FastCGI): the body is read one
 * byte past CONTENT_LENGTH, into the buffer sized for CONTENT_LENGTH
 * (first request, exactly max_body: under ASan an overrun shows), and
 * bytes past it are not the body.
 */
static void
test_transport_end(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[2048], tok[64], *text;
	size_t n;

	start(f, "app_key = " KEY "\nmax_body = 1k");
	f->ends_body = 1;
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	pad_body(body, 1024);		/* exactly max_body */
	strcat(body, "{\"x\":1}");	/* past CONTENT_LENGTH */
	assert_int_equal(call(f, "POST", "application/json", "1024", body,
	    NULL, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");

	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);	/* read to its end */
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	text = spool_text(f, &n);
	assert_int_equal(n, 2);
	assert_null(strstr(text, "\"x\":1"));
	free(text);
}

static void
test_too_large(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[4096], tok[64];

	start(f, "app_key = " KEY "\nmax_body = 1k");
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	pad_body(body, 1025);		/* an unknown field, one over max */
	assert_int_equal(post(f, body, &rs), 413);
	assert_error(&rs, 413, NULL);
	/* unknown length: read to the end, stopped past max_body */
	assert_int_equal(call(f, "POST", "application/json", NULL, body, NULL,
	    &rs), 413);
	/* a huge CONTENT_LENGTH is refused before reading */
	assert_int_equal(call(f, "POST", "application/json",
	    "99999999999999999999999999", body, NULL, &rs), 413);
	/* exactly max_body is fine */
	memcpy(body + 1024 - 2, "\"}", 3);
	assert_int_equal(post(f, body, &rs), 200);
	assert_int_equal(call(f, "POST", "application/json", NULL, body, NULL,
	    &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"duplicate\"}");
	assert_int_equal(spool_count(f), 1);
}

/* Make today's (and, near midnight, tomorrow's) day file unwritable. */
static void
block_days(const struct fixture *f, int block)
{
	char day[DAY_LEN + 1], path[256];
	time_t t = time(NULL);
	int k;

	for (k = 0; k < 2; k++) {
		day_of(t + k * 120, day);
		snprintf(path, sizeof(path), "%s/%s.jsonl", f->spool, day);
		if (block)
			assert_true(mkdir(path, 0700) == 0 ||
			    (k == 1 && access(path, F_OK) == 0));
		else
			rmdir(path);
	}
}

static void
test_spool_unwritable(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64], *text;
	size_t n;

	start(f, "app_key = " KEY);
	block_days(f, 1);
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 503);
	assert_error(&rs, 503, NULL);
	assert_non_null(rs.header);
	assert_string_equal(rs.header, "Retry-After: 120");
	/* the reason is logged, for the operator */
	assert_non_null(strstr(f->log, "503"));
	assert_non_null(strstr(f->log, ".jsonl"));
	/* the provider retries: again 503, not "duplicate" */
	assert_int_equal(post(f, body, &rs), 503);
	block_days(f, 0);
	/* fixed: the same event is accepted and stored once */
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	text = spool_text(f, &n);
	assert_int_equal(n, 1);
	check_line(text, body, "json", 1);
	free(text);
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"duplicate\"}");
}

static void
test_spool_dir_missing(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64];
	FILE *fp;

	start(f, "app_key = " KEY);
	/* the spool dir is a file: nothing can be stored there */
	test_rmtree(f->spool);
	assert_int_equal(access(f->spool, F_OK), -1);
	fp = fopen(f->spool, "w");
	assert_non_null(fp);
	fclose(fp);
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 503);
	assert_string_equal(rs.header, "Retry-After: 120");
	unlink(f->spool);
	/* gone altogether: created again (mode 0750) on the next POST */
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	assert_int_equal(spool_count(f), 1);
}

/*
 * A clock past the year 9999 (or before 1000) names no day file a
 * reader takes: 503, nothing written, the reason logged.
 */
static void
test_clock_out_of_days(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64];

	start(f, "require_signature = no\nreplay_window = 0\n"
	    "timestamp_tolerance = 0");
	event(f, NULL, 1700000000000LL, body, sizeof(body), tok);
	clock_fixed_ms = 253402300800000LL;	/* 10000-01-01T00:00:00Z */
	assert_int_equal(post(f, body, &rs), 503);
	assert_string_equal(rs.header, "Retry-After: 120");
	assert_non_null(strstr(f->log, "outside the years 1000 to 9999"));
	assert_int_equal(spool_entries(f), 0);
	clock_fixed_ms = 253402300799000LL;	/* 9999-12-31T23:59:59Z */
	assert_int_equal(post(f, body, &rs), 200);
	assert_int_equal(spool_count(f), 1);
}

static void
test_no_signature_required(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64], *text, *line;
	size_t n;

	start(f, "require_signature = no");
	event(f, NULL, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	text = spool_text(f, &n);
	assert_int_equal(n, 1);
	check_line(text, body, "json", 0);
	free(text);

	/* with a key: good signatures verify, bad ones are kept unverified */
	start(f, "require_signature = no\napp_key = " KEY);
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	event(f, "wrong", now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	text = spool_text(f, &n);
	assert_int_equal(n, 3);
	line = strchr(text, '\n') + 1;
	assert_non_null(strstr(line, "\"verified\":true"));
	line = strchr(line, '\n') + 1;
	assert_non_null(strstr(line, "\"verified\":false"));
	free(text);
}

static void
test_key_rotation(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64], keyfile[128];
	FILE *fp;

	snprintf(keyfile, sizeof(keyfile), "%s/key3", f->tmp);
	fp = fopen(keyfile, "w");
	assert_non_null(fp);
	fchmod(fileno(fp), 0600);
	fputs("file-key-xyz\n", fp);
	fclose(fp);
	start(f, "app_key = " KEY "\napp_key = " KEY2 "\napp_key_file = key3");
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	event(f, KEY2, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	event(f, "file-key-xyz", now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	event(f, "retired-key", now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 401);
	assert_int_equal(spool_count(f), 3);
	/* the old key dropped */
	start(f, "app_key = " KEY2);
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 401);
	event(f, KEY2, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
}

/* replay_window = 0: no memory of tokens, every copy is stored. */
static void
test_no_replay_window(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64], path[160];

	start(f, "app_key = " KEY "\nreplay_window = 0\nfsync = yes");
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	assert_int_equal(spool_count(f), 2);
	snprintf(path, sizeof(path), "%s/.replay", f->spool);
	assert_int_equal(access(path, F_OK), -1);
}

/*
 * The token table cut short after this process opened it, its bucket
 * read within the second before its path is looked at again (the clock
 * stopped): the event is stored without the duplicate check, logged,
 * never answered "duplicate" without its line. The next request looks
 * at once, sets the table aside and makes a fresh one.
 */
static void
test_replay_read_fails(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64], path[160], *text;
	size_t n;

	start(f, "app_key = " KEY);
	clock_fixed_ms = now_ms();
	event(f, KEY, clock_fixed_ms, body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	snprintf(path, sizeof(path), "%s/.replay", f->spool);
	assert_int_equal(truncate(path, 64), 0);	/* the header only */
	event(f, KEY, clock_fixed_ms, body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	assert_non_null(strstr(f->log, "replay table read: Input/output "
	    "error; storing without duplicate check"));
	text = spool_text(f, &n);
	assert_int_equal(n, 2);
	check_line(strchr(text, '\n') + 1, body, "json", 1);
	free(text);
	/* the resend: the table set aside, a fresh one, stored again */
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	assert_non_null(strstr(f->log, "not a replay table, moved to"));
	assert_int_equal(spool_count(f), 3);
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"duplicate\"}");
	assert_int_equal(spool_count(f), 3);
}

/*
 * Out of memory at each allocation of a POST in turn, on a fresh server
 * (no body or line buffer yet): 500 and nothing written, then the retry
 * is stored; or, past the line (the token table's digest), 200 with the
 * line stored without the duplicate check. The first is the body
 * buffer's, the last to answer 500 the line's.
 */
/*
 * A signature that cannot be checked (OpenSSL's MAC fails): 500 "signature
 * check failed", nothing stored, the token not taken; the retry is 200.
 */
static void
test_mac_fails(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64];

	start(f, "app_key = " KEY);
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	mac_fails = 1;
	assert_int_equal(post(f, body, &rs), 500);
	mac_fails = 0;
	assert_error(&rs, 500, "signature check failed");
	assert_non_null(strstr(f->log, "500 from " CLIENT));
	assert_int_equal(spool_count(f), 0);
	assert_int_equal(post(f, body, &rs), 200);
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	assert_int_equal(spool_count(f), 1);
}

static void
test_out_of_memory(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char body[1024], tok[64];
	size_t lines = 1;
	long k;
	int line_failed = 0;

	if (!mallocfail_works())
		skip();
	/* what a process makes once (the token table's digest) is made */
	start(f, "app_key = " KEY);
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	assert_int_equal(post(f, body, &rs), 200);
	for (k = 0;; k++) {
		start(f, "app_key = " KEY);
		event(f, KEY, now_ms(), body, sizeof(body), tok);
		fail_in = k;
		post(f, body, &rs);
		if (fail_in >= 0) {	/* k allocations: no failure met */
			fail_in = -1;
			break;
		}
		if (rs.status == 200) {
			assert_body(&rs, 200, "{\"status\":\"success\"}");
			assert_int_equal(spool_count(f), ++lines);
			assert_non_null(strstr(f->log,
			    "storing without duplicate check"));
			continue;
		}
		assert_error(&rs, 500, NULL);
		assert_non_null(strstr(f->log, "500 from " CLIENT));
		assert_int_equal(spool_count(f), lines);
		if (k == 0)
			assert_null(f->s.body.p);	/* request_body */
		line_failed = f->s.body.p != NULL && f->s.line == NULL;
		assert_int_equal(post(f, body, &rs), 200);	/* the retry */
		assert_body(&rs, 200, "{\"status\":\"success\"}");
		assert_int_equal(spool_count(f), ++lines);
	}
	assert_body(&rs, 200, "{\"status\":\"success\"}");
	assert_int_equal(spool_count(f), ++lines);
	assert_true(k > 1);
	assert_true(line_failed);		/* line_format */
}

static void
test_response_head(void **state)
{
	struct response rs;
	char out[512];
	int n;

	(void)state;
	memset(&rs, 0, sizeof(rs));
	response_status(&rs, ANSWER_SUCCESS);
	n = response_head(&rs, out, sizeof(out));
	assert_string_equal(out, "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 20\r\n"
	    "Cache-Control: no-store\r\n\r\n");
	assert_int_equal(n, (int)strlen(out));

	memset(&rs, 0, sizeof(rs));
	response_error(&rs, 405, "method not allowed", NULL);
	rs.header = "Allow: GET, HEAD, POST";
	n = response_head(&rs, out, sizeof(out));
	assert_string_equal(out, "Status: 405 Method Not Allowed\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 30\r\n"
	    "Cache-Control: no-store\r\n"
	    "Allow: GET, HEAD, POST\r\n\r\n");
	assert_string_equal(rs.body, "{\"error\":\"method not allowed\"}");
	assert_int_equal(rs.body_len, 30);
	(void)n;

	memset(&rs, 0, sizeof(rs));
	response_error(&rs, 503, "spool unavailable", NULL);
	rs.header = "Retry-After: 120";
	assert_true(response_head(&rs, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "Status: 503 Service Unavailable\r\n"));
	assert_non_null(strstr(out, "\r\nRetry-After: 120\r\n\r\n"));

	/* error texts are escaped JSON, with the field named */
	memset(&rs, 0, sizeof(rs));
	response_error(&rs, 400, "bad \"thing\"\n", "smsIds");
	assert_string_equal(rs.body,
	    "{\"error\":\"bad \\\"thing\\\"\\n (smsIds)\"}");
	for (n = 0; n < 6; n++) {
		static const int codes[] = { 400, 401, 403, 413, 415, 500 };
		static const char *const names[] = { "400 Bad Request",
		    "401 Unauthorized", "403 Forbidden",
		    "413 Payload Too Large", "415 Unsupported Media Type",
		    "500 Internal Server Error" };
		char want[64];

		response_error(&rs, codes[n], "x", NULL);
		rs.header = NULL;
		assert_true(response_head(&rs, out, sizeof(out)) > 0);
		snprintf(want, sizeof(want), "Status: %s\r\n", names[n]);
		assert_int_equal(strncmp(out, want, strlen(want)), 0);
	}
	/* too small a buffer: -1, never a cut header */
	response_status(&rs, ANSWER_OK);
	assert_int_equal(response_head(&rs, out, 20), -1);
}

/* The spool line for ev, as the handler has line_format write it. */
static size_t
record_line(const struct event *ev, const struct timespec *now,
    const char *addr, int verified, char **buf, size_t *cap)
{
	return line_format(buf, cap, now, addr, ev->encoding, verified,
	    ev->payload, ev->payload_len);
}

static void
test_record_line(void **state)
{
	struct event ev;
	struct timespec now;
	char *buf = NULL, *payload;
	size_t cap = 0, len;
	cJSON *o, *it;
	const char *p = "{\"eventType\":2,\"n\":1.50e3,\"big\":12345678901234567890,"
	    "\"s\":\"\\u00e9\\/x\",\"a\":[]}";

	(void)state;
	memset(&ev, 0, sizeof(ev));
	payload = strdup(p);
	assert_non_null(payload);
	ev.payload = payload;
	ev.payload_len = strlen(p);
	ev.encoding = LINE_JSON;
	now.tv_sec = 1795710582;		/* 2026-11-26T16:29:42Z */
	now.tv_nsec = 123999999;
	len = record_line(&ev, &now, "203.0.113.9", 1, &buf, &cap);
	assert_true(len > 0);
	assert_int_equal(strlen(buf), len);
	assert_true(cap > len);
	assert_string_equal(buf, "{\"v\":1,\"received_at\":"
	    "\"2026-11-26T16:29:42.123Z\",\"remote_addr\":\"203.0.113.9\","
	    "\"encoding\":\"json\",\"verified\":true,\"payload\":" "{\"eventType\":2,\"n\":1.50e3,\"big\":12345678901234567890,"
	    "\"s\":\"\\u00e9\\/x\",\"a\":[]}}\n");
	buf[len - 1] = '\0';
	o = cJSON_Parse(buf);
	assert_non_null(o);
	it = cJSON_GetObjectItemCaseSensitive(o, "received_at");
	assert_string_equal(it->valuestring, "2026-11-26T16:29:42.123Z");
	cJSON_Delete(o);

	/* form, unverified, a reused buffer, midnight and .000 */
	ev.encoding = LINE_FORM;
	now.tv_sec = 1795737600;		/* 2026-11-27T00:00:00Z */
	now.tv_nsec = 0;
	len = record_line(&ev, &now, "2001:db8::1", 0, &buf, &cap);
	assert_true(len > 0);
	assert_non_null(strstr(buf, "\"received_at\":"
	    "\"2026-11-27T00:00:00.000Z\""));
	assert_non_null(strstr(buf, "\"encoding\":\"form\",\"verified\":false"));
	assert_non_null(strstr(buf, "\"remote_addr\":\"2001:db8::1\""));
	now.tv_nsec = 999999999;
	len = record_line(&ev, &now, "x", 0, &buf, &cap);
	assert_non_null(strstr(buf, "T00:00:00.999Z\""));

	/* a large payload grows the buffer; the address is escaped */
	free(payload);
	payload = malloc(100000);
	assert_non_null(payload);
	memset(payload, 'q', 100000 - 1);
	memcpy(payload, "{\"q\":\"", 6);
	memcpy(payload + 100000 - 3, "\"}", 3);
	ev.payload = payload;
	ev.payload_len = strlen(payload);
	len = record_line(&ev, &now, "a\"b\\c", 1, &buf, &cap);
	assert_true(len > 100000);
	assert_true(cap > len);
	assert_int_equal(buf[len - 1], '\n');
	buf[len - 1] = '\0';
	o = cJSON_Parse(buf);
	assert_non_null(o);
	it = cJSON_GetObjectItemCaseSensitive(o, "remote_addr");
	assert_string_equal(it->valuestring, "a\"b\\c");
	it = cJSON_GetObjectItemCaseSensitive(o, "payload");
	assert_int_equal(strlen(cJSON_GetObjectItemCaseSensitive(it,
	    "q")->valuestring), 100000 - 9);
	cJSON_Delete(o);
	free(payload);
	free(buf);
}

/* The spool's answer counters now (all 0 before the first answer). */
static void
counts(const struct fixture *f, struct counters_page *p)
{
	memset(p, 0, sizeof(*p));
	(void)counters_read(f->spool, p);
}

/* Since before, counter want went up by one and no other moved. */
static void
assert_counted(const struct fixture *f, const struct counters_page *before,
    enum counter want, const char *what)
{
	struct counters_page after;
	size_t k;

	assert_int_equal(counters_read(f->spool, &after), 0);
	for (k = 0; k < NCOUNTERS; k++)
		if (after.n[k] != before->n[k] + (k == want))
			fail_msg("%s: counter %s went from %llu to %llu", what,
			    counter_defs[k].reason,
			    (unsigned long long)before->n[k],
			    (unsigned long long)after.n[k]);
}

/*
 * Counters the receiver cannot open (here a folder in their place, as
 * root can open any file): the answer is given, uncounted, and why is
 * logged once per process, not at every answer; a file that is not a
 * counters page is named so, with its fix.
 */
static void
test_counters_unusable(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char path[160];
	const char *hit;
	FILE *fp;

	start(f, "app_key = " KEY);
	assert_true(mkdir(f->spool, 0750) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/" COUNTERS_FILE, f->spool);
	assert_int_equal(mkdir(path, 0750), 0);
	assert_int_equal(post(f, "{}", &rs), 200);
	assert_non_null(hit = strstr(f->log, "answer counters "));
	assert_non_null(strstr(hit, "answers not counted (remove it, a new "
	    "one is made"));
	assert_int_equal(call(f, "GET", NULL, NULL, NULL, NULL, &rs), 200);
	assert_null(strstr(f->log, "answer counters "));
	assert_int_equal(rmdir(path), 0);
	/* another program's file (or one cut short): remove it, it says */
	start(f, "app_key = " KEY);
	assert_non_null(fp = fopen(path, "w"));
	assert_true(fputs("not-smshook-counters\n", fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(post(f, "{}", &rs), 200);
	assert_non_null(hit = strstr(f->log, "answer counters "));
	assert_non_null(strstr(hit, "not a counters file: answers not "
	    "counted (remove it, a new one is made"));
	assert_int_equal(unlink(path), 0);
}

/*
 * Each answer adds one to the counter of its kind (counters.h), the
 * kind given where the answer is made: read back from the spool's
 * counter page after every request.
 */
static void
test_counted_kinds(void **state)
{
	struct fixture *f = *state;
	struct counters_page before;
	struct response rs;
	char body[1024], tok[64];
	size_t i;
	struct {
		const char	*method, *ct, *cl, *body;
		int		 status;
		enum counter	 want;
	} t[] = {
		{ "POST", "application/json", "12x", "{}", 400, CNT_400_BODY },
		{ "POST", "application/json", "99", "{}", 400, CNT_400_BODY },
		{ "POST", "application/json", "auto", "{\"token\":", 400,
		    CNT_400_JSON },
		{ "POST", "application/json", "auto", "[1,2]", 400,
		    CNT_400_JSON },
		{ "POST", "application/x-www-form-urlencoded", "auto",
		    "token=a&x=%zz", 400, CNT_400_JSON },
		{ "POST", "application/json", "auto", "{\"token\":\"t\","
		    "\"timestamp\":1,\"smsIds\":{}}", 400, CNT_400_FIELD },
		{ "POST", "application/json", "auto", "{\"token\":\"t\","
		    "\"timestamp\":1,\"phone\":1,\"phone\":2}", 400,
		    CNT_400_FIELD },
		{ "POST", "application/json", "auto", "{\"timestamp\":1,"
		    "\"signature\":\"x\"}", 400, CNT_400_SIGNED },
		{ "POST", "application/json", "auto", "{\"token\":\"t\","
		    "\"timestamp\":\"1\"}", 400, CNT_400_SIGNED },
		{ "POST", "application/json", "auto", NULL, 400,
		    CNT_400_SIGNED },		/* unsigned: made below */
		{ "POST", "application/json", "auto", NULL, 401, CNT_401 },
		{ "POST", "application/json", "5000", "{}", 413, CNT_413 },
		{ "POST", "text/xml", "auto", "<e/>", 415, CNT_415 },
		{ "PUT", "application/json", "auto", "{}", 405, CNT_405 },
		{ "GET", NULL, NULL, NULL, 200, CNT_PING },
		{ "POST", "application/json", "auto", "{}", 200, CNT_PING },
		{ "POST", "application/json", "auto", NULL, 200, CNT_SUCCESS },
		{ "POST", "application/json", "auto", "", 200, CNT_DUPLICATE },
	};

	start(f, "app_key = " KEY "\nmax_body = 1k");
	/* the day file cannot be written (first: it must not exist): 503 */
	assert_true(mkdir(f->spool, 0750) == 0 || errno == EEXIST);
	block_days(f, 1);
	event(f, KEY, now_ms(), body, sizeof(body), tok);
	counts(f, &before);
	assert_int_equal(post(f, body, &rs), 503);
	assert_counted(f, &before, CNT_503, "spool");
	block_days(f, 0);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].want == CNT_DUPLICATE)
			t[i].body = body;	/* the event stored last */
		else if (t[i].body == NULL && t[i].method[0] == 'P') {
			event(f, t[i].status == 400 ? NULL : t[i].status ==
			    401 ? KEY2 : KEY, now_ms(), body, sizeof(body),
			    tok);
			t[i].body = body;
		}
		counts(f, &before);
		assert_int_equal(call(f, t[i].method, t[i].ct, t[i].cl,
		    t[i].body, NULL, &rs), t[i].status);
		assert_counted(f, &before, t[i].want, t[i].body != NULL ?
		    t[i].body : t[i].method);
	}
	/* the body cannot be read: 500 */
	counts(f, &before);
	assert_int_equal(post_unreadable(f, body, &rs), 500);
	assert_counted(f, &before, CNT_500, "read fails");
	/* out of the tolerance: 403 clock */
	start(f, "app_key = " KEY "\ntimestamp_tolerance = 5m");
	event(f, KEY, now_ms() - 3600 * 1000, body, sizeof(body), tok);
	counts(f, &before);
	assert_int_equal(post(f, body, &rs), 403);
	assert_counted(f, &before, CNT_403_CLOCK, "clock");
	/* out of memory while the body is checked: 500, never a 400 */
	if (mallocfail_works()) {
		start(f, "app_key = " KEY);
		event(f, KEY, now_ms(), body, sizeof(body), tok);
		assert_int_equal(post(f, body, &rs), 200);  /* buffers grown */
		event(f, KEY, now_ms(), body, sizeof(body), tok);
		counts(f, &before);
		fail_in = 0;
		assert_int_equal(post(f, body, &rs), 500);
		fail_in = -1;
		assert_error(&rs, 500, "out of memory");
		assert_counted(f, &before, CNT_500, "out of memory");
		assert_int_equal(post(f, body, &rs), 200);  /* then stored */
		assert_body(&rs, 200, "{\"status\":\"success\"}");
	}
	/* not in allow_from: 403 client */
	start(f, "app_key = " KEY "\nallow_from = 10.0.0.0/8");
	counts(f, &before);
	assert_int_equal(post(f, body, &rs), 403);
	assert_counted(f, &before, CNT_403_CLIENT, "client");
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_get_head),
		T(test_empty_post),
		T(test_valid_and_duplicate),
		T(test_form),
		T(test_bad_requests),
		T(test_bad_signature),
		T(test_allow_from),
		T(test_read_fails),
		T(test_tolerance),
		T(test_tolerance_window),
		T(test_timestamp_ahead),
		T(test_methods),
		T(test_too_large),
		T(test_transport_end),
		T(test_spool_unwritable),
		T(test_spool_dir_missing),
		T(test_no_signature_required),
		T(test_clock_out_of_days),
		T(test_key_rotation),
		T(test_no_replay_window),
		T(test_counted_kinds),
		T(test_counters_unusable),
		T(test_replay_read_fails),
		T(test_mac_fails),
		T(test_out_of_memory),
		cmocka_unit_test(test_response_head),
		cmocka_unit_test(test_record_line),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
