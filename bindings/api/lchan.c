/*
 * lchan.c - chan(n) and its methods, range, for Lua.
 *
 * A Lua value crossing a channel travels as a chl_lua_val (lval.h): nil,
 * booleans and numbers inline, anything else encoded at send (chl_msg,
 * value/transfer.h) with the pointer inline.
 *
 * Sends and receives first try without waiting (no wait record, one lock);
 * only when that finds nothing ready do they take the parking path.
 *
 * Every blocking method follows wait.h's pattern: prepare a wait, call the
 * core's _begin, park with a continuation, finish in the continuation.
 */
#include <stdlib.h>

#include "api/lchan.h"
#include "api/lselect.h"
#include "api/lval.h"
#include "runtime/limits.h"
#include "runtime/visible.h"

static const chl_lua_op OP_SEND = { CHL_OP_SEND, "chan send", 2 };
static const chl_lua_op OP_TRYSEND = { CHL_OP_SEND, "chan trysend", 2 };
static const chl_lua_op OP_RECV = { CHL_OP_RECV, "chan receive", -1 };
static const chl_lua_op OP_TRYRECV = { CHL_OP_RECV, "chan tryrecv", -1 };
static const chl_lua_op OP_CLOSE = { CHL_OP_CLOSE, "chan close", 0 };
static const chl_lua_op OP_LEN = { CHL_OP_SYNC, "chan len", 0 };

_Thread_local chl_msg *chl_lua_decoding;

/* ---- the handle type ---- */

static int l_chan_tostring(lua_State *L);
static int l_chan_close_mm(lua_State *L);
static const luaL_Reg chan_methods[];

static void chan_retain(void *obj) { chl_chan_retain(obj); }
static void chan_release(void *obj) { chl_chan_release(obj); }

static const luaL_Reg chan_meta[] = {
	{ "__tostring", l_chan_tostring },
	{ "__close", l_chan_close_mm },
	{ NULL, NULL }
};

/* For the leak detector (runtime/leaks.h): who can wake its waiters,
 * and the messages a holder can still receive. */
static void chan_value(const void *elem, void *arg)
{
	const chl_lua_val *v = elem;

	if (v->kind == CHL_VAL_MSG && v->u.msg)
		chl_reach_msg(arg, v->u.msg);
}

static void chan_reach(void *obj, chl_reach *r)
{
	chl_chan *c = obj;
	int kind = chl_lua_chan_kind(c);
	int wake = kind == CHL_LUA_CHAN_MSG ? CHL_WAKE_HOLDER :
	           kind == CHL_LUA_CHAN_UNIT ? CHL_WAKE_CANCEL : CHL_WAKE_OUTSIDE;

	if (chl_reach_chan(r, c, wake) && kind == CHL_LUA_CHAN_MSG)
		chl_chan_foreach_value(c, chan_value, r);
}

static chl_lua_type chan_type = CHL_LUA_TYPE_REACH("chanlab.chan", chan_retain,
	chan_release, chan_methods, chan_meta, chan_reach);

int chl_lua_chan_kind(chl_chan *c)
{
	return (int)chl_chan_tag(c);
}

void chl_lua_push_chan_kind(lua_State *L, chl_chan *c, int kind)
{
	chl_chan_set_tag(c, (uintptr_t)kind);
	chl_lua_push(L, &chan_type, c);
}

void chl_lua_push_chan(lua_State *L, chl_chan *c)
{
	chl_lua_push(L, &chan_type, c);
}

chl_chan *chl_lua_check_chan(lua_State *L, int idx)
{
	return chl_lua_check(L, idx, &chan_type);
}

chl_chan *chl_lua_test_chan(lua_State *L, int idx)
{
	return chl_lua_test(L, idx, &chan_type);
}

/* ---- constructor ---- */

static void uncharge_buffer(const chl_chan *c)
{
	chl_limits_uncharge(chl_chan_cap(c) * sizeof(chl_lua_val));
}

