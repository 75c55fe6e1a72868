-- test_context.lua - the context table (bindings/lctx.c).
--   build/chanlab tests/lua/test_context.lua
-- Timing: a timeout must not fire early (1 ms tolerance for clock
-- rounding) and must fire within 2 s (generous: loaded CI, sanitizers).
local lu = require("luaunit")

local function errof(fn, ...)
	local ok, err = pcall(fn, ...)
	lu.assertFalse(ok, "expected an error")
	return err
end

-- True if the channel is closed now (never blocks).
local function closed(ch)
	local ready, v, ok = ch:tryrecv()
	return ready and v == nil and ok == false
end

local bg = context.background()

TestContext = {}

function TestContext.testBackground()
	lu.assertNil(bg:err())
	lu.assertNil(bg:done())
	lu.assertNil(bg:deadline())
	lu.assertNil(bg:value("k"))
	lu.assertNil(context.cause(bg))
	lu.assertNil(context.todo():err())
	lu.assertEquals(type(tostring(bg)), "string")
end

function TestContext.testConstants()
	lu.assertEquals(context.canceled, "context canceled")
	lu.assertEquals(context.deadline_exceeded, "context deadline exceeded")
end

function TestContext.testCancel()
	local ctx, cancel = context.with_cancel(bg)
	local done = ctx:done()
	lu.assertNotNil(done)
	lu.assertNil(ctx:err())
	lu.assertFalse(closed(done))
	lu.assertNil(context.cause(ctx))
	cancel()
	lu.assertEquals(ctx:err(), context.canceled)
	lu.assertTrue(closed(done))
	local v, ok = done:recv()
	lu.assertNil(v)
	lu.assertFalse(ok)
	lu.assertEquals(context.cause(ctx), "context canceled")
	cancel()   -- again: nothing changes
	lu.assertEquals(ctx:err(), context.canceled)
end

function TestContext.testCancelReachesEveryDescendantAtOnce()
	local root, cancel = context.with_cancel(bg)
	local a = context.with_cancel(root)
	local b = context.with_timeout(a, 3600)
	local c = context.with_value(b, "k", "v")
	local d = context.with_deadline(c, time.now() + 3600)
	for _, x in ipairs({ a, b, c, d }) do lu.assertNil(x:err()) end
	cancel("shutdown")
	-- synchronous: no wait needed
	for _, x in ipairs({ root, a, b, c, d }) do
		lu.assertEquals(x:err(), "context canceled")
		lu.assertTrue(closed(x:done()))
		lu.assertEquals(context.cause(x), "shutdown")
	end
end

function TestContext.testCancelChildLeavesParent()
	local parent, pcancel = context.with_cancel(bg)
	local child, ccancel = context.with_cancel(parent)
	ccancel()
	lu.assertEquals(child:err(), "context canceled")
	lu.assertNil(parent:err())
	pcancel()
end

function TestContext.testCauses()
	local ctx, cancel = context.with_cancel(bg)
	cancel({ code = 7, why = "quota" })
	local c = context.cause(ctx)
	lu.assertEquals(c, { code = 7, why = "quota" })
	-- first cancellation wins
	local ctx2, cancel2 = context.with_cancel(bg)
	cancel2("first")
	cancel2("second")
	lu.assertEquals(context.cause(ctx2), "first")
	-- no cause: the error
	local ctx3, cancel3 = context.with_cancel(bg)
	cancel3(nil)
	lu.assertEquals(context.cause(ctx3), "context canceled")
end

function TestContext.testCauseThatCannotCrossRaises()
	local ctx, cancel = context.with_cancel(bg)
	lu.assertErrorMsgContains("cannot", function() cancel(coroutine.create(print)) end)
	lu.assertNil(ctx:err())
	cancel()
end

