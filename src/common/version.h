/* version.h: what "smshook -V" and "smshookctl -V" print. */
#ifndef SMSHOOK_VERSION_H
#define SMSHOOK_VERSION_H

/*
 * "prog VERSION", how it is linked, then a line each for glibc, OpenSSL
 * and cJSON, on stdout.
 */
void	version_print(const char *prog);
/*
 * One library's line: the version in use at run time (NULL when the
 * library has no call that says) and the one compiled against.
 */
void	version_line(const char *name, const char *running,
	    const char *compiled);

#endif
