/* test_json.c: the lexer: compaction, lexical checks, member spans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static const struct json_name ts_name[] = { JSON_NAME("timestamp") };

struct result {
	int		 rc;
	char		*out;		/* compacted text, caller frees */
	size_t		 outlen;
	const char	*why;
	struct json_span ts;		/* the root's "timestamp" member */
	struct json_lex	 jl;
};

/* Scan len bytes of in with capture key "timestamp". The input is copied
 * to an exact-size heap buffer so valgrind sees any read past its end. */
static struct result
scan_n(const char *in, size_t len)
{
	struct result r;
	char *copy;

	memset(&r, 0, sizeof(r));
	r.ts.type = JSON_ARRAY;		/* json_lex must reset it */
	r.jl.top_names = ts_name;
	r.jl.ntop = 1;
	r.jl.top = &r.ts;
	assert_non_null(copy = malloc(len > 0 ? len : 1));
	memcpy(copy, in, len);
	assert_non_null(r.out = malloc(len + 1));
	r.jl.compact = r.out;
	r.rc = json_lex(copy, len, &r.jl, &r.why);
	r.outlen = r.jl.compact_len;
	free(copy);
	if (r.rc == 0) {
		assert_int_equal(strlen(r.out), r.outlen);
		assert_true(r.outlen <= len);
	}
	return r;
}

static struct result
scan(const char *in)
{
	return scan_n(in, strlen(in));
}

/* Assert that in compacts to want. */
static void
compacts(const char *in, const char *want)
{
	struct result r = scan(in);

	if (r.rc != 0)
		fail_msg("json_lex rejected %s: %s", in, r.why);
	assert_string_equal(r.out, want);
	free(r.out);
}

/* Assert that len bytes of in are rejected, with a reason. */
static void
rejects_n(const char *in, size_t len)
{
	struct result r = scan_n(in, len);

	if (r.rc != -1)
		fail_msg("json_lex accepted %.*s", (int)len, in);
	assert_non_null(r.why);
	assert_true(r.why[0] != '\0');
	free(r.out);
}

static void
rejects(const char *in)
{
	rejects_n(in, strlen(in));
}

/*
 * The text of the root's "timestamp" member if it is a number, "" if
 * not; the result is static.
 */
static const char *
captured(const char *in)
{
	static char buf[64];
	struct result r = scan(in);
	size_t n = r.ts.type == JSON_NUMBER ? r.ts.len : 0;

	if (r.rc != 0)
		fail_msg("json_lex rejected %s: %s", in, r.why);
	assert_true(n < sizeof(buf));
	if (n > 0) {
		assert_true(r.ts.off + n <= strlen(in));
		memcpy(buf, in + r.ts.off, n);
	}
	buf[n] = '\0';
	free(r.out);
	return buf;
}

static void
test_whitespace(void **state)
{
	(void)state;
	compacts(" { \"a\" : 1 ,\n\t\"b\"\r\n:\t[ 1 , 2 ] } \n",
	    "{\"a\":1,\"b\":[1,2]}");
	compacts("{}", "{}");
	compacts("  [ ]  ", "[]");
	compacts("", "");
	/* kept inside strings, escapes untouched */
	compacts("{ \"a b\" : \" x  y \\n \\\" z \" }",
	    "{\"a b\":\" x  y \\n \\\" z \"}");
	compacts("{\"k\": [true , false , null ]}",
	    "{\"k\":[true,false,null]}");
	compacts("{\"m\":\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"}",
	    "{\"m\":\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"}");
	/* vertical tab and form feed are not JSON white space */
	rejects("{\"a\":1,\v\"b\":2}");
	rejects("{\"a\":1,\f\"b\":2}");
	/* nor is a no-break space, and non-ASCII is not JSON outside strings */
	rejects("{\"a\":1,\xc2\xa0\"b\":2}");
}

