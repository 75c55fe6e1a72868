/*
 * test_chan.c - channels: values, order, hand-off, close, misuse, deadlines,
 * and many threads hammering one channel (nothing lost, nothing twice).
 *
 * Threads that must be parked before the next step are waited for by
 * polling chl_chan_waiting() (a condition, not a guess); every such wait
 * gives up after WAIT_LIMIT_NS so a bug fails the test instead of hanging.
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
#include "timer.h"
#include "helpers.h"

/* ---- single-threaded behaviour ---- */

static void new_len_cap_elem_size(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int), 4);
	int v = 7;

	(void)state;
	assert_non_null(c);
	assert_int_equal(chl_chan_cap(c), 4);
	assert_int_equal(chl_chan_elem_size(c), sizeof(int));
	assert_int_equal(chl_chan_len(c), 0);
	assert_int_equal(chl_chan_tag(c), 0);
	chl_chan_set_tag(c, 5);
	assert_int_equal(chl_chan_tag(c), 5);
	assert_int_equal(chl_chan_try_send(c, &v), CHL_OK);
	assert_int_equal(chl_chan_try_send(c, &v), CHL_OK);
	assert_int_equal(chl_chan_len(c), 2);
	assert_false(chl_chan_is_closed(c));
	assert_int_equal(chl_chan_close(c), CHL_OK);
	assert_true(chl_chan_is_closed(c));
	assert_int_equal(chl_chan_len(c), 2);   /* close keeps buffered values */
	chl_chan_release(c);

	c = chl_chan_new(16, 0);
	assert_non_null(c);
	assert_int_equal(chl_chan_cap(c), 0);
	assert_int_equal(chl_chan_len(c), 0);
	chl_chan_release(c);

	/* cap * elem_size overflows: refused, not a short buffer. */
	assert_null(chl_chan_new(SIZE_MAX / 2, 4));
}

static void buffered_values_come_out_in_order_across_wraps(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int), 5);
	int next_in = 0, next_out = 0, v;
	bool ok;

	(void)state;
	assert_non_null(c);
	/* Keep 0..5 values inside while going round the ring many times. */
	for (int round = 0; round < 200; round++) {
		int put = round % 6, get = (round * 7) % 6;

		for (int i = 0; i < put && chl_chan_len(c) < 5; i++) {
			assert_int_equal(chl_chan_send(c, &next_in), CHL_OK);
			next_in++;
		}
		for (int i = 0; i < get && chl_chan_len(c) > 0; i++) {
			assert_int_equal(chl_chan_recv(c, &v, &ok), CHL_OK);
			assert_true(ok);
			assert_int_equal(v, next_out);
			next_out++;
		}
	}
	while (chl_chan_try_recv(c, &v, &ok) == CHL_OK) {
		assert_int_equal(v, next_out);
		next_out++;
	}
	assert_int_equal(next_out, next_in);
	assert_true(next_in > 100);
	chl_chan_release(c);
}

static void try_send_and_try_recv(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(long), 2);
	chl_chan *u = chl_chan_new(sizeof(long), 0);
	long v = 11, got = -1;
	bool ok = true;

	(void)state;
	assert_non_null(c);
	assert_non_null(u);
	assert_int_equal(chl_chan_try_recv(c, &got, &ok), CHL_WOULDBLOCK);
	assert_int_equal(got, -1);                      /* untouched */
	assert_int_equal(chl_chan_try_send(c, &v), CHL_OK);
	v = 12;
	assert_int_equal(chl_chan_try_send(c, &v), CHL_OK);
	assert_int_equal(chl_chan_try_send(c, &v), CHL_WOULDBLOCK);   /* full */
	assert_int_equal(chl_chan_len(c), 2);
	assert_int_equal(chl_chan_try_recv(c, &got, &ok), CHL_OK);
	assert_true(ok);
	assert_int_equal(got, 11);
	/* Unbuffered with nobody on the other side: nothing to meet. */
	assert_int_equal(chl_chan_try_send(u, &v), CHL_WOULDBLOCK);
	assert_int_equal(chl_chan_try_recv(u, &got, &ok), CHL_WOULDBLOCK);
	/* Closed: sends refused, buffered values still come, then ok=false
	 * with the slot zeroed. */
	assert_int_equal(chl_chan_close(c), CHL_OK);
	assert_int_equal(chl_chan_try_send(c, &v), CHL_CLOSED);
	assert_int_equal(chl_chan_try_recv(c, &got, &ok), CHL_OK);
	assert_true(ok);
	assert_int_equal(got, 12);
	got = 99;
	assert_int_equal(chl_chan_try_recv(c, &got, &ok), CHL_OK);
	assert_false(ok);
	assert_int_equal(got, 0);
	assert_int_equal(chl_chan_close(u), CHL_OK);
	ok = true;
	assert_int_equal(chl_chan_try_recv(u, NULL, &ok), CHL_OK);
	assert_false(ok);
	chl_chan_release(c);
	chl_chan_release(u);
}

