/* conf.h: the smshook.conf file shared by smshook and smshookctl. */
#ifndef SMSHOOK_CONF_H
#define SMSHOOK_CONF_H

#include <stddef.h>

#include "cidr.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONF_DEFAULT_PATH SYSCONFDIR "/smshook/smshook.conf"

/*
 * The provider retries up to about 44 hours after an event: 48 hours of
 * clock tolerance keep every retry, and 15 days of token memory (its
 * retries and 15 days of backup storage) outlast them.
 */
#define CONF_KEY_FILE_MAX	4096	/* bytes of a key file's key line */
#define CONF_TOLERANCE		172800ULL	/* seconds */
#define CONF_REPLAY_WINDOW	1296000ULL	/* seconds */

struct conf_key {
	unsigned char	*data;
	size_t		 len;
	char		*file;	/* app_key_file's path, NULL for app_key */
};

/* The largest max_body accepted: 1 GiB. */
#define CONF_MAX_BODY	(1ULL << 30)

struct conf {
	char		*path;
	struct conf_key	*keys;		/* app_key and app_key_file, in order */
	size_t		 nkeys;
	char		*spool_dir;
	char		*timezone;	/* IANA name, default "UTC" */
	int		 fsync;		/* default 1 */
	unsigned long long max_body;	/* bytes, default 1048576 */
	int		 require_signature; /* default 1 */
	unsigned long long timestamp_tolerance; /* seconds, <= replay_window
						   unless that is 0 */
	struct cidr_list allow_from;	/* empty = everyone */
	struct cidr_list trusted_proxies;
	unsigned long long replay_window; /* seconds, 0 = off */
	int		 log_level;	/* enum log_level */
	int		 log_dest;	/* enum log_dest, default LD_STDERR */
	int		 log_facility;	/* syslog(3), default LOG_DAEMON */
	int		 counters;	/* .counters in spool_dir, default 1 */
	char		*database;	/* smshookctl only */
};

/* The file looked for beside the program (conf_locate). */
#define CONF_BESIDE "smshook/smshook.conf"

/* The path to use: opt if given, else $SMSHOOK_CONFIG, else the default. */
const char	*conf_path(const char *opt);
/*
 * The same with one more step before the default: CONF_BESIDE in the
 * parent of the directory holding the program, when that file exists and
 * it and its directory belong to root or to the program's owner and are
 * not writable by group or others. prog is the program's path (a CGI's
 * SCRIPT_FILENAME), or NULL for /proc/self/exe. Why a file that is there
 * was passed over goes to note ("" otherwise), and the default path then
 * not opening is "configuration file not safe (owner or mode)" to
 * conf_error_kind. The result may point to static storage.
 */
const char	*conf_locate(const char *opt, const char *prog, char *note,
		    size_t notelen);
/* Read and validate path into c; on failure -1 and "file:line: why" in err. */
int		 conf_parse(struct conf *c, const char *path, char *err,
		    size_t errlen);
/*
 * What the last failed conf_parse objected to, in words that name no path
 * and no value ("configuration file not found", "unknown key at line 3"),
 * fit for an HTTP answer; NULL after a success.
 */
const char	*conf_error_kind(void);
/* Release everything conf_parse allocated; c may be partly filled. */
void		 conf_free(struct conf *c);
/* Parse an unsigned number with an optional unit suffix (k/m/g or s/m/h/d). */
int		 conf_number(const char *s, int seconds, unsigned long long max,
		    unsigned long long *out);

#endif
