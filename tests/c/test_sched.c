/*
 * test_sched.c - the M:N scheduler: tasks written as small C state
 * machines park on a test mailbox (a lock + wait queue + one-value slot,
 * following waiter.h's protocol), are readied, yield, spawn, block their
 * worker, get preempted and deadlock.  Every test counts what ran:
 * nothing lost, nothing run twice.
 *
 * Synchronisation with the test thread: latches (helpers.h) with a
 * generous timeout that fails the test instead of hanging it, and
 * chl_sched_wait_idle.  Where a test must wait for an internal state
 * (a task fully parked), it polls chl_sched_stats_get with a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "sched.h"
#include "timer.h"
#include "waiter.h"
#include "helpers.h"

#define TIMEOUT_S 60   /* a latch not reached in this long: fail */

/* ---- the test mailbox: one value slot and a queue of receivers ---- */

typedef struct mbox {
	pthread_mutex_t mu;
	chl_waitq q;           /* mu: waiting receivers */
	int64_t slot;          /* mu */
	bool has;              /* mu */
} mbox;

static void mbox_init(mbox *m)
{
	pthread_mutex_init(&m->mu, NULL);
	m->q.head = m->q.tail = NULL;
	m->has = false;
	m->slot = 0;
}

static void mbox_destroy(mbox *m)
{
	pthread_mutex_destroy(&m->mu);
}

static void mbox_unlock(void *arg)
{
	pthread_mutex_unlock(&((mbox *)arg)->mu);
}

/* CHL_OK with *v, or CHL_WAIT with w queued and the lock held (waiter.h
 * step 1); the sender puts the value in w->n. */
static int mbox_recv_begin(mbox *m, chl_waiter *w, int64_t *v)
{
	pthread_mutex_lock(&m->mu);
	if (m->has) {
		*v = m->slot;
		m->has = false;
		pthread_mutex_unlock(&m->mu);
		return CHL_OK;
	}
	chl_waitq_push(&m->q, w);
	chl_parker_set_unlock(w->parker, mbox_unlock, m);
	return CHL_WAIT;
}

/* Hand v to the first waiting receiver, else keep it in the slot (the
 * tests never send twice to a mailbox nobody empties). */
static void mbox_send(mbox *m, int64_t v)
{
	chl_waiter *w;

	pthread_mutex_lock(&m->mu);
	w = chl_waitq_claim_first(&m->q);
	if (!w) {
		m->slot = v;
		m->has = true;
		pthread_mutex_unlock(&m->mu);
		return;
	}
	w->n = v;
	pthread_mutex_unlock(&m->mu);
	chl_parker_complete(w->parker, w, CHL_OK);
}

static bool mbox_has_waiter(mbox *m)
{
	bool b;

	pthread_mutex_lock(&m->mu);
	b = !chl_waitq_empty(&m->q);
	pthread_mutex_unlock(&m->mu);
	return b;
}

/* ---- schedulers with recording callbacks ---- */

static atomic_int deadlocks;
static latch deadlock_latch;
static atomic_int preempts;

/* What the deadlock dump saw: live tasks and how many wait on "test wait"
 * (written before deadlock_latch is added to, read after waiting for it). */
static int dump_tasks, dump_waiting;

static void dump_one(chl_task *t, void *arg)
{
	(void)arg;
	dump_tasks++;
	if (t->id > 0 && t->parker.reason && !strcmp(t->parker.reason, "test wait"))
		dump_waiting++;
}

static void on_deadlock(chl_sched *s, void *ud)
{
	(void)ud;
	dump_tasks = dump_waiting = 0;
	chl_sched_foreach(s, dump_one, NULL);   /* what a dump does */
	atomic_fetch_add(&deadlocks, 1);
	latch_add(&deadlock_latch);
}

static void on_preempt(chl_task *t, void *ud)
{
	(void)t;
	(void)ud;
	atomic_fetch_add(&preempts, 1);   /* lock-free: async-signal-safe */
}

static chl_sched *sched_make(int procs, bool detect)
{
	chl_sched_config cfg;
	chl_sched *s;

	memset(&cfg, 0, sizeof cfg);
	cfg.procs = procs;
	cfg.detect_deadlock = detect;
	cfg.on_deadlock = on_deadlock;
	cfg.on_preempt = on_preempt;
	atomic_store(&deadlocks, 0);
	atomic_store(&preempts, 0);
	latch_init(&deadlock_latch);
	s = chl_sched_new(&cfg);
	assert_non_null(s);
	return s;
}

static void sched_done(chl_sched *s)
{
	chl_sched_free(s);
	latch_destroy(&deadlock_latch);
}

/* Poll the stats until runnable == want (a task's park fully counted). */
static bool wait_runnable(chl_sched *s, int64_t want)
{
	chl_sched_stats st;
	int i;

	for (i = 0; i < TIMEOUT_S * 1000; i++) {
		chl_sched_stats_get(s, &st);
		if (st.runnable == want)
			return true;
		nap(MS);
	}
	return false;
}

static atomic_int released;

static void count_release(chl_task *t)
{
	(void)t;
	atomic_fetch_add(&released, 1);
}

/* ---- ring: 10,000 tasks pass a token 10 times around ---- */

#define RING_N 10000
#define RING_LAPS 10

typedef struct ring_task {
	chl_task t;
	chl_waiter w;
	mbox *in, *out;
	int laps;
	bool waiting;
} ring_task;

