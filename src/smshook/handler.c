/*
 * handler.c: the one seam between transports and logic. A request goes
 * in, an HTTP status comes out; nothing here exits. The order of checks
 * is the contract's: who may ask, how, how much, what, signed by whom,
 * then store and only then say 200.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "day.h"
#include "fsutil.h"
#include "log.h"
#include "payload.h"
#include "line.h"
#include "replay.h"
#include "server.h"
#include "spool.h"
#include "verify.h"

#define RETRY_AFTER	"Retry-After: 120"

/* The answer counter of each 400 a body's content earns. */
static const enum counter payload_kind[] = {
	[PAYLOAD_SYNTAX] = CNT_400_JSON,
	[PAYLOAD_FIELD] = CNT_400_FIELD,
	[PAYLOAD_SIGNED] = CNT_400_SIGNED,
};

/*
 * Log a rejection with its reason and the client, then answer it; kind
 * is the answer counter it adds to (counters.h).
 */
static int
reject(struct response *rs, const struct client *c, int status,
    enum counter kind, const char *msg, const char *field)
{
	logmsg(status >= 500 ? LL_ERROR : LL_WARN, "%d from %s: %s%s%s%s",
	    status, c->text, msg, field ? " (" : "", field ? field : "",
	    field ? ")" : "");
	if (status == 503)
		rs->header = RETRY_AFTER;
	rs->kind = kind;
	return response_error(rs, status, msg, field);
}

/*
 * Signature and clock checks: 0 to go on (with *verified, and *stale
 * set when the timestamp is timestamp_tolerance or more from now), or a
 * status. In milliseconds: whole seconds accepted up to a second more,
 * after the token of an event stored on time was forgotten when
 * replay_window is no longer than the tolerance.
 */
static int
authenticate(struct server *s, const struct event *ev, struct response *rs,
    const struct client *c, long long now_ms, int *verified, int *stale)
{
	const struct conf *cf = &s->conf;
	unsigned long long skew_ms;
	int v = 0;

	if (ev->signature == NULL && cf->require_signature)
		return reject(rs, c, 400, CNT_400_SIGNED, "missing signature",
		    NULL);
	if (ev->signature != NULL && s->verifier != NULL &&
	    (v = verify_check(s->verifier, ev->timestamp, ev->token,
	    ev->signature)) == -1)
		return reject(rs, c, 500, CNT_500, "signature check failed",
		    NULL);
	if (!v && cf->require_signature)
		return reject(rs, c, 401, CNT_401, "Invalid signature", NULL);
	skew_ms = (unsigned long long)llabs(now_ms - ev->timestamp_ms);
	*stale = cf->timestamp_tolerance > 0 &&
	    skew_ms >= cf->timestamp_tolerance * 1000ULL;
	*verified = v;
	return 0;
}

/*
 * Open the token table and look the token up, locking its bucket: 1 if
 * it was accepted before (a line carrying it is on disk), else 0. A copy
 * of the event being stored by another process is waited for here.
 * Without the table (r->fd == -1 after this) 0, logged with then (what
 * is done instead): the event is stored without the check, as losing it
 * would be worse than a duplicate.
 */
static int
token_seen(struct server *s, struct replay *r, const char *token,
    long long now_ms, const char *then)
{
	const struct conf *cf = &s->conf;
	char err[512];
	int seen;

	if (replay_open(r, cf->spool_dir, (long long)cf->replay_window, now_ms,
	    err, sizeof(err)) == -1) {
		logmsg(LL_ERROR, "%s; %s", err, then);
		return 0;
	}
	if ((seen = replay_seen(r, token, now_ms)) == -1) {
		logmsg(LL_ERROR, "replay table read: %s; %s", strerror(errno),
		    then);
		replay_close(r);
		return 0;
	}
	return seen;
}

