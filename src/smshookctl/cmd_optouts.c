/*
 * cmd_optouts.c: smshookctl optouts [--db URL] [--format csv|json]
 * [--word WORD ...]. The phones whose latest reply (an inbound SMS,
 * imported as event type 6) is an unsubscribe word, for honouring
 * opt-outs: the reply trimmed of white space, punctuation and symbols
 * (emoji) must equal one of the words, full-width letters as ASCII ones
 * and ASCII letters compared without case. A reply that is nothing but
 * those (a "?", an emoji) says neither: the one before it decides.
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
	char		*folded[MAX_WORDS];	/* each word folded, once */
	size_t		 nwords;
	int		 json;
	cJSON		*list;		/* --format json: the rows so far */
	unsigned long	 n;
	char		*decided;	/* the phone its latest reply decided */
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

/*
 * The characters trimmed around a reply, as code point ranges: white
 * space, punctuation and symbols, ASCII and wide (emoji among them):
 * whole Unicode blocks of them, so that no space, mark or symbol of a
 * block is left to count as a word.
 */
static const struct {
	unsigned int	lo, hi;
} trimmed[] = {
	{ 0x00, 0x2f }, { 0x3a, 0x40 }, { 0x5b, 0x60 }, { 0x7b, 0x7f },
	{ 0x80, 0xbf },		/* controls, no-break space, ¡ « · » ¿ ² */
	{ 0xd7, 0xd7 }, { 0xf7, 0xf7 },		/* × ÷ */
	{ 0x115f, 0x1160 },	/* Hangul fillers, blank */
	{ 0x1680, 0x1680 },	/* Ogham space mark */
	{ 0x2000, 0x2bff },	/* spaces, punctuation “”…‼, super- and
				 * subscripts, currency, letterlike ™,
				 * arrows, maths, shapes, symbols ☺ ✔ ⭐ */
	{ 0x2e00, 0x2e7f },	/* supplemental punctuation */
	{ 0x3000, 0x303f },	/* CJK space and punctuation: 。、「」 */
	{ 0x3164, 0x3164 },	/* Hangul filler */
	{ 0x3200, 0x32ff },	/* enclosed CJK: ㊙ ㊗ */
	{ 0xfe00, 0xfe1f },	/* variation selectors, vertical forms */
	{ 0xfe30, 0xfe6f },	/* CJK compatibility and small forms */
	{ 0xfeff, 0xfeff },	/* byte order mark */
	{ 0xff01, 0xff0f },	/* full-width ASCII punctuation: ！，． */
	{ 0xff1a, 0xff20 },	/* ：；＜＝＞？＠ */
	{ 0xff3b, 0xff40 },	/* ［＼］＾＿｀ */
	{ 0xff5b, 0xff65 },	/* ｛｜｝～ and half-width 。「」、・ */
	{ 0xffa0, 0xffa0 },	/* half-width Hangul filler */
	{ 0xffe0, 0xffef },	/* full-width ￠￡￥ and half-width symbols */
	{ 0x1f000, 0x1faff },	/* emoji and pictographs */
	{ 0xe0000, 0xe007f },	/* tags (flags of regions) */
};

/*
 * The character of UTF-8 text s (n > 0 bytes) that starts at s, or with
 * at_end ends at s + n: its code point in *cp and its length. The text
 * is valid UTF-8 (the receiver let no other in).
 */
static size_t
char_at(const unsigned char *s, size_t n, int at_end, unsigned int *cp)
{
	size_t k = 1, i;

	if (at_end)
		while (k < n && k < 4 && (s[n - k] & 0xc0) == 0x80)
			k++;
	s += at_end ? n - k : 0;
	if (!at_end)
		k = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (k > n)
		k = n;
	*cp = k == 1 ? s[0] : s[0] & (0x7fU >> k);
	for (i = 1; i < k; i++)
		*cp = *cp << 6 | (s[i] & 0x3fU);
	return k;
}

/* 1 if code point cp is trimmed around a reply. */
static int
is_trimmed(unsigned int cp)
{
	size_t i;

	for (i = 0; i < sizeof(trimmed) / sizeof(trimmed[0]); i++)
		if (cp >= trimmed[i].lo && cp <= trimmed[i].hi)
			return 1;
	return 0;
}

/*
 * Text s (n bytes) folded into out (n + 1 bytes or more): full-width
 * letters and digits (U+FF10 to U+FF5E) as their ASCII ones, ASCII
 * letters in lower case; its length.
 */
static size_t
fold(const unsigned char *s, size_t n, char *out)
{
	unsigned int cp;
	size_t k, o = 0;

	for (; n > 0; s += k, n -= k) {
		k = char_at(s, n, 0, &cp);
		if (k == 3 && cp >= 0xff10 && cp <= 0xff5e)
			out[o++] = (char)tolower((int)(cp - 0xfee0));
		else if (k == 1)
			out[o++] = (char)tolower(s[0]);
		else {
			memcpy(out + o, s, k);
			o += k;
		}
	}
	out[o] = '\0';
	return o;
}

/*
 * 1 if text, trimmed and folded, is one of o's words (folded at start); 0
 * if not; -1 if nothing is left of it (it says neither); -2 out of
 * memory.
 */
static int
matches(const struct optouts *o, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), k, w;
	unsigned int cp;
	char *a;
	int rc = 0;

	while (n > 0 && is_trimmed((k = char_at(s, n, 0, &cp), cp))) {
		s += k;
		n -= k;
	}
	while (n > 0 && is_trimmed((k = char_at(s, n, 1, &cp), cp)))
		n -= k;
	if (n == 0)
		return -1;
	if ((a = malloc(n + 1)) == NULL)
		return -2;
	n = fold(s, n, a);
	for (w = 0; rc == 0 && w < o->nwords; w++)
		rc = strlen(o->folded[w]) == n && memcmp(a, o->folded[w],
		    n) == 0;
	free(a);
	return rc;
}

/*
 * db_replies' callback, each phone's replies latest first: the first
 * that says something (not only punctuation or symbols, nor without a
 * text) decides; print (or keep) the phone if it is an unsubscribe
 * word. A reply without a time (ms NULL) is printed with none.
 */
static int
one(void *arg, const char *phone, const char *text, const long long *ms)
{
	struct optouts *o = arg;
	char stamp[32] = "";
	struct tm tm;
	time_t t;
	cJSON *row;
	int m;

	if (o->decided != NULL && strcmp(o->decided, phone) == 0)
		return 0;		/* an older reply of a phone decided */
	if (text == NULL || (m = matches(o, text)) == -1)
		return 0;		/* says neither: the one before decides */
	if (m == -2)
		return -1;
	free(o->decided);
	if ((o->decided = strdup(phone)) == NULL)
		return -1;
	if (m == 0)
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
	for (i = 0; i < o.nwords; i++) {
		if ((o.folded[i] = malloc(strlen(o.words[i]) + 1)) == NULL)
			goto oom;
		fold((const unsigned char *)o.words[i], strlen(o.words[i]),
		    o.folded[i]);
	}
	if (o.json && (o.list = cJSON_CreateArray()) == NULL)
		goto oom;
	if ((db = ctl_db_read(c, url, "", &none)) == NULL && !none)
		goto out;		/* none: nothing imported, no replies */
	if (!o.json)
		printf("phone,reply,replied_at\r\n");
	if (db != NULL && db_replies(db, one, &o) == -1) {
		if (db->err[0] == '\0')
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
	for (i = 0; i < o.nwords; i++)
		free(o.folded[i]);
	free(o.decided);
	cJSON_free(text);
	cJSON_Delete(o.list);
	db_close(db);
	return rc;
}
