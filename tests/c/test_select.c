/*
 * test_select.c - select: readiness, exactly one case per select, fairness,
 * duplicate and disabled cases, deadlines, closed channels, the two-phase
 * API, and many threads selecting over the same channels.
 *
 * Threads that must be parked before the next step are waited for by
 * polling chl_chan_waiting() (a condition, not a guess), giving up after
 * WAIT_LIMIT_NS so a bug fails instead of hanging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "chan.h"
#include "select.h"
#include "timer.h"
#include "helpers.h"

static chl_select_case recv_case(chl_chan *c, void *slot)
{
	return (chl_select_case){ .chan = c, .dir = CHL_SELECT_RECV, .elem = slot };
}

static chl_select_case send_case(chl_chan *c, void *val)
{
	return (chl_select_case){ .chan = c, .dir = CHL_SELECT_SEND, .elem = val };
}

/* ---- readiness ---- */

static void nonblocking_never_defaults_while_a_case_is_ready(void **state)
{
	chl_chan *ready = chl_chan_new(sizeof(int), 1);
	chl_chan *empty = chl_chan_new(sizeof(int), 1);
	chl_chan *full = chl_chan_new(sizeof(int), 1);
	int v = 1, got, out = 9, fired, defaults = 0, wrong = 0;

	(void)state;
	assert_non_null(ready);
	assert_non_null(empty);
	assert_non_null(full);
	assert_int_equal(chl_chan_send(full, &v), CHL_OK);
	for (int i = 0; i < 10000; i++) {
		chl_select_case cs[3] = {
			recv_case(empty, &got), recv_case(ready, &got), send_case(full, &out),
		};
		int rc;

		if (chl_chan_len(ready) == 0)
			assert_int_equal(chl_chan_send(ready, &i), CHL_OK);
		rc = chl_select(cs, 3, true, -1, &fired);
		if (rc == CHL_WOULDBLOCK)
			defaults++;
		else if (rc != CHL_OK || fired != 1 || got != i || !cs[1].ok)
			wrong++;
	}
	assert_int_equal(defaults, 0);
	assert_int_equal(wrong, 0);
	/* And with nothing ready it is the default. */
	{
		chl_select_case cs[2] = { recv_case(empty, &got), send_case(full, &out) };

		assert_int_equal(chl_select(cs, 2, true, -1, &fired), CHL_WOULDBLOCK);
		assert_int_equal(fired, -1);
	}
	chl_chan_release(ready);
	chl_chan_release(empty);
	chl_chan_release(full);
}

static void exactly_one_case_fires(void **state)
{
	enum { N = 4 };
	chl_chan *r[N], *s;
	int slot[N], v = 3, fired, counts[N + 1] = { 0 };

	(void)state;
	for (int i = 0; i < N; i++) {
		r[i] = chl_chan_new(sizeof(int), 1);
		assert_non_null(r[i]);
	}
	s = chl_chan_new(sizeof(int), 1000);
	assert_non_null(s);
	for (int round = 0; round < 1000; round++) {
		chl_select_case cs[N + 1];
		size_t before = 0, after = 0;

		for (int i = 0; i < N; i++) {
			if (chl_chan_len(r[i]) == 0)
				assert_int_equal(chl_chan_send(r[i], &i), CHL_OK);
			cs[i] = recv_case(r[i], &slot[i]);
			before += chl_chan_len(r[i]);
		}
		cs[N] = send_case(s, &v);
		before += 1000 - chl_chan_len(s);   /* free slots of s */
		assert_int_equal(chl_select(cs, N + 1, false, -1, &fired), CHL_OK);
		for (int i = 0; i < N; i++)
			after += chl_chan_len(r[i]);
		after += 1000 - chl_chan_len(s);
		/* Every case was ready; exactly one value or slot was used. */
		assert_int_equal(before - after, 1);
		assert_true(fired >= 0 && fired <= N);
		counts[fired]++;
		if (fired < N)
			assert_int_equal(slot[fired], fired);
		if (chl_chan_len(s) == 1000) {
			while (chl_chan_try_recv(s, NULL, NULL) == CHL_OK)
				;
		}
	}
	for (int i = 0; i <= N; i++)
		assert_true(counts[i] > 0);   /* each was picked sometimes */
	for (int i = 0; i < N; i++)
		chl_chan_release(r[i]);
	chl_chan_release(s);
}

