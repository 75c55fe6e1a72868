/*
 * signal.h - Go's os/signal for chanlab: deliver process signals to
 * channels (signal.Notify) and to contexts (signal.NotifyContext).
 *
 * Supported: SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2.  While a signal
 * has at least one registration its handler is installed; when the last
 * one goes, the disposition it had before (normally the default: Ctrl-C
 * kills again) is restored, as Go does.  SIGURG is never touched (the
 * scheduler uses it for preemption), and signal masks are not used.
 *
 * Delivery never blocks: a channel that is full drops the signal, like
 * Go.  Signals are delivered by one dispatcher thread (started by the
 * first registration), in the order they arrive; several of the same
 * signal arriving close together may merge into one (the kernel merges
 * pending standard signals).
 */
#ifndef CHL_SIGNAL_H
#define CHL_SIGNAL_H

#include "chan.h"
#include "ctx.h"

/* "INT" or "SIGINT" (and TERM, HUP, USR1, USR2; exact case) -> the signal
 * number, or CHL_NOSIG.  NULL gives CHL_NOSIG. */
int chl_signal_from_name(const char *name);

/* "SIGINT"... for a supported signal, "unknown" otherwise; never NULL. */
const char *chl_signal_name(int signo);

/* Deliver signo to c as an int (c's elem_size must be sizeof(int); cap 1
 * suits, as in Go).  Registering the same (c, signo) twice is one
 * registration.  Retains c until chl_signal_stop(c).  CHL_OK, CHL_NIL (c
 * NULL), CHL_NOSIG, CHL_INVAL (c's element is not an int), CHL_NOMEM (no
 * memory, pipe or thread). */
int chl_signal_notify(chl_chan *c, int signo);

/* Remove every registration of c (and drop the references they held).
 * On return no signal will be sent to c any more.  NULL-safe. */
void chl_signal_stop(chl_chan *c);

/* Send signo to this process (kill(getpid(), signo)): process-directed,
 * any thread may take it.  With no registration its default action
 * happens (SIGINT, SIGTERM... end the process).  CHL_OK, CHL_NOSIG. */
int chl_signal_raise(int signo);

/* A notify-context registration. */
typedef struct chl_signal_watch chl_signal_watch;

/* *out: a child of parent (one reference to the caller) canceled with
 * CHL_CANCELED and Go's cause message ("interrupt signal received",
 * "terminated signal received", "hangup signal received", "user defined
 * signal 1 received", "user defined signal 2 received") at the first of
 * the n signals.  *stop: the handle for chl_signal_watch_stop.  The
 * registration stays until then (later signals are still caught, as in
 * Go).  CHL_OK, CHL_NIL (parent NULL), CHL_INVAL (n < 1, out or stop
 * NULL), CHL_NOSIG, CHL_NOMEM; nothing is registered on failure. */
int chl_signal_notify_ctx(chl_ctx *parent, const int *signos, int n,
	chl_ctx **out, chl_signal_watch **stop);

/* Unregister w's signals, cancel its context (CHL_CANCELED, no cause;
 * a no-op if a signal or the parent canceled it first) and free w.
 * Call it once per watch (the Lua layer makes its stop() idempotent).
 * NULL-safe. */
void chl_signal_watch_stop(chl_signal_watch *w);

#endif