static void misuse_returns_go_errors(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int), 1);
	int v = 1;
	bool ok = true;

	(void)state;
	assert_non_null(c);
	assert_int_equal(chl_chan_send(NULL, &v), CHL_NIL);
	assert_int_equal(chl_chan_recv(NULL, &v, &ok), CHL_NIL);
	assert_int_equal(chl_chan_send_until(NULL, &v, 0), CHL_NIL);
	assert_int_equal(chl_chan_recv_until(NULL, &v, &ok, 0), CHL_NIL);
	assert_int_equal(chl_chan_try_send(NULL, &v), CHL_NIL);
	assert_int_equal(chl_chan_try_recv(NULL, &v, &ok), CHL_NIL);
	assert_int_equal(chl_chan_close(NULL), CHL_CLOSE_NIL);
	assert_int_equal(chl_chan_len(NULL), 0);
	assert_int_equal(chl_chan_cap(NULL), 0);
	assert_false(chl_chan_is_closed(NULL));
	chl_chan_release(NULL);                 /* harmless */
	assert_null(chl_chan_retain(NULL));

	assert_int_equal(chl_chan_close(c), CHL_OK);
	assert_int_equal(chl_chan_close(c), CHL_CLOSE_CLOSED);
	assert_int_equal(chl_chan_send(c, &v), CHL_CLOSED);
	assert_int_equal(chl_chan_len(c), 0);   /* the refused value is not in */
	assert_string_equal(chl_strerror(CHL_CLOSED), "send on closed channel");
	assert_string_equal(chl_strerror(CHL_CLOSE_CLOSED), "close of closed channel");
	assert_string_equal(chl_strerror(CHL_CLOSE_NIL), "close of nil channel");
	chl_chan_release(c);
}

static void elem_size_zero_is_a_signal_channel(void **state)
{
	chl_chan *c = chl_chan_new(0, 3);
	bool ok = false;

	(void)state;
	assert_non_null(c);
	assert_int_equal(chl_chan_elem_size(c), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(chl_chan_send(c, NULL), CHL_OK);
	assert_int_equal(chl_chan_try_send(c, NULL), CHL_WOULDBLOCK);
	assert_int_equal(chl_chan_len(c), 3);
	assert_int_equal(chl_chan_recv(c, NULL, &ok), CHL_OK);
	assert_true(ok);
	assert_int_equal(chl_chan_len(c), 2);
	assert_int_equal(chl_chan_close(c), CHL_OK);
	assert_int_equal(chl_chan_recv(c, NULL, &ok), CHL_OK);
	assert_true(ok);
	assert_int_equal(chl_chan_recv(c, NULL, &ok), CHL_OK);
	assert_true(ok);
	assert_int_equal(chl_chan_recv(c, NULL, &ok), CHL_OK);
	assert_false(ok);
	chl_chan_release(c);
}

static void send_null_elem_sends_zero(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int64_t), 1);
	int64_t v = -1;
	bool ok;

	(void)state;
	assert_non_null(c);
	assert_int_equal(chl_chan_send(c, NULL), CHL_OK);
	assert_int_equal(chl_chan_recv(c, &v, &ok), CHL_OK);
	assert_true(ok);
	assert_int_equal(v, 0);
	chl_chan_release(c);
}

static atomic_int freed_elems;

