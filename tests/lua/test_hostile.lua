-- test_hostile.lua - the hostile corpus (tests/hostile/*.lua): each script
-- is run by `chanlab run` with the options its header gives, and must end
-- as the header says: exit status, what stderr holds, and within its
-- limit plus 10 % (CPU, wall time or peak memory, measured by
-- /usr/bin/time over an empty script's own cost).  Prints a table of
-- what each took.  Peak memory is not checked in sanitizer builds (their
-- shadow memory is most of it).
-- Run: CHANLAB=build/chanlab build/chanlab tests/lua/test_hostile.lua
local lu = require("luaunit")

local EXE = os.getenv("CHANLAB") or "build/chanlab"
local DIR = "tests/hostile"
local SANITIZER = EXE:match("/[at]san/") ~= nil
local TIME = io.open("/usr/bin/time") and "/usr/bin/time"
if TIME then io.open(TIME):close() end

local function slurp(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- run(path, args) -> { out, err, status, wall, cpu, rss (bytes) }
local function run(path, args)
  local errf, timef = os.tmpname(), os.tmpname()
  -- ThreadSanitizer sleeps a second at exit (atexit_sleep_ms), while a
  -- goroutine stuck in C code spins on: not the runtime's time
  local cmd = ("%s run %s %s 2>%s"):format(EXE, args, path, errf)
  if TIME then
    cmd = ('%s -o %s -f "%%e %%U %%S %%M" %s'):format(TIME, timef, cmd)
  end
  cmd = ("TSAN_OPTIONS='atexit_sleep_ms=0 %s' %s"):format(os.getenv("TSAN_OPTIONS") or "", cmd)
  local t0 = time.now()
  local p = io.popen(cmd .. '; echo "__EXIT__$?"')
  local out = p:read("a")
  p:close()
  local r = { wall = time.now() - t0 }
  r.status = tonumber(out:match("__EXIT__(%d+)%s*$"))
  r.out = out:gsub("__EXIT__%d+%s*$", "")
  r.err = slurp(errf)
  local e, u, s, m = slurp(timef):match("([%d.]+) ([%d.]+) ([%d.]+) (%d+)%s*$")
  if e then
    r.wall, r.cpu, r.rss = tonumber(e), tonumber(u) + tonumber(s), tonumber(m) * 1024
  end
  os.remove(errf)
  os.remove(timef)
  return r
end

local function size(s)
  local v, unit = s:match("^([%d.]+)([KMG]?)")
  return tonumber(v) * ({ [""] = 1, K = 1024, M = 1024 ^ 2, G = 1024 ^ 3 })[unit]
end

-- The header of a corpus script.
local function header(path)
  local h = { expect = {}, args = "", status = 2 }
  for line in io.lines(path) do
    local k, v = line:match("^%-%- (%a+): (.*)$")
    if k == "args" then h.args = v
    elseif k == "expect" then h.expect[#h.expect + 1] = v
    elseif k == "status" then h.status = tonumber(v)
    elseif k == "stdout" then h.stdout = v .. "\n"
    elseif k == "bound" then
      local kind, n = v:match("^(%a+) (%S+)$")
      h.bound = { kind = kind, limit = kind == "rss" and size(n) or tonumber(n) }
    end
  end
  return h
end

local empty = os.tmpname()
io.open(empty, "w"):close()
local base = run(empty, "--sandbox")
os.remove(empty)

local results = {}

local function check(name)
  local path = DIR .. "/" .. name .. ".lua"
  local h = header(path)
  local r = run(path, h.args)
  lu.assertEquals(r.status, h.status, r.err)
  for _, e in ipairs(h.expect) do lu.assertStrContains(r.err, e) end
  lu.assertNotStrContains(r.err, "Sanitizer")       -- a sanitizer build's report
  lu.assertNotStrContains(r.err, "runtime error:")  -- UndefinedBehaviorSanitizer's
  if h.stdout then lu.assertEquals(r.out, h.stdout) end
  local row = { name = name, status = r.status, wall = r.wall, cpu = r.cpu, rss = r.rss }
  results[#results + 1] = row
  if h.bound and TIME then
    local b = h.bound
    row.bound = b
    local used = b.kind == "cpu" and r.cpu - base.cpu or b.kind == "wall" and r.wall - base.wall
      or r.rss - base.rss
    row.used = used
    if b.kind ~= "rss" or not SANITIZER then
      lu.assertTrue(used <= b.limit * 1.1,
        ("%s: %s %.3f over its limit %.3f + 10 %%"):format(name, b.kind, used, b.limit))
    end
  end
end

TestHostile = {}
local names = {}
for name in io.popen("ls " .. DIR):lines() do
  name = name:match("^(.*)%.lua$")
  if name then names[#names + 1] = name end
end
for _, name in ipairs(names) do
  TestHostile["test_" .. name] = function() check(name) end
end

local rc = lu.LuaUnit.run()
print(("\n%-22s %6s %8s %8s %9s  %s"):format("script", "status", "wall s", "cpu s", "rss MiB", "bound"))
for _, r in ipairs(results) do
  local b = r.bound
  print(("%-22s %6d %8.2f %8.2f %9.1f  %s"):format(r.name, r.status, r.wall or 0, r.cpu or 0,
    (r.rss or 0) / 2 ^ 20, b and ("%s %g%s: used %.2f%s"):format(b.kind,
      b.kind == "rss" and b.limit / 2 ^ 20 or b.limit, b.kind == "rss" and " MiB" or " s",
      b.kind == "rss" and r.used / 2 ^ 20 or r.used, b.kind == "rss" and " MiB" or " s") or ""))
end
print(("(an empty script: %.2f s wall, %.2f s cpu, %.1f MiB)"):format(base.wall, base.cpu or 0,
  (base.rss or 0) / 2 ^ 20))
os.exit(rc)