static void
test_numbers_kept(void **state)
{
	static const char *const nums[] = {
		"0", "-0", "1", "-1", "1.50e3", "1E+2", "1e-7", "-0.0",
		"0.000100", "12345678901234567890", "1.7976931348623157e309",
		"2E0", "10", "-10.25E-02", "1662393600123",
	};
	char in[128], want[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		snprintf(in, sizeof(in), "{ \"n\" : %s , \"a\" : [ %s ] }",
		    nums[i], nums[i]);
		snprintf(want, sizeof(want), "{\"n\":%s,\"a\":[%s]}", nums[i],
		    nums[i]);
		compacts(in, want);
	}
	compacts(" 1.50e3 ", "1.50e3");
}

static void
test_numbers_bad(void **state)
{
	static const char *const bad[] = {
		"01", "-01", "00", "1.", "1.e5", ".5", "+1", "-", "1e", "1e+",
		"1E-", "-.5", "1.5.", "--1", "- 1", "1e5.0",
	};
	char in[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(in, sizeof(in), "{\"n\":%s}", bad[i]);
		rejects(in);
		snprintf(in, sizeof(in), "[%s]", bad[i]);
		rejects(in);
		rejects(bad[i]);
	}
}

static void
test_escapes(void **state)
{
	(void)state;
	compacts("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
	    "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]");
	compacts("[\"\\u0041\\u00e9\\u4E2D\\uFFFF\"]",
	    "[\"\\u0041\\u00e9\\u4E2D\\uFFFF\"]");
	rejects("[\"\\x41\"]");
	rejects("[\"\\a\"]");
	rejects("[\"\\'\"]");
	rejects("[\"\\U0041\"]");
	rejects("[\"\\u41\"]");
	rejects("[\"\\u004g\"]");
	rejects("[\"\\u\"]");
	rejects("[\"\\");
	rejects("[\"\\u00");
	rejects_n("[\"\\\0\"]", 5);
	/* \u0000 would be a NUL in the decoded value */
	rejects("[\"\\u0000\"]");
	rejects("{\"a\\u0000b\":1}");
	compacts("[\"\\u0001\"]", "[\"\\u0001\"]");
}

static void
test_surrogate_escapes(void **state)
{
	(void)state;
	compacts("[\"\\ud83d\\ude00\"]", "[\"\\ud83d\\ude00\"]");
	compacts("[\"\\uD800\\uDC00x\\uDBFF\\uDFFF\"]",
	    "[\"\\uD800\\uDC00x\\uDBFF\\uDFFF\"]");
	rejects("[\"\\ud83d\"]");		/* lone high */
	rejects("[\"\\ude00\"]");		/* lone low */
	rejects("[\"\\ude00\\ud83d\"]");	/* reversed */
	rejects("[\"\\ud83d\\ud83d\"]");	/* high, high */
	rejects("[\"\\ud83dx\\ude00\"]");	/* split */
	rejects("[\"\\ud83d\\n\"]");		/* high, other escape */
	rejects("[\"\\ud83d\\u0041\"]");	/* high, not a low */
	rejects("[\"\\ud83d\\ude0\"]");		/* short low */
	rejects("[\"\\ud83d\\");		/* truncated */
	rejects("[\"\\ud83d\\u");
	rejects("[\"\\ud83d");
}

static void
test_raw_bytes(void **state)
{
	char in[16];
	unsigned int c;

	(void)state;
	for (c = 1; c < 0x20; c++) {
		snprintf(in, sizeof(in), "[\"a%cb\"]", (char)c);
		rejects(in);
	}
	compacts("[\"\x7f\"]", "[\"\x7f\"]");
	rejects_n("[\"a\0b\"]", 6);
	rejects_n("[1,\0 2]", 6);
	rejects_n("{\"a\":1}\0", 8);
	rejects("[\"\xc3\x28\"]");
	rejects("[\"\xc0\x80\"]");
	rejects("[\"\xed\xa0\x80\"]");
	rejects("[\"\xf4\x90\x80\x80\"]");
	rejects("[\"\x80\"]");
	rejects("[\"\xff\"]");
	rejects("[\"\xe4\xb8\"]");
	rejects_n("[\"\xe4\xb8", 4);	/* truncated at the end of input */
	rejects("{\"\xc3\x28\":1}");	/* in a key too */
	rejects("[1]\xc3\xa9");
}

