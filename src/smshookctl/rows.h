/*
 * rows.h: one spool line (line.h) turned into the normalised sms_events
 * rows it gives: one row per message, so a requested event with N
 * smsIds gives N rows (smsIds[i] with phones[i]); form-encoded lists
 * (JSON text inside a field) are decoded; ids given as numbers or
 * strings both become text.
 */
#ifndef SMSHOOK_CTL_ROWS_H
#define SMSHOOK_CTL_ROWS_H

#include <stddef.h>

#include "schema.h"


/* One row; NULL strings and has_* == 0 are SQL NULL. */
struct row {
	long long	 event_type;	/* normalised (2 -> 20) */
	int		 has_event_type;
	const char	*event;		/* current name if known, or as sent */
	char		*sms_id;
	char		*phone;
	long long	 status_code;
	int		 has_status_code;
	long long	 token_row;	/* without sms_id or event_type:
					 * its place among the line's such
					 * rows; else -1 */
};

/* A parsed line; rows share the per-event fields held here. */
struct rows {
	char		*received_at;
	char		*token;		/* the payload's "token" (a column of
					 * the token key's rows alone) */
	char		*remote_addr;
	char		*encoding;	/* "json" or "form" */
	int		 verified;
	char		*payload;	/* the payload's JSON text, verbatim */
	size_t		 payload_len;
	char		*event_name;	/* an unknown "event" as sent */
	char		*user_id;
	char		*sms_user;
	char		*template_id;
	char		*message;
	long long	 event_time;	/* "timestamp": ms since the epoch */
	int		 has_event_time;
	struct row	*rows;		/* at least one */
	size_t		 nrows;
	void		*mem;		/* rows and every string, one block */
};

/*
 * Parse line[0..len) (no '\n') into l (caller-owned; release with
 * rows_free, also after a failure). Returns 0; -1 with a static reason
 * in *why when line_parse refuses the line; or -2 (*why line_nomem) if
 * memory ran out, which says nothing of the line.
 */
int	rows_parse(struct rows *l, const char *line, size_t len,
	    const char **why);
/* Free l's rows and strings (one block) and leave l empty, to reuse. */
void	rows_free(struct rows *l);

/*
 * Column col of row r of l as text: NULL for SQL NULL, else a string
 * that is either l's own or formatted into buf (at least 32 bytes).
 */
const char	*row_text(const struct rows *l, const struct row *r,
		    enum col col, char *buf, size_t bufsz);
/* An integer column of row r: 1 with *v, 0 for SQL NULL. */
int		 row_int(const struct rows *l, const struct row *r,
		    enum col col, long long *v);

#endif
