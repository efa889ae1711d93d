/*
 * replay.c: a fixed-size, file-backed hash table of token digests.
 *
 * Why a file of our own rather than SQLite or LMDB: the receiver must not
 * grow a database dependency for one question ("seen this token in the
 * last 15 days?"), the table must work from short-lived CGI processes
 * (open, one pread, one pwrite, close) and it must stay bounded on
 * shared hosting. The file is 64 bytes of header and 65536 buckets of 16
 * slots of 32 bytes (32 MiB, sparse: only touched pages use disk), room
 * for about a million tokens. A slot is the first 16 bytes of
 * SHA-256(token) and the time its window starts: when it was accepted,
 * or the event's timestamp if that is later; slots whose window has
 * ended are free. A full bucket evicts the slot whose window ends first,
 * which only weakens duplicate detection for the oldest tokens (the
 * importer deduplicates again).
 *
 * Locking is per bucket: an open-file-description lock (fcntl(2)
 * F_OFD_SETLKW) on the bucket's bytes, held from the check until the
 * token is recorded, across the append and its sync. Requests with
 * different tokens wait for each other only if they share a bucket (so
 * their syncs can share a commit); a second copy of an event in flight
 * waits until the first is stored or has failed; the kernel drops the
 * lock of a killed process.
 * An exclusive flock on the whole file only guards setting a damaged
 * table aside.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fsutil.h"
#include "log.h"
#include "replay.h"

#define MAGIC		"SMSHKRP1"
#define HDR_SIZE	64
#define NBUCKETS	65536
#define BUCKET_SLOTS	16
#define DIGEST_BYTES	16

struct slot {
	uint8_t		digest[DIGEST_BYTES];
	int64_t		when_ms;	/* the window's start; 0: never used */
	uint8_t		pad[8];
};

#define FILE_SIZE	((off_t)HDR_SIZE + (off_t)NBUCKETS * BUCKET_SLOTS * \
			    (off_t)sizeof(struct slot))

/*
 * A FastCGI worker keeps the table open (a forked child must not share
 * its locks), with the spool dir it is in, and checks its path at most
 * once per RECHECK_MS (fs_kept_fresh); a failed lock, unlock, read or
 * write has it checked at once.
 */
#define RECHECK_MS	1000

static struct fs_kept table = FS_KEPT_NONE;
static char table_dir[PATH_MAX];

static EVP_MD *sha256;		/* fetched once per process */
static EVP_MD_CTX *sha256_ctx;	/* re-initialised per token, not re-made */

/*
 * Write a fresh table under a temporary name of its own and link it into
 * place. The name is made unique by mkostemp, not by our pid: processes
 * in other PID namespaces (containers sharing the spool) share pids.
 */
static int
create_table(const char *path)
{
	char tmp[PATH_MAX], hdr[HDR_SIZE] = MAGIC;
	int fd, rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp))
		return -1;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return -1;
	if (fchmod(fd, 0640) == 0 &&
	    write(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) &&
	    ftruncate(fd, FILE_SIZE) == 0 &&
	    (link(tmp, path) == 0 || errno == EEXIST))
		rc = 0;			/* EEXIST: another process won */
	close(fd);
	unlink(tmp);
	return rc;
}

/*
 * 1 if fd, whose stat is st, holds a table of ours; 0 if it does not (its
 * size, or the header read, is wrong); -1 with errno set if the header
 * cannot be read, which says nothing of the table.
 */
static int
table_ok(int fd, const struct stat *st)
{
	char hdr[HDR_SIZE];
	ssize_t n;

	if (st->st_size != FILE_SIZE)
		return 0;
	if ((n = pread(fd, hdr, sizeof(hdr), 0)) != (ssize_t)sizeof(hdr)) {
		if (n >= 0)
			errno = EIO;	/* cut since the stat: seen next time */
		return -1;
	}
	return memcmp(hdr, MAGIC, sizeof(MAGIC) - 1) == 0;
}