static chl_step ring_step(chl_task *t)
{
	ring_task *r = (ring_task *)t;
	int64_t v;

	for (;;) {
		if (r->waiting) {
			r->waiting = false;
			v = r->w.n;
		} else {
			if (r->laps == RING_LAPS)
				return CHL_STEP_DONE;
			chl_parker_prepare(&t->parker, "ring receive");
			chl_waiter_init(&r->w, &t->parker, r->in);
			if (mbox_recv_begin(r->in, &r->w, &v) == CHL_WAIT) {
				r->waiting = true;
				return CHL_STEP_PARK;
			}
		}
		r->laps++;
		mbox_send(r->out, v + 1);
	}
}

static void ring_passes_token_exactly(void **state)
{
	chl_sched *s = sched_make(0, true);
	ring_task *rt = calloc(RING_N, sizeof *rt);
	mbox *mb = calloc(RING_N, sizeof *mb);
	int i;

	(void)state;
	assert_non_null(rt);
	assert_non_null(mb);
	atomic_store(&released, 0);
	for (i = 0; i < RING_N; i++)
		mbox_init(&mb[i]);
	chl_sched_external_enter(s);   /* we send the first token */
	for (i = 0; i < RING_N; i++) {
		rt[i].in = &mb[i];
		rt[i].out = &mb[(i + 1) % RING_N];
		rt[i].t.step = ring_step;
		rt[i].t.release = count_release;
		chl_sched_spawn(s, &rt[i].t);
	}
	mbox_send(&mb[0], 0);
	chl_sched_wait_idle(s);
	chl_sched_external_leave(s);
	/* Each of the RING_N * RING_LAPS receives added one; the last value
	 * sits in mailbox 0, which nobody receives from any more. */
	assert_true(mb[0].has);
	assert_int_equal(mb[0].slot, (int64_t)RING_N * RING_LAPS);
	for (i = 0; i < RING_N; i++) {
		assert_int_equal(rt[i].laps, RING_LAPS);
		if (i > 0)
			assert_false(mb[i].has);
	}
	assert_int_equal(atomic_load(&released), RING_N);
	assert_int_equal(chl_sched_count(s), 0);
	assert_int_equal(atomic_load(&deadlocks), 0);
	sched_done(s);
	for (i = 0; i < RING_N; i++)
		mbox_destroy(&mb[i]);
	free(mb);
	free(rt);
}

/* ---- 100,000 tasks parked at once, released by one external thread ---- */

#define MASS_N 100000

typedef struct gate {
	pthread_mutex_t mu;
	chl_waitq q;           /* mu */
	int queued;            /* mu */
	pthread_cond_t all;    /* signalled when queued == MASS_N */
} gate;

typedef struct mass_task {
	chl_task t;
	chl_waiter w;
	gate *g;
	bool parked;
	atomic_int runs_after;   /* steps run after the release: must be 1 */
} mass_task;

static atomic_int mass_done;

static void gate_unlock(void *arg)
{
	pthread_mutex_unlock(&((gate *)arg)->mu);
}

static chl_step mass_step(chl_task *t)
{
	mass_task *m = (mass_task *)t;

	if (!m->parked) {
		m->parked = true;
		chl_parker_prepare(&t->parker, "gate");
		chl_waiter_init(&m->w, &t->parker, m->g);
		pthread_mutex_lock(&m->g->mu);
		chl_waitq_push(&m->g->q, &m->w);
		if (++m->g->queued == MASS_N)
			pthread_cond_signal(&m->g->all);
		chl_parker_set_unlock(&t->parker, gate_unlock, m->g);
		return CHL_STEP_PARK;
	}
	atomic_fetch_add(&m->runs_after, 1);
	atomic_fetch_add(&mass_done, 1);
	return CHL_STEP_DONE;
}

typedef struct releaser {
	chl_sched *s;
	gate *g;
	chl_waiter **claimed;
	int n;
} releaser;

static void *release_all(void *arg)
{
	releaser *r = arg;
	chl_waiter *w;
	int i;

	pthread_mutex_lock(&r->g->mu);
	while (r->g->queued < MASS_N)
		pthread_cond_wait(&r->g->all, &r->g->mu);
	while ((w = chl_waitq_claim_first(&r->g->q)) != NULL)
		r->claimed[r->n++] = w;
	pthread_mutex_unlock(&r->g->mu);
	/* Wakes come after the lock is dropped (waiter.h step 3). */
	for (i = 0; i < r->n; i++)
		chl_parker_complete(r->claimed[i]->parker, r->claimed[i], CHL_OK);
	return NULL;
}

static void mass_park_then_release(void **state)
{
	chl_sched *s = sched_make(0, true);
	mass_task *mt = calloc(MASS_N, sizeof *mt);
	gate g;
	releaser r;
	pthread_t th;
	int i;

	(void)state;
	assert_non_null(mt);
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.all, NULL);
	g.q.head = g.q.tail = NULL;
	g.queued = 0;
	r.s = s;
	r.g = &g;
	r.n = 0;
	r.claimed = calloc(MASS_N, sizeof *r.claimed);
	assert_non_null(r.claimed);
	atomic_store(&released, 0);
	atomic_store(&mass_done, 0);
	chl_sched_external_enter(s);   /* on behalf of the releasing thread */
	th = spawn(release_all, &r);
	for (i = 0; i < MASS_N; i++) {
		mt[i].g = &g;
		atomic_init(&mt[i].runs_after, 0);
		mt[i].t.step = mass_step;
		mt[i].t.release = count_release;
		chl_sched_spawn(s, &mt[i].t);
	}
	join(th);
	chl_sched_wait_idle(s);
	chl_sched_external_leave(s);
	assert_int_equal(r.n, MASS_N);
	assert_int_equal(atomic_load(&mass_done), MASS_N);
	assert_int_equal(atomic_load(&released), MASS_N);
	for (i = 0; i < MASS_N; i++)
		assert_int_equal(atomic_load(&mt[i].runs_after), 1);
	assert_int_equal(atomic_load(&deadlocks), 0);
	sched_done(s);
	free(r.claimed);
	pthread_cond_destroy(&g.all);
	pthread_mutex_destroy(&g.mu);
	free(mt);
}

