/* replay.h: the on-disk memory of accepted tokens, shared by all processes. */
#ifndef SMSHOOK_REPLAY_H
#define SMSHOOK_REPLAY_H

#include <stddef.h>

#include "event.h"

#define REPLAY_FILE	".replay"

struct replay {
	int		fd;
	long long	window_ms;
	/* replay_seen's work, reused by replay_add for the same token */
	int		have;
	char		token[EVENT_TOKEN_MAX + 1];
	long long	bucket_off;
	unsigned char	digest[16];
	unsigned char	bucket[16 * 32];
};

/*
 * Open (creating if needed) <dir>/.replay and take its exclusive lock,
 * which the caller holds while it stores the event; a store that is not
 * ours is set aside and a fresh one made. A long-lived process keeps the
 * file open between requests. -1 with err set on failure.
 */
int	replay_lock(struct replay *, const char *dir, long long window_s,
	    char *err, size_t errlen);
/* 1 if token was accepted within the window before now_ms, 0 if not, -1. */
int	replay_seen(struct replay *, const char *token, long long now_ms);
/* Remember token as accepted at now_ms; -1 on I/O error. */
int	replay_add(struct replay *, const char *token, long long now_ms);
/*
 * Count the tokens of the table at path accepted within window_ms before
 * now_ms, without locking or changing it. -1 with errno set (ENOENT: no
 * table yet; EINVAL: not a table, the receiver would set it aside).
 */
int	replay_count(const char *path, long long window_ms, long long now_ms,
	    long long *count);
/* Drop the lock and close. */
void	replay_unlock(struct replay *);

#endif
