/* transport.h: the two ways a request reaches handle(). */
#ifndef SMSHOOK_TRANSPORT_H
#define SMSHOOK_TRANSPORT_H

#include <signal.h>

#include "server.h"

/*
 * Fill set with the signals that stop FastCGI workers (and the process
 * that runs them): SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGQUIT.
 */
void	fcgi_stop_signals(sigset_t *set);
/*
 * Have fcgi_run set *mark to 1 once it has a connection in hand (memory
 * the caller shares with its parent: "smshook -w").
 */
void	fcgi_mark_busy(volatile sig_atomic_t *mark);

/* The longest a lingering close waits in all, as libfcgi's each wait. */
#define LINGER_MS	2000

/*
 * Close the connection fd lingering, so that no reset eats the answer
 * sent on it: shut its writing side, then read and throw away what the
 * web server still sends until it closes, ms in all. Not a socket: just
 * closed.
 */
void	linger_close(int fd, int ms);

/* Serve FastCGI requests on fd 0 until told to stop; exit status. */
int	fcgi_run(struct server *);
/*
 * Serve FastCGI requests on fd 0 with n worker processes (n > 1) until
 * told to stop; exit status.
 */
int	workers_run(struct server *, int n);
/* Serve the one CGI request in the environment and stdin; exit status. */
int	cgi_run(const char *confpath);

#endif
