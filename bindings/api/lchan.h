/*
 * lchan.h - channels as Lua values.  A channel userdata holds one
 * reference to a core chl_chan; what its elements are ("kind") is the
 * channel's tag: Lua values (chl_msg pointers) for chan(n), or the fixed
 * C elements of channels the core fills itself (timers, signals,
 * contexts' done), which Lua can only receive from.
 */
#ifndef CHL_LCHAN_H
#define CHL_LCHAN_H

#include "runtime/lrt.h"

extern const chl_lua_lib chl_lib_chan;

enum {
	CHL_LUA_CHAN_MSG = 0,     /* elements: chl_msg *; made by chan(n) */
	CHL_LUA_CHAN_TIME = 1,    /* int64_t chl_now() ns -> time.now() seconds */
	CHL_LUA_CHAN_SIGNAL = 2,  /* int signo -> its name ("INT") */
	CHL_LUA_CHAN_UNIT = 3,    /* elem_size 0: only closed (ctx:done()) */
};

/* Push a userdata for c with its kind, taking over one reference. */
void chl_lua_push_chan_kind(lua_State *L, chl_chan *c, int kind);
void chl_lua_push_chan(lua_State *L, chl_chan *c);    /* kind MSG */
chl_chan *chl_lua_check_chan(lua_State *L, int idx);
chl_chan *chl_lua_test_chan(lua_State *L, int idx);
int chl_lua_chan_kind(chl_chan *c);

#endif
