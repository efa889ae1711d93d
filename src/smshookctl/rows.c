/*
 * rows.c: see rows.h. line_parse finds the members; this file only
 * turns their spans into column values. Every string of a line goes
 * into one allocation; the payload's text is cut out of the line itself
 * so that its numbers and member order reach the database exactly as
 * the provider sent them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "json.h"
#include "line.h"
#include "rows.h"

#define NUM_TEXT	32	/* room for any number as text */
#define EXACT_DIGITS	15	/* integers this long are exact in a double */

/* A list member's items: an array in the line or in a decoded string. */
struct list {
	const char		*text;	/* what the spans point into */
	char			*buf;	/* a decoded string's text, or NULL */
	struct json_span	 arr;	/* the array, or the lone item */
	int			 one;	/* arr is the item itself */
	size_t			 cur;	/* json_next's cursor */
};

/* The arena: one block, filled from the front. */
struct arena {
	char	*o;
};

/* 1 if a number span is an integer short enough to be exact in a double. */
static int
short_int(const struct json_span *sp)
{
	return sp->integer && sp->len <= EXACT_DIGITS + 1;
}

/*
 * The number span sp of s as a double, however long its text: valid JSON,
 * where a delimiter always follows a number, so strtod reads it in place
 * and stops at its end (NAN, never met, if it does not).
 */
static double
num_value(const char *s, const struct json_span *sp)
{
	char *end;
	double d;

	d = strtod(s + sp->off, &end);
	return end == s + sp->off + sp->len ? d : NAN;
}

/*
 * Member sp of s as new text in the arena: a string unescaped, an
 * integer as its own text, however many digits (a double's integers are
 * exact to 16 only: two ids one apart beyond would be one row), another
 * number through a double (%.0f when that is an integer of at most
 * 2^53, else %.17g); NULL for any other type or when absent.
 */
static char *
text_of(struct arena *a, const char *s, const struct json_span *sp)
{
	char *r = a->o;
	double d;

	switch (sp->type) {
	case JSON_STRING:
		if (sp->esc)
			a->o += json_unescape(s, sp, r) + 1;
		else {
			memcpy(r, s + sp->off + 1, sp->len - 2);
			r[sp->len - 2] = '\0';
			a->o += sp->len - 1;
		}
		return r;
	case JSON_NUMBER:
		if (sp->integer) {
			memcpy(r, s + sp->off, sp->len);
			r[sp->len] = '\0';
		} else {
			if (isnan(d = num_value(s, sp)))
				return NULL;
			if (d == floor(d) && fabs(d) <= 9007199254740992.0)
				snprintf(r, NUM_TEXT, "%.0f", d);
			else
				snprintf(r, NUM_TEXT, "%.17g", d);
		}
		a->o += strlen(r) + 1;
		return r;
	default:
		return NULL;
	}
}

/*
 * Member sp of s as an integer: a number that is an exact integer, or a
 * string of decimal digits (json_int). 1 with *out, 0 if neither.
 */
static int
int_of(const char *s, const struct json_span *sp, long long *out)
{
	/* json_int's longest, each character as the receiver may see it
	 * escaped (\uXXXX), and the quotes: any longer cannot be one */
	char buf[6 * (JSON_INT_DIGITS + 1) + 2];

	switch (sp->type) {
	case JSON_STRING:
		if (sp->len > sizeof(buf))
			return 0;
		return json_int(buf, json_unescape(s, sp, buf), out) == 0;
	case JSON_NUMBER:
		if (short_int(sp))
			return json_int(s + sp->off, sp->len, out) == 0;
		/* on the text: a double would round 5.9999999999999999 up */
		return json_exact(s + sp->off, sp->len, out) == 0;
	default:
		return 0;
	}
}

/*
 * Open list member sp of s: an array; a string holding JSON text of an
 * array (a form's list), decoded into li->buf; or a lone string or
 * number. 0 if sp is none of these, -1 if out of memory.
 */
