/*
 * bench_sched.c - scheduler figures, with tasks written as C state
 * machines (no Lua):
 *   - ping-pong of two tasks through an unbuffered core channel
 *     (chl_chan_send_begin / recv_begin with the task's parker): ns per
 *     round trip = two parks, two readies, two switches;
 *   - the same through a minimal primitive (lock + wait queue + slot), to
 *     separate the scheduler's cost from the channel's;
 *   - the ping-pong with deadlock detection off (its counter's cost);
 *   - spawn + finish of 100,000 trivial tasks, spawned from outside (the
 *     global queue) and from inside a task (the spawner's local queue):
 *     ns per task;
 *   - yield: one task yielding in a loop on one worker: ns per yield.
 * Prints `name: value unit` lines.  Never fails: a setup failure prints a
 * note and exits 0.  Each figure is the best of 3 runs (least disturbed
 * by the other jobs sharing the machine).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "sched.h"
#include "timer.h"
#include "waiter.h"

#define ROUNDS 200000
#define SPAWN_N 100000
#define YIELD_N 1000000
#define RUNS 3

static chl_sched *sched_make(int procs, bool detect)
{
	chl_sched_config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.procs = procs;
	cfg.detect_deadlock = detect;
	return chl_sched_new(&cfg);
}

/* ---- a minimal primitive: one slot, a queue of receivers ---- */

typedef struct mbox {
	pthread_mutex_t mu;
	chl_waitq q;           /* mu */
	int64_t slot;          /* mu */
	bool has;              /* mu */
} mbox;

static void mbox_unlock(void *arg)
{
	pthread_mutex_unlock(&((mbox *)arg)->mu);
}

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

/* ---- ping-pong tasks ---- */

typedef struct pp_task {
	chl_task t;
	chl_waiter w;
	chl_chan *cin, *cout;  /* channel version */
	mbox *min, *mout;      /* mailbox version */
	int64_t v;             /* the ball; stays put while a send waits */
	bool ok;
	bool ping;             /* ping: send then receive; pong: the reverse */
	bool waiting;
	int k;                 /* 0: first op of the round, 1: second */
	long i, n;
} pp_task;

/* One op done: pong adds one to what it received; a round is two ops. */
static void pp_advance(pp_task *p, bool was_send)
{
	if (!was_send && !p->ping)
		p->v++;
	p->k ^= 1;
	if (p->k == 0)
		p->i++;
}

static chl_step chan_step(chl_task *t)
{
	pp_task *p = (pp_task *)t;

	for (;;) {
		bool send = (p->k == 0) == p->ping;
		int rc;

		if (p->waiting) {
			p->waiting = false;
			pp_advance(p, send);
			continue;
		}
		if (p->i == p->n)
			return CHL_STEP_DONE;
		chl_parker_prepare(&t->parker, send ? "chan send" : "chan receive");
		if (send) {
			chl_waiter_init(&p->w, &t->parker, p->cout);
			rc = chl_chan_send_begin(p->cout, &p->v, &p->w);
		} else {
			chl_waiter_init(&p->w, &t->parker, p->cin);
			rc = chl_chan_recv_begin(p->cin, &p->v, &p->ok, &p->w);
		}
		if (rc == CHL_WAIT) {
			p->waiting = true;
			return CHL_STEP_PARK;
		}
		pp_advance(p, send);
	}
}

static chl_step mbox_step(chl_task *t)
{
	pp_task *p = (pp_task *)t;
	int64_t v;

	for (;;) {
		bool send = (p->k == 0) == p->ping;

		if (p->waiting) {
			p->waiting = false;
			p->v = p->w.n;
			pp_advance(p, false);
			continue;
		}
		if (p->i == p->n)
			return CHL_STEP_DONE;
		if (send) {
			mbox_send(p->mout, p->v);
			pp_advance(p, true);
			continue;
		}
		chl_parker_prepare(&t->parker, "mailbox receive");
		chl_waiter_init(&p->w, &t->parker, p->min);
		if (mbox_recv_begin(p->min, &p->w, &v) == CHL_WAIT) {
			p->waiting = true;
			return CHL_STEP_PARK;
		}
		p->v = v;
		pp_advance(p, false);
	}
}

