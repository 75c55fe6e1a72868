/*
 * fuzz_api.c - libFuzzer target: random sequences of API calls (spawn,
 * send, receive, try-send, try-receive, select, close, cancel) run by up
 * to nine goroutines on one runtime, every message counted.
 *
 * The runtime is started once, as a stock lua5.4 would start it (this
 * thread is an outside thread of the scheduler), with two workers and the
 * deadlock accounting on, so that the scheduler's counters say when every
 * goroutine is parked.  Each input is cut into programs by the Lua driver
 * below; goroutines run them on three channels (buffers of 0 to 2) and a
 * cancellable context.  When nothing can run any more (quiesce), the
 * driver closes every channel and cancels the context: each goroutine
 * then runs to its end without blocking, and the driver checks:
 *   - every value sent (a send that returned, a try-send that said yes, a
 *     select that chose its send) was received or left in a buffer
 *     exactly once, and nothing else was received;
 *   - the only errors raised are Go's: "send on closed channel", "close of
 *     closed channel";
 *   - a receive says not-ok only from a closed channel.
 * A broken rule aborts with the driver's message; a hang is libFuzzer's
 * -timeout.  Go's own rules for panics hold too: a goroutine error the
 * driver did not catch ends the process with chanlab's panic report.
 */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char driver[] =
	"local N_CHANS, MAX_GOROUTINES, MAX_OPS = 3, 9, 24\n"
	"local ALLOWED = { 'send on closed channel', 'close of closed channel' }\n"
	"local chans, ctx, cancel, programs, results, wg, spawned, started\n"
	"\n"
	/* One goroutine: run program `p`, sending ids base+1, base+2...; report
	 * what it sent and received on `results`. */
	"local function body(p, base, depth)\n"
	"  local sent, got, bad, next_id = {}, {}, nil, base\n"
	"  local function note_error(e)\n"
	"    for _, a in ipairs(ALLOWED) do\n"
	"      if tostring(e):find(a, 1, true) then return end\n"
	"    end\n"
	"    bad = bad or ('unexpected error: ' .. tostring(e))\n"
	"  end\n"
	"  local function value(id)\n"
	"    if id % 3 == 0 then return { id = id, pad = ('x'):rep(id % 17) } end\n"
	"    return id\n"
	"  end\n"
	"  local function id_of(v)\n"
	"    if type(v) == 'table' then return v.id end\n"
	"    return v\n"
	"  end\n"
	/* not-ok only from a closed channel: closing it again must raise */
	"  local function received(ch, v, ok)\n"
	"    if ok then got[#got + 1] = id_of(v)\n"
	"    elseif pcall(ch.close, ch) then\n"
	"      bad = bad or 'a receive said closed on an open channel'\n"
	"    end\n"
	"  end\n"
	"  for _, op in ipairs(programs[p]) do\n"
	"    local kind, c, extra = op % 8, chans[(op >> 3) % N_CHANS + 1], op >> 5\n"
	"    local other = chans[((op >> 3) + 1) % N_CHANS + 1]\n"
	"    local ok, e = pcall(function()\n"
	"      if kind == 0 then\n"
	"        next_id = next_id + 1; c:send(value(next_id)); sent[#sent + 1] = next_id\n"
	"      elseif kind == 1 then\n"
	"        received(c, c:recv())\n"
	"      elseif kind == 2 then\n"
	"        next_id = next_id + 1\n"
	"        if c:trysend(value(next_id)) then sent[#sent + 1] = next_id end\n"
	"      elseif kind == 3 then\n"
	"        local ready, v, ok = c:tryrecv()\n"
	"        if ready then received(c, v, ok) end\n"
	"      elseif kind == 4 then\n"
	"        next_id = next_id + 1\n"
	"        local cases = { { recv = c }, { send = other, value = value(next_id) } }\n"
	"        if extra & 1 == 1 then cases[3] = { recv = ctx:done() } end\n"
	"        if extra & 2 == 2 then cases.default = function() return 0 end end\n"
	"        local i, v, ok = chan.select(cases)\n"
	"        if i == 1 then received(c, v, ok)\n"
	"        elseif i == 2 then sent[#sent + 1] = next_id end\n"
	"      elseif kind == 5 then\n"
	"        c:close()\n"
	"      elseif kind == 6 then\n"
	"        if extra & 3 == 0 then cancel() end\n"
	"      elseif kind == 7 and depth < 2 then\n"
	"        local k = spawned:add(1)\n"
	"        if k <= MAX_GOROUTINES then\n"
	"          wg:add(1)\n"
	"          started:add(1)\n"
	"          go(body, extra % #programs + 1, k * 1000000, depth + 1)\n"
	"        end\n"
	"      end\n"
	"    end)\n"
	"    if not ok then note_error(e) end\n"
	"  end\n"
	"  results:send({ sent = sent, got = got, bad = bad })\n"
	"  wg:done()\n"
	"end\n"
	"\n"
	"local M = {}\n"
	/* Cut the input into programs (up to four, of up to MAX_OPS ops) and
	 * start one goroutine per program but the first, which this thread
	 * runs itself with its blocking ops made non-blocking. */
	"function M.start(bytes)\n"
	"  local pos = 0\n"
	"  local function byte() pos = pos + 1; return bytes:byte(pos) or 0 end\n"
	"  chans = {}\n"
	"  for i = 1, N_CHANS do chans[i] = chan(byte() % 3) end\n"
	"  ctx, cancel = context.with_cancel(context.background())\n"
	"  results, wg, spawned, started = chan(64), sync.waitgroup(), atomic.int(0), atomic.int(0)\n"
	"  programs = {}\n"
	"  local n = byte() % 4 + 1\n"
	"  for p = 1, n do\n"
	"    local ops, len = {}, byte() % MAX_OPS\n"
	"    for i = 1, len do ops[i] = byte() end\n"
	"    programs[p] = ops\n"
	"  end\n"
	"  for p = 2, n do\n"
	"    wg:add(1)\n"
	"    started:add(1)\n"
	"    go(body, p, spawned:add(1) * 1000000, 0)\n"
	"  end\n"
	"  M.main_sent, M.main_got = {}, {}\n"
	"  for _, op in ipairs(programs[1]) do\n"
	"    local kind, c = op % 8, chans[(op >> 3) % N_CHANS + 1]\n"
	"    local id = 900000000 + #M.main_sent + #M.main_got + 1\n"
	"    local ok, e = pcall(function()\n"
	"      if kind == 0 or kind == 2 then\n"
	"        if c:trysend(id) then M.main_sent[#M.main_sent + 1] = id end\n"
	"      elseif kind == 1 or kind == 3 then\n"
	"        local ready, v, ok = c:tryrecv()\n"
	"        if ready and ok then M.main_got[#M.main_got + 1] = type(v) == 'table' and v.id or v end\n"
	"      elseif kind == 5 then c:close()\n"
	"      elseif kind == 6 then cancel()\n"
	"      end\n"
	"    end)\n"
	"    if not ok and not (tostring(e):find('closed channel', 1, true)) then\n"
	"      error('main: unexpected error: ' .. tostring(e))\n"
	"    end\n"
	"  end\n"
	"end\n"
	"\n"
	/* Unblock everyone, wait for them, and count. */
	"function M.finish()\n"
	"  for _, c in ipairs(chans) do pcall(c.close, c) end\n"
	"  cancel()\n"
	"  wg:wait()\n"
	"  local sent, got = {}, {}\n"
	"  local function add(set, id, what)\n"
	"    if set[id] then error(what .. ' twice: ' .. tostring(id)) end\n"
	"    set[id] = true\n"
	"  end\n"
	"  for _, id in ipairs(M.main_sent) do add(sent, id, 'sent') end\n"
	"  for _, id in ipairs(M.main_got) do add(got, id, 'received') end\n"
	"  local reports = 0\n"
	"  while true do\n"
	"    local ready, r = results:tryrecv()\n"
	"    if not ready then break end\n"
	"    reports = reports + 1\n"
	"    if r.bad then error(r.bad) end\n"
	"    for _, id in ipairs(r.sent) do add(sent, id, 'sent') end\n"
	"    for _, id in ipairs(r.got) do add(got, id, 'received') end\n"
	"  end\n"
	"  if reports ~= started:load() then\n"
	"    error(reports .. ' goroutines reported, ' .. started:load() .. ' started')\n"
	"  end\n"
	"  for _, c in ipairs(chans) do\n"
	"    for v in c:range() do add(got, type(v) == 'table' and v.id or v, 'received') end\n"
	"  end\n"
	"  for id in pairs(got) do\n"
	"    if not sent[id] then error('received but never sent: ' .. tostring(id)) end\n"
	"  end\n"
	"  for id in pairs(sent) do\n"
	"    if not got[id] then error('sent but lost: ' .. tostring(id)) end\n"
	"  end\n"
	"end\n"
	"return M\n";

