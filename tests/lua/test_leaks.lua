-- test_leaks.lua - the leak detector (runtime/leaks.h): a held corpus of
-- programs, each run in a child process, with the exact set of
-- goroutines it must report - no false positive, no miss; --leaks at
-- exit; the goroutine dumps (runtime.stack, Ctrl-\ = SIGQUIT).
--   CHANLAB=build/chanlab build/chanlab tests/lua/test_leaks.lua
local lu = require("luaunit")
local run = require("subprocess")

local EXE = os.getenv("CHANLAB") or "build/chanlab"

-- Appended to every case: wait until no goroutine is runnable (each has
-- reached the point where it blocks, sleeps or ended: a state, not a
-- delay), then print what runtime.leaks() says, one goroutine a line:
-- "id reason :line", and for a partial deadlock "| its cycle | waits for
-- id" (file names dropped, so lines read ":12").
local EPILOGUE = [[

local function settle()
  for _ = 1, 10000 do
    if not runtime.stack(true):find("%[runnable%]") then return end
    time.sleep(0.001)
  end
  error("the goroutines did not settle")
end
local function report()
  settle()
  local t, why = runtime.leaks()
  if not t then return "skipped: " .. why end
  local out = {}
  for _, l in ipairs(t) do
    local s = ("%d %s :%s"):format(l.id, l.reason, l.line:match(":(%d+)$") or l.line)
    if l.deadlock then
      s = s .. " | " .. l.deadlock:gsub("at [^ ]-:(%d+)%)", "at :%1)") .. " | waits for " .. l.waits_for
    end
    out[#out + 1] = s
  end
  return table.concat(out, "\n")
end
print(report())
]]

-- The report of src (its lines count from 1).
local function leaks(src)
  local out, err, status = run(src .. EPILOGUE)
  lu.assertEquals(err, "")
  lu.assertEquals(status, 0)
  return (out:gsub("\n$", ""))
end

TestLeaks = {}

---- leaked -------------------------------------------------------------------

function TestLeaks.testUnmatchedSend()
  lu.assertEquals(leaks([[
local function fire()
  local ch = chan()
  go(function() ch:send(1) end)
end
fire()
]]), "2 chan send :3")
end

function TestLeaks.testFirstOfThreeLeaksTwoSenders()
  -- which sender is received is a race; two of them are always left
  local rep = leaks([[
local function first()
  local ch = chan()
  for i = 1, 3 do go(function() ch:send(i) end) end
  return ch:recv()
end
first()
]])
  local n = 0
  for line in rep:gmatch("[^\n]+") do
    lu.assertStrMatches(line, "[234] chan send :3")
    n = n + 1
  end
  lu.assertEquals(n, 2)
end

function TestLeaks.testRangeOverAChannelNeverClosed()
  lu.assertEquals(leaks([[
local function produce()
  local jobs = chan()
  go(function()
    for _ in jobs:range() do end
  end)
  for i = 1, 3 do jobs:send(i) end   -- and no jobs:close()
end
produce()
]]), "2 chan receive :4")
end

function TestLeaks.testForgottenCancelLeavesTheWatcher()
  lu.assertEquals(leaks([[
local function watch()
  local ctx, cancel = context.with_cancel(context.background())
  go(function()
    chan.select { { recv = ctx:done() } }
  end)
  -- cancel() forgotten
end
watch()
]]), "2 select :4")
end

function TestLeaks.testEarlyReturnAbandonsTheWorker()
  lu.assertEquals(leaks([[
local function find(items, want)
  local results = chan()
  go(function()
    for _, v in ipairs(items) do results:send(v) end
    results:close()
  end)
  for v in results:range() do
    if v == want then return v end   -- the worker is still sending
  end
end
find({ 1, 2, 3, 4 }, 2)
]]), "2 chan send :4")
end

function TestLeaks.testWaitgroupOfALeakedWorkerIsLeakedToo()
  -- wg:wait waits for a worker that waits for ever: both leaked, and no
  -- cycle (the worker does not hold the channel the waiter would need)
  lu.assertEquals(leaks([[
local function batch()
  local wg, never = sync.waitgroup(), chan()
  wg:go(function() never:recv() end)
  go(function() wg:wait() end)
end
batch()
]]), "2 chan receive :3\n3 sync.WaitGroup.Wait :4")
end

function TestLeaks.testErrgroupWaitOnALeakedMember()
  lu.assertEquals(leaks([[
local function group()
  local g = errgroup.new()
  local never = chan()
  g:go(function() never:recv() end)
  go(function() g:wait() end)
end
group()
]]), "2 chan receive :4\n3 errgroup.Wait :5")
end

function TestLeaks.testBlockedInACallThatCannotYield()
  -- a sort comparator cannot yield: the goroutine blocks its worker
  -- thread instead of parking, and is found all the same
  lu.assertEquals(leaks([[
local function sorter()
  local never = chan()
  go(function()
    table.sort({ 2, 1 }, function(a, b) never:recv(); return a < b end)
  end)
end
sorter()
]]), "2 chan receive :4")
end

---- partial deadlocks ---------------------------------------------------------

function TestLeaks.testLockOrderInversion()
  lu.assertEquals(leaks([[
local function transfer_both_ways()
  local a, b = sync.mutex(), sync.mutex()
  local both = sync.waitgroup()
  both:add(2)
  go(function() a:lock(); both:done(); both:wait(); b:lock() end)
  go(function() b:lock(); both:done(); both:wait(); a:lock() end)
end
transfer_both_ways()
]]), "2 sync.Mutex.Lock :5 | G2 waits for G3 (mutex at :5), G3 waits for G2 (mutex at :6) | waits for 3\n"
  .. "3 sync.Mutex.Lock :6 | G2 waits for G3 (mutex at :5), G3 waits for G2 (mutex at :6) | waits for 2")
end

function TestLeaks.testTwoGoroutinesSendingToEachOther()
  lu.assertEquals(leaks([[
local function swap()
  local a, b = chan(), chan()
  go(function() a:send(1); b:recv() end)
  go(function() b:send(2); a:recv() end)
end
swap()
]]), "2 chan send :3 | G2 waits for G3 (chan send at :3), G3 waits for G2 (chan send at :4) | waits for 3\n"
  .. "3 chan send :4 | G2 waits for G3 (chan send at :3), G3 waits for G2 (chan send at :4) | waits for 2")
end

---- not leaked ----------------------------------------------------------------

function TestLeaks.testChannelHeldOnlyBySleeperIsNotLeaked()
  lu.assertEquals(leaks([[
local function later()
  local ch = chan()
  go(function() ch:recv() end)
  go(function() time.sleep(60); ch:send(1) end)   -- will wake: it sleeps
end
later()
]]), "")
end

function TestLeaks.testChannelInsideABufferedMessageIsReachable()
  -- inner is held only by the message queued in outer, which main holds
  lu.assertEquals(leaks([[
local outer = chan(1)
local function hand_over()
  local inner = chan()
  go(function() inner:recv() end)
  outer:send({ reply = inner })
end
hand_over()
]]), "")
end

function TestLeaks.testReachedThroughAGoroutineThatWillBeWoken()
  -- main holds gate; G3 waits on gate and holds outer, whose buffer
  -- holds inner, on which G2 waits: both can run again
  lu.assertEquals(leaks([[
local gate = chan()
local function chain()
  local outer, inner = chan(1), chan()
  go(function() inner:recv() end)
  outer:send(inner)
  go(function() gate:recv(); outer:recv():send(1) end)
end
chain()
]]), "")
end

function TestLeaks.testTheSameChainWithNoWayInIsLeaked()
  lu.assertEquals(leaks([[
local function chain()
  local gate, outer, inner = chan(), chan(1), chan()
  go(function() inner:recv() end)
  outer:send(inner)
  go(function() gate:recv(); outer:recv():send(1) end)
end
chain()
]]), "2 chan receive :3\n3 chan receive :5")
end

function TestLeaks.testCancelKeptOrDeadlineWakesTheWatcher()
  lu.assertEquals(leaks([[
KEEP = {}
local function watchers()
  local ctx, cancel = context.with_cancel(context.background())
  KEEP.cancel = cancel                               -- may still be called
  local child = context.with_value(ctx, "k", 1)
  go(function() child:done():recv() end)             -- a value child: same done
  local grand = context.with_cancel(child)
  go(function() grand:done():recv() end)             -- canceled with ctx
  local soon = context.with_timeout(context.background(), 60)
  go(function() soon:done():recv() end)              -- a deadline will
end
watchers()
]]), "")
end

function TestLeaks.testWorkerOfALiveWaitgroupGoroutine()
  -- main holds `never`, so the worker can run, and its end (wg:go) can
  -- wake the waiter
  lu.assertEquals(leaks([[
local never = chan()
local function batch()
  local wg = sync.waitgroup()
  wg:go(function() never:recv() end)
  go(function() wg:wait() end)
end
batch()
]]), "")
end

function TestLeaks.testSelectWithOneCaseStillReachable()
  lu.assertEquals(leaks([[
local kept = chan()
local function either()
  local dropped = chan()
  go(function()
    chan.select { { recv = dropped }, { recv = kept } }
  end)
end
either()
]]), "")
end

function TestLeaks.testSemaphoreAcquireEndsWithItsContext()
  lu.assertEquals(leaks([[
local function acquire_both()
  local sem, other = semaphore.new(1), semaphore.new(1)
  sem:acquire(); other:acquire()
  local ctx, cancel = context.with_cancel(context.background())
  KEEP = cancel
  go(function() sem:acquire(ctx) end)          -- KEEP() ends it
  go(function() other:acquire() end)           -- nobody releases: leaked
end
acquire_both()
]]), "3 semaphore.Acquire :7")
end

function TestLeaks.testAWaiterThatCanRunMayReleaseForTheOthers()
  -- the first waiter can be woken (KEEP), and any holder may release a
  -- semaphore: so the second can run again too
  lu.assertEquals(leaks([[
local function acquire_both()
  local sem = semaphore.new(1)
  sem:acquire()
  local ctx, cancel = context.with_cancel(context.background())
  KEEP = cancel
  go(function() sem:acquire(ctx) end)
  go(function() sem:acquire() end)
end
acquire_both()
]]), "")
end

function TestLeaks.testTimerAndSignalChannelsAreFedFromOutside()
  lu.assertEquals(leaks([[
local function waits()
  local t = time.after(60)
  go(function() t:recv() end)
  local s = signal.notify("USR1")
  go(function() s:recv() end)
end
waits()
]]), "")
end

---- at exit: --leaks ----------------------------------------------------------

-- Line 1 of the scripts below: wait until no goroutine is runnable.
local SETTLE = "local function settle() for _ = 1, 10000 do "
  .. "if not runtime.stack(true):find('%[runnable%]') then return end; "
  .. "time.sleep(0.001) end end\n"

local LEAKY = SETTLE .. [[
local function fire()
  local ch = chan()
  go(function() ch:send(1) end)
end
fire()
settle()
print("done")
]]

function TestLeaks.testLeaksAtExitInGoFormat()
  local out, err, status, script = run(LEAKY, "--leaks")
  lu.assertEquals(status, 0)
  lu.assertEquals(out, "done\n")
  lu.assertStrContains(err, "leaked goroutines: 1\n\ngoroutine 2 [chan send (leaked)]:\n")
  lu.assertStrContains(err, script:match("[^/]*$") .. ":4:")
  lu.assertStrContains(err, "created by go() at " .. script .. ":4\n")
end

function TestLeaks.testLeaksFatalExitsTwo()
  local _, err, status = run(LEAKY, "--leaks=fatal")
  lu.assertEquals(status, 2)
  lu.assertStrContains(err, "[chan send (leaked)]")
end

function TestLeaks.testNoLeakNoReport()
  local out, err, status = run("go(function() end)\nprint('ok')\n", "--leaks=fatal")
  lu.assertEquals({ out, err, status }, { "ok\n", "", 0 })
end

function TestLeaks.testPartialDeadlockAtExit()
  local _, err, status, script = run(SETTLE .. [[
local function swap()
  local a, b = chan(), chan()
  go(function() a:send(1); b:recv() end)
  go(function() b:send(2); a:recv() end)
end
swap()
settle()
]], "--leaks")
  local name = script
  lu.assertEquals(status, 0)
  lu.assertStrContains(err, "leaked goroutines: 2 (2 in a partial deadlock)\n")
  lu.assertStrContains(err, ("partial deadlock: G2 waits for G3 (chan send at %s:4), "
    .. "G3 waits for G2 (chan send at %s:5)\n"):format(name, name))
  lu.assertStrContains(err, "goroutine 2 [chan send (partial deadlock)]:\n")
end

---- while the program runs ----------------------------------------------------

function TestLeaks.testAskingWhileOthersRun()
  -- ping-pong pairs, a busy loop (preempted for each stop of the world)
  -- and a goroutine blocked in a call that cannot yield (its worker
  -- sleeps): nothing is leaked, at any moment
  local stop, wg, gate = atomic.int(0), sync.waitgroup(), chan()
  for _ = 1, 4 do
    local a, b = chan(), chan()
    wg:go(function()
      while stop:load() == 0 do a:send(1); b:recv() end
      a:close()
    end)
    wg:go(function() for _ in a:range() do b:send(1) end end)
  end
  wg:go(function() local x = 0; while stop:load() == 0 do x = x + 1 end end)
  wg:go(function() table.sort({ 2, 1 }, function(p, q) gate:recv(); return p < q end) end)
  for _ = 1, 30 do
    local l, why = runtime.leaks()
    lu.assertNil(why)
    lu.assertEquals(#l, 0)
  end
  stop:store(1)
  gate:close()
  wg:wait()
end

---- dumps ---------------------------------------------------------------------

function TestLeaks.testStackOfThisGoroutine()
  local s = runtime.stack()
  lu.assertStrContains(s, "goroutine 1 [running]:\n")
  lu.assertStrContains(s, "test_leaks.lua:")
end

function TestLeaks.testStackOfAll()
  local gate, ready = chan(), chan()
  go(function() ready:send(true); gate:recv() end)
  ready:recv()
  local s
  for _ = 1, 1000 do      -- until it is parked on gate
    s = runtime.stack(true)
    if s:find("%[chan receive%]") then break end
    time.sleep(0.001)
  end
  gate:close()
  lu.assertStrContains(s, "goroutine 1 [running]:\n")
  lu.assertStrMatches(s, ".*\n\ngoroutine %d+ %[chan receive%]:\n.-test_leaks%.lua:%d+:.*")
  lu.assertStrContains(s, "created by go() at ")
end

function TestLeaks.testSigquitDumpsEveryGoroutineAndExitsTwo()
  local script, outf, errf = os.tmpname(), os.tmpname(), os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(SETTLE .. [[
local ch = chan()
go(function()
  ch:recv()
end)
go(function() time.sleep(60) end)
settle()
print("ready")
io.stdout:flush()
time.sleep(60)
]])
  f:close()
  -- start it, wait for "ready" (a state, bounded), then Ctrl-\
  local sh = ([[
%s run %s >%s 2>%s & pid=$!
i=0; while [ $i -lt 3000 ] && ! grep -q ready %s; do sleep 0.01; i=$((i+1)); done
kill -QUIT $pid; wait $pid; echo "$?"]]):format(EXE, script, outf, errf, outf)
  local p = io.popen(sh)
  local status = tonumber(p:read("a"))
  p:close()
  local err = assert(io.open(errf)):read("a")
  os.remove(script)
  os.remove(outf)
  os.remove(errf)
  lu.assertEquals(status, 2)
  lu.assertStrContains(err, "SIGQUIT: quit\n\ngoroutine 1 [sleep]:\n")
  lu.assertStrContains(err, script:match("[^/]*$") .. ":10:")
  lu.assertStrMatches(err, ".*goroutine 2 %[chan receive%]:\n.-" .. script:match("[^/]*$") .. ":4:.*")
  lu.assertStrContains(err, "goroutine 3 [sleep]:\n")
  lu.assertStrContains(err, "created by go() at " .. script .. ":3\n")
end

function TestLeaks.testStockLuaCannotTell()
  -- an outside thread (the stock interpreter's) may wake anyone
  lu.skipIf(EXE:match("/[at]san/") ~= nil, "sanitizer build")
  local dir = EXE:match("^(.*)/[^/]*$") or "."
  local code = [[
local cl = require "chanlab"
print(cl.runtime.leaks())]]
  local p = io.popen(("LUA_CPATH='%s/?.so' lua5.4 -e '%s' 2>&1; echo \"__EXIT__$?\""):format(dir, code))
  local out = p:read("a")
  p:close()
  lu.assertStrMatches(out, "nil\tan outside thread .*\n__EXIT__0\n")
end

os.exit(lu.LuaUnit.run())
