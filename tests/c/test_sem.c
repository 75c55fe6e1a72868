/*
 * test_sem.c - the weighted semaphore: weights, strict FIFO (a large
 * request queued first is served before later small ones), try_acquire,
 * over-release, giving up by context and by deadline (and the waiters
 * behind a head that gave up go on), and a stress run whose peak never
 * exceeds the size and that leaks no token.
 *
 * Queues are built deterministically with private thread parkers driven
 * through the parker-level API on the test thread; real threads are used
 * where blocking itself is what is tested.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "ctx.h"
#include "sem.h"
#include "helpers.h"

/* A parked acquirer stood for by a private parker. */
struct acq {
	chl_thread_parker tp;
	chl_waiter w;
};

static int acq_begin(struct acq *a, chl_sem *s, int64_t n)
{
	int rc;

	chl_thread_parker_init(&a->tp);
	chl_parker_prepare(&a->tp.p, "test");
	chl_waiter_init(&a->w, &a->tp.p, s);
	rc = chl_sem_acquire_begin(s, n, &a->w);
	if (rc == CHL_WAIT)
		chl_parker_commit(&a->tp.p);   /* drops the semaphore's lock */
	return rc;
}

static bool served(struct acq *a)
{
	return atomic_load(&a->tp.p.claimed) == 1 && a->tp.p.fired == &a->w
		&& a->tp.p.status == CHL_OK;
}

static void acq_done(struct acq *a)
{
	chl_thread_parker_destroy(&a->tp);
}

/* What a context or deadline does to a waiting acquirer: claim it and
 * complete it with no waiter fired. */
static void give_up(struct acq *a, int status)
{
	assert_true(chl_parker_claim(&a->tp.p));
	chl_parker_complete(&a->tp.p, NULL, status);
}

/* ---- weights, try, over-release ---- */

static void weights_acquire_3_of_5_then_3_waits_for_release(void **state)
{
	chl_sem *s = chl_sem_new(5);
	struct acq a, b;

	(void)state;
	assert_non_null(s);
	assert_int_equal(chl_sem_size(s), 5);
	assert_int_equal(acq_begin(&a, s, 3), CHL_OK);
	assert_int_equal(chl_sem_held(s), 3);
	assert_int_equal(acq_begin(&b, s, 3), CHL_WAIT);
	assert_int_equal(chl_sem_waiters(s), 1);
	assert_false(served(&b));
	assert_int_equal(chl_sem_release_n(s, 0), CHL_OK);   /* 2 free: still waits */
	assert_false(served(&b));
	assert_int_equal(chl_sem_release_n(s, 3), CHL_OK);   /* a's 3 back */
	assert_true(served(&b));
	assert_int_equal(chl_sem_held(s), 3);
	assert_int_equal(chl_sem_release_n(s, 3), CHL_OK);
	assert_int_equal(chl_sem_held(s), 0);
	acq_done(&a);
	acq_done(&b);
	chl_sem_release(s);
}

struct blocker {
	chl_sem *s;
	int64_t n;
	atomic_bool returned;
	int rc;
};

static void *blocker_thread(void *arg)
{
	struct blocker *b = arg;

	b->rc = chl_sem_acquire(b->s, b->n, NULL, -1);
	atomic_store(&b->returned, true);
	return NULL;
}

/* Wait (spinning, no sleep) until the semaphore has n queued waiters.
 * False if the thread that was to queue has returned instead (*gone: its
 * acquire failed, say for want of memory), so the count can never come. */
static bool await_waiters(chl_sem *s, int n, atomic_bool *gone)
{
	while (chl_sem_waiters(s) != n) {
		if (atomic_load(gone))
			return chl_sem_waiters(s) == n;
		sched_yield();
	}
	return true;
}

