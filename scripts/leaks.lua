-- Leaks: the runtime names the goroutines that can never run again.
--
-- Starts N workers that wait on a channel only they hold (leaked: nobody
-- can ever send to it), N that wait on a channel the main script keeps
-- (not leaked: main may still send), and two that lock two mutexes in
-- opposite orders (a partial deadlock: each waits for the other, while
-- the program goes on).  Then asks runtime.leaks() and times it: the
-- world is stopped while every goroutine's Lua state is walked once.
--   chanlab run scripts/leaks.lua [N]          (default 1000)
--   chanlab run --leaks scripts/leaks.lua      (also Go's dump at the end)
local N = math.tointeger(tonumber((...))) or 1000

local started = sync.waitgroup()

local function abandon(n)
  for _ = 1, n do
    local mine = chan()
    started:add(1)
    go(function() started:done(); mine:recv() end)
  end
end

local keep = chan()
local function wait_on_keep(n)
  for _ = 1, n do
    started:add(1)
    go(function() started:done(); keep:recv() end)
  end
end

local function inversion()
  local a, b, both = sync.mutex(), sync.mutex(), sync.waitgroup()
  both:add(2)
  started:add(2)
  go(function() a:lock(); started:done(); both:done(); both:wait(); b:lock() end)
  go(function() b:lock(); started:done(); both:done(); both:wait(); a:lock() end)
end

abandon(N)
wait_on_keep(N)
inversion()
started:wait()

-- A goroutine that has just said "started" may not have blocked yet: ask
-- until the answer holds still.
local list, took
for _ = 1, 100 do
  local t0 = time.now()
  local l = runtime.leaks()
  took = time.since(t0)
  if list and #l == #list then break end
  list = l
  time.sleep(20 * time.ms)
end

local cycles = 0
for _, l in ipairs(list) do
  if l.deadlock then cycles = cycles + 1 end
end
print(("%d goroutines parked: %d leaked, %d of them in a partial deadlock"):format(
  runtime.goroutines() - 1, #list, cycles))
print(("runtime.leaks() took %.3f s"):format(took))
for i = 1, math.min(2, #list) do
  print(("  goroutine %d [%s] at %s"):format(list[i].id, list[i].reason, list[i].line))
end
print("  " .. (list[#list].deadlock or ""))
