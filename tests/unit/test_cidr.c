/* test_cidr.c: range parsing, list building and matching, v4 inside v6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cidr.h"

/* 1 if text parses as an address and lies in the list; fails the test if
 * text is not an address. */
static int
match(const struct cidr_list *l, const char *text)
{
	uint8_t a[16];

	assert_int_equal(cidr_addr_parse(text, a), 0);
	return cidr_list_match(l, a);
}

/* Build a list from one text that must parse. */
static void
list(struct cidr_list *l, const char *text)
{
	char bad[64] = "";

	memset(l, 0, sizeof(*l));
	assert_int_equal(cidr_list_add(l, text, bad, sizeof(bad)), 0);
	assert_string_equal(bad, "");
}

static void
test_addr_parse(void **state)
{
	static const uint8_t v4[16] = { 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff,
	    192,0,2,7 };
	static const uint8_t v6[16] = { 0x20,0x01,0x0d,0xb8, 0,0,0,0,
	    0,0,0,0, 0,0,0,1 };
	uint8_t a[16];

	(void)state;
	assert_int_equal(cidr_addr_parse("192.0.2.7", a), 0);
	assert_memory_equal(a, v4, 16);
	assert_int_equal(cidr_addr_parse("::ffff:192.0.2.7", a), 0);
	assert_memory_equal(a, v4, 16);
	assert_int_equal(cidr_addr_parse("2001:db8::1", a), 0);
	assert_memory_equal(a, v6, 16);
	assert_int_equal(cidr_addr_parse("2001:DB8:0:0:0:0:0:1", a), 0);
	assert_memory_equal(a, v6, 16);
	assert_int_equal(cidr_addr_parse("", a), -1);
	assert_int_equal(cidr_addr_parse("192.0.2", a), -1);
	assert_int_equal(cidr_addr_parse("192.0.2.256", a), -1);
	assert_int_equal(cidr_addr_parse("192.0.2.7 ", a), -1);
	assert_int_equal(cidr_addr_parse("192.0.2.7/32", a), -1);
	assert_int_equal(cidr_addr_parse("2001:db8:::1", a), -1);
	assert_int_equal(cidr_addr_parse("localhost", a), -1);
	assert_int_equal(cidr_addr_parse("fe80::1%eth0", a), -1);
}

static void
test_parse_v4(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/8", &c), 0);
	assert_int_equal(c.prefix, 96 + 8);
	assert_int_equal(c.addr[10], 0xff);
	assert_int_equal(c.addr[11], 0xff);
	assert_int_equal(c.addr[12], 10);
	assert_int_equal(cidr_parse("192.0.2.7", &c), 0);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(cidr_parse("192.0.2.7/32", &c), 0);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
	assert_int_equal(c.prefix, 96);
	assert_int_equal(cidr_parse("192.0.2.0/24", &c), 0);
	assert_int_equal(c.prefix, 120);
	assert_int_equal(cidr_parse("192.0.2.0/33", &c), -1);
	assert_int_equal(cidr_parse("192.0.2.0/128", &c), -1);
}

static void
test_parse_v6(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("2001:db8::/32", &c), 0);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(c.addr[0], 0x20);
	assert_int_equal(c.addr[3], 0xb8);
	assert_int_equal(cidr_parse("::/0", &c), 0);
	assert_int_equal(c.prefix, 0);
	assert_int_equal(cidr_parse("::1", &c), 0);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(cidr_parse("::1/128", &c), 0);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(cidr_parse("2001:db8::/129", &c), -1);
	assert_int_equal(cidr_parse("::ffff:10.0.0.0/104", &c), 0);
	assert_int_equal(c.prefix, 104);
}

static void
test_host_bits(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.1/8", &c), -1);
	assert_int_equal(cidr_parse("192.0.2.128/24", &c), -1);
	assert_int_equal(cidr_parse("192.0.2.1/31", &c), -1);
	assert_int_equal(cidr_parse("192.0.2.2/31", &c), 0);
	assert_int_equal(cidr_parse("1.0.0.0/0", &c), -1);
	assert_int_equal(cidr_parse("2001:db8::1/64", &c), -1);
	assert_int_equal(cidr_parse("2001:db8:0:0:8000::/64", &c), -1);
	assert_int_equal(cidr_parse("2001:db8::/64", &c), 0);
	assert_int_equal(cidr_parse("::1/0", &c), -1);
	assert_int_equal(cidr_parse("::1/127", &c), -1);
}