/* ---- runnext: a ping-pong pair stays on one worker ---- */

#define PP_ROUNDS 20000

typedef struct pp_task {
	chl_task t;
	chl_waiter w;
	mbox *in, *out;
	bool ping;             /* sends first; pong receives first */
	int pc;                /* 0: go on, 1: woken with a value */
	int rounds;
	int64_t v;
	pthread_t *where;      /* shared log: thread of every step */
	atomic_int *nlog;
} pp_task;

/* Ping: send, receive - PP_ROUNDS times; pong: receive, send.  Each step
 * logs its thread: the two alternate strictly, so the log is ordered. */
static chl_step pp_step(chl_task *t)
{
	pp_task *p = (pp_task *)t;
	int slot = atomic_fetch_add(p->nlog, 1);
	int64_t v;

	if (slot < 4 * PP_ROUNDS)
		p->where[slot] = pthread_self();
	for (;;) {
		if (p->pc == 1) {
			p->pc = 0;
			v = p->w.n;
		} else {
			if (p->rounds == PP_ROUNDS)
				return CHL_STEP_DONE;
			if (p->ping)
				mbox_send(p->out, p->v + 1);
			chl_parker_prepare(&t->parker, "ping-pong");
			chl_waiter_init(&p->w, &t->parker, p->in);
			if (mbox_recv_begin(p->in, &p->w, &v) == CHL_WAIT) {
				p->pc = 1;
				return CHL_STEP_PARK;
			}
		}
		p->v = v;
		if (!p->ping)
			mbox_send(p->out, v + 1);
		p->rounds++;
	}
}

static void pingpong_stays_on_one_worker(void **state)
{
	chl_sched *s = sched_make(2, true);
	pp_task a, b;
	mbox ma, mb;
	pthread_t *where = calloc(4 * PP_ROUNDS, sizeof *where);
	atomic_int nlog;
	int i, n, moves = 0;

	(void)state;
	assert_non_null(where);
	atomic_init(&nlog, 0);
	mbox_init(&ma);
	mbox_init(&mb);
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	a.in = &ma; a.out = &mb; a.ping = true;
	b.in = &mb; b.out = &ma; b.ping = false;
	a.where = b.where = where;
	a.nlog = b.nlog = &nlog;
	a.t.step = b.t.step = pp_step;
	chl_sched_external_enter(s);   /* spawning both: not stuck between */
	chl_sched_spawn(s, &b.t);
	chl_sched_spawn(s, &a.t);
	chl_sched_wait_idle(s);
	chl_sched_external_leave(s);
	n = atomic_load(&nlog);
	if (n > 4 * PP_ROUNDS)
		n = 4 * PP_ROUNDS;
	for (i = 1; i < n; i++)
		moves += !pthread_equal(where[i], where[i - 1]);
	/* Every round trip is two parks and two readies; the readied task
	 * goes to its waker's runnext, which no other worker takes, so after
	 * the pair first meets it never moves.  Bound: at most 1% of the
	 * steps run on another thread than the step before (expected: a
	 * handful, at the start). */
	print_message("ping-pong: %d steps, %d worker changes\n", n, moves);
	assert_true(n >= 2 * PP_ROUNDS);
	assert_true(moves <= n / 100);
	assert_int_equal(a.rounds, PP_ROUNDS);
	assert_int_equal(b.rounds, PP_ROUNDS);
	assert_int_equal(a.v, 2 * PP_ROUNDS);   /* every hop added one */
	assert_int_equal(atomic_load(&deadlocks), 0);
	sched_done(s);
	mbox_destroy(&ma);
	mbox_destroy(&mb);
	free(where);
}

/* ---- a starter: spawns a list of tasks from a task ---- */

/* Tests that need every task queued before any runs spawn them from one
 * starter task (into its worker's local queue, in order); spawning from
 * outside would let the first ones run while the test still spawns. */
typedef struct starter {
	chl_task t;
	chl_task **list;
	int n;
} starter;

static chl_step starter_step(chl_task *t)
{
	starter *st = (starter *)t;
	int i;

	for (i = 0; i < st->n; i++)
		chl_sched_spawn(t->sched, st->list[i]);
	return CHL_STEP_DONE;
}

static void spawn_all(chl_sched *s, starter *st, chl_task **list, int n)
{
	memset(st, 0, sizeof *st);
	st->list = list;
	st->n = n;
	st->t.step = starter_step;
	chl_sched_spawn(s, &st->t);
}

/* ---- yield fairness with one worker ---- */

#define Y_TASKS 4
#define Y_ROUNDS 300

typedef struct y_task {
	chl_task t;
	int idx;
	int runs;
	int *log;              /* the single worker writes it: no race */
	int *nlog;
} y_task;

static chl_step y_step(chl_task *t)
{
	y_task *y = (y_task *)t;

	y->log[(*y->nlog)++] = y->idx;
	return ++y->runs == Y_ROUNDS ? CHL_STEP_DONE : CHL_STEP_YIELD;
}