function TestContext.testChildOfCanceledIsBornDone()
	local parent, cancel = context.with_cancel(bg)
	cancel("gone")
	local c1 = context.with_cancel(parent)
	local c2 = context.with_timeout(parent, 3600)
	local c3 = context.with_value(parent, 1, 2)
	for _, x in ipairs({ c1, c2, c3 }) do
		lu.assertEquals(x:err(), "context canceled")
		lu.assertTrue(closed(x:done()))
		lu.assertEquals(context.cause(x), "gone")
	end
	lu.assertEquals(c3:value(1), 2)
end

function TestContext.testTimeoutZeroOrNegativeIsDoneAtOnce()
	for _, d in ipairs({ 0, -1, -0.5 }) do
		local ctx, cancel = context.with_timeout(bg, d)
		lu.assertEquals(ctx:err(), "context deadline exceeded")
		lu.assertTrue(closed(ctx:done()))
		lu.assertEquals(context.cause(ctx), "context deadline exceeded")
		cancel()
		lu.assertEquals(ctx:err(), "context deadline exceeded")
	end
	local past = context.with_deadline(bg, time.now() - 1)
	lu.assertEquals(past:err(), "context deadline exceeded")
end

function TestContext.testTimeoutFires()
	local t0 = time.now()
	local ctx, cancel = context.with_timeout(bg, 0.05)
	lu.assertNil(ctx:err())
	ctx:done():recv()
	local dt = time.since(t0)
	lu.assertEquals(ctx:err(), "context deadline exceeded")
	lu.assertTrue(dt >= 0.049, "fired early: " .. dt)
	lu.assertTrue(dt < 2, "fired late: " .. dt)
	cancel()
	lu.assertEquals(ctx:err(), "context deadline exceeded")
end

function TestContext.testDeadline()
	local t = time.now() + 10
	local ctx, cancel = context.with_deadline(bg, t)
	lu.assertAlmostEquals(ctx:deadline(), t, 1e-6)
	local ctx2, cancel2 = context.with_timeout(bg, 5)
	local d = ctx2:deadline() - time.now()
	lu.assertTrue(d > 4 and d <= 5, "deadline " .. d)
	-- values and cancels below a deadline keep it
	lu.assertAlmostEquals(context.with_value(ctx, "a", 1):deadline(), t, 1e-6)
	lu.assertAlmostEquals(context.with_cancel(ctx):deadline(), t, 1e-6)
	lu.assertNil(context.with_cancel(bg):deadline())
	cancel()
	cancel2()
end

function TestContext.testDeadlineCappedByParent()
	local t = time.now() + 10
	local parent, cancel = context.with_deadline(bg, t)
	local later = context.with_deadline(parent, t + 100)
	lu.assertAlmostEquals(later:deadline(), t, 1e-6)
	local longer = context.with_timeout(parent, 3600)
	lu.assertAlmostEquals(longer:deadline(), t, 1e-6)
	local earlier = context.with_deadline(parent, t - 5)
	lu.assertAlmostEquals(earlier:deadline(), t - 5, 1e-6)
	cancel()
	lu.assertEquals(later:err(), "context canceled")
end

function TestContext.testValues()
	local c1 = context.with_value(bg, "user", "ada")
	local c2 = context.with_value(c1, "id", 42)
	local c3 = context.with_value(c2, "user", "bob")   -- shadows
	lu.assertEquals(c2:value("user"), "ada")
	lu.assertEquals(c2:value("id"), 42)
	lu.assertEquals(c3:value("user"), "bob")
	lu.assertEquals(c3:value("id"), 42)
	lu.assertNil(c3:value("nope"))
	local c4 = context.with_value(c3, "user", nil)     -- nil shadows too
	lu.assertNil(c4:value("user"))
	lu.assertEquals(c4:value("id"), 42)
end

function TestContext.testValueIsACopy()
	local t = { list = { 1, 2, 3 } }
	local ctx = context.with_value(bg, "t", t)
	t.list[1] = 99
	local got = ctx:value("t")
	lu.assertEquals(got, { list = { 1, 2, 3 } })
	got.list[2] = 77
	lu.assertEquals(ctx:value("t").list[2], 2)
end

