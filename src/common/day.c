/* day.c: day names; calendar arithmetic is done in UTC at noon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "day.h"

int
day_of(time_t t, char day[DAY_LEN + 1])
{
	struct tm tm;

	/* the years day_valid takes: four digits */
	if (localtime_r(&t, &tm) == NULL || tm.tm_year < 1000 - 1900 ||
	    tm.tm_year > 9999 - 1900 ||
	    strftime(day, DAY_LEN + 1, "%Y-%m-%d", &tm) != DAY_LEN) {
		day[0] = '\0';
		return -1;
	}
	return 0;
}

void
day_stamp(const struct timespec *ts, char stamp[DAY_STAMP_LEN + 1])
{
	/* the second's text, made once per second (callers: one thread) */
	static time_t sec;
	static char secs[20];
	struct tm tm;
	int ms;

	if (secs[0] == '\0' || ts->tv_sec != sec) {
		/* a clock outside years 0 to 9999 would not fit */
		if (gmtime_r(&ts->tv_sec, &tm) == NULL || strftime(secs,
		    sizeof(secs), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
			memcpy(secs, "0000-00-00T00:00:00", 20);
		sec = ts->tv_sec;
	}
	memcpy(stamp, secs, 19);
	ms = ts->tv_nsec >= 0 ? (int)(ts->tv_nsec / 1000000 % 1000) : 0;
	stamp[19] = '.';
	stamp[20] = (char)('0' + ms / 100);
	stamp[21] = (char)('0' + ms / 10 % 10);
	stamp[22] = (char)('0' + ms % 10);
	stamp[23] = 'Z';
	stamp[24] = '\0';
}

int
day_valid(const char *s)
{
	struct tm tm;
	char back[11];
	const char *end;

	if (strlen(s) != 10)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
		return 0;
	/* strptime takes 2026-02-31: a round trip rejects it */
	tm.tm_hour = 12;
	if (timegm(&tm) == -1)
		return 0;
	strftime(back, sizeof(back), "%Y-%m-%d", &tm);
	return strcmp(back, s) == 0;
}

int
day_before_today(const char *tz, int n, char out[11])
{
	struct tm tm, d;
	time_t now, t;

	if (tz != NULL && setenv("TZ", tz, 1) == -1)
		return -1;
	tzset();
	if ((now = time(NULL)) == (time_t)-1 || localtime_r(&now, &tm) == NULL)
		return -1;
	memset(&d, 0, sizeof(d));
	d.tm_year = tm.tm_year;
	d.tm_mon = tm.tm_mon;
	d.tm_mday = tm.tm_mday - n;
	d.tm_hour = 12;
	if ((t = timegm(&d)) == (time_t)-1 || gmtime_r(&t, &d) == NULL)
		return -1;
	strftime(out, 11, "%Y-%m-%d", &d);
	return 0;
}