static void yield_is_fair_on_one_worker(void **state)
{
	chl_sched *s = sched_make(1, true);
	y_task yt[Y_TASKS];
	chl_task *list[Y_TASKS];
	starter st;
	int log[Y_TASKS * Y_ROUNDS], nlog = 0, cnt[Y_TASKS] = { 0 };
	int i, j, worst = 0;

	(void)state;
	memset(yt, 0, sizeof yt);
	for (i = 0; i < Y_TASKS; i++) {
		yt[i].idx = i;
		yt[i].log = log;
		yt[i].nlog = &nlog;
		yt[i].t.step = y_step;
		list[i] = &yt[i].t;
	}
	spawn_all(s, &st, list, Y_TASKS);
	chl_sched_wait_idle(s);   /* orders the worker's writes before us */
	assert_int_equal(atomic_load(&deadlocks), 0);
	assert_int_equal(nlog, Y_TASKS * Y_ROUNDS);
	/* One worker, every task queued before the first runs: yields go
	 * round robin through the global queue (the every-61st-slice look
	 * moves the global head behind the local queue, never ahead of a
	 * round), so at every point of the run the most-run and the
	 * least-run task differ by at most 1 - until tasks start finishing. */
	for (i = 0; i < Y_TASKS * (Y_ROUNDS - 1); i++) {
		int lo = Y_ROUNDS, hi = 0;

		cnt[log[i]]++;
		for (j = 0; j < Y_TASKS; j++) {
			lo = cnt[j] < lo ? cnt[j] : lo;
			hi = cnt[j] > hi ? cnt[j] : hi;
		}
		worst = hi - lo > worst ? hi - lo : worst;
	}
	print_message("yield: worst spread %d\n", worst);
	assert_true(worst <= 1);
	for (i = 0; i < Y_TASKS; i++)
		assert_int_equal(yt[i].runs, Y_ROUNDS);
	sched_done(s);
}

/* A task that yields forever until another one runs does not starve it,
 * even when that one waits in the worker's local queue. */
typedef struct spin_task {
	chl_task t;
	atomic_int *flag;
	int yields;
	bool setter;
} spin_task;

static chl_step yielder_step(chl_task *t)
{
	spin_task *y = (spin_task *)t;

	if (y->setter) {
		atomic_store(y->flag, 1);
		return CHL_STEP_DONE;
	}
	if (atomic_load(y->flag))
		return CHL_STEP_DONE;
	y->yields++;
	return CHL_STEP_YIELD;
}

static void yielder_does_not_starve_others(void **state)
{
	chl_sched *s = sched_make(1, true);
	atomic_int flag;
	spin_task y, z;
	chl_task *list[2] = { &y.t, &z.t };
	starter st;

	(void)state;
	atomic_init(&flag, 0);
	memset(&y, 0, sizeof y);
	memset(&z, 0, sizeof z);
	y.flag = z.flag = &flag;
	z.setter = true;
	y.t.step = z.t.step = yielder_step;
	spawn_all(s, &st, list, 2);
	chl_sched_wait_idle(s);
	/* The setter sat behind the yielder: it ran after at most a few
	 * yields (global queue round robin), not never. */
	assert_true(y.yields <= 2);
	sched_done(s);
}

/* ---- preemption ---- */

typedef struct hog_task {
	chl_task t;
	atomic_int *other_done;
	int yields;
	bool other;
} hog_task;

static chl_step hog_step(chl_task *t)
{
	hog_task *h = (hog_task *)t;

	if (h->other) {
		atomic_store(h->other_done, 1);
		return CHL_STEP_DONE;
	}
	if (atomic_load(h->other_done))
		return CHL_STEP_DONE;
	/* Spin until the monitor asks us to yield. */
	while (!atomic_load_explicit(&t->preempt, memory_order_relaxed))
		;
	atomic_store_explicit(&t->preempt, 0, memory_order_relaxed);
	h->yields++;
	return CHL_STEP_YIELD;
}

static void spinning_task_is_preempted(void **state)
{
	chl_sched *s = sched_make(1, true);
	atomic_int other_done;
	hog_task hog, other;
	chl_task *list[2] = { &hog.t, &other.t };
	starter sta;
	chl_sched_stats st;
	int64_t t0 = chl_now(), dt;

	(void)state;
	atomic_init(&other_done, 0);
	memset(&hog, 0, sizeof hog);
	memset(&other, 0, sizeof other);
	hog.other_done = other.other_done = &other_done;
	other.other = true;
	hog.t.step = other.t.step = hog_step;
	spawn_all(s, &sta, list, 2);
	chl_sched_wait_idle(s);   /* hangs (test timeout) without preemption */
	dt = chl_now() - t0;
	chl_sched_stats_get(s, &st);
	print_message("preempted after %.1f ms, %d on_preempt calls, %d yields\n",
		(double)dt / 1e6, atomic_load(&preempts), hog.yields);
	assert_true(hog.yields >= 1);
	assert_true(atomic_load(&preempts) >= 1);
	assert_true(st.preempts >= 1);
	/* One slice is 10-20 ms; allow for a loaded machine. */
	assert_true(dt < 5 * CHL_NS_PER_SEC);
	sched_done(s);
}

/* The same preemption, polled: the spinner never looks at t->preempt
 * (which the signal handler sets), only at chl_sched_preempt_requested -
 * what a count hook does where signals are held back (ThreadSanitizer). */
static chl_step poll_hog_step(chl_task *t)
{
	hog_task *h = (hog_task *)t;
	volatile unsigned long spins = 0;

	if (h->other) {
		atomic_store(h->other_done, 1);
		return CHL_STEP_DONE;
	}
	if (atomic_load(h->other_done))
		return CHL_STEP_DONE;
	while (!chl_sched_preempt_requested())
		spins++;
	h->yields++;
	return CHL_STEP_YIELD;
}

