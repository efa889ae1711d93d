/*
 * json.c: see json.h. One loop over the input with an explicit stack of
 * open containers (one bit each: object or array); never recurses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

#define KEY_MAX		64	/* longest name compared after unescaping */
#define ESC_MAX		6	/* input bytes per unescaped byte, at most */
#define ROOT_KEYS	32	/* root names checked without an allocation */

enum state {
	ST_VALUE,		/* a value must come */
	ST_VALUE_OR_CLOSE,	/* after '[' */
	ST_KEY,			/* after ',' in an object */
	ST_KEY_OR_CLOSE,	/* after '{' */
	ST_COLON,		/* after a name */
	ST_COMMA_OR_CLOSE,	/* after a value inside a container */
	ST_END			/* after the root value */
};

/* A root member's name: in the input, or unescaped in the arena. */
struct rkey {
	const char	*s;		/* NULL while it is in the arena */
	size_t		 off, n;	/* its place in the arena */
};

struct lexer {
	const unsigned char	*in;
	size_t			 len, i;
	struct json_lex		*jl;
	const char		*why;
	size_t			 depth;
	unsigned char		 stack[JSON_DEPTH_MAX / 8 + 1];
	struct json_span	*cur;		/* where the next value goes */
	struct json_span	*pend[3];	/* open containers, depth 1-2 */
	int			 next_is_sub;	/* the next value is sub_of's */
	int			 in_sub;	/* inside that object */
	struct rkey		 kbuf[ROOT_KEYS], *keys;
	size_t			 nkeys, capkeys;
	char			*arena;		/* unescaped root names */
	size_t			 arena_len;
};

