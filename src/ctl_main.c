/*
 * ctl_main.c: smshookctl [-c file] command [args]. Reads the shared
 * configuration, then hands over to the command's own file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"

#ifndef VERSION
#define VERSION "unknown"
#endif

static const struct {
	const char	*name;
	ctl_cmd_fn	 fn;
	int		 needs_conf;
	const char	*what;
} cmds[] = {
	{ "check",	cmd_check,	1, "validate the configuration and spool" },
	{ "sign",	cmd_sign,	0, "print a signed sample event" },
	{ "verify",	cmd_verify,	1, "report torn, invalid or foreign lines" },
	{ "stats",	cmd_stats,	1, "count events per day and type" },
	{ "import",	cmd_import,	1, "load the spool into the database" },
	{ "export",	cmd_export,	1, "write normalised rows as CSV or JSONL" },
	{ "compress",	cmd_compress,	1, "gzip closed days" },
	{ "purge",	cmd_purge,	1, "delete days beyond retention" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: smshookctl [-hV] [-c file] command [args]\n"
	    "commands (each takes --help):\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].what);
}

int
main(int argc, char *argv[])
{
	struct ctl ctl;
	const char *opt_c = NULL;
	char err[512];
	size_t i;
	int ch, rc;

	memset(&ctl, 0, sizeof(ctl));
	log_init("smshookctl", LOG_INFO);
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt_c = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		case 'V':
			printf("smshookctl %s\n", VERSION);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (i = 0; i < NCMDS; i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			break;
	if (i == NCMDS) {
		fprintf(stderr, "smshookctl: unknown command \"%s\"\n", argv[0]);
		usage(stderr);
		return CTL_USAGE;
	}
	ctl.confpath = conf_path(opt_c);
	ctl.tty = isatty(STDERR_FILENO);
	/* --help must work without a configuration */
	if (cmds[i].needs_conf && !(argc > 1 && strcmp(argv[1], "--help") == 0)) {
		if (conf_parse(&ctl.conf, ctl.confpath, err, sizeof(err)) == -1) {
			fprintf(stderr, "smshookctl: %s\n", err);
			return CTL_FAIL;
		}
		log_init("smshookctl", ctl.conf.log_level);
	}
	optind = 0;		/* glibc: full re-initialisation for the command */
	rc = cmds[i].fn(&ctl, argc, argv);
	conf_free(&ctl.conf);
	return rc;
}
