/* ctl.h: smshookctl's shared state and the subcommand interface. */
#ifndef SMSHOOK_CTL_H
#define SMSHOOK_CTL_H

#include <getopt.h>
#include <stdio.h>

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
 * getopt_long for a command, answering -h/--help and bad options: the
 * next option, or -1 when the loop is over, with *done set to -1 (go on),
 * CTL_OK (help was printed on stdout) or CTL_USAGE (usage on stderr).
 */
int	ctl_getopt(int argc, char *argv[], const char *optstring,
	    const struct option *longopts, void (*usage)(FILE *), int *done);
/* 0 if no operand follows the options, else CTL_USAGE after saying so. */
int	ctl_no_operands(int argc, char *argv[], void (*usage)(FILE *));

/*
 * Take the cron lock (<spool_dir>/.smshookctl.lock, flock) so two runs
 * never overlap: waits up to a few seconds, then fails with a message.
 * Returns the lock fd (close it to release) or -1.
 */
int	ctl_lock(struct ctl *);

#endif
