-- Mistake: sending on a channel after it was closed panics.
-- Here the receiver closes the channel while someone may still send.
-- Fix: only the sender closes, and only after its last send.
local ch = chan(1)
ch:send(1)
print("got " .. ch:recv())
ch:close()         -- MISTAKE: closed while a sender may still send
ch:send(2)         -- panic: send on closed channel
