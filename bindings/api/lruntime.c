/*
 * lruntime.c - the `runtime` table: what the program can ask its scheduler.
 *
 *   runtime.goroutines()  live goroutines, the main one included
 *   runtime.id()          this goroutine's id (the main script is 1)
 *   runtime.procs()       worker threads (Go's GOMAXPROCS)
 *   runtime.gosched()     let other goroutines run, then go on
 *   runtime.memory()      bytes held by this goroutine's Lua state
 *   runtime.stats()       all of the above in one table
 *   runtime.leaks()       the goroutines that can never run again:
 *                         { {id=8, reason="chan send", line="x.lua:3",
 *                         created="x.lua:2"}, ... }, by id; one in a
 *                         partial deadlock also has deadlock="G4 waits for
 *                         G5 (...), ..." and waits_for=5.  nil and why
 *                         when it cannot tell (runtime/leaks.h)
 *   runtime.stack(all)    this goroutine's dump ("goroutine 1 [running]:"
 *                         and its traceback) as a string; with all, every
 *                         goroutine's, as Ctrl-\ prints them
 *   runtime.seed()        the seed of a deterministic run (--seed), or nil
 *
 * Each goroutine has its own Lua state and garbage collector, so memory()
 * is this goroutine's alone, never the process's.
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/lruntime.h"
#include "runtime/dump.h"
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

/* Build the table of runtime.leaks from lk (may raise: memory). */
static void push_leaks(lua_State *L, const chl_leaks *lk)
{
	lua_createtable(L, (int)lk->n, 0);
	for (size_t i = 0; i < lk->n; i++) {
		const chl_leak *l = &lk->v[i];

		lua_createtable(L, 0, 6);
		lua_pushinteger(L, (lua_Integer)l->id);
		lua_setfield(L, -2, "id");
		lua_pushstring(L, l->reason);
		lua_setfield(L, -2, "reason");
		lua_pushstring(L, l->line);
		lua_setfield(L, -2, "line");
		if (l->created) {
			lua_pushstring(L, l->created);
			lua_setfield(L, -2, "created");
		}
		if (l->cycle >= 0) {
			lua_pushstring(L, lk->cycles[l->cycle]);
			lua_setfield(L, -2, "deadlock");
			lua_pushinteger(L, (lua_Integer)l->waits_for);
			lua_setfield(L, -2, "waits_for");
		}
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

/* Push the text at (ptr, len) of the pair given as light userdata; run
 * protected, so that its C owner can free it even when Lua has no room
 * for the copy. */
typedef struct text_ref {
	const char *s;
	size_t len;
} text_ref;

static int push_text_protected(lua_State *L)
{
	const text_ref *t = lua_touserdata(L, 1);

	lua_pushlstring(L, t->s, t->len);
	return 1;
}

/* Push the text (protected) and free it; raises the push's error after. */
static int push_and_free(lua_State *L, char *s, size_t len)
{
	text_ref t = { s ? s : "", s ? len : 0 };
	int rc;

	lua_pushcfunction(L, push_text_protected);
	lua_pushlightuserdata(L, &t);
	rc = lua_pcall(L, 1, 1, 0);
	free(s);
	return rc == LUA_OK ? 1 : lua_error(L);
}

/* Runs protected, so that lk is freed whatever the table costs. */
static int push_leaks_protected(lua_State *L)
{
	push_leaks(L, lua_touserdata(L, 1));
	return 1;
}

static int l_leaks(lua_State *L)
{
	chl_leaks lk;
	int rc;

	if (chl_leaks_find(L, &lk, 0) != CHL_OK)
		return chl_lua_nomem(L);
	if (lk.skipped) {
		lua_pushnil(L);
		lua_pushstring(L, lk.skipped);
		chl_leaks_free(&lk);
		return 2;
	}
	lua_pushcfunction(L, push_leaks_protected);
	lua_pushlightuserdata(L, &lk);
	rc = lua_pcall(L, 1, 1, 0);
	chl_leaks_free(&lk);
	if (rc != LUA_OK)
		return lua_error(L);
	return 1;
}

/* How long runtime.stack(true) waits for running goroutines to yield. */
#define STACK_STOP_NS (5 * (int64_t)1000 * 1000 * 1000)

static int l_stack(lua_State *L)
{
	goroutine *g = chl_lua_goroutine(L);
	chl_sched *s = chl_rt_sched(chl_lua_rt(L));
	bool all = lua_toboolean(L, 1) && g && chl_sched_current() == &g->task;
	char *text = NULL, *tb;
	size_t size = 0;
	FILE *f;

	if (all && chl_sched_stop_world(s, STACK_STOP_NS) < 0)
		return luaL_error(L, "runtime.stack: another stop of the world did not end");
	if (!(f = open_memstream(&text, &size))) {
		if (all)
			chl_sched_start_world(s);
		return chl_lua_nomem(L);
	}
	if (all) {
		chl_dump_all(f, s, g, L);
		chl_sched_start_world(s);
	} else {
		tb = chl_dump_traceback(L);
		chl_dump_goroutine(f, chl_lua_goid(L), "running", tb, g ? g->created : NULL);
		free(tb);
	}
	fclose(f);
	return push_and_free(L, text, size);
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
	{"leaks", l_leaks},
	{"stack", l_stack},
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
