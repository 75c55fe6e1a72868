/*
 * test_ctx.c - contexts (ctx.h): the tree, cancellation storms, deadlines,
 * causes, values, hooks and parker watches.
 *
 * cmocka's asserts run on the main thread only; other threads count what
 * went wrong and the main thread checks the counts.  Timing tolerance for
 * deadlines: never early, at most LATE_NS late (300 ms: generous for a
 * loaded 2-core box under ThreadSanitizer; a lost wake-up hangs instead).
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "chan.h"
#include "ctx.h"
#include "timer.h"
#include "helpers.h"

#define LATE_NS (300 * MS)

static bool closed(chl_chan *c)
{
	return chl_chan_is_closed(c);
}

/* ---- causes that count their frees ---- */

typedef struct cause {
	int target;     /* the node it was given to */
	int thread;     /* who gave it */
} cause;

static atomic_int causes_made, causes_freed;

static cause *cause_new(int target, int thread)
{
	cause *c = malloc(sizeof *c);

	if (c) {
		c->target = target;
		c->thread = thread;
		atomic_fetch_add(&causes_made, 1);
	}
	return c;
}

static void cause_free(void *p)
{
	atomic_fetch_add(&causes_freed, 1);
	free(p);
}

/* ---- the background ---- */

static void background_is_never_done(void **state)
{
	chl_ctx *bg = chl_ctx_background();
	int64_t d;

	(void)state;
	assert_non_null(bg);
	assert_ptr_equal(chl_ctx_retain(bg), bg);
	chl_ctx_release(bg);
	chl_ctx_release(bg);   /* no-op, however often */
	assert_int_equal(chl_ctx_err(bg), 0);
	assert_null(chl_ctx_done(bg));
	assert_null(chl_ctx_parent(bg));
	assert_false(chl_ctx_deadline(bg, &d));
	assert_false(chl_ctx_value(bg, "k", 1, NULL));
	assert_int_equal(chl_ctx_cancel(bg, CHL_CANCELED, NULL, NULL, NULL), CHL_INVAL);
	assert_int_equal(chl_ctx_cancel(NULL, CHL_CANCELED, NULL, NULL, NULL), CHL_NIL);
}

static void misuse_is_reported(void **state)
{
	chl_ctx *c = NULL, *v = NULL;
	int made = atomic_load(&causes_made), freed = atomic_load(&causes_freed);

	(void)state;
	assert_int_equal(chl_ctx_with_cancel(NULL, &c), CHL_NIL);
	assert_int_equal(chl_ctx_with_timeout(NULL, MS, &c), CHL_NIL);
	assert_int_equal(chl_ctx_with_value(NULL, "k", 1, NULL, NULL, &c), CHL_NIL);
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), NULL), CHL_INVAL);
	assert_int_equal(chl_ctx_with_value(chl_ctx_background(), NULL, 3, NULL, NULL, &v), CHL_INVAL);
	assert_int_equal(chl_ctx_with_value(chl_ctx_background(), "k", 1, NULL, NULL, &v), CHL_OK);
	/* A value context cannot be canceled; its cause is freed anyway. */
	assert_int_equal(chl_ctx_cancel(v, CHL_CANCELED, cause_new(0, 0), cause_free, NULL), CHL_INVAL);
	assert_int_equal(chl_ctx_with_cancel(v, &c), CHL_OK);
	assert_int_equal(chl_ctx_cancel(c, CHL_WOULDBLOCK, NULL, NULL, NULL), CHL_INVAL);
	assert_int_equal(chl_ctx_err(c), 0);
	assert_int_equal(atomic_load(&causes_made) - made, 1);
	assert_int_equal(atomic_load(&causes_freed) - freed, 1);
	chl_ctx_release(c);
	chl_ctx_release(v);
}

/* ---- cancel basics, causes ---- */

