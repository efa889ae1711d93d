/* ctl_day.c: see ctl_day.h. */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "ctl_day.h"

int
ctl_day_valid(const char *s)
{
	static const char pat[] = "dddd-dd-dd";
	struct tm tm;
	time_t t;
	size_t i;

	if (strlen(s) != sizeof(pat) - 1)
		return 0;
	for (i = 0; i < sizeof(pat) - 1; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != pat[i])
			return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 +
	    (s[2] - '0') * 10 + (s[3] - '0') - 1900;
	tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
	tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
	tm.tm_hour = 12;
	/* timegm normalises 2026-02-30 to March: a real day survives as is */
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1)
		return 0;
	i = (size_t)tm.tm_mon;
	if ((t = timegm(&tm)) == (time_t)-1)
		return 0;
	return (size_t)tm.tm_mon == i;
}
