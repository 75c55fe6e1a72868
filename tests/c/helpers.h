/*
 * helpers.h - what several C test files need: threads that must start,
 * short naps, bounded polls, a latch, a gate that holds the timer thread,
 * the exactly-once check of a stress test.
 *
 * Each test file is its own program, compiled alone against the library,
 * so everything here is static inline: a file pays only for what it
 * uses, and what it does not use raises no unused-function warning.
 * Failures go through cmocka's assertions, as in the tests themselves.
 */
#ifndef CHL_TEST_HELPERS_H
#define CHL_TEST_HELPERS_H

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "chan.h"
#include "timer.h"

#define MS (CHL_NS_PER_SEC / 1000)

/* How long wait_waiting polls before it gives up: a bug fails the test
 * instead of hanging it. */
#define WAIT_LIMIT_NS (20 * CHL_NS_PER_SEC)

/* ---- threads ---- */

/* A thread running fn(arg); fails the test if it cannot be made. */
static inline pthread_t spawn(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, fn, arg), 0);
	return t;
}

/* A thread running fn(arg) in *t; false (and no thread) if it cannot be
 * made, so the caller can undo what it set up before it fails the test. */
static inline bool try_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	return pthread_create(t, NULL, fn, arg) == 0;
}

/* Wait for t to end; its return value. */
static inline void *join(pthread_t t)
{
	void *rc = NULL;

	assert_int_equal(pthread_join(t, &rc), 0);
	return rc;
}

/* ---- time ---- */

/* Sleep ns nanoseconds (not for synchronisation: for pacing a poll, or
 * for giving another thread a chance to go wrong). */
static inline void nap(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / CHL_NS_PER_SEC), (long)(ns % CHL_NS_PER_SEC) };

	nanosleep(&ts, NULL);
}

/* Wait (at most 5 s) for the pending-timer count to become n: a callback
 * that has already done its work (woken a receiver, closed a done
 * channel) is counted until it returns.  Returns the count seen last. */
static inline int settle_pending(int n)
{
	int64_t until = chl_now() + 5 * CHL_NS_PER_SEC;

	while (chl_timers_pending() != n && chl_now() < until)
		nap(100 * 1000);
	return chl_timers_pending();
}

/* Until c has exactly `senders` queued senders and `receivers` queued
 * receivers (-1: any); false after WAIT_LIMIT_NS, or at once when
 * *gave_up (if given) turns non-zero: the awaited waiters will not come. */
static inline bool wait_waiting_unless(chl_chan *c, long senders, long receivers,
				       atomic_int *gave_up)
{
	int64_t limit = chl_now() + WAIT_LIMIT_NS;
	size_t s, r;

	for (;;) {
		chl_chan_waiting(c, &s, &r);
		if ((senders < 0 || (long)s == senders) &&
		    (receivers < 0 || (long)r == receivers))
			return true;
		if ((gave_up && atomic_load(gave_up)) || chl_now() > limit)
			return false;
		nap(100 * 1000);
	}
}

static inline bool wait_waiting(chl_chan *c, long senders, long receivers)
{
	return wait_waiting_unless(c, senders, receivers, NULL);
}

/* ---- a latch: wait until a count is reached ---- */

typedef struct latch {
	pthread_mutex_t mu;
	pthread_cond_t cv;     /* on CLOCK_MONOTONIC, for latch_wait_secs */
	int n;                 /* mu: latch_add calls so far */
} latch;

static inline void latch_init(latch *l)
{
	pthread_condattr_t a;

	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &a);
	pthread_condattr_destroy(&a);
	l->n = 0;
}

static inline void latch_destroy(latch *l)
{
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
}

static inline void latch_add(latch *l)
{
	pthread_mutex_lock(&l->mu);
	l->n++;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* Until latch_add was called at least n times. */
static inline void latch_wait(latch *l, int n)
{
	pthread_mutex_lock(&l->mu);
	while (l->n < n)
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
}

/* The same, for at most secs seconds: true if the count was reached. */
static inline bool latch_wait_secs(latch *l, int n, int secs)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&l->mu);
	while (l->n < n && pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0)
		;
	ok = l->n >= n;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

static inline int latch_get(latch *l)
{
	int n;

	pthread_mutex_lock(&l->mu);
	n = l->n;
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* ---- a gate that holds the timer thread ---- */

/* While the gate is held, the timer thread is inside the gate's callback,
 * so every other timer stays unfired (a passed deadline included). */
typedef struct timer_gate {
	chl_timer t;
	atomic_int entered;    /* the callback runs */
	atomic_int open;       /* the callback may return */
} timer_gate;

static inline void gate_fn(chl_timer *t, void *arg)
{
	timer_gate *g = arg;

	(void)t;
	atomic_store(&g->entered, 1);
	while (!atomic_load(&g->open))
		sched_yield();
}

/* Returns once the timer thread is held in g's callback. */
static inline void gate_hold(timer_gate *g)
{
	atomic_init(&g->entered, 0);
	atomic_init(&g->open, 0);
	chl_timer_init(&g->t, gate_fn, g);
	assert_int_equal(chl_timer_start(&g->t, chl_now(), 0), CHL_OK);
	while (!atomic_load(&g->entered))
		sched_yield();
}

/* Let the timer thread go on; returns once g's callback has returned (so
 * g may go out of scope).  Its one-shot timer fired: stop says false and
 * only waits out the callback. */
static inline void gate_open(timer_gate *g)
{
	atomic_store(&g->open, 1);
	assert_false(chl_timer_stop(&g->t));
}

/* ---- exactly once ---- */

/* A stress test's receivers counted, in seen[v], each value v in
 * [0, total) they got, and summed count and sum of what they got: every
 * value must have come exactly once, nothing else. */
static inline void assert_each_once(atomic_uchar *seen, uint32_t total,
	uint64_t count, uint64_t sum)
{
	long dup = 0, lost = 0;

	for (uint32_t v = 0; v < total; v++) {
		unsigned n = atomic_load(&seen[v]);

		dup += n > 1;
		lost += n == 0;
	}
	assert_int_equal(dup, 0);
	assert_int_equal(lost, 0);
	assert_int_equal(count, total);
	assert_int_equal(sum, (uint64_t)total * (total - 1) / 2);
}

#endif
