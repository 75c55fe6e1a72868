/*
 * lselect.c - chan.select for Lua: Go's select over the cases of a table
 * (core/select.h does the choosing; this file reads the cases, keeps the
 * values in flight and runs the chosen case's function).
 */
#include <stdlib.h>

#include "api/lselect.h"
#include "api/lval.h"
#include "runtime/visible.h"

static const chl_lua_op OP_SELECT = { CHL_OP_SELECT, "select", 0 };
static const chl_lua_op OP_SELECT_SEND = { CHL_OP_SELECT, "select send", 0 };
static const chl_lua_op OP_SELECT_RECV = { CHL_OP_SELECT, "select receive", 0 };

/* Scratch for a select: one userdata per state, kept in the registry and
 * reused (a select that does not park allocates nothing), and held at
 * stack index 2 while the select runs, so a park keeps it alive.  One is
 * enough: while a select is in progress no other code of its state runs
 * (a park yields or blocks the whole state), and the chosen function runs
 * only after the select let go of it.  A select that raised half-way (a
 * value that cannot cross) leaves messages behind; the next select, or
 * __gc, frees them.
 *
 * A goroutine keeps a pointer to its state's scratch (g->sel_scratch),
 * saving the registry lookup; the registry keeps the scratch alive, and
 * a park passes it to select_k as the continuation's context.
 *
 * Stack of a select: 1 the select table, 2..4 the keys "recv", "send"
 * and "default", then each case table followed by what reading it
 * pushed (nothing is popped: s->at[i] says where case i's table is), so
 * the fired case's function is one lookup away. */
typedef struct sel {
	chl_select_state st;
	int n;                     /* cases in use */
	int cap;                   /* cases it has room for */
	bool st_live;              /* st initialised, not yet freed */
	bool sends;                /* some case sends: slots to free */
	chl_select_case *cases;    /* cap */
	chl_lua_val *slots;        /* cap: value to send / received value */
	int *at;                   /* cap: stack index of each case table */
	int fired;                 /* decided: the case that fired, -1: default */
} sel;

static char sel_key;           /* registry: this state's scratch */

enum { K_RECV = 2, K_SEND, K_DEFAULT };

/* t[key] without metamethods, key being one of the K_ slots: a copy of a
 * pushed key and lua_rawget cost about half a lua_getfield, whose literal
 * is looked up in the string cache each time (9 lookups a 4-case select). */
static int sel_get(lua_State *L, int t, int key)
{
	lua_pushvalue(L, key);
	return lua_rawget(L, t);
}

static void sel_release(sel *s, int keep)
{
	int i;

	for (i = 0; s->sends && i < s->n; i++)
		if (i != keep && s->cases[i].chan && s->cases[i].dir == CHL_SELECT_SEND)
			val_free(&s->slots[i]);
	s->n = 0;
	s->sends = false;                  /* released: the next select starts clean */
	if (s->st_live) {
		chl_select_state_free(&s->st);
		s->st_live = false;
	}
}

static int sel_gc(lua_State *L)
{
	sel *s = lua_touserdata(L, 1);

	sel_release(s, -1);
	return 0;
}

/* This state's scratch with room for n cases, emptied. */
static sel *sel_scratch(lua_State *L, int n)
{
	goroutine *g = chl_lua_goroutine(L);
	sel *s = g ? g->sel_scratch : NULL;

	if (!s) {
		if (lua_rawgetp(L, LUA_REGISTRYINDEX, &sel_key) == LUA_TUSERDATA)
			s = lua_touserdata(L, -1);
		lua_pop(L, 1);
	}
	if (s && s->cap >= n) {
		sel_release(s, -1);
	} else {
		int cap = n < 8 ? 8 : n;
		size_t size = sizeof(sel) + (size_t)cap * (sizeof(chl_select_case) +
		                                           sizeof(chl_lua_val) + sizeof(int));

		s = lua_newuserdatauv(L, size, 0);
		memset(s, 0, sizeof *s);
		s->cap = cap;
		s->cases = (chl_select_case *)(s + 1);
		s->slots = (chl_lua_val *)(s->cases + cap);
		s->at = (int *)(s->slots + cap);
		lua_createtable(L, 0, 1);
		lua_pushcfunction(L, sel_gc);
		lua_setfield(L, -2, "__gc");
		lua_setmetatable(L, -2);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &sel_key);
	}
	if (g)
		g->sel_scratch = s;
	s->n = 0;
	memset(s->slots, 0, (size_t)n * sizeof *s->slots);
	return s;
}

static int call_k(lua_State *L, int status, lua_KContext base)
{
	(void)status;
	return lua_gettop(L) - (int)base;
}

/* Run the decided select's chosen function (with lua_callk: it may
 * block in turn), or return index (, v, ok) when the case has none.
 * s->fired is the case, -1 for the default. */
static int sel_run(lua_State *L, sel *s)
{
	int fired = s->fired, base = lua_gettop(L), nargs = 0;

	if (fired < 0) {
		if (sel_get(L, 1, K_DEFAULT) != LUA_TFUNCTION)
			return 0;
		lua_callk(L, 0, LUA_MULTRET, base, call_k);
		return call_k(L, LUA_OK, base);
	}
	if (lua_rawgeti(L, s->at[fired], 1) != LUA_TFUNCTION) {
		lua_pop(L, 1);
		lua_pushinteger(L, fired + 1);
		nargs = 1;
	}
	if (s->cases[fired].dir == CHL_SELECT_RECV) {
		push_elem(L, s->cases[fired].chan, &s->slots[fired], s->cases[fired].ok);
		lua_pushboolean(L, s->cases[fired].ok);
		nargs += 2;
	}
	if (nargs == 1 || nargs == 3)   /* no function: index (, v, ok) */
		return nargs;
	lua_callk(L, nargs, LUA_MULTRET, base, call_k);
	return call_k(L, LUA_OK, base);
}

