/*
 * fcgi_main.c: the FastCGI accept loop, and nothing else. It uses the
 * FCGX_*_r interface so the process environment is never replaced.
 *
 * SIGTERM, SIGINT, SIGUSR1, SIGHUP and SIGQUIT (stop_signals[]) only set
 * a flag (SA_RESTART): a request, once accepted, is read, stored and
 * answered, and then the worker exits instead of taking the next one;
 * only a request the web server is still sending STOP_GRACE_S after the
 * signal is cut short. A wait for a connection is cut short by the
 * signal, and lasts at most WAIT_MS at a time, which bounds a stop whose
 * signal came just before the wait began.
 *
 * On a Unix socket (every web server's spawned worker) the worker
 * accepts the connection itself, blocking: no wait before it, and the
 * kernel wakes one waiting worker per connection. SO_RCVTIMEO on the
 * socket is the WAIT_MS bound, and makes accept(2) fail with EINTR on a
 * signal. The connection is then handed to libfcgi, which skips its own
 * accept and with it its check of a new Unix-socket connection (a poll
 * of up to 2 s for a Linux 2.0 bug, which a stop signal would cut short
 * by closing the connection unanswered). libfcgi is given no listening
 * socket then (-1): when it drops a connection (not FastCGI, or a kept
 * one the web server closed) it cannot accept the next itself, and says
 * EBADF. When an accept found nothing on a socket someone else made
 * non-blocking again, the worker waits in poll(2) before the next, so
 * that it cannot spin. On a TCP socket libfcgi accepts, as it checks
 * FCGI_WEB_SERVER_ADDRS there; the socket is non-blocking and the worker
 * waits in poll(2).
 *
 * Not on a connection the web server keeps: a request may already be on
 * its way there, and closing would lose it; such a worker stops when the
 * connection is idle or once the web server closed it.
 *
 * A connection whose request was not read to its end is closed lingering,
 * its writing side shut first and what the web server still sends thrown
 * away, so that no reset eats the answer; for LINGER_MS in all, however
 * much keeps coming.
 *
 * An accept that fails for want of descriptors or memory (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM), on either path, passes: the worker logs it,
 * closes the files it keeps open between requests if descriptors ran
 * out, sleeps WAIT_MS (the listening socket stays readable, so no poll
 * on it) and tries again; a stop signal cuts the sleep short.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "log.h"
#include "transport.h"

/* FCGX_Accept_r's return when accept(2) failed without an errno. */
#define FCGX_NO_ERRNO	(-9999)

/* The longest wait for a connection without a look at the stop flag. */
#define WAIT_MS		1000

/* How long a stop waits for a request the web server is still sending. */
#define STOP_GRACE_S	5

/* Content bytes of a record that libfcgi's stderr stream buffers. */
#define FCGI_ERR_MAX	(512 - 8)

/* The most of an unread body thrown away to keep its connection. */
#define DRAIN_MAX	(16 << 20)

static volatile sig_atomic_t stopping = 0;
static volatile sig_atomic_t *busy_mark;	/* fcgi_mark_busy */
static int linger_ms = LINGER_MS;		/* linger_setup */

/*
 * The signals that stop a worker once the request in hand is answered:
 * SIGHUP and SIGQUIT too, whose default actions would cut it.
 */
static const int stop_signals[] = {
	SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGQUIT
};

void
fcgi_stop_signals(sigset_t *set)
{
	size_t i;

	sigemptyset(set);
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(set, stop_signals[i]);
}

void
fcgi_mark_busy(volatile sig_atomic_t *mark)
{
	busy_mark = mark;
}

/*
 * A stop signal sets the flag, and the first arms STOP_GRACE_S: a read
 * still blocked then (a connection on which the web server sent nothing,
 * or stopped sending) is cut short by SIGALRM, whose handler does not
 * restart it, so that a stop always ends.
 */
static void
on_stop(int sig)
{
	(void)sig;
	if (!stopping)
		alarm(STOP_GRACE_S);
	stopping = 1;
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/*
 * Wait until fd is readable: 1, 0 to stop, or -1 (logged) if it cannot
 * be waited on. Once stopping, a connection the web server keeps (kept)
 * is still read if a request is already there; a listening one is not.
 */
static int
wait_readable(int fd, int kept)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int n, was;

	for (;;) {
		if ((was = stopping) && !kept)
			return 0;
		if ((n = poll(&pfd, 1, was ? 0 : WAIT_MS)) > 0)
			return 1;
		if (n == 0 && was)
			return 0;
		if (n == -1 && errno != EINTR) {
			logmsg(LL_ERROR, "FastCGI wait failed: %s",
			    strerror(errno));
			return -1;
		}
	}
}

