/*
 * test_rows.c: spool lines into sms_events rows (one per message, see
 * smshookctl(1)): every event type, old names and codes, form-encoded
 * lists, ids as numbers and as text, escaped lines agreeing with their
 * plain twins, and the lines that are refused, each with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mallocfail.h"
#include "conf.h"
#include "line.h"
#include "rows.h"

#define STAMP	"2026-11-26T16:29:42.123Z"
#define ENV(enc, pay)							\
	"{\"v\":1,\"received_at\":\"" STAMP "\",\"remote_addr\":"	\
	"\"203.0.113.9\",\"encoding\":\"" enc "\",\"verified\":true,"	\
	"\"payload\":" pay "}"

/* What every payload the receiver stores has, for short fixtures. */
#define TOK	"\"token\":\"t\","
#define TT	TOK "\"timestamp\":1"

#define REQUESTED							\
	"{\"event\":\"Requested\",\"eventType\":1,\"message\":\"request\","\
	"\"userId\":19999,\"smsUser\":\"App\",\"smsIds\":[\"id-a$13800000001\","\
	"\"id-b$13800000002\",\"id-c$13800000003\"],\"templateId\":29999,"\
	"\"phones\":[\"13800000001\",\"13800000002\",\"13800000003\"],"	\
	"\"customArgs\":{},\"timestamp\":1764174582123,\"token\":\"t\","\
	"\"signature\":\"s\"}"

#define DELIVERED							\
	"{\"event\":\"Delivered\",\"eventType\":20,\"message\":\"deliver\","\
	"\"smsId\":\"1652117371408_19999_376_4631_qrwnpq$13888888888\","\
	"\"phone\":\"13888888888\",\"userId\":19999,\"smsUser\":\"App\","\
	"\"templateId\":29999,\"outboundTime\":\"2022-05-10 01:29:31\","\
	"\"receiptTime\":\"2022-05-10 01:29:34\",\"msgCount\":1,"	\
	"\"customArgs\":{\"order\":\"A-1\"},\"timestamp\":1652117374000,"\
	"\"token\":\"t\",\"signature\":\"s\"}"

/* One expected row: every column as text, NULL for SQL NULL. */
struct want {
	const char	*col[NCOLS];
};

/* Parse s, which must be accepted; l is the caller's to free. */
static void
parse_ok(struct rows *l, const char *s)
{
	const char *why = NULL;

	if (rows_parse(l, s, strlen(s), &why) != 0)
		fail_msg("refused (%s): %s", why ? why : "?", s);
	assert_true(l->nrows >= 1);
	assert_non_null(l->rows);
}

/* Parse s[0..len), which must be refused; returns the reason. */
static const char *
parse_bad(const char *s, size_t len)
{
	struct rows l;
	const char *why = NULL;
	int rc;

	rc = rows_parse(&l, s, len, &why);
	rows_free(&l);
	if (rc != -1)
		fail_msg("accepted: %.*s", (int)len, s);
	assert_non_null(why);
	assert_true(why[0] != '\0');
	return why;
}

/*
 * The token columns of row i of l, by their rule: for a row without
 * sms_id or event_type (the token key's), the payload's token (tok) and
 * its place among the line's such rows; else both NULL.
 */
static void
check_token(const struct rows *l, size_t i, const char *tok)
{
	char buf[32], want[32];
	const char *got;
	size_t j, n = 0;

	for (j = 0; j < i; j++)
		n += l->rows[j].sms_id == NULL || !l->rows[j].has_event_type;
	got = row_text(l, &l->rows[i], COL_TOKEN_ROW, buf, sizeof(buf));
	if (l->rows[i].sms_id != NULL && l->rows[i].has_event_type) {
		assert_null(got);
		assert_null(row_text(l, &l->rows[i], COL_TOKEN, buf,
		    sizeof(buf)));
		return;
	}
	assert_string_equal(row_text(l, &l->rows[i], COL_TOKEN, buf,
	    sizeof(buf)), tok);
	snprintf(want, sizeof(want), "%zu", n);
	assert_non_null(got);
	assert_string_equal(got, want);
}

/*
 * Compare every column of row i of l with w (payload: if w has one),
 * the token columns by their rule (token "t", as every fixture has).
 */
static void
check_row(const struct rows *l, size_t i, const struct want *w)
{
	char buf[32];
	const char *got;
	long long v;
	int c, has;

	assert_true(i < l->nrows);
	for (c = 0; c < NCOLS; c++) {
		if (c == COL_TOKEN || c == COL_TOKEN_ROW)
			continue;
		memset(buf, 'x', sizeof(buf));
		got = row_text(l, &l->rows[i], c, buf, sizeof(buf));
		if (w->col[c] == NULL) {
			if (got != NULL)
				fail_msg("row %zu %s: \"%s\", want NULL", i,
				    schema_cols[c].name, got);
		} else if (got == NULL || strcmp(got, w->col[c]) != 0)
			fail_msg("row %zu %s: \"%s\", want \"%s\"", i,
			    schema_cols[c].name, got ? got : "(NULL)", w->col[c]);
		if (!schema_cols[c].integer)
			continue;
		has = row_int(l, &l->rows[i], c, &v);
		assert_int_equal(has, w->col[c] != NULL);
		if (has)
			assert_int_equal(v, strtoll(w->col[c], NULL, 10));
	}
	check_token(l, i, "t");
}

