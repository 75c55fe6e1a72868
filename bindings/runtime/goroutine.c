/*
 * goroutine.c - goroutines: spawn, run (step), finish.
 *
 * A goroutine's Lua state is made (or taken from the worker's pool,
 * pool.h) by its first step, on a worker, so a spawner pays only for
 * copying the function and arguments.  The state's main thread is resumed
 * directly (no coroutine object): lua_resume with from = NULL makes it
 * yieldable.  A step ends when the Lua code
 *  - parks: a binding called chl_lua_park (wait.h), which set `parking`
 *    and yielded; the worker then commits the parker (drops the
 *    primitive's lock);
 *  - is preempted: a count hook yields (preempt.h);
 *  - returns or raises: finish hooks run, then the state goes back to the
 *    pool or is closed.
 */
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "runtime/callsite.h"
#include "runtime/error.h"
#include "runtime/goroutine.h"
#include "runtime/lazyenv.h"
#include "runtime/limits.h"
#include "runtime/pool.h"
#include "runtime/preempt.h"
#include "runtime/report.h"

uint64_t chl_lua_goid(lua_State *L)
{
	goroutine *g = chl_lua_goroutine(L);

	return g ? g->task.id : 1;
}

/* Protected: a new state's globals (arg 2 true), then function and
 * arguments (either may run out of memory). */
static int decode_start(lua_State *L)
{
	const chl_msg *m = lua_touserdata(L, 1);
	int fresh = lua_toboolean(L, 2);

	lua_settop(L, 0);
	if (fresh)
		chl_lazyenv_install(L);
	return chl_msg_decode(L, m);
}

/* Make the goroutine's state and put function + arguments on its stack.
 * Returns the number of arguments; panics the program when out of memory. */
static int open_state(goroutine *g)
{
	lua_State *L = chl_state_pool_get(&g->mem);
	int n, fresh = !L;

	if (!L) {
		g->mem.arena = chl_state_arena_new();
		L = lua_newstate(chl_state_alloc, &g->mem);
		if (!L) {
			chl_limits_step_end(g);   /* a limit's report, if it was one */
			fputs("fatal error: out of memory creating a goroutine\n", stderr);
			chl_rt_exit(2);
		}
		chl_preempt_watch(L);
	}
	g->L = L;
	lua_pushcfunction(L, decode_start);
	lua_pushlightuserdata(L, g->start);
	lua_pushboolean(L, fresh);
	if (lua_pcall(L, 2, LUA_MULTRET, 0) != LUA_OK) {
		if (chl_limits_pending(g))
			chl_limits_report(L, g);
		chl_rt_panic(L, g->task.id);
	}
	chl_limits_uncharge_msg(g->start);
	chl_msg_free(g->start);
	g->start = NULL;
	n = lua_gettop(L);
	return n - 1;
}

static chl_step gr_step(chl_task *t)
{
	goroutine *g = (goroutine *)t;
	int nargs = 0, nres, rc;
	bool first = !g->started;

	chl_limits_step_begin(g);
	if (first) {
		g->started = true;
		/* the main goroutine comes with its state, function and args */
		nargs = g->L ? lua_gettop(g->L) - 1 : open_state(g);
	}
	g->parking = false;
	g->in_lua = 1;
	rc = lua_resume(g->L, NULL, nargs, &nres);
	g->in_lua = 0;
	chl_limits_step_end(g);   /* a limit passed: the report ends it here */
	if (first)
		chl_state_arena_learn(&g->mem);
	if (rc == LUA_YIELD) {
		lua_pop(g->L, nres);
		return g->parking ? CHL_STEP_PARK : CHL_STEP_YIELD;
	}
	if (rc != LUA_OK)
		chl_goroutine_fail(g->L, rc, g->task.id, g->created, &g->hooks);
	else if (g->hooks.finish)
		g->hooks.finish(g->L, LUA_OK, 0, g->hooks.arg);
	return CHL_STEP_DONE;
}

static void gr_release(chl_task *t)
{
	goroutine *g = (goroutine *)t;

	if (g->hooks.release)
		g->hooks.release(g->hooks.arg);
	if (g->L)
		chl_state_pool_put(g->L, &g->mem);
	if (g->start) {
		chl_limits_uncharge_msg(g->start);
		chl_msg_free(g->start);
	}
	chl_limits_release(g);
	free(g);
}

static goroutine *gr_new(chl_rt *rt)
{
	goroutine *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	g->rt = rt;
	if (!chl_limits_init(g)) {
		free(g);
		return NULL;
	}
	g->task.step = gr_step;
	g->task.release = gr_release;
	g->task.ud = g;
	return g;
}

lua_State *chl_goroutine_new_main(chl_rt *rt, goroutine **out)
{
	goroutine *g = gr_new(rt);
	lua_State *L;

	if (!g)
		return NULL;
	L = lua_newstate(chl_state_alloc, &g->mem);
	if (!L) {
		chl_limits_release(g);
		free(g);
		return NULL;
	}
	g->L = L;
	chl_preempt_watch(L);
	*out = g;
	return L;
}

void chl_goroutine_spawn(chl_rt *rt, goroutine *g)
{
	chl_sched_spawn(chl_rt_sched(rt), &g->task);
}

/* Encodes function + arguments: its own C function so that chl_lua_go can
 * run it protected and release the spawner's hooks if a value cannot cross. */
static int encode_start(lua_State *L)
{
	chl_msg **out = lua_touserdata(L, 1);

	*out = chl_msg_encode_as(L, 2, lua_gettop(L) - 1, "pass %s to go", "argument", 1);
	return 0;
}

void chl_lua_go(lua_State *L, int fn_idx, int nargs, const chl_go_hooks *hooks)
{
	chl_rt *rt = chl_lua_rt(L);
	chl_msg *m = NULL;
	goroutine *g;
	lua_Debug ar;

	fn_idx = lua_absindex(L, fn_idx);
	chl_limits_check_spawn(L, chl_rt_sched(rt));
	if (lua_type(L, fn_idx) != LUA_TFUNCTION) {
		if (hooks && hooks->release)
			hooks->release(hooks->arg);
		luaL_typeerror(L, fn_idx, "function");
	}
	if (hooks) {
		int i;

		/* nothing before the pcall may raise: light values only,
		 * and room for them checked (growing the stack allocates) */
		if (!lua_checkstack(L, nargs + 3)) {
			if (hooks->release)
				hooks->release(hooks->arg);
			chl_lua_nomem(L);
		}
		lua_pushcfunction(L, encode_start);
		lua_pushlightuserdata(L, &m);
		for (i = 0; i <= nargs; i++)
			lua_pushvalue(L, fn_idx + i);
		if (lua_pcall(L, nargs + 2, 0, 0) != LUA_OK) {
			if (hooks->release)
				hooks->release(hooks->arg);
			lua_error(L);
		}
	} else {
		m = chl_msg_encode_as(L, fn_idx, nargs + 1, "pass %s to go", "argument", 1);
	}
	chl_limits_charge_msg(L, m);
	g = gr_new(rt);
	if (!g) {
		chl_limits_uncharge_msg(m);
		chl_msg_free(m);
		if (hooks && hooks->release)
			hooks->release(hooks->arg);
		chl_lua_nomem(L);
	}
	g->start = m;
	if (hooks)
		g->hooks = *hooks;
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
		char site[LUA_IDSIZE + 16];

		snprintf(site, sizeof site, "%s:%d", ar.short_src, ar.currentline);
		g->created = chl_callsite(site);
	} else {
		g->created = "?";
	}
	chl_sched_spawn(chl_rt_sched(rt), &g->task);
}
