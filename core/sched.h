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
 * already passed fires at once).  A ready that arrives while the worker is
 * still inside commit is remembered and acted on by the worker once commit
 * returns, so a task never runs while its previous park is being committed.
 *
 * Run queues: each worker has a local queue and a `next` slot; a task
 * readied by a running task goes into its waker's `next` slot and runs as
 * soon as the waker parks (ping-pong stays on one core).  Tasks readied by
 * other threads (timer, signal, plain C threads) go to the global queue.
 * Idle workers take from the global queue, then steal from other workers,
 * then sleep on a condition variable; they do not spin.
 *
 * Deadlock detection counts the tasks that are runnable or running; when
 * that count falls to zero while tasks are live, nothing external can
 * wake them (no registered external thread, no pending timer, no wake
 * source such as a signal registration), on_deadlock is called once.
 * Preemption: a monitor thread signals (SIGURG) a worker whose task has
 * run for a time slice while others wait.  Both are described with
 * chl_sched_config below.
 *
 * LOCK ORDER (the one list for the whole core; take locks top to bottom):
 *   1. semaphore locks (a waiting acquire arms its context watch at
 *      commit, under the semaphore's lock)
 *   2. context locks (parent before child)
 *   3. other primitive locks: channels (in address order when several,
 *      a context's done channel included), waitgroup, mutex, once
 *   4. scheduler locks: a worker's run-queue lock, the global lock, the
 *      task-list lock, the blocked-worker list lock (the scheduler never
 *      holds two of them at once)
 *   5. the timer heap lock
 *   6. a thread parker's token lock
 * Nothing is called out (callbacks, p->ready) while holding 4, 5 or 6
 * except the locks listed below them.  (The scheduler calls its own
 * callbacks - on_deadlock, chl_sched_foreach's fn - with no lock of 4-6
 * held, except that foreach holds the task-list lock.)
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

/* The owner fills step, release and ud (and may zero the rest); spawn
 * sets everything else.  The owner must not touch the other fields. */
struct chl_task {
	chl_parker parker;               /* first member: a task is a parker */
	chl_step (*step)(chl_task *t);   /* run until park / yield / done */
	void (*release)(chl_task *t);    /* after DONE, on the worker: free it */
	void *ud;                        /* the owner's (bindings: the goroutine) */
	uint64_t id;                     /* set by chl_sched_spawn; 1 is the first */
	chl_sched *sched;                /* set by chl_sched_spawn */
	chl_task *next;                  /* run-queue link; run-queue locks */
	chl_task *all_prev, *all_next;   /* list of live tasks; sched->all_mu */
	atomic_int preempt;              /* set on preemption: please yield; the
	                                    task clears it (also cleared before
	                                    each step) */
	atomic_int state;                /* runnable / running / parking / parked
	                                    / woken: sched.c's own (asserts one
	                                    run at a time, one ready per park) */
	bool blocking;                   /* true while it waits on a thread parker
	                                    (non-yieldable fallback); its worker */
};

typedef struct chl_sched_config {
	int procs;                        /* workers; <= 0 means number of CPUs */
	bool detect_deadlock;             /* call on_deadlock when stuck */
	/* Called once in the scheduler's life, with no scheduler lock held, on
	 * the thread that found it (the worker whose task parked last, the
	 * monitor, or a thread leaving chl_sched_external_leave), when every
	 * live task is parked, no timer is pending (chl_timers_pending), no
	 * wake source is counted (chl_sched_wake_sources: a signal
	 * registration) and no external thread is registered.  Typically
	 * prints a dump (chl_sched_foreach) and exits. */
	void (*on_deadlock)(chl_sched *s, void *ud);
	/* Preemption is on when this is set.  When a task has run for a time
	 * slice (10 to 20 ms: the monitor looks every 10 ms) while other
	 * tasks wait, the monitor sends SIGURG to its worker; the handler
	 * sets t->preempt and calls this, in signal context on that worker,
	 * with the task running there.  Must be async-signal-safe; the
	 * bindings set a Lua count hook that yields.  A task run from the
	 * `next` slot continues its waker's slice (as in Go), so a pair
	 * ping-ponging through `next` is preempted like one long task.  The
	 * SIGURG handler is installed (SA_RESTART) by the first chl_sched_new
	 * and stays; it ignores threads that are not running a task. */
	void (*on_preempt)(chl_task *t, void *ud);
	void *ud;
} chl_sched_config;

/* Start the workers (and the monitor).  NULL on failure (no memory/threads). */
chl_sched *chl_sched_new(const chl_sched_config *cfg);

/* Stop the workers and the monitor, join them, free the scheduler.  Each
 * worker finishes the step it is running; queued tasks are not run and
 * tasks still live are left alone (not released: the process is about to
 * exit) - call chl_sched_wait_idle first for a clean end.  Must not be
 * called from a task, nor while a task waits in chl_sched_block_enter
 * (its worker could not be joined). */
void chl_sched_free(chl_sched *s);

int chl_sched_procs(const chl_sched *s);

/* Hand a new task to the scheduler: sets id and sched, makes it live and
 * runnable (at the tail of the caller's worker's local queue when called
 * from a task, else on the global queue).  Cannot fail. */
void chl_sched_spawn(chl_sched *s, chl_task *t);

/* The task running on this thread, or NULL (not a worker, or between tasks). */
chl_task *chl_sched_current(void);

/* Number of live (spawned, not yet released) tasks. */
int64_t chl_sched_count(const chl_sched *s);

/* A thread outside the scheduler that may wake or spawn tasks (the main
 * thread of a stock lua5.4, a C test) registers itself, before the tasks
 * it may wake could all be parked: no deadlock is declared while any is
 * registered.  Leaving runs the deadlock check (it may call on_deadlock
 * on the leaving thread). */
void chl_sched_external_enter(chl_sched *s);
void chl_sched_external_leave(chl_sched *s);

/* A wake source is something outside the scheduler, other than a
 * registered thread or a pending timer, that may still wake a parked task:
 * today each signal registration (signal.c: its dispatcher thread sends
 * to channels and cancels contexts).  The source adds +1 when it starts
 * and -1 once it can no longer ready anything; no deadlock is declared
 * while the count is above zero.  The count is process-wide, not per
 * scheduler, as the timer heap is: signal.c has no scheduler at hand, and
 * a source may wake the tasks of any scheduler.  Dropping to zero does not
 * run the check itself; the monitor's poll finds a deadlock that is left.
 * Cannot fail. */
void chl_sched_wake_source_add(int delta);

/* The count above (tests, dumps).  Cannot fail. */
int chl_sched_wake_sources(void);

/* A task blocks its worker on a thread parker (non-yieldable fallback).
 * Call block_enter from the task's step once the primitive's _begin has
 * returned CHL_WAIT for chl_thread_parker_self() (lock still held), then
 * chl_thread_park() that parker, then block_leave:
 *     rc = X_begin(..., waiter of p = chl_thread_parker_self());
 *     if (rc == CHL_WAIT) { chl_sched_block_enter(t); chl_thread_park(p);
 *                           chl_sched_block_leave(t); }
 * block_enter hands the worker's queued tasks (`next` included) to the
 * other workers, and starts a spare worker when none is idle, so the
 * tasks that will wake this one can run even with procs == 1.  The task
 * counts as parked for deadlock detection from the moment park has
 * dropped the primitive's lock until it is readied (block_enter wraps the
 * parker's unlock and ready for that; it must be the calling thread's own
 * chl_thread_parker_self(), else the task is simply not counted as
 * parked).  Not from a task: no-ops. */
void chl_sched_block_enter(chl_task *t);
void chl_sched_block_leave(chl_task *t);

/* Call fn for every live task (for dumps).  Only meaningful when the tasks
 * are parked (the deadlock handler); holds the task-list lock meanwhile,
 * so fn must not spawn nor take a lock above it in the lock order. */
void chl_sched_foreach(chl_sched *s, void (*fn)(chl_task *t, void *arg), void *arg);

/* The polling form of preemption: true when the monitor has asked the
 * task running on this worker to yield.  For builds where SIGURG cannot
 * interrupt the task (ThreadSanitizer holds signals back until the thread
 * calls into libc, which a pure Lua loop never does).  Cannot fail. */
bool chl_sched_preempt_requested(void);

/* A decision point of the running task in a deterministic run
 * (decide.h): choose among it and every runnable task.  True when
 * another was chosen: the caller's step must then end with YIELD, and the
 * chosen task runs next; false (also outside deterministic runs, or not
 * on a task) when the running task goes on.  Cannot fail. */
bool chl_sched_decide(void);

/* Wait until no task is live (tests, shutdown).  Cannot fail. */
void chl_sched_wait_idle(chl_sched *s);

/* A snapshot of the scheduler's counters (tests, benchmarks, runtime
 * introspection); racy by nature, each field read atomically. */
typedef struct chl_sched_stats {
	int64_t live;          /* spawned, not yet released */
	int64_t runnable;      /* runnable or running (counted only with
	                          detect_deadlock; else -1) */
	int workers;           /* worker threads made (procs + spares) */
	int idle;              /* workers asleep, waiting for work */
	uint64_t preempts;     /* SIGURG sent by the monitor */
	uint64_t steals;       /* successful steals from another worker */
} chl_sched_stats;

void chl_sched_stats_get(chl_sched *s, chl_sched_stats *out);

#endif
