-- test_select.lua - chan.select from Lua: the chosen case's function and
-- results, default, disabled (nil) cases, duplicates, send cases, closed
-- channels, fairness, and a stress with close where every message is
-- counted.  Run: build/chanlab tests/lua/test_select.lua
local lu = require("luaunit")

TestSelect = {}

function TestSelect.testRunsTheReadyCase()
  local a, b = chan(1), chan(1)
  b:send("bee")
  local r = chan.select {
    { recv = a, function(v) return "a", v end },
    { recv = b, function(v, ok) return "b", v, ok end },
  }
  lu.assertEquals(r, "b")
  lu.assertEquals({ chan.select { { recv = a, function() end }, default = function() return "d" end } }, { "d" })
end

function TestSelect.testReturnsWhatTheFunctionReturns()
  local a = chan(1)
  a:send(5)
  lu.assertEquals({ chan.select { { recv = a, function(v, ok) return v * 2, ok, "x" end } } }, { 10, true, "x" })
end

function TestSelect.testCaseWithoutFunctionReturnsIndex()
  local a, b = chan(1), chan(1)
  b:send("v")
  lu.assertEquals({ chan.select { { recv = a }, { recv = b } } }, { 2, "v", true })
  lu.assertEquals({ chan.select { { send = a, value = 1 } } }, { 1 })
  lu.assertEquals(a:recv(), 1)
end

function TestSelect.testSendWithoutValueSendsNil()
  local a = chan(1)
  chan.select { { send = a } }
  local v, ok = a:recv()
  lu.assertNil(v)
  lu.assertTrue(ok)
end

function TestSelect.testDefaultNeverTakenWhileACaseIsReady()
  local a = chan(1)
  for _ = 1, 1000 do
    a:send(1)
    local which = chan.select { { recv = a, function() return "a" end }, default = function() return "d" end }
    lu.assertEquals(which, "a")
  end
end

function TestSelect.testNilChannelCaseNeverFires()
  local none = nil
  local r = chan.select { { recv = none, function() return "nil" end }, default = function() return "default" end }
  lu.assertEquals(r, "default")
end

function TestSelect.testDisabledCaseAfterAnEnabledOneInTheSameSlot()
  -- regression: the reused select scratch kept a stale direction for a
  -- case with no channel, and the next select failed with "invalid argument"
  local out = chan()
  for _ = 1, 50 do        -- fresh and reused goroutine states alike
    go(function()
      out:send(chan.select { { send = nil }, { recv = nil }, default = function() return "d" end })
    end)
    lu.assertEquals(out:recv(), "d")
  end
end

function TestSelect.testSameChannelInTwoCases()
  local a = chan(2)
  a:send(1); a:send(2)
  local seen = {}
  for _ = 1, 2 do
    local i, v = chan.select { { recv = a }, { recv = a } }
    seen[#seen + 1] = v
    lu.assertTrue(i == 1 or i == 2)
  end
  table.sort(seen)
  lu.assertEquals(seen, { 1, 2 })
end

function TestSelect.testSendOnClosedRaisesEvenWithDefault()
  local a = chan(1)
  a:close()
  lu.assertErrorMsgContains("send on closed channel", chan.select,
    { { send = a, value = 1 }, default = function() end })
end

function TestSelect.testClosedRecvFiresWithOkFalse()
  local a = chan()
  a:close()
  lu.assertEquals({ chan.select { { recv = a } } }, { 1, nil, false })
end

function TestSelect.testFairnessBetweenTwoReadyCases()
  -- Both cases are always ready; the random poll order should pick each
  -- about half the time. Binomial(10000, 0.5) has sd 50: 4500..5500 is
  -- 10 sd wide, so a fair select essentially never fails this.
  local a, b = chan(1), chan(1)
  local na = 0
  for _ = 1, 10000 do
    a:trysend(1); b:trysend(1)
    if chan.select { { recv = a, function() return true end }, { recv = b, function() return false end } } then
      na = na + 1
    end
  end
  lu.assertTrue(na > 4500 and na < 5500, "picked a " .. na .. " times of 10000")
end

function TestSelect.testBlocksUntilAGoroutineSends()
  local a, b = chan(), chan()
  go(function() b:send("late") end)
  local r = chan.select { { recv = a, function() return "a" end }, { recv = b, function(v) return v end } }
  lu.assertEquals(r, "late")
end

function TestSelect.testTimeoutWithAfter()
  local a = chan()
  local t0 = time.now()
  local r = chan.select { { recv = a, function() return "a" end }, { recv = time.after(0.02), function() return "timeout" end } }
  lu.assertEquals(r, "timeout")
  lu.assertTrue(time.since(t0) >= 0.019)
end

function TestSelect.testCaseFunctionMayBlock()
  local a, b = chan(1), chan()
  a:send(1)
  go(function() b:send(2) end)
  lu.assertEquals(chan.select { { recv = a, function(v) return v + b:recv() end } }, 3)
end

function TestSelect.testStressWithClose()
  -- 8 producers send through select (racing a quit channel), 8 consumers
  -- receive through select; every value counted exactly once.
  local data, quit, totals = chan(16), chan(), chan(8)
  local wg = sync.waitgroup()
  local N = 2000
  for p = 0, 7 do
    wg:go(function(base)
      for i = 1, N do
        chan.select { { send = data, value = base + i }, { recv = quit, function() error("quit closed early") end } }
      end
    end, p * N)
  end
  go(function() wg:wait(); data:close() end)
  for _ = 1, 8 do
    go(function()
      local n, sum = 0, 0
      while true do
        local more = chan.select { { recv = data, function(v, ok)
          if ok then n = n + 1; sum = sum + v end
          return ok
        end } }
        if not more then break end
      end
      totals:send({ n, sum })
    end)
  end
  local n, sum = 0, 0
  for _ = 1, 8 do local t = totals:recv(); n = n + t[1]; sum = sum + t[2] end
  lu.assertEquals(n, 8 * N)
  lu.assertEquals(sum, (8 * N) * (8 * N + 1) // 2)
end

os.exit(lu.LuaUnit.run())
