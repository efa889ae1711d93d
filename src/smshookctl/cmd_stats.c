/*
 * cmd_stats.c: smshookctl stats [--from DAY] [--to DAY] [--json]
 * [--prometheus FILE]: events per day and normalised type (2 counts as
 * delivered; an unknown code under its own number), plus unverified
 * and invalid lines; the receiver's answer counters and the import's
 * lag. An aligned table, a JSON document, or a node_exporter textfile
 * written atomically.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "counters.h"
#include "ctl.h"
#include "db.h"
#include "event.h"
#include "pos.h"
#include "reader.h"
#include "rows.h"
#include "status.h"

#define UNKNOWN_COL	"unknown"	/* events with no type at all */

struct count {
	size_t			col;
	unsigned long long	n;
};

struct day {
	char			 name[11];
	struct count		*c;
	size_t			 nc;
	unsigned long long	 total, unverified, invalid;
};

/* Suppressed and failed events of one statusCode. */
struct failure {
	long long		 code;
	int			 has_code;	/* else none usable: unknown */
	unsigned long long	 n;
};

struct stats {
	struct failure		 *fails;	/* by code, sorted at the end */
	size_t			  nfails;
	char			**cols;		/* event column names */
	size_t			  ncols;
	size_t			 *order;	/* print order of cols */
	struct day		 *days;
	size_t			  ndays;
	struct day		  all;		/* the totals */
	unsigned long long	  unread;	/* reader_unread lines */
	unsigned long long	  unreadable;	/* day files not read whole */
};

/* The import's state for this spool, when a database is configured. */
struct lag {
	int		 tried;		/* a database is configured */
	int		 have;		/* it answered, the figures are made */
	int		 unreadable;	/* a day file could not be read */
	char		 source[512];
	long long	 bytes;		/* complete or not, not yet imported */
	long long	 oldest_ms;	/* oldest such line's receipt, or -1 */
	long long	 last_run_ms;	/* last import that finished, or -1 */
};

static const struct option longopts[] = {
	{ "from",	required_argument,	NULL,	'f' },
	{ "to",		required_argument,	NULL,	't' },
	{ "json",	no_argument,		NULL,	'j' },
	{ "prometheus",	required_argument,	NULL,	'p' },
	{ "help",	no_argument,		NULL,	'h' },
	{ NULL,		0,			NULL,	0 }
};

/* The usage text on f. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: smshookctl stats [--from DAY] [--to DAY] [--json] "
	    "[--prometheus FILE]\n"
	    "  --from DAY         first day (YYYY-MM-DD) to count\n"
	    "  --to DAY           last day to count\n"
	    "  --json             print a JSON document instead of a table\n"
	    "  --prometheus FILE  write node_exporter textfile metrics to "
	    "FILE\n"
	    "                     (atomically; - for standard output) "
	    "instead of printing\n");
}

/* Release everything s holds. */
static void
stats_free(struct stats *s)
{
	size_t i;

	for (i = 0; i < s->ncols; i++)
		free(s->cols[i]);
	for (i = 0; i < s->ndays; i++)
		free(s->days[i].c);
	free(s->cols);
	free(s->order);
	free(s->days);
	free(s->all.c);
	free(s->fails);
	memset(s, 0, sizeof(*s));
}

/* The index of column name, added if new; -1 on allocation failure. */
static long
col_index(struct stats *s, const char *name)
{
	char **nv;
	size_t i;

	for (i = 0; i < s->ncols; i++)
		if (strcmp(s->cols[i], name) == 0)
			return (long)i;
	if ((nv = reallocarray(s->cols, s->ncols + 1, sizeof(*nv))) == NULL)
		return -1;
	s->cols = nv;
	if ((s->cols[s->ncols] = strdup(name)) == NULL)
		return -1;
	return (long)s->ncols++;
}

/* Add n to column col of d; -1 on allocation failure. */
static int
day_add(struct day *d, size_t col, unsigned long long n)
{
	struct count *nv;
	size_t i;

	for (i = 0; i < d->nc; i++)
		if (d->c[i].col == col) {
			d->c[i].n += n;
			return 0;
		}
	if ((nv = reallocarray(d->c, d->nc + 1, sizeof(*nv))) == NULL)
		return -1;
	d->c = nv;
	d->c[d->nc].col = col;
	d->c[d->nc++].n = n;
	return 0;
}

