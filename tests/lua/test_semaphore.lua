-- test_semaphore.lua - semaphore (bindings/lsem.c).
--   build/chanlab tests/lua/test_semaphore.lua
-- Timing: a timeout context may end a wait no earlier than its deadline
-- (1 ms tolerance) and within 2 s.
local lu = require("luaunit")

local bg = context.background()

TestSemaphore = {}

function TestSemaphore.testWeights()
	local sem = semaphore.new(3)
	lu.assertNil(sem:acquire(nil, 2))
	lu.assertEquals(tostring(sem), "semaphore(size=3, held=2)")
	lu.assertFalse(sem:try_acquire(2))
	lu.assertTrue(sem:try_acquire())
	lu.assertFalse(sem:try_acquire())
	sem:release(2)
	lu.assertNil(sem:acquire(bg))
	sem:release()
	sem:release()
	lu.assertEquals(tostring(sem), "semaphore(size=3, held=0)")
	lu.assertTrue(sem:try_acquire(3))
	sem:release(3)
	lu.assertTrue(sem:try_acquire(0))
end

function TestSemaphore.testOverReleaseRaises()
	local sem = semaphore.new(2)
	sem:acquire()
	lu.assertErrorMsgContains("semaphore: released more than held", function() sem:release(2) end)
	sem:release(1)
	lu.assertEquals(tostring(sem), "semaphore(size=2, held=0)")
end

function TestSemaphore.testCanceledContextReturnsItsError()
	local ctx, cancel = context.with_cancel(bg)
	cancel()
	local sem = semaphore.new(5)
	-- Go fails even though the tokens are free
	lu.assertEquals(sem:acquire(ctx, 1), "context canceled")
	lu.assertEquals(tostring(sem), "semaphore(size=5, held=0)")
	local past = context.with_timeout(bg, 0)
	lu.assertEquals(sem:acquire(past), "context deadline exceeded")
end

function TestSemaphore.testCancelEndsAWait()
	local sem = semaphore.new(1)
	sem:acquire()
	local ctx, cancel = context.with_cancel(bg)
	local res = chan()
	go(function() res:send(sem:acquire(ctx) or "acquired") end)
	lu.assertFalse((res:tryrecv()))
	cancel()
	lu.assertEquals(res:recv(), "context canceled")
	lu.assertEquals(tostring(sem), "semaphore(size=1, held=1)")
	sem:release()
	lu.assertTrue(sem:try_acquire())   -- the canceled waiter left no trace
	sem:release()
end

function TestSemaphore.testTimeoutEndsAWait()
	local sem = semaphore.new(1)
	sem:acquire()
	local t0 = time.now()   -- before the context: its clock starts there
	local ctx, cancel = context.with_timeout(bg, 0.03)
	lu.assertEquals(sem:acquire(ctx), "context deadline exceeded")
	local dt = time.since(t0)
	lu.assertTrue(dt >= 0.029 and dt < 2, "waited " .. dt)
	cancel()
	sem:release()
end

function TestSemaphore.testTooBigWaitsForContext()
	local sem = semaphore.new(2)
	local ctx, cancel = context.with_timeout(bg, 0.02)
	lu.assertEquals(sem:acquire(ctx, 3), "context deadline exceeded")
	cancel()
	lu.assertFalse(sem:try_acquire(3))
end

function TestSemaphore.testReleaseWakesWaiter()
	local sem, res = semaphore.new(2), chan()
	sem:acquire(nil, 2)
	go(function() res:send(sem:acquire(nil, 2) or "acquired") end)
	sem:release(1)
	lu.assertFalse((res:tryrecv()))     -- 1 free, 2 wanted: still waiting
	sem:release(1)
	lu.assertEquals(res:recv(), "acquired")
	lu.assertEquals(tostring(sem), "semaphore(size=2, held=2)")
	sem:release(2)
end

function TestSemaphore.testBoundsConcurrency()
	local sem, wg = semaphore.new(3), sync.waitgroup()
	local active, peak = atomic.int(0), atomic.int(0)
	for _ = 1, 24 do
		wg:go(function()
			sem:acquire()
			local now = active:add(1)
			repeat
				local p = peak:load()
			until now <= p or peak:cas(p, now)
			for _ = 1, 10 do runtime.gosched() end
			active:add(-1)
			sem:release()
		end)
	end
	wg:wait()
	lu.assertTrue(peak:load() >= 1 and peak:load() <= 3, "peak " .. peak:load())
	lu.assertEquals(tostring(sem), "semaphore(size=3, held=0)")
end

function TestSemaphore.testBadArguments()
	lu.assertErrorMsgContains("bad argument", function() semaphore.new(-1) end)
	local sem = semaphore.new(1)
	lu.assertErrorMsgContains("bad argument", function() sem:acquire(42) end)
	lu.assertErrorMsgContains("bad argument", function() sem:acquire(nil, -1) end)
	lu.assertErrorMsgContains("bad argument", function() sem:release(-1) end)
end

os.exit(lu.LuaUnit.run())
