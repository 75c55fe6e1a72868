/*
 * leaks.h - which blocked goroutines can never run again: leaked
 * goroutines and partial deadlocks (runtime.leaks(), chanlab run --leaks).
 *
 * Go reports a deadlock only when every goroutine is asleep.  Here the
 * runtime knows which Lua states and which queued messages hold each
 * handle, so it can tell a blocked goroutine that nobody will ever wake:
 *
 *   A goroutine *can run* when it is running or runnable, sleeps on a
 *   timer (a deadline is armed: sleep, a context with a deadline), waits
 *   for a signal or a timer channel, or has been woken already.  A plain
 *   C thread registered as outside (a stock lua5.4 that required the
 *   module) could wake anyone: then nothing is reported (skipped).
 *   What a goroutine that can run *reaches*: every handle its Lua state
 *   can still get at (walk.h: what a full collection would keep), what
 *   its start message and its hooks (wg:go, errgroup) hold, and - to a
 *   fixed point - what those handles lead to: the messages queued in a
 *   reached channel (buffered, or offered by parked senders), a reached
 *   context's values and cause, the cancellation of every context below
 *   a reached cancel function (or errgroup, or notify-context stop), and
 *   what a blocked goroutine reaches once something that can run
 *   reaches what it waits on (it will run again, so it counts too).
 *   A blocked goroutine waits on a channel (or several: select), a
 *   waitgroup, mutex, once or semaphore, or a context's done channel.
 *   It will be woken when a goroutine that can run reaches that object -
 *   for a done channel, when one reaches the cancellation of its context
 *   or of an ancestor, or a deadline or a signal watch will cancel one.
 *   Every other blocked goroutine is *leaked*.
 *
 * Among the leaked, G waits for H when H directly holds what G waits on
 * and does not itself wait on it (two senders on one channel wait for the
 * same receiver, not for each other).  A cycle of that relation is a
 * *partial deadlock*: `G4 waits for G5 (mutex at bank.lua:12), G5 waits
 * for G4 (mutex at bank.lua:13)`.
 *
 * Limits.  A wait on a timer or signal channel counts as fed from
 * outside even once its timer is stopped or its signal unregistered; a
 * handle stored by the script into a handle type's metatable is not
 * seen (walk.h); the "waits for" edges use what a goroutine holds
 * directly, not through messages.  One case errs the other way: a done
 * channel whose context no goroutine holds (only the channel travelled)
 * is not known to have a deadline above it, so a waiter a deadline
 * would wake is reported (a cancellation above it is followed down and
 * seen).
 *
 * Cost: nothing until asked (the waits record what they are on with a
 * store or two).  Asked, it stops the world (sched.h), walks every
 * goroutine's state once, and is linear in what they hold.
 */
#ifndef CHL_LEAKS_H
#define CHL_LEAKS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <lua.h>

#include "chanlab.h"
#include "value/transfer.h"

/* ---- what a handle type tells the detector (chl_lua_type.reach) ----
 *
 * reach(obj, r) calls these for what a holder of obj can act on.  They
 * only record: no lock may be held and nothing may block. */

typedef struct chl_reach chl_reach;

/* How the waiters of a channel are woken. */
enum {
	CHL_WAKE_HOLDER,    /* by whoever holds it: send, receive, close */
	CHL_WAKE_OUTSIDE,   /* from outside the goroutines: a timer, a signal */
	CHL_WAKE_CANCEL,    /* only by a cancellation: a context's done channel */
};

/* A primitive whose waiters a holder can wake (waitgroup, mutex...). */
void chl_reach_obj(chl_reach *r, void *obj);
/* A channel whose waiters wake as `wake` says.  True when the caller
 * should go on and report the messages it holds (chl_reach_msg). */
bool chl_reach_chan(chl_reach *r, chl_chan *c, int wake);
/* The handles inside a message. */
void chl_reach_msg(chl_reach *r, const chl_msg *m);
/* A context a holder can read (its done channel is then known to come
 * from it); the caller reports its values' messages itself. */
void chl_reach_ctx(chl_reach *r, chl_ctx *ctx);
/* A context a holder can cancel (and so every context below it). */
void chl_reach_cancel(chl_reach *r, chl_ctx *ctx);

/* ---- the detector ---- */

typedef struct chl_leak {
	uint64_t id;
	const char *reason;        /* what it waits on: "chan send" (static) */
	char line[LUA_IDSIZE + 24];/* where it blocked: "x.lua:3", or "?" (with
	                              CHL_LEAKS_TRACEBACKS: "" for those
	                              the report does not print) */
	const char *created;       /* "file:line" of its go(); NULL for goroutine 1 */
	char *traceback;           /* Lua's traceback lines (malloc'd), or NULL */
	int cycle;                 /* its partial deadlock (index in cycles), or -1 */
	uint64_t waits_for;        /* in a partial deadlock: whom it waits for */
} chl_leak;

typedef struct chl_leaks {
	const char *skipped;       /* why nothing could be told, or NULL */
	chl_leak *v;               /* n of them, by id */
	size_t n;
	char **cycles;             /* ncycles texts: "G4 waits for G5 (...), ..." */
	size_t ncycles;
} chl_leaks;

/* At most this many goroutines are printed (and traced) in full: a
 * program with 100,000 leaked wants the first ones and a count. */
#define CHL_LEAKS_DUMP_MAX 100

enum {
	CHL_LEAKS_TRACEBACKS = 1,  /* fill chl_leak.traceback (of those printed) */
	CHL_LEAKS_KEEP_STOPPED = 2 /* leave the world stopped (at exit) */
};

/* Find the leaked goroutines now.  L is the calling goroutine's running
 * thread (its own state is read as it stands).  Stops the world for the
 * time of the search (at most a few seconds' wait for running steps to
 * yield, else skipped).  CHL_OK (out filled: free with chl_leaks_free),
 * or CHL_NOMEM (out empty). */
int chl_leaks_find(lua_State *L, chl_leaks *out, int flags);
void chl_leaks_free(chl_leaks *lk);

/* The report in Go's dump format, on f: each leaked goroutine as
 * `goroutine 8 [chan send (leaked)]:`, its traceback and creator, the
 * partial deadlocks with their cycles (at most CHL_LEAKS_DUMP_MAX
 * goroutines, then a count).  Nothing when none leaked. */
void chl_leaks_print(const chl_leaks *lk, FILE *f);

/* The end of `chanlab run --leaks`: find (the world stays stopped),
 * print on stderr after flushing stdout, and return the exit status:
 * 0, or 2 when fatal and something leaked. */
int chl_leaks_at_exit(lua_State *L, bool fatal);

#endif