/*
 * Each kind of byte a string scanner must stop at, and the plain bytes
 * nearest them, at every position of a long ASCII run: the run is read
 * eight bytes at a time, so every lane of a word and its end are tried.
 */
static void
test_string_lanes(void **state)
{
#define LANE(s, ok)	{ s, sizeof(s) - 1, ok }
	static const struct {
		const char	*ins;		/* put at position p */
		size_t		 k;		/* its length */
		int		 ok;
	} cases[] = {
		LANE("\0", 0), LANE("\x01", 0), LANE("\x1f", 0),
		LANE("\t", 0), LANE("\x80", 0), LANE("\xff", 0),
		LANE("\xc3\x28", 0), LANE("\"x", 0), LANE("\\q", 0),
		LANE("\\n", 1), LANE("\\\"", 1), LANE("\\u00e9", 1),
		LANE("\xc3\xa9", 1), LANE("\xe4\xb8\xad", 1), LANE(" ", 1),
		LANE("!", 1), LANE("#", 1), LANE("[", 1), LANE("]", 1),
		LANE("\x7f", 1), LANE("~", 1),
	};
#undef LANE
	char in[64];
	size_t c, p, len, k;
	struct result r;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (p = 0; p < 20; p++) {
			k = cases[c].k;
			/* ["  p plain bytes, the case, 20 - p plain bytes  "] */
			memcpy(in, "[\"", 2);
			memset(in + 2, 'a', 20 + k);
			memcpy(in + 2 + p, cases[c].ins, k);
			len = 2 + 20 + k;
			in[len++] = '"';
			in[len++] = ']';
			r = scan_n(in, len);
			if ((r.rc == 0) != cases[c].ok)
				fail_msg("case %zu at %zu: rc %d (%s)", c, p,
				    r.rc, r.why != NULL ? r.why : "");
			if (r.rc == 0)
				assert_memory_equal(r.out, in, len);
			if (cases[c].ins[0] == '\0')
				assert_string_equal(r.why, "NUL byte in body");
			free(r.out);
			/* and cut off inside the run: never read past it */
			rejects_n(in, 2 + p + k);
		}
	compacts("[\"0123456789abcdef\"]", "[\"0123456789abcdef\"]");
}

static void
test_structure(void **state)
{
	(void)state;
	rejects("[\"abc");
	rejects("[\"abc\\\"]");
	rejects("\"");
	rejects("{\"a\":\"b}");
	rejects("}");
	rejects("]");
	rejects("{}}");
	rejects("[1]]");
	rejects("{\"a\":1}}{");
	rejects("{'a':1}");
	rejects("{\"a\":#1}");
	rejects("{\"a\":1;}");
	rejects("{\"a\":TRUE}");
	/* removing white space must not join two tokens into one */
	rejects("{\"a\":1 2}");
	rejects("{\"timestamp\":1662393600 123}");
	rejects("[1\n2]");
	rejects("[-0 1]");
	rejects("[1.5 0]");
	rejects("[1 e5]");
	rejects("[1e5 0]");
	rejects("{\"a\":tr ue}");
	rejects("[nu\tll]");
	rejects("[true false]");
	rejects("[1 true]");
	rejects("[null -1]");
	compacts("[ 1 , 2 , true , null ]", "[1,2,true,null]");
	compacts("{ \"a\" : 1 } ", "{\"a\":1}");
	compacts("[\"a\" , 1 , \"b\" ]", "[\"a\",1,\"b\"]");
	/* opening without closing: refused, no read past the end */
	rejects("{\"a\":[1,{");
	rejects("{\"a\":[1,{}]");
	rejects("{\"a\":");
	rejects("{\"a\"");
	rejects("{\"a\",\"b\":1}");
	rejects("[1,]");
	rejects("{\"a\":1,}");
	rejects("{,}");
	rejects("[1}");
	rejects("{\"a\":1]");
	rejects("{1:2}");
}

