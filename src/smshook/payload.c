/*
 * payload.c: one table of the fields SMSHook sends, with the JSON types
 * each may take and the sizes the importer's databases can hold. Strict
 * where security depends on it (token, timestamp, signature: present
 * once, right type and shape); lenient elsewhere, because a rejected
 * event is lost once the provider stops retrying. Unknown fields are
 * kept as they are.
 *
 * A JSON body is checked on the lexer's spans (json.h), without a tree;
 * a form is decoded to an object (form.c), printed as the payload, and
 * that text checked the same way.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "form.h"
#include "json.h"
#include "payload.h"

#define J_STR	JSON_T(JSON_STRING)
#define J_NUM	JSON_T(JSON_NUMBER)
#define J_ARR	JSON_T(JSON_ARRAY)
#define J_OBJ	JSON_T(JSON_OBJECT)
#define J_NULL	JSON_T(JSON_NULL)
#define J_BOOL	(JSON_T(JSON_TRUE) | JSON_T(JSON_FALSE))
#define J_ANY	(J_STR | J_NUM | J_ARR | J_OBJ | J_NULL | J_BOOL)

#define F_REQ	0x1	/* must be present */
#define F_ONCE	0x2	/* a form may not repeat it */
#define F_INT	0x4	/* a number or string must be an integer */
#define F_LIST	0x8	/* a list: an array, or JSON text of one in a string */

#define TIMESTAMP_DIGITS 13	/* milliseconds since the epoch */

enum slot { S_NONE, S_TOKEN, S_TIMESTAMP, S_SIGNATURE, S_EVENT, S_EVENTTYPE,
	S_MESSAGE, S_REPLY, S_MAX };

/*
 * max: the longest string (or list item) in bytes, 0 for no bound;
 * every bounded field is a column of the import, and PostgreSQL cannot
 * index much more than 2,700 bytes. Lists (F_LIST) hold at most
 * PAYLOAD_LIST_MAX items; as each list item is a row holding the event's
 * message, that is bounded too, so a request costs the database at most
 * a constant times its size. Other arrays (customArgs) are kept in the
 * payload only, bounded by max_body.
 */
