/*
 * lib.h - a part of the Lua API (`sync`, `chan`, `go` ...) as the runtime
 * sees it: a global name, the function that makes its value, and what
 * must be registered for transfer before any goroutine runs.
 *
 * Each API file (bindings/api/) defines one chl_lua_lib; bindings/module.c
 * lists them all, registers them once (chl_lua_libs_register) and hands
 * the list to the runtime, whose lazy environment opens a part when a
 * goroutine first names it.  The registries are then complete before the
 * first goroutine starts, and read-only while goroutines run.
 */
#ifndef CHL_LIB_H
#define CHL_LIB_H

#include "runtime/handle.h"

typedef struct chl_lua_lib {
	const char *name;                 /* its global name, e.g. "sync" */
	lua_CFunction open;               /* pushes its value (one) */
	/* Light C functions that a closure may capture and carry to another
	 * state (the table's functions): NULL-ended lists, or NULL. */
	const luaL_Reg *funcs;
	const luaL_Reg *more_funcs;
	chl_lua_type *const *types;       /* its handle types, NULL-ended, or NULL */
} chl_lua_lib;

/* Register every lib's types and functions for transfer; the first call
 * in the process does it, later calls return at once.  Call before any
 * goroutine runs. */
void chl_lua_libs_register(const chl_lua_lib *const *libs);

/* The lib called name in libs, or NULL. */
const chl_lua_lib *chl_lua_lib_find(const chl_lua_lib *const *libs, const char *name);

#endif