static void free_boxed(void *elem)
{
	int *box;

	memcpy(&box, elem, sizeof box);
	free(box);
	atomic_fetch_add(&freed_elems, 1);
}

static void refcount_and_elem_free(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int *), 4);
	int *box, *got;
	bool ok;

	(void)state;
	assert_non_null(c);
	atomic_store(&freed_elems, 0);
	chl_chan_set_elem_free(c, free_boxed);
	for (int i = 0; i < 3; i++) {
		box = malloc(sizeof *box);
		assert_non_null(box);
		*box = i;
		assert_int_equal(chl_chan_send(c, &box), CHL_OK);
	}
	assert_ptr_equal(chl_chan_retain(c), c);
	chl_chan_release(c);            /* one reference left: still usable */
	assert_int_equal(atomic_load(&freed_elems), 0);
	assert_int_equal(chl_chan_recv(c, &got, &ok), CHL_OK);
	assert_true(ok);
	assert_int_equal(*got, 0);      /* received: ours now, not freed by c */
	free(got);
	chl_chan_release(c);            /* the last one: frees the two left */
	assert_int_equal(atomic_load(&freed_elems), 2);
}

/* ---- hand-off between threads ---- */

struct one_op {
	chl_chan *c;
	long v;
	int rc;
	bool ok;
};

static void *send_one(void *arg)
{
	struct one_op *op = arg;

	op->rc = chl_chan_send(op->c, &op->v);
	return NULL;
}

static void *recv_one(void *arg)
{
	struct one_op *op = arg;

	op->rc = chl_chan_recv(op->c, &op->v, &op->ok);
	return NULL;
}

static void unbuffered_hand_off_both_ways(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(long), 0);
	struct one_op op = { .c = c, .v = 0 };
	long v;
	bool ok;
	pthread_t t;

	(void)state;
	assert_non_null(c);
	/* Receiver parked first: the sender copies into its slot. */
	t = spawn(recv_one, &op);
	assert_true(wait_waiting(c, 0, 1));
	v = 4242;
	assert_int_equal(chl_chan_send(c, &v), CHL_OK);
	join(t);
	assert_int_equal(op.rc, CHL_OK);
	assert_true(op.ok);
	assert_int_equal(op.v, 4242);

	/* Sender parked first: the receiver copies out of its value. */
	op.v = 777;
	t = spawn(send_one, &op);
	assert_true(wait_waiting(c, 1, 0));
	assert_int_equal(chl_chan_len(c), 0);   /* unbuffered: nothing stored */
	assert_int_equal(chl_chan_recv(c, &v, &ok), CHL_OK);
	join(t);
	assert_int_equal(op.rc, CHL_OK);
	assert_true(ok);
	assert_int_equal(v, 777);
	assert_true(wait_waiting(c, 0, 0));
	chl_chan_release(c);
}

/* Senders park one by one on a full channel; the values must come out
 * in send order: first the buffered ones, then the parked senders' in
 * the order they parked. */
static void fifo_with_parked_senders(chl_chan *c, int buffered, int parked)
{
	struct one_op *ops = calloc((size_t)parked, sizeof *ops);
	pthread_t *ts = calloc((size_t)parked, sizeof *ts);
	long v;
	bool ok;

	assert_non_null(ops);
	assert_non_null(ts);
	for (long i = 0; i < buffered; i++)
		assert_int_equal(chl_chan_send(c, &i), CHL_OK);
	for (int k = 0; k < parked; k++) {
		ops[k].c = c;
		ops[k].v = buffered + k;
		ts[k] = spawn(send_one, &ops[k]);
		assert_true(wait_waiting(c, k + 1, 0));   /* k+1 parked, in order */
	}
	assert_int_equal(chl_chan_len(c), (size_t)buffered);
	for (long i = 0; i < buffered + parked; i++) {
		assert_int_equal(chl_chan_recv(c, &v, &ok), CHL_OK);
		assert_true(ok);
		assert_int_equal(v, i);
		/* A parked sender's value moved into the ring: still full. */
		if (buffered > 0 && i < parked)
			assert_int_equal(chl_chan_len(c), (size_t)buffered);
	}
	for (int k = 0; k < parked; k++) {
		join(ts[k]);
		assert_int_equal(ops[k].rc, CHL_OK);
	}
	assert_int_equal(chl_chan_len(c), 0);
	free(ops);
	free(ts);
}

