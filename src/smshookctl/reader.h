/*
 * reader.h: reading the spool as smshookctl does. Day files are
 * <spool_dir>/YYYY-MM-DD.jsonl or, once compressed, .jsonl.gz; offsets
 * are always byte offsets in the uncompressed text, so a position stays
 * valid when a day is compressed. Only complete lines (ending in '\n')
 * are ever returned; a .jsonl file is measured under a shared flock, to
 * its last complete line: the bytes after it, an unfinished line the
 * receiver cuts back and writes over, are never read.
 *
 * A day may have both: a .jsonl written after its .jsonl.gz was made
 * (the clock went back), or one a compress left behind when it was
 * killed between making the .gz and removing the .jsonl. Either way the
 * day is read as one text: the .gz, then what the .jsonl holds beyond
 * it (all of a late file; of a left-behind copy, what was appended after
 * the .gz was made). compress merges them the same way, so positions
 * stay valid.
 */
#ifndef SMSHOOK_READER_H
#define SMSHOOK_READER_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>

struct day_file {
	char	day[11];		/* YYYY-MM-DD */
	char	path[PATH_MAX];
	int	gz;			/* 1 for .jsonl.gz */
	char	late[PATH_MAX];		/* a .jsonl beside the .gz, or "" */
	int	locked;			/* the caller has the .jsonl's flock */
};

/*
 * List the days of dir, sorted, optionally limited to [from, to] (either
 * may be NULL): one entry a day, its .jsonl.gz with any .jsonl beside
 * it in late. Returns 0 with a malloc'd array in *files, or -1 with
 * errno set.
 */
int	reader_list(const char *dir, const char *from, const char *to,
	    struct day_file **files, size_t *n);

struct reader;

#define READER_LINE	1	/* reader_next: a complete line */
#define READER_LONG	2	/* a complete line longer than the limit */
#define READER_TORN	3	/* a .gz's unfinished last line, a late
				   .jsonl after it */
#define READER_HEAD	256	/* what is kept of a READER_LONG line */

/*
 * Open f positioned at uncompressed offset from; NULL with errno on
 * error. A day compressed since it was listed (its .jsonl replaced by
 * the .gz, or a late .jsonl merged into it), or whose late .jsonl is
 * merged while it is read, is read as it is now, each line once, unless
 * the caller holds the .jsonl's lock (f->locked).
 */
struct reader	*reader_open(const struct day_file *f, off_t from);
/*
 * For a day with both files: the .gz's uncompressed length in *gzlen,
 * how many leading bytes of the .jsonl its text holds already (all of
 * a .jsonl compress copied or merged and was stopped before removing
 * it, the lines of a day file restored from a backup beside it and the
 * new ones a stopped merge added; 0 for a late file) in *skip, and its
 * bytes after its last '\n' in *torn. 0, or -1.
 */
int	reader_pair(const struct day_file *f, off_t *gzlen, off_t *skip,
	    off_t *torn);
/* The uncompressed length of the .gz (a regular file) at path, or -1. */
off_t	reader_gz_len(const char *path);
/*
 * Lines longer than max bytes (default: the longest the receiver writes
 * with the default max_body) are not held in memory: reader_next gives
 * READER_LONG for them, and reading goes on after them.
 */
void	reader_limit(struct reader *, size_t max);
/* The limit of readers opened from now on (smshookctl: from max_body). */
void	reader_default_limit(size_t max);
/*
 * Next complete line (without its '\n', not NUL-terminated; valid until
 * the next call) and its start offset: READER_LINE; or READER_LONG with
 * *len its full length but *line only its first min(len, READER_HEAD)
 * bytes; or READER_TORN, the same for the bytes a compressed day ends in
 * without '\n' when a late .jsonl follows (a write that failed, never
 * acknowledged). 0 at the end of the complete lines, -1 on error: of a
 * .gz cut short, READER_ETRUNC once its complete lines are given. Each
 * byte is looked at once, so a long file without newlines takes linear
 * time.
 */
int	reader_next(struct reader *, const char **line,
	    size_t *len, off_t *off);
/*
 * 1 if a line reader_next gave as n, len bytes long, is too long for the
 * max_body configured now but was one a larger max_body let the receiver
 * write: not invalid, and not to be read over (raise max_body), else 0.
 */
int	reader_unread(int n, size_t len);
/* Offset just past the last complete line returned. */
off_t	reader_pos(const struct reader *);
/*
 * Bytes after pos that are not a complete line: at the end of a .jsonl,
 * an unfinished line a writer left, which the receiver's next append
 * removes (it is never read).
 */
off_t	reader_partial(const struct reader *);
/*
 * Make the .jsonl being read durable (fdatasync): 0, or -1 with errno.
 * Nothing to do for a .jsonl.gz, which compress made durable.
 */
int	reader_sync(const struct reader *);
/* Close the file and free the reader; NULL is allowed. */
void	reader_close(struct reader *);

/* Why a READER_TORN line is not an event. */
extern const char reader_unfinished[];

/*
 * errno values of the reader's own, above every system one (a file
 * system may give EBADMSG for a bad checksum): a .jsonl.gz whose file
 * ends before its gzip stream does (cut short, or without its trailer),
 * and one that is not gzip at all (empty, say). Neither is ever read as
 * if whole.
 */
#define READER_ETRUNC	4096
#define READER_ENOTGZ	4097
/* strerror(err), but the reader's own errno values said in words. */
const char	*reader_strerror(int err);

#endif