function TestContext.testKeyTypes()
	local ch = chan()
	local ctx = context.with_value(bg, 1, "int one")
	ctx = context.with_value(ctx, "1", "string one")
	ctx = context.with_value(ctx, true, "true")
	ctx = context.with_value(ctx, false, "false")
	ctx = context.with_value(ctx, 2.5, "two and a half")
	ctx = context.with_value(ctx, ch, "the channel")
	lu.assertEquals(ctx:value(1), "int one")
	lu.assertEquals(ctx:value(1.0), "int one")      -- 1 and 1.0: one key
	lu.assertEquals(ctx:value("1"), "string one")   -- 1 and "1" differ
	lu.assertEquals(ctx:value(true), "true")
	lu.assertEquals(ctx:value(false), "false")
	lu.assertEquals(ctx:value(2.5), "two and a half")
	lu.assertNil(ctx:value(2))
	lu.assertEquals(ctx:value(ch), "the channel")
	lu.assertNil(ctx:value(chan()))                 -- another channel
	-- a float key with an integral value is the integer key
	local c2 = context.with_value(bg, 3.0, "three")
	lu.assertEquals(c2:value(3), "three")
end

function TestContext.testKeysAndValuesAcrossGoroutines()
	local ch, out = chan(), chan(1)
	local ctx = context.with_value(bg, ch, { n = 5 })
	ctx = context.with_value(ctx, 7, "seven")
	go(function(c, key)
		out:send({ c:value(key), c:value(7), c:value(7.0), c:value("7") })
	end, ctx, ch)
	local got = out:recv()
	lu.assertEquals(got[1], { n = 5 })
	lu.assertEquals(got[2], "seven")
	lu.assertEquals(got[3], "seven")
	lu.assertNil(got[4])
end

function TestContext.testMisuse()
	lu.assertEquals(errof(context.with_value, bg, nil, 1), "nil key")
	lu.assertEquals(errof(bg.value, bg, nil), "nil key")
	for _, f in ipairs({ context.with_cancel, context.with_timeout,
	                     context.with_deadline, context.with_value }) do
		lu.assertEquals(errof(f, nil, 1, 2), "cannot create context from nil parent")
	end
	lu.assertErrorMsgContains("bad argument", function() context.with_value(bg, {}, 1) end)
	lu.assertErrorMsgContains("bad argument", function() context.with_cancel(42) end)
	lu.assertErrorMsgContains("bad argument", function() context.with_timeout(bg, "soon") end)
	lu.assertErrorMsgContains("cannot", function()
		context.with_value(bg, "co", coroutine.create(print))
	end)
end

function TestContext.testCancelFromAnotherGoroutine()
	local ctx, cancel = context.with_cancel(bg)
	go(function(c) c("from goroutine") end, cancel)
	local v, ok = ctx:done():recv()
	lu.assertNil(v)
	lu.assertFalse(ok)
	lu.assertEquals(context.cause(ctx), "from goroutine")
end

function TestContext.testWorkersStopOnCancel()
	local ctx, cancel = context.with_cancel(bg)
	local wg, stopped = sync.waitgroup(), atomic.int(0)
	for _ = 1, 10 do
		wg:go(function(c)
			c:done():recv()
			if c:err() == "context canceled" then stopped:add(1) end
		end, ctx)
	end
	cancel()
	wg:wait()
	lu.assertEquals(stopped:load(), 10)
end

function TestContext.testDoneInSelect()
	local ctx, cancel = context.with_timeout(bg, 0.02)
	local work = chan()
	local which = chan.select {
		{ recv = work, function() return "work" end },
		{ recv = ctx:done(), function() return "done" end },
	}
	lu.assertEquals(which, "done")
	lu.assertEquals(ctx:err(), "context deadline exceeded")
	cancel()
end

function TestContext.testCancelCallableAndTostring()
	local ctx, cancel = context.with_cancel(bg)
	lu.assertEquals(type(cancel), "userdata")
	lu.assertEquals(type(tostring(cancel)), "string")
	lu.assertEquals(type(tostring(ctx)), "string")
	cancel()
end

os.exit(lu.LuaUnit.run())
