/*
 * main.c: smshookctl [-c file] command [args]. Finds the configuration
 * file, then hands over to the command's own file; ctl_getopt (opt.c)
 * reads it once the command's options are.
 */
#include <sys/stat.h>

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>
#include <zlib.h>
#ifndef NO_PG
#include <libpq-fe.h>
#include <pg_config.h>
#endif

#include "ctl.h"
#include "fsutil.h"
#include "log.h"
#include "version.h"

/*
 * Each command; prints: what it writes is what it is for, so written
 * nowhere (standard output closed) it fails, and a closed pipe ends it
 * (SIGPIPE), where the others, whose output only reports what they did
 * or found, do their work and then fail.
 */
static const struct {
	const char	*name;
	ctl_cmd_fn	 fn;
	int		 needs_conf;
	int		 prints;
	const char	*what;
} cmds[] = {
	{ "check",	cmd_check,	1, 0, "validate the configuration and spool" },
	{ "sign",	cmd_sign,	0, 1, "print a signed sample event" },
	{ "verify",	cmd_verify,	1, 0, "report torn, invalid or foreign lines" },
	{ "stats",	cmd_stats,	1, 1, "count events per day and type" },
	{ "import",	cmd_import,	1, 0, "load the spool into the database" },
	{ "export",	cmd_export,	1, 1, "write normalised rows as CSV or JSONL" },
	{ "compress",	cmd_compress,	1, 0, "gzip closed days" },
	{ "purge",	cmd_purge,	1, 0, "delete days beyond retention" },
	{ "optouts",	cmd_optouts,	1, 1, "list phones that replied to unsubscribe" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* -V: this program's version and the libraries' it is built with. */
static int
version(void)
{
#ifndef NO_PG
	char pq[32];
	int v = PQlibVersion();

	snprintf(pq, sizeof(pq), "%d.%d", v / 10000, v % 10000);
#endif
	version_print("smshookctl");
	version_line("SQLite", sqlite3_libversion(), SQLITE_VERSION);
	version_line("zlib", zlibVersion(), ZLIB_VERSION);
#ifndef NO_PG
	version_line("libpq", pq, PG_VERSION);
#else
	printf("  %-8s not built in (no postgresql:// databases)\n", "libpq");
#endif
	return CTL_OK;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: smshookctl [-hV] [-c file] command [args]\n"
	    "commands (each takes --help):\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].what);
}

/* rc, unless it was CTL_OK and standard output could not be written. */
static int
flushed(int rc)
{
	if (rc == CTL_OK && ctl_stdout_flush() == -1)
		return CTL_FAIL;
	return rc;
}

int
main(int argc, char *argv[])
{
	struct ctl ctl;
	const char *opt_c = NULL;
	char note[PATH_MAX + 128], prog[32];
	size_t i;
	int ch, rc, filled;

	if ((filled = fs_std_fds()) == -1)
		return CTL_FAIL;	/* nowhere safe to say so */
	memset(&ctl, 0, sizeof(ctl));
	log_init("smshookctl", LL_INFO);
	/* what it creates (database, exports, locks) is not for others */
	umask(027);
	/* a file size limit (ulimit -f) must fail a write, not kill us */
	signal(SIGXFSZ, SIG_IGN);
	/* no openssl.cnf: a static build must not load modules from the host */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	/* getopt's own messages begin with argv[0]: name us as ctl_err does */
	if (argc > 0)
		argv[0] = "smshookctl";
	while ((ch = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt_c = optarg;
			break;
		case 'h':
			usage(stdout);
			return flushed(CTL_OK);
		case 'V':
			return flushed(version());
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
		ctl_err("unknown command \"%s\"", argv[0]);
		usage(stderr);
		return CTL_USAGE;
	}
	ctl_err_init(cmds[i].name);
	snprintf(prog, sizeof(prog), "smshookctl %s", cmds[i].name);
	argv[0] = prog;
	if ((filled & 1 << STDOUT_FILENO) && !cmds[i].prints &&
	    fs_stdout_nowhere() == -1)
		return CTL_FAIL;
	/* a report into a closed pipe must not stop the work half done */
	if (!cmds[i].prints)
		signal(SIGPIPE, SIG_IGN);
	ctl.confpath = conf_locate(opt_c, NULL, note, sizeof(note));
	if (*note != '\0')
		fprintf(stderr, "smshookctl: configuration not used: %s\n",
		    note);
	ctl.tty = isatty(STDERR_FILENO);
	/* read by ctl_conf_ready once the arguments are: help needs none */
	ctl.conf_due = cmds[i].needs_conf;
	/* glibc: full re-initialisation for the command */
	optind = 0;
	rc = cmds[i].fn(&ctl, argc, argv);
	conf_free(&ctl.conf);
	return flushed(rc);
}
