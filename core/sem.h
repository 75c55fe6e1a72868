/*
 * sem.h - a weighted semaphore (golang.org/x/sync/semaphore.Weighted).
 *
 * `size` tokens; acquire(n) takes n of them, waiting while fewer are
 * free; release(n) gives n back.  Waiters are served strictly FIFO: an
 * acquire queues behind anyone already waiting even if its n would fit,
 * and a release serves waiters from the head only while the head fits -
 * so a large request is not starved by a stream of small ones.  A request
 * larger than size can never be served: as in Go it waits until its
 * context is done or its deadline passes (it is not queued, so it holds
 * nobody up).
 *
 * When a waiter gives up (context, deadline) it must be taken off the
 * queue (chl_sem_dequeue); if it was the head, the waiters behind it that
 * now fit are served at once (Go's notifyWaiters).
 *
 * A semaphore is heap-allocated and reference-counted.  A waiting acquire
 * arms its context watch (chl_parker_watch_ctx) while the semaphore's lock
 * is still held, after begin returned CHL_WAIT; the context's hook lock is
 * a leaf, so that is in order (ctx.h, sched.h).  Functions return CHL_NIL
 * (or false / -1) for a NULL semaphore.
 */
#ifndef CHL_SEM_H
#define CHL_SEM_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"
#include "waiter.h"

typedef struct chl_sem chl_sem;
typedef struct chl_ctx chl_ctx;

/* A new semaphore of `size` tokens, all free, with one reference.  NULL
 * when size < 0 or out of memory. */
chl_sem *chl_sem_new(int64_t size);

/* One more reference; returns s.  Atomic, no lock.  NULL-safe. */
chl_sem *chl_sem_retain(chl_sem *s);

/* One reference less; the last one frees s.  Nobody may be waiting on it
 * then (a waiter holds a reference).  NULL-safe.  (This is the handle's
 * release, as for every chanlab object; giving tokens back - Go's
 * Release(n) - is chl_sem_release_n.) */
void chl_sem_release(chl_sem *s);

/* Parker-level acquire of n tokens (n >= 0).  Returns:
 *  - CHL_OK: the caller holds n tokens (they fitted and nobody waited);
 *  - CHL_WAIT: s's lock is held (waiter.h, step 1) and w is queued with
 *    w->n = n - or, when n > size, not queued at all (only a context or a
 *    deadline can end that wait).  After the wake: p->fired == w (status
 *    CHL_OK) means the caller holds n tokens; otherwise the context or
 *    deadline won (p->fired == NULL, p->status the reason) and the caller
 *    must call chl_sem_dequeue(s, w);
 *  - CHL_INVAL (n < 0), CHL_NIL.
 * With a context, the caller does what chl_sem_acquire does: fail at once
 * if chl_ctx_err(ctx) (Go fails on a done context even when tokens are
 * free); after CHL_WAIT arm chl_parker_watch_ctx; if that says the
 * context is done by now, chl_sem_abandon and fail with its error. */
int chl_sem_acquire_begin(chl_sem *s, int64_t n, chl_waiter *w);

/* After chl_sem_acquire_begin returned CHL_WAIT, instead of parking (the
 * semaphore's lock still held): take w back off the queue, serve the
 * waiters that lets go, drop the lock.  The parker was never committed,
 * so nobody wakes it.  Cannot fail. */
void chl_sem_abandon(chl_sem *s, chl_waiter *w);

/* Take w off the queue after a wake that was not ours; if w was the head,
 * serve the waiters behind it that now fit.  Idempotent; cannot fail. */
void chl_sem_dequeue(chl_sem *s, chl_waiter *w);

/* Thread convenience: acquire n tokens, blocking the calling thread.
 * ctx may be NULL (no context); deadline_ns is absolute chl_now() ns, or
 * -1 for none.  Returns CHL_OK (n tokens held); the context's error
 * (CHL_CANCELED, CHL_DEADLINE) if it is done - already at the call, or
 * before the tokens came, or even just after (Go checks once more and
 * gives them back); CHL_TIMEOUT if the deadline passed first; CHL_NOMEM
 * (no memory for the deadline timer); CHL_INVAL (n < 0); CHL_NIL.
 * With neither a context nor a deadline, a request larger than the size
 * blocks for ever - as Go's does with context.Background(). */
int chl_sem_acquire(chl_sem *s, int64_t n, chl_ctx *ctx, int64_t deadline_ns);

/* Take n tokens if they are free and nobody waits; never blocks. */
bool chl_sem_try_acquire(chl_sem *s, int64_t n);

/* Give back n tokens and serve the waiters that now fit (FIFO, stopping
 * at the first that does not).  CHL_OK; CHL_SEM_OVERRELEASE if n is more
 * than is held (nothing changes); CHL_INVAL (n < 0); CHL_NIL. */
int chl_sem_release_n(chl_sem *s, int64_t n);

/* The number of tokens (fixed at creation), and how many are held now
 * (a snapshot, takes the lock).  -1 for NULL. */
int64_t chl_sem_size(chl_sem *s);
int64_t chl_sem_held(chl_sem *s);

/* Queued waiters now (snapshot, takes the lock; for tests and dumps). */
int chl_sem_waiters(chl_sem *s);

#endif
