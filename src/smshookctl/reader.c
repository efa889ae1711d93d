/*
 * reader.c: day files as smshookctl reads them. A .jsonl is measured
 * under a shared flock, to the end of its last whole line: every byte
 * below that is final, so the lock is dropped again at once and the
 * receiver never waits on a long import. Bytes after it are an unfinished
 * line a writer left (no writer is inside the lock with us): the
 * receiver's next append cuts them off and writes over them, so they are
 * never read. A .jsonl.gz is read through zlib, to the proper end of its
 * gzip stream (one cut short is an error, never a shorter day); offsets
 * are uncompressed offsets. An unfinished line at the end of a .gz
 * followed by a late .jsonl ends there (READER_TORN), never glued to the
 * .jsonl's first.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "day.h"
#include "fsutil.h"
#include "line.h"
#include "reader.h"

#define READ_CHUNK	65536

const char reader_unfinished[] = "unfinished line (a write that failed)";

static size_t default_max;	/* reader_default_limit's, 0: line_max(1 MiB) */

struct reader {
	int		 fd;		/* .jsonl, else -1 */
	gzFile		 gz;		/* .jsonl.gz, else NULL */
	off_t		 limit;		/* .jsonl: its whole lines' end */
	off_t		 torn;		/* .jsonl: bytes after limit */
	int		 cut;		/* the .gz ended inside a line */
	off_t		 plain_base;	/* offset in the day of the .jsonl's 0 */
	const char	*late;		/* a .jsonl to read after the .gz */
	const char	*gzpath;	/* that .gz */
	off_t		 gzlen;		/* its length when it was measured */
	int		 locked;	/* the caller holds the .jsonl's flock */
	off_t		 base;		/* file offset of buf[0] */
	char		*buf;
	size_t		 cap;
	size_t		 start;		/* next line starts at buf[start] */
	size_t		 end;		/* bytes of buf in use */
	size_t		 scanned;	/* bytes after start without '\n' */
	size_t		 max;		/* longest line held in buf */
	int		 eof;
	int		 skipping;	/* inside a line longer than max */
	off_t		 skip_off;	/* where it started */
	off_t		 skip_len;	/* its bytes dropped so far */
	char		 head[READER_HEAD];
	size_t		 headlen;
};

/* 1 if name is a real day YYYY-MM-DD followed by suffix exactly. */
static int
day_name(const char *name, const char *suffix)
{
	char day[11];

	if (strnlen(name, 10) < 10 || strcmp(name + 10, suffix) != 0)
		return 0;
	memcpy(day, name, 10);
	day[10] = '\0';
	return day_valid(day);
}

static int
file_cmp(const void *a, const void *b)
{
	const struct day_file *x = a, *y = b;
	int c;

	if ((c = strcmp(x->day, y->day)) != 0)
		return c;
	return x->gz - y->gz;		/* .jsonl first */
}

int
reader_list(const char *dir, const char *from, const char *to,
    struct day_file **files, size_t *n)
{
	struct day_file *v = NULL, *nv;
	struct dirent *de;
	size_t cnt = 0, cap = 0, i, o;
	DIR *d;
	int gz, rc = -1, saved;

	*files = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (day_name(de->d_name, ".jsonl"))
			gz = 0;
		else if (day_name(de->d_name, ".jsonl.gz"))
			gz = 1;
		else
			continue;
		if ((from != NULL && strncmp(de->d_name, from, 10) < 0) ||
		    (to != NULL && strncmp(de->d_name, to, 10) > 0))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto out;
			v = nv;
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		memcpy(v[cnt].day, de->d_name, 10);
		v[cnt].gz = gz;
		if ((size_t)snprintf(v[cnt].path, sizeof(v[cnt].path), "%s/%s",
		    dir, de->d_name) >= sizeof(v[cnt].path)) {
			errno = ENAMETOOLONG;
			goto out;
		}
		cnt++;
	}
	if (errno != 0)
		goto out;
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), file_cmp);
	/* a day with both: the .gz, the .jsonl read after it */
	for (i = o = 0; i < cnt; i++) {
		if (o > 0 && strcmp(v[o - 1].day, v[i].day) == 0) {
			memcpy(v[o - 1].late, v[o - 1].path, sizeof(v->late));
			memcpy(v[o - 1].path, v[i].path, sizeof(v->path));
			v[o - 1].gz = 1;
			continue;
		}
		v[o++] = v[i];
	}
	*files = v;
	*n = o;
	v = NULL;
	rc = 0;
 out:
	saved = errno;
	free(v);
	closedir(d);
	errno = saved;
	return rc;
}

