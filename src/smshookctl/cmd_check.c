/*
 * cmd_check.c: smshookctl check [--user USER] [--min-free SIZE]
 * [--min-inodes N] [--quiet]: a health check that fails whenever an
 * event would not be stored right now. As the receiver's user (--user;
 * as root, by default the owner of spool_dir): the configuration and
 * its app_key_files are readable, spool_dir takes a new file and with
 * fsync = yes can be read (or is missing and could be made: check
 * makes nothing), today's day file (if any) can be read and takes an
 * append, the token table (if used) is writable; the spool's file
 * system has room and inodes above the floors; the configured database
 * answers with tables import can use (this version's, an older one it
 * migrates, or none yet), looked at and never changed. One line per
 * fault, saying what and how to fix it; exit 1 on any fault.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "counters.h"
#include "ctl.h"
#include "day.h"
#include "db.h"
#include "fsutil.h"
#include "replay.h"

#define MIN_FREE	(64ULL << 20)	/* bytes */
#define MIN_INODES	1000ULL

struct check {
	const struct ctl	*ctl;
	unsigned long long	 min_free, min_inodes;
	int			 quiet;
	int			 no_user;	/* as root, no --user */
	int			 faults;
	char			 room[PATH_MAX]; /* spool_dir or its parent */
};

static const struct option longopts[] = {
	{ "user",	required_argument,	NULL,	'u' },
	{ "min-free",	required_argument,	NULL,	'f' },
	{ "min-inodes",	required_argument,	NULL,	'i' },
	{ "quiet",	no_argument,		NULL,	'q' },
	{ "help",	no_argument,		NULL,	'h' },
	{ NULL,		0,			NULL,	0 }
};

/* The usage text on f. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: smshookctl check [--user USER] [--min-free SIZE] "
	    "[--min-inodes N] [-q]\n"
	    "  fail (exit 1), one line per cause, whenever an event would "
	    "not\n"
	    "  be stored right now; checked as the receiver's USER (-u, "
	    "--user;\n"
	    "  as root, by default the owner of spool_dir); floors default "
	    "to 64m\n"
	    "  free and 1000 inodes; -q, --quiet: the exit status only\n");
}

/*
 * A fault: one line "check: FAIL: what", with the fix in parentheses
 * where there is one, unless quiet.
 */
