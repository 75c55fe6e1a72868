/*
 * mutex.h - Go's sync.Mutex: fast when uncontended, fair when it must be.
 *
 * Go's design (sync/mutex.go), in our own code.  The mutex has two modes:
 *  - normal: a locker that is running takes a free mutex at once, even if
 *    others are queued ("barging": it is already on a CPU, so this is
 *    fast).  Unlock wakes the head waiter, which does *not* own the mutex:
 *    it competes again, and if it loses it is queued again at the FRONT,
 *    keeping its original start time.
 *  - starvation: entered when a waiter has waited more than
 *    CHL_MUTEX_STARVE_NS (1 ms).  Unlock hands ownership straight to the
 *    head waiter (FIFO); newcomers queue at the tail even if the mutex
 *    looks free.  It ends when a waiter that gets the mutex is the last
 *    one, or has waited less than 1 ms.
 * So no waiter is starved, and the common case stays cheap: lock and
 * unlock of an uncontended mutex are one compare-and-swap each, with no
 * lock taken and no system call.
 *
 * Unlike Go, unlock of an unlocked mutex is not fatal: it returns
 * CHL_UNLOCK_UNLOCKED and the mutex stays usable.  As in Go, a mutex is
 * not tied to a thread or task: any one may unlock it.
 *
 * A mutex is heap-allocated and reference-counted (many Lua states share
 * one).  Blocking goes through waiter.h: chl_mutex_lock_begin is the
 * parker-level call, chl_mutex_lock the thread-blocking one.  A mutex
 * wait cannot be canceled (no deadline, no context), as in Go.  Every
 * function returns CHL_NIL (or false) for a NULL mutex.
 */
#ifndef CHL_MUTEX_H
#define CHL_MUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"
#include "waiter.h"

/* A waiter that has waited longer than this switches to starvation mode. */
#define CHL_MUTEX_STARVE_NS INT64_C(1000000)

typedef struct chl_mutex chl_mutex;

/* A new unlocked mutex with one reference, or NULL when out of memory. */
chl_mutex *chl_mutex_new(void);

/* One more reference; returns m.  Atomic, no lock.  NULL-safe. */
chl_mutex *chl_mutex_retain(chl_mutex *m);

/* One reference less; the last one frees m.  Nobody may be waiting on it
 * then (a waiter holds a reference).  NULL-safe. */
void chl_mutex_release(chl_mutex *m);

/* Parker-level lock.  Before the first call of one lock operation, w is
 * fresh from chl_waiter_init (w->n == 0).  Returns:
 *  - CHL_OK: the caller owns the mutex.
 *  - CHL_WAIT: w is queued and the mutex's internal lock is held,
 *    recorded in w->parker (waiter.h, step 1).  After the wake (fired ==
 *    w): if w->ok is true, ownership was handed over - the caller owns the
 *    mutex; if false, it was only told to compete again: call
 *    chl_mutex_lock_begin(m, w) again with the same w (prepare the parker
 *    again first).  w->n holds the time the wait started (chl_now() ns)
 *    and must be left alone; w->index is used internally as well.
 *  - CHL_NIL when m is NULL.
 * Each attempt first tries to take a free mutex with a CAS and no lock;
 * only a locker that must queue takes the internal lock. */
int chl_mutex_lock_begin(chl_mutex *m, chl_waiter *w);

/* Lock, blocking the calling thread.  CHL_OK or CHL_NIL. */
int chl_mutex_lock(chl_mutex *m);

/* Take the mutex if it is free and not in starvation mode; never blocks.
 * True if the caller now owns it. */
bool chl_mutex_trylock(chl_mutex *m);

/* Unlock.  CHL_OK; CHL_UNLOCK_UNLOCKED if it was not locked (nothing
 * changes); CHL_NIL.  Wakes (normal mode) or hands the mutex to
 * (starvation mode) the head waiter, after dropping the internal lock. */
int chl_mutex_unlock(chl_mutex *m);

/* Snapshots for tests and dumps (atomic loads, no lock). */
bool chl_mutex_is_locked(chl_mutex *m);
bool chl_mutex_starving(chl_mutex *m);
int chl_mutex_waiters(chl_mutex *m);   /* queued waiters (a woken one is not) */

#endif
