/*
 * test_fsutil.c: fs_open_noatime asks for O_NOATIME on a file of ours
 * and still opens, without it, a file someone else owns (EPERM); other
 * errors are not hidden by the second try. A kept file is known as
 * long as its path names it, with the size it has now. A spool directory
 * made is made durable: its parent is synced.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "testutil.h"

#define NOBODY	65534
#define SKIPPED	77	/* a child's exit status: cannot test here */

struct fixture {
	char	dir[64];
	char	file[96];
};

/*
 * fsync of this test program, in front of the C library's: it notes the
 * inode of each file synced (the last in synced_ino, their number in
 * nsynced), and fails with EIO while fsync_fails is set.
 */
static ino_t	synced_ino;
static int	nsynced, fsync_fails;

int
fsync(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0)
		synced_ino = st.st_ino;
	nsynced++;
	if (fsync_fails) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

static int
setup(void **state)
{
	static struct fixture f;

	snprintf(f.dir, sizeof(f.dir), "/tmp/smshook-fsutil-XXXXXX");
	if (mkdtemp(f.dir) == NULL || chmod(f.dir, 0755) == -1)
		return -1;
	snprintf(f.file, sizeof(f.file), "%s/day.jsonl", f.dir);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	test_rmtree(f->dir);
	return 0;
}

