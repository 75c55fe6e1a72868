-- Mistake: the producer never closes the channel, so `range` waits forever for a 4th value.
-- Once the producer has finished, every goroutine left (just the main
-- script) is blocked, nothing can ever wake it, and the runtime stops the
-- program: "all goroutines are asleep - deadlock!", exit status 2.
-- Fix: ch:close() at the end of the producer.
local ch = chan()
go(function()
  for i = 1, 3 do ch:send(i) end
  -- MISTAKE: missing ch:close()
end)
for v in ch:range() do
  print("got " .. v)
end
print("never printed")
