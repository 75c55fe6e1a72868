-- parked_mem: resident memory per parked goroutine. Reads VmRSS from
-- /proc/self/status, starts N goroutines that each mark themselves started
-- and then block receiving on one shared channel, waits until all have
-- started, reads VmRSS again: (after - before) / N.
-- Prints "parked_mem: X KB/goroutine"; with N >= 1,000,000 prints
-- "parked_1m: ok" and "parked_1m_mem: X KB/goroutine" instead, or
-- "parked_1m: failed (...)". To protect a shared machine it stops early (and
-- reports failure) when MemAvailable falls under 1 GB.
-- Usage: chanlab run parked_mem.lua [N]   (default 100,000)
local N = math.tointeger(tonumber(arg and arg[1] or ...)) or 100000

local function kb(file, key)
  local f = io.open(file)
  if not f then return nil end
  for line in f:lines() do
    local v = line:match("^" .. key .. ":%s*(%d+)")
    if v then f:close(); return tonumber(v) end
  end
  f:close()
end

local big = N >= 1000000
local block = chan()
local started = sync.waitgroup()
local function parked(started, block)
  started:done()
  block:recv()
end

collectgarbage("collect")
local before = kb("/proc/self/status", "VmRSS")
local spawned, err = 0, nil
for i = 1, N do
  if i % 10000 == 0 then
    local avail = kb("/proc/meminfo", "MemAvailable")
    if avail and avail < 1024 * 1024 then
      err = string.format("stopped at %d goroutines: MemAvailable under 1 GB", spawned)
      break
    end
  end
  started:add(1)
  local ok, msg = pcall(go, parked, started, block)
  if not ok then
    started:done()
    err = string.format("go() failed at goroutine %d: %s", i, tostring(msg))
    break
  end
  spawned = spawned + 1
end
started:wait()
local after = kb("/proc/self/status", "VmRSS")
local per = spawned > 0 and (after - before) / spawned or 0
if big then
  if err then
    print("parked_1m: failed (" .. err .. ")")
    os.exit(1)
  end
  print("parked_1m: ok")
  print(string.format("parked_1m_mem: %.2f KB/goroutine", per))
else
  if err then
    print("parked_mem: failed (" .. err .. ")")
    os.exit(1)
  end
  print(string.format("parked_mem: %.2f KB/goroutine", per))
end
