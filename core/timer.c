/*
 * timer.c - the monotonic clock and the process-wide timer heap.
 *
 * One binary min-heap of chl_timer pointers ordered by `when`, one mutex
 * (`hp.mu`) guarding it and every chl_timer's when/period/index/running,
 * one thread (started by the first chl_timer_start) that sleeps on a
 * CLOCK_MONOTONIC condvar until the earliest `when` and fires due timers.
 *
 * Invariants (under hp.mu):
 *  - hp.v[i]->index == i for every i < hp.n; a timer not in the heap has
 *    index -1.  The parent of slot i (i > 0) is (i - 1) / 2 and is never
 *    later than its children.  Ties fire in no particular order.
 *  - At most one callback runs at a time (there is one timer thread); the
 *    timer whose callback runs is hp.cur, and hp.cur->running == 1 until
 *    it returns or stops its own timer (then t may be freed before the
 *    callback returns, so running is cleared by that stop).
 *  - hp.pending == hp.n + (hp.cur != NULL): a callback in flight may still
 *    wake someone, so the deadlock detector must count it.
 *
 * Firing: a one-shot timer is popped, a ticker is re-armed at its next
 * period boundary after now (missed periods are skipped, as Go's ticker
 * drops ticks); then the lock is dropped and fn(t, arg) runs.  After the
 * callback the thread retakes the lock, clears running and wakes stoppers.
 *
 * Freeing a timer's memory: stop it first, always - also from inside its
 * own callback (chl_after's record frees itself that way).  A stop from
 * inside the callback tells the timer thread not to touch t after the
 * callback returns (hp.cur_detached), because t may be gone by then.
 *
 * Cost: start and stop are O(log n); no allocation except heap growth
 * (doubling realloc).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "status.h"
#include "hook.h"
#include "timer.h"

static struct heap {
	pthread_mutex_t mu;
	pthread_cond_t wake;      /* the timer thread sleeps here (monotonic) */
	pthread_cond_t idle;      /* stoppers wait here for a running callback */
	chl_timer **v;            /* the heap array; mu */
	int n, cap;               /* used / allocated slots; mu */
	bool started;             /* the timer thread exists; mu */
	bool sleeping;            /* the timer thread waits on `wake`; mu */
	int64_t sleep_until;      /* ... until then (INT64_MAX: no timer); mu */
	pthread_t thread;         /* valid once started */
	chl_timer *cur;           /* timer whose callback runs now, or NULL; mu */
	bool cur_detached;        /* cur was stopped from its own callback: do
	                             not touch it after fn returns; mu */
	atomic_int pending;       /* n + (cur != NULL); written under mu */
} hp = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

static pthread_once_t wake_once = PTHREAD_ONCE_INIT;

/* The wake condvar must measure timeouts on CLOCK_MONOTONIC, like chl_now,
 * so it cannot use the static initializer. */
static void wake_init(void)
{
	pthread_condattr_t a;

	chl_assert(pthread_condattr_init(&a) == 0);
	chl_assert(pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0);
	chl_assert(pthread_cond_init(&hp.wake, &a) == 0);
	pthread_condattr_destroy(&a);
}

/* The virtual clock of a deterministic run: on from chl_clock_virtual
 * (before any thread reads the time), then moved only by
 * chl_timers_advance, on the one worker, while no task runs. */
static bool virtual_on;
static atomic_llong virtual_now;

void chl_clock_virtual(int64_t start)
{
	atomic_store(&virtual_now, start);
	virtual_on = true;
}

bool chl_clock_is_virtual(void)
{
	return virtual_on;
}

int64_t chl_real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * CHL_NS_PER_SEC + ts.tv_nsec;
}

int64_t chl_now(void)
{
	if (virtual_on)
		return atomic_load_explicit(&virtual_now, memory_order_relaxed);
	return chl_real_now();
}

void chl_timer_init(chl_timer *t, chl_timer_fn fn, void *arg)
{
	t->when = 0;
	t->period = 0;
	t->fn = fn;
	t->arg = arg;
	t->index = -1;
	t->running = 0;
}

/* ---- the heap (all with hp.mu held) ---- */

static void count_pending(void)
{
	atomic_store_explicit(&hp.pending, hp.n + (hp.cur != NULL),
		memory_order_release);
}

static void place(chl_timer *t, int i)
{
	hp.v[i] = t;
	t->index = i;
}

static void sift_up(int i)
{
	chl_timer *t = hp.v[i];

	while (i > 0) {
		int up = (i - 1) / 2;
		if (hp.v[up]->when <= t->when)
			break;
		place(hp.v[up], i);
		i = up;
	}
	place(t, i);
}

static void sift_down(int i)
{
	chl_timer *t = hp.v[i];

	for (;;) {
		int c = 2 * i + 1;
		if (c >= hp.n)
			break;
		if (c + 1 < hp.n && hp.v[c + 1]->when < hp.v[c]->when)
			c++;
		if (t->when <= hp.v[c]->when)
			break;
		place(hp.v[c], i);
		i = c;
	}
	place(t, i);
}

/* Restore order around slot i after its `when` changed either way. */
static void fix(int i)
{
	if (i > 0 && hp.v[(i - 1) / 2]->when > hp.v[i]->when)
		sift_up(i);
	else
		sift_down(i);
}

static int push(chl_timer *t)
{
	if (hp.n == hp.cap) {
		int cap = hp.cap ? 2 * hp.cap : 64;
		chl_timer **v = realloc(hp.v, (size_t)cap * sizeof *v);
		if (!v)
			return CHL_NOMEM;
		hp.v = v;
		hp.cap = cap;
	}
	place(t, hp.n++);
	sift_up(t->index);
	return CHL_OK;
}

