/*
 * event.c: one table of event types; 2 (older "deliver") normalises to
 * 20. A reply (6, an inbound SMS) has only the older documentation's
 * name; "Reply" is ours, in the current names' style.
 */
#include <string.h>
#include <strings.h>

#include "event.h"

const struct event_def event_defs[] = {
	{ 1,  1, "Requested",	    "request",	      "requested" },
	{ 20, 2, "Delivered",	    "deliver",	      "delivered" },
	{ 4,  4, "Suppressed",	    "workererror",    "suppressed" },
	{ 5,  5, "Failed",	    "delivererror",   "failed" },
	{ 8,  8, "Template Verify", "templateVerify", "template" },
	{ 6,  6, "Reply",	    "reply",	      "reply" },
	{ 0,  0, NULL,		    NULL,	      NULL }
};

const struct event_def *
event_by_code(long long code)
{
	const struct event_def *d;

	for (d = event_defs; d->code != 0; d++)
		if (d->code == code || d->old_code == code)
			return d;
	return NULL;
}

const struct event_def *
event_by_name(const char *name)
{
	const struct event_def *d;

	for (d = event_defs; d->code != 0; d++)
		if (strcasecmp(d->name, name) == 0 ||
		    strcasecmp(d->old_name, name) == 0 ||
		    strcmp(d->slug, name) == 0)
			return d;
	return NULL;
}
