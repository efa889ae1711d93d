/*
 * fcgi_main.c: the FastCGI accept loop, and nothing else. It uses the
 * FCGX_*_r interface so the process environment is never replaced.
 *
 * SIGTERM, SIGINT and SIGUSR1 are blocked except while the worker waits
 * in poll(2) for a connection: a request, once accepted, is always read,
 * stored and answered before the worker exits, and libfcgi never sees an
 * EINTR. The listening socket is non-blocking so a worker that loses the
 * race for a connection to another worker goes back to poll(2), where it
 * can be stopped, instead of blocking in accept(2).
 *
 * ppoll(2) delivers a stop signal only when it has to wait: when a
 * connection is ready, it returns that and the signal stays pending. So
 * under load a worker takes the next waiting connection without a wait,
 * and every QUICK_MAX requests asks sigpending(2) whether to stop. Not
 * on a connection the web server keeps: a request may already be on its
 * way there, and closing would lose it; such a worker stops when the
 * connection is idle, in ppoll(2), or once the web server closed it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "log.h"
#include "transport.h"

/* FCGX_Accept_r's return when accept(2) failed without an errno. */
#define FCGX_NO_ERRNO	(-9999)

/* Requests served between two looks at the pending stop signals. */
#define QUICK_MAX	8

/* Content bytes of a record that libfcgi's stderr stream buffers. */
#define FCGI_ERR_MAX	(512 - 8)

static volatile sig_atomic_t stopping = 0;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/*
 * Wait until fd has a request: 1, 0 to stop, or -1 (logged) if it cannot
 * be waited on. ppoll(2) installs the waiting mask (stop signals open)
 * atomically, so a signal is either seen by the check before it or
 * interrupts it.
 */
static int
wait_connection(const sigset_t *waiting, int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int n;

	do
		n = stopping ? 0 : ppoll(&pfd, 1, NULL, waiting);
	while (n == -1 && errno == EINTR && !stopping);
	if (n == -1 && !stopping) {
		logmsg(LL_ERROR, "FastCGI wait failed: %s", strerror(errno));
		return -1;
	}
	return n > 0 && !stopping;
}

/* 1 if one of the stop signals (blocked here) is pending. */
static int
stop_pending(const sigset_t *stops)
{
	sigset_t pending, both;

	if (sigpending(&pending) == -1)
		return 0;
	sigandset(&both, &pending, stops);
	return !sigisemptyset(&both);
}

static ssize_t
fcgi_read(void *io, char *buf, size_t len)
{
	int n;

	if (len > 1 << 30)
		len = 1 << 30;
	n = FCGX_GetStr(buf, (int)len, io);
	return n < 0 ? -1 : n;
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

/* Answer one accepted request. */
static void
serve(struct server *s, FCGX_Request *fr)
{
	struct request rq;
	struct response rs;
	char head[512];
	int n;

	request_params(&rq, fr->envp);	/* one pass, not one per name */
	rq.read = fcgi_read;
	rq.io = fr->in;
	rq.ends_body = 1;
	log_set_sink(log_to_request, fr->err);
	handle(s, &rq, &rs);
	log_set_sink(NULL, NULL);
	/*
	 * Read to its end, the request leaves nothing unread that a close
	 * could answer with a reset: close at once, without libfcgi's
	 * lingering close (shutdown, then waiting up to 2 s for the web
	 * server to close first). A kept connection is never closed here.
	 */
	if (!fr->keepConnection && FCGX_HasSeenEOF(fr->in))
		FCGX_Detach(fr);
	if ((n = response_head(&rs, head, sizeof(head))) == -1)
		return;
	FCGX_PutStr(head, n, fr->out);
	if (request_method(rq.method) != M_HEAD)
		FCGX_PutStr(rs.body, (int)rs.body_len, fr->out);
}

int
fcgi_run(struct server *s)
{
	FCGX_Request fr;
	struct sigaction sa;
	sigset_t stops, waiting;
	int rc, w = 1, flags, status = 0, idle = 1, quick = 0;

	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGUSR1);
	sigprocmask(SIG_BLOCK, &stops, &waiting);
	sigdelset(&waiting, SIGTERM);
	sigdelset(&waiting, SIGINT);
	sigdelset(&waiting, SIGUSR1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if ((flags = fcntl(STDIN_FILENO, F_GETFL)) == -1 ||
	    fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		logmsg(LL_ERROR, "cannot initialise FastCGI");
		return 1;
	}
	logmsg(LL_INFO, "FastCGI worker ready, spool %s", s->conf.spool_dir);
	for (;;) {
		if (quick == QUICK_MAX && fr.ipcFd < 0) {
			if (stop_pending(&stops))
				break;
			quick = 0;
		}
		/*
		 * When the web server asked to keep the connection
		 * (FCGI_KEEP_CONN: nginx fastcgi_keep_conn, mod_proxy_fcgi
		 * enablereuse), libfcgi leaves it open in ipcFd and
		 * FCGX_Accept_r reads the next request from it, not from fd
		 * 0: wait on that connection then, always (the read blocks).
		 * Otherwise wait only when the last try found no connection.
		 */
		if ((idle || fr.ipcFd >= 0) && (w = wait_connection(&waiting,
		    fr.ipcFd >= 0 ? fr.ipcFd : STDIN_FILENO)) != 1)
			break;
		if ((rc = FCGX_Accept_r(&fr)) == -EAGAIN || rc == -EWOULDBLOCK ||
		    rc == -EINTR) {
			idle = 1;	/* none waiting, or another took it */
			continue;
		}
		if (rc < 0) {
			logmsg(LL_ERROR, "FastCGI accept failed: %s",
			    rc == FCGX_NO_ERRNO ? "unknown error" :
			    strerror(-rc));
			status = 1;
			break;
		}
		idle = 0;
		if (quick < QUICK_MAX)	/* stays there on a kept connection */
			quick++;
		serve(s, &fr);
		FCGX_Finish_r(&fr);
	}
	if (w == -1)
		status = 1;		/* wait failed, logged */
	FCGX_Free(&fr, 1);
	return status;
}