static void
test_capture_top_level(void **state)
{
	struct result r;

	(void)state;
	r = scan("{ \"token\" : \"abc\" , \"timestamp\" : 1662393600123 }");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
	    "{\"token\":\"abc\",\"timestamp\":1662393600123}");
	assert_int_equal(r.ts.type, JSON_NUMBER);
	assert_int_equal(r.ts.off, strlen(
	    "{ \"token\" : \"abc\" , \"timestamp\" : "));
	assert_int_equal(r.ts.len, 13);
	free(r.out);

	r = scan("{\"timestamp\":1,\"b\":2}");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.ts.off, 13);
	assert_int_equal(r.ts.len, 1);
	free(r.out);

	assert_string_equal(captured("{\"timestamp\":1.50e3}"), "1.50e3");
	assert_string_equal(captured("{\"timestamp\":-0}"), "-0");
	assert_string_equal(captured(
	    "{\"a\":{\"x\":[1,2,{\"y\":3}]},\"timestamp\" :\n 1662393600123\n}"),
	    "1662393600123");
	assert_string_equal(captured(
	    "{\"timestamp\":1662393600123,\"a\":{\"timestamp\":5}}"),
	    "1662393600123");
}

static void
test_capture_not_nested(void **state)
{
	(void)state;
	assert_string_equal(captured("{\"a\":{\"timestamp\":5}}"), "");
	assert_string_equal(captured("{\"a\":[{\"timestamp\":5}]}"), "");
	assert_string_equal(captured("[{\"timestamp\":5}]"), "");
	assert_string_equal(captured("{\"a\":{\"b\":1},\"c\":2}"), "");
	assert_string_equal(captured("{\"a\":{\"b\":{\"timestamp\":1}},"
	    "\"t\":2}"), "");
	/* a value or array element that merely says "timestamp" */
	assert_string_equal(captured("{\"a\":\"timestamp\",\"b\":5}"), "");
	assert_string_equal(captured("{\"a\":[\"timestamp\",5]}"), "");
	assert_string_equal(captured("[\"timestamp\",5]"), "");
	/* similar keys */
	assert_string_equal(captured("{\"timestamps\":5}"), "");
	assert_string_equal(captured("{\"timestam\":5}"), "");
	assert_string_equal(captured("{\"Timestamp\":5}"), "");
}

static void
test_capture_not_number(void **state)
{
	(void)state;
	assert_string_equal(captured("{\"timestamp\":\"1662393600123\"}"), "");
	assert_string_equal(captured(
	    "{\"timestamp\":\"1662393600123\",\"x\":5}"), "");
	assert_string_equal(captured("{\"timestamp\":\"x\",\"a\":[5]}"), "");
	assert_string_equal(captured("{\"timestamp\":null}"), "");
	assert_string_equal(captured("{\"timestamp\":true,\"y\":1}"), "");
	assert_string_equal(captured("{\"timestamp\":[1]}"), "");
	assert_string_equal(captured("{\"timestamp\":{\"a\":1}}"), "");
	assert_string_equal(captured("{\"a\":1}"), "");
	assert_string_equal(captured("5"), "");
}

static void
test_capture_off(void **state)
{
	static const struct json_name empty[] = { { "", 0 } };
	struct json_lex jl;
	struct json_span sp;
	const char *in = "{\"timestamp\":1}", *why = NULL;
	char out[32];

	(void)state;
	memset(&jl, 0, sizeof(jl));
	jl.compact = out;
	assert_int_equal(json_lex(in, strlen(in), &jl, &why), 0);
	assert_int_equal(jl.compact_len, strlen(in));
	assert_string_equal(out, in);
	jl.top_names = empty;
	jl.ntop = 1;
	jl.top = &sp;
	assert_int_equal(json_lex(in, strlen(in), &jl, &why), 0);
	assert_int_equal(sp.type, JSON_NONE);
}

