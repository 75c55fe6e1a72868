/*
 * waiter.c - parkers, thread parkers and wait queues.  The protocol they
 * implement is written down in waiter.h; this file keeps it honest.
 */
#include <stdlib.h>

#include "check.h"
#include "lock.h"
#include "waiter.h"

void chl_parker_prepare(chl_parker *p, const char *reason)
{
	atomic_store_explicit(&p->claimed, 0, memory_order_relaxed);
	p->fired = NULL;
	p->status = CHL_OK;
	p->unlock = NULL;
	p->unlock_arg = NULL;
	p->reason = reason;
	p->deadline_when = -1;
	p->deadline_armed = false;
	p->on_commit = NULL;
	p->on_commit_arg = NULL;
}

static void deadline_fired(chl_timer *t, void *arg);

void chl_parker_commit(chl_parker *p)
{
	chl_unlock_fn fn = p->unlock;
	chl_unlock_fn after = p->on_commit;

	/* The deadline timer and the on_commit step start while the primitive
	 * lock is still held, the unlock comes last (waiter.h, "Commit
	 * order"): once it is dropped a waker may complete the wait and the
	 * woken side may already be disarming - a timer started after that
	 * would fire into the parker's next wait.  They may fire at once:
	 * that is fine, the parker is parked (a thread's token keeps the
	 * wake; the worker marks the task PARKING before it commits and holds
	 * a ready that comes meanwhile until commit returns). */
	p->unlock = NULL;
	p->on_commit = NULL;
	if (p->deadline_when >= 0) {
		chl_timer_init(&p->deadline, deadline_fired, p);
		p->deadline_armed = true;
		if (chl_timer_start(&p->deadline, p->deadline_when, 0) != CHL_OK) {
			/* No memory for the heap: fail the wait now rather than
			 * hang; the waiter still gets an answer. */
			p->deadline_armed = false;
			if (chl_parker_claim(p))
				chl_parker_complete(p, NULL, CHL_NOMEM);
		}
	}
	if (after)
		after(p->on_commit_arg);
	if (fn)
		fn(p->unlock_arg);
}

void chl_parker_complete(chl_parker *p, chl_waiter *fired, int status)
{
	p->fired = fired;
	p->status = status;
	p->ready(p);   /* p may be gone once ready returns: touch nothing after */
}

static void deadline_fired(chl_timer *t, void *arg)
{
	chl_parker *p = arg;

	(void)t;
	if (chl_parker_claim(p))
		chl_parker_complete(p, NULL, CHL_TIMEOUT);
}

void chl_parker_arm_deadline(chl_parker *p, int64_t deadline_ns)
{
	p->deadline_when = deadline_ns < 0 ? 0 : deadline_ns;
}

void chl_parker_disarm(chl_parker *p)
{
	if (p->deadline_armed) {
		chl_timer_stop(&p->deadline);
		p->deadline_armed = false;
	}
	p->deadline_when = -1;
}

/* ---- thread parkers ---- */

static void thread_ready(chl_parker *p)
{
	chl_thread_parker *tp = (chl_thread_parker *)p;

	pthread_mutex_lock(&tp->mu);
	atomic_store_explicit(&tp->token, 1, memory_order_release);
	pthread_cond_signal(&tp->cv);
	pthread_mutex_unlock(&tp->mu);
}

void chl_thread_parker_init(chl_thread_parker *tp)
{
	tp->p.ready = thread_ready;
	atomic_init(&tp->p.claimed, 0);
	tp->p.fired = NULL;
	tp->p.status = CHL_OK;
	tp->p.unlock = NULL;
	tp->p.unlock_arg = NULL;
	tp->p.reason = NULL;
	tp->p.deadline_armed = false;
	tp->p.deadline_when = -1;
	tp->p.on_commit = NULL;
	tp->p.on_commit_arg = NULL;
	pthread_mutex_init(&tp->mu, NULL);
	pthread_cond_init(&tp->cv, NULL);
	atomic_init(&tp->token, 0);
}

void chl_thread_parker_destroy(chl_thread_parker *tp)
{
	pthread_cond_destroy(&tp->cv);
	pthread_mutex_destroy(&tp->mu);
}

/* Each thread's own parker lives in its thread-local storage, so that
 * blocking never allocates (and never fails for want of memory); the key
 * only destroys it when the thread ends. */
static pthread_key_t self_key;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static bool self_key_ok;
static _Thread_local chl_thread_parker self_tp;
static _Thread_local bool self_ready;

static void self_destroy(void *tp)
{
	chl_thread_parker_destroy(tp);
}

static void self_key_make(void)
{
	self_key_ok = pthread_key_create(&self_key, self_destroy) == 0;
}

chl_parker *chl_thread_parker_self(void)
{
	if (!self_ready) {
		chl_thread_parker_init(&self_tp);
		pthread_once(&self_once, self_key_make);
		if (self_key_ok)       /* else never destroyed: a no-op on Linux */
			pthread_setspecific(self_key, &self_tp);
		self_ready = true;
	}
	return &self_tp.p;
}

/* How long a parking thread watches its token before it sleeps: a sleep
 * and wake through the kernel cost tens of microseconds on a virtual
 * machine, many waits end sooner than that. */
#define PARK_SPIN_NS (20 * 1000)

void chl_thread_park(chl_parker *p)
{
	chl_thread_parker *tp = (chl_thread_parker *)p;
	int64_t until;
	unsigned i;

	chl_parker_commit(p);
	until = chl_real_now() + PARK_SPIN_NS;
	for (i = 1; !atomic_load_explicit(&tp->token, memory_order_acquire); i++) {
		if ((i & 63) == 0 && chl_real_now() > until)
			break;
		chl_cpu_relax();
	}
	/* The token is consumed under mu either way: the waker may still
	 * be inside its critical section (signalling). */
	pthread_mutex_lock(&tp->mu);
	while (!atomic_load_explicit(&tp->token, memory_order_relaxed))
		pthread_cond_wait(&tp->cv, &tp->mu);
	atomic_store_explicit(&tp->token, 0, memory_order_relaxed);
	pthread_mutex_unlock(&tp->mu);
}

/* ---- wait queues ---- */

void chl_waiter_init(chl_waiter *w, chl_parker *p, void *obj)
{
	w->next = w->prev = NULL;
	w->queued = false;
	w->parker = p;
	w->elem = NULL;
	w->n = 0;
	w->ok = false;
	w->status = CHL_OK;
	w->index = 0;
	w->obj = obj;
}

void chl_waitq_push(chl_waitq *q, chl_waiter *w)
{
	chl_assert(!w->queued);
	w->next = NULL;
	w->prev = q->tail;
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	w->queued = true;
}

void chl_waitq_remove(chl_waitq *q, chl_waiter *w)
{
	if (!w->queued)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
	w->next = w->prev = NULL;
	w->queued = false;
}

chl_waiter *chl_waitq_claim_first(chl_waitq *q)
{
	chl_waiter *w;

	while ((w = q->head) != NULL) {
		chl_waitq_remove(q, w);
		if (chl_parker_claim(w->parker))
			return w;
	}
	return NULL;
}
