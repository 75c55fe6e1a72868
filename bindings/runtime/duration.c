/*
 * duration.c - seconds <-> nanoseconds (duration.h).
 */
#include <math.h>

#include <lauxlib.h>

#include "runtime/duration.h"

int64_t chl_lua_ns(lua_State *L, int idx)
{
	double s = luaL_checknumber(L, idx) * 1e9;

	if (isnan(s))
		luaL_argerror(L, idx, "duration is NaN");
	if (s >= 9.2e18)
		return INT64_MAX;
	if (s <= -9.2e18)
		return INT64_MIN;
	return (int64_t)s;
}

double chl_lua_secs(int64_t ns)
{
	return (double)ns / 1e9;
}
