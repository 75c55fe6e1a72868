-- test_runtime.lua - the runtime table (bindings/lruntime.c).
--   build/chanlab tests/lua/test_runtime.lua
local lu = require("luaunit")

-- Wait (by yielding, bounded) until only the main goroutine is left: a
-- goroutine that has signalled its end may still be finishing.
local function settle(n)
	for _ = 1, 100000 do
		if runtime.goroutines() == n then return end
		runtime.gosched()
	end
end

TestRuntime = {}

function TestRuntime.testIdOfMainIsOne()
	lu.assertEquals(runtime.id(), 1)
end

function TestRuntime.testGoroutineIdsDiffer()
	local ids, wg = chan(10), sync.waitgroup()
	for _ = 1, 10 do wg:go(function() ids:send(runtime.id()) end) end
	wg:wait()
	local seen = {}
	for _ = 1, 10 do
		local id = ids:recv()
		lu.assertTrue(id > 1)
		lu.assertNil(seen[id])
		seen[id] = true
	end
end

function TestRuntime.testGoroutinesCounts()
	settle(1)   -- goroutines of earlier tests are gone
	local base = runtime.goroutines()
	lu.assertEquals(base, 1)   -- the main goroutine counts
	local gate, ready = chan(), chan(5)
	for _ = 1, 5 do
		go(function() ready:send(true); gate:recv() end)
	end
	for _ = 1, 5 do ready:recv() end
	lu.assertEquals(runtime.goroutines(), base + 5)
	local out = chan()
	go(function() out:send(runtime.goroutines()) end)
	lu.assertEquals(out:recv(), base + 6)
	gate:close()
	settle(base)   -- the five (and the sixth) end soon
	lu.assertEquals(runtime.goroutines(), base)
end

function TestRuntime.testProcs()
	local p = runtime.procs()
	lu.assertEquals(math.type(p), "integer")
	lu.assertTrue(p >= 1)
end

function TestRuntime.testGoschedLetsOthersRun()
	-- with one goroutine spinning on gosched, another still makes progress
	local flag, done = atomic.int(0), chan()
	go(function() flag:store(1); done:send(true) end)
	while flag:load() == 0 do runtime.gosched() end
	done:recv()
	lu.assertNil(runtime.gosched())
end

function TestRuntime.testMemory()
	local m0 = runtime.memory()
	lu.assertEquals(math.type(m0), "integer")
	lu.assertTrue(m0 > 0)
	local t = {}
	for i = 1, 100000 do t[i] = i end
	lu.assertTrue(runtime.memory() > m0 + 100000 * 8)
	t = nil
end

function TestRuntime.testMemoryIsPerGoroutine()
	-- a new goroutine's state is small, whatever this one holds
	local big = {}
	for i = 1, 200000 do big[i] = i end
	local out = chan()
	go(function() out:send(runtime.memory()) end)
	lu.assertTrue(out:recv() < runtime.memory())
	big = nil
end

function TestRuntime.testStats()
	local s = runtime.stats()
	lu.assertEquals(s.id, 1)
	lu.assertTrue(s.goroutines >= 1)
	lu.assertEquals(s.procs, runtime.procs())
	lu.assertTrue(s.memory > 0)
end

os.exit(lu.LuaUnit.run())