static void fifo_parked_senders_buffered(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(long), 3);

	(void)state;
	assert_non_null(c);
	fifo_with_parked_senders(c, 3, 6);
	chl_chan_release(c);
}

static void fifo_parked_senders_unbuffered(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(long), 0);

	(void)state;
	assert_non_null(c);
	fifo_with_parked_senders(c, 0, 6);
	chl_chan_release(c);
}

static void fifo_parked_receivers(void **state)
{
	enum { K = 5 };
	chl_chan *c = chl_chan_new(sizeof(long), 2);
	struct one_op ops[K];
	pthread_t ts[K];

	(void)state;
	assert_non_null(c);
	for (int k = 0; k < K; k++) {
		ops[k] = (struct one_op){ .c = c, .v = -1 };
		ts[k] = spawn(recv_one, &ops[k]);
		assert_true(wait_waiting(c, 0, k + 1));
	}
	for (long i = 0; i < K; i++)
		assert_int_equal(chl_chan_send(c, &i), CHL_OK);
	for (int k = 0; k < K; k++) {
		join(ts[k]);
		assert_int_equal(ops[k].rc, CHL_OK);
		assert_true(ops[k].ok);
		assert_int_equal(ops[k].v, k);   /* first parked, first served */
	}
	assert_int_equal(chl_chan_len(c), 0);
	chl_chan_release(c);
}

static void close_wakes_every_waiter(void **state)
{
	enum { K = 4 };
	chl_chan *c = chl_chan_new(sizeof(long), 0);
	chl_chan *b = chl_chan_new(sizeof(long), 2);
	struct one_op ops[K];
	pthread_t ts[K];
	long v;
	bool ok;

	(void)state;
	assert_non_null(c);
	assert_non_null(b);
	/* Parked receivers: ok = false, slot zeroed. */
	for (int k = 0; k < K; k++) {
		ops[k] = (struct one_op){ .c = c, .v = 55, .ok = true };
		ts[k] = spawn(recv_one, &ops[k]);
	}
	assert_true(wait_waiting(c, 0, K));
	assert_int_equal(chl_chan_close(c), CHL_OK);
	for (int k = 0; k < K; k++) {
		join(ts[k]);
		assert_int_equal(ops[k].rc, CHL_OK);
		assert_false(ops[k].ok);
		assert_int_equal(ops[k].v, 0);
	}
	/* Parked senders on a full buffer: CHL_CLOSED, values not delivered;
	 * the buffered ones stay and drain before ok = false. */
	for (long i = 100; i < 102; i++)
		assert_int_equal(chl_chan_send(b, &i), CHL_OK);
	for (int k = 0; k < K; k++) {
		ops[k] = (struct one_op){ .c = b, .v = 200 + k };
		ts[k] = spawn(send_one, &ops[k]);
	}
	assert_true(wait_waiting(b, K, 0));
	assert_int_equal(chl_chan_close(b), CHL_OK);
	for (int k = 0; k < K; k++) {
		join(ts[k]);
		assert_int_equal(ops[k].rc, CHL_CLOSED);
	}
	assert_true(wait_waiting(b, 0, 0));
	for (long i = 100; i < 102; i++) {
		assert_int_equal(chl_chan_recv(b, &v, &ok), CHL_OK);
		assert_true(ok);
		assert_int_equal(v, i);
	}
	assert_int_equal(chl_chan_recv(b, &v, &ok), CHL_OK);
	assert_false(ok);
	chl_chan_release(c);
	chl_chan_release(b);
}

/* ---- deadlines ---- */

/* Tolerance: a deadline never ends a wait early (the timer fires at or
 * after `when`); it may end it late by scheduling delay.  The machine is
 * shared and TSan slows everything, so late is allowed up to 1 s. */
#define LATE_NS (1000 * MS)

