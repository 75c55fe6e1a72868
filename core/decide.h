/*
 * decide.h - the schedule's choices, made by a strategy in deterministic
 * runs.
 *
 * A normal run leaves its choices to chance: which goroutine runs next is
 * up to the run queues and the OS, which ready case a select takes is up
 * to a per-thread random generator.  A deterministic run (`chanlab run
 * --seed N`) has one worker and makes every choice here, from a strategy
 * seeded by N, so the same seed gives the same run:
 *   - the next task: at each decision point (the end of a visible
 *     operation, hook.h; a park; an exit) among every runnable task;
 *   - select's first case to look at, among its enabled cases.
 * Strategies:
 *   random  uniform at each choice (a splitmix64 stream from the seed);
 *   pct     Burckhardt et al.'s probabilistic concurrency testing: random
 *           distinct priorities, the highest runnable runs, and at depth-1
 *           random decision points (out of `steps`) the running task drops
 *           below everyone; finds a bug of depth d among n tasks and k
 *           steps with probability >= 1/(n k^(d-1)) per run;
 *   replay  the choices given, in order (then option 0 at every choice):
 *           what an exhaustive search drives, one prefix per run.
 * Options of a task choice are ordered canonically: the task that just
 * ran first when it is still runnable (choosing it is not a preemption),
 * then the others by id.  Each choice can be logged (n options, the one
 * taken, whether option 0 was the running task) to a file descriptor, for
 * the explorer's search.
 *
 * Only the one worker of a deterministic run calls in here (and select,
 * from the task it runs), so nothing needs a lock; the state is set up
 * before the scheduler starts.
 */
#ifndef CHL_DECIDE_H
#define CHL_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum chl_strategy {
	CHL_STRATEGY_RANDOM,
	CHL_STRATEGY_PCT,
	CHL_STRATEGY_REPLAY,
} chl_strategy;

typedef struct chl_decide_config {
	chl_strategy strategy;
	uint64_t seed;
	int depth;                 /* pct: bug depth d >= 1 (default 3) */
	int64_t steps;             /* pct: decisions expected per run, k */
	const int *replay;         /* replay: the forced choices */
	int nreplay;
	int log_fd;                /* > 0: write each choice there */
} chl_decide_config;

/* A deterministic run is set up: read everywhere after startup. */
extern bool chl_det_on;

/* Set up a deterministic run (before the scheduler starts). */
void chl_decide_init(const chl_decide_config *cfg);

/* The seed of the run (meaningful when chl_det_on). */
uint64_t chl_decide_seed(void);

/* Choose the next task among the n >= 1 runnable ones with these ids;
 * `last` is the id of the task that ran last (0: none).  Returns an
 * index into ids. */
int chl_decide_task(const uint64_t *ids, int n, uint64_t last);

/* Choose among n >= 1 options of another kind (select). */
int chl_decide_n(int n);

/* The number of choices made so far. */
int64_t chl_decide_count(void);

#endif