static lua_State *L;
static chl_sched *sched;

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_api: %s\n", why ? why : "?");
	abort();
}

static void set_up(void)
{
	chl_rt_config cfg = { 0 };
	chl_rt *rt;

	chl_rt_config_from_env(&cfg);
	cfg.procs = 2;
	cfg.detect_deadlock = true;     /* for the counters; this thread is outside */
	rt = chl_module_start(&cfg);
	if (!rt)
		fail("cannot start the runtime");
	sched = chl_rt_sched(rt);
	chl_sched_external_enter(sched);
	L = luaL_newstate();
	if (!L)
		fail("cannot make a state");
	luaL_openlibs(L);
	chl_module_set_globals(L);
	if (luaL_loadbuffer(L, driver, sizeof driver - 1, "=driver") != LUA_OK ||
	    lua_pcall(L, 0, 1, 0) != LUA_OK)
		fail(lua_tostring(L, -1));
	lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.driver");
}

/* Wait until no goroutine can run: each is parked (or all are gone).
 * Seen three times in a row, with a yield between, to let a wake that is
 * on its way land; closing too early would be legal anyway. */
static void quiesce(void)
{
	chl_sched_stats st;
	int quiet = 0;

	while (quiet < 3) {
		chl_sched_stats_get(sched, &st);
		quiet = st.live == 0 || st.runnable == 0 ? quiet + 1 : 0;
		sched_yield();
	}
}

static void call(const char *fn, const uint8_t *data, size_t size)
{
	lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.driver");
	lua_getfield(L, -1, fn);
	lua_remove(L, -2);
	if (data)
		lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, data ? 1 : 0, 0, 0) != LUA_OK)
		fail(lua_tostring(L, -1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!L)
		set_up();
	call("start", data, size);
	quiesce();
	call("finish", NULL, 0);
	lua_gc(L, LUA_GCCOLLECT);
	return 0;
}
