/*
 * sem.c - the weighted semaphore: a count of held tokens and a FIFO of
 * waiting acquires, both under one lock.
 *
 * Invariants (under s->mu):
 *  - 0 <= cur <= size.
 *  - Every queued waiter has 0 <= w->n <= size (larger requests are never
 *    queued: they could never be served and would block everyone behind).
 *  - After any operation, the head waiter does not fit (size - cur < n)
 *    or its parker is already claimed by a context/deadline and its owner
 *    is on the way to dequeue it; every operation that frees tokens or
 *    removes the head runs serve() to restore this.
 * A waiter is served by claiming its parker under the lock and adding its
 * n to cur in the same critical section; so exactly one of "served" and
 * "canceled" happens to it (the claim decides), and a canceled waiter
 * never holds tokens.  Wakes happen after the lock is dropped.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "ctx.h"
#include "sem.h"
#include "refcount.h"

struct chl_sem {
	chl_refcount refs;     /* references; atomic, no lock */
	int64_t size;          /* tokens; fixed at creation */
	pthread_mutex_t mu;    /* guards cur and waiters */
	int64_t cur;           /* tokens held now; mu */
	chl_waitq waiters;     /* queued acquires, FIFO; mu */
};

chl_sem *chl_sem_new(int64_t size)
{
	chl_sem *s;

	if (size < 0 || !(s = calloc(1, sizeof *s)))
		return NULL;
	chl_ref_init(&s->refs);
	s->size = size;
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

chl_sem *chl_sem_retain(chl_sem *s)
{
	if (s)
		chl_ref_retain(&s->refs);
	return s;
}

void chl_sem_release(chl_sem *s)
{
	if (!s || !chl_ref_release(&s->refs))
		return;
	chl_assert(chl_waitq_empty(&s->waiters));
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void unlock_mu(void *arg)
{
	pthread_mutex_unlock(arg);
}

/* Serve waiters from the head while the head fits (Go's notifyWaiters):
 * stopping at the first that does not is what keeps a large request from
 * being starved by small ones behind it.  A head already claimed by its
 * context or deadline is just unlinked.  s->mu held; returns the served
 * waiters linked through next, to be woken after the lock is dropped. */
static chl_waiter *serve(chl_sem *s)
{
	chl_waiter *list = NULL, **tail = &list, *w;

	while ((w = s->waiters.head) != NULL) {
		if (s->size - s->cur < w->n)
			break;
		chl_waitq_remove(&s->waiters, w);
		if (!chl_parker_claim(w->parker))
			continue;
		s->cur += w->n;
		w->status = CHL_OK;
		*tail = w;
		tail = &w->next;
	}
	return list;
}

/* Wake what serve() returned.  No lock held. */
static void wake_list(chl_waiter *list)
{
	while (list) {
		chl_waiter *w = list;

		list = w->next;   /* read before the wake: w may vanish after */
		w->next = NULL;
		chl_parker_complete(w->parker, w, CHL_OK);
	}
}

int chl_sem_acquire_begin(chl_sem *s, int64_t n, chl_waiter *w)
{
	if (!s)
		return CHL_NIL;
	if (n < 0)
		return CHL_INVAL;
	pthread_mutex_lock(&s->mu);
	if (s->size - s->cur >= n && chl_waitq_empty(&s->waiters)) {
		s->cur += n;
		pthread_mutex_unlock(&s->mu);
		return CHL_OK;
	}
	w->n = n;
	w->obj = s;
	if (n <= s->size)
		chl_waitq_push(&s->waiters, w);
	chl_parker_set_unlock(w->parker, unlock_mu, &s->mu);
	return CHL_WAIT;
}

void chl_sem_dequeue(chl_sem *s, chl_waiter *w)
{
	chl_waiter *wake = NULL;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	if (w->queued) {
		bool was_head = s->waiters.head == w;

		chl_waitq_remove(&s->waiters, w);
		if (was_head)
			wake = serve(s);
	}
	pthread_mutex_unlock(&s->mu);
	wake_list(wake);
}

bool chl_sem_try_acquire(chl_sem *s, int64_t n)
{
	bool ok;

	if (!s || n < 0)
		return false;
	pthread_mutex_lock(&s->mu);
	ok = s->size - s->cur >= n && chl_waitq_empty(&s->waiters);
	if (ok)
		s->cur += n;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

int chl_sem_release_n(chl_sem *s, int64_t n)
{
	chl_waiter *wake;

	if (!s)
		return CHL_NIL;
	if (n < 0)
		return CHL_INVAL;
	pthread_mutex_lock(&s->mu);
	if (n > s->cur) {
		pthread_mutex_unlock(&s->mu);
		return CHL_SEM_OVERRELEASE;
	}
	s->cur -= n;
	wake = serve(s);
	pthread_mutex_unlock(&s->mu);
	wake_list(wake);
	return CHL_OK;
}

void chl_sem_abandon(chl_sem *s, chl_waiter *w)
{
	chl_waiter *wake = NULL;
	bool was_head = w->queued && s->waiters.head == w;

	chl_waitq_remove(&s->waiters, w);
	if (was_head)
		wake = serve(s);
	pthread_mutex_unlock(&s->mu);
	wake_list(wake);
}

int chl_sem_acquire(chl_sem *s, int64_t n, chl_ctx *ctx, int64_t deadline_ns)
{
	chl_parker *p;
	chl_waiter w;
	chl_ctx_hook hook;
	int rc;

	if (!s)
		return CHL_NIL;
	if (n < 0)
		return CHL_INVAL;
	/* Go fails at once on a done context, even when tokens are free. */
	if (ctx && (rc = chl_ctx_err(ctx)) != CHL_OK)
		return rc;
	p = chl_thread_parker_self();
	chl_parker_prepare(p, "semaphore.Acquire");
	chl_waiter_init(&w, p, s);
	if (deadline_ns >= 0)
		chl_parker_arm_deadline(p, deadline_ns);   /* starts at commit */
	rc = chl_sem_acquire_begin(s, n, &w);
	if (rc != CHL_WAIT) {
		chl_parker_disarm(p);
		return rc;
	}
	/* Queued, s->mu held: the watch goes on now (the context's lock is
	 * a leaf, below ours).  Done since the check above: give up here. */
	if (ctx && !chl_parker_watch_ctx(p, ctx, &hook)) {
		chl_sem_abandon(s, &w);
		chl_parker_disarm(p);
		return chl_ctx_err(ctx);
	}
	chl_thread_park(p);   /* drops s->mu, starts the deadline, sleeps */
	chl_parker_disarm(p);
	if (ctx)
		chl_parker_unwatch_ctx(ctx, &hook);
	if (p->fired != &w) {
		/* The context or the deadline won: we hold nothing. */
		chl_sem_dequeue(s, &w);
		return p->status;
	}
	/* Like Go: if the context ended while we were being served, give the
	 * tokens back and report it. */
	if (ctx && (rc = chl_ctx_err(ctx)) != CHL_OK) {
		chl_sem_release_n(s, n);
		return rc;
	}
	return CHL_OK;
}

int64_t chl_sem_size(chl_sem *s)
{
	return s ? s->size : -1;
}

int64_t chl_sem_held(chl_sem *s)
{
	int64_t n;

	if (!s)
		return -1;
	pthread_mutex_lock(&s->mu);
	n = s->cur;
	pthread_mutex_unlock(&s->mu);
	return n;
}

int chl_sem_waiters(chl_sem *s)
{
	int n = 0;

	if (!s)
		return -1;
	pthread_mutex_lock(&s->mu);
	for (chl_waiter *w = s->waiters.head; w; w = w->next)
		n++;
	pthread_mutex_unlock(&s->mu);
	return n;
}
