/* ctl.h: smshookctl's shared state and the subcommand interface. */
#ifndef SMSHOOK_CTL_H
#define SMSHOOK_CTL_H

#include "conf.h"

#define CTL_OK		0
#define CTL_FAIL	1
#define CTL_USAGE	2

struct ctl {
	struct conf	 conf;
	const char	*confpath;
	int		 tty;		/* stderr is a terminal: show progress */
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

/*
 * Take the cron lock (<spool_dir>/.smshookctl.lock, flock) so two runs
 * never overlap: waits up to a few seconds, then fails with a message.
 * Returns the lock fd (close it to release) or -1.
 */
int	ctl_lock(struct ctl *);

#endif
