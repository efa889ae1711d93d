/*
 * cmd_check.c: smshookctl check: the configuration parsed (main.c did
 * that), spool_dir exists or can be created and takes a new file, and
 * the replay table is sound. Prints a short summary; exit 1 on a fault.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "fsutil.h"
#include "replay.h"

static const struct option longopts[] = {
	{ "help",	no_argument,	NULL,	'h' },
	{ NULL,		0,		NULL,	0 }
};

/* The usage text on f. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: smshookctl check\n"
	    "  validate the configuration, that spool_dir is writable and\n"
	    "  the state of the replay table; exit 1 on any fault\n");
}

/* spool_dir exists (created 0750 if missing, as the receiver does). */
static int
check_spool(const char *dir)
{
	char tmp[PATH_MAX];
	struct stat st;
	int fd, created = 0;

	if (stat(dir, &st) == -1) {
		if (errno != ENOENT || fs_mkdir_spool(dir) == -1) {
			ctl_errno("spool_dir %s", dir);
			return -1;
		}
		created = 1;
	} else if (!S_ISDIR(st.st_mode)) {
		ctl_err("spool_dir %s: not a directory", dir);
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.smshookctl.check.XXXXXX",
	    dir) >= sizeof(tmp)) {
		ctl_err("spool_dir %s: path too long", dir);
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		ctl_errno("spool_dir %s is not writable", dir);
		return -1;
	}
	close(fd);
	if (unlink(tmp) == -1) {
		ctl_errno("%s", tmp);
		return -1;
	}
	printf("spool_dir %s: %s, writable\n", dir,
	    created ? "created" : "exists");
	return 0;
}

/* Report the replay table; a table the receiver would set aside is a fault. */
static int
check_replay(const struct conf *c)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct timespec ts;
	long long live;
	int bad = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", c->spool_dir, REPLAY_FILE);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (replay_count(path, (long long)c->replay_window * 1000,
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &live) == -1) {
		if (errno == EINVAL) {
			ctl_err("%s is not a replay table; the receiver "
			    "will set it aside", path);
			return -1;
		}
		if (errno != ENOENT) {
			ctl_errno("replay table %s", path);
			return -1;
		}
		printf("replay table %s: none yet (made by the first "
		    "event)\n", path);
	} else if (c->replay_window == 0)
		printf("replay table %s: ok, but replay_window = 0: "
		    "duplicates are not detected\n", path);
	else
		printf("replay table %s: ok, %lld token%s within the %llu s "
		    "window\n", path, live, live == 1 ? "" : "s",
		    c->replay_window);
	/* tables set aside earlier: worth a look, not a fault */
	if ((d = opendir(c->spool_dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, REPLAY_FILE ".bad-",
			    sizeof(REPLAY_FILE ".bad-") - 1) == 0)
				bad++;
		closedir(d);
	}
	if (bad > 0)
		printf("warning: %d replay table%s set aside as %s/%s.bad-*\n",
		    bad, bad == 1 ? "" : "s", c->spool_dir, REPLAY_FILE);
	return 0;
}

/* smshookctl check: see the top of this file and ctl.h. */
int
cmd_check(struct ctl *ctl, int argc, char *argv[])
{
	const struct conf *c = &ctl->conf;
	int done;

	while (ctl_getopt(argc, argv, "h", longopts, usage, &done) != -1)
		;
	if (done != -1)
		return done;
	if (ctl_no_operands(argc, argv, usage) != 0)
		return CTL_USAGE;
	printf("config %s: ok, %zu app_key%s, require_signature %s, "
	    "timezone %s\n", ctl->confpath, c->nkeys, c->nkeys == 1 ? "" : "s",
	    c->require_signature ? "yes" : "no",
	    c->timezone != NULL ? c->timezone : "UTC");
	if (c->nkeys == 0 && c->require_signature)
		printf("warning: no app_key: every signed event will be "
		    "refused\n");
	/* only the scheme: the URL may carry a password */
	if (c->database != NULL)
		printf("database: %.*s\n", (int)strcspn(c->database, ":"),
		    c->database);
	if (check_spool(c->spool_dir) == -1 || check_replay(c) == -1) {
		printf("check: FAILED\n");
		return CTL_FAIL;
	}
	printf("check: ok\n");
	return CTL_OK;
}