/* After the decision point that follows a select (visible.h). */
static int run_k(lua_State *L, int status, lua_KContext ctx)
{
	(void)status;
	return sel_run(L, (sel *)ctx);
}

/* The decision point after a select (visible.h), with the event: the
 * case that fired, its channel, and the value sent or received with its
 * flow id.  In a deterministic run it may yield (to run_k). */
static void sel_visible(lua_State *L, sel *s, int fired)
{
	const chl_lua_op *op = &OP_SELECT;
	const void *obj = NULL;
	const char *detail = NULL;
	uint64_t flow = 0;
	char buf[64];

	if (fired >= 0) {
		chl_select_case *sc = &s->cases[fired];

		obj = sc->chan;
		if (sc->dir == CHL_SELECT_SEND) {
			op = &OP_SELECT_SEND;
			if (chl_hook_on) {
				flow = s->slots[fired].flow;
				lua_getfield(L, s->at[fired], "value");
				detail = chl_lua_preview(L, -1, buf, sizeof buf);
				lua_pop(L, 1);
			}
		} else {
			op = &OP_SELECT_RECV;
			if (chl_hook_on) {
				flow = elem_flow(sc->chan, &s->slots[fired], sc->ok);
				detail = elem_preview(L, sc->chan, &s->slots[fired], sc->ok,
				                      buf, sizeof buf);
			}
		}
	}
	chl_lua_visible_then(L, op, obj, fired + 1, flow, detail, (lua_KContext)s, run_k);
}

/* The select is decided: rc and fired say how.  Frees what no longer
 * travels, reports the choice (a decision point in a deterministic run),
 * then runs the chosen case. */
static int sel_finish(lua_State *L, sel *s, int rc, int fired)
{
	if (rc == CHL_WOULDBLOCK) {
		sel_release(s, -1);
		fired = -1;
	} else if (rc != CHL_OK) {
		sel_release(s, -1);
		return chl_lua_raise(L, rc);
	} else {
		/* the fired send's message now belongs to the receiver */
		sel_release(s, fired);
	}
	s->fired = fired;
	if (__builtin_expect(chl_hook_on | chl_det_on, 0))
		sel_visible(L, s, fired);
	return sel_run(L, s);
}

static int select_k(lua_State *L, int status, lua_KContext ctx)
{
	sel *s = (sel *)ctx;
	int fired = -1, rc;

	(void)status;
	rc = chl_select_end(&s->st, s->cases, s->n, &fired);
	return sel_finish(L, s, rc, fired);
}

/* Read case i (1-based) of the select table into s. */
static void sel_read_case(lua_State *L, sel *s, int i)
{
	chl_select_case *sc = &s->cases[i - 1];
	int t;

	t = lua_gettop(L) + 1;
	s->at[i - 1] = t;
	if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
		luaL_error(L, "select: case #%d is not a table", i);
	sc->chan = NULL;           /* disabled unless recv or send is given */
	sc->dir = CHL_SELECT_RECV;
	sc->elem = &s->slots[i - 1];
	sc->ok = false;
	if (sel_get(L, t, K_RECV) != LUA_TNIL) {
		sc->chan = chl_lua_check_chan(L, -1);
		sc->dir = CHL_SELECT_RECV;
		if (sel_get(L, t, K_SEND) != LUA_TNIL)
			luaL_error(L, "select: case #%d has both recv and send", i);
	} else if (sel_get(L, t, K_SEND) != LUA_TNIL) {
		chl_chan *c = chl_lua_check_chan(L, -1);

		check_sendable(L, c);
		lua_getfield(L, t, "value");
		val_encode(L, lua_gettop(L), &s->slots[i - 1]);
		lua_pop(L, 1);
		sc->chan = c;
		sc->dir = CHL_SELECT_SEND;
		s->sends = true;
	}
	/* what it pushed stays: chl_lua_select made room (3 slots a case) */
}

int chl_lua_select(lua_State *L)
{
	int n, i, fired = -1, rc;
	bool nonblock;
	sel *s;
	chl_lua_wait *wt;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	n = (int)lua_rawlen(L, 1);
	luaL_checkstack(L, 3 * n + 8, "too many select cases");
	lua_pushliteral(L, "recv");   /* found by address in Lua's string */
	lua_pushliteral(L, "send");   /* cache: cheaper than hashing them */
	lua_pushliteral(L, "default");
	s = sel_scratch(L, n);
	for (i = 1; i <= n; i++) {
		sel_read_case(L, s, i);
		s->n = i;          /* what sel_gc must free if a later case raises */
	}
	nonblock = sel_get(L, 1, K_DEFAULT) != LUA_TNIL;
	lua_pop(L, 1);
	if (chl_select_state_init(&s->st, n) != CHL_OK)
		return chl_lua_nomem(L);
	s->st_live = true;
	wt = chl_lua_wait_prepare(L, n ? "select" : "select (no cases)");
	rc = chl_select_begin(&s->st, s->cases, n, nonblock, wt->parker, &fired);
	if (rc == CHL_WAIT) {
		/* what it waits on, for the leak detector: the channels queued on */
		wt->objs = (void *const *)s->st.locks;
		wt->nobjs = s->st.nlocks;
		return chl_lua_park(L, wt, (lua_KContext)s, select_k);
	}
	return sel_finish(L, s, rc, fired);
}