/* Open a .jsonl: take the shared lock just long enough to measure it. */
static int
open_plain(struct reader *r, const char *path, off_t from)
{
	struct stat st;
	off_t end;

	if ((r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return -1;
	if (!fs_regular(r->fd, NULL))
		return -1;
	while (!r->locked && flock(r->fd, LOCK_SH) == -1)
		if (errno != EINTR)
			return -1;
	if (fstat(r->fd, &st) == -1)
		return -1;
	if (from > r->plain_base + st.st_size) {
		errno = ERANGE;		/* the file shrank: not ours to guess */
		return -1;
	}
	if ((end = fs_line_end(r->fd, from > r->plain_base ? from -
	    r->plain_base : 0, st.st_size)) == -1)
		return -1;
	r->limit = r->plain_base + end;
	r->torn = st.st_size - end;
	if (!r->locked && flock(r->fd, LOCK_UN) == -1)
		return -1;
	return 0;
}

/*
 * The errno for what gz says after a read that gave nothing: 0 if its
 * gzip stream ended as it should, READER_ETRUNC if its file ends first,
 * the system's if a read failed, else EIO (damaged data).
 */
static int
gz_errno(gzFile gz)
{
	int saved = errno, zerr;

	gzerror(gz, &zerr);
	if (zerr == Z_OK)
		return 0;
	if (zerr == Z_BUF_ERROR)	/* zlib's "unexpected end of file" */
		return READER_ETRUNC;
	return zerr == Z_ERRNO && saved != 0 ? saved : EIO;
}

/*
 * Up to want bytes of gz's text into buf: how many, 0 at the proper end
 * of its gzip stream, -1 with errno (gz_errno's) if it cannot be read
 * to there: gzread gives 0, not -1, at a file cut short.
 */
static ssize_t
gz_fill(gzFile gz, char *buf, size_t want)
{
	int n, err;

	if ((n = gzread(gz, buf, (unsigned)want)) > 0)
		return n;
	if ((err = gz_errno(gz)) == 0 && n == 0)
		return 0;
	errno = err != 0 ? err : EIO;
	return -1;
}

/* Open a .jsonl.gz and skip to the uncompressed offset from. */
static int
open_gz(struct reader *r, const char *path, off_t from)
{
	int c, err, fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return -1;
	if (!fs_regular(fd, NULL)) {
		close(fd);
		return -1;
	}
	if ((r->gz = gzdopen(fd, "rb")) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	gzbuffer(r->gz, READ_CHUNK);
	/* zlib would read anything else as it is: compress never made it */
	if (gzdirect(r->gz)) {
		errno = READER_ENOTGZ;
		return -1;
	}
	/*
	 * gzseek only notes a forward skip and reports success even past
	 * the end; gzgetc makes it happen, then gztell says where it got.
	 */
	if (from > 0 && (gzseek(r->gz, from, SEEK_SET) != from ||
	    ((c = gzgetc(r->gz)) == -1 ? gztell(r->gz) != from :
	    gzungetc(c, r->gz) != c))) {
		err = gz_errno(r->gz);
		errno = err == 0 ? ERANGE : err;	/* ERANGE: too short */
		return -1;
	}
	return 0;
}

/* r holding nothing: no file, no buffer. */
static void
blank(struct reader *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* Let go of what r holds, not r itself. */
static void
reader_free(struct reader *r)
{
	if (r->gz != NULL)
		gzclose(r->gz);
	if (r->fd != -1)
		close(r->fd);
	free(r->buf);
}

/*
 * The uncompressed length of the .gz at path, and in *torn its bytes
 * after its last '\n'; -1 on error.
 */
static off_t
gz_measure(const char *path, off_t *torn)
{
	struct reader g;
	char buf[READ_CHUNK];
	const char *nl;
	off_t n = 0, end = 0, rc = -1;
	ssize_t k;
	int saved;

	blank(&g);
	if (open_gz(&g, path, 0) == -1)
		goto out;
	while ((k = gz_fill(g.gz, buf, sizeof(buf))) > 0) {
		if ((nl = memrchr(buf, '\n', (size_t)k)) != NULL)
			end = n + (nl - buf) + 1;
		n += k;
	}
	*torn = n - end;
	if (k == 0)
		rc = n;
 out:
	saved = errno;
	reader_free(&g);
	errno = saved;
	return rc;
}

off_t
reader_gz_len(const char *path)
{
	off_t torn;

	return gz_measure(path, &torn);
}

/*
 * 1 if the text of the .gz at gzpath from offset p to its end (gzlen)
 * is what the .jsonl fd starts with, 0 if not, -1 on error.
 */
static int
copied_from(const char *gzpath, off_t p, off_t gzlen, int fd)
{
	struct reader g;
	char a[READ_CHUNK], b[READ_CHUNK];
	off_t left = gzlen - p;
	ssize_t k, m;
	int rc = -1, saved;

	blank(&g);
	if (open_gz(&g, gzpath, p) == -1)
		goto out;
	while (left > 0) {
		if ((k = gz_fill(g.gz, a, left < READ_CHUNK ? (size_t)left :
		    READ_CHUNK)) <= 0) {
			if (k == 0)
				errno = EIO;	/* shorter than it was */
			goto out;
		}
		if ((m = pread(fd, b, (size_t)k, gzlen - p - left)) == -1)
			goto out;
		if (m < k || memcmp(a, b, (size_t)k) != 0) {
			rc = 0;
			goto out;
		}
		left -= k;
	}
	rc = 1;
 out:
	saved = errno;
	reader_free(&g);
	errno = saved;
	return rc;
}

/*
 * How many leading bytes of the .jsonl the .gz's complete lines (its
 * first end bytes) end with already, in *skip: all of a .jsonl compress
 * copied, or merged, and was stopped before it removed it. Such a copy
 * starts at a line of the .gz as long as the .jsonl's first line and
 * with the same head, and the bytes confirm it. Lines are compared
 * whatever their length, so the answer does not change with max_body.
 */
static int
merged_prefix(const struct day_file *f, off_t end, off_t *skip)
{
	struct reader g, l;
	const char *line;
	char first[READER_HEAD];
	size_t len, flen = 0, head = 0;
	off_t off;
	int n, same, rc = -1;

	blank(&g);
	blank(&l);
	l.locked = f->locked;
	l.max = g.max = READER_HEAD;	/* heads are all it compares */
	*skip = 0;
	if (open_plain(&l, f->late, 0) == -1 || open_gz(&g, f->path, 0) == -1)
		goto out;
	if ((n = reader_next(&l, &line, &len, &off)) == -1)
		goto out;
	if (n > 0) {
		flen = len;
		head = len < READER_HEAD ? len : READER_HEAD;
		memcpy(first, line, head);
	}
	while (*skip == 0 && n > 0 &&
	    (n = reader_next(&g, &line, &len, &off)) > 0) {
		if (len != flen || memcmp(line, first, head) != 0 ||
		    off >= end)
			continue;
		if ((same = copied_from(f->path, off, end, l.fd)) == -1)
			goto out;
		if (same == 1)
			*skip = end - off;
	}
	if (n == -1)
		goto out;
	rc = 0;
 out:
	reader_free(&g);
	reader_free(&l);
	return rc;
}

int
reader_pair(const struct day_file *f, off_t *gzlen, off_t *skip,
    off_t *torn)
{
	if ((*gzlen = gz_measure(f->path, torn)) == -1)
		return -1;
	return merged_prefix(f, *gzlen - *torn, skip);
}

/* reader_open for f as listed. */
static struct reader *
open_listed(const struct day_file *f, off_t from)
{
	struct reader *r;
	off_t gzlen = 0, skip = 0, torn;
	int saved;

	if (from < 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((r = malloc(sizeof(*r))) == NULL)
		return NULL;
	blank(r);
	r->base = from;
	r->locked = f->locked;
	r->max = default_max > 0 ? default_max : line_max(1048576);
	if (f->gz && f->late[0] != '\0') {
		if (reader_pair(f, &gzlen, &skip, &torn) == -1)
			goto fail;
		r->plain_base = gzlen - skip;
		r->gzlen = gzlen;
		if (from >= gzlen) {	/* the .gz is read: only the rest */
			if (open_plain(r, f->late, from) == -1)
				goto fail;
			return r;
		}
		r->late = f->late;
		r->gzpath = f->path;
	}
	if ((f->gz ? open_gz(r, f->path, from) :
	    open_plain(r, f->path, from)) == -1)
		goto fail;
	return r;
 fail:
	saved = errno;
	reader_close(r);
	errno = saved;
	return NULL;
}

struct reader *
reader_open(const struct day_file *f, off_t from)
{
	struct day_file now;
	struct reader *r;

	if ((r = open_listed(f, from)) != NULL || errno != ENOENT ||
	    (f->gz && f->late[0] == '\0') || f->locked)
		return r;
	/*
	 * A file listed is gone: compress replaced the .jsonl by its .gz, or
	 * merged a late .jsonl into the .gz, since the listing. Read the day
	 * as it is now.
	 */
	now = *f;
	now.late[0] = '\0';
	if (!f->gz && (size_t)snprintf(now.path, sizeof(now.path), "%s.gz",
	    f->path) >= sizeof(now.path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	now.gz = 1;
	return open_listed(&now, from);
}

/*
 * The .gz is read to its end: go on with the late .jsonl after it (r->fd).
 * If compress merged that .jsonl into the .gz since (reader_open), its
 * lines follow there at the same offsets: go on in the new .gz (r->gz).
 * If the .gz read is not the one measured, the merge came before it was
 * opened and it holds them already: neither (a .jsonl now beside it is
 * later text, for the next run). 0, or -1 with errno.
 */
static int
late_open(struct reader *r)
{
	off_t at = r->base + (off_t)r->end;
	const char *late = r->late;

	gzclose(r->gz);
	r->gz = NULL;
	r->late = NULL;
	if (at != r->gzlen && !r->locked)
		return 0;
	if (open_plain(r, late, at) == 0)
		return 0;
	if (errno != ENOENT || r->locked || r->end > r->start || r->skipping)
		return -1;
	return open_gz(r, r->gzpath, at);
}

/* Read more bytes after buf[end]; 0 at the end of input, -1 on error. */
static ssize_t
fill(struct reader *r)
{
	size_t want;
	off_t at;
	ssize_t n;
	char *nb;

	if (r->start > 0) {		/* drop consumed lines */
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->base += (off_t)r->start;
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < READ_CHUNK) {
		if ((nb = realloc(r->buf, r->cap + READ_CHUNK * 2)) == NULL)
			return -1;
		r->buf = nb;
		r->cap += READ_CHUNK * 2;
	}
	want = r->cap - r->end;
	if (r->gz != NULL) {
		if ((n = gz_fill(r->gz, r->buf + r->end, want)) == -1)
			return -1;
		if (n > 0 || r->late == NULL)
			return n;
		if (late_open(r) == -1)
			return -1;
		if (r->gz != NULL)	/* the .jsonl's lines are in the .gz */
			return fill(r);
		if (r->fd == -1)
			return 0;	/* the day as it was when opened */
		if (r->end > r->start || r->skipping) {
			r->cut = 1;	/* its unfinished line ends here */
			return 0;
		}
	}
	at = r->base + (off_t)r->end;
	if (at >= r->limit)
		return 0;
	if ((off_t)want > r->limit - at)
		want = (size_t)(r->limit - at);
	while ((n = pread(r->fd, r->buf + r->end, want, at - r->plain_base))
	    == -1)
		if (errno != EINTR)
			return -1;
	return n;
}

void
reader_limit(struct reader *r, size_t max)
{
	r->max = max;
}

void
reader_default_limit(size_t max)
{
	default_max = max;
}

/* Drop the bytes of an overlong line held in buf, keeping its head. */
static void
skip(struct reader *r)
{
	size_t n = r->end - r->start;

	if (!r->skipping) {
		r->skipping = 1;
		r->skip_off = r->base + (off_t)r->start;
		r->skip_len = 0;
		r->headlen = n < READER_HEAD ? n : READER_HEAD;
		memcpy(r->head, r->buf + r->start, r->headlen);
	}
	r->skip_len += (off_t)n;
	r->base += (off_t)r->end;
	r->start = r->end = r->scanned = 0;
}

/*
 * The line ending at nl, its '\n' (or, cut, no byte) consumed: READER_LINE,
 * READER_LONG past the limit, or READER_TORN when cut.
 */
static int
line_at(struct reader *r, char *nl, int cut, const char **line, size_t *len,
    off_t *off)
{
	size_t n = (size_t)(nl - (r->buf + r->start));

	*line = r->buf + r->start;
	*len = n;
	*off = r->base + (off_t)r->start;
	r->start += n + (cut ? 0 : 1);
	r->scanned = 0;
	if (r->skipping) {
		*len = (size_t)r->skip_len + n;
		*off = r->skip_off;
		*line = r->head;
		r->skipping = 0;
		return cut ? READER_TORN : READER_LONG;
	}
	if (cut)
		return READER_TORN;
	return n > r->max ? READER_LONG : READER_LINE;
}

int
reader_next(struct reader *r, const char **line, size_t *len,
    off_t *off)
{
	char *nl;
	ssize_t n;

	for (;;) {
		if (r->end > r->start + r->scanned) {
			nl = memchr(r->buf + r->start + r->scanned, '\n',
			    r->end - r->start - r->scanned);
			if (nl != NULL)
				return line_at(r, nl, 0, line, len, off);
			r->scanned = r->end - r->start;
			if (r->scanned > r->max)
				skip(r);
		}
		if (r->eof)
			return 0;
		if ((n = fill(r)) == -1)
			return -1;
		if (n == 0 && r->cut) {
			r->cut = 0;
			return line_at(r, r->buf + r->end, 1, line, len, off);
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
}

off_t
reader_pos(const struct reader *r)
{
	return r->skipping ? r->skip_off : r->base + (off_t)r->start;
}

off_t
reader_partial(const struct reader *r)
{
	return (off_t)(r->end - r->start) + (r->skipping ? r->skip_len : 0) +
	    r->torn;
}

int
reader_sync(const struct reader *r)
{
	return r->fd == -1 ? 0 : fdatasync(r->fd);
}

void
reader_close(struct reader *r)
{
	if (r == NULL)
		return;
	reader_free(r);
	free(r);
}

const char *
reader_strerror(int err)
{
	if (err == READER_ETRUNC)
		return "truncated gzip file (it ends before its gzip stream "
		    "does)";
	if (err == READER_ENOTGZ)
		return "not a gzip file (empty, or of another format)";
	return strerror(err);
}
