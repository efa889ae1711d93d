/* test_utf8.c: utf8_seq and utf8_valid against Unicode Table 3-7. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

/* utf8_seq over a byte string given as a literal (length without NUL). */
#define SEQ(lit)	utf8_seq((const unsigned char *)(lit), sizeof(lit) - 1)
#define VALID(lit)	utf8_valid((lit), sizeof(lit) - 1)

static void
test_ascii(void **state)
{
	unsigned char c;

	(void)state;
	for (c = 1; c < 0x80; c++)
		assert_int_equal(utf8_seq(&c, 1), 1);
	assert_int_equal(VALID("hello, world {\"a\":1}"), 1);
	assert_int_equal(utf8_valid("", 0), 1);
}

static void
test_multibyte(void **state)
{
	(void)state;
	/* 2 bytes: U+0080, U+00E9, U+07FF */
	assert_int_equal(SEQ("\xc2\x80"), 2);
	assert_int_equal(SEQ("\xc3\xa9"), 2);
	assert_int_equal(SEQ("\xdf\xbf"), 2);
	/* 3 bytes: U+0800, U+4E2D, U+D7FF, U+E000, U+FFFF */
	assert_int_equal(SEQ("\xe0\xa0\x80"), 3);
	assert_int_equal(SEQ("\xe4\xb8\xad"), 3);
	assert_int_equal(SEQ("\xed\x9f\xbf"), 3);
	assert_int_equal(SEQ("\xee\x80\x80"), 3);
	assert_int_equal(SEQ("\xef\xbf\xbf"), 3);
	/* 4 bytes: U+10000, U+1F600, U+10FFFF */
	assert_int_equal(SEQ("\xf0\x90\x80\x80"), 4);
	assert_int_equal(SEQ("\xf0\x9f\x98\x80"), 4);
	assert_int_equal(SEQ("\xf4\x8f\xbf\xbf"), 4);
	/* only the first sequence counts */
	assert_int_equal(SEQ("\xc3\xa9xyz"), 2);
	assert_int_equal(VALID("caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80"), 1);
}

static void
test_overlong(void **state)
{
	(void)state;
	assert_int_equal(SEQ("\xc0\x80"), 0);
	assert_int_equal(SEQ("\xc1\xbf"), 0);
	assert_int_equal(SEQ("\xe0\x80\x80"), 0);
	assert_int_equal(SEQ("\xe0\x9f\xbf"), 0);
	assert_int_equal(SEQ("\xf0\x80\x80\x80"), 0);
	assert_int_equal(SEQ("\xf0\x8f\xbf\xbf"), 0);
	assert_int_equal(VALID("a\xc0\x80" "b"), 0);
	assert_int_equal(VALID("\xe0\x80\x80"), 0);
	assert_int_equal(VALID("\xf0\x80\x80\x80"), 0);
}

static void
test_surrogates(void **state)
{
	(void)state;
	assert_int_equal(SEQ("\xed\xa0\x80"), 0);	/* U+D800 */
	assert_int_equal(SEQ("\xed\xbf\xbf"), 0);	/* U+DFFF */
	assert_int_equal(VALID("\xed\xa0\x80"), 0);
	assert_int_equal(VALID("\xed\xa0\xbd\xed\xb8\x80"), 0); /* CESU pair */
}

static void
test_above_max(void **state)
{
	(void)state;
	assert_int_equal(SEQ("\xf4\x90\x80\x80"), 0);	/* U+110000 */
	assert_int_equal(SEQ("\xf5\x80\x80\x80"), 0);
	assert_int_equal(SEQ("\xf7\xbf\xbf\xbf"), 0);
	assert_int_equal(SEQ("\xf8\x88\x80\x80\x80"), 0);
	assert_int_equal(SEQ("\xfc\x84\x80\x80\x80\x80"), 0);
	assert_int_equal(SEQ("\xfe"), 0);
	assert_int_equal(SEQ("\xff"), 0);
	assert_int_equal(VALID("\xf4\x90\x80\x80"), 0);
}

static void
test_truncated(void **state)
{
	(void)state;
	assert_int_equal(SEQ("\xc3"), 0);
	assert_int_equal(SEQ("\xe4\xb8"), 0);
	assert_int_equal(SEQ("\xe4"), 0);
	assert_int_equal(SEQ("\xf0\x9f\x98"), 0);
	assert_int_equal(SEQ("\xf0\x9f"), 0);
	/* avail cuts a sequence whose bytes do follow in memory */
	assert_int_equal(utf8_seq((const unsigned char *)"\xe4\xb8\xad", 2), 0);
	assert_int_equal(utf8_seq((const unsigned char *)"\xf0\x9f\x98\x80", 3), 0);
	assert_int_equal(utf8_valid("ab\xe4\xb8\xad", 4), 0);
	assert_int_equal(VALID("abc\xc3"), 0);
	/* a lead byte followed by a non-continuation byte */
	assert_int_equal(SEQ("\xc3(" ), 0);
	assert_int_equal(SEQ("\xe4\xb8("), 0);
	assert_int_equal(SEQ("\xf0\x9f\x98("), 0);
	assert_int_equal(SEQ("\xe4\xc3\xa9"), 0);
}

static void
test_stray_continuation(void **state)
{
	unsigned int c;
	unsigned char b;

	(void)state;
	for (c = 0x80; c <= 0xbf; c++) {
		b = (unsigned char)c;
		assert_int_equal(utf8_seq(&b, 1), 0);
	}
	assert_int_equal(VALID("a\x80" "b"), 0);
	assert_int_equal(VALID("\xc3\xa9\xa9"), 0);
}

static void
test_nul(void **state)
{
	(void)state;
	assert_int_equal(VALID("\0"), 0);
	assert_int_equal(VALID("abc\0def"), 0);
	assert_int_equal(VALID("\xc3\xa9\0"), 0);
	/* the length, not a NUL, ends the check */
	assert_int_equal(utf8_valid("abc\0def", 3), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_multibyte),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_surrogates),
		cmocka_unit_test(test_above_max),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_stray_continuation),
		cmocka_unit_test(test_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
