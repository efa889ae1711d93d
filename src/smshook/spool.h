/* spool.h: per-day JSONL files, appended whole or not at all. */
#ifndef SMSHOOK_SPOOL_H
#define SMSHOOK_SPOOL_H

#include <stddef.h>
#include <time.h>

/*
 * Append line (len bytes, ending in '\n') to <dir>/<day>.jsonl with one
 * write(2) under an exclusive flock, creating dir (0750) and file (0640)
 * as needed; with sync, fdatasync before returning. On any failure the
 * file is cut back to its length before the append and -1 is returned
 * with the reason in err.
 */
int	spool_append(const char *dir, const char *day, const char *line,
	    size_t len, int sync, char *err, size_t errlen);

#endif
