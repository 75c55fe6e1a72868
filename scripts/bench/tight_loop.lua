-- tight_loop: a tight integer loop with no calls, run in a goroutine, so
-- that the cost of the preemption hook (a Lua count hook) shows:
-- run.sh runs it with the runtime's defaults and with CHANLAB_PREEMPT=0 and
-- reports the difference as preempt_cost. Under a stock lua5.4 (no `go`
-- global) it runs the same loop plainly in the main thread, as a reference
-- with no hook and no scheduler.
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
  -- Wall time like the goroutine's figure: chanlab's clock through the
  -- module when LUA_CPATH finds it (run.sh sets it), else CPU time.
  local ok, cl = pcall(require, "chanlab")
  local now = ok and cl.time.now or os.clock
  local t0 = now()
  loop(nil, N)
  el = now() - t0
end
print(string.format("tight_loop: %.3f ns/iter", el * 1e9 / N))