/* The envelope fields every ENV() line carries. */
static void
check_envelope(const struct rows *l, const char *enc)
{
	assert_string_equal(l->received_at, STAMP);
	assert_string_equal(l->remote_addr, "203.0.113.9");
	assert_string_equal(l->encoding, enc);
	assert_int_equal(l->verified, 1);
	assert_int_equal(l->payload_len, strlen(l->payload));
}

static void
test_col_names(void **state)
{
	static const char *const names[NCOLS] = {
		"event_type", "event", "sms_id", "phone", "user_id",
		"sms_user", "template_id", "message", "status_code",
		"event_time", "received_at", "verified", "payload",
		"payload_id", "token", "token_row"
	};
	int c;

	(void)state;
	for (c = 0; c < NCOLS; c++) {
		assert_non_null(schema_cols[c].name);
		assert_string_equal(schema_cols[c].name, names[c]);
		assert_int_equal(schema_cols[c].integer, c == COL_EVENT_TYPE ||
		    c == COL_STATUS_CODE || c == COL_EVENT_TIME ||
		    c == COL_VERIFIED || c == COL_PAYLOAD_ID ||
		    c == COL_TOKEN_ROW);
		/* added by a migration: after every older column */
		assert_int_equal(!!(schema_cols[c].where & SC_V7),
		    c >= COL_TOKEN);
	}
}

/*
 * The token keys rows without a message id: each gets the token, as
 * its text (escapes undone), and its place among the line's such rows.
 */
static void
test_token_rows(void **state)
{
	static const char line[] = ENV("json", "{\"eventType\":1,"
	    "\"smsIds\":[\"\",\"m$1\",\"\",\"n$2\",\"\"],"
	    "\"token\":\"a\\u0042c\",\"timestamp\":1}");
	static const char one[] = ENV("json", "{\"eventType\":77,"
	    "\"token\":\"t\",\"timestamp\":1}");
	static const char untyped[] = ENV("json", "{\"event\":\"zzz\","
	    "\"smsId\":\"s$1\",\"token\":\"t\",\"timestamp\":1}");
	struct rows l;
	size_t i;

	(void)state;
	parse_ok(&l, line);
	assert_int_equal(l.nrows, 5);
	for (i = 0; i < l.nrows; i++)
		check_token(&l, i, "aBc");
	assert_int_equal(l.rows[4].token_row, 2);
	rows_free(&l);
	parse_ok(&l, one);
	assert_int_equal(l.nrows, 1);
	check_token(&l, 0, "t");
	assert_int_equal(l.rows[0].token_row, 0);
	rows_free(&l);
	/* a message id without a type: no message key, so the token's */
	parse_ok(&l, untyped);
	assert_int_equal(l.nrows, 1);
	check_token(&l, 0, "t");
	assert_int_equal(l.rows[0].token_row, 0);
	rows_free(&l);
}

static void
test_requested(void **state)
{
	static const char line[] = ENV("json", REQUESTED);
	static const char *const ids[] = { "id-a$13800000001",
	    "id-b$13800000002", "id-c$13800000003" };
	static const char *const phones[] = { "13800000001", "13800000002",
	    "13800000003" };
	struct rows l;
	struct want w = { { "1", "Requested", NULL, NULL, "19999", "App",
	    "29999", "request", NULL, "1764174582123", STAMP, "1", REQUESTED } };
	size_t i;

	(void)state;
	parse_ok(&l, line);
	assert_non_null(l.mem);			/* the fast path took it */
	check_envelope(&l, "json");
	assert_int_equal(l.nrows, 3);
	for (i = 0; i < 3; i++) {
		w.col[COL_SMS_ID] = ids[i];
		w.col[COL_PHONE] = phones[i];
		check_row(&l, i, &w);
	}
	rows_free(&l);
	assert_int_equal(l.nrows, 0);
	assert_null(l.rows);
}

static void
test_delivered(void **state)
{
	static const char line[] = ENV("json", DELIVERED);
	struct rows l;
	const struct want w = { { "20", "Delivered",
	    "1652117371408_19999_376_4631_qrwnpq$13888888888", "13888888888",
	    "19999", "App", "29999", "deliver", NULL, "1652117374000", STAMP,
	    "1", DELIVERED } };

	(void)state;
	parse_ok(&l, line);
	check_envelope(&l, "json");
	assert_int_equal(l.nrows, 1);
	check_row(&l, 0, &w);
	rows_free(&l);
}

