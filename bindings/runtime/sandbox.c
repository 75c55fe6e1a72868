/*
 * sandbox.c - the restricted standard library (sandbox.h).
 *
 * Each restricted library is made from the real one (its opener called
 * as a plain function, so it is not registered in package.loaded): the
 * allowed functions are copied into a fresh table, which then replaces
 * the real one in package.loaded, so `require "io"` and a message naming
 * io.write both find the sandbox's.  The real table is dropped.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "runtime/error.h"
#include "runtime/lazyenv.h"
#include "runtime/lib.h"
#include "runtime/limits.h"
#include "runtime/rt.h"
#include "runtime/sandbox.h"

/* ---- refusals ---- */

static int refused(lua_State *L)
{
	lua_pushfstring(L, "sandbox: %s is not available", lua_tostring(L, lua_upvalueindex(1)));
	return lua_error(L);
}

static void push_refused(lua_State *L, const char *lib, const char *name)
{
	if (lib)
		lua_pushfstring(L, "%s.%s", lib, name);
	else
		lua_pushstring(L, name);
	lua_pushcclosure(L, refused, 1);
}

/* The real library at -2, the sandbox's at -1: copy the allowed fields
 * (NULL-ended) into it, and give it a metatable whose __index holds a
 * refusal for every other field of the real one.  Pops the real one and
 * stores the sandbox's as package.loaded[lib]. */
static void restrict_lib(lua_State *L, const char *lib, const char *const *allowed)
{
	int real = lua_absindex(L, -2), sb = lua_absindex(L, -1), refusals;

	for (const char *const *a = allowed; *a; a++) {
		lua_getfield(L, real, *a);
		lua_setfield(L, sb, *a);
	}
	lua_createtable(L, 0, 1);                  /* sb + 1: the metatable */
	lua_newtable(L);                           /* its __index */
	refusals = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, real)) {
		lua_pop(L, 1);                     /* the key stays */
		if (lua_type(L, -1) != LUA_TSTRING)
			continue;
		lua_pushvalue(L, -1);
		if (lua_rawget(L, sb) == LUA_TNIL) {
			lua_pushvalue(L, -2);
			push_refused(L, lib, lua_tostring(L, -1));
			lua_rawset(L, refusals);   /* refusals[key] = stub */
		}
		lua_pop(L, 1);
	}
	lua_setfield(L, sb + 1, "__index");
	lua_setmetatable(L, sb);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_pushvalue(L, sb);
	lua_setfield(L, -2, lib);
	lua_pop(L, 1);
	lua_remove(L, real);
}

/* Call a library's opener as a plain function: its table on top. */
static void open_real(lua_State *L, lua_CFunction open)
{
	lua_pushcfunction(L, open);
	lua_call(L, 0, 1);
}

/* ---- io, os, debug, package ---- */

static const char *const io_allowed[] = { "write", "flush", "stdout", "stderr", NULL };
static const char *const file_allowed[] = { "write", "flush", NULL };
static const char *const os_allowed[] = { "time", "clock", "date", NULL };
static const char *const debug_allowed[] = { "traceback", NULL };

/* The files' methods: write and flush only, and the metatable hidden
 * (its __gc and __close would close stdout). */
