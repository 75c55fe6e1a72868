-- test_schedule.lua - deterministic runs (--seed, the virtual clock) and
-- `chanlab explore`, checked from the outside as a learner would use them.
-- Run: CHANLAB=build/chanlab build/chanlab tests/lua/test_schedule.lua
-- CHANLAB_TEST_SEEDS sets how many seeds each lab is replayed with (100).
local lu = require("luaunit")

local EXE = os.getenv("CHANLAB") or "build/chanlab"
local SEEDS = tonumber(os.getenv("CHANLAB_TEST_SEEDS") or "100")
-- Sanitizer builds (make tsan/asan set 10 seeds) also explore with fewer
-- runs: each is 10-30x slower there.  The counts below stay high enough
-- that missing an outcome has odds under one in a million.
local function runs(n) return math.max(n * SEEDS // 100, 30) end
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local LABS = here .. "/../../labs"

-- sh(cmd) -> its stdout (stderr discarded unless the command redirects it)
local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

local function write_script(src)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  return path
end

-- run(args, script) -> stdout, stderr, exit status, wall seconds
local function run(args, script)
  local errfile = os.tmpname()
  local t0 = sh("date +%s.%N")
  local out = sh(("%s run %s %s 2>%s; echo \"__EXIT__$?\""):format(EXE, args, script, errfile))
  local secs = tonumber(sh("date +%s.%N")) - tonumber(t0)
  local status = tonumber(out:match("__EXIT__(%d+)%s*$"))
  out = out:gsub("__EXIT__%d+%s*$", "")
  local f = io.open(errfile)
  local err = f:read("a")
  f:close()
  os.remove(errfile)
  return out, err, status, secs
end

-- A small JSON reader for explore's one-object-per-line output.
local function json_decode(s)
  local pos = 1
  local value
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local function str()
    local out, i = {}, pos + 1
    while true do
      local c = s:sub(i, i)
      if c == '"' then pos = i + 1; return table.concat(out) end
      if c == "\\" then
        local e = s:sub(i + 1, i + 1)
        if e == "u" then
          out[#out + 1] = utf8.char(tonumber(s:sub(i + 2, i + 5), 16)); i = i + 6
        else
          out[#out + 1] = ({ n = "\n", t = "\t", r = "\r", b = "\b", f = "\f" })[e] or e
          i = i + 2
        end
      elseif c == "" then error("unterminated string")
      else out[#out + 1] = c; i = i + 1 end
    end
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1; ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      repeat
        ws(); local k = str(); ws()
        assert(s:sub(pos, pos) == ":"); pos = pos + 1
        t[k] = value(); ws()
        local d = s:sub(pos, pos); pos = pos + 1
      until d == "}"
      return t
    elseif c == '"' then return str()
    elseif s:find("^true", pos) then pos = pos + 4; return true
    elseif s:find("^false", pos) then pos = pos + 5; return false
    elseif s:find("^null", pos) then pos = pos + 4; return nil
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      pos = pos + #num
      return tonumber(num)
    end
  end
  return value()
end

-- explore(args, script) -> outcomes (list), summary
local function explore(args, script)
  local out = sh(("%s explore --json %s %s"):format(EXE, args, script))
  local outcomes, summary = {}, nil
  for line in out:gmatch("[^\n]+") do
    local o = json_decode(line)
    if o.runs then summary = o else outcomes[#outcomes + 1] = o end
  end
  assert(summary, "no summary line in: " .. out)
  return outcomes, summary
end

-- The set of stdouts (or first stderr lines when stdout is empty).
local function outcome_set(outcomes)
  local set = {}
  for _, o in ipairs(outcomes) do
    local key = o.stdout ~= "" and o.stdout or o.stderr:match("^[^\n]*")
    set[key] = true
  end
  return set
end

local RACY_COUNTER = [[
local n = atomic.int(0)
local wg = sync.waitgroup()
for _ = 1, 2 do
  wg:go(function() n:store(n:load() + 1) end)
end
wg:wait()
print("counter = " .. n:load())
]]

local LOCK_ORDER = [[
local a, b = sync.mutex(), sync.mutex()
local wg = sync.waitgroup()
wg:go(function() a:lock() b:lock() b:unlock() a:unlock() end)
wg:go(function() b:lock() a:lock() a:unlock() b:unlock() end)
wg:wait()
print("ok")
]]

local CLOSE_RACES_SEND = [[
local ch, done = chan(1), chan()
go(function() ch:send(1) done:send(true) end)
ch:close()
done:recv()
print("ok")
]]

TestSchedule = {}

-- Every lab, SEEDS seeds, each run twice: stdout, stderr and the exit
-- status byte for byte the same.  One shell loop per lab (fast), which
-- prints the seeds that differed.
function TestSchedule.testEveryLabReplaysByteForByte()
  local labs = sh("ls " .. LABS .. "/*.lua " .. LABS .. "/mistakes/*.lua")
  local n = 0
  for lab in labs:gmatch("[^\n]+") do
    local diff = sh(([[
ea=$(mktemp); eb=$(mktemp)
for s in $(seq 1 %d); do
  a=$(%s run --seed $s %s 2>"$ea"; echo "rc=$?")
  b=$(%s run --seed $s %s 2>"$eb"; echo "rc=$?")
  [ "$a" = "$b" ] && cmp -s "$ea" "$eb" || echo "seed $s"
done; rm -f "$ea" "$eb"]]):format(SEEDS, EXE, lab, EXE, lab))
    lu.assertEquals(diff, "", lab .. " differs between two runs of the same seed")
    n = n + 1
  end
  lu.assertTrue(n >= 14)
end

function TestSchedule.testLabsUnderASeedTakeLittleWallTime()
  local labs = sh("ls " .. LABS .. "/0*.lua")
  for lab in labs:gmatch("[^\n]+") do
    local _, _, status, secs = run("--seed 1", lab)
    lu.assertEquals(status, 0, lab)
    -- 100 ms on a quiet machine; sanitizer builds and a loaded CI get 20x
    lu.assertTrue(secs < 2, lab .. " took " .. secs .. " s")
  end
end

function TestSchedule.testDifferentSeedsGiveDifferentSchedules()
  local script = write_script(RACY_COUNTER)
  local seen = {}
  for s = 1, 30 do
    local out, _, status = run("--seed " .. s, script)
    lu.assertEquals(status, 0)
    seen[out] = true
  end
  os.remove(script)
  lu.assertEquals(seen, { ["counter = 1\n"] = true, ["counter = 2\n"] = true })
end

function TestSchedule.testSeedFromTheEnvironmentAndRuntimeSeed()
  local script = write_script('print(runtime.seed())\n')
  local out = run("--seed 42", script)
  lu.assertEquals(out, "42\n")
  out = sh(("CHANLAB_SEED=7 %s run %s"):format(EXE, script))
  lu.assertEquals(out, "7\n")
  out = run("", script)
  lu.assertEquals(out, "nil\n")
  os.remove(script)
end

function TestSchedule.testVirtualClockJumpsOverAnHourOfSleep()
  local script = write_script([[
local t0 = time.now()
time.sleep(time.hour)
print(string.format("%.3f", time.since(t0)))
local ctx = context.with_timeout(context.background(), 5)
ctx:done():recv()
print(ctx:err(), string.format("%.3f", time.since(t0)))
local tk = time.ticker(time.minute)
for _ = 1, 3 do tk.c:recv() end
tk:stop()
print(string.format("%.3f", time.since(t0)))
local v = chan.select { { recv = time.after(2), function() return "after" end } }
print(v, string.format("%.3f", time.since(t0)))
]])
  local out, err, status, secs = run("--seed 1", script)
  os.remove(script)
  lu.assertEquals(err, "")
  lu.assertEquals(status, 0)
  lu.assertEquals(out, "3600.000\ncontext deadline exceeded\t3605.000\n3785.000\nafter\t3787.000\n")
  -- an hour and more of virtual time: milliseconds here, a second or two
  -- in a sanitizer build on a loaded machine; never the hour
  lu.assertTrue(secs < 10, "took " .. secs .. " s of wall time")
end

function TestSchedule.testSignalRaiseIsDeliveredInOrder()
  local script = write_script([[
local ctx, stop = signal.notify_context(context.background(), "USR1")
go(function() time.sleep(1) signal.raise("USR1") end)
ctx:done():recv()
print(context.cause(ctx), time.since(0) > 0)
stop()
]])
  local a = { run("--seed 3", script) }
  local b = { run("--seed 3", script) }
  os.remove(script)
  lu.assertEquals(a[3], 0)
  lu.assertStrContains(a[1], "user defined signal 1 received")
  lu.assertEquals(a[1], b[1])
end

function TestSchedule.testExploreFindsBothValuesOfARacyCounter()
  local script = write_script(RACY_COUNTER)
  local outcomes, summary = explore("--runs " .. runs(300), script)
  lu.assertEquals(outcome_set(outcomes), { ["counter = 1\n"] = true, ["counter = 2\n"] = true })
  lu.assertEquals(summary.runs, runs(300))
  lu.assertEquals(summary.distinct, 2)
  local total = 0
  for _, o in ipairs(outcomes) do total = total + o.count end
  lu.assertEquals(total, runs(300))
  os.remove(script)
end

function TestSchedule.testExploreFindsTheLockOrderDeadlock()
  local script = write_script(LOCK_ORDER)
  for _, strategy in ipairs({ "dfs", "pct", "random" }) do
    -- dfs meets the deadlock within its first 50 schedules (of 1,625)
    local n = strategy == "dfs" and 100 or runs(500)
    local outcomes = explore("--runs " .. n .. " --strategy " .. strategy, script)
    local set = outcome_set(outcomes)
    lu.assertEquals(set, { ["ok\n"] = true,
      ["fatal error: all goroutines are asleep - deadlock!"] = true }, strategy)
    for _, o in ipairs(outcomes) do
      lu.assertEquals(o.exit, o.stdout == "ok\n" and 0 or 2)
    end
  end
  os.remove(script)
end

function TestSchedule.testExploreFindsTheSendOnClosedChannel()
  local script = write_script(CLOSE_RACES_SEND)
  local outcomes, summary = explore("--strategy dfs", script)
  lu.assertEquals(outcome_set(outcomes), { ["ok\n"] = true,
    ["panic: send on closed channel"] = true })
  lu.assertTrue(summary.complete)
  os.remove(script)
end

-- Hand count: main does go() then k adds, the goroutine k adds; a
-- decision follows every operation while both can run, and returning is
-- each one's last step, so the schedules are the lattice paths of a
-- (k+1) x (k+1) grid: C(2k+2, k+1) = 20 for k = 2, 70 for k = 3.
function TestSchedule.testDfsCoversEveryInterleavingAndSaysSo()
  for k, expect in pairs({ [2] = 20, [3] = 70 }) do
    local adds = ("n:add(1) "):rep(k)
    local script = write_script(("local n = atomic.int(0)\ngo(function() %s end)\n%s\n")
      :format(adds, adds))
    local outcomes, summary = explore("--strategy dfs", script)
    lu.assertEquals(summary.runs, expect)
    lu.assertTrue(summary.complete)
    lu.assertEquals(#outcomes, 1)
    local text = sh(("%s explore --strategy dfs %s"):format(EXE, script))
    lu.assertStrContains(text, ("all %d schedules explored"):format(expect))
    -- at most one preemption: never switch, or switch once after 0..k adds
    _, summary = explore("--strategy dfs --preemptions 1", script)
    lu.assertEquals(summary.runs, k + 2)
    lu.assertFalse(summary.complete)
    os.remove(script)
  end
end

function TestSchedule.testReplayCommandsReproduceTheirOutcome()
  -- (dfs on CLOSE_RACES_SEND: its 11 schedules; the lock-order inversion
  -- has 1,625, too many for a sanitizer build)
  for _, case in ipairs({ { CLOSE_RACES_SEND, "dfs" }, { LOCK_ORDER, "pct" },
                          { RACY_COUNTER, "random" } }) do
    local script = write_script(case[1])
    local n = case[2] == "dfs" and 100000 or runs(200)   -- dfs: all of it
    local outcomes = explore("--runs " .. n .. " --strategy " .. case[2], script)
    lu.assertTrue(#outcomes >= 2, case[2])
    for _, o in ipairs(outcomes) do
      lu.assertStrContains(o.replay, "chanlab run ")
      local cmd = o.replay:gsub("^chanlab ", EXE .. " ")
      local out = sh(cmd .. " 2>/dev/null; echo \"__EXIT__$?\"")
      local status = tonumber(out:match("__EXIT__(%d+)%s*$"))
      lu.assertEquals(out:gsub("__EXIT__%d+%s*$", ""), o.stdout, o.replay)
      lu.assertEquals(status, o.exit, o.replay)
    end
    os.remove(script)
  end
end

-- The "explore it" step of labs/README.md: both final values, every
-- schedule covered, and each outcome's replay gives it back.
function TestSchedule.testTheExploreItLab()
  local lab = LABS .. "/explore/racy_counter.lua"
  local outcomes, summary
  if SEEDS >= 100 then        -- 224 schedules: not in sanitizer builds
    outcomes, summary = explore("--strategy dfs", lab)
    lu.assertTrue(summary.complete)
    lu.assertEquals(summary.runs, 224)
    lu.assertEquals(outcome_set(outcomes), { ["counter = 1\n"] = true, ["counter = 2\n"] = true })
  end
  outcomes = explore("--runs " .. runs(200), lab)
  lu.assertEquals(#outcomes, 2)
  for _, o in ipairs(outcomes) do
    local out = sh(o.replay:gsub("^chanlab ", EXE .. " "))
    lu.assertEquals(out, o.stdout)
  end
end

function TestSchedule.testACrashingRunDoesNotEndTheExploration()
  local script = write_script([[
local n = atomic.int(0)
go(function() n:store(1) end)
if n:load() == 1 then error("boom") end
print("fine")
]])
  local outcomes, summary = explore("--strategy dfs", script)
  lu.assertTrue(summary.complete)
  local set = outcome_set(outcomes)
  lu.assertTrue(set["fine\n"])
  local panicked = false
  for key in pairs(set) do panicked = panicked or key:find("^panic: .*boom") ~= nil end
  lu.assertTrue(panicked)
  os.remove(script)
end

os.exit(lu.LuaUnit.run())