static int l_chan_new(lua_State *L)
{
	lua_Integer n = luaL_optinteger(L, 2, 0);   /* 1 is the chan table */
	chl_chan *c;

	if (n < 0 || n > (lua_Integer)1 << 40)
		return luaL_error(L, "makechan: size out of range");
	chl_limits_check_buffer(L, n);
	c = chl_chan_new(sizeof(chl_lua_val), (size_t)n);
	if (!c)
		return chl_lua_nomem(L);
	chl_chan_set_elem_free(c, free_msg_elem);
	if (n && chl_limits_get()->mem) {   /* the buffer counts (limits.h) */
		if (!chl_limits_charge((size_t)n * sizeof(chl_lua_val))) {
			chl_chan_release(c);
			chl_limits_charge_or_die(L, (size_t)n * sizeof(chl_lua_val));
		}
		chl_chan_set_on_free(c, uncharge_buffer);
	}
	chl_lua_push(L, &chan_type, c);
	return 1;
}

/* ---- send ---- */

static inline int send_finish(lua_State *L, chl_chan *c, chl_lua_val *v, int rc)
{
	if (rc != CHL_OK) {
		val_free(v);
		return chl_lua_raise(L, rc);
	}
	if (CHL_VISIBLE_ON())
		return chl_lua_visible_slow(L, &OP_SEND, c, 0, 1, chl_hook_on ? v->flow : 0);
	return 0;
}

static int send_k(lua_State *L, int status, lua_KContext ctx)
{
	chl_lua_wait *wt = chl_lua_wait_current(L);

	(void)status;
	(void)ctx;
	return send_finish(L, wt->w.obj, &wt->slot, wt->w.status);
}

static int l_chan_send(lua_State *L)
{
	chl_chan *c = chl_lua_check_chan(L, 1);
	chl_lua_val v;
	chl_lua_wait *wt;
	int rc;

	check_sendable(L, c);
	val_encode(L, 2, &v);
	/* A buffered channel usually has room: try without a wait record.
	 * An unbuffered one often does not (the receiver has not come yet),
	 * and the failed try would cost a second lock. */
	if (chl_chan_cap(c) > 0) {
		rc = chl_chan_try_send(c, &v);
		if (rc != CHL_WOULDBLOCK)
			return send_finish(L, c, &v, rc);
	}
	wt = chl_lua_wait_prepare(L, "chan send");
	chl_waiter_init(&wt->w, wt->parker, c);
	wt->slot = v;
	rc = chl_chan_send_begin(c, &wt->slot, &wt->w);
	if (rc == CHL_WAIT)
		return chl_lua_park(L, wt, 0, send_k);
	return send_finish(L, c, &wt->slot, rc);
}

static int l_chan_trysend(lua_State *L)
{
	chl_chan *c = chl_lua_check_chan(L, 1);
	chl_lua_val v;
	int rc;

	check_sendable(L, c);
	val_encode(L, 2, &v);
	rc = chl_chan_try_send(c, &v);
	if (rc == CHL_OK) {
		lua_pushboolean(L, 1);
		if (CHL_VISIBLE_ON())
			return chl_lua_visible_slow(L, &OP_TRYSEND, c, 1, 1, chl_hook_on ? v.flow : 0);
		return 1;
	}
	val_free(&v);
	if (rc == CHL_WOULDBLOCK) {
		lua_pushboolean(L, 0);
		return chl_lua_visible(L, &OP_TRYSEND, c, 1);
	}
	return chl_lua_raise(L, rc);
}

/* ---- receive ---- */

/* ctx: 0 = recv (v, ok), 1 = range iterator (v or nil) */
static inline int recv_finish(lua_State *L, chl_chan *c, chl_lua_val *v, bool ok, lua_KContext ctx)
{
	int nres = ctx == 1 ? 1 : 2;

	push_elem(L, c, v, ok);   /* leaves v->flow */
	if (ctx != 1)
		lua_pushboolean(L, ok);
	if (CHL_VISIBLE_ON())
		return chl_lua_visible_slow(L, &OP_RECV, c, nres, ok,
		                            chl_hook_on ? elem_flow(c, v, ok) : 0);
	return nres;
}

static int recv_k(lua_State *L, int status, lua_KContext ctx)
{
	chl_lua_wait *wt = chl_lua_wait_current(L);

	(void)status;
	return recv_finish(L, wt->w.obj, &wt->slot, wt->w.ok, ctx);
}

