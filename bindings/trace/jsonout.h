/*
 * jsonout.h - writing JSON values to a stdio stream, for the trace's
 * files.  Strings are escaped so that any byte string makes valid JSON
 * (invalid UTF-8 becomes U+FFFD) that is also safe inside an HTML
 * <script> element ('<', '>' and '&' escaped).  The stream is the
 * writer's alone: the *_unlocked stdio calls are used (glibc).
 */
#ifndef CHL_TRACE_JSONOUT_H
#define CHL_TRACE_JSONOUT_H

#include <stdint.h>
#include <stdio.h>

/* s as a JSON string, quotes included; NULL as null. */
void json_str(FILE *f, const char *s);

/* An integer. */
void json_int(FILE *f, int64_t v);

/* A time in nanoseconds as microseconds with three decimals. */
void json_us(FILE *f, int64_t ns);

#endif
