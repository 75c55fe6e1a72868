/*
 * lrt.c - the Lua runtime: one per process, the scheduler the goroutines
 * run on; plus the small shared helpers of every binding file (handles,
 * errors, durations).
 *
 * Why one per process: a goroutine's state and the main state of a stock
 * lua5.4 both need to find it, and only the process is common to them.
 * It is made once (chl_rt_start) and lives until the process exits.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runtime/goroutine.h"

struct chl_rt {
	chl_sched *sched;
	chl_rt_config cfg;         /* as started; script_dir owned (strdup) */
};

static pthread_mutex_t rt_mu = PTHREAD_MUTEX_INITIALIZER;
static chl_rt *_Atomic the_rt;

static void rt_preempt(chl_task *t, void *ud)
{
	(void)ud;
	if (t)
		chl_goroutine_preempt(t);
}

chl_rt *chl_rt_start(const chl_rt_config *cfg)
{
	chl_rt *rt;

	pthread_mutex_lock(&rt_mu);
	rt = the_rt;
	if (!rt) {
		chl_sched_config sc = { 0 };

		rt = calloc(1, sizeof *rt);
		if (rt) {
			rt->cfg = *cfg;
			rt->cfg.script_dir = cfg->script_dir ? strdup(cfg->script_dir) : NULL;
			sc.procs = cfg->procs;
			sc.detect_deadlock = cfg->detect_deadlock;
			sc.on_deadlock = chl_rt_deadlock;
			sc.on_preempt = cfg->preempt ? rt_preempt : NULL;
			sc.ud = rt;
			rt->sched = chl_sched_new(&sc);
			if (!rt->sched) {
				free(rt);
				rt = NULL;
			}
		}
		the_rt = rt;
	}
	pthread_mutex_unlock(&rt_mu);
	return rt;
}

chl_rt *chl_rt_current(void)
{
	return the_rt;
}

chl_rt *chl_lua_rt(lua_State *L)
{
	chl_rt *rt = the_rt;

	if (!rt)
		luaL_error(L, "chanlab: runtime not started");
	return rt;
}

chl_sched *chl_rt_sched(chl_rt *rt)
{
	return rt->sched;
}

const char *chl_rt_script_dir(chl_rt *rt)
{
	return rt->cfg.script_dir;
}

/* ---- errors ---- */

int chl_lua_raise(lua_State *L, int status)
{
	lua_pushstring(L, chl_strerror(status));
	return lua_error(L);
}

/* ---- durations ---- */

int64_t chl_lua_ns(lua_State *L, int idx)
{
	double s = luaL_checknumber(L, idx) * 1e9;

	if (isnan(s))
		luaL_argerror(L, idx, "duration is NaN");
	if (s >= 9.2e18)
		return INT64_MAX;
	if (s <= -9.2e18)
		return INT64_MIN;
	return (int64_t)s;
}

double chl_lua_secs(int64_t ns)
{
	return (double)ns / 1e9;
}

/* ---- handles ---- */

typedef struct handle {
	void *obj;                 /* one reference, or NULL once collected */
	const chl_lua_type *t;     /* its type: __gc needs no closure */
} handle;

static int handle_gc(lua_State *L)
{
	handle *h = lua_touserdata(L, 1);

	if (h && h->obj) {
		h->t->h.release(h->obj);
		h->obj = NULL;
	}
	return 0;
}

static int handle_eq(lua_State *L)
{
	handle *a = lua_touserdata(L, 1), *b = lua_touserdata(L, 2);

	lua_pushboolean(L, a && b && a->obj == b->obj);
	return 1;
}

/* Every registered type, for resolve_method; filled at startup. */
#define MAX_LUA_TYPES 32
static const chl_lua_type *lua_types[MAX_LUA_TYPES];
static int nlua_types;

/* The method t has under name, or NULL. */
static lua_CFunction find_method(const chl_lua_type *t, const char *name)
{
	for (const luaL_Reg *r = t->methods; r && r->name; r++)
		if (strcmp(r->name, name) == 0)
			return r->func;
	return NULL;
}

