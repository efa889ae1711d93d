/*
 * ctl_check.c: smshookctl check: the configuration parsed (ctl_main did
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
#include "replay.h"

/*
 * The replay table's layout, as replay.c writes it: a 64-byte header
 * starting with the magic, then 65536 buckets of 16 slots of 32 bytes,
 * each slot a 16-byte digest and an int64 acceptance time in ms.
 */
#define RP_MAGIC	"SMSHKRP1"
#define RP_HDR		64
#define RP_SLOT		32
#define RP_WHEN_OFF	16
#define RP_SIZE		((off_t)RP_HDR + (off_t)65536 * 16 * RP_SLOT)
#define RP_CHUNK	(1024 * RP_SLOT)

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
		if (errno != ENOENT || mkdir(dir, 0750) == -1) {
			fprintf(stderr, "smshookctl check: spool_dir %s: %s\n",
			    dir, strerror(errno));
			return -1;
		}
		created = 1;
	} else if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "smshookctl check: spool_dir %s: not a "
		    "directory\n", dir);
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.smshookctl.check.XXXXXX",
	    dir) >= sizeof(tmp)) {
		fprintf(stderr, "smshookctl check: spool_dir %s: path too "
		    "long\n", dir);
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		fprintf(stderr, "smshookctl check: spool_dir %s is not "
		    "writable: %s\n", dir, strerror(errno));
		return -1;
	}
	close(fd);
	if (unlink(tmp) == -1) {
		fprintf(stderr, "smshookctl check: %s: %s\n", tmp,
		    strerror(errno));
		return -1;
	}
	printf("spool_dir %s: %s, writable\n", dir,
	    created ? "created" : "exists");
	return 0;
}

/* Count the slots of fd accepted within window_ms before now; -1 on error. */
static long long
count_live(int fd, long long window_ms)
{
	static unsigned char buf[RP_CHUNK];
	struct timespec ts;
	long long now_ms, live = 0;
	int64_t when;
	off_t off;
	ssize_t n, i;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	for (off = RP_HDR; off < RP_SIZE; off += n) {
		if ((n = pread(fd, buf, sizeof(buf), off)) <= 0 ||
		    n % RP_SLOT != 0)
			return -1;
		for (i = 0; i < n; i += RP_SLOT) {
			memcpy(&when, buf + i + RP_WHEN_OFF, sizeof(when));
			if (when != 0 && when > now_ms - window_ms)
				live++;
		}
	}
	return live;
}

/* Report the replay table; a table the receiver would set aside is a fault. */
static int
check_replay(const struct conf *c)
{
	char path[PATH_MAX], hdr[RP_HDR];
	struct dirent *de;
	struct stat st;
	long long live;
	int fd, bad = 0, rc = -1;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", c->spool_dir, REPLAY_FILE);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT) {
			fprintf(stderr, "smshookctl check: replay table %s: "
			    "%s\n", path, strerror(errno));
			return -1;
		}
		printf("replay table %s: none yet (made by the first "
		    "event)\n", path);
		rc = 0;
		goto bad;
	}
	if (fstat(fd, &st) == -1 || st.st_size != RP_SIZE ||
	    pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    memcmp(hdr, RP_MAGIC, sizeof(RP_MAGIC) - 1) != 0) {
		fprintf(stderr, "smshookctl check: %s is not a replay table; "
		    "the receiver will set it aside\n", path);
		goto out;
	}
	errno = 0;
	if ((live = count_live(fd, (long long)c->replay_window * 1000)) ==
	    -1) {
		fprintf(stderr, "smshookctl check: replay table %s: %s\n",
		    path, strerror(errno ? errno : EIO));
		goto out;
	}
	if (c->replay_window == 0)
		printf("replay table %s: ok, but replay_window = 0: "
		    "duplicates are not detected\n", path);
	else
		printf("replay table %s: ok, %lld token%s within the %llu s "
		    "window\n", path, live, live == 1 ? "" : "s",
		    c->replay_window);
	rc = 0;
 bad:
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
 out:
	if (fd != -1)
		close(fd);
	return rc;
}

/* smshookctl check: see the top of this file and ctl.h. */
int
cmd_check(struct ctl *ctl, int argc, char *argv[])
{
	const struct conf *c = &ctl->conf;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "smshookctl check: unexpected argument "
		    "\"%s\"\n", argv[optind]);
		usage(stderr);
		return CTL_USAGE;
	}
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
