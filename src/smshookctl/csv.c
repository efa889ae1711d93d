/* csv.c: one CSV field on stdout, as export and optouts write them. */
#include <stdio.h>
#include <string.h>

#include "csv.h"

void
csv_field(const char *v, int flags)
{
	const char *p;
	int formula;

	if (v == NULL)
		return;		/* NULL: nothing; "" is quoted, below */
	formula = (flags & CSV_TEXT) && v[0] != '\0' &&
	    strchr("=+-@\t\r", v[0]) != NULL;
	if (!formula && !(flags & CSV_QUOTE) && v[0] != '\0' &&
	    strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, stdout);
		return;
	}
	putchar('"');
	if (formula)
		putchar('\'');
	for (p = v; *p != '\0'; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	putchar('"');
}
