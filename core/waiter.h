/*
 * waiter.h - how everything in chanlab blocks: parkers, waiters, wait queues.
 *
 * A *parker* is something that can sleep and be woken: a plain thread
 * (chl_thread_parker, a mutex+condvar token) or a goroutine of the
 * scheduler (chl_task embeds one; waking it puts it on a run queue).
 * A *waiter* is one queued request of a parker on one primitive (Go's
 * sudog): a select over N channels queues N waiters of one parker.
 * Primitives only ever see waiters and call p->ready(): they never know
 * which kind of parker they wake.
 *
 * The protocol (every primitive follows it; it is why no wake is lost):
 *
 *  1. The blocking side calls chl_parker_prepare(p), then takes the
 *     primitive's lock, finds it must wait, queues its waiter(s) and
 *     records in p how to drop that lock (chl_parker_set_unlock).  It
 *     returns CHL_WAIT *with the lock still held*.
 *  2. The caller parks: chl_parker_commit() drops the lock(s) through
 *     p->unlock.  A thread calls chl_thread_park(), which commits and
 *     sleeps on its token.  A task yields to its worker, and the worker
 *     commits only once the task is off its stack.  Either way, nobody
 *     can reach the waiter until the lock is dropped, and by then the
 *     parker is ready to be woken: a thread's token is remembered if the
 *     wake comes before the sleep, a task is fully parked before anyone
 *     can ready it.
 *  3. A waker takes the primitive's lock, unlinks a waiter and *claims*
 *     its parker (chl_parker_claim: CAS claimed 0 -> 1).  Only the claimer
 *     may complete the wait: it fills the waiter's result fields, sets
 *     p->fired, and calls p->ready(p) after dropping its own lock.  A
 *     waker whose claim fails leaves the waiter alone (someone else -
 *     another select case, a deadline, a context - already completed that
 *     wait) and looks at the next waiter.
 *  4. The woken side reads p->fired / the waiter's fields.  If it queued
 *     more than one waiter (select) or armed a deadline, it takes the
 *     locks again and unlinks what is still queued (chl_waitq_remove is
 *     idempotent), and disarms its deadline (chl_parker_disarm), which
 *     returns only when the deadline callback can no longer touch p.
 *
 * Invariant: between chl_parker_prepare() and the wake, exactly one party
 * claims p, and only that party calls p->ready(p), exactly once.
 *
 * Commit order: commit starts the deadline timer and runs on_commit (a
 * context watch) first and drops the primitive lock(s) last.  It must:
 * once the lock is dropped a waker may complete the wait, and the woken
 * side may at once disarm its deadline (chl_parker_disarm) and remove its
 * watch (chl_parker_unwatch_ctx); a timer started or a hook added after
 * that would outlive the wait, firing into the parker's next wait or
 * through a hook whose memory is gone.  Both may complete the wait
 * themselves, during commit (a deadline already passed, a context
 * already done): the parker is parked by then (a thread's token keeps
 * the wake; the scheduler holds a task's ready until its commit
 * returns, see sched.h).
 *
 * Lock order (the whole list lives in sched.h): primitive locks (channels
 * in address order) before the scheduler's run-queue locks and the timer
 * heap lock; p->ready() takes only run-queue locks or the thread token.
 * Because on_commit runs under the primitive lock, a semaphore's lock is
 * held while a context's is taken: semaphores come first in sched.h's
 * list.
 */
#ifndef CHL_WAITER_H
#define CHL_WAITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "status.h"
#include "timer.h"

typedef struct chl_parker chl_parker;
typedef struct chl_waiter chl_waiter;
typedef void (*chl_unlock_fn)(void *arg);

struct chl_parker {
	void (*ready)(chl_parker *p);  /* wake; set once when the parker is made */
	atomic_int claimed;            /* 0 while waiting, 1 once claimed (step 3) */
	chl_waiter *fired;             /* written by the claimer: the waiter that
	                                  completed, NULL for deadline/cancel */
	int status;                    /* written by the claimer: CHL_OK,
	                                  CHL_TIMEOUT, CHL_CANCELED ... */
	chl_unlock_fn unlock;          /* step 1 -> 2: drops the primitive lock(s) */
	void *unlock_arg;
	const char *reason;            /* what it waits on ("chan receive"), for
	                                  dumps; owned by the blocking side */
	chl_timer deadline;            /* started at commit, see arm_deadline */
	int64_t deadline_when;         /* < 0: none; owned by the blocking side */
	bool deadline_armed;           /* timer started; owned by the blocking side */
	chl_unlock_fn on_commit;       /* extra step run at commit, before the
	                                  unlock (arms a context watch); blocking
	                                  side */
	void *on_commit_arg;
};

