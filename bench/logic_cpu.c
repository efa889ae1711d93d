/*
 * logic_cpu.c: what a stored event costs the receiver in its own code,
 * with no system call and no web server around it. Per iteration, on
 * the next of the bodies given (bench/gen_bodies.py, one JSON body per
 * line), it does what the worker does between reading the body and the
 * first storage call, in its order, each stage adding to the last:
 *
 *   parse    payload_parse: the strict lexer, the field table, the line's
 *            payload
 *   hmac     + verify_check: the signature under the key
 *   line     + line_format: the spool line
 *   digest   + SHA-256 of the token (the table's slot) and the day's name
 *
 * and prints the CPU time (user + system) per event of each:
 *   logic_cpu [-i iterations] bodies key
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "conf.h"
#include "day.h"
#include "line.h"
#include "payload.h"
#include "verify.h"

#define BODIES_MAX	4096

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: logic_cpu [-i iterations] bodies key\n");
	exit(2);
}

#include "benchutil.h"

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "logic_cpu: %s\n", what);
	exit(1);
}

/* Up to BODIES_MAX lines of path, without their newlines; how many. */
static size_t
read_bodies(const char *path, char **bodies)
{
	FILE *f;
	char *l = NULL;
	size_t n = 0, cap = 0;
	ssize_t k;

	if ((f = fopen(path, "r")) == NULL)
		die(path);
	while (n < BODIES_MAX && (k = getline(&l, &cap, f)) > 1) {
		l[k - 1] = '\0';
		if ((bodies[n++] = strdup(l)) == NULL)
			die("out of memory");
	}
	free(l);
	fclose(f);
	if (n == 0)
		die("no bodies");
	return n;
}

/* Iterations of the stages up to and including last; CPU us per event. */
static double
run(char **bodies, size_t n, long iters, struct verifier *v, int last)
{
	struct event ev;
	struct payload_error pe;
	struct timespec ts;
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl;
	char *line = NULL, day[DAY_LEN + 1];
	size_t cap = 0;
	long i;
	double t0;

	if ((md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL)
		die("SHA-256");
	t0 = cpu_us();
	for (i = 0; i < iters; i++) {
		const char *b = bodies[i % (long)n];

		if (payload_parse(&ev, b, strlen(b), LINE_JSON, &pe) != 0)
			die(pe.why);
		if (last >= 1 && verify_check(v, ev.timestamp, ev.token,
		    ev.signature) != 1)
			die("signature does not match the key");
		clock_gettime(CLOCK_REALTIME, &ts);
		if (last >= 2 && line_format(&line, &cap, &ts, "127.0.0.1",
		    ev.encoding, 1, ev.payload, ev.payload_len) == 0)
			die("out of memory");
		if (last >= 3) {
			if (!EVP_DigestInit_ex(ctx, md, NULL) ||
			    !EVP_DigestUpdate(ctx, ev.token,
			    strlen(ev.token)) ||
			    !EVP_DigestFinal_ex(ctx, d, &dl))
				die("SHA-256");
			day_of(ts.tv_sec, day);
		}
		payload_free(&ev);
	}
	t0 = (cpu_us() - t0) / (double)iters;
	free(line);
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return t0;
}

int
main(int argc, char *argv[])
{
	static const char *const stage[] = { "parse", "hmac", "line",
	    "digest" };
	static char *bodies[BODIES_MAX];
	struct conf_key key;
	struct verifier *v;
	long iters = 200000;
	size_t n;
	int c, k;

	while ((c = getopt(argc, argv, "i:")) != -1)
		switch (c) {
		case 'i':
			iters = number(optarg, 1, 100000000);
			break;
		default:
			usage();
		}
	if (argc - optind != 2)
		usage();
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
	    OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS |
	    OPENSSL_INIT_NO_ATEXIT, NULL);
	n = read_bodies(argv[optind], bodies);
	key.data = (unsigned char *)argv[optind + 1];
	key.len = strlen(argv[optind + 1]);
	key.file = NULL;
	if ((v = verify_new(&key, 1)) == NULL)
		die("HMAC");
	printf("RESULT iterations=%ld", iters);
	for (k = 0; k < 4; k++)
		printf(" %s_us=%.2f", stage[k], run(bodies, n, iters, v, k));
	printf("\n");
	verify_free(v);
	return 0;
}
