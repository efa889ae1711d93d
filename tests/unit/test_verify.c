/*
 * test_verify.c: HMAC-SHA256(key, timestamp + token) against vectors made
 * independently with the openssl command when this test was written:
 *
 *   TS=1662393600123
 *   TOK=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX   (50 chars)
 *   printf '%s%s' $TS $TOK | openssl dgst -sha256 -hmac 'sendcloud-app-key-1'
 *   printf '%s%s' $TS $TOK | openssl dgst -sha256 -hmac 'second-key'
 *   printf '%s%s' $TS $TOK | openssl dgst -sha256 -hmac 'k3'
 *   printf '%s%s' $TS $TOK | openssl dgst -sha256 -mac HMAC \
 *       -macopt hexkey:00ff0a0d20
 *   printf '%s%s' 1700000000000 $TOK | openssl dgst -sha256 \
 *       -hmac 'sendcloud-app-key-1'
 *   printf '' | openssl dgst -sha256 -hmac 'sendcloud-app-key-1'
 *   printf '%s%s' $TS $TOK | openssl dgst -sha256 -hmac "$(printf 'k%.0s' \
 *       $(seq 100))"          (a 100-byte key, longer than the block)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "verify.h"

#define TS	"1662393600123"
#define TOK	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"

#define SIG_K1	"7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154ff"
#define SIG_K2	"4e14d58981d0fcf8e0cf5d719c6ace4ec760252e70f649d6f5d2b209dc79c4c5"
#define SIG_K3	"42ba4738aeceeab8c5ed7d9bcf1174fdfd2f46501b335b68217d2c4aed8f2c60"
#define SIG_BIN	"bd4047b927b42bbac0c93c9b84de1ad5e8ed54f71d6f913578c9d3e3a1dcd6a8"
#define SIG_K1_TS2 \
		"2fc57c6099b9982daee769e60affcce60aae149ebdd842babe7e278e39f5e976"
#define SIG_K1_EMPTY \
		"12b1fcfc94fa8c3412814c5f02aaa969d42a55960fb3bde479680ea22a62dcba"
#define SIG_LONG \
		"acd4bd0927a0b2a1362444dc6bebc947bdbb31355c8773588b61e3bb47d6b43f"

static unsigned char k1[] = "sendcloud-app-key-1";
static unsigned char k2[] = "second-key";
static unsigned char k3[] = "k3";
static unsigned char kbin[] = { 0x00, 0xff, 0x0a, 0x0d, 0x20 };

/* A verifier over the given keys; fails the test if it cannot be made. */
static struct verifier *
make(const struct conf_key *keys, size_t n)
{
	struct verifier *v;

	assert_non_null(v = verify_new(keys, n));
	return v;
}

static void
test_single_key(void **state)
{
	struct conf_key keys[] = { { k1, sizeof(k1) - 1, NULL } };
	struct verifier *v = make(keys, 1);

	(void)state;
	assert_int_equal(verify_check(v, TS, TOK, SIG_K1), 1);
	assert_int_equal(verify_check(v, "1700000000000", TOK, SIG_K1_TS2), 1);
	assert_int_equal(verify_check(v, "", "", SIG_K1_EMPTY), 1);
	/* the same signature for other data fails */
	assert_int_equal(verify_check(v, "1700000000000", TOK, SIG_K1), 0);
	assert_int_equal(verify_check(v, TS, TOK "Y", SIG_K1), 0);
	assert_int_equal(verify_check(v, TS "0", TOK, SIG_K1), 0);
	/* the split point does not matter: only the concatenation is signed */
	assert_int_equal(verify_check(v, "1662393600", "123" TOK, SIG_K1), 1);
	/* checking is repeatable on the same prepared context */
	assert_int_equal(verify_check(v, TS, TOK, SIG_K1), 1);
	assert_int_equal(verify_check(v, TS, TOK, SIG_K2), 0);
	assert_int_equal(verify_check(v, TS, TOK, SIG_K1), 1);
	verify_free(v);
}

