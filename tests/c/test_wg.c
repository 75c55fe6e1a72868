/*
 * test_wg.c - the WaitGroup: counter rules, the parker-level protocol, and
 * reuse as a barrier over many rounds by many threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "wg.h"
#include "helpers.h"

static void negative_counter_is_refused_and_count_unchanged(void **state)
{
	chl_wg *wg = chl_wg_new();

	(void)state;
	assert_non_null(wg);
	assert_int_equal(chl_wg_add(wg, 2), CHL_OK);
	assert_int_equal(chl_wg_add(wg, -3), CHL_NEGATIVE_WG);
	assert_int_equal(chl_wg_count(wg), 2);
	assert_int_equal(chl_wg_done(wg), CHL_OK);
	assert_int_equal(chl_wg_done(wg), CHL_OK);
	assert_int_equal(chl_wg_count(wg), 0);
	assert_int_equal(chl_wg_done(wg), CHL_NEGATIVE_WG);
	assert_int_equal(chl_wg_count(wg), 0);
	assert_string_equal(chl_strerror(CHL_NEGATIVE_WG),
		"sync: negative WaitGroup counter");
	/* Overflow is refused too, counter unchanged. */
	assert_int_equal(chl_wg_add(wg, INT64_MAX), CHL_OK);
	assert_int_equal(chl_wg_add(wg, 1), CHL_INVAL);
	assert_int_equal(chl_wg_count(wg), INT64_MAX);
	assert_int_equal(chl_wg_add(wg, -INT64_MAX), CHL_OK);
	assert_int_equal(chl_wg_count(wg), 0);
	chl_wg_release(wg);
}

static void wait_on_zero_returns_at_once(void **state)
{
	chl_thread_parker tp;
	chl_waiter w;
	chl_wg *wg = chl_wg_new();

	(void)state;
	assert_non_null(wg);
	chl_thread_parker_init(&tp);
	chl_parker_prepare(&tp.p, "test");
	chl_waiter_init(&w, &tp.p, wg);
	assert_int_equal(chl_wg_wait_begin(wg, &w), CHL_OK);  /* not CHL_WAIT */
	assert_false(w.queued);
	assert_int_equal(chl_wg_wait(wg), CHL_OK);            /* would hang if wrong */
	/* After a full round it is zero again: no stale state. */
	assert_int_equal(chl_wg_add(wg, 1), CHL_OK);
	assert_int_equal(chl_wg_done(wg), CHL_OK);
	assert_int_equal(chl_wg_wait(wg), CHL_OK);
	chl_thread_parker_destroy(&tp);
	chl_wg_release(wg);
}

/* The parker-level protocol step by step, on one thread: wait_begin
 * queues and keeps the lock, commit drops it, the last done() claims and
 * completes the parker with fired == w. */
static void wait_begin_queues_and_last_done_completes(void **state)
{
	chl_thread_parker tp;
	chl_waiter w;
	chl_wg *wg = chl_wg_new();

	(void)state;
	assert_non_null(wg);
	chl_thread_parker_init(&tp);
	assert_int_equal(chl_wg_add(wg, 2), CHL_OK);
	chl_parker_prepare(&tp.p, "test");
	chl_waiter_init(&w, &tp.p, wg);
	assert_int_equal(chl_wg_wait_begin(wg, &w), CHL_WAIT);
	assert_true(w.queued);
	chl_parker_commit(&tp.p);   /* drops the group's lock */
	assert_int_equal(chl_wg_done(wg), CHL_OK);
	assert_int_equal(atomic_load(&tp.p.claimed), 0);
	assert_int_equal(chl_wg_done(wg), CHL_OK);
	assert_int_equal(atomic_load(&tp.p.claimed), 1);
	assert_ptr_equal(tp.p.fired, &w);
	assert_int_equal(tp.p.status, CHL_OK);
	assert_false(w.queued);
	assert_int_equal(tp.token, 1);
	chl_thread_parker_destroy(&tp);
	chl_wg_release(wg);
}

static void nil_group(void **state)
{
	(void)state;
	assert_int_equal(chl_wg_add(NULL, 1), CHL_NIL);
	assert_int_equal(chl_wg_wait(NULL), CHL_NIL);
	assert_int_equal(chl_wg_count(NULL), -1);
	assert_null(chl_wg_retain(NULL));
	chl_wg_release(NULL);
}

/* ---- reuse as a barrier ----
 *
 * Main coordinates ROUNDS rounds of NTHREADS workers with four groups:
 * gate[r % 2] holds the workers before round r (armed with 1 before round
 * r-1 opens, opened by done()), bar is a barrier among the workers inside
 * a round, fin tells main that every worker finished round r.  Re-arming
 * a group happens only after every wait on its previous round returned,
 * which is the reuse rule. Nobody may pass early:
 *  - a worker past gate r must see main's round == r;
 *  - a worker past bar in round r must see all NTHREADS arrivals of r;
 *  - main past fin must see all NTHREADS finishes of round r.
 * Workers count violations; main asserts on them at the end. */
#define NTHREADS 8
#define ROUNDS 1000

struct barrier_test {
	chl_wg *gate[2], *bar, *fin;
	atomic_int round;                 /* written by main before opening a gate */
	atomic_int arrived[ROUNDS];       /* workers at bar in round r */
	atomic_int finished[ROUNDS];      /* workers done with round r */
	atomic_int early;                 /* violations seen by workers */
	atomic_int errors;                /* unexpected status codes */
};

