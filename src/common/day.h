/*
 * day.h: day names (YYYY-MM-DD), the stems of the spool's day files
 * <spool_dir>/YYYY-MM-DD.jsonl (and, once compressed, .jsonl.gz).
 */
#ifndef SMSHOOK_DAY_H
#define SMSHOOK_DAY_H

#include <time.h>

#define DAY_LEN	10	/* YYYY-MM-DD */
#define DAY_STAMP_LEN	24	/* YYYY-MM-DDTHH:MM:SS.mmmZ */

/*
 * The day of t in the process time zone (TZ): 0, or -1 (day empty) for
 * a time outside the years 1000 to 9999.
 */
int	day_of(time_t t, char day[DAY_LEN + 1]);

/*
 * ts as an RFC 3339 time in UTC with milliseconds: a spool line's
 * received_at, the start of a log line. Keeps the last second's text
 * between calls: for one thread only.
 */
void	day_stamp(const struct timespec *ts, char stamp[DAY_STAMP_LEN + 1]);

/* 1 if s is a valid calendar day YYYY-MM-DD. */
int	day_valid(const char *s);
/*
 * The day n days before today in time zone tz (IANA name; sets TZ for
 * the process) into out. Returns 0, or -1 if the clock cannot be read.
 */
int	day_before_today(const char *tz, int n, char out[11]);

#endif
