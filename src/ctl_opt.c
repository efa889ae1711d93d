/* ctl_opt.c: the option handling every smshookctl command shares. */
#include <getopt.h>
#include <stdio.h>

#include "ctl.h"

int
ctl_getopt(int argc, char *argv[], const char *optstring,
    const struct option *longopts, void (*cmd_usage)(FILE *), int *done)
{
	int ch;

	*done = -1;
	switch ((ch = getopt_long(argc, argv, optstring, longopts, NULL))) {
	case 'h':
		cmd_usage(stdout);
		*done = CTL_OK;
		return -1;
	case '?':
	case ':':
		cmd_usage(stderr);
		*done = CTL_USAGE;
		return -1;
	default:
		return ch;
	}
}

int
ctl_no_operands(int argc, char *argv[], void (*cmd_usage)(FILE *))
{
	if (optind == argc)
		return 0;
	fprintf(stderr, "smshookctl %s: unexpected argument \"%s\"\n",
	    argv[0], argv[optind]);
	cmd_usage(stderr);
	return CTL_USAGE;
}