static void cancel_reaches_descendants_with_cause(void **state)
{
	chl_ctx *p, *v, *c, *g;
	void *cv;
	const char *msg;
	cause *x = cause_new(1, 0);

	(void)state;
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &p), CHL_OK);
	assert_int_equal(chl_ctx_with_value(p, "k", 1, NULL, NULL, &v), CHL_OK);
	assert_int_equal(chl_ctx_with_cancel(v, &c), CHL_OK);
	assert_int_equal(chl_ctx_with_timeout(c, 3600 * CHL_NS_PER_SEC, &g), CHL_OK);
	assert_ptr_equal(chl_ctx_parent(c), v);
	assert_ptr_equal(chl_ctx_done(v), chl_ctx_done(p));
	assert_int_equal(chl_ctx_cause(g, &cv, &msg), 0);
	assert_null(cv);
	assert_null(msg);

	assert_int_equal(chl_ctx_cancel(p, CHL_CANCELED, x, cause_free, "why"), CHL_OK);
	/* Synchronous: everything below is done when cancel returns. */
	assert_int_equal(chl_ctx_err(p), CHL_CANCELED);
	assert_int_equal(chl_ctx_err(v), CHL_CANCELED);
	assert_int_equal(chl_ctx_err(c), CHL_CANCELED);
	assert_int_equal(chl_ctx_err(g), CHL_CANCELED);
	assert_true(closed(chl_ctx_done(p)));
	assert_true(closed(chl_ctx_done(c)));
	assert_true(closed(chl_ctx_done(g)));
	assert_int_equal(chl_ctx_cause(g, &cv, &msg), CHL_CANCELED);
	assert_ptr_equal(cv, x);
	assert_string_equal(msg, "why");
	assert_int_equal(chl_ctx_cause(v, &cv, NULL), CHL_CANCELED);
	assert_ptr_equal(cv, x);

	/* The first cancellation wins: a second one frees its cause. */
	{
		int freed = atomic_load(&causes_freed);
		assert_int_equal(chl_ctx_cancel(c, CHL_DEADLINE, cause_new(2, 0), cause_free, NULL), CHL_OK);
		assert_int_equal(atomic_load(&causes_freed), freed + 1);
		assert_int_equal(chl_ctx_err(c), CHL_CANCELED);
		assert_int_equal(chl_ctx_cause(c, &cv, NULL), CHL_CANCELED);
		assert_ptr_equal(cv, x);
	}
	chl_ctx_release(g);
	chl_ctx_release(c);
	chl_ctx_release(v);
	chl_ctx_release(p);
}

static void child_cancel_leaves_parent_alone(void **state)
{
	chl_ctx *p, *c;
	const char *msg;

	(void)state;
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &p), CHL_OK);
	assert_int_equal(chl_ctx_with_cancel(p, &c), CHL_OK);
	assert_int_equal(chl_ctx_cancel(c, CHL_CANCELED, NULL, NULL, "child"), CHL_OK);
	assert_int_equal(chl_ctx_err(p), 0);
	assert_false(closed(chl_ctx_done(p)));
	assert_int_equal(chl_ctx_cancel(p, CHL_CANCELED, NULL, NULL, "parent"), CHL_OK);
	assert_int_equal(chl_ctx_cause(c, NULL, &msg), CHL_CANCELED);
	assert_string_equal(msg, "child");      /* its own came first */
	chl_ctx_release(p);                     /* parent first: c keeps it */
	assert_int_equal(chl_ctx_cause(c, NULL, &msg), CHL_CANCELED);
	chl_ctx_release(c);
}

static void child_of_done_parent_is_born_done(void **state)
{
	chl_ctx *p, *c, *t, *v, *cv_ctx;
	void *cv;
	const char *msg;
	cause *x = cause_new(1, 0);

	(void)state;
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &p), CHL_OK);
	assert_int_equal(chl_ctx_cancel(p, CHL_CANCELED, x, cause_free, "gone"), CHL_OK);
	assert_int_equal(chl_ctx_with_cancel(p, &c), CHL_OK);
	assert_int_equal(chl_ctx_with_timeout(p, 3600 * CHL_NS_PER_SEC, &t), CHL_OK);
	assert_int_equal(chl_ctx_with_value(p, "a", 1, NULL, NULL, &v), CHL_OK);
	assert_int_equal(chl_ctx_with_cancel(v, &cv_ctx), CHL_OK);
	assert_int_equal(chl_ctx_cause(c, &cv, &msg), CHL_CANCELED);
	assert_ptr_equal(cv, x);
	assert_string_equal(msg, "gone");
	assert_true(closed(chl_ctx_done(c)));
	assert_int_equal(chl_ctx_cause(t, &cv, NULL), CHL_CANCELED);
	assert_ptr_equal(cv, x);
	assert_true(closed(chl_ctx_done(t)));
	assert_int_equal(chl_ctx_cause(cv_ctx, &cv, NULL), CHL_CANCELED);
	assert_ptr_equal(cv, x);
	chl_ctx_release(cv_ctx);
	chl_ctx_release(v);
	chl_ctx_release(t);
	chl_ctx_release(c);
	chl_ctx_release(p);
}

/* ---- deadlines ---- */

