-- test_atomic.lua - atomic.int (bindings/latomic.c).
--   build/chanlab tests/lua/test_atomic.lua
local lu = require("luaunit")

TestAtomic = {}

function TestAtomic.testLoadStoreAddCas()
	local n = atomic.int(5)
	lu.assertEquals(n:load(), 5)
	n:store(7)
	lu.assertEquals(n:load(), 7)
	lu.assertEquals(n:add(3), 10)
	lu.assertEquals(n:add(-4), 6)
	lu.assertTrue(n:cas(6, 60))
	lu.assertFalse(n:cas(6, 61))
	lu.assertEquals(n:load(), 60)
	lu.assertEquals(n:swap(1), 60)
	lu.assertEquals(n:load(), 1)
	lu.assertEquals(math.type(n:load()), "integer")
end

function TestAtomic.testDefaultsToZero()
	lu.assertEquals(atomic.int():load(), 0)
end

function TestAtomic.testWrapsAroundLikeGo()
	local n = atomic.int(math.maxinteger)
	lu.assertEquals(n:add(1), math.mininteger)
end

function TestAtomic.testIntegralFloatsAcceptedOthersRefused()
	local n = atomic.int(2.0)
	lu.assertEquals(n:add(3.0), 5)
	lu.assertErrorMsgContains("bad argument", function() n:add(0.5) end)
	lu.assertErrorMsgContains("bad argument", function() n:store("x") end)
	lu.assertErrorMsgContains("bad argument", function() atomic.int({}) end)
	lu.assertEquals(n:load(), 5)
end

function TestAtomic.testTostring()
	lu.assertEquals(tostring(atomic.int(42)), "atomic.int(42)")
end

function TestAtomic.testSharedAcrossGoroutines()
	local n, wg = atomic.int(0), sync.waitgroup()
	for _ = 1, 50 do
		wg:go(function() for _ = 1, 100 do n:add(1) end end)
	end
	wg:wait()
	lu.assertEquals(n:load(), 5000)
end

function TestAtomic.testCasLoopFromGoroutines()
	-- a compare-and-swap retry loop never loses an update
	local n, wg = atomic.int(0), sync.waitgroup()
	for _ = 1, 8 do
		wg:go(function()
			for _ = 1, 200 do
				repeat
					local v = n:load()
					runtime.gosched()
				until n:cas(v, v + 1)
			end
		end)
	end
	wg:wait()
	lu.assertEquals(n:load(), 1600)
end

function TestAtomic.testSameHandleEqual()
	local n, back = atomic.int(1), chan(1)
	go(function(x) back:send(x) end, n)
	local m = back:recv()
	lu.assertTrue(m == n)
	m:add(1)
	lu.assertEquals(n:load(), 2)
	lu.assertFalse(atomic.int(1) == n)
end

os.exit(lu.LuaUnit.run())
