/*
 * pool.c - the per-worker pool of Lua states (pool.h).
 */
#include "runtime/lazyenv.h"
#include "runtime/pool.h"
#include "runtime/preempt.h"

#define POOL_MAX 64

typedef struct pooled {
	lua_State *L;
	chl_state_mem mem;         /* what its allocator had counted, its arena */
} pooled;

static _Thread_local pooled pool[POOL_MAX];
static _Thread_local int npool;

static int reset_env(lua_State *L)
{
	chl_lazyenv_reset(L);
	return 0;
}

static void close_state(lua_State *L, chl_state_mem *m)
{
	lua_close(L);   /* frees every block, through m */
	chl_arena_free(m->arena);
	m->arena = NULL;
}

void chl_state_pool_put(lua_State *L, chl_state_mem *m)
{
	if (npool == POOL_MAX || lua_status(L) != LUA_OK) {
		close_state(L, m);
		return;
	}
	lua_settop(L, 0);
	lua_sethook(L, NULL, 0, 0);
	chl_preempt_watch(L);
	lua_pushcfunction(L, reset_env);   /* new globals may not fit */
	if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
		close_state(L, m);
		return;
	}
	lua_gc(L, LUA_GCCOLLECT);
	pool[npool].L = L;
	pool[npool].mem = *m;
	npool++;
}

lua_State *chl_state_pool_get(chl_state_mem *m)
{
	lua_State *L;

	if (npool == 0)
		return NULL;
	npool--;
	L = pool[npool].L;
	m->used = pool[npool].mem.used;
	m->arena = pool[npool].mem.arena;
	lua_setallocf(L, chl_state_alloc, m);
	return L;
}
