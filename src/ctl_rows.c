/*
 * ctl_rows.c: see ctl_rows.h. A common line is read in one strict pass
 * (parse_fast) into one allocation; anything else goes the slow way,
 * where cJSON reads the line for the values. Either way the payload's
 * text is cut out of the line itself so that its numbers and member
 * order reach the database exactly as the provider sent them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ctl_rows.h"
#include "event.h"
#include "json_scan.h"
#include "payload.h"
#include "utf8.h"

const char *const ctl_col_names[NCOLS] = {
	"event_type", "event", "sms_id", "phone", "user_id", "sms_user",
	"template_id", "message", "status_code", "event_time", "received_at",
	"payload"
};

const int ctl_col_int[NCOLS] = {
	[COL_EVENT_TYPE] = 1, [COL_STATUS_CODE] = 1, [COL_EVENT_TIME] = 1
};

/* Skip white space at s[*i]. */
static void
skip_ws(const char *s, size_t len, size_t *i)
{
	while (*i < len && strchr(" \t\r\n", s[*i]) != NULL && s[*i] != '\0')
		(*i)++;
}

/*
 * Skip the JSON string starting at the quote s[*i]; sets *nul if it
 * holds a \u0000 escape. Returns 0, -1 if unterminated.
 */
static int
skip_string(const char *s, size_t len, size_t *i, int *nul)
{
	for ((*i)++; *i < len; (*i)++) {
		if (s[*i] == '"') {
			(*i)++;
			return 0;
		}
		if (s[*i] == '\\') {
			if (*i + 5 < len && s[*i + 1] == 'u' &&
			    memcmp(s + *i + 2, "0000", 4) == 0)
				*nul = 1;
			(*i)++;
		}
	}
	return -1;
}

/* Skip one JSON value (already known valid) starting at s[*i]. */
static int
skip_value(const char *s, size_t len, size_t *i, int *nul)
{
	int depth = 0;

	do {
		if (*i >= len)
			return -1;
		switch (s[*i]) {
		case '"':
			if (skip_string(s, len, i, nul) == -1)
				return -1;
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return 0;	/* end of the enclosing object */
			depth--;
			break;
		case ',':
			if (depth == 0)
				return 0;
			break;
		}
		(*i)++;
	} while (depth > 0 || (*i < len && strchr(",}]", s[*i]) == NULL));
	return 0;
}

/*
 * Find the raw text of the top-level member "payload" in the (valid)
 * object s. Returns 0 with its span, or -1.
 */
static int
payload_span(const char *s, size_t len, size_t *off, size_t *plen, int *nul)
{
	size_t i = 0, k, vs;
	int found = 0, dummy = 0, is_payload;

	skip_ws(s, len, &i);
	if (i >= len || s[i++] != '{')
		return -1;
	for (;;) {
		skip_ws(s, len, &i);
		if (i >= len || s[i] != '"')
			return found ? 0 : -1;
		k = i;
		if (skip_string(s, len, &i, &dummy) == -1)
			return -1;
		is_payload = i - k == 9 && memcmp(s + k, "\"payload\"", 9) == 0;
		if (is_payload && found)
			return -1;	/* which one? cJSON reads the first */
		skip_ws(s, len, &i);
		if (i >= len || s[i++] != ':')
			return -1;
		skip_ws(s, len, &i);
		vs = i;
		if (skip_value(s, len, &i, is_payload ? nul : &dummy) == -1)
			return -1;
		if (is_payload) {
			*off = vs;
			*plen = i - vs;
			while (*plen > 0 && strchr(" \t\r\n", s[vs + *plen - 1]))
				(*plen)--;
			found = 1;
		}
		skip_ws(s, len, &i);
		if (i < len && s[i] == ',')
			i++;
		else
			return found ? 0 : -1;
	}
}