/* Our own file, created or opened again: O_NOATIME is on. */
static void
test_own(void **state)
{
	const struct fixture *f = *state;
	int fd;

	fd = fs_open_noatime(f->file, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	assert_true(fd != -1);
	assert_true(fcntl(fd, F_GETFL) & O_NOATIME);
	close(fd);
	fd = fs_open_noatime(f->file, O_RDWR | O_CLOEXEC, 0);
	assert_true(fd != -1);
	assert_true(fcntl(fd, F_GETFL) & O_NOATIME);
	close(fd);
}

/*
 * Someone else's file we may write (a CGI user sharing the group): opened
 * all the same, without O_NOATIME. Run in a child as nobody when root
 * (root may set O_NOATIME anywhere); exit status 0 when it holds.
 */
static void
test_foreign(void **state)
{
	const struct fixture *f = *state;
	int fd, st;
	pid_t pid;

	fd = open(f->file, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	assert_true(fd != -1);
	assert_int_equal(fchmod(fd, 0666), 0);
	close(fd);
	if (geteuid() != 0)
		skip();			/* needs a second user: CI runs as root */
	if ((pid = fork()) == 0) {
		if (setgid(NOBODY) == -1 || setuid(NOBODY) == -1)
			_exit(SKIPPED);
		if (open(f->file, O_RDWR | O_NOATIME) != -1 || errno != EPERM)
			_exit(4);	/* the case under test is not there */
		if ((fd = fs_open_noatime(f->file, O_RDWR, 0)) == -1 ||
		    fcntl(fd, F_GETFL) & O_NOATIME)
			_exit(1);
		close(fd);
		/* as the spool opens a day file: O_CREAT, the file there */
		if ((fd = fs_open_noatime(f->file, O_RDWR | O_APPEND | O_CREAT,
		    0640)) == -1 || fcntl(fd, F_GETFL) & O_NOATIME)
			_exit(2);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == SKIPPED)
		skip();			/* no second user here */
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A missing file is ENOENT, as open(2) says, not hidden by a retry. */
static void
test_missing(void **state)
{
	const struct fixture *f = *state;
	char path[128];

	snprintf(path, sizeof(path), "%s/none", f->dir);
	errno = 0;
	assert_int_equal(fs_open_noatime(path, O_RDWR, 0), -1);
	assert_int_equal(errno, ENOENT);
}

/*
 * fs_kept_still: the path still names the kept file (device, inode,
 * mode and the size it has now, as fstat says), until the file is
 * replaced by another or removed.
 */
static void
test_kept(void **state)
{
	const struct fixture *f = *state;
	struct fs_kept k = FS_KEPT_NONE;
	struct stat st, now;
	char other[128];
	int fd, ofd;

	assert_int_not_equal(fd = open(f->file, O_RDWR | O_CREAT, 0640), -1);
	assert_int_equal(fstat(fd, &st), 0);
	fs_kept_set(&k, fd, &st, f->file);
	assert_int_equal(fs_kept_fd(&k, f->file), fd);
	assert_int_equal(write(fd, "line\n", 5), 5);
	assert_int_equal(fs_kept_still(&k, &now), 1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(now.st_dev == st.st_dev && now.st_ino == st.st_ino);
	assert_int_equal(now.st_mode, st.st_mode);
	assert_int_equal(now.st_size, 5);
	snprintf(other, sizeof(other), "%s/other", f->dir);
	assert_int_not_equal(ofd = open(other, O_RDWR | O_CREAT, 0640), -1);
	close(ofd);
	assert_int_equal(rename(other, f->file), 0);
	assert_int_equal(fs_kept_still(&k, &now), 0);
	assert_int_equal(unlink(f->file), 0);
	assert_int_equal(fs_kept_still(&k, &now), 0);
	fs_kept_drop(&k);
	assert_int_equal(fs_kept_fd(&k, NULL), -1);
}

/*
 * fs_kept_fresh: trusted without a look for every_ms after the last one
 * (a clock set back, or FS_KEPT_LOOK, looks at once); a look finds the
 * size outside [min, max], or the path naming another file: 0.
 */
static void
test_kept_fresh(void **state)
{
	const struct fixture *f = *state;
	struct fs_kept k = FS_KEPT_NONE;
	struct stat st;
	int fd;

	assert_int_not_equal(fd = open(f->file, O_RDWR | O_CREAT, 0640), -1);
	assert_int_equal(write(fd, "line\n", 5), 5);
	assert_int_equal(fstat(fd, &st), 0);
	fs_kept_set(&k, fd, &st, f->file);
	assert_true(k.checked_ms == FS_KEPT_LOOK);
	assert_int_equal(fs_kept_fresh(&k, 1000, 100, 5, 5), 1);
	assert_true(k.checked_ms == 1000);
	assert_int_equal(ftruncate(fd, 4), 0);
	/* not looked at within every_ms: the cut is not seen yet */
	assert_int_equal(fs_kept_fresh(&k, 1099, 100, 5, 5), 1);
	assert_int_equal(fs_kept_fresh(&k, 1100, 100, 5, 5), 0);
	assert_int_equal(fs_kept_fresh(&k, 999, 100, 4, -1), 1);
	assert_true(k.checked_ms == 999);	/* the clock set back: looked */
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	assert_int_equal(fs_kept_fresh(&k, 2000, 100, 4, -1), 1);
	assert_int_equal(fs_kept_fresh(&k, 3000, 100, 4, 5), 0);
	k.checked_ms = FS_KEPT_LOOK;
	assert_int_equal(unlink(f->file), 0);
	assert_int_equal(fs_kept_fresh(&k, 3001, 100, 0, -1), 0);
	fs_kept_drop(&k);
}

/*
 * fs_create: a new file only (a link or a file there is EEXIST, left as
 * it was), of the mode asked less the umask, open for writing.
 */
static void
test_create(void **state)
{
	const struct fixture *f = *state;
	char link[128], other[128];
	struct stat st;
	mode_t old;
	int fd;

	old = umask(027);
	assert_int_not_equal(fd = fs_create(f->file, O_WRONLY, 0666,
	    (uid_t)-1, (gid_t)-1), -1);
	umask(old);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	close(fd);
	assert_int_equal(fs_create(f->file, O_WRONLY, 0600, (uid_t)-1,
	    (gid_t)-1), -1);
	assert_int_equal(errno, EEXIST);
	snprintf(other, sizeof(other), "%s/other", f->dir);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(other, link), 0);
	assert_int_equal(fs_create(link, O_RDWR, 0600, (uid_t)-1, (gid_t)-1),
	    -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(access(other, F_OK), -1);	/* not made through */
	assert_int_equal(stat(f->file, &st), 0);
	assert_int_equal(st.st_size, 1);
	unlink(link);
}

/* The inode of path, or 0. */
static ino_t
ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/*
 * fs_mkdir_spool makes the directory, mode 0750 (1), and leaves one
 * there already alone (0); fs_sync_spool syncs it and the directory holding it,
 * named with or without a trailing slash or a folder, and fails when
 * either sync does.
 */
static void
test_spool_dir(void **state)
{
	const struct fixture *f = *state;
	char path[128], cwd[PATH_MAX];
	struct stat st;

	umask(027);
	snprintf(path, sizeof(path), "%s/spool", f->dir);
	assert_int_equal(fs_mkdir_spool(path), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750);
	assert_int_equal(fs_mkdir_spool(path), 0);	/* there already */
	nsynced = 0;
	assert_int_equal(fs_sync_spool(path), 0);
	assert_int_equal(nsynced, 2);
	assert_true(synced_ino == ino_of(f->dir));	/* the parent last */
	snprintf(path, sizeof(path), "%s/spool/inner//", f->dir);
	assert_int_equal(fs_mkdir_spool(path), 1);
	nsynced = 0;
	assert_int_equal(fs_sync_spool(path), 0);
	assert_int_equal(nsynced, 2);
	snprintf(path, sizeof(path), "%s/spool", f->dir);
	assert_true(synced_ino == ino_of(path));
	/* a bare name: its parent is the working directory */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(fs_mkdir_spool("bare"), 1);
	nsynced = 0;
	assert_int_equal(fs_sync_spool("bare"), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(nsynced, 2);
	assert_true(synced_ino == ino_of(f->dir));
	fsync_fails = 1;
	errno = 0;
	assert_int_equal(fs_sync_spool(path), -1);
	fsync_fails = 0;
	assert_int_equal(errno, EIO);
}

/*
 * fs_std_fds, in a child: with fds 0-2 closed (all, or only 1), each is
 * /dev/null afterwards, named in the mask returned, and the next file
 * opened is above them; with none closed, nothing changes. Output to a
 * standard output so filled fails (EBADF), until fs_stdout_nowhere;
 * messages to a standard error so filled are taken.
 */
static int
std_fds_child(int first, int last)
{
	struct stat null, st;
	int fd, want = 0;

	if (stat("/dev/null", &null) == -1)
		return 2;
	for (fd = first; fd <= last; fd++) {
		close(fd);
		want |= 1 << fd;
	}
	if (fs_std_fds() != want)
		return 3;
	for (fd = 0; fd <= 2; fd++)
		if (fstat(fd, &st) == -1 || (fd >= first && fd <= last &&
		    st.st_rdev != null.st_rdev))
			return 4;
	if ((want & 1 << STDOUT_FILENO) && (write(STDOUT_FILENO, "x", 1) !=
	    -1 || errno != EBADF || fs_stdout_nowhere() != 0 ||
	    write(STDOUT_FILENO, "x", 1) != 1))
		return 6;
	if ((want & 1 << STDERR_FILENO) && write(STDERR_FILENO, "x", 1) != 1)
		return 7;
	if ((fd = open("/dev/zero", O_RDONLY)) <= 2)
		return 5;
	return 0;
}

static void
test_std_fds(void **state)
{
	static const int ranges[][2] = { { 0, 2 }, { 1, 1 }, { 3, 2 } };
	size_t i;
	pid_t pid;
	int st;

	(void)state;
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if ((pid = fork()) == 0)
			_exit(std_fds_child(ranges[i][0], ranges[i][1]));
		assert_true(pid > 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

/* The folder that holds a path, as every caller of fs_parent_dir needs it. */
static void
test_parent_dir(void **state)
{
	static const struct {
		const char *path, *parent;
	} cases[] = {
		{ "/var/spool/smshook", "/var/spool" },
		{ "/var/spool/smshook/", "/var/spool" },
		{ "a//spool", "a" },
		{ "/x", "/" },
		{ "/", "/" },
		{ "spool", "." },
		{ "spool/", "." },
		{ "../smshook/smshook.conf", "../smshook" },
	};
	char buf[64], small[4];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(fs_parent_dir(cases[i].path, buf,
		    sizeof(buf)), 0);
		assert_string_equal(buf, cases[i].parent);
	}
	errno = 0;
	assert_int_equal(fs_parent_dir("/abcd/e", small, sizeof(small)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(fs_parent_dir("/ab/e", small, sizeof(small)), 0);
	assert_string_equal(small, "/ab");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parent_dir),
		cmocka_unit_test(test_std_fds),
		cmocka_unit_test_setup_teardown(test_own, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_fresh, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spool_dir, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
