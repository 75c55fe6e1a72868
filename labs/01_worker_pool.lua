-- Step 1: Worker pool - a fixed set of goroutines drains one job queue.
--
-- Why: starting one goroutine per job lets the job count decide how much
-- CPU, memory or how many connections you use.  A pool fixes that number:
-- NUM_WORKERS goroutines take jobs from a shared channel until it is closed.
local NUM_JOBS, NUM_WORKERS = 20, 5

-- A worker runs in its own Lua state: it sees only its arguments (the
-- channels and the waitgroup are shared handles) and its own copy of any
-- upvalue.  Results therefore travel back over a channel.
local function worker(id, jobs, results, wg)
  for j in jobs:range() do      -- ends when jobs is closed and drained
    time.sleep(time.ms)         -- pretend to work
    results:send(j * j)
  end
  wg:done()                     -- this worker is finished
end

-- Both channels are buffered to NUM_JOBS, so the sender and the workers
-- never wait on each other just for lack of room.
local jobs, results = chan(NUM_JOBS), chan(NUM_JOBS)
local wg = sync.waitgroup()

for w = 1, NUM_WORKERS do
  wg:add(1)                     -- count the worker before it starts
  go(worker, w, jobs, results, wg)
end

for j = 1, NUM_JOBS do jobs:send(j) end
-- The tip: close the queue once every job is in.  That close is what ends
-- each worker's range loop; forget it and the workers wait forever.
jobs:close()

-- Close results only when every worker has finished, so that the
-- collecting loop below knows when to stop.  Done in a goroutine because
-- main must be free to collect at the same time.
go(function()
  wg:wait()
  results:close()
end)

local sum = 0
for r in results:range() do sum = sum + r end

print(string.format("Worker pool: processed %d jobs with %d workers", NUM_JOBS, NUM_WORKERS))
print(string.format("Sum of squares 1..%d = %d", NUM_JOBS, sum))
