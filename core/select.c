/*
 * select.c - Go's select (runtime/select.go is the model), one static
 * function per pass: try_ready_cases (0, ours), poll_cases (1),
 * enqueue_cases (2), dequeue_losers (3).
 *
 * Invariants:
 *  - Channel locks are taken in address order, each channel once, and all
 *    of them are held across pass 1 and across pass 2 until the parker's
 *    unlock runs: no case can become ready unseen between the poll and
 *    the queueing, so no wake is lost.
 *  - All waiters of one select share one parker; the first waker to claim
 *    it wins (waiter.h).  Losers stay queued, dead, until pass 3 (or a
 *    waker's claim_first) unlinks them.
 *  - A state is used by one select at a time, by the selecting side only.
 *
 * The poll order comes from a per-thread xorshift generator: no lock, no
 * shared state, and good enough for fairness (not for anything secret).
 */
#include <stdlib.h>

#include "check.h"
#include "decide.h"
#include "select.h"

/* ---- a fast per-thread random generator ---- */

static _Thread_local uint64_t rng;
static atomic_uint_fast64_t rng_seeds;

/* splitmix64: turns a counter into a well-mixed nonzero seed. */
static uint64_t mix(uint64_t z)
{
	z += UINT64_C(0x9e3779b97f4a7c15);
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint32_t rand32(void)
{
	uint64_t x = rng;

	if (x == 0) {
		x = mix(atomic_fetch_add_explicit(&rng_seeds, 1, memory_order_relaxed)
			^ (uint64_t)chl_now() ^ (uint64_t)(uintptr_t)&rng);
		if (x == 0)
			x = 1;
	}
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng = x;
	return (uint32_t)(x >> 32);
}

/* Uniform enough in [0, n): Lemire's multiply-shift (bias < n / 2^32). */
static uint32_t rand_below(uint32_t n)
{
	return (uint32_t)(((uint64_t)rand32() * n) >> 32);
}

/* ---- state ---- */

/* Point the arrays at the inline storage or the heap block (the state
 * may have been moved since init). */
static void bind(chl_select_state *st)
{
	if (st->heap) {
		st->w = st->heap;
		st->locks = (chl_chan **)(st->w + st->size);
		st->poll = (int *)(st->locks + st->size);
	} else {
		st->w = st->inline_w;
		st->locks = st->inline_locks;
		st->poll = st->inline_poll;
	}
}

int chl_select_state_init(chl_select_state *st, int n)
{
	st->size = n < 0 ? 0 : n;
	st->nlocks = 0;
	st->parker = NULL;
	st->heap = NULL;
	if (n < 0) {
		bind(st);
		return CHL_INVAL;
	}
	if (n > CHL_SELECT_INLINE) {
		size_t each = sizeof(chl_waiter) + sizeof(chl_chan *) + sizeof(int);

		if ((size_t)n > SIZE_MAX / each ||
		    !(st->heap = malloc(each * (size_t)n))) {
			st->size = 0;
			bind(st);
			return CHL_NOMEM;
		}
	}
	bind(st);
	return CHL_OK;
}

void chl_select_state_free(chl_select_state *st)
{
	free(st->heap);
	st->heap = NULL;
	st->size = 0;
}

/* ---- locking ---- */

static int cmp_chan(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(chl_chan *const *)a;
	uintptr_t y = (uintptr_t)*(chl_chan *const *)b;

	return x < y ? -1 : x > y;
}

/* A deterministic run: the enabled cases in their order, rotated to
 * start at the one chl_decide_n picks - one decision, whose options make
 * each enabled case the first one polled. */
static int plan_decided(chl_select_state *st, const chl_select_case *cases, int n)
{
	int npoll = 0, first, k = 0;

	for (int i = 0; i < n; i++)
		npoll += cases[i].chan != NULL;
	first = chl_decide_n(npoll);
	for (int i = 0; i < n; i++)
		if (cases[i].chan) {
			st->locks[k] = cases[i].chan;
			st->poll[(k - first + npoll) % npoll] = i;
			k++;
		}
	st->nlocks = npoll;
	return npoll;
}

/* Fill st->poll with the enabled cases in random order and st->locks
 * with their channels (unsorted: order_locks sorts them when the locks
 * are needed).  Returns how many cases are enabled.  O(n). */
static int plan(chl_select_state *st, const chl_select_case *cases, int n)
{
	int npoll = 0;

	if (chl_det_on)
		return plan_decided(st, cases, n);
	for (int i = 0; i < n; i++) {
		if (!cases[i].chan)
			continue;
		/* Inside-out Fisher-Yates: case i lands at a random place. */
		int j = (int)rand_below((uint32_t)npoll + 1);

		st->poll[npoll] = st->poll[j];
		st->poll[j] = i;
		st->locks[npoll] = cases[i].chan;
		npoll++;
	}
	st->nlocks = npoll;
	return npoll;
}

/* Sort st->locks by address and drop repeats: the one global lock order
 * (sched.h), each channel once.  Insertion sort for the usual few. */
static void order_locks(chl_select_state *st)
{
	int nl = st->nlocks;

	if (nl <= 16) {
		for (int i = 1; i < nl; i++) {
			chl_chan *c = st->locks[i];
			int k = i;

			for (; k > 0 && (uintptr_t)st->locks[k - 1] > (uintptr_t)c; k--)
				st->locks[k] = st->locks[k - 1];
			st->locks[k] = c;
		}
	} else {
		qsort(st->locks, (size_t)nl, sizeof *st->locks, cmp_chan);
	}
	st->nlocks = 0;
	for (int i = 0; i < nl; i++) {
		if (st->nlocks == 0 || st->locks[st->nlocks - 1] != st->locks[i])
			st->locks[st->nlocks++] = st->locks[i];
	}
}

/* Take every channel lock of the plan, in address order (the one global
 * order, sched.h), each once.  Cannot fail. */
static void lock_all(chl_select_state *st)
{
	for (int i = 0; i < st->nlocks; i++)
		chl_chan_lock(st->locks[i]);
}

/* Drop them all, in reverse.  Cannot fail. */
static void unlock_all(chl_select_state *st)
{
	for (int i = st->nlocks - 1; i >= 0; i--)
		chl_chan_unlock(st->locks[i]);
}

/* Recorded in the parker by pass 2; the parking side calls it. */
static void unlock_cb(void *arg)
{
	unlock_all(arg);
}

/* ---- the three passes ---- */

/* Case cs's operation, its channel locked: as chl_chan_*_locked. */
static int try_case(chl_select_case *cs, chl_waiter **wake)
{
	if (cs->dir == CHL_SELECT_RECV)
		return chl_chan_recv_locked(cs->chan, cs->elem, &cs->ok, wake);
	return chl_chan_send_locked(cs->chan, cs->elem, wake);
}

/* Pass 0: without the shared locks, try in poll order each case whose
 * channel looks ready (chl_chan_ready_hint), under that channel's lock
 * alone.  Each try is a whole operation, so firing here is a select that
 * found that case ready: the same outcome pass 1 could give, for one lock
 * instead of all of them.  A buffered channel that is seldom empty (a
 * busy producer) is the common case.  Returns as poll_cases. */
static int try_ready_cases(chl_select_state *st, chl_select_case *cases, int npoll,
			   int *fired, chl_waiter **wake)
{
	for (int k = 0; k < npoll; k++) {
		int i = st->poll[k];
		chl_select_case *cs = &cases[i];
		int rc;

		if (!chl_chan_ready_hint(cs->chan, cs->dir == CHL_SELECT_SEND))
			continue;
		chl_chan_lock(cs->chan);
		rc = try_case(cs, wake);
		chl_chan_unlock(cs->chan);
		if (rc != CHL_WOULDBLOCK) {
			*fired = i;
			return rc;
		}
	}
	return CHL_WOULDBLOCK;
}

/* Pass 1: with every lock held, try the enabled cases in poll order; the
 * first that can proceed does.  Returns CHL_OK / CHL_CLOSED with *fired
 * and maybe a waiter to wake once unlocked, or CHL_WOULDBLOCK. */
static int poll_cases(chl_select_state *st, chl_select_case *cases, int npoll,
		      int *fired, chl_waiter **wake)
{
	for (int k = 0; k < npoll; k++) {
		int i = st->poll[k];
		int rc = try_case(&cases[i], wake);

		if (rc != CHL_WOULDBLOCK) {
			*fired = i;
			return rc;
		}
	}
	return CHL_WOULDBLOCK;
}

/* Pass 2: queue one waiter of p per enabled case, locks still held. */
static void enqueue_cases(chl_select_state *st, chl_select_case *cases, int n,
			  chl_parker *p)
{
	for (int i = 0; i < n; i++) {
		chl_waiter *w = &st->w[i];

		if (!cases[i].chan)
			continue;
		chl_waiter_init(w, p, cases[i].chan);
		w->elem = cases[i].elem;
		w->index = i;
		chl_chan_enqueue_locked(cases[i].chan, w, cases[i].dir == CHL_SELECT_SEND);
	}
}

/* Pass 3: relocked, unlink every waiter still queued.  The winner was
 * unlinked by its waker; losers may have been by wakers that failed to
 * claim them; dequeueing is idempotent either way. */
static void dequeue_losers(chl_select_state *st, chl_select_case *cases, int n)
{
	for (int i = 0; i < n; i++) {
		if (cases[i].chan)
			chl_chan_dequeue_locked(cases[i].chan, &st->w[i]);
	}
}

/* ---- entry points ---- */

static int check_cases(const chl_select_state *st, const chl_select_case *cases, int n)
{
	if (n < 0 || n > st->size || (n > 0 && !cases))
		return CHL_INVAL;
	for (int i = 0; i < n; i++) {
		if (cases[i].dir != CHL_SELECT_RECV && cases[i].dir != CHL_SELECT_SEND)
			return CHL_INVAL;
	}
	return CHL_OK;
}

int chl_select_begin(chl_select_state *st, chl_select_case *cases, int n,
		     bool nonblock, chl_parker *p, int *fired)
{
	chl_waiter *wake = NULL;
	int npoll, rc;

	*fired = -1;
	rc = check_cases(st, cases, n);
	if (rc != CHL_OK)
		return rc;
	bind(st);
	st->parker = p;
	npoll = plan(st, cases, n);
	rc = try_ready_cases(st, cases, npoll, fired, &wake);
	if (rc == CHL_WOULDBLOCK) {
		order_locks(st);
		lock_all(st);
		rc = poll_cases(st, cases, npoll, fired, &wake);
		if (rc == CHL_WOULDBLOCK && !nonblock) {
			/* Nothing ready: queue everywhere and let the caller park
			 * with every lock held (with no enabled case there is
			 * nothing to lock). */
			enqueue_cases(st, cases, n, p);
			if (st->nlocks > 0)
				chl_parker_set_unlock(p, unlock_cb, st);
			return CHL_WAIT;
		}
		unlock_all(st);
	}
	if (wake)
		chl_chan_wake(wake);
	return rc;
}

int chl_select_end(chl_select_state *st, chl_select_case *cases, int n, int *fired)
{
	chl_parker *p = st->parker;
	chl_waiter *winner = p->fired;

	bind(st);
	lock_all(st);
	dequeue_losers(st, cases, n);
	unlock_all(st);
	st->parker = NULL;
	if (!winner) {
		*fired = -1;
		return p->status;   /* a deadline or a cancel */
	}
	chl_assert((uintptr_t)winner >= (uintptr_t)st->w &&
		   (uintptr_t)winner < (uintptr_t)(st->w + n));
	*fired = winner->index;
	if (cases[winner->index].dir == CHL_SELECT_RECV) {
		cases[winner->index].ok = winner->ok;
		return CHL_OK;
	}
	return winner->status;   /* CHL_OK sent, CHL_CLOSED closed meanwhile */
}

int chl_select(chl_select_case *cases, int n, bool nonblock, int64_t deadline_ns, int *fired)
{
	chl_select_state st;
	chl_parker *p;
	bool armed = !nonblock && deadline_ns >= 0;
	bool any = false;
	int rc;

	*fired = -1;
	rc = chl_select_state_init(&st, n);
	if (rc != CHL_OK)
		return rc;
	for (int i = 0; i < n && cases; i++)
		any |= cases[i].chan != NULL;
	p = chl_thread_parker_self();
	chl_parker_prepare(p, any ? "select" : "select (no cases)");
	if (armed)
		chl_parker_arm_deadline(p, deadline_ns);
	rc = chl_select_begin(&st, cases, n, nonblock, p, fired);
	if (rc == CHL_WAIT) {
		chl_thread_park(p);
		if (armed)
			chl_parker_disarm(p);
		rc = chl_select_end(&st, cases, n, fired);
	} else if (armed) {
		chl_parker_disarm(p);   /* never started: timers start at commit */
	}
	chl_select_state_free(&st);
	return rc;
}
