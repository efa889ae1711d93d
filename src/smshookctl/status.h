/*
 * status.h: what the provider's statusCode of a suppressed (4) or failed
 * (5) event means, from its API documentation's table.
 */
#ifndef SMSHOOK_STATUS_H
#define SMSHOOK_STATUS_H

struct status_def {
	int		 code;
	const char	*kind;		/* "processing" or "sending" */
	const char	*meaning;	/* in English */
};

/* The known codes, terminated by an entry with code 0. */
extern const struct status_def status_defs[];

/* The entry of code, or NULL for a code the table does not know. */
const struct status_def	*status_by_code(long long code);

#endif
