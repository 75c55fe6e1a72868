/*
 * check.h - internal invariant checks, on in every build.
 *
 * chl_assert is for the core's own invariants only, never for a caller's
 * misuse (that returns a status code).  A failure means chanlab has a bug:
 * it prints where and aborts, so a sanitizer or core dump shows the state.
 */
#ifndef CHL_CHECK_H
#define CHL_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define chl_assert(cond) \
	((cond) ? (void)0 : chl_assert_fail(#cond, __FILE__, __LINE__))

static inline void chl_assert_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "chanlab: internal error: %s (%s:%d)\n", what, file, line);
	abort();
}

#endif
