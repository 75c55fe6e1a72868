-- buffered: one-way throughput of integers through a cap-1024 channel, one
-- sender goroutine, the main goroutine receiving. Prints "buffered: X Mmsg/s".
-- Usage: chanlab run buffered.lua [N]     (N messages, default 1e7)
local N = math.tointeger(tonumber(arg and arg[1] or ...)) or 10000000

local ch = chan(1024)
local t0 = time.now()
go(function(ch, n)
  for i = 0, n - 1 do ch:send(i) end
  ch:close()
end, ch, N)
local sum = 0
for v in ch:range() do sum = sum + v end
local el = time.now() - t0
if sum ~= N * (N - 1) // 2 then
  print("buffered: failed (bad sum " .. sum .. ")")
  os.exit(1)
end
print(string.format("buffered: %.2f Mmsg/s", N / el / 1e6))
