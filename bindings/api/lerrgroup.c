/*
 * lerrgroup.c - the `errgroup` table: Go's golang.org/x/sync/errgroup.
 *
 *   local g = errgroup.new()                 a group without a context
 *   local g, gctx = errgroup.with_context(ctx)
 *   g:go(fn, ...)   g:try_go(fn, ...) --> bool   g:wait() --> first failure
 *   g:set_limit(n)                           n < 0: no limit
 *
 * A function fails by raising (the error value, as raised) or by returning
 * a non-nil first value.  The first failure is kept and cancels the
 * group's context with that failure as its cause; wait() waits for every
 * function, cancels the context (also on success) and returns the first
 * failure or nil.
 *
 * A group is a handle like any other: goroutines it is sent to share it.
 * So its state is a reference-counted C struct, not a Lua table:
 *   wg    counts the functions started and not yet returned;
 *   sem   a semaphore of `limit` slots, each running function holds one
 *         (NULL: no limit); g:go parks on it while the group is full;
 *   err   the first failure, encoded so that any state can decode it.
 * Each goroutine's hooks (a `run`) hold a reference to the group and to
 * the semaphore it took its slot from, so set_limit never pulls a
 * semaphore out from under a running function.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "api/lctx.h"
#include "api/lerrgroup.h"
#include "refcount.h"
#include "runtime/visible.h"

static const chl_lua_op OP_GO = { CHL_OP_SYNC, "errgroup.Go", 2 };
static const chl_lua_op OP_TRY_GO = { CHL_OP_SYNC, "errgroup.TryGo", 2 };
static const chl_lua_op OP_WAIT = { CHL_OP_SYNC, "errgroup.Wait", -1 };

typedef struct group {
	chl_refcount refs;         /* references */
	chl_wg *wg;                /* running functions; fixed */
	chl_ctx *ctx;              /* with_context's derived context, or NULL; fixed */
	pthread_mutex_t mu;        /* guards sem, limit, err, failed */
	chl_sem *sem;              /* NULL: no limit; mu */
	int64_t limit;             /* < 0: none; mu */
	chl_msg *err;              /* first failure (set once, then read-only); mu */
	bool failed;               /* a failure was recorded; mu */
} group;

static chl_lua_type group_type;

static group *group_new(chl_ctx *ctx)
{
	group *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	g->wg = chl_wg_new();
	if (!g->wg) {
		free(g);
		return NULL;
	}
	chl_ref_init(&g->refs);
	pthread_mutex_init(&g->mu, NULL);
	g->ctx = ctx;
	g->limit = -1;
	return g;
}

static void group_retain(void *o)
{
	group *g = o;

	chl_ref_retain(&g->refs);
}

static void group_release(void *o)
{
	group *g = o;

	if (!chl_ref_release(&g->refs))
		return;
	chl_wg_release(g->wg);
	chl_ctx_release(g->ctx);
	chl_sem_release(g->sem);
	chl_msg_free(g->err);
	pthread_mutex_destroy(&g->mu);
	free(g);
}


/* ---- failures ---- */

/* Runs protected: encode the value at 2 twice (the group's copy and the
 * context's cause) into the two slots at 1. */
static int encode_twice(lua_State *L)
{
	chl_msg **out = lua_touserdata(L, 1);

	out[0] = chl_msg_encode(L, 2, 1, "report");
	out[1] = chl_msg_encode(L, 2, 1, "report");
	return 0;
}

/* Try to encode the value at idx; false (and nothing owned) if it cannot
 * cross, with encode's message on top of L instead. */
static bool encode_failure(lua_State *L, int idx, chl_msg *out[2])
{
	out[0] = out[1] = NULL;
	lua_pushcfunction(L, encode_twice);
	lua_pushlightuserdata(L, out);
	lua_pushvalue(L, idx);
	if (lua_pcall(L, 2, 0, 0) == LUA_OK)
		return true;
	chl_msg_free(out[0]);
	out[0] = out[1] = NULL;
	return false;
}

/* Record the failure at idx of L if it is the group's first, and cancel
 * the group's context with it.  Runs in the finish hook of a function's
 * goroutine, so it must not raise: a value that cannot cross is replaced
 * by encode's message about it.  Takes and drops g->mu. */
static void record_failure(group *g, lua_State *L, int idx)
{
	chl_msg *m[2];
	bool first;

	lua_checkstack(L, 4);
	idx = lua_absindex(L, idx);
	if (!encode_failure(L, idx, m))
		encode_failure(L, lua_gettop(L), m);   /* the message; may fail too */
	pthread_mutex_lock(&g->mu);
	first = !g->failed;
	if (first) {
		g->failed = true;
		g->err = m[0];
		m[0] = NULL;
	}
	pthread_mutex_unlock(&g->mu);
	if (first && g->ctx) {
		chl_ctx_cancel(g->ctx, CHL_CANCELED, m[1], m[1] ? chl_lua_msg_free : NULL, NULL);
		m[1] = NULL;
	}
	chl_msg_free(m[0]);
	chl_msg_free(m[1]);
}

