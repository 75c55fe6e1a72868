/*
 * test_threads.c - plain C threads meeting on channels and select, the
 * way a C user of the core would write Go's patterns: a three-stage
 * pipeline, a fan-in through select, and a worker pool whose results
 * come back on one channel.  Every value is accounted for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "chan.h"
#include "select.h"
#include "helpers.h"

/* ---- pipeline: generate -> square -> sum ---- */

#define PIPE_N 20000

struct stage {
	chl_chan *in, *out;
	int bad;              /* unexpected status codes */
};

static void *generate(void *arg)
{
	struct stage *s = arg;

	for (uint64_t i = 1; i <= PIPE_N; i++)
		s->bad += chl_chan_send(s->out, &i) != CHL_OK;
	s->bad += chl_chan_close(s->out) != CHL_OK;
	return NULL;
}

static void *square(void *arg)
{
	struct stage *s = arg;
	uint64_t v;
	bool ok;

	while (chl_chan_recv(s->in, &v, &ok) == CHL_OK && ok) {
		v *= v;
		s->bad += chl_chan_send(s->out, &v) != CHL_OK;
	}
	s->bad += chl_chan_close(s->out) != CHL_OK;
	return NULL;
}

static void pipeline_of_three_stages(void **state)
{
	chl_chan *nums = chl_chan_new(sizeof(uint64_t), 0);     /* rendezvous */
	chl_chan *squares = chl_chan_new(sizeof(uint64_t), 16); /* buffered */
	struct stage gen = { .out = nums }, sq = { .in = nums, .out = squares };
	uint64_t v, sum = 0, count = 0, last = 0;
	bool ok, ordered = true;
	pthread_t t1, t2;

	(void)state;
	assert_non_null(nums);
	assert_non_null(squares);
	if (!try_spawn(&t1, generate, &gen))
		fail_msg("cannot start the generator");
	if (!try_spawn(&t2, square, &sq)) {
		chl_chan_close(nums);    /* the generator's sends end at once */
		join(t1);
		fail_msg("cannot start the squarer");
	}
	while (chl_chan_recv(squares, &v, &ok) == CHL_OK && ok) {
		ordered &= v > last;    /* one path through: order is kept */
		last = v;
		sum += v;
		count++;
	}
	join(t1);
	join(t2);
	assert_int_equal(gen.bad, 0);
	assert_int_equal(sq.bad, 0);
	assert_true(ordered);
	assert_int_equal(count, PIPE_N);
	/* 1^2 + ... + n^2 = n(n+1)(2n+1)/6 */
	assert_int_equal(sum, (uint64_t)PIPE_N * (PIPE_N + 1) * (2 * PIPE_N + 1) / 6);
	chl_chan_release(nums);
	chl_chan_release(squares);
}

/* ---- fan-in: P producers, one merger selecting over all of them ---- */

#define FAN_P 5
#define FAN_N 20000

struct producer {
	chl_chan *out;
	uint32_t id;
	int bad;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (uint32_t i = 0; i < FAN_N; i++) {
		uint32_t v = p->id * FAN_N + i;

		p->bad += chl_chan_send(p->out, &v) != CHL_OK;
	}
	p->bad += chl_chan_close(p->out) != CHL_OK;
	return NULL;
}

struct merger {
	chl_chan *in[FAN_P];
	chl_chan *out;
	int bad;
};

/* Go's merge: select over every open input, disable one when it closes
 * (nil channel), forward the value; close out when all are done. */
static void *merge(void *arg)
{
	struct merger *m = arg;
	chl_select_case cs[FAN_P];
	uint32_t v;
	int open = FAN_P, fired;

	for (int i = 0; i < FAN_P; i++)
		cs[i] = (chl_select_case){ .chan = m->in[i], .dir = CHL_SELECT_RECV, .elem = &v };
	while (open > 0) {
		if (chl_select(cs, FAN_P, false, -1, &fired) != CHL_OK) {
			m->bad++;
			break;
		}
		if (!cs[fired].ok) {
			cs[fired].chan = NULL;
			open--;
			continue;
		}
		m->bad += chl_chan_send(m->out, &v) != CHL_OK;
	}
	m->bad += chl_chan_close(m->out) != CHL_OK;
	return NULL;
}

