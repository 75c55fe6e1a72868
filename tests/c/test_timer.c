/*
 * test_timer.c - the timer heap (timer.h) and time channels (timechan.h).
 *
 * Timing tolerance: a fire or a sleep must never come early, and may come
 * at most LATE_NS late.  50 ms is plenty on an idle machine; the shared
 * 2-core box under ThreadSanitizer, with 8 test runs in parallel, has
 * shown scheduling stalls far beyond that, so the bound is 300 ms: it
 * still catches a timer that waits for the wrong deadline or a lost
 * wake-up (which waits forever).
 *
 * cmocka's asserts are only used on the main thread; other threads record
 * what they saw and the main thread checks it.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "chan.h"
#include "timechan.h"
#include "timer.h"
#include "helpers.h"

#define LATE_NS (300 * MS)

/* ---- firing order ---- */

#define ORDER_N 300

static struct {
	latch fired;
	int order[ORDER_N];
	int64_t at[ORDER_N];
} ord;

static void order_fn(chl_timer *t, void *arg)
{
	int i = (int)(intptr_t)arg;

	(void)t;
	pthread_mutex_lock(&ord.fired.mu);
	ord.at[ord.fired.n] = chl_now();
	ord.order[ord.fired.n] = i;
	ord.fired.n++;
	pthread_cond_broadcast(&ord.fired.cv);
	pthread_mutex_unlock(&ord.fired.mu);
}

static void timers_fire_in_deadline_order(void **state)
{
	static chl_timer ts[ORDER_N];
	timer_gate g;
	int64_t start;
	int perm[ORDER_N], i;

	(void)state;
	latch_init(&ord.fired);
	srand(42);
	/* Hold the timer thread until every ordered timer is in the heap, so
	 * a slow start (ThreadSanitizer, a loaded machine) cannot let an
	 * early one fire before a later one is inserted. */
	gate_hold(&g);
	/* Distinct deadlines, 100 us apart, started in a shuffled order. */
	start = chl_now();
	for (i = 0; i < ORDER_N; i++)
		chl_timer_init(&ts[i], order_fn, (void *)(intptr_t)i);
	for (i = 0; i < ORDER_N; i++)
		perm[i] = i;
	for (i = ORDER_N - 1; i > 0; i--) {
		int j = rand() % (i + 1), x = perm[i];
		perm[i] = perm[j];
		perm[j] = x;
	}
	for (i = 0; i < ORDER_N; i++) {
		int rc = chl_timer_start(&ts[perm[i]],
			start + MS + perm[i] * (MS / 10), 0);

		if (rc != CHL_OK) {
			/* The timers on this stack must not outlive the test,
			 * nor the gate hold the timer thread. */
			for (int k = 0; k < i; k++)
				chl_timer_stop(&ts[perm[k]]);
			gate_open(&g);
			latch_destroy(&ord.fired);
			assert_int_equal(rc, CHL_OK);
		}
	}
	gate_open(&g);
	latch_wait(&ord.fired, ORDER_N);
	for (i = 0; i < ORDER_N; i++) {
		assert_int_equal(ord.order[i], i);
		assert_true(ord.at[i] >= ts[i].when);
		assert_int_equal(ts[i].index, -1);
		assert_false(chl_timer_stop(&ts[i]));
	}
	latch_destroy(&ord.fired);
}

/* ---- stop ---- */

static void count_fn(chl_timer *t, void *arg)
{
	(void)t;
	latch_add(arg);
}

static void stop_returns_whether_pending(void **state)
{
	chl_timer t;
	latch l;

	(void)state;
	latch_init(&l);
	chl_timer_init(&t, count_fn, &l);
	assert_false(chl_timer_stop(&t));                 /* never started */
	assert_int_equal(chl_timer_start(&t, chl_now() + 3600 * CHL_NS_PER_SEC, 0), CHL_OK);
	assert_true(chl_timer_stop(&t));
	assert_false(chl_timer_stop(&t));                 /* already stopped */
	/* Move a far timer close: it fires once, at the new time. */
	assert_int_equal(chl_timer_start(&t, chl_now() + 3600 * CHL_NS_PER_SEC, 0), CHL_OK);
	if (chl_timer_start(&t, chl_now() + 5 * MS, 0) != CHL_OK) {
		chl_timer_stop(&t);   /* t is on this stack */
		fail_msg("cannot move the timer");
	}
	latch_wait(&l, 1);
	assert_false(chl_timer_stop(&t));                 /* already fired */
	assert_int_equal(latch_get(&l), 1);
	latch_destroy(&l);
}

