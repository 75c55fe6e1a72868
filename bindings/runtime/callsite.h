/*
 * callsite.h - "file:line" texts of go() calls, kept once per process.
 *
 * Every goroutine remembers where go() was called, for panics and dumps.
 * A program has few such places and may have a million goroutines, so
 * each text is kept once, for the life of the process.
 */
#ifndef CHL_CALLSITE_H
#define CHL_CALLSITE_H

/* The process's one copy of site (any thread); "?" when out of memory. */
const char *chl_callsite(const char *site);

#endif
