/*
 * visible.c - events and decisions at the end of visible operations
 * (visible.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "runtime/goroutine.h"
#include "runtime/visible.h"

/* The continuation of a decision point: the results are still on top. */
static int after_decision(lua_State *L, int status, lua_KContext nres)
{
	(void)L;
	(void)status;
	return (int)nres;
}

const char *chl_lua_preview(lua_State *L, int idx, char *buf, size_t size)
{
	size_t len;
	const char *s;

	switch (lua_type(L, idx)) {
	case LUA_TNONE:
	case LUA_TNIL:
		return "nil";
	case LUA_TBOOLEAN:
		return lua_toboolean(L, idx) ? "true" : "false";
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			snprintf(buf, size, LUA_INTEGER_FMT, lua_tointeger(L, idx));
		else
			snprintf(buf, size, LUA_NUMBER_FMT, lua_tonumber(L, idx));
		return buf;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		if (len > 24)
			snprintf(buf, size, "\"%.21s...\"", s);
		else
			snprintf(buf, size, "\"%s\"", s);
		return buf;
	case LUA_TTABLE: {
		lua_Integer n = 0;

		lua_pushnil(L);
		while (n < 1000 && lua_next(L, idx < 0 ? idx - 1 : idx)) {
			lua_pop(L, 1);
			n++;
		}
		if (n == 1000)
			lua_pop(L, 1);
		snprintf(buf, size, "table(%lld%s items)", (long long)n, n == 1000 ? "+" : "");
		return buf;
	}
	default:
		return luaL_typename(L, idx);
	}
}

static void report(lua_State *L, const chl_lua_op *op, const void *obj, int nres,
                   int64_t aux)
{
	chl_event ev = { 0 };
	char where[LUA_IDSIZE + 16], preview[64];
	lua_Debug ar;

	ev.op = op->op;
	ev.what = op->what;
	ev.obj = obj;
	ev.aux = aux;
	ev.g = chl_lua_goid(L);
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
		snprintf(where, sizeof where, "%s:%d", ar.short_src, ar.currentline);
		ev.where = where;
	}
	if (op->value > 0)
		ev.detail = chl_lua_preview(L, op->value, preview, sizeof preview);
	else if (op->value < 0 && nres > 0)
		ev.detail = chl_lua_preview(L, lua_gettop(L) - nres + 1, preview, sizeof preview);
	if (obj && (op->op == CHL_OP_SEND || op->op == CHL_OP_RECV || op->op == CHL_OP_CLOSE)) {
		ev.a = (int64_t)chl_chan_len((chl_chan *)obj);
		ev.b = (int64_t)chl_chan_cap((chl_chan *)obj);
	}
	chl_hook_emit(&ev);
}

/* A decision point: true when L (a goroutine's own thread, yieldable)
 * must yield because the strategy chose another goroutine to run next. */
static bool can_decide(lua_State *L)
{
	goroutine *g;

	if (!chl_det_on)
		return false;
	g = chl_lua_goroutine(L);
	if (!g || L != g->L || !lua_isyieldable(L))
		return false;
	if (!chl_sched_decide())
		return false;      /* the strategy keeps this goroutine running */
	g->parking = false;    /* the yield is a decision, not a park */
	return true;
}

int chl_lua_visible_slow(lua_State *L, const chl_lua_op *op, const void *obj,
                         int nres, int64_t aux)
{
	if (chl_hook_on)
		report(L, op, obj, nres, aux);
	if (!can_decide(L))
		return nres;
	return lua_yieldk(L, 0, (lua_KContext)nres, after_decision);
}

void chl_lua_visible_then(lua_State *L, const chl_lua_op *op, const void *obj,
                          int64_t aux, lua_KContext ctx, lua_KFunction k)
{
	if (chl_hook_on)
		report(L, op, obj, 0, aux);
	if (can_decide(L))
		lua_yieldk(L, 0, ctx, k);
}