static struct {
	latch entered;
	pthread_mutex_t mu;
	int release;        /* mu: the callback may return */
	int finished;       /* written by the callback before it returns, read
	                       after stop returned (stop orders the two) */
} slow;

static void slow_fn(chl_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	latch_add(&slow.entered);
	for (;;) {
		int r;
		pthread_mutex_lock(&slow.mu);
		r = slow.release;
		pthread_mutex_unlock(&slow.mu);
		if (r)
			break;
		sched_yield();   /* not chl_sleep: this is the timer thread */
	}
	slow.finished = 1;
}

static void *release_later(void *arg)
{
	(void)arg;
	/* Not chl_sleep: the timer thread is busy in slow_fn. */
	nap(30 * MS);
	pthread_mutex_lock(&slow.mu);
	slow.release = 1;
	pthread_mutex_unlock(&slow.mu);
	return NULL;
}

static void stop_waits_for_running_callback(void **state)
{
	chl_timer t;
	pthread_t th;

	(void)state;
	latch_init(&slow.entered);
	pthread_mutex_init(&slow.mu, NULL);
	chl_timer_init(&t, slow_fn, NULL);
	assert_int_equal(chl_timer_start(&t, chl_now(), 0), CHL_OK);
	latch_wait(&slow.entered, 1);
	/* The callback is running now and holds on until release_later lets
	 * it go; pending counts it although the heap no longer holds it. */
	assert_true(chl_timers_pending() >= 1);
	th = spawn(release_later, NULL);
	assert_false(chl_timer_stop(&t));   /* one-shot, not pending, running */
	assert_int_equal(slow.finished, 1);
	assert_int_equal(t.running, 0);
	join(th);
	pthread_mutex_destroy(&slow.mu);
	latch_destroy(&slow.entered);
}

/* A ticker that stops itself from its own callback must not deadlock. */
static struct {
	latch l;
	chl_timer t;
	int fires;          /* only the timer thread touches it until stopped */
} selfstop;

static void selfstop_fn(chl_timer *t, void *arg)
{
	(void)arg;
	if (++selfstop.fires == 3) {
		/* A ticker is pending while it runs: stop must say true. */
		if (!chl_timer_stop(t))
			selfstop.fires = -1000;
		latch_add(&selfstop.l);
	}
}

static void ticker_stops_itself_from_callback(void **state)
{
	(void)state;
	latch_init(&selfstop.l);
	chl_timer_init(&selfstop.t, selfstop_fn, NULL);
	assert_int_equal(chl_timer_start(&selfstop.t, chl_now() + MS, 2 * MS), CHL_OK);
	latch_wait(&selfstop.l, 1);
	assert_false(chl_timer_stop(&selfstop.t));
	assert_int_equal(selfstop.fires, 3);
	assert_int_equal(selfstop.t.running, 0);
	assert_int_equal(selfstop.t.index, -1);
	latch_destroy(&selfstop.l);
}

/* ---- pending count ---- */

static void pending_counts_heap_entries(void **state)
{
	chl_timer t[3];
	int base = settle_pending(0), i;

	(void)state;
	for (i = 0; i < 3; i++) {
		chl_timer_init(&t[i], count_fn, NULL);
		if (chl_timer_start(&t[i], chl_now() + 3600 * CHL_NS_PER_SEC, 0) != CHL_OK) {
			while (i-- > 0)
				chl_timer_stop(&t[i]);   /* on this stack */
			fail_msg("cannot start timer");
		}
	}
	assert_int_equal(chl_timers_pending(), base + 3);
	for (i = 0; i < 3; i++)
		assert_true(chl_timer_stop(&t[i]));
	assert_int_equal(chl_timers_pending(), base);
}

