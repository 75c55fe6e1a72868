-- workload.lua - what the fault-injection runs (tests/faults/run.sh) put
-- through an allocation that fails: every part of the API once, values of
-- every kind crossing states.  Each phase runs under pcall and reports
-- what it caught on stderr, so that one failed allocation ends the phase
-- it hit, and the rest still runs (and must not leak); the script ends by
-- returning (exit 0, LeakSanitizer at exit).
-- Run: build/faults/chanlab run --seed 1 tests/faults/workload.lua

local caught = 0

local function phase(name, f)
  local ok, err = pcall(f)
  if not ok then
    caught = caught + 1
    io.stderr:write(("workload: %s: %s\n"):format(name, tostring(err)))
  end
end

-- Goroutines report back through a channel; a goroutine whose body failed
-- sends its error instead.  wait(n) collects n reports (or gives up after
-- a second: a goroutine that could not even start never reports).
local reports = chan(64)
local function spawn(f, ...)
  go(function(...)
    local ok, err = pcall(f, ...)
    if not ok then   -- say it now: whoever waits for this one may wait forever
      io.stderr:write("workload: goroutine: ", tostring(err), "\n")
    end
    reports:send(ok)
  end, ...)
end
local function wait(n)
  local timeout = time.after(1)
  for _ = 1, n do
    local r = chan.select {
      { recv = reports, function(v) return v end },
      { recv = timeout, function() return "timeout" end },
    }
    if r == "timeout" then return end
    if r ~= true then caught = caught + 1 end
  end
end

phase("values", function()
  local t = { 1, 2.5, "three", true, nil, -0.0, math.mininteger, 0 / 0, "with\0zero" }
  t.self = t
  t.shared = { k = "v" }
  t.again = t.shared
  local up = 41
  t.fn = function() up = up + 1; return up end
  local c = chan(1)
  spawn(function(v) c:send(v) end, t)
  local back = c:recv()
  assert(back.self == back and back.again == back.shared and back.fn() == 42)
  wait(1)
end)

phase("channels", function()
  local unbuffered, buffered = chan(), chan(8)
  spawn(function()
    for i = 1, 20 do unbuffered:send({ i = i, s = ("x"):rep(i) }) end
    unbuffered:close()
  end)
  local n = 0
  for v in unbuffered:range() do n = n + v.i end
  assert(n == 210)
  for i = 1, 8 do buffered:send(("b"):rep(100 * i)) end
  assert(buffered:len() == 8 and buffered:trysend(1) == false)
  for _ = 1, 8 do buffered:recv() end
  local ready, v, ok = buffered:tryrecv()
  assert(not ready and v == nil and ok == nil)
  buffered:close()
  wait(1)
end)

phase("select", function()
  local a, b, quit = chan(), chan(1), chan()
  spawn(function()
    for i = 1, 10 do
      chan.select {
        { send = a, value = { i }, function() end },
        { send = b, value = "b" .. i, function() end },
      }
    end
    quit:close()
  end)
  local got = 0
  while true do
    local done = chan.select {
      { recv = a, function() got = got + 1 end },
      { recv = b, function() got = got + 1 end },
      { recv = quit, function() return true end },
    }
    if done then break end
  end
  chan.select { { recv = b, function() got = got + 1 end }, default = function() end }
  assert(got == 10)
  wait(1)
end)

phase("sync", function()
  local wg, mu, once, n = sync.waitgroup(), sync.mutex(), sync.once(), atomic.int(0)
  local shared = { count = 0 }
  for _ = 1, 8 do
    wg:go(function()
      mu:lock()
      n:add(1)
      mu:unlock()
      once:call(function() n:add(100) end)
    end)
  end
  wg:wait()
  assert(n:load() == 108 and shared.count == 0)
end)

phase("context", function()
  local root = context.background()
  local ctx, cancel = context.with_cancel(root)
  local vctx = context.with_value(ctx, "key", { deep = { "value" } })
  local tctx, tcancel = context.with_timeout(vctx, 0.01)
  spawn(function()
    tctx:done():recv()
    assert(tctx:err() == "context deadline exceeded")
  end)
  wait(1)
  assert(vctx:value("key").deep[1] == "value")
  cancel({ reason = "done" })
  assert(context.cause(ctx).reason == "done")
  tcancel()
end)

phase("errgroup", function()
  local g, gctx = errgroup.with_context(context.background())
  g:set_limit(2)
  for i = 1, 4 do
    g:go(function()
      if i == 3 then error({ code = i }) end
      return nil
    end)
  end
  local err = g:wait()
  assert(type(err) == "table" and err.code == 3 and gctx:err() ~= nil)
end)

phase("semaphore", function()
  local sem = semaphore.new(2)
  local wg = sync.waitgroup()
  for _ = 1, 4 do
    wg:go(function()
      sem:acquire(context.background(), 1)
      time.sleep(0.001)
      sem:release(1)
    end)
  end
  wg:wait()
  assert(sem:try_acquire(2))
end)

phase("time", function()
  local t = time.timer(0.001)
  t.c:recv()
  local tick = time.ticker(0.001)
  tick.c:recv()
  tick.c:recv()
  tick:stop()
  time.after(0.001):recv()
  assert(time.since(time.now()) >= 0)
end)

phase("signal", function()
  local ctx, stop = signal.notify_context(context.background(), "USR1")
  signal.raise("USR1")
  ctx:done():recv()
  stop()
end)

phase("errors", function()
  local ok, err = pcall(function() local c = chan(); c:close(); c:send(1) end)
  assert(not ok and err == "send on closed channel")
  ok, err = pcall(go, function() end, coroutine.create(print))
  assert(not ok)
  assert(runtime.goroutines() >= 1 and runtime.memory() > 0)
end)

print("workload done, caught " .. caught)