static void timeout_fires_with_deadline_exceeded(void **state)
{
	chl_ctx *t, *c;
	int64_t start = chl_now(), d = 20 * MS, dl, took;
	bool ok;
	int base = settle_pending(0);

	(void)state;
	assert_int_equal(chl_ctx_with_timeout(chl_ctx_background(), d, &t), CHL_OK);
	assert_int_equal(chl_ctx_with_cancel(t, &c), CHL_OK);
	assert_int_equal(chl_timers_pending(), base + 1);
	assert_true(chl_ctx_deadline(c, &dl));   /* inherited */
	assert_true(dl >= start + d);
	assert_int_equal(chl_chan_recv(chl_ctx_done(c), NULL, &ok), CHL_OK);
	assert_false(ok);
	took = chl_now() - start;
	assert_true(took >= d);
	assert_true(took <= d + LATE_NS);
	assert_int_equal(chl_ctx_err(t), CHL_DEADLINE);
	assert_int_equal(chl_ctx_err(c), CHL_DEADLINE);
	chl_ctx_release(c);
	chl_ctx_release(t);
	assert_int_equal(settle_pending(base), base);
}

static void timeout_not_positive_is_done_at_once(void **state)
{
	chl_ctx *a, *b, *c;

	(void)state;
	assert_int_equal(chl_ctx_with_timeout(chl_ctx_background(), 0, &a), CHL_OK);
	assert_int_equal(chl_ctx_with_timeout(chl_ctx_background(), -5 * MS, &b), CHL_OK);
	assert_int_equal(chl_ctx_with_deadline(chl_ctx_background(), chl_now() - MS, &c), CHL_OK);
	assert_int_equal(chl_ctx_err(a), CHL_DEADLINE);
	assert_int_equal(chl_ctx_err(b), CHL_DEADLINE);
	assert_int_equal(chl_ctx_err(c), CHL_DEADLINE);
	assert_true(closed(chl_ctx_done(a)));
	assert_true(closed(chl_ctx_done(b)));
	assert_true(closed(chl_ctx_done(c)));
	chl_ctx_release(a);
	chl_ctx_release(b);
	chl_ctx_release(c);
}

static void child_deadline_capped_by_parent(void **state)
{
	chl_ctx *p, *later, *sooner, *v, *vc;
	int64_t pd, d;
	int base = settle_pending(0);

	(void)state;
	assert_int_equal(chl_ctx_with_timeout(chl_ctx_background(), 3600 * CHL_NS_PER_SEC, &p), CHL_OK);
	assert_true(chl_ctx_deadline(p, &pd));
	assert_int_equal(chl_ctx_with_deadline(p, pd + 3600 * CHL_NS_PER_SEC, &later), CHL_OK);
	assert_true(chl_ctx_deadline(later, &d));
	assert_true(d == pd);                      /* capped */
	assert_int_equal(chl_ctx_with_deadline(p, pd - 1800 * CHL_NS_PER_SEC, &sooner), CHL_OK);
	assert_true(chl_ctx_deadline(sooner, &d));
	assert_true(d == pd - 1800 * CHL_NS_PER_SEC);
	assert_int_equal(chl_ctx_with_value(sooner, "k", 1, NULL, NULL, &v), CHL_OK);
	assert_int_equal(chl_ctx_with_timeout(v, 7200 * CHL_NS_PER_SEC, &vc), CHL_OK);
	assert_true(chl_ctx_deadline(vc, &d));
	assert_true(d == pd - 1800 * CHL_NS_PER_SEC);   /* through a value node */
	/* Only p and sooner own timers; cancel stops them at once. */
	assert_int_equal(chl_timers_pending(), base + 2);
	assert_int_equal(chl_ctx_cancel(p, CHL_CANCELED, NULL, NULL, NULL), CHL_OK);
	assert_int_equal(chl_timers_pending(), base);
	assert_int_equal(chl_ctx_err(vc), CHL_CANCELED);
	chl_ctx_release(vc);
	chl_ctx_release(v);
	chl_ctx_release(sooner);
	chl_ctx_release(later);
	chl_ctx_release(p);
}

/* A parent whose deadline has passed but whose timer has not run yet is
 * not done; a child with a timeout <= 0, or capped by that deadline,
 * must be done at once all the same. */
/* A constructor's status while the gate holds the timer thread: a failure
 * opens the gate before it fails the test, or every later timer would
 * stay held (and the gate's callback would read a dead stack frame). */
static int gated(timer_gate *g, int rc)
{
	if (rc != CHL_OK)
		gate_open(g);
	return rc;
}