/* ---- a storm of starts and stops from several threads ---- */

#define STORM_THREADS 4
#define STORM_N 1500

typedef struct storm_timer {
	chl_timer t;
	atomic_int fired;
	bool stopped;          /* stop returned true (owner thread only) */
} storm_timer;

static atomic_int storm_fires;

static void storm_fn(chl_timer *t, void *arg)
{
	storm_timer *s = arg;

	(void)t;
	atomic_fetch_add(&s->fired, 1);
	atomic_fetch_add(&storm_fires, 1);
}

static void *storm_thread(void *arg)
{
	storm_timer *ts = arg;
	unsigned seed = (unsigned)(uintptr_t)arg;
	int i;

	for (i = 0; i < STORM_N; i++) {
		chl_timer_init(&ts[i].t, storm_fn, &ts[i]);
		atomic_init(&ts[i].fired, 0);
		ts[i].stopped = false;
		if (chl_timer_start(&ts[i].t, chl_now() + (rand_r(&seed) % 2000) * 1000, 0) != CHL_OK)
			return (void *)1;
		if (i >= 3 && rand_r(&seed) % 2) {
			int j = i - (int)(rand_r(&seed) % 4);
			if (!ts[j].stopped)
				ts[j].stopped = chl_timer_stop(&ts[j].t);
		}
	}
	return NULL;
}

static void storm_of_starts_and_stops(void **state)
{
	storm_timer *ts = calloc(STORM_THREADS * STORM_N, sizeof *ts);
	pthread_t th[STORM_THREADS];
	int i, expect = 0;

	(void)state;
	assert_non_null(ts);
	atomic_init(&storm_fires, 0);
	for (i = 0; i < STORM_THREADS; i++)
		th[i] = spawn(storm_thread, ts + i * STORM_N);
	void *rc[STORM_THREADS];

	for (i = 0; i < STORM_THREADS; i++)
		rc[i] = join(th[i]);   /* all of them, before any can fail */
	for (i = 0; i < STORM_THREADS; i++)
		assert_null(rc[i]);
	/* Every timer either fired exactly once or was stopped while
	 * pending - never both, never neither.  Wait for the stragglers by
	 * stopping each one: stop waits out a running callback. */
	for (i = 0; i < STORM_THREADS * STORM_N; i++)
		if (!ts[i].stopped)
			expect++;
	while (atomic_load(&storm_fires) < expect)
		chl_sleep(MS);
	for (i = 0; i < STORM_THREADS * STORM_N; i++) {
		assert_false(chl_timer_stop(&ts[i].t));
		assert_int_equal(atomic_load(&ts[i].fired), ts[i].stopped ? 0 : 1);
	}
	assert_int_equal(atomic_load(&storm_fires), expect);
	free(ts);
}

/* ---- time channels ---- */

static int64_t recv_time(chl_chan *c)
{
	int64_t v = -1;
	bool ok = false;

	assert_int_equal(chl_chan_recv(c, &v, &ok), CHL_OK);
	assert_true(ok);
	return v;
}

static void after_fires_once_within_tolerance(void **state)
{
	int64_t start = chl_now(), d = 30 * MS, v, got;
	chl_chan *c = chl_after(d);
	bool ok;

	(void)state;
	assert_non_null(c);
	v = recv_time(c);
	got = chl_now();
	assert_true(v >= start + d);              /* never early */
	assert_true(got - start <= d + LATE_NS);  /* tolerance: see top */
	assert_true(v <= got);
	/* Once only: nothing more arrives in a further 20 ms. */
	assert_int_equal(chl_chan_recv_until(c, &v, &ok, chl_now() + 20 * MS), CHL_TIMEOUT);
	chl_chan_release(c);
}

static void after_survives_an_early_release(void **state)
{
	int base = settle_pending(0);
	chl_chan *c = chl_after(200 * MS);

	(void)state;
	assert_non_null(c);
	assert_int_equal(chl_timers_pending(), base + 1);   /* 200 ms to look */
	chl_chan_release(c);   /* the timer's own reference keeps it alive */
	/* The fire frees the record: ASan would report a leak or a use
	 * after free. */
	assert_int_equal(settle_pending(base), base);
}

