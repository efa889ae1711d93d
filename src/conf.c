/*
 * conf.c: the "key = value" file. One table says which keys exist, how
 * each value is parsed and whether the key may repeat; errors name
 * file:line. A file holding app_key must not be readable by others.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

struct pctx {
	struct conf	*c;
	const char	*dir;		/* directory of the config file */
	int		 inline_key;	/* app_key seen in the file itself */
	char		*why;		/* parser's message */
	size_t		 whylen;
};

typedef int (*parse_fn)(struct pctx *, const char *, void *);

static int	p_string(struct pctx *, const char *, void *);
static int	p_path(struct pctx *, const char *, void *);
static int	p_bool(struct pctx *, const char *, void *);
static int	p_bytes(struct pctx *, const char *, void *);
static int	p_seconds(struct pctx *, const char *, void *);
static int	p_cidrs(struct pctx *, const char *, void *);
static int	p_key(struct pctx *, const char *, void *);
static int	p_keyfile(struct pctx *, const char *, void *);
static int	p_loglevel(struct pctx *, const char *, void *);
static int	p_timezone(struct pctx *, const char *, void *);

#define REPEAT	1

static const struct keydef {
	const char	*name;
	parse_fn	 parse;
	size_t		 off;
	int		 flags;
} keydefs[] = {
	{ "app_key",		 p_key,	     0, REPEAT },
	{ "app_key_file",	 p_keyfile,  0, REPEAT },
	{ "spool_dir",		 p_path,     offsetof(struct conf, spool_dir), 0 },
	{ "timezone",		 p_timezone, offsetof(struct conf, timezone), 0 },
	{ "fsync",		 p_bool,     offsetof(struct conf, fsync), 0 },
	{ "max_body",		 p_bytes,    offsetof(struct conf, max_body), 0 },
	{ "require_signature",	 p_bool,     offsetof(struct conf, require_signature), 0 },
	{ "timestamp_tolerance", p_seconds,  offsetof(struct conf, timestamp_tolerance), 0 },
	{ "allow_from",		 p_cidrs,    offsetof(struct conf, allow_from), REPEAT },
	{ "trusted_proxies",	 p_cidrs,    offsetof(struct conf, trusted_proxies), REPEAT },
	{ "replay_window",	 p_seconds,  offsetof(struct conf, replay_window), 0 },
	{ "log_level",		 p_loglevel, offsetof(struct conf, log_level), 0 },
	{ "database",		 p_string,   offsetof(struct conf, database), 0 },
};
#define NKEYDEFS (sizeof(keydefs) / sizeof(keydefs[0]))

#define MAX_BODY_LIMIT	(1ULL << 30)		/* 1 GiB */
#define SECONDS_LIMIT	(100ULL * 365 * 86400)	/* a century */

const char *
conf_path(const char *opt)
{
	const char *env;

	if (opt != NULL)
		return opt;
	if ((env = getenv("SMSHOOK_CONFIG")) != NULL && *env != '\0')
		return env;
	return CONF_DEFAULT_PATH;
}

/* Store a message for the caller to prefix with file:line; returns -1. */
static int __attribute__((format(printf, 2, 3)))
fail(struct pctx *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, p->whylen, fmt, ap);
	va_end(ap);
	return -1;
}

int
conf_number(const char *s, int seconds, unsigned long long max,
    unsigned long long *out)
{
	static const struct { char suffix; unsigned long long mul; }
	    bytes[] = { { 'k', 1ULL << 10 }, { 'm', 1ULL << 20 },
	    { 'g', 1ULL << 30 } },
	    secs[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 },
	    { 'd', 86400 } };
	unsigned long long v, mul = 1;
	size_t i, n = seconds ? 4 : 3;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -1;
	if (*end != '\0') {
		for (i = 0; i < n; i++) {
			char suf = seconds ? secs[i].suffix : bytes[i].suffix;
			if (tolower((unsigned char)*end) == suf) {
				mul = seconds ? secs[i].mul : bytes[i].mul;
				break;
			}
		}
		if (i == n || end[1] != '\0')
			return -1;
	}
	if (v > max / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
p_string(struct pctx *p, const char *v, void *dst)
{
	char **s = dst;

	(void)p;
	return (*s = strdup(v)) == NULL ? -1 : 0;
}

/* A path, made absolute against the config file's directory. */
static int
p_path(struct pctx *p, const char *v, void *dst)
{
	char **s = dst;

	if (v[0] == '/')
		return p_string(p, v, dst);
	if (asprintf(s, "%s/%s", p->dir, v) == -1) {
		*s = NULL;
		return -1;
	}
	return 0;
}

static int
p_bool(struct pctx *p, const char *v, void *dst)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	int *b = dst;
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*b = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*b = 0;
			return 0;
		}
	}
	return fail(p, "expected yes or no, not \"%s\"", v);
}