/* Two always-ready cases, 10,000 selects.  A fair choice is a binomial
 * with p = 1/2: sd = sqrt(10000 * 0.25) = 50 picks (0.5%).  Demanding
 * each side in [45%, 55%] is +-10 sd: a fair picker fails it with
 * probability ~1e-23, while one that favours a case (always the first,
 * or 60/40) fails it every time. */
static void fairness_between_two_ready_cases(void **state)
{
	chl_chan *a = chl_chan_new(sizeof(int), 1);
	chl_chan *b = chl_chan_new(sizeof(int), 1);
	int v = 0, got, fired, picks[2] = { 0, 0 };

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(chl_chan_send(a, &v), CHL_OK);
	assert_int_equal(chl_chan_send(b, &v), CHL_OK);
	for (int i = 0; i < 10000; i++) {
		chl_select_case cs[2] = { recv_case(a, &got), recv_case(b, &got) };

		assert_int_equal(chl_select(cs, 2, true, -1, &fired), CHL_OK);
		assert_true(fired == 0 || fired == 1);
		picks[fired]++;
		assert_int_equal(chl_chan_send(fired ? b : a, &v), CHL_OK);
	}
	assert_int_equal(picks[0] + picks[1], 10000);
	assert_in_range(picks[0], 4500, 5500);
	assert_in_range(picks[1], 4500, 5500);
	chl_chan_release(a);
	chl_chan_release(b);
}

/* ---- duplicate and disabled cases ---- */

struct sel {
	chl_select_case cs[16];
	int n;
	bool nonblock;
	int64_t deadline;
	int rc, fired;
	atomic_int done;       /* chl_select returned */
};

static void *select_thread(void *arg)
{
	struct sel *s = arg;

	s->rc = chl_select(s->cs, s->n, s->nonblock, s->deadline, &s->fired);
	atomic_store(&s->done, 1);
	return NULL;
}


static void duplicate_channels(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int), 1);
	chl_chan *u = chl_chan_new(sizeof(int), 0);
	int v = 5, got = 0, a = 0, b = 0, fired;
	struct sel s = { .n = 3, .deadline = -1 };
	pthread_t t;

	(void)state;
	assert_non_null(c);
	assert_non_null(u);
	/* Three receive cases on one channel holding one value: one fires,
	 * then none can (the channel is locked once, unlocked once - a
	 * double lock or unlock would hang or fail here). */
	assert_int_equal(chl_chan_send(c, &v), CHL_OK);
	{
		chl_select_case cs[3] = { recv_case(c, &got), recv_case(c, &got), recv_case(c, &got) };

		assert_int_equal(chl_select(cs, 3, true, -1, &fired), CHL_OK);
		assert_int_equal(got, 5);
		assert_int_equal(chl_select(cs, 3, true, -1, &fired), CHL_WOULDBLOCK);
	}
	/* Blocking: two receives and a send on one unbuffered channel.  All
	 * three are queued; a plain receiver takes the send case. */
	v = 77;
	s.cs[0] = recv_case(u, &a);
	s.cs[1] = send_case(u, &v);
	s.cs[2] = recv_case(u, &b);
	t = spawn(select_thread, &s);
	assert_true(wait_waiting(u, 1, 2));
	assert_int_equal(chl_chan_recv(u, &got, NULL), CHL_OK);
	join(t);
	assert_int_equal(s.rc, CHL_OK);
	assert_int_equal(s.fired, 1);
	assert_int_equal(got, 77);
	assert_true(wait_waiting(u, 0, 0));   /* losers dequeued */
	/* Again, and a plain sender takes one of the receive cases. */
	t = spawn(select_thread, &s);
	assert_true(wait_waiting(u, 1, 2));
	v = 88;
	assert_int_equal(chl_chan_send(u, &v), CHL_OK);
	join(t);
	assert_int_equal(s.rc, CHL_OK);
	assert_true(s.fired == 0 || s.fired == 2);
	assert_true(s.cs[s.fired].ok);
	assert_int_equal(s.fired == 0 ? a : b, 88);
	assert_true(wait_waiting(u, 0, 0));
	chl_chan_release(c);
	chl_chan_release(u);
}

