-- Step 2: Pipeline - stages joined by channels: generate -> square -> add 10.
--
-- Why: each stage does one thing and runs at the same time as the others;
-- a value can be squared while the next one is still being generated.
-- Every stage owns its output channel and closes it when its input runs
-- dry, so the end of the stream ripples down the pipe by itself.

-- stage(input, f): start a goroutine that sends f(v) for every v received.
-- `f` is a Lua function: it is copied into the goroutine's own state
-- (as bytecode) together with `input` and `out`, which are shared handles.
local function stage(input, f)
  local out = chan()
  go(function()
    for v in input:range() do out:send(f(v)) end
    out:close()                 -- tell the next stage: no more values
  end)
  return out
end

local function generate(...)
  local nums = { ... }          -- a table is copied into the goroutine
  local out = chan()
  go(function()
    for _, n in ipairs(nums) do out:send(n) end
    out:close()
  end)
  return out
end

local function square(input) return stage(input, function(n) return n * n end) end
local function add_ten(input) return stage(input, function(n) return n + 10 end) end

-- Stages compose like function calls.  The unbuffered channels make each
-- stage wait for the next one: a slow consumer slows the producer down
-- (back-pressure) instead of letting values pile up.
local out = add_ten(square(generate(1, 2, 3, 4, 5)))
for v in out:range() do
  print(v)                      -- 1*1+10, 2*2+10, ... in order
end
