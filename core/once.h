/*
 * once.h - Go's sync.Once: run a function exactly once, and make every
 * caller wait until that one run has finished.
 *
 * The first caller of chl_once_begin is told to run the function; callers
 * that come while it runs wait; callers after it finished return at once.
 * A run that fails (the Lua function raised) still counts as done, as Go
 * counts a panicking call as returned: call chl_once_finish either way.
 *
 * The core does not call the function itself in the parker-level API
 * (the Lua layer must run it in the caller's own Lua state); the thread
 * convenience chl_once_do does.  A Once is heap-allocated and
 * reference-counted.  Functions return CHL_NIL (or false) for NULL.
 */
#ifndef CHL_ONCE_H
#define CHL_ONCE_H

#include <stdbool.h>

#include "status.h"
#include "waiter.h"

typedef struct chl_once chl_once;

/* A new Once with one reference, or NULL when out of memory. */
chl_once *chl_once_new(void);

/* One more reference; returns o.  Atomic, no lock.  NULL-safe. */
chl_once *chl_once_retain(chl_once *o);

/* One reference less; the last one frees o.  NULL-safe. */
void chl_once_release(chl_once *o);

/* Parker-level entry.  Returns:
 *  - CHL_OK, *run = true: the caller must run the function now and then
 *    call chl_once_finish(o) - also when the function failed;
 *  - CHL_OK, *run = false: the function has already run to the end;
 *  - CHL_WAIT: someone is running it; w is queued and o's lock held
 *    (waiter.h, step 1).  After the wake call chl_once_begin again (it
 *    answers CHL_OK with *run = false).
 *  - CHL_NIL.
 * After the first finish, it is one atomic load and takes no lock. */
int chl_once_begin(chl_once *o, chl_waiter *w, bool *run);

/* The run is over: mark o done and wake every waiter (after dropping the
 * lock).  CHL_OK; CHL_INVAL if no run was in progress (nothing changes);
 * CHL_NIL. */
int chl_once_finish(chl_once *o);

/* Unlink w if still queued (a wait woken by a deadline or context; the
 * plain API never arms one).  Idempotent; cannot fail. */
void chl_once_dequeue(chl_once *o, chl_waiter *w);

/* True once a run has finished.  Atomic load, no lock; false for NULL. */
bool chl_once_done(chl_once *o);

/* Thread convenience: run fn(arg) if nobody has, else wait for the run
 * in progress to finish.  CHL_OK when fn has run (here or elsewhere);
 * CHL_NIL.  fn must not call chl_once_do on the same o (it would wait for
 * itself - Go deadlocks too). */
int chl_once_do(chl_once *o, void (*fn)(void *), void *arg);

#endif
