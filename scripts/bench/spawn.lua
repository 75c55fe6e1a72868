-- spawn: cost of starting and finishing a goroutine (its own Lua state).
-- N goroutines each call wg:done() and return; main waits for all.
-- Prints "spawn: X us/goroutine" (total time / N).
-- Usage: chanlab run spawn.lua [N]        (default 100,000)
local N = math.tointeger(tonumber(arg and arg[1] or ...)) or 100000

local wg = sync.waitgroup()
local function body(wg, x) wg:done() end
local t0 = time.now()
wg:add(N)
for i = 1, N do go(body, wg, i) end
wg:wait()
local el = time.now() - t0
print(string.format("spawn: %.3f us/goroutine", el * 1e6 / N))
