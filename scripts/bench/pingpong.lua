-- pingpong: unbuffered ping-pong round trip between two goroutines.
-- One round trip = main sends on `ping`, the partner receives and sends the
-- value back on `pong`, main receives it. Prints "pingpong: X ns/roundtrip".
-- Usage: chanlab run pingpong.lua [N]     (N round trips, default 1e6)
local N = math.tointeger(tonumber(arg and arg[1] or ...)) or 1000000

local ping, pong = chan(), chan()
go(function(ping, pong)
  for v in ping:range() do pong:send(v) end
end, ping, pong)

-- Warm up: the partner is running before the clock starts.
ping:send(0); pong:recv()

local t0 = time.now()
for i = 1, N do
  ping:send(i)
  pong:recv()
end
local el = time.now() - t0
ping:close()
print(string.format("pingpong: %.1f ns/roundtrip", el * 1e9 / N))
