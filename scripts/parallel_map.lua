-- Parallel map: CPU-heavy work spread over N goroutines; prints the speedup over one.
--
-- Goroutines are separate Lua states with no global lock, so pure Lua
-- work really runs on all cores at once: the speedup approaches the
-- number of worker threads (runtime.procs(), default: the CPUs).
--   chanlab run scripts/parallel_map.lua [GOROUTINES]     (default: procs)
local WORKERS = tonumber((...)) or runtime.procs()

-- Deliberately slow: the sum of the divisors of n, by trial division.
local function sigma(n)
  local s = 0
  for d = 1, n do
    if n % d == 0 then s = s + d end
  end
  return s
end

-- map(f, xs, workers): a small worker pool; f is copied into each worker.
local function map(f, xs, workers)
  local jobs, results = chan(#xs), chan(#xs)
  for i, x in ipairs(xs) do jobs:send({ i, x }) end
  jobs:close()
  for _ = 1, workers do
    go(function()
      for job in jobs:range() do results:send({ job[1], f(job[2]) }) end
    end)
  end
  local out = {}
  for _ = 1, #xs do
    local r = results:recv()
    out[r[1]] = r[2]
  end
  return out
end

local xs = {}
for i = 1, 200 do xs[i] = 100000 + i end

local t0 = time.now()
local one = map(sigma, xs, 1)
local t1 = time.since(t0)
t0 = time.now()
local many = map(sigma, xs, WORKERS)
local tn = time.since(t0)

for i = 1, #xs do assert(one[i] == many[i], "results differ at " .. i) end
print(string.format("1 goroutine:  %.3f s", t1))
print(string.format("%d goroutines: %.3f s", WORKERS, tn))
print(string.format("speedup: %.2fx on %d procs", t1 / tn, runtime.procs()))
