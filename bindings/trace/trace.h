/*
 * trace.h - `chanlab run --trace FILE`: record what every goroutine does
 * (core/hook.h) and, when the program ends, write it as a file:
 *   FILE.html  our own timeline, one self-contained page (html.h);
 *   any other  Chrome trace-event JSON for ui.perfetto.dev and
 *              chrome://tracing (chrome.h);
 * and, when asked, a text summary on stderr (summary.h).
 *
 * The file is written however the program ends: the main goroutine's
 * return, os.exit, a panic, a deadlock, Ctrl-C or SIGTERM (a handler,
 * installed only when tracing, hands the signal to a thread that writes
 * the file and then dies of the signal; a script's own signal.notify
 * takes precedence while it is registered).  A run cut short still
 * leaves a loadable trace.
 *
 * Off, tracing costs nothing but the hook's one branch (hook.h).  On,
 * each event is a copy into the emitting thread's buffer (record.h);
 * the work is done at exit.
 */
#ifndef CHL_TRACE_H
#define CHL_TRACE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct chl_trace_config {
	const char *path;          /* the file, or NULL: summary only */
	bool summary;              /* the text summary on stderr at the end */
	const char *script;        /* the program's name, for titles */
	size_t max_events;         /* the budget; 0: 4 million */
} chl_trace_config;

/* Start tracing, after the runtime started and before any goroutine
 * runs.  Opens the file now (so a bad path fails before the program
 * runs): 0, or -1 with errno set (nothing started). */
int chl_trace_start(const chl_trace_config *cfg);

#endif
