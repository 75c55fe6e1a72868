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

#include "api/latomic.h"
#include "runtime/visible.h"

static const chl_lua_op OP_LOAD = { CHL_OP_SYNC, "atomic load", -1 };
static const chl_lua_op OP_STORE = { CHL_OP_SYNC, "atomic store", 2 };
static const chl_lua_op OP_ADD = { CHL_OP_SYNC, "atomic add", -1 };
static const chl_lua_op OP_SWAP = { CHL_OP_SYNC, "atomic swap", -1 };
static const chl_lua_op OP_CAS = { CHL_OP_SYNC, "atomic cas", -1 };

static chl_lua_type atomic_type;

static void atomic_retain(void *o) { chl_atomic_retain(o); }
static void atomic_release(void *o) { chl_atomic_release(o); }

static int l_atomic_new(lua_State *L)
{
	chl_atomic *a = chl_atomic_new((int64_t)luaL_optinteger(L, 1, 0));

	if (!a)
		return chl_lua_nomem(L);
	chl_lua_push(L, &atomic_type, a);
	return 1;
}

static int l_atomic_load(lua_State *L)
{
	chl_atomic *a = chl_lua_check(L, 1, &atomic_type);

	lua_pushinteger(L, (lua_Integer)chl_atomic_load(a));
	return chl_lua_visible(L, &OP_LOAD, a, 1);
}

static int l_atomic_store(lua_State *L)
{
	chl_atomic *a = chl_lua_check(L, 1, &atomic_type);

	chl_atomic_store(a, (int64_t)luaL_checkinteger(L, 2));
	return chl_lua_visible(L, &OP_STORE, a, 0);
}

static int l_atomic_add(lua_State *L)
{
	chl_atomic *a = chl_lua_check(L, 1, &atomic_type);
	int64_t d = (int64_t)luaL_checkinteger(L, 2);

	lua_pushinteger(L, (lua_Integer)chl_atomic_add(a, d));
	return chl_lua_visible(L, &OP_ADD, a, 1);
}

static int l_atomic_swap(lua_State *L)
{
	chl_atomic *a = chl_lua_check(L, 1, &atomic_type);

	lua_pushinteger(L, (lua_Integer)chl_atomic_swap(a, (int64_t)luaL_checkinteger(L, 2)));
	return chl_lua_visible(L, &OP_SWAP, a, 1);
}

static int l_atomic_cas(lua_State *L)
{
	chl_atomic *a = chl_lua_check(L, 1, &atomic_type);
	int64_t old = (int64_t)luaL_checkinteger(L, 2);
	int64_t nv = (int64_t)luaL_checkinteger(L, 3);

	lua_pushboolean(L, chl_atomic_cas(a, old, nv));
	return chl_lua_visible(L, &OP_CAS, a, 1);
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

static chl_lua_type atomic_type =
	CHL_LUA_TYPE("chanlab.atomic", atomic_retain, atomic_release, atomic_methods, atomic_meta);

static const luaL_Reg atomic_funcs[] = {
	{"int", l_atomic_new},
	{NULL, NULL}
};

static chl_lua_type *const atomic_types[] = { &atomic_type, NULL };

static int open_atomic(lua_State *L)
{
	luaL_newlib(L, atomic_funcs);
	return 1;
}

const chl_lua_lib chl_lib_atomic = {
	"atomic", open_atomic, atomic_funcs, NULL, atomic_types
};
