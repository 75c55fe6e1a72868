/*
 * lrt.h - what every binding file shares: the runtime, goroutines, how a
 * Lua C function blocks, errors in Go's words, and handle userdata.
 *
 * The runtime (chl_rt) is the scheduler plus what the Lua side needs; each
 * lua_State reaches it through its registry (lua_State -> chl_rt) and, for
 * goroutines, through its allocator's ud (lua_State -> goroutine).
 *
 * Blocking from a Lua C function (the one pattern every binding uses):
 *
 *     static int l_wg_wait(lua_State *L)
 *     {
 *         chl_wg *wg = chl_lua_check(L, 1, &wg_type);
 *         chl_lua_wait *wt = chl_lua_wait_prepare(L, "sync.WaitGroup.Wait");
 *         chl_waiter_init(&wt->w, wt->parker, wg);
 *         int rc = chl_wg_wait_begin(wg, &wt->w);
 *         if (rc == CHL_WAIT)
 *             return chl_lua_park(L, wt, 0, wait_done);   // continues in wait_done
 *         return wait_done(L, LUA_OK, 0);
 *     }
 *     static int wait_done(lua_State *L, int status, lua_KContext ctx)
 *     {
 *         chl_lua_wait *wt = chl_lua_wait_current(L);   // same record
 *         ... read wt->w / wt->parker->status ...
 *     }
 *
 * chl_lua_park yields the goroutine to its worker (lua_yieldk) when L is a
 * goroutine's own thread and can yield; otherwise (the main thread of a
 * stock lua5.4, a coroutine inside a goroutine, a non-yieldable C call such
 * as a table.sort comparator) it blocks the OS thread on a thread parker
 * and then calls k itself.  Either way k runs exactly once, after the wake.
 * Between chl_lua_wait_prepare and k, do not call anything that may block
 * or run Lua code (the record is per goroutine / per thread).
 */
#ifndef CHL_LRT_H
#define CHL_LRT_H

#include <lua.h>
#include <lauxlib.h>

#include "chanlab.h"
#include "value/transfer.h"

typedef struct chl_rt chl_rt;
typedef struct goroutine goroutine;

/* A Lua value as a channel element: nil, booleans and numbers travel
 * inline (no allocation), everything else as an encoded message. */
enum { CHL_VAL_NIL, CHL_VAL_FALSE, CHL_VAL_TRUE, CHL_VAL_INT, CHL_VAL_NUM, CHL_VAL_MSG };
typedef struct chl_lua_val {
	union {
		lua_Integer i;
		lua_Number n;
		chl_msg *msg;          /* owned by whoever holds the element */
		int64_t ns;            /* a timer channel's element (core-made) */
		int signo;             /* a signal channel's element (core-made) */
	} u;
	int kind;                  /* CHL_VAL_*; for core-made channels unused */
} chl_lua_val;

/* One blocking wait in progress: the parker it uses and scratch space. */
typedef struct chl_lua_wait {
	chl_parker *parker;        /* the goroutine's task parker or the thread's */
	chl_waiter w;              /* for a wait on one object */
	chl_lua_val slot;          /* a channel value in flight */
	chl_ctx_hook hook;         /* for waits that a context can end */
	chl_ctx *hook_ctx;         /* the context `hook` watches, or NULL */
} chl_lua_wait;

/* ---- the runtime ---- */

chl_rt *chl_lua_rt(lua_State *L);           /* raises if chanlab is not set up */
chl_sched *chl_rt_sched(chl_rt *rt);

/* ---- goroutines ---- */

/* The goroutine whose state L belongs to (L may be a coroutine inside it),
 * or NULL for a plain thread's state (stock lua5.4). */
goroutine *chl_lua_goroutine(lua_State *L);
uint64_t chl_lua_goid(lua_State *L);        /* its id; 1 for a plain main thread */

/* What a spawner may add to a goroutine's life: `finish` runs in the
 * goroutine's state when its function returns (status LUA_OK, results on
 * the stack above `base`) or raises (status != LUA_OK, the error on top);
 * it returns 1 if it dealt with an error, 0 to let it panic the program.
 * `release` frees arg (on the goroutine's worker) when the goroutine ends. */
typedef struct chl_go_hooks {
	int (*finish)(lua_State *L, int status, int base, void *arg);
	void (*release)(void *arg);
	void *arg;
} chl_go_hooks;

/* Start a goroutine running the function at fn_idx with the nargs values
 * after it, all copied into a new state.  Raises (leaking nothing, not
 * starting anything, and calling hooks->release) if a value cannot cross. */
void chl_lua_go(lua_State *L, int fn_idx, int nargs, const chl_go_hooks *hooks);

/* ---- blocking ---- */

chl_lua_wait *chl_lua_wait_prepare(lua_State *L, const char *reason);
chl_lua_wait *chl_lua_wait_current(lua_State *L);
int chl_lua_park(lua_State *L, chl_lua_wait *wt, lua_KContext ctx, lua_KFunction k);

/* ---- errors ---- */

/* Raise Go's words for status as a plain string (no position prefix), so
 * pcall sees exactly "send on closed channel". */
int chl_lua_raise(lua_State *L, int status);

/* ---- handles: userdata holding one reference to a shared C object ---- */

/* A handle type: its transfer description plus its methods.  `methods`
 * go into __index; `metamethods` (__tostring, __close, __call...) into the
 * metatable itself; __gc (release) and __eq (same object) are added. */
typedef struct chl_lua_type {
	chl_handle_type h;         /* tname, get, retain, release, push */
	const luaL_Reg *methods;
	const luaL_Reg *metamethods;
} chl_lua_type;

/* Push a new userdata for obj, taking over one reference. */
void chl_lua_push(lua_State *L, const chl_lua_type *t, void *obj);
/* The object behind the handle at idx; raises "bad argument" otherwise. */
void *chl_lua_check(lua_State *L, int idx, const chl_lua_type *t);
void *chl_lua_test(lua_State *L, int idx, const chl_lua_type *t); /* or NULL */
/* Register t for transfer (call once per type, from the type's file). */
void chl_lua_type_register(chl_lua_type *t);

/* ---- durations ---- */

/* Seconds (Lua number) -> nanoseconds, saturating; negative stays negative. */
int64_t chl_lua_ns(lua_State *L, int idx);
double chl_lua_secs(int64_t ns);

/* ---- the module's parts: each pushes one value (a table or function) ---- */
int chl_open_chan(lua_State *L);
int chl_open_go(lua_State *L);
int chl_open_sync(lua_State *L);
int chl_open_atomic(lua_State *L);
int chl_open_context(lua_State *L);
int chl_open_errgroup(lua_State *L);
int chl_open_semaphore(lua_State *L);
int chl_open_time(lua_State *L);
int chl_open_signal(lua_State *L);
int chl_open_runtime(lua_State *L);

#endif