static void
test_uppercase(void **state)
{
	struct conf_key keys[] = { { k1, sizeof(k1) - 1, NULL } };
	struct verifier *v = make(keys, 1);
	char sig[] = SIG_K1;
	size_t i;

	(void)state;
	assert_int_equal(verify_check(v, TS, TOK,
	    "7617AE4EC221C7DA7581E1562C8C92E0FE5D6AD8A25200B1238B3CB2630154FF"),
	    1);
	for (i = 0; i < sizeof(sig) - 1; i += 2)	/* mixed case */
		if (sig[i] >= 'a' && sig[i] <= 'f')
			sig[i] = (char)(sig[i] - 'a' + 'A');
	assert_int_equal(verify_check(v, TS, TOK, sig), 1);
	verify_free(v);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154f",
		"7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154ff0",
		"7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154ff00",
		"7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb26301",
		"7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154fg",
		"x617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154ff",
		" 7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154f",
		"7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154f ",
		"7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154ff\n",
		"76:17:ae:4e:c2:21:c7:da:75:81:e1:56:2c:8c:92:e0:fe:5d:6a:d8:a2",
		"0x7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb26301",
		"dhf2rsdMIcfadYHhVizIkuD+XWrYolIAsSOLPLJjAVT/",	/* base64 */
		"0000000000000000000000000000000000000000000000000000000000000000",
		/* 64 characters, one of them not hex */
		"7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154:f",
		"7617ae4ec221c7da7581e1562c8c92e0fe5d6ad8a25200b1238b3cb2630154 f",
		"7617ae4ec221c7da7581e1562c8c92e0-e5d6ad8a25200b1238b3cb2630154ff",
	};
	struct conf_key keys[] = { { k1, sizeof(k1) - 1, NULL } };
	struct verifier *v = make(keys, 1);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (verify_check(v, TS, TOK, bad[i]) != 0)
			fail_msg("accepted signature \"%s\"", bad[i]);
	/* the right signature still works after all that */
	assert_int_equal(verify_check(v, TS, TOK, SIG_K1), 1);
	verify_free(v);
}

static void
test_other_key(void **state)
{
	struct conf_key keys[] = { { k1, sizeof(k1) - 1, NULL } };
	struct verifier *v = make(keys, 1);

	(void)state;
	assert_int_equal(verify_check(v, TS, TOK, SIG_K2), 0);
	assert_int_equal(verify_check(v, TS, TOK, SIG_K3), 0);
	assert_int_equal(verify_check(v, TS, TOK, SIG_BIN), 0);
	verify_free(v);
	/* a key is not the same as its prefix */
	keys[0].len = sizeof(k1) - 2;
	v = make(keys, 1);
	assert_int_equal(verify_check(v, TS, TOK, SIG_K1), 0);
	verify_free(v);
}

static void
test_rotation(void **state)
{
	struct conf_key keys[] = {
		{ k1, sizeof(k1) - 1, NULL },
		{ k2, sizeof(k2) - 1, NULL },
		{ k3, sizeof(k3) - 1, NULL },
	};
	struct verifier *v;
	char out[VERIFY_HEX_LEN + 1];

	(void)state;
	v = make(keys, 3);
	assert_int_equal(verify_check(v, TS, TOK, SIG_K1), 1);
	assert_int_equal(verify_check(v, TS, TOK, SIG_K2), 1);
	assert_int_equal(verify_check(v, TS, TOK, SIG_K3), 1);
	assert_int_equal(verify_check(v, TS, TOK, SIG_BIN), 0);
	assert_int_equal(verify_check(v, "1700000000000", TOK, SIG_K2), 0);
	/* each key signs with its own index */
	assert_int_equal(verify_sign(v, 0, TS, TOK, out), 0);
	assert_string_equal(out, SIG_K1);
	assert_int_equal(verify_sign(v, 1, TS, TOK, out), 0);
	assert_string_equal(out, SIG_K2);
	assert_int_equal(verify_sign(v, 2, TS, TOK, out), 0);
	assert_string_equal(out, SIG_K3);
	assert_int_equal(verify_sign(v, 3, TS, TOK, out), -1);
	verify_free(v);
	/* two keys, the match in last place */
	v = make(keys + 1, 2);
	assert_int_equal(verify_check(v, TS, TOK, SIG_K3), 1);
	assert_int_equal(verify_check(v, TS, TOK, SIG_K1), 0);
	verify_free(v);
}