/* Lex in with the envelope's names at the root and the payload's inside. */
static int
lex2(const char *in, struct json_span top[3], struct json_span sub[2],
    const char **why)
{
	static const struct json_name tn[] = {
		JSON_NAME("v"), JSON_NAME("payload"), JSON_NAME("r")
	};
	static const struct json_name sn[] = {
		JSON_NAME("smsId"), JSON_NAME("ids")
	};
	struct json_lex jl;

	memset(&jl, 0, sizeof(jl));
	jl.top_names = tn;
	jl.ntop = 3;
	jl.top = top;
	jl.sub_names = sn;
	jl.nsub = 2;
	jl.sub_of = 1;
	jl.sub = sub;
	return json_lex(in, strlen(in), &jl, why);
}

/* The text of span sp of in, for comparisons; static. */
static const char *
text(const char *in, const struct json_span *sp)
{
	static char buf[256];

	assert_true(sp->len < sizeof(buf));
	memcpy(buf, in + sp->off, sp->len);
	buf[sp->len] = '\0';
	return buf;
}

static void
test_spans(void **state)
{
	const char *in = "{\"v\":1, \"x\":{\"smsId\":9},\"payload\" : {\"a\":"
	    "[1,{\"smsId\":2}], \"smsId\":\"s\\u0031\", \"ids\":[ \"a\" , 2 ]"
	    "},\"r\":{\"ids\":[]}}", *why = NULL;
	struct json_span top[3], sub[2];

	(void)state;
	assert_int_equal(lex2(in, top, sub, &why), 0);
	assert_int_equal(top[0].type, JSON_NUMBER);
	assert_true(top[0].integer);
	assert_string_equal(text(in, &top[0]), "1");
	assert_int_equal(top[1].type, JSON_OBJECT);
	assert_string_equal(text(in, &top[1]), "{\"a\":[1,{\"smsId\":2}], "
	    "\"smsId\":\"s\\u0031\", \"ids\":[ \"a\" , 2 ]}");
	assert_int_equal(top[2].type, JSON_OBJECT);
	assert_string_equal(text(in, &top[2]), "{\"ids\":[]}");
	/* only the payload's own members, not x's, a's or r's */
	assert_int_equal(sub[0].type, JSON_STRING);
	assert_true(sub[0].esc);
	assert_string_equal(text(in, &sub[0]), "\"s\\u0031\"");
	assert_int_equal(sub[1].type, JSON_ARRAY);
	assert_string_equal(text(in, &sub[1]), "[ \"a\" , 2 ]");

	/* payload not an object: nothing inside it is reported */
	in = "{\"payload\":[{\"smsId\":1}],\"v\":2.5}";
	assert_int_equal(lex2(in, top, sub, &why), 0);
	assert_int_equal(top[1].type, JSON_ARRAY);
	assert_int_equal(sub[0].type, JSON_NONE);
	assert_int_equal(top[0].type, JSON_NUMBER);
	assert_false(top[0].integer);
}