static void deadlines_on_send_and_recv(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int), 1);
	int v = 5, got = -1;
	bool ok = true;
	int64_t t0, dl;

	(void)state;
	assert_non_null(c);
	/* recv on empty */
	t0 = chl_now();
	dl = t0 + 50 * MS;
	assert_int_equal(chl_chan_recv_until(c, &got, &ok, dl), CHL_TIMEOUT);
	assert_true(chl_now() >= dl);
	assert_true(chl_now() - dl < LATE_NS);
	assert_int_equal(got, -1);              /* nothing was received */
	assert_true(wait_waiting(c, 0, 0));     /* the waiter was dequeued */

	/* send on full: refused by the deadline, the value not stored */
	assert_int_equal(chl_chan_send(c, &v), CHL_OK);
	dl = chl_now() + 30 * MS;
	v = 6;
	assert_int_equal(chl_chan_send_until(c, &v, dl), CHL_TIMEOUT);
	assert_true(chl_now() >= dl);
	assert_true(chl_now() - dl < LATE_NS);
	assert_int_equal(chl_chan_len(c), 1);
	assert_true(wait_waiting(c, 0, 0));

	/* A past deadline does not stop an operation that can go at once. */
	assert_int_equal(chl_chan_recv_until(c, &got, &ok, chl_now() - MS), CHL_OK);
	assert_true(ok);
	assert_int_equal(got, 5);
	assert_int_equal(chl_chan_send_until(c, &v, 0), CHL_OK);
	/* ... and times out at once when it cannot. */
	assert_int_equal(chl_chan_send_until(c, &v, 0), CHL_TIMEOUT);
	chl_chan_release(c);
}

static void deadline_not_reached_gets_the_value(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(long), 0);
	struct one_op op = { .c = c, .v = 31337 };
	long got = 0;
	bool ok = false;
	pthread_t t;

	(void)state;
	assert_non_null(c);
	t = spawn(send_one, &op);
	assert_int_equal(chl_chan_recv_until(c, &got, &ok, chl_now() + 60 * CHL_NS_PER_SEC),
		CHL_OK);
	join(t);
	assert_true(ok);
	assert_int_equal(got, 31337);
	/* The disarmed deadline must not end this thread's next wait: a
	 * plain receive still waits for the value. */
	op.v = 4;
	t = spawn(send_one, &op);
	assert_int_equal(chl_chan_recv(c, &got, &ok), CHL_OK);
	join(t);
	assert_true(ok);
	assert_int_equal(got, 4);
	chl_chan_release(c);
}

/* ---- many threads ---- */

/* 8 producers x 8 consumers over capacities 0, 1 and 64: the issue's
 * 100,000 values are read as 100,000 values *per producer* (800,000 per
 * capacity).  That fits: ~5 s plain, ~20 s under TSan on the 2-core box. */
#define MPMC_PER_PRODUCER 100000
#define MPMC_THREADS 8
#define MPMC_TOTAL (MPMC_THREADS * MPMC_PER_PRODUCER)

struct mpmc {
	chl_chan *c;
	int id;
	atomic_uchar *seen;      /* [MPMC_TOTAL]: times each value arrived */
	uint64_t count, sum;     /* per consumer */
};

static void *mpmc_producer(void *arg)
{
	struct mpmc *m = arg;

	for (uint32_t i = 0; i < MPMC_PER_PRODUCER; i++) {
		uint32_t v = (uint32_t)m->id * MPMC_PER_PRODUCER + i;

		if (chl_chan_send(m->c, &v) != CHL_OK)
			abort();
	}
	return NULL;
}

static void *mpmc_consumer(void *arg)
{
	struct mpmc *m = arg;
	uint32_t v;
	bool ok;

	for (;;) {
		if (chl_chan_recv(m->c, &v, &ok) != CHL_OK)
			abort();
		if (!ok)
			break;
		if (v < MPMC_TOTAL)
			atomic_fetch_add_explicit(&m->seen[v], 1, memory_order_relaxed);
		m->count++;
		m->sum += v;
	}
	return NULL;
}

