-- test_chan.lua - channels from Lua: values, order, close, try-operations,
-- range, misuse in Go's words, and the many-goroutine stress with every
-- message counted.  Run: build/chanlab tests/lua/test_chan.lua
local lu = require("luaunit")

TestChan = {}

function TestChan.testBufferedFifo()
  local ch = chan(4)
  for i = 1, 4 do ch:send(i) end
  lu.assertEquals(ch:len(), 4)
  lu.assertEquals(ch:cap(), 4)
  for i = 1, 4 do
    local v, ok = ch:recv()
    lu.assertEquals(v, i)
    lu.assertTrue(ok)
  end
  lu.assertEquals(ch:len(), 0)
end

function TestChan.testUnbufferedHandOff()
  local ch, done = chan(), chan()
  go(function() for i = 1, 100 do ch:send(i) end; done:send(true) end)
  for i = 1, 100 do lu.assertEquals(ch:recv(), i) end
  lu.assertTrue(done:recv())
end

function TestChan.testValuesAreCopiedAtSend()
  local ch = chan(1)
  local t = { n = 1, list = { 1, 2, 3 } }
  ch:send(t)
  t.n = 2                                  -- too late: the copy was taken
  local got = ch:recv()
  lu.assertEquals(got.n, 1)
  lu.assertEquals(got.list, { 1, 2, 3 })
  lu.assertNotIs(got, t)
end

function TestChan.testScalarsSurvive()
  local ch = chan(8)
  local values = { math.maxinteger, math.mininteger, 0.5, -0.0, "a\0b", true, false }
  for _, v in ipairs(values) do ch:send(v) end
  for _, v in ipairs(values) do
    local got = ch:recv()
    lu.assertEquals(got, v)
    lu.assertEquals(math.type(got), math.type(v))
  end
end

function TestChan.testNilCanBeSent()
  local ch = chan(1)
  ch:send(nil)
  local v, ok = ch:recv()
  lu.assertNil(v)
  lu.assertTrue(ok)
end

function TestChan.testCloseDrainsThenReportsClosed()
  local ch = chan(2)
  ch:send("a"); ch:send("b"); ch:close()
  lu.assertEquals({ ch:recv() }, { "a", true })
  lu.assertEquals({ ch:recv() }, { "b", true })
  local v, ok = ch:recv()
  lu.assertNil(v)
  lu.assertFalse(ok)
end

function TestChan.testCloseWakesEveryReceiver()
  local ch, out = chan(), chan(10)
  for _ = 1, 10 do go(function() local _, ok = ch:recv(); out:send(ok) end) end
  ch:close()
  for _ = 1, 10 do lu.assertFalse(out:recv()) end
end

function TestChan.testRange()
  local ch = chan(10)
  for i = 1, 10 do ch:send(i) end
  ch:close()
  local sum = 0
  for v in ch:range() do sum = sum + v end
  lu.assertEquals(sum, 55)
end

function TestChan.testTryOperations()
  local ch = chan(1)
  lu.assertEquals({ ch:tryrecv() }, { false })
  lu.assertTrue(ch:trysend(7))
  lu.assertFalse(ch:trysend(8))
  lu.assertEquals({ ch:tryrecv() }, { true, 7, true })
  ch:close()
  lu.assertEquals({ ch:tryrecv() }, { true, nil, false })
  lu.assertErrorMsgContains("send on closed channel", ch.trysend, ch, 1)
end

function TestChan.testMisuseInGoWords()
  local ch = chan()
  ch:close()
  lu.assertErrorMsgContains("send on closed channel", ch.send, ch, 1)
  lu.assertErrorMsgContains("close of closed channel", ch.close, ch)
  lu.assertErrorMsgContains("size out of range", chan, -1)
end

function TestChan.testUncopyableValueNamesItsPath()
  local ch = chan(1)
  local ok, err = pcall(ch.send, ch, { jobs = { 1, 2, coroutine.create(print) } })
  lu.assertFalse(ok)
  lu.assertStrContains(err, "cannot send thread (at value.jobs[3])")
  lu.assertEquals(ch:len(), 0)             -- nothing half-sent