/* __index of the metatables' own metatable: a handle's metatable (which is
 * also its method table) starts with the metamethods only, and a method is
 * copied in by its first call here, with the metatable and the name.  A
 * goroutine meets a handle type to call a method or two, and the rest of
 * the methods would cost it their names and table slots: about 500 bytes
 * a type, paid by every parked goroutine.  After the first call a method
 * is a plain table hit again. */
static int resolve_method(lua_State *L)
{
	const chl_lua_type *t = NULL;
	lua_CFunction f = NULL;

	if (lua_type(L, 2) != LUA_TSTRING)
		return 0;
	lua_pushliteral(L, "__name");
	if (lua_rawget(L, 1) == LUA_TSTRING) {
		const char *tname = lua_tostring(L, -1);

		for (int i = 0; i < nlua_types && !t; i++)
			if (strcmp(lua_types[i]->h.tname, tname) == 0)
				t = lua_types[i];
	}
	lua_pop(L, 1);
	if (!t || !(f = find_method(t, lua_tostring(L, 2))))
		return 0;
	lua_pushcfunction(L, f);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

/* Push this state's { __index = resolve_method }, made on first use. */
static char resolver_key;

static void push_resolver(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &resolver_key) != LUA_TNIL)
		return;
	lua_pop(L, 1);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, resolve_method);
	lua_setfield(L, -2, "__index");
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &resolver_key);
}

/* Push t's metatable, making it in this state on first use.  It is kept
 * in the registry under its name (luaL_newmetatable, what value/encode.c and
 * luaL_checkudata look for) and under t's address, which is what
 * chl_lua_test compares with: a light-userdata key needs no string
 * interning, which costs a strcmp on every method call. */
static void push_metatable(lua_State *L, const chl_lua_type *t)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, t) != LUA_TNIL)
		return;
	lua_pop(L, 1);
	if (luaL_newmetatable(L, t->h.tname)) {
		/* One table is both the metatable and the method table; its
		 * methods come in on first use (resolve_method). */
		if (t->methods) {
			lua_pushvalue(L, -1);
			lua_setfield(L, -2, "__index");
			push_resolver(L);
			lua_setmetatable(L, -2);
		}
		if (t->metamethods)
			luaL_setfuncs(L, t->metamethods, 0);
		lua_pushcfunction(L, handle_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, handle_eq);
		lua_setfield(L, -2, "__eq");
	}
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, t);
}

void chl_lua_push(lua_State *L, const chl_lua_type *t, void *obj)
{
	handle *h = lua_newuserdatauv(L, sizeof *h, 0);

	h->obj = obj;
	h->t = t;
	push_metatable(L, t);
	lua_setmetatable(L, -2);
}

/* Is the value at idx a handle of type t?  Every handle is a full
 * userdata of exactly sizeof(handle) whose `t` is the type's (static)
 * address; only C code writes into userdata, and no other C code of this
 * process stores our type's address there, so that identifies it without
 * the metatable lookups a method call would otherwise pay for. */
static handle *test_handle(lua_State *L, int idx, const chl_lua_type *t)
{
	handle *h = lua_touserdata(L, idx);

	/* a light userdata has rawlen 0 */
	if (!h || lua_rawlen(L, idx) != sizeof(handle) || h->t != t)
		return NULL;
	return h;
}

void *chl_lua_test(lua_State *L, int idx, const chl_lua_type *t)
{
	handle *h = test_handle(L, idx, t);

	return h ? h->obj : NULL;
}

void *chl_lua_check(lua_State *L, int idx, const chl_lua_type *t)
{
	handle *h = test_handle(L, idx, t);

	if (!h)
		luaL_typeerror(L, idx, t->h.tname + sizeof "chanlab." - 1);
	if (!h->obj)
		luaL_argerror(L, idx, "handle already released");
	return h->obj;
}

void chl_lua_type_register(chl_lua_type *t)
{
	chl_assert(nlua_types < MAX_LUA_TYPES);
	lua_types[nlua_types++] = t;
	chl_handle_type_register(&t->h);
}
