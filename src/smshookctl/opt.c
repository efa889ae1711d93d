/* opt.c: the option handling every smshookctl command shares. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "day.h"
#include "db.h"
#include "line.h"
#include "log.h"
#include "reader.h"

/*
 * Read the configuration c->conf_due asks for; 0, or -1 with the reason
 * in c->conf_err, said on stderr unless the command says it itself.
 */
static int
conf_load(struct ctl *c)
{
	c->conf_due = 0;
	if (conf_parse(&c->conf, c->confpath, c->conf_err,
	    sizeof(c->conf_err)) == -1) {
		if (!c->conf_err_own)
			ctl_err("%s", c->conf_err);
		return -1;
	}
	log_init("smshookctl", c->conf.log_level);
	reader_default_limit(line_max(c->conf.max_body));
	return 0;
}

/* The next option; -1 at the end or after help/usage, with *done set. */
int
ctl_getopt(int argc, char *argv[], const char *optstring,
    const struct option *longopts, void (*cmd_usage)(FILE *), int *done)
{
	int ch;

	*done = -1;
	switch ((ch = getopt_long(argc, argv, optstring, longopts, NULL))) {
	case 'h':
		cmd_usage(stdout);
		*done = CTL_OK;
		return -1;
	case '?':
	case ':':
		cmd_usage(stderr);
		*done = CTL_USAGE;
		return -1;
	case -1:
		return -1;
	default:
		return ch;
	}
}

int
ctl_conf_ready(struct ctl *c)
{
	return c->conf_due && conf_load(c) == -1 ? CTL_FAIL : CTL_OK;
}

/* 0 if the options are all there is, else CTL_USAGE after saying so. */
int
ctl_no_operands(int argc, char *argv[], void (*cmd_usage)(FILE *))
{
	if (optind == argc)
		return 0;
	ctl_err("unexpected argument \"%s\"", argv[optind]);
	cmd_usage(stderr);
	return CTL_USAGE;
}

/* 0 if --from/--to are days in order, else CTL_USAGE after saying why. */
int
ctl_day_range(const char *from, const char *to)
{
	if (from != NULL && !day_valid(from)) {
		ctl_err("--from \"%s\" is not a day (YYYY-MM-DD)", from);
		return CTL_USAGE;
	}
	if (to != NULL && !day_valid(to)) {
		ctl_err("--to \"%s\" is not a day (YYYY-MM-DD)", to);
		return CTL_USAGE;
	}
	if (from != NULL && to != NULL && strcmp(from, to) > 0) {
		ctl_err("--from %s is after --to %s", from, to);
		return CTL_USAGE;
	}
	return 0;
}

int
ctl_days(const char *s, unsigned long long *out)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 6 || s[n] != '\0')
		return -1;
	*out = strtoull(s, NULL, 10);
	return *out <= 100000 ? 0 : -1;
}

const char *
ctl_db_pick(const struct ctl *c, const char *url, const char *why,
    int quiet)
{
	if (url == NULL)
		url = c->conf.database;
	if (url == NULL && !quiet)
		ctl_err("no database%s: set \"database = sqlite:PATH\" (or "
		    "postgresql://...) in %s or use --db URL", why,
		    c->confpath);
	return url;
}

int
ctl_db_url(const char *url)
{
	char err[512];

	if (db_url_known(url, err, sizeof(err)) == 0)
		return 0;
	ctl_err("--db: %s", err);
	return CTL_USAGE;
}
