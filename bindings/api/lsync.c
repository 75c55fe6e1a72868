/*
 * lsync.c - the `sync` table: waitgroup, mutex and once handles.
 *
 *   local wg = sync.waitgroup()   wg:add(n) wg:done() wg:wait() wg:go(fn, ...)
 *   local mu = sync.mutex()       mu:lock() mu:unlock() mu:trylock()
 *   local once = sync.once()      once:call(fn)
 *
 * Each handle is a userdata holding one reference to a core object
 * (core/wg.h, mutex.h, once.h), so it can be sent to other goroutines and
 * they all share the one object.  Blocking calls follow lrt.h's pattern:
 * prepare the wait, *_begin, park with a continuation.  While a call is
 * parked its handle stays at stack index 1, which keeps the object alive;
 * the continuations get the object itself through their lua_KContext.
 *
 * Misuse raises Go's words (`sync: negative WaitGroup counter`, `sync:
 * unlock of unlocked mutex`) as plain strings, catchable with pcall.
 */
#include <stdint.h>
#include <stdlib.h>

#include "api/lsync.h"
#include "runtime/visible.h"

static const chl_lua_op OP_WG_ADD = { CHL_OP_SYNC, "sync.WaitGroup.Add", 0 };
static const chl_lua_op OP_WG_DONE = { CHL_OP_SYNC, "sync.WaitGroup.Done", 0 };
static const chl_lua_op OP_WG_WAIT = { CHL_OP_SYNC, "sync.WaitGroup.Wait", 0 };
static const chl_lua_op OP_WG_GO = { CHL_OP_SYNC, "sync.WaitGroup.Go", 2 };
static const chl_lua_op OP_LOCK = { CHL_OP_SYNC, "sync.Mutex.Lock", 0 };
static const chl_lua_op OP_UNLOCK = { CHL_OP_SYNC, "sync.Mutex.Unlock", 0 };
static const chl_lua_op OP_TRYLOCK = { CHL_OP_SYNC, "sync.Mutex.TryLock", -1 };
static const chl_lua_op OP_ONCE = { CHL_OP_SYNC, "sync.Once.Do", 0 };

/* ---- handle types ---- */

static chl_lua_type wg_type, mutex_type, once_type;

static void wg_retain(void *o) { chl_wg_retain(o); }
static void wg_release(void *o) { chl_wg_release(o); }

static void mutex_retain(void *o) { chl_mutex_retain(o); }
static void mutex_release(void *o) { chl_mutex_release(o); }

static void once_retain(void *o) { chl_once_retain(o); }
static void once_release(void *o) { chl_once_release(o); }

/* ---- waitgroup ---- */

static int l_wg_new(lua_State *L)
{
	chl_wg *wg = chl_wg_new();

	if (!wg)
		return chl_lua_nomem(L);
	chl_lua_push(L, &wg_type, wg);
	return 1;
}

/* wg:add(n): n defaults to 1; the counter going below zero raises. */
static int l_wg_add(lua_State *L)
{
	chl_wg *wg = chl_lua_check(L, 1, &wg_type);
	lua_Integer n = luaL_optinteger(L, 2, 1);
	int rc = chl_wg_add(wg, (int64_t)n);

	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	return chl_lua_visible(L, &OP_WG_ADD, wg, 0);
}

static int l_wg_done(lua_State *L)
{
	chl_wg *wg = chl_lua_check(L, 1, &wg_type);
	int rc = chl_wg_done(wg);

	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	return chl_lua_visible(L, &OP_WG_DONE, wg, 0);
}

static int wg_wait_k(lua_State *L, int status, lua_KContext kctx)
{
	(void)status;
	return chl_lua_visible(L, &OP_WG_WAIT, (const void *)kctx, 0);
}

static int l_wg_wait(lua_State *L)
{
	chl_wg *wg = chl_lua_check(L, 1, &wg_type);
	chl_lua_wait *wt = chl_lua_wait_prepare(L, "sync.WaitGroup.Wait");
	int rc;

	chl_waiter_init(&wt->w, wt->parker, wg);
	rc = chl_wg_wait_begin(wg, &wt->w);
	if (rc == CHL_WAIT)
		return chl_lua_park(L, wt, (lua_KContext)wg, wg_wait_k);
	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	return chl_lua_visible(L, &OP_WG_WAIT, wg, 0);
}

/* What wg:go adds to its goroutine.  Done is called when the function
 * returns, or - if the goroutine never started - when it is released.
 * A function that raises does NOT call done: its error panics the
 * program, and a done would let wg:wait() return and the main script
 * exit 0 before the panic is reported (Go 1.25's WaitGroup.Go reasons
 * the same way). */
