/*
 * test_spool.c: day names in two time zones, modes, whole-line appends
 * from many processes at once, torn tails cut off, and failures (no
 * permission, path too long, no space) that leave the file as it was;
 * the day file kept open between appends, the lock dropped before the
 * sync, the directory synced once per opened file.
 */
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "day.h"
#include "log.h"
#include "spool.h"
#include "testutil.h"

#define DAY	"2026-11-26"
#define NPROC	8
#define NLINES	500
#define BIGLINE	65536
#define SKIPPED	77		/* a child's exit status: cannot test here */

/*
 * flock and fdatasync of this test program, in front of the C library's.
 * With flock_unlink set, that file is unlinked each time before a lock is
 * taken (as if compress removed it while we waited); with
 * flock_unlock_fails set, the next unlock fails with EIO; the next
 * flock_lock_fails exclusive locks fail with ENOLCK. fdatasync
 * counts its calls on open fds in syncs, and fails with EIO while
 * sync_fails is set.
 */
static const char	*flock_unlink;
static int		 flock_unlock_fails, flock_lock_fails;
static int		 syncs, sync_fails;

int
fdatasync(int fd)
{
	if (fcntl(fd, F_GETFD) != -1)
		syncs++;
	if (sync_fails) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

int
flock(int fd, int op)
{
	if ((op & LOCK_UN) && flock_unlock_fails) {
		flock_unlock_fails = 0;
		errno = EIO;
		return -1;
	}
	if ((op & LOCK_EX) && flock_lock_fails > 0) {
		flock_lock_fails--;
		errno = ENOLCK;
		return -1;
	}
	if ((op & LOCK_EX) && flock_unlink != NULL)
		(void)unlink(flock_unlink);
	return (int)syscall(SYS_flock, fd, op);
}

struct fixture {
	char	 tmp[64];	/* mkdtemp directory */
	char	 dir[128];	/* spool dir inside it, not yet created */
	char	 file[160];	/* dir/DAY.jsonl */
};

static int
setup(void **state)
{
	struct fixture *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/test_spool.XXXXXX");
	if (mkdtemp(f->tmp) == NULL || chmod(f->tmp, 0755) == -1) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/spool", f->tmp);
	snprintf(f->file, sizeof(f->file), "%s/%s.jsonl", f->dir, DAY);
	umask(027);			/* as main() does */
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	chmod(f->dir, 0750);
	test_rmtree(f->tmp);
	free(f);
	return 0;
}

/* Wait for child pid, which must exit; its exit status. */
static int
exit_status(pid_t pid)
{
	int st;

	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* spool_write, then spool_sync if sync, as the handler does: 0 or -1. */
static int
spool_append(const char *dir, const char *day, const char *line, size_t len,
    int sync, char *err, size_t errlen)
{
	struct spool_pending p;

	if (spool_write(&p, dir, day, line, len, err, errlen) == -1)
		return -1;
	return sync ? spool_sync(&p, err, errlen) : 0;
}

/* The whole file in a new NUL-terminated buffer; *len its length. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *b;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || (b = malloc((size_t)st.st_size + 1)) ==
	    NULL) {
		close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	if (read(fd, b, *len) != (ssize_t)*len) {
		free(b);
		b = NULL;
	} else
		b[*len] = '\0';
	close(fd);
	return b;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == -1 ? -1 : st.st_size;
}

static void
write_file(const char *path, const char *s, size_t n)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	assert_true(fd != -1);
	assert_int_equal(write(fd, s, n), (ssize_t)n);
	close(fd);
}

static int
append(const struct fixture *f, const char *line)
{
	char err[256] = "";
	int rc;

	rc = spool_append(f->dir, DAY, line, strlen(line), 0, err,
	    sizeof(err));
	if (rc != 0)
		fail_msg("spool_append: %s", err);
	return rc;
}

static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

static void
test_day(void **state)
{
	static const struct {
		const char	*tz;
		int		 hms[3];	/* UTC time on 2026-11-26 */
		const char	*want;
	} cases[] = {
		{ "UTC", { 0, 0, 0 }, "2026-11-26" },
		{ "UTC", { 23, 59, 59 }, "2026-11-26" },
		{ "UTC", { 24, 0, 0 }, "2026-11-27" },
		{ "UTC", { -1, 59, 59 }, "2026-11-25" },
		{ "Asia/Shanghai", { 15, 59, 59 }, "2026-11-26" },
		{ "Asia/Shanghai", { 16, 0, 0 }, "2026-11-27" },
		{ "Asia/Shanghai", { -8, 0, 0 }, "2026-11-26" },
		{ "Asia/Shanghai", { -8, 0, -1 }, "2026-11-25" },
		{ "Asia/Shanghai", { 23, 59, 59 }, "2026-11-27" },
	};
	char day[DAY_LEN + 1];
	const char *old = getenv("TZ");
	char *saved = old != NULL ? strdup(old) : NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(setenv("TZ", cases[i].tz, 1), 0);
		tzset();
		memset(day, 'X', sizeof(day));
		day_of(utc(2026, 11, 26, cases[i].hms[0], cases[i].hms[1],
		    cases[i].hms[2]), day);
		if (strcmp(day, cases[i].want) != 0)
			fail_msg("%s case %zu: %s, wanted %s", cases[i].tz, i,
			    day, cases[i].want);
	}
	/* year end in Shanghai */
	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	day_of(utc(2026, 12, 31, 16, 0, 0), day);
	assert_string_equal(day, "2027-01-01");
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

