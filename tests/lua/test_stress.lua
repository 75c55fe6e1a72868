-- test_stress.lua - many goroutines at once, every one accounted for:
-- a ring of 10,000 goroutines passing a token, 100,000 goroutines parked
-- at once then released, and spawn storms.
-- Run: build/chanlab tests/lua/test_stress.lua
local lu = require("luaunit")

TestStress = {}

function TestStress.testRingOf10000()
  local N = 10000
  local first = chan()
  local prev = first
  for _ = 1, N do
    local nxt = chan()
    go(function(inbox, outbox) outbox:send(inbox:recv() + 1) end, prev, nxt)
    prev = nxt
  end
  first:send(0)
  lu.assertEquals(prev:recv(), N)
end

function TestStress.test100000ParkedThenReleased()
  local N = 100000
  local gate = chan()
  local arrived = sync.waitgroup()
  local finished = sync.waitgroup()
  local count = atomic.int(0)
  arrived:add(N)
  finished:add(N)
  for i = 1, N do
    go(function(id)
      arrived:done()
      gate:recv()                      -- parked until the gate closes
      count:add(id)
      finished:done()
    end, i)
  end
  arrived:wait()
  lu.assertTrue(runtime.goroutines() >= N)
  gate:close()
  finished:wait()
  lu.assertEquals(count:load(), N * (N + 1) // 2)   -- each ran exactly once
end

function TestStress.testSpawnStormJoinedByWaitgroup()
  local wg = sync.waitgroup()
  local n = atomic.int(0)
  for _ = 1, 20000 do wg:go(function() n:add(1) end) end
  wg:wait()
  lu.assertEquals(n:load(), 20000)
end

os.exit(lu.LuaUnit.run())
