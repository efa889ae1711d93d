/* test_conf.c: conf_parse defaults, every key, every error, key files. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "log.h"

#include "mallocfail.h"

/* The minimum valid file: two lines, so a line added below is line 3. */
#define BASE	"spool_dir = /var/spool/smshook\napp_key = k\n"

struct fx {
	char	dir[64];	/* a fresh mkdtemp directory */
	char	path[128];	/* dir/smshook.conf */
	char	err[512];
	struct conf c;
};

static int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_conf.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/smshook.conf", f->dir);
	*state = f;
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	conf_free(&f->c);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Write len bytes of text to dir/name with exactly mode (any umask). */
static void
put_len(struct fx *f, const char *name, mode_t mode, const char *text,
    size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* Write text to dir/name with exactly mode (whatever the umask). */
static void
put(struct fx *f, const char *name, mode_t mode, const char *text)
{
	put_len(f, name, mode, text, strlen(text));
}

/* Write the config with mode and parse it into f->c (freed first). */
static int
parse_mode(struct fx *f, mode_t mode, const char *text)
{
	conf_free(&f->c);
	put(f, "smshook.conf", mode, text);
	f->err[0] = '\0';
	return conf_parse(&f->c, f->path, f->err, sizeof(f->err));
}

/* Parse a mode 0600 config that must be accepted. */
static struct conf *
good(struct fx *f, const char *text)
{
	if (parse_mode(f, 0600, text) != 0)
		fail_msg("rejected:\n%s\nerror: %s", text, f->err);
	return &f->c;
}

/* Assert the error names the file, line (0: no line) and has want in it. */
static void
check_err(struct fx *f, unsigned long line, const char *want)
{
	char prefix[256];

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%lu: ", f->path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", f->path);
	if (strncmp(f->err, prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", f->err,
		    prefix);
	if (strstr(f->err + strlen(prefix), want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", f->err, want);
}

/* Parse a mode 0600 config that must be refused at line with want. */
static void
bad(struct fx *f, const char *text, unsigned long line, const char *want)
{
	if (parse_mode(f, 0600, text) != -1)
		fail_msg("accepted:\n%s", text);
	check_err(f, line, want);
}

/* BASE plus one "key = value" line that must be refused at line 3. */
static void
bad_value(struct fx *f, const char *key, const char *value, const char *want)
{
	char text[1024];

	snprintf(text, sizeof(text), BASE "%s = %s\n", key, value);
	bad(f, text, 3, want);
}

/* BASE plus one line that must be accepted; returns the conf. */
static struct conf *
good_line(struct fx *f, const char *line)
{
	char text[1024];

	snprintf(text, sizeof(text), BASE "%s\n", line);
	return good(f, text);
}

static void
test_defaults(void **state)
{
	struct fx *f = *state;
	struct conf *c = good(f, BASE);

	assert_string_equal(c->path, f->path);
	assert_string_equal(c->spool_dir, "/var/spool/smshook");
	assert_int_equal(c->nkeys, 1);
	assert_int_equal(c->keys[0].len, 1);
	assert_memory_equal(c->keys[0].data, "k", 1);
	assert_string_equal(c->timezone, "UTC");
	assert_int_equal(c->fsync, 1);
	assert_int_equal(c->max_body, 1048576);
	assert_int_equal(c->require_signature, 1);
	assert_int_equal(c->timestamp_tolerance, 172800);
	assert_int_equal(c->allow_from.n, 0);
	assert_int_equal(c->trusted_proxies.n, 0);
	assert_int_equal(c->replay_window, 1296000);
	assert_int_equal(c->log_level, LL_INFO);
	assert_null(c->database);
}

static void
test_every_key(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	c = good(f,
	    "# smshook.conf\n"
	    "\n"
	    "   # indented comment\n"
	    "app_key = first key\n"
	    "spool_dir=/srv/spool\n"
	    "timezone = Asia/Shanghai\n"
	    "fsync = no\n"
	    "max_body = 64k\n"
	    "require_signature = yes\n"
	    "timestamp_tolerance = 2d\n"
	    "allow_from = 192.0.2.0/24, 2001:db8::/32\n"
	    "trusted_proxies = 127.0.0.1 ::1\n"
	    "replay_window = 3d\n"
	    "log_level = debug\n"
	    "database = postgresql://smshook@db/smshook?sslmode=require\n"
	    "\t app_key \t=\t  second  \t\r\n");
	assert_string_equal(c->spool_dir, "/srv/spool");
	assert_string_equal(c->timezone, "Asia/Shanghai");
	assert_int_equal(c->fsync, 0);
	assert_int_equal(c->max_body, 65536);
	assert_int_equal(c->require_signature, 1);
	assert_int_equal(c->timestamp_tolerance, 2 * 86400);
	assert_int_equal(c->allow_from.n, 2);
	assert_int_equal(c->allow_from.v[0].prefix, 96 + 24);
	assert_int_equal(c->allow_from.v[1].prefix, 32);
	assert_int_equal(c->trusted_proxies.n, 2);
	assert_int_equal(c->replay_window, 3 * 86400);
	assert_int_equal(c->log_level, LL_DEBUG);
	assert_string_equal(c->database,
	    "postgresql://smshook@db/smshook?sslmode=require");
	/* keys in order, inner spaces kept, outer white space dropped */
	assert_int_equal(c->nkeys, 2);
	assert_int_equal(c->keys[0].len, 9);
	assert_memory_equal(c->keys[0].data, "first key", 9);
	assert_int_equal(c->keys[1].len, 6);
	assert_memory_equal(c->keys[1].data, "second", 6);
}

static void
test_values(void **state)
{
	static const struct { const char *line; size_t off; unsigned long long
	    want; } nums[] = {
#define O(m) offsetof(struct conf, m)
		{ "max_body = 1", O(max_body), 1 },
		{ "max_body = 1048576", O(max_body), 1048576 },
		{ "max_body = 1k", O(max_body), 1024 },
		{ "max_body = 1K", O(max_body), 1024 },
		{ "max_body = 3m", O(max_body), 3 << 20 },
		{ "max_body = 3M", O(max_body), 3 << 20 },
		{ "max_body = 1g", O(max_body), 1ULL << 30 },
		{ "max_body = 1073741824", O(max_body), 1ULL << 30 },
		{ "max_body = 1048576k", O(max_body), 1ULL << 30 },
		{ "max_body = 007", O(max_body), 7 },
		{ "timestamp_tolerance = 300", O(timestamp_tolerance), 300 },
		{ "timestamp_tolerance = 300s", O(timestamp_tolerance), 300 },
		{ "timestamp_tolerance = 5m", O(timestamp_tolerance), 300 },
		{ "timestamp_tolerance = 5M", O(timestamp_tolerance), 300 },
		{ "timestamp_tolerance = 48h", O(timestamp_tolerance), 172800 },
		{ "replay_window = 0", O(replay_window), 0 },
		{ "replay_window = 15d", O(replay_window), 1296000 },
		{ "replay_window = 36500d", O(replay_window), 3153600000ULL },
#undef O
	};
	static const struct { const char *v; int want; } bools[] = {
		{ "yes", 1 }, { "YES", 1 }, { "true", 1 }, { "True", 1 },
		{ "on", 1 }, { "1", 1 }, { "no", 0 }, { "No", 0 },
		{ "false", 0 }, { "off", 0 }, { "OFF", 0 }, { "0", 0 },
	};
	static const struct { const char *v; int want; } levels[] = {
		{ "error", LL_ERROR }, { "warn", LL_WARN }, { "info", LL_INFO },
		{ "debug", LL_DEBUG },
	};
	struct fx *f = *state;
	struct conf *c;
	char line[128];
	size_t i;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		c = good_line(f, nums[i].line);
		if (*(unsigned long long *)((char *)c + nums[i].off) !=
		    nums[i].want)
			fail_msg("\"%s\" gave %llu", nums[i].line,
			    *(unsigned long long *)((char *)c + nums[i].off));
	}
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(line, sizeof(line), "fsync = %s", bools[i].v);
		assert_int_equal(good_line(f, line)->fsync, bools[i].want);
		snprintf(line, sizeof(line), "require_signature = %s",
		    bools[i].v);
		assert_int_equal(good_line(f, line)->require_signature,
		    bools[i].want);
	}
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(line, sizeof(line), "log_level = %s", levels[i].v);
		assert_int_equal(good_line(f, line)->log_level, levels[i].want);
	}
	assert_string_equal(good_line(f, "timezone = UTC")->timezone, "UTC");
	assert_string_equal(good_line(f, "timezone = America/Argentina/"
	    "Buenos_Aires")->timezone, "America/Argentina/Buenos_Aires");
	assert_string_equal(good_line(f, "timezone = Etc/GMT+8")->timezone,
	    "Etc/GMT+8");
	assert_string_equal(good_line(f, "database = sqlite:/var/db/s.db")->
	    database, "sqlite:/var/db/s.db");
}

