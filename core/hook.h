/*
 * hook.h - the visible operations: the one place where the scheduler and
 * the primitives say what goroutines do to each other.
 *
 * Goroutines share no Lua memory, so the only points where one can
 * influence another are these operations: spawn, exit, park, ready, the
 * channel operations, select's choice, the sync primitives, context
 * cancels, timer fires, atomics.  Every feature that watches or steers a
 * schedule hangs on them: the trace (an event per operation), the
 * deterministic scheduler (a decision after each, decide.h), the leak and
 * deadlock reports (what each goroutine waits on).
 *
 * Cost when off: one load of chl_hook_on and a predictable branch at each
 * point (CHL_HOOK_ON()).  Sinks are added before the first task runs and
 * never removed, so the list is read without a lock; a sink is called on
 * the thread doing the operation, sometimes with a primitive's lock held:
 * it must copy the event and return (no lock of the core, no blocking).
 */
#ifndef CHL_HOOK_H
#define CHL_HOOK_H

#include <stdbool.h>
#include <stdint.h>

typedef enum chl_op {
	/* the scheduler (sched.c) */
	CHL_OP_SPAWN = 1,    /* g made peer */
	CHL_OP_RUN,          /* a step of g begins */
	CHL_OP_YIELD,        /* the step ended, g still runnable */
	CHL_OP_PARK,         /* the step ended, g parked (what: the reason) */
	CHL_OP_READY,        /* g (0: not a goroutine) made peer runnable */
	CHL_OP_EXIT,         /* g finished */
	/* the core's own goroutine-less actors */
	CHL_OP_TIMER,        /* a timer fired (obj: the chl_timer) */
	CHL_OP_CANCEL,       /* a context was canceled (obj: the chl_ctx) */
	/* operations of goroutines, reported by the bindings */
	CHL_OP_SEND,         /* a: len after, b: cap; flow: the value's */
	CHL_OP_RECV,         /* a: len after, b: cap; flow: the value's; aux: ok */
	CHL_OP_CLOSE,
	CHL_OP_SELECT,       /* aux: the case that fired (1-based; 0: default) */
	CHL_OP_SYNC,         /* waitgroup, mutex, once, semaphore, errgroup,
	                        atomic: `what` names it ("sync.Mutex.Lock") */
	CHL_OP_SLEEP,
	CHL_OP_SIGNAL,       /* signal.raise */
	CHL_OP_GOSCHED,
	CHL_OP_PANIC,        /* detail: the message */
	CHL_OP_WAIT,         /* g is about to park (what: the reason, where:
	                        its line; flow: the value it waits to send) */
	CHL_OP_MAKE,         /* a channel was made (obj; b: its capacity): its
	                        address may be an older channel's, freed */
	CHL_OP_COUNT_
} chl_op;

typedef struct chl_event {
	chl_op op;
	int worker;          /* the worker's index, -1 for another thread (set by emit) */
	uint64_t g;          /* the goroutine doing it; 0: not a goroutine (set by
	                        emit when 0 and a task runs on this thread) */
	uint64_t peer;       /* the other goroutine (spawn, ready), or 0 */
	const void *obj;     /* the primitive, or NULL */
	uint64_t flow;       /* pairs a send with the receive of its value; 0: none */
	const char *what;    /* static text: park reason, operation name */
	const char *where;   /* "file:line" in the script, or NULL */
	const char *detail;  /* a short preview of the value, or NULL; valid
	                        only during the call */
	int64_t a, b, aux;   /* as the op says */
	int64_t ts;          /* chl_now() (virtual in deterministic mode); set by emit */
} chl_event;

typedef void (*chl_hook_fn)(const chl_event *ev, void *ud);

/* True when some sink is installed.  Written only by chl_hook_add, before
 * any task runs; read everywhere without synchronisation after that. */
extern bool chl_hook_on;

#define CHL_HOOK_ON() __builtin_expect(chl_hook_on, 0)

/* Install a sink (up to 4).  Only before the scheduler runs any task. */
void chl_hook_add(chl_hook_fn fn, void *ud);

/* Fill ts, worker and g, and hand ev to every sink.  Call only under
 * CHL_HOOK_ON(). */
void chl_hook_emit(chl_event *ev);

/* The worker index of this thread, for emit (sched.c sets it). */
void chl_hook_set_worker(int worker);

/* The id of the task running on this thread, 0 if none (sched.c). */
uint64_t chl_hook_current_id(void);

#endif
