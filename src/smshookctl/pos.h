/*
 * pos.h: where import stands in a day file. A day's position is stored
 * with the mark of the day's first line (db.h, struct db_pos). The
 * receiver only ever appends whole lines and compress keeps them, so a
 * day file's first line never changes: a file whose first line has
 * another mark, or that has none, is not the file the position was
 * taken from (the day was purged and written again) and is read from
 * its start. The position also keeps a mark of the POS_TAIL bytes of
 * text before it (fewer at a day's start): a text cut back and grown
 * again so that a line ends at the position anew is told apart by them.
 */
#ifndef SMSHOOK_POS_H
#define SMSHOOK_POS_H

#include <stddef.h>

#include "db.h"

struct day_file;

#define POS_TAIL	256	/* bytes before a position that it marks */

/* The bytes of text known just before a position, up to POS_TAIL. */
struct pos_tail {
	char	b[POS_TAIL];
	size_t	n;
};

#define POS_OTHER	0	/* the position was another file's */
#define POS_SAME	1	/* it is this file's */
#define POS_UNMARKED	2	/* stored with no mark: taken as this file's */

/*
 * The mark of f's first complete line into mark: its length and the
 * SHA-256 of its bytes (of its first READER_HEAD bytes if it is longer
 * than 64 KiB), as "LENGTH:HEX". 1, 0 if f has no complete line yet
 * (mark ""), or -1 with errno set.
 */
int	pos_mark(const struct day_file *f, char mark[DB_MARK_SIZE]);

/*
 * Where import stands in f, into *p: POS_SAME; POS_OTHER with *p the
 * start; or POS_UNMARKED with p->mark set to f's, to be stored. Without
 * a database (db NULL), or for a day not imported yet, the start, as
 * POS_SAME. -1 with why in err (errno ENOENT if f is gone).
 */
int	pos_get(struct ctl_db *db, const struct day_file *f, struct db_pos *p,
	    char *err, size_t errlen);

struct reader;

/*
 * A reader of f at p's position, which must end a line of f's text (or
 * the unfinished line a compressed day ends in before a late .jsonl),
 * the bytes before it matching p->tail when that is set. NULL with
 * errno ERANGE if the text is shorter, no line ends there or those bytes
 * differ: it is not the text the position was taken in (it was cut
 * back, by a power loss or a restore, and may have grown again since);
 * else errno as reader_open's. The bytes before the position go to *t
 * unless t is NULL.
 */
struct reader	*pos_open(const struct day_file *f, const struct db_pos *p,
		    struct pos_tail *t);
/*
 * As pos_open, but a text the position is not in is opened at its start,
 * with *p set to it and *other (unless NULL) to 1, else 0: import reads
 * it all again.
 */
struct reader	*pos_open_text(const struct day_file *f, struct db_pos *p,
		    int *other, struct pos_tail *t);
/*
 * t after a line reader_next gave as n: READER_LINE, its len bytes and
 * its '\n'; READER_TORN, its bytes (no '\n') if all are at line; else
 * unknown bytes, after which t starts anew.
 */
void	pos_tail_add(struct pos_tail *t, int n, const char *line,
	    size_t len);
/*
 * The mark of t into mark if t holds all min(POS_TAIL, off) bytes before
 * off, else "" (not known: nothing to check).
 */
void	pos_tail_mark(const struct pos_tail *t, long long off,
	    char mark[DB_MARK_SIZE]);

#endif
