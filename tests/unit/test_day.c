/*
 * test_ctl_day.c: day names: day_valid takes real calendar days in
 * YYYY-MM-DD only; day_before_today counts back from today in a time
 * zone. Today moves, so those checks compare with a day computed here
 * independently (civil-day arithmetic, not timegm) at the clock reading
 * before and after the call, and with relations that always hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "day.h"

static char	*saved_tz;

static int
setup(void **state)
{
	const char *tz = getenv("TZ");

	(void)state;
	if (tz != NULL && (saved_tz = strdup(tz)) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (saved_tz != NULL)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved_tz);
	saved_tz = NULL;
	return 0;
}

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian). */
static long
days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The day z days after 1970-01-01 as YYYY-MM-DD. */
static void
civil_from_days(long z, char out[11])
{
	long era, doe, yoe, y, doy, mp, d, m;
	char buf[64];

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp + (mp < 10 ? 3 : -9);
	y += m <= 2;
	snprintf(buf, sizeof(buf), "%04ld-%02ld-%02ld", y, m, d);
	assert_int_equal(strlen(buf), 10);	/* years 0-9999 only */
	memcpy(out, buf, 11);
}

/* Days since the epoch of a valid day name. */
static long
day_number(const char *s)
{
	long y, m, d;

	assert_int_equal(sscanf(s, "%4ld-%2ld-%2ld", &y, &m, &d), 3);
	return days_from_civil(y, m, d);
}

/* The day n days before the date at t in the current TZ. */
static void
expected(time_t t, int n, char out[11])
{
	struct tm tm;

	assert_non_null(localtime_r(&t, &tm));
	civil_from_days(days_from_civil(tm.tm_year + 1900L, tm.tm_mon + 1L,
	    tm.tm_mday) - n, out);
}

/* day_before_today(tz, n) equals the day computed here (midnight-safe). */
static void
check_before(const char *tz, int n)
{
	char got[11], e0[11], e1[11];
	time_t t0, t1;

	memset(got, 'x', sizeof(got));
	t0 = time(NULL);
	assert_int_equal(day_before_today(tz, n, got), 0);
	t1 = time(NULL);
	/* the call set TZ for the process */
	if (tz != NULL)
		assert_string_equal(getenv("TZ"), tz);
	tzset();
	expected(t0, n, e0);
	expected(t1, n, e1);
	assert_int_equal(got[10], '\0');
	assert_true(day_valid(got));
	if (strcmp(got, e0) != 0 && strcmp(got, e1) != 0)
		fail_msg("%s, %d: %s, want %s", tz ? tz : "(TZ)", n, got, e0);
}

