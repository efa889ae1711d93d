/* server.c: start-up work shared by the CGI and FastCGI transports. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsutil.h"
#include "log.h"
#include "replay.h"
#include "server.h"
#include "spool.h"
#include "verify.h"

long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
server_init(struct server *s, const char *path, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	sigemptyset(&s->hold);
	if (conf_parse(&s->conf, path, err, errlen) == -1)
		goto fail;
	log_init("smshook", s->conf.log_level);
	log_open(s->conf.log_dest, s->conf.log_facility);
	if (setenv("TZ", s->conf.timezone, 1) == -1) {
		snprintf(err, errlen, "setenv TZ: %s", strerror(errno));
		goto fail;
	}
	tzset();
	if (s->conf.nkeys > 0 &&
	    (s->verifier = verify_new(s->conf.keys, s->conf.nkeys)) == NULL) {
		snprintf(err, errlen, "cannot prepare HMAC-SHA256 (OpenSSL)");
		goto fail;
	}
	return 0;
 fail:
	server_free(s);
	return -1;
}

void
server_spool(struct server *s)
{
	if (fs_mkdir_spool(s->conf.spool_dir) == -1) {
		s->spool_errno = errno;
		logmsg(LL_ERROR, "spool_dir %s: %s", s->conf.spool_dir,
		    strerror(errno));	/* each POST will answer 503 */
	}
}

void
server_let_go(struct server *s)
{
	spool_let_go();
	replay_let_go();
	counters_close(&s->counters);
}

void
server_free(struct server *s)
{
	verify_free(s->verifier);
	counters_close(&s->counters);
	conf_free(&s->conf);
	free(s->body.p);
	free(s->line);
	memset(s, 0, sizeof(*s));
}