static void many_cases_on_few_channels(void **state)
{
	enum { N = 12 };   /* more than CHL_SELECT_INLINE: the heap state */
	chl_chan *ch[2] = { chl_chan_new(sizeof(int), 0), chl_chan_new(sizeof(int), 0) };
	int slots[N];
	struct sel s = { .n = N, .deadline = -1 };
	int v = 123;
	pthread_t t;

	(void)state;
	assert_non_null(ch[0]);
	assert_non_null(ch[1]);
	for (int i = 0; i < N; i++)
		s.cs[i] = recv_case(ch[i % 2], &slots[i]);
	t = spawn(select_thread, &s);
	if (!wait_waiting_unless(ch[1], 0, N / 2, &s.done)) {
		join(t);
		assert_int_equal(s.rc, CHL_OK);
		fail_msg("the select did not wait");
	}
	assert_int_equal(chl_chan_send(ch[1], &v), CHL_OK);
	join(t);
	assert_int_equal(s.rc, CHL_OK);
	assert_int_equal(s.fired % 2, 1);
	assert_int_equal(slots[s.fired], 123);
	assert_true(wait_waiting(ch[0], 0, 0));
	assert_true(wait_waiting(ch[1], 0, 0));
	chl_chan_release(ch[0]);
	chl_chan_release(ch[1]);
}

static void disabled_cases_never_fire(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int), 1);
	int v = 1, got, fired;
	int64_t dl;

	(void)state;
	assert_non_null(c);
	{
		chl_select_case cs[3] = { recv_case(NULL, &got), send_case(NULL, &v),
			recv_case(NULL, NULL) };

		assert_int_equal(chl_select(cs, 3, true, -1, &fired), CHL_WOULDBLOCK);
		dl = chl_now() + 20 * MS;
		assert_int_equal(chl_select(cs, 3, false, dl, &fired), CHL_TIMEOUT);
		assert_true(chl_now() >= dl);
		assert_int_equal(fired, -1);
		/* No cases at all, with a deadline: Go's select {} until then. */
		dl = chl_now() + 20 * MS;
		assert_int_equal(chl_select(NULL, 0, false, dl, &fired), CHL_TIMEOUT);
		assert_true(chl_now() >= dl);
		assert_int_equal(chl_select(NULL, 0, true, -1, &fired), CHL_WOULDBLOCK);
	}
	/* Disabled cases beside a ready one: always the ready one, even for
	 * a send case whose (nil) channel would be "closed". */
	for (int i = 0; i < 200; i++) {
		chl_select_case cs[4] = { send_case(NULL, &v), recv_case(NULL, &got),
			recv_case(c, &got), recv_case(NULL, &got) };

		assert_int_equal(chl_chan_send(c, &i), CHL_OK);
		assert_int_equal(chl_select(cs, 4, true, -1, &fired), CHL_OK);
		assert_int_equal(fired, 2);
		assert_int_equal(got, i);
	}
	chl_chan_release(c);
}

/* ---- deadlines and closed channels ---- */

/* A deadline never ends a wait early; late is allowed up to 1 s (shared
 * machine, sanitizers). */
static void deadline_ends_a_blocked_select(void **state)
{
	chl_chan *a = chl_chan_new(sizeof(int), 0);
	chl_chan *b = chl_chan_new(sizeof(int), 1);
	int got, v = 1, fired;
	int64_t dl;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(chl_chan_send(b, &v), CHL_OK);   /* b full: send waits */
	{
		chl_select_case cs[2] = { recv_case(a, &got), send_case(b, &v) };

		dl = chl_now() + 50 * MS;
		assert_int_equal(chl_select(cs, 2, false, dl, &fired), CHL_TIMEOUT);
		assert_true(chl_now() >= dl);
		assert_true(chl_now() - dl < 1000 * MS);
		assert_int_equal(fired, -1);
		assert_true(wait_waiting(a, 0, 0));
		assert_true(wait_waiting(b, 0, 0));
		assert_int_equal(chl_chan_len(b), 1);
		/* A past deadline does not beat a ready case. */
		cs[0] = recv_case(b, &got);
		assert_int_equal(chl_select(cs, 2, false, chl_now() - MS, &fired), CHL_OK);
		assert_int_equal(got, 1);
	}
	chl_chan_release(a);
	chl_chan_release(b);
}

