/*
 * chanlab.h - the one public header of chanlab's C core.
 *
 * Go's concurrency toolkit for C11 + pthreads: channels with close and
 * select, waitgroups, mutexes, once, weighted semaphores, contexts, timers,
 * signals, and the M:N scheduler the Lua bindings run goroutines on.
 *
 * Conventions (every section below follows them):
 *  - names start with chl_; objects shared between threads are reference
 *    counted (chl_X_retain / chl_X_release);
 *  - functions return CHL_OK (0) or a negative chl_status whose
 *    chl_strerror() text is Go's (status.h); the core never aborts on
 *    misuse;
 *  - blocking calls come in two forms: a thread-blocking one
 *    (chl_chan_send) and a two-phase one (chl_chan_send_begin) that
 *    returns CHL_WAIT so a scheduler task can park instead (waiter.h).
 */
#ifndef CHANLAB_H
#define CHANLAB_H

#include "status.h"    /* status codes, chl_strerror */
#include "timer.h"     /* clock, timer heap */
#include "waiter.h"    /* parkers, waiters, the park protocol */
#include "sched.h"     /* M:N scheduler, lock order */
#include "chan.h"      /* channels */
#include "select.h"    /* select */
#include "wg.h"        /* waitgroups */
#include "mutex.h"     /* mutexes */
#include "once.h"      /* once */
#include "sem.h"       /* weighted semaphores */
#include "atomic.h"    /* shared atomic integers */
#include "ctx.h"       /* contexts */
#include "timechan.h"  /* after, timers, tickers, sleep */
#include "signal.h"    /* signals to channels and contexts */

#endif