end

function TestChan.testToString()
  local ch = chan(4)
  ch:send(1)
  lu.assertEquals(tostring(ch), "chan(cap=4, len=1)")
end

function TestChan.testMethodsCopiedInOnFirstUse()
  -- a handle's metatable gets each method when it is first looked up;
  -- every way of reaching one gives the same function, in every goroutine
  local ch = chan(2)
  local mt = getmetatable(ch)
  lu.assertNil(rawget(mt, "trysend"))     -- not used yet in this state
  lu.assertIsFunction(ch.trysend)
  lu.assertIs(rawget(mt, "trysend"), ch.trysend)
  lu.assertIs(mt.cap, ch.cap)
  lu.assertEquals(mt.cap(ch), 2)
  lu.assertNil(ch.nosuchmethod)
  lu.assertNil(ch[1])
  lu.assertNil(ch.__gc_not_a_method)
  local ok, err = pcall(function() return ch:nosuchmethod() end)
  lu.assertFalse(ok)
  lu.assertStrContains(err, "nosuchmethod")
  local out = chan(1)
  go(function(c, out)
    local sent, n = c:trysend(5), c:len()
    local ready, v = c:tryrecv()
    out:send({ sent, n, ready, v, c:cap() })
  end, ch, out)
  lu.assertEquals(out:recv(), { true, 1, true, 5, 2 })
end

function TestChan.testHandlesCrossByReference()
  -- a channel sent over a channel is the same channel
  local carrier, inner = chan(1), chan(1)
  carrier:send(inner)
  local got = carrier:recv()
  got:send("through the copy")
  lu.assertEquals(inner:recv(), "through the copy")
  lu.assertTrue(got == inner)
end

function TestChan.testBlockingInsideNonYieldableCallFallsBack()
  -- A table.sort comparator cannot yield: receiving there blocks the
  -- worker thread instead of parking, slower but correct.
  local c = chan()
  go(function() for i = 1, 1000 do c:send(i) end end)
  local got = 0
  local t = { 5, 3, 8, 1, 9, 2 }
  table.sort(t, function(a, b) got = got + c:recv() * 0 + 1; return a < b end)
  lu.assertEquals(t, { 1, 2, 3, 5, 8, 9 })
  lu.assertTrue(got > 0)
end

function TestChan.testBlockingInsideACoroutine()
  -- A coroutine inside a goroutine yields to its resumer, not to the
  -- scheduler: its channel operations block the thread instead.
  local c = chan()
  go(function() c:send("a"); c:send("b") end)
  local co = coroutine.wrap(function() coroutine.yield((c:recv())); return (c:recv()) end)
  lu.assertEquals(co(), "a")
  lu.assertEquals(co(), "b")
end

-- 8 producers x 8 consumers, every value received exactly once.
local function mpmc(capacity, per_producer)
  local ch, sums = chan(capacity), chan(8)
  local wg = sync.waitgroup()
  for p = 0, 7 do
    wg:go(function(base)
      for i = 1, per_producer do ch:send(base + i) end
    end, p * per_producer)
  end
  go(function() wg:wait(); ch:close() end)
  for _ = 1, 8 do
    go(function()
      local n, sum = 0, 0
      for v in ch:range() do n = n + 1; sum = sum + v end
      sums:send({ n, sum })
    end)
  end
  local n, sum = 0, 0
  for _ = 1, 8 do local r = sums:recv(); n = n + r[1]; sum = sum + r[2] end
  local total = 8 * per_producer
  lu.assertEquals(n, total)
  lu.assertEquals(sum, total * (total + 1) // 2)
end

function TestChan.testManyProducersConsumersUnbuffered() mpmc(0, 5000) end
function TestChan.testManyProducersConsumersCap1() mpmc(1, 5000) end
function TestChan.testManyProducersConsumersCap64() mpmc(64, 5000) end

os.exit(lu.LuaUnit.run())