/* Pass 0 (a case whose buffered channel looks ready, tried under its own
 * lock) must do what pass 1 would: from a full ring with a parked sender,
 * the oldest value, the sender's value moved in behind and the sender
 * woken; from a closed, drained one, the zero value with ok false; and
 * when nothing buffered is ready, pass 1 still finds an unbuffered
 * sender. */
static void *send_seven(void *arg)
{
	int v = 7;

	return (void *)(intptr_t)chl_chan_send(arg, &v);
}

static void buffered_cases_taken_without_every_lock(void **state)
{
	chl_chan *full = chl_chan_new(sizeof(int), 1);
	chl_chan *unbuf = chl_chan_new(sizeof(int), 0);
	int v = 1, got = 0, fired;
	bool ok;
	pthread_t t;

	(void)state;
	assert_non_null(full);
	assert_non_null(unbuf);
	assert_int_equal(chl_chan_send(full, &v), CHL_OK);
	t = spawn(send_seven, full);
	assert_true(wait_waiting(full, 1, 0));
	chl_select_case cs[1] = { recv_case(full, &got) };
	assert_int_equal(chl_select(cs, 1, false, -1, &fired), CHL_OK);
	assert_int_equal(fired, 0);
	assert_int_equal(got, 1);                  /* the oldest first */
	assert_int_equal((intptr_t)join(t), CHL_OK);   /* the sender was woken */
	assert_int_equal(chl_chan_recv(full, &got, &ok), CHL_OK);
	assert_true(ok);
	assert_int_equal(got, 7);                  /* its value moved in */

	/* full ring, no parked sender: the send case cannot fire; the
	 * unbuffered sender's can, found by pass 1 */
	assert_int_equal(chl_chan_send(full, &v), CHL_OK);
	t = spawn(send_seven, unbuf);
	assert_true(wait_waiting(unbuf, 1, 0));
	got = 0;
	chl_select_case mix[2] = { send_case(full, &v), recv_case(unbuf, &got) };
	assert_int_equal(chl_select(mix, 2, false, -1, &fired), CHL_OK);
	assert_int_equal(fired, 1);
	assert_int_equal(got, 7);
	join(t);

	assert_int_equal(chl_chan_recv(full, &got, &ok), CHL_OK);
	assert_int_equal(chl_chan_close(full), CHL_OK);
	got = 99;
	cs[0] = recv_case(full, &got);
	assert_int_equal(chl_select(cs, 1, false, -1, &fired), CHL_OK);
	assert_int_equal(fired, 0);
	assert_false(cs[0].ok);
	assert_int_equal(got, 0);                  /* the zero value */
	chl_chan_release(full);
	chl_chan_release(unbuf);
}

static void send_case_on_closed_channel(void **state)
{
	chl_chan *open_empty = chl_chan_new(sizeof(int), 0);
	chl_chan *closed = chl_chan_new(sizeof(int), 4);
	chl_chan *u = chl_chan_new(sizeof(int), 0);
	int v = 1, got, fired;
	struct sel s = { .n = 2, .deadline = -1 };
	pthread_t t;

	(void)state;
	assert_non_null(open_empty);
	assert_non_null(closed);
	assert_non_null(u);
	assert_int_equal(chl_chan_close(closed), CHL_OK);
	{
		chl_select_case cs[2] = { recv_case(open_empty, &got), send_case(closed, &v) };

		/* With a default: still Go's panic, not the default. */
		assert_int_equal(chl_select(cs, 2, true, -1, &fired), CHL_CLOSED);
		assert_int_equal(fired, 1);
		assert_int_equal(chl_select(cs, 2, false, -1, &fired), CHL_CLOSED);
		assert_int_equal(fired, 1);
	}
	/* A receive case on a closed channel fires with ok = false. */
	{
		chl_select_case cs[2] = { recv_case(open_empty, &got), recv_case(closed, &got) };

		got = 9;
		assert_int_equal(chl_select(cs, 2, true, -1, &fired), CHL_OK);
		assert_int_equal(fired, 1);
		assert_false(cs[1].ok);
		assert_int_equal(got, 0);
	}
	/* Closed while the select waits to send: CHL_CLOSED with the index. */
	s.cs[0] = recv_case(open_empty, &got);
	s.cs[1] = send_case(u, &v);
	t = spawn(select_thread, &s);
	assert_true(wait_waiting(u, 1, 0));
	assert_int_equal(chl_chan_close(u), CHL_OK);
	join(t);
	assert_int_equal(s.rc, CHL_CLOSED);
	assert_int_equal(s.fired, 1);
	assert_true(wait_waiting(open_empty, 0, 0));
	chl_chan_release(open_empty);
	chl_chan_release(closed);
	chl_chan_release(u);
}

