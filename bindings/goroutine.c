/*
 * goroutine.c - goroutines: spawn, run (step), park, preempt, finish.
 *
 * A goroutine's Lua state is created by its first step, on a worker, so a
 * spawner pays only for copying the function and arguments.  The state's
 * main thread is resumed directly (no coroutine object): lua_resume with
 * from = NULL makes it yieldable.  A step ends when the Lua code
 *  - parks: a binding called chl_lua_park, which set `parking` and yielded;
 *    the worker then commits the parker (drops the primitive's lock);
 *  - is preempted: the SIGURG handler set a count hook that yields;
 *  - returns or raises: finish hooks run, then the state is closed.
 *
 * Waits that cannot yield (the main thread of a stock lua5.4, a coroutine
 * inside a goroutine, a C call such as a table.sort comparator) block the
 * OS thread on its thread parker instead; the scheduler is told, so such a
 * goroutine counts as parked for deadlock detection.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "goroutine.h"

/* The wait record of a plain thread (or of a goroutine that cannot yield):
 * the thread blocks inside the wait, so one per thread is enough. */
static _Thread_local chl_lua_wait thread_wait;

void *chl_goroutine_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	goroutine *g = ud;
	size_t old = ptr ? osize : 0;   /* for a new block osize is a type tag */
	void *p;

	if (nsize == 0) {
		free(ptr);
		g->mem -= old;
		return NULL;
	}
	if (g->mem_limit && g->mem - old + nsize > g->mem_limit)
		return NULL;
	p = realloc(ptr, nsize);
	if (p)
		g->mem = g->mem - old + nsize;
	return p;
}

goroutine *chl_lua_goroutine(lua_State *L)
{
	void *ud;

	if (lua_getallocf(L, &ud) != chl_goroutine_alloc)
		return NULL;
	return ud;
}

uint64_t chl_lua_goid(lua_State *L)
{
	goroutine *g = chl_lua_goroutine(L);

	return g ? g->task.id : 1;
}

/* ---- blocking ---- */

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
		if (g)
			g->wait_yields = false;
	}
	chl_parker_prepare(wt->parker, reason);
	wt->slot.kind = CHL_VAL_NIL;
	wt->hook_ctx = NULL;
	return wt;
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

/* ---- preemption ---- */

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

#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer defers a signal until the thread next calls into libc,
 * which a pure Lua loop never does: there the SIGURG handler would come
 * too late.  So TSan builds poll instead, with a permanent count hook
 * (slower, which only a sanitizer build can afford). */
static void poll_hook(lua_State *L, lua_Debug *ar)
{
	goroutine *g = chl_lua_goroutine(L);

	(void)ar;
	if (g && L == g->L && lua_isyieldable(L) && chl_sched_preempt_requested()) {
		g->parking = false;
		lua_yield(L, 0);
	}
}
#endif

void chl_goroutine_watch(lua_State *L)
{
#if defined(__SANITIZE_THREAD__)
	lua_sethook(L, poll_hook, LUA_MASKCOUNT, 10000);
#else
	(void)L;
#endif
}

/* Signal context, on the worker running t: lua_sethook is what lua.c's own
 * SIGINT handler calls; it only stores the hook and sets trap flags.  The
 * hook costs nothing until the scheduler asks. */
void chl_goroutine_preempt(chl_task *t)
{
	goroutine *g = (goroutine *)t;

#if defined(__SANITIZE_THREAD__)
	return;   /* poll_hook does it */
#endif
	if (g->in_lua && g->L)
		lua_sethook(g->L, preempt_hook, LUA_MASKCOUNT, 1);
}

/* ---- life ---- */

static int decode_start(lua_State *L)
{
	const chl_msg *m = lua_touserdata(L, 1);

	lua_settop(L, 0);
	return chl_msg_decode(L, m);
}

/* Make the goroutine's state and put function + arguments on its stack.
 * Returns the number of arguments; panics the program when out of memory. */
/* ---- the pool of states ----
 *
 * Making a state costs more than the rest of a short goroutine's life, so
 * a finished goroutine's state, if it ended cleanly, goes to a small pool
 * of its worker and the next goroutine started there reuses it: stack
 * emptied, its garbage collected (finalizers run now, as lua_close would
 * run them), fresh globals (chl_lazyenv_reset).  What survives is what
 * every goroutine would build the same way: interned strings and the
 * handle types' metatables.  Thread-local, so no lock; a state only moves
 * between threads inside a goroutine, with the scheduler's ordering. */