static void remove_at(int i)
{
	chl_timer *t = hp.v[i];

	hp.n--;
	if (i != hp.n) {
		place(hp.v[hp.n], i);
		fix(i);
	}
	t->index = -1;
}

/* ---- the timer thread ---- */

static struct timespec to_timespec(int64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / CHL_NS_PER_SEC);
	ts.tv_nsec = (long)(ns % CHL_NS_PER_SEC);
	return ts;
}

/* Take the earliest timer off duty: pop a one-shot, re-arm a ticker at the
 * first period boundary after now (ticks missed while late are dropped). */
static void take_due(chl_timer *t, int64_t now)
{
	if (t->period > 0) {
		int64_t late = now - t->when;
		t->when += t->period * (1 + late / t->period);
		sift_down(0);
	} else {
		remove_at(0);
	}
}

/* The timer whose callback this thread is running, if any. */
static _Thread_local chl_timer *firing;

/* Run the due timer t's callback (hp.mu held; dropped meanwhile). */
static void fire(chl_timer *t, int64_t now)
{
	take_due(t, now);
	t->running = 1;
	hp.cur = t;
	hp.cur_detached = false;
	count_pending();
	pthread_mutex_unlock(&hp.mu);

	if (CHL_HOOK_ON()) {
		chl_event ev = { 0 };

		ev.op = CHL_OP_TIMER;
		ev.obj = t;
		chl_hook_emit(&ev);
	}
	firing = t;
	t->fn(t, t->arg);
	firing = NULL;

	pthread_mutex_lock(&hp.mu);
	if (!hp.cur_detached)
		t->running = 0;
	hp.cur = NULL;
	count_pending();
	pthread_cond_broadcast(&hp.idle);
}

static void *timer_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&hp.mu);
	for (;;) {
		chl_timer *t;
		int64_t now;

		if (hp.n == 0) {
			hp.sleeping = true;
			hp.sleep_until = INT64_MAX;
			pthread_cond_wait(&hp.wake, &hp.mu);
			hp.sleeping = false;
			continue;
		}
		t = hp.v[0];
		now = chl_now();
		if (t->when > now) {
			struct timespec ts = to_timespec(t->when);
			hp.sleeping = true;
			hp.sleep_until = t->when;
			pthread_cond_timedwait(&hp.wake, &hp.mu, &ts);
			hp.sleeping = false;
			continue;
		}
		fire(t, now);
	}
	return NULL;
}

/* With hp.mu held: start the timer thread if needed.  A thread that cannot
 * be created is a resource failure the caller reports as CHL_NOMEM. */
static int ensure_thread(void)
{
	pthread_attr_t a;
	int rc;

	if (hp.started || virtual_on)   /* virtual: chl_timers_advance fires */
		return CHL_OK;
	pthread_once(&wake_once, wake_init);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&hp.thread, &a, timer_main, NULL);
	pthread_attr_destroy(&a);
	if (rc != 0)
		return CHL_NOMEM;
	hp.started = true;
	return CHL_OK;
}

/* Is this thread inside hp.cur's callback?  (The timer thread, or in a
 * deterministic run the worker calling chl_timers_advance.) */
static bool in_current_callback(void)
{
	return hp.cur != NULL && firing == hp.cur;
}

/* Locks: takes and drops hp.mu.  Fails with CHL_NOMEM (heap growth or the
 * timer thread could not be made); t is then not pending. */
int chl_timer_start(chl_timer *t, int64_t when, int64_t period)
{
	int rc;

	pthread_mutex_lock(&hp.mu);
	rc = ensure_thread();
	if (rc != CHL_OK)
		goto out;
	t->when = when;
	t->period = period > 0 ? period : 0;
	if (t->index >= 0) {
		fix(t->index);
	} else {
		rc = push(t);
		if (rc != CHL_OK)
			goto out;
	}
	if (t == hp.cur && in_current_callback()) {
		hp.cur_detached = false;   /* restarted from its own callback */
		t->running = 1;
	}
	count_pending();
	/* Only a deadline earlier than the one the thread sleeps for needs
	 * a wake-up (a later or removed one costs it at most one early,
	 * harmless wake). */
	if (hp.sleeping && when < hp.sleep_until) {
		hp.sleep_until = when;
		pthread_cond_signal(&hp.wake);
	}
out:
	pthread_mutex_unlock(&hp.mu);
	return rc;
}

/* Locks: takes and drops hp.mu; may wait on hp.idle for t's running
 * callback (so never call it holding a lock that callback takes).
 * Cannot fail. */
bool chl_timer_stop(chl_timer *t)
{
	bool was_pending = false;

	pthread_mutex_lock(&hp.mu);
	if (t->index >= 0) {
		remove_at(t->index);
		was_pending = true;
		count_pending();
	}
	if (hp.cur == t) {
		if (in_current_callback()) {
			hp.cur_detached = true;   /* t may be freed after we return */
			t->running = 0;
		}
		else
			while (hp.cur == t)
				pthread_cond_wait(&hp.idle, &hp.mu);
	}
	pthread_mutex_unlock(&hp.mu);
	return was_pending;
}

int chl_timers_pending(void)
{
	return atomic_load_explicit(&hp.pending, memory_order_acquire);
}

bool chl_timers_advance(void)
{
	bool fired = false;
	int64_t at;

	if (!virtual_on)
		return false;
	pthread_mutex_lock(&hp.mu);
	if (hp.n > 0) {
		at = hp.v[0]->when;
		if (at > chl_now())
			atomic_store(&virtual_now, at);
		/* every timer due at that instant, in heap order (deterministic:
		 * the same starts in the same order make the same heap) */
		while (hp.n > 0 && hp.v[0]->when <= at) {
			fire(hp.v[0], at);
			fired = true;
		}
	}
	pthread_mutex_unlock(&hp.mu);
	return fired;
}
