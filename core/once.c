/*
 * once.c - a done flag, a running flag and a queue of callers waiting for
 * the run in progress.
 *
 * Invariants: done goes false -> true once and never back; it is written
 * under mu with release order, so a caller that loads it true (acquire)
 * without the lock also sees everything the run wrote.  running is true
 * from the begin that said *run = true until finish; waiters is non-empty
 * only while running (finish empties it in the critical section that sets
 * done).  Waiters are woken after mu is dropped.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "once.h"
#include "refcount.h"

struct chl_once {
	atomic_bool done;      /* the run finished; written under mu */
	chl_refcount refs;     /* references; atomic, no lock */
	pthread_mutex_t mu;    /* guards running, waiters, writes of done */
	bool running;          /* a caller is running the function; mu */
	chl_waitq waiters;     /* callers waiting for the run; mu */
};

chl_once *chl_once_new(void)
{
	chl_once *o = calloc(1, sizeof *o);

	if (!o)
		return NULL;
	atomic_init(&o->done, false);
	chl_ref_init(&o->refs);
	pthread_mutex_init(&o->mu, NULL);
	return o;
}

chl_once *chl_once_retain(chl_once *o)
{
	if (o)
		chl_ref_retain(&o->refs);
	return o;
}

void chl_once_release(chl_once *o)
{
	if (!o || !chl_ref_release(&o->refs))
		return;
	chl_assert(chl_waitq_empty(&o->waiters));
	pthread_mutex_destroy(&o->mu);
	free(o);
}

static void unlock_mu(void *arg)
{
	pthread_mutex_unlock(arg);
}

int chl_once_begin(chl_once *o, chl_waiter *w, bool *run)
{
	*run = false;
	if (!o)
		return CHL_NIL;
	if (atomic_load_explicit(&o->done, memory_order_acquire))
		return CHL_OK;
	pthread_mutex_lock(&o->mu);
	if (atomic_load_explicit(&o->done, memory_order_relaxed)) {
		pthread_mutex_unlock(&o->mu);
		return CHL_OK;
	}
	if (o->running) {
		w->obj = o;
		chl_waitq_push(&o->waiters, w);
		chl_parker_set_unlock(w->parker, unlock_mu, &o->mu);
		return CHL_WAIT;
	}
	o->running = true;
	pthread_mutex_unlock(&o->mu);
	*run = true;
	return CHL_OK;
}

int chl_once_finish(chl_once *o)
{
	chl_waiter *list = NULL, **tail = &list, *w;

	if (!o)
		return CHL_NIL;
	pthread_mutex_lock(&o->mu);
	if (!o->running) {
		pthread_mutex_unlock(&o->mu);
		return CHL_INVAL;
	}
	o->running = false;
	atomic_store_explicit(&o->done, true, memory_order_release);
	while ((w = chl_waitq_claim_first(&o->waiters)) != NULL) {
		*tail = w;
		tail = &w->next;
	}
	pthread_mutex_unlock(&o->mu);
	while (list) {
		w = list;
		list = w->next;   /* read before the wake: w may vanish after */
		w->next = NULL;
		w->status = CHL_OK;
		chl_parker_complete(w->parker, w, CHL_OK);
	}
	return CHL_OK;
}

void chl_once_dequeue(chl_once *o, chl_waiter *w)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	chl_waitq_remove(&o->waiters, w);
	pthread_mutex_unlock(&o->mu);
}

bool chl_once_done(chl_once *o)
{
	return o && atomic_load_explicit(&o->done, memory_order_acquire);
}

int chl_once_do(chl_once *o, void (*fn)(void *), void *arg)
{
	chl_parker *p;
	chl_waiter w;
	bool run;
	int rc;

	if (!o)
		return CHL_NIL;
	if (atomic_load_explicit(&o->done, memory_order_acquire))
		return CHL_OK;
	p = chl_thread_parker_self();
	for (;;) {
		chl_parker_prepare(p, "sync.Once.Do");
		chl_waiter_init(&w, p, o);
		rc = chl_once_begin(o, &w, &run);
		if (rc != CHL_WAIT)
			break;
		chl_thread_park(p);
		chl_assert(p->fired == &w);
	}
	if (rc == CHL_OK && run) {
		fn(arg);
		rc = chl_once_finish(o);
	}
	return rc;
}