static void invalid_arguments(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int), 1);
	chl_select_case cs[1] = { { .chan = c, .dir = 7 } };
	chl_select_state st;
	int fired;

	(void)state;
	assert_non_null(c);
	assert_int_equal(chl_select(cs, 1, true, -1, &fired), CHL_INVAL);
	assert_int_equal(chl_select(cs, -1, true, -1, &fired), CHL_INVAL);
	assert_int_equal(chl_select_state_init(&st, -1), CHL_INVAL);
	assert_int_equal(chl_select_state_init(&st, 2), CHL_OK);
	cs[0].dir = CHL_SELECT_RECV;
	/* more cases than the state has room for */
	assert_int_equal(chl_select_begin(&st, cs, 3, true, chl_thread_parker_self(), &fired),
		CHL_INVAL);
	chl_select_state_free(&st);
	assert_int_equal(chl_chan_len(c), 0);
	chl_chan_release(c);
}

/* The two-phase API by hand, as a scheduler task would use it. */
static void two_phase_api(void **state)
{
	chl_chan *a = chl_chan_new(sizeof(int), 0);
	chl_chan *b = chl_chan_new(sizeof(int), 0);
	chl_parker *p = chl_thread_parker_self();
	chl_select_state st;
	int x = -1, y = -1, fired, v = 42;
	chl_select_case cs[2] = { recv_case(a, &x), recv_case(b, &y) };
	struct sel s = { .n = 1, .deadline = -1 };
	pthread_t t;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(chl_select_state_init(&st, 2), CHL_OK);
	chl_parker_prepare(p, "select");
	assert_int_equal(chl_select_begin(&st, cs, 2, false, p, &fired), CHL_WAIT);
	/* Both waiters queued, both locks held: a sender must wait for the
	 * park (it blocks on b's lock meanwhile). */
	assert_true(st.w[0].queued && st.w[1].queued);
	assert_int_equal(st.w[1].index, 1);
	s.cs[0] = send_case(b, &v);
	t = spawn(select_thread, &s);
	chl_thread_park(p);
	assert_int_equal(chl_select_end(&st, cs, 2, &fired), CHL_OK);
	join(t);
	assert_int_equal(fired, 1);
	assert_true(cs[1].ok);
	assert_int_equal(y, 42);
	assert_int_equal(x, -1);
	assert_false(st.w[0].queued);
	assert_int_equal(s.rc, CHL_OK);
	chl_select_state_free(&st);
	chl_chan_release(a);
	chl_chan_release(b);
}

/* ---- many threads ---- */

/* Senders each send their values through select {send a, send b};
 * receivers select {recv a, recv b} until both are closed (a closed
 * channel's case is disabled, Go's nil-channel idiom).  Every value must
 * arrive exactly once: count, checksum and a per-value tally. */
#define RACE_THREADS 4
#define RACE_PER_SENDER 50000
#define RACE_TOTAL (RACE_THREADS * RACE_PER_SENDER)

struct racer {
	chl_chan *a, *b;
	int id;
	atomic_uchar *seen;
	uint64_t count, sum;
	int bad;
};

static void *race_sender(void *arg)
{
	struct racer *r = arg;
	int fired;

	for (uint32_t i = 0; i < RACE_PER_SENDER; i++) {
		uint32_t v = (uint32_t)r->id * RACE_PER_SENDER + i;
		chl_select_case cs[2] = { send_case(r->a, &v), send_case(r->b, &v) };

		if (chl_select(cs, 2, false, -1, &fired) != CHL_OK)
			r->bad++;
	}
	return NULL;
}

