/*
 * wait.c - blocking from a Lua C function (wait.h).
 */
#include "runtime/goroutine.h"
#include "runtime/visible.h"
#include "runtime/wait.h"

/* The wait record of a plain thread (or of a goroutine that cannot yield):
 * the thread blocks inside the wait, so one per thread is enough. */
static _Thread_local chl_lua_wait thread_wait;

/* When the hook is on, the script line of the wait being prepared on this
 * thread, for the WAIT event of its park: found here because the park
 * itself holds the primitive's lock, where only a copy may happen. */
static _Thread_local char wait_where[LUA_IDSIZE + 16];

/* With the hook on: what the WAIT event of this wait will say.  Out of
 * line: the fast path pays only the branch. */
static __attribute__((noinline, cold)) void prepare_report(lua_State *L, chl_lua_wait *wt)
{
	wt->slot.flow = 0;
	if (!chl_lua_where(L, wait_where, sizeof wait_where))
		wait_where[0] = '\0';
}

chl_lua_wait *chl_lua_wait_prepare(lua_State *L, const char *reason)
{
	goroutine *g = chl_lua_goroutine(L);
	chl_lua_wait *wt;

	if (g && L == g->L && lua_isyieldable(L)) {
		wt = &g->wait;
		wt->parker = &g->task.parker;
		g->wait_yields = true;
	} else {
		wt = &thread_wait;
		wt->parker = chl_thread_parker_self();
		if (g) {
			g->wait_yields = false;
			g->thread_wait = wt;
		}
	}
	chl_parker_prepare(wt->parker, reason);
	wt->slot.kind = CHL_VAL_NIL;
	wt->hook_ctx = NULL;
	wt->objs = NULL;
	if (CHL_HOOK_ON())
		prepare_report(L, wt);
	return wt;
}

/* The WAIT event (hook.h) of a park about to happen. */
static __attribute__((noinline, cold)) void report_wait(chl_lua_wait *wt)
{
	chl_event ev = { 0 };

	ev.op = CHL_OP_WAIT;
	ev.what = wt->parker->reason;
	ev.where = wait_where[0] ? wait_where : NULL;
	ev.flow = wt->slot.flow;
	chl_hook_emit(&ev);
}

chl_lua_wait *chl_lua_wait_current(lua_State *L)
{
	goroutine *g = chl_lua_goroutine(L);

	if (g && g->wait_yields && L == g->L)
		return &g->wait;
	return &thread_wait;
}

int chl_lua_park(lua_State *L, chl_lua_wait *wt, lua_KContext ctx, lua_KFunction k)
{
	goroutine *g = chl_lua_goroutine(L);

	if (CHL_HOOK_ON())
		report_wait(wt);
	if (g && wt == &g->wait) {
		g->parking = true;
		return lua_yieldk(L, 0, ctx, k);
	}
	if (g) {
		g->block_reason = wt->parker->reason;
		chl_sched_block_enter(&g->task);
	}
	chl_thread_park(wt->parker);
	if (g) {
		chl_sched_block_leave(&g->task);
		g->block_reason = NULL;
	}
	return k(L, LUA_OK, ctx);
}

int chl_lua_yield(lua_State *L)
{
	goroutine *g = chl_lua_goroutine(L);

	if (g && L == g->L && lua_isyieldable(L)) {
		g->parking = false;
		return lua_yield(L, 0);
	}
	return 0;
}
