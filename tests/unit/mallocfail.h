/*
 * mallocfail.h: malloc and realloc of a test program, in front of the C
 * library's, failing on request; include it in one file of the program.
 * NO_MALLOC_SHIM is defined where it cannot work (AddressSanitizer owns
 * malloc), and there, as under valgrind, whose malloc comes first,
 * mallocfail_works() says 0: a test skips then.
 */
#ifndef SMSHOOK_MALLOCFAIL_H
#define SMSHOOK_MALLOCFAIL_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define NO_MALLOC_SHIM
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MALLOC_SHIM
#endif
#endif

#ifndef NO_MALLOC_SHIM
void	*__libc_malloc(size_t);
void	*__libc_realloc(void *, size_t);
void	*malloc(size_t);
void	*realloc(void *, size_t);

/* >= 0: each call counts down, and the one that finds it at 0 fails */
static long fail_in = -1;

/* as the C library's fail: NULL and ENOMEM */
void *
malloc(size_t n)
{
	if (fail_in >= 0 && fail_in-- == 0) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *
realloc(void *p, size_t n)
{
	if (fail_in >= 0 && fail_in-- == 0) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

/* 1 if the calls of this program reach the functions above. */
static inline int
mallocfail_works(void)
{
	void *(*volatile alloc)(size_t) = malloc;	/* not folded */
	void *p;

	fail_in = 0;
	p = alloc(1);
	fail_in = -1;
	free(p);
	return p == NULL;
}
#else
static long fail_in = -1;	/* counted by nothing */

static inline int
mallocfail_works(void)
{
	return 0;
}
#endif

#endif