static void
test_relative_spool(void **state)
{
	struct fx *f = *state;
	char want[256];

	snprintf(want, sizeof(want), "%s/spool/day", f->dir);
	assert_string_equal(good(f, "app_key = k\nspool_dir = spool/day\n")->
	    spool_dir, want);
}

static void
test_bad_lines(void **state)
{
	struct fx *f = *state;

	bad(f, BASE "# ok\n\nfrobnicate = 1\n", 5, "unknown key \"frobnicate\"");
	bad(f, "app_key = k\nspool_dir\n", 2, "key = value");
	bad(f, BASE "= value\n", 3, "key = value");
	bad(f, BASE "spool dir = x\n", 3, "key = value");
	bad(f, BASE "Spool_Dir = x\n", 3, "");
	bad(f, BASE "spool_dir2 = x\n", 3, "");
	bad(f, BASE "spool_dir: /x\n", 3, "key = value");
	bad(f, "app_key = k\nspool_dir =\n", 2, "empty value");
	bad(f, "app_key = k\nspool_dir =   \t \n", 2, "empty value");
	bad(f, "spool_dir = /x\napp_key=\n", 2, "empty value");
	bad(f, BASE "allow_from =\n", 3, "empty value");
	bad_value(f, "timezone", "", "empty value");
}

/* A NUL byte anywhere in a line is refused, never read as its end. */
static void
test_nul_byte(void **state)
{
	static const struct { const char *text; size_t len; } nuls[] = {
#define NUL_CASE(s)	{ s, sizeof(s) - 1 }
		NUL_CASE(BASE "app_key = abc\0def\n"),	/* not "abc" */
		NUL_CASE(BASE "\0app_key = x\n"),	/* not a blank line */
		NUL_CASE(BASE "# a comment\0too\n"),
		NUL_CASE(BASE "\0\n"),
		NUL_CASE(BASE "fsync = no\0"),		/* the last line */
#undef NUL_CASE
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(nuls) / sizeof(nuls[0]); i++) {
		conf_free(&f->c);
		put_len(f, "smshook.conf", 0600, nuls[i].text, nuls[i].len);
		if (conf_parse(&f->c, f->path, f->err, sizeof(f->err)) != -1)
			fail_msg("case %zu accepted", i);
		check_err(f, 3, "NUL byte in line");
		assert_string_equal(conf_error_kind(),
		    "configuration file holds a NUL byte at line 3");
	}
}

static void
test_duplicates(void **state)
{
	static const char *const once[] = {
		"spool_dir = /b", "timezone = UTC", "fsync = yes",
		"max_body = 1k", "require_signature = yes",
		"timestamp_tolerance = 1", "replay_window = 1",
		"log_level = info", "database = sqlite:x",
	};
	struct fx *f = *state;
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		snprintf(text, sizeof(text), BASE "%s\n# between\n%s\n",
		    once[i], once[i]);
		if (i == 0)	/* BASE already has spool_dir */
			bad(f, text, 3, "duplicate key \"spool_dir\"");
		else
			bad(f, text, 5, "duplicate key");
	}
}