/* Column col's count in d. */
static unsigned long long
day_get(const struct day *d, size_t col)
{
	size_t i;

	for (i = 0; i < d->nc; i++)
		if (d->c[i].col == col)
			return d->c[i].n;
	return 0;
}

/* The column an event of this parsed line counts under. */
static void
line_col(const struct rows *l, char *buf, size_t len)
{
	const struct event_def *d;

	if (l->nrows == 0 || !l->rows[0].has_event_type)
		snprintf(buf, len, "%s", UNKNOWN_COL);
	else if ((d = event_by_code(l->rows[0].event_type)) != NULL)
		snprintf(buf, len, "%s", d->slug);
	else
		snprintf(buf, len, "%lld", l->rows[0].event_type);
}

/*
 * Count a suppressed or failed event's statusCode, one without a usable
 * one as such; -1 out of memory.
 */
static int
fail_add(struct stats *s, const struct rows *l)
{
	const struct row *r = &l->rows[0];
	struct failure *nv;
	long long code = r->has_status_code ? r->status_code : 0;
	size_t i;

	if (l->nrows == 0 || !r->has_event_type ||
	    (r->event_type != 4 && r->event_type != 5))
		return 0;
	for (i = 0; i < s->nfails; i++)
		if (s->fails[i].has_code == r->has_status_code &&
		    s->fails[i].code == code) {
			s->fails[i].n++;
			return 0;
		}
	if ((nv = reallocarray(s->fails, s->nfails + 1, sizeof(*nv))) == NULL)
		return -1;
	s->fails = nv;
	s->fails[s->nfails].code = code;
	s->fails[s->nfails].has_code = r->has_status_code;
	s->fails[s->nfails++].n = 1;
	return 0;
}

/* By code, those without one last. */
static int
fail_cmp(const void *a, const void *b)
{
	const struct failure *x = a, *y = b;

	if (x->has_code != y->has_code)
		return y->has_code - x->has_code;
	return x->code < y->code ? -1 : x->code > y->code;
}

/* The table's entry for f's code, NULL if none or unknown. */
static const struct status_def *
fail_def(const struct failure *f)
{
	return f->has_code ? status_by_code(f->code) : NULL;
}

/* The meaning of f's code for people: the table's, or why not. */
static const char *
meaning(const struct failure *f)
{
	const struct status_def *d = fail_def(f);

	if (d != NULL)
		return d->meaning;
	return f->has_code ? "unknown code" : "no status code, or not an "
	    "integer";
}

/*
 * Count the lines of f into d: 0, 1 if f was purged since the listing
 * (d untouched), -2 if it could not be read (said; d holds the lines
 * read before), -1 on an allocation failure.
 */
static int
count_file(struct stats *s, const struct day_file *f, struct day *d)
{
	struct reader *r;
	struct rows l;
	const char *line, *why;
	char col[32];
	size_t len;
	off_t off;
	long c;
	int n, parsed, rc = -1;

	if ((r = reader_open(f, 0)) == NULL) {
		if (errno == ENOENT)
			return 1;
		ctl_errno("%s", f->path);
		return errno == ENOMEM ? -1 : -2;
	}
	while ((n = reader_next(r, &line, &len, &off)) > 0) {
		if (reader_unread(n, len)) {
			ctl_unread(f->path, (long long)off, len, "not "
			    "counted (raise max_body)");
			s->unread++;
			continue;
		}
		if (n != READER_LINE) {
			d->invalid++;
			continue;
		}
		if ((parsed = rows_parse(&l, line, len, &why)) != 0) {
			rows_free(&l);
			if (parsed == -2) {
				ctl_err("out of memory");
				goto out;
			}
			d->invalid++;
			continue;
		}
		line_col(&l, col, sizeof(col));
		if (!l.verified)
			d->unverified++;
		if (fail_add(s, &l) == -1) {
			rows_free(&l);
			goto out;
		}
		rows_free(&l);
		if ((c = col_index(s, col)) == -1 ||
		    day_add(d, (size_t)c, 1) == -1)
			goto out;
		d->total++;
	}
	if (n == -1) {
		ctl_errno("%s", f->path);
		rc = errno == ENOMEM ? -1 : -2;
		goto out;
	}
	rc = 0;
 out:
	reader_close(r);
	return rc;
}