static const struct field {
	struct json_name name;
	unsigned	 types;
	int		 flags;
	enum slot	 slot;
	size_t		 max;
} fields[] = {	/* sorted by name for bsearch */
	{ JSON_NAME("customArgs"),    J_ANY, 0, S_NONE, 0 },
	{ JSON_NAME("encodeMessage"), J_STR | J_NULL, 0, S_NONE, 0 },
	{ JSON_NAME("event"),	      J_STR | J_NULL, F_ONCE, S_EVENT, 64 },
	{ JSON_NAME("eventType"),     J_NUM | J_STR | J_NULL, F_ONCE | F_INT,
	    S_EVENTTYPE, 0 },
	{ JSON_NAME("message"),	      J_STR | J_NULL, 0, S_MESSAGE,
	    PAYLOAD_TEXT_MAX },
	{ JSON_NAME("msgCount"),      J_NUM | J_STR | J_NULL, 0, S_NONE, 0 },
	{ JSON_NAME("msgType"),	      J_NUM | J_STR | J_NULL, 0, S_NONE, 0 },
	{ JSON_NAME("name"),	      J_STR | J_NULL, 0, S_NONE, 0 },
	{ JSON_NAME("outboundTime"),  J_STR | J_NULL, 0, S_NONE, 0 },
	{ JSON_NAME("phone"),	      J_STR | J_NUM | J_NULL, 0, S_NONE,
	    PAYLOAD_ID_MAX },
	{ JSON_NAME("phones"),	      J_ARR | J_STR | J_NULL, F_LIST, S_NONE,
	    PAYLOAD_ID_MAX },
	{ JSON_NAME("receiptTime"),   J_STR | J_NULL, 0, S_NONE, 0 },
	{ JSON_NAME("replyContent"),  J_STR | J_NULL, 0, S_REPLY,
	    PAYLOAD_REPLY_MAX },
	{ JSON_NAME("replyTime"),     J_STR | J_NULL, 0, S_NONE, 64 },
	{ JSON_NAME("signature"),     J_STR, F_ONCE, S_SIGNATURE, 0 },
	{ JSON_NAME("smsId"),	      J_STR | J_NULL, 0, S_NONE,
	    PAYLOAD_ID_MAX },
	{ JSON_NAME("smsIds"),	      J_ARR | J_STR | J_NULL, F_LIST, S_NONE,
	    PAYLOAD_ID_MAX },
	{ JSON_NAME("smsUser"),	      J_STR | J_NUM | J_NULL, 0, S_NONE,
	    PAYLOAD_ID_MAX },
	{ JSON_NAME("statusCode"),    J_NUM | J_STR | J_NULL, 0, S_NONE, 0 },
	{ JSON_NAME("templateId"),    J_NUM | J_STR | J_NULL, 0, S_NONE,
	    PAYLOAD_ID_MAX },
	{ JSON_NAME("timestamp"),     J_NUM | J_STR, F_REQ | F_ONCE | F_INT,
	    S_TIMESTAMP, 0 },
	{ JSON_NAME("token"),	      J_STR, F_REQ | F_ONCE, S_TOKEN, 0 },
	{ JSON_NAME("userId"),	      J_NUM | J_STR | J_NULL, 0, S_NONE,
	    PAYLOAD_ID_MAX },
	{ JSON_NAME("verfiyComment"), J_STR | J_NULL, 0, S_NONE, 0 },
	{ JSON_NAME("verfiyResult"),  J_NUM | J_STR | J_NULL, F_INT, S_NONE,
	    0 },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* The one out-of-memory reason: refuse() tells it apart by address. */
static const char nomem[] = "out of memory";

/* One body being checked: its text, the spans of the table's fields. */
struct check {
	const char		*text;
	enum line_encoding	 enc;
	struct json_span	 sp[NFIELDS];
	const struct json_span	*slot[S_MAX];
};

/* The field names in table order, for the lexer. */
static const struct json_name *
field_names(void)
{
	static struct json_name names[NFIELDS];
	size_t i;

	if (names[0].s == NULL)
		for (i = 0; i < NFIELDS; i++)
			names[i] = fields[i].name;
	return names;
}

/*
 * The text of string span sp of c, unescaped into a new string (NULL if
 * out of memory); its length in *n.
 */
static char *
string_of(const struct check *c, const struct json_span *sp, size_t *n)
{
	char *s;

	if ((s = malloc(sp->len)) == NULL)
		return NULL;
	*n = json_unescape(c->text, sp, s);
	return s;
}

/* 1 if sp is null, or the empty string a form writes for one. */
static int
nullish(const struct json_span *sp)
{
	return sp->type == JSON_NULL || (sp->type == JSON_STRING &&
	    sp->len == 2);
}

/* Check one scalar (a field's value or a list item); NULL or why. */
static const char *
check_scalar(const struct check *c, const struct field *f,
    const struct json_span *sp)
{
	long long v;
	size_t n;
	char *s;
	int bad;

	if (nullish(sp) && !(f->flags & F_REQ))
		return NULL;
	if (sp->type == JSON_STRING && !sp->esc) {	/* the usual case */
		n = sp->len - 2;
		if ((f->flags & F_INT) &&
		    json_int(c->text + sp->off + 1, n, &v) == -1)
			return "field must be an integer";
		if (f->max > 0 && n > f->max)
			return "field too long";
		return NULL;
	}
	if (sp->type == JSON_STRING) {
		if ((s = string_of(c, sp, &n)) == NULL)
			return nomem;
		bad = (f->flags & F_INT) && json_int(s, n, &v) == -1;
		free(s);
		if (bad)
			return "field must be an integer";
		if (f->max > 0 && n > f->max)
			return "field too long";
		return NULL;
	}
	if (sp->type == JSON_NUMBER) {
		/* on the number's text, as the importer's int_of decides */
		if ((f->flags & F_INT) && f->slot != S_TIMESTAMP &&
		    json_exact(c->text + sp->off, sp->len, &v) != 0)
			return "field must be an integer";
		if (f->max > 0 && sp->len > f->max)
			return "field too long";
	}
	return NULL;
}

/*
 * Check each item of array span arr (a list, or the values of a name a
 * form repeats, or any other array f may be) as one value of f; only a
 * list (F_LIST) is bounded in items. NULL or why.
 */
static const char *
check_items(const struct check *c, const struct field *f,
    const struct json_span *arr)
{
	struct json_span it;
	const char *why;
	size_t cur = arr->off, n = 0;

	while (json_next(c->text, arr, &cur, &it)) {
		if ((f->flags & F_LIST) && ++n > PAYLOAD_LIST_MAX)
			return "list too long";
		if (it.type != JSON_STRING && it.type != JSON_NUMBER)
			continue;	/* kept: a row without that value */
		if ((why = check_scalar(c, f, &it)) != NULL)
			return why;
	}
	return NULL;
}

/*
 * Lex s[0..n), within the body's bounds or not: 1 if it is JSON text of
 * an array, 0 if not (*why says why), -1 if out of memory.
 */
static int
lex_array(const char *s, size_t n, int bounded, const char **why)
{
	struct json_lex jl;

	memset(&jl, 0, sizeof(jl));
	jl.bounded = bounded;
	if (json_lex(s, n, &jl, why) == 0)
		return jl.root == JSON_ARRAY;
	return jl.fault == JSON_FAULT_NOMEM ? -1 : 0;
}

/*
 * 1 if string s[0..n) is JSON text of a list within the body's bounds;
 * 0 if it is no list at all (as the importer reads it: one item); -1
 * with *why, out of memory or the bound the list's text breaks.
 */
static int
list_text(const char *s, size_t n, const char **why)
{
	const char *unbounded;
	int rc;

	if (s[strspn(s, " \t")] != '[')
		return 0;
	if ((rc = lex_array(s, n, 1, why)) == 1)
		return 1;
	if (rc == 0 && (rc = lex_array(s, n, 0, &unbounded)) == 0)
		return 0;		/* not JSON text, bounded or not */
	if (rc == -1)
		*why = nomem;
	return -1;	/* else a list only unbounded: *why names the bound */
}

/*
 * A list sent as JSON text inside a string (a form's, or a provider's
 * JSON encoder): its items are bounded like an array's. A string that
 * is not such text is one item.
 */
static const char *
check_list_text(const struct check *c, const struct field *f,
    const struct json_span *sp)
{
	struct check inner;
	const char *why = NULL;
	size_t n;
	char *s;
	int is;

	if ((s = string_of(c, sp, &n)) == NULL)
		return nomem;
	if ((is = list_text(s, n, &why)) != 1) {
		if (is == 0)
			why = f->max > 0 && n > f->max ? "field too long" :
			    NULL;
		goto out;
	}
	memset(&inner, 0, sizeof(inner));
	inner.text = s;
	inner.enc = c->enc;
	inner.sp[0].type = JSON_ARRAY;
	inner.sp[0].off = strspn(s, " \t\r\n");
	inner.sp[0].len = n - inner.sp[0].off;
	while (inner.sp[0].len > 0 && strchr(" \t\r\n",
	    s[inner.sp[0].off + inner.sp[0].len - 1]) != NULL)
		inner.sp[0].len--;
	why = check_items(&inner, f, &inner.sp[0]);
 out:
	free(s);
	return why;
}

/* Check field f's span sp against its table entry; NULL or why. */
static const char *
check_field(const struct check *c, const struct field *f,
    const struct json_span *sp)
{
	if (c->enc == LINE_FORM && sp->type == JSON_ARRAY) {
		if (f->flags & F_ONCE)
			return "field given more than once";
		return check_items(c, f, sp);	/* a repeated name */
	}
	if (!(f->types & JSON_T(sp->type)))
		return "wrong type for field";
	if (sp->type == JSON_ARRAY)
		return check_items(c, f, sp);
	if ((f->flags & F_LIST) && sp->type == JSON_STRING)
		return check_list_text(c, f, sp);
	return check_scalar(c, f, sp);
}

/*
 * The signed timestamp: exactly 13 decimal digits, the first not 0, as
 * a JSON number or as the text of a string (no escapes). With no
 * separator between the signed timestamp and token, only one shape may
 * be valid, or digits could move from one to the other.
 */
static const char *
take_timestamp(struct event *ev, const struct check *c)
{
	const struct json_span *sp = c->slot[S_TIMESTAMP];
	const char *s = c->text + sp->off;
	size_t n = sp->len, i;

	if (sp->type == JSON_STRING) {
		if (sp->esc)
			n = 0;
		else {
			s++;
			n -= 2;
		}
	}
	if (n != TIMESTAMP_DIGITS || s[0] == '0')
		return "timestamp must be 13 digits (milliseconds)";
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return "timestamp must be 13 digits (milliseconds)";
	memcpy(ev->timestamp, s, n);
	ev->timestamp[n] = '\0';
	if (json_int(ev->timestamp, n, &ev->timestamp_ms) == -1)
		return "timestamp must be 13 digits (milliseconds)";
	return NULL;
}

/*
 * Take token, signature, timestamp text and event type from c; NULL, or
 * why (nomem, or what is wrong with the token or timestamp).
 */
static const char *
extract(struct event *ev, const struct check *c)
{
	const struct event_def *d = NULL;
	const struct json_span *et = c->slot[S_EVENTTYPE],
	    *en = c->slot[S_EVENT];
	const char *why;
	long long code;
	size_t n;
	char *s;
	int rc;

	if ((why = take_timestamp(ev, c)) != NULL)
		return why;
	if ((ev->token = string_of(c, c->slot[S_TOKEN], &n)) == NULL)
		return nomem;
	if (n == 0 || n > EVENT_TOKEN_MAX || strlen(ev->token) != n)
		return "token must be 1 to 256 bytes";
	if (c->slot[S_SIGNATURE] != NULL && (ev->signature = string_of(c,
	    c->slot[S_SIGNATURE], &n)) == NULL)
		return nomem;
	if (et != NULL && !nullish(et)) {
		if (et->type == JSON_NUMBER)	/* plain digits, or 2e1 */
			rc = json_exact(c->text + et->off, et->len, &code);
		else if ((s = string_of(c, et, &n)) != NULL) {
			rc = json_int(s, n, &code);
			free(s);
		} else
			return nomem;
		if (rc == 0)
			d = event_by_code(code);
	} else if (en != NULL && en->type == JSON_STRING) {
		if ((s = string_of(c, en, &n)) == NULL)
			return nomem;
		d = event_by_name(s);
		free(s);
	}
	ev->event_type = d != NULL ? d->code : 0;
	return NULL;
}

/*
 * Fill err with why, a fault of kind f blaming field, or, when why is
 * nomem, PAYLOAD_NOMEM blaming no field; returns -1.
 */
static int
refuse(struct payload_error *err, enum payload_fault f, const char *why,
    const char *field)
{
	err->fault = why == nomem ? PAYLOAD_NOMEM : f;
	err->why = why;
	err->field = why == nomem ? NULL : field;
	return -1;
}

/*
 * Lex text (compacting it into ev->payload when it is the body) and
 * check every known field; fills c. 0, or -1 with err filled.
 */
static int
check_text(struct event *ev, struct check *c, const char *text, size_t len,
    char *compact, struct payload_error *err)
{
	static const enum payload_fault lex_fault[] = {
		[JSON_FAULT_SYNTAX] = PAYLOAD_SYNTAX,
		[JSON_FAULT_DUPLICATE] = PAYLOAD_FIELD,
		[JSON_FAULT_NOMEM] = PAYLOAD_NOMEM,
	};
	struct json_lex jl;
	const char *why = NULL;
	size_t i;

	memset(&jl, 0, sizeof(jl));
	jl.top_names = field_names();
	jl.ntop = NFIELDS;
	jl.top = c->sp;
	jl.wrapped = 1;		/* the spool line's envelope: see line.c */
	jl.compact = compact;
	jl.bounded = 1;
	if (json_lex(text, len, &jl, &why) == -1)
		return refuse(err, lex_fault[jl.fault], why, NULL);
	if (compact != NULL)
		ev->payload_len = jl.compact_len;
	if (jl.root != JSON_OBJECT)
		return refuse(err, PAYLOAD_SYNTAX, jl.root == JSON_NONE ?
		    "malformed JSON" : "body must be a JSON object", NULL);
	if (jl.root_members == 0) {
		ev->empty = 1;
		return 0;
	}
	c->text = text;		/* spans are the input's, not the copy's */
	for (i = 0; i < NFIELDS; i++) {
		if (c->sp[i].type == JSON_NONE) {
			if (fields[i].flags & F_REQ)
				return refuse(err, PAYLOAD_SIGNED,
				    fields[i].slot == S_TOKEN ?
				    "missing token" : "missing timestamp",
				    NULL);
			continue;
		}
		if ((why = check_field(c, &fields[i], &c->sp[i])) != NULL)
			return refuse(err, PAYLOAD_FIELD, why,
			    fields[i].name.s);
		c->slot[fields[i].slot] = &c->sp[i];
	}
	return 0;
}

/*
 * A reply's row is keyed on its text: replyContent if that is a string,
 * else its message, which must then be as short as replyContent must be.
 * NULL or why.
 */
static const char *
check_reply_text(const struct check *c)
{
	/* the table's message, with replyContent's bound */
	static const struct field as_text = { JSON_NAME("message"),
	    J_STR | J_NULL, 0, S_MESSAGE, PAYLOAD_REPLY_MAX };
	const struct json_span *reply = c->slot[S_REPLY];

	if (c->slot[S_MESSAGE] == NULL ||
	    (reply != NULL && reply->type == JSON_STRING))
		return NULL;
	return check_field(c, &as_text, c->slot[S_MESSAGE]);
}

/* The checked text's event (extract), unless it was empty; 0 or -1. */
static int
finish(struct event *ev, const struct check *c, struct payload_error *err)
{
	const char *why;

	if (ev->empty)
		return 0;
	if ((why = extract(ev, c)) != NULL)
		return refuse(err, PAYLOAD_SIGNED, why, NULL);
	if (ev->event_type == EVENT_REPLY &&
	    (why = check_reply_text(c)) != NULL)
		return refuse(err, PAYLOAD_FIELD, why, "message");
	return 0;
}

/* JSON: the body itself, compacted into the payload; 0 or -1. */
static int
parse_json(struct event *ev, const char *body, size_t len,
    struct payload_error *err)
{
	struct check c;

	memset(&c, 0, sizeof(c));
	c.enc = LINE_JSON;
	if ((ev->payload = malloc(len + 1)) == NULL)
		return refuse(err, PAYLOAD_NOMEM, nomem, NULL);
	if (check_text(ev, &c, body, len, ev->payload, err) == -1)
		return -1;
	return finish(ev, &c, err);
}

/* Form: decode to an object of strings, print it, check that text. */
static int
parse_form(struct event *ev, const char *body, size_t len,
    struct payload_error *err)
{
	struct check c;
	const char *why = NULL;
	cJSON *root;

	memset(&c, 0, sizeof(c));
	c.enc = LINE_FORM;
	if ((root = form_parse(body, len, &why)) == NULL)
		return refuse(err, PAYLOAD_SYNTAX, why != NULL ? why : nomem,
		    NULL);
	ev->payload = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (ev->payload == NULL)
		return refuse(err, PAYLOAD_NOMEM, nomem, NULL);
	ev->payload_len = strlen(ev->payload);
	if (check_text(ev, &c, ev->payload, ev->payload_len, NULL,
	    err) == -1)
		return -1;
	return finish(ev, &c, err);
}

int
payload_parse(struct event *ev, const char *body, size_t len,
    enum line_encoding enc, struct payload_error *err)
{
	int rc;

	memset(ev, 0, sizeof(*ev));
	memset(err, 0, sizeof(*err));
	ev->encoding = enc;
	rc = enc == LINE_JSON ? parse_json(ev, body, len, err) :
	    parse_form(ev, body, len, err);
	if (rc == 0 && !ev->empty)
		return 0;
	rc = rc == 0 ? 1 : -1;
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
