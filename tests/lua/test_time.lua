-- test_time.lua - the time table (bindings/ltime.c).
--   build/chanlab tests/lua/test_time.lua
-- Timing tolerances: nothing may fire early (1 ms tolerance for clock
-- rounding); "late" bounds are generous (2 s) for loaded machines and
-- sanitizer builds, except where the test says otherwise.
local lu = require("luaunit")

local EARLY = 0.001
local LATE = 2

TestTime = {}

function TestTime.testUnits()
	lu.assertEquals(time.ns, 1e-9)
	lu.assertEquals(time.us, 1e-6)
	lu.assertEquals(time.ms, 1e-3)
	lu.assertEquals(time.second, 1)
	lu.assertEquals(time.minute, 60)
	lu.assertEquals(time.hour, 3600)
	lu.assertAlmostEquals(100 * time.ms, 0.1, 1e-12)
end

function TestTime.testNowIsMonotonicSeconds()
	local a = time.now()
	lu.assertEquals(math.type(a), "float")
	local b = time.now()
	lu.assertTrue(b >= a)
	local s = time.since(a)
	lu.assertTrue(s >= 0 and s < LATE)
end

function TestTime.testSleep()
	local t0 = time.now()
	time.sleep(0.05)
	local dt = time.since(t0)
	lu.assertTrue(dt >= 0.05 - EARLY, "woke early: " .. dt)
	lu.assertTrue(dt < LATE, "woke late: " .. dt)
end

function TestTime.testSleepNonPositiveReturnsAtOnce()
	local t0 = time.now()
	time.sleep(0)
	time.sleep(-1)
	lu.assertTrue(time.since(t0) < 0.5)
end

function TestTime.testSleepParksNotWorkers()
	-- 40 goroutines sleeping 0.1 s at once take ~0.1 s, not 40 x 0.1 s
	-- divided by the workers: sleeping goroutines free their workers.
	local wg, t0 = sync.waitgroup(), time.now()
	for _ = 1, 40 do
		wg:go(function() time.sleep(0.1) end)
	end
	wg:wait()
	local dt = time.since(t0)
	lu.assertTrue(dt >= 0.1 - EARLY, "too fast: " .. dt)
	lu.assertTrue(dt < 1.0, "sleeps did not overlap: " .. dt)
end

function TestTime.testAfter()
	local t0 = time.now()
	local v, ok = time.after(0.03):recv()
	lu.assertTrue(ok)
	lu.assertEquals(math.type(v), "float")
	lu.assertTrue(v >= t0 + 0.03 - EARLY, "fired early")
	lu.assertTrue(v <= time.now())
	lu.assertTrue(time.since(t0) < LATE)
end

function TestTime.testAfterInSelect()
	local never = chan()
	local got = chan.select {
		{ recv = never, function() return "never" end },
		{ recv = time.after(0.01), function(v) return type(v) end },
	}
	lu.assertEquals(got, "number")
end

function TestTime.testAfterIsReceiveOnly()
	lu.assertErrorMsgContains("receive-only", function() time.after(1):send(1) end)
end

function TestTime.testTimerFiresOnce()
	local t0 = time.now()
	local t = time.timer(0.03)
	local v = t.c:recv()
	lu.assertTrue(v >= t0 + 0.03 - EARLY)
	lu.assertFalse(t:stop())   -- already fired
	lu.assertFalse((t.c:tryrecv()))
	lu.assertTrue(t.c == t.c)
	lu.assertEquals(tostring(t), "time.timer")
end

function TestTime.testTimerStopPreventsFire()
	local t = time.timer(0.05)
	lu.assertTrue(t:stop())
	lu.assertFalse(t:stop())
	local which = chan.select {
		{ recv = t.c, function() return "timer" end },
		{ recv = time.after(0.15), function() return "after" end },
	}
	lu.assertEquals(which, "after")
end

function TestTime.testTimerReset()
	local t = time.timer(3600)
	local t0 = time.now()
	lu.assertTrue(t:reset(0.02))   -- it was pending
	local v = t.c:recv()
	lu.assertTrue(v >= t0 + 0.02 - EARLY and v < t0 + LATE)
	lu.assertFalse(t:reset(0.01))  -- fired: nothing was pending
	t.c:recv()
end

function TestTime.testTicker()
	local t0 = time.now()   -- before the ticker: its clock starts there
	local k = time.ticker(0.01)
	local last = t0
	for _ = 1, 5 do
		local v = k.c:recv()
		lu.assertTrue(v >= last)
		last = v
	end
	local dt = time.since(t0)
	lu.assertTrue(dt >= 0.05 - EARLY, "5 ticks of 10 ms in " .. dt)
	lu.assertTrue(dt < LATE)
	lu.assertTrue(k:stop())
	lu.assertEquals(tostring(k), "time.ticker")
	-- after stop (and draining what was in flight) no more ticks come
	k.c:tryrecv()
	local which = chan.select {
		{ recv = k.c, function() return "tick" end },
		{ recv = time.after(0.05), function() return "quiet" end },
	}
	lu.assertEquals(which, "quiet")
end

function TestTime.testTickerResetAndMisuse()
	local k = time.ticker(3600)
	k:reset(0.01)
	k.c:recv()
	k.c:recv()
	k:stop()
	lu.assertEquals(select(2, pcall(time.ticker, 0)), "non-positive interval for NewTicker")
	lu.assertEquals(select(2, pcall(k.reset, k, -1)), "non-positive interval for Ticker.Reset")
	lu.assertErrorMsgContains("bad argument", function() time.sleep("x") end)
end

function TestTime.testTimerSharedWithGoroutine()
	local t, got = time.timer(0.02), chan()
	go(function(tm) got:send(tm.c:recv()) end, t)
	lu.assertEquals(type(got:recv()), "number")
end

os.exit(lu.LuaUnit.run())