static void
test_suppressed_failed(void **state)
{
#define SUPP	"{\"event\":\"Suppressed\",\"eventType\":4,\"smsId\":\"s-1\","\
	"\"phone\":\"13888888889\",\"userId\":19999,\"smsUser\":\"App\","\
	"\"templateId\":29999,\"message\":\"blocked\",\"encodeMessage\":"\
	"\"5L2g5aW9\",\"statusCode\":412," TOK "\"timestamp\":1652117374001}"
#define FAIL	"{\"event\":\"Failed\",\"eventType\":5,\"smsId\":\"f-1\","\
	"\"phone\":\"13888888890\",\"userId\":\"19999\",\"smsUser\":\"App\","\
	"\"templateId\":\"29999\",\"message\":\"failed\",\"statusCode\":"\
	"\"500\",\"receiptTime\":\"2022-05-10 01:29:40\",\"msgCount\":1,"\
	TOK "\"timestamp\":1652117374002}"
	static const char sline[] = ENV("json", SUPP);
	static const char fline[] = ENV("json", FAIL);
	struct rows l;
	const struct want ws = { { "4", "Suppressed", "s-1", "13888888889",
	    "19999", "App", "29999", "blocked", "412", "1652117374001", STAMP,
	    "1", SUPP } };
	const struct want wf = { { "5", "Failed", "f-1", "13888888890",
	    "19999", "App", "29999", "failed", "500", "1652117374002", STAMP,
	    "1", FAIL } };

	(void)state;
	parse_ok(&l, sline);
	assert_int_equal(l.nrows, 1);
	check_row(&l, 0, &ws);
	rows_free(&l);
	/* ids and statusCode as strings give the same text */
	parse_ok(&l, fline);
	assert_int_equal(l.nrows, 1);
	check_row(&l, 0, &wf);
	rows_free(&l);
#undef SUPP
#undef FAIL
}

static void
test_template(void **state)
{
#define TPL	"{\"event\":\"Template Verify\",\"eventType\":8,\"userId\":19999,"\
	"\"templateId\":29999,\"name\":\"verify code\",\"verfiyResult\":1,"\
	"\"verfiyComment\":\"ok\"," TOK "\"timestamp\":1652117375000}"
	static const char line[] = ENV("json", TPL);
	struct rows l;
	/* no sms_id: (event_type, template_id, event_time) is its key */
	const struct want w = { { "8", "Template Verify", NULL, NULL, "19999",
	    NULL, "29999", NULL, NULL, "1652117375000", STAMP, "1", TPL } };

	(void)state;
	parse_ok(&l, line);
	assert_int_equal(l.nrows, 1);
	check_row(&l, 0, &w);
	assert_int_equal(l.has_event_time, 1);
	assert_int_equal(l.event_time, 1652117375000LL);
	assert_string_equal(l.template_id, "29999");
	rows_free(&l);
#undef TPL
}

static void
test_code_2_and_old_names(void **state)
{
	static const struct {
		const char	*pay;
		const char	*type, *event;
	} t[] = {
		{ "{\"eventType\":2,\"smsId\":\"x\"," TT "}", "20", "Delivered" },
		{ "{\"eventType\":\"2\",\"smsId\":\"x\"," TT "}", "20", "Delivered" },
		{ "{\"event\":\"deliver\",\"smsId\":\"x\"," TT "}", "20", "Delivered" },
		{ "{\"event\":\"Delivered\",\"smsId\":\"x\"," TT "}", "20",
		    "Delivered" },
		{ "{\"event\":\"request\",\"smsId\":\"x\"," TT "}", "1", "Requested" },
		{ "{\"event\":\"workererror\",\"smsId\":\"x\"," TT "}", "4",
		    "Suppressed" },
		{ "{\"event\":\"delivererror\",\"smsId\":\"x\"," TT "}", "5",
		    "Failed" },
		{ "{\"event\":\"templateVerify\",\"smsId\":\"x\"," TT "}", "8",
		    "Template Verify" },
		/* the code wins over a name that disagrees */
		{ "{\"event\":\"deliver\",\"eventType\":5,\"smsId\":\"x\"," TT "}",
		    "5", "Failed" },
		/* unknown code and name: kept as sent */
		{ "{\"event\":\"Bounced\",\"eventType\":99,\"smsId\":\"x\"," TT "}",
		    "99", "Bounced" },
		/* neither: both NULL; an unknown name alone has no type */
		{ "{\"smsId\":\"x\"," TT "}", NULL, NULL },
		{ "{\"event\":\"Nope\",\"smsId\":\"x\"," TT "}", NULL, "Nope" },
	};
	struct rows l;
	struct want w = { { NULL, NULL, "x", NULL, NULL, NULL, NULL, NULL,
	    NULL, "1", STAMP, "1", NULL } };
	char line[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(line, sizeof(line), ENV("json", "%s"), t[i].pay);
		parse_ok(&l, line);
		assert_non_null(l.mem);
		w.col[COL_EVENT_TYPE] = t[i].type;
		w.col[COL_EVENT] = t[i].event;
		w.col[COL_PAYLOAD] = t[i].pay;
		assert_int_equal(l.nrows, 1);
		check_row(&l, 0, &w);
		rows_free(&l);
	}
}

