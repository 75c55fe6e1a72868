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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/goroutine.h"

/* The wait record of a plain thread (or of a goroutine that cannot yield):
 * the thread blocks inside the wait, so one per thread is enough. */
static _Thread_local chl_lua_wait thread_wait;

/* ---- memory ----
 *
 * A goroutine's state allocates through its goroutine (which counts the
 * bytes, for a memory limit) and, for blocks of up to CHL_ARENA_MAX
 * bytes, from its state's arena while the arena has room (core/arena.h:
 * no per-block header).  Most of a small state is such blocks - interned
 * strings, tables, closures - so a parked goroutine costs about a
 * kilobyte less than with malloc alone.
 *
 * The arena is made with the state, sized by what the last goroutine
 * wanted by the end of its first step (region_hint): goroutines started
 * together are usually alike, and a parked one has made its first step.
 * Too small, and the rest goes to malloc; too big, and the rest of the
 * region is wasted.  AddressSanitizer builds go without, so that it sees
 * every block. */
#if defined(__SANITIZE_ADDRESS__)
#define USE_ARENA 0
#else
#define USE_ARENA 1
#endif
#define HINT_MIN 1024
#define HINT_MAX 16384
static atomic_size_t region_hint = 2048;

static chl_arena *arena_for_new_state(void)
{
	if (!USE_ARENA)
		return NULL;
	return chl_arena_new(atomic_load_explicit(&region_hint, memory_order_relaxed));
}

/* After a goroutine's first step: what its state wanted becomes the hint. */
static void learn_region_size(const goroutine *g)
{
	size_t want;

	if (!g->arena)
		return;
	want = chl_arena_demand(g->arena);
	if (want < HINT_MIN)
		want = HINT_MIN;
	if (want > HINT_MAX)
		want = HINT_MAX;
	atomic_store_explicit(&region_hint, want, memory_order_relaxed);
}

/* A new block of n bytes: from the arena if small and there is room. */
static void *block_new(chl_arena *a, size_t n)
{
	void *p;

	if (a && n <= CHL_ARENA_MAX) {
		if ((p = chl_arena_alloc(a, n)))
			return p;
		a->spilled += (uint32_t)n;
	}
	return malloc(n);
}

static void block_free(chl_arena *a, void *p, size_t n)
{
	if (a && chl_arena_owns(a, p))
		chl_arena_release(a, p, n);
	else
		free(p);
}

void *chl_goroutine_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	goroutine *g = ud;
	chl_arena *a = g->arena;
	size_t old = ptr ? osize : 0;   /* for a new block osize is a type tag */
	void *p;

	if (nsize == 0) {
		if (ptr)
			block_free(a, ptr, osize);
		g->mem -= old;
		return NULL;
	}
	if (g->mem_limit && g->mem - old + nsize > g->mem_limit)
		return NULL;
	if (!ptr) {
		p = block_new(a, nsize);
	} else if (a && chl_arena_owns(a, ptr)) {
		/* in place when it fits: shrinking never fails, as Lua needs */
		if (nsize <= CHL_ARENA_MAX && chl_arena_fits(osize, nsize)) {
			p = ptr;
		} else if ((p = block_new(a, nsize))) {
			memcpy(p, ptr, osize < nsize ? osize : nsize);
			chl_arena_release(a, ptr, osize);
		}
	} else {
		p = realloc(ptr, nsize);
	}
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
	chl_arena *arena;          /* its small blocks (may be NULL) */
	size_t mem;                /* what its allocator had counted */
} pooled;

static _Thread_local pooled pool[POOL_MAX];
static _Thread_local int npool;

static void pool_put(goroutine *g)
{
	lua_State *L = g->L;

	if (npool == POOL_MAX || lua_status(L) != LUA_OK) {
		lua_close(L);   /* frees every block, through g's allocator */
		chl_arena_free(g->arena);
		g->arena = NULL;
		return;
	}
	lua_settop(L, 0);
	lua_sethook(L, NULL, 0, 0);
	chl_goroutine_watch(L);
	chl_lazyenv_reset(L);
	lua_gc(L, LUA_GCCOLLECT);
	pool[npool].L = L;
	pool[npool].arena = g->arena;
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
	g->arena = pool[npool].arena;
	lua_setallocf(L, chl_goroutine_alloc, g);
	return L;
}

static int open_state(goroutine *g)
{
	lua_State *L = pool_get(g);
	int n;

	if (!L) {
		g->arena = arena_for_new_state();
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
	bool first = !g->started;

	if (first) {
		g->started = true;
		/* the main goroutine comes with its state, function and args */
		nargs = g->L ? lua_gettop(g->L) - 1 : open_state(g);
	}
	g->parking = false;
	g->in_lua = 1;
	rc = lua_resume(g->L, NULL, nargs, &nres);
	g->in_lua = 0;
	if (first)
		learn_region_size(g);
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

/* ---- call sites ----
 *
 * Every goroutine remembers where go() was called, for panics and dumps.
 * A program has few such places and may have a million goroutines, so
 * each text is kept once, for the life of the process, in a hash set
 * (open addressing, doubled at half full) under one lock. */
static pthread_mutex_t sites_mu = PTHREAD_MUTEX_INITIALIZER;
static char **sites;            /* sites_mu */
static size_t sites_cap, sites_len;

static size_t site_hash(const char *s)
{
	size_t h = 2166136261u;     /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of s in a table of cap (a power of two): its own or an empty one. */
static size_t site_slot(char **tab, size_t cap, const char *s)
{
	size_t i = site_hash(s) & (cap - 1);

	while (tab[i] && strcmp(tab[i], s) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

static bool sites_grow(void)
{
	size_t cap = sites_cap ? sites_cap * 2 : 64;
	char **tab = calloc(cap, sizeof *tab);

	if (!tab)
		return false;
	for (size_t i = 0; i < sites_cap; i++)
		if (sites[i])
			tab[site_slot(tab, cap, sites[i])] = sites[i];
	free(sites);
	sites = tab;
	sites_cap = cap;
	return true;
}

const char *chl_callsite(const char *site)
{
	const char *kept = "?";     /* out of memory: a dump says less */
	size_t i;

	pthread_mutex_lock(&sites_mu);
	if (sites_len * 2 >= sites_cap && !sites_grow())
		goto out;
	i = site_slot(sites, sites_cap, site);
	if (!sites[i]) {
		if (!(sites[i] = strdup(site)))
			goto out;
		sites_len++;
	}
	kept = sites[i];
out:
	pthread_mutex_unlock(&sites_mu);
	return kept;
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
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
		char site[LUA_IDSIZE + 16];

		snprintf(site, sizeof site, "%s:%d", ar.short_src, ar.currentline);
		g->created = chl_callsite(site);
	} else {
		g->created = "?";
	}
	chl_sched_spawn(chl_rt_sched(rt), &g->task);
}
