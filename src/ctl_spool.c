/*
 * ctl_spool.c: day files as smshookctl reads them. A .jsonl is measured
 * under a shared flock: every byte below that length is final (the
 * receiver only cuts back bytes it wrote under its exclusive lock), so
 * the lock is dropped again at once and the receiver never waits on a
 * long import. Only lines ending in '\n' below that length are returned.
 * A .jsonl.gz is read through zlib; offsets are uncompressed offsets.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "ctl_spool.h"

#define READ_CHUNK	65536

struct spool_reader {
	int		 fd;		/* .jsonl, else -1 */
	gzFile		 gz;		/* .jsonl.gz, else NULL */
	off_t		 limit;		/* .jsonl: length measured at open */
	off_t		 base;		/* file offset of buf[0] */
	char		*buf;
	size_t		 cap;
	size_t		 start;		/* next line starts at buf[start] */
	size_t		 end;		/* bytes of buf in use */
	int		 eof;
};

/* 1 if name is YYYY-MM-DD followed by suffix exactly. */
static int
day_name(const char *name, const char *suffix)
{
	static const char pat[] = "dddd-dd-dd";
	size_t i;

	for (i = 0; i < 10; i++) {
		if (pat[i] == 'd' ? !isdigit((unsigned char)name[i]) :
		    name[i] != pat[i])
			return 0;
	}
	return strcmp(name + 10, suffix) == 0;
}

static int
file_cmp(const void *a, const void *b)
{
	const struct spool_file *x = a, *y = b;
	int c;

	if ((c = strcmp(x->day, y->day)) != 0)
		return c;
	return x->gz - y->gz;		/* .jsonl first */
}

int
spool_list(const char *dir, const char *from, const char *to,
    struct spool_file **files, size_t *n)
{
	struct spool_file *v = NULL, *nv;
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
		memcpy(v[cnt].day, de->d_name, 10);
		v[cnt].day[10] = '\0';
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
	/* a day with both: a compress in progress, the .jsonl is the truth */
	for (i = o = 0; i < cnt; i++) {
		if (o > 0 && strcmp(v[o - 1].day, v[i].day) == 0)
			continue;
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
open_plain(struct spool_reader *r, const char *path, off_t from)
{
	struct stat st;

	if ((r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	while (flock(r->fd, LOCK_SH) == -1)
		if (errno != EINTR)
			return -1;
	if (fstat(r->fd, &st) == -1)
		return -1;
	r->limit = st.st_size;
	if (flock(r->fd, LOCK_UN) == -1)
		return -1;
	if (from > r->limit) {
		errno = ERANGE;		/* the file shrank: not ours to guess */
		return -1;
	}
	return 0;
}

/* Open a .jsonl.gz and skip to the uncompressed offset from. */
static int
open_gz(struct spool_reader *r, const char *path, off_t from)
{
	int c, fd, zerr;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if ((r->gz = gzdopen(fd, "rb")) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	gzbuffer(r->gz, READ_CHUNK);
	/*
	 * gzseek only notes a forward skip and reports success even past
	 * the end; gzgetc makes it happen, then gztell says where it got.
	 */
	if (from > 0 && (gzseek(r->gz, from, SEEK_SET) != from ||
	    ((c = gzgetc(r->gz)) == -1 ? gztell(r->gz) != from :
	    gzungetc(c, r->gz) != c))) {
		gzerror(r->gz, &zerr);
		errno = zerr == Z_OK ? ERANGE : EIO;	/* ERANGE: too short */
		return -1;
	}
	return 0;
}

struct spool_reader *
spool_reader_open(const struct spool_file *f, off_t from)
{
	struct spool_reader *r;
	int saved;

	if (from < 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->fd = -1;
	r->base = from;
	if ((f->gz ? open_gz(r, f->path, from) :
	    open_plain(r, f->path, from)) == -1)
		goto fail;
	return r;
 fail:
	saved = errno;
	spool_reader_close(r);
	errno = saved;
	return NULL;
}

/* Read more bytes after buf[end]; 0 at the end of input, -1 on error. */
static ssize_t
fill(struct spool_reader *r)
{
	size_t want;
	off_t at;
	ssize_t n;
	char *nb;
	int zerr;

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
		if ((n = gzread(r->gz, r->buf + r->end, (unsigned)want)) < 0) {
			gzerror(r->gz, &zerr);
			errno = zerr == Z_ERRNO ? errno : EIO;
			return -1;
		}
		return n;
	}
	at = r->base + (off_t)r->end;
	if (at >= r->limit)
		return 0;
	if ((off_t)want > r->limit - at)
		want = (size_t)(r->limit - at);
	while ((n = pread(r->fd, r->buf + r->end, want, at)) == -1)
		if (errno != EINTR)
			return -1;
	return n;
}

int
spool_reader_next(struct spool_reader *r, const char **line, size_t *len,
    off_t *off)
{
	char *nl;
	ssize_t n;

	for (;;) {
		if (r->end > r->start && (nl = memchr(r->buf + r->start, '\n',
		    r->end - r->start)) != NULL) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - *line);
			*off = r->base + (off_t)r->start;
			r->start += *len + 1;
			return 1;
		}
		if (r->eof)
			return 0;
		if ((n = fill(r)) == -1)
			return -1;
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
}

off_t
spool_reader_pos(const struct spool_reader *r)
{
	return r->base + (off_t)r->start;
}

off_t
spool_reader_partial(const struct spool_reader *r)
{
	return (off_t)(r->end - r->start);
}

void
spool_reader_close(struct spool_reader *r)
{
	if (r == NULL)
		return;
	if (r->gz != NULL)
		gzclose(r->gz);
	if (r->fd != -1)
		close(r->fd);
	free(r->buf);
	free(r);
}
