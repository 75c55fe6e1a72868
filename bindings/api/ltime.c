/*
 * ltime.c - the `time` table: the monotonic clock, sleep, and time channels.
 *
 *   time.now()  time.since(t)  time.sleep(s)  time.after(s) --> channel
 *   local t = time.timer(s)    t.c  t:stop() --> bool  t:reset(s) --> bool
 *   local k = time.ticker(s)   k.c  k:stop()           k:reset(s)
 *   time.ns  time.us  time.ms  time.second  time.minute  time.hour
 *
 * Everything is in seconds (floats) on one clock: chl_now(), the clock of
 * the timer heap, so a time.now() value is also a deadline
 * (context.with_deadline) and what time channels deliver.
 *
 * sleep parks the goroutine with nothing but a deadline (no primitive, so
 * nothing to unlock at commit): the timer heap readies it.  Time channels
 * carry the core's int64_t fire time; lchan.c turns it into seconds
 * (CHL_LUA_CHAN_TIME).  A timer handle holds one reference to its
 * chl_timechan; its `.c` is a new channel handle on each access (they
 * compare equal: same channel).
 */
#include <string.h>

#include "api/lchan.h"
#include "api/ltime.h"
#include "runtime/visible.h"

static const chl_lua_op OP_SLEEP = { CHL_OP_SLEEP, "sleep", 0 };
static const chl_lua_op OP_TIMER_STOP = { CHL_OP_SYNC, "time.Timer.Stop", -1 };
static const chl_lua_op OP_TIMER_RESET = { CHL_OP_SYNC, "time.Timer.Reset", -1 };

static chl_lua_type timer_type;

static void timer_retain(void *o) { chl_timechan_retain(o); }
static void timer_release(void *o) { chl_timechan_release(o); }

/* Durations handed to the core are capped at ~146 years, so that "now +
 * d" cannot overflow there (time.after(math.huge) simply never fires). */
#define MAX_DURATION (INT64_MAX / 2)

static int64_t check_duration(lua_State *L, int idx)
{
	int64_t ns = chl_lua_ns(L, idx);

	return ns > MAX_DURATION ? MAX_DURATION : ns;
}

/* now + d without overflowing (d >= 0). */
static int64_t after_ns(int64_t d)
{
	int64_t now = chl_now();

	return d > INT64_MAX - now ? INT64_MAX : now + d;
}

/* ---- clock ---- */

static int l_now(lua_State *L)
{
	lua_pushnumber(L, chl_lua_secs(chl_now()));
	return 1;
}

static int l_since(lua_State *L)
{
	lua_Number t = luaL_checknumber(L, 1);

	lua_pushnumber(L, chl_lua_secs(chl_now()) - t);
	return 1;
}

/* ---- sleep ---- */

static int sleep_k(lua_State *L, int status, lua_KContext kctx)
{
	chl_lua_wait *wt = chl_lua_wait_current(L);

	(void)status;
	(void)kctx;
	chl_parker_disarm(wt->parker);
	if (wt->parker->status == CHL_NOMEM)
		return chl_lua_nomem(L);
	return chl_lua_visible(L, &OP_SLEEP, NULL, 0);
}

/* time.sleep(s): s <= 0 returns at once, as in Go. */
static int l_sleep(lua_State *L)
{
	int64_t ns = chl_lua_ns(L, 1);
	chl_lua_wait *wt;

	if (ns <= 0)
		return chl_lua_visible(L, &OP_SLEEP, NULL, 0);
	wt = chl_lua_wait_prepare(L, "sleep");
	chl_parker_arm_deadline(wt->parker, after_ns(ns));
	return chl_lua_park(L, wt, 0, sleep_k);
}

/* ---- time channels ---- */

static int l_after(lua_State *L)
{
	chl_chan *c = chl_after(check_duration(L, 1));

	if (!c)
		return chl_lua_nomem(L);
	chl_lua_push_chan_kind(L, c, CHL_LUA_CHAN_TIME);
	return 1;
}

