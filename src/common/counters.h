/*
 * counters.h: every answer the receiver gives, counted in
 * <spool_dir>/.counters, a one-page file that every receiver process of
 * the spool (CGI requests, FastCGI workers) maps and updates with
 * atomic additions: no lock, no system call per request in a worker,
 * and the counts survive restarts. They are not synced to disk: a
 * machine crash may lose the last few. smshookctl stats reads them.
 */
#ifndef SMSHOOK_COUNTERS_H
#define SMSHOOK_COUNTERS_H

#include <stdint.h>

#include "fsutil.h"

#define COUNTERS_FILE	".counters"

/* The answers, each one series (status, reason) of the metrics. */
enum counter {
	CNT_SUCCESS, CNT_DUPLICATE, CNT_PING,
	CNT_400_BODY, CNT_400_JSON, CNT_400_FIELD, CNT_400_SIGNED,
	CNT_401, CNT_403_CLIENT, CNT_403_CLOCK, CNT_405, CNT_413, CNT_415,
	CNT_500, CNT_503, NCOUNTERS
};

struct counter_def {
	int		 status;
	const char	*reason;	/* the metric's reason label */
};

/* Status and reason label of each counter, by enum counter. */
extern const struct counter_def counter_defs[NCOUNTERS];

/* The file's layout (native byte order, 8-byte aligned). */
struct counters_page {
	char		 magic[16];	/* "smshook-cnt-1\n" */
	uint64_t	 created_ms;	/* when the file was made */
	uint64_t	 n[NCOUNTERS];
	uint64_t	 stored_bytes;	/* spool bytes of the events stored */
	uint64_t	 last_stored_ms; /* when the last event was stored */
};

/* How often a worker looks at its page's file: see counters_fresh. */
#define COUNTERS_RECHECK_MS	1000

struct counters {
	struct counters_page	*page;	/* NULL: not counting */
	struct fs_kept		 file;	/* the page's, open while mapped */
};

/*
 * Map dir's counters file, creating it (0640) if needed, in place of any
 * page mapped before, at now_ms (any clock that only goes on); a worker
 * keeps it mapped. 0, or -1 with errno (then counting is skipped).
 */
int	counters_open(struct counters *, const char *dir, long long now_ms);
/*
 * 1 if the mapped page may still be counted on at now_ms: its file, looked
 * at once per COUNTERS_RECHECK_MS, is still at its path and holds the whole
 * page; else 0, with the page let go (a file cut short would fault when
 * touched; one removed or replaced counts for nobody), to be mapped anew.
 */
int	counters_fresh(struct counters *, long long now_ms);
/* Unmap the page and close its file; closing again does nothing. */
void	counters_close(struct counters *);
/* Count one answer; with bytes > 0, an event stored at ms. */
void	counters_add(struct counters *, enum counter, uint64_t bytes,
	    uint64_t ms);
/*
 * A copy of dir's counters into *out, without creating the file: 0, or
 * -1 with ENOENT when there is none yet (or an empty one, made by a
 * receiver that could not fill it), EINVAL when it is not the
 * receiver's.
 */
int	counters_read(const char *dir, struct counters_page *out);

#endif
