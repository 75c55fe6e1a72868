/*
 * handle.c - handle userdata: layout, metatables made on first use,
 * methods resolved on first call (handle.h).
 */
#include <string.h>

#include "check.h"
#include "runtime/handle.h"

typedef struct handle {
	void *obj;                 /* one reference, or NULL once collected */
	const chl_lua_type *t;     /* its type: __gc needs no closure */
} handle;

static int handle_gc(lua_State *L)
{
	handle *h = lua_touserdata(L, 1);

	if (h && h->obj) {
		h->t->h.release(h->obj);
		h->obj = NULL;
	}
	return 0;
}

static int handle_eq(lua_State *L)
{
	handle *a = lua_touserdata(L, 1), *b = lua_touserdata(L, 2);

	lua_pushboolean(L, a && b && a->obj == b->obj);
	return 1;
}

/* Every registered type, for resolve_method; filled at startup. */
#define MAX_LUA_TYPES 32
static const chl_lua_type *lua_types[MAX_LUA_TYPES];
static int nlua_types;

/* The method t has under name, or NULL. */
static lua_CFunction find_method(const chl_lua_type *t, const char *name)
{
	for (const luaL_Reg *r = t->methods; r && r->name; r++)
		if (strcmp(r->name, name) == 0)
			return r->func;
	return NULL;
}

/* __index of the metatables' own metatable: a handle's metatable (which is
 * also its method table) starts with the metamethods only, and a method is
 * copied in by its first call here, with the metatable and the name.  A
 * goroutine meets a handle type to call a method or two, and the rest of
 * the methods would cost it their names and table slots: about 500 bytes
 * a type, paid by every parked goroutine.  After the first call a method
 * is a plain table hit again. */
static int resolve_method(lua_State *L)
{
	const chl_lua_type *t = NULL;
	lua_CFunction f = NULL;

	if (lua_type(L, 2) != LUA_TSTRING)
		return 0;
	lua_pushliteral(L, "__name");
	if (lua_rawget(L, 1) == LUA_TSTRING) {
		const char *tname = lua_tostring(L, -1);

		for (int i = 0; i < nlua_types && !t; i++)
			if (strcmp(lua_types[i]->h.tname, tname) == 0)
				t = lua_types[i];
	}
	lua_pop(L, 1);
	if (!t || !(f = find_method(t, lua_tostring(L, 2))))
		return 0;
	lua_pushcfunction(L, f);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

/* Push this state's { __index = resolve_method }, made on first use. */
static char resolver_key;

static void push_resolver(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &resolver_key) != LUA_TNIL)
		return;
	lua_pop(L, 1);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, resolve_method);
	lua_setfield(L, -2, "__index");
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &resolver_key);
}

const void *chl_lua_method_resolver(lua_State *L)
{
	const void *p;

	lua_rawgetp(L, LUA_REGISTRYINDEX, &resolver_key);
	p = lua_type(L, -1) == LUA_TTABLE ? lua_topointer(L, -1) : NULL;
	lua_pop(L, 1);
	return p;
}

/* Push t's metatable, making it in this state on first use.  It is kept
 * in the registry under its name (luaL_newmetatable, what value/encode.c and
 * luaL_checkudata look for) and under t's address, which is what
 * chl_lua_test compares with: a light-userdata key needs no string
 * interning, which costs a strcmp on every method call. */
static void push_metatable(lua_State *L, const chl_lua_type *t)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, t) != LUA_TNIL)
		return;
	lua_pop(L, 1);
	/* Filled even when it exists by name: a first try that ran out of
	 * memory half-way left it registered but incomplete. */
	luaL_newmetatable(L, t->h.tname);
	{
		/* One table is both the metatable and the method table; its
		 * methods come in on first use (resolve_method). */
		if (t->methods) {
			lua_pushvalue(L, -1);
			lua_setfield(L, -2, "__index");
			push_resolver(L);
			lua_setmetatable(L, -2);
		}
		if (t->metamethods)
			luaL_setfuncs(L, t->metamethods, 0);
		lua_pushcfunction(L, handle_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, handle_eq);
		lua_setfield(L, -2, "__eq");
	}
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, t);
}

/* Protected (chl_lua_push): the metatable, then the userdata. */
static int push_in(lua_State *L)
{
	const chl_lua_type *t = lua_touserdata(L, 1);
	handle *h;

	push_metatable(L, t);
	h = lua_newuserdatauv(L, sizeof *h, 0);
	h->obj = lua_touserdata(L, 2);
	h->t = t;
	lua_insert(L, -2);
	lua_setmetatable(L, -2);
	return 1;
}

void chl_lua_push(lua_State *L, const chl_lua_type *t, void *obj)
{
	lua_pushcfunction(L, push_in);
	lua_pushlightuserdata(L, (void *)t);
	lua_pushlightuserdata(L, obj);
	if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
		t->h.release(obj);     /* the reference was ours to keep */
		lua_error(L);
	}
}

/* Is the value at idx a handle of type t?  Every handle is a full
 * userdata of exactly sizeof(handle) whose `t` is the type's (static)
 * address; only C code writes into userdata, and no other C code of this
 * process stores our type's address there, so that identifies it without
 * the metatable lookups a method call would otherwise pay for. */
static handle *test_handle(lua_State *L, int idx, const chl_lua_type *t)
{
	handle *h = lua_touserdata(L, idx);

	/* a light userdata has rawlen 0 */
	if (!h || lua_rawlen(L, idx) != sizeof(handle) || h->t != t)
		return NULL;
	return h;
}

void *chl_lua_test(lua_State *L, int idx, const chl_lua_type *t)
{
	handle *h = test_handle(L, idx, t);

	return h ? h->obj : NULL;
}

void *chl_lua_check(lua_State *L, int idx, const chl_lua_type *t)
{
	handle *h = test_handle(L, idx, t);

	if (!h)
		luaL_typeerror(L, idx, t->h.tname + sizeof "chanlab." - 1);
	if (!h->obj)
		luaL_argerror(L, idx, "handle already released");
	return h->obj;
}

const chl_lua_type *chl_lua_handle_peek(lua_State *L, int idx, void **obj)
{
	handle *h = lua_touserdata(L, idx);

	if (!h || lua_type(L, idx) != LUA_TUSERDATA || lua_rawlen(L, idx) != sizeof(handle))
		return NULL;
	for (int i = 0; i < nlua_types; i++) {
		if (lua_types[i] == h->t) {
			*obj = h->obj;
			return h->t;
		}
	}
	return NULL;
}

const chl_lua_type *chl_lua_type_of(const chl_handle_type *h)
{
	for (int i = 0; i < nlua_types; i++)
		if (&lua_types[i]->h == h)
			return lua_types[i];
	return NULL;
}

void chl_lua_type_register(chl_lua_type *t)
{
	chl_assert(nlua_types < MAX_LUA_TYPES);
	lua_types[nlua_types++] = t;
	chl_handle_type_register(&t->h);
}

void *chl_lua_handle_get(lua_State *L, int idx, const chl_handle_type *t)
{
	return chl_lua_test(L, idx, (const chl_lua_type *)t);
}

void chl_lua_handle_push(lua_State *L, const chl_handle_type *t, void *obj)
{
	chl_lua_push(L, (const chl_lua_type *)t, obj);
}
