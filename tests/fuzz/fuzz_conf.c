/*
 * fuzz_conf.c: libFuzzer harness for the configuration parser. Each
 * input is written to one temporary file (mode 0600) and parsed; the
 * struct is freed whether parsing succeeded or not. A success must name
 * a spool_dir and a time zone; a failure must say why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char path[] = "/tmp/smshook-fuzz-conf-XXXXXX";
static int fd = -1;

/* Remove the temporary file when libFuzzer exits. */
static void
cleanup(void)
{
	unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((fd = mkstemp(path)) == -1)
		abort();
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char err[512];

	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	err[0] = '\0';
	if (conf_parse(&c, path, err, sizeof(err)) == 0) {
		if (c.spool_dir == NULL || c.timezone == NULL ||
		    (c.nkeys == 0 && c.require_signature))
			abort();
	} else if (err[0] == '\0')
		abort();
	conf_free(&c);
	return 0;
}
