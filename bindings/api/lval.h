/*
 * lval.h - a Lua value as a channel element (chl_lua_val, wait.h): how it
 * is made from a value being sent and pushed when received.  Inline: the
 * send, receive and select paths of lchan.c and lselect.c all run it.
 *
 * Ownership of a message: the sender until the core accepts it; then the
 * channel (a buffered value; freed with the channel if never received);
 * then the receiver, who decodes and frees it.  A send refused because
 * the channel is closed hands the message back to the sender, who frees
 * it.
 */
#ifndef CHL_LVAL_H
#define CHL_LVAL_H

#include <string.h>

#include "api/lchan.h"
#include "runtime/limits.h"
#include "runtime/visible.h"

/* The message a receive is decoding on this thread (lchan.c): if the
 * decode raises, it stays here until the next one frees it. */
extern _Thread_local chl_msg *chl_lua_decoding;

static inline void val_free(chl_lua_val *v)
{
	if (v->kind == CHL_VAL_MSG && v->u.msg) {
		chl_limits_uncharge_msg(v->u.msg);
		chl_msg_free(v->u.msg);
		v->u.msg = NULL;
	}
}

static inline void free_msg_elem(void *elem)
{
	val_free(elem);
}

/* The value at idx as a channel element; raises if it cannot cross.
 * With the hook on, the value gets a new flow id (hook.h). */
static inline void val_encode(lua_State *L, int idx, chl_lua_val *v)
{
	if (CHL_HOOK_ON())
		v->flow = chl_lua_flow_new();
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
	case LUA_TNONE:
		v->kind = CHL_VAL_NIL;
		return;
	case LUA_TBOOLEAN:
		v->kind = lua_toboolean(L, idx) ? CHL_VAL_TRUE : CHL_VAL_FALSE;
		return;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			v->kind = CHL_VAL_INT;
			v->u.i = lua_tointeger(L, idx);
		} else {
			v->kind = CHL_VAL_NUM;
			v->u.n = lua_tonumber(L, idx);
		}
		return;
	default:
		v->u.msg = chl_msg_encode(L, idx, 1, "send");
		v->kind = CHL_VAL_MSG;
		chl_limits_charge_msg(L, v->u.msg);   /* past the limit: the end */
	}
}

/* Push the value and take it out of v (a message is decoded and freed;
 * v->flow stays). */
static inline void val_push(lua_State *L, chl_lua_val *v)
{
	switch (v->kind) {
	case CHL_VAL_FALSE: lua_pushboolean(L, 0); return;
	case CHL_VAL_TRUE: lua_pushboolean(L, 1); return;
	case CHL_VAL_INT: lua_pushinteger(L, v->u.i); return;
	case CHL_VAL_NUM: lua_pushnumber(L, v->u.n); return;
	case CHL_VAL_MSG: {
		chl_msg *m = v->u.msg;

		v->u.msg = NULL;
		v->kind = CHL_VAL_NIL;
		if (!m) {
			lua_pushnil(L);
			return;
		}
		chl_limits_uncharge_msg(m);
		/* decode may raise (out of memory): the message waits in this
		 * thread's slot, freed by the next decode here */
		chl_msg_free(chl_lua_decoding);
		chl_lua_decoding = m;
		chl_msg_decode(L, m);
		chl_lua_decoding = NULL;
		chl_msg_free(m);
		return;
	}
	default:
		lua_pushnil(L);
	}
}

static inline void check_sendable(lua_State *L, chl_chan *c)
{
	if (chl_lua_chan_kind(c) != CHL_LUA_CHAN_MSG)
		luaL_error(L, "invalid operation: send to receive-only channel");
}

/* Push the received element held in *v (ok false: the zero value, nil). */
static inline void push_elem(lua_State *L, chl_chan *c, chl_lua_val *v, bool ok)
{
	if (!ok) {
		lua_pushnil(L);
		return;
	}
	switch (chl_lua_chan_kind(c)) {
	case CHL_LUA_CHAN_MSG:
		val_push(L, v);
		return;
	case CHL_LUA_CHAN_TIME:
		lua_pushnumber(L, chl_lua_secs(v->u.ns));
		return;
	case CHL_LUA_CHAN_SIGNAL: {
		const char *name = chl_signal_name(v->u.signo);

		lua_pushstring(L, strncmp(name, "SIG", 3) == 0 ? name + 3 : name);
		return;
	}
	default:
		lua_pushnil(L);
	}
}

/* The flow id of a received element (hook.h): the sender's for a Lua
 * value, 0 for what the core made (timer, signal) or for nothing. */
static inline uint64_t elem_flow(chl_chan *c, const chl_lua_val *v, bool ok)
{
	return ok && chl_lua_chan_kind(c) == CHL_LUA_CHAN_MSG ? v->flow : 0;
}

/* A preview (visible.h) of the received element in *v, which stays as
 * it is (a message is decoded and the copy dropped).  For the hook. */
static inline const char *elem_preview(lua_State *L, chl_chan *c, const chl_lua_val *v,
                                       bool ok, char *buf, size_t size)
{
	chl_lua_val copy = *v;
	const char *s;

	luaL_checkstack(L, 2, NULL);
	if (ok && chl_lua_chan_kind(c) == CHL_LUA_CHAN_MSG && v->kind == CHL_VAL_MSG) {
		if (!v->u.msg)
			return "nil";
		chl_msg_decode(L, v->u.msg);
	} else {
		push_elem(L, c, &copy, ok);   /* inline: nothing is taken */
	}
	s = chl_lua_preview(L, -1, buf, size);
	lua_pop(L, 1);
	return s;
}

#endif