static void
test_form_lists(void **state)
{
#define FORM	"{\"event\":\"Requested\",\"eventType\":\"1\",\"message\":"\
	"\"request\",\"userId\":\"19999\",\"smsUser\":\"App\",\"smsIds\":"\
	"\"[\\\"f-1$13800000001\\\",\\\"f-2$13800000002\\\"]\","	\
	"\"templateId\":\"29999\",\"phones\":"				\
	"\"[\\\"13800000001\\\",\\\"13800000002\\\"]\",\"customArgs\":"\
	"\"{}\",\"timestamp\":\"1764174582123\",\"token\":\"t\","	\
	"\"signature\":\"s\"}"
	static const char line[] = ENV("form", FORM);
	struct rows l;
	struct want w = { { "1", "Requested", "f-1$13800000001",
	    "13800000001", "19999", "App", "29999", "request", NULL,
	    "1764174582123", STAMP, "1", FORM } };

	(void)state;
	parse_ok(&l, line);
	check_envelope(&l, "form");
	assert_int_equal(l.nrows, 2);
	check_row(&l, 0, &w);
	w.col[COL_SMS_ID] = "f-2$13800000002";
	w.col[COL_PHONE] = "13800000002";
	check_row(&l, 1, &w);
	rows_free(&l);
#undef FORM
}

static void
test_form_single(void **state)
{
	/* a lone smsIds string that is not JSON text is one id */
	static const char l1[] = ENV("form", "{\"eventType\":\"1\","
	    "\"smsIds\":\"one$1\",\"phones\":\"13800000001\"," TT "}");
	/* fewer phones than ids: the rest have no phone */
	static const char l2[] = ENV("json", "{\"eventType\":1,"
	    "\"smsIds\":[\"a\",\"b\"],\"phones\":[\"1380\"]," TT "}");
	/* an empty list falls back to smsId/phone */
	static const char l3[] = ENV("json", "{\"eventType\":20,"
	    "\"smsIds\":[],\"smsId\":\"z\",\"phone\":\"1390\"," TT "}");
	/* an empty id names no message: no id, not one shared by all */
	static const char l4[] = ENV("json", "{\"eventType\":4,"
	    "\"smsId\":\"\",\"phone\":\"1391\"," TT "}");
	static const char l5[] = ENV("form", "{\"eventType\":\"1\","
	    "\"smsIds\":[\"\",\"c\"],\"phones\":[\"1\",\"2\"]," TT "}");
	struct rows l;

	(void)state;
	parse_ok(&l, l1);
	assert_int_equal(l.nrows, 1);
	assert_string_equal(l.rows[0].sms_id, "one$1");
	assert_string_equal(l.rows[0].phone, "13800000001");
	rows_free(&l);
	parse_ok(&l, l2);
	assert_int_equal(l.nrows, 2);
	assert_string_equal(l.rows[0].sms_id, "a");
	assert_string_equal(l.rows[0].phone, "1380");
	assert_string_equal(l.rows[1].sms_id, "b");
	assert_null(l.rows[1].phone);
	rows_free(&l);
	parse_ok(&l, l3);
	assert_int_equal(l.nrows, 1);
	assert_string_equal(l.rows[0].sms_id, "z");
	assert_string_equal(l.rows[0].phone, "1390");
	rows_free(&l);
	parse_ok(&l, l4);
	assert_int_equal(l.nrows, 1);
	assert_null(l.rows[0].sms_id);
	assert_string_equal(l.rows[0].phone, "1391");
	rows_free(&l);
	parse_ok(&l, l5);
	assert_int_equal(l.nrows, 2);
	assert_null(l.rows[0].sms_id);
	assert_string_equal(l.rows[1].sms_id, "c");
	assert_string_equal(l.rows[1].phone, "2");
	rows_free(&l);
}

static void
test_numeric_ids(void **state)
{
	static const struct {
		const char	*line;
		const char	*id, *phone, *user;
		int		 fast;
	} t[] = {
		/* short integers: the fast path copies their text */
		{ ENV("json", "{\"eventType\":1,\"smsIds\":[123456789012345],"
		    "\"phones\":[13800000001],\"userId\":19999," TT "}"),
		    "123456789012345", "13800000001", "19999", 1 },
		/* 16 digits: cJSON's double, still exact below 2^53 */
		{ ENV("json", "{\"eventType\":1,\"smsIds\":[1234567890123456],"
		    "\"phones\":[13800000001],\"userId\":9007199254740992," TT "}"),
		    "1234567890123456", "13800000001", "9007199254740992", 0 },
		/* long ids as strings are text, digit for digit */
		{ ENV("json", "{\"eventType\":1,\"smsIds\":"
		    "[\"12345678901234567890\"],\"phones\":[\"+8613800000001\"],"
		    "\"userId\":\"00012345678901234567890\"," TT "}"),
		    "12345678901234567890", "+8613800000001",
		    "00012345678901234567890", 1 },
		/* the same on the slow path (an escape elsewhere) */
		{ ENV("json", "{\"eventType\":1,\"smsIds\":"
		    "[\"12345678901234567890\"],\"phones\":[\"+8613800000001\"],"
		    "\"userId\":\"00012345678901234567890\",\"message\":"
		    "\"a\\u0062\"," TT "}"),
		    "12345678901234567890", "+8613800000001",
		    "00012345678901234567890", 0 },
		/* smsId and phone as numbers */
		{ ENV("json", "{\"eventType\":20,\"smsId\":42,"
		    "\"phone\":13800000009,\"userId\":-7," TT "}"),
		    "42", "13800000009", "-7", 1 },
	};
	struct rows l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		parse_ok(&l, t[i].line);
		assert_int_equal(l.nrows, 1);
		assert_string_equal(l.rows[0].sms_id, t[i].id);
		assert_string_equal(l.rows[0].phone, t[i].phone);
		assert_string_equal(l.user_id, t[i].user);
		rows_free(&l);
	}
}