static void child_of_overdue_parent_is_born_done(void **state)
{
	timer_gate g;
	chl_ctx *p, *zero, *capped;
	int64_t pd, d;

	(void)state;
	gate_hold(&g);    /* a passed deadline stays unfired for a while */
	assert_int_equal(gated(&g, chl_ctx_with_timeout(chl_ctx_background(), MS, &p)), CHL_OK);
	nap(3 * MS);
	assert_int_equal(chl_ctx_err(p), 0);     /* its timer is held up */
	assert_int_equal(gated(&g, chl_ctx_with_timeout(p, 0, &zero)), CHL_OK);
	assert_int_equal(gated(&g, chl_ctx_with_timeout(p, 3600 * CHL_NS_PER_SEC, &capped)), CHL_OK);
	assert_int_equal(chl_ctx_err(zero), CHL_DEADLINE);
	assert_int_equal(chl_ctx_err(capped), CHL_DEADLINE);
	assert_true(chl_ctx_deadline(p, &pd));
	assert_true(chl_ctx_deadline(capped, &d));
	assert_true(d == pd);
	gate_open(&g);
	chl_ctx_release(zero);
	chl_ctx_release(capped);
	chl_ctx_release(p);
}

static void release_of_pending_deadline_stops_timer(void **state)
{
	chl_ctx *t[20];
	int base = settle_pending(0), i;

	(void)state;
	for (i = 0; i < 20; i++)
		assert_int_equal(chl_ctx_with_timeout(i ? t[i - 1] : chl_ctx_background(),
			(3600 - i) * CHL_NS_PER_SEC, &t[i]), CHL_OK);
	assert_int_equal(chl_timers_pending(), base + 20);
	for (i = 0; i < 20; i++)
		chl_ctx_release(t[i]);   /* parents first: children keep them */
	assert_int_equal(chl_timers_pending(), base);
}

/* Many short deadlines racing manual cancels and releases. */
static void deadlines_race_cancel_and_release(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 300; i++) {
		chl_ctx *p, *c;
		assert_int_equal(chl_ctx_with_timeout(chl_ctx_background(), (i % 7) * 50000, &p), CHL_OK);
		assert_int_equal(chl_ctx_with_timeout(p, (i % 5) * 50000, &c), CHL_OK);
		if (i % 3 == 0)
			chl_ctx_cancel(c, CHL_CANCELED, NULL, NULL, NULL);
		if (i % 2)
			chl_ctx_release(p);
		if (i % 4 == 1)
			nap(60000);
		if (i % 3 == 1)
			chl_ctx_cancel(p, CHL_CANCELED, NULL, NULL, NULL);
		chl_ctx_release(c);
		if (i % 2 == 0)
			chl_ctx_release(p);
	}
}

/* Every context of the tests above is gone: so are their timers. */
static void no_timer_left_behind(void **state)
{
	(void)state;
	assert_int_equal(settle_pending(0), 0);
}

/* ---- err and done agree ---- */

#define AGREE_N 200

static struct {
	chl_ctx *ctx[AGREE_N];   /* made before, freed after the watcher runs */
	atomic_int cur;          /* the one being canceled now, -1 before */
	atomic_int stop;
	atomic_int bad;          /* err seen without done closed, or the reverse */
	atomic_int seen;         /* observations of a done context */
	atomic_int looked;       /* last index the watcher checked */
	atomic_int saw_done;     /* last index the watcher saw done */
} agree;

static void *agree_watch(void *arg)
{
	(void)arg;
	while (!atomic_load(&agree.stop)) {
		int i = atomic_load(&agree.cur);
		chl_ctx *c;
		if (i < 0) {
			sched_yield();
			continue;
		}
		c = agree.ctx[i];
		/* err != 0 implies closed; closed implies err != 0. */
		if (chl_ctx_err(c) != 0) {
			if (!closed(chl_ctx_done(c)))
				atomic_fetch_add(&agree.bad, 1);
			atomic_fetch_add(&agree.seen, 1);
			atomic_store(&agree.saw_done, i);
		}
		if (closed(chl_ctx_done(c)) && chl_ctx_err(c) == 0)
			atomic_fetch_add(&agree.bad, 1);
		atomic_store(&agree.looked, i);
	}
	return NULL;
}

