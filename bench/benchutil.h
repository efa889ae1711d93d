/*
 * benchutil.h: the small pieces the bench helpers share. Include it once,
 * from the helper's own file, after defining its usage().
 */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <sys/resource.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* A number in [lo, hi] from s, or usage(). */
static long __attribute__((unused))
number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		usage();
	return v;
}

/* Seconds on the monotonic clock. */
static double __attribute__((unused))
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time (user + system) of this process so far, in microseconds. */
static double __attribute__((unused))
cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;		/* not for RUSAGE_SELF and a valid ru */
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

#endif