static void mpmc_over(size_t cap)
{
	struct mpmc prod[MPMC_THREADS], cons[MPMC_THREADS];
	pthread_t tp[MPMC_THREADS], tc[MPMC_THREADS];
	atomic_uchar *seen = calloc(MPMC_TOTAL, sizeof *seen);
	chl_chan *c = chl_chan_new(sizeof(uint32_t), cap);
	uint64_t count = 0, sum = 0;
	int nc, np;

	assert_non_null(seen);
	assert_non_null(c);
	for (nc = 0; nc < MPMC_THREADS; nc++) {
		cons[nc] = (struct mpmc){ .c = c, .id = nc, .seen = seen };
		if (!try_spawn(&tc[nc], mpmc_consumer, &cons[nc]))
			break;
	}
	for (np = 0; nc == MPMC_THREADS && np < MPMC_THREADS; np++) {
		prod[np] = (struct mpmc){ .c = c, .id = np, .seen = seen };
		if (!try_spawn(&tp[np], mpmc_producer, &prod[np]))
			break;
	}
	for (int i = 0; i < np; i++)
		join(tp[i]);
	assert_int_equal(chl_chan_close(c), CHL_OK);
	for (int i = 0; i < nc; i++) {
		join(tc[i]);
		count += cons[i].count;
		sum += cons[i].sum;
	}
	if (nc < MPMC_THREADS || np < MPMC_THREADS)
		fail_msg("cannot start the threads");
	assert_each_once(seen, MPMC_TOTAL, count, sum);
	chl_chan_release(c);
	free(seen);
}

static void mpmc_8x8_unbuffered(void **state) { (void)state; mpmc_over(0); }
static void mpmc_8x8_cap1(void **state) { (void)state; mpmc_over(1); }
static void mpmc_8x8_cap64(void **state) { (void)state; mpmc_over(64); }

/* Close racing with parked and arriving senders and receivers.  Every
 * send either delivers (CHL_OK) or is refused (CHL_CLOSED); what was
 * delivered is received exactly once. */
#define RACE_SENDERS 4
#define RACE_RECEIVERS 4
#define RACE_ROUNDS 30

struct race {
	chl_chan *c;
	chl_chan *go;            /* closed to start everyone at once */
	int id;
	uint64_t ok_count, ok_sum;
	int bad;                 /* unexpected status codes */
};

static void *race_sender(void *arg)
{
	struct race *r = arg;
	bool ok;

	chl_chan_recv(r->go, NULL, &ok);
	for (uint64_t i = 0;; i++) {
		uint64_t v = ((uint64_t)r->id << 32) | i;
		int rc = chl_chan_send(r->c, &v);

		if (rc == CHL_CLOSED)
			break;
		if (rc != CHL_OK) {
			r->bad++;
			break;
		}
		r->ok_count++;
		r->ok_sum += v;
	}
	return NULL;
}

static void *race_receiver(void *arg)
{
	struct race *r = arg;
	uint64_t v;
	bool ok;

	chl_chan_recv(r->go, NULL, &ok);
	for (;;) {
		int rc = chl_chan_recv(r->c, &v, &ok);

		if (rc != CHL_OK) {
			r->bad++;
			break;
		}
		if (!ok)
			break;
		r->ok_count++;
		r->ok_sum += v;
	}
	return NULL;
}

static void close_races_senders_and_receivers(void **state)
{
	static const size_t caps[] = { 0, 1, 8 };

	(void)state;
	for (int round = 0; round < RACE_ROUNDS; round++) {
		size_t cap = caps[round % 3];
		chl_chan *c = chl_chan_new(sizeof(uint64_t), cap);
		chl_chan *go = chl_chan_new(0, 0);
		struct race s[RACE_SENDERS], r[RACE_RECEIVERS];
		pthread_t ts[RACE_SENDERS], tr[RACE_RECEIVERS];
		uint64_t sent = 0, sent_sum = 0, got = 0, got_sum = 0;
		uint64_t seen = 0;
		bool ok;

		assert_non_null(c);
		assert_non_null(go);
		for (int i = 0; i < RACE_SENDERS; i++) {
			s[i] = (struct race){ .c = c, .go = go, .id = i };
			ts[i] = spawn(race_sender, &s[i]);
		}
		for (int i = 0; i < RACE_RECEIVERS; i++) {
			r[i] = (struct race){ .c = c, .go = go, .id = i };
			tr[i] = spawn(race_receiver, &r[i]);
		}
		chl_chan_close(go);
		/* Let some traffic flow (a varying amount), then close in the
		 * middle of it: senders and receivers are parked and arriving. */
		for (int i = 0; i < 50 * (round % 5); i++) {
			uint64_t v;

			if (chl_chan_recv(c, &v, &ok) == CHL_OK && ok) {
				seen++;
				got_sum += v;
			}
		}
		assert_int_equal(chl_chan_close(c), CHL_OK);
		for (int i = 0; i < RACE_SENDERS; i++) {
			join(ts[i]);
			assert_int_equal(s[i].bad, 0);
			sent += s[i].ok_count;
			sent_sum += s[i].ok_sum;
		}
		for (int i = 0; i < RACE_RECEIVERS; i++) {
			join(tr[i]);
			assert_int_equal(r[i].bad, 0);
			got += r[i].ok_count;
			got_sum += r[i].ok_sum;
		}
		got += seen;
		assert_int_equal(got, sent);
		assert_int_equal(got_sum, sent_sum);
		assert_true(wait_waiting(c, 0, 0));
		chl_chan_release(c);
		chl_chan_release(go);
	}
}

