/*
 * fuzz_json_diff.c: differential harness for the strict lexer (json.c)
 * against cJSON. Whatever json_lex accepts, cJSON must parse too, to the
 * same tree as json_lex's compact copy; every member json_lex reports
 * (the envelope's at the root, the payload's inside "payload") must be
 * the value cJSON finds under that name, and a string's unescaped text
 * must be cJSON's. json_lex may refuse more (it is the stricter). The
 * first input byte is left out: it is fuzz_ctl_rows' path selector in
 * the seeds this harness shares (tests/fuzz/corpus/ctl_rows).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "line.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Abort with the input when the two disagree. */
static void
differ(const char *what, const char *in, size_t len)
{
	fprintf(stderr, "json_lex and cJSON differ (%s): %.*s\n", what,
	    (int)len, in);
	abort();
}

/* 1 if cJSON prints a and b alike (cJSON_Compare fails on infinities). */
static int
alike(const cJSON *a, const cJSON *b)
{
	char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);
	int r;

	if (x == NULL || y == NULL)
		abort();
	r = strcmp(x, y) == 0;
	cJSON_free(x);
	cJSON_free(y);
	return r;
}

/* Span sp of in must be cJSON's item it. */
static void
same_value(const char *in, size_t len, const struct json_span *sp,
    const cJSON *it)
{
	cJSON *v;
	char *u;

	if (sp->type == JSON_NONE) {
		if (it != NULL)
			differ("member missed", in, len);
		return;
	}
	if (it == NULL)
		differ("member invented", in, len);
	if ((v = cJSON_ParseWithLength(in + sp->off, sp->len)) == NULL)
		differ("span not JSON", in, len);
	if (!alike(v, it))
		differ("span is another value", in, len);
	if (sp->type == JSON_STRING) {
		if ((u = malloc(sp->len)) == NULL)
			abort();
		json_unescape(in, sp, u);
		if (strcmp(u, it->valuestring) != 0)
			differ("unescaped text", in, len);
		free(u);
	}
	cJSON_Delete(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct json_span top[LINE_NMEMBERS], sub[PF_NFIELDS];
	struct json_lex jl;
	const cJSON *p;
	cJSON *a = NULL, *b = NULL;
	const char *why;
	char *in, *compact;
	size_t i;

	if (n == 0)
		return 0;
	d++;		/* ctl_rows' path selector */
	n--;
	if ((in = malloc(n + 1)) == NULL || (compact = malloc(n + 1)) == NULL)
		abort();
	memcpy(in, d, n);
	in[n] = '\0';
	memset(&jl, 0, sizeof(jl));
	jl.top_names = line_member_names;
	jl.ntop = LINE_NMEMBERS;
	jl.top = top;
	jl.sub_names = line_field_names;
	jl.nsub = PF_NFIELDS;
	jl.sub_of = LINE_PAYLOAD;
	jl.sub = sub;
	jl.compact = compact;
	if (json_lex(in, n, &jl, &why) == -1 || jl.root == JSON_NONE)
		goto out;
	if ((a = cJSON_ParseWithLengthOpts(in, n, NULL, 0)) == NULL)
		differ("cJSON refused", in, n);
	if ((b = cJSON_ParseWithLength(compact, jl.compact_len)) == NULL ||
	    !alike(a, b))
		differ("compact copy", in, n);
	if (jl.root != JSON_OBJECT)
		goto out;
	for (i = 0; i < LINE_NMEMBERS; i++)
		same_value(in, n, &top[i], cJSON_GetObjectItemCaseSensitive(a,
		    line_member_names[i].s));
	p = cJSON_GetObjectItemCaseSensitive(a, "payload");
	if (!cJSON_IsObject(p))
		goto out;
	for (i = 0; i < PF_NFIELDS; i++)
		same_value(in, n, &sub[i], cJSON_GetObjectItemCaseSensitive(p,
		    line_field_names[i].s));
 out:
	cJSON_Delete(a);
	cJSON_Delete(b);
	free(compact);
	free(in);
	return 0;
}