static void thread_blocks_until_release(void **state)
{
	chl_sem *s = chl_sem_new(5);
	struct blocker b = { s, 3, false, -99 };
	pthread_t th;

	(void)state;
	assert_non_null(s);
	assert_int_equal(chl_sem_acquire(s, 3, NULL, -1), CHL_OK);
	th = spawn(blocker_thread, &b);
	if (!await_waiters(s, 1, &b.returned)) {
		join(th);
		fail_msg("the blocker returned %d without waiting", b.rc);
	}
	assert_false(atomic_load(&b.returned));
	assert_int_equal(chl_sem_held(s), 3);
	assert_int_equal(chl_sem_release_n(s, 3), CHL_OK);
	join(th);
	assert_int_equal(b.rc, CHL_OK);
	assert_int_equal(chl_sem_held(s), 3);
	assert_int_equal(chl_sem_release_n(s, 3), CHL_OK);
	chl_sem_release(s);
}

static void try_acquire(void **state)
{
	chl_sem *s = chl_sem_new(4);
	struct acq a;

	(void)state;
	assert_non_null(s);
	assert_true(chl_sem_try_acquire(s, 3));
	assert_false(chl_sem_try_acquire(s, 2));
	assert_true(chl_sem_try_acquire(s, 1));
	assert_false(chl_sem_try_acquire(s, 1));
	assert_true(chl_sem_try_acquire(s, 0));
	assert_false(chl_sem_try_acquire(s, -1));
	assert_int_equal(chl_sem_release_n(s, 2), CHL_OK);
	/* Someone waits (for 3): try fails even though 1 would fit. */
	assert_int_equal(acq_begin(&a, s, 3), CHL_WAIT);
	assert_false(chl_sem_try_acquire(s, 1));
	assert_int_equal(chl_sem_release_n(s, 1), CHL_OK);
	assert_true(served(&a));
	assert_int_equal(chl_sem_held(s), 4);
	assert_int_equal(chl_sem_release_n(s, 4), CHL_OK);
	acq_done(&a);
	chl_sem_release(s);
}

static void over_release_is_a_code_and_count_unchanged(void **state)
{
	chl_sem *s = chl_sem_new(3);

	(void)state;
	assert_non_null(s);
	assert_int_equal(chl_sem_release_n(s, 1), CHL_SEM_OVERRELEASE);
	assert_int_equal(chl_sem_held(s), 0);
	assert_true(chl_sem_try_acquire(s, 2));
	assert_int_equal(chl_sem_release_n(s, 3), CHL_SEM_OVERRELEASE);
	assert_int_equal(chl_sem_held(s), 2);
	assert_int_equal(chl_sem_release_n(s, -1), CHL_INVAL);
	assert_int_equal(chl_sem_release_n(s, 2), CHL_OK);
	assert_int_equal(chl_sem_held(s), 0);
	assert_string_equal(chl_strerror(CHL_SEM_OVERRELEASE),
		"semaphore: released more than held");
	chl_sem_release(s);
}

static void nil_and_bad_arguments(void **state)
{
	(void)state;
	assert_null(chl_sem_new(-1));
	assert_int_equal(chl_sem_acquire(NULL, 1, NULL, -1), CHL_NIL);
	assert_int_equal(chl_sem_release_n(NULL, 1), CHL_NIL);
	assert_false(chl_sem_try_acquire(NULL, 1));
	assert_int_equal(chl_sem_size(NULL), -1);
	assert_int_equal(chl_sem_held(NULL), -1);
	chl_sem_release(NULL);
	chl_sem *s = chl_sem_new(0);     /* size 0: only n = 0 fits */
	assert_non_null(s);
	assert_true(chl_sem_try_acquire(s, 0));
	assert_false(chl_sem_try_acquire(s, 1));
	assert_int_equal(chl_sem_acquire(s, -2, NULL, -1), CHL_INVAL);
	chl_sem_release(s);
}

/* ---- FIFO ---- */