static void spinning_task_sees_preempt_requested(void **state)
{
	chl_sched *s = sched_make(1, true);
	atomic_int other_done;
	hog_task hog, other;
	chl_task *list[2] = { &hog.t, &other.t };
	starter sta;

	(void)state;
	atomic_init(&other_done, 0);
	memset(&hog, 0, sizeof hog);
	memset(&other, 0, sizeof other);
	hog.other_done = other.other_done = &other_done;
	other.other = true;
	hog.t.step = other.t.step = poll_hog_step;
	assert_false(chl_sched_preempt_requested());   /* not on a worker */
	spawn_all(s, &sta, list, 2);
	chl_sched_wait_idle(s);   /* hangs (test timeout) without it */
	assert_true(hog.yields >= 1);
	assert_true(atomic_load(&other_done));
	sched_done(s);
}

/* A ping-pong pair hands the worker back and forth through runnext; the
 * pair inherits one time slice (as in Go), so it is preempted like one
 * long task and a third task queued behind it runs.  Without that, with
 * one worker, the third task would never run. */
typedef struct chain_task {
	chl_task t;
	chl_waiter w;
	mbox *in, *out;
	atomic_int *stop;
	int64_t v;
	int pc;                /* 0: ping's send, 1: receive, 2: woken */
	int yields;
	bool ping;             /* else pong; or the stopper if !in */
} chain_task;

static chl_step chain_step(chl_task *t)
{
	chain_task *c = (chain_task *)t;
	int64_t v;

	if (!c->in) {
		atomic_store(c->stop, 1);
		return CHL_STEP_DONE;
	}
	for (;;) {
		if (c->pc == 0) {
			if (atomic_load(c->stop)) {
				mbox_send(c->out, -1);   /* tells pong to finish */
				return CHL_STEP_DONE;
			}
			mbox_send(c->out, c->v);
			c->pc = 1;
		}
		if (c->pc == 1) {
			/* A preemption point, as the Lua hook makes one. */
			if (atomic_load_explicit(&t->preempt, memory_order_relaxed)) {
				atomic_store_explicit(&t->preempt, 0, memory_order_relaxed);
				c->yields++;
				return CHL_STEP_YIELD;
			}
			chl_parker_prepare(&t->parker, "chain receive");
			chl_waiter_init(&c->w, &t->parker, c->in);
			if (mbox_recv_begin(c->in, &c->w, &v) == CHL_WAIT) {
				c->pc = 2;
				return CHL_STEP_PARK;
			}
		} else {
			v = c->w.n;
		}
		if (v < 0)
			return CHL_STEP_DONE;
		c->v = v;
		if (!c->ping)
			mbox_send(c->out, v + 1);
		c->pc = c->ping ? 0 : 1;
	}
}

static void runnext_pair_is_preempted_as_one(void **state)
{
	chl_sched *s = sched_make(1, true);
	atomic_int stop;
	chain_task a, b, z;
	chl_task *list[3] = { &a.t, &b.t, &z.t };
	starter st;
	mbox ma, mb;

	(void)state;
	atomic_init(&stop, 0);
	mbox_init(&ma);
	mbox_init(&mb);
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&z, 0, sizeof z);
	a.in = &ma; a.out = &mb; a.ping = true;
	b.in = &mb; b.out = &ma;
	a.stop = b.stop = z.stop = &stop;
	a.t.step = b.t.step = z.t.step = chain_step;
	spawn_all(s, &st, list, 3);
	chl_sched_wait_idle(s);   /* hangs (test timeout) if z starves */
	print_message("runnext pair: %lld round trips, %d + %d yields, %d on_preempt\n",
		(long long)a.v, a.yields, b.yields, atomic_load(&preempts));
	assert_true(atomic_load(&stop));
	assert_true(a.yields + b.yields >= 1);
	assert_true(atomic_load(&preempts) >= 1);
	assert_int_equal(atomic_load(&deadlocks), 0);
	sched_done(s);
	mbox_destroy(&ma);
	mbox_destroy(&mb);
}

/* ---- deadlock detection ---- */

typedef struct wait_task {
	chl_task t;
	chl_waiter w;
	mbox *m;
	int64_t got;
	int64_t deadline;      /* > 0: relative ns for each wait */
	int waits;             /* how many waits to do */
	int timeouts;
	int pc;
	bool block;            /* wait on the thread parker (non-yieldable) */
	latch *blocking;       /* set just before a blocking wait */
} wait_task;

static chl_step wait_step(chl_task *t)
{
	wait_task *k = (wait_task *)t;
	int64_t v;

	for (;;) {
		if (k->pc == 1) {          /* woken */
			k->pc = 0;
			chl_parker_disarm(&t->parker);
			if (t->parker.status == CHL_TIMEOUT) {
				pthread_mutex_lock(&k->m->mu);
				chl_waitq_remove(&k->m->q, &k->w);
				pthread_mutex_unlock(&k->m->mu);
				k->timeouts++;
			} else {
				k->got = k->w.n;
			}
			k->waits--;
		}
		if (k->waits == 0)
			return CHL_STEP_DONE;
		chl_parker_prepare(&t->parker, "test wait");
		if (k->deadline > 0)
			chl_parker_arm_deadline(&t->parker, chl_now() + k->deadline);
		else if (k->deadline < 0)
			chl_parker_arm_deadline(&t->parker, 0);   /* already passed */
		chl_waiter_init(&k->w, &t->parker, k->m);
		if (mbox_recv_begin(k->m, &k->w, &v) == CHL_OK) {
			chl_parker_disarm(&t->parker);
			k->got = v;
			k->waits--;
			continue;
		}
		k->pc = 1;
		return CHL_STEP_PARK;
	}
}