#define POOL_MAX 64

typedef struct pooled {
	lua_State *L;
	size_t mem;                /* what its allocator had counted */
} pooled;

static _Thread_local pooled pool[POOL_MAX];
static _Thread_local int npool;

static void pool_put(goroutine *g)
{
	lua_State *L = g->L;

	if (npool == POOL_MAX || lua_status(L) != LUA_OK) {
		lua_close(L);
		return;
	}
	lua_settop(L, 0);
	lua_sethook(L, NULL, 0, 0);
	chl_goroutine_watch(L);
	chl_lazyenv_reset(L);
	lua_gc(L, LUA_GCCOLLECT);
	pool[npool].L = L;
	pool[npool].mem = g->mem;
	npool++;
}

static lua_State *pool_get(goroutine *g)
{
	lua_State *L;

	if (npool == 0)
		return NULL;
	npool--;
	L = pool[npool].L;
	g->mem = pool[npool].mem;
	lua_setallocf(L, chl_goroutine_alloc, g);
	return L;
}

static int open_state(goroutine *g)
{
	lua_State *L = pool_get(g);
	int n;

	if (!L) {
		L = lua_newstate(chl_goroutine_alloc, g);
		if (!L) {
			fputs("fatal error: out of memory creating a goroutine\n", stderr);
			chl_rt_exit(2);
		}
		chl_lazyenv_install(L);
		chl_goroutine_watch(L);
	}
	g->L = L;
	lua_pushcfunction(L, decode_start);
	lua_pushlightuserdata(L, g->start);
	if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK)
		chl_rt_panic(L, g->task.id);
	chl_msg_free(g->start);
	g->start = NULL;
	n = lua_gettop(L);
	return n - 1;
}

static chl_step gr_step(chl_task *t)
{
	goroutine *g = (goroutine *)t;
	int nargs = 0, nres, rc;

	if (!g->started) {
		g->started = true;
		/* the main goroutine comes with its state, function and args */
		nargs = g->L ? lua_gettop(g->L) - 1 : open_state(g);
	}
	g->parking = false;
	g->in_lua = 1;
	rc = lua_resume(g->L, NULL, nargs, &nres);
	g->in_lua = 0;
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
		pool_put(g);
	if (g->start)
		chl_msg_free(g->start);
	free(g);
}

static goroutine *gr_new(chl_rt *rt)
{
	goroutine *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	g->rt = rt;
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
	L = lua_newstate(chl_goroutine_alloc, g);
	if (!L) {
		free(g);
		return NULL;
	}
	g->L = L;
	chl_goroutine_watch(L);
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
	chl_msg **out = lua_touserdata(L, lua_upvalueindex(1));

	*out = chl_msg_encode_as(L, 1, lua_gettop(L), "pass %s to go", "argument", 1);
	return 0;
}

void chl_lua_go(lua_State *L, int fn_idx, int nargs, const chl_go_hooks *hooks)
{
	chl_rt *rt = chl_lua_rt(L);
	chl_msg *m = NULL;
	goroutine *g;
	lua_Debug ar;

	fn_idx = lua_absindex(L, fn_idx);
	if (lua_type(L, fn_idx) != LUA_TFUNCTION) {
		if (hooks && hooks->release)
			hooks->release(hooks->arg);
		luaL_typeerror(L, fn_idx, "function");
	}
	if (hooks) {
		int i;

		lua_pushlightuserdata(L, &m);
		lua_pushcclosure(L, encode_start, 1);
		for (i = 0; i <= nargs; i++)
			lua_pushvalue(L, fn_idx + i);
		if (lua_pcall(L, nargs + 1, 0, 0) != LUA_OK) {
			if (hooks->release)
				hooks->release(hooks->arg);
			lua_error(L);
		}
	} else {
		m = chl_msg_encode_as(L, fn_idx, nargs + 1, "pass %s to go", "argument", 1);
	}
	g = gr_new(rt);
	if (!g) {
		chl_msg_free(m);
		if (hooks && hooks->release)
			hooks->release(hooks->arg);
		luaL_error(L, "out of memory");
	}
	g->start = m;
	if (hooks)
		g->hooks = *hooks;
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
		snprintf(g->created, sizeof g->created, "%s:%d", ar.short_src, ar.currentline);
	else
		snprintf(g->created, sizeof g->created, "?");
	chl_sched_spawn(chl_rt_sched(rt), &g->task);
}