static void
test_garbage(void **state)
{
	static const char *const bad[] = {
		"", "/", "/8", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8x",
		"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8", "10.0.0.0/8/8",
		"10.0.0.0//8", "10.0.0.0/0008", "10.0.0.0/4294967304",
		"10.0.0/8", "10.0.0.0.0/8", "256.0.0.0/8", " 10.0.0.0/8",
		"2001:db8::/", "2001:db8::/1x", "2001:db8::/1280",
		"g::/16", "2001:db8:::/48", "example.com", "*", "any",
	};
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cidr_parse(bad[i], &c) != -1)
			fail_msg("cidr_parse accepted \"%s\"", bad[i]);
	}
}

static void
test_too_long(void **state)
{
	char big[300], bad[16];
	struct cidr_list l = { NULL, 0 };
	struct cidr c;

	(void)state;
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cidr_parse(big, &c), -1);
	/* zero padded, so each one would be a valid address if not cut */
	assert_int_equal(cidr_parse("0000:0000:0000:0000:0000:0000:0000:0000"
	    "/00000000000000000000", &c), -1);
	bad[0] = 'x';
	assert_int_equal(cidr_list_add(&l, big, bad, sizeof(bad)), -1);
	/* the name of the bad item is cut to fit and NUL-terminated */
	assert_int_equal(strlen(bad), sizeof(bad) - 1);
	assert_memory_equal(bad, big, sizeof(bad) - 1);
	assert_int_equal(l.n, 0);
	cidr_list_free(&l);
	/* a long bad item after a good one */
	assert_int_equal(cidr_list_add(&l, "10.0.0.0/8,", bad, sizeof(bad)), 0);
	assert_int_equal(cidr_list_add(&l, big, bad, sizeof(bad)), -1);
	assert_int_equal(l.n, 1);
	cidr_list_free(&l);
}

static void
test_list_separators(void **state)
{
	struct cidr_list l;
	char bad[64];

	(void)state;
	list(&l, "10.0.0.0/8, 192.0.2.0/24 2001:db8::/32,\t::1 ,,  ");
	assert_int_equal(l.n, 4);
	assert_int_equal(l.v[0].prefix, 104);
	assert_int_equal(l.v[1].prefix, 120);
	assert_int_equal(l.v[2].prefix, 32);
	assert_int_equal(l.v[3].prefix, 128);
	/* a second call appends (repeated config keys) */
	assert_int_equal(cidr_list_add(&l, "198.51.100.1", bad, sizeof(bad)), 0);
	assert_int_equal(l.n, 5);
	/* the bad item is named; the good ones before it stay */
	assert_int_equal(cidr_list_add(&l, "203.0.113.0/24, 10.1.0.1/16, ::2",
	    bad, sizeof(bad)), -1);
	assert_string_equal(bad, "10.1.0.1/16");
	assert_int_equal(l.n, 6);
	assert_int_equal(cidr_list_add(&l, "1.2.3.4;5.6.7.8", bad, sizeof(bad)),
	    -1);
	assert_string_equal(bad, "1.2.3.4;5.6.7.8");
	cidr_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	/* empty or separators only: nothing added */
	list(&l, "");
	assert_int_equal(l.n, 0);
	list(&l, " , ,\t");
	assert_int_equal(l.n, 0);
	cidr_list_free(&l);
}

static void
test_match_v4(void **state)
{
	struct cidr_list l;

	(void)state;
	list(&l, "10.0.0.0/8, 192.0.2.7, 198.51.100.128/25");
	assert_int_equal(match(&l, "10.0.0.0"), 1);
	assert_int_equal(match(&l, "10.255.255.255"), 1);
	assert_int_equal(match(&l, "11.0.0.0"), 0);
	assert_int_equal(match(&l, "9.255.255.255"), 0);
	assert_int_equal(match(&l, "192.0.2.7"), 1);
	assert_int_equal(match(&l, "192.0.2.6"), 0);
	assert_int_equal(match(&l, "192.0.2.8"), 0);
	assert_int_equal(match(&l, "198.51.100.128"), 1);
	assert_int_equal(match(&l, "198.51.100.255"), 1);
	assert_int_equal(match(&l, "198.51.100.127"), 0);
	/* IPv6 clients never match an IPv4 range */
	assert_int_equal(match(&l, "::a00:1"), 0);
	assert_int_equal(match(&l, "2001:db8::1"), 0);
	/* an IPv4-mapped IPv6 client is its IPv4 address */
	assert_int_equal(match(&l, "::ffff:10.1.2.3"), 1);
	assert_int_equal(match(&l, "::ffff:192.0.2.7"), 1);
	assert_int_equal(match(&l, "::ffff:c000:207"), 1);
	assert_int_equal(match(&l, "::ffff:192.0.2.8"), 0);
	cidr_list_free(&l);
}

