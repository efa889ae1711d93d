/* spool.h: per-day JSONL files, appended whole or not at all. */
#ifndef SMSHOOK_SPOOL_H
#define SMSHOOK_SPOOL_H

#include <stddef.h>
#include <time.h>

/* A line written by spool_write, not yet synced. */
struct spool_pending {
	int		 fd;	/* the day file, kept open by this process */
	int		 synced; /* already, before its fd was let go */
	const char	*dir;
};

/*
 * Write line (len bytes, ending in '\n') to <dir>/<day>.jsonl with one
 * write(2) under the file's exclusive flock, creating dir (0750) and
 * file (0640) as needed, and drop the lock. On a failed write the file
 * is cut back to its length before it (no partial line) and -1 returned
 * with the reason in err. The file stays open for the next request; if
 * its lock cannot be let go, the line is synced at once and the file
 * closed (a failure of that sync is -1 with the whole line left, as in
 * spool_sync).
 */
int	spool_write(struct spool_pending *, const char *dir, const char *day,
	    const char *line, size_t len, char *err, size_t errlen);
/*
 * Make the line of the last successful spool_write durable: fdatasync
 * outside the lock (appends of other processes share the commit), and
 * the directory too the first time after the file was opened. On failure
 * -1 with err set; the line stays whole in the file and may be written
 * again by a retry (importers collapse duplicates).
 */
int	spool_sync(struct spool_pending *, char *err, size_t errlen);
/* Close the day file kept open between requests; the next one opens it. */
void	spool_let_go(void);

#endif
