-- soak.lua - 8 producers and 8 consumers, round after round, for a long
-- time, every message counted (make soak; a minute of it in make test).
--
-- Each round: a work channel (buffer 0 to 16), a context cancelled at the
-- end of the round, and for some producers a child context with a timeout
-- that expires mid-round.  A producer sends its ids 1, 2, 3... with a
-- select on the work channel, its context's done channel and a timer: a
-- timeout retries the same id, a cancel ends it (the id in hand never
-- counted as sent).  Consumers receive with a select on the work channel
-- and a timer until the channel is closed and drained.  After the round:
-- each producer's ids 1..n arrived exactly once, and no other; nothing
-- lost, nothing duplicated.  The process's resident memory is read half
-- way (warm: the allocator's arenas and the state pool have grown to what
-- the load needs, which takes some 30 s) and at the end: it must stay flat.
-- CHANLAB_SOAK_MEMORY=report reports it without judging (sanitizer builds,
-- whose allocators keep freed memory in quarantine).
--
--   chanlab tests/soak/soak.lua [SECONDS]   default: CHANLAB_SOAK_SECONDS or 60
-- Ends with "soak: 1 passed, 0 failed" (or 0 passed, 1 failed and why).

local SECONDS = tonumber(arg[1] or os.getenv("CHANLAB_SOAK_SECONDS") or 60)
local VERBOSE = os.getenv("CHANLAB_SOAK_VERBOSE") == "1"   -- RSS every 5 s
local PRODUCERS, CONSUMERS = 8, 8
local ROUND = 0.25                     -- seconds a round's producers run

local function rss_kib()
  local f = io.open("/proc/self/statm")
  if not f then return 0 end
  local _, resident = f:read("n", "n")
  f:close()
  return resident * 4               -- pages of 4 KiB
end

-- A producer: ids base+1, base+2 ... until ctx is done; returns how many
-- were sent (they are exactly ids 1..n) and its timeouts.
local function producer(work, ctx, pid)
  local n, timeouts = 0, 0
  local done = ctx:done()
  while true do
    local id = pid * 1000000000 + n + 1
    local value = (n % 4 == 0) and { id = id } or id   -- tables cross too
    local i = chan.select {
      { send = work, value = value },
      { recv = done },
      { recv = time.after(0.002) },
    }
    if i == 1 then
      n = n + 1
    elseif i == 2 then
      return n, timeouts
    else
      timeouts = timeouts + 1
    end
  end
end

-- A consumer: every id it receives until work is closed and drained,
-- and its idle timeouts.
local function consumer(work)
  local got, timeouts = {}, 0
  while true do
    local i, v, ok = chan.select {
      { recv = work },
      { recv = time.after(0.002) },
    }
    if i == 1 then
      if not ok then return got, timeouts end
      got[#got + 1] = type(v) == "table" and v.id or v
    else
      timeouts = timeouts + 1
    end
  end
end

local totals = { rounds = 0, messages = 0, timeouts = 0, early = 0 }

-- One round; returns nil or what went wrong.
local function round(r)
  local work = chan(r % 17)
  local ctx, cancel = context.with_cancel(context.background())
  local sent = chan(PRODUCERS)
  local received = chan(CONSUMERS)
  local producers, consumers = sync.waitgroup(), sync.waitgroup()

  for p = 1, PRODUCERS do
    producers:go(function()
      local pctx, pcancel = ctx, nil
      if (p + r) % 5 == 0 then           -- this one times out mid-round
        pctx, pcancel = context.with_timeout(ctx, ROUND / 3)
      end
      local n, timeouts = producer(work, pctx, p)
      if pcancel then pcancel() end
      sent:send({ p = p, n = n, timeouts = timeouts, early = pcancel ~= nil })
    end)
  end
  for _ = 1, CONSUMERS do
    consumers:go(function()
      local got, timeouts = consumer(work)
      received:send({ got = got, timeouts = timeouts })
    end)
  end

  time.sleep(ROUND)
  cancel()
  producers:wait()
  work:close()
  consumers:wait()

  -- every id of producer p in 1..count[p], each once
  local count, seen = {}, {}
  for _ = 1, PRODUCERS do
    local s = sent:recv()
    count[s.p] = s.n
    totals.messages = totals.messages + s.n
    totals.timeouts = totals.timeouts + s.timeouts
    if s.early then totals.early = totals.early + 1 end
  end
  local arrived = 0
  for _ = 1, CONSUMERS do
    local c = received:recv()
    totals.timeouts = totals.timeouts + c.timeouts
    for _, id in ipairs(c.got) do
      local p, seq = id // 1000000000, id % 1000000000
      if not count[p] or seq < 1 or seq > count[p] then
        return ("round %d: received %d, never sent"):format(r, id)
      end
      if seen[id] then
        return ("round %d: received %d twice"):format(r, id)
      end
      seen[id] = true
      arrived = arrived + 1
    end
  end
  local expected = 0
  for p = 1, PRODUCERS do expected = expected + count[p] end
  if arrived ~= expected then
    return ("round %d: %d sent, %d received (lost)"):format(r, expected, arrived)
  end
  totals.rounds = totals.rounds + 1
end

local start = time.now()
local warm_at, rss_warm = SECONDS / 2, nil
local rss_start = rss_kib()
local problem
local r = 0
while not problem and time.since(start) < SECONDS do
  r = r + 1
  problem = round(r)
  if not rss_warm and time.since(start) >= warm_at then rss_warm = rss_kib() end
  if VERBOSE and r % 20 == 0 then
    print(("soak: %4.0f s  RSS %6d KiB  Lua %6d KiB  %d messages")
      :format(time.since(start), rss_kib(), runtime.memory() // 1024, totals.messages))
  end
end
rss_warm = rss_warm or rss_start
local rss_end = rss_kib()
local growth = rss_end - rss_warm

print(("soak: %.0f s, %d rounds, %d messages (%d/s), %d timeouts, %d producers timed out early, "
  .. "%d goroutines left")
  :format(time.since(start), totals.rounds, totals.messages,
          totals.messages // math.max(1, time.since(start)), totals.timeouts, totals.early,
          runtime.goroutines() - 1))
print(("soak: RSS %d KiB at start, %d KiB warm (after %.0f s), %d KiB at the end (%+d KiB)")
  :format(rss_start, rss_warm, warm_at, rss_end, growth))

-- Flat: the end within a quarter (and 16 MiB) of the warm figure.  Each
-- round frees what it made, so growth would be a leak: a leak of one
-- timer or message per round trip would be over 100 MiB a minute.
if not problem and os.getenv("CHANLAB_SOAK_MEMORY") ~= "report"
    and growth > rss_warm // 4 + 16384 then
  problem = ("memory grew from %d to %d KiB"):format(rss_warm, rss_end)
end
if not problem and totals.rounds == 0 then problem = "no round finished" end
if not problem and runtime.goroutines() ~= 1 then
  problem = ("%d goroutines still alive"):format(runtime.goroutines() - 1)
end
if problem then
  print("soak: FAILED: " .. problem)
  print("soak: 0 passed, 1 failed")
  os.exit(1)
end
print("soak: 1 passed, 0 failed")
