/*
 * lazyenv.c - globals made on first use (lazyenv.h).
 */
#include <pthread.h>
#include <string.h>

#include <lualib.h>

#include "runtime/lazyenv.h"
#include "runtime/lib.h"
#include "runtime/limits.h"
#include "runtime/rt.h"
#include "runtime/sandbox.h"

typedef struct named_fn {
	const char *name;
	lua_CFunction fn;
} named_fn;

/* Base functions, filled once from a template state. */
#define MAX_BASE 40
static named_fn base_fns[MAX_BASE];
static int nbase;
static pthread_once_t base_once = PTHREAD_ONCE_INIT;

static void collect_base(void)
{
	lua_State *T = luaL_newstate();

	if (!T)
		return;
	luaL_requiref(T, "_G", luaopen_base, 0);
	lua_pushnil(T);
	while (lua_next(T, -2)) {
		if (lua_type(T, -2) == LUA_TSTRING && lua_iscfunction(T, -1) &&
		    lua_getupvalue(T, -1, 1) == NULL && nbase < MAX_BASE) {
			base_fns[nbase].name = strdup(lua_tostring(T, -2));
			base_fns[nbase].fn = lua_tocfunction(T, -1);
			nbase++;
		}
		lua_pop(T, 1);
	}
	lua_close(T);
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
	pthread_once(&base_once, collect_base);
	for (int i = 0; i < nbase; i++)
		if (strcmp(name, base_fns[i].name) == 0)
			return base_fns[i].fn;
	return NULL;
}

void chl_lazyenv_install(lua_State *L)
{
	pthread_once(&base_once, collect_base);
	fresh_env(L);
}

void chl_lazyenv_reset(lua_State *L)
{
	fresh_env(L);
	/* libraries reopen, on first use, into the new globals */
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
}
