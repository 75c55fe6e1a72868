-- Step 3: Semaphore - at most 3 of 10 goroutines do their work at once.
--
-- Why: sometimes every task deserves its own goroutine, but the resource
-- behind the work (a database, an API with a rate limit) takes only a few
-- at a time.  A buffered channel of capacity 3 is a pool of 3 tokens: send
-- to take one, receive to give it back.  (chanlab also has a weighted
-- semaphore, semaphore.new(n), for tokens of different sizes.)
local NUM_TASKS, MAX_CONCURRENT = 10, 3

local sem = chan(MAX_CONCURRENT)       -- 3 free slots
local wg = sync.waitgroup()
local running, peak = atomic.int(0), atomic.int(0)
local results = chan(NUM_TASKS)        -- {id, value} from each task

-- Record the highest concurrency seen: a compare-and-swap loop, because
-- another goroutine may raise peak between our load and our store.
local function note_peak(n)
  repeat
    local p = peak:load()
  until n <= p or peak:cas(p, n)
end

local function work(id)
  note_peak(running:add(1))
  time.sleep(20 * time.ms)             -- the slow part we must bound
  running:add(-1)
  return id * 10
end

for id = 0, NUM_TASKS - 1 do
  wg:add(1)
  go(function()
    sem:send(true)                     -- acquire: blocks while 3 are taken
    -- Lua has no defer: pcall catches an error so that the token is given
    -- back on every path, then the error goes on as a panic.
    local ok, v = pcall(work, id)
    sem:recv()                         -- release
    if not ok then error(v, 0) end
    results:send({ id, v })
    wg:done()
  end)
end
wg:wait()

-- The tip: the send blocks as soon as every slot is taken, which holds the
-- extra goroutines back (back-pressure) without any counting of our own.
local got = {}
for _ = 1, NUM_TASKS do
  local r = results:recv()
  got[r[1] + 1] = r[2]
end
print(string.format("Ran %d tasks with at most %d at a time", NUM_TASKS, MAX_CONCURRENT))
print(string.format("Peak concurrency observed: %d", peak:load()))
print("Results: [" .. table.concat(got, " ") .. "]")
