/*
 * lctx.h - contexts as Lua values, for the binding files that take or
 * make them (errgroup, semaphore, signal).  The handle type lives in
 * lctx.c; a context userdata holds one reference to a core chl_ctx.
 */
#ifndef CHL_LCTX_H
#define CHL_LCTX_H

#include "runtime/lrt.h"

extern const chl_lua_lib chl_lib_context;

/* Push a context handle for ctx, taking over one reference. */
void chl_lua_push_ctx(lua_State *L, chl_ctx *ctx);

/* Push a cancel function handle (`cancel(cause)`) for ctx, taking over
 * one reference. */
void chl_lua_push_cancel(lua_State *L, chl_ctx *ctx);

/* The context at idx (borrowed: valid while the handle is on the stack).
 * A nil raises "cannot create context from nil parent" (what every
 * constructor says); anything else that is not a context raises a bad
 * argument error. */
chl_ctx *chl_lua_check_parent(lua_State *L, int idx);

/* The context at idx, or NULL when it is nil or absent; anything else
 * raises a bad argument error. */
chl_ctx *chl_lua_opt_ctx(lua_State *L, int idx);

/* Encode the value at idx as a cause and cancel ctx with err (CHL_CANCELED
 * for a cancel function); nil means no cause.  Raises if the value cannot
 * cross states (ctx is not canceled then). */
void chl_lua_cancel_ctx(lua_State *L, chl_ctx *ctx, int err, int idx);

/* The message destructor contexts are given for values and causes. */
void chl_lua_msg_free(void *msg);

#endif