static void
test_duplicates(void **state)
{
	struct json_span top[3], sub[2];
	const char *why = NULL;

	(void)state;
	/* any root name twice, reported or not, also after unescaping */
	assert_int_equal(lex2("{\"v\":1,\"v\":1}", top, sub, &why), -1);
	assert_string_equal(why, "duplicate member name");
	assert_int_equal(lex2("{\"q\":1,\"q\":2}", top, sub, &why), -1);
	assert_int_equal(lex2("{\"p\\u0061yload\":{},\"payload\":{}}", top,
	    sub, &why), -1);
	assert_int_equal(lex2("{\"\\u0071\":1,\"q\":2}", top, sub, &why), -1);
	assert_int_equal(lex2("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
	    top, sub, &why), -1);
	/* a reported payload member twice */
	assert_int_equal(lex2("{\"payload\":{\"smsId\":1,\"sms\\u0049d\":2}}",
	    top, sub, &why), -1);
	/* an escaped name is found by its unescaped value */
	assert_int_equal(lex2("{\"p\\u0061yload\":{\"\\u0069ds\":[]}}", top,
	    sub, &why), 0);
	assert_int_equal(top[1].type, JSON_OBJECT);
	assert_int_equal(sub[1].type, JSON_ARRAY);
	/* the same name at different levels is fine */
	assert_int_equal(lex2("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},"
	    "{\"a\":2}]}", top, sub, &why), 0);
	/* many root members: past the stack buffer */
	{
		char buf[4096];
		size_t o = 0;
		int i;

		buf[o++] = '{';
		for (i = 0; i < 100; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "%s\"k%d\\u0030\":%d", i ? "," : "", i, i);
		snprintf(buf + o, sizeof(buf) - o, "}");
		assert_int_equal(lex2(buf, top, sub, &why), 0);
		snprintf(buf + o, sizeof(buf) - o, ",\"k42\\u0030\":1}");
		assert_int_equal(lex2(buf, top, sub, &why), -1);
		snprintf(buf + o, sizeof(buf) - o, ",\"k420\":1}");
		assert_int_equal(lex2(buf, top, sub, &why), -1);
	}
}

static void
test_root_and_depth(void **state)
{
	struct json_lex jl;
	const char *why = NULL;
	char *deep;
	size_t i;

	(void)state;
	memset(&jl, 0, sizeof(jl));
	assert_int_equal(json_lex(" \n", 2, &jl, &why), 0);
	assert_int_equal(jl.root, JSON_NONE);
	assert_int_equal(json_lex("[]", 2, &jl, &why), 0);
	assert_int_equal(jl.root, JSON_ARRAY);
	assert_int_equal(json_lex("\"x\"", 3, &jl, &why), 0);
	assert_int_equal(jl.root, JSON_STRING);
	assert_int_equal(json_lex("{\"a\":1,\"b\":{}}", 14, &jl, &why), 0);
	assert_int_equal(jl.root, JSON_OBJECT);
	assert_int_equal(jl.root_members, 2);
	assert_int_equal(json_lex("{}", 2, &jl, &why), 0);
	assert_int_equal(jl.root_members, 0);
	/* as deep as cJSON allows, and one more */
	assert_non_null(deep = malloc(2 * JSON_DEPTH_MAX + 2));
	for (i = 0; i < JSON_DEPTH_MAX; i++) {
		deep[i] = '[';
		deep[2 * JSON_DEPTH_MAX - 1 - i] = ']';
	}
	assert_int_equal(json_lex(deep, 2 * JSON_DEPTH_MAX, &jl, &why), 0);
	memmove(deep + 1, deep, 2 * JSON_DEPTH_MAX);
	deep[2 * JSON_DEPTH_MAX + 1] = ']';
	assert_int_equal(json_lex(deep, 2 * JSON_DEPTH_MAX + 2, &jl, &why),
	    -1);
	assert_string_equal(why, "JSON nested too deeply");
	free(deep);
}

