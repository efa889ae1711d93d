/* fsutil.h: file-system helpers shared by smshook and smshookctl. */
#ifndef SMSHOOK_FSUTIL_H
#define SMSHOOK_FSUTIL_H

#include <sys/stat.h>
#include <sys/types.h>

#include <limits.h>

/* day files and import positions past 2 GiB (getconf LFS_CFLAGS) */
_Static_assert(sizeof(off_t) == 8, "off_t must have 64 bits");

/*
 * The directory that holds path into buf: "." for a bare name, "/" for a
 * name in /, trailing slashes not counted; 0, or -1 (ENAMETOOLONG) if it
 * does not fit in bufsz.
 */
int	fs_parent_dir(const char *path, char *buf, size_t bufsz);
/*
 * Open /dev/null onto each of fds 0-2 that is closed, lowest first, so
 * that a file opened later (the token table, a .gz being written) is
 * never one of them and gets log lines, messages or the answer: the
 * fds filled (1 << fd each), or -1 if /dev/null would not open. A
 * standard output so filled is read only: what is written there fails
 * (EBADF), as it goes nowhere.
 */
int	fs_std_fds(void);
/* Make standard output a /dev/null that takes what is written: 0 or -1. */
int	fs_stdout_nowhere(void);
/*
 * Flush standard output: 0, or the errno of its failure (an earlier
 * write's error, that the flush does not repeat, as EIO).
 */
int	fs_stdout_error(void);
/*
 * Create the spool directory, mode 0750, unless it exists: 1 made, 0
 * there already, or -1 with errno set (ENOTDIR: something else has its
 * name).
 */
int	fs_mkdir_spool(const char *dir);
/*
 * The spool directory gone while the receiver ran (moved or removed):
 * made anew as fs_mkdir_spool does, with a warning naming it if it was
 * missing; 0 or -1.
 */
int	fs_remake_spool(const char *dir);
/*
 * fsync the spool directory dir and the directory holding it, so that
 * the files made in it and its own name (it may have been made just
 * now, by any process) survive a crash; 0 or -1. A parent this user may
 * not open is left to its owner.
 */
int	fs_sync_spool(const char *dir);
/* fsync directory dir, so a file created or renamed in it survives a crash. */
int	fs_sync_dir(const char *dir);

/*
 * open(2) with O_NOATIME where the file is ours (a file read after every
 * write would otherwise have its inode dirtied by each read), plainly
 * where it is not (EPERM: another owner, e.g. a CGI user sharing a group).
 */
int	fs_open_noatime(const char *path, int flags, mode_t mode);
/*
 * A new file at path (O_EXCL: never through a link or into another's
 * file), open with flags (O_WRONLY or O_RDWR), of mode less the umask,
 * and, when run as root, given to uid:gid (-1: as made): the fd, or -1
 * with errno (EEXIST if something is there), nothing left behind.
 */
int	fs_create(const char *path, int flags, mode_t mode, uid_t uid,
	    gid_t gid);

/*
 * 1 if fd is a regular file, its stat in *st unless st is NULL; else 0
 * with errno EINVAL (a FIFO, device or directory where a file of ours
 * should be) or fstat's.
 */
int	fs_regular(int fd, struct stat *st);

/*
 * The offset just after the last '\n' among fd's bytes [from, size), or
 * from if there is none: what follows it is an unfinished line. One byte
 * is read when the file ends in '\n'. -1 on a read error (EIO: shorter
 * than size).
 */
off_t	fs_line_end(int fd, off_t from, off_t size);

/*
 * A file a long-lived process keeps open between requests, by path: the
 * day file, the token table. A forked child does not use its parent's.
 */
struct fs_kept {
	int		 fd;
	pid_t		 pid;		/* of the process that opened it */
	dev_t		 dev;
	ino_t		 ino;
	long long	 checked_ms;	/* path last found to name it */
	char		 path[PATH_MAX];
};
/* checked_ms that has fs_kept_fresh look at once */
#define FS_KEPT_LOOK	LLONG_MAX
#define FS_KEPT_NONE	{ -1, 0, 0, 0, FS_KEPT_LOOK, "" }

/* k's fd if this process kept it (for path, unless NULL), else -1. */
int	fs_kept_fd(const struct fs_kept *k, const char *path);
/*
 * 1 if k's path still names k's file (not removed, replaced or moved
 * with its directory), with its stat in *st (device, inode, mode and
 * size only); else 0.
 */
int	fs_kept_still(const struct fs_kept *k, struct stat *st);
/*
 * 1 if k's file may still be used at now_ms: its path was found to name
 * it less than every_ms before (a clock set back looks at once), or does
 * now with a size from min to max, or of at least min if max is -1 (noted as
 * checked); else 0.
 */
int	fs_kept_fresh(struct fs_kept *k, long long now_ms, long long every_ms,
	    off_t min, off_t max);
/*
 * Keep fd, whose stat is st, as the file at path (shorter than PATH_MAX),
 * letting go of the one kept before; the caller sets checked_ms if it
 * uses fs_kept_fresh.
 */
void	fs_kept_set(struct fs_kept *k, int fd, const struct stat *st,
	    const char *path);
/* Forget the kept file, closing it in the process that opened it. */
void	fs_kept_drop(struct fs_kept *k);
/*
 * What to do about a file the receiver keeps (its token table, its
 * answer counters) that it could not open for writing with errno e: a
 * folder, a link or another program's file is removed (the receiver
 * makes a new one); else it is given to the receiver's user.
 */
const char	*fs_kept_fix(int e);

/*
 * getpid(2), asked once per process: files a process keeps open are
 * tagged with it, so a forked child does not take its parent's locks.
 */
pid_t	fs_pid(void);

#endif
