/* spool.h: per-day JSONL files, appended whole or not at all. */
#ifndef SMSHOOK_SPOOL_H
#define SMSHOOK_SPOOL_H

#include <stddef.h>
#include <time.h>

#define SPOOL_DAY_LEN	10	/* YYYY-MM-DD */

/* The day file name stem for t in the process time zone (TZ). */
void	spool_day(time_t t, char day[SPOOL_DAY_LEN + 1]);
/*
 * Append line (len bytes, ending in '\n') to <dir>/<day>.jsonl with one
 * write(2) under an exclusive flock, creating dir (0750) and file (0640)
 * as needed; with sync, fdatasync before returning. On any failure the
 * file is cut back to its length before the append and -1 is returned
 * with the reason in err.
 */
int	spool_append(const char *dir, const char *day, const char *line,
	    size_t len, int sync, char *err, size_t errlen);

/* Create the spool directory, mode 0750, unless it exists; 0 or -1. */
int	spool_mkdir(const char *dir);
/* fsync directory dir, so a file created or renamed in it survives a crash. */
int	spool_sync_dir(const char *dir);

#endif
