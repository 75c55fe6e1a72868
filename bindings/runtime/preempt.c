/*
 * preempt.c - the count hooks that make a goroutine yield (preempt.h).
 */
#include "runtime/goroutine.h"
#include "runtime/limits.h"
#include "runtime/preempt.h"

static void preempt_hook(lua_State *L, lua_Debug *ar)
{
	goroutine *g = chl_lua_goroutine(L);

	(void)ar;
	lua_sethook(L, NULL, 0, 0);
	if (g && L == g->L && lua_isyieldable(L)) {
		atomic_store_explicit(&g->task.preempt, 0, memory_order_relaxed);
		g->parking = false;
		lua_yield(L, 0);
		return;
	}
	/* Inside a C call that cannot yield: try again a little later. */
	lua_sethook(L, preempt_hook, LUA_MASKCOUNT, 1000);
}

void chl_preempt_poll(lua_State *L)
{
	goroutine *g = chl_lua_goroutine(L);

	if (g && L == g->L && lua_isyieldable(L) && chl_sched_preempt_requested()) {
		g->parking = false;
		lua_yield(L, 0);
	}
}

#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer defers a signal until the thread next calls into libc,
 * which a pure Lua loop never does: there the SIGURG handler would come
 * too late.  So TSan builds poll instead, with a permanent count hook
 * (slower, which only a sanitizer build can afford). */
static void poll_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	chl_preempt_poll(L);
}
#endif

void chl_preempt_watch(lua_State *L)
{
	if (chl_limits_watch(L))
		return;   /* the limits' hook polls */
#if defined(__SANITIZE_THREAD__)
	lua_sethook(L, poll_hook, LUA_MASKCOUNT, 10000);
#else
	(void)L;
#endif
}

/* Signal context, on the worker running t: lua_sethook is what lua.c's own
 * SIGINT handler calls; it only stores the hook and sets trap flags.  The
 * hook costs nothing until the scheduler asks. */
void chl_preempt_goroutine(chl_task *t)
{
	goroutine *g = (goroutine *)t;

#if defined(__SANITIZE_THREAD__)
	return;   /* poll_hook does it */
#endif
	if (chl_limits_on)
		return;   /* the limits' hook polls; it must not be replaced */
	if (g->in_lua && g->L)
		lua_sethook(g->L, preempt_hook, LUA_MASKCOUNT, 1);
}
