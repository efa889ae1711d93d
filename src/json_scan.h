/*
 * json_scan.h: the lexical checks cJSON does not make, and a compact copy.
 * cJSON checks structure; this pass checks strict UTF-8, string escapes,
 * number grammar and the absence of NUL, removes insignificant white
 * space without touching any value or number text, and captures the raw
 * text of one top-level number member (the signed timestamp).
 */
#ifndef SMSHOOK_JSON_SCAN_H
#define SMSHOOK_JSON_SCAN_H

#include <stddef.h>

struct json_scan {
	const char	*capture_key;	/* in: top-level member to capture */
	size_t		 capture_off;	/* out: offset of its number in out */
	size_t		 capture_len;	/* out: 0 if absent or not a number */
};

/*
 * Copy in[0..len) to out (at least len + 1 bytes) without insignificant
 * white space, NUL-terminated; *outlen gets its length. Returns 0, or -1
 * with a static reason in *why.
 */
int	json_scan(const char *in, size_t len, char *out, size_t *outlen,
	    struct json_scan *js, const char **why);

#endif
