/* testutil.h: small helpers the unit tests share (header-only). */
#ifndef SMSHOOK_TESTUTIL_H
#define SMSHOOK_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

static inline int
testutil_unlink_cb(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Remove the tree at dir (no shell); complain on stderr if it cannot. */
static inline void
test_rmtree(const char *dir)
{
	if (nftw(dir, testutil_unlink_cb, 16, FTW_DEPTH | FTW_PHYS) == -1)
		fprintf(stderr, "cannot remove %s\n", dir);
}

#endif