/* The parker-level API by hand: begin / park / read the waiter. */
static void parker_api_round_trip(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int), 0);
	chl_parker *p = chl_thread_parker_self();
	struct one_op op = { .c = c, .v = 0 };
	chl_waiter w;
	int slot = -1;
	bool ok = false;
	pthread_t t;

	(void)state;
	assert_non_null(c);
	chl_parker_prepare(p, "test");
	chl_waiter_init(&w, p, c);
	assert_int_equal(chl_chan_recv_begin(c, &slot, &ok, &w), CHL_WAIT);
	assert_true(w.queued);
	op.v = 0;
	t = spawn(send_one, &op);   /* blocks on c's lock until we park */
	chl_thread_park(p);
	join(t);
	assert_ptr_equal(p->fired, &w);
	assert_true(w.ok);
	assert_int_equal(slot, 0);
	assert_false(w.queued);
	chl_chan_dequeue(c, &w);    /* idempotent */
	chl_chan_release(c);
}

/* foreach_value lists the buffered values, oldest first. */
static void add_value(const void *elem, void *arg)
{
	int *seen = arg;

	seen[++seen[0]] = *(const int *)elem;
}

static void foreach_value_lists_the_buffer(void **state)
{
	chl_chan *c = chl_chan_new(sizeof(int), 4);
	int v, seen[8] = { 0 };
	bool ok;

	(void)state;
	assert_non_null(c);
	for (v = 1; v <= 3; v++)
		assert_int_equal(chl_chan_send(c, &v), CHL_OK);
	assert_int_equal(chl_chan_recv(c, &v, &ok), CHL_OK);
	v = 4;
	assert_int_equal(chl_chan_send(c, &v), CHL_OK);
	chl_chan_foreach_value(c, add_value, seen);
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[1], 2);
	assert_int_equal(seen[2], 3);
	assert_int_equal(seen[3], 4);
	chl_chan_release(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_len_cap_elem_size),
		cmocka_unit_test(buffered_values_come_out_in_order_across_wraps),
		cmocka_unit_test(try_send_and_try_recv),
		cmocka_unit_test(misuse_returns_go_errors),
		cmocka_unit_test(elem_size_zero_is_a_signal_channel),
		cmocka_unit_test(send_null_elem_sends_zero),
		cmocka_unit_test(refcount_and_elem_free),
		cmocka_unit_test(unbuffered_hand_off_both_ways),
		cmocka_unit_test(fifo_parked_senders_buffered),
		cmocka_unit_test(fifo_parked_senders_unbuffered),
		cmocka_unit_test(fifo_parked_receivers),
		cmocka_unit_test(close_wakes_every_waiter),
		cmocka_unit_test(deadlines_on_send_and_recv),
		cmocka_unit_test(deadline_not_reached_gets_the_value),
		cmocka_unit_test(parker_api_round_trip),
		cmocka_unit_test(mpmc_8x8_unbuffered),
		cmocka_unit_test(mpmc_8x8_cap1),
		cmocka_unit_test(mpmc_8x8_cap64),
		cmocka_unit_test(close_races_senders_and_receivers),
		cmocka_unit_test(foreach_value_lists_the_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