typedef struct wg_go {
	chl_wg *wg;          /* one reference */
	bool settled;        /* finish ran: done called, or a panic is coming */
} wg_go;

static int wg_go_finish(lua_State *L, int status, int base, void *arg)
{
	wg_go *g = arg;

	(void)L;
	(void)base;
	g->settled = true;
	if (status == LUA_OK)
		chl_wg_done(g->wg);
	return 0;
}

static void wg_go_release(void *arg)
{
	wg_go *g = arg;

	if (!g->settled)
		chl_wg_done(g->wg);
	chl_wg_release(g->wg);
	free(g);
}

/* For the leak detector: the goroutine's end calls done. */
static void wg_go_reach(void *arg, chl_reach *r)
{
	chl_reach_obj(r, ((wg_go *)arg)->wg);
}

/* wg:go(fn, ...): add(1), then go(fn, ...) with done when fn returns. */
static int l_wg_go(lua_State *L)
{
	chl_wg *wg = chl_lua_check(L, 1, &wg_type);
	chl_go_hooks hooks;
	wg_go *g;
	int rc;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	g = malloc(sizeof *g);
	if (!g)
		return chl_lua_nomem(L);
	rc = chl_wg_add(wg, 1);
	if (rc != CHL_OK) {
		free(g);
		return chl_lua_raise(L, rc);
	}
	g->wg = chl_wg_retain(wg);
	g->settled = false;
	hooks.finish = wg_go_finish;
	hooks.release = wg_go_release;
	hooks.reach = wg_go_reach;
	hooks.arg = g;
	/* On a value that cannot cross this raises, after calling release:
	 * the add(1) is undone there. */
	chl_lua_go(L, 2, lua_gettop(L) - 2, &hooks);
	return chl_lua_visible(L, &OP_WG_GO, wg, 0);
}

static int l_wg_tostring(lua_State *L)
{
	chl_wg *wg = chl_lua_check(L, 1, &wg_type);

	lua_pushfstring(L, "waitgroup(count=%I)", (lua_Integer)chl_wg_count(wg));
	return 1;
}

static const luaL_Reg wg_methods[] = {
	{"add", l_wg_add},
	{"done", l_wg_done},
	{"wait", l_wg_wait},
	{"go", l_wg_go},
	{NULL, NULL}
};

static const luaL_Reg wg_meta[] = {
	{"__tostring", l_wg_tostring},
	{NULL, NULL}
};

/* ---- mutex ---- */

static int l_mutex_new(lua_State *L)
{
	chl_mutex *m = chl_mutex_new();

	if (!m)
		return chl_lua_nomem(L);
	chl_lua_push(L, &mutex_type, m);
	return 1;
}

static int mutex_lock_k(lua_State *L, int status, lua_KContext kctx);

/* One attempt of a lock operation with the waiter in wt. */
static int mutex_lock_try(lua_State *L, chl_lua_wait *wt, chl_mutex *m)
{
	int rc = chl_mutex_lock_begin(m, &wt->w);

	if (rc == CHL_WAIT)
		return chl_lua_park(L, wt, (lua_KContext)(intptr_t)m, mutex_lock_k);
	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	return chl_lua_visible(L, &OP_LOCK, m, 0);
}

/* After a wake: w->ok means ownership was handed over; otherwise compete
 * again with the same waiter, which keeps its start time (w->n) so the
 * mutex can tell when it has waited long enough to switch to
 * starvation mode. */
static int mutex_lock_k(lua_State *L, int status, lua_KContext kctx)
{
	chl_mutex *m = (chl_mutex *)(intptr_t)kctx;
	chl_lua_wait *wt = chl_lua_wait_current(L);
	chl_waiter keep;

	(void)status;
	if (wt->w.ok)
		return chl_lua_visible(L, &OP_LOCK, m, 0);
	keep = wt->w;
	wt = chl_lua_wait_prepare(L, "sync.Mutex.Lock");
	wt->w = keep;
	wt->w.parker = wt->parker;
	return mutex_lock_try(L, wt, m);
}

static int l_mutex_lock(lua_State *L)
{
	chl_mutex *m = chl_lua_check(L, 1, &mutex_type);
	chl_lua_wait *wt = chl_lua_wait_prepare(L, "sync.Mutex.Lock");

	chl_waiter_init(&wt->w, wt->parker, m);
	return mutex_lock_try(L, wt, m);
}

static int l_mutex_unlock(lua_State *L)
{
	chl_mutex *m = chl_lua_check(L, 1, &mutex_type);
	int rc = chl_mutex_unlock(m);

	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	return chl_lua_visible(L, &OP_UNLOCK, m, 0);
}