static void err_set_iff_done_closed(void **state)
{
	pthread_t th;
	int i;

	(void)state;
	atomic_store(&agree.cur, -1);
	atomic_store(&agree.stop, 0);
	atomic_store(&agree.bad, 0);
	atomic_store(&agree.seen, 0);
	for (i = 0; i < AGREE_N; i++)
		assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &agree.ctx[i]), CHL_OK);
	th = spawn(agree_watch, NULL);
	atomic_store(&agree.looked, -1);
	atomic_store(&agree.saw_done, -1);
	for (i = 0; i < AGREE_N; i++) {
		/* The watcher is checking c while we cancel it, and sees it done
		 * before we move on. */
		atomic_store(&agree.cur, i);
		while (atomic_load(&agree.looked) != i)
			sched_yield();
		chl_ctx_cancel(agree.ctx[i], CHL_CANCELED, NULL, NULL, NULL);
		while (atomic_load(&agree.saw_done) != i)
			sched_yield();
	}
	atomic_store(&agree.stop, 1);
	join(th);
	for (i = 0; i < AGREE_N; i++)
		chl_ctx_release(agree.ctx[i]);
	assert_int_equal(atomic_load(&agree.bad), 0);
	assert_true(atomic_load(&agree.seen) >= AGREE_N);
}

/* ---- the storm: 100 contexts canceled concurrently ---- */

#define STORM_N 100
#define STORM_THREADS 4

static struct {
	chl_ctx *ctx[STORM_N];
	int parent[STORM_N];          /* index of the nearest cancelable
	                                 ancestor, -1 for none */
	bool below[STORM_N][STORM_N]; /* below[a][d]: d is a descendant of a */
	atomic_int not_sync;          /* a descendant not done after cancel */
	atomic_int go;
	unsigned round;               /* seeds this round; set before the threads */
} storm;

