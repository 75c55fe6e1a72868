/*
 * goroutine.h - a goroutine: a scheduler task that runs a Lua state of
 * its own.
 *
 * Ownership: the goroutine owns its lua_State (pooled or closed when it
 * ends) and its start message; the scheduler owns the task record while it
 * is live and calls release once it is done.  Everything in here is
 * touched only by the worker running the goroutine, except where a field
 * says so.
 */
#ifndef CHL_GOROUTINE_H
#define CHL_GOROUTINE_H

#include <signal.h>
#include <stddef.h>

#include "runtime/alloc.h"
#include "runtime/limits.h"
#include "runtime/rt.h"
#include "runtime/wait.h"

typedef struct goroutine goroutine;
typedef struct chl_reach chl_reach;          /* runtime/leaks.h */

/* What a spawner may add to a goroutine's life: `finish` runs in the
 * goroutine's state when its function returns (status LUA_OK, results on
 * the stack above `base`) or raises (status != LUA_OK, the error on top);
 * it returns 1 if it dealt with an error, 0 to let it panic the program.
 * `release` frees arg (on the goroutine's worker) when the goroutine ends.
 * `reach` (may be NULL) tells the leak detector what the hooks will act on
 * when the goroutine ends (runtime/leaks.h): a waitgroup's done... */
typedef struct chl_go_hooks {
	int (*finish)(lua_State *L, int status, int base, void *arg);
	void (*release)(void *arg);
	void (*reach)(void *arg, chl_reach *r);
	void *arg;
} chl_go_hooks;

struct goroutine {
	chl_task task;             /* first: a goroutine is a task */
	lua_State *L;              /* its own state; NULL until it first runs */
	chl_rt *rt;
	chl_msg *start;            /* function + arguments, until the first run */
	bool started;              /* its first step has run */
	chl_go_hooks hooks;        /* what the spawner added (wg:go, errgroup) */
	chl_state_mem mem;         /* its state's allocator (alloc.h) */
	chl_lua_wait wait;         /* the wait in progress, when it parks */
	bool wait_yields;          /* `wait` belongs to a park by yield */
	chl_lua_wait *thread_wait; /* else the wait's record: its thread's
	                              (for the leak detector) */
	bool parking;              /* the pending yield is a park, not a preempt */
	volatile sig_atomic_t in_lua; /* inside lua_resume: the SIGURG handler
	                                 may set a hook on L */
	const char *block_reason;  /* blocked on a thread parker (fallback) */
	void *sel_scratch;         /* its state's select scratch (api/lselect.c) */
	const char *created;       /* "file:line" of the go() call that made it
	                              (interned: chl_callsite) */
	chl_limit_seen *seen;      /* for the limits' watchdog (limits.h) */
};

/* The goroutine whose state L belongs to (L may be a coroutine inside it),
 * or NULL for a plain thread's state (stock lua5.4).  Inline: every
 * blocking call asks. */
static inline goroutine *chl_lua_goroutine(lua_State *L)
{
	void *ud;

	if (lua_getallocf(L, &ud) != chl_state_alloc)
		return NULL;
	return (goroutine *)((char *)ud - offsetof(goroutine, mem));
}

/* Its id; 1 for a plain main thread. */
uint64_t chl_lua_goid(lua_State *L);

/* Start a goroutine running the function at fn_idx with the nargs values
 * after it, all copied into a new state.  Raises (leaking nothing, not
 * starting anything, and calling hooks->release) if a value cannot cross. */
void chl_lua_go(lua_State *L, int fn_idx, int nargs, const chl_go_hooks *hooks);

/* The interpreter's main goroutine (1): a state made now, on the calling
 * thread, so the script can be loaded (and load errors reported) before
 * anything runs.  Push the function and arguments on it, then spawn. */
lua_State *chl_goroutine_new_main(chl_rt *rt, goroutine **out);
void chl_goroutine_spawn(chl_rt *rt, goroutine *g);

#endif
