/*
 * verify.c: OpenSSL's EVP_MAC keyed once per key at start-up; each request
 * re-inits the context with a NULL key, which reuses the prepared state.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "utf8.h"
#include "verify.h"

#define DIGEST_LEN	32

struct verifier {
	EVP_MAC		 *mac;
	EVP_MAC_CTX	**ctx;
	size_t		  n;
};

struct verifier *
verify_new(const struct conf_key *keys, size_t nkeys)
{
	struct verifier *v;
	OSSL_PARAM params[2];
	size_t i;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((v->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (v->ctx = calloc(nkeys + 1, sizeof(*v->ctx))) == NULL)
		goto fail;
	for (i = 0; i < nkeys; i++, v->n++)
		if ((v->ctx[i] = EVP_MAC_CTX_new(v->mac)) == NULL ||
		    !EVP_MAC_init(v->ctx[i], keys[i].data, keys[i].len, params))
			goto fail;
	return v;
 fail:
	verify_free(v);
	return NULL;
}

void
verify_free(struct verifier *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v->ctx != NULL && i <= v->n; i++)
		EVP_MAC_CTX_free(v->ctx[i]);
	free(v->ctx);
	EVP_MAC_free(v->mac);
	free(v);
}

/* HMAC of timestamp + token under key k into out[DIGEST_LEN]. */
static int
digest(struct verifier *v, size_t k, const char *ts, const char *token,
    unsigned char out[DIGEST_LEN])
{
	size_t outl;

	if (!EVP_MAC_init(v->ctx[k], NULL, 0, NULL) ||
	    !EVP_MAC_update(v->ctx[k], (const unsigned char *)ts, strlen(ts)) ||
	    !EVP_MAC_update(v->ctx[k], (const unsigned char *)token,
	    strlen(token)) ||
	    !EVP_MAC_final(v->ctx[k], out, &outl, DIGEST_LEN) ||
	    outl != DIGEST_LEN)
		return -1;
	return 0;
}

/*
 * Decode exactly 64 hex digits of either case; -1 on anything else.
 * (OpenSSL's OPENSSL_hexstr2buf_ex took some 1,500 instructions for it.)
 */
static int
unhex(const char *s, unsigned char out[DIGEST_LEN])
{
	size_t i;
	int hi, lo;

	if (strlen(s) != VERIFY_HEX_LEN)
		return -1;
	for (i = 0; i < DIGEST_LEN; i++) {
		if ((hi = hex_value((unsigned char)s[2 * i])) == -1 ||
		    (lo = hex_value((unsigned char)s[2 * i + 1])) == -1)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
verify_check(struct verifier *v, const char *ts, const char *token,
    const char *sig_hex)
{
	unsigned char want[DIGEST_LEN], got[DIGEST_LEN];
	size_t k;
	int match = 0;

	if (unhex(sig_hex, got) == -1)
		return 0;
	for (k = 0; k < v->n; k++) {
		if (digest(v, k, ts, token, want) == -1)
			return -1;
		match |= CRYPTO_memcmp(want, got, DIGEST_LEN) == 0;
	}
	OPENSSL_cleanse(want, sizeof(want));
	return match;
}

int
verify_sign(struct verifier *v, size_t k, const char *ts, const char *token,
    char out[VERIFY_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[DIGEST_LEN];
	size_t i;

	if (k >= v->n || digest(v, k, ts, token, d) == -1)
		return -1;
	for (i = 0; i < DIGEST_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0xf];
	}
	out[VERIFY_HEX_LEN] = '\0';
	return 0;
}
