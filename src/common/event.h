/* event.h: the SMSHook event types, both generations of their names. */
#ifndef SMSHOOK_EVENT_H
#define SMSHOOK_EVENT_H

/* The longest token accepted (the provider sends 50 characters). */
#define EVENT_TOKEN_MAX	256

struct event_def {
	int		 code;		/* normalised eventType */
	int		 old_code;	/* older documentation's code */
	const char	*name;		/* current "event" value */
	const char	*old_name;	/* older "event" value */
	const char	*slug;		/* command-line name */
};

#define EVENT_REPLY	6	/* an inbound SMS: keyed by phone, time, text */

/* The known event types, terminated by an entry with code 0. */
extern const struct event_def event_defs[];

/* The type with this eventType (current or older code), or NULL. */
const struct event_def	*event_by_code(long long code);
/* The type with this event name (either spelling, or slug), or NULL. */
const struct event_def	*event_by_name(const char *name);

#endif