static void timer_stop_and_reset(void **state)
{
	chl_timechan *t = chl_timechan_new(3600 * CHL_NS_PER_SEC, 0);
	int64_t start, v;

	(void)state;
	assert_non_null(t);
	assert_false(chl_timechan_is_ticker(t));
	assert_true(chl_timechan_stop(t));
	assert_false(chl_timechan_stop(t));
	assert_false(chl_timechan_reset(t, 3600 * CHL_NS_PER_SEC)); /* was stopped */
	assert_true(chl_timechan_reset(t, 10 * MS));                 /* was pending */
	start = chl_now();
	v = recv_time(chl_timechan_chan(t));
	assert_true(v >= start + 10 * MS - MS);  /* reset happened just before start */
	assert_false(chl_timechan_stop(t));      /* fired already */
	assert_false(chl_timechan_reset(t, 5 * MS));
	recv_time(chl_timechan_chan(t));         /* a reset timer fires again */
	chl_timechan_release(t);
}

static void ticker_fires_repeatedly(void **state)
{
	int64_t period = 5 * MS, start = chl_now(), prev = start, v;
	chl_timechan *t = chl_timechan_new(period, period);
	chl_chan *c;
	int i;

	(void)state;
	assert_non_null(t);
	assert_true(chl_timechan_is_ticker(t));
	c = chl_chan_retain(chl_timechan_chan(t));
	for (i = 0; i < 5; i++) {
		v = recv_time(c);
		assert_true(v > prev);
		prev = v;
	}
	assert_true(prev >= start + 5 * period);
	/* Reset changes the period; a ticker is pending until stopped. */
	assert_true(chl_timechan_reset(t, 2 * MS));
	recv_time(c);
	recv_time(c);
	assert_true(chl_timechan_stop(t));
	assert_false(chl_timechan_stop(t));
	chl_timechan_release(t);
	/* The channel outlives the ticker for whoever still holds it. */
	assert_int_equal(chl_chan_cap(c), 1);
	chl_chan_release(c);
}

/* A slow reader of a ticker misses ticks: the channel holds one. */
static void ticker_drops_ticks_for_slow_reader(void **state)
{
	chl_timechan *t = chl_timechan_new(MS, MS);

	(void)state;
	assert_non_null(t);
	assert_int_equal(chl_sleep(30 * MS), CHL_OK);
	assert_int_equal(chl_chan_len(chl_timechan_chan(t)), 1);
	chl_timechan_release(t);   /* the last reference stops it */
}

static void sleep_sleeps_within_tolerance(void **state)
{
	int64_t start, d = 20 * MS, took;

	(void)state;
	start = chl_now();
	assert_int_equal(chl_sleep(0), CHL_OK);
	assert_int_equal(chl_sleep(-5), CHL_OK);
	assert_true(chl_now() - start < LATE_NS);
	start = chl_now();
	assert_int_equal(chl_sleep(d), CHL_OK);
	took = chl_now() - start;
	assert_true(took >= d);
	assert_true(took <= d + LATE_NS);
}

/* Every timer of the tests above has fired or was stopped. */
static void no_timer_left_behind(void **state)
{
	(void)state;
	assert_int_equal(settle_pending(0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_in_deadline_order),
		cmocka_unit_test(stop_returns_whether_pending),
		cmocka_unit_test(stop_waits_for_running_callback),
		cmocka_unit_test(ticker_stops_itself_from_callback),
		cmocka_unit_test(pending_counts_heap_entries),
		cmocka_unit_test(storm_of_starts_and_stops),
		cmocka_unit_test(after_fires_once_within_tolerance),
		cmocka_unit_test(after_survives_an_early_release),
		cmocka_unit_test(timer_stop_and_reset),
		cmocka_unit_test(ticker_fires_repeatedly),
		cmocka_unit_test(ticker_drops_ticks_for_slow_reader),
		cmocka_unit_test(sleep_sleeps_within_tolerance),
		cmocka_unit_test(no_timer_left_behind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
