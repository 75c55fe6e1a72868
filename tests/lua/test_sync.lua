-- test_sync.lua - sync.waitgroup, sync.mutex, sync.once (bindings/lsync.c).
--   build/chanlab tests/lua/test_sync.lua
-- Goroutines share nothing but handles: counters shared between them are
-- atomic.int handles, and every test synchronises through channels or
-- waitgroups (no sleeps).
local lu = require("luaunit")

-- The message of the error fn raises (pcall's second result).
local function errof(fn, ...)
	local ok, err = pcall(fn, ...)
	lu.assertFalse(ok, "expected an error")
	return err
end

-- Run src with `chanlab run` in a subprocess: stdout, stderr, exit status.
local run = require("subprocess")

TestWaitGroup = {}

function TestWaitGroup.testGoManyCountThroughAtomic()
	local wg, n = sync.waitgroup(), atomic.int(0)
	for _ = 1, 200 do
		wg:go(function() n:add(1) end)
	end
	wg:wait()
	lu.assertEquals(n:load(), 200)
	lu.assertEquals(tostring(wg), "waitgroup(count=0)")
end

function TestWaitGroup.testGoPassesArguments()
	local wg, out = sync.waitgroup(), chan(3)
	for i = 1, 3 do
		wg:go(function(ch, x, t) ch:send(x * 10 + t.k) end, out, i, { k = 1 })
	end
	wg:wait()
	local sum = 0
	for _ = 1, 3 do sum = sum + out:recv() end
	lu.assertEquals(sum, 11 + 21 + 31)
end

function TestWaitGroup.testAddDoneWait()
	local wg, n = sync.waitgroup(), atomic.int(0)
	wg:add(3)
	lu.assertEquals(tostring(wg), "waitgroup(count=3)")
	for _ = 1, 3 do
		go(function(w, c) c:add(1); w:done() end, wg, n)
	end
	wg:wait()
	lu.assertEquals(n:load(), 3)
end

function TestWaitGroup.testWaitAtZeroReturnsAtOnce()
	local wg = sync.waitgroup()
	wg:wait()
	wg:add(2)
	wg:add(-2)
	wg:wait()
end

function TestWaitGroup.testReusedForSecondRound()
	local wg, n = sync.waitgroup(), atomic.int(0)
	for round = 1, 2 do
		for _ = 1, 10 do wg:go(function() n:add(1) end) end
		wg:wait()
		lu.assertEquals(n:load(), 10 * round)
	end
end

function TestWaitGroup.testWaitFromManyGoroutines()
	local wg, gate, done = sync.waitgroup(), chan(), chan(5)
	wg:add(1)
	for i = 1, 5 do
		go(function() wg:wait(); done:send(i) end)
	end
	go(function() gate:recv(); wg:done() end)
	gate:send(true)
	local sum = 0
	for _ = 1, 5 do sum = sum + done:recv() end
	lu.assertEquals(sum, 15)
end

function TestWaitGroup.testNegativeCounterRaisesGoWords()
	local wg = sync.waitgroup()
	lu.assertEquals(errof(wg.done, wg), "sync: negative WaitGroup counter")
	lu.assertEquals(errof(wg.add, wg, -1), "sync: negative WaitGroup counter")
	-- the counter is unchanged and still usable
	wg:add(1)
	wg:done()
	wg:wait()
	lu.assertErrorMsgContains("sync: negative WaitGroup counter", function() wg:done() end)
end

function TestWaitGroup.testGoWithValueThatCannotCrossLeavesCounter()
	local wg = sync.waitgroup()
	local co = coroutine.create(function() end)
	lu.assertErrorMsgContains("cannot", function() wg:go(function(x) return x end, co) end)
	lu.assertEquals(tostring(wg), "waitgroup(count=0)")
	wg:wait()
end

function TestWaitGroup.testGoThatRaisesPanicsBeforeWaitReturns()
	-- the failed function does not call done: wait must not return and
	-- let the main script end with status 0 before the panic (Go 1.25)
	local out, err, status = run([[
local wg = sync.waitgroup()
for i = 1, 4 do wg:go(function() end) end
wg:go(function() error("worker failed", 0) end)
wg:wait()
print("main ended")
]])
	lu.assertEquals(status, 2)
	lu.assertEquals(out, "")
	lu.assertStrContains(err, "panic: worker failed")
end

function TestWaitGroup.testBadArguments()
	local wg = sync.waitgroup()
	lu.assertErrorMsgContains("bad argument", function() wg:go(42) end)
	lu.assertErrorMsgContains("bad argument", function() wg.add({}, 1) end)
	lu.assertEquals(tostring(wg), "waitgroup(count=0)")
end

function TestWaitGroup.testSharedWithGoroutine()
	-- a handle sent to a goroutine is the same group
	local wg, n = sync.waitgroup(), atomic.int(0)
	wg:add(1)
	go(function(w)
		for _ = 1, 10 do w:go(function() n:add(1) end) end
		w:done()
	end, wg)
	wg:wait()   -- the ten were added before the done: all are finished
	lu.assertEquals(n:load(), 10)
end

TestMutex = {}

function TestMutex.testExactCountEightByThousand()
	-- a read-modify-write that yields in the middle: without the mutex
	-- updates would be lost
	local mu, n, wg = sync.mutex(), atomic.int(0), sync.waitgroup()
	for _ = 1, 8 do
		wg:go(function()
			for _ = 1, 1000 do
				mu:lock()
				local v = n:load()
				runtime.gosched()
				n:store(v + 1)
				mu:unlock()
			end
		end)
	end
	wg:wait()
	lu.assertEquals(n:load(), 8000)
end

function TestMutex.testLockWaitsForUnlock()
	local mu, got = sync.mutex(), chan(1)
	mu:lock()
	go(function() mu:lock(); got:send("locked"); mu:unlock() end)
	lu.assertFalse((got:tryrecv()))
	mu:unlock()
	lu.assertEquals(got:recv(), "locked")
	mu:lock()   -- the goroutine unlocked it again
	mu:unlock()
end

function TestMutex.testUnlockOfUnlockedRaisesAndStaysUsable()
	local mu = sync.mutex()
	lu.assertEquals(errof(mu.unlock, mu), "sync: unlock of unlocked mutex")
	mu:lock()
	mu:unlock()
	lu.assertErrorMsgContains("sync: unlock of unlocked mutex", function() mu:unlock() end)
	lu.assertTrue(mu:trylock())
	mu:unlock()
end

function TestMutex.testTrylock()
	local mu = sync.mutex()
	lu.assertTrue(mu:trylock())
	lu.assertFalse(mu:trylock())
	lu.assertEquals(tostring(mu), "mutex(locked)")
	mu:unlock()
	lu.assertEquals(tostring(mu), "mutex(unlocked)")
	lu.assertTrue(mu:trylock())
	mu:unlock()
end

function TestMutex.testUnlockFromAnotherGoroutine()
	-- as in Go, a mutex is not tied to who locked it
	local mu, done = sync.mutex(), chan()
	mu:lock()
	go(function() mu:unlock(); done:send(true) end)
	done:recv()
	lu.assertTrue(mu:trylock())
	mu:unlock()
end

TestOnce = {}

function TestOnce.testTenGoroutinesRunItOnce()
	local once, n, seen = sync.once(), atomic.int(0), chan(10)
	local gate = chan()
	for _ = 1, 10 do
		go(function()
			once:call(function()
				gate:recv()     -- block inside the run: the others must wait
				n:add(1)
			end)
			seen:send(n:load())   -- after call returns the run is complete
		end)
	end
	gate:send(true)
	for _ = 1, 10 do lu.assertEquals(seen:recv(), 1) end
	lu.assertEquals(n:load(), 1)
	lu.assertEquals(tostring(once), "once(done)")
end

function TestOnce.testRunsInCallingGoroutine()
	local once, id = sync.once(), nil
	once:call(function() id = runtime.id() end)
	lu.assertEquals(id, runtime.id())
	once:call(function() id = -1 end)
	lu.assertEquals(id, runtime.id())
end

function TestOnce.testErrorCountsAsDoneAndIsRaised()
	local once, ran = sync.once(), 0
	lu.assertEquals(tostring(once), "once(not done)")
	lu.assertErrorMsgContains("boom", function()
		once:call(function() ran = ran + 1; error("boom") end)
	end)
	once:call(function() ran = ran + 1 end)
	lu.assertEquals(ran, 1)
end

function TestOnce.testBadArgument()
	local once = sync.once()
	lu.assertErrorMsgContains("bad argument", function() once:call(1) end)
	lu.assertEquals(tostring(once), "once(not done)")
end

os.exit(lu.LuaUnit.run())