/* A parked plain thread: the token survives a wake that precedes the sleep. */
typedef struct chl_thread_parker {
	chl_parker p;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int token;              /* set under mu (the condvar needs it);
	                                  read without it while spinning */
} chl_thread_parker;

struct chl_waiter {
	chl_waiter *next, *prev;       /* in a chl_waitq, guarded by its owner's lock */
	bool queued;                   /* in a queue now; guarded by the same lock */
	chl_parker *parker;            /* who to wake */
	void *elem;                    /* chan: value to send / slot to receive into */
	int64_t n;                     /* sem: weight; other primitives: free use */
	bool ok;                       /* chan recv: true = value, false = closed */
	int status;                    /* result written by the claimer */
	int index;                     /* select: the case this waiter stands for */
	void *obj;                     /* the primitive it waits on (for dumps) */
};

/* An intrusive FIFO of waiters; the owner's lock guards it. */
typedef struct chl_waitq {
	chl_waiter *head, *tail;
} chl_waitq;

/* ---- parkers ---- */

/* Start a new wait: clears claimed/fired/status.  Cannot fail. */
void chl_parker_prepare(chl_parker *p, const char *reason);

/* Step 3: true if the caller won the right to complete p's wait. */
static inline bool chl_parker_claim(chl_parker *p)
{
	int expect = 0;
	return atomic_compare_exchange_strong_explicit(&p->claimed, &expect, 1,
		memory_order_acq_rel, memory_order_acquire);
}

/* Step 1: the primitive records how to drop its lock(s). */
static inline void chl_parker_set_unlock(chl_parker *p, chl_unlock_fn fn, void *arg)
{
	p->unlock = fn;
	p->unlock_arg = arg;
}

/* Step 2: start what must wait for the park (deadline timer, on_commit),
 * then drop the recorded lock(s) - in that order, see "Commit order"
 * above.  Called by the worker once the task is off its stack, or by
 * chl_thread_park.  Cannot fail (a timer that cannot start completes the
 * wait with CHL_NOMEM). */
void chl_parker_commit(chl_parker *p);

/* Complete a claimed wait: set fired/status, then wake.  Call with no lock
 * held that p->ready could need (run-queue locks); primitive locks are fine. */
void chl_parker_complete(chl_parker *p, chl_waiter *fired, int status);

/* Give the wait just prepared a deadline (absolute chl_now() ns): if it
 * passes first, the timer claims p and completes it with CHL_TIMEOUT.
 * The timer is only started at commit, once the parker is really parked
 * (and its waiters queued): a task must not be readied while it still runs.
 * Pair with chl_parker_disarm after the wake. */
void chl_parker_arm_deadline(chl_parker *p, int64_t deadline_ns);

/* After the wake: stop the deadline timer; on return its callback is not
 * running and will not run.  Cannot fail; harmless when none was armed. */
void chl_parker_disarm(chl_parker *p);

/* ---- thread parkers ---- */

void chl_thread_parker_init(chl_thread_parker *tp);
void chl_thread_parker_destroy(chl_thread_parker *tp);

/* The calling thread's own parker (in its thread-local storage, made on
 * first use, destroyed at thread exit).  Cannot fail. */
chl_parker *chl_thread_parker_self(void);

/* Step 2 for threads: commit (chl_parker_commit), then sleep until
 * ready().  p must be a thread parker's. */
void chl_thread_park(chl_parker *p);

/* ---- wait queues (caller holds the owner's lock) ---- */

void chl_waiter_init(chl_waiter *w, chl_parker *p, void *obj);
void chl_waitq_push(chl_waitq *q, chl_waiter *w);
/* Unlink w if it is still queued; idempotent. */
void chl_waitq_remove(chl_waitq *q, chl_waiter *w);
/* Unlink waiters from the front until one's parker is claimed; return it
 * (claimed, unlinked) or NULL when the queue runs out.  O(skipped). */
chl_waiter *chl_waitq_claim_first(chl_waitq *q);
static inline bool chl_waitq_empty(const chl_waitq *q) { return q->head == NULL; }

#endif
