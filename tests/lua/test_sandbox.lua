-- test_sandbox.lua - `chanlab run --sandbox` and the limits' options, run
-- as subprocesses: what the restricted library allows and refuses, that
-- the API and the labs work inside it, the options' errors, and limits
-- used without --sandbox.  (The hostile corpus is test_hostile.lua.)
-- Run: CHANLAB=build/chanlab build/chanlab tests/lua/test_sandbox.lua
local lu = require("luaunit")

local EXE = os.getenv("CHANLAB") or "build/chanlab"
local run0 = require("subprocess")

-- run, checking that a sanitizer build reported nothing
local function run_clean(src, args)
  local out, err, status, script = run0(src, args)
  lu.assertNotStrContains(err, "Sanitizer")
  lu.assertNotStrContains(err, "runtime error:")
  return out, err, status, script
end

local function sandboxed(src, args)
  return run_clean(src, "--sandbox " .. (args or ""))
end

TestSandbox = {}

function TestSandbox.testAllowedLibraries()
  local out, err, status = sandboxed([[
print(string.format("%d", 42), ("x"):rep(3), table.concat({1, 2}, ","), math.max(1, 2))
print(utf8.char(72, 105), coroutine.wrap(function() coroutine.yield(7) end)())
print(type(os.time()), type(os.clock()), type(os.date("%Y")))
io.write("write ", 1, "\n")
io.stdout:write("stdout\n"):write("chained\n")
io.stderr:write("to stderr\n")
print(load("return 1 + 1")(), select("#", pcall(error)))
print(type(debug.traceback()), collectgarbage("count") > 0)
print(_VERSION, next({}), rawlen({1}), tostring(nil))
]])
  lu.assertEquals(status, 0, err)
  lu.assertEquals(out, "42\txxx\t1,2\t2\nHi\t7\nnumber\tnumber\tstring\n" ..
    "write 1\nstdout\nchained\n2\t2\nstring\ttrue\nLua 5.4\tnil\t1\tnil\n")
  lu.assertEquals(err, "to stderr\n")
end

function TestSandbox.testRefusedFunctionsRaiseAtCall()
  local out, _, status = sandboxed([[
for _, name in ipairs { "io.open", "io.popen", "io.lines", "io.read", "io.close",
    "io.input", "io.output", "io.tmpfile", "io.type", "os.execute", "os.exit",
    "os.getenv", "os.remove", "os.rename", "os.tmpname", "os.setlocale",
    "debug.getinfo", "debug.sethook", "debug.getregistry", "debug.getlocal",
    "package.loadlib", "package.searchpath", "loadfile", "dofile" } do
  local lib, field = name:match("^(%a+)%.(%a+)$")
  local f = lib and _G[lib][field] or _G[name]
  assert(type(f) == "function", name)
  local ok, err = pcall(f, "x")
  assert(not ok and err == "sandbox: " .. name .. " is not available", name .. ": " .. tostring(err))
end
print(pcall(collectgarbage))
print(pcall(collectgarbage, "step"))
print(getmetatable(io.stdout), io.stdout.close, io.stdout.read)
local keys = {}
for k in pairs(io) do keys[#keys + 1] = k end
table.sort(keys)
print(table.concat(keys, " "))
]])
  lu.assertEquals(status, 0)
  lu.assertEquals(out, 'false\tsandbox: collectgarbage("collect") is not available\n' ..
    'false\tsandbox: collectgarbage("step") is not available\n' ..
    "false\tnil\tnil\nflush stderr stdout write\n")
end

function TestSandbox.testLoadIsTextOnly()
  local out, _, status = sandboxed([[
local bin = string.dump(function() return 1 end)
print(load(bin))
print(load(bin, "=x", "b"))
print(load(bin, "=x", "bt", {}))
local f = load("return x", "=chunk", "t", { x = 5 })
print(f())
local parts = { "return ", "6" }
print(load(function() return table.remove(parts, 1) end)())
]])
  lu.assertEquals(status, 0)
  lu.assertEquals(out, ("nil\tattempt to load a binary chunk (mode is 't')\n"):rep(3) .. "5\n6\n")
end

function TestSandbox.testRequireLuaModuleBesideTheScript()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir .. "/pkg"))
  local f = io.open(dir .. "/helper.lua", "w")
  f:write("return { twice = function(x) return 2 * x end, name = ... }\n")
  f:close()
  f = io.open(dir .. "/pkg/init.lua", "w")
  f:write("return 'pkg init'\n")
  f:close()
  f = io.open(dir .. "/bin.lua", "wb")
  f:write(string.dump(function() return "binary" end))
  f:close()
  f = io.open(dir .. "/main.lua", "w")
  f:write([[
local h = require("helper")
print(h.twice(21), h.name, require("helper") == h)
print(require("pkg"))
print(pcall(require, "bin"))
print(require("chanlab").chan == chan)
print(package.path:sub(-10))
]])
  f:close()
  local p = io.popen(EXE .. " run --sandbox " .. dir .. "/main.lua 2>&1")
  local out = p:read("a")
  p:close()
  os.execute("rm -rf " .. dir)
  lu.assertStrContains(out, "42\thelper\ttrue\npkg init\t" .. dir .. "/pkg/init.lua\n")
  lu.assertStrContains(out, "false\terror loading module 'bin'")
  lu.assertStrContains(out, "attempt to load a binary chunk")
  lu.assertStrContains(out, "\ntrue\n?/init.lua\n")
end

