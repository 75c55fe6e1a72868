/*
 * wait.h - how a Lua C function blocks (the one pattern every binding
 * uses), and the channel element a Lua value travels as.
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
 * and then calls k itself; the scheduler is told, so such a goroutine
 * counts as parked for deadlock detection.  Either way k runs exactly
 * once, after the wake.  Between chl_lua_wait_prepare and k, do not call
 * anything that may block or run Lua code (the record is per goroutine /
 * per thread).
 */
#ifndef CHL_WAIT_H
#define CHL_WAIT_H

#include <lua.h>

#include "chanlab.h"
#include "value/transfer.h"

/* A Lua value as a channel element: nil, booleans and numbers travel
 * inline (no allocation), everything else as an encoded message.  The
 * flow id rides in what was padding, so the element stays 16 bytes. */
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
	uint32_t flow;             /* the send's flow id (hook.h) when the hook
	                              is on; unset otherwise */
} chl_lua_val;

/* One blocking wait in progress: the parker it uses and scratch space. */
typedef struct chl_lua_wait {
	chl_parker *parker;        /* the goroutine's task parker or the thread's */
	chl_waiter w;              /* for a wait on one object */
	chl_lua_val slot;          /* a channel value in flight */
	chl_ctx_hook hook;         /* for waits that a context can end */
	chl_ctx *hook_ctx;         /* the context `hook` watches, or NULL */
	/* What the wait is on, for the leak detector: NULL means w.obj
	 * alone (none for a sleep, which has only a deadline); a select
	 * sets the channels it queued on (nobjs of them, maybe 0). */
	void *const *objs;
	int nobjs;
} chl_lua_wait;

/* Start a wait; reason is what a dump says the goroutine waits for. */
chl_lua_wait *chl_lua_wait_prepare(lua_State *L, const char *reason);
/* The record of the wait in progress (in the continuation). */
chl_lua_wait *chl_lua_wait_current(lua_State *L);
/* Block until woken, then continue in k (see above). */
int chl_lua_park(lua_State *L, chl_lua_wait *wt, lua_KContext ctx, lua_KFunction k);

/* runtime.gosched: yield the goroutine if it can (0 results), else
 * return at once. */
int chl_lua_yield(lua_State *L);

#endif