static void
test_match_v6(void **state)
{
	struct cidr_list l;

	(void)state;
	list(&l, "2001:db8:1::/48 ::1 fe80::/10");
	assert_int_equal(match(&l, "2001:db8:1::"), 1);
	assert_int_equal(match(&l, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"), 1);
	assert_int_equal(match(&l, "2001:db8:2::"), 0);
	assert_int_equal(match(&l, "2001:db8::1"), 0);
	assert_int_equal(match(&l, "::1"), 1);
	assert_int_equal(match(&l, "::2"), 0);
	assert_int_equal(match(&l, "fe80::1"), 1);
	assert_int_equal(match(&l, "febf:ffff::1"), 1);
	assert_int_equal(match(&l, "fec0::1"), 0);
	assert_int_equal(match(&l, "127.0.0.1"), 0);
	cidr_list_free(&l);
	/* the mapped form as a range matches IPv4 clients */
	list(&l, "::ffff:10.0.0.0/104");
	assert_int_equal(match(&l, "10.9.8.7"), 1);
	assert_int_equal(match(&l, "11.9.8.7"), 0);
	cidr_list_free(&l);
}

static void
test_match_all(void **state)
{
	struct cidr_list l;

	(void)state;
	/* 0.0.0.0/0 is every IPv4 address, and only those */
	list(&l, "0.0.0.0/0");
	assert_int_equal(match(&l, "0.0.0.0"), 1);
	assert_int_equal(match(&l, "255.255.255.255"), 1);
	assert_int_equal(match(&l, "::ffff:1.2.3.4"), 1);
	assert_int_equal(match(&l, "2001:db8::1"), 0);
	assert_int_equal(match(&l, "::"), 0);
	cidr_list_free(&l);
	/* ::/0 is everything */
	list(&l, "::/0");
	assert_int_equal(match(&l, "2001:db8::1"), 1);
	assert_int_equal(match(&l, "1.2.3.4"), 1);
	assert_int_equal(match(&l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	    1);
	cidr_list_free(&l);
	/* an empty list matches nothing (the caller treats it as "all") */
	list(&l, "");
	assert_int_equal(match(&l, "1.2.3.4"), 0);
	cidr_list_free(&l);
}

static void
test_prefix_edges(void **state)
{
	struct cidr_list l;

	(void)state;
	/* prefixes not on a byte boundary */
	list(&l, "172.16.0.0/12, 2001:db8:8000::/33");
	assert_int_equal(match(&l, "172.16.0.1"), 1);
	assert_int_equal(match(&l, "172.31.255.255"), 1);
	assert_int_equal(match(&l, "172.32.0.0"), 0);
	assert_int_equal(match(&l, "172.15.255.255"), 0);
	assert_int_equal(match(&l, "2001:db8:8000::1"), 1);
	assert_int_equal(match(&l, "2001:db8:ffff::1"), 1);
	assert_int_equal(match(&l, "2001:db8:7fff::1"), 0);
	cidr_list_free(&l);
	/* /128 and /32: one address each */
	list(&l, "2001:db8::5/128 192.0.2.5/32");
	assert_int_equal(match(&l, "2001:db8::5"), 1);
	assert_int_equal(match(&l, "2001:db8::4"), 0);
	assert_int_equal(match(&l, "192.0.2.5"), 1);
	assert_int_equal(match(&l, "192.0.2.4"), 0);
	cidr_list_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_host_bits),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_list_separators),
		cmocka_unit_test(test_match_v4),
		cmocka_unit_test(test_match_v6),
		cmocka_unit_test(test_match_all),
		cmocka_unit_test(test_prefix_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