function TestSandbox.testBinaryScriptIsRefused()
  local script = os.tmpname()
  local f = io.open(script, "wb")
  f:write(string.dump(load("print('ran')")))
  f:close()
  local p = io.popen(EXE .. " run --sandbox " .. script .. " 2>&1; echo \"__EXIT__$?\"")
  local out = p:read("a")
  p:close()
  os.remove(script)
  lu.assertStrContains(out, "attempt to load a binary chunk")
  lu.assertStrContains(out, "__EXIT__1")
end

function TestSandbox.testApiAndLibrariesCrossGoroutines()
  local out, err, status = sandboxed([[
local os, string, write = os, string, io.write
local c = chan(4)
local wg = sync.waitgroup()
wg:go(function()
  write("from a goroutine\n")
  c:send(string.format("%s %s", type(os.time()), io.open ~= nil))
  local ok, e = pcall(io.open, "/etc/passwd")
  c:send(e)
  c:send(pcall(require, "socket") and "loaded" or "refused")
end)
wg:wait()
print((c:recv())) print((c:recv())) print((c:recv()))
local ctx, cancel = context.with_timeout(context.background(), 0.01)
chan.select { { recv = ctx:done(), function() print(ctx:err()) end } }
cancel()
]])
  lu.assertEquals(status, 0, err)
  lu.assertEquals(out, "from a goroutine\nnumber true\nsandbox: io.open is not available\n" ..
    "refused\ncontext deadline exceeded\n")
end

function TestSandbox.testLabsRunUnchanged()
  for _, lab in ipairs { "01_worker_pool", "02_pipeline", "04_errgroup", "08_capstone" } do
    local p = io.popen(("%s run --sandbox labs/%s.lua 2>&1"):format(EXE, lab))
    local out = p:read("a")
    p:close()
    local f = io.open(("labs/%s.out"):format(lab))
    lu.assertEquals(out, f:read("a"), lab)
    f:close()
  end
end

function TestSandbox.testGarbageUnderATightLimitIsCollected()
  -- refused once, Lua collects and asks again: not a violation
  local out, err, status = sandboxed([[
local keep
for i = 1, 200000 do keep = { i, tostring(i) } end
print(keep[1])
]], "--goroutine-mem 512K")
  lu.assertEquals(status, 0, err)
  lu.assertEquals(out, "200000\n")
end

function TestSandbox.testBuffersAndMessagesAreGivenBack()
  -- channels made and dropped, messages sent and received: the
  -- program's budget returns to where it was, far below the limit
  local out, err, status = sandboxed([[
local s = ("m"):rep(100000)
for _ = 1, 200 do
  local c = chan(1000)
  for _ = 1, 10 do c:send(s) end
  for _ = 1, 5 do c:recv() end
end
print("done")
]], "--mem-limit 8M")
  lu.assertEquals(status, 0, err)
  lu.assertEquals(out, "done\n")
end

TestLimitOptions = {}

function TestLimitOptions.testBadValues()
  for _, args in ipairs { "--mem-limit 0", "--mem-limit lots", "--cpu-limit -1",
      "--timeout x", "--max-goroutines 0", "--max-buffer 1.5", "--goroutine-mem 12Q" } do
    local _, err, status = run_clean("print(1)", args)
    lu.assertEquals(status, 1, args)
    lu.assertStrContains(err, "chanlab: " .. args:match("^%S+") .. " wants")
  end
end

function TestLimitOptions.testEqualsFormAndUnits()
  local _, err, status = run_clean("local t = {} for i = 1, 1e7 do t[i] = i end", "--mem-limit=1.5MiB")
  lu.assertEquals(status, 2)
  lu.assertStrContains(err, "fatal error: program exceeded its memory limit (1536 KiB)")
end

function TestLimitOptions.testLimitsWithoutSandbox()
  local _, err, status = run_clean("for i = 1, 10 do go(function() chan():recv() end) end",
    "--max-goroutines 5")
  lu.assertEquals(status, 2)
  lu.assertStrContains(err, "fatal error: program exceeded its goroutine limit (5)")
  _, err, status = run_clean("local c = chan(101)", "--max-buffer 100")
  lu.assertEquals(status, 2)
  lu.assertStrContains(err, "chan(101) exceeds the channel buffer limit (100)")
end

function TestLimitOptions.testRemovingTheHookDoesNotEscape()
  -- without --sandbox debug.sethook exists; the watchdog still ends it
  local _, err, status = run_clean("debug.sethook()\nlocal x = 0\nwhile true do x = x + 1 end",
    "--cpu-limit 0.5")
  lu.assertEquals(status, 2)
  lu.assertStrContains(err, "fatal error: program exceeded its CPU limit (0.5 s)")
end

function TestLimitOptions.testPendingEndBeatsMainReturning()
  -- the culprit catches its error and the main goroutine returns at once:
  -- the violation is still what the program reports
  local out, err, status = run_clean([[
local done = chan()
go(function() pcall(string.rep, "x", 1e8); done:send(1) end)
done:recv()
print("main returns")
]], "--goroutine-mem 1M")
  lu.assertEquals(status, 2)
  lu.assertStrContains(err, "exceeded its memory limit (1 MiB)")
  lu.assertEquals(out, "")
end

function TestLimitOptions.testHelpListsTheOptions()
  local p = io.popen(EXE .. " --help")
  local help = p:read("a")
  p:close()
  for _, o in ipairs { "--sandbox", "--mem-limit", "--goroutine-mem", "--cpu-limit",
      "--timeout", "--max-goroutines", "--max-buffer" } do
    lu.assertStrContains(help, o)
  end
end

os.exit(lu.LuaUnit.run())
