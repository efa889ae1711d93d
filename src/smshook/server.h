/* server.h: what a receiver process prepares once and reuses per request. */
#ifndef SMSHOOK_SERVER_H
#define SMSHOOK_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "conf.h"
#include "counters.h"
#include "request.h"
#include "response.h"

struct server {
	struct conf	 conf;
	struct verifier	*verifier;	/* NULL when no key is configured */
	struct request_buf body;	/* request body buffer, reused */
	char		*line;		/* spool line buffer, reused */
	size_t		 linecap;
	struct counters	 counters;	/* mapped by the first answer */
	int		 counters_said;	/* why they cannot be: logged */
	int		 spool_errno;	/* spool_dir could not be made */
	/*
	 * Signals held off from a token's lookup until its line and the
	 * token are both in (none: empty, as server_init leaves it): those
	 * whose action would end the process between the two (CGI keeps
	 * their default actions), so that a retry of an event whose line
	 * is in is found a duplicate, not stored again.
	 */
	sigset_t	 hold;
};

/*
 * Read the config at path and prepare keys and time zone. Returns 0, or
 * -1 with the reason in err (the server is then empty).
 */
int	server_init(struct server *, const char *path, char *err,
	    size_t errlen);
/*
 * Make spool_dir unless it exists; a failure is logged and kept in
 * spool_errno (each POST then answers 503). Called once the caller's own
 * checks passed: nothing is made for a configuration refused.
 */
void	server_spool(struct server *);
/* Free all the server holds and zero it. */
void	server_free(struct server *);
/*
 * Close the files kept open between requests (day file, token table,
 * answer counters) to free their descriptors; the next request opens
 * them again.
 */
void	server_let_go(struct server *);
/* Answer one request; returns the HTTP status also set in rs. */
int	handle(struct server *, const struct request *, struct response *);
/*
 * Count rs in the spool's answer counters, if they are on: once the
 * answer is sent, so that nothing the counters' file suffers (cut short
 * under a worker's mapping: SIGBUS) can cost an answer.
 */
void	handle_count(struct server *, const struct response *);
/*
 * Milliseconds on the monotonic clock, which a step of the system clock
 * does not move: for intervals only.
 */
long long	mono_ms(void);

#endif
