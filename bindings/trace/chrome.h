/*
 * chrome.h - the trace as Chrome trace-event JSON, which ui.perfetto.dev
 * and chrome://tracing open.
 *
 * Layout: process 1 is the program, one thread (track) per goroutine
 * (tid = its id, named "G7 worker (lab.lua:12)"); process 2 holds one
 * track per worker thread (tid 1000000000 + index) and per other thread
 * that had something to show (tid 1100000000 + its number).  On a
 * goroutine's track, complete slices ("X", microseconds) lie back to
 * back - running, runnable (waiting to run), blocked with the reason as
 * the name - and each operation is a zero-length slice inside its
 * running slice, with args (line, channel, value, len and cap after it,
 * select case).  Flows are version 2 (bind_id, flow_out / flow_in on the
 * slices themselves, so they bind exactly in both viewers).  Instants
 * ("i"): spawn, exit, close, cancel, timer fire, panic, deadlock, the
 * end.  One counter ("C") per buffered channel: its length.
 */
#ifndef CHL_TRACE_CHROME_H
#define CHL_TRACE_CHROME_H

#include <stdio.h>

#include "trace/model.h"

/* Write m to f; returns 0, or -1 on a write error (errno set). */
int trace_write_chrome(FILE *f, const trace_model *m);

#endif