static void
test_payload_verbatim(void **state)
{
	/* numbers and member order reach the payload column as sent */
	static const char pay[] = "{\"z\":1.50,\"a\":1e3,\"eventType\":20,"
	    "\"smsId\":\"q\",\"n\":-0.0,\"u\":\"\\u4f60\"," TT "}";
	char line[512];
	struct rows l;

	(void)state;
	snprintf(line, sizeof(line), ENV("json", "%s"), pay);
	parse_ok(&l, line);
	assert_string_equal(l.payload, pay);
	assert_int_equal(l.payload_len, strlen(pay));
	assert_string_equal(l.rows[0].sms_id, "q");
	rows_free(&l);
	/* white space around the payload is not part of it */
	snprintf(line, sizeof(line), "{ \"v\" : 1 , \"received_at\" : \""
	    STAMP "\" , \"remote_addr\" : \"::1\" , \"encoding\" : "
	    "\"form\" , \"verified\" : false , \"payload\" : %s }", pay);
	parse_ok(&l, line);
	assert_string_equal(l.payload, pay);
	assert_string_equal(l.remote_addr, "::1");
	assert_string_equal(l.encoding, "form");
	assert_int_equal(l.verified, 0);
	rows_free(&l);
	/* without them it is not a line the receiver writes: refused */
	snprintf(line, sizeof(line), "{\"v\":1,\"received_at\":\"" STAMP
	    "\",\"payload\":%s}", pay);
	assert_string_equal(parse_bad(line, strlen(line)),
	    "not a v1 envelope: bad or no \"remote_addr\"");
}

/* Escaped lines give what their plain equivalents give, but payload. */
static void
test_escapes(void **state)
{
	static const struct {
		const char	*plain, *esc;
	} t[] = {
		{ ENV("json", REQUESTED),
		  ENV("json", "{\"event\":\"Requ\\u0065sted\",\"eventType\":1,"
		    "\"message\":\"re\\u0071uest\",\"userId\":19999,\"smsUser\":"
		    "\"\\u0041pp\",\"smsIds\":[\"id-a\\u002413800000001\","
		    "\"id-b$13800000002\",\"id-c$13800000003\"],\"templateId\":"
		    "29999,\"phones\":[\"13800000001\",\"1380000000\\u0032\","
		    "\"13800000003\"],\"customArgs\":{},\"timestamp\":"
		    "1764174582123,\"token\":\"t\",\"signature\":\"s\"}") },
		{ ENV("json", "{\"event\":\"deliver\",\"smsId\":\"a/b\","
		    "\"phone\":\"1\",\"message\":\"hi\"," TT "}"),
		  ENV("json", "{\"event\":\"deliver\",\"smsId\":\"a\\/b\","
		    "\"phone\":\"\\u0031\",\"message\":\"h\\u0069\"," TT "}") },
		/* a name longer escaped (72 bytes) than any name unescaped */
		{ ENV("json", "{\"eventType\":6,\"phone\":\"1\",\"replyContent\":"
		    "\"TD\",\"replyTime\":\"2022-05-10 01:29:31\"," TT "}"),
		  ENV("json", "{\"eventType\":6,\"phone\":\"1\",\"\\u0072\\u0065"
		    "\\u0070\\u006c\\u0079\\u0043\\u006f\\u006e\\u0074\\u0065"
		    "\\u006e\\u0074\":\"TD\",\"replyTime\":\"2022-05-10 01:29:31\","
		    TT "}") },
		/* escapes in the envelope only */
		{ ENV("json", DELIVERED),
		  "{\"v\":1,\"received_at\":\"2026-11-26T16:29:42.123\\u005a\","
		    "\"remote_addr\":\"203.0.113.9\",\"encoding\":\"js\\u006fn\","
		    "\"verified\":true,\"payload\":" DELIVERED "}" },
	};
	struct rows a, b;
	char ba[32], bb[32];
	const char *x, *y;
	size_t i, r;
	int c;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		parse_ok(&a, t[i].plain);
		parse_ok(&b, t[i].esc);
		assert_int_equal(a.nrows, b.nrows);
		assert_string_equal(a.received_at, b.received_at);
		assert_string_equal(a.encoding, b.encoding);
		for (r = 0; r < a.nrows; r++)
			for (c = 0; c < NCOLS; c++) {
				x = row_text(&a, &a.rows[r], c, ba,
				    sizeof(ba));
				y = row_text(&b, &b.rows[r], c, bb,
				    sizeof(bb));
				if (c == COL_PAYLOAD && i < 3) {
					assert_string_not_equal(x, y);
					continue;
				}
				if (x == NULL || y == NULL) {
					assert_ptr_equal(x, y);
					continue;
				}
				assert_string_equal(x, y);
			}
		rows_free(&a);
		rows_free(&b);
	}
	/* escapes the fast path has no plain twin for */
	parse_ok(&b, ENV("json", "{\"smsId\":\"a\\\\b\",\"message\":"
	    "\"\\\"hi\\\"\\n\\t\\u4f60\\ud83d\\ude00\"," TT "}"));
	assert_string_equal(b.message, "\"hi\"\n\t\xe4\xbd\xa0\xf0\x9f\x98\x80");
	assert_string_equal(b.rows[0].sms_id, "a\\b");
	rows_free(&b);
}

