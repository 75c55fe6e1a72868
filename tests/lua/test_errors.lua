-- test_errors.lua - what a learner sees when things go wrong, checked by
-- running `chanlab` as a subprocess: panics, deadlock dumps, load errors,
-- values that cannot cross, misuse, exit statuses.
-- Run: CHANLAB=build/chanlab build/chanlab tests/lua/test_errors.lua
local lu = require("luaunit")

local EXE = os.getenv("CHANLAB") or "build/chanlab"

-- run(src, args) -> stdout, stderr, exit status, script path
local run = require("subprocess")

TestErrors = {}

function TestErrors.testPanicInMain()
  local out, err, status, script = run('print("before")\nlocal ch = chan()\nch:close()\nch:send(1)\n')
  lu.assertEquals(status, 2)
  lu.assertEquals(out, "before\n")
  lu.assertStrContains(err, "panic: send on closed channel\n\ngoroutine 1 [running]:\n")
  lu.assertStrContains(err, script:match("[^/]*$") .. ":4:")
end

function TestErrors.testPanicInGoroutineNamesItAndItsCreator()
  local _, err, status, script = run([[
local done = chan()
go(function()
  error("boom")
end)
done:recv()
]])
  lu.assertEquals(status, 2)
  lu.assertStrMatches(err, "panic: [^\n]*:3: boom\n\ngoroutine %d+ %[running%]:\n.*")
  lu.assertStrContains(err, "created by go() at " .. script .. ":2")
end

function TestErrors.testPcallIsRecover()
  local out, _, status = run([[
local ok, err = pcall(function() local ch = chan(); ch:close(); ch:close() end)
print(ok, err)
]])
  lu.assertEquals(status, 0)
  lu.assertEquals(out, "false\tclose of closed channel\n")
end

function TestErrors.testDeadlockDump()
  local out, err, status, script = run([[
local ch = chan()
go(function()
  ch:send(1)
  ch:send(2)
end)
print((ch:recv()))
local wg = sync.waitgroup()
wg:add(1)
wg:wait()
]])
  local name = script:match("[^/]*$")
  lu.assertEquals(status, 2)
  lu.assertEquals(out, "1\n")
  lu.assertStrContains(err, "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [sync.WaitGroup.Wait]:\n")
  lu.assertStrContains(err, name .. ":9:")
  lu.assertStrMatches(err, ".*goroutine %d+ %[chan send%]:\n.-" .. name:gsub("%p", "%%%0") .. ":4:.*")
  lu.assertStrContains(err, "created by go() at " .. script .. ":2")
end

function TestErrors.testDeadlockOnEmptySelect()
  local _, err, status = run("chan.select {}\n")
  lu.assertEquals(status, 2)
  lu.assertStrContains(err, "goroutine 1 [select (no cases)]:")
end

function TestErrors.testSleepingIsNotDeadlock()
  local out, _, status = run("time.sleep(0.05) print('woke')\n")
  lu.assertEquals(status, 0)
  lu.assertEquals(out, "woke\n")
end

function TestErrors.testMainReturnEndsProgramWhateverRuns()
  local out, _, status = run([[
go(function() while true do end end)
go(function() chan():recv() end)
print("main done")
]])
  lu.assertEquals(status, 0)
  lu.assertEquals(out, "main done\n")
end

function TestErrors.testLoadErrorIsFileLine()
  local out, err, status, script = run("local x = = 1\n")
  lu.assertEquals(status, 1)
  lu.assertEquals(out, "")
  lu.assertStrContains(err, "chanlab: " .. script .. ":1:")
end

function TestErrors.testMissingScript()
  local p = io.popen(EXE .. " run /nonexistent/x.lua 2>&1; echo \"__EXIT__$?\"")
  local out = p:read("a")
  p:close()
  lu.assertStrContains(out, "chanlab: cannot open /nonexistent/x.lua")
  lu.assertStrContains(out, "__EXIT__1")
end

function TestErrors.testUncopyableArgumentOfGo()
  local _, err, status = run([[
go(function(t) end, { jobs = { 1, 2, coroutine.create(print) } })
]])
  lu.assertEquals(status, 2)
  lu.assertStrContains(err, "cannot pass thread to go (at argument #2.jobs[3])")
end

function TestErrors.testOneBusyGoroutineDoesNotStarveOthersWithOneProc()
  local out, _, status = run([[
go(function() local x = 0 while true do x = x + 1 end end)
time.sleep(0.01)
local ch = chan()
go(function() ch:send("ran") end)
print((ch:recv()))
]], "--procs 1")
  lu.assertEquals(status, 0)
  lu.assertEquals(out, "ran\n")
end

function TestErrors.testArgAndVarargs()
  local out, _, status = run("print(arg[1], arg[2], ...)\n", "")
  lu.assertEquals(status, 0)
  lu.assertEquals(out, "nil\tnil\n")
end

function TestErrors.testInlineCode()
  local p = io.popen(EXE .. " -e 'local c = chan(1) c:send(41) print(c:recv() + 1)' 2>&1")
  lu.assertEquals(p:read("a"), "42\n")
  p:close()
end

function TestErrors.testVersionAndHelp()
  local p = io.popen(EXE .. " --version")
  lu.assertStrMatches(p:read("a"), "chanlab %d+%.%d+%.%d+.*\n")
  p:close()
  p = io.popen(EXE .. " --help")
  lu.assertStrContains(p:read("a"), "usage: chanlab")
  p:close()
end

function TestErrors.testRequireFromStockLua()
  -- The module in a stock lua5.4: the calling thread is an outside thread
  -- that blocks on thread parkers; goroutines run on the scheduler.
  -- (A sanitizer build's module cannot load into an uninstrumented lua5.4.)
  lu.skipIf(EXE:match("/[at]san/") ~= nil, "sanitizer build")
  local dir = EXE:match("^(.*)/[^/]*$") or "."
  local code = [[
local cl = require "chanlab"
assert(rawget(_G, "go") == nil, "the module sets no globals")
local c = cl.chan()
cl.go(function() c:send("from a goroutine") end)
print((c:recv()))
local wg = cl.sync.waitgroup()
for _ = 1, 10 do wg:go(function() cl.time.sleep(0.001) end) end
wg:wait()
print("waited")]]
  local p = io.popen(("LUA_CPATH='%s/?.so' lua5.4 -e '%s' 2>&1; echo \"__EXIT__$?\""):format(dir, code))
  local out = p:read("a")
  p:close()
  lu.assertEquals(out, "from a goroutine\nwaited\n__EXIT__0\n")
end

os.exit(lu.LuaUnit.run())
