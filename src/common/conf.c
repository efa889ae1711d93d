/*
 * conf.c: the "key = value" file. One table says which keys exist, how
 * each value is parsed and whether the key may repeat; errors name
 * file:line. A file holding app_key must not be readable by others.
 * conf_locate() finds the file; conf_error_kind() says what was wrong in
 * words fit for an HTTP answer.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "fsutil.h"
#include "log.h"

struct pctx {
	struct conf	*c;
	const char	*dir;		/* directory of the config file */
	int		 inline_key;	/* app_key seen in the file itself */
	char		*why;		/* parser's message */
	size_t		 whylen;
	const char	*kind;		/* its public kind (conf_error_kind) */
	unsigned long	 lineno;	/* the line being applied */
	unsigned long	 clock_line;	/* the last line of a CLOCK key */
	unsigned long	 err_line;	/* the line finish()'s fault is on */
};

/*
 * A key's parser: value v into dst, its field of struct conf; 0, or -1
 * with why by fail() (none: out of memory).
 */
typedef int (*parse_fn)(struct pctx *, const char *, void *);

static int	p_string(struct pctx *, const char *, void *);
static int	p_path(struct pctx *, const char *, void *);
static int	p_database(struct pctx *, const char *, void *);
static int	p_bool(struct pctx *, const char *, void *);
static int	p_bytes(struct pctx *, const char *, void *);
static int	p_seconds(struct pctx *, const char *, void *);
static int	p_cidrs(struct pctx *, const char *, void *);
static int	p_key(struct pctx *, const char *, void *);
static int	p_keyfile(struct pctx *, const char *, void *);
static int	p_loglevel(struct pctx *, const char *, void *);
static int	p_logdest(struct pctx *, const char *, void *);
static int	p_logfacility(struct pctx *, const char *, void *);
static int	p_timezone(struct pctx *, const char *, void *);

#define REPEAT	1	/* may be given more than once */
#define CLOCK	2	/* one of the two keys finish() weighs together */

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
	{ "timestamp_tolerance", p_seconds,  offsetof(struct conf, timestamp_tolerance), CLOCK },
	{ "allow_from",		 p_cidrs,    offsetof(struct conf, allow_from), REPEAT },
	{ "trusted_proxies",	 p_cidrs,    offsetof(struct conf, trusted_proxies), REPEAT },
	{ "replay_window",	 p_seconds,  offsetof(struct conf, replay_window), CLOCK },
	{ "log_level",		 p_loglevel, offsetof(struct conf, log_level), 0 },
	{ "log",		 p_logdest,  offsetof(struct conf, log_dest), 0 },
	{ "log_facility",	 p_logfacility, offsetof(struct conf, log_facility), 0 },
	{ "counters",		 p_bool,     offsetof(struct conf, counters), 0 },
	{ "database",		 p_database, offsetof(struct conf, database), 0 },
};
#define NKEYDEFS (sizeof(keydefs) / sizeof(keydefs[0]))

#define SECONDS_LIMIT	(100ULL * 365 * 86400)	/* a century */

static const char *last_kind;		/* conf_error_kind() */
static char last_kind_buf[96];
/* conf_locate passed an unsafe file beside the program over */
static int passed_over;
/* The default: conf_path returns this array itself, for conf_locate. */
static const char default_path[] = CONF_DEFAULT_PATH;

const char *
conf_path(const char *opt)
{
	const char *env;

	if (opt != NULL)
		return opt;
	if ((env = getenv("SMSHOOK_CONFIG")) != NULL && *env != '\0')
		return env;
	return default_path;
}

/*
 * Only its owner (root or the program's owner) can have put path there:
 * 0, or -1 with the reason in note.
 */
static int
owned_safely(const char *path, uid_t owner, char *note, size_t notelen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(note, notelen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != owner) {
		snprintf(note, notelen, "%s belongs to uid %lu, not to the "
		    "program's owner (uid %lu) or root", path,
		    (unsigned long)st.st_uid, (unsigned long)owner);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(note, notelen, "%s is writable by group or others",
		    path);
		return -1;
	}
	return 0;
}

/*
 * CONF_BESIDE in the parent of prog's directory into out: 0 to use it,
 * -1 if it is not there or not safe (why in note).
 */
