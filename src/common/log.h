/* log.h: leveled messages to stderr, the web server's error log. */
#ifndef SMSHOOK_LOG_H
#define SMSHOOK_LOG_H

enum log_level { LL_ERROR = 0, LL_WARN, LL_INFO, LL_DEBUG };

/* Set the program name printed before each line and the threshold. */
void	log_init(const char *progname, enum log_level level);
/* Parse "error", "warn", "info" or "debug"; -1 if unknown. */
int	log_level_parse(const char *name);
/* Format one line and write it with a single write(2) so lines never mix. */
void	logmsg(enum log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