static int timer_new(lua_State *L, bool ticker)
{
	int64_t ns = check_duration(L, 1);
	chl_timechan *t;

	if (ticker && ns <= 0)
		return chl_lua_raise_words(L, "non-positive interval for NewTicker");
	t = chl_timechan_new(ns, ticker ? ns : 0);
	if (!t)
		return chl_lua_nomem(L);
	chl_lua_push(L, &timer_type, t);
	return 1;
}

static int l_timer(lua_State *L)
{
	return timer_new(L, false);
}

static int l_ticker(lua_State *L)
{
	return timer_new(L, true);
}

static int l_timer_stop(lua_State *L)
{
	chl_timechan *t = chl_lua_check(L, 1, &timer_type);

	lua_pushboolean(L, chl_timechan_stop(t));
	return chl_lua_visible(L, &OP_TIMER_STOP, t, 1);
}

/* t:reset(s): a ticker refuses s <= 0 as Go panics; a timer fires at once. */
static int l_timer_reset(lua_State *L)
{
	chl_timechan *t = chl_lua_check(L, 1, &timer_type);
	int64_t ns = check_duration(L, 2);

	if (chl_timechan_is_ticker(t) && ns <= 0)
		return chl_lua_raise_words(L, "non-positive interval for Ticker.Reset");
	lua_pushboolean(L, chl_timechan_reset(t, ns));
	return chl_lua_visible(L, &OP_TIMER_RESET, t, 1);
}

static const luaL_Reg timer_methods[] = {
	{"stop", l_timer_stop},
	{"reset", l_timer_reset},
	{NULL, NULL}
};

/* t.c is the channel; anything else is looked up among the methods. */
static int l_timer_index(lua_State *L)
{
	chl_timechan *t = chl_lua_check(L, 1, &timer_type);
	const char *k;
	const luaL_Reg *r;

	if (lua_type(L, 2) != LUA_TSTRING)
		return 0;
	k = lua_tostring(L, 2);
	if (strcmp(k, "c") == 0) {
		chl_lua_push_chan_kind(L, chl_chan_retain(chl_timechan_chan(t)),
			CHL_LUA_CHAN_TIME);
		return 1;
	}
	for (r = timer_methods; r->name; r++) {
		if (strcmp(k, r->name) == 0) {
			lua_pushcfunction(L, r->func);
			return 1;
		}
	}
	return 0;
}

static int l_timer_tostring(lua_State *L)
{
	chl_timechan *t = chl_lua_check(L, 1, &timer_type);

	lua_pushstring(L, chl_timechan_is_ticker(t) ? "time.ticker" : "time.timer");
	return 1;
}

static const luaL_Reg timer_meta[] = {
	{"__index", l_timer_index},
	{"__tostring", l_timer_tostring},
	{NULL, NULL}
};

static chl_lua_type timer_type =
	CHL_LUA_TYPE("chanlab.timer", timer_retain, timer_release, NULL, timer_meta);

static const luaL_Reg time_funcs[] = {
	{"now", l_now},
	{"since", l_since},
	{"sleep", l_sleep},
	{"after", l_after},
	{"timer", l_timer},
	{"ticker", l_ticker},
	{NULL, NULL}
};

static chl_lua_type *const time_types[] = { &timer_type, NULL };

static int open_time(lua_State *L)
{
	luaL_newlib(L, time_funcs);
	lua_pushnumber(L, 1e-9);
	lua_setfield(L, -2, "ns");
	lua_pushnumber(L, 1e-6);
	lua_setfield(L, -2, "us");
	lua_pushnumber(L, 1e-3);
	lua_setfield(L, -2, "ms");
	/* Whole seconds are integers, so `2 * time.second` prints as 2. */
	lua_pushinteger(L, 1);
	lua_setfield(L, -2, "second");
	lua_pushinteger(L, 60);
	lua_setfield(L, -2, "minute");
	lua_pushinteger(L, 3600);
	lua_setfield(L, -2, "hour");
	return 1;
}

const chl_lua_lib chl_lib_time = {
	"time", open_time, time_funcs, NULL, time_types
};
