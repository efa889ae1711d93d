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
 * SHA-256(token) and the acceptance time; slots older than the window
 * are free. A full bucket evicts its oldest slot, which only weakens
 * duplicate detection for the oldest tokens (the importer deduplicates
 * again). An exclusive flock on the file serialises all processes.
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

#include "log.h"
#include "replay.h"

#define MAGIC		"SMSHKRP1"
#define HDR_SIZE	64
#define NBUCKETS	65536
#define BUCKET_SLOTS	16
#define DIGEST_BYTES	16

struct slot {
	uint8_t		digest[DIGEST_BYTES];
	int64_t		when_ms;	/* 0: never used */
	uint8_t		pad[8];
};

#define FILE_SIZE	((off_t)HDR_SIZE + (off_t)NBUCKETS * BUCKET_SLOTS * \
			    (off_t)sizeof(struct slot))

/* Write a fresh table under a temporary name and link it into place. */
static int
create_table(const char *path)
{
	char tmp[PATH_MAX], hdr[HDR_SIZE] = MAGIC;
	int fd, rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld", path,
	    (long)getpid()) >= sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) == -1)
		return -1;
	if (write(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) &&
	    ftruncate(fd, FILE_SIZE) == 0 &&
	    (link(tmp, path) == 0 || errno == EEXIST))
		rc = 0;			/* EEXIST: another process won */
	close(fd);
	unlink(tmp);
	return rc;
}

/* 1 if fd holds a table of ours, 0 if not. */
static int
table_ok(int fd)
{
	char hdr[HDR_SIZE];
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_size == FILE_SIZE &&
	    pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) &&
	    memcmp(hdr, MAGIC, sizeof(MAGIC) - 1) == 0;
}

/* 1 if fd is still the file at path (not renamed away meanwhile). */
static int
still_there(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Lock path, (re)creating it when absent or foreign; fd or -1. */
static int
open_locked(const char *path)
{
	char aside[PATH_MAX + 32];
	int fd, tries;

	for (tries = 0; tries < 3; tries++) {
		if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) == -1) {
			if (errno != ENOENT || create_table(path) == -1)
				return -1;
			continue;
		}
		while (flock(fd, LOCK_EX) == -1)
			if (errno != EINTR) {
				close(fd);
				return -1;
			}
		if (!still_there(fd, path)) {
			close(fd);		/* set aside while we waited */
			continue;
		}
		if (table_ok(fd))
			return fd;
		snprintf(aside, sizeof(aside), "%s.bad-%lld-%ld", path,
		    (long long)time(NULL), (long)getpid());
		if (rename(path, aside) == 0)
			logmsg(LOG_ERR, "%s: not a replay table, moved to %s",
			    path, aside);
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

int
replay_lock(struct replay *r, const char *dir, long long window_s,
    char *err, size_t errlen)
{
	char path[PATH_MAX];

	r->window_ms = window_s * 1000;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, REPLAY_FILE) >=
	    sizeof(path)) {
		snprintf(err, errlen, "replay path too long");
		return -1;
	}
	if ((r->fd = open_locked(path)) == -1 && errno == ENOENT &&
	    mkdir(dir, 0750) == 0)	/* the spool dir itself was gone */
		r->fd = open_locked(path);
	if (r->fd == -1) {
		snprintf(err, errlen, "replay table %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Digest the token and read its bucket; bucket offset or -1. */
static off_t
load_bucket(struct replay *r, const char *token, uint8_t d[DIGEST_BYTES],
    struct slot b[BUCKET_SLOTS])
{
	unsigned char full[EVP_MAX_MD_SIZE];
	unsigned int n;
	off_t off;

	if (!EVP_Digest(token, strlen(token), full, &n, EVP_sha256(), NULL))
		return -1;
	memcpy(d, full, DIGEST_BYTES);
	off = HDR_SIZE + (off_t)((full[16] | full[17] << 8) % NBUCKETS) *
	    BUCKET_SLOTS * (off_t)sizeof(struct slot);
	if (pread(r->fd, b, BUCKET_SLOTS * sizeof(*b), off) !=
	    (ssize_t)(BUCKET_SLOTS * sizeof(*b)))
		return -1;
	return off;
}

/* A slot holds a live token if used within the window before now. */
static int
live(const struct replay *r, const struct slot *s, long long now_ms)
{
	return s->when_ms != 0 && s->when_ms > now_ms - r->window_ms;
}

int
replay_seen(struct replay *r, const char *token, long long now_ms)
{
	struct slot b[BUCKET_SLOTS];
	uint8_t d[DIGEST_BYTES];
	int i;

	if (load_bucket(r, token, d, b) == -1)
		return -1;
	for (i = 0; i < BUCKET_SLOTS; i++)
		if (live(r, &b[i], now_ms) &&
		    memcmp(b[i].digest, d, DIGEST_BYTES) == 0)
			return 1;
	return 0;
}

int
replay_add(struct replay *r, const char *token, long long now_ms)
{
	struct slot b[BUCKET_SLOTS];
	uint8_t d[DIGEST_BYTES];
	off_t off;
	int i, pick = 0;

	if ((off = load_bucket(r, token, d, b)) == -1)
		return -1;
	for (i = 0; i < BUCKET_SLOTS; i++) {
		if (!live(r, &b[i], now_ms)) {
			pick = i;
			break;
		}
		if (b[i].when_ms < b[pick].when_ms)
			pick = i;
	}
	if (i == BUCKET_SLOTS)
		logmsg(LOG_WARN, "replay table bucket full: forgetting a "
		    "token accepted %lld s ago",
		    (now_ms - b[pick].when_ms) / 1000);
	memset(&b[pick], 0, sizeof(b[pick]));
	memcpy(b[pick].digest, d, DIGEST_BYTES);
	b[pick].when_ms = now_ms;
	if (pwrite(r->fd, &b[pick], sizeof(b[pick]),
	    off + pick * (off_t)sizeof(b[pick])) != (ssize_t)sizeof(b[pick]))
		return -1;
	return 0;
}

int
replay_count(const char *path, long long window_ms, long long now_ms,
    long long *count)
{
	static struct slot b[4096];
	struct replay r = { -1, window_ms };
	off_t off;
	ssize_t n, i;
	int rc = -1;

	*count = 0;
	if ((r.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (!table_ok(r.fd)) {
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
replay_unlock(struct replay *r)
{
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
}