/*
 * 1 if fd is still the file at path (not renamed away meanwhile), with
 * fd's stat in *st; else 0.
 */
static int
still_there(int fd, const char *path, struct stat *st)
{
	struct stat b;

	return fstat(fd, st) == 0 && stat(path, &b) == 0 &&
	    st->st_dev == b.st_dev && st->st_ino == b.st_ino;
}

/*
 * The name a foreign file at path is moved to: path.bad-seconds-pid, and
 * -2, -3... after it when this process set one aside in that second (no
 * other process writes names with our pid).
 */
static void
set_aside_name(char *aside, size_t size, const char *path)
{
	struct stat st;
	int n, k;

	n = snprintf(aside, size, "%s.bad-%lld-%ld", path,
	    (long long)time(NULL), (long)fs_pid());
	for (k = 2; n > 0 && (size_t)n < size && k < 1000 &&
	    lstat(aside, &st) == 0; k++)
		snprintf(aside + n, size - (size_t)n, "-%d", k);
}

/*
 * Lock path, (re)creating it when absent or foreign; fd, or -1 with
 * errno set (a table whose header cannot be read, or a foreign file that
 * cannot be set aside, is left as it is).
 */
static int
open_locked(const char *path)
{
	char aside[PATH_MAX + 32];
	struct stat st;
	int fd, tries, ok, saved;

	for (tries = 0; tries < 3; tries++) {
		if ((fd = fs_open_noatime(path, O_RDWR | O_CLOEXEC |
		    O_NOFOLLOW | O_NONBLOCK, 0)) == -1) {
			if (errno != ENOENT || create_table(path) == -1)
				return -1;
			continue;
		}
		if (!fs_regular(fd, NULL)) {
			close(fd);
			return -1;	/* not ours to move: say so */
		}
		while (flock(fd, LOCK_EX) == -1)
			if (errno != EINTR) {
				close(fd);
				return -1;
			}
		if (!still_there(fd, path, &st)) {
			close(fd);		/* set aside while we waited */
			continue;
		}
		if ((ok = table_ok(fd, &st)) == 1)
			return fd;
		if (ok == -1) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		set_aside_name(aside, sizeof(aside), path);
		if (rename(path, aside) == 0)
			logmsg(LL_ERROR, "%s: not a replay table, moved to %s",
			    path, aside);
		else if (errno != ENOENT) {	/* ENOENT: removed meanwhile */
			saved = errno;
			logmsg(LL_ERROR, "%s: not a replay table, cannot move "
			    "it to %s: %s", path, aside, strerror(saved));
			close(fd);
			errno = saved;
			return -1;
		}
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

/*
 * The table this process already has open for dir; fd or -1. Once per
 * RECHECK_MS (and after a failed lock, unlock, read or write) one stat
 * checks it is still the file at its path (not removed, set aside or
 * moved with its directory) and of its size. Its header was checked when
 * it was opened; only smshook writes the table, and never its header.
 */
static int
reuse(const char *dir, long long now_ms)
{
	int fd;

	if ((fd = fs_kept_fd(&table, NULL)) == -1 ||
	    strcmp(table_dir, dir) != 0)
		return -1;
	if (fs_kept_fresh(&table, now_ms, RECHECK_MS, FILE_SIZE, FILE_SIZE))
		return fd;
	fs_kept_drop(&table);	/* replaced, removed or damaged: start over */
	return -1;
}

/* Keep fd, the table at path in dir, checked at now_ms, for what follows. */
static void
keep(int fd, const char *dir, const char *path, long long now_ms)
{
	struct stat st;

	fs_kept_drop(&table);
	if (fstat(fd, &st) == -1)
		return;		/* replay_close closes it */
	/* a hash table: reading ahead of a bucket is wasted work */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	fs_kept_set(&table, fd, &st, path);
	snprintf(table_dir, sizeof(table_dir), "%s", dir);
	table.checked_ms = now_ms;
}

/* The table's path in dir into path[PATH_MAX]; 0, or -1 if too long. */
static int
table_path(const char *dir, char *path)
{
	return (size_t)snprintf(path, PATH_MAX, "%s/%s", dir, REPLAY_FILE) >=
	    PATH_MAX ? -1 : 0;
}

int
replay_exists(const char *dir)
{
	char path[PATH_MAX];

	return table_path(dir, path) == 0 && access(path, F_OK) == 0;
}

int
replay_open(struct replay *r, const char *dir, long long window_s,
    long long now_ms, char *err, size_t errlen)
{
	char path[PATH_MAX];

	r->window_ms = window_s * 1000;
	r->have = 0;
	r->locked = 0;
	if ((r->fd = reuse(dir, now_ms)) != -1)
		return 0;
	if (table_path(dir, path) == -1) {
		snprintf(err, errlen, "replay path too long");
		return -1;
	}
	if ((r->fd = open_locked(path)) == -1 && errno == ENOENT &&
	    fs_remake_spool(dir) == 0)	/* the spool dir itself was gone */
		r->fd = open_locked(path);
	if (r->fd == -1) {
		snprintf(err, errlen, "replay table %s: %s", path,
		    errno == EINVAL ? "not a regular file" : strerror(errno));
		return -1;
	}
	if (flock(r->fd, LOCK_UN) == -1) {	/* checked: buckets from now */
		snprintf(err, errlen, "replay table %s: unlock: %s", path,
		    strerror(errno));
		close(r->fd);
		r->fd = -1;
		return -1;
	}
	keep(r->fd, dir, path, now_ms);
	return 0;
}

/* Lock (type F_WRLCK, waiting) or unlock (F_UNLCK) r's bucket; 0 or -1. */
static int
bucket_lock(struct replay *r, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)r->bucket_off;
	fl.l_len = (off_t)sizeof(r->bucket);
	while (fcntl(r->fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW,
	    &fl) == -1)
		if (errno != EINTR)
			return -1;
	r->locked = type != F_UNLCK;
	return 0;
}

/*
 * Digest the token, lock its bucket (waiting while another process holds
 * it) and read the bucket into r, unless done for the same token
 * already. Returns 0 or -1.
 */
static int
load_bucket(struct replay *r, const char *token)
{
	unsigned char full[EVP_MAX_MD_SIZE];
	unsigned int n;
	ssize_t got;
	size_t len = strlen(token);

	if (r->have && strcmp(r->token, token) == 0)
		return 0;
	if (len > EVENT_TOKEN_MAX) {	/* payload.c refuses such tokens */
		errno = EINVAL;
		return -1;
	}
	r->have = 0;
	if (r->locked && bucket_lock(r, F_UNLCK) == -1)
		goto fail;
	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) ==
	    NULL)
		return -1;
	if (sha256_ctx == NULL && (sha256_ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (!EVP_DigestInit_ex2(sha256_ctx, sha256, NULL) ||
	    !EVP_DigestUpdate(sha256_ctx, token, len) ||
	    !EVP_DigestFinal_ex(sha256_ctx, full, &n))
		return -1;
	memcpy(r->digest, full, DIGEST_BYTES);
	r->bucket_off = HDR_SIZE + (long long)((full[16] | full[17] << 8) %
	    NBUCKETS) * BUCKET_SLOTS * (long long)sizeof(struct slot);
	if (bucket_lock(r, F_WRLCK) == -1)
		goto fail;
	if ((got = pread(r->fd, r->bucket, sizeof(r->bucket),
	    (off_t)r->bucket_off)) != (ssize_t)sizeof(r->bucket)) {
		if (got >= 0)
			errno = EIO;	/* short: the table was cut */
		goto fail;
	}
	memcpy(r->token, token, len + 1);
	r->have = 1;
	return 0;
 fail:
	table.checked_ms = FS_KEPT_LOOK;	/* cut or replaced? look next */
	return -1;
}

/* A slot holds a live token if its window has not ended at now. */
static int
live(const struct replay *r, const struct slot *s, long long now_ms)
{
	return s->when_ms != 0 && s->when_ms > now_ms - r->window_ms;
}

int
replay_seen(struct replay *r, const char *token, long long now_ms)
{
	struct slot b[BUCKET_SLOTS];
	int i;

	if (load_bucket(r, token) == -1)
		return -1;
	memcpy(b, r->bucket, sizeof(b));
	for (i = 0; i < BUCKET_SLOTS; i++)
		if (live(r, &b[i], now_ms) &&
		    memcmp(b[i].digest, r->digest, DIGEST_BYTES) == 0)
			return 1;
	return 0;
}

int
replay_add(struct replay *r, const char *token, long long now_ms,
    long long from_ms)
{
	struct slot b[BUCKET_SLOTS];
	int i, pick = 0;

	if (load_bucket(r, token) == -1)
		return -1;
	memcpy(b, r->bucket, sizeof(b));
	/*
	 * The oldest slot, an empty one (0) first: a receiver of the same
	 * spool with a longer window may still need a token this one's
	 * window calls ended.
	 */
	for (i = 1; i < BUCKET_SLOTS; i++)
		if (b[i].when_ms < b[pick].when_ms)
			pick = i;
	if (live(r, &b[pick], now_ms))
		logmsg(LL_WARN, "replay table bucket full: forgetting a "
		    "token %lld s before its window ends",
		    (b[pick].when_ms + r->window_ms - now_ms) / 1000);
	if (from_ms < now_ms)
		from_ms = now_ms;
	else if (from_ms > now_ms + r->window_ms)
		from_ms = now_ms + r->window_ms;
	memset(&b[pick], 0, sizeof(b[pick]));
	memcpy(b[pick].digest, r->digest, DIGEST_BYTES);
	b[pick].when_ms = from_ms;
	if (pwrite(r->fd, &b[pick], sizeof(b[pick]), (off_t)r->bucket_off +
	    pick * (off_t)sizeof(b[pick])) != (ssize_t)sizeof(b[pick])) {
		table.checked_ms = FS_KEPT_LOOK;
		return -1;
	}
	memcpy(r->bucket, b, sizeof(b));
	return 0;
}

int
replay_count(const char *path, long long window_ms, long long now_ms,
    long long *count)
{
	static struct slot b[4096];
	struct replay r = { .fd = -1, .window_ms = window_ms };
	struct stat st;
	off_t off;
	ssize_t n, i;
	int ok, rc = -1;

	*count = 0;
	if ((r.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return -1;
	if (fstat(r.fd, &st) == -1 || (ok = table_ok(r.fd, &st)) == -1)
		goto out;
	if (!ok) {
		errno = EINVAL;
		goto out;
	}
	for (off = HDR_SIZE; off < FILE_SIZE; off += n) {
		if ((n = pread(r.fd, b, sizeof(b), off)) <= 0 ||
		    n % (ssize_t)sizeof(b[0]) != 0) {
			if (n >= 0)
				errno = EIO;
			goto out;
		}
		for (i = 0; i < n / (ssize_t)sizeof(b[0]); i++)
			*count += live(&r, &b[i], now_ms);
	}
	rc = 0;
 out:
	close(r.fd);
	return rc;
}

void
replay_let_go(void)
{
	fs_kept_drop(&table);
}

void
replay_close(struct replay *r)
{
	int stuck;

	if (r->fd != -1) {
		if ((stuck = r->locked && bucket_lock(r, F_UNLCK) == -1))
			logmsg(LL_ERROR, "replay table: unlock: %s",
			    strerror(errno));
		if (fs_kept_fd(&table, NULL) != r->fd)
			close(r->fd);
		else if (stuck)
			fs_kept_drop(&table);	/* closing it drops the lock */
	}
	r->fd = -1;
	r->have = 0;
	r->locked = 0;
}