static int do_recv(lua_State *L, chl_chan *c, lua_KContext ctx)
{
	chl_lua_wait *wt;
	chl_lua_val v;
	bool ok = false;
	int rc;

	if (chl_chan_cap(c) > 0 && chl_chan_try_recv(c, &v, &ok) == CHL_OK)
		return recv_finish(L, c, &v, ok, ctx);   /* as in send */
	wt = chl_lua_wait_prepare(L, "chan receive");
	chl_waiter_init(&wt->w, wt->parker, c);
	rc = chl_chan_recv_begin(c, &wt->slot, &ok, &wt->w);
	if (rc == CHL_WAIT)
		return chl_lua_park(L, wt, ctx, recv_k);
	return recv_finish(L, c, &wt->slot, ok, ctx);
}

static int l_chan_recv(lua_State *L)
{
	return do_recv(L, chl_lua_check_chan(L, 1), 0);
}

static int l_chan_tryrecv(lua_State *L)
{
	chl_chan *c = chl_lua_check_chan(L, 1);
	chl_lua_val v;
	bool ok = false;

	if (chl_chan_try_recv(c, &v, &ok) != CHL_OK) {
		lua_pushboolean(L, 0);
		return chl_lua_visible(L, &OP_TRYRECV, c, 1);
	}
	lua_pushboolean(L, 1);
	push_elem(L, c, &v, ok);   /* leaves v.flow */
	lua_pushboolean(L, ok);
	if (CHL_VISIBLE_ON())
		return chl_lua_visible_slow(L, &OP_TRYRECV, c, 3, ok,
		                            chl_hook_on ? elem_flow(c, &v, ok) : 0);
	return 3;
}

static int range_iter(lua_State *L)
{
	return do_recv(L, chl_lua_check_chan(L, lua_upvalueindex(1)), 1);
}

static int l_chan_range(lua_State *L)
{
	chl_lua_check_chan(L, 1);
	lua_settop(L, 1);
	lua_pushcclosure(L, range_iter, 1);
	return 1;
}

/* ---- the rest ---- */

static int l_chan_close(lua_State *L)
{
	chl_chan *c = chl_lua_check_chan(L, 1);
	int rc;

	if (chl_lua_chan_kind(c) != CHL_LUA_CHAN_MSG)
		return luaL_error(L, "invalid operation: close of receive-only channel");
	rc = chl_chan_close(c);
	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	return chl_lua_visible(L, &OP_CLOSE, c, 0);
}

/* `local ch <close> = chan()`: closes it at the end of the scope unless
 * it is closed already. */
static int l_chan_close_mm(lua_State *L)
{
	chl_chan *c = chl_lua_check_chan(L, 1);

	if (chl_lua_chan_kind(c) == CHL_LUA_CHAN_MSG)
		chl_chan_close(c);
	return 0;
}

static int l_chan_len(lua_State *L)
{
	chl_chan *c = chl_lua_check_chan(L, 1);

	lua_pushinteger(L, (lua_Integer)chl_chan_len(c));
	return chl_lua_visible(L, &OP_LEN, c, 1);
}

static int l_chan_cap(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)chl_chan_cap(chl_lua_check_chan(L, 1)));
	return 1;
}

static int l_chan_tostring(lua_State *L)
{
	chl_chan *c = chl_lua_check_chan(L, 1);

	lua_pushfstring(L, "chan(cap=%d, len=%d%s)", (int)chl_chan_cap(c),
	                (int)chl_chan_len(c), chl_chan_is_closed(c) ? ", closed" : "");
	return 1;
}

static const luaL_Reg chan_methods[] = {
	{ "send", l_chan_send },
	{ "recv", l_chan_recv },
	{ "trysend", l_chan_trysend },
	{ "tryrecv", l_chan_tryrecv },
	{ "close", l_chan_close },
	{ "len", l_chan_len },
	{ "cap", l_chan_cap },
	{ "range", l_chan_range },
	{ NULL, NULL }
};

static int open_chan(lua_State *L)
{
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, chl_lua_select);
	lua_setfield(L, -2, "select");
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, l_chan_new);
	lua_setfield(L, -2, "__call");
	lua_setmetatable(L, -2);
	return 1;
}

static chl_lua_type *const chan_types[] = { &chan_type, NULL };

/* chan.select may be captured by a closure sent to another goroutine. */
static const luaL_Reg chan_funcs[] = {
	{ "chan.select", chl_lua_select },
	{ NULL, NULL }
};

const chl_lua_lib chl_lib_chan = {
	"chan", open_chan, chan_funcs, NULL, chan_types
};
