/*
 * cgi_main.c: one request from the environment and stdin, one answer on
 * stdout. The configuration is read per request; a bad one answers 500,
 * names the kind of problem in the answer (never a path or a value: the
 * customer may not be able to read the server's log, but neither should
 * the world read the details) and logs the details. A configuration,
 * key file or spool under the document root is refused the same way.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "transport.h"

/*
 * Has the web server closed its end of stdout? Then it has given up on
 * the request. A pipe or socket says so at once; a file cannot.
 */
static int
server_gone(void)
{
	struct pollfd pfd;

	pfd.fd = STDOUT_FILENO;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	while (poll(&pfd, 1, 0) == -1)
		if (errno != EINTR)
			return 0;
	return (pfd.revents & (POLLERR | POLLHUP)) != 0;
}

/* What the request's body on stdin is, and how much of it was read. */
struct cgi_in {
	int	lengthless;	/* no CONTENT_LENGTH: its end is stdin's */
	size_t	want;		/* CONTENT_LENGTH (SIZE_MAX if not a number) */
	int	ended;		/* stdin's end was read */
	size_t	got;		/* bytes read */
};

/*
 * Read body bytes from stdin (io: a struct cgi_in). Without a
 * CONTENT_LENGTH the end of stdin is the body's end only if the web
 * server still waits for the answer: one that gave up (a client gone, a
 * bad chunk) closed both.
 */
static ssize_t
cgi_read(void *io, char *buf, size_t len)
{
	struct cgi_in *in = io;
	ssize_t n;

	while ((n = read(STDIN_FILENO, buf, len)) == -1 && errno == EINTR)
		;
	if (n > 0)
		in->got += (size_t)n;
	if (n == 0) {
		in->ended = 1;
		if (in->lengthless && server_gone())
			return -1;
	}
	return n;
}

/*
 * 1 if the body on stdin was not read to its end (the answer came
 * before: a 405, 413, 403 or 400), else 0.
 */
static int
body_unread(const struct cgi_in *in)
{
	return !in->ended && (in->lengthless || in->got < in->want);
}

/* Write all of buf to stdout; -1 if the server went away. */
static int
write_all(const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(STDOUT_FILENO, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Is path root itself or inside it? Both are resolved paths. */
static int
inside(const char *path, const char *root)
{
	size_t n = strlen(root);

	return strncmp(path, root, n) == 0 && (path[n] == '/' ||
	    path[n] == '\0');
}

/*
 * path resolved into real: its longest part that exists, resolved, then
 * the rest as written (a spool_dir smshook could not create yet).
 */
static void
resolve(const char *path, char real[PATH_MAX])
{
	char head[PATH_MAX], rhead[PATH_MAX], *slash;

	snprintf(real, PATH_MAX, "%s", path);
	if ((size_t)snprintf(head, sizeof(head), "%s", path) >= sizeof(head))
		return;
	while (realpath(head, rhead) == NULL) {
		if ((slash = strrchr(head, '/')) == NULL || slash == head)
			return;
		*slash = '\0';
	}
	snprintf(real, PATH_MAX, "%s%s", strcmp(rhead, "/") == 0 ? "" : rhead,
	    path + strlen(head));
}

/* path under either document root? */
static int
served(const char *path, char roots[2][PATH_MAX], int nroots)
{
	char real[PATH_MAX];
	int i;

	resolve(path, real);
	for (i = 0; i < nroots; i++)
		if (inside(real, roots[i]))
			return 1;
	return 0;
}

/*
 * The document roots a web server passes (DOCUMENT_ROOT, and for
 * mod_userdir and aliases CONTEXT_DOCUMENT_ROOT), resolved; how many.
 */
static int
doc_roots(char roots[2][PATH_MAX])
{
	static const char *const vars[] = { "DOCUMENT_ROOT",
	    "CONTEXT_DOCUMENT_ROOT" };
	const char *v;
	size_t i;
	int n = 0;

	for (i = 0; i < 2; i++)
		if ((v = getenv(vars[i])) != NULL && *v != '\0' &&
		    realpath(v, roots[n]) != NULL && strcmp(roots[n], "/") != 0)
			n++;
	return n;
}

/*
 * NULL, or the kind of the first secret file that could be downloaded,
 * its path in *path.
 */
static const char *
under_docroot(const struct conf *c, const char **path)
{
	char roots[2][PATH_MAX];
	size_t i;
	int n;

	if ((n = doc_roots(roots)) == 0)
		return NULL;
	if (served((*path = c->path), roots, n))
		return "configuration file under the document root";
	for (i = 0; i < c->nkeys; i++)
		if (c->keys[i].file != NULL &&
		    served((*path = c->keys[i].file), roots, n))
			return "key file under the document root";
	if (served((*path = c->spool_dir), roots, n))
		return "spool_dir under the document root";
	return NULL;
}

/* Read the configuration; NULL, or what to answer 500 with. */
static const char *
setup(struct server *s, const char *confpath)
{
	const char *kind, *path;
	char err[512];

	if (server_init(s, confpath, err, sizeof(err)) == -1) {
		logmsg(LL_ERROR, "configuration: %s", err);
		return (kind = conf_error_kind()) != NULL ? kind :
		    "cannot start";
	}
	if ((kind = under_docroot(&s->conf, &path)) != NULL) {
		if (path == s->conf.path)
			logmsg(LL_ERROR, "configuration: %s: %s (move it out)",
			    path, kind);
		else
			logmsg(LL_ERROR, "configuration: %s: %s %s (move it "
			    "out)", s->conf.path, path, kind);
		server_free(s);
		return kind;
	}
	server_spool(s);
	/* a web server's restart or stop (Apache signals the CGI's process
	 * group) ends it once its line and token are both in */
	fcgi_stop_signals(&s->hold);
	return NULL;
}

int
cgi_run(const char *confpath)
{
	struct server s;
	struct request rq;
	struct response rs;
	struct cgi_in in = { 0, 0, 0, 0 };
	const char *bad;
	char head[512];
	int n, known, rc = 0;

	request_params(&rq, environ);
	if (request_length(&rq, SIZE_MAX / 10, &in.want, &known) != 0)
		in.want = SIZE_MAX;	/* answered unread: 400 */
	in.lengthless = !known;
	rq.read = cgi_read;
	rq.io = &in;
	rq.ends_body = 0;	/* no EOF is owed after CONTENT_LENGTH */
	if ((bad = setup(&s, confpath)) != NULL) {
		memset(&rs, 0, sizeof(rs));
		response_error(&rs, 500, "configuration error", bad);
		rc = 1;
	} else
		handle(&s, &rq, &rs);
	if ((n = response_head(&rs, head, sizeof(head))) == -1 ||
	    write_all(head, (size_t)n) == -1 ||
	    (request_method(rq.method) != M_HEAD &&
	    write_all(rs.body, rs.body_len) == -1))
		rc = 1;
	/*
	 * A body left unread on a socket (mod_cgid's one socket for stdin
	 * and stdout) makes the close a reset, and the web server loses the
	 * answer it is reading: close it lingering. Pipes (mod_cgi) need not.
	 */
	if (body_unread(&in))
		linger_close(STDIN_FILENO, LINGER_MS);
	if (bad == NULL) {
		handle_count(&s, &rs);	/* answered: see server.h */
		server_free(&s);
	}
	return rc;
}
