/* spool.h: per-day JSONL files, appended whole or not at all. */
#ifndef SMSHOOK_SPOOL_H
#define SMSHOOK_SPOOL_H

#include <stddef.h>
#include <time.h>

/* A line written by spool_write, not yet synced. */
struct spool_pending {
	int		 fd;	/* the day file, kept open by this process;
				   -1: synced already (its lock was stuck) */
	const char	*dir;
};

/*
 * Write line (len bytes, ending in '\n') to <dir>/<day>.jsonl with one
 * write(2) under the file's exclusive flock, creating dir (0750) and
 * file (0640) as needed, and drop the lock. On failure the file is cut
 * back to its length before the write (no partial line) and -1 returned
 * with the reason in err. The file stays open for the next request.
 */
int	spool_write(struct spool_pending *, const char *dir, const char *day,
	    const char *line, size_t len, char *err, size_t errlen);
/*
 * Make the line of the last spool_write durable: fdatasync outside the
 * lock (appends of other processes share the commit), and the directory
 * too the first time after the file was opened. On failure -1 with err
 * set; the line stays whole in the file and may be written again by a
 * retry (importers collapse duplicates).
 */
int	spool_sync(struct spool_pending *, char *err, size_t errlen);

#endif
