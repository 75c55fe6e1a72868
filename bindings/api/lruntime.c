/*
 * lruntime.c - the `runtime` table: what the program can ask its scheduler.
 *
 *   runtime.goroutines()  live goroutines, the main one included
 *   runtime.id()          this goroutine's id (the main script is 1)
 *   runtime.procs()       worker threads (Go's GOMAXPROCS)
 *   runtime.gosched()     let other goroutines run, then go on
 *   runtime.memory()      bytes held by this goroutine's Lua state
 *   runtime.stats()       all of the above in one table
 *   runtime.seed()        the seed of a deterministic run (--seed), or nil
 *
 * Each goroutine has its own Lua state and garbage collector, so memory()
 * is this goroutine's alone, never the process's.
 */

#include "api/lruntime.h"
#include "runtime/visible.h"

static const chl_lua_op OP_GOROUTINES = { CHL_OP_SYNC, "runtime.NumGoroutine", -1 };


static lua_Integer goroutines(lua_State *L)
{
	int64_t n = chl_sched_count(chl_rt_sched(chl_lua_rt(L)));

	/* The main thread of a stock lua5.4 is not a scheduler task. */
	if (!chl_lua_goroutine(L))
		n++;
	return (lua_Integer)n;
}

static lua_Integer memory(lua_State *L)
{
	return (lua_Integer)lua_gc(L, LUA_GCCOUNT, 0) * 1024 +
		lua_gc(L, LUA_GCCOUNTB, 0);
}

static int l_goroutines(lua_State *L)
{
	lua_pushinteger(L, goroutines(L));
	return chl_lua_visible(L, &OP_GOROUTINES, NULL, 1);
}

static int l_id(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)chl_lua_goid(L));
	return 1;
}

static int l_procs(lua_State *L)
{
	lua_pushinteger(L, chl_sched_procs(chl_rt_sched(chl_lua_rt(L))));
	return 1;
}

static int l_gosched(lua_State *L)
{
	return chl_lua_yield(L);
}

static int l_memory(lua_State *L)
{
	lua_pushinteger(L, memory(L));
	return 1;
}

static int l_stats(lua_State *L)
{
	lua_createtable(L, 0, 4);
	lua_pushinteger(L, goroutines(L));
	lua_setfield(L, -2, "goroutines");
	lua_pushinteger(L, (lua_Integer)chl_lua_goid(L));
	lua_setfield(L, -2, "id");
	lua_pushinteger(L, chl_sched_procs(chl_rt_sched(chl_lua_rt(L))));
	lua_setfield(L, -2, "procs");
	lua_pushinteger(L, memory(L));
	lua_setfield(L, -2, "memory");
	return 1;
}

/* runtime.seed(): the seed of a deterministic run, nil otherwise. */
static int l_seed(lua_State *L)
{
	if (!chl_det_on) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushinteger(L, (lua_Integer)chl_decide_seed());
	return 1;
}

static const luaL_Reg runtime_funcs[] = {
	{"seed", l_seed},
	{"goroutines", l_goroutines},
	{"id", l_id},
	{"procs", l_procs},
	{"gosched", l_gosched},
	{"memory", l_memory},
	{"stats", l_stats},
	{NULL, NULL}
};

static int open_runtime(lua_State *L)
{
	luaL_newlib(L, runtime_funcs);
	return 1;
}

const chl_lua_lib chl_lib_runtime = {
	"runtime", open_runtime, runtime_funcs, NULL, NULL
};
