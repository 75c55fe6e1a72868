-- Step 6: Fan-out / fan-in - several workers share one input; one channel gathers their outputs.
--
-- Why: one slow stage of a pipeline can be run by several goroutines at
-- once (fan-out: they all receive from the same channel, each value goes
-- to exactly one of them), and their separate outputs merged back into a
-- single stream (fan-in).  Together: scatter-gather.

local function generate(n)
  local out = chan()
  go(function()
    for i = 1, n do out:send(i) end
    out:close()
  end)
  return out
end

-- One fan-out worker: it competes with the others for values of `input`.
local function square(input)
  local out = chan()
  go(function()
    for n in input:range() do out:send(n * n) end
    out:close()
  end)
  return out
end

-- merge(...) fans in: one forwarding goroutine per input channel; `out` is
-- closed once all of them are done, by a goroutine that waits for that.
local function merge(...)
  local inputs = { ... }
  local out = chan()
  local wg = sync.waitgroup()
  wg:add(#inputs)
  for _, c in ipairs(inputs) do
    go(function()
      for v in c:range() do out:send(v) end
      wg:done()
    end)
  end
  go(function()
    wg:wait()
    out:close()
  end)
  return out
end

local input = generate(10)
local workers = {}
for i = 1, 3 do workers[i] = square(input) end     -- fan-out

local results = {}
for v in merge(table.unpack(workers)):range() do   -- fan-in
  results[#results + 1] = v
end
-- Which worker got which value, and the order they arrive in, changes from
-- run to run: sort before printing.
table.sort(results)

local sum = 0
for _, v in ipairs(results) do sum = sum + v end
print(string.format("Fan-out to %d workers, fan-in of %d results", #workers, #results))
print("Results (sorted): [" .. table.concat(results, " ") .. "]")
print("Sum: " .. sum)
-- The tip: fan-out splits one stream across workers to go faster; fan-in
-- joins many streams into one so a single reader can consume them.
