/*
 * json.h: the one strict JSON lexer of smshook and smshookctl.
 *
 * cJSON builds trees; it cannot say where a member's text is, nor keep a
 * number's text. This lexer validates a whole JSON text in one pass, never
 * recursing, more strictly than cJSON: strict UTF-8, no NUL byte (raw or
 * \u0000), no lone surrogate escape, RFC 8259 number grammar, only
 * space/tab/CR/LF as white space. On the way it reports the span (offset
 * and length in the input) of the members it is asked for, at the top
 * level of the root object and inside one chosen member of it, and can
 * write a copy without insignificant white space.
 *
 * The receiver uses it to validate and compact a body and to find the
 * signed timestamp's text; smshookctl to read a spool line's envelope and
 * its payload's members without building a tree.
 */
#ifndef SMSHOOK_JSON_H
#define SMSHOOK_JSON_H

#include <stddef.h>

enum json_type {
	JSON_NONE,		/* absent */
	JSON_STRING, JSON_NUMBER, JSON_TRUE, JSON_FALSE, JSON_NULL,
	JSON_OBJECT, JSON_ARRAY
};

/* A set of types, for tables of fields: JSON_T(JSON_STRING) | ... */
#define JSON_T(t)	(1u << (t))

#define JSON_DEPTH_MAX	1000	/* as cJSON's nesting limit */
#define JSON_NUM_MAX	64	/* json_lex's bounded numbers: characters */
#define JSON_EXP_MAX	9999	/* and exponent, either sign (PostgreSQL's
				   numeric holds 10^131071 to 10^-16383) */
#define JSON_INT_DIGITS	18	/* json_int: every such number fits */

/* A value's text in the input: a string's with its quotes. */
struct json_span {
	enum json_type	 type;
	size_t		 off, len;
	int		 esc;		/* a string holding an escape */
	int		 integer;	/* a number without fraction/exponent */
};

/* A member name to look for, and its length. */
struct json_name {
	const char	*s;
	size_t		 n;
};
#define JSON_NAME(x)	{ x, sizeof(x) - 1 }

/* What kind of fault json_lex's reason describes. */
enum json_fault {
	JSON_FAULT_SYNTAX,	/* not valid JSON (or beyond the bounds) */
	JSON_FAULT_DUPLICATE,	/* a member name given twice */
	JSON_FAULT_NOMEM	/* out of memory: the input may be fine */
};

struct json_lex {
	/* in: members of the root object to report, into top[] */
	const struct json_name	*top_names;
	size_t			 ntop;
	struct json_span	*top;
	/* in: members of the root's member top_names[sub_of], into sub[] */
	const struct json_name	*sub_names;
	size_t			 nsub;
	size_t			 sub_of;
	struct json_span	*sub;
	/* in: if set, gets the text without white space (len + 1 bytes) */
	char			*compact;
	/* in: refuse numbers of more than JSON_NUM_MAX characters or with
	 * an exponent beyond JSON_EXP_MAX: what every database stores */
	int			 bounded;
	/* in: if set, the text will be a value inside one more container
	 * (a body inside its spool line): one level less may be open */
	int			 wrapped;
	/* out */
	size_t			 compact_len;
	enum json_type		 root;		/* JSON_NONE for blank input */
	int			 root_members;	/* members of a root object */
	enum json_fault		 fault;		/* after -1: why, by kind */
};

/*
 * Validate in[0..len) as one JSON text (blank input too: root is then
 * JSON_NONE) and fill jl's spans; a member not present has type
 * JSON_NONE. Member names are compared after unescaping; a reported name
 * given twice, or any name given twice at the root, is an error. Returns
 * 0, or -1 with a static reason in *why.
 */
int	json_lex(const char *in, size_t len, struct json_lex *jl,
	    const char **why);

/*
 * The next item of an array already validated by json_lex: *cur starts
 * at the array span's offset and moves past each item. 1 with the item
 * in *it, 0 at the end.
 */
int	json_next(const char *in, const struct json_span *arr, size_t *cur,
	    struct json_span *it);

/*
 * The value of string span sp of in (validated by json_lex), unescaped,
 * into out (sp->len bytes suffice) and NUL-terminated; its length.
 */
size_t	json_unescape(const char *in, const struct json_span *sp, char *out);

/*
 * Write s[0..n) as a JSON string, quotes included, to out (6 n + 2
 * bytes suffice): '"', '\\' and control characters escaped as cJSON
 * does, everything else as it is. Returns the length written.
 */
size_t	json_quote(const char *s, size_t n, char *out);

/*
 * A decimal integer: -?[0-9]{1,JSON_INT_DIGITS} exactly (leading zeros
 * allowed, as in a form value). 0 with *out, -1 if s[0..n) is not one.
 */
int	json_int(const char *s, size_t n, long long *out);

/*
 * A JSON number's text s[0..n) (valid: json_lex's) that names an integer
 * of at most 2^53 in magnitude, exactly, whatever its form (20, 2e1,
 * 20.0, 200e-1): 0 with *out; -1 if it names a fraction, however close
 * to an integer (5.9999999999999999), or a larger one. Decided on the
 * text, not on a double, which rounds.
 */
int	json_exact(const char *s, size_t n, long long *out);

#endif