static void
test_rejections(void **state)
{
	static const struct {
		const char	*line;
		size_t		 len;		/* 0: strlen */
		const char	*why;		/* NULL: any reason */
	} t[] = {
		{ "hello", 0, NULL },
		{ "{\"v\":1,", 0, NULL },
		{ "[1,2]", 0, "not a v1 spool line" },
		{ "\"str\"", 0, "not a v1 spool line" },
		{ "42", 0, "not a v1 spool line" },
		{ "{\"v\":2,\"received_at\":\"" STAMP "\",\"payload\":{}}", 0,
		    "not a v1 spool line" },
		{ "{\"v\":\"1\",\"received_at\":\"" STAMP "\",\"payload\":{}}",
		    0, "not a v1 spool line" },
		{ "{\"received_at\":\"" STAMP "\",\"payload\":{}}", 0,
		    "not a v1 spool line" },
		{ "{\"v\":1,\"received_at\":\"" STAMP "\"}", 0,
		    "no payload object" },
		{ "{\"v\":1,\"received_at\":\"" STAMP "\",\"payload\":[]}", 0,
		    "no payload object" },
		{ "{\"v\":1,\"received_at\":\"" STAMP "\",\"payload\":\"x\"}",
		    0, "no payload object" },
		{ "{\"v\":1,\"payload\":{}}", 0, "no received_at" },
		{ "{\"v\":1,\"received_at\":\"2026-11-26 16:29:42\","
		    "\"payload\":{}}", 0, "no received_at" },
		{ "{\"v\":1,\"received_at\":\"2026-11-26T16:29:42+08:00\","
		    "\"payload\":{}}", 0, "no received_at" },
		{ "{\"v\":1,\"received_at\":\"2026-11-26T16:29:42.Zx\","
		    "\"payload\":{}}", 0, "no received_at" },
		{ "{\"v\":1,\"received_at\":1764174582,\"payload\":{}}", 0,
		    "no received_at" },
		{ ENV("json", "{\"message\":\"\xff\"}"), 0,
		    "invalid UTF-8 or NUL byte" },
		{ ENV("json", "{\"message\":\"\xc0\xaf\"}"), 0,
		    "invalid UTF-8 or NUL byte" },
		{ ENV("json", "{\"message\":\"\xed\xa0\x80\"}"), 0,
		    "invalid UTF-8 or NUL byte" },
		{ ENV("json", "{\"message\":\"a\\u0000b\"}"), 0, NULL },
		/* trailing content: cJSON alone stops after the object */
		{ ENV("json", DELIVERED) "x", 0, "not JSON" },
		{ ENV("json", DELIVERED) " 1", 0, "not JSON" },
		{ ENV("json", DELIVERED) "null", 0, "not JSON" },
		{ ENV("json", DELIVERED) ENV("json", DELIVERED), 0, "not JSON" },
		{ "", 0, "empty line" },
	};
	static const char nul[] = "{\"v\":1,\"x\":\"\0\",\"received_at\":\""
	    STAMP "\",\"payload\":{}}";
	const char *why;
	size_t i, len;

	(void)state;
	assert_string_equal(parse_bad(nul, sizeof(nul) - 1),
	    "invalid UTF-8 or NUL byte");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		len = t[i].len ? t[i].len : strlen(t[i].line);
		why = parse_bad(t[i].line, len);
		if (t[i].why != NULL && strcmp(why, t[i].why) != 0)
			fail_msg("case %zu: \"%s\", want \"%s\"", i, why,
			    t[i].why);
		if (t[i].why == NULL && strcmp(why, "out of memory") == 0)
			fail_msg("case %zu: out of memory", i);
	}
}

/* Every proper prefix of a good line (a torn append) is refused. */
static void
test_torn(void **state)
{
	static const char good[] = ENV("json", REQUESTED);
	static const char form[] = ENV("form", "{\"smsIds\":\"[\\\"a\\\"]\"}");
	struct rows l;
	const char *why;
	size_t n;

	(void)state;
	for (n = 1; n < sizeof(good) - 1; n++) {
		why = parse_bad(good, n);
		assert_string_not_equal(why, "out of memory");
	}
	for (n = 1; n < sizeof(form) - 1; n++)
		parse_bad(form, n);
	/* and the whole line, also with trailing white space or junk */
	parse_ok(&l, good);
	rows_free(&l);
	parse_ok(&l, ENV("json", REQUESTED) " \t\r\n");
	assert_int_equal(l.nrows, 3);
	rows_free(&l);
	parse_ok(&l, ENV("json", REQUESTED "  ") "\n");
	assert_string_equal(l.payload, REQUESTED);	/* not its spaces */
	rows_free(&l);
	parse_bad(ENV("json", REQUESTED) "x", sizeof(good));
	parse_bad(ENV("json", REQUESTED) "}", sizeof(good));
	parse_bad(ENV("json", REQUESTED) ENV("json", REQUESTED),
	    2 * (sizeof(good) - 1));
}