/* ns per round trip, or -1 on setup failure. */
static double pingpong(bool use_chan, int procs, bool detect)
{
	chl_sched *s = sched_make(procs, detect);
	pp_task a, b;
	mbox m1, m2;
	chl_chan *c1 = NULL, *c2 = NULL;
	int64_t t0, dt;

	if (!s)
		return -1;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	if (use_chan) {
		c1 = chl_chan_new(sizeof(int64_t), 0);
		c2 = chl_chan_new(sizeof(int64_t), 0);
		if (!c1 || !c2)
			return -1;
		a.cout = b.cin = c1;
		a.cin = b.cout = c2;
		a.t.step = b.t.step = chan_step;
	} else {
		memset(&m1, 0, sizeof m1);
		memset(&m2, 0, sizeof m2);
		pthread_mutex_init(&m1.mu, NULL);
		pthread_mutex_init(&m2.mu, NULL);
		a.mout = b.min = &m1;
		a.min = b.mout = &m2;
		a.t.step = b.t.step = mbox_step;
	}
	a.ping = true;
	a.n = b.n = ROUNDS;
	chl_sched_external_enter(s);
	t0 = chl_now();
	chl_sched_spawn(s, &b.t);
	chl_sched_spawn(s, &a.t);
	chl_sched_wait_idle(s);
	dt = chl_now() - t0;
	chl_sched_external_leave(s);
	chl_sched_free(s);
	if (use_chan) {
		chl_chan_release(c1);
		chl_chan_release(c2);
	} else {
		pthread_mutex_destroy(&m1.mu);
		pthread_mutex_destroy(&m2.mu);
	}
	if (a.v != ROUNDS) {
		printf("# ping-pong: ball is %lld, want %d\n", (long long)a.v, ROUNDS);
		return -1;
	}
	return (double)dt / ROUNDS;
}

/* ---- spawn + finish ---- */

static chl_step trivial_step(chl_task *t)
{
	(void)t;
	return CHL_STEP_DONE;
}

typedef struct spawner {
	chl_task t;
	chl_task *kids;
	int n;
} spawner;

static chl_step spawner_step(chl_task *t)
{
	spawner *sp = (spawner *)t;
	int i;

	for (i = 0; i < sp->n; i++)
		chl_sched_spawn(t->sched, &sp->kids[i]);
	return CHL_STEP_DONE;
}

/* ns per task, or -1.  inside: spawned by one task, else by this thread. */
static double spawn_finish(bool inside)
{
	chl_sched *s = sched_make(0, true);
	chl_task *kids = calloc(SPAWN_N, sizeof *kids);
	spawner sp;
	int64_t t0, dt;
	int i;

	if (!s || !kids)
		return -1;
	for (i = 0; i < SPAWN_N; i++)
		kids[i].step = trivial_step;
	memset(&sp, 0, sizeof sp);
	sp.t.step = spawner_step;
	sp.kids = kids;
	sp.n = SPAWN_N;
	t0 = chl_now();
	if (inside) {
		chl_sched_spawn(s, &sp.t);
	} else {
		for (i = 0; i < SPAWN_N; i++)
			chl_sched_spawn(s, &kids[i]);
	}
	chl_sched_wait_idle(s);
	dt = chl_now() - t0;
	chl_sched_free(s);
	free(kids);
	return (double)dt / SPAWN_N;
}

/* ---- yield ---- */

typedef struct yielder {
	chl_task t;
	long left;
} yielder;

static chl_step yield_step(chl_task *t)
{
	yielder *y = (yielder *)t;

	return --y->left > 0 ? CHL_STEP_YIELD : CHL_STEP_DONE;
}

static double yield_loop(void)
{
	chl_sched *s = sched_make(1, true);
	yielder y;
	int64_t t0, dt;

	if (!s)
		return -1;
	memset(&y, 0, sizeof y);
	y.t.step = yield_step;
	y.left = YIELD_N;
	t0 = chl_now();
	chl_sched_spawn(s, &y.t);
	chl_sched_wait_idle(s);
	dt = chl_now() - t0;
	chl_sched_free(s);
	return (double)dt / YIELD_N;
}

/* ---- main ---- */

typedef double (*bench_fn)(void);

static double pp_chan(void) { return pingpong(true, 0, true); }
static double pp_chan1(void) { return pingpong(true, 1, true); }
static double pp_mbox(void) { return pingpong(false, 0, true); }
static double pp_mbox_nodetect(void) { return pingpong(false, 0, false); }
static double spawn_out(void) { return spawn_finish(false); }
static double spawn_in(void) { return spawn_finish(true); }

static void report(const char *name, bench_fn fn, const char *unit)
{
	double best = -1;
	int r;

	for (r = 0; r < RUNS; r++) {
		double v = fn();

		if (v < 0) {
			printf("# %s: setup failed\n", name);
			return;
		}
		if (best < 0 || v < best)
			best = v;
	}
	printf("%s: %.0f %s\n", name, best, unit);
	fflush(stdout);
}

int main(void)
{
	report("sched_pingpong_chan", pp_chan, "ns/roundtrip");
	report("sched_pingpong_chan_procs1", pp_chan1, "ns/roundtrip");
	report("sched_pingpong_mbox", pp_mbox, "ns/roundtrip");
	report("sched_pingpong_mbox_nodetect", pp_mbox_nodetect, "ns/roundtrip");
	report("sched_spawn_finish_outside", spawn_out, "ns/task");
	report("sched_spawn_finish_inside", spawn_in, "ns/task");
	report("sched_yield", yield_loop, "ns/yield");
	return 0;
}