/* 1 with *v if column name c is a whole decimal number in range, else 0. */
static int
col_number(const char *c, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(c, &end, 10);
	return end != c && *end == '\0' && errno == 0;
}

/* Known types first in table order, then other columns sorted. */
static int
order_cmp(const void *a, const void *b, void *arg)
{
	const struct stats *s = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct event_def *d;
	int kx = -1, ky = -1, i = 0;
	long long nx, ny;

	for (d = event_defs; d->code != 0; d++, i++) {
		if (strcmp(d->slug, s->cols[x]) == 0)
			kx = i;
		if (strcmp(d->slug, s->cols[y]) == 0)
			ky = i;
	}
	if (kx != -1 || ky != -1)
		return kx == -1 ? 1 : ky == -1 ? -1 : kx - ky;
	/* codes in numeric order */
	if (col_number(s->cols[x], &nx) && col_number(s->cols[y], &ny))
		return nx < ny ? -1 : nx > ny;
	return strcmp(s->cols[x], s->cols[y]);
}

/* Read the days of [from, to] into s; -1 on failure (reported). */
static int
collect(struct stats *s, const char *dir, const char *from, const char *to)
{
	const struct event_def *d;
	struct day_file *files = NULL;
	struct day *dy;
	size_t n = 0, i, k;
	int got, rc = -1;

	memset(s, 0, sizeof(*s));
	for (d = event_defs; d->code != 0; d++)	/* always shown */
		if (col_index(s, d->slug) == -1)
			goto nomem;
	/* no spool_dir yet: nothing received, all counts zero */
	if (reader_list(dir, from, to, &files, &n) == -1 && errno != ENOENT) {
		ctl_errno("%s", dir);
		goto out;
	}
	if (n > 0 && (s->days = calloc(n, sizeof(*s->days))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		dy = &s->days[s->ndays++];
		memcpy(dy->name, files[i].day, sizeof(dy->name));
		if ((got = count_file(s, &files[i], dy)) == -1)
			goto out;
		if (got == 1) {		/* purged meanwhile: not a day now */
			s->ndays--;
			continue;
		}
		/* a day not read whole: its lines read count, the rest too */
		s->unreadable += got == -2;
		for (k = 0; k < dy->nc; k++)
			if (day_add(&s->all, dy->c[k].col, dy->c[k].n) == -1)
				goto nomem;
		s->all.total += dy->total;
		s->all.unverified += dy->unverified;
		s->all.invalid += dy->invalid;
	}
	if ((s->order = calloc(s->ncols, sizeof(*s->order))) == NULL)
		goto nomem;
	for (k = 0; k < s->ncols; k++)
		s->order[k] = k;
	qsort_r(s->order, s->ncols, sizeof(*s->order), order_cmp, s);
	if (s->nfails > 0)
		qsort(s->fails, s->nfails, sizeof(*s->fails), fail_cmp);
	rc = 0;
	goto out;
 nomem:
	ctl_err("out of memory");
 out:
	free(files);
	return rc;
}

/* Width of n in decimal. */
static int
digits(unsigned long long n)
{
	int w = 1;

	while (n >= 10) {
		n /= 10;
		w++;
	}
	return w;
}

/* One table row: label, each column, total, unverified, invalid. */
static void
table_row(const struct stats *s, const char *label, const struct day *d,
    const int *w)
{
	size_t k;

	printf("%-10s", label);
	for (k = 0; k < s->ncols; k++)
		printf("  %*llu", w[k], day_get(d, s->order[k]));
	printf("  %*llu  %*llu  %*llu\n", w[s->ncols], d->total,
	    w[s->ncols + 1], d->unverified, w[s->ncols + 2], d->invalid);
}

/* The time ms (since the epoch) as "YYYY-MM-DDTHH:MM:SSZ" in buf. */
static const char *
iso_time(long long ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", ms);
	return buf;
}

/* Now, in milliseconds since the epoch. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Seconds since the oldest line not yet imported: 0 if none, or if it
 * was received at a time still ahead of the clock (a clock stepped back).
 */
static double
lag_seconds(const struct lag *lag, long long now)
{
	return lag->oldest_ms < 0 || lag->oldest_ms > now ? 0.0 :
	    (double)(now - lag->oldest_ms) / 1000;
}

/*
 * After the table: the receiver's answers (cp; NULL when its counters
 * could not be read) and the import's lag (when a database answered).
 */
static void
print_state(const struct counters_page *cp, const struct lag *lag)
{
	char when[32];
	size_t k;

	if (cp != NULL) {
		printf("\nreceiver answers, by status and reason:\n");
		for (k = 0; k < NCOUNTERS; k++)
			if (cp->n[k] > 0)
				printf("  %3d  %-13s  %10llu\n",
				    counter_defs[k].status,
				    counter_defs[k].reason,
				    (unsigned long long)cp->n[k]);
		printf("  last event stored: %s\n", cp->last_stored_ms == 0 ?
		    "never" : iso_time((long long)cp->last_stored_ms, when,
		    sizeof(when)));
	}
	if (lag->have) {
		printf("\nimport (%s):\n", lag->source);
		printf("  not yet imported: %lld bytes, oldest line %.0f s "
		    "old\n", lag->bytes, lag_seconds(lag, now_ms()));
		printf("  last import: %s\n", lag->last_run_ms < 0 ? "never" :
		    iso_time(lag->last_run_ms, when, sizeof(when)));
	}
}

/* The aligned table on stdout. */
static int
print_table(const struct stats *s)
{
	static const char *const extra[] = { "total", "unverified", "invalid" };
	const struct status_def *d;
	unsigned long long big;
	size_t k, i;
	int *w;

	if ((w = calloc(s->ncols + 3, sizeof(*w))) == NULL)
		return -1;
	for (k = 0; k < s->ncols + 3; k++) {
		if (k < s->ncols) {
			w[k] = (int)strlen(s->cols[s->order[k]]);
			big = day_get(&s->all, s->order[k]);
		} else {
			w[k] = (int)strlen(extra[k - s->ncols]);
			big = k == s->ncols ? s->all.total :
			    k == s->ncols + 1 ? s->all.unverified :
			    s->all.invalid;
		}
		if (digits(big) > w[k])
			w[k] = digits(big);
	}
	printf("%-10s", "day");
	for (k = 0; k < s->ncols + 3; k++)
		printf("  %*s", w[k], k < s->ncols ? s->cols[s->order[k]] :
		    extra[k - s->ncols]);
	printf("\n");
	for (i = 0; i < s->ndays; i++)
		table_row(s, s->days[i].name, &s->days[i], w);
	table_row(s, "all", &s->all, w);
	free(w);
	if (s->nfails > 0)
		printf("\nsuppressed and failed, by status code:\n");
	for (i = 0; i < s->nfails; i++) {
		d = fail_def(&s->fails[i]);
		if (s->fails[i].has_code)
			printf("  %6lld", s->fails[i].code);
		else
			printf("  %6s", "-");
		printf("  %10llu  %s%s%s\n", s->fails[i].n, d != NULL ?
		    d->kind : "", d != NULL ? " failure: " : "",
		    meaning(&s->fails[i]));
	}
	return 0;
}

/*
 * d as a JSON object {["day":..,]"events":{...},"total":..,...} (no day
 * for the totals, NULL name); NULL on failure.
 */
static cJSON *
day_json(const struct stats *s, const struct day *d, const char *name)
{
	cJSON *o, *ev;
	size_t k;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if ((name != NULL && cJSON_AddStringToObject(o, "day", name) == NULL) ||
	    (ev = cJSON_AddObjectToObject(o, "events")) == NULL)
		goto fail;
	for (k = 0; k < s->ncols; k++)
		if (cJSON_AddNumberToObject(ev, s->cols[s->order[k]],
		    (double)day_get(d, s->order[k])) == NULL)
			goto fail;
	if (cJSON_AddNumberToObject(o, "total", (double)d->total) == NULL ||
	    cJSON_AddNumberToObject(o, "unverified",
	    (double)d->unverified) == NULL ||
	    cJSON_AddNumberToObject(o, "invalid", (double)d->invalid) == NULL)
		goto fail;
	return o;
 fail:
	cJSON_Delete(o);
	return NULL;
}

/*
 * The receiver's counters (cp, or NULL: null) and the import's lag
 * (null without a database that answered) as members of doc; -1 if
 * out of memory.
 */
static int
state_json(cJSON *doc, const struct counters_page *cp, const struct lag *lag)
{
	cJSON *o, *a, *x;
	char when[32];
	size_t k;

	if (cp == NULL)
		o = cJSON_AddNullToObject(doc, "receiver");
	else if ((o = cJSON_AddObjectToObject(doc, "receiver")) != NULL) {
		if ((a = cJSON_AddArrayToObject(o, "answers")) == NULL)
			return -1;
		for (k = 0; k < NCOUNTERS; k++) {
			if ((x = cJSON_CreateObject()) == NULL)
				return -1;
			cJSON_AddItemToArray(a, x);
			if (cJSON_AddNumberToObject(x, "status",
			    counter_defs[k].status) == NULL ||
			    cJSON_AddStringToObject(x, "reason",
			    counter_defs[k].reason) == NULL ||
			    cJSON_AddNumberToObject(x, "count",
			    (double)cp->n[k]) == NULL)
				return -1;
		}
		if (cJSON_AddNumberToObject(o, "stored_bytes",
		    (double)cp->stored_bytes) == NULL ||
		    (cp->last_stored_ms == 0 ?
		    cJSON_AddNullToObject(o, "last_stored_at") :
		    cJSON_AddStringToObject(o, "last_stored_at",
		    iso_time((long long)cp->last_stored_ms, when,
		    sizeof(when)))) == NULL)
			return -1;
	}
	if (o == NULL)
		return -1;
	if (!lag->have)
		return cJSON_AddNullToObject(doc, "import") == NULL ? -1 : 0;
	if ((o = cJSON_AddObjectToObject(doc, "import")) == NULL ||
	    cJSON_AddStringToObject(o, "source", lag->source) == NULL ||
	    cJSON_AddNumberToObject(o, "lag_bytes", (double)lag->bytes) ==
	    NULL || cJSON_AddNumberToObject(o, "lag_seconds",
	    lag_seconds(lag, now_ms())) == NULL ||
	    (lag->last_run_ms < 0 ? cJSON_AddNullToObject(o, "last_import_at") :
	    cJSON_AddStringToObject(o, "last_import_at",
	    iso_time(lag->last_run_ms, when, sizeof(when)))) == NULL)
		return -1;
	return 0;
}

/* The JSON document on stdout. */
static int
print_json(const struct stats *s, const char *from, const char *to,
    const struct counters_page *cp, const struct lag *lag)
{
	const struct status_def *d;
	cJSON *doc, *days, *o;
	char *text = NULL, code[24];
	size_t i;
	int rc = -1;

	if ((doc = cJSON_CreateObject()) == NULL)
		return -1;
	if ((from != NULL ? cJSON_AddStringToObject(doc, "from", from) :
	    cJSON_AddNullToObject(doc, "from")) == NULL ||
	    (to != NULL ? cJSON_AddStringToObject(doc, "to", to) :
	    cJSON_AddNullToObject(doc, "to")) == NULL ||
	    (days = cJSON_AddArrayToObject(doc, "days")) == NULL)
		goto out;
	for (i = 0; i < s->ndays; i++) {
		if ((o = day_json(s, &s->days[i], s->days[i].name)) == NULL)
			goto out;
		cJSON_AddItemToArray(days, o);
	}
	if ((o = day_json(s, &s->all, NULL)) == NULL)
		goto out;
	cJSON_AddItemToObject(doc, "all", o);
	if ((days = cJSON_AddArrayToObject(doc, "failures")) == NULL)
		goto out;
	for (i = 0; i < s->nfails; i++) {
		if ((o = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(days, o);
		/* the code's exact digits: a double keeps 15 or so */
		snprintf(code, sizeof(code), "%lld", s->fails[i].code);
		if ((s->fails[i].has_code ? cJSON_AddRawToObject(o,
		    "status_code", code) :
		    cJSON_AddNullToObject(o, "status_code")) == NULL ||
		    cJSON_AddNumberToObject(o, "count",
		    (double)s->fails[i].n) == NULL ||
		    ((d = fail_def(&s->fails[i])) != NULL ?
		    cJSON_AddStringToObject(o, "meaning", d->meaning) != NULL &&
		    cJSON_AddStringToObject(o, "stage", d->kind) != NULL :
		    cJSON_AddNullToObject(o, "meaning") != NULL &&
		    cJSON_AddNullToObject(o, "stage") != NULL) == 0)
			goto out;
	}
	if (state_json(doc, cp, lag) == -1 ||
	    (text = cJSON_Print(doc)) == NULL)
		goto out;
	printf("%s\n", text);
	rc = 0;
 out:
	cJSON_free(text);
	cJSON_Delete(doc);
	return rc;
}

/* A label value with '\\', '"' and newlines escaped (the text format). */
static void
prom_label(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* # HELP and # TYPE of one metric. */
static void
prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * The receiver's counters cp in node_exporter textfile format on f; none
 * without cp, rather than zeros a collector would take for a reset.
 */
static void
prom_counters(FILE *f, const struct counters_page *cp)
{
	size_t k;

	if (cp == NULL)
		return;
	prom_head(f, "smshook_answers_total", "counter", "Answers the "
	    "receiver gave, by HTTP status and reason.");
	for (k = 0; k < NCOUNTERS; k++)
		fprintf(f, "smshook_answers_total{status=\"%d\",reason=\"%s\"} "
		    "%llu\n", counter_defs[k].status, counter_defs[k].reason,
		    (unsigned long long)cp->n[k]);
	prom_head(f, "smshook_stored_bytes_total", "counter", "Spool bytes "
	    "of the events the receiver stored.");
	fprintf(f, "smshook_stored_bytes_total %llu\n",
	    (unsigned long long)cp->stored_bytes);
	prom_head(f, "smshook_last_stored_event_timestamp_seconds", "gauge",
	    "When the receiver last stored an event (0: never).");
	fprintf(f, "smshook_last_stored_event_timestamp_seconds %.3f\n",
	    (double)cp->last_stored_ms / 1000);
}

/* One gauge of the import, labelled by its source; v its value. */
static void
prom_import(FILE *f, const char *name, const char *help,
    const struct lag *lag, const char *v)
{
	prom_head(f, name, "gauge", help);
	fprintf(f, "%s{source=\"", name);
	prom_label(f, lag->source);
	fprintf(f, "\"} %s\n", v);
}

/* The metrics in node_exporter textfile format on f (smshookctl(1)). */
static void
prom_write(FILE *f, const struct stats *s, const struct counters_page *cp,
    const struct lag *lag)
{
	long long now = now_ms();
	unsigned long long other;
	const char *col;
	char v[64];
	size_t i, k;

	prom_counters(f, cp);
	prom_head(f, "smshook_spool_events", "gauge", "Events in the spool's "
	    "day files, by event type.");
	/* named types (and "unknown") as themselves, codes no name is
	 * known for as "other": bounded, whatever codes come */
	for (k = 0, other = 0; k < s->ncols; k++) {
		col = s->cols[s->order[k]];
		if (*col == '-' || (*col >= '0' && *col <= '9')) {
			other += day_get(&s->all, s->order[k]);
			continue;
		}
		fputs("smshook_spool_events{event=\"", f);
		prom_label(f, col);
		fprintf(f, "\"} %llu\n", day_get(&s->all, s->order[k]));
	}
	fprintf(f, "smshook_spool_events{event=\"other\"} %llu\n", other);
	prom_head(f, "smshook_spool_unverified_events", "gauge", "Events in "
	    "the spool stored without a verified signature.");
	fprintf(f, "smshook_spool_unverified_events %llu\n", s->all.unverified);
	prom_head(f, "smshook_spool_invalid_lines", "gauge", "Spool lines "
	    "that are not valid records (smshookctl verify).");
	fprintf(f, "smshook_spool_invalid_lines %llu\n", s->all.invalid);
	/* known codes as themselves, any other as "other": bounded */
	prom_head(f, "smshook_spool_failed_events", "gauge", "Suppressed and "
	    "failed events in the spool, by provider status code.");
	for (i = 0, other = 0; i < s->nfails; i++)
		if (fail_def(&s->fails[i]) != NULL)
			fprintf(f, "smshook_spool_failed_events{status_code="
			    "\"%lld\"} %llu\n", s->fails[i].code,
			    s->fails[i].n);
		else
			other += s->fails[i].n;
	fprintf(f, "smshook_spool_failed_events{status_code=\"other\"} "
	    "%llu\n", other);
	if (lag->have) {
		snprintf(v, sizeof(v), "%lld", lag->bytes);
		prom_import(f, "smshook_import_lag_bytes", "Spool bytes not "
		    "yet imported.", lag, v);
		snprintf(v, sizeof(v), "%.3f", lag_seconds(lag, now));
		prom_import(f, "smshook_import_lag_seconds", "Age of the "
		    "oldest complete spool line not yet imported (0: none).",
		    lag, v);
		snprintf(v, sizeof(v), "%.3f", lag->last_run_ms < 0 ? 0.0 :
		    (double)lag->last_run_ms / 1000);
		prom_import(f, "smshook_last_import_timestamp_seconds", "When "
		    "smshookctl import last finished without error (0: "
		    "never).", lag, v);
	}
	/* without it, a database down would only take the lag away */
	if (lag->tried)
		prom_import(f, "smshook_import_up", "1 if the import's figures "
		    "could be made (its database read), else 0.", lag,
		    lag->have ? "1" : "0");
	prom_head(f, "smshook_stats_timestamp_seconds", "gauge", "When "
	    "smshookctl stats wrote this file.");
	fprintf(f, "smshook_stats_timestamp_seconds %lld\n",
	    now / 1000);
}

/* received_at text ("...T...Z", milliseconds optional) as ms, or -1. */
static long long
stamp_ms(const char *s)
{
	struct tm tm;
	const char *p;
	long long ms = 0, scale = 100;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			ms += (*p - '0') * scale;
	return (long long)timegm(&tm) * 1000 + ms;
}

/*
 * What import has not taken from f yet, into lag (all of it without a
 * database, db NULL); -1 on a database error (said), -2 if f cannot be
 * read (errno set).
 */
static int
file_lag(struct ctl_db *db, const struct day_file *f, struct lag *lag)
{
	struct reader *r;
	struct db_pos p;
	struct rows l;
	struct stat st;
	const char *line, *why;
	char err[1024];
	long long ms;
	size_t len;
	off_t off;
	int n, first = 1, saved;

	if (pos_get(db, f, &p, err, sizeof(err)) == -1) {
		if (errno == ENOENT)
			return 0;
		ctl_err("%s", err);
		return -1;
	}
	if (f->gz && f->late[0] == '\0' && stat(f->path, &st) == 0 &&
	    p.gz_size == (long long)st.st_size)
		return 0;		/* read to its end before */
	if ((r = pos_open_text(f, &p, NULL, NULL)) == NULL)
		return errno == ENOENT ? 0 : -2;
	/*
	 * An unfinished line is never imported: no lag (a torn piece is).
	 * The oldest line is the first with a time: a reject before it
	 * has none.
	 */
	while ((n = reader_next(r, &line, &len, &off)) > 0) {
		lag->bytes += (long long)len + (n == READER_TORN ? 0 : 1);
		if (first && n == READER_LINE) {
			if (rows_parse(&l, line, len, &why) == 0 &&
			    (ms = stamp_ms(l.received_at)) != -1) {
				first = 0;
				if (lag->oldest_ms < 0 || ms < lag->oldest_ms)
					lag->oldest_ms = ms;
			}
			rows_free(&l);
		}
	}
	saved = errno;
	reader_close(r);
	errno = saved;
	return n == -1 ? -2 : 0;
}

/*
 * The import's lag and last run for this spool, when a database is
 * configured and answers (else lag->have stays 0, with a warning). The
 * database is only looked at: one not made yet is nothing imported,
 * and one import would make or migrate is left as it is.
 */
static void
import_lag(const struct ctl *ctl, struct lag *lag)
{
	struct day_file *files = NULL;
	struct ctl_db *db;
	size_t n = 0, i;
	int none, rc = 0;

	memset(lag, 0, sizeof(*lag));
	lag->oldest_ms = lag->last_run_ms = -1;
	if (ctl->conf.database == NULL)
		return;
	lag->tried = 1;
	/* a source too long: ctl_db_read says so */
	(void)db_source(ctl->conf.spool_dir, lag->source, sizeof(lag->source),
	    NULL, 0);
	if ((db = ctl_db_read(ctl, ctl->conf.database, "import metrics left "
	    "out: ", &none)) == NULL && !none)
		return;
	if (reader_list(ctl->conf.spool_dir, NULL, NULL, &files, &n) == -1 &&
	    errno != ENOENT)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = file_lag(db, &files[i], lag)) != 0)
			goto out;
	if (db != NULL && db_get_run(db, &lag->last_run_ms) == -1)
		goto out;
	lag->have = 1;
 out:
	if (rc == -2) {			/* a day file: named, and exit 1 */
		ctl_err("import metrics left out: %s: %s", files[i].path,
		    reader_strerror(errno));
		lag->unreadable = 1;
	} else if (!lag->have)
		ctl_err("import metrics left out: %s", db != NULL &&
		    db->err[0] != '\0' ? db->err : reader_strerror(errno));
	free(files);
	db_close(db);
}

/*
 * Write the metrics to path through a file of a name of its own beside it
 * (path.tmp.XXXXXX, made anew: never one another run or user made), and
 * rename; "-" is standard output. cp may be NULL.
 */
static int
prom_file(const struct stats *s, const char *path,
    const struct counters_page *cp, const struct lag *lag)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int fd, rc = -1;

	if (strcmp(path, "-") == 0) {
		prom_write(stdout, s, cp, lag);	/* stdout checked after */
		return 0;
	}
	/* a name of its own: two runs at once must not share one */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		goto out;
	/* counts only, for node_exporter's user: 0644 whatever the umask */
	if (fchmod(fd, 0644) == -1 || (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto fail;
	}
	prom_write(f, s, cp, lag);
	if (fflush(f) == EOF || ferror(f) || fsync(fileno(f)) == -1)
		goto fail;
	if (fclose(f) == EOF) {
		f = NULL;
		goto fail;
	}
	f = NULL;
	if (rename(tmp, path) == -1)
		goto fail;
	rc = 0;
	goto out;
 fail:
	if (f != NULL)
		fclose(f);
	unlink(tmp);
 out:
	if (rc == -1)
		ctl_errno("%s", path);
	return rc;
}

/* smshookctl stats: count, then print a table or JSON or write metrics. */
int
cmd_stats(struct ctl *ctl, int argc, char *argv[])
{
	struct stats s;
	struct counters_page cp;
	struct lag lag;
	const char *from = NULL, *to = NULL, *prom = NULL;
	int ch, json = 0, rc = CTL_FAIL, done, have_cp;

	while ((ch = ctl_getopt(argc, argv, "h", longopts, usage,
	    &done)) != -1) {
		switch (ch) {
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'p':
			prom = optarg;
			break;
		}
	}
	if (done != -1)
		return done;
	if (ctl_no_operands(argc, argv, usage) != 0)
		return CTL_USAGE;
	if (ctl_day_range(from, to) != 0)
		return CTL_USAGE;
	if (prom != NULL && (*prom == '\0' || (json &&
	    strcmp(prom, "-") == 0))) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (ctl_conf_ready(ctl) != CTL_OK)
		return CTL_FAIL;
	if (collect(&s, ctl->conf.spool_dir, from, to) == -1)
		goto out;
	/* metrics carry it (smshook_spool_invalid_lines): said by them */
	if (s.all.invalid > 0 && prom == NULL)
		ctl_err("%llu invalid line%s not counted (see smshookctl "
		    "verify)", s.all.invalid, s.all.invalid == 1 ? "" : "s");
	/*
	 * no file yet (nothing answered yet): zeros; not ours, or not
	 * counted (counters = no: what is there is old): left out
	 */
	have_cp = 0;
	if (ctl->conf.counters) {
		have_cp = counters_read(ctl->conf.spool_dir, &cp) == 0 ||
		    errno == ENOENT;
		if (!have_cp && errno == EINVAL)
			ctl_err("receiver counters left out: %s/.counters is "
			    "not a counters file (another program's, or cut "
			    "short)", ctl->conf.spool_dir);
		else if (!have_cp)
			ctl_errno("receiver counters left out: %s/.counters",
			    ctl->conf.spool_dir);
	}
	import_lag(ctl, &lag);
	if (prom != NULL && prom_file(&s, prom, have_cp ? &cp : NULL,
	    &lag) == -1)
		goto out;
	if (json || prom == NULL) {
		if ((json ? print_json(&s, from, to, have_cp ? &cp : NULL,
		    &lag) : print_table(&s)) == -1) {
			ctl_err("out of memory");
			goto out;
		}
		if (!json)
			print_state(have_cp ? &cp : NULL, &lag);
	}
	if (ctl_stdout_flush() == -1)
		goto out;
	rc = lag.unreadable || s.unread > 0 || s.unreadable > 0 ? CTL_FAIL :
	    CTL_OK;
 out:
	stats_free(&s);
	return rc;
}
