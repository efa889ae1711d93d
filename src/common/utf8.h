/* utf8.h: byte-level text checks: strict UTF-8 (no overlongs, surrogates
 * or NUL) and hex digits. */
#ifndef SMSHOOK_UTF8_H
#define SMSHOOK_UTF8_H

#include <stddef.h>

/* Length of the valid sequence at s (1..4), or 0 if invalid or truncated. */
size_t	utf8_seq(const unsigned char *s, size_t avail);
/* 1 if s[0..len) is valid UTF-8 holding no NUL byte, else 0. */
int	utf8_valid(const char *s, size_t len);

/* The value of hex digit c (either case), or -1. */
int	hex_value(unsigned char c);

#endif
