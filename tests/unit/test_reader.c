/*
 * test_ctl_spool.c: smshookctl's view of the spool: day files listed in
 * order within limits (a day both plain and compressed listed once, as
 * its .jsonl), and complete lines read with their uncompressed offsets
 * from a .jsonl or a .jsonl.gz, from the start or a stored position,
 * with a torn tail left alone and reported.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "reader.h"
#include "testutil.h"

/* Complete lines, an empty one among them, then a torn tail. */
#define TEXT	"aa\nbbbb\n\ncc\nTORN"
#define NBIG	3000		/* lines of the big file: several chunks */
#define HUGE	(200 * 1024)	/* one line longer than the read buffer */
#define YLEN	150000		/* longer than one read, shorter than HUGE */

struct fixture {
	char	dir[64];
};

/* One expected line and where it starts. */
struct exp {
	const char	*s;
	off_t		 off;
};

static const struct exp text_lines[] = {
	{ "aa", 0 }, { "bbbb", 3 }, { "", 8 }, { "cc", 9 }
};
#define NTEXT	(sizeof(text_lines) / sizeof(text_lines[0]))

static int
setup(void **state)
{
	struct fixture *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_reader.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	test_rmtree(f->dir);
	free(f);
	return 0;
}

/* Write (or with append, add) n bytes of s to dir/name. */
static void
put(const char *dir, const char *name, const char *s, size_t n, int append)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
	    0640);
	assert_true(fd != -1);
	assert_int_equal(write(fd, s, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

/* Write s[0..n) gzip-compressed to dir/name, in pieces of at most step. */
static void
put_gz(const char *dir, const char *name, const char *s, size_t n,
    size_t step)
{
	char path[PATH_MAX];
	gzFile gz;
	size_t o, k;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(gz = gzopen(path, "wb6"));
	for (o = 0; o < n; o += k) {
		k = n - o < step ? n - o : step;
		assert_int_equal(gzwrite(gz, s + o, (unsigned)k), (int)k);
	}
	assert_int_equal(gzclose(gz), Z_OK);
}

/* A spool_file for dir/DAY<suffix>. */
static void
file_of(struct day_file *sf, const char *dir, const char *day, int gz)
{
	memset(sf, 0, sizeof(*sf));
	snprintf(sf->day, sizeof(sf->day), "%s", day);
	snprintf(sf->path, sizeof(sf->path), "%s/%s.jsonl%s", dir, day,
	    gz ? ".gz" : "");
	sf->gz = gz;
}

/* Read every remaining line of r and compare with want[0..n). */
static void
expect_lines(struct reader *r, const struct exp *want, size_t n)
{
	const char *line;
	size_t len, i;
	off_t off;

	for (i = 0; i < n; i++) {
		assert_int_equal(reader_next(r, &line, &len, &off), 1);
		assert_int_equal(len, strlen(want[i].s));
		assert_memory_equal(line, want[i].s, len);
		assert_int_equal(off, want[i].off);
		assert_int_equal(reader_pos(r), off + (off_t)len + 1);
	}
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
	/* and it stays at the end */
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
}

/* The listing of dir within [from, to] must be want[0..n), "day:gz". */
static void
expect_list(const char *dir, const char *from, const char *to,
    const char *const *want, size_t n)
{
	struct day_file *v = NULL;
	char path[PATH_MAX], late[PATH_MAX], day[11];
	size_t got, i;
	int gz;

	assert_int_equal(reader_list(dir, from, to, &v, &got), 0);
	if (got != n)
		fail_msg("[%s, %s]: %zu files, want %zu", from ? from : "-",
		    to ? to : "-", got, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(want[i], "%10[0-9-]:%d", day, &gz), 2);
		assert_string_equal(v[i].day, day);
		assert_int_equal(v[i].gz, gz);
		snprintf(path, sizeof(path), "%s/%s.jsonl%s", dir, day,
		    gz ? ".gz" : "");
		assert_string_equal(v[i].path, path);
		/* "DAY:1L": a .jsonl beside the .gz, read after it */
		late[0] = '\0';
		if (strchr(want[i], 'L') != NULL)
			snprintf(late, sizeof(late), "%s/%s.jsonl", dir, day);
		assert_string_equal(v[i].late, late);
		assert_int_equal(v[i].locked, 0);
	}
	free(v);
}

static void
test_list(void **state)
{
	static const char *const foreign[] = {
		"notes.txt", "2026-11-04.json", "2026-11-05.jsonl.tmp",
		"2026-1-05.jsonl", "x2026-11-06.jsonl", ".2026-11-07.jsonl",
		"2026-11-08.jsonl.gz.part", "abcd-ef-gh.jsonl",
		"2026-11-10.JSONL", "2026_11_11.jsonl", "2026-11-12.jsonl~",
		"2026-11-13.gz", "replay.db", "2026-11-14.jsonlgz",
	};
	static const char *const all[] = { "2026-10-31:0", "2026-11-01:1",
	    "2026-11-02:1L", "2026-11-03:0", "2026-12-01:1" };
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		put(f->dir, foreign[i], "x\n", 2, 0);
	/* created out of order; 11-02 both plain and compressed */
	put(f->dir, "2026-11-03.jsonl", "x\n", 2, 0);
	put(f->dir, "2026-12-01.jsonl.gz", "x", 1, 0);
	put(f->dir, "2026-11-02.jsonl.gz", "x", 1, 0);
	put(f->dir, "2026-10-31.jsonl", "x\n", 2, 0);
	put(f->dir, "2026-11-01.jsonl.gz", "x", 1, 0);
	put(f->dir, "2026-11-02.jsonl", "x\n", 2, 0);

	expect_list(f->dir, NULL, NULL, all, 5);
	expect_list(f->dir, "2026-11-01", NULL, all + 1, 4);
	expect_list(f->dir, NULL, "2026-11-02", all, 3);
	expect_list(f->dir, "2026-11-02", "2026-11-02", all + 2, 1);
	expect_list(f->dir, "2026-11-01", "2026-11-03", all + 1, 3);
	/* limits that fall between days */
	expect_list(f->dir, "2026-11-04", "2026-11-30", NULL, 0);
	expect_list(f->dir, "2026-11-04", NULL, all + 4, 1);
	expect_list(f->dir, NULL, "2026-10-30", NULL, 0);
	/* an empty range */
	expect_list(f->dir, "2026-11-03", "2026-11-01", NULL, 0);
}

static void
test_list_both_order(void **state)
{
	static const char *const want[] = { "2026-11-02:1L" };
	struct fixture *f = *state;

	/* whatever readdir's order: the .gz, the .jsonl after it */
	put(f->dir, "2026-11-02.jsonl", "x\n", 2, 0);
	put(f->dir, "2026-11-02.jsonl.gz", "x", 1, 0);
	expect_list(f->dir, NULL, NULL, want, 1);
	expect_list(f->dir, "2026-11-02", "2026-11-02", want, 1);
	expect_list(f->dir, NULL, "2026-11-01", NULL, 0);
}

static void
test_list_errors(void **state)
{
	struct fixture *f = *state;
	struct day_file *v = (struct day_file *)1;
	char path[PATH_MAX];
	size_t n = 99;

	/* an empty directory: nothing, no error */
	assert_int_equal(reader_list(f->dir, NULL, NULL, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	snprintf(path, sizeof(path), "%s/missing", f->dir);
	v = (struct day_file *)1;
	errno = 0;
	assert_int_equal(reader_list(path, NULL, NULL, &v, &n), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(v);
	assert_int_equal(n, 0);
}

static void
test_plain(void **state)
{
	struct fixture *f = *state;
	struct day_file sf;
	struct reader *r;

	put(f->dir, "2026-11-26.jsonl", TEXT, sizeof(TEXT) - 1, 0);
	file_of(&sf, f->dir, "2026-11-26", 0);
	assert_non_null(r = reader_open(&sf, 0));
	assert_int_equal(reader_pos(r), 0);
	expect_lines(r, text_lines, NTEXT);
	assert_int_equal(reader_pos(r), 12);
	assert_int_equal(reader_partial(r), 4);	/* "TORN" */
	reader_close(r);
}

/*
 * Readers of TEXT in sf, plain or gzip: from each line's start that line
 * and the rest, from the end of the complete lines only the torn tail,
 * from the very end nothing; offsets past the end or negative refused.
 */
static void
expect_offsets(const struct day_file *sf)
{
	struct reader *r;
	const char *line;
	size_t len, i;
	off_t off;

	for (i = 0; i < NTEXT; i++) {
		assert_non_null(r = reader_open(sf, text_lines[i].off));
		assert_int_equal(reader_pos(r), text_lines[i].off);
		expect_lines(r, text_lines + i, NTEXT - i);
		assert_int_equal(reader_pos(r), 12);
		assert_int_equal(reader_partial(r), 4);
		reader_close(r);
	}
	assert_non_null(r = reader_open(sf, 12));
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
	assert_int_equal(reader_pos(r), 12);
	assert_int_equal(reader_partial(r), 4);
	reader_close(r);
	assert_non_null(r = reader_open(sf, sizeof(TEXT) - 1));
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
	assert_int_equal(reader_partial(r), 0);
	reader_close(r);
	errno = 0;		/* past the end: the file shrank */
	assert_null(reader_open(sf, sizeof(TEXT)));
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_null(reader_open(sf, 100000));
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_null(reader_open(sf, -1));
	assert_int_equal(errno, EINVAL);
}

static void
test_plain_offsets(void **state)
{
	struct fixture *f = *state;
	struct day_file sf;

	put(f->dir, "2026-11-26.jsonl", TEXT, sizeof(TEXT) - 1, 0);
	file_of(&sf, f->dir, "2026-11-26", 0);
	expect_offsets(&sf);
	/* a missing file */
	file_of(&sf, f->dir, "2026-11-27", 0);
	errno = 0;
	assert_null(reader_open(&sf, 0));
	assert_int_equal(errno, ENOENT);
}

/* Once the torn tail is completed, a reader from pos gets the line. */
static void
test_plain_growth(void **state)
{
	static const struct exp more[] = { { "TORN-ok", 12 }, { "dd", 20 } };
	struct fixture *f = *state;
	struct day_file sf;
	struct reader *r;
	off_t pos;

	put(f->dir, "2026-11-26.jsonl", TEXT, sizeof(TEXT) - 1, 0);
	file_of(&sf, f->dir, "2026-11-26", 0);
	assert_non_null(r = reader_open(&sf, 0));
	/* bytes added after open are not seen by this reader */
	put(f->dir, "2026-11-26.jsonl", "-ok\ndd\n", 7, 1);
	expect_lines(r, text_lines, NTEXT);
	assert_int_equal(reader_partial(r), 4);
	pos = reader_pos(r);
	reader_close(r);
	assert_non_null(r = reader_open(&sf, pos));
	expect_lines(r, more, 2);
	assert_int_equal(reader_partial(r), 0);
	assert_int_equal(reader_pos(r), 23);
	reader_close(r);
}

/*
 * A torn tail is never read: the receiver's next append cuts it off and
 * writes over it, so a reader that had read part of it would glue the
 * rest of a new line to it (and skip the lines it swallowed).
 */
static void
test_torn_cut_over(void **state)
{
	static const struct exp after[] = { { "bb", 3 } };
	struct fixture *f = *state;
	struct day_file sf;
	struct reader *r;
	const char *line;
	size_t len;
	off_t off;
	char *big;
	int fd;

	assert_non_null(big = malloc(HUGE + 4));
	memcpy(big, "aa\n", 3);
	memset(big + 3, 'x', HUGE);
	put(f->dir, "2026-11-27.jsonl", big, 3 + HUGE, 0);
	file_of(&sf, f->dir, "2026-11-27", 0);
	assert_non_null(r = reader_open(&sf, 0));
	assert_int_equal(reader_next(r, &line, &len, &off), READER_LINE);
	/* the receiver, under its lock: cut to the last line, append */
	assert_true((fd = open(sf.path, O_WRONLY)) != -1);
	assert_int_equal(ftruncate(fd, 3), 0);
	assert_int_equal(close(fd), 0);
	/* a line end past what was read, before the length measured */
	memcpy(big, "bb\n", 3);
	memset(big + 3, 'y', YLEN);
	memcpy(big + 3 + YLEN, "\ncc\n", 4);
	put(f->dir, "2026-11-27.jsonl", big, 7 + YLEN, 1);
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
	assert_int_equal(reader_pos(r), 3);
	assert_int_equal(reader_partial(r), HUGE);
	reader_close(r);
	/* the next reader starts at the cut and sees the new lines whole */
	assert_non_null(r = reader_open(&sf, 3));
	reader_limit(r, 16);
	assert_int_equal(reader_next(r, &line, &len, &off), READER_LINE);
	assert_int_equal(off, after[0].off);
	assert_memory_equal(line, after[0].s, 2);
	assert_int_equal(reader_next(r, &line, &len, &off), READER_LONG);
	assert_int_equal(off, 6);
	assert_int_equal(len, YLEN);
	assert_int_equal(reader_next(r, &line, &len, &off), READER_LINE);
	assert_int_equal(off, 7 + YLEN);
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
	reader_close(r);
	free(big);
}

static void
test_gz(void **state)
{
	struct fixture *f = *state;
	struct day_file sf;

	/* offsets are uncompressed ones, as for .jsonl */
	put_gz(f->dir, "2026-11-26.jsonl.gz", TEXT, sizeof(TEXT) - 1, 5);
	file_of(&sf, f->dir, "2026-11-26", 1);
	expect_offsets(&sf);
}

/*
 * A day compressed between listing and reading (export and stats do not
 * take the cron lock): the listed .jsonl is gone, its .gz is read; a
 * late .jsonl merged into the .gz meanwhile likewise.
 */
static void
test_compressed_since_listed(void **state)
{
	struct fixture *f = *state;
	struct day_file *v = NULL;
	char path[PATH_MAX];
	size_t n;

	put(f->dir, "2026-11-26.jsonl", TEXT, sizeof(TEXT) - 1, 0);
	assert_int_equal(reader_list(f->dir, NULL, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].gz, 0);
	put_gz(f->dir, "2026-11-26.jsonl.gz", TEXT, sizeof(TEXT) - 1, 7);
	snprintf(path, sizeof(path), "%s/2026-11-26.jsonl", f->dir);
	assert_int_equal(unlink(path), 0);
	expect_offsets(&v[0]);
	free(v);

	/* a late .jsonl beside the .gz, merged into it after the listing */
	put(f->dir, "2026-11-26.jsonl", "late\n", 5, 0);
	assert_int_equal(reader_list(f->dir, NULL, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].late[0] != '\0');
	assert_int_equal(unlink(path), 0);
	expect_offsets(&v[0]);
	free(v);

	/* gone for good (purged): ENOENT, as before */
	snprintf(path, sizeof(path), "%s/2026-11-26.jsonl.gz", f->dir);
	put(f->dir, "2026-11-26.jsonl", TEXT, sizeof(TEXT) - 1, 0);
	assert_int_equal(reader_list(f->dir, NULL, NULL, &v, &n), 0);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/2026-11-26.jsonl", f->dir);
	assert_int_equal(unlink(path), 0);
	errno = 0;
	assert_null(reader_open(&v[0], 0));
	assert_int_equal(errno, ENOENT);
	free(v);
}

/*
 * A gzip file cut short, before its trailer or just after its header:
 * its complete lines, then -1 with READER_ETRUNC, never the day's end;
 * its length is not known either.
 */
static void
test_gz_truncated(void **state)
{
	struct fixture *f = *state;
	struct day_file sf;
	struct reader *r;
	char path[PATH_MAX];
	const char *line;
	struct stat st;
	size_t len, i, n;
	off_t off, cut[2];
	int rc;

	snprintf(path, sizeof(path), "%s/2026-11-26.jsonl.gz", f->dir);
	file_of(&sf, f->dir, "2026-11-26", 1);
	for (i = 0; i < 2; i++) {
		put_gz(f->dir, "2026-11-26.jsonl.gz", TEXT, sizeof(TEXT) - 1,
		    64);
		assert_int_equal(stat(path, &st), 0);
		cut[0] = st.st_size - 8;	/* no trailer */
		cut[1] = 10;			/* a header alone */
		assert_int_equal(truncate(path, cut[i]), 0);
		assert_non_null(r = reader_open(&sf, 0));
		for (n = 0; (rc = reader_next(r, &line, &len, &off)) ==
		    READER_LINE; n++)
			assert_int_equal(off, text_lines[n].off);
		assert_int_equal(n, i == 0 ? NTEXT : 0);
		assert_int_equal(rc, -1);
		assert_int_equal(errno, READER_ETRUNC);
		reader_close(r);
		errno = 0;
		assert_int_equal(reader_gz_len(path), -1);
		assert_int_equal(errno, READER_ETRUNC);
	}
	assert_string_equal(reader_strerror(READER_ETRUNC), "truncated gzip "
	    "file (it ends before its gzip stream does)");
}

/*
 * A .gz of gzip members back to back is their text, read from any offset
 * in it. After a member, anything but another whole one is an error,
 * never the end, once the lines before it are given: a member cut 1 byte
 * in (READER_ETRUNC), its first byte wrong, junk, zeros (EIO).
 */
static void
test_gz_members(void **state)
{
	static const char mtext[] = "aa\nbbbb\n";
	static const int want[] = { 0, READER_ETRUNC, EIO, EIO, EIO };
	struct fixture *f = *state;
	struct day_file sf;
	struct reader *r;
	char path[PATH_MAX], m[256], bad[256];
	const char *line, *tail;
	size_t len, mn, tn, n, i;
	off_t off, tlen = 2 * (sizeof(mtext) - 1);
	int fd, rc;

	put_gz(f->dir, "member.gz", mtext, sizeof(mtext) - 1, 64);
	snprintf(path, sizeof(path), "%s/member.gz", f->dir);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_true((mn = (size_t)read(fd, m, sizeof(m))) > 2 &&
	    mn < sizeof(m));
	close(fd);
	memcpy(bad, m, mn);
	bad[0] ^= 1;
	snprintf(path, sizeof(path), "%s/2026-11-27.jsonl.gz", f->dir);
	file_of(&sf, f->dir, "2026-11-27", 1);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		tail = i == 1 ? m : i == 2 ? bad : i == 3 ? "junk\n" : "\0\0";
		tn = i == 0 ? 0 : i == 1 ? 1 : i == 2 ? mn : i == 3 ? 5 : 2;
		put(f->dir, "2026-11-27.jsonl.gz", m, mn, 0);
		put(f->dir, "2026-11-27.jsonl.gz", m, mn, 1);
		put(f->dir, "2026-11-27.jsonl.gz", tail, tn, 1);
		errno = 0;
		assert_int_equal(reader_gz_len(path), want[i] ? -1 : tlen);
		assert_int_equal(errno, want[i]);
		assert_non_null(r = reader_open(&sf, 0));
		for (n = 0; (rc = reader_next(r, &line, &len, &off)) ==
		    READER_LINE; n++)
			assert_int_equal(off, n % 2 == 0 ? n / 2 * 8 : n / 2 *
			    8 + 3);
		assert_int_equal(n, 4);
		assert_int_equal(rc, want[i] ? -1 : 0);
		if (want[i])
			assert_int_equal(errno, want[i]);
		reader_close(r);
		/* from the second member, from the end */
		assert_non_null(r = reader_open(&sf, tlen / 2));
		assert_int_equal(reader_next(r, &line, &len, &off), 1);
		assert_int_equal(off, tlen / 2);
		reader_close(r);
		assert_non_null(r = reader_open(&sf, tlen));
		assert_int_equal(reader_next(r, &line, &len, &off), want[i] ?
		    -1 : 0);
		reader_close(r);
		/* past the end of the text: too short, or the error */
		errno = 0;
		assert_null(reader_open(&sf, tlen + 1));
		assert_int_equal(errno, want[i] ? want[i] : ERANGE);
	}
}

/* Many lines over several buffer fills, plain and compressed alike. */
static void
test_big(void **state)
{
	struct fixture *f = *state;
	struct day_file sf;
	struct reader *r;
	const char *line;
	char *text, want[160];
	size_t sz, used = 0, len, i, k, wl;
	off_t off, *offs;
	int gz;

	sz = NBIG * 160 + HUGE + 16;
	assert_non_null(text = malloc(sz));
	assert_non_null(offs = calloc(NBIG + 1, sizeof(*offs)));
	for (i = 0; i < NBIG; i++) {
		offs[i] = (off_t)used;
		wl = (size_t)snprintf(want, sizeof(want), "{\"n\":%zu,\"p\":\"",
		    i);
		for (k = 0; k < i % 97; k++)
			want[wl++] = (char)('a' + k % 26);
		want[wl++] = '"';
		want[wl++] = '}';
		memcpy(text + used, want, wl);
		used += wl;
		text[used++] = '\n';
		if (i == NBIG / 2) {		/* one huge line mid-way */
			offs[++i] = (off_t)used;
			memset(text + used, 'h', HUGE);
			used += HUGE;
			text[used++] = '\n';
		}
	}
	offs[NBIG] = (off_t)used;
	put(f->dir, "2026-11-26.jsonl", text, used, 0);
	put_gz(f->dir, "2026-11-26.jsonl.gz", text, used, 4096);
	for (gz = 0; gz <= 1; gz++) {
		file_of(&sf, f->dir, "2026-11-26", gz);
		assert_non_null(r = reader_open(&sf, 0));
		for (i = 0; i < NBIG; i++) {
			assert_int_equal(reader_next(r, &line, &len,
			    &off), 1);
			assert_int_equal(off, offs[i]);
			assert_int_equal(len, (size_t)(offs[i + 1] - offs[i])
			    - 1);
			assert_memory_equal(line, text + offs[i], len);
		}
		assert_int_equal(reader_next(r, &line, &len, &off), 0);
		assert_int_equal(reader_pos(r), (off_t)used);
		assert_int_equal(reader_partial(r), 0);
		reader_close(r);
		/* from a stored position past the huge line */
		i = NBIG / 2 + 7;
		assert_non_null(r = reader_open(&sf, offs[i]));
		assert_int_equal(reader_next(r, &line, &len, &off), 1);
		assert_int_equal(off, offs[i]);
		assert_memory_equal(line, text + offs[i], len);
		reader_close(r);
	}
	free(offs);
	free(text);
}

/*
 * Lines longer than the limit: READER_LONG with their full length and
 * first bytes, reading goes on after them; an unfinished long last line
 * is a partial line, not a line. Plain and gzip alike.
 */
static void
test_long(void **state)
{
	struct fixture *f = *state;
	struct day_file sf;
	struct reader *r;
	const char *line;
	char *text;
	size_t len, n = 0, o;
	off_t off;
	int gz, k;

	assert_non_null(text = malloc(40000));
	o = (size_t)snprintf(text, 40000, "short\n");
	memset(text + o, 'L', 10000);		/* 10,000: over 1,000 */
	o += 10000;
	text[o++] = '\n';
	memset(text + o, 'M', 1000);		/* exactly the limit: a line */
	o += 1000;
	text[o++] = '\n';
	o += (size_t)snprintf(text + o, 100, "after\n");
	memset(text + o, 'P', 25000);		/* unfinished and long */
	n = o + 25000;
	for (gz = 0; gz <= 1; gz++) {
		if (gz)
			put_gz(f->dir, "2026-03-01.jsonl.gz", text, n, 4096);
		else
			put(f->dir, "2026-03-01.jsonl", text, n, 0);
		file_of(&sf, f->dir, "2026-03-01", gz);
		assert_non_null(r = reader_open(&sf, 0));
		reader_limit(r, 1000);
		assert_int_equal(reader_next(r, &line, &len, &off),
		    READER_LINE);
		assert_int_equal(len, 5);
		assert_int_equal(reader_next(r, &line, &len, &off),
		    READER_LONG);
		assert_int_equal(len, 10000);
		assert_int_equal(off, 6);
		for (k = 0; k < READER_HEAD; k++)
			assert_int_equal(line[k], 'L');
		assert_int_equal(reader_next(r, &line, &len, &off),
		    READER_LINE);
		assert_int_equal(len, 1000);
		assert_int_equal(off, 10007);
		assert_int_equal(reader_next(r, &line, &len, &off),
		    READER_LINE);
		assert_int_equal(len, 5);
		assert_memory_equal(line, "after", 5);
		assert_int_equal(reader_next(r, &line, &len, &off), 0);
		assert_int_equal(reader_pos(r), (off_t)o);
		assert_int_equal(reader_partial(r), 25000);
		reader_close(r);
		/* from the long line's start: the same answer again */
		assert_non_null(r = reader_open(&sf, 6));
		reader_limit(r, 1000);
		assert_int_equal(reader_next(r, &line, &len, &off),
		    READER_LONG);
		assert_int_equal(off, 6);
		reader_close(r);
	}
	/* the default limit: line_max() of the default max_body */
	file_of(&sf, f->dir, "2026-03-01", 0);
	assert_non_null(r = reader_open(&sf, 0));
	assert_int_equal(reader_next(r, &line, &len, &off), READER_LINE);
	assert_int_equal(reader_next(r, &line, &len, &off), READER_LINE);
	assert_int_equal(len, 10000);
	reader_close(r);
	free(text);
}

/*
 * A day of two files is one text: the .gz, then the .jsonl's lines
 * beyond it (a late file: all; a copy a killed compress left: those
 * appended after it), with offsets that stay valid once merged.
 */
/*
 * A day of two files in dir: DAY.jsonl.gz holding gz[0..gzn), DAY.jsonl
 * holding late[0..n); its listing, one entry, in *v.
 */
static void
put_pair(const char *dir, const char *day, const char *gz, size_t gzn,
    const char *late, size_t n, struct day_file **v)
{
	char name[32];
	size_t got;

	snprintf(name, sizeof(name), "%s.jsonl.gz", day);
	put_gz(dir, name, gz, gzn, 3);
	snprintf(name, sizeof(name), "%s.jsonl", day);
	put(dir, name, late, n, 0);
	free(*v);
	*v = NULL;
	assert_int_equal(reader_list(dir, NULL, NULL, v, &got), 0);
	assert_int_equal(got, 1);
}

/* reader_pair of f must say glen, skip and torn (-1: any). */
static void
expect_pair(const struct day_file *f, off_t glen, off_t skip, off_t torn)
{
	off_t g, s, t;

	assert_int_equal(reader_pair(f, &g, &s, &t), 0);
	if (glen != -1)
		assert_int_equal(g, glen);
	assert_int_equal(s, skip);
	if (torn != -1)
		assert_int_equal(t, torn);
}

/* A .gz of two lines and the day it makes with two late lines. */
static const char pair_gz[] = "g1\ng2\n";
static const struct exp late_lines[] = {
	{ "g1", 0 }, { "g2", 3 }, { "l1", 6 }, { "l2", 9 }
};

static void
test_pair(void **state)
{
	struct fixture *f = *state;
	struct day_file *v = NULL;
	struct reader *r;
	const char *line;
	size_t len;
	off_t off, glen, skip, torn;

	/* a late file: new lines only */
	put_pair(f->dir, "2026-04-01", pair_gz, sizeof(pair_gz) - 1,
	    "l1\nl2\nTO", 8, &v);
	assert_int_equal(reader_pair(&v[0], &glen, &skip, &torn), 0);
	assert_int_equal(glen, 6);
	assert_int_equal(skip, 0);
	assert_non_null(r = reader_open(&v[0], 0));
	expect_lines(r, late_lines, 4);
	assert_int_equal(reader_pos(r), 12);
	assert_int_equal(reader_partial(r), 2);
	reader_close(r);
	/* from inside the .gz, from its end, from inside the .jsonl */
	assert_non_null(r = reader_open(&v[0], 3));
	expect_lines(r, late_lines + 1, 3);
	reader_close(r);
	assert_non_null(r = reader_open(&v[0], 6));
	expect_lines(r, late_lines + 2, 2);
	reader_close(r);
	assert_non_null(r = reader_open(&v[0], 9));
	expect_lines(r, late_lines + 3, 1);
	reader_close(r);
	assert_null(reader_open(&v[0], 15));	/* past the end */
	assert_int_equal(errno, ERANGE);
	/* a left-behind copy with one line appended after it */
	put(f->dir, "2026-04-01.jsonl", "g1\ng2\nl1\n", 9, 0);
	assert_int_equal(reader_pair(&v[0], &glen, &skip, &torn), 0);
	assert_int_equal(skip, 6);
	assert_non_null(r = reader_open(&v[0], 0));
	expect_lines(r, late_lines, 3);
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
	assert_int_equal(reader_partial(r), 0);
	reader_close(r);
	assert_non_null(r = reader_open(&v[0], 6));
	expect_lines(r, late_lines + 2, 1);
	reader_close(r);
	/* a copy with nothing more: the .gz alone */
	put(f->dir, "2026-04-01.jsonl", pair_gz, sizeof(pair_gz) - 1, 0);
	assert_non_null(r = reader_open(&v[0], 0));
	expect_lines(r, late_lines, 2);
	assert_int_equal(reader_pos(r), 6);
	reader_close(r);
	free(v);
}

/* Read one line of r: kind n, text s, at off. */
static void
expect_one(struct reader *r, int n, const char *s, off_t at)
{
	const char *line;
	size_t len;
	off_t off;

	assert_int_equal(reader_next(r, &line, &len, &off), n);
	assert_int_equal(len, strlen(s));
	assert_memory_equal(line, s, len);
	assert_int_equal(off, at);
}

/*
 * A .gz an older compress made with a torn tail, then a late .jsonl: the
 * tail ends where the .gz does, the late line is read whole.
 */
static void
test_pair_torn_gz(void **state)
{
	static const char gz[] = "g1\ng2\nTO";
	struct fixture *f = *state;
	struct day_file *v = NULL;
	struct reader *r;
	const char *line;
	size_t len;
	off_t off;

	put_pair(f->dir, "2026-04-02", gz, sizeof(gz) - 1, "l1\n", 3, &v);
	expect_pair(&v[0], 8, 0, 2);
	assert_non_null(r = reader_open(&v[0], 0));
	expect_one(r, READER_LINE, "g1", 0);
	expect_one(r, READER_LINE, "g2", 3);
	expect_one(r, READER_TORN, "TO", 6);
	assert_int_equal(reader_pos(r), 8);
	expect_one(r, READER_LINE, "l1", 8);
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
	assert_int_equal(reader_pos(r), 11);
	reader_close(r);
	/* from a position after the torn line */
	assert_non_null(r = reader_open(&v[0], 8));
	expect_one(r, READER_LINE, "l1", 8);
	reader_close(r);
	free(v);
}

/*
 * A compress stopped after it merged a late .jsonl into the .gz but
 * before it removed the .jsonl: the lines it merged are read once.
 */
static void
test_pair_merged(void **state)
{
	static const char gz[] = "g1\nl1\n";
	static const char same[] = "g1\nl1\nzz\n";
	struct fixture *f = *state;
	struct day_file *v = NULL;
	struct reader *r;
	const char *line;
	size_t len;
	off_t off;

	put_pair(f->dir, "2026-04-03", gz, sizeof(gz) - 1, "l1\n", 3, &v);
	expect_pair(&v[0], 6, 3, 0);
	/* and the receiver wrote one more line after the stop */
	put(f->dir, "2026-04-03.jsonl", "l2\n", 3, 1);
	expect_pair(&v[0], 6, 3, 0);
	assert_non_null(r = reader_open(&v[0], 0));
	expect_one(r, READER_LINE, "g1", 0);
	expect_one(r, READER_LINE, "l1", 3);
	expect_one(r, READER_LINE, "l2", 6);
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
	reader_close(r);
	assert_non_null(r = reader_open(&v[0], 6));
	expect_one(r, READER_LINE, "l2", 6);
	reader_close(r);
	/*
	 * the .jsonl's first line in the .gz, but not the rest: that line
	 * is there already (a line written anew never repeats one byte for
	 * byte: it has its own time and token), the rest is late
	 */
	put_pair(f->dir, "2026-04-03", same, sizeof(same) - 1, "l1\nl2\n", 6,
	    &v);
	expect_pair(&v[0], 9, 3, 0);
	assert_non_null(r = reader_open(&v[0], 0));
	expect_one(r, READER_LINE, "g1", 0);
	expect_one(r, READER_LINE, "l1", 3);
	expect_one(r, READER_LINE, "zz", 6);
	expect_one(r, READER_LINE, "l2", 9);
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
	reader_close(r);
	/*
	 * an older compress's copy with a torn tail, the tail since cut
	 * from the .jsonl and a line written over it that starts the same:
	 * only the .gz's complete lines count as copied
	 */
	put_pair(f->dir, "2026-04-03", "a1\nb1\nxy", 8, "a1\nb1\nxyz\n", 10,
	    &v);
	expect_pair(&v[0], 8, 6, 2);
	assert_non_null(r = reader_open(&v[0], 0));
	expect_one(r, READER_LINE, "a1", 0);
	expect_one(r, READER_LINE, "b1", 3);
	expect_one(r, READER_TORN, "xy", 6);
	expect_one(r, READER_LINE, "xyz", 8);
	assert_int_equal(reader_next(r, &line, &len, &off), 0);
	reader_close(r);
	free(v);
}

/* Read f from offset from to its end: want[0..n), then the end. */
static void
read_from(const struct day_file *f, off_t from, const struct exp *want,
    size_t n)
{
	struct reader *r;

	assert_non_null(r = reader_open(f, from));
	expect_lines(r, want, n);
	assert_int_equal(reader_pos(r), n > 0 ? want[n - 1].off +
	    (off_t)strlen(want[n - 1].s) + 1 : from);
	reader_close(r);
}

/*
 * A day file restored from a backup beside the .gz compress made of the
 * whole day: its lines, the .gz's first ones or any run of them, are read
 * once; a line the receiver writes after it is read too, once, also after
 * a merge of it stopped before the file was removed.
 */
static void
test_pair_restored(void **state)
{
	static const char gz[] = "g1\ng2\ng3\ng4\n";
	static const char merged[] = "g1\ng2\ng3\ng4\nl1\n";
	static const struct exp all[] = {
		{ "g1", 0 }, { "g2", 3 }, { "g3", 6 }, { "g4", 9 }, { "l1", 12 },
		{ "l2", 15 }
	};
	struct fixture *f = *state;
	struct day_file *v = NULL;

	put_pair(f->dir, "2026-04-04", gz, sizeof(gz) - 1, "g1\ng2\n", 6, &v);
	expect_pair(&v[0], 12, 6, 0);
	read_from(&v[0], 0, all, 4);
	/* a backup from the middle of the day's text, and a torn tail */
	put(f->dir, "2026-04-04.jsonl", "g2\ng3\ng", 7, 0);
	expect_pair(&v[0], 12, 6, 0);
	/* a line written after the restore */
	put(f->dir, "2026-04-04.jsonl", "g1\ng2\nl1\n", 9, 0);
	expect_pair(&v[0], 12, 6, 0);
	read_from(&v[0], 0, all, 5);
	read_from(&v[0], 12, all + 4, 1);
	/*
	 * compress merged that line and was stopped before it removed the
	 * file: the text stays the same, then one more line comes
	 */
	put_pair(f->dir, "2026-04-04", merged, sizeof(merged) - 1,
	    "g1\ng2\nl1\n", 9, &v);
	expect_pair(&v[0], 15, 9, 0);
	read_from(&v[0], 0, all, 5);
	put(f->dir, "2026-04-04.jsonl", "l2\n", 3, 1);
	expect_pair(&v[0], 15, 9, 0);
	read_from(&v[0], 0, all, 6);
	free(v);
}

/*
 * Merge the day's late .jsonl into its .gz as compress does: the .gz
 * replaced by one holding text[0..n), the .jsonl removed.
 */
static void
merge_now(const char *dir, const char *day, const char *text, size_t n)
{
	char name[32], from[PATH_MAX], to[PATH_MAX];

	snprintf(name, sizeof(name), "%s.jsonl.gz.tmp", day);
	put_gz(dir, name, text, n, 4);
	snprintf(from, sizeof(from), "%s/%s", dir, name);
	snprintf(to, sizeof(to), "%s/%s.jsonl.gz", dir, day);
	assert_int_equal(rename(from, to), 0);
	snprintf(to, sizeof(to), "%s/%s.jsonl", dir, day);
	assert_int_equal(unlink(to), 0);
}

/*
 * compress merges the late .jsonl into the .gz while a reader (export,
 * verify, stats: they take no lock) is inside the .gz: the late lines
 * are read from the new .gz, at the same offsets, once; so are those of
 * a copy a stopped compress left. A reader holding the .jsonl's lock
 * (none can be merged under it) still says the file is gone.
 */
static void
test_pair_merged_while_read(void **state)
{
	static const char all[] = "g1\ng2\nl1\nl2\n";
	struct fixture *f = *state;
	struct day_file *v = NULL;
	struct reader *r;
	const char *line;
	size_t len;
	off_t off;

	/* a late file */
	put_pair(f->dir, "2026-04-05", pair_gz, sizeof(pair_gz) - 1,
	    "l1\nl2\n", 6, &v);
	assert_non_null(r = reader_open(&v[0], 0));
	expect_one(r, READER_LINE, "g1", 0);	/* the .gz's text is read */
	merge_now(f->dir, "2026-04-05", all, sizeof(all) - 1);
	expect_lines(r, late_lines + 1, 3);
	reader_close(r);
	/* a copy of its first line, left by a stopped compress */
	put_pair(f->dir, "2026-04-05", pair_gz, sizeof(pair_gz) - 1,
	    "g2\nl1\nl2\n", 9, &v);
	expect_pair(&v[0], 6, 3, 0);
	assert_non_null(r = reader_open(&v[0], 0));
	expect_one(r, READER_LINE, "g1", 0);
	merge_now(f->dir, "2026-04-05", all, sizeof(all) - 1);
	expect_lines(r, late_lines + 1, 3);
	reader_close(r);
	/* the caller holds the .jsonl's lock: an error, as before */
	put_pair(f->dir, "2026-04-05", pair_gz, sizeof(pair_gz) - 1,
	    "l1\nl2\n", 6, &v);
	v[0].locked = 1;
	assert_non_null(r = reader_open(&v[0], 0));
	expect_one(r, READER_LINE, "g1", 0);
	merge_now(f->dir, "2026-04-05", all, sizeof(all) - 1);
	expect_one(r, READER_LINE, "g2", 3);
	errno = 0;
	assert_int_equal(reader_next(r, &line, &len, &off), -1);
	assert_int_equal(errno, ENOENT);
	reader_close(r);
	free(v);
}

/* A copy whose first line is longer than the limit is found all the same. */
static void
test_pair_merged_long(void **state)
{
	struct fixture *f = *state;
	struct day_file *v = NULL;
	char text[2 * READER_HEAD + 8];

	memset(text, 'q', 2 * READER_HEAD);
	memcpy(text + 2 * READER_HEAD, "\nl1\n", 4);
	reader_default_limit(16);
	put_pair(f->dir, "2026-04-04", text, sizeof(text) - 4, text,
	    sizeof(text) - 4, &v);
	expect_pair(&v[0], sizeof(text) - 4, sizeof(text) - 4, 0);
	reader_default_limit(0);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_both_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_offsets, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_plain_growth, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compressed_since_listed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_gz_truncated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gz_members, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_cut_over, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pair_torn_gz, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pair_merged, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pair_restored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pair_merged_long, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pair_merged_while_read,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