static int
beside(const char *prog, char *out, size_t outlen, char *note,
    size_t notelen)
{
	char dir[PATH_MAX], parent[PATH_MAX], up[PATH_MAX];
	struct stat prog_st, st;

	if (stat(prog, &prog_st) == -1 ||
	    fs_parent_dir(prog, dir, sizeof(dir)) == -1 ||
	    (size_t)snprintf(parent, sizeof(parent), "%s/..", dir) >=
	    sizeof(parent) || realpath(parent, up) == NULL ||
	    (size_t)snprintf(out, outlen, "%s/%s", strcmp(up, "/") == 0 ?
	    "" : up, CONF_BESIDE) >= outlen)
		return -1;
	if (stat(out, &st) == -1)	/* absent; unreadable: say so later */
		return errno == ENOENT || errno == ENOTDIR ? -1 : 0;
	if (fs_parent_dir(out, dir, sizeof(dir)) == -1 ||
	    owned_safely(dir, prog_st.st_uid, note, notelen) == -1 ||
	    owned_safely(out, prog_st.st_uid, note, notelen) == -1)
		return -1;
	return 0;
}

const char *
conf_locate(const char *opt, const char *prog, char *note, size_t notelen)
{
	static char found[PATH_MAX];
	char self[PATH_MAX];
	const char *path;
	ssize_t n;

	if (notelen > 0)
		*note = '\0';
	passed_over = 0;
	if ((path = conf_path(opt)) != default_path)
		return path;		/* given, or in the environment */
	if (prog == NULL || *prog == '\0') {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return default_path;
		self[n] = '\0';
		prog = self;
	}
	if (beside(prog, found, sizeof(found), note, notelen) == 0)
		return found;
	passed_over = notelen > 0 && *note != '\0';
	return default_path;
}

const char *
conf_error_kind(void)
{
	return last_kind;
}

/* Remember what went wrong, " at line N" added when lineno is set. */
static void
set_kind(const char *kind, unsigned long lineno)
{
	if (lineno == 0) {
		last_kind = kind;
		return;
	}
	snprintf(last_kind_buf, sizeof(last_kind_buf), "%s at line %lu", kind,
	    lineno);
	last_kind = last_kind_buf;
}

/* The public kind of an open(2)-style failure of file (a noun). */
static const char *
open_kind(int err, int keyfile)
{
	if (err == ENOENT || err == ENOTDIR)
		return keyfile ? "key file not found" :
		    "configuration file not found";
	if (err == EACCES || err == EPERM)
		return keyfile ? "key file not readable" :
		    "configuration file not readable";
	return keyfile ? "key file unreadable" :
	    "configuration file unreadable";
}

/*
 * Open path for reading without waiting on a FIFO: the fd of a regular
 * file, its stat in *st; else -1 with errno, EINVAL for any other kind.
 */
