/*
 * error.c - raising errors by error.h's rule.
 */
#include "chanlab.h"
#include "runtime/error.h"

int chl_lua_raise(lua_State *L, int status)
{
	if (status == CHL_NOMEM)
		return chl_lua_nomem(L);
	return chl_lua_raise_words(L, chl_strerror(status));
}

int chl_lua_raise_words(lua_State *L, const char *words)
{
	lua_pushstring(L, words);
	return lua_error(L);
}

int chl_lua_nomem(lua_State *L)
{
	lua_pushliteral(L, "not enough memory");
	return lua_error(L);
}
