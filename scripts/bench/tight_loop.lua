-- tight_loop: a tight integer loop with no calls, run in a goroutine, so
-- that the cost of the preemption hook (a Lua count hook) shows:
-- run.sh runs it with the runtime's defaults and with CHANLAB_PREEMPT=0 and
-- reports the difference as preempt_cost. Under a stock lua5.4 (no `go`
-- global) it runs the same loop plainly, as a hook-free reference.
-- Prints "tight_loop: X ns/iter".
-- Usage: chanlab run tight_loop.lua [N]   (default 1e8)
--        lua5.4 tight_loop.lua [N]
local N = math.tointeger(tonumber(arg and arg[1] or ...)) or 100000000

local function loop(out, n)
  local s = 0
  for i = 1, n do s = s + (i & 7) end
  if out then out:send(s) end
  return s
end

local el
if go then
  local out = chan(1)
  local t0 = time.now()
  go(loop, out, N)
  out:recv()
  el = time.now() - t0
else
  local t0 = os.clock()
  loop(nil, N)
  el = os.clock() - t0
end
print(string.format("tight_loop: %.3f ns/iter", el * 1e9 / N))
