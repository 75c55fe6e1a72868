/*
 * html.h - the trace as one self-contained HTML page (timeline.html with
 * the model as JSON inside): a row per goroutine with its running,
 * runnable and blocked spans coloured by reason, arrows from each send to
 * the receive that took its value (and close, go, wake arrows), a tooltip
 * with the Lua line and the value, zoom and pan, a table per goroutine
 * (time running, waiting to run, blocked by reason) and per channel.
 * Nothing is fetched: no script, style, font or image comes from
 * elsewhere, and the page's Content-Security-Policy forbids it.
 */
#ifndef CHL_TRACE_HTML_H
#define CHL_TRACE_HTML_H

#include <stdio.h>

#include "trace/model.h"

/* Write m's page to f; returns 0, or -1 on a write error (errno set). */
int trace_write_html(FILE *f, const trace_model *m);

#endif