static void large_request_first_is_served_before_later_small_ones(void **state)
{
	chl_sem *s = chl_sem_new(5);
	struct acq big, small1, small2, late;

	(void)state;
	assert_non_null(s);
	assert_true(chl_sem_try_acquire(s, 5));
	assert_int_equal(acq_begin(&big, s, 4), CHL_WAIT);
	assert_int_equal(acq_begin(&small1, s, 1), CHL_WAIT);
	assert_int_equal(acq_begin(&small2, s, 1), CHL_WAIT);
	/* 2 free: both smalls would fit, but the big head does not: nobody. */
	assert_int_equal(chl_sem_release_n(s, 2), CHL_OK);
	assert_false(served(&big) || served(&small1) || served(&small2));
	assert_int_equal(chl_sem_held(s), 3);
	/* A newcomer that fits queues too (behind everyone). */
	assert_int_equal(acq_begin(&late, s, 1), CHL_WAIT);
	assert_int_equal(chl_sem_waiters(s), 4);
	/* 4 free: the big one goes first, the smalls still wait (0 left). */
	assert_int_equal(chl_sem_release_n(s, 2), CHL_OK);
	assert_true(served(&big));
	assert_false(served(&small1) || served(&small2) || served(&late));
	assert_int_equal(chl_sem_held(s), 5);
	/* The big one done: all three smalls fit, in order. */
	assert_int_equal(chl_sem_release_n(s, 4), CHL_OK);
	assert_true(served(&small1) && served(&small2) && served(&late));
	assert_int_equal(chl_sem_held(s), 4);
	assert_int_equal(chl_sem_waiters(s), 0);
	assert_int_equal(chl_sem_release_n(s, 4), CHL_OK);
	acq_done(&big);
	acq_done(&small1);
	acq_done(&small2);
	acq_done(&late);
	chl_sem_release(s);
}

/* A head that gives up (context/deadline) is dequeued, and the waiters
 * behind it that now fit go on: Go's notifyWaiters on cancel. */
static void waiters_behind_a_head_that_gave_up_proceed(void **state)
{
	chl_sem *s = chl_sem_new(5);
	struct acq head, s1, s2, big2;

	(void)state;
	assert_non_null(s);
	assert_true(chl_sem_try_acquire(s, 3));                /* 2 free */
	assert_int_equal(acq_begin(&head, s, 4), CHL_WAIT);
	assert_int_equal(acq_begin(&s1, s, 1), CHL_WAIT);
	assert_int_equal(acq_begin(&s2, s, 1), CHL_WAIT);
	assert_int_equal(acq_begin(&big2, s, 3), CHL_WAIT);
	give_up(&head, CHL_CANCELED);
	assert_false(served(&s1));                             /* not yet dequeued */
	chl_sem_dequeue(s, &head.w);
	assert_true(served(&s1) && served(&s2));
	assert_false(served(&big2));                           /* 0 free now */
	assert_int_equal(chl_sem_held(s), 5);
	chl_sem_dequeue(s, &head.w);                           /* idempotent */
	/* A waiter behind the head that gives up changes nothing for others. */
	assert_int_equal(chl_sem_release_n(s, 1), CHL_OK);     /* 1 free < 3 */
	assert_false(served(&big2));
	give_up(&big2, CHL_TIMEOUT);
	chl_sem_dequeue(s, &big2.w);
	assert_int_equal(chl_sem_waiters(s), 0);
	assert_int_equal(chl_sem_held(s), 4);
	assert_int_equal(chl_sem_release_n(s, 4), CHL_OK);
	acq_done(&head);
	acq_done(&s1);
	acq_done(&s2);
	acq_done(&big2);
	chl_sem_release(s);
}

/* A head whose wait was ended by its context but which is not dequeued
 * yet is skipped (and never given tokens) by a release that reaches it. */
static void release_skips_a_head_that_gave_up(void **state)
{
	chl_sem *s = chl_sem_new(2);
	struct acq head, next;

	(void)state;
	assert_non_null(s);
	assert_true(chl_sem_try_acquire(s, 2));
	assert_int_equal(acq_begin(&head, s, 1), CHL_WAIT);
	assert_int_equal(acq_begin(&next, s, 1), CHL_WAIT);
	give_up(&head, CHL_CANCELED);
	assert_int_equal(chl_sem_release_n(s, 1), CHL_OK);
	assert_true(served(&next));
	assert_ptr_equal(head.tp.p.fired, NULL);
	assert_int_equal(head.tp.p.status, CHL_CANCELED);
	assert_int_equal(chl_sem_held(s), 2);                  /* 1 + next's 1 */
	chl_sem_dequeue(s, &head.w);                           /* no-op now */
	assert_int_equal(chl_sem_held(s), 2);
	assert_int_equal(chl_sem_release_n(s, 2), CHL_OK);
	acq_done(&head);
	acq_done(&next);
	chl_sem_release(s);
}

