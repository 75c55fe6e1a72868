/*
 * latomic.c - the `atomic` table: shared 64-bit integers.
 *
 *   local n = atomic.int(0)
 *   n:load()  n:store(v)  n:add(d) --> new value  n:cas(old, new) --> bool
 *   n:swap(v) --> old value
 *
 * The handle holds one reference to a core atomic (core/atomic.h), so every
 * goroutine it is sent to updates the same integer.  Arithmetic wraps
 * around like Go's (two's complement); arguments must be integers (a float
 * with an exact integer value, such as 3.0, is accepted).
 */
#include <pthread.h>

#include "runtime/lrt.h"

static chl_lua_type atomic_type;

static void *atomic_get(lua_State *L, int idx) { return chl_lua_test(L, idx, &atomic_type); }
static void atomic_retain(void *o) { chl_atomic_retain(o); }
static void atomic_release(void *o) { chl_atomic_release(o); }
static void atomic_push(lua_State *L, void *o) { chl_lua_push(L, &atomic_type, o); }

static int l_atomic_new(lua_State *L)
{
	chl_atomic *a = chl_atomic_new((int64_t)luaL_optinteger(L, 1, 0));

	if (!a)
		return chl_lua_raise(L, CHL_NOMEM);
	chl_lua_push(L, &atomic_type, a);
	return 1;
}

static int l_atomic_load(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)chl_atomic_load(chl_lua_check(L, 1, &atomic_type)));
	return 1;
}

static int l_atomic_store(lua_State *L)
{
	chl_atomic *a = chl_lua_check(L, 1, &atomic_type);

	chl_atomic_store(a, (int64_t)luaL_checkinteger(L, 2));
	return 0;
}

static int l_atomic_add(lua_State *L)
{
	chl_atomic *a = chl_lua_check(L, 1, &atomic_type);
	int64_t d = (int64_t)luaL_checkinteger(L, 2);

	lua_pushinteger(L, (lua_Integer)chl_atomic_add(a, d));
	return 1;
}

static int l_atomic_swap(lua_State *L)
{
	chl_atomic *a = chl_lua_check(L, 1, &atomic_type);

	lua_pushinteger(L, (lua_Integer)chl_atomic_swap(a, (int64_t)luaL_checkinteger(L, 2)));
	return 1;
}

static int l_atomic_cas(lua_State *L)
{
	chl_atomic *a = chl_lua_check(L, 1, &atomic_type);
	int64_t old = (int64_t)luaL_checkinteger(L, 2);
	int64_t nv = (int64_t)luaL_checkinteger(L, 3);

	lua_pushboolean(L, chl_atomic_cas(a, old, nv));
	return 1;
}

static int l_atomic_tostring(lua_State *L)
{
	chl_atomic *a = chl_lua_check(L, 1, &atomic_type);

	lua_pushfstring(L, "atomic.int(%I)", (lua_Integer)chl_atomic_load(a));
	return 1;
}

static const luaL_Reg atomic_methods[] = {
	{"load", l_atomic_load},
	{"store", l_atomic_store},
	{"add", l_atomic_add},
	{"cas", l_atomic_cas},
	{"swap", l_atomic_swap},
	{NULL, NULL}
};

static const luaL_Reg atomic_meta[] = {
	{"__tostring", l_atomic_tostring},
	{NULL, NULL}
};

static chl_lua_type atomic_type = {
	{"chanlab.atomic", atomic_get, atomic_retain, atomic_release, atomic_push},
	atomic_methods, atomic_meta
};

static const luaL_Reg atomic_funcs[] = {
	{"int", l_atomic_new},
	{NULL, NULL}
};

static pthread_once_t types_once = PTHREAD_ONCE_INIT;

/* Once per process: the handle types, and the table's functions so that
 * a closure that captured the table (`local atomic = ...`) can cross states. */
static void register_types(void)
{
	const luaL_Reg *r;

	chl_lua_type_register(&atomic_type);
	for (r = atomic_funcs; r->name; r++)
		chl_transfer_register_cfunction(r->name, r->func);
}

int chl_open_atomic(lua_State *L)
{
	pthread_once(&types_once, register_types);
	luaL_newlib(L, atomic_funcs);
	return 1;
}
