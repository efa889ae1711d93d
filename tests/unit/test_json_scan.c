/* test_json_scan.c: compaction, lexical checks and timestamp capture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_scan.h"

struct result {
	int		 rc;
	char		*out;		/* compacted text, caller frees */
	size_t		 outlen;
	const char	*why;
	struct json_scan js;
};

/* Scan len bytes of in with capture key "timestamp". The input is copied
 * to an exact-size heap buffer so valgrind sees any read past its end. */
static struct result
scan_n(const char *in, size_t len)
{
	struct result r;
	char *copy;

	memset(&r, 0, sizeof(r));
	r.js.capture_key = "timestamp";
	r.js.capture_len = 999;
	assert_non_null(copy = malloc(len > 0 ? len : 1));
	memcpy(copy, in, len);
	assert_non_null(r.out = malloc(len + 1));
	r.rc = json_scan(copy, len, r.out, &r.outlen, &r.js, &r.why);
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
		fail_msg("json_scan rejected %s: %s", in, r.why);
	assert_string_equal(r.out, want);
	free(r.out);
}

/* Assert that len bytes of in are rejected, with a reason. */
static void
rejects_n(const char *in, size_t len)
{
	struct result r = scan_n(in, len);

	if (r.rc != -1)
		fail_msg("json_scan accepted %.*s", (int)len, in);
	assert_non_null(r.why);
	assert_true(r.why[0] != '\0');
	free(r.out);
}

static void
rejects(const char *in)
{
	rejects_n(in, strlen(in));
}

/* The captured timestamp text, "" if none; the result is static. */
static const char *
captured(const char *in)
{
	static char buf[64];
	struct result r = scan(in);

	if (r.rc != 0)
		fail_msg("json_scan rejected %s: %s", in, r.why);
	assert_true(r.js.capture_len < sizeof(buf));
	if (r.js.capture_len > 0) {
		assert_true(r.js.capture_off + r.js.capture_len <= r.outlen);
		memcpy(buf, r.out + r.js.capture_off, r.js.capture_len);
	}
	buf[r.js.capture_len] = '\0';
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
	/* opening without closing is left to cJSON: no crash, no read past */
	{
		struct result r = scan("{\"a\":[1,{");

		assert_int_equal(r.rc, 0);
		assert_string_equal(r.out, "{\"a\":[1,{");
		free(r.out);
	}
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
	assert_int_equal(r.js.capture_off, strlen(
	    "{\"token\":\"abc\",\"timestamp\":"));
	assert_int_equal(r.js.capture_len, 13);
	free(r.out);

	r = scan("{\"timestamp\":1,\"b\":2}");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.js.capture_off, 13);
	assert_int_equal(r.js.capture_len, 1);
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
	struct json_scan js = { NULL, 0, 7 };
	const char *in = "{\"timestamp\":1}", *why = NULL;
	char out[32];
	size_t outlen;

	(void)state;
	assert_int_equal(json_scan(in, strlen(in), out, &outlen, &js, &why),
	    0);
	assert_int_equal(js.capture_len, 0);
	assert_string_equal(out, in);
	js.capture_key = "";
	assert_int_equal(json_scan(in, strlen(in), out, &outlen, &js, &why),
	    0);
	assert_int_equal(js.capture_len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_numbers_kept),
		cmocka_unit_test(test_numbers_bad),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_surrogate_escapes),
		cmocka_unit_test(test_raw_bytes),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_capture_top_level),
		cmocka_unit_test(test_capture_not_nested),
		cmocka_unit_test(test_capture_not_number),
		cmocka_unit_test(test_capture_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
