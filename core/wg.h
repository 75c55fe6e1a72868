/*
 * wg.h - Go's sync.WaitGroup: a counter and the waiters for it to be zero.
 *
 * add(delta) moves the counter; when it reaches zero every waiter queued
 * at that moment is woken, and the group is ready for the next round at
 * once (add/wait cycles again: a reusable barrier).  A counter that would
 * go below zero is refused with CHL_NEGATIVE_WG and left unchanged.
 *
 * Unlike Go, nothing forbids add() racing a wait() that is returning: the
 * waiters of a round are unlinked and claimed under the group's lock at
 * the moment the counter hits zero, so a new round cannot confuse them.
 *
 * A group is heap-allocated and reference-counted (many Lua states share
 * one); whoever may add to it or wait on it holds a reference.  Blocking
 * goes through waiter.h: chl_wg_wait_begin is the parker-level call,
 * chl_wg_wait the thread-blocking one.  Every function returns CHL_NIL
 * for a NULL group (Go would panic on a nil *WaitGroup).
 */
#ifndef CHL_WG_H
#define CHL_WG_H

#include <stdint.h>

#include "status.h"
#include "waiter.h"

typedef struct chl_wg chl_wg;

/* A new group (counter 0, one reference), or NULL when out of memory. */
chl_wg *chl_wg_new(void);

/* One more reference; returns wg.  Atomic, no lock.  NULL-safe. */
chl_wg *chl_wg_retain(chl_wg *wg);

/* One reference less; the last one frees wg.  Nobody may be waiting on it
 * then (a waiter holds a reference).  NULL-safe. */
void chl_wg_release(chl_wg *wg);

/* Add delta (any sign) to the counter.  CHL_OK; CHL_NEGATIVE_WG if the
 * counter would go below zero, CHL_INVAL if it would overflow int64 (the
 * counter is unchanged in both cases); CHL_NIL.  Reaching zero wakes every waiter (after the lock is dropped). */
int chl_wg_add(chl_wg *wg, int64_t delta);

/* chl_wg_add(wg, -1). */
int chl_wg_done(chl_wg *wg);

/* The counter now (a snapshot; -1 for NULL).  Takes the lock. */
int64_t chl_wg_count(chl_wg *wg);

/* Parker-level wait.  CHL_OK when the counter is zero (nothing queued);
 * CHL_WAIT with w queued and the group's lock held, recorded in
 * w->parker with chl_parker_set_unlock (waiter.h, step 1); CHL_NIL.
 * The wake comes with p->fired == w and status CHL_OK, once the counter
 * reached zero.  If the caller armed a deadline or watches a context and
 * that woke it instead (p->fired != w), it must call chl_wg_dequeue. */
int chl_wg_wait_begin(chl_wg *wg, chl_waiter *w);

/* Unlink w if it is still queued (after a wake that was not ours: a
 * deadline or a context).  Takes the lock; idempotent; cannot fail. */
void chl_wg_dequeue(chl_wg *wg, chl_waiter *w);

/* Block the calling thread until the counter is zero.  CHL_OK or CHL_NIL. */
int chl_wg_wait(chl_wg *wg);

#endif