/* 1 if s is YYYY-MM-DDTHH:MM:SS, optional fraction, then Z. */
static int
iso_stamp(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	for (i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	if (s[i] == '.')
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			;
	return strcmp(s + i, "Z") == 0;
}

/* Format an integral double exactly; -1 if it is not an integer. */
static int
fmt_int(double d, char *buf, size_t sz)
{
	if (d != floor(d) || fabs(d) > 9007199254740992.0)
		return -1;
	snprintf(buf, sz, "%.0f", d);
	return 0;
}

/* A string or number member as new text; NULL if absent or another type. */
static char *
text_of(const cJSON *it)
{
	char buf[64];

	if (cJSON_IsString(it))
		return strdup(it->valuestring);
	if (!cJSON_IsNumber(it))
		return NULL;
	if (fmt_int(it->valuedouble, buf, sizeof(buf)) == -1)
		snprintf(buf, sizeof(buf), "%.17g", it->valuedouble);
	return strdup(buf);
}

/* An integer member (number or decimal text); 0 if absent or not one. */
static int
int_of(const cJSON *it, long long *out)
{
	char buf[64];

	if (cJSON_IsString(it))
		return payload_int(it->valuestring, out) == 0;
	if (!cJSON_IsNumber(it) ||
	    fmt_int(it->valuedouble, buf, sizeof(buf)) == -1)
		return 0;
	*out = (long long)it->valuedouble;
	return 1;
}

/*
 * A list member: an array, or (form encoding) JSON text of an array in
 * a string, or a lone scalar. Returns a new array (caller deletes) or
 * NULL if absent.
 */
static cJSON *
list_of(const cJSON *it)
{
	cJSON *a, *c;

	if (cJSON_IsArray(it))
		return cJSON_Duplicate(it, 1);
	if (cJSON_IsString(it) && it->valuestring[strspn(it->valuestring,
	    " \t")] == '[' && (a = cJSON_Parse(it->valuestring)) != NULL) {
		if (cJSON_IsArray(a))
			return a;
		cJSON_Delete(a);
	}
	if (!cJSON_IsString(it) && !cJSON_IsNumber(it))
		return NULL;
	if ((a = cJSON_CreateArray()) == NULL)
		return NULL;
	if ((c = cJSON_Duplicate(it, 0)) == NULL ||
	    !cJSON_AddItemToArray(a, c)) {
		cJSON_Delete(c);
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

/* Member name of p, case-sensitive. */
static const cJSON *
get(const cJSON *p, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(p, name);
}

/* Fill the per-event fields of l from the payload object p. */
static int
event_fields(struct ctl_line *l, const cJSON *p, long long *type,
    int *has_type, const char **ename)
{
	const struct event_def *d = NULL;
	const cJSON *ev = get(p, "event");

	*has_type = int_of(get(p, "eventType"), type);
	if (*has_type)
		d = event_by_code(*type);
	else if (cJSON_IsString(ev) && (d = event_by_name(ev->valuestring))
	    != NULL) {
		*type = d->code;
		*has_type = 1;
	}
	if (d != NULL)
		*type = d->code;
	*ename = d != NULL ? d->name : NULL;
	if (d == NULL && cJSON_IsString(ev)) {
		if ((l->event_name = strdup(ev->valuestring)) == NULL)
			return -1;
		*ename = l->event_name;
	}
	l->has_event_time = int_of(get(p, "timestamp"), &l->event_time);
	/* other types stay NULL here; the payload keeps them */
	l->user_id = text_of(get(p, "userId"));
	l->sms_user = text_of(get(p, "smsUser"));
	l->template_id = text_of(get(p, "templateId"));
	l->message = text_of(get(p, "message"));
	return 0;
}

/* One row per smsIds[i] (phones[i] beside it), or one from smsId/phone. */
static int
make_rows(struct ctl_line *l, const cJSON *p, long long type, int has_type,
    const char *ename)
{
	cJSON *ids = NULL, *phones = NULL;
	struct ctl_row *r;
	long long sc = 0;
	size_t n = 1, i;
	int has_sc, rc = -1;

	has_sc = int_of(get(p, "statusCode"), &sc);
	if (get(p, "smsIds") != NULL &&
	    (ids = list_of(get(p, "smsIds"))) != NULL &&
	    cJSON_GetArraySize(ids) > 0) {
		n = (size_t)cJSON_GetArraySize(ids);
		phones = list_of(get(p, "phones"));
	}
	if ((l->rows = calloc(n, sizeof(*l->rows))) == NULL)
		goto out;
	l->nrows = n;
	for (i = 0; i < n; i++) {
		r = &l->rows[i];
		r->event_type = type;
		r->has_event_type = has_type;
		r->event = ename;
		r->status_code = sc;
		r->has_status_code = has_sc;
		if (ids != NULL && cJSON_GetArraySize(ids) > 0) {
			r->sms_id = text_of(cJSON_GetArrayItem(ids, (int)i));
			r->phone = text_of(cJSON_GetArrayItem(phones, (int)i));
		} else {
			r->sms_id = text_of(get(p, "smsId"));
			r->phone = text_of(get(p, "phone"));
		}
	}
	rc = 0;
 out:
	cJSON_Delete(ids);
	cJSON_Delete(phones);
	return rc;
}

/* The slow path: utf8_valid, json_scan, cJSON; any line at all. */
static int
parse_slow(struct ctl_line *l, const char *line, size_t len,
    const char **why)
{
	const cJSON *v, *p, *it;
	const char *ename = NULL;
	cJSON *o = NULL;
	size_t off = 0, plen = 0;
	long long type = 0;
	int has_type = 0, nul = 0, rc = -1;
	struct json_scan js;
	char *scratch = NULL;
	const char *end = NULL;
	size_t slen, tail;

	memset(l, 0, sizeof(*l));
	*why = "out of memory";
	if (len == 0) {
		*why = "empty line";
		goto out;
	}
	if (!utf8_valid(line, len)) {
		*why = "invalid UTF-8 or NUL byte";
		goto out;
	}
	/* the receiver's own strict check: a database takes what it takes */
	if ((scratch = malloc(len + 1)) == NULL)
		goto out;
	memset(&js, 0, sizeof(js));
	if (json_scan(line, len, scratch, &slen, &js, why) == -1)
		goto out;
	if ((o = cJSON_ParseWithLengthOpts(line, len, &end, 0)) == NULL) {
		*why = "not JSON";
		goto out;
	}
	/* {...}x, or two lines run together: cJSON stops after the first */
	tail = (size_t)(end - line);
	skip_ws(line, len, &tail);
	if (tail != len) {
		*why = "not JSON";
		goto out;
	}
	v = get(o, "v");
	if (!cJSON_IsObject(o) || !cJSON_IsNumber(v) || v->valuedouble != 1) {
		*why = "not a v1 spool line";
		goto out;
	}
	p = get(o, "payload");
	if (!cJSON_IsObject(p) || payload_span(line, len, &off, &plen,
	    &nul) == -1) {
		*why = "no payload object";
		goto out;
	}
	if (nul) {
		*why = "payload holds \\u0000";
		goto out;
	}
	it = get(o, "received_at");
	if (!cJSON_IsString(it) || !iso_stamp(it->valuestring)) {
		*why = "no received_at";
		goto out;
	}
	*why = "out of memory";
	if ((l->received_at = strdup(it->valuestring)) == NULL ||
	    (l->payload = strndup(line + off, plen)) == NULL)
		goto out;
	l->payload_len = plen;
	it = get(o, "remote_addr");
	if (cJSON_IsString(it) &&
	    (l->remote_addr = strdup(it->valuestring)) == NULL)
		goto out;
	it = get(o, "encoding");
	if (cJSON_IsString(it) &&
	    (l->encoding = strdup(it->valuestring)) == NULL)
		goto out;
	l->verified = cJSON_IsTrue(get(o, "verified"));
	if (event_fields(l, p, &type, &has_type, &ename) == -1 ||
	    make_rows(l, p, type, has_type, ename) == -1)
		goto out;
	rc = 0;
 out:
	free(scratch);
	cJSON_Delete(o);
	return rc;
}

/*
 * The fast path: one strict pass over the line that validates it (at
 * least as strictly as utf8_valid, json_scan and cJSON together) and
 * notes where the members read below are. It gives up (returns 0) on
 * anything it does not model exactly (escapes in a value it copies, a
 * number that is not a short integer, a duplicate member it reads, a
 * list sent as JSON text, any line that would be rejected), and the
 * cJSON path above then decides; so both always agree.
 */

#define FS_DEPTH	64	/* deeper nesting: the slow path decides */
#define FS_NUMLEN	32	/* longer numbers: likewise */

enum { V_NONE, V_STR, V_INT, V_NUM, V_LIT, V_TRUE, V_OBJ, V_ARR };

/* One value: its kind and span (a string's without the quotes). */
struct val {
	int		 type;
	int		 esc;		/* a string holding escapes */
	size_t		 off, end;
};

enum { T_V, T_RECEIVED_AT, T_REMOTE_ADDR, T_ENCODING, T_VERIFIED,
	T_PAYLOAD, NTOP };
enum { P_EVENT_TYPE, P_EVENT, P_TIMESTAMP, P_USER_ID, P_SMS_USER,
	P_TEMPLATE_ID, P_MESSAGE, P_STATUS_CODE, P_SMS_IDS, P_PHONES,
	P_SMS_ID, P_PHONE, NPAY };

/* A member name and its length. */
struct name {
	const char	*s;
	size_t		 n;
};
#define NAME(x)	{ x, sizeof(x) - 1 }

static const struct name top_names[NTOP] = {
	NAME("v"), NAME("received_at"), NAME("remote_addr"),
	NAME("encoding"), NAME("verified"), NAME("payload")
};
static const struct name pay_names[NPAY] = {
	NAME("eventType"), NAME("event"), NAME("timestamp"), NAME("userId"),
	NAME("smsUser"), NAME("templateId"), NAME("message"),
	NAME("statusCode"), NAME("smsIds"), NAME("phones"), NAME("smsId"),
	NAME("phone")
};

struct fscan {
	const unsigned char	*s;
	size_t			 len, i;
	int			 depth;
	struct val		 top[NTOP];	/* members of the line */
	struct val		 pay[NPAY];	/* members of its payload */
};

static int	fs_value(struct fscan *, struct val *, int);

/* Skip JSON white space. */
static void
fs_ws(struct fscan *f)
{
	while (f->i < f->len && (f->s[f->i] == ' ' || f->s[f->i] == '\t' ||
	    f->s[f->i] == '\r' || f->s[f->i] == '\n'))
		f->i++;
}

/*
 * The string at the quote s[i]: UTF-8 as utf8_seq wants it, escapes as
 * json_scan wants them but never \u0000 or a surrogate. 0, or -1.
 */
static int
fs_string(struct fscan *f, struct val *v)
{
	const unsigned char *s = f->s;
	size_t i = f->i + 1, n, k;
	unsigned long u;
	int h;

	v->type = V_STR;
	v->esc = 0;
	v->off = i;
	for (;;) {
		if (i >= f->len)
			return -1;
		if (s[i] == '"')
			break;
		if (s[i] >= 0x20 && s[i] < 0x80 && s[i] != '\\') {
			i++;
			continue;
		}
		if (s[i] < 0x20)
			return -1;
		if (s[i] != '\\') {
			if ((n = utf8_seq(s + i, f->len - i)) == 0)
				return -1;
			i += n;
			continue;
		}
		v->esc = 1;
		if (i + 1 >= f->len)
			return -1;
		switch (s[i + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			i += 2;
			continue;
		case 'u':
			break;
		default:
			return -1;
		}
		if (i + 6 > f->len)
			return -1;
		for (u = 0, k = 2; k < 6; k++) {
			if ((h = hex_value(s[i + k])) == -1)
				return -1;
			u = u * 16 + (unsigned long)h;
		}
		if (u == 0 || (u >= 0xd800 && u <= 0xdfff))
			return -1;
		i += 6;
	}
	v->end = i;
	f->i = i + 1;
	return 0;
}

/* The number at s[i]; V_INT if it is -?(0|[1-9]d{0,14}). 0, or -1. */
static int
fs_number(struct fscan *f, struct val *v)
{
	const unsigned char *s = f->s;
	size_t i = f->i, d = 0;
	int simple = 1;

	v->off = i;
	v->esc = 0;
	if (s[i] == '-')
		i++;
	while (i < f->len && s[i] >= '0' && s[i] <= '9')
		i++, d++;
	if (d == 0 || (d > 1 && s[i - d] == '0'))
		return -1;
	if (i < f->len && s[i] == '.') {
		simple = 0;
		for (d = 0, i++; i < f->len && s[i] >= '0' && s[i] <= '9'; i++)
			d++;
		if (d == 0)
			return -1;
	}
	if (i < f->len && (s[i] == 'e' || s[i] == 'E')) {
		simple = 0;
		i++;
		if (i < f->len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = 0; i < f->len && s[i] >= '0' && s[i] <= '9'; i++)
			d++;
		if (d == 0)
			return -1;
	}
	if (i - v->off > FS_NUMLEN)
		return -1;
	v->type = simple && i - v->off - (s[v->off] == '-') <= 15 ?
	    V_INT : V_NUM;
	v->end = i;
	f->i = i;
	return 0;
}

/* The capture slot of member name k at this level, or NULL. */
static struct val *
fs_slot(struct fscan *f, int level, const struct val *k)
{
	const struct name *names = level == 1 ? top_names : pay_names;
	struct val *caps = level == 1 ? f->top : f->pay;
	const char *key = (const char *)f->s + k->off;
	size_t n = level == 1 ? NTOP : NPAY, i, kl = k->end - k->off;

	for (i = 0; i < n; i++)
		if (names[i].n == kl && names[i].s[0] == key[0] &&
		    memcmp(names[i].s, key, kl) == 0)
			return &caps[i];
	return NULL;
}

/*
 * The object or array at s[i]. level 1 captures the line's members, 2
 * the payload's, 0 none.
 */
static int
fs_container(struct fscan *f, int level)
{
	struct val k, v, *slot;
	int obj = f->s[f->i] == '{';
	unsigned char close = obj ? '}' : ']';

	if (++f->depth > FS_DEPTH)
		return -1;
	f->i++;
	fs_ws(f);
	if (f->i < f->len && f->s[f->i] == close) {
		f->i++;
		f->depth--;
		return 0;
	}
	for (;;) {
		fs_ws(f);
		slot = NULL;
		if (obj) {
			if (f->i >= f->len || f->s[f->i] != '"' ||
			    fs_string(f, &k) == -1)
				return -1;
			if (level > 0) {
				if (k.esc)
					return -1;
				slot = fs_slot(f, level, &k);
				if (slot != NULL && slot->type != V_NONE)
					return -1;	/* duplicate */
			}
			fs_ws(f);
			if (f->i >= f->len || f->s[f->i] != ':')
				return -1;
			f->i++;
			fs_ws(f);
		}
		if (fs_value(f, slot != NULL ? slot : &v, level == 1 &&
		    slot == &f->top[T_PAYLOAD] ? 2 : 0) == -1)
			return -1;
		fs_ws(f);
		if (f->i >= f->len)
			return -1;
		if (f->s[f->i] == close)
			break;
		if (f->s[f->i] != ',')
			return -1;
		f->i++;
	}
	f->i++;
	f->depth--;
	return 0;
}

/* Any value at s[i] (after white space); level as for fs_container. */
static int
fs_value(struct fscan *f, struct val *v, int level)
{
	static const char *const lits[] = { "true", "false", "null" };
	size_t k, n;

	if (f->i >= f->len)
		return -1;
	v->off = f->i;
	v->esc = 0;
	switch (f->s[f->i]) {
	case '"':
		return fs_string(f, v);
	case '{':
	case '[':
		v->type = f->s[f->i] == '{' ? V_OBJ : V_ARR;
		if (fs_container(f, level) == -1)
			return -1;
		v->end = f->i;
		return 0;
	case 't':
	case 'f':
	case 'n':
		for (k = 0; k < 3; k++) {
			n = strlen(lits[k]);
			if (f->len - f->i >= n &&
			    memcmp(f->s + f->i, lits[k], n) == 0) {
				v->type = k == 0 ? V_TRUE : V_LIT;
				f->i += n;
				v->end = f->i;
				return 0;
			}
		}
		return -1;
	default:
		if (f->s[f->i] != '-' && (f->s[f->i] < '0' || f->s[f->i] > '9'))
			return -1;
		return fs_number(f, v);
	}
}

/*
 * What text_of makes of v: 1 (its span is the text), 0 (NULL), -1 (a
 * case left to the slow path).
 */
static int
fs_text(const struct val *v)
{
	if (v->type == V_STR)
		return v->esc ? -1 : 1;
	if (v->type == V_INT)
		return 1;
	return v->type == V_NUM ? -1 : 0;
}

/* What int_of makes of v: 1 with *out, 0 (none), -1 (slow path). */
static int
fs_int(const struct fscan *f, const struct val *v, long long *out)
{
	const unsigned char *s = f->s + v->off;
	size_t n = v->end - v->off, i, d;
	long long x = 0;
	int neg;

	switch (fs_text(v)) {
	case -1:
		return -1;
	case 0:
		return 0;
	}
	/* a string: payload_int's rule, up to 18 digits; a number: <= 15 */
	neg = n > 0 && s[0] == '-';
	for (i = neg, d = 0; i < n && s[i] >= '0' && s[i] <= '9' && d < 18;
	    i++, d++)
		x = x * 10 + (s[i] - '0');
	if (i != n || d == 0)
		return 0;
	*out = neg ? -x : x;
	return 1;
}

/*
 * The next item of a list at cursor *c (just inside the '[', or after
 * the previous item) into *it; 0, or -1 at the ']'.
 */
static int
fs_next(const struct fscan *f, size_t *c, struct val *it)
{
	struct fscan g;

	g.s = f->s;
	g.len = f->len;
	g.i = *c;
	g.depth = 0;
	fs_ws(&g);
	if (g.s[g.i] == ']' || fs_value(&g, it, 0) == -1)
		return -1;
	fs_ws(&g);
	if (g.s[g.i] == ',')
		g.i++;
	*c = g.i;
	return 0;
}

/*
 * What list_of makes of v: -1 (slow path), 0 (no list), else the number
 * of items (strings or short integers); *one if v itself is the item.
 */
static long
fs_list(const struct fscan *f, const struct val *v, int *one)
{
	struct val it;
	size_t c;
	long n = 0;

	*one = 0;
	switch (v->type) {
	case V_STR:
		if (v->esc)
			return -1;
		for (c = v->off; c < v->end && (f->s[c] == ' ' ||
		    f->s[c] == '\t'); c++)
			;
		if (c < v->end && f->s[c] == '[')
			return -1;	/* JSON text: cJSON decides */
		/* FALLTHROUGH */
	case V_INT:
		*one = 1;
		return 1;
	case V_ARR:
		break;
	default:
		return v->type == V_NUM ? -1 : 0;
	}
	for (c = v->off + 1; fs_next(f, &c, &it) == 0; n++)
		if (fs_text(&it) != 1)
			return -1;
	return n;
}

/* The next item of list v (as fs_list saw it) at cursor *c; 0, or -1. */
static int
fs_item(const struct fscan *f, const struct val *v, int one, size_t *c,
    struct val *it)
{
	if (!one)
		return fs_next(f, c, it);
	if (*c != v->off)
		return -1;
	*it = *v;
	*c = v->end;
	return 0;
}

/* Copy span v (its text per fs_text) to *o; NULL if fs_text gives 0. */
static char *
fs_put(const struct fscan *f, const struct val *v, char **o)
{
	char *r = *o;
	size_t n = v->end - v->off;

	if (fs_text(v) != 1)
		return NULL;
	memcpy(r, f->s + v->off, n);
	r[n] = '\0';
	*o += n + 1;
	return r;
}

/* The fast parse of a line into l: 1, or 0 to let the slow path decide. */
static int
parse_fast(struct ctl_line *l, const char *line, size_t len)
{
	struct fscan f;
	const struct val *t = f.top, *p = f.pay;
	const struct event_def *d = NULL;
	struct val idv, phv;
	struct ctl_row *r;
	long long type = 0, sc = 0;
	long nids = 0, nph = 0, i;
	size_t ic, pc;
	int has_type, has_sc, has_time, ione = 0, pone = 0;
	char *o, *ev = NULL;
	size_t n, sz;

	memset(&f, 0, sizeof(f));
	f.s = (const unsigned char *)line;
	f.len = len;
	fs_ws(&f);
	if (f.i >= len || line[f.i] != '{' || fs_container(&f, 1) == -1)
		return 0;
	fs_ws(&f);
	if (f.i != len)
		return 0;
	/* the envelope, as ctl_line_parse checks it */
	if (t[T_V].type != V_INT || t[T_V].end - t[T_V].off != 1 ||
	    line[t[T_V].off] != '1' || t[T_PAYLOAD].type != V_OBJ ||
	    t[T_RECEIVED_AT].type != V_STR || t[T_RECEIVED_AT].esc ||
	    (t[T_REMOTE_ADDR].type == V_STR && t[T_REMOTE_ADDR].esc) ||
	    (t[T_ENCODING].type == V_STR && t[T_ENCODING].esc))
		return 0;
	/* every payload member read, in a form modelled here */
	if ((has_type = fs_int(&f, &p[P_EVENT_TYPE], &type)) == -1 ||
	    (has_time = fs_int(&f, &p[P_TIMESTAMP], &l->event_time)) == -1 ||
	    (has_sc = fs_int(&f, &p[P_STATUS_CODE], &sc)) == -1 ||
	    (p[P_EVENT].type == V_STR && p[P_EVENT].esc) ||
	    fs_text(&p[P_USER_ID]) == -1 || fs_text(&p[P_SMS_USER]) == -1 ||
	    fs_text(&p[P_TEMPLATE_ID]) == -1 || fs_text(&p[P_MESSAGE]) == -1)
		return 0;
	if (p[P_SMS_IDS].type != V_NONE &&
	    (nids = fs_list(&f, &p[P_SMS_IDS], &ione)) == -1)
		return 0;
	if (nids > 0 && (nph = fs_list(&f, &p[P_PHONES], &pone)) == -1)
		return 0;
	if (nids == 0 && (fs_text(&p[P_SMS_ID]) == -1 ||
	    fs_text(&p[P_PHONE]) == -1))
		return 0;
	n = nids > 0 ? (size_t)nids : 1;
	/* rows, then every string: spans of the line, at most 2 len */
	sz = n * sizeof(*l->rows) + 2 * len + 2 * n + 16;
	if ((l->mem = malloc(sz)) == NULL)
		return 0;
	l->rows = l->mem;
	l->nrows = n;
	o = (char *)(l->rows + n);
	l->received_at = fs_put(&f, &t[T_RECEIVED_AT], &o);
	if (!iso_stamp(l->received_at))
		goto slow;
	l->payload = o;
	l->payload_len = t[T_PAYLOAD].end - t[T_PAYLOAD].off;
	memcpy(o, line + t[T_PAYLOAD].off, l->payload_len);
	o[l->payload_len] = '\0';
	o += l->payload_len + 1;
	if (t[T_REMOTE_ADDR].type == V_STR)
		l->remote_addr = fs_put(&f, &t[T_REMOTE_ADDR], &o);
	if (t[T_ENCODING].type == V_STR)
		l->encoding = fs_put(&f, &t[T_ENCODING], &o);
	l->verified = t[T_VERIFIED].type == V_TRUE;
	/* event_fields */
	if (p[P_EVENT].type == V_STR)
		ev = fs_put(&f, &p[P_EVENT], &o);
	if (has_type)
		d = event_by_code(type);
	else if (ev != NULL && (d = event_by_name(ev)) != NULL)
		has_type = 1;
	if (d != NULL)
		type = d->code;
	else
		l->event_name = ev;
	l->has_event_time = has_time;
	l->user_id = fs_put(&f, &p[P_USER_ID], &o);
	l->sms_user = fs_put(&f, &p[P_SMS_USER], &o);
	l->template_id = fs_put(&f, &p[P_TEMPLATE_ID], &o);
	l->message = fs_put(&f, &p[P_MESSAGE], &o);
	/* make_rows */
	ic = p[P_SMS_IDS].off + !ione;
	pc = p[P_PHONES].off + !pone;
	for (i = 0; i < (long)n; i++) {
		r = &l->rows[i];
		r->event_type = type;
		r->has_event_type = has_type;
		r->event = d != NULL ? d->name : l->event_name;
		r->status_code = sc;
		r->has_status_code = has_sc;
		if (nids > 0) {
			if (fs_item(&f, &p[P_SMS_IDS], ione, &ic, &idv) == -1)
				goto slow;
			r->sms_id = fs_put(&f, &idv, &o);
			r->phone = i < nph && fs_item(&f, &p[P_PHONES], pone,
			    &pc, &phv) == 0 ? fs_put(&f, &phv, &o) : NULL;
		} else {
			r->sms_id = fs_put(&f, &p[P_SMS_ID], &o);
			r->phone = fs_put(&f, &p[P_PHONE], &o);
		}
	}
	return 1;
 slow:
	free(l->mem);
	memset(l, 0, sizeof(*l));
	return 0;
}

int
ctl_line_parse(struct ctl_line *l, const char *line, size_t len,
    const char **why)
{
	memset(l, 0, sizeof(*l));
	if (parse_fast(l, line, len))
		return 0;
	memset(l, 0, sizeof(*l));
	return parse_slow(l, line, len, why);
}

void
ctl_line_free(struct ctl_line *l)
{
	size_t i;

	if (l->mem != NULL) {
		free(l->mem);		/* rows and every string */
		memset(l, 0, sizeof(*l));
		return;
	}
	for (i = 0; i < l->nrows; i++) {
		free(l->rows[i].sms_id);
		free(l->rows[i].phone);
	}
	free(l->rows);
	free(l->received_at);
	free(l->remote_addr);
	free(l->encoding);
	free(l->payload);
	free(l->event_name);
	free(l->user_id);
	free(l->sms_user);
	free(l->template_id);
	free(l->message);
	memset(l, 0, sizeof(*l));
}

/* v in decimal into buf (21 bytes hold any); returns buf. */
static char *
fmt_ll(long long v, char *buf, size_t bufsz)
{
	char tmp[24];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;
	size_t n = 0, o = 0;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0 && o + 1 < bufsz)
		buf[o++] = '-';
	while (n > 0 && o + 1 < bufsz)
		buf[o++] = tmp[--n];
	buf[o] = '\0';
	return buf;
}

int
ctl_row_int(const struct ctl_line *l, const struct ctl_row *r,
    enum ctl_col col, long long *v)
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
	default:
		return 0;
	}
}

const char *
ctl_row_text(const struct ctl_line *l, const struct ctl_row *r,
    enum ctl_col col, char *buf, size_t bufsz)
{
	switch (col) {
	case COL_EVENT_TYPE:
		if (!r->has_event_type)
			return NULL;
		return fmt_ll(r->event_type, buf, bufsz);
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
	case COL_STATUS_CODE:
		if (!r->has_status_code)
			return NULL;
		return fmt_ll(r->status_code, buf, bufsz);
	case COL_EVENT_TIME:
		if (!l->has_event_time)
			return NULL;
		return fmt_ll(l->event_time, buf, bufsz);
	case COL_RECEIVED_AT:
		return l->received_at;
	case COL_PAYLOAD:
		return l->payload;
	default:
		return NULL;
	}
}
