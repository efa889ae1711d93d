/* pos.c: see pos.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "db.h"
#include "pos.h"
#include "reader.h"

/*
 * A first line up to this long is marked whole, a longer one by its
 * head: the same for every max_body, so a mark never changes with it.
 */
#define MARK_WHOLE	65536

/*
 * "LEN:HEX" into mark: len and the SHA-256 of the n bytes at b (n is len,
 * or a long line's head). 0, or -1 with errno.
 */
static int
mark_of(const char *b, size_t n, size_t len, char mark[DB_MARK_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, i;
	int o;

	mark[0] = '\0';
	if (!EVP_Digest(b, n, md, &mdlen, EVP_sha256(), NULL)) {
		errno = ENOMEM;
		return -1;
	}
	/* at most 20 digits, ':' and 64 hex digits: it fits */
	o = snprintf(mark, DB_MARK_SIZE, "%zu:", len);
	for (i = 0; i < mdlen && o + 3 <= DB_MARK_SIZE; i++, o += 2)
		snprintf(mark + o, 3, "%02x", md[i]);
	return 0;
}

int
pos_mark(const struct day_file *f, char mark[DB_MARK_SIZE])
{
	struct reader *r;
	const char *line;
	size_t len;
	off_t off;
	int n, saved, rc = -1;

	mark[0] = '\0';
	if ((r = reader_open(f, 0)) == NULL)
		return -1;
	reader_limit(r, MARK_WHOLE);
	/* a compressed day's unfinished line before a late file: not one */
	while ((n = reader_next(r, &line, &len, &off)) == READER_TORN)
		continue;
	if (n <= 0) {
		rc = n;
		goto out;
	}
	if (mark_of(line, n == READER_LINE || len < READER_HEAD ? len :
	    READER_HEAD, len, mark) == -1)
		goto out;
	rc = 1;
 out:
	saved = errno;
	reader_close(r);
	errno = saved;
	return rc;
}

/* Set *p to the start of a day: nothing read, nothing to skip. */
static void
pos_start(struct db_pos *p)
{
	p->off = 0;
	p->gz_size = -1;
	p->mark[0] = p->tail[0] = '\0';
}

void
pos_tail_add(struct pos_tail *t, int n, const char *line, size_t len)
{
	size_t keep, nl = n != READER_TORN;	/* a torn piece has no '\n' */

	if (n == READER_LONG || (n == READER_TORN && len > READER_HEAD)) {
		t->n = 0;	/* only a head: not known */
		return;
	}
	if (len + nl >= POS_TAIL) {
		memcpy(t->b, line + len + nl - POS_TAIL, POS_TAIL - nl);
		if (nl)
			t->b[POS_TAIL - 1] = '\n';
		t->n = POS_TAIL;
		return;
	}
	keep = t->n + len + nl > POS_TAIL ? POS_TAIL - len - nl : t->n;
	memmove(t->b, t->b + t->n - keep, keep);
	memcpy(t->b + keep, line, len);
	if (nl)
		t->b[keep + len] = '\n';
	t->n = keep + len + nl;
}

void
pos_tail_mark(const struct pos_tail *t, long long off,
    char mark[DB_MARK_SIZE])
{
	size_t want = off < POS_TAIL ? (size_t)off : POS_TAIL;

	mark[0] = '\0';
	if (off > 0 && t->n == want)
		(void)mark_of(t->b, t->n, t->n, mark);	/* "" if it fails */
}

int
pos_get(struct ctl_db *db, const struct day_file *f, struct db_pos *p,
    char *err, size_t errlen)
{
	char mark[DB_MARK_SIZE];
	int n, saved;

	pos_start(p);
	if (db != NULL && db_get_pos(db, f->day, p) == -1) {
		snprintf(err, errlen, "%s: %s", f->day, db->err);
		errno = EIO;
		return -1;
	}
	if (p->off == 0) {
		pos_start(p);	/* no first line was read: none to check */
		return POS_SAME;
	}
	if ((n = pos_mark(f, mark)) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", f->path,
		    reader_strerror(saved));
		errno = saved;
		return -1;
	}
	if (n == 1 && p->mark[0] == '\0') {
		memcpy(p->mark, mark, sizeof(p->mark));
		return POS_UNMARKED;	/* an earlier version's: trusted */
	}
	if (n == 1 && strcmp(mark, p->mark) == 0)
		return POS_SAME;
	pos_start(p);
	return POS_OTHER;
}

struct reader *
pos_open(const struct day_file *f, const struct db_pos *p,
    struct pos_tail *t)
{
	struct pos_tail own;
	struct reader *r;
	const char *line;
	char mark[DB_MARK_SIZE];
	size_t len;
	off_t off, from, at;
	int n, saved;

	if (t == NULL)
		t = &own;
	t->n = 0;
	if (p->off <= 0)
		return reader_open(f, 0);
	from = (off_t)p->off - (p->off < POS_TAIL ? (off_t)p->off : POS_TAIL);
	if ((r = reader_open(f, from)) == NULL)
		return NULL;
	/*
	 * The text from POS_TAIL bytes before: the rest of a line, then
	 * lines, the last ending at the position (its '\n', or a compressed
	 * day's unfinished line before a late file, whose bytes say nothing)
	 */
	for (at = from, n = 1; n > 0 && at < (off_t)p->off; ) {
		n = reader_next(r, &line, &len, &off);
		if (n > 0 && (at = off + (off_t)len + (n != READER_TORN)) <=
		    (off_t)p->off)
			pos_tail_add(t, n, line, len);
	}
	if (n > 0 && at == (off_t)p->off) {
		pos_tail_mark(t, p->off, mark);
		if (p->tail[0] == '\0' || mark[0] == '\0' ||
		    strcmp(mark, p->tail) == 0)
			return r;
	}
	saved = n == -1 ? errno : ERANGE;
	reader_close(r);
	errno = saved;
	return NULL;
}

struct reader *
pos_open_text(const struct day_file *f, struct db_pos *p, int *other,
    struct pos_tail *t)
{
	struct reader *r;
	int dummy;

	if (other == NULL)
		other = &dummy;
	*other = 0;
	if ((r = pos_open(f, p, t)) != NULL || errno != ERANGE)
		return r;
	*other = 1;
	pos_start(p);
	if (t != NULL)
		t->n = 0;
	return reader_open(f, 0);
}
