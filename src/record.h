/* record.h: the v1 spool line around an accepted event. */
#ifndef SMSHOOK_RECORD_H
#define SMSHOOK_RECORD_H

#include <stddef.h>
#include <time.h>

#include "payload.h"

/*
 * Build {"v":1,"received_at":...,"remote_addr":...,"encoding":...,
 * "verified":...,"payload":<ev->payload verbatim>} and a '\n' into *buf
 * (grown as needed; caller frees). Returns the length, or 0 on error.
 */
size_t	record_line(const struct event *ev, const struct timespec *now,
	    const char *remote_addr, int verified, char **buf, size_t *cap);

#endif
