/*
 * ctl_spool.h: reading the spool as smshookctl does. Day files are
 * <spool_dir>/YYYY-MM-DD.jsonl or, once compressed, .jsonl.gz; offsets
 * are always byte offsets in the uncompressed text, so a position stays
 * valid when a day is compressed. Only complete lines (ending in '\n')
 * are ever returned; a .jsonl file is read under a shared flock, which
 * keeps out the receiver's cut-back of a failed append.
 */
#ifndef SMSHOOK_CTL_SPOOL_H
#define SMSHOOK_CTL_SPOOL_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>

struct spool_file {
	char	day[11];		/* YYYY-MM-DD */
	char	path[PATH_MAX];
	int	gz;			/* 1 for .jsonl.gz */
};

/*
 * List the day files of dir, sorted by day, optionally limited to
 * [from, to] (either may be NULL). When a day has both a .jsonl and a
 * .jsonl.gz (a compress in progress), only the .jsonl is listed.
 * Returns 0 with a malloc'd array in *files, or -1 with errno set.
 */
int	spool_list(const char *dir, const char *from, const char *to,
	    struct spool_file **files, size_t *n);

struct spool_reader;

/* Open f positioned at uncompressed offset from; NULL with errno on error. */
struct spool_reader	*spool_reader_open(const struct spool_file *f, off_t from);
/*
 * Next complete line (without its '\n', not NUL-terminated; valid until
 * the next call) and its start offset. 1 for a line, 0 at the end of the
 * complete lines, -1 on error.
 */
int	spool_reader_next(struct spool_reader *, const char **line,
	    size_t *len, off_t *off);
/* Offset just past the last complete line returned. */
off_t	spool_reader_pos(const struct spool_reader *);
/* Bytes after pos that are not (yet) a complete line. */
off_t	spool_reader_partial(const struct spool_reader *);
void	spool_reader_close(struct spool_reader *);

#endif