static void
test_binary_key(void **state)
{
	struct conf_key keys[] = { { kbin, sizeof(kbin), NULL } };
	struct verifier *v = make(keys, 1);
	char out[VERIFY_HEX_LEN + 1];

	(void)state;
	/* odd length, with NUL, CR, LF and a high byte: all of it counts */
	assert_int_equal(verify_check(v, TS, TOK, SIG_BIN), 1);
	assert_int_equal(verify_sign(v, 0, TS, TOK, out), 0);
	assert_string_equal(out, SIG_BIN);
	verify_free(v);
	keys[0].len = 1;	/* just the NUL byte: a different key */
	v = make(keys, 1);
	assert_int_equal(verify_check(v, TS, TOK, SIG_BIN), 0);
	verify_free(v);
}

static void
test_long_key(void **state)
{
	unsigned char klong[100];
	struct conf_key keys[] = { { klong, sizeof(klong), NULL } };
	struct verifier *v;
	char out[VERIFY_HEX_LEN + 1];

	(void)state;
	memset(klong, 'k', sizeof(klong));
	v = make(keys, 1);
	assert_int_equal(verify_check(v, TS, TOK, SIG_LONG), 1);
	assert_int_equal(verify_sign(v, 0, TS, TOK, out), 0);
	assert_string_equal(out, SIG_LONG);
	verify_free(v);
}

static void
test_sign(void **state)
{
	struct conf_key keys[] = { { k1, sizeof(k1) - 1, NULL } };
	struct verifier *v = make(keys, 1);
	char out[VERIFY_HEX_LEN + 2];

	(void)state;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(verify_sign(v, 0, TS, TOK, out), 0);
	assert_int_equal(strlen(out), VERIFY_HEX_LEN);
	assert_string_equal(out, SIG_K1);
	assert_int_equal(out[VERIFY_HEX_LEN + 1], 'Z');
	assert_int_equal(verify_sign(v, 0, "1700000000000", TOK, out), 0);
	assert_string_equal(out, SIG_K1_TS2);
	assert_int_equal(verify_sign(v, 0, "", "", out), 0);
	assert_string_equal(out, SIG_K1_EMPTY);
	/* what it signs, it verifies */
	assert_int_equal(verify_check(v, "", "", out), 1);
	assert_int_equal(verify_sign(v, 1, TS, TOK, out), -1);
	verify_free(v);
}

static void
test_no_keys(void **state)
{
	struct verifier *v = make(NULL, 0);
	char out[VERIFY_HEX_LEN + 1];

	(void)state;
	assert_int_equal(verify_check(v, TS, TOK, SIG_K1), 0);
	assert_int_equal(verify_sign(v, 0, TS, TOK, out), -1);
	verify_free(v);
	verify_free(NULL);
}

/*
 * The provider's docs: their test key "test_appkey" over a published
 * deliver sample (timestamp 1652117390000 and its token), signed by
 * the openssl command (tests/fixtures/provider/signature_vector.json).
 */
static void
test_provider_vector(void **state)
{
	static unsigned char key[] = "test_appkey";
	struct conf_key keys[] = { { key, sizeof(key) - 1, NULL } };
	struct verifier *v = make(keys, 1);
	const char *tok = "4mRG9lGhVb3jZhOMnksFPBtX1OLDMNZMfXTFHkFd9eybfdRiHM";
	const char *sig =
	    "75fb70b8c36c9194a93a18516d565009b5f3b2dc260bb60030f4ac508613168d";
	char out[VERIFY_HEX_LEN + 1];

	(void)state;
	assert_int_equal(verify_check(v, "1652117390000", tok, sig), 1);
	assert_int_equal(verify_sign(v, 0, "1652117390000", tok, out), 0);
	assert_string_equal(out, sig);
	/* the signature the docs print was made with another key */
	assert_int_equal(verify_check(v, "1652117390000", tok,
	    "9ca96fa072bfa048969aa0cb7bf7baf64100234640a1b9793cca1a419afb9cb8"),
	    0);
	verify_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_key),
		cmocka_unit_test(test_uppercase),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_other_key),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_binary_key),
		cmocka_unit_test(test_long_key),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_no_keys),
		cmocka_unit_test(test_provider_vector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
