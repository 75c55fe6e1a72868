/*
 * lsem.c - the `semaphore` table: golang.org/x/sync/semaphore.Weighted.
 *
 *   local sem = semaphore.new(n)
 *   sem:acquire(ctx, w) --> nil, or the context's error ("context canceled")
 *   sem:release(w)      sem:try_acquire(w) --> bool
 *
 * w defaults to 1; ctx may be nil (no context: wait as long as it takes).
 * As in Go, acquire fails at once on a context that is already done, a
 * request larger than the semaphore waits for its context to end, and
 * waiters are served first come, first served (core/sem.h).  Releasing
 * more than is held raises `semaphore: released more than held`.
 *
 * A waiting acquire parks with a context watch (chl_parker_watch_ctx) on
 * its parker: whichever comes first - the tokens or the context's end -
 * claims the wait.  The handles at stack index 1 (semaphore) and 2
 * (context) keep both objects alive while it is parked.
 */

#include "api/lctx.h"
#include "api/lsem.h"
#include "runtime/visible.h"

static const chl_lua_op OP_ACQUIRE = { CHL_OP_SYNC, "semaphore.Acquire", -1 };
static const chl_lua_op OP_RELEASE = { CHL_OP_SYNC, "semaphore.Release", 0 };
static const chl_lua_op OP_TRY_ACQUIRE = { CHL_OP_SYNC, "semaphore.TryAcquire", -1 };

static chl_lua_type sem_type;

static void sem_retain(void *o) { chl_sem_retain(o); }
static void sem_release(void *o) { chl_sem_release(o); }

static int l_new(lua_State *L)
{
	lua_Integer n = luaL_checkinteger(L, 1);
	chl_sem *s;

	luaL_argcheck(L, n >= 0, 1, "negative size");
	s = chl_sem_new((int64_t)n);
	if (!s)
		return chl_lua_nomem(L);
	chl_lua_push(L, &sem_type, s);
	return 1;
}

static int64_t check_weight(lua_State *L, int idx)
{
	lua_Integer w = luaL_optinteger(L, idx, 1);

	luaL_argcheck(L, w >= 0, idx, "negative weight");
	return (int64_t)w;
}

/* The end of every acquire, parked or not: rc is how the wait ended. */
static int acquire_end(lua_State *L, chl_lua_wait *wt, chl_sem *s, int rc)
{
	chl_ctx *ctx = wt->hook_ctx;

	if (ctx) {
		chl_parker_unwatch_ctx(ctx, &wt->hook);
		wt->hook_ctx = NULL;
	}
	if (rc != CHL_OK) {
		/* The context ended the wait: leave the queue (which may serve
		 * the waiters behind us) and report its error. */
		chl_sem_dequeue(s, &wt->w);
		lua_pushstring(L, chl_strerror(rc));
		return chl_lua_visible(L, &OP_ACQUIRE, s, 1);
	}
	/* As Go: done while we were being served - give the tokens back. */
	if (ctx && (rc = chl_ctx_err(ctx)) != CHL_OK) {
		chl_sem_release_n(s, check_weight(L, 3));
		lua_pushstring(L, chl_strerror(rc));
		return chl_lua_visible(L, &OP_ACQUIRE, s, 1);
	}
	lua_pushnil(L);
	return chl_lua_visible(L, &OP_ACQUIRE, s, 1);
}

static int acquire_k(lua_State *L, int status, lua_KContext kctx)
{
	chl_lua_wait *wt = chl_lua_wait_current(L);

	(void)status;
	return acquire_end(L, wt, (chl_sem *)(intptr_t)kctx,
		wt->parker->fired == &wt->w ? CHL_OK : wt->parker->status);
}

static int l_acquire(lua_State *L)
{
	chl_sem *s = chl_lua_check(L, 1, &sem_type);
	chl_ctx *ctx = chl_lua_opt_ctx(L, 2);
	int64_t n = check_weight(L, 3);
	chl_lua_wait *wt = chl_lua_wait_prepare(L, "semaphore.Acquire");
	int rc;

	chl_waiter_init(&wt->w, wt->parker, s);
	/* Go fails on a done context even when the tokens are free.  The
	 * watch itself starts at commit, if we park. */
	if (ctx) {
		if (!chl_parker_watch_ctx(wt->parker, ctx, &wt->hook)) {
			lua_pushstring(L, chl_strerror(chl_ctx_err(ctx)));
			return chl_lua_visible(L, &OP_ACQUIRE, s, 1);
		}
		wt->hook_ctx = ctx;
	}
	rc = chl_sem_acquire_begin(s, n, &wt->w);
	if (rc == CHL_WAIT)
		return chl_lua_park(L, wt, (lua_KContext)(intptr_t)s, acquire_k);
	if (rc != CHL_OK) {
		if (ctx) {
			chl_parker_unwatch_ctx(ctx, &wt->hook);
			wt->hook_ctx = NULL;
		}
		return chl_lua_raise(L, rc);
	}
	return acquire_end(L, wt, s, CHL_OK);
}

static int l_release(lua_State *L)
{
	chl_sem *s = chl_lua_check(L, 1, &sem_type);
	int rc = chl_sem_release_n(s, check_weight(L, 2));

	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	return chl_lua_visible(L, &OP_RELEASE, s, 0);
}

static int l_try_acquire(lua_State *L)
{
	chl_sem *s = chl_lua_check(L, 1, &sem_type);

	lua_pushboolean(L, chl_sem_try_acquire(s, check_weight(L, 2)));
	return chl_lua_visible(L, &OP_TRY_ACQUIRE, s, 1);
}

static int l_tostring(lua_State *L)
{
	chl_sem *s = chl_lua_check(L, 1, &sem_type);

	lua_pushfstring(L, "semaphore(size=%I, held=%I)",
		(lua_Integer)chl_sem_size(s), (lua_Integer)chl_sem_held(s));
	return 1;
}

static const luaL_Reg sem_methods[] = {
	{"acquire", l_acquire},
	{"release", l_release},
	{"try_acquire", l_try_acquire},
	{NULL, NULL}
};

static const luaL_Reg sem_meta[] = {
	{"__tostring", l_tostring},
	{NULL, NULL}
};

static chl_lua_type sem_type =
	CHL_LUA_TYPE("chanlab.semaphore", sem_retain, sem_release, sem_methods, sem_meta);

static const luaL_Reg semaphore_funcs[] = {
	{"new", l_new},
	{NULL, NULL}
};

static chl_lua_type *const semaphore_types[] = { &sem_type, NULL };

static int open_semaphore(lua_State *L)
{
	luaL_newlib(L, semaphore_funcs);
	return 1;
}

const chl_lua_lib chl_lib_semaphore = {
	"semaphore", open_semaphore, semaphore_funcs, NULL, semaphore_types
};
