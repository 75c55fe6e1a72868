/*
 * lazyenv.h - a goroutine's globals, made on first use.
 *
 * Opening every standard library costs ~21 us per state, ten times a whole
 * goroutine's budget, and most goroutines touch a handful of names.  So a
 * new state gets only a metatable on its globals table whose __index makes
 * what is asked for, stores it (rawset) and returns it:
 *  - base functions (print, pairs, pcall ...): plain C functions taken once
 *    per process from a template state, pushed as light C functions;
 *  - libraries (string, table, math ...): opened with luaL_requiref;
 *  - the chanlab API (go, chan, sync ...): the runtime's libs (rt.h),
 *    opened by their own function.
 * Strings get a metatable at once whose __index opens the string library,
 * so ("x"):rep(3) works without naming `string` first.
 * After the first access a name is an ordinary global: no further cost.
 */
#ifndef CHL_LAZYENV_H
#define CHL_LAZYENV_H

#include <lua.h>

/* The base library's function called name (its C function, the same in
 * every state), or NULL (no such function, or out of memory). */
lua_CFunction chl_lazyenv_base(const char *name);

/* Set up a fresh state's globals. */
void chl_lazyenv_install(lua_State *L);

/* Give a used state (from the pool) fresh globals: nothing of the
 * previous goroutine's environment is visible. */
void chl_lazyenv_reset(lua_State *L);

#endif