/* ---- deadlines ---- */

static void acquire_with_deadline_times_out(void **state)
{
	chl_sem *s = chl_sem_new(2);
	int64_t t0, dt;

	(void)state;
	assert_non_null(s);
	assert_true(chl_sem_try_acquire(s, 2));
	t0 = chl_now();
	assert_int_equal(chl_sem_acquire(s, 1, NULL, t0 + 20 * MS), CHL_TIMEOUT);
	dt = chl_now() - t0;
	/* Not before the deadline; late by at most 2 s on a loaded machine. */
	assert_true(dt >= 20 * MS);
	assert_true(dt < 2000 * MS);
	assert_int_equal(chl_sem_held(s), 2);
	assert_int_equal(chl_sem_waiters(s), 0);
	/* A request larger than the size waits for the deadline, queues
	 * nothing, holds nobody up. */
	assert_int_equal(chl_sem_release_n(s, 2), CHL_OK);
	t0 = chl_now();
	assert_int_equal(chl_sem_acquire(s, 3, NULL, t0 + 10 * MS), CHL_TIMEOUT);
	assert_true(chl_now() - t0 >= 10 * MS);
	assert_true(chl_sem_try_acquire(s, 2));
	/* Tokens free at the call: a deadline does not stop the fast path. */
	assert_int_equal(chl_sem_release_n(s, 2), CHL_OK);
	assert_int_equal(chl_sem_acquire(s, 2, NULL, chl_now() + 10 * MS), CHL_OK);
	assert_int_equal(chl_sem_release_n(s, 2), CHL_OK);
	chl_sem_release(s);
}

/* A timed-out head lets the waiter behind it go: the head is a real
 * thread with a deadline, the next one a private parker queued behind it
 * by this thread (HEAD_MS leaves ample time to queue it first). */
#define HEAD_MS 300

struct timed {
	chl_sem *s;
	int64_t n, deadline;
	int rc;
	atomic_bool returned;
};

static void *timed_thread(void *arg)
{
	struct timed *t = arg;

	t->rc = chl_sem_acquire(t->s, t->n, NULL, t->deadline);
	atomic_store(&t->returned, true);
	return NULL;
}

static void timed_out_head_lets_the_next_go(void **state)
{
	chl_sem *s = chl_sem_new(3);
	struct timed head = { s, 3, 0, -99, false };
	struct acq next;
	pthread_t th;

	(void)state;
	assert_non_null(s);
	assert_true(chl_sem_try_acquire(s, 2));                /* 1 free */
	head.deadline = chl_now() + HEAD_MS * MS;
	th = spawn(timed_thread, &head);
	if (!await_waiters(s, 1, &head.returned)) {
		join(th);
		fail_msg("the head returned %d without waiting", head.rc);
	}
	/* next (1) fits, but waits behind head (3) ... */
	assert_int_equal(acq_begin(&next, s, 1), CHL_WAIT);
	join(th);
	/* ... until head times out and dequeues itself. */
	assert_int_equal(head.rc, CHL_TIMEOUT);
	assert_true(chl_now() >= head.deadline);
	assert_true(served(&next));
	assert_int_equal(chl_sem_held(s), 3);
	assert_int_equal(chl_sem_waiters(s), 0);
	assert_int_equal(chl_sem_release_n(s, 3), CHL_OK);
	acq_done(&next);
	chl_sem_release(s);
}

/* ---- contexts ---- */

static chl_ctx *new_cancel_ctx(void)
{
	chl_ctx *ctx = NULL;

	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &ctx), CHL_OK);
	return ctx;
}

static void cancel(chl_ctx *ctx)
{
	assert_int_equal(chl_ctx_cancel(ctx, CHL_CANCELED, NULL, NULL, NULL), CHL_OK);
}

