/*
 * cmd_stats.c: smshookctl stats [--from DAY] [--to DAY] [--json]
 * [--prometheus FILE]: events per day and normalised type (2 counts as
 * delivered; an unknown code under its own number), plus unverified
 * and invalid lines. An aligned table, a JSON document, or a
 * node_exporter textfile written atomically.
 */
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

#include "ctl.h"
#include "event.h"
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
	    "                     (atomically) instead of printing\n");
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

/* Count a suppressed or failed event's statusCode; -1 out of memory. */
static int
fail_add(struct stats *s, const struct rows *l)
{
	const struct row *r = &l->rows[0];
	struct failure *nv;
	size_t i;

	if (l->nrows == 0 || !r->has_event_type || !r->has_status_code ||
	    (r->event_type != 4 && r->event_type != 5))
		return 0;
	for (i = 0; i < s->nfails; i++)
		if (s->fails[i].code == r->status_code) {
			s->fails[i].n++;
			return 0;
		}
	if ((nv = reallocarray(s->fails, s->nfails + 1, sizeof(*nv))) == NULL)
		return -1;
	s->fails = nv;
	s->fails[s->nfails].code = r->status_code;
	s->fails[s->nfails++].n = 1;
	return 0;
}

static int
fail_cmp(const void *a, const void *b)
{
	const struct failure *x = a, *y = b;

	return x->code < y->code ? -1 : x->code > y->code;
}

/* The meaning of code for people: the table's, or "unknown code". */
static const char *
meaning(long long code)
{
	const struct status_def *d = status_by_code(code);

	return d != NULL ? d->meaning : "unknown code";
}

