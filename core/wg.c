/*
 * wg.c - the WaitGroup: a counter and a queue, both under one lock.
 *
 * Invariants (under wg->mu):
 *  - count >= 0 always; a change that would break it is refused.
 *  - waiters is empty whenever count == 0: wait_begin never queues on a
 *    zero counter, and the add() that brings it to zero empties the queue
 *    in the same critical section.  That is what makes the group reusable
 *    at once: a waiter of round k is off the queue before round k+1 can
 *    start, so it can only ever be woken by the end of round k.
 * Waiters are claimed under the lock and woken after it is dropped (their
 * parkers' ready() may take run-queue locks, lower in the lock order).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "wg.h"
#include "refcount.h"

struct chl_wg {
	chl_refcount refs;     /* references; atomic, no lock */
	pthread_mutex_t mu;    /* guards count and waiters */
	int64_t count;         /* the counter; mu */
	chl_waitq waiters;     /* parked in wait(); mu */
};

chl_wg *chl_wg_new(void)
{
	chl_wg *wg = calloc(1, sizeof *wg);

	if (!wg)
		return NULL;
	chl_ref_init(&wg->refs);
	pthread_mutex_init(&wg->mu, NULL);
	return wg;
}

chl_wg *chl_wg_retain(chl_wg *wg)
{
	if (wg)
		chl_ref_retain(&wg->refs);
	return wg;
}

void chl_wg_release(chl_wg *wg)
{
	if (!wg || !chl_ref_release(&wg->refs))
		return;
	chl_assert(chl_waitq_empty(&wg->waiters));
	pthread_mutex_destroy(&wg->mu);
	free(wg);
}

/* Complete every waiter of a list built by take_all.  No lock held. */
static void wake_list(chl_waiter *list)
{
	while (list) {
		chl_waiter *w = list;

		list = w->next;  /* read before the wake: w may vanish after */
		w->next = NULL;
		w->status = CHL_OK;
		chl_parker_complete(w->parker, w, CHL_OK);
	}
}

/* Unlink and claim every waiter (wg->mu held); return them as a list
 * linked through next, in queue order.  Waiters whose claim fails
 * (already woken by a deadline or context) are just unlinked. */
static chl_waiter *take_all(chl_wg *wg)
{
	chl_waiter *head = NULL, **tail = &head, *w;

	while ((w = chl_waitq_claim_first(&wg->waiters)) != NULL) {
		*tail = w;
		tail = &w->next;
	}
	return head;
}

int chl_wg_add(chl_wg *wg, int64_t delta)
{
	chl_waiter *wake = NULL;
	int64_t n;

	if (!wg)
		return CHL_NIL;
	pthread_mutex_lock(&wg->mu);
	if (__builtin_add_overflow(wg->count, delta, &n)) {
		pthread_mutex_unlock(&wg->mu);
		return CHL_INVAL;
	}
	if (n < 0) {
		pthread_mutex_unlock(&wg->mu);
		return CHL_NEGATIVE_WG;
	}
	wg->count = n;
	if (n == 0)
		wake = take_all(wg);
	pthread_mutex_unlock(&wg->mu);
	wake_list(wake);
	return CHL_OK;
}

int chl_wg_done(chl_wg *wg)
{
	return chl_wg_add(wg, -1);
}

int64_t chl_wg_count(chl_wg *wg)
{
	int64_t n;

	if (!wg)
		return -1;
	pthread_mutex_lock(&wg->mu);
	n = wg->count;
	pthread_mutex_unlock(&wg->mu);
	return n;
}

static void unlock_mu(void *arg)
{
	pthread_mutex_unlock(arg);
}

int chl_wg_wait_begin(chl_wg *wg, chl_waiter *w)
{
	if (!wg)
		return CHL_NIL;
	pthread_mutex_lock(&wg->mu);
	if (wg->count == 0) {
		pthread_mutex_unlock(&wg->mu);
		return CHL_OK;
	}
	w->obj = wg;
	chl_waitq_push(&wg->waiters, w);
	chl_parker_set_unlock(w->parker, unlock_mu, &wg->mu);
	return CHL_WAIT;
}

void chl_wg_dequeue(chl_wg *wg, chl_waiter *w)
{
	if (!wg)
		return;
	pthread_mutex_lock(&wg->mu);
	chl_waitq_remove(&wg->waiters, w);
	pthread_mutex_unlock(&wg->mu);
}

int chl_wg_wait(chl_wg *wg)
{
	chl_parker *p;
	chl_waiter w;
	int rc;

	if (!wg)
		return CHL_NIL;
	p = chl_thread_parker_self();
	chl_parker_prepare(p, "sync.WaitGroup.Wait");
	chl_waiter_init(&w, p, wg);
	rc = chl_wg_wait_begin(wg, &w);
	if (rc != CHL_WAIT)
		return rc;
	chl_thread_park(p);
	/* Nothing but add() can claim p here: no deadline, no context. */
	chl_assert(p->fired == &w);
	return CHL_OK;
}