static int
p_bytes(struct pctx *p, const char *v, void *dst)
{
	if (conf_number(v, 0, MAX_BODY_LIMIT, dst) == -1 ||
	    *(unsigned long long *)dst == 0)
		return fail(p, "expected a size from 1 to 1g (bytes, "
		    "or with k, m, g), not \"%s\"", v);
	return 0;
}

static int
p_seconds(struct pctx *p, const char *v, void *dst)
{
	if (conf_number(v, 1, SECONDS_LIMIT, dst) == -1)
		return fail(p, "expected seconds (or a number with s, m, h, d),"
		    " not \"%s\"", v);
	return 0;
}

static int
p_cidrs(struct pctx *p, const char *v, void *dst)
{
	char bad[64];

	if (cidr_list_add(dst, v, bad, sizeof(bad)) == -1)
		return fail(p, "bad address range \"%s\"", bad);
	return 0;
}

/* Append one key of len bytes to the key list. */
static int
add_key(struct pctx *p, const char *data, size_t len)
{
	struct conf *c = p->c;
	struct conf_key *nk;

	if (len == 0)
		return fail(p, "empty key");
	if ((nk = reallocarray(c->keys, c->nkeys + 1, sizeof(*nk))) == NULL)
		return fail(p, "out of memory");
	c->keys = nk;
	if ((nk[c->nkeys].data = malloc(len)) == NULL)
		return fail(p, "out of memory");
	memcpy(nk[c->nkeys].data, data, len);
	nk[c->nkeys++].len = len;
	return 0;
}

static int
p_key(struct pctx *p, const char *v, void *dst)
{
	(void)dst;
	p->inline_key = 1;
	return add_key(p, v, strlen(v));
}

/* The key is the file's whole first line, without trailing white space. */
static int
p_keyfile(struct pctx *p, const char *v, void *dst)
{
	char *path = NULL, *line = NULL;
	struct stat st;
	FILE *f = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = -1;

	(void)dst;
	if (p_path(p, v, &path) == -1)
		return fail(p, "out of memory");
	if ((f = fopen(path, "re")) == NULL) {
		fail(p, "cannot read key file %s", path);
		goto out;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH)) {
		fail(p, "key file %s is readable by others (chmod o-r)", path);
		goto out;
	}
	if ((n = getline(&line, &cap, f)) == -1) {
		if (ferror(f))
			fail(p, "cannot read key file %s", path);
		else
			fail(p, "key file %s is empty", path);
		goto out;
	}
	if (memchr(line, '\0', (size_t)n) != NULL) {
		fail(p, "key file %s holds a NUL byte", path);
		goto out;
	}
	while (n > 0 && isspace((unsigned char)line[n - 1]))
		n--;
	rc = add_key(p, line, (size_t)n);
 out:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	if (f != NULL)
		fclose(f);
	free(path);
	return rc;
}

static int
p_loglevel(struct pctx *p, const char *v, void *dst)
{
	int l;

	if ((l = log_level_parse(v)) == -1)
		return fail(p, "expected error, warn, info or debug, not \"%s\"",
		    v);
	*(int *)dst = l;
	return 0;
}

/* An IANA zone name that exists under $TZDIR or /usr/share/zoneinfo. */
static int
p_timezone(struct pctx *p, const char *v, void *dst)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; v[i] != '\0'; i++)
		if (!isalnum((unsigned char)v[i]) && strchr("/_+-", v[i]) == NULL)
			break;
	if (v[i] != '\0' || v[0] == '/' || strstr(v, "..") != NULL)
		return fail(p, "bad time zone name \"%s\"", v);
	if (strcmp(v, "UTC") != 0) {
		if (dir == NULL || *dir == '\0')
			dir = "/usr/share/zoneinfo";
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, v) >=
		    sizeof(path) || stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			return fail(p, "unknown time zone \"%s\"", v);
	}
	return p_string(p, v, dst);
}

