/*
 * cgi_loop.c: time CGI requests the way a web server makes them. For each
 * of n requests: fork, set CONTENT_LENGTH, exec the program with the body
 * (line i of the bodies file, without its newline) on stdin, read all of
 * stdout, wait. The rest of the CGI environment is inherited. Prints the
 * wall time per request and how many answers contained the -m string.
 *   cgi_loop -n count [-m match] [-v] bodies program [args...]
 */
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: cgi_loop -n count [-m match] [-v] bodies "
	    "program [args...]\n");
	exit(2);
}

#include "benchutil.h"

/* One request: 1 if the answer contains match, 0 if not, -1 on error. */
static int
one(char *const argv[], const char *body, size_t len, const char *match,
    int verbose)
{
	char out[65536], cl[32];
	int in[2], o[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(in) == -1 || pipe(o) == -1)
		return -1;
	snprintf(cl, sizeof(cl), "%zu", len);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		setenv("CONTENT_LENGTH", cl, 1);
		dup2(in[0], STDIN_FILENO);
		dup2(o[1], STDOUT_FILENO);
		close(in[0]);
		close(in[1]);
		close(o[0]);
		close(o[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	if (write(in[1], body, len) != (ssize_t)len)
		perror("write body");	/* the program did not read it */
	close(in[1]);
	while ((n = read(o[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	close(o[0]);
	out[got] = '\0';
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	if (verbose)
		fprintf(stderr, "--- answer:\n%s\n", out);
	return match == NULL || strstr(out, match) != NULL;
}

int
main(int argc, char *argv[])
{
	const char *match = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long n = 0, i, ok = 0;
	int ch, verbose = 0, r;
	double start, t;
	FILE *f;

	while ((ch = getopt(argc, argv, "+n:m:v")) != -1) {
		switch (ch) {
		case 'n':
			n = number(optarg, 1, LONG_MAX);
			break;
		case 'm':
			match = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (n < 1 || argc - optind < 2)
		usage();
	signal(SIGPIPE, SIG_IGN);	/* a program that exits unread */
	if ((f = fopen(argv[optind], "r")) == NULL) {
		perror(argv[optind]);
		return 1;
	}
	start = now();
	for (i = 0; i < n; i++) {
		if ((len = getline(&line, &cap, f)) <= 0) {
			fprintf(stderr, "cgi_loop: out of bodies at %ld\n", i);
			return 1;
		}
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if ((r = one(argv + optind + 1, line, (size_t)len, match,
		    verbose && i == 0)) == -1) {
			perror("request");
			return 1;
		}
		ok += r;
	}
	t = now() - start;
	printf("requests=%ld matched=%ld seconds=%.3f us_per_request=%.1f\n",
	    n, ok, t, t * 1e6 / (double)n);
	free(line);
	fclose(f);
	return 0;
}
