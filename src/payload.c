/*
 * payload.c: one table of the fields SMSHook sends, with the JSON types
 * each may take. Strict where security depends on it (token, timestamp,
 * signature: present once, right type); lenient elsewhere, because a
 * rejected event is lost once the provider stops retrying. Unknown
 * fields are kept as they are.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "form.h"
#include "json_scan.h"
#include "payload.h"

#define J_STR	0x01
#define J_NUM	0x02
#define J_ARR	0x04
#define J_OBJ	0x08
#define J_NULL	0x10
#define J_BOOL	0x20
#define J_ANY	0x3f

#define F_REQ	0x1	/* must be present */
#define F_ONCE	0x2	/* a form may not repeat it */
#define F_INT	0x4	/* a number or string must be an integer */

enum slot { S_NONE, S_TOKEN, S_TIMESTAMP, S_SIGNATURE, S_EVENT, S_EVENTTYPE,
	S_MAX };

static const struct field {
	const char	*name;
	int		 types;
	int		 flags;
	enum slot	 slot;
} fields[] = {	/* sorted by name for bsearch */
	{ "customArgs",	   J_ANY,		   0,		    S_NONE },
	{ "encodeMessage", J_STR | J_NULL,	   0,		    S_NONE },
	{ "event",	   J_STR | J_NULL,	   F_ONCE,	    S_EVENT },
	{ "eventType",	   J_NUM | J_STR | J_NULL, F_ONCE | F_INT,  S_EVENTTYPE },
	{ "message",	   J_STR | J_NULL,	   0,		    S_NONE },
	{ "msgCount",	   J_NUM | J_STR | J_NULL, 0,		    S_NONE },
	{ "msgType",	   J_NUM | J_STR | J_NULL, 0,		    S_NONE },
	{ "name",	   J_STR | J_NULL,	   0,		    S_NONE },
	{ "outboundTime",  J_STR | J_NULL,	   0,		    S_NONE },
	{ "phone",	   J_STR | J_NUM | J_NULL, 0,		    S_NONE },
	{ "phones",	   J_ARR | J_STR | J_NULL, 0,		    S_NONE },
	{ "receiptTime",   J_STR | J_NULL,	   0,		    S_NONE },
	{ "signature",	   J_STR,		   F_ONCE,	    S_SIGNATURE },
	{ "smsId",	   J_STR | J_NULL,	   0,		    S_NONE },
	{ "smsIds",	   J_ARR | J_STR | J_NULL, 0,		    S_NONE },
	{ "smsUser",	   J_STR | J_NUM | J_NULL, 0,		    S_NONE },
	{ "statusCode",	   J_NUM | J_STR | J_NULL, 0,		    S_NONE },
	{ "templateId",	   J_NUM | J_STR | J_NULL, 0,		    S_NONE },
	{ "timestamp",	   J_NUM,		   F_REQ | F_ONCE | F_INT, S_TIMESTAMP },
	{ "token",	   J_STR,		   F_REQ | F_ONCE,  S_TOKEN },
	{ "userId",	   J_NUM | J_STR | J_NULL, 0,		    S_NONE },
	{ "verfiyComment", J_STR | J_NULL,	   0,		    S_NONE },
	{ "verfiyResult",  J_NUM | J_STR | J_NULL, F_INT,	    S_NONE },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

int
payload_int(const char *s, long long *out)
{
	long long v = 0;
	int neg = *s == '-', n = 0;

	for (s += neg; *s >= '0' && *s <= '9' && n < 18; s++, n++)
		v = v * 10 + (*s - '0');
	if (*s != '\0' || n == 0 || n > 18)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

static int
field_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct field *)elem)->name);
}

static int
jtype(const cJSON *it)
{
	if (cJSON_IsString(it))
		return J_STR;
	if (cJSON_IsNumber(it))
		return J_NUM;
	if (cJSON_IsArray(it))
		return J_ARR;
	if (cJSON_IsObject(it))
		return J_OBJ;
	if (cJSON_IsNull(it))
		return J_NULL;
	return J_BOOL;
}

/* Check one member against its table entry; NULL if fine, else why. */
static const char *
check_field(const struct field *f, const cJSON *it, enum payload_encoding enc)
{
	long long v;
	int t = jtype(it);

	if (enc == PAYLOAD_FORM && t == J_ARR)
		return (f->flags & F_ONCE) ? "field given more than once" : NULL;
	if (enc == PAYLOAD_JSON && !(f->types & t))
		return "wrong type for field";
	if (!(f->flags & F_INT))
		return NULL;
	if (t == J_STR && payload_int(it->valuestring, &v) == -1)
		return "field must be an integer";
	if (f->slot == S_TIMESTAMP)
		return NULL;		/* its text is checked digit by digit */
	if (t == J_NUM && (it->valuedouble != floor(it->valuedouble) ||
	    fabs(it->valuedouble) > 9007199254740992.0))
		return "field must be an integer";
	return NULL;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Duplicate member names make the signed fields ambiguous: refuse them. */
static int
has_duplicate_names(const cJSON *obj)
{
	const cJSON *it;
	const char **names;
	size_t n = 0, i;
	int dup = 0;

	for (it = obj->child; it != NULL; it = it->next)
		n++;
	if (n < 2)
		return 0;
	if ((names = calloc(n, sizeof(*names))) == NULL)
		return 1;
	for (i = 0, it = obj->child; it != NULL; it = it->next)
		names[i++] = it->string;
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 1; i < n && !dup; i++)
		dup = strcmp(names[i - 1], names[i]) == 0;
	free(names);
	return dup;
}

