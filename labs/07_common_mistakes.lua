-- Step 7: Common mistakes - each one shown live, then fixed.
--
-- The mistakes that crash the program (a deadlock, panics) also have tiny
-- scripts of their own in mistakes/, so you can watch them fail:
--   chanlab lab run forgot_close     (or: chanlab run labs/mistakes/forgot_close.lua)
-- Go's old loop-variable trap (all goroutines seeing the last i) does not
-- exist in Lua: a numeric `for` makes a fresh i per iteration.  Lua in
-- chanlab has the opposite trap instead (6 and 7): a goroutine gets a COPY.

local function list(t) return "[" .. table.concat(t, " ") .. "]" end

---- 1. Goroutine leak -------------------------------------------------------
-- Ask 3 replicas, keep the first answer.  The 2 slower senders block
-- forever on the unbuffered channel: every call leaks 2 goroutines, and a
-- leaked goroutine holds its whole Lua state.
local function first_leaky()
  local ch = chan()
  for i = 1, 3 do go(function() ch:send(i) end) end
  return ch:recv()
end

-- Fix: room for every answer, so every sender can finish and exit.
local function first_fixed()
  local ch = chan(3)
  for i = 1, 3 do go(function() ch:send(i) end) end
  return ch:recv()
end

-- Goroutines that are done take a moment to go away: wait until the
-- count stops changing (a leaked one never goes away).
local function settled_count()
  local n = runtime.goroutines()
  for _ = 1, 50 do
    time.sleep(20 * time.ms)
    local m = runtime.goroutines()
    if m == n then break end
    n = m
  end
  return n
end

local function leaked(f)
  local before = settled_count()
  for _ = 1, 5 do f() end
  return settled_count() - before
end

print("1. Goroutine leak")
print("   mistake: goroutines leaked after 5 calls: " .. leaked(first_leaky))
print("   fix:     goroutines leaked after 5 calls: " .. leaked(first_fixed))

---- 2. Forgetting close -> range never ends ---------------------------------
print("2. Forgetting ch:close() -> range never ends")
print("   mistake: fatal error: all goroutines are asleep - deadlock! (see mistakes/forgot_close.lua)")
local ch = chan()
go(function()
  for i = 1, 3 do ch:send(i) end
  ch:close()                           -- fix: the sender closes when done
end)
local sum = 0
for v in ch:range() do sum = sum + v end
print("   fix:     range ended after close, sum = " .. sum)

---- 3. Data race on a shared counter -----------------------------------------
-- Plain Lua variables cannot race in chanlab: no two goroutines share one.
-- Shared handles can.  load() then store(v + 1) is two steps; when two
-- goroutines interleave them (in parallel on two cores, or one preempted
-- between the steps), one increment overwrites the other.
-- A deterministic run (chanlab run --seed N) stops at every load and
-- store to let its strategy pick who goes next, so it needs far fewer
-- increments to lose some - and it loses the same ones every time.
local G, N = 4, runtime.seed() and 2000 or 100000

-- Run inc() N times in each of G goroutines, all released at once.
-- inc is copied into each goroutine; the handles it captured are shared.
local function in_parallel(inc)
  local wg, start = sync.waitgroup(), chan()
  for _ = 1, G do
    wg:add(1)
    go(function()
      start:recv()
      for _ = 1, N do inc() end
      wg:done()
    end)
  end
  start:close()
  wg:wait()
end

local racy = atomic.int(0)
in_parallel(function() racy:store(racy:load() + 1) end)       -- MISTAKE
local mu, locked = sync.mutex(), atomic.int(0)
in_parallel(function() mu:lock(); locked:store(locked:load() + 1); mu:unlock() end)
local counted = atomic.int(0)
in_parallel(function() counted:add(1) end)    -- one indivisible step
print(string.format("3. Data race on a shared counter (%d goroutines x %d increments)", G, N))
print(string.format("   mistake: load-then-store counter = %d (%d updates lost; varies from run to run)",
  racy:load(), G * N - racy:load()))
print(string.format("   fix:     mutex counter = %d, add() counter = %d (%s)", locked:load(),
  counted:load(), locked:load() == G * N and counted:load() == G * N and "none lost" or "LOST SOME"))

---- 4. wg:add inside the goroutine -------------------------------------------
print("4. wg:add inside the goroutine")
local wg4, finished = sync.waitgroup(), atomic.int(0)
local not_started = chan()             -- forces the unlucky (but legal) schedule
for _ = 1, 5 do
  go(function()
    not_started:recv()                 -- this goroutine has not run yet...
    wg4:add(1)                         -- MISTAKE: too late, wait() may be over
    finished:add(1)
    wg4:done()
  end)
end
wg4:wait()                             -- the counter is still 0: returns at once
print(string.format("   mistake: wait() returned after %d of 5 tasks finished", finished:load()))
not_started:close()

local wg4b, finished_b = sync.waitgroup(), atomic.int(0)
for _ = 1, 5 do
  wg4b:add(1)                          -- fix: add in the parent, before go()
  go(function()
    finished_b:add(1)
    wg4b:done()
  end)
end
wg4b:wait()
print(string.format("   fix:     wait() returned after %d of 5 tasks finished", finished_b:load()))

---- 5. Send on a closed channel ----------------------------------------------
print("5. Send on a closed channel")
local closed = chan(1)
closed:close()
local _, err = pcall(closed.send, closed, 1)  -- pcall is Lua's recover
print("   mistake: panic: " .. tostring(err) .. " (see mistakes/send_on_closed.lua)")

local out, senders = chan(), sync.waitgroup()
for i = 1, 3 do
  senders:add(1)
  go(function()
    out:send(i)
    senders:done()
  end)
end
go(function()
  senders:wait()                       -- fix: close after EVERY sender is done
  out:close()
end)
local n = 0
for _ in out:range() do n = n + 1 end
print("   fix:     received " .. n .. " values, then the channel was closed once")

---- 6. A goroutine works on a copy of what it captured (Lua) ------------------
print("6. A goroutine changes its own copy of captured variables")
local squares, count = {}, 0
local wg6 = sync.waitgroup()
for i = 1, 3 do
  wg6:add(1)
  go(function()
    squares[i] = i * i                 -- MISTAKE: the goroutine's own copy
    count = count + 1                  -- of squares and of count
    wg6:done()
  end)
end
wg6:wait()
print(string.format("   mistake: squares = %s, count = %d", list(squares), count))

local answers = chan(3)
for i = 1, 3 do
  go(function() answers:send({ i, i * i }) end)   -- fix: send results back
end
for _ = 1, 3 do
  local a = answers:recv()
  squares[a[1]] = a[2]
  count = count + 1
end
print(string.format("   fix:     squares = %s, count = %d", list(squares), count))

---- 7. A goroutine has its own globals (Lua) ----------------------------------
-- A goroutine's globals are a fresh set (the standard library and chanlab),
-- not the main script's: a global function defined here is nil there.
print("7. A goroutine does not see the main script's globals")
function describe(v) return "value " .. v end    -- MISTAKE: a global
local function describe_local(v) return "value " .. v end

local replies = chan(2)
go(function()
  local ok, e = pcall(function() return describe(1) end)
  replies:send(ok and e or (e:gsub("^[^:]*:%d+: ", "")))   -- drop "file:line: "
end)
print("   mistake: " .. replies:recv())
go(function() replies:send(describe_local(1)) end)      -- fix: a local, captured
print("   fix:     " .. replies:recv())
