-- Step 8: Capstone - a complete worker pool: 100 jobs, errors, cancellation, a summary.
--
--   producer -> jobs -> 10 workers -> results -> collector -> summary
--
-- Run 1 processes every job; jobs whose id ends in 7 fail.  Run 2 is the
-- same pool set to fail fast: after 3 failures the collector cancels the
-- context, the producer stops handing out jobs and the workers' in-flight
-- jobs end as "cancelled".  How far run 2 gets depends on timing, so it
-- prints invariants; `-v` adds the numbers and timings.
local verbose = false
for _, a in ipairs({ ... }) do
  if a == "-v" or a == "--v" then verbose = true end
end

-- Errors as values: a table that says what it wraps, like Go's %w, so a
-- caller can ask errors.is(err, ErrInvalid) instead of parsing text.
-- Tables cross between goroutines by copy, so this works over channels.
local ErrInvalid = "invalid input"
local errors = {}
function errors.new_wrapped(msg, wrapped) return { msg = msg, wraps = wrapped } end
function errors.is(err, target)
  while err ~= nil do
    if err == target then return true end
    err = type(err) == "table" and err.wraps or nil
  end
  return false
end
function errors.text(err) return type(err) == "table" and err.msg or tostring(err) end

-- process simulates 1-3 ms of work, unless ctx is cancelled first.
local function process(ctx, id)
  local cancelled = chan.select {
    { recv = time.after((1 + id % 3) * time.ms), function() return false end },
    { recv = ctx:done(), function() return true end },
  }
  if cancelled then return nil, ctx:err() end
  if id % 10 == 7 then
    return nil, errors.new_wrapped(string.format("job %d: %s", id, ErrInvalid), ErrInvalid)
  end
  return id * id
end

-- A worker reports every job it took, whatever happened to it: that is
-- what lets the collector account for every dispatched job.
local function worker(ctx, wid, jobs, results, wg)
  for id in jobs:range() do
    local v, err = process(ctx, id)
    results:send({ job = id, worker = wid, value = v, err = err })
  end
  wg:done()
end

-- run_pool(parent, num_jobs, num_workers, max_failures) -> summary
-- max_failures > 0: cancel all remaining work after that many failures.
local function run_pool(parent, num_jobs, num_workers, max_failures)
  local start = time.now()
  local ctx, cancel = context.with_cancel(parent)

  local jobs = chan()                  -- unbuffered: a job leaves only when taken
  local results = chan(num_workers)
  local wg = sync.waitgroup()
  for w = 1, num_workers do
    wg:add(1)
    go(worker, ctx, w, jobs, results, wg)
  end

  -- Producer: stops handing out jobs once ctx is cancelled.  It counts in
  -- an atomic because a plain variable of its own would stay in its copy.
  local dispatched = atomic.int(0)
  go(function()
    for id = 1, num_jobs do
      local sent = chan.select {
        { send = jobs, value = id, function() return true end },
        { recv = ctx:done(), function() return false end },
      }
      if not sent then break end
      dispatched:add(1)
    end
    jobs:close()                       -- lets the workers' range loops end
  end)

  go(function()                        -- closer: after the last worker exits
    wg:wait()
    results:close()
  end)

  -- Collector: the main script, the only one touching s.
  local s = { ok = 0, failed = 0, cancelled = 0, sum = 0,
              failed_ids = {}, errors = {}, per_worker = {} }
  for r in results:range() do
    s.per_worker[r.worker] = (s.per_worker[r.worker] or 0) + 1
    if r.err == nil then
      s.ok = s.ok + 1
      s.sum = s.sum + r.value
    elseif r.err == context.canceled then
      s.cancelled = s.cancelled + 1
    else
      s.failed = s.failed + 1
      s.failed_ids[#s.failed_ids + 1] = r.job
      s.errors[r.job] = r.err
      if max_failures > 0 and s.failed == max_failures then
        cancel()                       -- fail fast: stop producer and workers
      end
    end
  end
  -- Safe to read: jobs closed -> workers exited -> results closed.
  s.dispatched = dispatched:load()
  cancel()                             -- always release the context
  table.sort(s.failed_ids)
  s.elapsed = time.since(start)
  return s
end

local function list(t) return "[" .. table.concat(t, " ") .. "]" end
local function per_worker(s)
  local parts = {}
  for w = 1, 10 do parts[#parts + 1] = w .. ":" .. (s.per_worker[w] or 0) end
  return "map[" .. table.concat(parts, " ") .. "]"
end

local NUM_JOBS, NUM_WORKERS = 100, 10
-- An overall deadline as a safety net; never reached in this demo.
local ctx, cancel = context.with_timeout(context.background(), 10 * time.second)

local s = run_pool(ctx, NUM_JOBS, NUM_WORKERS, 0)
print(string.format("Run 1: %d jobs, %d workers", NUM_JOBS, NUM_WORKERS))
print(string.format("  succeeded: %d", s.ok))
print(string.format("  failed:    %d %s", s.failed, list(s.failed_ids)))
print(string.format("  cancelled: %d (dispatched: %d)", s.cancelled, s.dispatched))
print(string.format("  sum of squares of successful jobs: %d", s.sum))
local first = s.errors[s.failed_ids[1]]
print(string.format("  first error: %s (errors.Is ErrInvalid: %s)",
  errors.text(first), tostring(errors.is(first, ErrInvalid))))
if verbose then
  print(string.format("  elapsed: %.0fms, per-worker jobs: %s", s.elapsed * 1000, per_worker(s)))
end

local s2 = run_pool(ctx, NUM_JOBS, NUM_WORKERS, 3)
print("Run 2: same jobs, fail fast after 3 errors")
print(string.format("  stopped early (fewer than %d jobs dispatched): %s",
  NUM_JOBS, tostring(s2.dispatched < NUM_JOBS)))
print(string.format("  failed >= 3: %s", tostring(s2.failed >= 3)))
print(string.format("  every dispatched job reported once (ok+failed+cancelled == dispatched): %s",
  tostring(s2.ok + s2.failed + s2.cancelled == s2.dispatched)))
if verbose then
  print(string.format("  dispatched=%d ok=%d failed=%d %s cancelled=%d elapsed=%.0fms",
    s2.dispatched, s2.ok, s2.failed, list(s2.failed_ids), s2.cancelled, s2.elapsed * 1000))
end
cancel()