static void
test_repeatable(void **state)
{
	struct fx *f = *state;
	struct conf *c;
	uint8_t a[16];

	put(f, "k2", 0600, "key-two\n");
	c = good(f, BASE
	    "app_key = key-one\n"
	    "app_key_file = k2\n"
	    "app_key = key-three\n"
	    "allow_from = 10.0.0.0/8\n"
	    "allow_from = 192.0.2.0/24, 2001:db8::/32\n"
	    "trusted_proxies = 127.0.0.1\n"
	    "trusted_proxies = ::1\n");
	assert_int_equal(c->nkeys, 4);
	assert_memory_equal(c->keys[0].data, "k", 1);
	assert_int_equal(c->keys[1].len, 7);
	assert_memory_equal(c->keys[1].data, "key-one", 7);
	assert_int_equal(c->keys[2].len, 7);
	assert_memory_equal(c->keys[2].data, "key-two", 7);
	assert_int_equal(c->keys[3].len, 9);
	assert_memory_equal(c->keys[3].data, "key-three", 9);
	assert_int_equal(c->allow_from.n, 3);
	assert_int_equal(c->trusted_proxies.n, 2);
	assert_int_equal(cidr_addr_parse("10.1.2.3", a), 0);
	assert_int_equal(cidr_list_match(&c->allow_from, a), 1);
	assert_int_equal(cidr_list_match(&c->trusted_proxies, a), 0);
	assert_int_equal(cidr_addr_parse("::1", a), 0);
	assert_int_equal(cidr_list_match(&c->trusted_proxies, a), 1);
}

static void
test_bad_bool(void **state)
{
	static const char *const v[] = { "maybe", "y", "n", "yes please",
	    "2", "-1", "enable", "\"yes\"" };
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		bad_value(f, "fsync", v[i], "expected yes or no");
		bad_value(f, "require_signature", v[i], "expected yes or no");
	}
}

