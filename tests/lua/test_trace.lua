-- test_trace.lua - `chanlab run --trace` (bindings/trace/): the Chrome
-- trace JSON of every lab parses and holds together, arrows are matched
-- exactly, a crashed or interrupted run still leaves a trace, the same
-- seed gives the same file, the HTML page is self-contained.
--   build/chanlab tests/lua/test_trace.lua
-- (The HTML page in a real browser: tests/browser/timeline.mjs.)
local lu = require("luaunit")
local json = require("json")

local EXE = os.getenv("CHANLAB") or "build/chanlab"

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- run(script_path, opts) -> stdout, stderr, status: chanlab run with opts.
local function run(script, opts)
  local errfile = os.tmpname()
  local p = io.popen(("%s run %s %s 2>%s; echo \"__EXIT__$?\""):format(EXE, opts or "", script,
                                                                      errfile))
  local out = p:read("a")
  p:close()
  local status = tonumber(out:match("__EXIT__(%d+)%s*$"))
  local err = slurp(errfile) or ""
  os.remove(errfile)
  return out:gsub("__EXIT__%d+%s*$", ""), err, status
end

local function with_script(src, fn)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  local ok, e = pcall(fn, path)
  os.remove(path)
  if not ok then error(e, 0) end
end

-- A second, independent JSON parser when there is one.
local PYTHON = os.execute("python3 -c 'import json' 2>/dev/null")

