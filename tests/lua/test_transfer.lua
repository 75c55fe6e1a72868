-- test_transfer.lua - what crosses between goroutines (each its own Lua
-- state): copies of scalars and tables (cycles, shared references), Lua
-- functions as bytecode with copied upvalues and rebound globals, shared
-- handles, and the errors for what cannot cross.
-- Run: build/chanlab tests/lua/test_transfer.lua
local lu = require("luaunit")

-- Send v to a new goroutine and get back what f(v) returns there.
local function roundtrip(f, ...)
  local out = chan(1)
  go(function(g, ...) out:send(table.pack(g(...))) end, f, ...)
  local r = out:recv()
  return table.unpack(r, 1, r.n)
end

local function identity(...) return ... end

TestTransfer = {}

function TestTransfer.testScalars()
  local a, b, c, d, e = roundtrip(identity, math.maxinteger, 2^53 + 1, "x\0y", true, 1.5)
  lu.assertEquals(a, math.maxinteger)
  lu.assertEquals(math.type(a), "integer")
  lu.assertEquals(b, 2^53 + 1)
  lu.assertEquals(c, "x\0y")
  lu.assertTrue(d)
  lu.assertEquals(e, 1.5)
end

function TestTransfer.testNestedTablesCyclesAndSharedReferences()
  local shared = { "s" }
  local t = { a = shared, b = shared, list = { 1, 2, { 3 } }, [1.5] = "f", [2] = "i" }
  t.self = t
  local ok = roundtrip(function(x)
    return x.self == x and x.a == x.b and x.list[3][1] == 3 and x[1.5] == "f" and x[2] == "i"
  end, t)
  lu.assertTrue(ok)
end

function TestTransfer.testGoroutineGetsASnapshotOfUpvalues()
  local count = 10
  local box = { n = 1 }
  local seen = chan(1)
  go(function() count = count + 1; box.n = 99; seen:send({ count, box.n }) end)
  lu.assertEquals(seen:recv(), { 11, 99 })
  lu.assertEquals(count, 10)        -- the parent's variables did not change
  lu.assertEquals(box.n, 1)
end

function TestTransfer.testFunctionsCrossAsBytecodeWithUpvalues()
  local k = 3
  local function times_k(x) return x * k end
  lu.assertEquals(roundtrip(function(f) return f(5) end, times_k), 15)
end

function TestTransfer.testGlobalsAreTheReceiversOwn()
  X_GLOBAL = "parent"
  local r = roundtrip(function() return tostring(X_GLOBAL), string.format("%03d", 7) end)
  lu.assertEquals(r, "nil")
  lu.assertEquals(select(2, roundtrip(function() return X_GLOBAL, string.format("%03d", 7) end)), "007")
end

function TestTransfer.testStandardLibraryFunctionsCross()
  lu.assertEquals(roundtrip(function(f) return f("abc") end, string.upper), "ABC")
end

function TestTransfer.testHandlesAreShared()
  local n = atomic.int(0)
  local wg = sync.waitgroup()
  for _ = 1, 10 do wg:go(function() n:add(1) end) end
  wg:wait()
  lu.assertEquals(n:load(), 10)
end

function TestTransfer.testUncopyableRaisesWithPath()
  local ch = chan(1)
  lu.assertErrorMsgContains("cannot send thread (at value.jobs[3])", ch.send, ch,
    { jobs = { 1, 2, coroutine.create(print) } })
  lu.assertErrorMsgContains("cannot send userdata", ch.send, ch, { f = io.stdout })
end

function TestTransfer.testDeepNestingIsCapped()
  local t = {}
  local cur = t
  for _ = 1, 300 do cur.next = {}; cur = cur.next end
  local ch = chan(1)
  lu.assertErrorMsgContains("nesting deeper than", ch.send, ch, t)
end

function TestTransfer.testErrorValuesCrossThroughErrgroup()
  local g = errgroup.new()
  g:go(function() error({ code = 42 }) end)
  local err = g:wait()
  lu.assertEquals(err.code, 42)
end

function TestTransfer.testEveryGoroutineStartsWithCleanGlobals()
  -- Finished goroutines' states are reused: nothing a goroutine did to its
  -- globals or libraries may show in a later one.
  local out = chan()
  for _ = 1, 200 do
    go(function()
      local clean = LEAKED == nil and string.leaked == nil and rawget(_G, "print") == nil
      LEAKED = true
      string.leaked = true
      out:send(clean)
    end)
    lu.assertTrue(out:recv())
  end
end

os.exit(lu.LuaUnit.run())
