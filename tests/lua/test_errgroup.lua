-- test_errgroup.lua - errgroup (bindings/lerrgroup.c).
--   build/chanlab tests/lua/test_errgroup.lua
local lu = require("luaunit")

local bg = context.background()

local function errof(fn, ...)
	local ok, err = pcall(fn, ...)
	lu.assertFalse(ok, "expected an error")
	return err
end

TestErrgroup = {}

function TestErrgroup.testAllSucceed()
	local g, n = errgroup.new(), atomic.int(0)
	for i = 1, 20 do
		g:go(function(k) n:add(k) end, i)
	end
	lu.assertNil(g:wait())
	lu.assertEquals(n:load(), 210)
end

function TestErrgroup.testRaisedErrorIsTheFailure()
	local g = errgroup.new()
	g:go(function() end)
	g:go(function() error("boom", 0) end)
	lu.assertEquals(g:wait(), "boom")
end

function TestErrgroup.testRaisedErrorKeepsPositionAndTables()
	local g = errgroup.new()
	g:go(function() error("with position") end)
	local e = g:wait()
	lu.assertStrContains(e, "with position")
	lu.assertStrContains(e, "test_errgroup.lua:")
	local g2 = errgroup.new()
	g2:go(function() error({ code = 42 }) end)
	lu.assertEquals(g2:wait(), { code = 42 })
end

function TestErrgroup.testFailureThatCannotCrossIsDescribed()
	local g = errgroup.new()
	g:go(function() error(coroutine.create(print)) end)
	lu.assertStrContains(g:wait(), "cannot")
end

function TestErrgroup.testReturnedValueIsTheFailure()
	local g = errgroup.new()
	g:go(function() return nil, "second values do not count" end)
	g:go(function() return "fetch svc: refused" end)
	lu.assertEquals(g:wait(), "fetch svc: refused")
end

function TestErrgroup.testFirstFailureWins()
	-- the second fails only once the first has cancelled the context,
	-- that is, once the first failure is recorded
	local g, gctx = errgroup.with_context(bg)
	g:go(function(ctx) ctx:done():recv(); return "second" end, gctx)
	g:go(function() return "first" end)
	lu.assertEquals(g:wait(), "first")
	lu.assertEquals(g:wait(), "first")   -- again: the same answer
end

function TestErrgroup.testWithContextFailureCancelsOthers()
	local g, gctx = errgroup.with_context(bg)
	local canceled = atomic.int(0)
	for _ = 1, 5 do
		g:go(function(ctx)
			ctx:done():recv()
			canceled:add(1)
			return ctx:err()
		end, gctx)
	end
	g:go(function() return "svc-3 failed" end)
	lu.assertEquals(g:wait(), "svc-3 failed")
	lu.assertEquals(canceled:load(), 5)
	lu.assertEquals(gctx:err(), "context canceled")
	lu.assertEquals(context.cause(gctx), "svc-3 failed")
end

function TestErrgroup.testWaitCancelsContextOnSuccess()
	local g, gctx = errgroup.with_context(bg)
	g:go(function() end)
	lu.assertNil(gctx:err())   -- may or may not have run: not canceled either way
	lu.assertNil(g:wait())
	lu.assertEquals(gctx:err(), "context canceled")
	lu.assertEquals(context.cause(gctx), "context canceled")
end

function TestErrgroup.testParentCancelReachesGroupContext()
	local parent, cancel = context.with_cancel(bg)
	local g, gctx = errgroup.with_context(parent)
	g:go(function(ctx) ctx:done():recv(); return ctx:err() end, gctx)
	cancel()
	lu.assertEquals(g:wait(), "context canceled")
end

function TestErrgroup.testLimitRespected()
	local g = errgroup.new()
	g:set_limit(3)
	local active, peak, total = atomic.int(0), atomic.int(0), atomic.int(0)
	for _ = 1, 30 do
		g:go(function()
			local now = active:add(1)
			repeat
				local p = peak:load()
			until now <= p or peak:cas(p, now)
			for _ = 1, 20 do runtime.gosched() end
			active:add(-1)
			total:add(1)
		end)
	end
	lu.assertNil(g:wait())
	lu.assertEquals(total:load(), 30)
	lu.assertTrue(peak:load() >= 1 and peak:load() <= 3, "peak " .. peak:load())
end

function TestErrgroup.testGoBlocksWhileFull()
	local g, gate, started = errgroup.new(), chan(), chan(2)
	g:set_limit(1)
	g:go(function() gate:recv() end)
	-- a goroutine tries to add a second: it must wait for the first
	go(function()
		g:go(function() end)
		started:send("second added")
	end)
	lu.assertFalse((started:tryrecv()))
	gate:send(true)
	lu.assertEquals(started:recv(), "second added")
	lu.assertNil(g:wait())
end

function TestErrgroup.testTryGo()
	local g, gate = errgroup.new(), chan()
	g:set_limit(1)
	lu.assertTrue(g:try_go(function() gate:recv() end))
	lu.assertFalse(g:try_go(function() end))
	lu.assertEquals(tostring(g), "errgroup(active=1, limit=1)")
	gate:send(true)
	lu.assertNil(g:wait())
	lu.assertTrue(g:try_go(function() return "late" end))
	lu.assertEquals(g:wait(), "late")
	local unlimited = errgroup.new()
	lu.assertTrue(unlimited:try_go(function() end))
	lu.assertNil(unlimited:wait())
end

function TestErrgroup.testSetLimitWhileActiveRaises()
	local g, gate = errgroup.new(), chan()
	g:go(function() gate:recv() end)
	lu.assertEquals(errof(g.set_limit, g, 2),
		"errgroup: modify limit while 1 goroutines in the group are still active")
	gate:send(true)
	g:wait()
	g:set_limit(2)
	g:set_limit(-1)
	lu.assertEquals(tostring(g), "errgroup(active=0)")
end

function TestErrgroup.testUsableFromAnyGoroutine()
	local g, n = errgroup.new(), atomic.int(0)
	local done = chan()
	go(function(grp)
		for _ = 1, 10 do grp:go(function() n:add(1) end) end
		done:send(true)
	end, g)
	done:recv()
	lu.assertNil(g:wait())
	lu.assertEquals(n:load(), 10)
end

function TestErrgroup.testMisuse()
	lu.assertEquals(errof(errgroup.with_context, nil), "cannot create context from nil parent")
	local g = errgroup.new()
	lu.assertErrorMsgContains("bad argument", function() g:go("nope") end)
	lu.assertErrorMsgContains("cannot", function()
		g:go(function(x) return x end, coroutine.create(print))
	end)
	lu.assertNil(g:wait())   -- nothing was left counted
end

os.exit(lu.LuaUnit.run())