static void *storm_thread(void *arg)
{
	int id = (int)(intptr_t)arg, order[STORM_N], i, n = 0;
	unsigned seed = (unsigned)id * 7919u + 1 + storm.round * 104729u;

	for (i = 0; i < STORM_N; i++)
		if ((i + id) % 2 == 0 || rand_r(&seed) % 3 == 0)
			order[n++] = i;
	for (i = n - 1; i > 0; i--) {
		int j = (int)(rand_r(&seed) % (unsigned)(i + 1)), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	while (!atomic_load(&storm.go))
		sched_yield();
	for (i = 0; i < n; i++) {
		int k = order[i], d;
		chl_ctx_cancel(storm.ctx[k], CHL_CANCELED, cause_new(k, id), cause_free, NULL);
		for (d = 0; d < STORM_N; d++)
			if ((d == k || storm.below[k][d]) && chl_ctx_err(storm.ctx[d]) == 0)
				atomic_fetch_add(&storm.not_sync, 1);
	}
	return NULL;
}

/* One round with its own random forest and cancel orders. */
static void storm_round(unsigned round)
{
	pthread_t th[STORM_THREADS];
	int i, d, made = atomic_load(&causes_made), freed0 = atomic_load(&causes_freed);
	unsigned seed = 12345 + round;

	storm.round = round;
	memset(storm.below, 0, sizeof storm.below);
	atomic_store(&storm.not_sync, 0);
	atomic_store(&storm.go, 0);
	/* A random forest: node i hangs under a random earlier node or the
	 * background, some through a value node in between. */
	for (i = 0; i < STORM_N; i++) {
		int p = i == 0 ? -1 : (int)(rand_r(&seed) % (unsigned)(i + 4)) - 4;
		chl_ctx *parent = p < 0 ? chl_ctx_background() : storm.ctx[p];
		chl_ctx *v = NULL;
		storm.parent[i] = p < 0 ? -1 : p;
		if (rand_r(&seed) % 4 == 0) {
			assert_int_equal(chl_ctx_with_value(parent, &i, sizeof i, NULL, NULL, &v), CHL_OK);
			parent = v;
		}
		/* Every fifth node also races its own short deadline. */
		if (i % 5 == 4)
			assert_int_equal(chl_ctx_with_timeout(parent, (i % 3) * 300000,
				&storm.ctx[i]), CHL_OK);
		else
			assert_int_equal(chl_ctx_with_cancel(parent, &storm.ctx[i]), CHL_OK);
		chl_ctx_release(v);   /* the child keeps it */
		for (d = storm.parent[i]; d >= 0; d = storm.parent[d])
			storm.below[d][i] = true;
	}
	for (i = 0; i < STORM_THREADS; i++)
		th[i] = spawn(storm_thread, (void *)(intptr_t)i);
	atomic_store(&storm.go, 1);
	for (i = 0; i < STORM_THREADS; i++)
		join(th[i]);

	assert_int_equal(atomic_load(&storm.not_sync), 0);
	for (i = 0; i < STORM_N; i++) {
		void *cv = NULL, *pc = NULL;
		cause *c;
		int err = chl_ctx_cause(storm.ctx[i], &cv, NULL), perr = 0;
		assert_true(closed(chl_ctx_done(storm.ctx[i])));
		if (storm.parent[i] >= 0)
			perr = chl_ctx_cause(storm.ctx[storm.parent[i]], &pc, NULL);
		c = cv;
		if (!c) {
			/* No cause: a deadline won, here or above. */
			assert_int_equal(err, CHL_DEADLINE);
			if (i % 5 != 4) {
				assert_int_equal(perr, CHL_DEADLINE);
				assert_null(pc);
			}
			continue;
		}
		/* Its own cancellation won, or the one that reached it from its
		 * parent did - then it shares the parent's err and cause. */
		assert_int_equal(err, CHL_CANCELED);
		if (c->target != i) {
			assert_true(storm.parent[i] >= 0);
			assert_true(storm.below[c->target][i]);
			assert_int_equal(perr, CHL_CANCELED);
			assert_ptr_equal(pc, cv);
		}
	}
	/* Release in a scrambled order; every cause is freed exactly once
	 * (the losers' at once, the winners' with their context). */
	for (i = 0; i < STORM_N; i++)
		chl_ctx_release(storm.ctx[(i * 37) % STORM_N]);
	assert_int_equal(atomic_load(&causes_made) - made, atomic_load(&causes_freed) - freed0);
}

static void storm_of_concurrent_cancels(void **state)
{
	unsigned r;

	(void)state;
	for (r = 0; r < 20; r++)
		storm_round(r);
}

/* ---- values ---- */

static atomic_int values_freed;

static void value_free(void *v)
{
	atomic_fetch_add(&values_freed, 1);
	free(v);
}

static void values_lookup_shadow_and_bytes(void **state)
{
	chl_ctx *a, *b, *c, *d, *e;
	void *v;
	int one = 1;
	char *va = strdup("A"), *vd = strdup("D");

	(void)state;
	assert_non_null(va);
	assert_non_null(vd);
	atomic_store(&values_freed, 0);
	assert_int_equal(chl_ctx_with_value(chl_ctx_background(), "1", 1, va, value_free, &a), CHL_OK);
	assert_int_equal(chl_ctx_with_cancel(a, &b), CHL_OK);
	assert_int_equal(chl_ctx_with_value(b, &one, sizeof one, NULL, NULL, &c), CHL_OK);
	assert_int_equal(chl_ctx_with_value(c, "1", 1, NULL, NULL, &d), CHL_OK);   /* shadows "1" */
	assert_int_equal(chl_ctx_with_value(c, "k\0x", 3, vd, value_free, &e), CHL_OK);

	assert_true(chl_ctx_value(b, "1", 1, &v));
	assert_ptr_equal(v, va);                       /* through a cancel node */
	assert_true(chl_ctx_value(e, "1", 1, &v));
	assert_ptr_equal(v, va);
	v = va;
	assert_true(chl_ctx_value(d, "1", 1, &v));
	assert_null(v);                                /* a nil that shadows */
	assert_true(chl_ctx_value(c, &one, sizeof one, &v));
	assert_null(v);
	assert_false(chl_ctx_value(a, &one, sizeof one, &v));  /* not above c */
	assert_true(chl_ctx_value(e, "k\0x", 3, &v));
	assert_ptr_equal(v, vd);
	assert_false(chl_ctx_value(e, "k\0y", 3, &v));  /* bytes after a zero count */
	assert_false(chl_ctx_value(e, "k", 1, &v));     /* so does the length */
	assert_false(chl_ctx_value(e, "1\0", 2, &v));
	/* The key was copied: changing ours changes nothing. */
	one = 2;
	assert_false(chl_ctx_value(c, &one, sizeof one, &v));
	one = 1;
	assert_true(chl_ctx_value(c, &one, sizeof one, &v));

	chl_ctx_release(a);
	chl_ctx_release(b);
	chl_ctx_release(c);
	chl_ctx_release(d);
	assert_int_equal(atomic_load(&values_freed), 0);   /* e keeps them */
	chl_ctx_release(e);
	assert_int_equal(atomic_load(&values_freed), 2);
}

/* ---- hooks ---- */

static atomic_int hook_runs;

static void count_hook(chl_ctx_hook *h, void *arg)
{
	(void)h;
	(void)arg;
	atomic_fetch_add(&hook_runs, 1);
}

static void hooks_fire_once_and_remove(void **state)
{
	chl_ctx *c, *v;
	chl_ctx_hook h1 = { .fn = count_hook }, h2 = { .fn = count_hook },
		h3 = { .fn = count_hook }, h4 = { .fn = count_hook };

	(void)state;
	atomic_store(&hook_runs, 0);
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &c), CHL_OK);
	assert_int_equal(chl_ctx_with_value(c, "k", 1, NULL, NULL, &v), CHL_OK);
	assert_true(chl_ctx_hook_add(c, &h1));
	assert_true(chl_ctx_hook_add(v, &h2));     /* on a value node: its ancestor's */
	assert_true(chl_ctx_hook_add(c, &h3));
	assert_true(chl_ctx_hook_remove(c, &h3));  /* removed before firing */
	assert_false(chl_ctx_hook_remove(c, &h3)); /* not registered any more */
	assert_int_equal(chl_ctx_cancel(c, CHL_CANCELED, NULL, NULL, NULL), CHL_OK);
	assert_int_equal(atomic_load(&hook_runs), 2);
	assert_int_equal(chl_ctx_cancel(c, CHL_CANCELED, NULL, NULL, NULL), CHL_OK);
	assert_int_equal(atomic_load(&hook_runs), 2);   /* once */
	assert_false(chl_ctx_hook_remove(c, &h1));      /* fired */
	assert_false(chl_ctx_hook_remove(v, &h2));
	assert_false(chl_ctx_hook_add(c, &h4));         /* done: nothing armed */
	assert_false(chl_ctx_hook_remove(c, &h4));
	assert_int_equal(atomic_load(&hook_runs), 2);
	/* The background never fires: add says armed, remove says removed. */
	assert_true(chl_ctx_hook_add(chl_ctx_background(), &h4));
	assert_true(chl_ctx_hook_remove(chl_ctx_background(), &h4));
	chl_ctx_release(v);
	chl_ctx_release(c);
}

