/*
 * lctx.c - the `context` table: Go's context package for Lua.
 *
 *   context.background()  context.todo()
 *   local ctx, cancel = context.with_cancel(parent)      cancel(cause)
 *   context.with_timeout(parent, secs)  context.with_deadline(parent, t)
 *   context.with_value(parent, k, v)
 *   ctx:done() ctx:err() ctx:value(k) ctx:deadline()    context.cause(ctx)
 *   context.canceled  context.deadline_exceeded
 *
 * Two handle types share the core chl_ctx: "chanlab.ctx" (the context) and
 * "chanlab.cancel" (its cancel function, a callable userdata so that it
 * can be sent to other goroutines like any handle).  Each holds one
 * reference to the context.
 *
 * Values and causes cross states: they are stored in the core as encoded
 * messages (transfer.h) that the context owns and frees, and every lookup
 * decodes a fresh copy.  Value keys are compared by value, so they are
 * stored as bytes: a type tag then the key's bytes (see key_encode).
 */
#include <string.h>

#include "api/lchan.h"
#include "api/lctx.h"
#include "runtime/visible.h"

static const chl_lua_op OP_ERR = { CHL_OP_SYNC, "context.Err", -1 };
static const chl_lua_op OP_CANCEL = { CHL_OP_CANCEL, "context cancel", 0 };

static chl_lua_type ctx_type, cancel_type;

static void ctx_retain(void *o) { chl_ctx_retain(o); }
static void ctx_release(void *o) { chl_ctx_release(o); }

/* ---- shared with other binding files (lctx.h) ---- */

void chl_lua_push_ctx(lua_State *L, chl_ctx *ctx)
{
	chl_lua_push(L, &ctx_type, ctx);
}

void chl_lua_push_cancel(lua_State *L, chl_ctx *ctx)
{
	chl_lua_push(L, &cancel_type, ctx);
}

chl_ctx *chl_lua_check_parent(lua_State *L, int idx)
{
	if (lua_isnoneornil(L, idx))
		chl_lua_raise_words(L, "cannot create context from nil parent");
	return chl_lua_check(L, idx, &ctx_type);
}

chl_ctx *chl_lua_opt_ctx(lua_State *L, int idx)
{
	if (lua_isnoneornil(L, idx))
		return NULL;
	return chl_lua_check(L, idx, &ctx_type);
}

void chl_lua_msg_free(void *msg)
{
	chl_msg_free(msg);
}

void chl_lua_cancel_ctx(lua_State *L, chl_ctx *ctx, int err, int idx)
{
	chl_msg *cause = NULL;
	int rc;

	if (!lua_isnoneornil(L, idx))
		cause = chl_msg_encode(L, idx, 1, "cancel with");
	/* The cause is taken either way: kept by the winning cancellation. */
	rc = chl_ctx_cancel(ctx, err, cause, cause ? chl_lua_msg_free : NULL, NULL);
	if (rc != CHL_OK)
		chl_lua_raise(L, rc);
}

/* ---- keys ---- */

/* Push the bytes that stand for the key at idx, compared by value:
 *   'b' 0|1                  booleans
 *   'i' int64 (native)       integers, and floats with an integral value
 *                            (1 and 1.0 are one key, as in a Lua table)
 *   'f' double (native)      other floats
 *   's' bytes                strings
 *   'h' tname NUL pointer    handles: same C object, same handle type
 * Raises "nil key" for nil and for values that are compared by identity in
 * Lua but copied across states (tables, functions): they could never be
 * found again.  Returns the string's bytes (the string is on the stack). */
static const char *key_encode(lua_State *L, int idx, size_t *len)
{
	luaL_Buffer b;

	idx = lua_absindex(L, idx);
	luaL_buffinit(L, &b);
	switch (lua_type(L, idx)) {
	case LUA_TNONE:
	case LUA_TNIL:
		chl_lua_raise_words(L, "nil key");
		break;
	case LUA_TBOOLEAN:
		luaL_addchar(&b, 'b');
		luaL_addchar(&b, lua_toboolean(L, idx) ? '1' : '0');
		break;
	case LUA_TNUMBER: {
		int exact;
		lua_Integer i = lua_tointegerx(L, idx, &exact);

		if (exact) {
			int64_t v = (int64_t)i;

			luaL_addchar(&b, 'i');
			luaL_addlstring(&b, (const char *)&v, sizeof v);
		} else {
			double d = (double)lua_tonumber(L, idx);

			luaL_addchar(&b, 'f');
			luaL_addlstring(&b, (const char *)&d, sizeof d);
		}
		break;
	}
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);

		luaL_addchar(&b, 's');
		luaL_addlstring(&b, s, n);
		break;
	}
	case LUA_TUSERDATA: {
		const char *tname = NULL;
		void **obj = lua_touserdata(L, idx);

		if (lua_getmetatable(L, idx)) {
			if (lua_getfield(L, -1, "__name") == LUA_TSTRING)
				tname = lua_tostring(L, -1);
			lua_pop(L, 2);  /* tname stays valid: the metatable holds it */
		}
		if (!tname || strncmp(tname, "chanlab.", 8) != 0 || !*obj)
			return luaL_typeerror(L, idx, "comparable key"), NULL;
		/* lrt.c's handle userdata starts with the object pointer. */
		luaL_addchar(&b, 'h');
		luaL_addstring(&b, tname);
		luaL_addchar(&b, '\0');
		luaL_addlstring(&b, (const char *)obj, sizeof *obj);
		break;
	}
	default:
		luaL_typeerror(L, idx, "comparable key (string, number, boolean or handle)");
		break;
	}
	luaL_pushresult(&b);
	return lua_tolstring(L, -1, len);
}

