/*
 * visible.c - events and decisions at the end of visible operations
 * (visible.h).
 */
#include <stdatomic.h>
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

/* Flow ids of values (hook.h): 0 is "none", so the first is 1. */
static _Atomic uint32_t last_flow;

uint32_t chl_lua_flow_new(void)
{
	uint32_t f = atomic_fetch_add_explicit(&last_flow, 1, memory_order_relaxed) + 1;

	return f ? f : chl_lua_flow_new();
}

/* The decimal digits of v at p (room for 21 bytes); returns the end.
 * snprintf costs ten times as much, and this runs at every event. */
static char *put_int(char *p, long long v)
{
	char tmp[24];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	int n = 0;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*p++ = '-';
	while (n)
		*p++ = tmp[--n];
	*p = '\0';
	return p;
}

const char *chl_lua_where(lua_State *L, char *buf, size_t size)
{
	lua_Debug ar;
	size_t n;

	if (!lua_getstack(L, 1, &ar) || !lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
		return NULL;
	n = strlen(ar.short_src);
	if (n + 24 > size)
		n = size > 24 ? size - 24 : 0;
	memcpy(buf, ar.short_src, n);
	buf[n] = ':';
	put_int(buf + n + 1, ar.currentline);
	return buf;
}

/* The name by which the caller of the running C function knows the
 * function at idx (absolute): a local of the caller, an upvalue of it,
 * or a global; NULL if none.  The text lives as long as that function
 * (a name in its debug information) or that global. */
static const char *function_name(lua_State *L, int idx)
{
	const char *name;
	lua_Debug ar;
	int i;

	if (lua_getstack(L, 1, &ar)) {
		for (i = 1; (name = lua_getlocal(L, &ar, i)) != NULL; i++) {
			bool same = name[0] != '(' && lua_rawequal(L, -1, idx);

			lua_pop(L, 1);
			if (same)
				return name;
		}
		if (lua_getinfo(L, "f", &ar)) {
			int f = lua_gettop(L);

			for (i = 1; (name = lua_getupvalue(L, f, i)) != NULL; i++) {
				bool same = lua_rawequal(L, -1, idx);

				lua_pop(L, 1);
				if (same) {
					lua_pop(L, 1);
					return name;
				}
			}
			lua_pop(L, 1);
		}
	}
	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, idx)) {
			name = lua_tostring(L, -2);
			lua_pop(L, 3);
			return name;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return NULL;
}

/* "worker (lab.lua:12)": the function's name and where it is defined.
 * A function no variable holds is named after the one creating it, as Go
 * does: "stage.func (lab.lua:13)" (made in stage), "main.func". */
static const char *function_preview(lua_State *L, int idx, char *buf, size_t size)
{
	const char *name = function_name(L, idx), *src;
	char anon[64];
	lua_Debug ar;

	if (!name) {
		name = "function";
		if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "nS", &ar)) {
			if (ar.what[0] == 'm')
				name = "main.func";
			else if (ar.name) {
				snprintf(anon, sizeof anon, "%s.func", ar.name);
				name = anon;
			}
		}
	}
	lua_pushvalue(L, idx);
	lua_getinfo(L, ">S", &ar);
	if (ar.what[0] == 'C') {
		snprintf(buf, size, "%s (C)", name);
		return buf;
	}
	src = ar.short_src;
	if (ar.source[0] == '@' && strrchr(src, '/'))
		src = strrchr(src, '/') + 1;
	snprintf(buf, size, "%s (%s:%d)", name, src, ar.linedefined);
	return buf;
}

const char *chl_lua_preview(lua_State *L, int idx, char *buf, size_t size)
{
	size_t len;
	const char *s;

	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TNONE:
	case LUA_TNIL:
		return "nil";
	case LUA_TBOOLEAN:
		return lua_toboolean(L, idx) ? "true" : "false";
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx) && size >= 24)
			put_int(buf, (long long)lua_tointeger(L, idx));
		else if (lua_isinteger(L, idx))
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
		while (n < 1000 && lua_next(L, idx)) {
			lua_pop(L, 1);
			n++;
		}
		if (n == 1000)
			lua_pop(L, 1);
		snprintf(buf, size, "table(%lld%s items)", (long long)n, n == 1000 ? "+" : "");
		return buf;
	}
	case LUA_TFUNCTION:
		return function_preview(L, idx, buf, size);
	default:
		return luaL_typename(L, idx);
	}
}

static void report(lua_State *L, const chl_lua_op *op, const void *obj, int nres,
                   int64_t aux, uint64_t flow, const char *detail)
{
	chl_event ev = { 0 };
	char where[LUA_IDSIZE + 16], preview[64];

	ev.op = op->op;
	ev.what = op->what;
	ev.obj = obj;
	ev.aux = aux;
	ev.flow = flow;
	ev.g = chl_lua_goid(L);
	ev.where = chl_lua_where(L, where, sizeof where);
	if (detail)
		ev.detail = detail;
	else if (op->value > 0)
		ev.detail = chl_lua_preview(L, op->value, preview, sizeof preview);
	else if (op->value < 0 && nres > 0)
		ev.detail = chl_lua_preview(L, lua_gettop(L) - nres + 1, preview, sizeof preview);
	if (obj && (op->op == CHL_OP_SEND || op->op == CHL_OP_RECV || op->op == CHL_OP_CLOSE ||
	            op->op == CHL_OP_SELECT)) {
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
                         int nres, int64_t aux, uint64_t flow)
{
	if (chl_hook_on)
		report(L, op, obj, nres, aux, flow, NULL);
	if (!can_decide(L))
		return nres;
	return lua_yieldk(L, 0, (lua_KContext)nres, after_decision);
}

void chl_lua_visible_then(lua_State *L, const chl_lua_op *op, const void *obj,
                          int64_t aux, uint64_t flow, const char *detail,
                          lua_KContext ctx, lua_KFunction k)
{
	if (chl_hook_on)
		report(L, op, obj, 0, aux, flow, detail);
	if (can_decide(L))
		lua_yieldk(L, 0, ctx, k);
}