static struct {
	atomic_int entered, go, finished;
} slowhook;

static void slow_hook(chl_ctx_hook *h, void *arg)
{
	(void)h;
	(void)arg;
	atomic_store(&slowhook.entered, 1);
	while (!atomic_load(&slowhook.go))
		sched_yield();
	atomic_store(&slowhook.finished, 1);
}

static void *cancel_thread(void *arg)
{
	chl_ctx_cancel(arg, CHL_CANCELED, NULL, NULL, NULL);
	return NULL;
}

static void *go_later(void *arg)
{
	(void)arg;
	nap(20 * MS);
	atomic_store(&slowhook.go, 1);
	return NULL;
}

static void hook_remove_waits_for_running_hook(void **state)
{
	chl_ctx *c;
	chl_ctx_hook h = { .fn = slow_hook };
	pthread_t canceler, opener;

	(void)state;
	atomic_store(&slowhook.entered, 0);
	atomic_store(&slowhook.go, 0);
	atomic_store(&slowhook.finished, 0);
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &c), CHL_OK);
	assert_true(chl_ctx_hook_add(c, &h));
	canceler = spawn(cancel_thread, c);
	while (!atomic_load(&slowhook.entered))
		sched_yield();
	opener = spawn(go_later, NULL);
	assert_false(chl_ctx_hook_remove(c, &h));   /* firing: waits it out */
	assert_int_equal(atomic_load(&slowhook.finished), 1);
	join(opener);
	join(canceler);
	chl_ctx_release(c);
}

/* A hook that removes itself from inside fn must not wait for itself. */
static void self_remove_hook(chl_ctx_hook *h, void *arg)
{
	if (!chl_ctx_hook_remove(arg, h))
		atomic_fetch_add(&hook_runs, 1);
}

static void hook_may_remove_itself(void **state)
{
	chl_ctx *c;
	chl_ctx_hook h = { .fn = self_remove_hook };

	(void)state;
	atomic_store(&hook_runs, 0);
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &c), CHL_OK);
	h.arg = c;
	assert_true(chl_ctx_hook_add(c, &h));
	assert_int_equal(chl_ctx_cancel(c, CHL_CANCELED, NULL, NULL, NULL), CHL_OK);
	assert_int_equal(atomic_load(&hook_runs), 1);
	chl_ctx_release(c);
}

/* ---- parker watches ---- */

static void *cancel_after_10ms(void *arg)
{
	nap(10 * MS);
	chl_ctx_cancel(arg, CHL_CANCELED, NULL, NULL, NULL);
	return NULL;
}