static void restrict_files(lua_State *L)
{
	luaL_getmetatable(L, LUA_FILEHANDLE);
	lua_getfield(L, -1, "__index");
	lua_createtable(L, 0, 2);
	for (const char *const *a = file_allowed; *a; a++) {
		lua_getfield(L, -2, *a);
		lua_setfield(L, -2, *a);
	}
	lua_setfield(L, -3, "__index");
	lua_pop(L, 1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
}

static void push_io(lua_State *L)
{
	open_real(L, luaopen_io);
	restrict_files(L);
	lua_createtable(L, 0, 4);
	restrict_lib(L, "io", io_allowed);
}

static void push_os(lua_State *L)
{
	open_real(L, luaopen_os);
	lua_createtable(L, 0, 3);
	restrict_lib(L, "os", os_allowed);
}

static void push_debug(lua_State *L)
{
	open_real(L, luaopen_debug);
	lua_createtable(L, 0, 1);
	restrict_lib(L, "debug", debug_allowed);
}

/* The folder require searches: the script's, or the current one. */
static const char *module_dir(void)
{
	chl_rt *rt = chl_rt_current();
	const char *dir = rt ? chl_rt_script_dir(rt) : NULL;

	return dir ? dir : ".";
}

static void push_package(lua_State *L)
{
	const char *dir = module_dir();

	lua_createtable(L, 0, 4);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_setfield(L, -2, "loaded");
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_setfield(L, -2, "preload");
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", dir, dir);
	lua_setfield(L, -2, "path");
	lua_pushliteral(L, "/\n;\n?\n!\n-\n");
	lua_setfield(L, -2, "config");
	lua_createtable(L, 0, 1);
	lua_createtable(L, 0, 3);
	push_refused(L, "package", "loadlib");
	lua_setfield(L, -2, "loadlib");
	push_refused(L, "package", "searchpath");
	lua_setfield(L, -2, "searchpath");
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_pushvalue(L, -2);
	lua_setfield(L, -2, "package");
	lua_pop(L, 1);
}

/* ---- load, collectgarbage, require ---- */

/* load(chunk [, chunkname [, mode [, env]]]) with mode "t" whatever was
 * asked: Lua itself then refuses a binary chunk (nil, message). */
static int sb_load(lua_State *L)
{
	lua_CFunction real = chl_lazyenv_base("load");

	if (lua_gettop(L) < 3)
		lua_settop(L, 3);      /* env stays absent: the globals */
	lua_pushliteral(L, "t");
	lua_replace(L, 3);
	return real ? real(L) : chl_lua_nomem(L);
}

static int sb_collectgarbage(lua_State *L)
{
	lua_CFunction real = chl_lazyenv_base("collectgarbage");
	const char *opt = luaL_optstring(L, 1, "collect");

	if (!real)
		return chl_lua_nomem(L);
	if (strcmp(opt, "count") != 0) {
		lua_pushfstring(L, "sandbox: collectgarbage(\"%s\") is not available", opt);
		return lua_error(L);
	}
	return real(L);
}

/* A module name that stays inside the folder: letters, digits, _ and -,
 * dots between them. */
static int name_ok(const char *name)
{
	const char *p;

	if (!*name || *name == '.')
		return 0;
	for (p = name; *p; p++) {
		if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
			return 0;
		if (*p != '.' && *p != '_' && *p != '-' &&
		    !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9'))
			return 0;
	}
	return 1;
}

/* Push the path of the module's file and return 1, or push what was
 * tried and return 0. */
static int find_module(lua_State *L, const char *name)
{
	static const char *const forms[] = { "%s/%s.lua", "%s/%s/init.lua" };
	const char *dir = module_dir();
	luaL_Buffer tried;
	char *rel;
	int found = 0;

	lua_pushstring(L, name);
	rel = (char *)luaL_gsub(L, lua_tostring(L, -1), ".", "/");
	lua_remove(L, -2);
	luaL_buffinit(L, &tried);
	for (size_t i = 0; i < sizeof forms / sizeof *forms && !found; i++) {
		const char *path = lua_pushfstring(L, forms[i], dir, rel);
		FILE *f = fopen(path, "r");

		if (f) {
			fclose(f);
			found = 1;
			break;
		}
		lua_pushfstring(L, "\n\tno file '%s'", path);
		lua_remove(L, -2);
		luaL_addvalue(&tried);
	}
	if (found) {
		lua_replace(L, -2);     /* drop rel; buffer is empty */
		lua_remove(L, -2);
		return 1;
	}
	luaL_pushresult(&tried);
	lua_remove(L, -2);          /* rel */
	return 0;
}

/* require(name): package.loaded, package.preload, then a Lua file in the
 * script's folder, loaded as text.  Never a C module. */
static int sb_require(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	chl_rt *rt = chl_rt_current();

	lua_settop(L, 1);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);   /* 2 */
	if (lua_getfield(L, 2, name) != LUA_TNIL && lua_toboolean(L, -1))
		return 1;
	lua_pop(L, 1);
	if (strcmp(name, "chanlab") == 0 && rt) {   /* the API's globals, in one table */
		lua_newtable(L);
		for (const chl_lua_lib *const *p = chl_rt_libs(rt); p && *p; p++) {
			lua_getglobal(L, (*p)->name);
			lua_setfield(L, -2, (*p)->name);
		}
		lua_pushvalue(L, -1);
		lua_setfield(L, 2, name);
		return 1;
	}
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);  /* 3 */
	if (lua_getfield(L, 3, name) == LUA_TFUNCTION) {             /* 4 */
		lua_pushliteral(L, ":preload:");
	} else {
		lua_pop(L, 1);
		if (!name_ok(name))
			return luaL_error(L, "sandbox: bad module name '%s'", name);
		if (!find_module(L, name))
			return luaL_error(L, "module '%s' not found:%s\n\tsandbox: C modules "
					  "are not available", name, lua_tostring(L, -1));
		if (luaL_loadfilex(L, lua_tostring(L, -1), "t") != LUA_OK)
			return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s",
					  name, lua_tostring(L, -2), lua_tostring(L, -1));
		lua_insert(L, -2);      /* loader, path */
	}
	lua_pushvalue(L, 1);
	lua_insert(L, -2);          /* loader, name, data */
	lua_pushvalue(L, -1);
	lua_insert(L, 4);           /* keep data at 4 for the second result */
	lua_call(L, 2, 1);
	if (!lua_isnil(L, -1))
		lua_setfield(L, 2, name);
	else
		lua_pop(L, 1);
	if (lua_getfield(L, 2, name) == LUA_TNIL) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
		lua_pushvalue(L, -1);
		lua_setfield(L, 2, name);
	}
	lua_pushvalue(L, 4);
	return 2;
}

