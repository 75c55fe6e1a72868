/*
 * lazyenv.c - globals made on first use (lazyenv.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include <lualib.h>

#include "runtime/error.h"
#include "runtime/lazyenv.h"
#include "runtime/lib.h"
#include "runtime/limits.h"
#include "runtime/rt.h"
#include "runtime/sandbox.h"

typedef struct named_fn {
	char name[16];             /* the longest is "collectgarbage" */
	lua_CFunction fn;
} named_fn;

/* Base functions, collected from a template state at the first need.  A
 * collection that ran out of memory is tried again at the next need. */
#define MAX_BASE 40
static named_fn base_fns[MAX_BASE];
static int nbase;                  /* written before base_ready */
static atomic_bool base_ready;
static pthread_mutex_t base_mu = PTHREAD_MUTEX_INITIALIZER;

/* Protected, in the template state: fills base_fns. */
static int collect_in(lua_State *T)
{
	luaL_requiref(T, "_G", luaopen_base, 0);
	lua_pushnil(T);
	while (lua_next(T, -2)) {
		size_t len;
		const char *k = lua_type(T, -2) == LUA_TSTRING ? lua_tolstring(T, -2, &len) : NULL;

		if (k && len < sizeof base_fns[0].name && lua_iscfunction(T, -1) &&
		    lua_getupvalue(T, -1, 1) == NULL && nbase < MAX_BASE) {
			memcpy(base_fns[nbase].name, k, len + 1);
			base_fns[nbase].fn = lua_tocfunction(T, -1);
			nbase++;
		}
		lua_pop(T, 1);
	}
	return 0;
}

/* True once base_fns is filled; false when out of memory (for now). */
static bool base_known(void)
{
	lua_State *T;

	if (atomic_load_explicit(&base_ready, memory_order_acquire))
		return true;
	pthread_mutex_lock(&base_mu);
	if (!atomic_load_explicit(&base_ready, memory_order_relaxed) && (T = luaL_newstate())) {
		nbase = 0;
		lua_pushcfunction(T, collect_in);
		if (lua_pcall(T, 0, 0, 0) == LUA_OK)
			atomic_store_explicit(&base_ready, true, memory_order_release);
		lua_close(T);
	}
	pthread_mutex_unlock(&base_mu);
	return atomic_load_explicit(&base_ready, memory_order_relaxed);
}

static const luaL_Reg libs[] = {
	{ "string", luaopen_string },
	{ "table", luaopen_table },
	{ "math", luaopen_math },
	{ "io", luaopen_io },
	{ "os", luaopen_os },
	{ "coroutine", luaopen_coroutine },
	{ "utf8", luaopen_utf8 },
	{ "debug", luaopen_debug },
	{ "package", luaopen_package },
	{ NULL, NULL }
};

/* package.path gets the script's folder first, as in the main state. */
static void fix_package_path(lua_State *L)
{
	chl_rt *rt = chl_rt_current();
	const char *dir = rt ? chl_rt_script_dir(rt) : NULL;

	if (!dir || lua_getfield(L, -1, "path") != LUA_TSTRING) {
		if (dir)
			lua_pop(L, 1);
		return;
	}
	lua_pushfstring(L, "%s/?.lua;%s", dir, lua_tostring(L, -1));
	lua_setfield(L, -3, "path");
	lua_pop(L, 1);
}

/* __index(globals, name) */
static int lazy_global(lua_State *L)
{
	const char *name = lua_tostring(L, 2);
	chl_rt *rt = chl_rt_current();
	const chl_lua_lib *lib;
	int i;

	if (lua_type(L, 2) != LUA_TSTRING)
		return 0;
	if (!base_known())
		return chl_lua_nomem(L);
	if (chl_limits_get()->sandbox && chl_sandbox_global(L, name))
		goto store;           /* sandbox.h: a restricted name */
	for (i = 0; i < nbase; i++)
		if (strcmp(name, base_fns[i].name) == 0) {
			lua_pushcfunction(L, base_fns[i].fn);
			goto store;
		}
	for (i = 0; libs[i].name; i++)
		if (strcmp(name, libs[i].name) == 0) {
			luaL_requiref(L, name, libs[i].func, 0);
			if (libs[i].func == luaopen_package)
				fix_package_path(L);
			goto store;
		}
	if (strcmp(name, "require") == 0) {
		lua_getglobal(L, "package");   /* opens it; it sets require */
		lua_pop(L, 1);
		lua_rawget(L, 1);
		return 1;
	}
	if (strcmp(name, "_G") == 0) {
		lua_pushvalue(L, 1);
		goto store;
	}
	if (strcmp(name, "_VERSION") == 0) {
		lua_pushliteral(L, LUA_VERSION);
		goto store;
	}
	if (rt && (lib = chl_lua_lib_find(chl_rt_libs(rt), name))) {
		lib->open(L);
		goto store;
	}
	return 0;
store:
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

/* __index(str, key) of the placeholder string metatable. */
static int lazy_string_index(lua_State *L)
{
	if (chl_limits_get()->sandbox)
		chl_sandbox_global(L, "string");   /* its own string library */
	else
		luaL_requiref(L, "string", luaopen_string, 1);  /* replaces the metatable */
	lua_pushvalue(L, 2);
	lua_gettable(L, -2);
	return 1;
}

/* Make a fresh, empty globals table with the lazy metatable and a
 * placeholder string metatable. */
static void fresh_env(lua_State *L)
{
	lua_createtable(L, 0, 4);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, lazy_global);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	lua_pushliteral(L, "");
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, lazy_string_index);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_pop(L, 1);
}

lua_CFunction chl_lazyenv_base(const char *name)
{
	if (!base_known())
		return NULL;
	for (int i = 0; i < nbase; i++)
		if (strcmp(name, base_fns[i].name) == 0)
			return base_fns[i].fn;
	return NULL;
}

void chl_lazyenv_install(lua_State *L)
{
	fresh_env(L);
}

void chl_lazyenv_reset(lua_State *L)
{
	fresh_env(L);
	/* libraries reopen, on first use, into the new globals */
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
}