static void *race_receiver(void *arg)
{
	struct racer *r = arg;
	chl_chan *a = r->a, *b = r->b;
	uint32_t v;
	int fired;

	while (a || b) {
		chl_select_case cs[2] = { recv_case(a, &v), recv_case(b, &v) };

		if (chl_select(cs, 2, false, -1, &fired) != CHL_OK) {
			r->bad++;
			break;
		}
		if (!cs[fired].ok) {
			if (fired == 0)
				a = NULL;
			else
				b = NULL;
			continue;
		}
		if (v < RACE_TOTAL)
			atomic_fetch_add_explicit(&r->seen[v], 1, memory_order_relaxed);
		r->count++;
		r->sum += v;
	}
	return NULL;
}

static void selects_racing_across_threads(void **state)
{
	chl_chan *a = chl_chan_new(sizeof(uint32_t), 0);
	chl_chan *b = chl_chan_new(sizeof(uint32_t), 4);
	atomic_uchar *seen = calloc(RACE_TOTAL, sizeof *seen);
	struct racer s[RACE_THREADS], r[RACE_THREADS];
	pthread_t ts[RACE_THREADS], tr[RACE_THREADS];
	uint64_t count = 0, sum = 0;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(seen);
	for (int i = 0; i < RACE_THREADS; i++) {
		r[i] = (struct racer){ .a = a, .b = b, .id = i, .seen = seen };
		tr[i] = spawn(race_receiver, &r[i]);
		s[i] = (struct racer){ .a = a, .b = b, .id = i, .seen = seen };
		ts[i] = spawn(race_sender, &s[i]);
	}
	for (int i = 0; i < RACE_THREADS; i++) {
		join(ts[i]);
		assert_int_equal(s[i].bad, 0);
	}
	assert_int_equal(chl_chan_close(a), CHL_OK);
	assert_int_equal(chl_chan_close(b), CHL_OK);
	for (int i = 0; i < RACE_THREADS; i++) {
		join(tr[i]);
		assert_int_equal(r[i].bad, 0);
		count += r[i].count;
		sum += r[i].sum;
	}
	assert_each_once(seen, RACE_TOTAL, count, sum);
	free(seen);
	chl_chan_release(a);
	chl_chan_release(b);
}

/* Selects with deadlines racing senders: a wait ends either with the
 * value (delivered once) or by the deadline (nothing taken). */
struct tsender {
	chl_chan *c;
	int n;
	uint64_t delivered;
};

static void *timed_sender(void *arg)
{
	struct tsender *t = arg;

	for (int i = 0; i < t->n; i++) {
		uint32_t v = 1;

		if (chl_chan_send_until(t->c, &v, chl_now() + 20 * 1000) == CHL_OK)
			t->delivered++;
	}
	return NULL;
}

static void deadline_races_delivery(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(uint32_t), 0);
	chl_chan *never = chl_chan_new(sizeof(uint32_t), 0);
	struct tsender ts = { .c = c, .n = 3000 };
	uint64_t got = 0;
	uint32_t v;
	int fired;
	pthread_t t;

	(void)state;
	assert_non_null(c);
	assert_non_null(never);
	t = spawn(timed_sender, &ts);
	for (int i = 0; i < 3000; i++) {
		chl_select_case cs[2] = { recv_case(never, &v), recv_case(c, &v) };
		int rc = chl_select(cs, 2, false, chl_now() + 20 * 1000, &fired);

		if (rc == CHL_OK) {
			assert_int_equal(fired, 1);
			got++;
		} else {
			assert_int_equal(rc, CHL_TIMEOUT);
		}
	}
	join(t);
	/* Anything the sender saw delivered, we took - and no more. */
	assert_int_equal(got, ts.delivered);
	assert_true(wait_waiting(c, 0, 0));
	assert_true(wait_waiting(never, 0, 0));
	chl_chan_release(c);
	chl_chan_release(never);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nonblocking_never_defaults_while_a_case_is_ready),
		cmocka_unit_test(exactly_one_case_fires),
		cmocka_unit_test(fairness_between_two_ready_cases),
		cmocka_unit_test(duplicate_channels),
		cmocka_unit_test(many_cases_on_few_channels),
		cmocka_unit_test(disabled_cases_never_fire),
		cmocka_unit_test(deadline_ends_a_blocked_select),
		cmocka_unit_test(buffered_cases_taken_without_every_lock),
		cmocka_unit_test(send_case_on_closed_channel),
		cmocka_unit_test(invalid_arguments),
		cmocka_unit_test(two_phase_api),
		cmocka_unit_test(selects_racing_across_threads),
		cmocka_unit_test(deadline_races_delivery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
