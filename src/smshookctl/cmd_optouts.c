/*
 * cmd_optouts.c: smshookctl optouts [--db URL] [--format csv|json]
 * [--word WORD ...]. The phones whose latest reply (an inbound SMS,
 * imported as event type 6) is an unsubscribe word, for honouring
 * opt-outs: the reply trimmed of white space and punctuation must equal
 * one of the words, ASCII letters compared without case.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "csv.h"
#include "ctl.h"
#include "db.h"

#define MAX_WORDS	64

/* The common unsubscribe replies, Chinese and English. */
static const char *const default_words[] = {
	"TD", "T", "N", "STOP", "UNSUBSCRIBE", "QUIT", "CANCEL", "END",
	"\xe9\x80\x80\xe8\xae\xa2",			/* 退订 */
	"\xe9\x80\x80",					/* 退 */
	"\xe5\x8f\x96\xe6\xb6\x88",			/* 取消 */
	"\xe9\x80\x80\xe5\x87\xba",			/* 退出 */
	"TD\xe9\x80\x80\xe8\xae\xa2",			/* TD退订 */
	"\xe9\x80\x80\xe8\xae\xa2TD",			/* 退订TD */
};

struct optouts {
	const char	*words[MAX_WORDS];
	size_t		 nwords;
	int		 json;
	cJSON		*list;		/* --format json: the rows so far */
	unsigned long	 n;
};

static const struct option longopts[] = {
	{ "db",		required_argument,	NULL,	'd' },
	{ "format",	required_argument,	NULL,	'F' },
	{ "word",	required_argument,	NULL,	'w' },
	{ "help",	no_argument,		NULL,	'h' },
	{ NULL,		0,			NULL,	0 }
};

/* The usage text on f. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: smshookctl optouts [--db URL] [--format csv|json] "
	    "[--word WORD ...]\n"
	    "List the phones whose latest reply is an unsubscribe word\n"
	    "(default words: TD, T, N, STOP, UNSUBSCRIBE, QUIT, CANCEL, END,\n"
	    "\xe9\x80\x80\xe8\xae\xa2, \xe9\x80\x80, \xe5\x8f\x96\xe6\xb6\x88, "
	    "\xe9\x80\x80\xe5\x87\xba, TD\xe9\x80\x80\xe8\xae\xa2, "
	    "\xe9\x80\x80\xe8\xae\xa2TD; --word replaces them).\n");
}

/* 1 for bytes trimmed around a reply: ASCII space and punctuation. */
static int
trim_byte(unsigned char c)
{
	return isspace(c) || (ispunct(c) && c < 0x80);
}

/* The wide punctuation trimmed around a reply, as code point ranges. */
static const struct {
	unsigned int	lo, hi;
} wide_punct[] = {
	{ 0x2010, 0x2027 },	/* dashes, quotes, bullets, ellipsis: “”… */
	{ 0x3000, 0x303f },	/* CJK space and punctuation: 。、「」 */
	{ 0xff01, 0xff0f },	/* full-width ASCII punctuation: ！，． */
	{ 0xff1a, 0xff20 },	/* ：；＜＝＞？＠ */
	{ 0xff3b, 0xff40 },	/* ［＼］＾＿｀ */
	{ 0xff5b, 0xff65 },	/* ｛｜｝～ and half-width 。「」、・ */
};

/*
 * 3 if s (n bytes) begins (or with at_end, ends) with a three-byte UTF-8
 * character of wide_punct, else 0.
 */
static size_t
trim_wide(const unsigned char *s, size_t n, int at_end)
{
	const unsigned char *p = at_end ? s + n - 3 : s;
	unsigned int cp;
	size_t i;

	if (n < 3 || (p[0] & 0xf0) != 0xe0 || (p[1] & 0xc0) != 0x80 ||
	    (p[2] & 0xc0) != 0x80)
		return 0;
	cp = (p[0] & 0x0fU) << 12 | (p[1] & 0x3fU) << 6 | (p[2] & 0x3fU);
	for (i = 0; i < sizeof(wide_punct) / sizeof(wide_punct[0]); i++)
		if (cp >= wide_punct[i].lo && cp <= wide_punct[i].hi)
			return 3;
	return 0;
}

