/* csv.h: CSV output shared by export and optouts. */
#ifndef SMSHOOK_CSV_H
#define SMSHOOK_CSV_H

#define CSV_TEXT	0x1	/* a text cell: neutralise a formula */
#define CSV_QUOTE	0x2	/* quote even when nothing requires it */

/*
 * Write v (nothing for NULL) as one CSV field on stdout, quoted when it
 * is empty (so that "" is not NULL) or holds a comma, quote or line
 * break (or with CSV_QUOTE). A text cell
 * that a spreadsheet would run as a formula (starting with =, +, -, @,
 * tab or CR) gets a leading apostrophe, as OWASP advises.
 */
void	csv_field(const char *v, int flags);

#endif
