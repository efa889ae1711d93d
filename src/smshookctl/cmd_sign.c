/*
 * cmd_sign.c: smshookctl sign: print a correctly signed sample event, as
 * SendCloud would POST it, to test a deployment end to end with curl.
 * The samples use the example values of the provider's documentation,
 * field for field; the signature comes from verify.c, the same code that
 * checks it.
 */
#include <sys/time.h>

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "ctl.h"
#include "event.h"
#include "json.h"
#include "utf8.h"
#include "verify.h"

#define TOKEN_LEN	50
#define SMS_ID_MAX	256	/* --sms-id: bytes, at most */
#define TS_DIGITS	13	/* --timestamp: milliseconds since 1970 */

/*
 * One sample per event type: everything but timestamp, token, signature.
 * The message id of each sample is made fresh (or given with --sms-id),
 * so that test events do not collapse into one row on import.
 */
static const struct sample {
	int		 code;		/* normalised eventType */
	const char	*fields;	/* JSON object text */
} samples[] = {
	{ 1, "{\"message\":\"request\",\"userId\":19999,\"smsUser\":\"App\","
	    "\"smsIds\":[\"ID\"],"
	    "\"templateId\":29999,\"phones\":[\"13888888888\"],"
	    "\"customArgs\":{}}" },
	{ 20, "{\"message\":\"deliver\","
	    "\"smsId\":\"ID\","
	    "\"phone\":\"13888888888\",\"userId\":19999,\"smsUser\":\"App\","
	    "\"templateId\":29999,\"outboundTime\":\"2022-05-10 01:29:31\","
	    "\"receiptTime\":\"2022-05-10 01:29:34\",\"msgCount\":1,"
	    "\"customArgs\":{}}" },
	{ 4, "{\"smsId\":\"ID\","
	    "\"phone\":\"13888888888\",\"userId\":19999,\"smsUser\":\"App\","
	    "\"templateId\":29999,\"message\":\"workererror\","
	    "\"encodeMessage\":\"5L2g5aW9\",\"statusCode\":430,"
	    "\"outboundTime\":\"2022-05-10 01:29:31\",\"customArgs\":{}}" },
	{ 5, "{\"smsId\":\"ID\","
	    "\"phone\":\"13888888888\",\"userId\":19999,\"smsUser\":\"App\","
	    "\"templateId\":29999,\"message\":\"delivererror\","
	    "\"encodeMessage\":\"5L2g5aW9\",\"statusCode\":500,"
	    "\"outboundTime\":\"2022-05-10 01:29:31\","
	    "\"receiptTime\":\"2022-05-10 01:29:40\",\"msgCount\":1,"
	    "\"customArgs\":{}}" },
	{ 8, "{\"userId\":19999,\"templateId\":29999,\"name\":\"verify code\","
	    "\"verfiyResult\":1,\"verfiyComment\":\"approved\"}" },
	{ 6, "{\"phone\":\"13888888888\",\"userId\":19999,\"smsUser\":\"App\","
	    "\"replyContent\":\"TD\",\"encodeReplyContent\":\"VEQ=\","
	    "\"replyTime\":\"NOW\"}" },
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

static const struct option longopts[] = {
	{ "event",	required_argument,	NULL,	'e' },
	{ "form",	no_argument,		NULL,	'f' },
	{ "key",	required_argument,	NULL,	'k' },
	{ "token",	required_argument,	NULL,	't' },
	{ "sms-id",	required_argument,	NULL,	'i' },
	{ "timestamp",	required_argument,	NULL,	'T' },
	{ "help",	no_argument,		NULL,	'h' },
	{ NULL,		0,			NULL,	0 }
};

/* The usage text on f. */
static void
usage(FILE *f)
{
	const struct event_def *d;

	fprintf(f, "usage: smshookctl sign [--event NAME] [--form] [-k KEY] "
	    "[--token T]\n"
	    "                       [--timestamp MS] [--sms-id ID]\n"
	    "  --event NAME    event type (default delivered):\n"
	    "                 ");
	for (d = event_defs; d->code != 0; d++)
		fprintf(f, " %s", d->slug);
	fprintf(f, ",\n"
	    "                  or the provider's name or code\n"
	    "  --form          urlencoded form body instead of JSON\n"
	    "  -k, --key KEY   sign with KEY (default: the config's first "
	    "app_key)\n"
	    "  --token T       use token T (default: 50 random characters)\n"
	    "  --sms-id ID     use message id ID (default: a new one)\n"
	    "  --timestamp MS  use this timestamp (default: now, in ms)\n");
}

/* The event type named by s (name, slug or code), or NULL. */
static const struct event_def *
find_event(const char *s)
{
	long long code;

	if (json_int(s, strlen(s), &code) == 0)
		return event_by_code(code);
	return event_by_name(s);
}

/* 1 if d's sample names a message (its "ID" placeholder), else 0. */
static int
names_message(const struct event_def *d)
{
	size_t i;

	for (i = 0; i < NSAMPLES; i++)
		if (samples[i].code == d->code)
			return strstr(samples[i].fields, "\"ID\"") != NULL;
	return 0;
}

/* Fill out with n random alphanumerics and a NUL; -1 if RAND_bytes fails. */
static int
random_token(char *out, size_t n)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char buf[64];
	size_t i, got = 0;

	while (got < n) {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			return -1;
		/* 62 * 4 = 248: reject the top bytes so every char is equal */
		for (i = 0; i < sizeof(buf) && got < n; i++)
			if (buf[i] < 248)
				out[got++] = alnum[buf[i] % 62];
	}
	out[n] = '\0';
	return 0;
}

