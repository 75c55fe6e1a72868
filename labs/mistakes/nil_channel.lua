-- Mistake: a channel that was never made is nil, and a nil channel never fires.
-- In chanlab a select case whose channel is nil is disabled (handy for
-- switching a case off), so a select left with no live case blocks
-- forever.  Both goroutines below wait for good: a deadlock, exit 2.
-- Fix: local ch = chan().
local ch           -- MISTAKE: never made, so nil
go(function()
  chan.select { { send = ch, value = 1 } }
end)
print(chan.select { { recv = ch } })
