/*
 * lsignal.c - the `signal` table: Go's os/signal for Lua.
 *
 *   local ch = signal.notify("INT", "TERM")   a channel receiving "INT"...
 *   signal.notify(ch, "HUP")                  add signals to such a channel
 *   signal.stop(ch)                           stop delivering to it
 *   local ctx, stop = signal.notify_context(parent, "INT", "TERM")
 *   signal.raise("INT")                       send a signal to ourselves
 *
 * Names: "INT" "TERM" "HUP" "USR1" "USR2", with or without "SIG"; an
 * unknown name raises.  A channel made by notify has capacity 1 and
 * carries the core's int signal numbers; lchan.c delivers them as names
 * (CHL_LUA_CHAN_SIGNAL).  As in Go a signal that finds the channel full
 * is dropped.
 *
 * notify_context's `stop` is a callable handle ("chanlab.sigstop") so it
 * can be sent to other goroutines; it holds a reference to a small shared
 * record naming the watch.  The first stop() unregisters the watch and
 * cancels the context; later calls do nothing.  A stop that is never
 * called leaves the watch in place, as Go does (the signals stay caught).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "api/lchan.h"
#include "api/lctx.h"
#include "api/lsignal.h"
#include "refcount.h"
#include "runtime/visible.h"

static const chl_lua_op OP_RAISE = { CHL_OP_SIGNAL, "signal.raise", 1 };
static const chl_lua_op OP_STOP = { CHL_OP_SYNC, "signal.Stop", 0 };

#define MAX_SIGNALS 16

/* What a stop handle refers to. */
typedef struct sigstop {
	chl_refcount refs;                   /* references */
	_Atomic(chl_signal_watch *) watch;   /* NULL once stopped */
	chl_ctx *ctx;                        /* one reference; fixed */
} sigstop;

static chl_lua_type sigstop_type;

static void sigstop_retain(void *o)
{
	sigstop *s = o;

	chl_ref_retain(&s->refs);
}

static void sigstop_release(void *o)
{
	sigstop *s = o;

	if (!chl_ref_release(&s->refs))
		return;
	chl_ctx_release(s->ctx);
	free(s);
}


/* The signal number named at idx; raises for anything else. */
static int check_signal(lua_State *L, int idx)
{
	const char *name = luaL_checkstring(L, idx);
	int signo = chl_signal_from_name(name);

	if (signo < 0)
		luaL_argerror(L, idx, lua_pushfstring(L, "unknown signal \"%s\"", name));
	return signo;
}

/* The signal numbers named from `first` to the top (at least one). */
static int check_signals(lua_State *L, int first, int signos[MAX_SIGNALS])
{
	int top = lua_gettop(L), n = 0, i;

	if (first > top)
		luaL_argerror(L, first, "signal name expected");
	if (top - first + 1 > MAX_SIGNALS)
		luaL_argerror(L, first + MAX_SIGNALS, "too many signals");
	for (i = first; i <= top; i++)
		signos[n++] = check_signal(L, i);
	return n;
}

/* signal.notify([ch,] names...): a new channel, or ch (one made by an
 * earlier notify) with more signals. */
static int l_notify(lua_State *L)
{
	int signos[MAX_SIGNALS], n, i, rc;
	chl_chan *c = chl_lua_test_chan(L, 1);
	bool made = false;

	if (c) {
		if (chl_lua_chan_kind(c) != CHL_LUA_CHAN_SIGNAL)
			return luaL_argerror(L, 1, "not a channel made by signal.notify");
		n = check_signals(L, 2, signos);
		lua_pushvalue(L, 1);
	} else {
		n = check_signals(L, 1, signos);
		c = chl_chan_new(sizeof(int), 1);
		if (!c)
			return chl_lua_nomem(L);
		chl_lua_push_chan_kind(L, c, CHL_LUA_CHAN_SIGNAL);
		made = true;
	}
	for (i = 0; i < n; i++) {
		rc = chl_signal_notify(c, signos[i]);
		if (rc != CHL_OK) {
			/* a channel made here is lost to the script: its signals
			 * must not stay caught (one given keeps the ones it has,
			 * as each call to Go's signal.Notify adds to the last) */
			if (made)
				chl_signal_stop(c);
			return chl_lua_raise(L, rc);
		}
	}
	return 1;
}