/* Split one line into key and value in place; 0 blank, 1 pair, -1 bad. */
static int
split_line(char *line, char **key, char **val)
{
	char *s = line, *e;

	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	s += strspn(s, " \t");
	if (*s == '\0' || *s == '#')
		return 0;
	*key = s;
	while (*s == '_' || islower((unsigned char)*s))
		s++;
	e = s;
	s += strspn(s, " \t");
	if (e == *key || *s != '=')
		return -1;
	*e = '\0';
	s++;
	*val = s + strspn(s, " \t");
	return 1;
}

/* Apply one key = value pair; seen[] guards single-valued keys. */
static int
apply(struct pctx *p, const char *key, const char *val, int *seen)
{
	const struct keydef *d;
	size_t i;

	for (i = 0; i < NKEYDEFS; i++)
		if (strcmp(keydefs[i].name, key) == 0)
			break;
	if (i == NKEYDEFS)
		return fail(p, "unknown key \"%s\"", key);
	d = &keydefs[i];
	if (seen[i] && !(d->flags & REPEAT))
		return fail(p, "duplicate key \"%s\"", key);
	seen[i] = 1;
	if (*val == '\0')
		return fail(p, "empty value for \"%s\"", key);
	*p->why = '\0';
	if (d->parse(p, val, (char *)p->c + d->off) == -1) {
		if (*p->why == '\0')
			fail(p, "out of memory");
		return -1;
	}
	return 0;
}

/* Checks that need the whole file: required keys, file mode. */
static int
finish(struct pctx *p, const struct stat *st)
{
	struct conf *c = p->c;

	if (c->spool_dir == NULL)
		return fail(p, "spool_dir is required");
	if (c->nkeys == 0 && c->require_signature)
		return fail(p, "app_key or app_key_file is required "
		    "(or require_signature = no)");
	if (p->inline_key && (st->st_mode & S_IROTH))
		return fail(p, "holds app_key but is readable by others "
		    "(chmod o-r, or use app_key_file)");
	if (c->timezone == NULL && (c->timezone = strdup("UTC")) == NULL)
		return fail(p, "out of memory");
	return 0;
}

int
conf_parse(struct conf *c, const char *path, char *err, size_t errlen)
{
	int seen[NKEYDEFS] = { 0 };
	char why[256], *line = NULL, *key, *val, *dir = NULL, *slash;
	struct pctx p = { c, NULL, 0, why, sizeof(why) };
	size_t cap = 0;
	unsigned long lineno = 0;
	struct stat st;
	FILE *f = NULL;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->fsync = 1;
	c->max_body = 1048576;
	c->require_signature = 1;
	c->replay_window = 1296000;
	c->log_level = LOG_INFO;
	if ((c->path = strdup(path)) == NULL || (dir = strdup(
	    strchr(path, '/') != NULL ? path : ".")) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	p.dir = dir;
	if ((f = fopen(path, "re")) == NULL || fstat(fileno(f), &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		switch (split_line(line, &key, &val)) {
		case 0:
			continue;
		case -1:
			snprintf(err, errlen, "%s:%lu: expected \"key = value\"",
			    path, lineno);
			goto out;
		}
		if (apply(&p, key, val, seen) == -1) {
			snprintf(err, errlen, "%s:%lu: %s", path, lineno, why);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (finish(&p, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	rc = 0;
 out:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	free(dir);
	if (f != NULL)
		fclose(f);
	return rc;
}

void
conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++) {
		explicit_bzero(c->keys[i].data, c->keys[i].len);
		free(c->keys[i].data);
	}
	free(c->keys);
	free(c->path);
	free(c->spool_dir);
	free(c->timezone);
	free(c->database);
	cidr_list_free(&c->allow_from);
	cidr_list_free(&c->trusted_proxies);
	memset(c, 0, sizeof(*c));
}
