-- parallel: parallel efficiency of CPU-bound pure-Lua work. W = an LCG loop
-- of ITER steps. T1 = time for one goroutine to do W; T2 = time for two
-- goroutines doing W each (2W in all) at the same time.
-- efficiency = T1 / T2: 1.0 = perfect scaling on 2 cores, 0.5 = none
-- (as with a global interpreter lock). T1 and T2 are each the best of 3
-- alternated rounds, so a moment of load from elsewhere on the machine
-- does not decide the figure. Prints "parallel_efficiency: X".
-- Usage: chanlab run parallel.lua [ITER]  (default 10,000,000)
local ITER = math.tointeger(tonumber(arg and arg[1] or ...)) or 10000000

local function worker(out, iter, seed)
  local x = seed
  for _ = 1, iter do
    x = (x * 1103515245 + 12345) % 2147483648
  end
  out:send(x)
end

local function run(k)
  local out = chan(k)
  local t0 = time.now()
  for g = 1, k do go(worker, out, ITER, g) end
  for _ = 1, k do out:recv() end
  return time.now() - t0
end

local t1, t2 = math.huge, math.huge
for _ = 1, 3 do
  t1 = math.min(t1, run(1))
  t2 = math.min(t2, run(2))
end
print(string.format("parallel_efficiency: %.3f", t1 / t2))