/* A duplicated payload is ambiguous: refused, not half of each. */
static void
test_duplicates(void **state)
{
	static const char line[] = "{\"v\":1,\"received_at\":\"" STAMP "\","
	    "\"payload\":{\"eventType\":20,\"smsId\":\"a\"},"
	    "\"payload\":{\"eventType\":5,\"smsId\":\"b\"}}";

	(void)state;
	assert_string_equal(parse_bad(line, sizeof(line) - 1),
	    "duplicate member name");
}

/* row_text's integers: negative, large, and NULL when absent. */
static void
test_row_text_ints(void **state)
{
	static const char line[] = ENV("json", "{\"eventType\":"
	    "\"-123456789012345678\",\"statusCode\":\"-1\"," TOK "\"timestamp\":"
	    "999999999999999}");
	struct rows l;
	char buf[32];

	(void)state;
	parse_ok(&l, line);
	assert_string_equal(row_text(&l, &l.rows[0], COL_EVENT_TYPE, buf,
	    sizeof(buf)), "-123456789012345678");
	assert_string_equal(row_text(&l, &l.rows[0], COL_STATUS_CODE, buf,
	    sizeof(buf)), "-1");
	assert_string_equal(row_text(&l, &l.rows[0], COL_EVENT_TIME, buf,
	    sizeof(buf)), "999999999999999");
	assert_null(row_text(&l, &l.rows[0], COL_EVENT, buf,
	    sizeof(buf)));
	assert_null(row_text(&l, &l.rows[0], COL_SMS_ID, buf,
	    sizeof(buf)));
	assert_null(row_text(&l, &l.rows[0], NCOLS, buf, sizeof(buf)));
	rows_free(&l);
	/* 19 digits or a fraction: not an integer, so NULL */
	parse_ok(&l, ENV("json", "{\"eventType\":\"1234567890123456789\","
	    "\"statusCode\":4.5," TOK "\"timestamp\":1.5}"));
	assert_null(row_text(&l, &l.rows[0], COL_EVENT_TYPE, buf,
	    sizeof(buf)));
	assert_null(row_text(&l, &l.rows[0], COL_STATUS_CODE, buf,
	    sizeof(buf)));
	assert_null(row_text(&l, &l.rows[0], COL_EVENT_TIME, buf,
	    sizeof(buf)));
	rows_free(&l);
}

/*
 * A reply's time: exactly "YYYY-MM-DD HH:MM:SS" (UTC+8) as the schema's
 * migration reads it, a day past the month's end running into the next;
 * anything looser leaves the event's timestamp.
 */
static void
test_reply_time(void **state)
{
	static const struct {
		const char	*t;
		const char	*ms;
	} t[] = {
		{ "2026-03-02 10:00:00", "1772416800000" },
		{ "2026-02-30 10:00:00", "1772416800000" },	/* March 2 */
		{ "1970-01-01 08:00:00", "0" },
		{ "1970-01-01 07:59:59", "-1000" },	/* timegm's -1 */
		{ "2026-3-2 10:00:00", "1" },
		{ " 2026-03-02 10:00:00", "1" },
		{ "2026-03-02 10:00:00 ", "1" },
		{ "2026-03-02 10:00:60", "1" },
		{ "2026-03-02 10:60:00", "1" },
		{ "2026-03-02 24:00:00", "1" },
		{ "2026-13-02 10:00:00", "1" },
		{ "2026-00-02 10:00:00", "1" },
		{ "2026-03-00 10:00:00", "1" },
		{ "2026-03-32 10:00:00", "1" },
		{ "2026-03-02T10:00:00", "1" },
		{ "2026-03-02 10:00", "1" },
		{ "+026-03-02 10:00:00", "1" },
		{ "", "1" },
	};
	char line[256], buf[32];
	struct rows l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(line, sizeof(line), ENV("json", "{\"eventType\":6,"
		    "\"phone\":\"1\",\"replyContent\":\"TD\",\"replyTime\":"
		    "\"%s\"," TT "}"), t[i].t);
		parse_ok(&l, line);
		if (strcmp(row_text(&l, &l.rows[0], COL_EVENT_TIME, buf,
		    sizeof(buf)), t[i].ms) != 0)
			fail_msg("\"%s\": %s, want %s", t[i].t, buf, t[i].ms);
		rows_free(&l);
	}
}

/*
 * A form that gave smsId more than once: one row per value, phone's
 * values beside them, as for smsIds; any other column a form repeated
 * takes its first value.
 */
