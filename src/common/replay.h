/* replay.h: the on-disk memory of accepted tokens, shared by all processes. */
#ifndef SMSHOOK_REPLAY_H
#define SMSHOOK_REPLAY_H

#include <stddef.h>

#include "event.h"

#define REPLAY_FILE	".replay"

struct replay {
	int		fd;
	long long	window_ms;
	/* the token's bucket, locked and read by replay_seen or replay_add */
	int		locked;
	int		have;
	char		token[EVENT_TOKEN_MAX + 1];
	long long	bucket_off;
	unsigned char	digest[16];
	unsigned char	bucket[16 * 32];
};

/* 1 if there is a token table at its path in dir, else 0. */
int	replay_exists(const char *dir);
/*
 * Open (creating if needed) <dir>/.replay, checking it is a table of
 * ours; one that is not is set aside and a fresh one made. A long-lived
 * process keeps the file open between requests and, from now_ms, checks
 * its path again at most once a second (at once after a failed lock,
 * unlock, read or write of it). No lock is taken yet. -1 with err set
 * on failure.
 */
int	replay_open(struct replay *, const char *dir, long long window_s,
	    long long now_ms, char *err, size_t errlen);
/*
 * 1 if token (at most EVENT_TOKEN_MAX bytes, else -1 with EINVAL) was
 * accepted and its window (replay_add) has not ended at now_ms, 0 if
 * not, -1.
 * Locks the token's bucket first, waiting while another process holds
 * it (a copy of the same event being stored); the lock is held until
 * replay_close, so the caller stores the event under it.
 */
int	replay_seen(struct replay *, const char *token, long long now_ms);
/*
 * Remember token as accepted at now_ms, its window starting then or at
 * from_ms if that is later (an event's timestamp ahead of the clock),
 * though never more than a window after now_ms; the other tokens of its
 * bucket are judged at now_ms. Locks as replay_seen; -1 on error.
 */
int	replay_add(struct replay *, const char *token, long long now_ms,
	    long long from_ms);
/*
 * Count the tokens of the table at path whose window of window_ms has
 * not ended at now_ms (replay_seen would find them), without locking or
 * changing it. -1 with errno set (ENOENT: no table yet; EINVAL: not a
 * table, the receiver would set it aside).
 */
int	replay_count(const char *path, long long window_ms, long long now_ms,
	    long long *count);
/* Drop the bucket's lock; close the file unless this process keeps it. */
void	replay_close(struct replay *);
/* Close the table kept open between requests; the next one opens it. */
void	replay_let_go(void);

#endif
