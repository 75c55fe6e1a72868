/*
 * timer.h - the runtime's monotonic clock and its one timer heap.
 *
 * One min-heap of chl_timer records, guarded by one lock, serviced by one
 * thread (started on first use) that sleeps until the earliest deadline
 * and runs each due timer's callback.  Callbacks run on the timer thread
 * with the heap lock dropped; they must be short and must not block (they
 * claim a parker, send without blocking on a channel, cancel a context).
 *
 * Lock order: a callback may take primitive and run-queue locks, so the
 * heap lock is never held while calling out.  chl_timer_stop() waits for a
 * callback that is running at that moment, so after stop returns the
 * callback cannot touch the timer's owner any more (unless stop was called
 * from that very callback, which it detects).
 *
 * The clock lives behind chl_now(), so that a deterministic run can make
 * it virtual: time then stands still while any task can run, and jumps to
 * the next timer when none can (chl_timers_advance, called by the
 * scheduler's one worker); no timer thread is started then.
 */
#ifndef CHL_TIMER_H
#define CHL_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define CHL_NS_PER_SEC INT64_C(1000000000)

typedef struct chl_timer chl_timer;
typedef void (*chl_timer_fn)(chl_timer *t, void *arg);

struct chl_timer {
	int64_t when;        /* absolute chl_now() ns; guarded by the heap lock */
	int64_t period;      /* > 0: fire again every period ns (ticker) */
	chl_timer_fn fn;     /* set by chl_timer_init; called on the timer thread */
	void *arg;
	int index;           /* position in the heap, -1 when not pending; heap lock */
	int running;         /* callback in progress; heap lock */
};

/* Monotonic nanoseconds (CLOCK_MONOTONIC), or the virtual clock of a
 * deterministic run: the time programs see.  Cannot fail. */
int64_t chl_now(void);

/* CLOCK_MONOTONIC always: for the runtime's own spinning and polling,
 * which must not stand still with a virtual clock.  Cannot fail. */
int64_t chl_real_now(void);

void chl_timer_init(chl_timer *t, chl_timer_fn fn, void *arg);

/* Make t pending at absolute time `when` (ns); if it was pending already it
 * is moved.  period > 0 makes it a ticker.  Returns CHL_OK or CHL_NOMEM. */
int chl_timer_start(chl_timer *t, int64_t when, int64_t period);

/* Remove t if pending.  Returns true if it was pending (a fire was
 * prevented).  Waits for a running callback of t (unless called from it). */
bool chl_timer_stop(chl_timer *t);

/* Number of pending timers (for deadlock detection).  Cannot fail. */
int chl_timers_pending(void);

/* Make chl_now() virtual, starting at `start` ns (before any thread reads
 * the clock or starts a timer). */
void chl_clock_virtual(int64_t start);
bool chl_clock_is_virtual(void);

/* Virtual clock only: move the clock to the earliest pending timer and run
 * every callback due then, on the calling thread.  Returns false (doing
 * nothing) when no timer is pending or the clock is real. */
bool chl_timers_advance(void);

#endif
