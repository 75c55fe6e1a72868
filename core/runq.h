/*
 * runq.h - the scheduler's run queues: intrusive FIFO lists of tasks.
 *
 * A run queue links tasks through chl_task.next, so putting a task on a
 * queue never allocates.  A task is on at most one queue at a time (it is
 * RUNNABLE there; sched.c asserts it).  The queue itself takes no lock:
 * whoever owns it (a worker's run-queue lock, the global lock) guards
 * head, tail and n.  n is atomic only so that other threads may read it
 * without that lock as a hint ("is there work over there?"); it is
 * written under the owner's lock, with sequentially consistent stores
 * because the idle protocol in sched.c pairs them with loads of the idle
 * count (a Dekker handshake: a pusher sees the sleeper, or the sleeper
 * sees the work).
 *
 * Costs: put and get are O(1); cut(k) walks k links, O(k).
 */
#ifndef CHL_RUNQ_H
#define CHL_RUNQ_H

#include <stdatomic.h>
#include <stddef.h>

#include "sched.h"

typedef struct chl_runq {
	chl_task *head, *tail;   /* the owner's lock */
	atomic_int n;            /* length; written under the owner's lock */
} chl_runq;

static inline void chl_runq_init(chl_runq *q)
{
	q->head = q->tail = NULL;
	atomic_init(&q->n, 0);
}

/* Length without the lock: a hint, exact only under the owner's lock. */
static inline int chl_runq_len(const chl_runq *q)
{
	return atomic_load(&q->n);
}

/* Append a chain of k tasks (first..last, linked by next, last->next
 * ignored).  Cannot fail. */
static inline void chl_runq_put_chain(chl_runq *q, chl_task *first,
	chl_task *last, int k)
{
	last->next = NULL;
	if (q->tail)
		q->tail->next = first;
	else
		q->head = first;
	q->tail = last;
	atomic_store(&q->n, atomic_load_explicit(&q->n, memory_order_relaxed) + k);
}

static inline void chl_runq_put(chl_runq *q, chl_task *t)
{
	chl_runq_put_chain(q, t, t, 1);
}

/* Put t at the front (it runs before the queue). */
static inline void chl_runq_push_front(chl_runq *q, chl_task *t)
{
	t->next = q->head;
	q->head = t;
	if (!q->tail)
		q->tail = t;
	atomic_store(&q->n, atomic_load_explicit(&q->n, memory_order_relaxed) + 1);
}

/* Unlink up to k tasks from the front and return them as a chain (NULL
 * when empty); *got says how many, *last the chain's last task.  O(k). */
static inline chl_task *chl_runq_cut(chl_runq *q, int k, int *got, chl_task **last)
{
	chl_task *first = q->head, *t = first;
	int n = atomic_load_explicit(&q->n, memory_order_relaxed);
	int i;

	if (k > n)
		k = n;
	if (k <= 0) {
		*got = 0;
		*last = NULL;
		return NULL;
	}
	for (i = 1; i < k; i++)
		t = t->next;
	q->head = t->next;
	if (!q->head)
		q->tail = NULL;
	t->next = NULL;
	atomic_store(&q->n, n - k);
	*got = k;
	*last = t;
	return first;
}

/* Unlink and return the task at position k (0: the head; k < length).
 * O(k): for a deterministic run's choice, not for the fast paths. */
static inline chl_task *chl_runq_take_at(chl_runq *q, int k)
{
	chl_task *prev = NULL, *t = q->head;

	for (int i = 0; i < k; i++) {
		prev = t;
		t = t->next;
	}
	if (prev)
		prev->next = t->next;
	else
		q->head = t->next;
	if (q->tail == t)
		q->tail = prev;
	t->next = NULL;
	atomic_store(&q->n, atomic_load_explicit(&q->n, memory_order_relaxed) - 1);
	return t;
}

static inline chl_task *chl_runq_get(chl_runq *q)
{
	chl_task *last;
	int got;

	return chl_runq_cut(q, 1, &got, &last);
}

#endif
