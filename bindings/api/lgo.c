/*
 * lgo.c - go(fn, ...): start a goroutine (runtime/goroutine.h copies the
 * function and its arguments into the new goroutine's own state).
 */
#include "api/lgo.h"
#include "runtime/visible.h"

static const chl_lua_op OP_GO = { CHL_OP_SYNC, "go", 1 };

static int l_go(lua_State *L)
{
	chl_lua_go(L, 1, lua_gettop(L) - 1, NULL);
	return chl_lua_visible(L, &OP_GO, NULL, 0);
}

static int open_go(lua_State *L)
{
	lua_pushcfunction(L, l_go);
	return 1;
}

/* go may be captured by a closure sent to another goroutine. */
static const luaL_Reg go_funcs[] = {
	{ "go", l_go },
	{ NULL, NULL }
};

const chl_lua_lib chl_lib_go = { "go", open_go, go_funcs, NULL, NULL };
