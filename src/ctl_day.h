/* ctl_day.h: day names (YYYY-MM-DD) for export, compress and purge. */
#ifndef SMSHOOK_CTL_DAY_H
#define SMSHOOK_CTL_DAY_H

/* 1 if s is a valid calendar day YYYY-MM-DD. */
int	day_valid(const char *s);
/*
 * The day n days before today in time zone tz (IANA name; sets TZ for
 * the process) into out. Returns 0, or -1 if the clock cannot be read.
 */
int	day_before_today(const char *tz, int n, char out[11]);

#endif