static int
list_open(const char *s, const struct json_span *sp, struct list *li)
{
	struct json_lex jl;
	const char *why;
	size_t n;

	memset(li, 0, sizeof(*li));
	li->text = s;
	li->arr = *sp;
	li->cur = sp->off;
	li->one = sp->type != JSON_ARRAY;
	if (sp->type == JSON_ARRAY || sp->type == JSON_NUMBER)
		return 1;
	if (sp->type != JSON_STRING) {
		li->arr.type = JSON_NONE;
		return 0;
	}
	if ((li->buf = malloc(sp->len)) == NULL)
		return -1;
	n = json_unescape(s, sp, li->buf);
	memset(&jl, 0, sizeof(jl));
	if (li->buf[strspn(li->buf, " \t")] != '[' ||
	    json_lex(li->buf, n, &jl, &why) == -1 || jl.root != JSON_ARRAY)
		return 1;	/* not JSON text: the string is the item */
	li->text = li->buf;
	li->one = 0;
	li->arr.type = JSON_ARRAY;
	li->arr.off = strspn(li->buf, " \t\r\n");
	li->arr.len = n - li->arr.off;
	while (strchr(" \t\r\n", li->buf[li->arr.off + li->arr.len - 1]))
		li->arr.len--;
	li->cur = li->arr.off;
	return 1;
}

/* Release what list_open took. */
static void
list_close(struct list *li)
{
	free(li->buf);
	li->buf = NULL;
}

/* The number of items of an open list. */
static size_t
list_count(const struct list *li)
{
	struct json_span it;
	size_t cur = li->cur, n = 0;

	if (li->arr.type == JSON_NONE)
		return 0;
	if (li->one)
		return 1;
	while (json_next(li->text, &li->arr, &cur, &it))
		n++;
	return n;
}

/* The next item's text (NULL past the end or for a non-scalar item). */
static char *
list_next(struct arena *a, struct list *li)
{
	struct json_span it;

	if (li->arr.type == JSON_NONE)
		return NULL;
	if (li->one) {
		if (li->cur != li->arr.off)
			return NULL;
		li->cur++;
		return text_of(a, li->text, &li->arr);
	}
	if (!json_next(li->text, &li->arr, &li->cur, &it))
		return NULL;
	return text_of(a, li->text, &it);
}