static void acquire_with_canceled_ctx_fails_at_once(void **state)
{
	chl_sem *s = chl_sem_new(3);
	chl_ctx *ctx = new_cancel_ctx();

	(void)state;
	assert_non_null(s);
	cancel(ctx);
	/* Tokens are free, but Go fails on a done context first. */
	assert_int_equal(chl_sem_acquire(s, 1, ctx, -1), CHL_CANCELED);
	assert_int_equal(chl_sem_held(s), 0);
	/* A live context does not get in the way. */
	chl_ctx *live = new_cancel_ctx();
	assert_int_equal(chl_sem_acquire(s, 3, live, -1), CHL_OK);
	assert_int_equal(chl_sem_held(s), 3);
	assert_int_equal(chl_sem_release_n(s, 3), CHL_OK);
	chl_ctx_release(live);
	chl_ctx_release(ctx);
	chl_sem_release(s);
}

struct ctx_acq {
	chl_sem *s;
	chl_ctx *ctx;
	int64_t n;
	int rc;
	atomic_bool returned;
};

static void *ctx_acq_thread(void *arg)
{
	struct ctx_acq *a = arg;

	a->rc = chl_sem_acquire(a->s, a->n, a->ctx, -1);
	atomic_store(&a->returned, true);
	return NULL;
}

/* A waiting head canceled by its context: it gets the context's error,
 * holds nothing, and the waiters behind it that fit proceed. */
static void ctx_cancel_ends_wait_and_next_proceeds(void **state)
{
	chl_sem *s = chl_sem_new(4);
	chl_ctx *ctx = new_cancel_ctx();
	struct ctx_acq head = { s, ctx, 4, -99, false };
	struct acq next;
	pthread_t th;

	(void)state;
	assert_non_null(s);
	assert_true(chl_sem_try_acquire(s, 2));                /* 2 free */
	th = spawn(ctx_acq_thread, &head);
	if (!await_waiters(s, 1, &head.returned)) {
		join(th);
		fail_msg("the head returned %d without waiting", head.rc);
	}
	assert_int_equal(acq_begin(&next, s, 2), CHL_WAIT);    /* fits, but queued */
	cancel(ctx);
	join(th);
	assert_int_equal(head.rc, CHL_CANCELED);
	assert_true(served(&next));
	assert_int_equal(chl_sem_held(s), 4);
	assert_int_equal(chl_sem_waiters(s), 0);
	assert_int_equal(chl_sem_release_n(s, 4), CHL_OK);
	acq_done(&next);
	chl_ctx_release(ctx);
	chl_sem_release(s);
}

/* Larger than the size: waits (unqueued) for its context - here a
 * timeout, which reports Go's "context deadline exceeded". */
static void too_big_waits_for_ctx_deadline(void **state)
{
	chl_sem *s = chl_sem_new(2);
	chl_ctx *ctx = NULL;
	int64_t t0 = chl_now();

	(void)state;
	assert_non_null(s);
	assert_int_equal(chl_ctx_with_timeout(chl_ctx_background(), 20 * MS, &ctx), CHL_OK);
	assert_int_equal(chl_sem_acquire(s, 3, ctx, -1), CHL_DEADLINE);
	assert_true(chl_now() - t0 >= 20 * MS);
	assert_int_equal(chl_sem_held(s), 0);
	assert_true(chl_sem_try_acquire(s, 2));                /* nobody held up */
	assert_int_equal(chl_sem_release_n(s, 2), CHL_OK);
	chl_ctx_release(ctx);
	chl_sem_release(s);
}

/* ---- stress ----
 *
 * NTHREADS threads acquire random weights 1..SIZE - a quarter with a
 * 50 us deadline, a quarter with a context timing out after 50 us (so
 * give-ups race serves all the time) - hold them briefly and release.  Inside, each adds its weight
 * to a shared gauge: the gauge must never exceed SIZE.  At the end no
 * token is held and nobody is queued (nothing lost, nothing twice). */
#define NTHREADS 8
#define SIZE 5
#define ITERS 3000

struct stress {
	chl_sem *s;
	bool ctx_heavy;         /* half the acquires with a 50 us context */
	atomic_long gauge, peak;
	atomic_long acquired, timeouts;
	atomic_int errors;
};

