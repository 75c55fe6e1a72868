/*
 * lchan.c - chan(n), its methods, range and chan.select for Lua.
 *
 * A Lua value crossing a channel travels as a chl_lua_val (lrt.h): nil,
 * booleans and numbers inline, anything else encoded at send (chl_msg,
 * transfer.h) with the pointer inline.  Ownership of a message: the sender
 * until the core accepts it; then the channel (a buffered value; freed
 * with the channel if never received); then the receiver, who decodes and
 * frees it.  A send refused because the channel is closed hands the
 * message back to the sender, who frees it.
 *
 * Sends and receives first try without waiting (no wait record, one lock);
 * only when that finds nothing ready do they take the parking path.
 *
 * Every blocking method follows lrt.h's pattern: prepare a wait, call the
 * core's _begin, park with a continuation, finish in the continuation.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/goroutine.h"
#include "api/lchan.h"

static void val_free(chl_lua_val *v)
{
	if (v->kind == CHL_VAL_MSG && v->u.msg) {
		chl_msg_free(v->u.msg);
		v->u.msg = NULL;
	}
}

static void free_msg_elem(void *elem)
{
	val_free(elem);
}

/* The value at idx as a channel element; raises if it cannot cross. */
static void val_encode(lua_State *L, int idx, chl_lua_val *v)
{
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
	}
}

/* Push the value and take it out of v (a message is decoded and freed). */
static void val_push(lua_State *L, chl_lua_val *v)
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
		chl_msg_decode(L, m);
		chl_msg_free(m);
		return;
	}
	default:
		lua_pushnil(L);
	}
}

/* ---- the handle type ---- */

static int l_chan_tostring(lua_State *L);
static int l_chan_close_mm(lua_State *L);
static const luaL_Reg chan_methods[];

static void *chan_get(lua_State *L, int idx);
static void chan_push(lua_State *L, void *obj);
static void chan_retain(void *obj) { chl_chan_retain(obj); }
static void chan_release(void *obj) { chl_chan_release(obj); }

static const luaL_Reg chan_meta[] = {
	{ "__tostring", l_chan_tostring },
	{ "__close", l_chan_close_mm },
	{ NULL, NULL }
};

static chl_lua_type chan_type = {
	{ "chanlab.chan", chan_get, chan_retain, chan_release, chan_push },
	chan_methods, chan_meta
};

static void *chan_get(lua_State *L, int idx)
{
	return chl_lua_test(L, idx, &chan_type);
}

static void chan_push(lua_State *L, void *obj)
{
	chl_lua_push(L, &chan_type, obj);
}

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

/* ---- values ---- */

static void check_sendable(lua_State *L, chl_chan *c)
{
	if (chl_lua_chan_kind(c) != CHL_LUA_CHAN_MSG)
		luaL_error(L, "invalid operation: send to receive-only channel");
}

/* Push the received element held in *v (ok false: the zero value, nil). */
static void push_elem(lua_State *L, chl_chan *c, chl_lua_val *v, bool ok)
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

/* ---- constructor ---- */

static int l_chan_new(lua_State *L)
{
	lua_Integer n = luaL_optinteger(L, 2, 0);   /* 1 is the chan table */
	chl_chan *c;

	if (n < 0 || n > (lua_Integer)1 << 40)
		return luaL_error(L, "makechan: size out of range");
	c = chl_chan_new(sizeof(chl_lua_val), (size_t)n);
	if (!c)
		return luaL_error(L, "out of memory");
	chl_chan_set_elem_free(c, free_msg_elem);
	chl_lua_push(L, &chan_type, c);
	return 1;
}

/* ---- send ---- */

static int send_finish(lua_State *L, chl_lua_val *v, int rc)
{
	if (rc != CHL_OK) {
		val_free(v);
		return chl_lua_raise(L, rc);
	}
	return 0;
}