/* ---- one function's goroutine ---- */

typedef struct run {
	group *g;                  /* one reference */
	chl_sem *sem;              /* the semaphore holding our slot (one
	                              reference), or NULL */
	bool settled;              /* slot and wg count given back */
} run;

static void run_settle(run *r)
{
	if (r->settled)
		return;
	r->settled = true;
	if (r->sem)
		chl_sem_release_n(r->sem, 1);
	chl_wg_done(r->g->wg);
}

/* The function returned (results above base) or raised (error on top). */
static int run_finish(lua_State *L, int status, int base, void *arg)
{
	run *r = arg;

	if (status != LUA_OK)
		record_failure(r->g, L, -1);
	else if (lua_gettop(L) > base && !lua_isnil(L, base + 1))
		record_failure(r->g, L, base + 1);
	run_settle(r);
	return 1;   /* a failure is the group's result, never a panic */
}

/* The goroutine is gone (or never started: its values could not cross). */
static void run_release(void *arg)
{
	run *r = arg;

	run_settle(r);
	chl_sem_release(r->sem);
	group_release(r->g);
	free(r);
}

/* For the leak detector (runtime/leaks.h): a holder of the group can
 * cancel its context (wait, a failure) and read its first failure. */
static void group_reach(void *obj, chl_reach *r)
{
	group *g = obj;

	chl_reach_cancel(r, g->ctx);
	pthread_mutex_lock(&g->mu);
	chl_reach_msg(r, g->err);
	pthread_mutex_unlock(&g->mu);
}

/* A function's goroutine, when it ends, gives back its slot and counts
 * down the group's waitgroup (and may fail: cancel). */
static void run_reach(void *arg, chl_reach *r)
{
	run *rn = arg;

	group_reach(rn->g, r);
	chl_reach_obj(r, rn->g->wg);
	chl_reach_obj(r, rn->sem);
}

/* Start fn (stack index 2) with the values after it; sem holds the slot
 * taken for it (its reference passes to the run), or is NULL. */
static int start(lua_State *L, group *g, chl_sem *sem)
{
	run *r = malloc(sizeof *r);
	chl_go_hooks hooks;

	if (!r) {
		if (sem) {
			chl_sem_release_n(sem, 1);
			chl_sem_release(sem);
		}
		return chl_lua_nomem(L);
	}
	group_retain(g);
	r->g = g;
	r->sem = sem;
	r->settled = false;
	chl_wg_add(g->wg, 1);
	hooks.finish = run_finish;
	hooks.release = run_release;
	hooks.reach = run_reach;
	hooks.arg = r;
	chl_lua_go(L, 2, lua_gettop(L) - 2, &hooks);   /* raises after release */
	return 0;
}

/* The limit's semaphore now, with a reference of the caller's. */
static chl_sem *group_sem(group *g)
{
	chl_sem *sem;

	pthread_mutex_lock(&g->mu);
	sem = g->sem ? chl_sem_retain(g->sem) : NULL;
	pthread_mutex_unlock(&g->mu);
	return sem;
}

/* ---- methods ---- */

static int go_k(lua_State *L, int status, lua_KContext kctx)
{
	chl_sem *sem = (chl_sem *)(intptr_t)kctx;

	(void)status;
	/* No deadline, no context: the only wake is the slot granted. */
	group *g = chl_lua_check(L, 1, &group_type);

	start(L, g, sem);
	return chl_lua_visible(L, &OP_GO, g, 0);
}

/* g:go(fn, ...): waits for a free slot when the group has a limit. */
static int l_go(lua_State *L)
{
	group *g = chl_lua_check(L, 1, &group_type);
	chl_sem *sem;
	chl_lua_wait *wt;
	int rc;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	sem = group_sem(g);
	if (!sem) {
		start(L, g, NULL);
		return chl_lua_visible(L, &OP_GO, g, 0);
	}
	wt = chl_lua_wait_prepare(L, "errgroup.Go");
	chl_waiter_init(&wt->w, wt->parker, sem);
	rc = chl_sem_acquire_begin(sem, 1, &wt->w);
	if (rc == CHL_WAIT)
		return chl_lua_park(L, wt, (lua_KContext)(intptr_t)sem, go_k);
	if (rc != CHL_OK) {
		chl_sem_release(sem);
		return chl_lua_raise(L, rc);
	}
	start(L, g, sem);
	return chl_lua_visible(L, &OP_GO, g, 0);
}

static int l_try_go(lua_State *L)
{
	group *g = chl_lua_check(L, 1, &group_type);
	chl_sem *sem;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	sem = group_sem(g);
	if (sem && !chl_sem_try_acquire(sem, 1)) {
		chl_sem_release(sem);
		lua_pushboolean(L, 0);
		return chl_lua_visible(L, &OP_TRY_GO, g, 1);
	}
	start(L, g, sem);
	lua_pushboolean(L, 1);
	return chl_lua_visible(L, &OP_TRY_GO, g, 1);
}