static void watch_ends_a_thread_wait(void **state)
{
	chl_ctx *c;
	chl_chan *ch = chl_chan_new(sizeof(int), 0);
	chl_parker *p = chl_thread_parker_self();
	chl_waiter w;
	chl_ctx_hook h;
	pthread_t th;
	int v = 0, rc;
	bool ok = true;

	(void)state;
	assert_non_null(ch);
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &c), CHL_OK);
	/* A receive on a channel nobody sends on, ended by the context. */
	chl_parker_prepare(p, "chan receive");
	assert_true(chl_parker_watch_ctx(p, c, &h));
	chl_waiter_init(&w, p, ch);
	rc = chl_chan_recv_begin(ch, &v, &ok, &w);
	assert_int_equal(rc, CHL_WAIT);
	th = spawn(cancel_after_10ms, c);
	chl_thread_park(p);
	chl_parker_unwatch_ctx(c, &h);
	assert_null(p->fired);
	assert_int_equal(p->status, CHL_CANCELED);
	chl_chan_dequeue(ch, &w);
	join(th);
	/* A done context arms nothing: the caller fails the wait itself. */
	chl_parker_prepare(p, "chan receive");
	assert_false(chl_parker_watch_ctx(p, c, &h));
	chl_parker_unwatch_ctx(c, &h);
	assert_int_equal(atomic_load(&p->claimed), 0);
	chl_ctx_release(c);
	chl_chan_release(ch);
}

static void watch_ends_wait_at_deadline(void **state)
{
	chl_ctx *c;
	chl_parker *p = chl_thread_parker_self();
	chl_ctx_hook h;
	int64_t start = chl_now();

	(void)state;
	assert_int_equal(chl_ctx_with_timeout(chl_ctx_background(), 15 * MS, &c), CHL_OK);
	chl_parker_prepare(p, "select (no cases)");
	assert_true(chl_parker_watch_ctx(p, c, &h));
	chl_thread_park(p);     /* nothing queued: only the context can end it */
	chl_parker_unwatch_ctx(c, &h);
	assert_int_equal(p->status, CHL_DEADLINE);
	assert_true(chl_now() - start >= 15 * MS);
	chl_ctx_release(c);
}

/* Introspection: a value context's own value; the cancelable children
 * listed under a context, through value contexts. */
static void add_child(chl_ctx *child, void *arg)
{
	chl_ctx **seen = arg;
	int i = 0;

	while (seen[i])
		i++;
	seen[i] = child;
}

static void foreach_child_and_own_value(void **state)
{
	chl_ctx *root, *val, *a, *b, *seen[4] = { NULL };
	int v = 7;

	(void)state;
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &root), CHL_OK);
	assert_int_equal(chl_ctx_with_value(root, "k", 1, &v, NULL, &val), CHL_OK);
	assert_int_equal(chl_ctx_with_cancel(val, &a), CHL_OK);
	assert_int_equal(chl_ctx_with_cancel(a, &b), CHL_OK);
	assert_ptr_equal(chl_ctx_own_value(val), &v);
	assert_null(chl_ctx_own_value(root));
	chl_ctx_foreach_child(root, add_child, seen);
	assert_ptr_equal(seen[0], a);
	assert_null(seen[1]);
	chl_ctx_release(seen[0]);
	seen[0] = NULL;
	chl_ctx_foreach_child(val, add_child, seen);   /* not cancelable */
	assert_null(seen[0]);
	chl_ctx_foreach_child(a, add_child, seen);
	assert_ptr_equal(seen[0], b);
	chl_ctx_release(seen[0]);
	chl_ctx_release(b);
	chl_ctx_release(a);
	chl_ctx_release(val);
	chl_ctx_release(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(background_is_never_done),
		cmocka_unit_test(misuse_is_reported),
		cmocka_unit_test(cancel_reaches_descendants_with_cause),
		cmocka_unit_test(child_cancel_leaves_parent_alone),
		cmocka_unit_test(child_of_done_parent_is_born_done),
		cmocka_unit_test(timeout_fires_with_deadline_exceeded),
		cmocka_unit_test(timeout_not_positive_is_done_at_once),
		cmocka_unit_test(child_deadline_capped_by_parent),
		cmocka_unit_test(child_of_overdue_parent_is_born_done),
		cmocka_unit_test(release_of_pending_deadline_stops_timer),
		cmocka_unit_test(deadlines_race_cancel_and_release),
		cmocka_unit_test(no_timer_left_behind),
		cmocka_unit_test(err_set_iff_done_closed),
		cmocka_unit_test(storm_of_concurrent_cancels),
		cmocka_unit_test(values_lookup_shadow_and_bytes),
		cmocka_unit_test(hooks_fire_once_and_remove),
		cmocka_unit_test(hook_remove_waits_for_running_hook),
		cmocka_unit_test(hook_may_remove_itself),
		cmocka_unit_test(watch_ends_a_thread_wait),
		cmocka_unit_test(watch_ends_wait_at_deadline),
		cmocka_unit_test(foreach_child_and_own_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
