/*
 * reader.c: day files as smshookctl reads them. A .jsonl is measured
 * under a shared flock, to the end of its last whole line: every byte
 * below that is final, so the lock is dropped again at once and the
 * receiver never waits on a long import. Bytes after it are an unfinished
 * line a writer left (no writer is inside the lock with us): the
 * receiver's next append cuts them off and writes over them, so they are
 * never read. A .jsonl.gz is inflated by zlib, strictly: one or more
 * whole gzip members back to back, to its last byte. One cut short, or
 * with any byte after a member that does not start another (junk, zeros),
 * is an error, never a shorter day; offsets are uncompressed offsets. An
 * unfinished line at the end of a .gz followed by a late .jsonl ends there
 * (READER_TORN), never glued to the .jsonl's first.
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

/* A .jsonl.gz being inflated. */
struct gz {
	z_stream	 z;
	int		 fd;
	int		 member;	/* inside a member (not at its end) */
	int		 eof;		/* the file is read to its end */
	int		 err;		/* the errno it failed with, or 0 */
	unsigned char	 in[READ_CHUNK];
};

const char reader_unfinished[] = "unfinished line (a write that failed)";

static size_t default_max;	/* reader_default_limit's, 0: line_max(1 MiB) */

struct reader {
	int		 fd;		/* .jsonl, else -1 */
	struct gz	*gz;		/* .jsonl.gz, else NULL */
	off_t		 limit;		/* .jsonl: its whole lines' end */
	off_t		 torn;		/* .jsonl: bytes after limit */
	int		 cut;		/* the .gz ended inside a line */
	off_t		 plain_base;	/* day offset of the .jsonl's byte 0 */
	const char	*late;		/* a .jsonl to read after the .gz */
	const char	*gzpath;	/* that .gz */
	off_t		 gzlen;		/* its length when it was measured */
	int		 locked;	/* the caller has the .jsonl's flock */
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

/* qsort order of day files: by day, a day's .jsonl before its .jsonl.gz. */
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

/* Let go of g and its file; NULL is fine. */
static void
gz_close(struct gz *g)
{
	if (g == NULL)
		return;
	inflateEnd(&g->z);
	close(g->fd);
	free(g);
}

/*
 * Open the .jsonl.gz at path to be inflated from its start; NULL with
 * errno, READER_ENOTGZ if it does not start with the gzip magic.
 */
static struct gz *
gz_open(const char *path)
{
	struct gz *g = NULL;
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return NULL;
	if (!fs_regular(fd, NULL) || (g = calloc(1, sizeof(*g))) == NULL)
		goto out;
	g->fd = fd;
	while (g->z.avail_in < 2 && !g->eof) {
		n = read(fd, g->in + g->z.avail_in, sizeof(g->in) -
		    g->z.avail_in);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		g->eof = n == 0;
		g->z.avail_in += (uInt)n;
	}
	g->z.next_in = g->in;
	if (g->z.avail_in < 2 || g->in[0] != 0x1f || g->in[1] != 0x8b) {
		errno = READER_ENOTGZ;	/* compress never made it */
		goto out;
	}
	if (inflateInit2(&g->z, 15 + 16) != Z_OK) {	/* gzip alone */
		errno = ENOMEM;
		goto out;
	}
	g->member = 1;
	return g;
 out:
	saved = errno;
	close(fd);
	free(g);
	errno = saved;
	return NULL;
}

/*
 * Up to want (> 0) bytes of g's text into buf: how many, 0 at the end of
 * its file after a whole member, else -1 with errno: READER_ETRUNC if the
 * file ends inside a member, EIO if its bytes are not gzip (damaged).
 */
static ssize_t
gz_read(struct gz *g, char *buf, size_t want)
{
	ssize_t n;
	int zr;

	if (want > UINT_MAX)
		want = UINT_MAX;
	g->z.next_out = (unsigned char *)buf;
	g->z.avail_out = (uInt)want;
	while (g->err == 0 && g->z.avail_out == want) {
		if (g->z.avail_in == 0 && !g->eof) {
			if ((n = read(g->fd, g->in, sizeof(g->in))) == -1) {
				if (errno != EINTR)
					g->err = errno;
				continue;
			}
			g->eof = n == 0;
			g->z.next_in = g->in;
			g->z.avail_in = (uInt)n;
		}
		if (g->z.avail_in == 0) {	/* the file's end */
			if (!g->member)
				return 0;
			g->err = READER_ETRUNC;
			break;
		}
		if (!g->member) {	/* more: it must be another member */
			if (g->z.next_in[0] != 0x1f) {
				g->err = EIO;	/* junk, zeros */
				break;
			}
			inflateReset(&g->z);
			g->member = 1;
		}
		zr = inflate(&g->z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			g->member = 0;
		else if (zr == Z_MEM_ERROR)
			g->err = ENOMEM;
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			g->err = EIO;
	}
	if (g->z.avail_out < want)
		return (ssize_t)(want - g->z.avail_out);
	errno = g->err;
	return -1;
}

/*
 * Open the .jsonl.gz at path in r, at the uncompressed offset from: the
 * text before it inflated and dropped, ERANGE if it ends first.
 */
static int
open_gz(struct reader *r, const char *path, off_t from)
{
	char buf[READ_CHUNK];
	ssize_t n;

	if ((r->gz = gz_open(path)) == NULL)
		return -1;
	while (from > 0) {
		if ((n = gz_read(r->gz, buf, from < READ_CHUNK ?
		    (size_t)from : READ_CHUNK)) <= 0) {
			if (n == 0)
				errno = ERANGE;		/* too short */
			return -1;
		}
		from -= n;
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
	gz_close(r->gz);
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
	while ((k = gz_read(g.gz, buf, sizeof(buf))) > 0) {
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
 * How many bytes of the .jsonl fd from its offset from on are the text
 * of the .gz at gzpath from offset p on (up to end), counted to the last
 * '\n' among them: whole lines only. -1 on error.
 */
static off_t
copied_len(const char *gzpath, off_t p, off_t end, int fd, off_t from)
{
	struct reader g;
	char a[READ_CHUNK], b[READ_CHUNK];
	const char *nl;
	off_t done = 0, lines = 0, rc = -1;
	ssize_t k, m, same;
	int saved;

	blank(&g);
	if (open_gz(&g, gzpath, p) == -1)
		goto out;
	while (done < end - p) {
		if ((k = gz_read(g.gz, a, end - p - done < READ_CHUNK ?
		    (size_t)(end - p - done) : READ_CHUNK)) <= 0) {
			if (k == 0)
				errno = EIO;	/* shorter than it was */
			goto out;
		}
		if ((m = pread(fd, b, (size_t)k, from + done)) == -1)
			goto out;
		for (same = 0; same < m && a[same] == b[same]; same++)
			;
		if ((nl = memrchr(a, '\n', (size_t)same)) != NULL)
			lines = done + (nl - a) + 1;
		if (same < k)
			break;
		done += k;
	}
	rc = lines;
 out:
	saved = errno;
	reader_free(&g);
	errno = saved;
	return rc;
}

/*
 * The longest run of whole lines the .jsonl holds from offset from that
 * are, in order, complete lines of the .gz (its first end bytes) from one
 * of them on, in *run; with to_end only a run that ends where the .gz's
 * complete lines do counts. A run starts at a line of the .gz as long as
 * the .jsonl's line at from and with the same head, and the bytes confirm
 * it; lines are compared whatever their length, so the answer does not
 * change with max_body. 0, or -1 on error.
 */
static int
gz_run(const struct day_file *f, off_t end, off_t from, int to_end,
    off_t *run)
{
	struct reader g, l;
	const char *line;
	char first[READER_HEAD];
	size_t len, flen = 0, head = 0;
	off_t off, same;
	int n, rc = -1;

	blank(&g);
	blank(&l);
	l.locked = f->locked;
	l.base = from;
	l.max = g.max = READER_HEAD;	/* heads are all it compares */
	*run = 0;
	if (open_plain(&l, f->late, from) == -1 ||
	    open_gz(&g, f->path, 0) == -1)
		goto out;
	if ((n = reader_next(&l, &line, &len, &off)) == -1)
		goto out;
	if (n > 0) {
		flen = len;
		head = len < READER_HEAD ? len : READER_HEAD;
		memcpy(first, line, head);
	}
	while (n > 0 && (n = reader_next(&g, &line, &len, &off)) > 0) {
		if (len != flen || memcmp(line, first, head) != 0 ||
		    off >= end)
			continue;
		if ((same = copied_len(f->path, off, end, l.fd, from)) == -1)
			goto out;
		if (same > *run && (!to_end || same == end - off))
			*run = same;
	}
	if (n == -1)
		goto out;
	rc = 0;
 out:
	reader_free(&g);
	reader_free(&l);
	return rc;
}

/*
 * How many leading bytes of the .jsonl the .gz's complete lines (its
 * first end bytes) hold already, in *skip: a run of the .gz's lines from
 * one of them on (all of a copy compress made, or merged, and was stopped
 * before it removed it; the part of a day file restored from a backup
 * that the .gz holds), then, if the .gz ends with them, the lines after
 * it (a restored file's new lines a merge added to the .gz and was
 * stopped before it removed the file). Never a line written anew, which
 * carries its own time and token. 0, or -1 on error.
 */
static int
merged_prefix(const struct day_file *f, off_t end, off_t *skip)
{
	off_t more = 0;

	if (gz_run(f, end, 0, 0, skip) == -1 ||
	    (*skip > 0 && gz_run(f, end, *skip, 1, &more) == -1))
		return -1;
	*skip += more;
	return 0;
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

	gz_close(r->gz);
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
		if ((n = gz_read(r->gz, r->buf + r->end, want)) == -1)
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
reader_unread(int n, size_t len)
{
	return n == READER_LONG && !line_beyond_any(len);
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
