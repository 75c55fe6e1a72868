-- Asleep with a timer pending: not a deadlock, so only the wall limit ends it.
-- args: --sandbox --timeout 1
-- expect: fatal error: program exceeded its time limit (1 s)
-- bound: wall 1
local tick = time.ticker(0.01)
while true do tick.c:recv() end
