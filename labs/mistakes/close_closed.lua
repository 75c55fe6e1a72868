-- Mistake: closing a channel twice panics.
-- It happens when two workers both "helpfully" close a shared results
-- channel.  Fix: exactly one owner closes it, typically a goroutine that
-- first waits for every sender (wg:wait()).
local ch = chan()
ch:close()
ch:close()         -- panic: close of closed channel