static void
test_form_repeated(void **state)
{
	static const char l1[] = ENV("form", "{\"eventType\":\"20\","
	    "\"smsId\":[\"r1\",\"r2\"],\"phone\":[\"1\",\"2\"],"
	    "\"templateId\":[\"7\",\"8\"],\"statusCode\":[\"410\",\"420\"],"
	    "\"userId\":[],\"message\":[\"a\",\"b\"]," TT "}");
	/* smsIds given: smsId's values are not rows */
	static const char l2[] = ENV("form", "{\"eventType\":\"1\","
	    "\"smsIds\":\"[\\\"x\\\"]\",\"smsId\":[\"r1\",\"r2\"]," TT "}");
	/* one phone for two ids */
	static const char l3[] = ENV("form", "{\"eventType\":\"6\","
	    "\"smsId\":[\"r1\",\"r2\"],\"phone\":\"1\","
	    "\"replyContent\":[\"TD\",\"x\"],"
	    "\"replyTime\":[\"2026-03-02 10:00:00\",\"x\"]," TT "}");
	struct rows l;
	char buf[32];

	(void)state;
	parse_ok(&l, l1);
	assert_int_equal(l.nrows, 2);
	assert_string_equal(l.rows[0].sms_id, "r1");
	assert_string_equal(l.rows[0].phone, "1");
	assert_string_equal(l.rows[1].sms_id, "r2");
	assert_string_equal(l.rows[1].phone, "2");
	assert_string_equal(l.template_id, "7");
	assert_string_equal(l.message, "a");
	assert_null(l.user_id);
	assert_string_equal(row_text(&l, &l.rows[1], COL_STATUS_CODE, buf,
	    sizeof(buf)), "410");
	rows_free(&l);
	parse_ok(&l, l2);
	assert_int_equal(l.nrows, 1);
	assert_string_equal(l.rows[0].sms_id, "x");
	rows_free(&l);
	parse_ok(&l, l3);
	assert_int_equal(l.nrows, 2);
	assert_string_equal(l.rows[0].phone, "1");
	assert_null(l.rows[1].phone);
	assert_string_equal(l.message, "TD");
	assert_string_equal(row_text(&l, &l.rows[0], COL_EVENT_TIME, buf,
	    sizeof(buf)), "1772416800000");
	rows_free(&l);
}

/*
 * Memory running out says nothing of the line: -2, never -1 (a reject),
 * at whichever allocation it happens.
 */
static void
test_nomem(void **state)
{
	static const char line[] = ENV("form", "{\"eventType\":\"1\","
	    "\"smsIds\":\"[\\\"a\\\",\\\"b\\\"]\","
	    "\"phones\":\"[\\\"1\\\",\\\"2\\\"]\"," TT "}");
	struct rows l;
	const char *why;
	long n;
	int rc;

	(void)state;
	if (!mallocfail_works())
		skip();
	for (n = 0; ; n++) {
		why = NULL;
		fail_in = n;
		rc = rows_parse(&l, line, sizeof(line) - 1, &why);
		fail_in = -1;
		rows_free(&l);
		if (rc == 0)
			break;
		assert_int_equal(rc, -2);
		assert_string_equal(why, "out of memory");
	}
	assert_true(n >= 3);	/* smsIds, phones, the rows */
}

/*
 * An eventType the receiver took as an integer is one here too, however
 * its digits are escaped: six \u-escaped digits are 38 bytes of text.
 */
static void
test_escaped_event_type(void **state)
{
	static const char line[] = ENV("json", "{\"event\":\"Failed\","
	    "\"eventType\":\"\\u0030\\u0030\\u0030\\u0030\\u0032"
	    "\\u0030\",\"smsId\":\"a\"," TT "}");
	struct rows l;

	(void)state;
	parse_ok(&l, line);
	assert_int_equal(l.nrows, 1);
	assert_int_equal(l.rows[0].has_event_type, 1);
	assert_int_equal(l.rows[0].event_type, 20);
	rows_free(&l);
}

/*
 * A number is read whole however long its text (the receiver bounds its
 * own, but a line may come from elsewhere): 0.(299 zeros)1e302 is 100.
 */
static void
test_long_number(void **state)
{
	char line[1024], num[400];
	struct rows l;

	(void)state;
	memset(num, '0', sizeof(num));
	num[1] = '.';
	memcpy(num + 301, "1e302", 6);
	snprintf(line, sizeof(line), ENV("json", "{\"eventType\":5,"
	    "\"statusCode\":%s,\"smsId\":\"a\"," TT "}"), num);
	parse_ok(&l, line);
	assert_int_equal(l.nrows, 1);
	assert_int_equal(l.rows[0].has_status_code, 1);
	assert_int_equal(l.rows[0].status_code, 100);
	rows_free(&l);
}

/*
 * line_max: the longest line the receiver writes with a max_body;
 * line_beyond_any: longer than it writes with the largest it accepts.
 */
static void
test_line_limits(void **state)
{
	unsigned long long most = 6 * CONF_MAX_BODY + 4096;

	(void)state;
	assert_int_equal(line_max(1048576), 6 * 1048576 + 4096);
	assert_false(line_beyond_any(line_max(1048576) + 1));
	assert_false(line_beyond_any(most));
	assert_true(line_beyond_any(most + 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_col_names),
		cmocka_unit_test(test_token_rows),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_escaped_event_type),
		cmocka_unit_test(test_long_number),
		cmocka_unit_test(test_requested),
		cmocka_unit_test(test_delivered),
		cmocka_unit_test(test_suppressed_failed),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_code_2_and_old_names),
		cmocka_unit_test(test_form_lists),
		cmocka_unit_test(test_form_single),
		cmocka_unit_test(test_numeric_ids),
		cmocka_unit_test(test_payload_verbatim),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_torn),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_row_text_ints),
		cmocka_unit_test(test_reply_time),
		cmocka_unit_test(test_form_repeated),
		cmocka_unit_test(test_nomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