static void *barrier_worker(void *arg)
{
	struct barrier_test *t = arg;

	for (int r = 0; r < ROUNDS; r++) {
		if (chl_wg_wait(t->gate[r % 2]) != CHL_OK)
			atomic_fetch_add(&t->errors, 1);
		if (atomic_load(&t->round) != r)
			atomic_fetch_add(&t->early, 1);
		atomic_fetch_add(&t->arrived[r], 1);
		if (chl_wg_done(t->bar) != CHL_OK || chl_wg_wait(t->bar) != CHL_OK)
			atomic_fetch_add(&t->errors, 1);
		if (atomic_load(&t->arrived[r]) != NTHREADS)
			atomic_fetch_add(&t->early, 1);
		atomic_fetch_add(&t->finished[r], 1);
		if (chl_wg_done(t->fin) != CHL_OK)
			atomic_fetch_add(&t->errors, 1);
	}
	return NULL;
}

static void reusable_barrier_many_rounds(void **state)
{
	static struct barrier_test t;   /* big: keep it off the stack */
	pthread_t th[NTHREADS];
	int main_early = 0;

	(void)state;
	t.gate[0] = chl_wg_new();
	t.gate[1] = chl_wg_new();
	t.bar = chl_wg_new();
	t.fin = chl_wg_new();
	if (!t.gate[0] || !t.gate[1] || !t.bar || !t.fin) {
		chl_wg_release(t.gate[0]);
		chl_wg_release(t.gate[1]);
		chl_wg_release(t.bar);
		chl_wg_release(t.fin);
		fail_msg("chl_wg_new returned NULL");
	}
	atomic_store(&t.round, -1);
	assert_int_equal(chl_wg_add(t.gate[0], 1), CHL_OK);
	for (int i = 0; i < NTHREADS; i++)
		th[i] = spawn(barrier_worker, &t);
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(chl_wg_add(t.bar, NTHREADS), CHL_OK);
		assert_int_equal(chl_wg_add(t.fin, NTHREADS), CHL_OK);
		assert_int_equal(chl_wg_add(t.gate[(r + 1) % 2], 1), CHL_OK);
		atomic_store(&t.round, r);
		assert_int_equal(chl_wg_done(t.gate[r % 2]), CHL_OK);
		assert_int_equal(chl_wg_wait(t.fin), CHL_OK);
		if (atomic_load(&t.finished[r]) != NTHREADS)
			main_early++;
		if (r + 1 < ROUNDS && atomic_load(&t.arrived[r + 1]) != 0)
			main_early++;
	}
	/* The last gate was armed for a round that never comes: open it. */
	assert_int_equal(chl_wg_done(t.gate[ROUNDS % 2]), CHL_OK);
	for (int i = 0; i < NTHREADS; i++)
		join(th[i]);
	assert_int_equal(main_early, 0);
	assert_int_equal(atomic_load(&t.early), 0);
	assert_int_equal(atomic_load(&t.errors), 0);
	for (int r = 0; r < ROUNDS; r++)
		assert_int_equal(atomic_load(&t.finished[r]), NTHREADS);
	assert_int_equal(chl_wg_count(t.bar), 0);
	assert_int_equal(chl_wg_count(t.fin), 0);
	chl_wg_release(t.gate[0]);
	chl_wg_release(t.gate[1]);
	chl_wg_release(t.bar);
	chl_wg_release(t.fin);
}

/* Many waiters on one group are all woken by the one done() that brings
 * it to zero. */
struct many_waiters {
	chl_wg *wg, *ready;
	atomic_int returned;
};

static void *waiter_thread(void *arg)
{
	struct many_waiters *m = arg;

	chl_wg_done(m->ready);
	if (chl_wg_wait(m->wg) == CHL_OK)
		atomic_fetch_add(&m->returned, 1);
	return NULL;
}

static void zero_wakes_every_waiter(void **state)
{
	struct many_waiters m = { chl_wg_new(), chl_wg_new(), 0 };
	pthread_t th[NTHREADS];

	(void)state;
	if (!m.wg || !m.ready) {
		chl_wg_release(m.wg);
		chl_wg_release(m.ready);
		fail_msg("chl_wg_new returned NULL");
	}
	assert_int_equal(chl_wg_add(m.wg, 1), CHL_OK);
	assert_int_equal(chl_wg_add(m.ready, NTHREADS), CHL_OK);
	for (int i = 0; i < NTHREADS; i++)
		th[i] = spawn(waiter_thread, &m);
	chl_wg_wait(m.ready);
	assert_int_equal(atomic_load(&m.returned), 0);  /* the counter is still 1 */
	assert_int_equal(chl_wg_done(m.wg), CHL_OK);
	for (int i = 0; i < NTHREADS; i++)
		join(th[i]);
	assert_int_equal(atomic_load(&m.returned), NTHREADS);
	chl_wg_release(m.wg);
	chl_wg_release(m.ready);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(negative_counter_is_refused_and_count_unchanged),
		cmocka_unit_test(wait_on_zero_returns_at_once),
		cmocka_unit_test(wait_begin_queues_and_last_done_completes),
		cmocka_unit_test(nil_group),
		cmocka_unit_test(zero_wakes_every_waiter),
		cmocka_unit_test(reusable_barrier_many_rounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
