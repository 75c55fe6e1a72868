/*
 * mutex.c - Go's mutex: one atomic state word, and a waiter queue behind
 * an internal lock for when the word alone is not enough.
 *
 * state = LOCKED | WOKEN | STARVING | (number of queued waiters << SHIFT)
 *  - LOCKED: someone owns the mutex.  Set by a CAS of a locker (outside
 *    mu, or under it) or by unlock's handoff (under mu); cleared by unlock.
 *  - WOKEN: an unlock has woken a waiter in normal mode and that waiter
 *    has not yet competed again.  While it is set, unlock wakes nobody else
 *    (one woken competitor at a time is enough; more would only lose to
 *    each other).  Set by unlock under mu; cleared by the woken waiter in
 *    the CAS that takes the mutex or queues it again.
 *  - STARVING: handoff mode.  Set and cleared only under mu, so whoever
 *    holds mu knows it cannot change.  Invariant: STARVING => the queue
 *    is not empty (it is set by a waiter in the CAS that queues it, and
 *    cleared by a handoff that empties the queue - or that goes to a
 *    waiter of less than 1 ms).
 *  - the waiter count equals the queue's length; both change only under
 *    mu (so unlock can tell from the word alone whether anyone waits).
 * Outside mu only LOCKED (lockers, unlock) and WOKEN (its clearing) move,
 * so every change of the word is a CAS loop that rechecks what it read.
 *
 * No lost wake: a waiter queues (under mu) with a CAS that saw LOCKED or
 * STARVING; the unlock that clears LOCKED afterwards sees a non-zero word
 * and goes to the slow path, which takes mu - after the waiter's parker
 * has committed - and wakes or hands off to the head.
 *
 * A woken waiter is told which case it is by w->ok (true: handoff, it owns
 * the mutex) and w->index (AWOKE: it holds WOKEN and must clear it).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "mutex.h"
#include "refcount.h"

enum {
	LOCKED = 1u,
	WOKEN = 2u,
	STARVING = 4u,
	SHIFT = 3,
	ONE_WAITER = 1u << SHIFT,
};

#define AWOKE 1   /* w->index: woken in normal mode, holds WOKEN */

struct chl_mutex {
	atomic_uint state;     /* see the file comment */
	chl_refcount refs;     /* references; atomic, no lock */
	pthread_mutex_t mu;    /* guards waiters, the waiter count, STARVING */
	chl_waitq waiters;     /* queued lockers; mu */
};