static void
test_bad_size(void **state)
{
	static const char *const v[] = {
		"0", "0k", "-1", "-1k", "+1", "1 k", "1kb", "1t",
		"1s", "1.5k", "1e3", "0x10", "k", "m", "1024x", "2g",
		"1073741825", "1048577k", "1025m", "4294967296",
		"18446744073709551615", "18446744073709551616",
		"99999999999999999999999", "18014398509481984k", "one",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		bad_value(f, "max_body", v[i], "expected a size");
}

static void
test_bad_seconds(void **state)
{
	static const char *const v[] = {
		"-1", "+1", "1w", "1y", "1ms", "1.5h", "1k", "1 s", "h", "s",
		"36501d", "3153600001", "876001h", "52560001m",
		"18446744073709551615", "18446744073709551616",
		"99999999999999999999999", "213503982334601d", "soon",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		bad_value(f, "timestamp_tolerance", v[i], "expected seconds");
		bad_value(f, "replay_window", v[i], "expected seconds");
	}
}

static void
test_bad_cidr(void **state)
{
	struct fx *f = *state;

	bad_value(f, "allow_from", "10.0.0.1/8", "\"10.0.0.1/8\"");
	bad_value(f, "allow_from", "192.0.2.0/24, nonsense", "\"nonsense\"");
	bad_value(f, "allow_from", "0.0.0.0/33", "bad address range");
	bad_value(f, "trusted_proxies", "::1/129", "\"::1/129\"");
	bad_value(f, "trusted_proxies", "localhost", "bad address range");
	bad_value(f, "trusted_proxies", "*", "bad address range");
	/* separators alone: no range, which would silently allow all */
	bad_value(f, "allow_from", ",", "no address range");
	bad_value(f, "allow_from", " , \t,", "no address range");
	bad_value(f, "trusted_proxies", ", ,", "no address range");
}

static void
test_bad_log_level(void **state)
{
	struct fx *f = *state;

	bad_value(f, "log_level", "verbose", "expected error, warn, info");
	bad_value(f, "log_level", "warning", "expected error, warn, info");
	bad_value(f, "log_level", "3", "expected error, warn, info");
}

static void
test_bad_timezone(void **state)
{
	struct fx *f = *state;

	bad_value(f, "timezone", "Mars/Olympus_Mons", "unknown time zone");
	bad_value(f, "timezone", "Europe", "unknown time zone");
	bad_value(f, "timezone", "../../../etc/passwd", "time zone");
	bad_value(f, "timezone", "Europe/../UTC", "time zone");
	bad_value(f, "timezone", "..", "time zone");
	bad_value(f, "timezone", "/etc/localtime", "time zone");
	bad_value(f, "timezone", "/usr/share/zoneinfo/UTC", "time zone");
	bad_value(f, "timezone", "Asia/Shanghai junk", "time zone");
	bad_value(f, "timezone", "Asia\\Shanghai", "time zone");
	bad_value(f, "timezone", "UTC;rm", "time zone");
	/* a TZif file, but local time 27 s behind the system clock's */
	bad_value(f, "timezone", "right/UTC", "counts leap seconds, which "
	    "the system clock does not: use \"UTC\"");
	bad_value(f, "timezone", "right/Asia/Shanghai", "use \"Asia/"
	    "Shanghai\"");
}

static void
test_timezone_tzdir(void **state)
{
	struct fx *f = *state;
	char zdir[128], zone[44] = "TZif2";	/* a header, no data */
	const char *old = getenv("TZDIR");
	char *saved = old != NULL ? strdup(old) : NULL;
	int rc;

	snprintf(zdir, sizeof(zdir), "%s/zones", f->dir);
	assert_int_equal(mkdir(zdir, 0700), 0);
	put_len(f, "zones/Test_Zone", 0644, zone, sizeof(zone));
	put(f, "zones/leapseconds", 0644, "# Leap second list\n");
	assert_int_equal(setenv("TZDIR", zdir, 1), 0);
	rc = parse_mode(f, 0600, BASE "timezone = Test_Zone\n");
	if (rc == 0)
		rc = strcmp(f->c.timezone, "Test_Zone") == 0 ? 0 : -2;
	if (rc == 0)	/* a file that is not a zone (no "TZif") is none */
		rc = parse_mode(f, 0600, BASE "timezone = leapseconds\n") ==
		    -1 && strstr(f->err, ":3: unknown time zone") != NULL ?
		    0 : -4;
	if (rc == 0)	/* a real zone absent from TZDIR is unknown there */
		rc = parse_mode(f, 0600, BASE "timezone = Asia/Shanghai\n") ==
		    -1 ? 0 : -3;
	if (saved != NULL)
		setenv("TZDIR", saved, 1);
	else
		unsetenv("TZDIR");
	free(saved);
	assert_int_equal(rc, 0);
	check_err(f, 3, "unknown time zone");
}

/*
 * Parse BASE with "timezone = zone" (none if zone is NULL), TZDIR set to
 * f->dir/zones; restored after.
 */
static int
parse_tzdir(struct fx *f, const char *zone)
{
	char zdir[128], text[256];
	const char *old = getenv("TZDIR");
	char *saved = old != NULL ? strdup(old) : NULL;
	int rc;

	snprintf(zdir, sizeof(zdir), "%s/zones", f->dir);
	if (zone != NULL)
		snprintf(text, sizeof(text), BASE "timezone = %s\n", zone);
	else
		snprintf(text, sizeof(text), BASE);
	assert_int_equal(setenv("TZDIR", zdir, 1), 0);
	rc = parse_mode(f, 0600, text);
	if (saved != NULL)
		setenv("TZDIR", saved, 1);
	else
		unsetenv("TZDIR");
	free(saved);
	return rc;
}

/*
 * A zone file that counts leap seconds is refused whatever its name (a
 * TZDIR naming a right/ folder), in the 32-bit header or, from version
 * 2, the 64-bit one; UTC needs no file, but one there is checked.
 */
static void
test_timezone_leap(void **state)
{
	struct fx *f = *state;
	char fat[44] = "TZif2", slim[88] = "TZif2", path[128];

	fat[31] = 27;			/* leapcnt: 27 leap seconds */
	memcpy(slim + 44, "TZif2", 5);	/* no 32-bit data: 64-bit header */
	slim[44 + 31] = 27;
	snprintf(path, sizeof(path), "%s/zones", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(parse_tzdir(f, "UTC"), 0);	/* none there */
	put_len(f, "zones/Fat_Leap", 0644, fat, sizeof(fat));
	put_len(f, "zones/Slim_Leap", 0644, slim, sizeof(slim));
	put_len(f, "zones/UTC", 0644, fat, sizeof(fat));
	put_len(f, "zones/Slim", 0644, slim, 44);	/* v2, no leap */
	assert_int_equal(parse_tzdir(f, "Slim"), 0);
	assert_int_equal(parse_tzdir(f, "Fat_Leap"), -1);
	check_err(f, 3, "time zone \"Fat_Leap\" in ");
	assert_non_null(strstr(f->err, "/zones counts leap seconds, which "
	    "the system clock does not (check TZDIR)"));
	assert_int_equal(parse_tzdir(f, "Slim_Leap"), -1);
	check_err(f, 3, "counts leap seconds");
	assert_int_equal(parse_tzdir(f, "UTC"), -1);
	check_err(f, 3, "time zone \"UTC\" in ");
	/* the default, UTC, no timezone line: the same, without a line */
	assert_int_equal(parse_tzdir(f, NULL), -1);
	check_err(f, 0, "time zone \"UTC\" in ");
	assert_string_equal(conf_error_kind(), "time zone");
	snprintf(path, sizeof(path), "%s/zones/UTC", f->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(parse_tzdir(f, NULL), 0);
	assert_string_equal(f->c.timezone, "UTC");
}

/*
 * The 64-bit header found past 32-bit data of every kind: transitions
 * (5 bytes each), types (6), abbreviation text, standard/wall and UT
 * flags; its leap count is what decides.
 */
static void
test_timezone_v2_offset(void **state)
{
	struct fx *f = *state;
	unsigned char z[44 + 22 + 44];
	char path[128];

	memset(z, 0, sizeof(z));
	memcpy(z, "TZif2", 5);
	z[23] = 1;	/* isutcnt */
	z[27] = 1;	/* isstdcnt */
	z[35] = 2;	/* timecnt: 2 * 5 bytes */
	z[39] = 1;	/* typecnt: 6 bytes */
	z[43] = 4;	/* charcnt: 4 bytes; with the flags, 22 in all */
	memcpy(z + 66, "TZif2", 5);
	z[66 + 31] = 27;	/* the 64-bit data's leapcnt */
	snprintf(path, sizeof(path), "%s/zones", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	put_len(f, "zones/Data_Leap", 0644, (char *)z, sizeof(z));
	assert_int_equal(parse_tzdir(f, "Data_Leap"), -1);
	check_err(f, 3, "counts leap seconds");
	z[66 + 31] = 0;
	put_len(f, "zones/Data", 0644, (char *)z, sizeof(z));
	assert_int_equal(parse_tzdir(f, "Data"), 0);
}

static void
test_required(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	bad(f, "app_key = k\n", 0, "spool_dir is required");
	bad(f, "# nothing\n", 0, "spool_dir is required");
	bad(f, "", 0, "spool_dir is required");
	bad(f, "spool_dir = /x\n", 0, "no app_key set: set app_key or "
	    "app_key_file");
	bad(f, "spool_dir = /x\nrequire_signature = yes\n", 0,
	    "no app_key set");
	c = good(f, "spool_dir = /x\nrequire_signature = no\n");
	assert_int_equal(c->nkeys, 0);
	assert_int_equal(c->require_signature, 0);
	/* no is fine with a key too */
	c = good(f, BASE "require_signature = off\n");
	assert_int_equal(c->nkeys, 1);
}

static void
test_missing_file(void **state)
{
	struct fx *f = *state;
	char path[256];

	snprintf(path, sizeof(path), "%s/absent.conf", f->dir);
	assert_int_equal(conf_parse(&f->c, path, f->err, sizeof(f->err)), -1);
	assert_int_equal(strncmp(f->err, path, strlen(path)), 0);
	assert_non_null(strstr(f->err, strerror(ENOENT)));
	conf_free(&f->c);
	/* a directory is not a config file */
	assert_int_equal(conf_parse(&f->c, f->dir, f->err, sizeof(f->err)),
	    -1);
	assert_int_equal(strncmp(f->err, f->dir, strlen(f->dir)), 0);
}

/* Only a regular file is a configuration; a FIFO is never waited on. */
static void
test_not_regular(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mkfifo(f->path, 0600), 0);
	alarm(10);		/* a blocking open would wait for a writer */
	assert_int_equal(conf_parse(&f->c, f->path, f->err, sizeof(f->err)),
	    -1);
	alarm(0);
	check_err(f, 0, "not a regular file");
	assert_string_equal(conf_error_kind(),
	    "configuration file not a regular file");
	conf_free(&f->c);
	assert_int_equal(conf_parse(&f->c, f->dir, f->err, sizeof(f->err)),
	    -1);
	assert_int_equal(strncmp(f->err, f->dir, strlen(f->dir)), 0);
	assert_non_null(strstr(f->err, ": not a regular file"));
}

static void
test_mode(void **state)
{
	struct fx *f = *state;

	/* app_key in a world-readable file: refused */
	assert_int_equal(parse_mode(f, 0644, BASE), -1);
	check_err(f, 0, "readable by others");
	assert_int_equal(parse_mode(f, 0604, BASE), -1);
	check_err(f, 0, "readable by others");
	/* group-readable is how the web server's group reads it */
	assert_int_equal(parse_mode(f, 0640, BASE), 0);
	assert_int_equal(parse_mode(f, 0600, BASE), 0);
	assert_int_equal(parse_mode(f, 0400, BASE), 0);
	/* without app_key in it the file may be world-readable */
	put(f, "key", 0600, "secret\n");
	assert_int_equal(parse_mode(f, 0644,
	    "spool_dir = /x\napp_key_file = key\n"), 0);
	assert_int_equal(f->c.nkeys, 1);
	assert_int_equal(parse_mode(f, 0644,
	    "spool_dir = /x\nrequire_signature = no\n"), 0);
	/* writable by others, with a key or without: anyone could name
	 * their own key file, or another spool */
	assert_int_equal(parse_mode(f, 0602,
	    "spool_dir = /x\nrequire_signature = no\n"), -1);
	check_err(f, 0, "is writable by others (chmod o-w)");
	assert_string_equal(conf_error_kind(),
	    "configuration file writable by others");
	assert_int_equal(parse_mode(f, 0666,
	    "spool_dir = /x\napp_key_file = key\n"), -1);
	check_err(f, 0, "writable by others");
	assert_int_equal(parse_mode(f, 0664,
	    "spool_dir = /x\napp_key_file = key\n"), 0);
}

static void
test_key_file(void **state)
{
	struct fx *f = *state;
	struct conf *c;
	char text[512];

	/* relative to the config's directory; trailing newline stripped */
	put(f, "app.key", 0600, "s3cr3t-key\n");
	c = good(f, "spool_dir = /x\napp_key_file = app.key\n");
	assert_int_equal(c->nkeys, 1);
	assert_int_equal(c->keys[0].len, 10);
	assert_memory_equal(c->keys[0].data, "s3cr3t-key", 10);
	/* absolute, no newline at all */
	put(f, "abs.key", 0640, "abc");
	snprintf(text, sizeof(text), "spool_dir = /x\napp_key_file = %s/abs.key\n",
	    f->dir);
	c = good(f, text);
	assert_int_equal(c->keys[0].len, 3);
	assert_memory_equal(c->keys[0].data, "abc", 3);
	/* CRLF and trailing blanks go; only the first line counts */
	put(f, "crlf.key", 0600, "k e y \t\r\nsecond line\n");
	c = good(f, "spool_dir = /x\napp_key_file = crlf.key\n");
	assert_int_equal(c->keys[0].len, 5);
	assert_memory_equal(c->keys[0].data, "k e y", 5);
	/* in a subdirectory */
	snprintf(text, sizeof(text), "%s/keys", f->dir);
	assert_int_equal(mkdir(text, 0700), 0);
	put(f, "keys/one", 0600, "one\n");
	c = good(f, "spool_dir = /x\napp_key_file = keys/one\n");
	assert_memory_equal(c->keys[0].data, "one", 3);
}

static void
test_key_file_bad(void **state)
{
	struct fx *f = *state;

	put(f, "open.key", 0644, "secret\n");
	bad(f, "spool_dir = /x\n\napp_key_file = open.key\n", 3,
	    "readable by others");
	put(f, "open.key", 0604, "secret\n");
	bad(f, "spool_dir = /x\napp_key_file = open.key\n", 2,
	    "readable by others");
	/* anyone could put their own key there */
	put(f, "open.key", 0602, "secret\n");
	bad(f, "spool_dir = /x\napp_key_file = open.key\n", 2,
	    "open.key is writable by others (chmod o-w)");
	assert_string_equal(conf_error_kind(),
	    "key file writable by others at line 2");
	put(f, "open.key", 0620, "secret\n");	/* the group's own: kept */
	good(f, "spool_dir = /x\napp_key_file = open.key\n");
	/* inline, the white space is the separator's; in a file, the key's */
	put(f, "spaced.key", 0600, " secret\n");
	bad(f, "spool_dir = /x\napp_key_file = spaced.key\n", 2,
	    "/spaced.key: the key starts with white space, which would be "
	    "part of the key (remove it)");
	put(f, "spaced.key", 0600, "\tsecret\n");
	bad(f, "spool_dir = /x\napp_key_file = spaced.key\n", 2,
	    "starts with white space");
	good(f, "spool_dir = /x\napp_key =  \tsecret\n");
	put(f, "empty.key", 0600, "");
	bad(f, "spool_dir = /x\napp_key_file = empty.key\n", 2, "empty");
	put(f, "blank.key", 0600, "\n");
	bad(f, "spool_dir = /x\napp_key_file = blank.key\n", 2, "empty");
	put(f, "blank.key", 0600, "  \t\r\n");
	bad(f, "spool_dir = /x\napp_key_file = blank.key\n", 2, "empty");
	/* a blank first line: the key file is named, the line is the key's */
	put(f, "blank.key", 0600, "\nsecond line\n");
	bad(f, "spool_dir = /x\napp_key_file = blank.key\n", 2,
	    "/blank.key: empty key");
	assert_string_equal(conf_error_kind(), "empty key at line 2");
	bad(f, "spool_dir = /x\napp_key_file = absent.key\n", 2,
	    "cannot read key file");
	bad(f, "spool_dir = /x\napp_key_file = .\n", 2, "key file");
	/* what an editor adds, and quotes: every signature would fail */
	put(f, "bom.key", 0600, "\xef\xbb\xbfsecret\n");
	bad(f, "spool_dir = /x\napp_key_file = bom.key\n", 2,
	    "/bom.key: the key starts with a byte order mark");
	assert_string_equal(conf_error_kind(), "bad value at line 2");
	put(f, "quoted.key", 0600, "'secret'\n");
	bad(f, "spool_dir = /x\napp_key_file = quoted.key\n", 2,
	    "the key is in quotes");
	bad(f, "spool_dir = /x\napp_key = \"secret\"\n", 2,
	    "app_key is in quotes, which would be part of the key");
	bad(f, "spool_dir = /x\napp_key = \xef\xbb\xbfsecret\n", 2,
	    "app_key starts with a byte order mark");
	/* quotes inside a key, or one alone, are the key's own */
	good(f, "spool_dir = /x\napp_key = se\"cr\"et\n");
	good(f, "spool_dir = /x\napp_key = \"secret\n");
	bad(f, "\xef\xbb\xbfspool_dir = /x\napp_key = k\n", 1,
	    "(the file starts with a byte order mark: save it without one)");
	/* a NUL would cut the key short */
	{
		char path[256];
		FILE *kf;

		snprintf(path, sizeof(path), "%s/nul.key", f->dir);
		assert_non_null(kf = fopen(path, "w"));
		assert_int_equal(fwrite("ab\0cd\n", 1, 6, kf), 6);
		assert_int_equal(fclose(kf), 0);
		assert_int_equal(chmod(path, 0600), 0);
		bad(f, "spool_dir = /x\napp_key_file = nul.key\n", 2, "NUL");
	}
}

static void
test_key_file_long(void **state)
{
	struct fx *f = *state;
	char key[4001];
	struct conf *c;
	int rc;

	/* a key longer than any line buffer is read whole or refused,
	 * never silently cut to a different key */
	memset(key, 'x', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	put(f, "long.key", 0600, key);
	rc = parse_mode(f, 0600, "spool_dir = /x\napp_key_file = long.key\n");
	if (rc == 0) {
		c = &f->c;
		assert_int_equal(c->keys[0].len, sizeof(key) - 1);
		assert_memory_equal(c->keys[0].data, key, sizeof(key) - 1);
	} else
		check_err(f, 2, "long.key");
	/* an inline key of the same length is kept whole */
	{
		char *text;
		size_t n = sizeof(key) + 64;

		assert_non_null(text = malloc(n));
		snprintf(text, n, "spool_dir = /x\napp_key = %s\n", key);
		c = good(f, text);
		free(text);
		assert_int_equal(c->keys[0].len, sizeof(key) - 1);
	}
}

static void
test_number(void **state)
{
	unsigned long long v;

	(void)state;
	v = 42;
	assert_int_equal(conf_number("0", 1, 100, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(conf_number("100", 1, 100, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(conf_number("101", 1, 100, &v), -1);
	assert_int_equal(v, 100);		/* untouched on failure */
	assert_int_equal(conf_number("1m", 1, 60, &v), 0);
	assert_int_equal(v, 60);
	assert_int_equal(conf_number("1m", 1, 59, &v), -1);
	assert_int_equal(conf_number("1m", 0, 1 << 20, &v), 0);
	assert_int_equal(v, 1 << 20);
	assert_int_equal(conf_number("1d", 0, ~0ULL, &v), -1);
	assert_int_equal(conf_number("1s", 0, ~0ULL, &v), -1);
	assert_int_equal(conf_number("1g", 1, ~0ULL, &v), -1);
	assert_int_equal(conf_number("1k", 1, ~0ULL, &v), -1);
	assert_int_equal(conf_number("1D", 1, ~0ULL, &v), 0);
	assert_int_equal(v, 86400);
	assert_int_equal(conf_number("1G", 0, ~0ULL, &v), 0);
	assert_int_equal(v, 1ULL << 30);
	/* the full unsigned range, and one past it */
	assert_int_equal(conf_number("18446744073709551615", 0, ~0ULL, &v), 0);
	assert_true(v == ~0ULL);
	assert_int_equal(conf_number("18446744073709551616", 0, ~0ULL, &v), -1);
	/* a suffix that would overflow */
	assert_int_equal(conf_number("18014398509481984k", 0, ~0ULL, &v), -1);
	assert_int_equal(conf_number("18014398509481983k", 0, ~0ULL, &v), 0);
	assert_true(v == 18014398509481983ULL * 1024);
	assert_int_equal(conf_number("213503982334602d", 1, ~0ULL, &v), -1);
	assert_int_equal(conf_number("213503982334601d", 1, ~0ULL, &v), 0);
	/* text that is not a plain number */
	assert_int_equal(conf_number("", 1, 100, &v), -1);
	assert_int_equal(conf_number("s", 1, 100, &v), -1);
	assert_int_equal(conf_number("-0", 1, 100, &v), -1);
	assert_int_equal(conf_number("+5", 1, 100, &v), -1);
	assert_int_equal(conf_number(" 5", 1, 100, &v), -1);
	assert_int_equal(conf_number("5 ", 1, 100, &v), -1);
	assert_int_equal(conf_number("5ss", 1, 100, &v), -1);
	assert_int_equal(conf_number("5s5", 1, 100, &v), -1);
	assert_int_equal(conf_number("0x5", 1, 100, &v), -1);
	assert_int_equal(conf_number("5.0", 1, 100, &v), -1);
	assert_int_equal(conf_number("\xef\xbc\x95", 1, 100, &v), -1);
	assert_int_equal(conf_number("007", 1, 100, &v), 0);
	assert_int_equal(v, 7);
	/* max 0 allows only zero */
	assert_int_equal(conf_number("0", 0, 0, &v), 0);
	assert_int_equal(conf_number("1", 0, 0, &v), -1);
}

static void
test_path(void **state)
{
	const char *old = getenv("SMSHOOK_CONFIG");
	char *saved = old != NULL ? strdup(old) : NULL;
	const char *a, *b, *c, *d, *e;

	(void)state;
	assert_int_equal(setenv("SMSHOOK_CONFIG", "/env/smshook.conf", 1), 0);
	a = conf_path("/opt/x.conf");
	b = conf_path(NULL);
	assert_int_equal(setenv("SMSHOOK_CONFIG", "", 1), 0);
	c = conf_path(NULL);
	d = conf_path("rel.conf");
	assert_int_equal(unsetenv("SMSHOOK_CONFIG"), 0);
	e = conf_path(NULL);
	if (saved != NULL)
		setenv("SMSHOOK_CONFIG", saved, 1);
	free(saved);
	assert_string_equal(a, "/opt/x.conf");
	assert_string_equal(b, "/env/smshook.conf");
	assert_string_equal(c, CONF_DEFAULT_PATH);
	assert_string_equal(d, "rel.conf");
	assert_string_equal(e, CONF_DEFAULT_PATH);
	assert_non_null(strstr(CONF_DEFAULT_PATH, "/smshook/smshook.conf"));
}

static void
test_free_twice(void **state)
{
	struct fx *f = *state;

	/* conf_free leaves a conf that can be freed again or re-parsed */
	good(f, BASE "allow_from = 10.0.0.0/8\ndatabase = sqlite:x\n");
	conf_free(&f->c);
	conf_free(&f->c);
	assert_null(f->c.keys);
	assert_null(f->c.spool_dir);
	/* a failed parse leaves only what conf_free releases */
	bad(f, BASE "allow_from = 10.0.0.0/8\ntimezone = UTC\nfsync = ?\n", 5,
	    "expected yes or no");
	conf_free(&f->c);
}

/* The tolerance never outlasts the token memory: no replay after it. */
static void
test_tolerance_rule(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	/* the line of the later of the two keys */
	bad(f, BASE "timestamp_tolerance = 0\n", 3, "timestamp_tolerance");
	bad(f, BASE "timestamp_tolerance = 16d\n", 3, "replay_window");
	bad(f, BASE "replay_window = 1d\n", 3, "replay_window (86400 s)");
	bad(f, BASE "timestamp_tolerance = 2d\n# x\nreplay_window = 1d\n", 5,
	    "replay_window (86400 s)");
	c = good(f, BASE "replay_window = 3d\ntimestamp_tolerance = 3d\n");
	assert_int_equal(c->timestamp_tolerance, 3 * 86400);
	/* both off: no replay protection at all, for testing */
	c = good(f, BASE "replay_window = 0\ntimestamp_tolerance = 0\n");
	assert_int_equal(c->timestamp_tolerance, 0);
	/* no token table: any tolerance, which still bounds a replay */
	c = good(f, BASE "replay_window = 0\n");
	assert_int_equal(c->timestamp_tolerance, 172800);
	c = good(f, BASE "timestamp_tolerance = 30d\nreplay_window = 0\n");
	assert_int_equal(c->timestamp_tolerance, 30 * 86400);
	assert_int_equal(c->replay_window, 0);
}

/* Key files: regular files only, and never read past a key's length. */
static void
test_key_file_kind(void **state)
{
	struct fx *f = *state;
	char path[256], key[CONF_KEY_FILE_MAX + 2];
	int fd;

	snprintf(path, sizeof(path), "%s/fifo.key", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	bad(f, "spool_dir = /x\napp_key_file = fifo.key\n", 2,
	    "not a regular file");
	snprintf(path, sizeof(path), "%s/huge.key", f->dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) != -1);
	assert_int_equal(ftruncate(fd, 8LL << 30), 0);	/* sparse 8 GiB */
	assert_int_equal(close(fd), 0);
	/* all NUL bytes: said after the first 4097, not all read */
	bad(f, "spool_dir = /x\napp_key_file = huge.key\n", 2,
	    "holds a NUL byte");
	memset(key, 'k', sizeof(key));
	key[CONF_KEY_FILE_MAX] = '\n';
	key[CONF_KEY_FILE_MAX + 1] = '\0';
	put(f, "max.key", 0600, key);		/* exactly the bound */
	assert_int_equal(good(f, "spool_dir = /x\napp_key_file = max.key\n")->
	    keys[0].len, CONF_KEY_FILE_MAX);
	key[CONF_KEY_FILE_MAX] = 'k';
	put(f, "over.key", 0600, key);
	bad(f, "spool_dir = /x\napp_key_file = over.key\n", 2, "longer");
}

/* The bound is on the key: its line's trailing white space is free. */
static void
test_key_file_bound(void **state)
{
	static const struct { const char *tail; size_t keylen; } tails[] = {
		{ "\r\n", CONF_KEY_FILE_MAX },
		{ " \t\r\nsecond line\n", CONF_KEY_FILE_MAX },
		{ "  ", CONF_KEY_FILE_MAX },		/* no line end */
		{ "\r\nk", CONF_KEY_FILE_MAX },
		{ "\rk\n", 0 },			/* not trailing */
		{ " \r\t k\r\n", 0 },
		{ "k\r\n", 0 },
	};
	struct fx *f = *state;
	char *text;
	size_t i, n, len;

	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		n = CONF_KEY_FILE_MAX + strlen(tails[i].tail);
		assert_non_null(text = malloc(n + 1));
		memset(text, 'k', CONF_KEY_FILE_MAX);
		memcpy(text + CONF_KEY_FILE_MAX, tails[i].tail,
		    strlen(tails[i].tail) + 1);
		put(f, "bound.key", 0600, text);
		free(text);
		if (tails[i].keylen == 0) {
			bad(f, "spool_dir = /x\napp_key_file = bound.key\n",
			    2, "longer than 4096 bytes");
			continue;
		}
		len = good(f, "spool_dir = /x\napp_key_file = bound.key\n")->
		    keys[0].len;
		if (len != tails[i].keylen)
			fail_msg("case %zu: key of %zu bytes", i, len);
	}
	/* a NUL byte where the key could end, or in the white space past
	 * the buffer: that, not the length, is what is wrong */
	for (i = 0; i < 2; i++) {
		n = CONF_KEY_FILE_MAX + 1000;
		assert_non_null(text = malloc(n + 2));
		memset(text, ' ', n);
		memset(text, 'k', CONF_KEY_FILE_MAX);
		text[i == 0 ? CONF_KEY_FILE_MAX : n - 1] = '\0';
		text[n] = '\n';
		put_len(f, "bound.key", 0600, text, n + 1);
		free(text);
		bad(f, "spool_dir = /x\napp_key_file = bound.key\n", 2,
		    "holds a NUL byte");
	}
	/* white space past the buffer, then the line end: still the key */
	n = CONF_KEY_FILE_MAX + 1000;
	assert_non_null(text = malloc(n + 2));
	memset(text, ' ', n);
	memset(text, 'k', CONF_KEY_FILE_MAX - 1);
	memcpy(text + n, "\n", 2);
	put(f, "bound.key", 0600, text);
	free(text);
	assert_int_equal(good(f, "spool_dir = /x\napp_key_file = bound.key\n")->
	    keys[0].len, CONF_KEY_FILE_MAX - 1);
}

static void
test_log_keys(void **state)
{
	static const struct { const char *v; int want; } dests[] = {
		{ "stderr", LD_STDERR }, { "syslog", LD_SYSLOG },
		{ "fcgi", LD_FCGI },
	}, facilities[] = {
		{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	struct fx *f = *state;
	struct conf *c = good(f, BASE);
	char line[64];
	size_t i;

	assert_int_equal(c->log_dest, LD_STDERR);
	assert_int_equal(c->log_facility, LOG_DAEMON);
	assert_int_equal(c->counters, 1);
	for (i = 0; i < sizeof(dests) / sizeof(dests[0]); i++) {
		snprintf(line, sizeof(line), "log = %s", dests[i].v);
		assert_int_equal(good_line(f, line)->log_dest, dests[i].want);
	}
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		snprintf(line, sizeof(line), "log_facility = %s",
		    facilities[i].v);
		assert_int_equal(good_line(f, line)->log_facility,
		    facilities[i].want);
	}
	assert_int_equal(good_line(f, "counters = no")->counters, 0);
	assert_int_equal(good_line(f, "counters = Off")->counters, 0);
	assert_int_equal(good_line(f, "counters = yes")->counters, 1);
	c = good(f, BASE "log = syslog\nlog_facility = local3\n"
	    "counters = no\nlog_level = warn\n");
	assert_int_equal(c->log_dest, LD_SYSLOG);
	assert_int_equal(c->log_facility, LOG_LOCAL3);
	assert_int_equal(c->counters, 0);
	assert_int_equal(c->log_level, LL_WARN);
	/* a facility without syslog is allowed, and unused */
	c = good(f, BASE "log = fcgi\nlog_facility = user\n");
	assert_int_equal(c->log_dest, LD_FCGI);
	assert_int_equal(c->log_facility, LOG_USER);
}

static void
test_bad_log_keys(void **state)
{
	static const char *const once[] = {
		"log = stderr", "log_facility = daemon", "counters = yes",
	};
	struct fx *f = *state;
	char text[256];
	size_t i;

	bad_value(f, "log", "file", "expected stderr, syslog or fcgi, "
	    "not \"file\"");
	bad_value(f, "log", "journal", "expected stderr, syslog or fcgi");
	bad_value(f, "log", "Syslog", "expected stderr, syslog or fcgi");
	bad_value(f, "log", "stderr syslog", "expected stderr, syslog or fcgi");
	bad_value(f, "log_facility", "local8", "expected daemon, user or "
	    "local0 to local7, not \"local8\"");
	bad_value(f, "log_facility", "auth", "expected daemon, user or local0");
	bad_value(f, "log_facility", "LOCAL0", "expected daemon, user or local0");
	bad_value(f, "log_facility", "16", "expected daemon, user or local0");
	bad_value(f, "counters", "maybe", "expected yes or no, not \"maybe\"");
	bad_value(f, "log", "", "empty value");
	bad_value(f, "counters", "", "empty value");
	for (i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		snprintf(text, sizeof(text), BASE "%s\n# between\n%s\n",
		    once[i], once[i]);
		bad(f, text, 5, "duplicate key");
	}
	/* what a CGI answer says of it: the kind and the line, no value */
	bad_value(f, "log", "/var/log/smshook.log", "expected stderr");
	assert_string_equal(conf_error_kind(), "bad value at line 3");
}

/*
 * Out of memory at each allocation in turn: the file is refused, never
 * read as cut short (getline's -1 for want of memory is not its end: a
 * line long enough to grow its buffer, then allow_from after it).
 */
static void
test_out_of_memory(void **state)
{
	struct fx *f = *state;
	char text[512];
	long n;
	int rc, failed;

	if (!mallocfail_works())	/* valgrind's malloc comes first */
		skip();
	snprintf(text, sizeof(text), BASE "# %0300d\nallow_from = 10.0.0.0/8\n",
	    0);
	put(f, "smshook.conf", 0600, text);
	for (n = 0;; n++) {
		conf_free(&f->c);
		fail_in = n;
		rc = conf_parse(&f->c, f->path, f->err, sizeof(f->err));
		failed = fail_in < 0;
		fail_in = -1;
		if (rc == 0 && f->c.allow_from.n != 1)
			fail_msg("allocation %ld failed: accepted without "
			    "allow_from", n);
		if (!failed)
			break;		/* every allocation done */
	}
	assert_int_equal(rc, 0);
	assert_true(n > 2);
}

int
main(void)
{
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_every_key),
		T(test_values),
		T(test_relative_spool),
		T(test_bad_lines),
		T(test_nul_byte),
		T(test_duplicates),
		T(test_repeatable),
		T(test_bad_bool),
		T(test_bad_size),
		T(test_bad_seconds),
		T(test_bad_cidr),
		T(test_bad_log_level),
		T(test_bad_timezone),
		T(test_timezone_tzdir),
		T(test_timezone_leap),
		T(test_timezone_v2_offset),
		T(test_required),
		T(test_missing_file),
		T(test_not_regular),
		T(test_mode),
		T(test_key_file),
		T(test_key_file_bad),
		T(test_key_file_long),
		T(test_number),
		T(test_path),
		T(test_free_twice),
		T(test_tolerance_rule),
		T(test_key_file_kind),
		T(test_key_file_bound),
		T(test_log_keys),
		T(test_bad_log_keys),
		T(test_out_of_memory),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
