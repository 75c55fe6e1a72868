-- test_signal.lua - the signal table (bindings/lsignal.c).
--   build/chanlab tests/lua/test_signal.lua
-- Each test catches the signals it raises before raising them (an
-- uncaught SIGINT or SIGUSR1 would end the test program).
local lu = require("luaunit")

local bg = context.background()

TestSignal = {}

function TestSignal.testRaiseReachesNotifyChannel()
	local ch = signal.notify("USR1")
	signal.raise("USR1")
	local v, ok = ch:recv()
	lu.assertEquals(v, "USR1")
	lu.assertTrue(ok)
	signal.stop(ch)
end

function TestSignal.testSigPrefixAndSeveralSignals()
	local ch = signal.notify("SIGUSR2", "HUP")
	signal.raise("SIGUSR2")
	lu.assertEquals(ch:recv(), "USR2")
	signal.raise("HUP")
	lu.assertEquals(ch:recv(), "HUP")
	signal.stop(ch)
end

function TestSignal.testAddToChannel()
	local ch = signal.notify("USR1")
	lu.assertTrue(signal.notify(ch, "USR2") == ch)
	signal.raise("USR2")
	lu.assertEquals(ch:recv(), "USR2")
	signal.stop(ch)
end

function TestSignal.testChannelDeliversInGoroutine()
	local ch, got = signal.notify("USR1"), chan()
	go(function(c) got:send(c:recv()) end, ch)
	signal.raise("USR1")
	lu.assertEquals(got:recv(), "USR1")
	signal.stop(ch)
end

function TestSignal.testNotifyContextOnInterrupt()
	local ctx, stop = signal.notify_context(bg, "INT", "TERM")
	lu.assertNil(ctx:err())
	signal.raise("INT")
	local v, ok = ctx:done():recv()
	lu.assertNil(v)
	lu.assertFalse(ok)
	lu.assertEquals(ctx:err(), "context canceled")
	lu.assertEquals(context.cause(ctx), "interrupt signal received")
	stop()
	lu.assertEquals(context.cause(ctx), "interrupt signal received")
end

function TestSignal.testNotifyContextOnTerm()
	local ctx, stop = signal.notify_context(bg, "SIGTERM")
	signal.raise("TERM")
	ctx:done():recv()
	lu.assertEquals(context.cause(ctx), "terminated signal received")
	stop()
end

function TestSignal.testStopCancels()
	local ctx, stop = signal.notify_context(bg, "HUP")
	stop()
	lu.assertEquals(ctx:err(), "context canceled")
	lu.assertEquals(context.cause(ctx), "context canceled")
	stop()   -- again: nothing happens
end

function TestSignal.testParentCancelReachesIt()
	local parent, cancel = context.with_cancel(bg)
	local ctx, stop = signal.notify_context(parent, "USR1")
	cancel("parent went")
	lu.assertEquals(ctx:err(), "context canceled")
	lu.assertEquals(context.cause(ctx), "parent went")
	stop()
end

function TestSignal.testStopFromAnotherGoroutine()
	local ctx, stop = signal.notify_context(bg, "USR2")
	go(function(s) s() end, stop)
	ctx:done():recv()
	lu.assertEquals(ctx:err(), "context canceled")
end

function TestSignal.testUnknownNamesRaise()
	lu.assertErrorMsgContains("unknown signal", function() signal.raise("KILLME") end)
	lu.assertErrorMsgContains("unknown signal", function() signal.notify("NOPE") end)
	lu.assertErrorMsgContains("unknown signal", function() signal.notify_context(bg, "INT", "X") end)
	lu.assertErrorMsgContains("signal name expected", function() signal.notify() end)
	lu.assertErrorMsgContains("cannot create context from nil parent", function()
		signal.notify_context(nil, "INT")
	end)
	lu.assertErrorMsgContains("bad argument", function() signal.notify(chan(1), "INT") end)
end

os.exit(lu.LuaUnit.run())
