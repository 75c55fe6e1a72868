/*
 * error.h - the one rule for errors raised by the bindings.
 *
 *  1. Go's words: a misuse Go would answer with a panic ("send on closed
 *     channel", "sync: negative WaitGroup counter", "nil key") is raised
 *     through chl_lua_raise / chl_lua_raise_words as the bare text, with
 *     no "file:line:" prefix, so that pcall sees exactly Go's message and
 *     a panic prints it as Go would.
 *  2. Usage: a bad argument or a call Lua itself would refuse is raised
 *     with its position, through luaL_argerror / luaL_typeerror /
 *     luaL_error ("bad argument #1 to 'send'", "select: case #2 is not a
 *     table").
 *  3. Out of memory: always chl_lua_nomem, Lua's own words ("not enough
 *     memory"), whatever part of the process ran out.
 * Expected outcomes are never errors: they are returned (v, ok = recv()).
 */
#ifndef CHL_ERROR_H
#define CHL_ERROR_H

#include <lua.h>

/* Raise Go's words for a core status (CHL_NOMEM: as chl_lua_nomem). */
int chl_lua_raise(lua_State *L, int status);

/* Raise Go's words given as text (static or on the stack below). */
int chl_lua_raise_words(lua_State *L, const char *words);

/* Raise the out-of-memory error. */
int chl_lua_nomem(lua_State *L);

#endif
