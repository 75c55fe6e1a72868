-- Step 7, explore it: the racy counter of step 7, small enough to see
-- every schedule.  Two goroutines each add 1 with load-then-store.
--
--   chanlab run labs/explore/racy_counter.lua          one run: usually 2
--   chanlab run --seed 3 labs/explore/racy_counter.lua one schedule, the same every time
--   chanlab explore labs/explore/racy_counter.lua      every outcome, with its seed
--   chanlab explore --strategy dfs labs/explore/racy_counter.lua
--                                                      every schedule, counted
--
-- A deterministic run stops after each visible operation (here: go,
-- load, store, wg:go, wg:wait) and a seeded strategy picks who runs next;
-- explore runs many seeds and groups the runs by what they printed.
local n = atomic.int(0)
local wg = sync.waitgroup()
for _ = 1, 2 do
  wg:go(function()
    local v = n:load()        -- both may read 0 here...
    n:store(v + 1)            -- ...and both write 1: one update lost
  end)
end
wg:wait()
print("counter = " .. n:load())
