/*
 * goroutine.h - a goroutine: a scheduler task that runs a Lua state of
 * its own.  Internal to bindings/.
 *
 * Ownership: the goroutine owns its lua_State (closed when it ends) and
 * its start message; the scheduler owns the task record while it is live
 * and calls release once it is done.  Everything in here is touched only
 * by the worker running the goroutine, except where a field says so.
 */
#ifndef CHL_GOROUTINE_H
#define CHL_GOROUTINE_H

#include <signal.h>
#include <stdatomic.h>

#include "arena.h"
#include "runtime/lrt.h"

struct goroutine {
	chl_task task;             /* first: a goroutine is a task */
	lua_State *L;              /* its own state; NULL until it first runs */
	chl_rt *rt;
	chl_msg *start;            /* function + arguments, until the first run */
	bool started;              /* its first step has run */
	chl_go_hooks hooks;        /* what the spawner added (wg:go, errgroup) */
	size_t mem;                /* bytes its state holds (counting allocator) */
	chl_arena *arena;          /* its state's small blocks (goroutine.c); may be NULL */
	size_t mem_limit;          /* 0: none */
	chl_lua_wait wait;         /* the wait in progress, when it parks */
	bool wait_yields;          /* `wait` belongs to a park by yield */
	bool parking;              /* the pending yield is a park, not a preempt */
	volatile sig_atomic_t in_lua; /* inside lua_resume: the SIGURG handler
	                                 may set a hook on L */
	const char *block_reason;  /* blocked on a thread parker (fallback) */
	void *sel_scratch;         /* its state's select scratch (lchan.c), once known */
	const char *created;       /* "file:line" of the go() call that made it
	                              (interned: chl_callsite) */
};

/* The interpreter's main goroutine (1): a state made now, on the calling
 * thread, so the script can be loaded (and load errors reported) before
 * anything runs.  Push the function and arguments on it, then spawn. */
lua_State *chl_goroutine_new_main(chl_rt *rt, goroutine **out);
void chl_goroutine_spawn(chl_rt *rt, goroutine *g);

/* Give a goroutine's state what preemption needs (TSan builds: a polling
 * hook; others: nothing until the scheduler asks). */
void chl_goroutine_watch(lua_State *L);

/* Signal context: make the goroutine running as t yield soon. */
void chl_goroutine_preempt(chl_task *t);

/* The goroutine's function raised (status, error on top of L, stack not
 * yet unwound): its hooks may deal with it; otherwise a panic ends the
 * program. */
void chl_goroutine_fail(lua_State *L, int status, uint64_t id, const char *created,
                        const chl_go_hooks *hooks);

/* The process's one copy of a go() call site's text ("file:line"). */
const char *chl_callsite(const char *site);

/* The scheduler found every goroutine asleep: print the dump, exit 2. */
void chl_rt_deadlock(chl_sched *s, void *ud);

/* runtime.gosched: yield the goroutine if it can (0 results). */
int chl_lua_yield(lua_State *L);

/* The allocator every goroutine state uses (ud = the goroutine). */
void *chl_goroutine_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* Set up a fresh state's globals: base functions, libraries and the
 * chanlab API appear on first use (lazyenv.c). */
void chl_lazyenv_install(lua_State *L);

/* Give a used state (from the pool of finished goroutines' states) fresh
 * globals: nothing of the previous goroutine's environment is visible. */
void chl_lazyenv_reset(lua_State *L);

/* The runtime (lrt.c) */
typedef struct chl_rt_config {
	int procs;                 /* <= 0: number of CPUs */
	bool detect_deadlock;      /* the interpreter: yes; a stock lua5.4: no */
	bool preempt;              /* CHANLAB_PREEMPT=0 turns it off */
	const char *script_dir;    /* prepended to package.path in goroutines */
} chl_rt_config;

/* Settings from the environment (CHANLAB_PROCS, CHANLAB_PREEMPT). */
void chl_rt_config_from_env(chl_rt_config *cfg);

/* The parts of the API by global name (go, chan, sync ...), NULL-ended. */
const luaL_Reg *chl_lazyenv_api(void);

/* Push one table holding every part of the API (module.c). */
void chl_lua_push_api(lua_State *L);

/* Start the process's runtime once (later calls return the same one). */
chl_rt *chl_rt_start(const chl_rt_config *cfg);
chl_rt *chl_rt_current(void);              /* NULL before start */
const char *chl_rt_script_dir(chl_rt *rt);

/* Print a Go-style panic for the error on top of L (in goroutine id) and
 * end the process with status 2. */
_Noreturn void chl_rt_panic(lua_State *L, uint64_t id);

/* Serialise output of fatal reports; flush stdout; _exit(status). */
_Noreturn void chl_rt_exit(int status);

#endif
