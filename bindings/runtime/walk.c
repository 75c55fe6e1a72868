/*
 * walk.c - every handle a Lua state can still reach (walk.h).
 *
 * The work list lives on W's stack: objects found and not yet visited sit
 * above the walk's base, each pushed once (seen holds their addresses).
 * The loop copies the top one into a fixed slot (`cur`), pops it and
 * visits it, which pushes what it leads to.  No recursion, so a long
 * linked list costs stack slots, not C frames.  Only non-allocating API
 * calls are used on the walked state (no string is pushed, no table
 * made): nothing can start a collection step, hence no finalizer, and
 * lua_next/getlocal/getupvalue only read.  Stacks grow through
 * lua_checkstack, which returns 0 instead of raising.
 */
#include <string.h>

#include "runtime/walk.h"

typedef struct walker {
	lua_State *W;              /* the stack the work lives on */
	chl_ptrmap *seen;          /* objects pushed so far */
	chl_walk_fn fn;
	void *arg;
	int base;                  /* W's top when the walk began */
	const void *resolver;      /* the handle metatables' metatable */
	bool ok;                   /* false: a stack or seen ran out */
} walker;

/* Room for n more values on L; marks the walk failed when there is none. */
static bool room(walker *k, lua_State *L, int n)
{
	if (k->ok && !lua_checkstack(L, n))
		k->ok = false;
	return k->ok;
}

/* Can a value of type t lead to other values? */
static bool is_object(int t)
{
	return t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA || t == LUA_TTHREAD;
}

/* Is the value on top of W an object not met before?  Marks it met.  A C
 * function without upvalues leads nowhere: not an object to walk (the
 * globals hold a score of them in every state). */
static bool fresh(walker *k)
{
	bool added = false;

	switch (lua_type(k->W, -1)) {
	case LUA_TFUNCTION:
		if (lua_iscfunction(k->W, -1)) {
			if (!lua_getupvalue(k->W, -1, 1))
				return false;
			lua_pop(k->W, 1);
		}
		break;
	case LUA_TTABLE:
	case LUA_TUSERDATA:
	case LUA_TTHREAD:
		break;
	default:
		return false;
	}
	if (!chl_ptrmap_put(k->seen, lua_topointer(k->W, -1), 0, &added))
		k->ok = false;
	return added;
}

/* The value on top of W: keep it as work (it stays) or drop it. */
static void keep(walker *k)
{
	if (!fresh(k))
		lua_pop(k->W, 1);
}

/* The value on top of L (a thread of W's state): move it to W and keep it. */
static void take(walker *k, lua_State *L)
{
	if (L != k->W)
		lua_xmove(L, k->W, 1);
	keep(k);
}

/* Push the metatable of the value at idx, if any, as work. */
static void keep_metatable(walker *k, int idx)
{
	if (room(k, k->W, 2) && lua_getmetatable(k->W, idx))
		keep(k);
}

/* Weakness of the table whose metatable is at mt: a raw scan for
 * "__mode" (pushing the key would be an allocation). */
static void weakness(walker *k, int mt, bool *weak_k, bool *weak_v)
{
	lua_State *W = k->W;

	lua_pushnil(W);
	while (lua_next(W, mt)) {
		if (lua_type(W, -2) == LUA_TSTRING && lua_type(W, -1) == LUA_TSTRING &&
		    strcmp(lua_tostring(W, -2), "__mode") == 0) {
			const char *mode = lua_tostring(W, -1);

			*weak_k = strchr(mode, 'k') != NULL;
			*weak_v = strchr(mode, 'v') != NULL;
			lua_pop(W, 2);
			return;
		}
		lua_pop(W, 1);
	}
}

static void visit_table(walker *k, int t)
{
	lua_State *W = k->W;
	bool weak_k = false, weak_v = false;

	if (!room(k, W, 4))
		return;
	if (lua_getmetatable(W, t)) {
		if (k->resolver && lua_topointer(W, -1) == k->resolver) {
			lua_pop(W, 1);   /* a handle type's metatable: C functions */
			return;
		}
		weakness(k, lua_gettop(W), &weak_k, &weak_v);
		keep(k);
	}
	lua_pushnil(W);
	while (lua_next(W, t)) {                   /* key value */
		if (!room(k, W, 3)) {
			lua_pop(W, 2);
			return;
		}
		if (!weak_v && fresh(k))
			lua_insert(W, -2);                 /* value key */
		else
			lua_pop(W, 1);
		if (!weak_k && is_object(lua_type(W, -1))) {
			lua_pushvalue(W, -1);              /* key key */
			if (fresh(k))
				lua_insert(W, -2);
			else
				lua_pop(W, 1);
		}
	}
}

