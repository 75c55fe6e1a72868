/*
 * test_once.c - sync.Once: one run among racing callers, everyone returns
 * only after it finished, a failed run counts as done, the protocol.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "once.h"
#include "wg.h"
#include "helpers.h"

#define NTHREADS 8
#define RACES 200

/* Each race: NTHREADS threads released together call chl_once_do on a new
 * Once.  fn counts its runs, and - while every other thread has had the
 * chance to arrive - keeps "running" until all the others have at least
 * entered chl_once_do, so they really wait for it.  After returning, each
 * thread checks that fn had finished. */
struct race {
	chl_once *once;
	chl_wg *go;             /* gate: all threads start together */
	atomic_int entered;     /* threads inside chl_once_do */
	atomic_int runs;        /* times fn started */
	atomic_bool finished;   /* fn has returned */
	atomic_int early;       /* threads that returned before fn finished */
	atomic_int errors;
};

static void slow_fn(void *arg)
{
	struct race *r = arg;

	atomic_fetch_add(&r->runs, 1);
	/* Hold the run until everyone is in chl_once_do (bounded: give up
	 * after a long time rather than hang if a thread cannot come). */
	for (long spins = 0; atomic_load(&r->entered) < NTHREADS && spins < 100000000L; spins++)
		;
	atomic_store(&r->finished, true);
}

static void *race_thread(void *arg)
{
	struct race *r = arg;

	chl_wg_wait(r->go);
	atomic_fetch_add(&r->entered, 1);
	if (chl_once_do(r->once, slow_fn, r) != CHL_OK)
		atomic_fetch_add(&r->errors, 1);
	if (!atomic_load(&r->finished))
		atomic_fetch_add(&r->early, 1);
	if (!chl_once_done(r->once))
		atomic_fetch_add(&r->early, 1);
	return NULL;
}

static void racing_callers_run_fn_exactly_once(void **state)
{
	(void)state;
	for (int k = 0; k < RACES; k++) {
		struct race r = { chl_once_new(), chl_wg_new(), 0, 0, false, 0, 0 };
		pthread_t th[NTHREADS];

		if (!r.once || !r.go) {
			chl_once_release(r.once);
			chl_wg_release(r.go);
			fail_msg("chl_once_new or chl_wg_new returned NULL");
		}
		assert_int_equal(chl_wg_add(r.go, 1), CHL_OK);
		for (int i = 0; i < NTHREADS; i++)
			th[i] = spawn(race_thread, &r);
		assert_int_equal(chl_wg_done(r.go), CHL_OK);
		for (int i = 0; i < NTHREADS; i++)
			join(th[i]);
		assert_int_equal(atomic_load(&r.runs), 1);
		assert_int_equal(atomic_load(&r.early), 0);
		assert_int_equal(atomic_load(&r.errors), 0);
		assert_true(chl_once_done(r.once));
		chl_once_release(r.once);
		chl_wg_release(r.go);
	}
}

/* The parker-level protocol on one thread: the first begin says run, a
 * second caller waits, finish wakes it and its next begin says done. */
static void begin_run_wait_finish(void **state)
{
	chl_once *o = chl_once_new();
	chl_thread_parker tp;
	chl_waiter w0, w;
	bool run;

	(void)state;
	assert_non_null(o);
	chl_thread_parker_init(&tp);
	chl_waiter_init(&w0, &tp.p, o);
	assert_false(chl_once_done(o));
	assert_int_equal(chl_once_finish(o), CHL_INVAL);   /* nothing running */
	assert_int_equal(chl_once_begin(o, &w0, &run), CHL_OK);
	assert_true(run);
	chl_parker_prepare(&tp.p, "test");
	chl_waiter_init(&w, &tp.p, o);
	assert_int_equal(chl_once_begin(o, &w, &run), CHL_WAIT);
	assert_false(run);
	chl_parker_commit(&tp.p);
	assert_int_equal(atomic_load(&tp.p.claimed), 0);
	assert_false(chl_once_done(o));
	/* The run "failed": finish all the same - Go counts a panic as done. */
	assert_int_equal(chl_once_finish(o), CHL_OK);
	assert_int_equal(atomic_load(&tp.p.claimed), 1);
	assert_ptr_equal(tp.p.fired, &w);
	assert_true(chl_once_done(o));
	assert_int_equal(chl_once_begin(o, &w, &run), CHL_OK);
	assert_false(run);
	assert_int_equal(chl_once_finish(o), CHL_INVAL);   /* already done */
	chl_thread_parker_destroy(&tp);
	chl_once_release(o);
}

static void count_fn(void *arg)
{
	(*(int *)arg)++;
}

static void do_after_done_does_not_run_again(void **state)
{
	chl_once *o = chl_once_new();
	int n = 0;

	(void)state;
	assert_non_null(o);
	assert_int_equal(chl_once_do(o, count_fn, &n), CHL_OK);
	assert_int_equal(chl_once_do(o, count_fn, &n), CHL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(chl_once_do(NULL, count_fn, &n), CHL_NIL);
	assert_false(chl_once_done(NULL));
	chl_once_release(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(begin_run_wait_finish),
		cmocka_unit_test(do_after_done_does_not_run_again),
		cmocka_unit_test(racing_callers_run_fn_exactly_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