static int l_mutex_trylock(lua_State *L)
{
	chl_mutex *m = chl_lua_check(L, 1, &mutex_type);

	lua_pushboolean(L, chl_mutex_trylock(m));
	return chl_lua_visible(L, &OP_TRYLOCK, m, 1);
}

static int l_mutex_tostring(lua_State *L)
{
	chl_mutex *m = chl_lua_check(L, 1, &mutex_type);

	lua_pushstring(L, chl_mutex_is_locked(m) ? "mutex(locked)" : "mutex(unlocked)");
	return 1;
}

static const luaL_Reg mutex_methods[] = {
	{"lock", l_mutex_lock},
	{"unlock", l_mutex_unlock},
	{"trylock", l_mutex_trylock},
	{NULL, NULL}
};

static const luaL_Reg mutex_meta[] = {
	{"__tostring", l_mutex_tostring},
	{NULL, NULL}
};

/* ---- once ---- */

static int l_once_new(lua_State *L)
{
	chl_once *o = chl_once_new();

	if (!o)
		return chl_lua_nomem(L);
	chl_lua_push(L, &once_type, o);
	return 1;
}

static int once_wait_k(lua_State *L, int status, lua_KContext kctx);
static int once_ran_k(lua_State *L, int status, lua_KContext kctx);

/* Ask o whether to run; run fn (stack index 2) in this goroutine if so.
 * fn may block: it runs under lua_pcallk, so it can yield. */
static int once_try(lua_State *L, chl_lua_wait *wt, chl_once *o)
{
	lua_KContext k = (lua_KContext)(intptr_t)o;
	bool run;
	int rc = chl_once_begin(o, &wt->w, &run);

	if (rc == CHL_WAIT)
		return chl_lua_park(L, wt, k, once_wait_k);
	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	if (!run)
		return chl_lua_visible(L, &OP_ONCE, o, 0);
	lua_settop(L, 2);
	return once_ran_k(L, lua_pcallk(L, 0, 0, 0, k, once_ran_k), k);
}

/* Woken: the run we waited for has finished; begin answers "done". */
static int once_wait_k(lua_State *L, int status, lua_KContext kctx)
{
	chl_once *o = (chl_once *)(intptr_t)kctx;
	chl_lua_wait *wt = chl_lua_wait_prepare(L, "sync.Once.Do");

	(void)status;
	chl_waiter_init(&wt->w, wt->parker, o);
	return once_try(L, wt, o);
}

/* fn returned (LUA_OK, or LUA_YIELD when it had blocked on the way) or
 * raised: the run counts as done either way, as in Go; errors go on. */
static int once_ran_k(lua_State *L, int status, lua_KContext kctx)
{
	chl_once *o = (chl_once *)(intptr_t)kctx;

	chl_once_finish(o);
	if (status != LUA_OK && status != LUA_YIELD)
		return lua_error(L);
	return chl_lua_visible(L, &OP_ONCE, o, 0);
}

static int l_once_call(lua_State *L)
{
	chl_once *o = chl_lua_check(L, 1, &once_type);
	chl_lua_wait *wt;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	wt = chl_lua_wait_prepare(L, "sync.Once.Do");
	chl_waiter_init(&wt->w, wt->parker, o);
	return once_try(L, wt, o);
}

static int l_once_tostring(lua_State *L)
{
	chl_once *o = chl_lua_check(L, 1, &once_type);

	lua_pushstring(L, chl_once_done(o) ? "once(done)" : "once(not done)");
	return 1;
}

static const luaL_Reg once_methods[] = {
	{"call", l_once_call},
	{NULL, NULL}
};

static const luaL_Reg once_meta[] = {
	{"__tostring", l_once_tostring},
	{NULL, NULL}
};

/* ---- the table ---- */

static chl_lua_type wg_type =
	CHL_LUA_TYPE("chanlab.waitgroup", wg_retain, wg_release, wg_methods, wg_meta);
static chl_lua_type mutex_type =
	CHL_LUA_TYPE("chanlab.mutex", mutex_retain, mutex_release, mutex_methods, mutex_meta);
static chl_lua_type once_type =
	CHL_LUA_TYPE("chanlab.once", once_retain, once_release, once_methods, once_meta);

static const luaL_Reg sync_funcs[] = {
	{"waitgroup", l_wg_new},
	{"mutex", l_mutex_new},
	{"once", l_once_new},
	{NULL, NULL}
};

static chl_lua_type *const sync_types[] = { &wg_type, &mutex_type, &once_type, NULL };

static int open_sync(lua_State *L)
{
	luaL_newlib(L, sync_funcs);
	return 1;
}

const chl_lua_lib chl_lib_sync = {
	"sync", open_sync, sync_funcs, NULL, sync_types
};