/* ---- string: the pattern functions say where they were called ----
 *
 * A pattern can backtrack for minutes inside one C call, where no count
 * hook runs; the limits' watchdog then ends the program naming the line
 * the goroutine was last seen at (limits.h).  So these four note the
 * line of their caller first. */

static lua_CFunction real_find, real_match, real_gmatch, real_gsub;
static pthread_once_t string_once = PTHREAD_ONCE_INIT;

static int collect_string_in(lua_State *T)
{
	luaL_requiref(T, "string", luaopen_string, 0);
	lua_getfield(T, -1, "find");
	real_find = lua_tocfunction(T, -1);
	lua_getfield(T, -2, "match");
	real_match = lua_tocfunction(T, -1);
	lua_getfield(T, -3, "gmatch");
	real_gmatch = lua_tocfunction(T, -1);
	lua_getfield(T, -4, "gsub");
	real_gsub = lua_tocfunction(T, -1);
	return 0;
}

/* Out of memory: the four stay unwrapped (the lines are seen less). */
static void collect_string(void)
{
	lua_State *T = luaL_newstate();

	if (!T)
		return;
	lua_pushcfunction(T, collect_string_in);
	if (lua_pcall(T, 0, 0, 0) != LUA_OK)
		real_find = NULL;
	lua_close(T);
}

static int sb_find(lua_State *L) { chl_limits_see(L); return real_find(L); }
static int sb_match(lua_State *L) { chl_limits_see(L); return real_match(L); }
static int sb_gmatch(lua_State *L) { chl_limits_see(L); return real_gmatch(L); }
static int sb_gsub(lua_State *L) { chl_limits_see(L); return real_gsub(L); }

static const luaL_Reg string_noted[] = {
	{ "find", sb_find }, { "match", sb_match }, { "gmatch", sb_gmatch },
	{ "gsub", sb_gsub }, { NULL, NULL }
};

static int open_string(lua_State *L)
{
	pthread_once(&string_once, collect_string);
	luaopen_string(L);         /* also sets the strings' metatable */
	if (real_find && real_match && real_gmatch && real_gsub)
		luaL_setfuncs(L, string_noted, 0);
	return 1;
}

/* ---- the globals ---- */

int chl_sandbox_global(lua_State *L, const char *name)
{
	switch (name[0]) {
	case 'c':
		if (strcmp(name, "collectgarbage") == 0) {
			lua_pushcfunction(L, sb_collectgarbage);
			return 1;
		}
		break;
	case 'd':
		if (strcmp(name, "debug") == 0) {
			push_debug(L);
			return 1;
		}
		if (strcmp(name, "dofile") == 0) {
			push_refused(L, NULL, name);
			return 1;
		}
		break;
	case 's':
		if (strcmp(name, "string") == 0) {
			luaL_requiref(L, name, open_string, 0);
			return 1;
		}
		break;
	case 'i':
		if (strcmp(name, "io") == 0) {
			push_io(L);
			return 1;
		}
		break;
	case 'l':
		if (strcmp(name, "load") == 0) {
			lua_pushcfunction(L, sb_load);
			return 1;
		}
		if (strcmp(name, "loadfile") == 0) {
			push_refused(L, NULL, name);
			return 1;
		}
		break;
	case 'o':
		if (strcmp(name, "os") == 0) {
			push_os(L);
			return 1;
		}
		break;
	case 'p':
		if (strcmp(name, "package") == 0) {
			push_package(L);
			return 1;
		}
		break;
	case 'r':
		if (strcmp(name, "require") == 0) {
			lua_pushcfunction(L, sb_require);
			return 1;
		}
		break;
	}
	return 0;
}

void chl_sandbox_register(void)
{
	chl_transfer_register_cfunction("load", sb_load);
	chl_transfer_register_cfunction("collectgarbage", sb_collectgarbage);
	chl_transfer_register_cfunction("require", sb_require);
	for (const luaL_Reg *r = string_noted; r->name; r++)
		chl_transfer_register_cfunction(r->name, r->func);
}