static int wait_k(lua_State *L, int status, lua_KContext kctx)
{
	group *g = chl_lua_check(L, 1, &group_type);
	chl_msg *err;
	bool failed;

	(void)status;
	(void)kctx;
	if (g->ctx)
		chl_ctx_cancel(g->ctx, CHL_CANCELED, NULL, NULL, NULL);
	pthread_mutex_lock(&g->mu);
	err = g->err;
	failed = g->failed;
	pthread_mutex_unlock(&g->mu);
	/* err is set once and freed with the group, which our handle keeps. */
	if (err)
		return chl_lua_visible(L, &OP_WAIT, g, chl_msg_decode(L, err) > 0 ? 1 : 0);
	if (failed)
		lua_pushliteral(L, "errgroup: the error could not be copied");
	else
		lua_pushnil(L);
	return chl_lua_visible(L, &OP_WAIT, g, 1);
}

static int l_wait(lua_State *L)
{
	group *g = chl_lua_check(L, 1, &group_type);
	chl_lua_wait *wt = chl_lua_wait_prepare(L, "errgroup.Wait");
	int rc;

	chl_waiter_init(&wt->w, wt->parker, g->wg);
	rc = chl_wg_wait_begin(g->wg, &wt->w);
	if (rc == CHL_WAIT)
		return chl_lua_park(L, wt, 0, wait_k);
	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	return wait_k(L, LUA_OK, 0);
}

/* g:set_limit(n): as Go, refused while functions are running. */
static int l_set_limit(lua_State *L)
{
	group *g = chl_lua_check(L, 1, &group_type);
	lua_Integer n = luaL_checkinteger(L, 2);
	chl_sem *sem = NULL, *old;
	int64_t active;

	if (n >= 0) {
		sem = chl_sem_new((int64_t)n);
		if (!sem)
			return chl_lua_nomem(L);
	}
	pthread_mutex_lock(&g->mu);
	active = chl_wg_count(g->wg);
	if (active != 0) {
		pthread_mutex_unlock(&g->mu);
		chl_sem_release(sem);
		lua_pushfstring(L, "errgroup: modify limit while %I goroutines in the group are still active",
			(lua_Integer)active);
		return lua_error(L);
	}
	old = g->sem;
	g->sem = sem;
	g->limit = n < 0 ? -1 : (int64_t)n;
	pthread_mutex_unlock(&g->mu);
	chl_sem_release(old);
	return 0;
}

static int l_tostring(lua_State *L)
{
	group *g = chl_lua_check(L, 1, &group_type);
	int64_t limit;

	pthread_mutex_lock(&g->mu);
	limit = g->limit;
	pthread_mutex_unlock(&g->mu);
	if (limit < 0)
		lua_pushfstring(L, "errgroup(active=%I)", (lua_Integer)chl_wg_count(g->wg));
	else
		lua_pushfstring(L, "errgroup(active=%I, limit=%I)",
			(lua_Integer)chl_wg_count(g->wg), (lua_Integer)limit);
	return 1;
}

static const luaL_Reg group_methods[] = {
	{"go", l_go},
	{"try_go", l_try_go},
	{"wait", l_wait},
	{"set_limit", l_set_limit},
	{NULL, NULL}
};

static const luaL_Reg group_meta[] = {
	{"__tostring", l_tostring},
	{NULL, NULL}
};

static chl_lua_type group_type = CHL_LUA_TYPE_REACH("chanlab.errgroup", group_retain,
	group_release, group_methods, group_meta, group_reach);

/* ---- the table ---- */

static int l_new(lua_State *L)
{
	group *g = group_new(NULL);

	if (!g)
		return chl_lua_nomem(L);
	chl_lua_push(L, &group_type, g);
	return 1;
}

static int l_with_context(lua_State *L)
{
	chl_ctx *parent = chl_lua_check_parent(L, 1);
	chl_ctx *ctx = NULL;
	group *g;
	int rc = chl_ctx_with_cancel(parent, &ctx);

	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	g = group_new(ctx);
	if (!g) {
		chl_ctx_release(ctx);
		return chl_lua_nomem(L);
	}
	chl_lua_push(L, &group_type, g);
	chl_lua_push_ctx(L, chl_ctx_retain(ctx));
	return 2;
}

static const luaL_Reg errgroup_funcs[] = {
	{"new", l_new},
	{"with_context", l_with_context},
	{NULL, NULL}
};

static chl_lua_type *const errgroup_types[] = { &group_type, NULL };

static int open_errgroup(lua_State *L)
{
	luaL_newlib(L, errgroup_funcs);
	return 1;
}

const chl_lua_lib chl_lib_errgroup = {
	"errgroup", open_errgroup, errgroup_funcs, NULL, errgroup_types
};
