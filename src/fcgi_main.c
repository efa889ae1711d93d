/*
 * fcgi_main.c: the FastCGI accept loop, and nothing else. It uses the
 * FCGX_*_r interface so the process environment is never replaced.
 * SIGTERM, SIGINT and SIGUSR1 while idle end the process at once; during
 * a request they end it after the answer, so no line is ever torn.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "log.h"
#include "transport.h"

static volatile sig_atomic_t idle = 1;
static volatile sig_atomic_t stopping = 0;

static void
on_stop(int sig)
{
	(void)sig;
	if (idle)
		_exit(0);
	stopping = 1;
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

/* Answer one accepted request. */
static void
serve(struct server *s, FCGX_Request *fr)
{
	struct request rq;
	struct response rs;
	char head[512];
	int n;

	rq.method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
	rq.content_type = FCGX_GetParam("CONTENT_TYPE", fr->envp);
	rq.content_length = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	rq.remote_addr = FCGX_GetParam("REMOTE_ADDR", fr->envp);
	rq.forwarded_for = FCGX_GetParam("HTTP_X_FORWARDED_FOR", fr->envp);
	rq.read = fcgi_read;
	rq.io = fr->in;
	handle(s, &rq, &rs);
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

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;	/* libfcgi does not retry on EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		logmsg(LOG_ERR, "cannot initialise FastCGI");
		return 1;
	}
	logmsg(LOG_INFO, "FastCGI worker ready, spool %s", s->conf.spool_dir);
	while (!stopping) {
		idle = 1;
		if (stopping || FCGX_Accept_r(&fr) < 0)
			break;
		idle = 0;
		serve(s, &fr);
		FCGX_Finish_r(&fr);
	}
	idle = 1;
	FCGX_Free(&fr, 1);
	return 0;
}