/*
 * Accept a connection on the Unix socket fd, for libfcgi to read: the
 * descriptor, -EAGAIN if none came (a signal, WAIT_MS, a connection gone
 * before it was taken), or accept(2)'s -errno otherwise.
 */
static int
accept_unix(int fd)
{
	int c;

	if ((c = accept(fd, NULL, NULL)) != -1)
		return c;
	switch (errno) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
		return -EAGAIN;
	default:
		return -errno;
	}
}

/* 1 if accept(2)'s errno err is a shortage that passes, else 0. */
static int
passing(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM;
}

/*
 * After an accept that failed with the passing errno err: log it, close
 * the files s keeps open between requests if descriptors ran out (they
 * may be what took the last ones), then sleep WAIT_MS, or less if a stop
 * signal comes. One line a failure, so at most one a second.
 */
static void
pause_accept(struct server *s, int err)
{
	int fds = err == EMFILE || err == ENFILE;

	if (fds)
		server_let_go(s);
	logmsg(LL_ERROR, "FastCGI accept failed: %s: trying again in %d ms%s",
	    strerror(err), WAIT_MS, fds ? " (kept files closed)" : "");
	if (!stopping)
		poll(NULL, 0, WAIT_MS);		/* EINTR on a stop signal */
}

/* 1 if fd is non-blocking (O_NONBLOCK), else 0. */
static int
nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags != -1 && (flags & O_NONBLOCK) != 0;
}

/*
 * Make the listening socket fd wait as this loop needs (see the top):
 * 1 if it is a Unix socket the worker accepts on, 0 if libfcgi accepts,
 * -1 on error.
 */
