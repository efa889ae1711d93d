/*
 * main.c: smshook's start. FastCGI when fd 0 is a listening socket (or
 * systemd passed one), CGI when a web server set GATEWAY_INTERFACE, and
 * "smshook -n" checks a configuration. In CGI mode argv is ignored: a web
 * server may fill it from the query string.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <openssl/crypto.h>

#include "fsutil.h"
#include "log.h"
#include "transport.h"
#include "version.h"

/* libfcgi has no version call: the build says which one it compiled with */
#ifndef FCGI_VERSION_TEXT
#define FCGI_VERSION_TEXT "unknown"
#endif

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: smshook [-nV] [-c file] [-w workers]\n");
	exit(2);
}

#define WORKERS_MAX	256

/* -w: a whole number of workers, 1 to WORKERS_MAX; else usage. */
static int
workers_arg(const char *s)
{
	unsigned long long n;

	if (conf_number(s, 0, WORKERS_MAX, &n) == -1 || n < 1) {
		fprintf(stderr, "smshook: -w: expected 1 to %d workers\n",
		    WORKERS_MAX);
		usage();
	}
	return (int)n;
}

/* systemd socket activation: move the passed socket to fd 0. */
static void
take_systemd_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char self[32];

	snprintf(self, sizeof(self), "%ld", (long)getpid());
	if (pid == NULL || fds == NULL || strcmp(pid, self) != 0 ||
	    strcmp(fds, "1") != 0)
		return;
	if (dup2(3, STDIN_FILENO) == STDIN_FILENO)
		close(3);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/*
 * FCGX_IsCGI(), with the dispositions of the signals it sets libfcgi's
 * handlers for put back as they were: SIGPIPE ignored, SIGUSR1 and
 * SIGTERM as inherited (in FastCGI mode until fcgi_run sets its own).
 */
static int
is_cgi(void)
{
	static const int sigs[] = { SIGPIPE, SIGUSR1, SIGTERM };
	struct sigaction was[sizeof(sigs) / sizeof(sigs[0])];
	size_t i;
	int cgi;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], NULL, &was[i]);
	cgi = FCGX_IsCGI();
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &was[i], NULL);
	return cgi;
}

/* -V: this program's version and the libraries' it is built with. */
static int
version(void)
{
	version_print("smshook");
	version_line("libfcgi", NULL, FCGI_VERSION_TEXT);
	return 0;
}

/*
 * -n: this program and its folder are not writable by group or others
 * (anyone there could replace it, and suEXEC refuses to run it): 0, or
 * -1 having said which. Nothing is said where /proc is missing.
 */
static int
program_safe(void)
{
	char path[PATH_MAX], dir[PATH_MAX];
	const char *const each[] = { path, dir };
	struct stat st;
	ssize_t n;
	size_t i;

	if ((n = readlink("/proc/self/exe", path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	if (fs_parent_dir(path, dir, sizeof(dir)) == -1)
		return 0;
	for (i = 0; i < sizeof(each) / sizeof(each[0]); i++)
		if (stat(each[i], &st) == 0 &&
		    (st.st_mode & (S_IWGRP | S_IWOTH)) &&
		    !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))) {
			fprintf(stderr, "smshook: %s is writable by group or "
			    "others: anyone in them could replace this "
			    "program, and suEXEC refuses to run it (chmod "
			    "go-w %s)\n", each[i], each[i]);
			return -1;
		}
	return 0;
}

/* rc, unless it was 0 and standard output could not be written. */
static int
flushed(int rc)
{
	int e = fs_stdout_error();

	if (e != 0 && rc == 0) {
		fprintf(stderr, "smshook: stdout: %s\n", strerror(e));
		return 1;
	}
	return rc;
}

/* -n: parse the configuration, say what it is, exit. */
static int
check(const char *path)
{
	struct server s;
	char err[512];

	if (server_init(&s, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "smshook: %s\n", err);
		return 1;
	}
	server_spool(&s);
	if (s.spool_errno != 0) {	/* as a start would log it */
		fprintf(stderr, "smshook: %s: spool_dir %s: %s\n", path,
		    s.conf.spool_dir, strerror(s.spool_errno));
		server_free(&s);
		return 1;
	}
	if (program_safe() == -1) {
		server_free(&s);
		return 1;
	}
	printf("%s: ok (spool_dir %s, %zu key%s, timezone %s)\n", path,
	    s.conf.spool_dir, s.conf.nkeys, s.conf.nkeys == 1 ? "" : "s",
	    s.conf.timezone);
	server_free(&s);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *confpath = NULL;
	struct server s;
	char err[512], note[PATH_MAX + 128];
	int ch, cgi, nflag = 0, workers = 1, rc;

	if (fs_std_fds() == -1)
		return 1;	/* nowhere safe to say so */
	signal(SIGPIPE, SIG_IGN);
	/* a file size limit (ulimit -f) must fail a write, not kill us */
	signal(SIGXFSZ, SIG_IGN);
	umask(027);
	/* until the configuration says otherwise: stderr, with the time */
	log_open(LD_STDERR, 0);
	/*
	 * HMAC and SHA-256 are fetched by their provider names: no
	 * openssl.cnf, no legacy name tables, no clean-up at exit: each
	 * would be a fixed cost of every CGI request (BENCHMARKS.md).
	 */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
	    OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS |
	    OPENSSL_INIT_NO_ATEXIT, NULL);
	take_systemd_socket();
	cgi = is_cgi();
	if (!cgi) {
		/* FastCGI: fall through to options */
	} else if (getenv("GATEWAY_INTERFACE") != NULL) {
		/* the web server's path of the program, not argv */
		confpath = conf_locate(NULL, getenv("SCRIPT_FILENAME"), note,
		    sizeof(note));
		if (*note != '\0')
			logmsg(LL_WARN, "configuration not used: %s", note);
		return cgi_run(confpath);
	}
	while ((ch = getopt(argc, argv, "c:nVw:")) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 'n':
			nflag = 1;
			break;
		case 'V':
			return flushed(version());
		case 'w':
			workers = workers_arg(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	confpath = conf_locate(confpath, NULL, note, sizeof(note));
	if (*note != '\0')
		fprintf(stderr, "smshook: configuration not used: %s\n", note);
	if (nflag)
		return flushed(check(confpath));
	if (cgi) {
		fprintf(stderr, "smshook: not started by a web server "
		    "(no FastCGI socket on stdin, no GATEWAY_INTERFACE)\n");
		usage();
	}
	if (server_init(&s, confpath, err, sizeof(err)) == -1) {
		fprintf(stderr, "smshook: %s\n", err);
		return 1;
	}
	server_spool(&s);
	rc = workers > 1 ? workers_run(&s, workers) : fcgi_run(&s);
	server_free(&s);
	return rc;
}