static void fan_in_through_select(void **state)
{
	struct producer prod[FAN_P];
	struct merger m = { .out = chl_chan_new(sizeof(uint32_t), 8) };
	pthread_t tp[FAN_P], tm;
	uint32_t v, next[FAN_P] = { 0 };
	uint64_t count = 0;
	bool ok, in_order = true;
	int per[FAN_P] = { 0 };

	bool started[FAN_P];
	int not_started = 0;

	(void)state;
	assert_non_null(m.out);
	for (uint32_t i = 0; i < FAN_P; i++) {
		m.in[i] = chl_chan_new(sizeof(uint32_t), i % 2 ? 3 : 0);
		assert_non_null(m.in[i]);
		prod[i] = (struct producer){ .out = m.in[i], .id = i };
	}
	if (!try_spawn(&tm, merge, &m))
		fail_msg("cannot start the merger");
	for (int i = 0; i < FAN_P; i++) {
		started[i] = try_spawn(&tp[i], produce, &prod[i]);
		if (!started[i]) {
			/* Its input ends at once, so the merger still ends. */
			chl_chan_close(m.in[i]);
			not_started++;
		}
	}
	while (chl_chan_recv(m.out, &v, &ok) == CHL_OK && ok) {
		uint32_t id = v / FAN_N;

		assert_true(id < FAN_P);
		/* Each producer's values keep their order through the merge. */
		in_order &= v % FAN_N == next[id];
		next[id]++;
		per[id]++;
		count++;
	}
	for (int i = 0; i < FAN_P; i++)
		if (started[i])
			join(tp[i]);
	join(tm);
	assert_int_equal(not_started, 0);
	for (int i = 0; i < FAN_P; i++)
		assert_int_equal(prod[i].bad, 0);
	assert_int_equal(m.bad, 0);
	assert_true(in_order);
	assert_int_equal(count, (uint64_t)FAN_P * FAN_N);
	for (int i = 0; i < FAN_P; i++) {
		assert_int_equal(per[i], FAN_N);
		chl_chan_release(m.in[i]);
	}
	chl_chan_release(m.out);
}

/* ---- a worker pool: jobs on one channel, results on another, a quit
 * channel watched by select ---- */

#define POOL_WORKERS 4
#define POOL_JOBS 10000

struct pool {
	chl_chan *jobs, *results, *quit;
	atomic_int bad;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	uint32_t job, res;
	int fired;

	for (;;) {
		chl_select_case cs[2] = {
			{ .chan = p->quit, .dir = CHL_SELECT_RECV },
			{ .chan = p->jobs, .dir = CHL_SELECT_RECV, .elem = &job },
		};

		if (chl_select(cs, 2, false, -1, &fired) != CHL_OK) {
			atomic_fetch_add(&p->bad, 1);
			return NULL;
		}
		if (fired == 0)
			return NULL;             /* told to stop */
		if (!cs[1].ok)
			continue;                /* never closed in this test */
		res = job * 2 + 1;
		if (chl_chan_send(p->results, &res) != CHL_OK)
			atomic_fetch_add(&p->bad, 1);
	}
}

static void *feed_jobs(void *arg)
{
	struct pool *p = arg;

	for (uint32_t j = 0; j < POOL_JOBS; j++) {
		if (chl_chan_send(p->jobs, &j) != CHL_OK)
			atomic_fetch_add(&p->bad, 1);
	}
	return NULL;
}

static void worker_pool_with_quit_channel(void **state)
{
	struct pool p = {
		.jobs = chl_chan_new(sizeof(uint32_t), 0),
		.results = chl_chan_new(sizeof(uint32_t), 32),
		.quit = chl_chan_new(0, 0),
	};
	pthread_t tw[POOL_WORKERS], tf;
	unsigned char *seen = calloc(POOL_JOBS, 1);
	uint32_t res;
	bool ok;

	int nw;

	(void)state;
	assert_non_null(seen);
	assert_non_null(p.jobs);
	assert_non_null(p.results);
	assert_non_null(p.quit);
	atomic_init(&p.bad, 0);
	for (nw = 0; nw < POOL_WORKERS; nw++)
		if (!try_spawn(&tw[nw], worker, &p))
			break;
	if (nw < POOL_WORKERS || !try_spawn(&tf, feed_jobs, &p)) {
		chl_chan_close(p.quit);     /* the started workers stop */
		for (int i = 0; i < nw; i++)
			join(tw[i]);
		fail_msg("cannot start the pool's threads");
	}
	for (int i = 0; i < POOL_JOBS; i++) {
		assert_int_equal(chl_chan_recv(p.results, &res, &ok), CHL_OK);
		assert_true(ok);
		assert_int_equal(res % 2, 1);
		assert_true(res / 2 < POOL_JOBS);
		seen[res / 2]++;
	}
	join(tf);
	/* Closing quit makes its case ready for every worker at once. */
	assert_int_equal(chl_chan_close(p.quit), CHL_OK);
	for (int i = 0; i < POOL_WORKERS; i++)
		join(tw[i]);
	assert_int_equal(atomic_load(&p.bad), 0);
	for (int j = 0; j < POOL_JOBS; j++)
		assert_int_equal(seen[j], 1);
	assert_int_equal(chl_chan_len(p.results), 0);   /* nothing extra */
	free(seen);
	chl_chan_release(p.jobs);
	chl_chan_release(p.results);
	chl_chan_release(p.quit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipeline_of_three_stages),
		cmocka_unit_test(fan_in_through_select),
		cmocka_unit_test(worker_pool_with_quit_channel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
