-- select4: chan.select over 4 receive cases. Four producers each send N/4
-- integers on their own cap-64 channel; main runs N selects, each receiving
-- from whichever channel is ready. The case table is built once and reused,
-- so the figure is the runtime's select, not Lua's table allocation.
-- Prints "select4: X ns/op".
-- Usage: chanlab run select4.lua [N]      (default 1e6)
local N = math.tointeger(tonumber(arg and arg[1] or ...)) or 1000000
local per = N // 4
N = per * 4

local cs = {}
for i = 1, 4 do cs[i] = chan(64) end
local sum = 0
local function add(v, ok) sum = sum + v end
local cases = {}
for i = 1, 4 do cases[i] = { recv = cs[i], add } end

local t0 = time.now()
for i = 1, 4 do
  go(function(c, n) for _ = 1, n do c:send(1) end end, cs[i], per)
end
for _ = 1, N do chan.select(cases) end
local el = time.now() - t0
if sum ~= N then
  print("select4: failed (bad sum " .. sum .. ")")
  os.exit(1)
end
print(string.format("select4: %.1f ns/op", el * 1e9 / N))
