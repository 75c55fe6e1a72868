/*
 * lselect.h - chan.select (lselect.c); the `chan` table carries it.
 */
#ifndef CHL_LSELECT_H
#define CHL_LSELECT_H

#include "runtime/lrt.h"

/* chan.select { cases..., default = fn }: see README / DESIGN. */
int chl_lua_select(lua_State *L);

#endif