/* ---- constructors ---- */

static int l_background(lua_State *L)
{
	chl_lua_push(L, &ctx_type, chl_ctx_retain(chl_ctx_background()));
	return 1;
}

/* Push the new context and its cancel function; `out` carries one
 * reference, the cancel handle takes another. */
static int push_pair(lua_State *L, int rc, chl_ctx *out)
{
	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	chl_lua_push(L, &ctx_type, out);
	chl_lua_push(L, &cancel_type, chl_ctx_retain(out));
	return 2;
}

static int l_with_cancel(lua_State *L)
{
	chl_ctx *parent = chl_lua_check_parent(L, 1);
	chl_ctx *out = NULL;
	int rc = chl_ctx_with_cancel(parent, &out);

	return push_pair(L, rc, out);
}

static int l_with_timeout(lua_State *L)
{
	chl_ctx *parent = chl_lua_check_parent(L, 1);
	int64_t d = chl_lua_ns(L, 2);
	chl_ctx *out = NULL;
	int rc = chl_ctx_with_timeout(parent, d, &out);

	return push_pair(L, rc, out);
}

static int l_with_deadline(lua_State *L)
{
	chl_ctx *parent = chl_lua_check_parent(L, 1);
	int64_t when = chl_lua_ns(L, 2);
	chl_ctx *out = NULL;
	int rc = chl_ctx_with_deadline(parent, when, &out);

	return push_pair(L, rc, out);
}

static int l_with_value(lua_State *L)
{
	chl_ctx *parent = chl_lua_check_parent(L, 1);
	size_t klen;
	const char *key;
	chl_msg *v;
	chl_ctx *out = NULL;
	int rc;

	lua_settop(L, 3);
	key = key_encode(L, 2, &klen);
	v = chl_msg_encode(L, 3, 1, "store");
	rc = chl_ctx_with_value(parent, key, klen, v, chl_lua_msg_free, &out);
	if (rc != CHL_OK) {
		chl_msg_free(v);   /* on failure the value stays ours */
		return chl_lua_raise(L, rc);
	}
	chl_lua_push(L, &ctx_type, out);
	return 1;
}

/* ---- context methods ---- */

static int l_ctx_done(lua_State *L)
{
	chl_chan *c = chl_ctx_done(chl_lua_check(L, 1, &ctx_type));

	if (!c) {
		lua_pushnil(L);
		return 1;
	}
	chl_lua_push_chan_kind(L, chl_chan_retain(c), CHL_LUA_CHAN_UNIT);
	return 1;
}

static void push_err(lua_State *L, int err)
{
	if (err == CHL_OK)
		lua_pushnil(L);
	else
		lua_pushstring(L, chl_strerror(err));
}

static int l_ctx_err(lua_State *L)
{
	chl_ctx *ctx = chl_lua_check(L, 1, &ctx_type);

	push_err(L, chl_ctx_err(ctx));
	return chl_lua_visible(L, &OP_ERR, ctx, 1);
}

static int l_ctx_value(lua_State *L)
{
	chl_ctx *ctx = chl_lua_check(L, 1, &ctx_type);
	size_t klen;
	const char *key;
	void *v = NULL;

	lua_settop(L, 2);
	key = key_encode(L, 2, &klen);
	if (!chl_ctx_value(ctx, key, klen, &v) || !v) {
		lua_pushnil(L);
		return 1;
	}
	/* v is owned by a context of ctx's chain, which our handle keeps. */
	chl_msg_decode(L, v);
	return 1;
}

static int l_ctx_deadline(lua_State *L)
{
	int64_t ns;

	if (chl_ctx_deadline(chl_lua_check(L, 1, &ctx_type), &ns))
		lua_pushnumber(L, chl_lua_secs(ns));
	else
		lua_pushnil(L);
	return 1;
}