static void parked_forever_is_a_deadlock(void **state)
{
	chl_sched *s = sched_make(2, true);
	wait_task k;
	mbox m;

	(void)state;
	mbox_init(&m);
	memset(&k, 0, sizeof k);
	k.m = &m;
	k.waits = 1;
	k.t.step = wait_step;
	chl_sched_spawn(s, &k.t);
	assert_true(latch_wait_secs(&deadlock_latch, 1, TIMEOUT_S));
	assert_int_equal(atomic_load(&deadlocks), 1);
	assert_int_equal(chl_sched_count(s), 1);
	assert_int_equal(dump_tasks, 1);
	assert_int_equal(dump_waiting, 1);
	/* Clean up: wake it ourselves (a deadlock is reported only once). */
	mbox_send(&m, 7);
	chl_sched_wait_idle(s);
	assert_int_equal(k.got, 7);
	assert_int_equal(atomic_load(&deadlocks), 1);
	sched_done(s);
	mbox_destroy(&m);
}

/* Parking with a deadline is not a deadlock: the timer will wake it.
 * Many short waits make the count hit 0 just as the timer readies the
 * task (the race deadlock_check is built for); a passed deadline fires at
 * commit, readying the task while its worker still commits. */
static void sleeping_task_is_not_a_deadlock(void **state)
{
	chl_sched *s = sched_make(2, true);
	wait_task k[3];
	mbox m[3];
	int i;

	(void)state;
	memset(k, 0, sizeof k);
	for (i = 0; i < 3; i++) {
		mbox_init(&m[i]);
		k[i].m = &m[i];
		k[i].t.step = wait_step;
	}
	k[0].deadline = 5 * 1000 * 1000;   /* 5 ms, 20 times */
	k[0].waits = 20;
	k[1].deadline = 20 * 1000;         /* 20 us, 300 times */
	k[1].waits = 300;
	k[2].deadline = -1;                /* passed, 300 times */
	k[2].waits = 300;
	for (i = 0; i < 3; i++)
		chl_sched_spawn(s, &k[i].t);
	chl_sched_wait_idle(s);
	assert_int_equal(k[0].timeouts, 20);
	assert_int_equal(k[1].timeouts, 300);
	assert_int_equal(k[2].timeouts, 300);
	assert_int_equal(atomic_load(&deadlocks), 0);
	sched_done(s);
	for (i = 0; i < 3; i++)
		mbox_destroy(&m[i]);
}

static void registered_external_prevents_deadlock(void **state)
{
	chl_sched *s = sched_make(2, true);
	wait_task k;
	mbox m;

	(void)state;
	mbox_init(&m);
	memset(&k, 0, sizeof k);
	k.m = &m;
	k.waits = 1;
	k.t.step = wait_step;
	chl_sched_external_enter(s);
	chl_sched_spawn(s, &k.t);
	/* Fully parked and counted: the worker's check has seen count 0
	 * with us registered, so it cannot report. */
	assert_true(wait_runnable(s, 0));
	assert_true(mbox_has_waiter(&m));
	assert_int_equal(atomic_load(&deadlocks), 0);
	/* Leaving makes the program stuck: reported by the leave itself. */
	chl_sched_external_leave(s);
	assert_int_equal(atomic_load(&deadlocks), 1);
	mbox_send(&m, 1);
	chl_sched_wait_idle(s);
	assert_int_equal(k.got, 1);
	sched_done(s);
	mbox_destroy(&m);
}

/* ---- blocking a worker: block_enter / block_leave ---- */

static chl_step block_step(chl_task *t)
{
	wait_task *k = (wait_task *)t;
	chl_parker *p = chl_thread_parker_self();
	int64_t v;

	chl_parker_prepare(p, "blocking receive");
	chl_waiter_init(&k->w, p, k->m);
	if (k->blocking)
		latch_add(k->blocking);
	if (mbox_recv_begin(k->m, &k->w, &v) == CHL_WAIT) {
		chl_sched_block_enter(t);
		chl_thread_park(p);
		chl_sched_block_leave(t);
		v = k->w.n;
	}
	k->got = v;
	return CHL_STEP_DONE;
}

typedef struct send_task {
	chl_task t;
	mbox *m;
	int64_t v;
} send_task;

static chl_step send_step(chl_task *t)
{
	send_task *x = (send_task *)t;

	mbox_send(x->m, x->v);
	return CHL_STEP_DONE;
}

/* procs = 1: the only worker blocks; the sender must still run (on a
 * spare worker) to wake it. */
static void blocked_worker_hands_off_its_work(void **state)
{
	chl_sched *s = sched_make(1, true);
	wait_task k;
	send_task x;
	latch blocking;
	chl_sched_stats st;
	mbox m;

	(void)state;
	mbox_init(&m);
	latch_init(&blocking);
	memset(&k, 0, sizeof k);
	memset(&x, 0, sizeof x);
	k.m = x.m = &m;
	k.blocking = &blocking;
	k.t.step = block_step;
	x.v = 42;
	x.t.step = send_step;
	chl_sched_external_enter(s);   /* we spawn the sender later */
	chl_sched_spawn(s, &k.t);
	assert_true(latch_wait_secs(&blocking, 1, TIMEOUT_S));
	chl_sched_spawn(s, &x.t);
	chl_sched_wait_idle(s);
	chl_sched_external_leave(s);
	chl_sched_stats_get(s, &st);
	assert_int_equal(k.got, 42);
	assert_true(st.workers >= 2);   /* a spare took over */
	assert_int_equal(atomic_load(&deadlocks), 0);
	sched_done(s);
	latch_destroy(&blocking);
	mbox_destroy(&m);
}

/* More tasks block than there are workers: each block starts a spare;
 * the senders run on spares; when the blocked ones come back, the extra
 * workers retire and the scheduler settles with every worker asleep. */
#define NBLOCK 8