static void
test_create_modes(void **state)
{
	const struct fixture *f = *state;
	struct stat st;
	char *b, err[256];
	size_t n;

	assert_int_equal(stat(f->dir, &st), -1);
	append(f, "{\"n\":1}\n");
	assert_int_equal(stat(f->dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(stat(f->file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);

	assert_int_equal(spool_append(f->dir, DAY, "{\"n\":2}\n", 8, 1, err,
	    sizeof(err)), 0);			/* with sync */
	append(f, "{\"n\":3}\n");
	b = slurp(f->file, &n);
	assert_non_null(b);
	assert_string_equal(b, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
	free(b);
	/* another day, same dir */
	assert_int_equal(spool_append(f->dir, "2026-11-27", "{}\n", 3, 0,
	    err, sizeof(err)), 0);
	assert_int_equal(file_size(f->file), 24);
}

/* Line i of process p: its length and fill char make interleaving show. */
static size_t
pad_len(int p, int i)
{
	if (p == 3 && i == 250)
		return BIGLINE;
	if (i % 37 == 0)
		return 4096 + (size_t)p * 100 + (size_t)i;
	return (size_t)((p * 37 + i * 13) % 400);
}

static char *
make_line(int p, int i, size_t *len)
{
	size_t n = pad_len(p, i), o;
	char *b;

	if ((b = malloc(n + 64)) == NULL)
		return NULL;
	o = (size_t)snprintf(b, 64, "{\"p\":%d,\"i\":%d,\"pad\":\"", p, i);
	memset(b + o, 'a' + p, n);
	o += n;
	memcpy(b + o, "\"}\n", 4);
	*len = o + 3;
	return b;
}

static int
writer(const struct fixture *f, int p)
{
	char err[256];
	size_t len;
	char *line;
	int i;

	for (i = 0; i < NLINES; i++) {
		if ((line = make_line(p, i, &len)) == NULL)
			return 1;
		if (spool_append(f->dir, DAY, line, len, i % 100 == 0, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "writer %d: %s\n", p, err);
			free(line);
			return 1;
		}
		free(line);
	}
	return 0;
}

static void
test_concurrent(void **state)
{
	const struct fixture *f = *state;
	static unsigned char seen[NPROC][NLINES];
	pid_t pids[NPROC];
	char *b, *line, *nl;
	size_t n, count = 0, k;
	int p, i;

	memset(seen, 0, sizeof(seen));
	for (p = 0; p < NPROC; p++) {
		if ((pids[p] = fork()) == 0)
			_exit(writer(f, p));
		assert_true(pids[p] > 0);
	}
	for (p = 0; p < NPROC; p++) {
		assert_int_equal(exit_status(pids[p]), 0);
	}
	b = slurp(f->file, &n);
	assert_non_null(b);
	assert_true(n > 0 && b[n - 1] == '\n');
	for (line = b; line < b + n; line = nl + 1) {
		cJSON *o, *jp, *ji, *jpad;

		nl = memchr(line, '\n', (size_t)(b + n - line));
		assert_non_null(nl);
		*nl = '\0';
		if ((o = cJSON_Parse(line)) == NULL)
			fail_msg("line %zu is not JSON: %.80s...", count, line);
		jp = cJSON_GetObjectItemCaseSensitive(o, "p");
		ji = cJSON_GetObjectItemCaseSensitive(o, "i");
		jpad = cJSON_GetObjectItemCaseSensitive(o, "pad");
		assert_true(cJSON_IsNumber(jp) && cJSON_IsNumber(ji) &&
		    cJSON_IsString(jpad));
		p = jp->valueint;
		i = ji->valueint;
		assert_true(p >= 0 && p < NPROC && i >= 0 && i < NLINES);
		assert_int_equal(strlen(jpad->valuestring), pad_len(p, i));
		for (k = 0; jpad->valuestring[k] != '\0'; k++)
			if (jpad->valuestring[k] != 'a' + p)
				fail_msg("line p=%d i=%d mixed at %zu", p, i, k);
		if (seen[p][i]++ != 0)
			fail_msg("line p=%d i=%d twice", p, i);
		cJSON_Delete(o);
		count++;
	}
	free(b);
	assert_int_equal(count, NPROC * NLINES);
	for (p = 0; p < NPROC; p++)
		for (i = 0; i < NLINES; i++)
			assert_int_equal(seen[p][i], 1);
}

static void
test_torn_tail(void **state)
{
	const struct fixture *f = *state;
	char *b, *big;
	size_t n;

	assert_int_equal(mkdir(f->dir, 0750), 0);
	/* complete lines then a writer's unfinished one */
	write_file(f->file, "{\"a\":1}\n{\"b\":2}\n{\"torn\":", 24);
	append(f, "{\"c\":3}\n");
	b = slurp(f->file, &n);
	assert_non_null(b);
	assert_string_equal(b, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
	free(b);

	/* a torn line longer than one read buffer, after a good line */
	big = malloc(10001);
	assert_non_null(big);
	memcpy(big, "{\"a\":1}\n", 8);
	memset(big + 8, 'x', 10000 - 8);
	write_file(f->file, big, 10000);
	append(f, "{\"d\":4}\n");
	b = slurp(f->file, &n);
	assert_string_equal(b, "{\"a\":1}\n{\"d\":4}\n");
	free(b);

	/* nothing but a torn line: cut to nothing */
	write_file(f->file, big + 8, 9000);
	append(f, "{\"e\":5}\n");
	b = slurp(f->file, &n);
	assert_string_equal(b, "{\"e\":5}\n");
	free(b);
	free(big);
}

/*
 * After its own whole line a process reads the tail again only if the
 * file's length changed: another writer's unfinished line after it is
 * cut off, but an edit in place that keeps the length is not looked for
 * (no writer leaves one: a write makes the file longer, a cut-back
 * returns it to a line's end).
 */
static void
test_own_end(void **state)
{
	const struct fixture *f = *state;
	char *b;
	size_t n;
	int fd;

	assert_int_equal(mkdir(f->dir, 0750), 0);
	append(f, "{\"a\":1}\n");
	fd = open(f->file, O_WRONLY | O_APPEND);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "{\"x\":", 5), 5);	/* killed mid-line */
	append(f, "{\"b\":2}\n");
	b = slurp(f->file, &n);
	assert_string_equal(b, "{\"a\":1}\n{\"b\":2}\n");
	free(b);
	close(fd);
	fd = open(f->file, O_WRONLY);	/* not O_APPEND: pwrite in place */
	assert_true(fd != -1);
	assert_int_equal(pwrite(fd, "x", 1, 15), 1);	/* same length */
	close(fd);
	append(f, "{\"c\":3}\n");
	b = slurp(f->file, &n);
	assert_string_equal(b, "{\"a\":1}\n{\"b\":2}x{\"c\":3}\n");
	free(b);
	/* another file at the path, as long, unfinished: looked at */
	assert_int_equal(unlink(f->file), 0);
	write_file(f->file, "{\"x\":\"yyyyyyyyyyyyyyyyyy", 24);
	append(f, "{\"d\":4}\n");
	b = slurp(f->file, &n);
	assert_string_equal(b, "{\"d\":4}\n");
	free(b);
}

/* Run fn in a child as an unprivileged user; its exit status. */
static int
as_nobody(const struct fixture *f, int (*fn)(const struct fixture *))
{
	pid_t pid;

	if ((pid = fork()) == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
		    setgid(65534) == -1 || setuid(65534) == -1))
			_exit(SKIPPED);
		if (geteuid() == 0)
			_exit(SKIPPED);
		_exit(fn(f));
	}
	return exit_status(pid);
}

static int
denied(const struct fixture *f)
{
	char err[256] = "";
	char other[200];

	/* the dir is ours but read-only: no new day file */
	if (spool_append(f->dir, "2026-11-27", "{}\n", 3, 1, err,
	    sizeof(err)) != -1)
		return 2;
	if (strstr(err, "Permission denied") == NULL ||
	    strstr(err, "2026-11-27.jsonl") == NULL)
		return 3;
	/* the existing day file is read-only: refused, unchanged */
	err[0] = '\0';
	if (spool_append(f->dir, DAY, "{\"new\":1}\n", 10, 1, err,
	    sizeof(err)) != -1 || strstr(err, "Permission denied") == NULL)
		return 4;
	/* a spool dir that cannot be created */
	snprintf(other, sizeof(other), "%s/sub/spool", f->dir);
	err[0] = '\0';
	if (spool_append(other, DAY, "{}\n", 3, 0, err, sizeof(err)) != -1 ||
	    err[0] == '\0')
		return 5;
	return 0;
}

static void
test_unwritable(void **state)
{
	const struct fixture *f = *state;
	struct stat st;
	char *b;
	size_t n;
	int rc;

	append(f, "{\"a\":1}\n");
	assert_int_equal(chown(f->dir, 65534, 65534) == 0 || geteuid() != 0,
	    1);
	assert_int_equal(chown(f->file, 65534, 65534) == 0 || geteuid() != 0,
	    1);
	assert_int_equal(chmod(f->file, 0440), 0);
	assert_int_equal(chmod(f->dir, 0500), 0);
	rc = as_nobody(f, denied);
	chmod(f->dir, 0750);
	if (rc == SKIPPED)
		skip();
	if (rc != 0)
		fail_msg("check %d failed as an unprivileged user", rc);
	b = slurp(f->file, &n);
	assert_non_null(b);
	assert_string_equal(b, "{\"a\":1}\n");
	free(b);
	errno = 0;
	assert_int_equal(stat(f->tmp, &st), 0);
	{
		char path[200];

		snprintf(path, sizeof(path), "%s/2026-11-27.jsonl", f->dir);
		assert_int_equal(stat(path, &st), -1);
	}
}

static void
test_too_long(void **state)
{
	const struct fixture *f = *state;
	char *dir, err[1024];
	size_t n;

	(void)f;
	/* longer than PATH_MAX */
	n = PATH_MAX + 10;
	dir = malloc(n + 1);
	assert_non_null(dir);
	memset(dir, 'd', n);
	dir[0] = '/';
	dir[n] = '\0';
	err[0] = '\0';
	assert_int_equal(spool_append(dir, DAY, "{}\n", 3, 0, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "spool path too long");
	/* just over: dir fits, dir + "/DAY.jsonl" does not */
	dir[PATH_MAX - 10] = '\0';
	err[0] = '\0';
	assert_int_equal(spool_append(dir, DAY, "{}\n", 3, 0, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "spool path too long");
	free(dir);

	/* fits PATH_MAX but a name component is over NAME_MAX */
	dir = malloc(600);
	assert_non_null(dir);
	n = (size_t)snprintf(dir, 600, "%s/", f->tmp);
	memset(dir + n, 'n', 400);
	dir[n + 400] = '\0';
	err[0] = '\0';
	assert_int_equal(spool_append(dir, DAY, "{}\n", 3, 0, err,
	    sizeof(err)), -1);
	if (strstr(err, "too long") == NULL)
		fail_msg("err: %s", err);
	free(dir);
}

/* In a private mount namespace: fill a 64 KiB tmpfs, expect clean -1s. */
static int
fill(const struct fixture *f)
{
	char mnt[128], dir[160], file[200], err[256], *line;
	const size_t len = 10000;
	off_t before, after;
	int i, failed = 0;

	snprintf(mnt, sizeof(mnt), "%s/small", f->tmp);
	snprintf(dir, sizeof(dir), "%s/spool", mnt);
	snprintf(file, sizeof(file), "%s/%s.jsonl", dir, DAY);
	if (mkdir(mnt, 0700) == -1)
		return 2;
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, "") == -1 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") == -1)
		return SKIPPED;
	if ((line = malloc(len)) == NULL)
		return 3;
	memset(line, 'z', len);
	memcpy(line, "{\"z\":\"", 6);
	memcpy(line + len - 3, "\"}\n", 3);
	for (i = 0; i < 100 && !failed; i++) {
		before = file_size(file);
		err[0] = '\0';
		if (spool_append(dir, DAY, line, len, i % 2, err,
		    sizeof(err)) == 0) {
			if (file_size(file) != before + (off_t)len &&
			    !(before == -1 && file_size(file) == (off_t)len))
				return 4;
			continue;
		}
		failed = 1;
		after = file_size(file);
		if (before == -1 ? after > 0 : after != before)
			return 5;	/* a partial line was left */
		if (strstr(err, "No space left") == NULL) {
			fprintf(stderr, "fill: %s\n", err);
			return 6;
		}
		if (after % (off_t)len != 0 || after == 0)
			return 7;
	}
	free(line);
	if (!failed)
		return 8;
	/* a small line that still fits goes in whole */
	if (spool_append(dir, DAY, "{\"s\":1}\n", 8, 1, err,
	    sizeof(err)) == 0 && file_size(file) % (off_t)len != 8)
		return 9;
	umount(mnt);
	return 0;
}

static void
test_no_space(void **state)
{
	const struct fixture *f = *state;
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		fprintf(stderr, "no_space: needs root to mount a tmpfs, "
		    "skipped\n");
		skip();
	}
	if ((pid = fork()) == 0)
		_exit(fill(f));
	if ((st = exit_status(pid)) == SKIPPED) {
		fprintf(stderr, "no_space: cannot mount a tmpfs here, "
		    "skipped\n");
		skip();
	}
	if (st != 0)
		fail_msg("no-space check %d failed", st);
}

/*
 * In a child: with a file size limit (SIGXFSZ ignored, as the receiver
 * does) inside a line and then at the file's end, the append fails with
 * "File too large", not a guessed "No space left", and leaves the file
 * as it was; without the limit it goes in. 0, or which check failed.
 */
static int
size_limited(const struct fixture *f)
{
	static const char line[] = "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n";
	struct rlimit rl;
	char err[256];
	off_t size;
	int i;

	if (spool_append(f->dir, DAY, line, sizeof(line) - 1, 0, err,
	    sizeof(err)) != 0 || signal(SIGXFSZ, SIG_IGN) == SIG_ERR ||
	    getrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 1;
	size = file_size(f->file);
	for (i = 0; i < 2; i++) {
		rl.rlim_cur = (rlim_t)size + (i == 0 ? 20 : 0);
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			return 2;
		err[0] = '\0';
		if (spool_append(f->dir, DAY, line, sizeof(line) - 1, i, err,
		    sizeof(err)) != -1)
			return 3;
		if (strstr(err, "File too large") == NULL) {
			fprintf(stderr, "size_limited: %s\n", err);
			return 4;
		}
		if (file_size(f->file) != size)
			return 5;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1 ||
	    spool_append(f->dir, DAY, line, sizeof(line) - 1, 1, err,
	    sizeof(err)) != 0 ||
	    file_size(f->file) != size + (off_t)sizeof(line) - 1)
		return 6;
	return 0;
}

static void
test_size_limit(void **state)
{
	const struct fixture *f = *state;
	pid_t pid;
	int st;

	if ((pid = fork()) == 0)
		_exit(size_limited(f));
	if ((st = exit_status(pid)) != 0)
		fail_msg("size-limit check %d failed", st);
}

/*
 * A write that fails (a file size limit), then the sync of its cut-back:
 * the file is cut back all the same, and the log says so, not that it
 * could not be cut back. In a child: the limit and stderr are its own.
 */
static int
cut_back_unsynced(const struct fixture *f)
{
	static const char line[] = "{\"pad\":\"xxxxxxxxxxxxxxxx\"}\n";
	char err[256], got[1024];
	struct rlimit rl;
	off_t size;
	ssize_t n;
	int pfd[2];

	/* the log into a pipe: no file, so no file size limit on it */
	if (spool_append(f->dir, DAY, line, sizeof(line) - 1, 0, err,
	    sizeof(err)) != 0 || signal(SIGXFSZ, SIG_IGN) == SIG_ERR ||
	    getrlimit(RLIMIT_FSIZE, &rl) == -1 || pipe(pfd) == -1 ||
	    dup2(pfd[1], STDERR_FILENO) == -1)
		return 1;
	size = file_size(f->file);
	rl.rlim_cur = (rlim_t)size + 5;
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 2;
	log_init("smshook", LL_WARN);
	log_open(LD_STDERR, 0);
	sync_fails = 1;
	if (spool_append(f->dir, DAY, line, sizeof(line) - 1, 0, err,
	    sizeof(err)) != -1 || file_size(f->file) != size)
		return 3;
	close(STDERR_FILENO);
	close(pfd[1]);
	if ((n = read(pfd[0], got, sizeof(got) - 1)) <= 0)
		return 4;
	got[n] = '\0';
	if (strstr(got, "but not synced: Input/output error") == NULL ||
	    strstr(got, "cannot cut back") != NULL)
		return 5;
	return 0;
}

static void
test_cut_back_unsynced(void **state)
{
	const struct fixture *f = *state;
	pid_t pid;
	int st;

	if ((pid = fork()) == 0)
		_exit(cut_back_unsynced(f));
	if ((st = exit_status(pid)) != 0)
		fail_msg("cut-back check %d failed", st);
}

/* 1 if /proc/locks shows pid waiting for a lock; polled as readiness. */
static int
lock_waiting(pid_t pid)
{
	char line[256], want[32];
	FILE *f;
	int found = 0;

	snprintf(want, sizeof(want), " %ld ", (long)pid);
	if ((f = fopen("/proc/locks", "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, "->") != NULL && strstr(line, want) != NULL;
	fclose(f);
	return found;
}

/*
 * The day file holding "old\n", under a shared lock held on *fd, and a
 * child appending "new\n" that is waiting for that lock; its pid.
 */
static pid_t
writer_waiting(const struct fixture *f, int *fd)
{
	char err[256];
	pid_t pid;
	int tries;

	assert_int_equal(mkdir(f->dir, 0750), 0);
	write_file(f->file, "old\n", 4);
	assert_true((*fd = open(f->file, O_RDONLY)) != -1);
	assert_int_equal(flock(*fd, LOCK_SH), 0);
	if ((pid = fork()) == 0) {
		close(*fd);		/* the shared lock is the parent's */
		_exit(spool_append(f->dir, DAY, "new\n", 4, 1, err,
		    sizeof(err)) == 0 ? 0 : 1);
	}
	assert_true(pid > 0);
	for (tries = 0; tries < 5000 && !lock_waiting(pid); tries++)
		usleep(1000);		/* polls the readiness check */
	assert_true(lock_waiting(pid));
	return pid;
}

/*
 * A day file unlinked while a writer waits for its lock (what compress
 * does under its shared lock) is not written: the writer opens the path
 * afresh and the line lands in the new file.
 */
static void
test_unlinked_while_waiting(void **state)
{
	struct fixture *f = *state;
	char *got;
	size_t len;
	pid_t pid;
	int fd;

	pid = writer_waiting(f, &fd);
	assert_int_equal(unlink(f->file), 0);
	close(fd);			/* the writer gets the removed file */
	assert_int_equal(exit_status(pid), 0);
	assert_non_null(got = slurp(f->file, &len));
	assert_string_equal(got, "new\n");
	free(got);
}

/* How many descriptors this process has open. */
static int
count_fds(void)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;			/* opendir's own */
}

/* spool_write of line to day, which must succeed. */
static void
write_ok(const struct fixture *f, struct spool_pending *p, const char *day,
    const char *line)
{
	char err[256] = "";

	if (spool_write(p, f->dir, day, line, strlen(line), err,
	    sizeof(err)) != 0)
		fail_msg("spool_write: %s", err);
	assert_true(p->fd >= 0);
}

/* The inode behind fd. */
static ino_t
fd_ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static ino_t
path_ino(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static void
assert_content(const char *path, const char *want)
{
	char *b;
	size_t n;

	assert_non_null(b = slurp(path, &n));
	assert_string_equal(b, want);
	free(b);
}

/*
 * Appends of one process reuse its open day file; one unlinked meanwhile
 * (compress, purge) is not written again: a new file gets the line.
 */
static void
test_fd_reused(void **state)
{
	const struct fixture *f = *state;
	struct spool_pending p1, p2, p3;
	char err[256];
	ino_t ino;
	int nfd, old;

	write_ok(f, &p1, DAY, "{\"n\":1}\n");
	nfd = count_fds();
	assert_true(nfd > 0);
	ino = fd_ino(p1.fd);
	assert_true(ino == path_ino(f->file));
	write_ok(f, &p2, DAY, "{\"n\":2}\n");
	assert_int_equal(p2.fd, p1.fd);
	assert_true(fd_ino(p2.fd) == ino);
	assert_int_equal(count_fds(), nfd);
	assert_int_equal(spool_sync(&p2, err, sizeof(err)), 0);
	assert_content(f->file, "{\"n\":1}\n{\"n\":2}\n");

	/* held open here, so that its inode number is not reused */
	assert_true((old = open(f->file, O_RDONLY)) != -1);
	assert_int_equal(unlink(f->file), 0);
	write_ok(f, &p3, DAY, "{\"n\":3}\n");
	assert_true(path_ino(f->file) != ino);
	assert_true(fd_ino(p3.fd) == path_ino(f->file));
	assert_int_equal(count_fds(), nfd + 1);	/* + old: the cached closed */
	assert_int_equal(spool_sync(&p3, err, sizeof(err)), 0);
	assert_content(f->file, "{\"n\":3}\n");
	/* the removed file did not get the line */
	assert_int_equal(pread(old, err, sizeof(err), 0), 16);
	assert_memory_equal(err, "{\"n\":1}\n{\"n\":2}\n", 16);
	close(old);
}

/* A new day switches files; the one before is let go, not written. */
static void
test_new_day(void **state)
{
	const struct fixture *f = *state;
	struct spool_pending p;
	char next[200];
	int nfd;

	snprintf(next, sizeof(next), "%s/2026-11-27.jsonl", f->dir);
	write_ok(f, &p, DAY, "{\"d\":1}\n");
	nfd = count_fds();
	write_ok(f, &p, "2026-11-27", "{\"d\":2}\n");
	assert_true(fd_ino(p.fd) == path_ino(next));
	assert_int_equal(count_fds(), nfd);
	write_ok(f, &p, "2026-11-27", "{\"d\":3}\n");
	assert_content(f->file, "{\"d\":1}\n");
	assert_content(next, "{\"d\":2}\n{\"d\":3}\n");
	/* back to the first day: appended, not truncated */
	write_ok(f, &p, DAY, "{\"d\":4}\n");
	assert_int_equal(count_fds(), nfd);
	assert_content(f->file, "{\"d\":1}\n{\"d\":4}\n");
	assert_content(next, "{\"d\":2}\n{\"d\":3}\n");
}

/*
 * spool_write drops the day file's lock before returning (the sync comes
 * after, without it): another process locks the file right away.
 */
static void
test_unlocked_after_write(void **state)
{
	const struct fixture *f = *state;
	struct spool_pending p;
	char err[256];
	pid_t pid;
	int st, round;

	for (round = 0; round < 2; round++) {	/* opened, then reused */
		write_ok(f, &p, DAY, "{}\n");
		if ((pid = fork()) == 0) {
			int fd = open(f->file, O_RDONLY);

			if (fd == -1)
				_exit(2);
			if (flock(fd, LOCK_EX | LOCK_NB) == 0)
				_exit(0);
			_exit(errno == EWOULDBLOCK ? 3 : 4);
		}
		if ((st = exit_status(pid)) != 0)
			fail_msg("round %d: child says %d (3: still locked)",
			    round, st);
		assert_int_equal(spool_sync(&p, err, sizeof(err)), 0);
	}
	assert_content(f->file, "{}\n{}\n");
}

/*
 * A reused day file is locked again for each write: unlinked while this
 * process waits for the lock (what compress does under its shared lock),
 * it is let go and the line lands in a new file.
 */
static void
test_reused_unlinked_while_waiting(void **state)
{
	const struct fixture *f = *state;
	struct spool_pending p;
	struct pollfd pfd;
	char err[256], c = 0;
	pid_t parent = getpid(), pid;
	int ready[2], st;

	write_ok(f, &p, DAY, "{\"old\":1}\n");	/* now kept open */
	assert_int_equal(pipe(ready), 0);
	if ((pid = fork()) == 0) {
		int fd, ms;

		close(ready[0]);
		if ((fd = open(f->file, O_RDONLY)) == -1)
			_exit(2);
		if (flock(fd, LOCK_SH | LOCK_NB) == -1)
			c = 'b';	/* still locked by the writer */
		else
			c = 'r';
		if (write(ready[1], &c, 1) != 1 || c != 'r')
			_exit(3);
		for (ms = 0; !lock_waiting(parent); ms++) {
			if (ms == 10000)
				_exit(4);	/* the writer never waited */
			usleep(1000);
		}
		if (unlink(f->file) == -1)
			_exit(5);
		_exit(0);		/* the lock goes with the process */
	}
	assert_true(pid > 0);
	close(ready[1]);
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 10000) == 1 && read(ready[0], &c, 1) != 1)
		c = 0;
	close(ready[0]);
	if (c != 'r') {
		waitpid(pid, &st, 0);
		fail_msg("the other process cannot lock the file: %c", c);
	}
	write_ok(f, &p, DAY, "{\"new\":1}\n");
	assert_int_equal(exit_status(pid), 0);
	assert_int_equal(spool_sync(&p, err, sizeof(err)), 0);
	assert_content(f->file, "{\"new\":1}\n");
}

/*
 * spool_sync: the line is there after it; the directory is synced the
 * first time after the file was opened (and again until that works),
 * not after.
 */
static void
test_sync(void **state)
{
	const struct fixture *f = *state;
	struct spool_pending p;
	char err[256] = "", moved[160];

	snprintf(moved, sizeof(moved), "%s/moved", f->tmp);
	write_ok(f, &p, DAY, "{\"s\":1}\n");
	/* the directory is not where it was: its sync fails */
	assert_int_equal(rename(f->dir, moved), 0);
	assert_int_equal(spool_sync(&p, err, sizeof(err)), -1);
	if (strstr(err, "sync") == NULL || strstr(err, f->dir) == NULL ||
	    strstr(err, "No such file") == NULL)
		fail_msg("err: %s", err);
	assert_int_equal(rename(moved, f->dir), 0);
	/* the line is whole in the file; the next sync does the dir */
	assert_content(f->file, "{\"s\":1}\n");
	err[0] = '\0';
	if (spool_sync(&p, err, sizeof(err)) != 0)
		fail_msg("spool_sync: %s", err);
	/* the same file again: the directory is not synced again */
	write_ok(f, &p, DAY, "{\"s\":2}\n");
	assert_int_equal(rename(f->dir, moved), 0);
	err[0] = '\0';
	if (spool_sync(&p, err, sizeof(err)) != 0)
		fail_msg("spool_sync: %s", err);
	assert_int_equal(rename(moved, f->dir), 0);
	assert_content(f->file, "{\"s\":1}\n{\"s\":2}\n");
}

/*
 * The spool folder moved away while the receiver ran: the next line goes
 * to a folder made anew at its path, and a warning on stderr names it;
 * a line to the folder as it is says nothing.
 */
static void
test_dir_made_anew(void **state)
{
	const struct fixture *f = *state;
	struct spool_pending p;
	char moved[160], logf[160], *got;
	size_t len;
	int fd, saved;

	snprintf(moved, sizeof(moved), "%s/moved", f->tmp);
	snprintf(logf, sizeof(logf), "%s/stderr", f->tmp);
	write_ok(f, &p, DAY, "{\"s\":1}\n");
	assert_int_equal(rename(f->dir, moved), 0);
	assert_true((fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_true((saved = dup(STDERR_FILENO)) >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	log_init("smshook", LL_WARN);
	log_open(LD_STDERR, 0);
	write_ok(f, &p, DAY, "{\"s\":2}\n");
	write_ok(f, &p, DAY, "{\"s\":3}\n");
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	assert_content(f->file, "{\"s\":2}\n{\"s\":3}\n");
	assert_non_null(got = slurp(logf, &len));
	if (strstr(got, "warn: spool_dir ") == NULL ||
	    strstr(got, f->dir) == NULL || strstr(got, "made it anew") == NULL ||
	    strchr(got, '\n') != got + len - 1)
		fail_msg("stderr: %s", got);
	free(got);
	test_rmtree(moved);
}

/*
 * The day file removed every time this process has just locked it:
 * given up after three opens with ESTALE, nothing written anywhere;
 * the next append, the file left alone, works.
 */
static void
test_removed_every_time(void **state)
{
	const struct fixture *f = *state;
	struct spool_pending p;
	char err[256] = "";

	flock_unlink = f->file;
	assert_int_equal(spool_write(&p, f->dir, DAY, "{\"x\":1}\n", 8, err,
	    sizeof(err)), -1);
	flock_unlink = NULL;
	if (strstr(err, "open") == NULL || strstr(err, f->file) == NULL ||
	    strstr(err, strerror(ESTALE)) == NULL)
		fail_msg("err: %s", err);
	assert_int_equal(file_size(f->file), -1);
	write_ok(f, &p, DAY, "{\"y\":1}\n");
	assert_int_equal(spool_sync(&p, err, sizeof(err)), 0);
	assert_content(f->file, "{\"y\":1}\n");
}

/*
 * A lock that cannot be let go after the write: the line is synced at
 * once, while its fd is open, and the fd closed, which drops the lock
 * (another process can take it); spool_sync has nothing left to sync;
 * the next append opens afresh. If that early sync fails: -1, the whole
 * line stays, and spool_sync refuses (nothing pending).
 */
static void
test_unlock_fails(void **state)
{
	const struct fixture *f = *state;
	struct spool_pending p;
	char err[256] = "";
	pid_t pid;
	int fd, before;

	write_ok(f, &p, DAY, "{\"a\":1}\n");	/* opened and kept */
	flock_unlock_fails = 1;
	before = syncs;
	if (spool_write(&p, f->dir, DAY, "{\"b\":1}\n", 8, err,
	    sizeof(err)) != 0)
		fail_msg("spool_write: %s", err);
	assert_int_equal(flock_unlock_fails, 0);	/* it was tried */
	assert_int_equal(syncs, before + 1);		/* synced, fd open */
	assert_int_equal(p.fd, -1);
	assert_true(p.synced);
	if ((pid = fork()) == 0) {
		fd = open(f->file, O_RDONLY);
		_exit(fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 3);
	}
	assert_int_equal(exit_status(pid), 0);
	before = syncs;
	assert_int_equal(spool_sync(&p, err, sizeof(err)), 0);
	assert_int_equal(syncs, before);		/* nothing to do */
	write_ok(f, &p, DAY, "{\"c\":1}\n");
	assert_int_equal(spool_sync(&p, err, sizeof(err)), 0);
	/* the early sync fails: -1 with the line whole, nothing pending */
	flock_unlock_fails = 1;
	sync_fails = 1;
	err[0] = '\0';
	assert_int_equal(spool_write(&p, f->dir, DAY, "{\"d\":1}\n", 8, err,
	    sizeof(err)), -1);
	sync_fails = 0;
	if (strstr(err, "sync") == NULL || strstr(err, f->file) == NULL)
		fail_msg("err: %s", err);
	assert_false(p.synced);
	assert_int_equal(spool_sync(&p, err, sizeof(err)), -1);
	assert_content(f->file,
	    "{\"a\":1}\n{\"b\":1}\n{\"c\":1}\n{\"d\":1}\n");
}

/*
 * The day file's lock refused (ENOLCK: an NFS mount without its lock
 * daemon): -1 naming the lock and the file, nothing written. Refused once
 * on the kept file, the lock is taken again on a fresh open; refused on
 * both, -1, and the next append takes it.
 */
static void
test_lock_fails(void **state)
{
	const struct fixture *f = *state;
	struct spool_pending p;
	char err[256] = "";

	flock_lock_fails = 1;			/* the first open's */
	assert_int_equal(spool_write(&p, f->dir, DAY, "{\"a\":1}\n", 8, err,
	    sizeof(err)), -1);
	assert_int_equal(flock_lock_fails, 0);
	if (strstr(err, "lock") == NULL || strstr(err, f->file) == NULL ||
	    strstr(err, strerror(ENOLCK)) == NULL)
		fail_msg("err: %s", err);
	assert_content(f->file, "");
	write_ok(f, &p, DAY, "{\"b\":1}\n");	/* opened and kept */
	assert_int_equal(spool_sync(&p, err, sizeof(err)), 0);
	flock_lock_fails = 1;			/* the kept file's */
	write_ok(f, &p, DAY, "{\"c\":1}\n");
	assert_int_equal(flock_lock_fails, 0);
	assert_int_equal(spool_sync(&p, err, sizeof(err)), 0);
	flock_lock_fails = 2;			/* the kept and the fresh */
	err[0] = '\0';
	assert_int_equal(spool_write(&p, f->dir, DAY, "{\"d\":1}\n", 8, err,
	    sizeof(err)), -1);
	assert_int_equal(flock_lock_fails, 0);
	if (strstr(err, "lock") == NULL)
		fail_msg("err: %s", err);
	write_ok(f, &p, DAY, "{\"e\":1}\n");
	assert_int_equal(spool_sync(&p, err, sizeof(err)), 0);
	assert_content(f->file, "{\"b\":1}\n{\"c\":1}\n{\"e\":1}\n");
}

/*
 * The spool directory moved by hand while a writer that has just opened
 * its day file waits for the lock: the path is checked under the lock
 * as for a kept file, so the line lands in a day file at the configured
 * path (made anew), not in the moved directory.
 */
static void
test_moved_while_waiting(void **state)
{
	struct fixture *f = *state;
	char dir[160], moved[160], *got;
	size_t len;
	pid_t pid;
	int fd, st;

	snprintf(moved, sizeof(moved), "%s/moved/%s.jsonl", f->tmp, DAY);
	pid = writer_waiting(f, &fd);
	snprintf(dir, sizeof(dir), "%s/moved", f->tmp);
	assert_int_equal(rename(f->dir, dir), 0);
	close(fd);			/* the writer gets the moved file */
	st = exit_status(pid);
	assert_content(moved, "old\n");
	assert_non_null(got = slurp(f->file, &len));
	assert_string_equal(got, "new\n");
	free(got);
	assert_int_equal(st, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_day),
		cmocka_unit_test_setup_teardown(test_create_modes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_own_end, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unwritable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_back_unsynced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unlinked_while_waiting,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_while_waiting, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fd_reused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_new_day, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlocked_after_write,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reused_unlinked_while_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_made_anew, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_removed_every_time, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lock_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unlock_fails, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
