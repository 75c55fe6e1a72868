/*
 * duration.h - durations between Lua (seconds, as floats, like time.ms)
 * and the core (int64_t nanoseconds).
 */
#ifndef CHL_DURATION_H
#define CHL_DURATION_H

#include <stdint.h>
#include <lua.h>

/* The number at idx, in seconds, as nanoseconds: saturating at the int64
 * range; negative stays negative; NaN raises a bad argument error. */
int64_t chl_lua_ns(lua_State *L, int idx);

/* Nanoseconds as Lua seconds. */
double chl_lua_secs(int64_t ns);

#endif
