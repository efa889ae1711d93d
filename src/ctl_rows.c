/*
 * ctl_rows.c: see ctl_rows.h. cJSON reads the line for the values; the
 * payload's text is cut out of the line itself so that its numbers and
 * member order reach the database exactly as the provider sent them.
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

int
ctl_line_parse(struct ctl_line *l, const char *line, size_t len,
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
	size_t slen;

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
	if ((o = cJSON_ParseWithLength(line, len)) == NULL) {
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

void
ctl_line_free(struct ctl_line *l)
{
	size_t i;

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

const char *
ctl_row_text(const struct ctl_line *l, const struct ctl_row *r,
    enum ctl_col col, char *buf, size_t bufsz)
{
	switch (col) {
	case COL_EVENT_TYPE:
		if (!r->has_event_type)
			return NULL;
		snprintf(buf, bufsz, "%lld", r->event_type);
		return buf;
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
		snprintf(buf, bufsz, "%lld", r->status_code);
		return buf;
	case COL_EVENT_TIME:
		if (!l->has_event_time)
			return NULL;
		snprintf(buf, bufsz, "%lld", l->event_time);
		return buf;
	case COL_RECEIVED_AT:
		return l->received_at;
	case COL_PAYLOAD:
		return l->payload;
	default:
		return NULL;
	}
}