/* Append s percent-encoded (RFC 3986 unreserved kept) to f. */
static void
put_escaped(FILE *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			fputc(*p, f);
		else
			fprintf(f, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
}

/*
 * Write ev as an urlencoded form to f: strings as themselves, numbers as
 * their JSON text, lists and objects as JSON text; a final newline only
 * for a terminal. -1 on allocation failure.
 */
static int
put_form(FILE *f, const cJSON *ev)
{
	const cJSON *it;
	char *text;
	int first = 1;

	cJSON_ArrayForEach(it, ev) {
		if (cJSON_IsString(it))
			text = NULL;
		else if ((text = cJSON_PrintUnformatted(it)) == NULL)
			return -1;
		if (!first)
			fputc('&', f);
		first = 0;
		put_escaped(f, it->string);
		fputc('=', f);
		put_escaped(f, text != NULL ? text : it->valuestring);
		cJSON_free(text);
	}
	/* no '\n' into a pipe: curl --data-binary @- would send it */
	if (isatty(fileno(f)))
		fputc('\n', f);
	return 0;
}

/* The key to sign with: -k's, else the config's first app_key. */
static int
pick_key(struct ctl *ctl, const char *opt_k, struct conf_key *key)
{
	char err[512];

	if (opt_k != NULL) {
		key->data = (unsigned char *)(uintptr_t)opt_k;
		key->len = strlen(opt_k);
		return 0;
	}
	if (conf_parse(&ctl->conf, ctl->confpath, err, sizeof(err)) == -1) {
		ctl_err("%s", err);
		return -1;
	}
	if (ctl->conf.nkeys == 0) {
		ctl_err("%s has no app_key; give one with -k", ctl->confpath);
		return -1;
	}
	*key = ctl->conf.keys[0];
	return 0;
}

/*
 * Put the sample's placeholders: "ID" (a message id, also the item of a
 * list) becomes id, "NOW" the time of ms in the provider's UTC+8.
 */
static int
fill_sample(cJSON *fields, const char *id, long long ms)
{
	char now[32];
	struct tm tm;
	time_t t = (time_t)(ms / 1000) + 8 * 3600;
	cJSON *it, *x;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S", &tm);
	cJSON_ArrayForEach(it, fields) {
		x = cJSON_IsArray(it) ? it->child : it;
		if (!cJSON_IsString(x))
			continue;
		/* a placeholder once: an id of "NOW" stays itself */
		if (strcmp(x->valuestring, "ID") == 0) {
			if (cJSON_SetValuestring(x, id) == NULL)
				return -1;
		} else if (strcmp(x->valuestring, "NOW") == 0 &&
		    cJSON_SetValuestring(x, now) == NULL)
			return -1;
	}
	return 0;
}

/* Build the signed event object for d; NULL on failure. */
static cJSON *
build_event(const struct event_def *d, struct verifier *v, const char *ts,
    const char *token, const char *id)
{
	char sig[VERIFY_HEX_LEN + 1];
	cJSON *ev = NULL, *fields = NULL, *it;
	long long ms;
	size_t i;

	for (i = 0; i < NSAMPLES; i++)
		if (samples[i].code == d->code)
			break;
	if (i == NSAMPLES || verify_sign(v, 0, ts, token, sig) == -1 ||
	    json_int(ts, strlen(ts), &ms) == -1 ||
	    (fields = cJSON_Parse(samples[i].fields)) == NULL ||
	    fill_sample(fields, id, ms) == -1 ||
	    (ev = cJSON_CreateObject()) == NULL)
		goto fail;
	/* a reply has only the older documentation's name: send that */
	if (cJSON_AddStringToObject(ev, "event", d->code == EVENT_REPLY ?
	    d->old_name : d->name) == NULL ||
	    cJSON_AddNumberToObject(ev, "eventType", d->code) == NULL)
		goto fail;
	while ((it = fields->child) != NULL) {
		cJSON_DetachItemViaPointer(fields, it);
		if (!cJSON_AddItemToObject(ev, it->string, it)) {
			cJSON_Delete(it);	/* held by neither now */
			goto fail;
		}
	}
	/* the timestamp text must stay exactly what was signed */
	if (cJSON_AddRawToObject(ev, "timestamp", ts) == NULL ||
	    cJSON_AddStringToObject(ev, "token", token) == NULL ||
	    cJSON_AddStringToObject(ev, "signature", sig) == NULL)
		goto fail;
	cJSON_Delete(fields);
	return ev;
 fail:
	cJSON_Delete(fields);
	cJSON_Delete(ev);
	return NULL;
}

/* smshookctl sign: print one signed sample event on stdout. */
int
cmd_sign(struct ctl *ctl, int argc, char *argv[])
{
	const struct event_def *d;
	struct verifier *v = NULL;
	struct conf_key key;
	struct timeval tv;
	const char *opt_k = NULL, *opt_event = "delivered", *opt_token = NULL;
	const char *opt_ts = NULL, *opt_id = NULL;
	char token[TOKEN_LEN + 1], ts[32], id[96], rnd[7];
	cJSON *ev = NULL;
	char *text = NULL;
	long long ms;
	int ch, form = 0, rc = CTL_FAIL, done;

	while ((ch = ctl_getopt(argc, argv, "hk:", longopts, usage,
	    &done)) != -1) {
		switch (ch) {
		case 'e':
			opt_event = optarg;
			break;
		case 'f':
			form = 1;
			break;
		case 'k':
			opt_k = optarg;
			break;
		case 't':
			opt_token = optarg;
			break;
		case 'T':
			opt_ts = optarg;
			break;
		case 'i':
			opt_id = optarg;
			break;
		}
	}
	if (done != -1)
		return done;
	if (ctl_no_operands(argc, argv, usage) != 0)
		return CTL_USAGE;
	if ((d = find_event(opt_event)) == NULL) {
		ctl_err("unknown event \"%s\"", opt_event);
		usage(stderr);
		return CTL_USAGE;
	}
	/* what the receiver would refuse is a usage error here */
	if (opt_token != NULL && (*opt_token == '\0' ||
	    strlen(opt_token) > EVENT_TOKEN_MAX ||
	    !utf8_valid(opt_token, strlen(opt_token)))) {
		ctl_err("token must be 1 to %d bytes of UTF-8 text",
		    EVENT_TOKEN_MAX);
		return CTL_USAGE;
	}
	if (opt_ts != NULL && (json_int(opt_ts, strlen(opt_ts), &ms) == -1 ||
	    strlen(opt_ts) != TS_DIGITS || *opt_ts < '1' || *opt_ts > '9')) {
		ctl_err("timestamp must be %d digits of milliseconds",
		    TS_DIGITS);
		return CTL_USAGE;
	}
	if (opt_k != NULL && *opt_k == '\0') {
		ctl_err("empty key");
		return CTL_USAGE;
	}
	if (opt_id != NULL && (*opt_id == '\0' ||
	    strlen(opt_id) > SMS_ID_MAX || !utf8_valid(opt_id,
	    strlen(opt_id)))) {
		ctl_err("--sms-id must be 1 to %d bytes of UTF-8 text",
		    SMS_ID_MAX);
		return CTL_USAGE;
	}
	if (opt_id != NULL && !names_message(d)) {
		ctl_err("--sms-id: a %s event names no message", d->slug);
		return CTL_USAGE;
	}
	if (pick_key(ctl, opt_k, &key) == -1)
		goto out;
	if (opt_token == NULL && random_token(token, TOKEN_LEN) == -1) {
		ctl_err("no random bytes");
		goto out;
	}
	if (opt_ts == NULL) {
		gettimeofday(&tv, NULL);
		ms = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	}
	/* canonical digits: valid JSON, and exactly the text signed */
	snprintf(ts, sizeof(ts), "%lld", ms);
	/* a fresh id in the provider's shape: ms_user_..._random$phone */
	if (random_token(rnd, sizeof(rnd) - 1) == -1) {
		ctl_err("no random bytes");
		goto out;
	}
	snprintf(id, sizeof(id), "%s_19999_376_4631_%s$13888888888", ts, rnd);
	if ((v = verify_new(&key, 1)) == NULL ||
	    (ev = build_event(d, v, ts, opt_token ? opt_token : token,
	    opt_id ? opt_id : id)) == NULL) {
		ctl_err("cannot build the event");
		goto out;
	}
	if (form ? put_form(stdout, ev) == -1 :
	    (text = cJSON_PrintUnformatted(ev)) == NULL) {
		ctl_err("out of memory");
		goto out;
	}
	if (!form)
		printf("%s\n", text);
	if (ctl_stdout_flush() == -1)
		goto out;
	rc = CTL_OK;
 out:
	cJSON_free(text);
	cJSON_Delete(ev);
	verify_free(v);
	return rc;
}