static void
test_valid(void **state)
{
	static const char *const good[] = {
		"2026-11-26", "2026-01-01", "2026-12-31", "2024-02-29",
		"2000-02-29", "1970-01-01", "2026-02-28", "2026-04-30",
		"1999-12-31", "2038-01-19", "2100-02-28", "9999-12-31",
	};
	static const char *const bad[] = {
		"2026-02-30", "2026-02-29", "2025-02-29", "2100-02-29",
		"1900-02-29", "2026-13-01", "2026-00-10", "2026-01-00",
		"2026-01-32", "2026-04-31", "2026-06-31", "2026-09-31",
		"2026-11-31", "2026-1-01", "2026-01-1", "2026-1-1",
		"2026-01-1 ", " 2026-1-01", "2026-01-01 ", "2026/01/01",
		"2026.01.01", "20260101", "2026-01-01T00:00:00Z",
		"2026-01-01x", "x2026-01-01", "", "abcd-ef-gh", "2026-ab-01",
		"26-01-2026", "01-01-2026", "2026-011-01", "+026-01-01",
		"-026-01-01", "2026-+1-01", "2026--1-01", "2026-01--1",
		"2026-01-+1", "２０２６-01-01", "2026-01-01\n",
		"0000-00-00", "9999-99-99",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!day_valid(good[i]))
			fail_msg("refused \"%s\"", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (day_valid(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
}

/* Every day of a leap and a common year, and the day after each. */
static void
test_valid_every_day(void **state)
{
	static const int ylist[] = { 2024, 2026 };
	char day[11], next[16];
	long z, z0, z1;
	size_t k;
	int n;

	(void)state;
	for (k = 0; k < sizeof(ylist) / sizeof(ylist[0]); k++) {
		z0 = days_from_civil(ylist[k], 1, 1);
		z1 = days_from_civil(ylist[k] + 1, 1, 1);
		assert_int_equal(z1 - z0, ylist[k] % 4 == 0 ? 366 : 365);
		for (z = z0, n = 0; z < z1; z++, n++) {
			civil_from_days(z, day);
			if (!day_valid(day))
				fail_msg("refused \"%s\"", day);
			/* one past the month's last day is no day */
			civil_from_days(z + 1, next);
			if (strcmp(next + 8, "01") == 0) {
				snprintf(next, sizeof(next), "%.8s%02d", day,
				    (day[8] - '0') * 10 + day[9] - '0' + 1);
				if (day_valid(next))
					fail_msg("accepted \"%s\"", next);
			}
		}
		assert_int_equal(n, z1 - z0);
	}
}

static void
test_before_utc(void **state)
{
	static const int ns[] = { 0, 1, 2, 7, 30, 31, 59, 60, 365, 366,
	    1000, 20000, -1, -400 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		check_before("UTC", ns[i]);
}

static void
test_before_shanghai(void **state)
{
	static const int ns[] = { 0, 1, 7, 30, 365, 3650, -1 };
	char got[11], want0[11], want1[11];
	time_t t0, t1;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		check_before("Asia/Shanghai", ns[i]);
	/* UTC+8, no DST: today there is the UTC date 8 hours on */
	t0 = time(NULL);
	assert_int_equal(day_before_today("Asia/Shanghai", 3, got), 0);
	t1 = time(NULL);
	civil_from_days((long)((t0 + 8 * 3600) / 86400) - 3, want0);
	civil_from_days((long)((t1 + 8 * 3600) / 86400) - 3, want1);
	if (strcmp(got, want0) != 0 && strcmp(got, want1) != 0)
		fail_msg("Asia/Shanghai, 3: %s, want %s", got, want0);
}

static void
test_before_dst(void **state)
{
	size_t i;

	(void)state;
	/* a zone with DST: the count is in days, not 24-hour steps */
	for (i = 0; i < 400; i += 23)
		check_before("America/New_York", (int)i);
}

/* Relations that hold whatever the time of day. */
static void
test_relations(void **state)
{
	char a[11], b[11], c[11];
	long da, db;
	int n, tries;

	(void)state;
	/* yesterday < today < tomorrow, one day apart (retry at midnight) */
	for (tries = 0; tries < 3; tries++) {
		assert_int_equal(day_before_today("UTC", 1, a), 0);
		assert_int_equal(day_before_today("UTC", 0, b), 0);
		assert_int_equal(day_before_today("UTC", -1, c), 0);
		if (day_number(c) - day_number(a) == 2)
			break;
	}
	assert_true(strcmp(a, b) < 0);
	assert_true(strcmp(b, c) < 0);
	assert_int_equal(day_number(b) - day_number(a), 1);
	assert_int_equal(day_number(c) - day_number(b), 1);
	/* n days back is n days back, across months and years */
	for (n = 0; n <= 800; n += 37) {
		assert_int_equal(day_before_today("UTC", 0, b), 0);
		assert_int_equal(day_before_today("UTC", n, a), 0);
		db = day_number(b);
		da = day_number(a);
		assert_true(db - da == n || db - da == n - 1);
	}
	/* UTC+14 is always one or two days ahead of UTC-12 */
	for (tries = 0; tries < 3; tries++) {
		assert_int_equal(day_before_today("Etc/GMT+12", 0, a), 0);
		assert_int_equal(day_before_today("Etc/GMT-14", 0, b), 0);
		assert_int_equal(day_before_today("Etc/GMT+12", 0, c), 0);
		if (strcmp(a, c) == 0)
			break;
	}
	db = day_number(b) - day_number(a);
	assert_true(db == 1 || db == 2);
	/* Shanghai is today or tomorrow of UTC, never behind */
	for (tries = 0; tries < 3; tries++) {
		assert_int_equal(day_before_today("UTC", 0, a), 0);
		assert_int_equal(day_before_today("Asia/Shanghai", 0, b), 0);
		assert_int_equal(day_before_today("UTC", 0, c), 0);
		if (strcmp(a, c) == 0)
			break;
	}
	db = day_number(b) - day_number(a);
	assert_true(db == 0 || db == 1);
}

/* A NULL zone keeps the process's TZ. */
static void
test_before_null_tz(void **state)
{
	char got[11];

	(void)state;
	assert_int_equal(setenv("TZ", "Asia/Shanghai", 1), 0);
	check_before(NULL, 0);
	check_before(NULL, 10);
	assert_int_equal(day_before_today(NULL, 0, got), 0);
	assert_string_equal(getenv("TZ"), "Asia/Shanghai");
}

/* day_of names the years 1000 to 9999 only, in the process's zone. */
static void
test_day_of_bounds(void **state)
{
	char day[DAY_LEN + 1];

	(void)state;
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	tzset();
	assert_int_equal(day_of(253402300799, day), 0);
	assert_string_equal(day, "9999-12-31");
	assert_int_equal(day_of(253402300800, day), -1);
	assert_string_equal(day, "");
	assert_int_equal(day_of(-30610224000, day), 0);	/* 1000-01-01 */
	assert_string_equal(day, "1000-01-01");
	assert_int_equal(day_of(-30610224001, day), -1);
	assert_int_equal(day_of(-62198755200 - 86400 * 366, day), -1);
	/* a day ahead east of UTC: the zone's year, not UTC's */
	assert_int_equal(setenv("TZ", "Asia/Shanghai", 1), 0);
	tzset();
	assert_int_equal(day_of(253402300799 - 8 * 3600, day), 0);
	assert_string_equal(day, "9999-12-31");
	assert_int_equal(day_of(253402300800 - 8 * 3600, day), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_valid_every_day),
		cmocka_unit_test_setup_teardown(test_before_utc, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_before_shanghai, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_before_dst, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_relations, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_before_null_tz, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_day_of_bounds, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