static void many_blocked_workers_all_complete(void **state)
{
	chl_sched *s = sched_make(2, true);
	wait_task k[NBLOCK];
	send_task x[NBLOCK];
	mbox m[NBLOCK];
	latch blocking;
	chl_sched_stats st;
	int i, j;

	(void)state;
	latch_init(&blocking);
	memset(k, 0, sizeof k);
	memset(x, 0, sizeof x);
	chl_sched_external_enter(s);
	for (i = 0; i < NBLOCK; i++) {
		mbox_init(&m[i]);
		k[i].m = x[i].m = &m[i];
		k[i].blocking = &blocking;
		k[i].t.step = block_step;
		x[i].v = 100 + i;
		x[i].t.step = send_step;
		chl_sched_spawn(s, &k[i].t);
	}
	/* Wait until every receiver is queued, i.e. blocking its worker. */
	assert_true(latch_wait_secs(&blocking, NBLOCK, TIMEOUT_S));
	for (i = 0; i < NBLOCK; i++)
		for (j = 0; j < TIMEOUT_S * 1000 && !mbox_has_waiter(&m[i]); j++)
			nap(MS);
	for (i = 0; i < NBLOCK; i++)
		chl_sched_spawn(s, &x[i].t);
	chl_sched_wait_idle(s);
	chl_sched_external_leave(s);
	for (i = 0; i < NBLOCK; i++)
		assert_int_equal(k[i].got, 100 + i);
	/* Every worker goes back to sleep (no active-count drift). */
	for (j = 0; j < TIMEOUT_S * 1000; j++) {
		chl_sched_stats_get(s, &st);
		if (st.idle == st.workers)
			break;
		nap(MS);
	}
	print_message("blocked: %d workers made for procs 2\n", st.workers);
	assert_int_equal(st.idle, st.workers);
	/* With all NBLOCK blocked at once, nactive + nidle >= procs needs
	 * procs more workers. */
	assert_true(st.workers >= NBLOCK + 2);
	assert_int_equal(atomic_load(&deadlocks), 0);
	sched_done(s);
	latch_destroy(&blocking);
	for (i = 0; i < NBLOCK; i++)
		mbox_destroy(&m[i]);
}

/* A task blocked forever on its thread parker counts as parked. */
static void blocked_forever_is_a_deadlock(void **state)
{
	chl_sched *s = sched_make(1, true);
	wait_task k;
	mbox m;

	(void)state;
	mbox_init(&m);
	memset(&k, 0, sizeof k);
	k.m = &m;
	k.t.step = block_step;
	chl_sched_spawn(s, &k.t);
	assert_true(latch_wait_secs(&deadlock_latch, 1, TIMEOUT_S));
	assert_int_equal(atomic_load(&deadlocks), 1);
	mbox_send(&m, 5);
	chl_sched_wait_idle(s);
	assert_int_equal(k.got, 5);
	assert_int_equal(atomic_load(&deadlocks), 1);
	sched_done(s);
	mbox_destroy(&m);
}

/* ---- spawning from tasks ---- */

#define TREE_DEPTH 12   /* 2^13 - 1 tasks */

typedef struct tree_task {
	chl_task t;
	int depth;
} tree_task;

static atomic_int tree_ran;
static atomic_int tree_bad;   /* steps that saw a wrong chl_sched_current */

static void tree_release(chl_task *t)
{
	free(t);
	atomic_fetch_add(&released, 1);
}

static chl_step tree_step(chl_task *t)
{
	tree_task *n = (tree_task *)t;
	int i;

	/* No cmocka asserts on workers: they would longjmp across threads. */
	atomic_fetch_add(&tree_ran, 1);
	if (chl_sched_current() != t)
		atomic_fetch_add(&tree_bad, 1);
	if (n->depth < TREE_DEPTH) {
		for (i = 0; i < 2; i++) {
			tree_task *c = calloc(1, sizeof *c);

			if (!c) {
				atomic_fetch_add(&tree_bad, 1);
				continue;
			}
			c->depth = n->depth + 1;
			c->t.step = tree_step;
			c->t.release = tree_release;
			chl_sched_spawn(t->sched, &c->t);
		}
	}
	return CHL_STEP_DONE;
}

static void spawn_tree_runs_every_task_once(void **state)
{
	chl_sched *s = sched_make(0, true);
	tree_task *root = calloc(1, sizeof *root);
	int total = (1 << (TREE_DEPTH + 1)) - 1;

	(void)state;
	assert_non_null(root);
	atomic_store(&tree_ran, 0);
	atomic_store(&tree_bad, 0);
	atomic_store(&released, 0);
	root->t.step = tree_step;
	root->t.release = tree_release;
	chl_sched_spawn(s, &root->t);
	chl_sched_wait_idle(s);
	assert_int_equal(atomic_load(&tree_ran), total);
	assert_int_equal(atomic_load(&tree_bad), 0);
	assert_int_equal(atomic_load(&released), total);
	assert_null(chl_sched_current());
	assert_int_equal(atomic_load(&deadlocks), 0);
	sched_done(s);
}

/* ---- stopping the world ---- */

/* Tasks that count their steps in a plain field: the test thread reads it
 * only while the world is stopped (ThreadSanitizer checks the claim that
 * no step runs then).  A hog spins until asked to yield. */
typedef struct w_task {
	chl_task t;
	long steps;            /* plain: steps, and the stopped test thread */
	atomic_int *stop;
	bool hog;
	int stoppers;          /* > 0: stop and start the world so many times */
	int stopped;           /* of those, how many stopped it (returned 1) */
} w_task;