static int l_stop(lua_State *L)
{
	chl_chan *c = chl_lua_check_chan(L, 1);

	chl_signal_stop(c);
	return chl_lua_visible(L, &OP_STOP, c, 0);
}

static int l_raise(lua_State *L)
{
	int rc = chl_signal_raise(check_signal(L, 1));

	if (rc != CHL_OK)
		return chl_lua_raise(L, rc);
	return chl_lua_visible(L, &OP_RAISE, NULL, 0);
}

static int push_sigstop(lua_State *L)
{
	chl_lua_push(L, &sigstop_type, lua_touserdata(L, 1));
	return 1;
}

static int push_ctx(lua_State *L)
{
	chl_lua_push_ctx(L, lua_touserdata(L, 1));
	return 1;
}

static int l_notify_context(lua_State *L)
{
	chl_ctx *parent = chl_lua_check_parent(L, 1);
	int signos[MAX_SIGNALS];
	int n = check_signals(L, 2, signos);
	chl_ctx *ctx = NULL;
	chl_signal_watch *watch = NULL;
	sigstop *s = malloc(sizeof *s);
	int rc;

	if (!s)
		return chl_lua_nomem(L);
	rc = chl_signal_notify_ctx(parent, signos, n, &ctx, &watch);
	if (rc != CHL_OK) {
		free(s);
		return chl_lua_raise(L, rc);
	}
	chl_ref_init(&s->refs);
	atomic_init(&s->watch, watch);
	s->ctx = chl_ctx_retain(ctx);
	/* stop first, protected: out of memory, undo the watch too (the
	 * push has released s); then the context (its push releases it) */
	lua_pushcfunction(L, push_sigstop);
	lua_pushlightuserdata(L, s);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		chl_signal_watch_stop(watch);
		chl_ctx_release(ctx);
		return lua_error(L);
	}
	lua_pushcfunction(L, push_ctx);
	lua_pushlightuserdata(L, ctx);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		/* s is the stop function's now, which the script never gets */
		chl_signal_watch *w = atomic_exchange(&s->watch, NULL);

		if (w)
			chl_signal_watch_stop(w);
		return lua_error(L);
	}
	lua_insert(L, -2);
	return 2;
}

/* stop(): unregister (first call only) and cancel the context. */
static int l_sigstop_call(lua_State *L)
{
	sigstop *s = chl_lua_check(L, 1, &sigstop_type);
	chl_signal_watch *w = atomic_exchange(&s->watch, NULL);

	if (w)
		chl_signal_watch_stop(w);
	chl_ctx_cancel(s->ctx, CHL_CANCELED, NULL, NULL, NULL);
	return chl_lua_visible(L, &OP_STOP, s->ctx, 0);
}

static int l_sigstop_tostring(lua_State *L)
{
	sigstop *s = chl_lua_check(L, 1, &sigstop_type);

	lua_pushstring(L, atomic_load(&s->watch) ? "signal.stop" : "signal.stop(stopped)");
	return 1;
}

static const luaL_Reg sigstop_meta[] = {
	{"__call", l_sigstop_call},
	{"__tostring", l_sigstop_tostring},
	{NULL, NULL}
};

/* For the leak detector: stop() cancels the context. */
static void sigstop_reach(void *obj, chl_reach *r)
{
	chl_reach_cancel(r, ((sigstop *)obj)->ctx);
}

static chl_lua_type sigstop_type = CHL_LUA_TYPE_REACH("chanlab.sigstop", sigstop_retain,
	sigstop_release, NULL, sigstop_meta, sigstop_reach);

static const luaL_Reg signal_funcs[] = {
	{"notify", l_notify},
	{"stop", l_stop},
	{"raise", l_raise},
	{"notify_context", l_notify_context},
	{NULL, NULL}
};

static chl_lua_type *const signal_types[] = { &sigstop_type, NULL };

static int open_signal(lua_State *L)
{
	luaL_newlib(L, signal_funcs);
	return 1;
}

const chl_lua_lib chl_lib_signal = {
	"signal", open_signal, signal_funcs, NULL, signal_types
};
