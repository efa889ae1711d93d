/* conf.h: the smshook.conf file shared by smshook and smshookctl. */
#ifndef SMSHOOK_CONF_H
#define SMSHOOK_CONF_H

#include <stddef.h>

#include "cidr.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONF_DEFAULT_PATH SYSCONFDIR "/smshook/smshook.conf"

struct conf_key {
	unsigned char	*data;
	size_t		 len;
};

struct conf {
	char		*path;
	struct conf_key	*keys;		/* app_key and app_key_file, in order */
	size_t		 nkeys;
	char		*spool_dir;
	char		*timezone;	/* IANA name, default "UTC" */
	int		 fsync;		/* default 1 */
	unsigned long long max_body;	/* bytes, default 1048576 */
	int		 require_signature; /* default 1 */
	unsigned long long timestamp_tolerance; /* seconds, 0 = off */
	struct cidr_list allow_from;	/* empty = everyone */
	struct cidr_list trusted_proxies;
	unsigned long long replay_window; /* seconds, 0 = off */
	int		 log_level;	/* enum log_level */
	char		*database;	/* smshookctl only */
};

/* The path to use: opt if given, else $SMSHOOK_CONFIG, else the default. */
const char	*conf_path(const char *opt);
/* Read and validate path into c; on failure -1 and "file:line: why" in err. */
int		 conf_parse(struct conf *c, const char *path, char *err, size_t errlen);
/* Release everything conf_parse allocated; c may be partly filled. */
void		 conf_free(struct conf *c);
/* Parse an unsigned number with an optional unit suffix (k/m/g or s/m/h/d). */
int		 conf_number(const char *s, int seconds, unsigned long long max,
		    unsigned long long *out);

#endif
