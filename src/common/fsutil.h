/* fsutil.h: file-system helpers shared by smshook and smshookctl. */
#ifndef SMSHOOK_FSUTIL_H
#define SMSHOOK_FSUTIL_H

#include <sys/stat.h>
#include <sys/types.h>

/* Create the spool directory, mode 0750, unless it exists; 0 or -1. */
int	fs_mkdir_spool(const char *dir);
/* fsync directory dir, so a file created or renamed in it survives a crash. */
int	fs_sync_dir(const char *dir);

/*
 * open(2) with O_NOATIME where the file is ours (a file read after every
 * write would otherwise have its inode dirtied by each read), plainly
 * where it is not (EPERM: another owner, e.g. a CGI user sharing a group).
 */
int	fs_open_noatime(const char *path, int flags, mode_t mode);

/*
 * 1 if fd is a regular file, its stat in *st unless st is NULL; else 0
 * with errno EINVAL (a FIFO, device or directory where a file of ours
 * should be) or fstat's.
 */
int	fs_regular(int fd, struct stat *st);

/*
 * getpid(2), asked once per process: files a process keeps open are
 * tagged with it, so a forked child does not take its parent's locks.
 */
pid_t	fs_pid(void);

#endif
