-- Rate limiter: a ticker paces requests; a token bucket allows short bursts.
--
-- Part 1: every request waits for the next tick, so at most one request
-- goes out per 50 ms however fast they arrive.
-- Part 2: a buffered channel holds up to 3 tokens, refilled one per tick:
-- the first 3 requests go at once (a burst), the rest at the tick rate.
local INTERVAL = 50 * time.ms

local start = time.now()
local function stamp() return string.format("%4.0f ms", time.since(start) * 1000) end

print("steady: one request per tick")
local ticker = time.ticker(INTERVAL)
for i = 1, 5 do
  ticker.c:recv()                      -- wait for our turn
  print("  request " .. i .. " at " .. stamp())
end
ticker:stop()

print("bursty: 3 at once, then one per tick")
local tokens = chan(3)
for _ = 1, 3 do tokens:send(true) end  -- start with a full bucket
local refill = time.ticker(INTERVAL)
go(function()
  for _ in refill.c:range() do
    tokens:trysend(true)               -- a full bucket drops the token
  end
end)
start = time.now()
for i = 1, 6 do
  tokens:recv()                        -- take a token (wait if none)
  print("  request " .. i .. " at " .. stamp())
end
refill:stop()
