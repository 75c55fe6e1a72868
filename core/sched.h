/*
 * sched.h - the M:N scheduler: `procs` worker threads run many tasks.
 *
 * The core knows nothing of Lua: a task is a record with a step function
 * that runs it until it parks, yields or finishes (the bindings make step
 * resume a Lua state).  A task parks by returning CHL_STEP_PARK after a
 * primitive returned CHL_WAIT for its parker (waiter.h); the worker then
 * marks the task parked and only then calls chl_parker_commit() - the task
 * is off its stack, so only now may the primitive's lock be dropped and
 * the task be readied (commit itself may ready it: a deadline that has
 * already passed fires at once).
 *
 * Run queues: each worker has a local queue and a `next` slot; a task
 * readied by a running task goes into its waker's `next` slot and runs as
 * soon as the waker parks (ping-pong stays on one core).  Tasks readied by
 * other threads (timer, signal, plain C threads) go to the global queue.
 * Idle workers take from the global queue, then steal from other workers,
 * then sleep on a condition variable; they do not spin.
 *
 * LOCK ORDER (the one list for the whole core; take locks top to bottom):
 *   1. semaphore locks (a waiting acquire arms its context watch at
 *      commit, under the semaphore's lock)
 *   2. context locks (parent before child)
 *   3. other primitive locks: channels (in address order when several,
 *      a context's done channel included), waitgroup, mutex, once
 *   4. scheduler locks: a worker's run-queue lock, then the global lock
 *   5. the timer heap lock
 *   6. a thread parker's token lock
 * Nothing is called out (callbacks, p->ready) while holding 4, 5 or 6
 * except the locks listed below them.
 */
#ifndef CHL_SCHED_H
#define CHL_SCHED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "waiter.h"

typedef struct chl_sched chl_sched;
typedef struct chl_task chl_task;

typedef enum chl_step {
	CHL_STEP_YIELD,   /* still runnable: put it back at the end of a queue */
	CHL_STEP_PARK,    /* parked: the worker commits its parker */
	CHL_STEP_DONE,    /* finished: the worker calls release */
} chl_step;

struct chl_task {
	chl_parker parker;               /* first member: a task is a parker */
	chl_step (*step)(chl_task *t);   /* run until park / yield / done */
	void (*release)(chl_task *t);    /* after DONE, on the worker: free it */
	void *ud;                        /* the owner's (bindings: the goroutine) */
	uint64_t id;                     /* set by chl_sched_spawn; 1 is the first */
	chl_sched *sched;                /* set by chl_sched_spawn */
	chl_task *next;                  /* run-queue link; run-queue locks */
	chl_task *all_prev, *all_next;   /* list of live tasks; sched->all_mu */
	atomic_int preempt;              /* set by the monitor: please yield */
	bool blocking;                   /* true while it waits on a thread parker
	                                    (non-yieldable fallback); its worker */
};

typedef struct chl_sched_config {
	int procs;                        /* workers; <= 0 means number of CPUs */
	bool detect_deadlock;             /* call on_deadlock when stuck */
	/* Called once, on some worker, when every live task is parked, no
	 * timer is pending (chl_timers_pending), no signal is watched
	 * (chl_signal_watches) and no external thread is registered.
	 * Typically prints a dump and exits. */
	void (*on_deadlock)(chl_sched *s, void *ud);
	/* When a task has run for more than a time slice (10 ms) while others
	 * wait, the monitor sets t->preempt and sends SIGURG to its worker;
	 * the handler calls this, in signal context on that worker, with the
	 * task running there (if any).  Must be async-signal-safe; the
	 * bindings set a Lua count hook that yields. */
	void (*on_preempt)(chl_task *t, void *ud);
	void *ud;
} chl_sched_config;

/* Start the workers (and the monitor).  NULL on failure (no memory/threads). */
chl_sched *chl_sched_new(const chl_sched_config *cfg);

/* Stop the workers once every task is done, then free.  Tasks still live
 * are left alone (the process is about to exit). */
void chl_sched_free(chl_sched *s);

int chl_sched_procs(const chl_sched *s);

/* Hand a new task to the scheduler: sets id and sched, makes it live and
 * runnable (on the caller's worker when called from a task).  Cannot fail. */
void chl_sched_spawn(chl_sched *s, chl_task *t);

/* The task running on this thread, or NULL (not a worker, or between tasks). */
chl_task *chl_sched_current(void);

/* Number of live (spawned, not yet released) tasks. */
int64_t chl_sched_count(const chl_sched *s);

/* A thread outside the scheduler that may wake tasks (the main thread of a
 * stock lua5.4, a C test) registers itself: no deadlock is declared while
 * any is registered. */
void chl_sched_external_enter(chl_sched *s);
void chl_sched_external_leave(chl_sched *s);

/* A task blocks its worker on a thread parker (non-yieldable fallback):
 * wrap the wait so the scheduler counts it as parked. */
void chl_sched_block_enter(chl_task *t);
void chl_sched_block_leave(chl_task *t);

/* Call fn for every live task (for dumps).  Only meaningful when the tasks
 * are parked (the deadlock handler); holds the task-list lock meanwhile. */
void chl_sched_foreach(chl_sched *s, void (*fn)(chl_task *t, void *arg), void *arg);

/* Wait until no task is live (tests, shutdown).  Cannot fail. */
void chl_sched_wait_idle(chl_sched *s);

#endif
