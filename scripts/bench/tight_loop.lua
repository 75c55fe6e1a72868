-- tight_loop: a tight integer loop with no calls, run in a goroutine, so
-- that the cost of the preemption hook (a Lua count hook) shows:
-- run.sh runs it with the runtime's defaults and with CHANLAB_PREEMPT=0 and
-- reports the difference as preempt_cost. Under a stock lua5.4 (no `go`
-- global) it runs the same loop plainly in the main thread, as a reference
-- with no hook and no scheduler. The figure is the best of 3 rounds, so a
-- moment of load from elsewhere on the machine does not decide it.
-- Prints "tight_loop: X ns/iter".
-- Usage: chanlab run tight_loop.lua [N]   (N iterations a round, default 5e7)
--        lua5.4 tight_loop.lua [N]
local N = math.tointeger(tonumber(arg and arg[1] or ...)) or 50000000

-- Returns the best time of 3 rounds, measured with `now`.
local function rounds(n, now)
  local best = math.huge
  for _ = 1, 3 do
    local t0 = now()
    local s = 0
    for i = 1, n do s = s + (i & 7) end
    local el = now() - t0
    if s < 0 then error("unreachable") end
    if el < best then best = el end
  end
  return best
end

local el
if go then
  local out = chan(1)
  go(function(out, n, rounds)
    out:send(rounds(n, time.now))
  end, out, N, rounds)
  el = out:recv()
else
  -- Wall time like the goroutine's figure: chanlab's clock through the
  -- module when LUA_CPATH finds it (run.sh sets it), else CPU time.
  local ok, cl = pcall(require, "chanlab")
  el = rounds(N, ok and cl.time.now or os.clock)
end
print(string.format("tight_loop: %.3f ns/iter", el * 1e9 / N))
