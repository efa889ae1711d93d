/* test_form.c: urlencoded bodies decoded into a JSON object of strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "form.h"

/* Parse body (copied to an exact-size heap buffer so valgrind sees any
 * read past its end) and return the object compacted as JSON text. */
static char *
parse_n(const char *body, size_t len)
{
	const char *why = NULL;
	char *copy, *text;
	cJSON *obj;

	assert_non_null(copy = malloc(len > 0 ? len : 1));
	memcpy(copy, body, len);
	obj = form_parse(copy, len, &why);
	free(copy);
	if (obj == NULL)
		fail_msg("form_parse rejected \"%.*s\": %s", (int)len, body,
		    why != NULL ? why : "(no reason)");
	assert_non_null(text = cJSON_PrintUnformatted(obj));
	cJSON_Delete(obj);
	return text;
}

/* Assert that body decodes to the JSON text want. */
static void
decodes(const char *body, const char *want)
{
	char *got = parse_n(body, strlen(body));

	assert_string_equal(got, want);
	free(got);
}

/* Assert that len bytes of body are rejected with a reason. */
static void
rejects_n(const char *body, size_t len, const char *reason)
{
	const char *why = NULL;
	char *copy;
	cJSON *obj;

	assert_non_null(copy = malloc(len > 0 ? len : 1));
	memcpy(copy, body, len);
	obj = form_parse(copy, len, &why);
	free(copy);
	if (obj != NULL) {
		cJSON_Delete(obj);
		fail_msg("form_parse accepted \"%.*s\"", (int)len, body);
	}
	assert_non_null(why);
	if (reason != NULL && strstr(why, reason) == NULL)
		fail_msg("\"%.*s\": reason \"%s\" lacks \"%s\"", (int)len, body,
		    why, reason);
}

static void
rejects(const char *body, const char *reason)
{
	rejects_n(body, strlen(body), reason);
}

static void
test_simple(void **state)
{
	(void)state;
	decodes("a=1&b=two", "{\"a\":\"1\",\"b\":\"two\"}");
	decodes("token=abc&timestamp=1662393600123&event=deliver",
	    "{\"token\":\"abc\",\"timestamp\":\"1662393600123\","
	    "\"event\":\"deliver\"}");
	decodes("", "{}");
	decodes("a=", "{\"a\":\"\"}");
	decodes("a=b=c", "{\"a\":\"b=c\"}");
	/* a parse stops at len, not at the end of the string */
	{
		char *got = parse_n("a=1&b=2", 3);

		assert_string_equal(got, "{\"a\":\"1\"}");
		free(got);
	}
}

static void
test_plus_and_percent(void **state)
{
	(void)state;
	decodes("msg=hello+world", "{\"msg\":\"hello world\"}");
	decodes("a+b=c+d", "{\"a b\":\"c d\"}");
	decodes("p=%2B86", "{\"p\":\"+86\"}");
	decodes("x=%2b%2B", "{\"x\":\"++\"}");
	decodes("x=%3d%3D%26%25", "{\"x\":\"==&%\"}");
	decodes("x=%e4%b8%ad%E6%96%87", "{\"x\":\"\xe4\xb8\xad\xe6\x96\x87\"}");
	decodes("x=%C3%a9", "{\"x\":\"\xc3\xa9\"}");
	decodes("%6e%61%6D%65=v", "{\"name\":\"v\"}");
	decodes("smsId=1652117371408_19999_376_4631_qrwnpq%2413888888888",
	    "{\"smsId\":\"1652117371408_19999_376_4631_qrwnpq$13888888888\"}");
	/* raw UTF-8 is fine too */
	decodes("m=caf\xc3\xa9", "{\"m\":\"caf\xc3\xa9\"}");
}

static void
test_broken_escapes(void **state)
{
	(void)state;
	rejects("a=%", "%");
	rejects("a=%4", "%");
	rejects("a=%zz", "%");
	rejects("a=%4g", "%");
	rejects("a=%g4", "%");
	rejects("a=% 41", "%");
	rejects("a=%%41", "%");
	rejects("a=x%", "%");
	rejects("%=1", "%");
	rejects("a%4=1", "%");
	rejects("a=1&b=%", "%");
	/* the escape may not run past len into what follows in memory */
	rejects_n("a=%41", 4, "%");
	rejects_n("a=%41", 3, "%");
}

static void
test_nul_and_utf8(void **state)
{
	(void)state;
	rejects("a=%00", "NUL");
	rejects("a=x%00y", "NUL");
	rejects("%00=1", "NUL");
	rejects_n("a=x\0y", 5, "NUL");
	rejects("a=%C3%28", "UTF-8");
	rejects("a=%C0%80", "UTF-8");
	rejects("a=%ED%A0%80", "UTF-8");
	rejects("a=%F4%90%80%80", "UTF-8");
	rejects("a=%E4%B8", "UTF-8");
	rejects("a=%80", "UTF-8");
	rejects("a=%ff", "UTF-8");
	rejects("%C3%28=1", "UTF-8");
	rejects("a=\xc3\x28", "UTF-8");
	/* a sequence split across a field boundary is invalid in both */
	rejects("a=%E4&b=%B8%AD", "UTF-8");
}