/* Count the lines of f into d. -1 on a read or allocation failure. */
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
	int n, rc = -1;

	if ((r = reader_open(f, 0)) == NULL) {
		ctl_errno("%s", f->path);
		return -1;
	}
	while ((n = reader_next(r, &line, &len, &off)) > 0) {
		if (n == READER_LONG) {
			d->invalid++;
			continue;
		}
		if (rows_parse(&l, line, len, &why) == -1) {
			rows_free(&l);
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
		goto out;
	}
	rc = 0;
 out:
	reader_close(r);
	return rc;
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
	char *ex, *ey;

	for (d = event_defs; d->code != 0; d++, i++) {
		if (strcmp(d->slug, s->cols[x]) == 0)
			kx = i;
		if (strcmp(d->slug, s->cols[y]) == 0)
			ky = i;
	}
	if (kx != -1 || ky != -1)
		return kx == -1 ? 1 : ky == -1 ? -1 : kx - ky;
	nx = strtoll(s->cols[x], &ex, 10);
	ny = strtoll(s->cols[y], &ey, 10);
	if (*ex == '\0' && *ey == '\0')		/* codes in numeric order */
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
	int rc = -1;

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
		if (count_file(s, &files[i], dy) == -1)
			goto out;
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

/* The aligned table on stdout. */
static int
print_table(const struct stats *s)
{
	static const char *const extra[] = { "total", "unverified", "invalid" };
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
	for (i = 0; i < s->nfails; i++)
		printf("  %6lld  %10llu  %s\n", s->fails[i].code, s->fails[i].n,
		    meaning(s->fails[i].code));
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

/* The JSON document on stdout. */
static int
print_json(const struct stats *s, const char *from, const char *to)
{
	cJSON *doc, *days, *o;
	char *text = NULL;
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
		if (cJSON_AddNumberToObject(o, "status_code",
		    (double)s->fails[i].code) == NULL ||
		    cJSON_AddNumberToObject(o, "count",
		    (double)s->fails[i].n) == NULL ||
		    (status_by_code(s->fails[i].code) != NULL ?
		    cJSON_AddStringToObject(o, "meaning",
		    meaning(s->fails[i].code)) :
		    cJSON_AddNullToObject(o, "meaning")) == NULL)
			goto out;
	}
	if ((text = cJSON_Print(doc)) == NULL)
		goto out;
	printf("%s\n", text);
	rc = 0;
 out:
	cJSON_free(text);
	cJSON_Delete(doc);
	return rc;
}

/* One sample line; label values here never need escaping (days, slugs). */
static void
prom_sample(FILE *f, const char *metric, const char *day, const char *event,
    unsigned long long n)
{
	fprintf(f, "%s{day=\"%s\"", metric, day);
	if (event != NULL)
		fprintf(f, ",event=\"%s\"", event);
	fprintf(f, "} %llu\n", n);
}

/* The metrics in node_exporter textfile format on f. */
static void
prom_write(FILE *f, const struct stats *s)
{
	struct timespec ts;
	unsigned long long other;
	size_t i, k;

	fprintf(f, "# HELP smshook_events_total Events in the spool, "
	    "per day and event type.\n"
	    "# TYPE smshook_events_total counter\n");
	for (i = 0; i < s->ndays; i++)
		for (k = 0; k < s->ncols; k++)
			prom_sample(f, "smshook_events_total", s->days[i].name,
			    s->cols[s->order[k]],
			    day_get(&s->days[i], s->order[k]));
	fprintf(f, "# HELP smshook_unverified_events_total Events stored "
	    "without a verified signature, per day.\n"
	    "# TYPE smshook_unverified_events_total counter\n");
	for (i = 0; i < s->ndays; i++)
		prom_sample(f, "smshook_unverified_events_total",
		    s->days[i].name, NULL, s->days[i].unverified);
	fprintf(f, "# HELP smshook_invalid_lines Spool lines that are not "
	    "v1 records, per day.\n"
	    "# TYPE smshook_invalid_lines gauge\n");
	for (i = 0; i < s->ndays; i++)
		prom_sample(f, "smshook_invalid_lines", s->days[i].name, NULL,
		    s->days[i].invalid);
	/* known codes as themselves, any other as "other": bounded */
	fprintf(f, "# HELP smshook_failed_events_total Suppressed and failed "
	    "events, per provider status code (smshookctl(1) has the "
	    "meanings).\n# TYPE smshook_failed_events_total counter\n");
	for (i = 0, other = 0; i < s->nfails; i++)
		if (status_by_code(s->fails[i].code) != NULL)
			fprintf(f, "smshook_failed_events_total{status_code="
			    "\"%lld\"} %llu\n", s->fails[i].code, s->fails[i].n);
		else
			other += s->fails[i].n;
	fprintf(f, "smshook_failed_events_total{status_code=\"other\"} "
	    "%llu\n", other);
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(f, "# HELP smshook_stats_timestamp_seconds When smshookctl "
	    "stats wrote this file.\n"
	    "# TYPE smshook_stats_timestamp_seconds gauge\n"
	    "smshook_stats_timestamp_seconds %lld\n", (long long)ts.tv_sec);
}

/* Write the metrics to path through path.tmp and rename. */
static int
prom_file(const struct stats *s, const char *path)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int fd, rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1)
		goto out;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto fail;
	}
	prom_write(f, s);
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
	const char *from = NULL, *to = NULL, *prom = NULL;
	int ch, json = 0, rc = CTL_FAIL, done;

	while ((ch = ctl_getopt(argc, argv, "h", longopts, usage, &done)) != -1) {
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
	if (prom != NULL && *prom == '\0') {
		usage(stderr);
		return CTL_USAGE;
	}
	if (collect(&s, ctl->conf.spool_dir, from, to) == -1)
		goto out;
	if (s.all.invalid > 0)
		ctl_err("%llu invalid line%s not counted (see smshookctl "
		    "verify)", s.all.invalid, s.all.invalid == 1 ? "" : "s");
	if (prom != NULL) {
		if (prom_file(&s, prom) == -1)
			goto out;
		if (json && print_json(&s, from, to) == -1)
			goto out;
	} else if ((json ? print_json(&s, from, to) : print_table(&s)) == -1) {
		ctl_err("out of memory");
		goto out;
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ctl_errno("stdout");
		goto out;
	}
	rc = CTL_OK;
 out:
	stats_free(&s);
	return rc;
}