/* ts in milliseconds. */
static long long
ms_of(const struct timespec *ts)
{
	return (long long)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

/*
 * An event outside the clock tolerance: 200 duplicate if its token was
 * stored before (a late retry of an event already on disk), else 403.
 * No line is written either way, and no spool or table made.
 */
static int
stale_event(struct server *s, const struct event *ev, struct response *rs,
    const struct client *c, long long now_ms)
{
	const struct conf *cf = &s->conf;
	struct replay r = { .fd = -1 };
	int seen;

	/* a table not made yet knows no token: a 403 makes no file */
	seen = cf->replay_window > 0 && replay_exists(cf->spool_dir) &&
	    token_seen(s, &r, ev->token, now_ms, "late event refused");
	replay_close(&r);
	if (!seen)
		return reject(rs, c, 403, CNT_403_CLOCK,
		    "timestamp outside tolerance", NULL);
	logmsg(LL_INFO, "duplicate token %s from %s (timestamp outside "
	    "tolerance)", ev->token, c->text);
	return response_status(rs, ANSWER_DUPLICATE);
}

/*
 * Write the line received at now, once per token; 200 only when a line
 * carrying the token is on disk (synced, with fsync on). The token's
 * bucket stays locked until the token is recorded, across the sync: a
 * second copy waits, other tokens do not, and their syncs share commits.
 * The signals in s->hold wait from the bucket's lock to its release.
 */
static int
store(struct server *s, const struct event *ev, struct response *rs,
    const struct client *c, int verified, const struct timespec *now)
{
	const struct conf *cf = &s->conf;
	struct replay r = { .fd = -1 };
	struct spool_pending p;
	char day[DAY_LEN + 1], err[512];
	long long now_ms = ms_of(now);
	size_t len;
	sigset_t was;
	int status, hold = !sigisemptyset(&s->hold);

	if ((len = line_format(&s->line, &s->linecap, now, c->text,
	    ev->encoding, verified, ev->payload, ev->payload_len)) == 0)
		return reject(rs, c, 500, CNT_500, "out of memory", NULL);
	if (hold)
		sigprocmask(SIG_BLOCK, &s->hold, &was);
	if (cf->replay_window > 0 && token_seen(s, &r, ev->token, now_ms,
	    "storing without duplicate check")) {
		logmsg(LL_INFO, "duplicate token %s from %s", ev->token,
		    c->text);
		status = response_status(rs, ANSWER_DUPLICATE);
		goto out;
	}
	if (day_of(now->tv_sec, day) == -1) {
		status = reject(rs, c, 503, CNT_503, "spool unavailable",
		    NULL);
		logmsg(LL_ERROR, "the clock (%lld s) is outside the years "
		    "1000 to 9999: no day file to store in",
		    (long long)now->tv_sec);
		goto out;
	}
	if (spool_write(&p, cf->spool_dir, day, s->line, len, err,
	    sizeof(err)) == -1 ||
	    (cf->fsync && spool_sync(&p, err, sizeof(err)) == -1)) {
		status = reject(rs, c, 503, CNT_503, "spool unavailable",
		    NULL);
		logmsg(LL_ERROR, "%s", err);
		goto out;
	}
	/* remembered from its timestamp if that is ahead of the clock: as
	 * long as the timestamp is accepted (authenticate) */
	if (r.fd != -1 && replay_add(&r, ev->token, now_ms,
	    ev->timestamp_ms) == -1)
		logmsg(LL_ERROR, "replay table write: %s", strerror(errno));
	logmsg(LL_DEBUG, "stored event %d token %s from %s", ev->event_type,
	    ev->token, c->text);
	status = response_status(rs, ANSWER_SUCCESS);
	rs->stored = len;
	rs->stored_ms = now_ms;
 out:
	replay_close(&r);
	if (hold)
		sigprocmask(SIG_SETMASK, &was, NULL);	/* held ones act now */
	return status;
}

/* 413 for a body over max_body, however it was found out. */
static int
too_large(struct response *rs, const struct client *c)
{
	return reject(rs, c, 413, CNT_413, "body too large", NULL);
}

/* A POST: read, parse, authenticate, store. */
static int
post(struct server *s, const struct request *rq, struct response *rs,
    const struct client *c)
{
	const struct conf *cf = &s->conf;
	enum line_encoding enc;
	struct event ev;
	struct timespec now;
	struct payload_error pe;
	size_t len, got;
	long long now_ms;
	int known, status, verified = 0, stale = 0;

	if ((status = request_length(rq, cf->max_body, &len, &known)) == 413)
		return too_large(rs, c);
	if (status != 0)
		return reject(rs, c, 400, CNT_400_BODY, "bad Content-Length",
		    NULL);
	if (known && len == 0)
		return response_status(rs, ANSWER_OK);	/* dashboard test */
	if ((status = request_body(rq, &s->body, len, known, cf->max_body,
	    &got)) == 413)
		return too_large(rs, c);
	if (status == -1)
		return reject(rs, c, 500, CNT_500, "out of memory", NULL);
	if (status == 400)
		return reject(rs, c, 400, CNT_400_BODY,
		    "body shorter than Content-Length", NULL);
	if (status != 0)
		return reject(rs, c, 500, CNT_500, "cannot read body", NULL);
	if (got == strspn(s->body.p, " \t\r\n"))
		return response_status(rs, ANSWER_OK);	/* blank: a test */
	if (request_encoding(rq->content_type, s->body.p, got, &enc) != 0)
		return reject(rs, c, 415, CNT_415,
		    "unsupported content type", NULL);
	if ((status = payload_parse(&ev, s->body.p, got, enc, &pe)) == 1)
		return response_status(rs, ANSWER_OK);	/* {}: a test */
	if (status == -1 && pe.fault == PAYLOAD_NOMEM)
		return reject(rs, c, 500, CNT_500, pe.why, NULL);
	if (status == -1)
		return reject(rs, c, 400, payload_kind[pe.fault], pe.why,
		    pe.field);
	clock_gettime(CLOCK_REALTIME, &now);
	now_ms = ms_of(&now);
	status = authenticate(s, &ev, rs, c, now_ms, &verified, &stale);
	if (status == 0 && stale)
		status = stale_event(s, &ev, rs, c, now_ms);
	else if (status == 0)
		status = store(s, &ev, rs, c, verified, &now);
	payload_free(&ev);
	return status;
}

void
handle_count(struct server *s, const struct response *rs)
{
	static const enum counter ok[] = {
		[ANSWER_OK] = CNT_PING, [ANSWER_SUCCESS] = CNT_SUCCESS,
		[ANSWER_DUPLICATE] = CNT_DUPLICATE,
	};
	long long now;
	int e;

	if (!s->conf.counters)
		return;
	now = mono_ms();
	if (!counters_fresh(&s->counters, now) &&
	    counters_open(&s->counters, s->conf.spool_dir, now) == -1) {
		/* none yet is made by the first answer; else said once */
		if ((e = errno) != ENOENT && !s->counters_said++)
			logmsg(LL_WARN, "answer counters %s/%s: %s: answers "
			    "not counted (%s; see smshookctl check)",
			    s->conf.spool_dir, COUNTERS_FILE, e == EINVAL ?
			    "not a counters file" : strerror(e),
			    fs_kept_fix(e));
		return;
	}
	counters_add(&s->counters, rs->status == 200 ? ok[rs->answer] :
	    rs->kind, rs->stored, (uint64_t)rs->stored_ms);
}

int
handle(struct server *s, const struct request *rq, struct response *rs)
{
	const struct conf *cf = &s->conf;
	struct client c;
	enum method m = request_method(rq->method);

	memset(rs, 0, sizeof(*rs));
	rs->kind = CNT_500;	/* an error answer not made by reject() */
	if (request_client(cf, rq, &c) == -1) {
		snprintf(c.text, sizeof(c.text), "unknown");
		if (cf->allow_from.n > 0)
			return reject(rs, &c, 403, CNT_403_CLIENT,
			    "client address unknown", NULL);
	} else if (cf->allow_from.n > 0 &&
	    !cidr_list_match(&cf->allow_from, c.addr))
		return reject(rs, &c, 403, CNT_403_CLIENT,
		    "client not allowed", NULL);
	switch (m) {
	case M_GET:
	case M_HEAD:
		return response_status(rs, ANSWER_OK);
	case M_POST:
		return post(s, rq, rs, &c);
	default:
		rs->header = "Allow: GET, HEAD, POST";
		return reject(rs, &c, 405, CNT_405, "method not allowed",
		    NULL);
	}
}