static void
test_repeated(void **state)
{
	(void)state;
	decodes("phones=1&x=y&phones=2&phones=3",
	    "{\"phones\":[\"1\",\"2\",\"3\"],\"x\":\"y\"}");
	decodes("a=0&b=1&b=2", "{\"a\":\"0\",\"b\":[\"1\",\"2\"]}");
	decodes("k=&k=", "{\"k\":[\"\",\"\"]}");
	decodes("k&k=v", "{\"k\":[\"\",\"v\"]}");
	/* names are compared after decoding, and case-sensitively */
	decodes("a+b=1&a%20b=2", "{\"a b\":[\"1\",\"2\"]}");
	decodes("K=1&k=2", "{\"K\":\"1\",\"k\":\"2\"}");
}

static void
test_repeated_order(void **state)
{
	const char *why = NULL;
	const char *body = "first=f&smsIds=a&mid=m&smsIds=b&last=l&smsIds=c";
	cJSON *obj, *arr, *it;
	int i = 0;

	(void)state;
	assert_non_null(obj = form_parse(body, strlen(body), &why));
	/* the array stands where the first value stood */
	assert_non_null(it = obj->child);
	assert_string_equal(it->string, "first");
	assert_non_null(it = it->next);
	assert_string_equal(it->string, "smsIds");
	assert_true(cJSON_IsArray(it));
	arr = it;
	assert_string_equal((it = it->next)->string, "mid");
	assert_string_equal((it = it->next)->string, "last");
	assert_null(it->next);
	assert_int_equal(cJSON_GetArraySize(arr), 3);
	assert_string_equal(cJSON_GetArrayItem(arr, 0)->valuestring, "a");
	assert_string_equal(cJSON_GetArrayItem(arr, 1)->valuestring, "b");
	assert_string_equal(cJSON_GetArrayItem(arr, 2)->valuestring, "c");
	cJSON_ArrayForEach(it, arr) {
		assert_true(cJSON_IsString(it));
		i++;
	}
	assert_int_equal(i, 3);
	assert_ptr_equal(cJSON_GetObjectItemCaseSensitive(obj, "smsIds"), arr);
	cJSON_Delete(obj);
}

static void
test_names(void **state)
{
	(void)state;
	decodes("flag", "{\"flag\":\"\"}");
	decodes("a=1&flag", "{\"a\":\"1\",\"flag\":\"\"}");
	decodes("flag&a=1", "{\"flag\":\"\",\"a\":\"1\"}");
	decodes("a=1&&b=2", "{\"a\":\"1\",\"b\":\"2\"}");
	decodes("&&a=1&&&", "{\"a\":\"1\"}");
	decodes("&", "{}");
	rejects("=1", "name");
	rejects("a=1&=2", "name");
	rejects("=", "name");
	rejects("a=1&=", "name");
}

static void
test_field_limit(void **state)
{
	char *body, *p;
	size_t n, cap = 2000 * 12;
	cJSON *obj;
	const char *why = NULL;

	(void)state;
	assert_non_null(body = malloc(cap));
	/* 1024 distinct fields, padded with "&&" which do not count */
	for (p = body, n = 0; n < 1024; n++)
		p += snprintf(p, cap - (size_t)(p - body), "f%zu=%zu&&", n, n);
	assert_non_null(obj = form_parse(body, (size_t)(p - body), &why));
	assert_int_equal(cJSON_GetArraySize(obj), 1024);
	cJSON_Delete(obj);
	/* one more is too many */
	p += snprintf(p, cap - (size_t)(p - body), "one=more");
	obj = form_parse(body, (size_t)(p - body), &why);
	assert_null(obj);
	assert_non_null(strstr(why, "too many"));
	/* repeats count as fields too */
	for (p = body, n = 0; n < 1025; n++)
		p += snprintf(p, cap - (size_t)(p - body), "x=1&");
	obj = form_parse(body, (size_t)(p - body), &why);
	assert_null(obj);
	assert_non_null(strstr(why, "too many"));
	free(body);
}

static void
test_json_in_field(void **state)
{
	const char *why = NULL;
	const char *body = "smsIds=%5B%221%22%2C%222%22%5D"
	    "&customArgs=%7B%22a%22%3A1%7D&n=123";
	cJSON *obj, *it;

	(void)state;
	assert_non_null(obj = form_parse(body, strlen(body), &why));
	it = cJSON_GetObjectItemCaseSensitive(obj, "smsIds");
	assert_true(cJSON_IsString(it));
	assert_string_equal(it->valuestring, "[\"1\",\"2\"]");
	it = cJSON_GetObjectItemCaseSensitive(obj, "customArgs");
	assert_true(cJSON_IsString(it));
	assert_string_equal(it->valuestring, "{\"a\":1}");
	it = cJSON_GetObjectItemCaseSensitive(obj, "n");
	assert_true(cJSON_IsString(it));
	assert_string_equal(it->valuestring, "123");
	cJSON_Delete(obj);
	/* and re-emitted as an escaped JSON string */
	decodes("a=%7B%22b%22%3A%5B1%5D%7D", "{\"a\":\"{\\\"b\\\":[1]}\"}");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_plus_and_percent),
		cmocka_unit_test(test_broken_escapes),
		cmocka_unit_test(test_nul_and_utf8),
		cmocka_unit_test(test_repeated),
		cmocka_unit_test(test_repeated_order),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_field_limit),
		cmocka_unit_test(test_json_in_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