-- trace(script, opts) -> doc, stderr, status, stdout: run with --trace
-- into a temporary .json and decode it (with json.lua and, when it is
-- there, Python's json module).
local function trace(script, opts)
  local file = os.tmpname() .. ".json"
  local out, err, status = run(script, ("--trace %s %s"):format(file, opts or ""))
  local text = slurp(file)
  if text and PYTHON then
    lu.assertTrue(os.execute(("python3 -c 'import json,sys; json.load(open(sys.argv[1]))' %s")
                             :format(file)), "python3 cannot parse the trace of " .. script)
  end
  os.remove(file)
  lu.assertNotNil(text, "no trace file for " .. script .. ": " .. err)
  return json.decode(text), err, status, out
end

-- What a trace holds, checked as the issue asks: every X slice has pid,
-- tid, ts and dur; slices on one track nest; every flow has both ends;
-- every goroutine track is named.  Returns counts.
local function check(doc)
  local tracks, named, out_ids, in_ids = {}, {}, {}, {}
  local c = { arrows = 0, value = 0, group = 0, goroutines = 0, instants = {} }
  lu.assertNotNil(doc.traceEvents)
  for i = 1, doc.traceEvents.n do
    local e = doc.traceEvents[i]
    if e.ph == "X" then
      for _, k in ipairs({ "pid", "tid", "ts", "dur" }) do
        lu.assertNotNil(e[k], ("X slice %q without %s"):format(tostring(e.name), k))
      end
      lu.assertTrue(e.dur >= 0)
      local key = e.pid .. "/" .. e.tid
      tracks[key] = tracks[key] or {}
      table.insert(tracks[key], e)
      if e.flow_out then out_ids[e.bind_id] = (out_ids[e.bind_id] or 0) + 1 end
      if e.flow_in then in_ids[e.bind_id] = (in_ids[e.bind_id] or 0) + 1 end
    elseif e.ph == "M" and e.name == "thread_name" then
      named[e.pid .. "/" .. e.tid] = e.args.name
      if e.pid == 1 then c.goroutines = c.goroutines + 1 end
    elseif e.ph == "i" then
      c.instants[e.name] = (c.instants[e.name] or 0) + 1
    end
  end
  for key, sl in pairs(tracks) do
    lu.assertNotNil(named[key], "track " .. key .. " has no thread_name")
    table.sort(sl, function(a, b)
      if a.ts ~= b.ts then return a.ts < b.ts end
      return a.dur > b.dur
    end)
    local stack = {}
    for _, e in ipairs(sl) do
      local s, en = e.ts, e.ts + e.dur
      while #stack > 0 and stack[#stack] <= s + 1e-6 do table.remove(stack) end
      if #stack > 0 then
        lu.assertTrue(en <= stack[#stack] + 1e-6,
                      ("slices overlap on %s: %q at %s ends after its parent"):format(key, e.name, s))
      end
      stack[#stack + 1] = en
    end
  end
  for id, n in pairs(out_ids) do
    lu.assertNotNil(in_ids[id], "flow " .. id .. " has no end")
    lu.assertEquals(n, 1, "flow " .. id .. " leaves two slices")
  end
  for id, n in pairs(in_ids) do
    lu.assertNotNil(out_ids[id], "flow " .. id .. " has no start")
    c.arrows = c.arrows + n
    if id < 2 ^ 32 then
      lu.assertEquals(n, 1, "value flow " .. id .. " arrives twice")
      c.value = c.value + 1
    else
      c.group = c.group + n
    end
  end
  return c, named
end

-- The flows of a kind, from the names of their slices: "go", "close".
local function arrows_from(doc, pattern)
  local ids, n = {}, 0
  for i = 1, doc.traceEvents.n do
    local e = doc.traceEvents[i]
    if e.ph == "X" and e.flow_out and e.name:match(pattern) then ids[e.bind_id] = true end
  end
  for i = 1, doc.traceEvents.n do
    local e = doc.traceEvents[i]
    if e.ph == "X" and e.flow_in and ids[e.bind_id] then n = n + 1 end
  end
  return n
end

TestTrace = {}

function TestTrace.testEveryLabTraceParsesAndHoldsTogether()
  local p = io.popen("ls labs/*.lua labs/mistakes/*.lua")
  local n = 0
  for lab in p:lines() do
    local doc, err, status = trace(lab)
    lu.assertStrContains(err, "trace written to", false, lab)
    local c, named = check(doc)
    lu.assertTrue(c.goroutines >= 1, lab)
    lu.assertNotNil(named["1/1"], lab)
    lu.assertStrContains(named["1/1"], "G1 main")
    lu.assertEquals(doc.otherData["exit status"], status, lab)
    n = n + 1
  end
  p:close()
  lu.assertTrue(n >= 14)
end

-- A script that knows its counts: 4 producers send 5 values each over an
-- unbuffered channel, a buffered one, a select send case and trysend; the
-- main goroutine receives all 80 (by recv, select and tryrecv) and 4
-- "done" values, and exits without waiting for the senders to resume.
local COUNTS = [[
local unbuf, buf, sel, try, got = chan(), chan(3), chan(), chan(64), 0
local ready = chan(4)
for p = 1, 4 do
  go(function()
    for i = 1, 5 do
      unbuf:send(p * 100 + i)
      buf:send({ p, i, "x" })
      chan.select { { send = sel, value = "s" .. i } }
      assert(try:trysend(i))
    end
    ready:send(true)
  end)
end
for _ = 1, 20 do
  local v = unbuf:recv(); got = got + 1
  buf:recv(); got = got + 1
  chan.select { { recv = sel, function(v) got = got + 1 end } }
end
for _ = 1, 4 do ready:recv(); got = got + 1 end
while true do
  local ready_, v = try:tryrecv()
  if not ready_ then break end
  got = got + 1
end
print(got)
]]

function TestTrace.testValueArrowsEqualValuesReceived()
  with_script(COUNTS, function(path)
    for _, opts in ipairs({ "", "--procs 1", "--seed 5" }) do
      local doc, _, status, out = trace(path, opts)
      lu.assertEquals(status, 0)
      lu.assertEquals(tonumber(out), 84)
      local c = check(doc)
      lu.assertEquals(c.value, 84, "value arrows with " .. opts)
      lu.assertEquals(arrows_from(doc, "^go "), 4, "go arrows with " .. opts)
    end
  end)
end

-- The receivers a close woke each get an arrow from the close.
function TestTrace.testCloseArrowsGoToTheWokenReceivers()
  with_script([[
local done, ready, wg = chan(), chan(3), sync.waitgroup()
for _ = 1, 3 do
  wg:go(function() ready:send(true); local _, ok = done:recv(); assert(not ok) end)
end
for _ = 1, 3 do ready:recv() end
done:close()
wg:wait()
]], function(path)
    local doc = trace(path, "--procs 1")
    check(doc)
    lu.assertEquals(arrows_from(doc, "^close "), 3)
    lu.assertEquals(arrows_from(doc, "^sync.WaitGroup.Go "), 3)
  end)
end

function TestTrace.testArgsOfChannelOperations()
  with_script([[
local c = chan(4)
c:send(42); c:send("hello"); c:send({ 1, 2, 3 })
c:recv()
chan.select { { recv = c, function() end } }
]], function(path)
    local doc = trace(path)
    local seen = {}
    for i = 1, doc.traceEvents.n do
      local e = doc.traceEvents[i]
      if e.ph == "X" and e.cat == "op" then seen[#seen + 1] = e end
    end
    lu.assertEquals(#seen, 5)
    lu.assertEquals(seen[1].name, "send chan#1")
    lu.assertEquals(seen[1].args.value, "42")
    lu.assertEquals(seen[1].args.chan, "chan#1 cap=4")
    lu.assertEquals(seen[1].args.len, 1)
    lu.assertEquals(seen[1].args.cap, 4)
    lu.assertStrContains(seen[1].args.line, ":2")
    lu.assertEquals(seen[2].args.value, '"hello"')
    lu.assertEquals(seen[3].args.value, "table(3 items)")
    lu.assertEquals(seen[3].args.len, 3)
    lu.assertEquals(seen[4].name, "recv chan#1")
    lu.assertEquals(seen[4].args.value, "42")
    lu.assertEquals(seen[4].args.len, 2)
    lu.assertEquals(seen[5].name, "select: recv chan#1 (case 1)")
    lu.assertEquals(seen[5].args.case, 1)
    lu.assertEquals(seen[5].args.value, '"hello"')
    local counter = 0
    for i = 1, doc.traceEvents.n do
      local e = doc.traceEvents[i]
      if e.ph == "C" and e.name == "chan#1 cap=4" then counter = counter + 1 end
    end
    lu.assertEquals(counter, 5)
  end)
end

function TestTrace.testBlockedSpanNamesReasonAndLine()
  with_script([[
local c, wg = chan(), sync.waitgroup()
wg:go(function()
  c:recv()
end)
time.sleep(0.01)
c:send(1)
wg:wait()
]], function(path)
    local doc = trace(path)
    local reasons = {}
    for i = 1, doc.traceEvents.n do
      local e = doc.traceEvents[i]
      if e.ph == "X" and e.cat == "blocked" then reasons[e.name] = e.args.line end
    end
    lu.assertStrContains(reasons["chan receive"] or "", ":3")
    lu.assertStrContains(reasons["sleep"] or "", ":5")
    lu.assertStrContains(reasons["sync.WaitGroup.Wait"] or "", ":7")
  end)
end

function TestTrace.testGoroutinesAreNamedAfterTheirFunction()
  with_script([[
local function worker(c) c:send(1) end
local c = chan(1)
go(worker, c)
c:recv()
]], function(path)
    local _, named = check((trace(path)))
    lu.assertStrContains(named["1/2"], "G2 worker (")
    lu.assertStrContains(named["1/2"], ".lua:1)")
  end)
end

function TestTrace.testSameSeedSameFile()
  -- lab 8 makes and drops a channel per job: memory is reused, and
  -- channels are still numbered the same (MAKE events, not addresses)
  for _, lab in ipairs({ "labs/06_fan_out_fan_in.lua", "labs/08_capstone.lua" }) do
    for _, file in ipairs({ os.tmpname() .. ".json", os.tmpname() .. ".html" }) do
      run(lab, "--seed 11 --trace " .. file)
      local first = slurp(file)
      for _ = 1, 2 do
        run(lab, "--seed 11 --trace " .. file)
        lu.assertEquals(slurp(file), first, lab .. " " .. file)
      end
      lu.assertTrue(#first > 1000)
      os.remove(file)
    end
  end
end

function TestTrace.testPanicLeavesATrace()
  with_script([[
local c = chan()
go(function() c:send(1); error("boom") end)
c:recv()
chan.select {}
]], function(path)
    local doc, err, status = trace(path)
    lu.assertEquals(status, 2)
    lu.assertStrContains(err, "panic: ")
    check(doc)
    lu.assertEquals(doc.otherData["ended by"], "panic")
    local found
    for i = 1, doc.traceEvents.n do
      local e = doc.traceEvents[i]
      if e.ph == "i" and e.name == "panic" then found = e end
    end
    lu.assertNotNil(found)
    lu.assertEquals(found.tid, 2)
    lu.assertStrContains(found.args.message, "boom")
  end)
end

function TestTrace.testDeadlockLeavesATraceWithTheBlockedLines()
  with_script([[
local c = chan()
go(function() c:recv() end)
c:recv()
]], function(path)
    local doc, err, status = trace(path)
    lu.assertEquals(status, 2)
    lu.assertStrContains(err, "deadlock")
    local c = check(doc)
    lu.assertEquals(c.instants.deadlock, 1)
    local blocked = 0
    for i = 1, doc.traceEvents.n do
      local e = doc.traceEvents[i]
      if e.ph == "X" and e.name == "chan receive" and e.args.state then
        blocked = blocked + 1
        lu.assertNotNil(e.args.line)
      end
    end
    lu.assertEquals(blocked, 2)
  end)
end

function TestTrace.testCtrlCLeavesATrace()
  with_script([[
go(function() time.sleep(60) end)
print("ready"); io.stdout:flush()
time.sleep(60)
]], function(path)
    local file, out = os.tmpname() .. ".json", os.tmpname()
    -- Ctrl-C once the script runs (it says so), as a terminal would send it
    local sh = ([[%s run --trace %s %s >%s 2>/dev/null & pid=$!
for i in $(seq 300); do grep -q ready %s && break; sleep 0.05; done
kill -INT $pid; wait $pid; echo $?]]):format(EXE, file, path, out, out)
    local p = io.popen(sh)
    local status = tonumber(p:read("a"):match("(%d+)%s*$"))
    p:close()
    os.remove(out)
    lu.assertEquals(status, 130)   -- died of SIGINT, after writing the trace
    local text = slurp(file)
    os.remove(file)
    lu.assertNotNil(text)
    local doc = json.decode(text)
    check(doc)
    lu.assertEquals(doc.otherData["ended by"], "SIGINT")
    lu.assertEquals(doc.otherData["exit status"], 130)
  end)
end

function TestTrace.testOsExitLeavesATrace()
  with_script([[
local c = chan(1); c:send(1); c:recv()
os.exit(3)
]], function(path)
    local doc, _, status = trace(path)
    lu.assertEquals(status, 3)
    check(doc)
    lu.assertEquals(doc.otherData["ended by"], "os.exit")
  end)
end

function TestTrace.testSummary()
  local _, err, status = run("labs/02_pipeline.lua", "--trace-summary")
  lu.assertEquals(status, 0)
  lu.assertStrContains(err, "trace summary: 4 goroutines")
  lu.assertStrContains(err, "G1 main (02_pipeline.lua)")
  lu.assertStrContains(err, "channels with the longest waits:")
  lu.assertStrContains(err, "chan receive")
end

function TestTrace.testEnvironmentAndBadPath()
  local file = os.tmpname() .. ".json"
  os.execute(("CHANLAB_TRACE=%s %s run labs/02_pipeline.lua >/dev/null 2>&1"):format(file, EXE))
  lu.assertNotNil(slurp(file))
  os.remove(file)
  local _, err, status = run("labs/02_pipeline.lua", "--trace /nonexistent/dir/t.json")
  lu.assertEquals(status, 1)
  lu.assertStrContains(err, "cannot write the trace /nonexistent/dir/t.json")
end

function TestTrace.testHtmlIsSelfContained()
  local file = os.tmpname() .. ".html"
  local _, _, status = run("labs/02_pipeline.lua", "--trace " .. file)
  lu.assertEquals(status, 0)
  local page = slurp(file)
  os.remove(file)
  lu.assertStrContains(page, "<!DOCTYPE html>")
  lu.assertStrContains(page, "Content-Security-Policy")
  lu.assertStrContains(page, "default-src 'none'")
  lu.assertNil(page:find("<script[^>]* src="), "an external script")
  lu.assertNil(page:find("<link"), "an external style or font")
  lu.assertNil(page:find("@import"), "an imported style")
  lu.assertNil(page:find("url%(['\"]?[hf/]"), "a url() to somewhere")
  -- the embedded data is JSON too
  local data = page:match('<script id="trace%-data" type="application/json">(.-)</script>')
  local d = json.decode(data)
  lu.assertEquals(#d.gs, 4)
  lu.assertEquals(d.gs[1].name, "G1 main (02_pipeline.lua)")
end

os.exit(lu.LuaUnit.run())
