/*
 * decide.c - the strategies of a deterministic run (decide.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "decide.h"

bool chl_det_on;

#define MAX_PRIO 4096          /* pct: tasks given a priority (ids beyond: lowest) */
#define MAX_DEPTH 16

static struct {
	chl_decide_config cfg;
	uint64_t rng;              /* splitmix64 state */
	int64_t count;             /* choices made */
	int replay_at;             /* replay: next forced choice */
	/* pct */
	int64_t prio[MAX_PRIO];    /* by task id; 0: not met yet */
	int64_t change_at[MAX_DEPTH]; /* decision numbers where the runner drops */
	int nchange;
} d;

static uint64_t next_rand(void)
{
	uint64_t z = (d.rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* In [0, n); the modulo bias (n / 2^64) is nothing at these sizes. */
static int rand_below(int n)
{
	return (int)(next_rand() % (uint64_t)n);
}

void chl_decide_init(const chl_decide_config *cfg)
{
	memset(&d, 0, sizeof d);
	d.cfg = *cfg;
	d.rng = cfg->seed;
	if (d.cfg.depth < 1)
		d.cfg.depth = 3;
	if (d.cfg.depth > MAX_DEPTH)
		d.cfg.depth = MAX_DEPTH;
	if (d.cfg.steps < 1)
		d.cfg.steps = 100;
	if (cfg->strategy == CHL_STRATEGY_PCT) {
		/* d - 1 change points, uniform over the k expected decisions */
		d.nchange = d.cfg.depth - 1;
		for (int i = 0; i < d.nchange; i++)
			d.change_at[i] = 1 + (int64_t)(next_rand() % (uint64_t)d.cfg.steps);
	}
	chl_det_on = true;
}

uint64_t chl_decide_seed(void)
{
	return d.cfg.seed;
}

int64_t chl_decide_count(void)
{
	return d.count;
}

/* Log one choice: n options, the one taken, option 0 the running task.
 * Three little-endian 16-bit words (n and the choice capped at 65535). */
static void log_choice(int n, int taken, bool zero_is_last)
{
	unsigned char b[6];
	unsigned v[3] = { n > 65535 ? 65535u : (unsigned)n,
	                  taken > 65535 ? 65535u : (unsigned)taken,
	                  zero_is_last };

	if (d.cfg.log_fd <= 0)
		return;
	for (int i = 0; i < 3; i++) {
		b[2 * i] = (unsigned char)(v[i] & 0xff);
		b[2 * i + 1] = (unsigned char)(v[i] >> 8);
	}
	if (write(d.cfg.log_fd, b, sizeof b) != (ssize_t)sizeof b)
		d.cfg.log_fd = 0;      /* the reader went away: stop logging */
}

/* replay: the next forced choice, or 0 once they run out. */
static int forced(int n)
{
	int c = 0;

	if (d.replay_at < d.cfg.nreplay)
		c = d.cfg.replay[d.replay_at++];
	return c >= 0 && c < n ? c : 0;
}

static int64_t priority_of(uint64_t id)
{
	if (id >= MAX_PRIO)
		return 0;
	if (d.prio[id] == 0)   /* met now: a random rank above every drop */
		d.prio[id] = MAX_DEPTH + 1 + (int64_t)(next_rand() >> 2);
	return d.prio[id];
}

/* pct: the highest priority among the options (after a drop, if this
 * decision is a change point). */
static int pct_choose(const uint64_t *order, int n, uint64_t last, bool last_runs)
{
	int best = 0;

	for (int i = 0; i < d.nchange; i++)
		if (d.change_at[i] == d.count && last_runs && last < MAX_PRIO)
			d.prio[last] = d.cfg.depth - 1 - i;   /* below every initial one */
	for (int i = 1; i < n; i++)
		if (priority_of(order[i]) > priority_of(order[best]))
			best = i;
	(void)priority_of(order[0]);
	return best;
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int chl_decide_task(const uint64_t *ids, int n, uint64_t last)
{
	uint64_t small[64], *order = n <= 64 ? small : malloc((size_t)n * sizeof *order);
	bool last_runs = false;
	int k, taken = 0;

	chl_assert(n >= 1);
	if (n == 1) {
		if (order != small)
			free(order);
		return 0;              /* no choice: not a decision */
	}
	if (!order)
		return 0;              /* out of memory: still a deterministic answer */
	memcpy(order, ids, (size_t)n * sizeof *order);
	qsort(order, (size_t)n, sizeof *order, by_id);
	for (k = 0; k < n; k++)
		if (order[k] == last) {
			memmove(order + 1, order, (size_t)k * sizeof *order);
			order[0] = last;
			last_runs = true;
			break;
		}
	d.count++;
	switch (d.cfg.strategy) {
	case CHL_STRATEGY_RANDOM: k = rand_below(n); break;
	case CHL_STRATEGY_PCT:    k = pct_choose(order, n, last, last_runs); break;
	case CHL_STRATEGY_REPLAY: k = forced(n); break;
	default:                  k = 0;
	}
	log_choice(n, k, last_runs);
	for (int i = 0; i < n; i++)
		if (ids[i] == order[k])
			taken = i;
	if (order != small)
		free(order);
	return taken;
}

int chl_decide_n(int n)
{
	int k;

	if (n <= 1)
		return 0;
	d.count++;
	k = d.cfg.strategy == CHL_STRATEGY_REPLAY ? forced(n) : rand_below(n);
	log_choice(n, k, false);
	return k;
}