static void *stress_thread(void *arg)
{
	struct stress *t = arg;
	unsigned seed = (unsigned)(uintptr_t)&seed;

	for (int i = 0; i < ITERS; i++) {
		int64_t n = 1 + rand_r(&seed) % SIZE;
		int mode = rand_r(&seed) % 4;   /* 0, 1: plain; 2: deadline; 3: ctx */

		if (t->ctx_heavy)
			mode = mode % 2 ? 3 : 0;
		int64_t deadline = mode == 2 ? chl_now() + 50000 : -1;
		chl_ctx *ctx = NULL;
		long g, peak;
		int rc;

		if (mode == 3 && chl_ctx_with_timeout(chl_ctx_background(), 50000, &ctx) != CHL_OK)
			atomic_fetch_add(&t->errors, 1);
		rc = chl_sem_acquire(t->s, n, ctx, deadline);
		chl_ctx_release(ctx);
		if (rc == CHL_TIMEOUT || rc == CHL_DEADLINE) {
			atomic_fetch_add(&t->timeouts, 1);
			continue;
		}
		if (rc != CHL_OK) {
			atomic_fetch_add(&t->errors, 1);
			continue;
		}
		g = atomic_fetch_add(&t->gauge, n) + n;
		peak = atomic_load(&t->peak);
		while (g > peak && !atomic_compare_exchange_weak(&t->peak, &peak, g))
			;
		for (volatile int k = 0; k < 2000; k++)
			;
		atomic_fetch_sub(&t->gauge, n);
		atomic_fetch_add(&t->acquired, 1);
		if (chl_sem_release_n(t->s, n) != CHL_OK)
			atomic_fetch_add(&t->errors, 1);
	}
	return NULL;
}

/* A failed acquire must hold nothing and a successful one must hold its
 * tokens: every release is checked (an over-release is an error) and the
 * count ends at 0.  ctx_heavy makes half the acquires race a 50 us
 * context, whose cancellation has a window (decided, done not yet
 * closed) where a context watch once ended the wait as a success. */
static void run_stress(bool ctx_heavy)
{
	struct stress t = { chl_sem_new(SIZE), ctx_heavy, 0, 0, 0, 0, 0 };
	pthread_t th[NTHREADS];

	assert_non_null(t.s);
	for (int i = 0; i < NTHREADS; i++)
		th[i] = spawn(stress_thread, &t);
	for (int i = 0; i < NTHREADS; i++)
		join(th[i]);
	printf("    stress: %ld acquired, %ld gave up, peak %ld of %d\n",
		atomic_load(&t.acquired), atomic_load(&t.timeouts),
		atomic_load(&t.peak), SIZE);
	assert_int_equal(atomic_load(&t.errors), 0);
	assert_true(atomic_load(&t.peak) <= SIZE);
	assert_true(atomic_load(&t.peak) >= 1);
	assert_int_equal(atomic_load(&t.acquired) + atomic_load(&t.timeouts),
		NTHREADS * ITERS);
	assert_int_equal(chl_sem_held(t.s), 0);
	assert_int_equal(chl_sem_waiters(t.s), 0);
	chl_sem_release(t.s);
}

static void stress_peak_never_exceeds_size(void **state)
{
	(void)state;
	run_stress(false);
}

static void stress_with_contexts_racing_acquires(void **state)
{
	(void)state;
	run_stress(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(weights_acquire_3_of_5_then_3_waits_for_release),
		cmocka_unit_test(thread_blocks_until_release),
		cmocka_unit_test(try_acquire),
		cmocka_unit_test(over_release_is_a_code_and_count_unchanged),
		cmocka_unit_test(nil_and_bad_arguments),
		cmocka_unit_test(large_request_first_is_served_before_later_small_ones),
		cmocka_unit_test(waiters_behind_a_head_that_gave_up_proceed),
		cmocka_unit_test(release_skips_a_head_that_gave_up),
		cmocka_unit_test(acquire_with_deadline_times_out),
		cmocka_unit_test(timed_out_head_lets_the_next_go),
		cmocka_unit_test(acquire_with_canceled_ctx_fails_at_once),
		cmocka_unit_test(ctx_cancel_ends_wait_and_next_proceeds),
		cmocka_unit_test(too_big_waits_for_ctx_deadline),
		cmocka_unit_test(stress_peak_never_exceeds_size),
		cmocka_unit_test(stress_with_contexts_racing_acquires),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