static int
open_regular(const char *path, struct stat *st)
{
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	if (!fs_regular(fd, st)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Format why for the caller, kind its public kind (NULL: none); -1. */
static int
vfail(struct pctx *p, const char *kind, const char *fmt, va_list ap)
{
	vsnprintf(p->why, p->whylen, fmt, ap);
	p->kind = kind;
	return -1;
}

/* Store a message for the caller to prefix with file:line; returns -1. */
static int __attribute__((format(printf, 2, 3)))
fail(struct pctx *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(p, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

/* The same, with the public kind of the failure. */
static int __attribute__((format(printf, 3, 4)))
kfail(struct pctx *p, const char *kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(p, kind, fmt, ap);
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

/* A copy of v, as is. */
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

/* A URL; the path of a relative sqlite: one is taken like p_path's. */
static int
p_database(struct pctx *p, const char *v, void *dst)
{
	const char *rel = NULL;
	char **s = dst;

	if (strncmp(v, "sqlite://", 9) == 0)
		rel = v + 9;
	else if (strncmp(v, "sqlite:", 7) == 0)
		rel = v + 7;
	if (rel == NULL || *rel == '\0' || *rel == '/' ||
	    strcmp(rel, ":memory:") == 0)
		return p_string(p, v, dst);
	if (asprintf(s, "sqlite:%s/%s", p->dir, rel) == -1) {
		*s = NULL;
		return -1;
	}
	return 0;
}

/* yes, true, on, 1 or no, false, off, 0, in any case, into an int. */
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

/* A size from 1 byte to CONF_MAX_BODY, with k, m or g (conf_number). */
static int
p_bytes(struct pctx *p, const char *v, void *dst)
{
	if (conf_number(v, 0, CONF_MAX_BODY, dst) == -1 ||
	    *(unsigned long long *)dst == 0)
		return fail(p, "expected a size from 1 to 1g (bytes, "
		    "or with k, m, g), not \"%s\"", v);
	return 0;
}

/* Seconds up to a century, with s, m, h or d (conf_number). */
static int
p_seconds(struct pctx *p, const char *v, void *dst)
{
	if (conf_number(v, 1, SECONDS_LIMIT, dst) == -1)
		return fail(p, "expected seconds (or a number with s, m, h, d),"
		    " not \"%s\"", v);
	return 0;
}

/* One line's ranges: at least one, or it would silently allow all. */
static int
p_cidrs(struct pctx *p, const char *v, void *dst)
{
	struct cidr_list *l = dst;
	size_t had = l->n;
	char bad[64];

	if (cidr_list_add(l, v, bad, sizeof(bad)) == -1)
		return fail(p, "bad address range \"%s\"", bad);
	if (l->n == had)
		return fail(p, "no address range in \"%s\"", v);
	return 0;
}

/* Append one key of len bytes to the key list. */
static int
add_key(struct pctx *p, const char *data, size_t len)
{
	struct conf *c = p->c;
	struct conf_key *nk;

	if (len == 0)
		return kfail(p, "empty key", "empty key");
	if ((nk = reallocarray(c->keys, c->nkeys + 1, sizeof(*nk))) == NULL)
		return fail(p, "out of memory");
	c->keys = nk;
	if ((nk[c->nkeys].data = malloc(len)) == NULL)
		return fail(p, "out of memory");
	memcpy(nk[c->nkeys].data, data, len);
	nk[c->nkeys].file = NULL;
	nk[c->nkeys++].len = len;
	return 0;
}

/* 1 if the len bytes at s start with a UTF-8 byte order mark, else 0. */
static int
bom(const char *s, size_t len)
{
	return len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0;
}

/*
 * What is wrong with a key of len bytes at k that no provider's key has,
 * or NULL: a byte order mark an editor put first, white space before it
 * or quotes around it, which would then be part of it and fail every
 * signature.
 */
static const char *
key_odd(const char *k, size_t len)
{
	if (bom(k, len))
		return "starts with a byte order mark (save it without one)";
	if (len > 0 && isspace((unsigned char)k[0]))
		return "starts with white space, which would be part of the "
		    "key (remove it)";
	if (len >= 2 && (k[0] == '"' || k[0] == '\'') && k[len - 1] == k[0])
		return "is in quotes, which would be part of the key (remove "
		    "them)";
	return NULL;
}

/* A key given in the file itself, appended to the key list. */
static int
p_key(struct pctx *p, const char *v, void *dst)
{
	const char *odd;

	(void)dst;
	p->inline_key = 1;
	if ((odd = key_odd(v, strlen(v))) != NULL)
		return fail(p, "app_key %s", odd);
	return add_key(p, v, strlen(v));
}

/*
 * 1 if fd holds only white space up to its next '\n' or its end, 0 if
 * anything else comes first (2 if that is a NUL byte), -1 on a read
 * error.
 */
static int
blank_to_eol(int fd)
{
	char more[256];
	ssize_t r, i;
	int rc = -1;

	for (;;) {
		if ((r = read(fd, more, sizeof(more))) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		for (i = 0; i < r && more[i] != '\n'; i++)
			if (!isspace((unsigned char)more[i])) {
				rc = more[i] == '\0' ? 2 : 0;
				goto out;
			}
		if (r == 0 || i < r)
			break;
	}
	rc = 1;
 out:
	explicit_bzero(more, sizeof(more));
	return rc;
}

/*
 * Key file fd's first line into buf[CONF_KEY_FILE_MAX + 1]: its length
 * without the '\n'; -2 if it is longer than CONF_KEY_FILE_MAX bytes
 * even without its trailing white space, -3 if a NUL byte comes first
 * after those; -1 on a read error.
 */
static ssize_t
key_line(int fd, char *buf)
{
	size_t n = 0;
	ssize_t r;
	char *nl;

	/* read no more than a key can be, and one byte */
	while (n <= CONF_KEY_FILE_MAX) {
		if ((r = read(fd, buf + n, CONF_KEY_FILE_MAX + 1 - n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return (ssize_t)n;
		if ((nl = memchr(buf + n, '\n', (size_t)r)) != NULL)
			return nl - buf;
		n += (size_t)r;
	}
	/* buf is full: the key fits if only white space follows it */
	if (buf[CONF_KEY_FILE_MAX] == '\0')
		return -3;
	if (!isspace((unsigned char)buf[CONF_KEY_FILE_MAX]))
		return -2;
	switch (blank_to_eol(fd)) {
	case -1:
		return -1;
	case 0:
		return -2;
	case 2:
		return -3;
	}
	return (ssize_t)n;
}

/* The key is the file's whole first line, without trailing white space. */
static int
p_keyfile(struct pctx *p, const char *v, void *dst)
{
	char *path = NULL, buf[CONF_KEY_FILE_MAX + 1];
	const char *odd;
	struct stat st;
	ssize_t n;
	size_t len;
	int fd = -1, rc = -1;

	(void)dst;
	if (p_path(p, v, &path) == -1)
		return fail(p, "out of memory");
	/* a FIFO there must not hang the start or a request */
	if ((fd = open_regular(path, &st)) == -1) {
		if (errno == EINVAL)
			kfail(p, "key file not a regular file",
			    "key file %s is not a regular file", path);
		else
			kfail(p, open_kind(errno, 1),
			    "cannot read key file %s: %s", path,
			    strerror(errno));
		goto out;
	}
	if (st.st_mode & S_IROTH) {
		kfail(p, "key file readable by others",
		    "key file %s is readable by others (chmod o-r)", path);
		goto out;
	}
	if (st.st_mode & S_IWOTH) {	/* anyone could sign with their own */
		kfail(p, "key file writable by others",
		    "key file %s is writable by others (chmod o-w)", path);
		goto out;
	}
	if ((n = key_line(fd, buf)) == -1) {
		kfail(p, "key file unreadable",
		    "cannot read key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (n == -2) {
		kfail(p, "key file too long", "key file %s: the key is longer "
		    "than %d bytes", path, CONF_KEY_FILE_MAX);
		goto out;
	}
	len = n == -3 ? 0 : (size_t)n;
	if (n == -3 || memchr(buf, '\0', len) != NULL) {
		kfail(p, "key file holds a NUL byte",
		    "key file %s holds a NUL byte", path);
		goto out;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	if (len == 0) {
		if (st.st_size == 0)
			kfail(p, "key file empty", "key file %s is empty",
			    path);
		else
			kfail(p, "empty key", "key file %s: empty key (its "
			    "first line is blank)", path);
		goto out;
	}
	if ((odd = key_odd(buf, len)) != NULL) {
		kfail(p, "bad value", "key file %s: the key %s", path, odd);
		goto out;
	}
	if ((rc = add_key(p, buf, len)) == 0) {
		p->c->keys[p->c->nkeys - 1].file = path;
		path = NULL;
	}
 out:
	explicit_bzero(buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}

/* A log level by name (log_level_parse), into an int. */
static int
p_loglevel(struct pctx *p, const char *v, void *dst)
{
	int l;

	if ((l = log_level_parse(v)) == -1)
		return fail(p, "expected error, warn, info or debug, "
		    "not \"%s\"", v);
	*(int *)dst = l;
	return 0;
}

/* Where logs go by name (log_dest_parse), into an int. */
static int
p_logdest(struct pctx *p, const char *v, void *dst)
{
	int d;

	if ((d = log_dest_parse(v)) == -1)
		return fail(p, "expected stderr, syslog or fcgi, "
		    "not \"%s\"", v);
	*(int *)dst = d;
	return 0;
}

/* A syslog facility by name (log_facility_parse), into an int. */
static int
p_logfacility(struct pctx *p, const char *v, void *dst)
{
	int f;

	if ((f = log_facility_parse(v)) == -1)
		return fail(p, "expected daemon, user or local0 to local7, "
		    "not \"%s\"", v);
	*(int *)dst = f;
	return 0;
}

#define TZIF_HEAD	44	/* a TZif header's size */

/* The big-endian 32-bit count at h[at]. */
static uint32_t
tzif_count(const unsigned char *h, size_t at)
{
	return (uint32_t)h[at] << 24 | (uint32_t)h[at + 1] << 16 |
	    (uint32_t)h[at + 2] << 8 | h[at + 3];
}

/*
 * The zone file at path: 1 a TZif file, 0 something else, -1 none there.
 * *leap says if it counts leap seconds, in the 32-bit data's header or,
 * from version 2, in the 64-bit data's, which follows the 32-bit data.
 */
static int
tzif_read(const char *path, int *leap)
{
	unsigned char h[TZIF_HEAD];
	struct stat st;
	uint64_t data;
	int fd, rc = 0;

	*leap = 0;
	if ((fd = open_regular(path, &st)) == -1)
		return -1;
	if (read(fd, h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    memcmp(h, "TZif", 4) != 0)
		goto out;
	rc = 1;
	*leap = tzif_count(h, 28) != 0;
	if (h[4] < '2' || *leap)
		goto out;
	/*
	 * the counts at 20: isutcnt, isstdcnt, leapcnt (0 here), timecnt,
	 * typecnt, charcnt; the data: 5 bytes a transition, 6 a type
	 */
	data = (uint64_t)tzif_count(h, 32) * 5 + (uint64_t)tzif_count(h,
	    36) * 6 + tzif_count(h, 40) + tzif_count(h, 24) + tzif_count(h,
	    20);
	/* lseek and read: the receiver keeps pread for the spool (its fault
	 * tests fail the first pread, a day file's tail) */
	if (lseek(fd, (off_t)(TZIF_HEAD + data), SEEK_SET) != -1 &&
	    read(fd, h, sizeof(h)) == (ssize_t)sizeof(h) &&
	    memcmp(h, "TZif", 4) == 0)
		*leap = tzif_count(h, 28) != 0;
 out:
	close(fd);
	return rc;
}

/* An IANA zone name that exists under $TZDIR or /usr/share/zoneinfo. */
static int
p_timezone(struct pctx *p, const char *v, void *dst)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX];
	size_t i;
	int kind, leap;

	for (i = 0; v[i] != '\0'; i++)
		if (!isalnum((unsigned char)v[i]) &&
		    strchr("/_+-", v[i]) == NULL)
			break;
	if (v[i] != '\0' || v[0] == '/' || strstr(v, "..") != NULL)
		return fail(p, "bad time zone name \"%s\"", v);
	/* the system clock has no leap seconds: local days would start 27 s
	 * late */
	if (strncmp(v, "right/", 6) == 0)
		return fail(p, "time zone \"%s\" counts leap seconds, which "
		    "the system clock does not: use \"%s\"", v, v + 6);
	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	/*
	 * a zone file begins "TZif"; leapseconds and the like do not. UTC
	 * needs none (the C library knows it), but one there is used.
	 */
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, v) >=
	    sizeof(path))
		return fail(p, "unknown time zone \"%s\"", v);
	kind = tzif_read(path, &leap);
	if (kind == 0 || (kind == -1 && strcmp(v, "UTC") != 0))
		return fail(p, "unknown time zone \"%s\"", v);
	if (leap)	/* TZDIR naming a right/ folder, say */
		return fail(p, "time zone \"%s\" in %s counts leap seconds, "
		    "which the system clock does not (check TZDIR)", v, dir);
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
		return kfail(p, "unknown key", "unknown key \"%s\"", key);
	d = &keydefs[i];
	if (seen[i] && !(d->flags & REPEAT))
		return kfail(p, "duplicate key", "duplicate key \"%s\"", key);
	seen[i] = 1;
	if (d->flags & CLOCK)
		p->clock_line = p->lineno;
	if (*val == '\0')
		return kfail(p, "empty value", "empty value for \"%s\"", key);
	*p->why = '\0';
	p->kind = NULL;
	if (d->parse(p, val, (char *)p->c + d->off) == -1) {
		if (*p->why == '\0')
			kfail(p, "out of memory", "out of memory");
		if (p->kind == NULL)
			p->kind = "bad value";
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
		return kfail(p, "spool_dir missing", "spool_dir is required");
	if (c->nkeys == 0 && c->require_signature)
		return kfail(p, "no app_key set",
		    "no app_key set: set app_key or app_key_file "
		    "(or require_signature = no)");
	if (p->inline_key && (st->st_mode & S_IROTH))
		return kfail(p, "configuration file readable by others",
		    "holds app_key but is readable by others "
		    "(chmod o-r, or use app_key_file)");
	/* anyone could name their own key, or another spool */
	if (st->st_mode & S_IWOTH)
		return kfail(p, "configuration file writable by others",
		    "is writable by others (chmod o-w)");
	/* the default is checked as a written one is (TZDIR may name a
	 * right/ folder) */
	*p->why = '\0';
	if (c->timezone == NULL && p_timezone(p, "UTC", &c->timezone) == -1) {
		if (*p->why == '\0')
			return kfail(p, "out of memory", "out of memory");
		p->kind = "time zone";
		return -1;
	}
	/* a signature must never outlive the memory of its token */
	if (c->replay_window > 0 && (c->timestamp_tolerance == 0 ||
	    c->timestamp_tolerance > c->replay_window)) {
		p->err_line = p->clock_line;	/* the later of the two */
		return kfail(p, c->timestamp_tolerance == 0 ?
		    "timestamp_tolerance off while replay_window is on" :
		    "timestamp_tolerance longer than replay_window",
		    "timestamp_tolerance (%llu s%s) must be between 1 s and "
		    "replay_window (%llu s), or an old event could be replayed "
		    "once its token is forgotten", c->timestamp_tolerance,
		    c->timestamp_tolerance == 0 ? ", off" : "",
		    c->replay_window);
	}
	return 0;
}

/*
 * Open the configuration file path, a regular file (a FIFO must not
 * hang a check or a request), its stat in *st; NULL with err and the
 * kind set.
 */
static FILE *
open_conf(const char *path, struct stat *st, char *err, size_t errlen)
{
	FILE *f;
	int fd, saved;

	if ((fd = open_regular(path, st)) == -1) {
		if (errno == EINVAL) {
			set_kind("configuration file not a regular file", 0);
			snprintf(err, errlen, "%s: not a regular file", path);
		} else {
			saved = errno;
			set_kind(open_kind(saved, 0), 0);
			snprintf(err, errlen, "%s: %s", path, strerror(saved));
		}
		/* the default, for want of the one beside: that one's fault */
		if (passed_over && strcmp(path, CONF_DEFAULT_PATH) == 0)
			set_kind("configuration file not safe (owner or mode)",
			    0);
		return NULL;
	}
	if ((f = fdopen(fd, "re")) == NULL) {
		saved = errno;
		close(fd);
		set_kind("out of memory", 0);
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
	}
	return f;
}

int
conf_parse(struct conf *c, const char *path, char *err, size_t errlen)
{
	int seen[NKEYDEFS] = { 0 };
	char why[256], *line = NULL, *key, *val, *dir = NULL, *slash;
	struct pctx p = { c, NULL, 0, why, sizeof(why), NULL, 0, 0, 0 };
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	struct stat st;
	FILE *f = NULL;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	set_kind("out of memory", 0);
	c->fsync = 1;
	c->max_body = 1048576;
	c->require_signature = 1;
	c->replay_window = CONF_REPLAY_WINDOW;
	c->timestamp_tolerance = CONF_TOLERANCE;
	c->log_level = LL_INFO;
	c->log_dest = LD_STDERR;
	c->log_facility = LOG_DAEMON;
	c->counters = 1;
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
	if ((f = open_conf(path, &st, err, errlen)) == NULL)
		goto out;
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		/* a NUL would end the line early, cutting a value short */
		if (memchr(line, '\0', (size_t)n) != NULL) {
			set_kind("configuration file holds a NUL byte", lineno);
			snprintf(err, errlen, "%s:%lu: NUL byte in line", path,
			    lineno);
			goto out;
		}
		switch (split_line(line, &key, &val)) {
		case 0:
			continue;
		case -1:
			set_kind("syntax error", lineno);
			snprintf(err, errlen, "%s:%lu: expected "
			    "\"key = value\"%s", path, lineno, lineno == 1 &&
			    bom(line, (size_t)n) ?
			    " (the file starts with a byte order mark: save it "
			    "without one)" : "");
			goto out;
		}
		p.lineno = lineno;
		if (apply(&p, key, val, seen) == -1) {
			set_kind(p.kind, lineno);
			snprintf(err, errlen, "%s:%lu: %s", path, lineno, why);
			goto out;
		}
	}
	/* getline's -1 is also for want of memory to grow the line */
	if (ferror(f) || !feof(f)) {
		set_kind("configuration file unreadable", 0);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (finish(&p, &st) == -1) {
		set_kind(p.kind, p.err_line);
		if (p.err_line > 0)
			snprintf(err, errlen, "%s:%lu: %s", path, p.err_line,
			    why);
		else
			snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	set_kind(NULL, 0);
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
		free(c->keys[i].file);
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
