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

int
pos_mark(const struct day_file *f, char mark[DB_MARK_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, i;
	struct reader *r;
	const char *line;
	size_t len;
	off_t off;
	int n, o, saved, rc = -1;

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
	if (!EVP_Digest(line, n == READER_LINE || len < READER_HEAD ? len :
	    READER_HEAD, md, &mdlen, EVP_sha256(), NULL)) {
		errno = ENOMEM;
		goto out;
	}
	/* at most 20 digits, ':' and 64 hex digits: it fits */
	o = snprintf(mark, DB_MARK_SIZE, "%zu:", len);
	for (i = 0; i < mdlen && o + 3 <= DB_MARK_SIZE; i++, o += 2)
		snprintf(mark + o, 3, "%02x", md[i]);
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
	p->mark[0] = '\0';
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
pos_open(const struct day_file *f, const struct db_pos *p)
{
	struct reader *r;
	const char *line;
	size_t len;
	off_t off;
	int n, saved;

	if (p->off <= 0)
		return reader_open(f, 0);
	if ((r = reader_open(f, (off_t)p->off - 1)) == NULL)
		return NULL;
	/* read from the byte before: the '\n' of a line, an empty line */
	n = reader_next(r, &line, &len, &off);
	if ((n == READER_LINE && len == 0) || (n == READER_TORN && len == 1))
		return r;
	saved = n == -1 ? errno : ERANGE;
	reader_close(r);
	errno = saved;
	return NULL;
}

struct reader *
pos_open_text(const struct day_file *f, struct db_pos *p, int *other)
{
	struct reader *r;
	int dummy;

	if (other == NULL)
		other = &dummy;
	*other = 0;
	if ((r = pos_open(f, p)) != NULL || errno != ERANGE)
		return r;
	*other = 1;
	pos_start(p);
	return reader_open(f, 0);
}