static int send_k(lua_State *L, int status, lua_KContext ctx)
{
	chl_lua_wait *wt = chl_lua_wait_current(L);

	(void)status;
	(void)ctx;
	return send_finish(L, &wt->slot, wt->w.status);
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
			return send_finish(L, &v, rc);
	}
	wt = chl_lua_wait_prepare(L, "chan send");
	chl_waiter_init(&wt->w, wt->parker, c);
	wt->slot = v;
	rc = chl_chan_send_begin(c, &wt->slot, &wt->w);
	if (rc == CHL_WAIT)
		return chl_lua_park(L, wt, 0, send_k);
	return send_finish(L, &wt->slot, rc);
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
		return 1;
	}
	val_free(&v);
	if (rc == CHL_WOULDBLOCK) {
		lua_pushboolean(L, 0);
		return 1;
	}
	return chl_lua_raise(L, rc);
}

/* ---- receive ---- */

/* ctx: 0 = recv (v, ok), 1 = range iterator (v or nil) */
static int recv_finish(lua_State *L, chl_chan *c, chl_lua_val *v, bool ok, lua_KContext ctx)
{
	push_elem(L, c, v, ok);
	if (ctx == 1)
		return 1;
	lua_pushboolean(L, ok);
	return 2;
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
		return 1;
	}
	lua_pushboolean(L, 1);
	push_elem(L, c, &v, ok);
	lua_pushboolean(L, ok);
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
	return 0;
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
	lua_pushinteger(L, (lua_Integer)chl_chan_len(chl_lua_check_chan(L, 1)));
	return 1;
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

/* ---- select ---- */

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

/* The select is decided: rc and fired say how.  Runs the chosen function
 * (with lua_callk: it may block in turn) or returns index, v, ok. */
static int sel_finish(lua_State *L, sel *s, int rc, int fired)
{
	int base, nargs = 0;

	if (rc == CHL_CLOSED) {
		sel_release(s, -1);
		return chl_lua_raise(L, rc);
	}
	if (rc == CHL_WOULDBLOCK) {
		sel_release(s, -1);
		base = lua_gettop(L);
		if (sel_get(L, 1, K_DEFAULT) != LUA_TFUNCTION)
			return 0;
		lua_callk(L, 0, LUA_MULTRET, base, call_k);
		return call_k(L, LUA_OK, base);
	}
	if (rc != CHL_OK) {
		sel_release(s, -1);
		return chl_lua_raise(L, rc);
	}
	/* the fired send's message now belongs to the receiver */
	sel_release(s, fired);
	base = lua_gettop(L);
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
	/* what it pushed stays: l_select made room (3 slots a case) */
}

static int l_select(lua_State *L)
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
		return luaL_error(L, "out of memory");
	s->st_live = true;
	wt = chl_lua_wait_prepare(L, n ? "select" : "select (no cases)");
	rc = chl_select_begin(&s->st, s->cases, n, nonblock, wt->parker, &fired);
	if (rc == CHL_WAIT)
		return chl_lua_park(L, wt, (lua_KContext)s, select_k);
	return sel_finish(L, s, rc, fired);
}

static int l_go(lua_State *L);

/* Once per process, before any goroutine (the interpreter and the module
 * open every part at start): the channel type and the bare functions, so
 * that closures capturing `go` or `chan.select` can cross states. */
static void register_chan_type(void)
{
	chl_lua_type_register(&chan_type);
	chl_transfer_register_cfunction("go", l_go);
	chl_transfer_register_cfunction("chan.select", l_select);
}

int chl_open_chan(lua_State *L)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, register_chan_type);
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, l_select);
	lua_setfield(L, -2, "select");
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, l_chan_new);
	lua_setfield(L, -2, "__call");
	lua_setmetatable(L, -2);
	return 1;
}

static int l_go(lua_State *L)
{
	chl_lua_go(L, 1, lua_gettop(L) - 1, NULL);
	return 0;
}

int chl_open_go(lua_State *L)
{
	lua_pushcfunction(L, l_go);
	return 1;
}
