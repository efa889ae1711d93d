/* verify.h: HMAC-SHA256(app_key, timestamp + token) against the signature. */
#ifndef SMSHOOK_VERIFY_H
#define SMSHOOK_VERIFY_H

#include <stddef.h>

#include "conf.h"

#define VERIFY_HEX_LEN	64

struct verifier;

/* Prepare one keyed HMAC context per key, once per process; NULL on error. */
struct verifier	*verify_new(const struct conf_key *keys, size_t nkeys);
/* Free the contexts and the verifier; NULL is allowed. */
void		 verify_free(struct verifier *);
/*
 * 1 if sig_hex (64 hex digits, any case) is the HMAC of timestamp + token
 * under any key, 0 if not, -1 on an internal error. Compares in constant
 * time and tries every key whatever matched.
 */
int		 verify_check(struct verifier *, const char *timestamp,
		    const char *token, const char *sig_hex);
/* Write the lowercase hex signature under key k and a NUL to out. */
int		 verify_sign(struct verifier *, size_t k, const char *timestamp,
		    const char *token, char out[VERIFY_HEX_LEN + 1]);

#endif