/* Walk the members once, checking each known one; fill slot[]. */
static const char *
check_members(struct event *ev, const cJSON *root, enum payload_encoding enc,
    const cJSON *slot[S_MAX])
{
	const struct field *f;
	const cJSON *it;
	const char *why;
	size_t i;

	for (it = root->child; it != NULL; it = it->next) {
		f = bsearch(it->string, fields, NFIELDS, sizeof(*f), field_cmp);
		if (f == NULL)
			continue;		/* unknown: kept, unchecked */
		if ((why = check_field(f, it, enc)) != NULL) {
			ev->bad_field = f->name;
			return why;
		}
		slot[f->slot] = it;
	}
	for (i = 0; i < NFIELDS; i++)
		if ((fields[i].flags & F_REQ) && slot[fields[i].slot] == NULL)
			return fields[i].slot == S_TOKEN ? "missing token" :
			    "missing timestamp";
	return NULL;
}

/* Take token, signature, timestamp text and event type from the slots. */
static const char *
extract(struct event *ev, const cJSON *slot[S_MAX], const char *ts,
    size_t tslen)
{
	const struct event_def *d = NULL;
	const cJSON *et = slot[S_EVENTTYPE], *en = slot[S_EVENT];
	long long code;

	if (tslen == 0 || tslen >= sizeof(ev->timestamp) ||
	    strspn(ts, "0123456789") < tslen)
		return "timestamp must be an integer (milliseconds)";
	memcpy(ev->timestamp, ts, tslen);
	ev->timestamp[tslen] = '\0';
	if (payload_int(ev->timestamp, &ev->timestamp_ms) == -1)
		return "timestamp must be an integer (milliseconds)";
	if (*slot[S_TOKEN]->valuestring == '\0' ||
	    strlen(slot[S_TOKEN]->valuestring) > TOKEN_MAX)
		return "token must be 1 to 256 bytes";
	if ((ev->token = strdup(slot[S_TOKEN]->valuestring)) == NULL)
		return "out of memory";
	if (slot[S_SIGNATURE] != NULL &&
	    (ev->signature = strdup(slot[S_SIGNATURE]->valuestring)) == NULL)
		return "out of memory";
	if (et != NULL && cJSON_IsNumber(et))
		d = event_by_code((long long)et->valuedouble);
	else if (et != NULL && cJSON_IsString(et) &&
	    payload_int(et->valuestring, &code) == 0)
		d = event_by_code(code);
	else if (en != NULL && cJSON_IsString(en))
		d = event_by_name(en->valuestring);
	ev->event_type = d != NULL ? d->code : 0;
	return NULL;
}

/* JSON: lexical scan and compaction, then cJSON for structure. */
static const char *
parse_json(struct event *ev, const char *body, size_t len)
{
	struct json_scan js = { "timestamp", 0, 0 };
	const cJSON *slot[S_MAX] = { NULL };
	const char *why = NULL;
	cJSON *root = NULL;
	size_t clen;

	if ((ev->payload = malloc(len + 1)) == NULL)
		return "out of memory";
	if (json_scan(body, len, ev->payload, &clen, &js, &why) == -1)
		goto out;
	ev->payload_len = clen;
	if ((root = cJSON_ParseWithLengthOpts(ev->payload, clen + 1, NULL,
	    1)) == NULL) {
		why = "malformed JSON";
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		why = "body must be a JSON object";
		goto out;
	}
	if (root->child == NULL) {
		ev->empty = 1;
		goto out;
	}
	if (has_duplicate_names(root)) {
		why = "duplicate member name";
		goto out;
	}
	if ((why = check_members(ev, root, PAYLOAD_JSON, slot)) != NULL)
		goto out;
	why = extract(ev, slot, ev->payload + js.capture_off, js.capture_len);
 out:
	cJSON_Delete(root);
	return why;
}

/* Form: decode to an object of strings, check, print as the payload. */
static const char *
parse_form(struct event *ev, const char *body, size_t len)
{
	const cJSON *slot[S_MAX] = { NULL };
	const char *why = NULL;
	cJSON *root;

	if ((root = form_parse(body, len, &why)) == NULL)
		return why;
	if (root->child == NULL) {
		ev->empty = 1;
		goto out;
	}
	if ((why = check_members(ev, root, PAYLOAD_FORM, slot)) != NULL)
		goto out;
	if (!cJSON_IsString(slot[S_TIMESTAMP]) ||
	    !cJSON_IsString(slot[S_TOKEN])) {
		why = "field given more than once";
		goto out;
	}
	if ((why = extract(ev, slot, slot[S_TIMESTAMP]->valuestring,
	    strlen(slot[S_TIMESTAMP]->valuestring))) != NULL)
		goto out;
	if ((ev->payload = cJSON_PrintUnformatted(root)) == NULL) {
		why = "out of memory";
		goto out;
	}
	ev->payload_len = strlen(ev->payload);
 out:
	cJSON_Delete(root);
	return why;
}

int
payload_parse(struct event *ev, const char *body, size_t len,
    enum payload_encoding enc, const char **why, const char **field)
{
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->encoding = enc;
	*why = enc == PAYLOAD_JSON ? parse_json(ev, body, len) :
	    parse_form(ev, body, len);
	if (*why == NULL && !ev->empty)
		return 0;
	*field = ev->bad_field;
	rc = ev->empty ? 1 : -1;
	payload_free(ev);
	return rc;
}

void
payload_free(struct event *ev)
{
	free(ev->payload);
	free(ev->token);
	free(ev->signature);
	memset(ev, 0, sizeof(*ev));
}