/* The 4 hex digits at in[at]; -1 if not hex or truncated. */
static long
hex4(const unsigned char *in, size_t len, size_t at)
{
	long v = 0;
	size_t k;
	int h;

	if (at + 4 > len)
		return -1;
	for (k = 0; k < 4; k++) {
		if ((h = hex_value(in[at + k])) == -1)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Validate the escape at in[i] (the backslash); bytes it spans, or 0. */
static size_t
escape(const unsigned char *in, size_t len, size_t i)
{
	long u, lo;

	if (i + 1 >= len)
		return 0;
	switch (in[i + 1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
	case 't':
		return 2;
	case 'u':
		break;
	default:
		return 0;
	}
	if ((u = hex4(in, len, i + 2)) == -1 || u == 0)
		return 0;			/* \u0000: no NUL anywhere */
	if (u >= 0xdc00 && u <= 0xdfff)
		return 0;			/* lone low surrogate */
	if (u < 0xd800 || u > 0xdbff)
		return 6;
	if (i + 7 >= len || in[i + 6] != '\\' || in[i + 7] != 'u' ||
	    (lo = hex4(in, len, i + 8)) == -1 || lo < 0xdc00 || lo > 0xdfff)
		return 0;			/* high surrogate without low */
	return 12;
}

/* Put code point u as UTF-8 at out; bytes written. */
static size_t
put_utf8(unsigned long u, char *out)
{
	if (u < 0x80) {
		out[0] = (char)u;
		return 1;
	}
	if (u < 0x800) {
		out[0] = (char)(0xc0 | (u >> 6));
		out[1] = (char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		out[0] = (char)(0xe0 | (u >> 12));
		out[1] = (char)(0x80 | ((u >> 6) & 0x3f));
		out[2] = (char)(0x80 | (u & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (u >> 18));
	out[1] = (char)(0x80 | ((u >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((u >> 6) & 0x3f));
	out[3] = (char)(0x80 | (u & 0x3f));
	return 4;
}

/*
 * Unescape the validated string body s[0..n) into out (n bytes suffice:
 * no escape is shorter than what it stands for); the length written.
 */
static size_t
unescape(const unsigned char *s, size_t n, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	size_t i = 0, o = 0;
	unsigned long u;

	while (i < n) {
		if (s[i] != '\\') {
			out[o++] = (char)s[i++];
			continue;
		}
		if (s[i + 1] != 'u') {
			out[o++] = to[strchr(from, s[i + 1]) - from];
			i += 2;
			continue;
		}
		u = (unsigned long)hex4(s, n, i + 2);
		i += 6;
		if (u >= 0xd800 && u <= 0xdbff) {
			u = 0x10000 + ((u - 0xd800) << 10) +
			    ((unsigned long)hex4(s, n, i + 2) - 0xdc00);
			i += 6;
		}
		o += put_utf8(u, out + o);
	}
	return o;
}

/* Copy in[from..lx->i) to the compact output, if one is wanted. */
static inline void
emit(struct lexer *lx, size_t from)
{
	if (lx->jl->compact != NULL) {
		memcpy(lx->jl->compact + lx->jl->compact_len, lx->in + from,
		    lx->i - from);
		lx->jl->compact_len += lx->i - from;
	}
}

/* 1 for the bytes a string holds as they are: ASCII but '"', '\\', C0. */
static const unsigned char plain[256] = {
	[0x20] = 1, [0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1
};

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/*
 * The end of the run of plain bytes (see plain[]) at in[i..len): eight
 * at a time while a whole word is plain, then byte by byte. A word is
 * plain unless one of its bytes has the high bit, is below 0x20, or is
 * '"' or '\\' (the zero-byte tests of x ^ c and x - 0x20).
 */
static size_t
plain_run(const unsigned char *in, size_t i, size_t len)
{
	uint64_t x, hit;

	for (; len - i >= sizeof(x); i += sizeof(x)) {
		memcpy(&x, in + i, sizeof(x));
		hit = x | ((x - 0x20 * ONES) & ~x) |
		    (((x ^ '"' * ONES) - ONES) & ~(x ^ '"' * ONES)) |
		    (((x ^ '\\' * ONES) - ONES) & ~(x ^ '\\' * ONES));
		if (hit & HIGHS)
			break;
	}
	while (i < len && plain[in[i]])
		i++;
	return i;
}

/* The string at the quote in[i]; its span in *sp. 0, or -1. */
static int
string(struct lexer *lx, struct json_span *sp)
{
	const unsigned char *in = lx->in;
	size_t start = lx->i, n;
	unsigned char c;

	sp->type = JSON_STRING;
	sp->esc = 0;
	sp->integer = 0;
	for (lx->i++; lx->i < lx->len; lx->i += n) {
		/* the common case first: a run of plain ASCII */
		if ((lx->i = plain_run(in, lx->i, lx->len)) >= lx->len)
			break;
		c = in[lx->i];
		if (c == '"') {
			lx->i++;
			sp->off = start;
			sp->len = lx->i - start;
			emit(lx, start);
			return 0;
		}
		if (c >= 0x20 && c < 0x80 && c != '\\') {
			n = 1;
			continue;
		}
		if (c < 0x20) {
			lx->why = c == 0 ? "NUL byte in body" :
			    "control character in a JSON string";
			return -1;
		}
		if (c == '\\') {
			sp->esc = 1;
			n = escape(in, lx->len, lx->i);
		} else
			n = utf8_seq(in + lx->i, lx->len - lx->i);
		if (n == 0) {
			lx->why = c == '\\' ? "bad escape in a JSON string" :
			    "invalid UTF-8";
			return -1;
		}
	}
	lx->why = "unterminated JSON string";
	return -1;
}

/* Skip a run of digits; how many. */
static size_t
digits(struct lexer *lx)
{
	size_t start = lx->i;

	while (lx->i < lx->len && lx->in[lx->i] >= '0' && lx->in[lx->i] <= '9')
		lx->i++;
	return lx->i - start;
}

/* 1 if the valid number s[0..n) is short and its exponent small. */
static int
number_bounded(const unsigned char *s, size_t n)
{
	size_t i, d;
	long e = 0;

	if (n > JSON_NUM_MAX)
		return 0;
	for (i = 0; i < n && s[i] != 'e' && s[i] != 'E'; i++)
		;
	if (i < n && (s[i + 1] == '+' || s[i + 1] == '-'))
		i++;
	for (i++; i < n && s[i] == '0'; i++)
		;			/* leading zeros of the exponent */
	for (d = 0; i < n; i++, d++) {
		if (d == 5)
			return 0;	/* five digits: past any bound */
		e = e * 10 + (s[i] - '0');
	}
	return e <= JSON_EXP_MAX;
}

/* The number at in[i]: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static int
number(struct lexer *lx, struct json_span *sp)
{
	const unsigned char *in = lx->in;
	size_t start = lx->i;

	sp->type = JSON_NUMBER;
	sp->esc = 0;
	sp->integer = 1;
	if (in[lx->i] == '-')
		lx->i++;
	if (lx->i < lx->len && in[lx->i] == '0')
		lx->i++;
	else if (digits(lx) == 0)
		goto bad;
	if (lx->i < lx->len && in[lx->i] == '.') {
		lx->i++;
		sp->integer = 0;
		if (digits(lx) == 0)
			goto bad;
	}
	if (lx->i < lx->len && (in[lx->i] == 'e' || in[lx->i] == 'E')) {
		lx->i++;
		sp->integer = 0;
		if (lx->i < lx->len && (in[lx->i] == '+' || in[lx->i] == '-'))
			lx->i++;
		if (digits(lx) == 0)
			goto bad;
	}
	if (lx->i < lx->len && in[lx->i] >= '0' && in[lx->i] <= '9')
		goto bad;			/* "01" */
	sp->off = start;
	sp->len = lx->i - start;
	if (lx->jl->bounded && !number_bounded(in + start, sp->len)) {
		lx->why = "number too long or out of range";
		return -1;
	}
	emit(lx, start);
	return 0;
 bad:
	lx->why = "malformed JSON number";
	return -1;
}

/* true, false or null at in[i]. */
static int
literal(struct lexer *lx, struct json_span *sp)
{
	static const struct {
		const char	*s;
		size_t		 n;
		enum json_type	 t;
	} lits[] = {
		{ "true", 4, JSON_TRUE }, { "false", 5, JSON_FALSE },
		{ "null", 4, JSON_NULL }
	};
	size_t k;

	for (k = 0; k < 3; k++)
		if (lx->len - lx->i >= lits[k].n &&
		    memcmp(lx->in + lx->i, lits[k].s, lits[k].n) == 0) {
			sp->type = lits[k].t;
			sp->esc = 0;
			sp->integer = 0;
			sp->off = lx->i;
			sp->len = lits[k].n;
			lx->i += lits[k].n;
			emit(lx, sp->off);
			return 0;
		}
	lx->why = "invalid JSON";
	return -1;
}

/* The slot of name k (a string span) in names[0..n), or -1. */
static long
lookup(const struct lexer *lx, const struct json_span *k,
    const struct json_name *names, size_t n)
{
	char buf[KEY_MAX * ESC_MAX];	/* unescaping never lengthens */
	const char *s = (const char *)lx->in + k->off + 1;
	size_t kl = k->len - 2, i;

	if (k->esc) {
		/* each unescaped byte came from at most ESC_MAX ("\u00XX") */
		if (kl > sizeof(buf))
			return -1;	/* unescaped, still longer than any */
		kl = unescape(lx->in + k->off + 1, kl, buf);
		s = buf;
	}
	for (i = 0; i < n; i++)
		if (names[i].n == kl && (kl == 0 || names[i].s[0] == s[0]) &&
		    memcmp(names[i].s, s, kl) == 0)
			return (long)i;
	return -1;
}

/* Remember a root member's name for the duplicate check. */
static int
root_key(struct lexer *lx, const struct json_span *k)
{
	struct rkey *nk;
	char *na;

	if (lx->nkeys == lx->capkeys) {
		lx->capkeys *= 2;
		if (lx->keys == lx->kbuf) {
			if ((nk = malloc(lx->capkeys * sizeof(*nk))) != NULL)
				memcpy(nk, lx->kbuf, sizeof(lx->kbuf));
		} else
			nk = realloc(lx->keys, lx->capkeys * sizeof(*nk));
		if (nk == NULL)
			goto oom;
		lx->keys = nk;
	}
	lx->keys[lx->nkeys].s = (const char *)lx->in + k->off + 1;
	lx->keys[lx->nkeys].n = k->len - 2;
	if (k->esc) {
		/* the arena moves as it grows: kept as offsets till the end */
		if ((na = realloc(lx->arena, lx->arena_len + k->len)) == NULL)
			goto oom;
		lx->arena = na;
		lx->keys[lx->nkeys].s = NULL;
		lx->keys[lx->nkeys].off = lx->arena_len;
		lx->keys[lx->nkeys].n = unescape(lx->in + k->off + 1,
		    k->len - 2, lx->arena + lx->arena_len);
		lx->arena_len += lx->keys[lx->nkeys].n;
	}
	lx->nkeys++;
	return 0;
 oom:
	lx->why = "out of memory";
	lx->jl->fault = JSON_FAULT_NOMEM;
	return -1;
}

static int
rkey_cmp(const void *a, const void *b)
{
	const struct rkey *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c;

	if ((c = memcmp(x->s, y->s, n)) != 0)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

/* 1 if two root members share a name. */
static int
root_dups(struct lexer *lx)
{
	size_t i, j;

	for (i = 0; i < lx->nkeys; i++)
		if (lx->keys[i].s == NULL)
			lx->keys[i].s = lx->arena + lx->keys[i].off;
	if (lx->nkeys < 2)
		return 0;
	if (lx->nkeys <= ROOT_KEYS) {		/* few: compare each pair */
		for (i = 1; i < lx->nkeys; i++)
			for (j = 0; j < i; j++)
				if (lx->keys[i].n == lx->keys[j].n &&
				    memcmp(lx->keys[i].s, lx->keys[j].s,
				    lx->keys[i].n) == 0)
					return 1;
		return 0;
	}
	qsort(lx->keys, lx->nkeys, sizeof(*lx->keys), rkey_cmp);
	for (i = 1; i < lx->nkeys; i++)
		if (rkey_cmp(&lx->keys[i - 1], &lx->keys[i]) == 0)
			return 1;
	return 0;
}

/* 1 if the innermost open container is an object. */
static int
in_object(const struct lexer *lx)
{
	size_t d = lx->depth - 1;

	return (lx->stack[d / 8] >> (d % 8)) & 1;
}

/* A member name at in[i] (state ST_KEY or ST_KEY_OR_CLOSE). */
static int
member_name(struct lexer *lx)
{
	struct json_lex *jl = lx->jl;
	struct json_span k;
	long slot;

	if (lx->in[lx->i] != '"') {
		lx->why = "invalid JSON";
		return -1;
	}
	if (string(lx, &k) == -1)
		return -1;
	lx->cur = NULL;
	lx->next_is_sub = 0;
	if (lx->depth == 1) {
		jl->root_members++;
		if (root_key(lx, &k) == -1)
			return -1;
		if ((slot = lookup(lx, &k, jl->top_names, jl->ntop)) >= 0) {
			lx->cur = &jl->top[slot];
			lx->next_is_sub = (size_t)slot == jl->sub_of &&
			    jl->nsub > 0;
		}
	} else if (lx->depth == 2 && lx->in_sub &&
	    (slot = lookup(lx, &k, jl->sub_names, jl->nsub)) >= 0)
		lx->cur = &jl->sub[slot];
	if (lx->cur != NULL && lx->cur->type != JSON_NONE) {
		lx->why = "duplicate member name";
		jl->fault = JSON_FAULT_DUPLICATE;
		return -1;
	}
	return 0;
}

/* Open a container at in[i]; its span (if sp) is pending till it closes. */
static int
open_container(struct lexer *lx, struct json_span *sp)
{
	int obj = lx->in[lx->i] == '{';

	if (lx->depth + (lx->jl->wrapped ? 1 : 0) >= JSON_DEPTH_MAX) {
		lx->why = "JSON nested too deeply";
		return -1;
	}
	if (sp != NULL) {
		sp->type = obj ? JSON_OBJECT : JSON_ARRAY;
		sp->esc = 0;
		sp->integer = 0;
		sp->off = lx->i;
	}
	if (lx->depth == 1 || lx->depth == 2)
		lx->pend[lx->depth] = sp;
	if (lx->depth == 1 && lx->next_is_sub && obj)
		lx->in_sub = 1;
	if (obj)
		lx->stack[lx->depth / 8] |=
		    (unsigned char)(1u << (lx->depth % 8));
	else
		lx->stack[lx->depth / 8] &=
		    (unsigned char)~(1u << (lx->depth % 8));
	lx->depth++;
	lx->i++;
	emit(lx, lx->i - 1);
	return 0;
}

/* Close the innermost container with in[i]; 0, or -1 if it is the wrong one. */
static int
close_container(struct lexer *lx)
{
	struct json_span *sp;

	if ((lx->in[lx->i] == '}') != in_object(lx)) {
		lx->why = "unbalanced JSON";
		return -1;
	}
	lx->depth--;
	lx->i++;
	emit(lx, lx->i - 1);
	if ((lx->depth == 1 || lx->depth == 2) &&
	    (sp = lx->pend[lx->depth]) != NULL) {
		sp->len = lx->i - sp->off;
		lx->pend[lx->depth] = NULL;
	}
	if (lx->depth == 1)
		lx->in_sub = 0;
	return 0;
}

/* A value at in[i]: a scalar, or the opening of a container. */
static int
value(struct lexer *lx)
{
	struct json_span scratch, *sp = lx->cur != NULL ? lx->cur : &scratch;
	unsigned char c = lx->in[lx->i];
	int rc;

	lx->cur = NULL;
	if (c == '{' || c == '[') {
		if (lx->depth == 0)
			lx->jl->root = c == '{' ? JSON_OBJECT : JSON_ARRAY;
		/* a pending span must outlive this call: no scratch for it */
		return open_container(lx, sp == &scratch ? NULL : sp);
	}
	if (c == '"')
		rc = string(lx, sp);
	else if (c == '-' || (c >= '0' && c <= '9'))
		rc = number(lx, sp);
	else if (c >= 'a' && c <= 'z')
		rc = literal(lx, sp);
	else {
		lx->why = c == 0 ? "NUL byte in body" : c >= 0x80 ?
		    "invalid JSON (non-ASCII outside a string)" :
		    "invalid JSON";
		return -1;
	}
	if (rc == 0 && lx->depth == 0)
		lx->jl->root = sp->type;
	return rc;
}

/* The next token in state *st; the new state in *st. */
static int
step(struct lexer *lx, enum state *st)
{
	unsigned char c = lx->in[lx->i];

	switch (*st) {
	case ST_VALUE_OR_CLOSE:
	case ST_KEY_OR_CLOSE:
		if (c == (*st == ST_KEY_OR_CLOSE ? '}' : ']')) {
			if (close_container(lx) == -1)
				return -1;
			break;
		}
		if (*st == ST_KEY_OR_CLOSE) {
			*st = ST_COLON;
			return member_name(lx);
		}
		/* FALLTHROUGH */
	case ST_VALUE:
		if (value(lx) == -1)
			return -1;
		if (c == '{') {
			*st = ST_KEY_OR_CLOSE;
			return 0;
		}
		if (c == '[') {
			*st = ST_VALUE_OR_CLOSE;
			return 0;
		}
		break;
	case ST_KEY:
		*st = ST_COLON;
		return member_name(lx);
	case ST_COLON:
		if (c != ':')
			goto bad;
		lx->i++;
		emit(lx, lx->i - 1);
		*st = ST_VALUE;
		return 0;
	case ST_COMMA_OR_CLOSE:
		if (c == ',') {
			lx->i++;
			emit(lx, lx->i - 1);
			*st = in_object(lx) ? ST_KEY : ST_VALUE;
			return 0;
		}
		if (c != '}' && c != ']')
			goto bad;
		if (close_container(lx) == -1)
			return -1;
		break;
	case ST_END:
		goto bad;
	}
	/* a value is complete */
	*st = lx->depth == 0 ? ST_END : ST_COMMA_OR_CLOSE;
	return 0;
 bad:
	lx->why = c == 0 ? "NUL byte in body" : c >= 0x80 ?
	    "invalid JSON (non-ASCII outside a string)" : "invalid JSON";
	return -1;
}

int
json_lex(const char *in, size_t len, struct json_lex *jl, const char **why)
{
	struct lexer lx;
	enum state st = ST_VALUE;
	unsigned char c;
	size_t k;
	int rc = -1;

	memset(&lx, 0, sizeof(lx));
	lx.in = (const unsigned char *)in;
	lx.len = len;
	lx.jl = jl;
	lx.keys = lx.kbuf;
	lx.capkeys = ROOT_KEYS;
	jl->compact_len = 0;
	jl->root = JSON_NONE;
	jl->root_members = 0;
	jl->fault = JSON_FAULT_SYNTAX;
	for (k = 0; k < jl->ntop; k++)
		memset(&jl->top[k], 0, sizeof(jl->top[k]));
	for (k = 0; k < jl->nsub; k++)
		memset(&jl->sub[k], 0, sizeof(jl->sub[k]));
	while (lx.i < len) {
		c = lx.in[lx.i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			lx.i++;
			continue;
		}
		if (step(&lx, &st) == -1)
			goto out;
	}
	if (st != ST_END && !(st == ST_VALUE && lx.depth == 0)) {
		lx.why = lx.depth > 0 ? "unbalanced JSON" : "invalid JSON";
		goto out;
	}
	if (root_dups(&lx)) {
		lx.why = "duplicate member name";
		jl->fault = JSON_FAULT_DUPLICATE;
		goto out;
	}
	rc = 0;
 out:
	if (jl->compact != NULL)
		jl->compact[jl->compact_len] = '\0';
	if (lx.keys != lx.kbuf)
		free(lx.keys);
	free(lx.arena);
	if (rc == -1)
		*why = lx.why;
	return rc;
}

int
json_next(const char *in, const struct json_span *arr, size_t *cur,
    struct json_span *it)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t end = arr->off + arr->len, i = *cur, depth = 0;

	if (arr->type != JSON_ARRAY || arr->len < 2)
		return 0;
	if (i == arr->off)
		i++;			/* past the '[' */
	while (i < end && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	    s[i] == '\r' || s[i] == ','))
		i++;
	if (i >= end - 1)
		return 0;		/* at the ']' */
	it->off = i;
	it->esc = 0;
	it->integer = 0;
	switch (s[i]) {
	case '"':
		it->type = JSON_STRING;
		for (i++; s[i] != '"'; i++)
			if (s[i] == '\\') {
				it->esc = 1;
				i++;
			}
		i++;
		break;
	case '{':
	case '[':
		it->type = s[i] == '{' ? JSON_OBJECT : JSON_ARRAY;
		do {
			if (s[i] == '"') {
				for (i++; s[i] != '"'; i++)
					if (s[i] == '\\')
						i++;
			} else if (s[i] == '{' || s[i] == '[')
				depth++;
			else if (s[i] == '}' || s[i] == ']')
				depth--;
			i++;
		} while (depth > 0);
		break;
	default:
		it->type = s[i] == 't' ? JSON_TRUE : s[i] == 'f' ? JSON_FALSE :
		    s[i] == 'n' ? JSON_NULL : JSON_NUMBER;
		it->integer = it->type == JSON_NUMBER;
		while (i < end - 1 && s[i] != ',' && s[i] != ']' &&
		    s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
		    s[i] != '\r') {
			if (s[i] == '.' || s[i] == 'e' || s[i] == 'E')
				it->integer = 0;
			i++;
		}
	}
	it->len = i - it->off;
	*cur = i;
	return 1;
}

size_t
json_unescape(const char *in, const struct json_span *sp, char *out)
{
	size_t n;

	n = unescape((const unsigned char *)in + sp->off + 1, sp->len - 2, out);
	out[n] = '\0';
	return n;
}

size_t
json_quote(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;
	size_t i, o = 0;

	out[o++] = '"';
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		switch (c) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '\b': out[o++] = 'b'; break;
		case '\f': out[o++] = 'f'; break;
		case '\n': out[o++] = 'n'; break;
		case '\r': out[o++] = 'r'; break;
		case '\t': out[o++] = 't'; break;
		default:
			memcpy(out + o, "u00", 3);
			out[o + 3] = hex[c >> 4];
			out[o + 4] = hex[c & 15];
			o += 5;
		}
	}
	out[o++] = '"';
	return o;
}

int
json_int(const char *s, size_t n, long long *out)
{
	long long v = 0;
	size_t i = n > 0 && s[0] == '-';

	if (n == i || n - i > JSON_INT_DIGITS)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = s[0] == '-' ? -v : v;
	return 0;
}

int
json_exact(const char *s, size_t n, long long *out)
{
	const long long top = 9007199254740992LL;	/* 2^53 */
	const char *d = s + (n > 0 && s[0] == '-'), *end = s + n, *p;
	const char *digits[2] = { d, NULL };	/* integer, fraction */
	size_t len[2] = { 0, 0 }, k, nd = 0, tz = 0;
	long long e = 0, v = 0;
	int esign = 1, i;

	for (p = d; p < end && *p >= '0' && *p <= '9'; p++)
		len[0]++;
	if (p < end && *p == '.') {
		digits[1] = ++p;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			len[1]++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			esign = *p++ == '-' ? -1 : 1;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if ((e = e * 10 + (*p - '0')) > 100000)
				e = 100000;	/* past any number's digits */
	}
	if (p != end || len[0] == 0)
		return -1;
	/* the significant digits: leading zeros out, trailing ones counted */
	for (i = 0; i < 2; i++)
		for (k = 0; k < len[i]; k++) {
			if (digits[i][k] == '0' && nd == 0)
				continue;
			nd++;
			tz = digits[i][k] == '0' ? tz + 1 : 0;
		}
	if (nd == tz) {			/* all zeros: 0, -0, 0.0e5 */
		*out = 0;
		return 0;
	}
	/* the value: those digits but the trailing zeros, times 10^e */
	e = esign * e - (long long)len[1] + (long long)tz;
	if (e < 0 || (long long)(nd - tz) + e > 16)
		return -1;		/* a fraction, or past 10^16 */
	for (i = 0, k = 0; i < 2; i++)
		for (p = digits[i]; p != NULL && p < digits[i] + len[i]; p++)
			if ((*p != '0' || v > 0) && k++ < nd - tz)
				v = v * 10 + (*p - '0');
	for (; e > 0; e--)
		v *= 10;
	if (v > top)
		return -1;
	*out = d != s ? -v : v;
	return 0;
}
