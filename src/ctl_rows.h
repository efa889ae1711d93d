/*
 * ctl_rows.h: one spool line turned into its v1 envelope and the
 * normalised sms_events rows it gives (SPEC §4): one row per message, so
 * a requested event with N smsIds gives N rows (smsIds[i] with
 * phones[i]); form-encoded lists (JSON text inside a field) are decoded;
 * ids given as numbers or strings both become text.
 */
#ifndef SMSHOOK_CTL_ROWS_H
#define SMSHOOK_CTL_ROWS_H

#include <stddef.h>

/* The sms_events columns but id, in table order. */
enum ctl_col {
	COL_EVENT_TYPE, COL_EVENT, COL_SMS_ID, COL_PHONE, COL_USER_ID,
	COL_SMS_USER, COL_TEMPLATE_ID, COL_MESSAGE, COL_STATUS_CODE,
	COL_EVENT_TIME, COL_RECEIVED_AT, COL_PAYLOAD, NCOLS
};

/* Column names, indexed by enum ctl_col. */
extern const char *const ctl_col_names[NCOLS];
/* 1 for the integer columns (event_type, status_code, event_time). */
extern const int ctl_col_int[NCOLS];

/* One row; NULL strings and has_* == 0 are SQL NULL. */
struct ctl_row {
	long long	 event_type;	/* normalised (2 -> 20) */
	int		 has_event_type;
	const char	*event;		/* current name if known, else as sent */
	char		*sms_id;
	char		*phone;
	long long	 status_code;
	int		 has_status_code;
};

/* A parsed line; rows share the per-event fields held here. */
struct ctl_line {
	char		*received_at;
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
	struct ctl_row	*rows;		/* at least one */
	size_t		 nrows;
	void		*mem;		/* if set: rows and strings, one block */
};

/*
 * Parse line[0..len) (no '\n') into l (caller-owned; release with
 * ctl_line_free, also after a failure). Returns 0, or -1 with a static
 * reason in *why when the line is not a v1 envelope.
 */
int	ctl_line_parse(struct ctl_line *l, const char *line, size_t len,
	    const char **why);
void	ctl_line_free(struct ctl_line *l);

/*
 * Column col of row r of l as text: NULL for SQL NULL, else a string
 * that is either l's own or formatted into buf (at least 32 bytes).
 */
const char	*ctl_row_text(const struct ctl_line *l, const struct ctl_row *r,
		    enum ctl_col col, char *buf, size_t bufsz);
/* An integer column (ctl_col_int) of row r: 1 with *v, 0 for SQL NULL. */
int		 ctl_row_int(const struct ctl_line *l, const struct ctl_row *r,
		    enum ctl_col col, long long *v);

#endif
