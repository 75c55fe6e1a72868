-- Ping-pong: two goroutines hand one value back and forth; measures a round trip.
--
-- Each hand-off over an unbuffered channel parks one goroutine and wakes
-- the other, so this is the cost of the scheduler's switch plus copying a
-- value between two Lua states.  The scheduler runs a woken goroutine next
-- on the waker's own worker, so the ball usually stays on one core.
--   chanlab run scripts/ping_pong.lua [ROUND_TRIPS]
local N = tonumber((...)) or 100000

local ping, pong = chan(), chan()
go(function()
  for ball in ping:range() do pong:send(ball + 1) end
end)

local start = time.now()
local ball = 0
for _ = 1, N do
  ping:send(ball)
  ball = pong:recv()
end
local elapsed = time.since(start)
ping:close()

assert(ball == N, "lost a hit")
print(string.format("%d round trips in %.3f s: %.2f us per round trip",
  N, elapsed, elapsed / N * 1e6))