chl_mutex *chl_mutex_new(void)
{
	chl_mutex *m = calloc(1, sizeof *m);

	if (!m)
		return NULL;
	atomic_init(&m->state, 0);
	chl_ref_init(&m->refs);
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

chl_mutex *chl_mutex_retain(chl_mutex *m)
{
	if (m)
		chl_ref_retain(&m->refs);
	return m;
}

void chl_mutex_release(chl_mutex *m)
{
	if (!m || !chl_ref_release(&m->refs))
		return;
	chl_assert(chl_waitq_empty(&m->waiters));
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static void unlock_mu(void *arg)
{
	pthread_mutex_unlock(arg);
}

/* A loser of the competition goes back to the front: it has waited the
 * longest.  (chl_waitq only pushes at the tail.)  mu held. */
static void push_front(chl_waitq *q, chl_waiter *w)
{
	chl_assert(!w->queued);
	w->prev = NULL;
	w->next = q->head;
	if (q->head)
		q->head->prev = w;
	else
		q->tail = w;
	q->head = w;
	w->queued = true;
}

/* Try to take a free, non-starving mutex, without mu.  `awoke`: the
 * caller holds WOKEN and clears it in the same CAS.  True if taken. */
static bool try_take(chl_mutex *m, bool awoke)
{
	unsigned old = atomic_load_explicit(&m->state, memory_order_relaxed);

	while (!(old & (LOCKED | STARVING))) {
		unsigned new = (old | LOCKED) & ~(awoke ? WOKEN : 0u);

		if (atomic_compare_exchange_weak_explicit(&m->state, &old, new,
				memory_order_acquire, memory_order_relaxed))
			return true;
	}
	return false;
}

int chl_mutex_lock_begin(chl_mutex *m, chl_waiter *w)
{
	bool awoke, again;
	unsigned old, new;
	int64_t now;

	if (!m)
		return CHL_NIL;
	awoke = w->index == AWOKE;
	again = w->n != 0;
	if (try_take(m, awoke)) {
		w->index = 0;
		return CHL_OK;
	}
	pthread_mutex_lock(&m->mu);
	now = chl_now();
	old = atomic_load_explicit(&m->state, memory_order_relaxed);
	for (;;) {
		if (!(old & (LOCKED | STARVING))) {
			/* Freed meanwhile: take it rather than queue. */
			new = (old | LOCKED) & ~(awoke ? WOKEN : 0u);
			if (atomic_compare_exchange_weak_explicit(&m->state, &old,
					new, memory_order_acquire, memory_order_relaxed)) {
				pthread_mutex_unlock(&m->mu);
				w->index = 0;
				return CHL_OK;
			}
			continue;
		}
		new = old + ONE_WAITER;
		if (awoke)
			new &= ~WOKEN;
		/* Only a waiter that has already lost once can be starving, and
		 * only a held mutex needs handoff: `old` has LOCKED or STARVING
		 * here, so the queue we join keeps the invariant. */
		if (again && now - w->n > CHL_MUTEX_STARVE_NS)
			new |= STARVING;
		if (atomic_compare_exchange_weak_explicit(&m->state, &old, new,
				memory_order_relaxed, memory_order_relaxed))
			break;
	}
	if (again) {
		push_front(&m->waiters, w);
	} else {
		w->n = now > 0 ? now : 1;
		chl_waitq_push(&m->waiters, w);
	}
	w->obj = m;
	w->index = 0;
	w->ok = false;
	chl_parker_set_unlock(w->parker, unlock_mu, &m->mu);
	return CHL_WAIT;
}

int chl_mutex_lock(chl_mutex *m)
{
	unsigned zero = 0;
	chl_parker *p;
	chl_waiter w;
	int rc;

	if (!m)
		return CHL_NIL;
	if (atomic_compare_exchange_strong_explicit(&m->state, &zero, LOCKED,
			memory_order_acquire, memory_order_relaxed))
		return CHL_OK;
	p = chl_thread_parker_self();
	chl_waiter_init(&w, p, m);
	for (;;) {
		chl_parker_prepare(p, "sync.Mutex.Lock");
		rc = chl_mutex_lock_begin(m, &w);
		if (rc != CHL_WAIT)
			return rc;
		chl_thread_park(p);
		chl_assert(p->fired == &w);
		if (w.ok)
			return CHL_OK;
	}
}

bool chl_mutex_trylock(chl_mutex *m)
{
	return m && try_take(m, false);
}

/* Pop waiters from the head until one is claimed; keep the waiter count
 * in step.  mu held.  NULL if none could be claimed.  (A mutex wait
 * cannot be canceled, so the first claim should always win; a waiter a
 * misusing caller woke by other means is just dropped.) */
static chl_waiter *pop_claimed(chl_mutex *m)
{
	chl_waiter *w;

	while ((w = m->waiters.head) != NULL) {
		chl_waitq_remove(&m->waiters, w);
		atomic_fetch_sub_explicit(&m->state, ONE_WAITER, memory_order_relaxed);
		if (chl_parker_claim(w->parker))
			return w;
	}
	return NULL;
}

/* Starvation mode: give the mutex to the head waiter.  mu held; the
 * caller's unlock cleared LOCKED while STARVING was set, so nobody else
 * can change the word now (STARVING keeps lockers out and changes only
 * under mu; nobody owns the mutex to unlock it).  Drops mu. */
static void hand_off(chl_mutex *m)
{
	chl_waiter *w;

	chl_assert((atomic_load_explicit(&m->state, memory_order_relaxed)
		& (LOCKED | STARVING)) == STARVING);
	w = pop_claimed(m);

	if (!w) {
		atomic_fetch_and_explicit(&m->state, ~STARVING, memory_order_release);
		pthread_mutex_unlock(&m->mu);
		return;
	}
	/* LOCKED set and STARVING (maybe) cleared in one step: between two
	 * separate steps the word would show neither, and a barging locker's
	 * try_take could take the mutex that is being handed to w - two
	 * owners.  Release: the new owner's reads see the old owner's writes
	 * (through the parker's wake as well, but say it here). */
	{
		unsigned clear = (chl_waitq_empty(&m->waiters) ||
				  chl_now() - w->n <= CHL_MUTEX_STARVE_NS) ? STARVING : 0u;
		unsigned old = atomic_load_explicit(&m->state, memory_order_relaxed);

		while (!atomic_compare_exchange_weak_explicit(&m->state, &old,
				(old | LOCKED) & ~clear, memory_order_release,
				memory_order_relaxed))
			;
	}
	w->ok = true;
	w->index = 0;
	w->status = CHL_OK;
	pthread_mutex_unlock(&m->mu);
	chl_parker_complete(w->parker, w, CHL_OK);
}

/* Normal mode: wake the head waiter to compete, unless the mutex was
 * taken again meanwhile or a woken waiter is already on its way (their
 * unlock / that waiter will see to the queue).  mu held; drops mu. */
static void wake_one(chl_mutex *m)
{
	unsigned old = atomic_load_explicit(&m->state, memory_order_relaxed);
	chl_waiter *w;

	do {
		if ((old >> SHIFT) == 0 || (old & (LOCKED | WOKEN | STARVING))) {
			pthread_mutex_unlock(&m->mu);
			return;
		}
	} while (!atomic_compare_exchange_weak_explicit(&m->state, &old,
			old | WOKEN, memory_order_relaxed, memory_order_relaxed));
	w = pop_claimed(m);
	if (!w) {
		atomic_fetch_and_explicit(&m->state, ~WOKEN, memory_order_relaxed);
		pthread_mutex_unlock(&m->mu);
		return;
	}
	w->ok = false;
	w->index = AWOKE;
	w->status = CHL_OK;
	pthread_mutex_unlock(&m->mu);
	chl_parker_complete(w->parker, w, CHL_OK);
}

int chl_mutex_unlock(chl_mutex *m)
{
	unsigned old;

	if (!m)
		return CHL_NIL;
	old = atomic_load_explicit(&m->state, memory_order_relaxed);
	do {
		if (!(old & LOCKED))
			return CHL_UNLOCK_UNLOCKED;
	} while (!atomic_compare_exchange_weak_explicit(&m->state, &old,
			old & ~LOCKED, memory_order_release, memory_order_relaxed));
	if (old == LOCKED)
		return CHL_OK;   /* nobody waits, nobody woken: done */
	pthread_mutex_lock(&m->mu);
	/* Decide by the word our CAS saw, not by a later read: if it was not
	 * STARVING, a locker may have taken the mutex since and a waiter may
	 * have set STARVING against *that* owner - whose unlock hands off. */
	if (old & STARVING)
		hand_off(m);
	else
		wake_one(m);
	return CHL_OK;
}

bool chl_mutex_is_locked(chl_mutex *m)
{
	return m && (atomic_load(&m->state) & LOCKED);
}

bool chl_mutex_starving(chl_mutex *m)
{
	return m && (atomic_load(&m->state) & STARVING);
}

int chl_mutex_waiters(chl_mutex *m)
{
	return m ? (int)(atomic_load(&m->state) >> SHIFT) : 0;
}
