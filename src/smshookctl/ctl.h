/* ctl.h: smshookctl's shared state and the subcommand interface. */
#ifndef SMSHOOK_CTL_H
#define SMSHOOK_CTL_H

#include <getopt.h>
#include <stdio.h>

#include "conf.h"

#define CTL_OK		0
#define CTL_FAIL	1
#define CTL_USAGE	2

/* The cron lock, in spool_dir: see ctl_lock. */
#define CTL_LOCK_FILE	".smshookctl.lock"

struct day_file;

struct ctl {
	struct conf	 conf;
	const char	*confpath;
	int		 tty;		/* stderr is a tty: show progress */
	int		 conf_due;	/* to read once the arguments are good */
	int		 conf_err_own;	/* the command reports conf_err */
	char		 conf_err[1024];	/* why conf could not be read */
};

/*
 * A subcommand: argv[0] is its name; it parses its own options with
 * getopt_long (optind already reset), answers --help on stdout with
 * CTL_OK, and returns CTL_OK, CTL_FAIL or CTL_USAGE.
 */
typedef int	(*ctl_cmd_fn)(struct ctl *, int argc, char *argv[]);

int	cmd_check(struct ctl *, int, char *[]);
int	cmd_sign(struct ctl *, int, char *[]);
int	cmd_verify(struct ctl *, int, char *[]);
int	cmd_stats(struct ctl *, int, char *[]);
int	cmd_import(struct ctl *, int, char *[]);
int	cmd_export(struct ctl *, int, char *[]);
int	cmd_compress(struct ctl *, int, char *[]);
int	cmd_purge(struct ctl *, int, char *[]);
int	cmd_optouts(struct ctl *, int, char *[]);

/*
 * getopt_long for a command, answering -h/--help and bad options: the
 * next option, or -1 when the loop is over, with *done set to -1 (go on),
 * CTL_OK (help was printed on stdout) or CTL_USAGE (usage on stderr).
 */
int	ctl_getopt(int argc, char *argv[], const char *optstring,
	    const struct option *longopts, void (*usage)(FILE *), int *done);
/*
 * Read the configuration, when the command needs it, once its options
 * and operands are found good (a usage error is one whatever the file
 * holds): CTL_OK, or CTL_FAIL with why in conf_err, said on stderr
 * unless the command says it itself (conf_err_own).
 */
int	ctl_conf_ready(struct ctl *);
/* 0 if no operand follows the options, else CTL_USAGE after saying so. */
int	ctl_no_operands(int argc, char *argv[], void (*usage)(FILE *));
/*
 * Check --from/--to (either may be NULL): each a valid YYYY-MM-DD day,
 * from not after to. 0 if good, else CTL_USAGE after saying why.
 */
int	ctl_day_range(const char *from, const char *to);
/* A number of days: decimal digits only, at most 100000; 0 or -1. */
int	ctl_days(const char *s, unsigned long long *out);
/* 0 if --db's url names a known database, else CTL_USAGE after why. */
int	ctl_db_url(const char *url);
/*
 * The database to use: url (from --db) if set, else the configuration's;
 * NULL if neither, said unless quiet (why: what it is needed for, or "").
 */
const char *ctl_db_pick(const struct ctl *c, const char *url,
	    const char *why, int quiet);

/*
 * Name the subcommand that messages are about, once, before it runs;
 * NULL (the start) for the tool as a whole.
 */
void	ctl_err_init(const char *cmd);
/* "smshookctl CMD: message\n" on stderr ("smshookctl: " before a command). */
void	ctl_err(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/*
 * Flush standard output: 0, or -1 having said why (an earlier write's
 * error, that the flush does not repeat, as EIO).
 */
int	ctl_stdout_flush(void);
/* As ctl_err, with ": " and strerror(errno) appended (if errno is not 0). */
void	ctl_errno(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/*
 * Name the line of len bytes at off of path that reader_unread found (a
 * larger max_body let the receiver write it), and done, what was done.
 */
void	ctl_unread(const char *path, long long off, size_t len,
	    const char *done);

/*
 * Take the cron lock (<spool_dir>/CTL_LOCK_FILE, flock) so two runs
 * never overlap: waits up to a few seconds, then fails with a message.
 * Returns the lock fd (close it to release) or -1.
 */
int	ctl_lock(struct ctl *);

/*
 * The start of a command that walks the spool (import, compress, purge):
 * take the cron lock, then list the day files of [from, to] (either may
 * be NULL), sorted by day. Returns 1 with *files, *n and *lockfd set;
 * 0 if spool_dir does not exist (nothing received yet: no lock taken,
 * *files NULL, *n 0, *lockfd -1); -1 after reporting why, nothing held.
 * Either way ctl_walk_end(*files, *lockfd) is safe to call.
 */
int	ctl_walk_begin(struct ctl *, const char *from, const char *to,
	    struct day_file **files, size_t *n, int *lockfd);
/* Release what ctl_walk_begin handed out: free files, close lockfd if set. */
void	ctl_walk_end(struct day_file *files, int lockfd);

struct ctl_db;
/*
 * Open the database at url for this spool (db.h), or report why and
 * return NULL.
 */
struct ctl_db	*ctl_db_open(const struct ctl *, const char *url);
/*
 * Open the database at url for this spool only to read it, changing
 * nothing (db_look_open). NULL, with *none set if it has no tables
 * yet (nothing imported: not a fault), else after saying why, after
 * what ("" or a prefix such as "import metrics left out: ").
 */
struct ctl_db	*ctl_db_read(const struct ctl *, const char *url,
		    const char *what, int *none);

#endif