static void
fault(struct check *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fault(struct check *k, const char *fmt, ...)
{
	va_list ap;

	k->faults++;
	if (k->quiet)
		return;
	va_start(ap, fmt);
	fputs("check: FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

/* A line of what is fine, unless quiet. */
static void
fine(const struct check *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fine(const struct check *k, const char *fmt, ...)
{
	va_list ap;

	if (k->quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

/* A file the configuration names can be opened for reading; 0 or -1. */
static int
readable(const char *path)
{
	int fd;

	/* O_NONBLOCK: a FIFO there must not hang the check */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	close(fd);
	return 0;
}

/*
 * The configuration file and every app_key_file it names can be read (as
 * the current user), as the receiver reads them on each start. Key files
 * are named, never their keys.
 */
static void
check_config(struct check *k)
{
	const struct conf *c = &k->ctl->conf;
	size_t i, nfiles = 0, bad = 0;

	if (readable(k->ctl->confpath) == -1) {
		fault(k, "cannot read the configuration %s: %s (the "
		    "receiver's user needs read access: chgrp and chmod 0640)",
		    k->ctl->confpath, strerror(errno));
		return;
	}
	for (i = 0; i < c->nkeys; i++) {
		if (c->keys[i].file == NULL)
			continue;
		nfiles++;
		if (readable(c->keys[i].file) == -1) {
			fault(k, "cannot read app_key_file %s: %s (the "
			    "receiver's user needs read access: chgrp and "
			    "chmod 0640)", c->keys[i].file, strerror(errno));
			bad++;
		}
	}
	if (bad == 0 && nfiles == 0)
		fine(k, "config %s: readable", k->ctl->confpath);
	else if (bad == 0)
		fine(k, "config %s and its %zu key file%s: readable",
		    k->ctl->confpath, nfiles, nfiles == 1 ? "" : "s");
}

/*
 * 1 if range r holds every IPv4 address (::ffff:0.0.0.0/96 or wider) or
 * every address (::/0), else 0.
 */
static int
holds_all(const struct cidr *r)
{
	static const uint8_t v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	    0xff };

	return r->prefix == 0 || (r->prefix <= 96 &&
	    memcmp(r->addr, v4, (size_t)r->prefix / 8) == 0);
}

/*
 * A trusted_proxies range that holds every client lets each one name its
 * own address in X-Forwarded-For: allow_from then keeps no one out.
 */
static void
check_proxies(struct check *k)
{
	const struct conf *c = &k->ctl->conf;
	size_t i;

	for (i = 0; i < c->trusted_proxies.n; i++)
		if (holds_all(&c->trusted_proxies.v[i]))
			break;
	if (i == c->trusted_proxies.n)
		return;
	if (c->allow_from.n > 0)
		fault(k, "trusted_proxies holds every client's address: each "
		    "names its own in X-Forwarded-For, and allow_from keeps no "
		    "one out (list the proxies' own addresses)");
	else
		fine(k, "note: trusted_proxies holds every client's address: "
		    "the spool records the address each client claims (list "
		    "the proxies' own addresses)");
}

/* The current user can make a directory in dir; 0, or -1 with errno. */
static int
can_mkdir_in(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS);
}

/*
 * spool_dir is missing: the receiver makes it, mode 0750 and without its
 * parents, when it needs it, so the receiver's user must be able to.
 * Nothing is made here. The room is then checked where it would be.
 */
static void
check_no_spool(struct check *k)
{
	const char *dir = k->ctl->conf.spool_dir;
	char parent[PATH_MAX];

	if (k->no_user) {
		fault(k, "spool_dir %s does not exist, and without its owner "
		    "the receiver's user is unknown (name it with --user, or "
		    "create spool_dir owned by it, mode 0750)", dir);
		return;
	}
	if (fs_parent_dir(dir, parent, sizeof(parent)) == -1) {
		fault(k, "spool_dir %s: %s", dir, strerror(ENAMETOOLONG));
		return;
	}
	if (can_mkdir_in(parent) == -1) {
		fault(k, "spool_dir %s does not exist, and the receiver's user "
		    "cannot create it in %s: %s (create it, owned by the "
		    "receiver's user, mode 0750)", dir, parent,
		    strerror(errno));
		return;
	}
	snprintf(k->room, sizeof(k->room), "%s", parent);
	fine(k, "spool_dir %s: none yet, the receiver's user can create it",
	    dir);
}

/* How to fix a file the receiver's user cannot write, by errno e. */
static const char *
write_fix(int e)
{
	switch (e) {
	case ENOSPC:
		return "its file system is full: free space or inodes, "
		    "smshookctl compress or purge";
	case EDQUOT:
		return "the user's disk quota is reached";
	case EROFS:
		return "its file system is mounted read-only";
	case EPERM:
		return "a file attribute forbids it: see lsattr, chattr -i";
	default:
		return "chown it to the receiver's user";
	}
}

/* spool_dir takes a new file, or does not exist and could be made. */
static void
check_spool(struct check *k)
{
	const char *dir = k->ctl->conf.spool_dir;
	char tmp[PATH_MAX];
	struct stat st;
	int fd, saved;

	if (stat(dir, &st) == -1) {
		saved = errno;
		if (saved == ENOENT && lstat(dir, &st) == -1)
			check_no_spool(k);
		else
			fault(k, "spool_dir %s: %s (create it, owned by the "
			    "receiver's user, mode 0750)", dir,
			    strerror(saved));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		fault(k, "spool_dir %s: not a directory (remove it, or point "
		    "spool_dir at a directory)", dir);
		return;
	}
	snprintf(k->room, sizeof(k->room), "%s", dir);
	if (k->no_user && st.st_uid == 0) {
		fault(k, "spool_dir %s is root's, so the receiver's user is "
		    "unknown (name it with --user, root if the receiver runs "
		    "as root)", dir);
		return;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.smshookctl.check.XXXXXX",
	    dir) >= sizeof(tmp) || (fd = mkstemp(tmp)) == -1) {
		saved = errno;
		fault(k, "spool_dir %s is not writable: %s (%s)", dir,
		    strerror(saved), write_fix(saved));
		return;
	}
	close(fd);
	if (unlink(tmp) == -1) {	/* left there at every run */
		saved = errno;
		fault(k, "spool_dir %s does not let files be removed: %s "
		    "(compress and purge remove them too; %s, and remove "
		    "%s)", dir, strerror(saved), saved == EPERM ?
		    "see lsattr, chattr -a" : "chown it to the receiver's user",
		    tmp);
		return;
	}
	/* with fsync = yes the receiver opens it to sync it */
	if (k->ctl->conf.fsync && (fd = open(dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		fault(k, "spool_dir %s is not readable: %s (fsync = yes syncs "
		    "it: chown it to the receiver's user, mode 0750)", dir,
		    strerror(errno));
		return;
	}
	if (k->ctl->conf.fsync)
		close(fd);
	fine(k, "spool_dir %s: writable", dir);
}

/*
 * Today's day file, if it exists, is a regular file that takes appends,
 * opened read-write as the receiver opens it (it reads the tail).
 */
static void
check_today(struct check *k)
{
	char day[DAY_LEN + 1], path[PATH_MAX];
	int fd, e;

	if (day_before_today(k->ctl->conf.timezone, 0, day) == -1) {
		fault(k, "today's day file: %s (check the clock and "
		    "\"timezone\")", strerror(errno));
		return;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.jsonl",
	    k->ctl->conf.spool_dir, day) >= sizeof(path))
		return;
	if ((fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		if ((e = errno) != ENOENT)
			fault(k, "today's day file %s: %s (%s)", path,
			    strerror(e), e == EACCES ? "chown it to the "
			    "receiver's user, mode 0640" : write_fix(e));
		return;
	}
	if (!fs_regular(fd, NULL))
		fault(k, "today's day file %s is not a regular file (remove "
		    "it)", path);
	else
		fine(k, "today's day file %s: writable", path);
	close(fd);
}

/*
 * 1 if the receiver could open path, its file named what (its token
 * table, its answer counters), as it does: a regular file it can write
 * (to use it, or to set a table aside when it is not one); else 0, said
 * as a fault.
 */
static int
kept_writable(struct check *k, const char *what, const char *path)
{
	int fd, ok;

	if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) ==
	    -1) {
		fault(k, "%s %s is not writable: %s (%s)", what, path,
		    strerror(errno), fs_kept_fix(errno));
		return 0;
	}
	if (!(ok = fs_regular(fd, NULL)))
		fault(k, "%s %s is not a regular file (remove it)", what,
		    path);
	close(fd);
	return ok;
}

/*
 * The answer counters, if on and made, are a file the receiver can
 * write: else it counts nothing, and stats and the alerts on its
 * answers see none.
 */
static void
check_counters(struct check *k)
{
	const struct conf *c = &k->ctl->conf;
	struct counters_page page;
	char path[PATH_MAX];
	struct stat st;

	if (!c->counters)
		return;
	snprintf(path, sizeof(path), "%s/%s", c->spool_dir, COUNTERS_FILE);
	/* the name itself: a link, dangling or not, is none of ours */
	if (lstat(path, &st) == -1 && errno == ENOENT)
		return;		/* made by the first answer */
	if (!kept_writable(k, "answer counters", path))
		return;
	if (counters_read(c->spool_dir, &page) == -1 && errno == EINVAL)
		fault(k, "answer counters %s: not a counters file (another "
		    "program's, or cut short: remove it, the receiver makes a "
		    "new one)", path);
	else
		fine(k, "answer counters %s: writable", path);
}

/*
 * The token table, if any and in use, is one the receiver can write. One
 * that is not a table is a note: the receiver sets it aside.
 */
static void
check_replay(struct check *k)
{
	const struct conf *c = &k->ctl->conf;
	char path[PATH_MAX];
	struct timespec ts;
	long long live;

	if (c->replay_window == 0) {
		fine(k, "replay table: off (replay_window = 0)");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", c->spool_dir, REPLAY_FILE);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (replay_count(path, (long long)c->replay_window * 1000,
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &live) == -1) {
		if (errno == ENOENT)
			fine(k, "replay table %s: none yet (made by the first "
			    "event)", path);
		else if (errno != EINVAL)
			fault(k, "replay table %s: %s (check the spool's "
			    "permissions)", path, strerror(errno));
		else if (kept_writable(k, "replay table", path))
			fine(k, "note: %s is not a replay table (the receiver "
			    "sets it aside and makes a new one)", path);
		return;
	}
	if (kept_writable(k, "replay table", path))
		fine(k, "replay table %s: ok, %lld token%s in the window", path,
		    live, live == 1 ? "" : "s");
}

/*
 * Free space and inodes of the spool's file system (k->room, where
 * check_spool found or would see it made) above the floors.
 */
static void
check_room(struct check *k)
{
	const char *dir = k->ctl->conf.spool_dir;
	unsigned long long avail, inodes;
	struct statvfs sv;

	if (k->room[0] == '\0')	/* no spool_dir, nor one to be: said */
		return;
	if (statvfs(k->room, &sv) == -1) {
		fault(k, "spool_dir %s: %s", dir, strerror(errno));
		return;
	}
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	inodes = sv.f_favail;
	if (avail < k->min_free)
		fault(k, "spool_dir %s: %llu bytes free, below %llu (free "
		    "space: smshookctl compress and purge, or a larger file "
		    "system)", dir, avail, k->min_free);
	if (sv.f_files > 0 && inodes < k->min_inodes)
		fault(k, "spool_dir %s: %llu inodes free, below %llu (remove "
		    "files from its file system)", dir, inodes, k->min_inodes);
	if (avail >= k->min_free && (sv.f_files == 0 ||
	    inodes >= k->min_inodes))
		fine(k, "spool_dir %s: %llu MiB and %llu inodes free", dir,
		    avail >> 20, inodes);
}

static void	check_database(struct check *);

/*
 * The receiver's checks, as whoever runs this; the database's too, as
 * import runs as the receiver's user.
 */
static void
receiver_checks(struct check *k)
{
	check_config(k);
	check_proxies(k);
	check_spool(k);
	check_today(k);
	check_replay(k);
	check_counters(k);
	check_room(k);
	check_database(k);
}

#ifdef NO_NSS
/*
 * The static bundle cannot use NSS (it needs glibc's shared modules):
 * users come from /etc/passwd only, and the child keeps just the user's
 * primary group. The bundle runs on shared hosting, where check is not
 * run as root anyway.
 */
static struct passwd *
find_user(const char *name, uid_t uid)
{
	struct passwd *pw;
	FILE *fp;

	if ((fp = fopen("/etc/passwd", "re")) == NULL)
		return NULL;
	while ((pw = fgetpwent(fp)) != NULL)
		if (name != NULL ? strcmp(pw->pw_name, name) == 0 :
		    pw->pw_uid == uid)
			break;
	fclose(fp);
	return pw;
}

/* Give the child pw's groups: here only its primary one. */
static int
join_groups(const struct passwd *pw)
{
	return setgroups(1, &pw->pw_gid);
}
#else
/* The user called name, or if name is NULL the one with uid uid. */
static struct passwd *
find_user(const char *name, uid_t uid)
{
	return name != NULL ? getpwnam(name) : getpwuid(uid);
}

/* Give the child pw's groups, as a login would. */
static int
join_groups(const struct passwd *pw)
{
	return initgroups(pw->pw_name, pw->pw_gid);
}
#endif

/*
 * Run the receiver's checks as user (a child that becomes it), adding
 * its faults to k's. -1 if that cannot be done.
 */
static int
as_user(struct check *k, const struct passwd *pw)
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if (setgroups(0, NULL) == -1 || join_groups(pw) == -1 ||
		    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1) {
			fault(k, "cannot become %s: %s", pw->pw_name,
			    strerror(errno));
			fflush(stdout);
			_exit(1);
		}
		receiver_checks(k);
		fflush(stdout);
		_exit(k->faults > 0);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		k->faults++;
	return 0;
}

/* The receiver's user: --user, else as root the owner of spool_dir. */
static const struct passwd *
receiver_user(const struct ctl *ctl, const char *name)
{
	struct stat st;

	if (name != NULL)
		return find_user(name, 0);
	if (geteuid() != 0 || stat(ctl->conf.spool_dir, &st) == -1 ||
	    st.st_uid == 0)
		return NULL;
	return find_user(NULL, st.st_uid);
}

/*
 * The database answers and import can use it as it is; nothing in it is
 * made or changed (an older version is import's to migrate).
 */
static void
check_database(struct check *k)
{
	const struct conf *c = &k->ctl->conf;
	enum db_state st;
	char err[512];
	int n, v;

	if (c->database == NULL) {
		fine(k, "database: none configured");
		return;
	}
	/* the scheme alone: the URL may hold a password */
	n = (int)strcspn(c->database, ":");
	if (db_url_known(c->database, err, sizeof(err)) == -1) {
		fault(k, "database: %s (check \"database =\" in %s)", err,
		    k->ctl->confpath);
		return;
	}
	/* a file import cannot write: said before what looking finds */
	if (db_writable(c->database, err, sizeof(err)) == -1) {
		fault(k, "database: %s (chown it to the receiver's user)", err);
		return;
	}
	switch ((st = db_look(c->database, &v, err, sizeof(err)))) {
	case DB_BROKEN:
		fault(k, "database: %s (check \"database =\" in %s)", err,
		    k->ctl->confpath);
		return;
	case DB_FOREIGN:
		fault(k, "database: %s (its tables are not this version's: "
		    "import into a new database, or fix them)", err);
		return;
	case DB_NEWER:
		fault(k, "database: %s", err);
		return;
	default:
		break;
	}
	/* a role without the rights import needs: once the server answers */
	switch (db_rights(c->database, st == DB_OLDER, err, sizeof(err))) {
	case -2:			/* read only: err says how to fix */
		fault(k, "database: %s", err);
		return;
	case -1:
		fault(k, "database: %s (GRANT it to the role, or connect as "
		    "one that has it)", err);
		return;
	}
	switch (st) {
	case DB_NONE:
		fine(k, "database %.*s: no tables yet (import makes them)", n,
		    c->database);
		break;
	case DB_OLDER:
		fine(k, "database %.*s: reachable, schema version %d (import "
		    "migrates it to %d)", n, c->database, v, SCHEMA_VERSION);
		break;
	default:
		fine(k, "database %.*s: reachable, schema version %d", n,
		    c->database, v);
		break;
	}
}

/* The last line, ok or FAILED, unless quiet; the exit status. */
static int
finish(const struct check *k)
{
	if (!k->quiet)
		printf("check: %s\n", k->faults > 0 ? "FAILED" : "ok");
	return k->faults > 0 ? CTL_FAIL : CTL_OK;
}

/* smshookctl check: see the top of this file. */
int
cmd_check(struct ctl *ctl, int argc, char *argv[])
{
	const struct passwd *pw;
	struct check k;
	const char *user = NULL;
	int ch, done;

	memset(&k, 0, sizeof(k));
	k.ctl = ctl;
	k.min_free = MIN_FREE;
	k.min_inodes = MIN_INODES;
	ctl->conf_err_own = 1;
	while ((ch = ctl_getopt(argc, argv, "hqu:", longopts, usage,
	    &done)) != -1) {
		switch (ch) {
		case 'u':
			user = optarg;
			break;
		case 'q':
			k.quiet = 1;
			break;
		case 'f':
		case 'i':
			if (conf_number(optarg, 0, 1ULL << 50, ch == 'f' ?
			    &k.min_free : &k.min_inodes) == -1) {
				ctl_err("--%s \"%s\": expected a number",
				    ch == 'f' ? "min-free" : "min-inodes",
				    optarg);
				return CTL_USAGE;
			}
			break;
		}
	}
	if (done != -1)
		return done;
	if (ctl_no_operands(argc, argv, usage) != 0)
		return CTL_USAGE;
	/* a usage error: before anything is said */
	if (user != NULL && find_user(user, 0) == NULL) {
		ctl_err("--user %s: no such user", user);
		return CTL_USAGE;
	}
	if (ctl_conf_ready(ctl) != CTL_OK) {
		/* the receiver would not start, or answer 500 to everything */
		fault(&k, "%s (the receiver refuses to start under FastCGI, "
		    "answers 500 as CGI, until it is fixed)", ctl->conf_err);
		return finish(&k);
	}
	fine(&k, "config %s: ok, %zu app_key%s, require_signature %s, "
	    "timezone %s", ctl->confpath, ctl->conf.nkeys,
	    ctl->conf.nkeys == 1 ? "" : "s",
	    ctl->conf.require_signature ? "yes" : "no", ctl->conf.timezone);
	k.no_user = user == NULL && geteuid() == 0;
	if ((pw = receiver_user(ctl, user)) != NULL &&
	    pw->pw_uid != geteuid()) {
		fine(&k, "checking as %s, the receiver's user", pw->pw_name);
		if (geteuid() != 0)
			fault(&k, "cannot check as %s: run as root or as %s",
			    pw->pw_name, pw->pw_name);
		else if (as_user(&k, pw) == -1)
			fault(&k, "cannot check as %s: %s", pw->pw_name,
			    strerror(errno));
	} else
		receiver_checks(&k);
	return finish(&k);
}