static int
listen_setup(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct timeval tv = { WAIT_MS / 1000, WAIT_MS % 1000 * 1000 };
	int flags, own;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    (flags = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if ((own = ss.ss_family == AF_UNIX))
		flags &= ~O_NONBLOCK;
	else
		flags |= O_NONBLOCK;
	if (fcntl(fd, F_SETFL, flags) == -1 || (own &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1))
		return -1;
	return own;
}

/*
 * request.h's read: up to len bytes of the body, 0 at its end, or -1 if
 * the stream broke (the connection closed, or a record out of place,
 * before the body's end: libfcgi then returns what it had, short, and
 * keeps the error), so that a cut body is never taken for a whole one.
 */
static ssize_t
fcgi_read(void *io, char *buf, size_t len)
{
	int n;

	if (len > 1 << 30)
		len = 1 << 30;
	n = FCGX_GetStr(buf, (int)len, io);
	return n < 0 || FCGX_GetError(io) != 0 ? -1 : n;
}

/*
 * log.c's sink for "log = fcgi": a line as one FCGI_STDERR record of the
 * request, which the web server writes to its error log. libfcgi's
 * stderr buffer holds one record of FCGI_ERR_MAX bytes: a longer line is
 * cut, so that it is never split across two records (two log lines).
 * -1 if the web server is gone: log.c then writes the line to stderr.
 */
static int
log_to_request(void *arg, const char *line, size_t len)
{
	FCGX_Stream *err = arg;
	int n = len > FCGI_ERR_MAX ? FCGI_ERR_MAX - 1 : (int)len - 1;

	if (FCGX_PutStr(line, n, err) != n || FCGX_PutStr("\n", 1, err) != 1 ||
	    FCGX_FFlush(err) == -1)
		return -1;
	return 0;
}

/*
 * Read and throw away the rest of a request's body, at most DRAIN_MAX
 * bytes: 0 once its end was read, -1 if it did not come (too long, or
 * an error). A short read is the end or an error (libfcgi).
 */
static int
drain(FCGX_Stream *in)
{
	char buf[8192];
	size_t total = 0;
	int n;

	do
		n = FCGX_GetStr(buf, sizeof(buf), in);
	while (n == (int)sizeof(buf) && (total += (size_t)n) < DRAIN_MAX);
	return FCGX_HasSeenEOF(in) && FCGX_GetError(in) == 0 ? 0 : -1;
}

/*
 * Answer one accepted request, its params in rq (not_whole), its answer
 * into *rs: 1 if the connection is to be closed lingering (the request
 * not read to its end), else 0.
 */
static int
serve(struct server *s, FCGX_Request *fr, struct request *rq,
    struct response *rs)
{
	char head[512];
	int n, lingers = 0;

	rq->read = fcgi_read;
	rq->io = fr->in;
	rq->ends_body = 1;
	log_set_sink(log_to_request, fr->err);
	if (fr->role == FCGI_RESPONDER)
		handle(s, rq, rs);
	else {	/* an authorizer's 200 would let every request in */
		logmsg(LL_ERROR, "FastCGI role %d refused: smshook is a "
		    "responder only", fr->role);
		memset(rs, 0, sizeof(*rs));
		rs->kind = CNT_500;
		response_error(rs, 500, "FastCGI role not supported", NULL);
	}
	log_set_sink(NULL, NULL);
	/*
	 * On a kept connection the next request follows this one's body:
	 * libfcgi takes what is left of it for a protocol error and closes
	 * the connection, with the request on its way. Read it to its end
	 * first; one that does not end is closed lingering after all.
	 */
	if (fr->keepConnection && !FCGX_HasSeenEOF(fr->in) &&
	    drain(fr->in) == -1)
		fr->keepConnection = 0;
	/*
	 * Read to its end, the request leaves nothing unread that a close
	 * could answer with a reset: close at once, without a lingering
	 * close (finish). A kept connection is never closed here.
	 */
	if (!fr->keepConnection)
		lingers = !FCGX_HasSeenEOF(fr->in) || FCGX_Detach(fr) == -1;
	if ((n = response_head(rs, head, sizeof(head))) == -1)
		return lingers;
	FCGX_PutStr(head, n, fr->out);
	if (request_method(rq->method) != M_HEAD)
		FCGX_PutStr(rs->body, (int)rs->body_len, fr->out);
	return lingers;
}

/*
 * The bound of a lingering close: LIBFCGI_OS_CLOSE_POLL_TIMEOUT
 * milliseconds if set and valid, as libfcgi's each wait, else LINGER_MS
 * (an invalid value is logged, not silently left out).
 */
static void
linger_setup(void)
{
	const char *v = getenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT");
	char *end;
	long ms;

	if (v == NULL)
		return;
	errno = 0;
	ms = strtol(v, &end, 10);
	if (errno == 0 && end != v && *end == '\0' && ms > 0 && ms <= INT_MAX)
		linger_ms = (int)ms;
	else
		logmsg(LL_WARN, "LIBFCGI_OS_CLOSE_POLL_TIMEOUT \"%.32s\": "
		    "expected milliseconds, 1 or more; %d used", v, LINGER_MS);
}

/*
 * libfcgi's own close waits anew after every read, so a peer that keeps
 * sending would hold the worker for ever: linger_close bounds the whole.
 */
void
linger_close(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	long long end = mono_ms() + ms, left;
	char trash[1024];
	int n;

	if (shutdown(fd, SHUT_WR) == 0)
		while ((left = end - mono_ms()) > 0) {
			if ((n = poll(&pfd, 1, (int)left)) == -1 &&
			    errno == EINTR)
				continue;
			if (n <= 0 || read(fd, trash, sizeof(trash)) <= 0)
				break;
		}
	close(fd);
}

/*
 * End the request: send the answer, close or keep the connection. A
 * lingering close (linger_close, on a copy of the connection, libfcgi
 * closing its own at once) waits for the web server to close first, and
 * a signal would cut that short and risk a reset eating the answer: the
 * signals in held (the stop signals and SIGALRM) wait till it is done.
 * Without a copy libfcgi lingers, unbounded.
 */
static void
finish(FCGX_Request *fr, int lingers, const sigset_t *held)
{
	sigset_t was;
	int blocked, fd = -1;

	blocked = lingers && sigprocmask(SIG_BLOCK, held, &was) == 0;
	if (lingers && (fd = dup(fr->ipcFd)) != -1 && FCGX_Detach(fr) == -1) {
		close(fd);
		fd = -1;
	}
	FCGX_Finish_r(fr);
	if (fd != -1)
		linger_close(fd, linger_ms);
	if (blocked)
		sigprocmask(SIG_SETMASK, &was, NULL);
}

/*
 * Read the request's params into rq, in one pass: 1 if libfcgi handed
 * over a request that is not whole (its params cut short by a stop's
 * SIGALRM or the connection gone, libfcgi keeping the error in the in
 * stream and saying success; or without REQUEST_METHOD), else 0.
 */
static int
not_whole(FCGX_Request *fr, struct request *rq)
{
	request_params(rq, fr->envp);
	return FCGX_GetError(fr->in) != 0 || rq->method == NULL;
}

/*
 * Close the request's connection unanswered: no record is written, and
 * a kept connection is closed too.
 */
static void
drop(FCGX_Request *fr)
{
	fr->keepConnection = 0;
	FCGX_Free(fr, 1);
}

/*
 * With the worker accepting on a Unix socket (own), take the next
 * connection and hand it to libfcgi: 0, or FCGX_Accept_r's -errno. The
 * connection is marked kept, or libfcgi's FCGX_Accept_r would close it
 * as the end of the request before (FCGX_Finish_r); the request's own
 * FCGI_BEGIN_REQUEST then sets the mark as the web server asked.
 */
static int
next_connection(FCGX_Request *fr, int own)
{
	int c;

	if (!own || fr->ipcFd >= 0)
		return 0;	/* libfcgi accepts, or reads the kept one */
	if ((c = accept_unix(STDIN_FILENO)) < 0)
		return c;
	fr->ipcFd = c;
	fr->keepConnection = 1;
	return 0;
}

int
fcgi_run(struct server *s)
{
	FCGX_Request fr;
	struct request rq;
	struct response rs;
	struct sigaction sa;
	sigset_t stops, held;
	size_t i;
	int rc, own, had, w = 1, status = 0;
	int idle = 0;		/* own socket found non-blocking: poll first */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaction(stop_signals[i], &sa, NULL);
	sa.sa_handler = on_alarm;
	sa.sa_flags = 0;		/* interrupts the read it comes in */
	sigaction(SIGALRM, &sa, NULL);
	fcgi_stop_signals(&stops);
	held = stops;
	sigaddset(&held, SIGALRM);
	/* held by "smshook -w", which forks us with them blocked */
	if (sigprocmask(SIG_UNBLOCK, &stops, NULL) == -1 ||
	    (own = listen_setup(STDIN_FILENO)) == -1 ||
	    FCGX_Init() != 0 || FCGX_InitRequest(&fr, own ? -1 : STDIN_FILENO,
	    FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		logmsg(LL_ERROR, "cannot initialise FastCGI");
		return 1;
	}
	linger_setup();
	logmsg(LL_INFO, "FastCGI worker ready, spool %s", s->conf.spool_dir);
	for (;;) {
		/*
		 * When the web server asked to keep the connection
		 * (FCGI_KEEP_CONN: nginx fastcgi_keep_conn, mod_proxy_fcgi
		 * enablereuse), libfcgi leaves it open in ipcFd and
		 * FCGX_Accept_r reads the next request from it: wait on it
		 * (the read blocks), even once stopping.
		 */
		if (fr.ipcFd >= 0)
			w = wait_readable(fr.ipcFd, 1);
		else if (stopping)
			w = 0;
		else if (!own || idle)
			w = wait_readable(STDIN_FILENO, 0);
		if (w != 1)
			break;
		had = busy_mark != NULL && *busy_mark;
		if ((rc = next_connection(&fr, own)) == 0 && busy_mark)
			*busy_mark = 1;	/* in hand, or libfcgi accepting */
		if (rc == 0 && (rc = FCGX_Accept_r(&fr)) == -EBADF && own)
			continue;	/* libfcgi dropped the connection */
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR) {
			/* none came, or another took it */
			if (busy_mark != NULL)
				*busy_mark = had;
			idle = own && nonblocking(STDIN_FILENO);
			continue;
		}
		if (rc < 0 && rc != FCGX_NO_ERRNO && passing(-rc)) {
			pause_accept(s, -rc);
			continue;
		}
		if (rc < 0) {
			logmsg(LL_ERROR, "FastCGI accept failed: %s",
			    rc == FCGX_NO_ERRNO ? "unknown error" :
			    strerror(-rc));
			status = 1;
			break;
		}
		if (not_whole(&fr, &rq)) {
			drop(&fr);	/* not answered, not counted */
			continue;
		}
		finish(&fr, serve(s, &fr, &rq, &rs), &held);
		handle_count(s, &rs);	/* answered: see server.h */
	}
	if (w == -1)
		status = 1;		/* wait failed, logged */
	FCGX_Free(&fr, 1);
	return status;
}