static void visit_function(walker *k, int f)
{
	for (int n = 1; room(k, k->W, 2) && lua_getupvalue(k->W, f, n); n++)
		keep(k);
}

static void visit_userdata(walker *k, int u)
{
	void *obj = NULL;
	const chl_lua_type *t = chl_lua_handle_peek(k->W, u, &obj);

	if (t && obj)
		k->fn(t, obj, k->arg);
	keep_metatable(k, u);
	for (int n = 1; room(k, k->W, 2); n++) {
		if (lua_getiuservalue(k->W, u, n) == LUA_TNONE) {
			lua_pop(k->W, 1);
			break;
		}
		keep(k);
	}
}

/* Every frame of L: its function, its locals and temporaries (up to the
 * top for the innermost; for W's own innermost frame, up to the top it
 * had when the walk began), its varargs.  A thread with no frame (a
 * coroutine not started, or finished): the values on its stack. */
static void visit_thread(walker *k, lua_State *L)
{
	lua_Debug ar;
	int level, n, top;

	for (level = 0; k->ok && lua_getstack(L, level, &ar); level++) {
		if (!room(k, L, 2) || !room(k, k->W, 2))
			return;
		lua_getinfo(L, "f", &ar);
		take(k, L);
		for (n = 1; L != k->W || level > 0 || n <= k->base; n++) {
			if (!room(k, L, 2) || !room(k, k->W, 2) || !lua_getlocal(L, &ar, n))
				break;
			take(k, L);
		}
		for (n = -1; room(k, L, 2) && room(k, k->W, 2) && lua_getlocal(L, &ar, n); n--)
			take(k, L);
	}
	if (level > 0)
		return;
	top = L == k->W ? k->base : lua_gettop(L);
	for (n = 1; n <= top && room(k, L, 2) && room(k, k->W, 2); n++) {
		lua_pushvalue(L, n);
		take(k, L);
	}
}

static int no_op(lua_State *L)
{
	(void)L;
	return 0;
}

/* The metatables of the basic types that have no object to hang on:
 * nil, booleans, numbers, light userdata, (light C) functions, threads. */
static void keep_type_metatables(walker *k)
{
	lua_State *W = k->W;

	for (int i = 0; i < 6 && room(k, W, 3); i++) {
		switch (i) {
		case 0: lua_pushnil(W); break;
		case 1: lua_pushboolean(W, 0); break;
		case 2: lua_pushinteger(W, 0); break;
		case 3: lua_pushlightuserdata(W, k); break;
		case 4: lua_pushcfunction(W, no_op); break;
		default: lua_pushthread(W); break;
		}
		if (lua_getmetatable(W, -1)) {
			lua_insert(W, -2);
			lua_pop(W, 1);
			keep(k);
		} else {
			lua_pop(W, 1);
		}
	}
}

bool chl_walk_state(lua_State *W, chl_ptrmap *seen, chl_walk_fn fn, void *arg)
{
	walker k = { W, seen, fn, arg, lua_gettop(W), NULL, true };
	int cur;

	chl_ptrmap_clear(seen);
	if (!lua_checkstack(W, 8))
		return false;
	k.resolver = chl_lua_method_resolver(W);
	lua_pushnil(W);
	cur = lua_gettop(W);
	lua_pushvalue(W, LUA_REGISTRYINDEX);
	keep(&k);
	lua_pushthread(W);
	keep(&k);
	keep_type_metatables(&k);
	while (k.ok && lua_gettop(W) > cur) {
		lua_copy(W, -1, cur);
		lua_pop(W, 1);
		switch (lua_type(W, cur)) {
		case LUA_TTABLE:
			visit_table(&k, cur);
			break;
		case LUA_TFUNCTION:
			visit_function(&k, cur);
			break;
		case LUA_TUSERDATA:
			visit_userdata(&k, cur);
			break;
		case LUA_TTHREAD:
			visit_thread(&k, lua_tothread(W, cur));
			break;
		default:
			break;
		}
	}
	lua_settop(W, k.base);
	return k.ok;
}