/* 1 if text, trimmed, is one of the words. */
static int
matches(const struct optouts *o, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), k, i, w;

	for (;;) {
		if (n > 0 && trim_byte(s[0])) {
			s++;
			n--;
		} else if ((k = trim_wide(s, n, 0)) > 0) {
			s += k;
			n -= k;
		} else if (n > 0 && trim_byte(s[n - 1]))
			n--;
		else if ((k = trim_wide(s, n, 1)) > 0)
			n -= k;
		else
			break;
	}
	for (w = 0; w < o->nwords; w++) {
		if (strlen(o->words[w]) != n)
			continue;
		for (i = 0; i < n && tolower(s[i]) ==
		    tolower((unsigned char)o->words[w][i]); i++)
			;
		if (i == n)
			return 1;
	}
	return 0;
}

/*
 * db_replies' callback: print (or keep) a phone that opted out; a reply
 * without a time (ms NULL) is printed with none.
 */
static int
one(void *arg, const char *phone, const char *text, const long long *ms)
{
	struct optouts *o = arg;
	char stamp[32] = "";
	struct tm tm;
	time_t t;
	cJSON *row;

	if (text == NULL || !matches(o, text))
		return 0;
	if (ms != NULL) {
		t = (time_t)(*ms / 1000 - (*ms % 1000 < 0));
		if (gmtime_r(&t, &tm) == NULL || strftime(stamp,
		    sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			stamp[0] = '\0';
	}
	o->n++;
	if (!o->json) {
		csv_field(phone, CSV_TEXT | CSV_QUOTE);
		putchar(',');
		csv_field(text, CSV_TEXT | CSV_QUOTE);
		printf(",%s\r\n", stamp);
		return 0;
	}
	if ((row = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(row, "phone", phone) == NULL ||
	    cJSON_AddStringToObject(row, "reply", text) == NULL ||
	    (stamp[0] != '\0' ? cJSON_AddStringToObject(row, "replied_at",
	    stamp) : cJSON_AddNullToObject(row, "replied_at")) == NULL ||
	    !cJSON_AddItemToArray(o->list, row)) {
		cJSON_Delete(row);
		return -1;
	}
	return 0;
}

/* smshookctl optouts: see the top of this file. */
int
cmd_optouts(struct ctl *c, int argc, char *argv[])
{
	struct optouts o;
	struct ctl_db *db = NULL;
	const char *url = NULL;
	char *text = NULL;
	size_t i;
	int ch, done, none, rc = CTL_FAIL;

	memset(&o, 0, sizeof(o));
	while ((ch = ctl_getopt(argc, argv, "h", longopts, usage,
	    &done)) != -1) {
		switch (ch) {
		case 'd':
			if (ctl_db_url(optarg) != 0)
				return CTL_USAGE;
			url = optarg;
			break;
		case 'F':
			if (strcmp(optarg, "csv") != 0 &&
			    strcmp(optarg, "json") != 0) {
				ctl_err("format \"%s\": expected csv or json",
				    optarg);
				return CTL_USAGE;
			}
			o.json = optarg[0] == 'j';
			break;
		case 'w':
			if (o.nwords == MAX_WORDS || *optarg == '\0') {
				ctl_err("--word: 1 to %d non-empty words",
				    MAX_WORDS);
				return CTL_USAGE;
			}
			o.words[o.nwords++] = optarg;
			break;
		}
	}
	if (done != -1)
		return done;
	if (ctl_no_operands(argc, argv, usage) != 0)
		return CTL_USAGE;
	if (ctl_conf_ready(c) != CTL_OK ||
	    (url = ctl_db_pick(c, url, "", 0)) == NULL)
		return CTL_FAIL;
	for (i = 0; o.nwords == 0 && i < sizeof(default_words) /
	    sizeof(default_words[0]); i++)
		o.words[i] = default_words[i];
	if (o.nwords == 0)
		o.nwords = i;
	if (o.json && (o.list = cJSON_CreateArray()) == NULL)
		goto oom;
	if ((db = ctl_db_read(c, url, "", &none)) == NULL && !none)
		goto out;		/* none: nothing imported, no replies */
	if (!o.json)
		printf("phone,reply,replied_at\r\n");
	if (db != NULL && db_replies(db, one, &o) == -1) {
		if (o.json && db->err[0] == '\0')
			goto oom;
		ctl_err("%s", db->err);
		goto out;
	}
	if (o.json) {
		if ((text = cJSON_Print(o.list)) == NULL)
			goto oom;
		printf("%s\n", text);
	}
	if (ctl_stdout_flush() == -1)
		goto out;
	rc = CTL_OK;
	goto out;
 oom:
	ctl_err("out of memory");
 out:
	cJSON_free(text);
	cJSON_Delete(o.list);
	db_close(db);
	return rc;
}