/* The decimal number s[0..n), all digits (checked by the caller). */
static int
digits(const char *s, size_t n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/*
 * The provider's wall-clock times ("YYYY-MM-DD HH:MM:SS", UTC+8) as
 * milliseconds since the epoch: 1 with *ms, 0 if s is not exactly one
 * (two digits each, month 01-12, day 01-31, hour 00-23, minutes and
 * seconds 00-59; a day past the month's end runs into the next month),
 * as the schema's migration of replies reads them.
 */
static int
china_time(const char *s, long long *ms)
{
	static const char pat[] = "dddd-dd-dd dd:dd:dd";
	struct tm tm;
	time_t t;
	size_t i;

	if (s == NULL || strlen(s) != sizeof(pat) - 1)
		return 0;
	for (i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 59)
		return 0;
	t = timegm(&tm);	/* -1 is 1969-12-31 23:59:59, no error */
	*ms = ((long long)t - 8 * 3600) * 1000;
	return 1;
}

/*
 * The payload's members f as column values into v: of a field a form
 * repeated (an array where one value belongs) its first value, none for
 * an empty one; the lists smsIds and phones as they are.
 */
static void
first_values(const char *s, const struct json_span *f, struct json_span *v)
{
	size_t i, cur;

	for (i = 0; i < PF_NFIELDS; i++) {
		v[i] = f[i];
		cur = f[i].off;
		if (i != PF_SMS_IDS && i != PF_PHONES &&
		    f[i].type == JSON_ARRAY &&
		    !json_next(s, &f[i], &cur, &v[i]))
			v[i].type = JSON_NONE;
	}
}

/*
 * Open the lists that give one row each: smsIds with phones beside it,
 * else smsId that a form repeated, with phone beside it. The number of
 * ids in *n (0: neither), of phones in *nph; 0, or -1 if out of memory.
 */
static int
ids_open(const char *s, const struct json_span *f, struct list *ids,
    struct list *phones, size_t *n, size_t *nph)
{
	static const int pair[2][2] = {
		{ PF_SMS_IDS, PF_PHONES }, { PF_SMS_ID, PF_PHONE }
	};
	size_t k;

	*n = *nph = 0;
	for (k = 0; k < 2 && *n == 0; k++) {
		if (k == 1 && f[PF_SMS_ID].type != JSON_ARRAY)
			break;
		list_close(ids);
		switch (list_open(s, &f[pair[k][0]], ids)) {
		case -1:
			return -1;
		case 1:
			if ((*n = list_count(ids)) == 0)
				break;
			if (list_open(s, &f[pair[k][1]], phones) == -1)
				return -1;
			*nph = list_count(phones);
		}
	}
	return 0;
}

/* The per-event columns of l from the payload's column values f. */
static void
event_fields(struct rows *l, struct arena *a, const char *s,
    const struct json_span *f, long long *type, int *has_type,
    const char **ename)
{
	const struct event_def *d = NULL;
	char *ev = NULL;
	long long ms;

	if (f[PF_EVENT].type == JSON_STRING)
		ev = text_of(a, s, &f[PF_EVENT]);
	if ((*has_type = int_of(s, &f[PF_EVENT_TYPE], type)))
		d = event_by_code(*type);
	else if (ev != NULL && (d = event_by_name(ev)) != NULL)
		*has_type = 1;
	if (d != NULL)
		*type = d->code;
	else
		l->event_name = ev;
	*ename = d != NULL ? d->name : l->event_name;
	l->has_event_time = int_of(s, &f[PF_TIMESTAMP], &l->event_time);
	/* other types stay NULL here; the payload keeps them */
	l->user_id = text_of(a, s, &f[PF_USER_ID]);
	l->sms_user = text_of(a, s, &f[PF_SMS_USER]);
	l->template_id = text_of(a, s, &f[PF_TEMPLATE_ID]);
	l->message = text_of(a, s, &f[PF_MESSAGE]);
	/* a reply: its text is the message, its time the reply's */
	if (*has_type && *type == EVENT_REPLY) {
		if (f[PF_REPLY_CONTENT].type == JSON_STRING)
			l->message = text_of(a, s, &f[PF_REPLY_CONTENT]);
		if (f[PF_REPLY_TIME].type == JSON_STRING &&
		    china_time(text_of(a, s, &f[PF_REPLY_TIME]), &ms)) {
			l->event_time = ms;
			l->has_event_time = 1;
		}
	}
}

int
rows_parse(struct rows *l, const char *line, size_t len,
    const char **why)
{
	struct line ln;
	struct list ids, phones;
	struct arena a;
	struct json_span f[PF_NFIELDS];
	const struct json_span *m = ln.m;
	const char *ename;
	struct row *r;
	long long type = 0, sc = 0;
	size_t n = 0, nph = 0, i, sz, nokey = 0;
	int has_type, has_sc, rc;

	memset(l, 0, sizeof(*l));
	memset(&ids, 0, sizeof(ids));
	memset(&phones, 0, sizeof(phones));
	if (line_parse(&ln, line, len, why) == -1)
		return *why == line_nomem ? -2 : -1;
	*why = line_nomem;
	rc = -2;
	/* one row per id (phones[i] beside it), else smsId/phone */
	if (ids_open(line, ln.f, &ids, &phones, &n, &nph) == -1)
		goto out;
	first_values(line, ln.f, f);
	/*
	 * Rows, then every string: each unescapes to at most its span, an
	 * integer is its span, another number at most NUM_TEXT; the payload
	 * is copied whole.
	 */
	l->nrows = n > 0 ? n : 1;
	sz = l->nrows * sizeof(*l->rows) + 3 * len +
	    NUM_TEXT * (2 * l->nrows + 16);
	if ((l->mem = malloc(sz)) == NULL)
		goto out;
	l->rows = l->mem;
	a.o = (char *)(l->rows + l->nrows);
	l->received_at = text_of(&a, line, &m[LINE_RECEIVED_AT]);
	l->remote_addr = text_of(&a, line, &m[LINE_REMOTE_ADDR]);
	l->encoding = text_of(&a, line, &m[LINE_ENCODING]);
	l->verified = ln.verified;
	l->payload = a.o;
	l->payload_len = m[LINE_PAYLOAD].len;
	memcpy(a.o, line + m[LINE_PAYLOAD].off, l->payload_len);
	a.o[l->payload_len] = '\0';
	a.o += l->payload_len + 1;
	l->token = text_of(&a, line, &f[PF_TOKEN]);
	event_fields(l, &a, line, f, &type, &has_type, &ename);
	has_sc = int_of(line, &f[PF_STATUS_CODE], &sc);
	for (i = 0; i < l->nrows; i++) {
		r = &l->rows[i];
		r->event_type = type;
		r->has_event_type = has_type;
		r->event = ename;
		r->status_code = sc;
		r->has_status_code = has_sc;
		if (n > 0) {
			r->sms_id = list_next(&a, &ids);
			r->phone = i < nph ? list_next(&a, &phones) : NULL;
		} else {
			r->sms_id = text_of(&a, line, &f[PF_SMS_ID]);
			r->phone = text_of(&a, line, &f[PF_PHONE]);
		}
		/* "" names no message: not one key for every such event */
		if (r->sms_id != NULL && *r->sms_id == '\0')
			r->sms_id = NULL;
		/* what the message key does not hold, the token key does */
		r->token_row = r->sms_id == NULL || !has_type ?
		    (long long)nokey++ : -1;
	}
	rc = 0;
 out:
	list_close(&ids);
	list_close(&phones);
	return rc;
}

void
rows_free(struct rows *l)
{
	free(l->mem);			/* rows and every string */
	memset(l, 0, sizeof(*l));
}

/* v in decimal into buf (21 bytes hold any); returns buf. */
static char *
fmt_ll(long long v, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%lld", v);
	return buf;
}

int
row_int(const struct rows *l, const struct row *r,
    enum col col, long long *v)
{
	switch (col) {
	case COL_EVENT_TYPE:
		*v = r->event_type;
		return r->has_event_type;
	case COL_STATUS_CODE:
		*v = r->status_code;
		return r->has_status_code;
	case COL_EVENT_TIME:
		*v = l->event_time;
		return l->has_event_time;
	case COL_VERIFIED:
		*v = l->verified;
		return 1;
	case COL_TOKEN_ROW:
		*v = r->token_row;
		return r->token_row >= 0;
	default:
		return 0;		/* payload_id: the database's */
	}
}

const char *
row_text(const struct rows *l, const struct row *r,
    enum col col, char *buf, size_t bufsz)
{
	long long v;

	if (col < NCOLS && schema_cols[col].integer)
		return row_int(l, r, col, &v) ? fmt_ll(v, buf, bufsz) :
		    NULL;
	switch (col) {
	case COL_EVENT:
		return r->event;
	case COL_SMS_ID:
		return r->sms_id;
	case COL_PHONE:
		return r->phone;
	case COL_USER_ID:
		return l->user_id;
	case COL_SMS_USER:
		return l->sms_user;
	case COL_TEMPLATE_ID:
		return l->template_id;
	case COL_MESSAGE:
		return l->message;
	case COL_RECEIVED_AT:
		return l->received_at;
	case COL_PAYLOAD:
		return l->payload;
	case COL_TOKEN:			/* the token key's rows alone */
		return r->token_row >= 0 ? l->token : NULL;
	default:
		return NULL;
	}
}