static void
test_next(void **state)
{
	const char *in = "{\"payload\":{\"ids\":[ \"a\\\"]\" , -12 ,1.5e3,"
	    "[1,[\"]\"]],{\"k\":\"}\"}, true,null ]}}", *why = NULL;
	static const char *const want[] = {
		"\"a\\\"]\"", "-12", "1.5e3", "[1,[\"]\"]]", "{\"k\":\"}\"}",
		"true", "null"
	};
	static const enum json_type types[] = {
		JSON_STRING, JSON_NUMBER, JSON_NUMBER, JSON_ARRAY, JSON_OBJECT,
		JSON_TRUE, JSON_NULL
	};
	struct json_span top[3], sub[2], it;
	size_t cur, n = 0;

	(void)state;
	assert_int_equal(lex2(in, top, sub, &why), 0);
	cur = sub[1].off;
	while (json_next(in, &sub[1], &cur, &it)) {
		assert_true(n < 7);
		assert_int_equal(it.type, types[n]);
		assert_string_equal(text(in, &it), want[n]);
		if (n == 0)
			assert_true(it.esc);
		if (n == 1)
			assert_true(it.integer);
		if (n == 2)
			assert_false(it.integer);
		n++;
	}
	assert_int_equal(n, 7);
	/* an empty array */
	in = "{\"payload\":{\"ids\":[ ]}}";
	assert_int_equal(lex2(in, top, sub, &why), 0);
	cur = sub[1].off;
	assert_int_equal(json_next(in, &sub[1], &cur, &it), 0);
}

static void
test_int(void **state)
{
	long long v;

	(void)state;
	assert_int_equal(json_int("1652117371408", 13, &v), 0);
	assert_true(v == 1652117371408LL);
	assert_int_equal(json_int("-5", 2, &v), 0);
	assert_true(v == -5);
	assert_int_equal(json_int("007", 3, &v), 0);
	assert_true(v == 7);
	assert_int_equal(json_int("999999999999999999", 18, &v), 0);
	assert_true(v == 999999999999999999LL);
	assert_int_equal(json_int("1000000000000000000", 19, &v), -1);
	assert_int_equal(json_int("", 0, &v), -1);
	assert_int_equal(json_int("-", 1, &v), -1);
	assert_int_equal(json_int("+1", 2, &v), -1);
	assert_int_equal(json_int("1.0", 3, &v), -1);
	assert_int_equal(json_int("1e3", 3, &v), -1);
	assert_int_equal(json_int(" 1", 2, &v), -1);
	assert_int_equal(json_int("12", 1, &v), 0);	/* only n bytes */
	assert_true(v == 1);
}

/* json_exact: an integer by the number's text, in any JSON form. */
static void
test_exact(void **state)
{
	static const struct {
		const char	*num;
		int		 rc;
		long long	 v;
	} t[] = {
		{ "20", 0, 20 }, { "2e1", 0, 20 }, { "20.0", 0, 20 },
		{ "200e-1", 0, 20 }, { "2.0E+1", 0, 20 }, { "-5", 0, -5 },
		{ "-0", 0, 0 }, { "0.000", 0, 0 }, { "0e99999", 0, 0 },
		{ "0.5e1", 0, 5 }, { "105", 0, 105 }, { "1.05e2", 0, 105 },
		{ "9007199254740992", 0, 9007199254740992LL },
		{ "-9007199254740992", 0, -9007199254740992LL },
		{ "9007199254740993", -1, 0 }, { "1e16", -1, 0 },
		{ "1e15", 0, 1000000000000000LL }, { "1e99999", -1, 0 },
		{ "5.9999999999999999", -1, 0 }, { "20.000000000000001", -1, 0 },
		{ "1e-400", -1, 0 }, { "6e-400", -1, 0 }, { "0.5", -1, 0 },
		{ "15e-1", -1, 0 }, { "1.5e1", 0, 15 },
		{ "100000000000000000000e-20", 0, 1 },
	};
	long long v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = 12345;
		if (json_exact(t[i].num, strlen(t[i].num), &v) != t[i].rc ||
		    (t[i].rc == 0 && v != t[i].v))
			fail_msg("json_exact(%s): %lld", t[i].num, v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_numbers_kept),
		cmocka_unit_test(test_numbers_bad),
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_surrogate_escapes),
		cmocka_unit_test(test_raw_bytes),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_capture_top_level),
		cmocka_unit_test(test_capture_not_nested),
		cmocka_unit_test(test_capture_not_number),
		cmocka_unit_test(test_capture_off),
		cmocka_unit_test(test_spans),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_root_and_depth),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_string_lanes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