/* The core does not say which constructor made a context; what can be
 * told: the root, a context that can never be done (values over the
 * background), or the state of a cancelable one. */
static int l_ctx_tostring(lua_State *L)
{
	chl_ctx *ctx = chl_lua_check(L, 1, &ctx_type);
	int err = chl_ctx_err(ctx);

	if (!chl_ctx_parent(ctx))
		lua_pushliteral(L, "context.Background");
	else if (!chl_ctx_done(ctx))
		lua_pushliteral(L, "context.WithValue");
	else
		lua_pushfstring(L, "context(%s)", err == CHL_OK ? "active" :
			err == CHL_DEADLINE ? "deadline exceeded" : "canceled");
	return 1;
}

static const luaL_Reg ctx_methods[] = {
	{"done", l_ctx_done},
	{"err", l_ctx_err},
	{"value", l_ctx_value},
	{"deadline", l_ctx_deadline},
	{NULL, NULL}
};

static const luaL_Reg ctx_meta[] = {
	{"__tostring", l_ctx_tostring},
	{NULL, NULL}
};

/* ---- cancel functions ---- */

static int l_cancel_call(lua_State *L)
{
	chl_ctx *ctx = chl_lua_check(L, 1, &cancel_type);

	chl_lua_cancel_ctx(L, ctx, CHL_CANCELED, 2);
	return chl_lua_visible(L, &OP_CANCEL, ctx, 0);
}

static int l_cancel_tostring(lua_State *L)
{
	chl_ctx *ctx = chl_lua_check(L, 1, &cancel_type);

	lua_pushstring(L, chl_ctx_err(ctx) == CHL_OK ? "context.CancelFunc" :
		"context.CancelFunc(called)");
	return 1;
}

static const luaL_Reg cancel_meta[] = {
	{"__call", l_cancel_call},
	{"__tostring", l_cancel_tostring},
	{NULL, NULL}
};

/* ---- the table ---- */

/* context.cause(ctx): the cause given to the cancellation that won, else
 * ctx:err(); nil while ctx is not done. */
static int l_cause(lua_State *L)
{
	chl_ctx *ctx = chl_lua_check(L, 1, &ctx_type);
	int err = chl_ctx_err(ctx);
	void *cause = NULL;
	const char *msg = NULL;

	if (err == CHL_OK) {
		lua_pushnil(L);
		return 1;
	}
	chl_ctx_cause(ctx, &cause, &msg);
	if (cause)
		chl_msg_decode(L, cause);
	else if (msg)
		lua_pushstring(L, msg);
	else
		push_err(L, err);
	return 1;
}

/* For the leak detector (runtime/leaks.h): a context gives its values
 * and its cause (messages); a cancel function, the cancellation. */
static void ctx_reach(void *obj, chl_reach *r)
{
	chl_ctx *ctx = obj;
	void *cause = NULL;

	chl_reach_ctx(r, ctx);
	for (chl_ctx *x = ctx; x; x = chl_ctx_parent(x))
		chl_reach_msg(r, chl_ctx_own_value(x));
	chl_ctx_cause(ctx, &cause, NULL);
	chl_reach_msg(r, cause);
}

static void cancel_reach(void *obj, chl_reach *r)
{
	chl_reach_cancel(r, obj);
}

static chl_lua_type ctx_type = CHL_LUA_TYPE_REACH("chanlab.ctx", ctx_retain,
	ctx_release, ctx_methods, ctx_meta, ctx_reach);
static chl_lua_type cancel_type = CHL_LUA_TYPE_REACH("chanlab.cancel", ctx_retain,
	ctx_release, NULL, cancel_meta, cancel_reach);

static const luaL_Reg context_funcs[] = {
	{"background", l_background},
	{"todo", l_background},
	{"with_cancel", l_with_cancel},
	{"with_timeout", l_with_timeout},
	{"with_deadline", l_with_deadline},
	{"with_value", l_with_value},
	{"cause", l_cause},
	{NULL, NULL}
};

static chl_lua_type *const context_types[] = { &ctx_type, &cancel_type, NULL };

static int open_context(lua_State *L)
{
	luaL_newlib(L, context_funcs);
	lua_pushstring(L, chl_strerror(CHL_CANCELED));
	lua_setfield(L, -2, "canceled");
	lua_pushstring(L, chl_strerror(CHL_DEADLINE));
	lua_setfield(L, -2, "deadline_exceeded");
	return 1;
}

const chl_lua_lib chl_lib_context = {
	"context", open_context, context_funcs, NULL, context_types
};
