/*
 * handle.h - handles: Lua userdata holding one reference to a shared C
 * object of the core (channel, waitgroup, context ...).
 *
 * Every handle is a full userdata of one layout (handle.c) whatever its
 * type, so one pair of functions gets and pushes them all; a type is a
 * static chl_lua_type that names its metatable, how to count references
 * to its object, and its methods:
 *
 *     static chl_lua_type wg_type = CHL_LUA_TYPE("chanlab.waitgroup",
 *         wg_retain, wg_release, wg_methods, wg_meta);
 *
 * A handle's metatable is made in each state on first use; its methods
 * come in one by one on their first call (a parked goroutine pays only for
 * the methods it used).  __gc releases the reference, __eq compares the
 * objects.  Handles cross states shared (value/transfer.h): the message
 * holds its own reference.
 */
#ifndef CHL_HANDLE_H
#define CHL_HANDLE_H

#include <lua.h>
#include <lauxlib.h>

#include "value/transfer.h"

typedef struct chl_reach chl_reach;          /* runtime/leaks.h */

/* A handle type: its transfer description plus its methods.  `methods`
 * go into __index; `metamethods` (__tostring, __close, __call...) into the
 * metatable itself.  `reach` tells the leak detector what a holder of
 * the object can wake or get at (runtime/leaks.h); NULL: the object is a
 * primitive whose waiters any holder can wake (waitgroup, mutex...). */
typedef struct chl_lua_type {
	chl_handle_type h;         /* first: transfer sees a chl_handle_type */
	const luaL_Reg *methods;
	const luaL_Reg *metamethods;
	void (*reach)(void *obj, chl_reach *r);
} chl_lua_type;

/* The generic get and push every type's transfer description uses. */
void *chl_lua_handle_get(lua_State *L, int idx, const chl_handle_type *t);
void chl_lua_handle_push(lua_State *L, const chl_handle_type *t, void *obj);

#define CHL_LUA_TYPE(tname, retain, release, methods, metamethods)          \
	{ { (tname), chl_lua_handle_get, (retain), (release),               \
	    chl_lua_handle_push }, (methods), (metamethods), NULL }

/* The same with a reach function for the leak detector. */
#define CHL_LUA_TYPE_REACH(tname, retain, release, methods, metamethods, reach) \
	{ { (tname), chl_lua_handle_get, (retain), (release),               \
	    chl_lua_handle_push }, (methods), (metamethods), (reach) }

/* Push a new userdata for obj, taking over one reference.  Out of memory
 * it releases that reference and raises Lua's memory error. */
void chl_lua_push(lua_State *L, const chl_lua_type *t, void *obj);
/* The object behind the handle at idx; raises "bad argument" otherwise. */
void *chl_lua_check(lua_State *L, int idx, const chl_lua_type *t);
/* The object behind the handle at idx, or NULL when it is not one of t. */
void *chl_lua_test(lua_State *L, int idx, const chl_lua_type *t);

/* If the value at idx is a handle of any registered type: its type, and
 * its object in *obj (NULL once collected).  Else NULL.  Reads only:
 * safe on a state that is not running (the leak detector). */
const chl_lua_type *chl_lua_handle_peek(lua_State *L, int idx, void **obj);

/* The table every handle type's metatable has as its own metatable in
 * L's state (it resolves methods), as lua_topointer gives it; NULL when
 * none was made yet.  Reads only.  The leak detector's walk skips the
 * handle metatables by it: they hold chanlab's C functions only. */
const void *chl_lua_method_resolver(lua_State *L);

/* The handle type whose transfer description is h, or NULL when h was
 * registered for transfer alone (not through chl_lua_type_register). */
const chl_lua_type *chl_lua_type_of(const chl_handle_type *h);

/* Register t for transfer and method lookup.  Only at startup, before any
 * goroutine runs (runtime/lib.h does it for every API module); up to 32
 * types. */
void chl_lua_type_register(chl_lua_type *t);

#endif
