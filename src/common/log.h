/*
 * log.h: levelled lines, one write each, to stderr, to syslog, or as
 * FastCGI stderr records of the request being answered (the "log" key).
 */
#ifndef SMSHOOK_LOG_H
#define SMSHOOK_LOG_H

#include <stddef.h>

enum log_level { LL_ERROR = 0, LL_WARN, LL_INFO, LL_DEBUG };
enum log_dest { LD_STDERR = 0, LD_SYSLOG, LD_FCGI };

/*
 * Where LD_FCGI lines go while a request is answered: one call per line
 * (ending in '\n'); -1 sends that line to stderr instead.
 */
typedef int (*log_sink)(void *arg, const char *line, size_t len);

/* Set the program name printed before each line and the threshold. */
void	log_init(const char *progname, enum log_level level);
/* Parse "error", "warn", "info" or "debug"; -1 if unknown. */
int	log_level_parse(const char *name);
/* Parse "stderr", "syslog" or "fcgi"; -1 if unknown. */
int	log_dest_parse(const char *name);
/* "daemon", "user" or "local0" to "local7" as a syslog(3) facility; -1. */
int	log_facility_parse(const char *name);
/*
 * Send lines to dest from now on (facility: LD_SYSLOG's). Lines on stderr
 * then start with the UTC time, unless stderr is the systemd journal.
 * Until the first call, lines go to stderr without a time (smshookctl).
 */
void	log_open(enum log_dest dest, int facility);
/* The sink of the request in hand, or NULL between requests. */
void	log_set_sink(log_sink fn, void *arg);
/* Format one line and write it with a single write(2) so lines never mix. */
void	logmsg(enum log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
