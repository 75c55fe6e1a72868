/*
 * summary.h - the trace as text, for a terminal (--trace-summary): per
 * goroutine the time it ran, waited to run and was blocked (by reason),
 * as `go tool trace`'s goroutine analysis; then the channels on which
 * goroutines waited longest.
 */
#ifndef CHL_TRACE_SUMMARY_H
#define CHL_TRACE_SUMMARY_H

#include <stdio.h>

#include "trace/model.h"

/* Print m's summary to f.  Cannot fail (write errors are f's). */
void trace_write_summary(FILE *f, const trace_model *m);

/* ns as a short text ("850ns", "12.3us", "1.23ms", "2.50s") into buf. */
const char *trace_fmt_ns(int64_t ns, char *buf, size_t size);

#endif