static chl_step w_step(chl_task *t)
{
	w_task *x = (w_task *)t;

	x->steps++;
	if (x->stoppers > 0) {
		x->stoppers--;
		if (chl_sched_stop_world(t->sched, -1) == 1)
			x->stopped++;
		chl_sched_start_world(t->sched);
		return CHL_STEP_YIELD;
	}
	if (atomic_load(x->stop))
		return CHL_STEP_DONE;
	while (x->hog && !chl_sched_preempt_requested() && !atomic_load(x->stop))
		;
	return CHL_STEP_YIELD;
}

#define W_TASKS 6

/* Parks once on a mailbox, then ends. */
typedef struct p_task {
	chl_task t;
	chl_waiter w;
	mbox *in;
	bool woken;
} p_task;

static chl_step p_step(chl_task *t)
{
	p_task *p = (p_task *)t;
	int64_t v;

	if (p->woken)
		return CHL_STEP_DONE;
	p->woken = true;
	chl_parker_prepare(&t->parker, "test wait");
	chl_waiter_init(&p->w, &t->parker, p->in);
	return mbox_recv_begin(p->in, &p->w, &v) == CHL_WAIT ? CHL_STEP_PARK : CHL_STEP_DONE;
}

static void stopped_world_runs_no_step(void **state)
{
	chl_sched *s = sched_make(2, true);
	atomic_int stop;
	w_task wt[W_TASKS];
	chl_task *list[W_TASKS];
	p_task parked;
	mbox box;
	starter st;
	long before[W_TASKS];
	int i, round;

	(void)state;
	atomic_init(&stop, 0);
	mbox_init(&box);
	memset(wt, 0, sizeof wt);
	memset(&parked, 0, sizeof parked);
	for (i = 0; i < W_TASKS; i++) {
		wt[i].t.step = w_step;
		wt[i].stop = &stop;
		wt[i].hog = i == 0;
		list[i] = &wt[i].t;
	}
	parked.in = &box;
	parked.t.step = p_step;
	chl_sched_external_enter(s);   /* we wake the parked one */
	chl_sched_spawn(s, &parked.t);
	for (i = 0; i < TIMEOUT_S * 1000 && !mbox_has_waiter(&box); i++)
		nap(1 * MS);
	assert_true(mbox_has_waiter(&box));
	spawn_all(s, &st, list, W_TASKS);
	nap(20 * MS);
	for (round = 0; round < 20; round++) {
		assert_int_equal(chl_sched_stop_world(s, (int64_t)TIMEOUT_S * CHL_NS_PER_SEC), 1);
		for (i = 0; i < W_TASKS; i++) {
			before[i] = wt[i].steps;
			assert_int_equal(chl_sched_task_state(&wt[i].t), CHL_TASK_RUNNABLE);
		}
		assert_int_equal(chl_sched_task_state(&parked.t), CHL_TASK_PARKED);
		nap(2 * MS);
		for (i = 0; i < W_TASKS; i++)
			assert_int_equal(wt[i].steps, before[i]);
		chl_sched_start_world(s);
		nap(1 * MS);
	}
	atomic_store(&stop, 1);
	mbox_send(&box, -1);
	chl_sched_external_leave(s);
	chl_sched_wait_idle(s);
	for (i = 0; i < W_TASKS; i++)
		assert_true(wt[i].steps > 1);
	assert_int_equal(atomic_load(&deadlocks), 0);
	sched_done(s);
	mbox_destroy(&box);
}

/* Two tasks stopping the world again and again, beside busy ones: they
 * take turns, nobody waits for ever. */
static void stoppers_take_turns(void **state)
{
	chl_sched *s = sched_make(3, true);
	atomic_int stop;
	w_task wt[W_TASKS];
	chl_task *list[W_TASKS];
	starter st;
	int i;

	(void)state;
	atomic_init(&stop, 0);
	memset(wt, 0, sizeof wt);
	for (i = 0; i < W_TASKS; i++) {
		wt[i].t.step = w_step;
		wt[i].stop = &stop;
		wt[i].stoppers = i < 2 ? 200 : 0;
		list[i] = &wt[i].t;
	}
	spawn_all(s, &st, list, W_TASKS);
	for (i = 0; i < TIMEOUT_S * 1000; i++) {
		if (chl_sched_stop_world(s, -1) == 1) {
			bool left = wt[0].stoppers || wt[1].stoppers;

			chl_sched_start_world(s);
			if (!left)
				break;
		}
		nap(1 * MS);
	}
	atomic_store(&stop, 1);
	chl_sched_wait_idle(s);
	assert_int_equal(wt[0].stopped, 200);
	assert_int_equal(wt[1].stopped, 200);
	sched_done(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_passes_token_exactly),
		cmocka_unit_test(mass_park_then_release),
		cmocka_unit_test(pingpong_stays_on_one_worker),
		cmocka_unit_test(yield_is_fair_on_one_worker),
		cmocka_unit_test(yielder_does_not_starve_others),
		cmocka_unit_test(spinning_task_is_preempted),
		cmocka_unit_test(spinning_task_sees_preempt_requested),
		cmocka_unit_test(runnext_pair_is_preempted_as_one),
		cmocka_unit_test(parked_forever_is_a_deadlock),
		cmocka_unit_test(sleeping_task_is_not_a_deadlock),
		cmocka_unit_test(registered_external_prevents_deadlock),
		cmocka_unit_test(blocked_worker_hands_off_its_work),
		cmocka_unit_test(many_blocked_workers_all_complete),
		cmocka_unit_test(blocked_forever_is_a_deadlock),
		cmocka_unit_test(spawn_tree_runs_every_task_once),
		cmocka_unit_test(stopped_world_runs_no_step),
		cmocka_unit_test(stoppers_take_turns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
