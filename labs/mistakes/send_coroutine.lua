-- Mistake (Lua): sending a value that cannot cross into another goroutine's Lua state.
-- A channel copies what it carries into the receiver's own state: numbers,
-- strings, tables and Lua functions copy; chanlab handles are shared.  A
-- coroutine is a running Lua thread tied to its state and cannot be
-- copied, so the send raises - uncaught, a panic that names where in the
-- value the coroutine sat.
-- Fix: send the data (here, the id) and let the receiver make its own
-- coroutine.
local jobs = chan(1)
local job = { id = 1, steps = coroutine.create(function() coroutine.yield(1) end) }
jobs:send(job)     -- panic: cannot send thread (at value.steps)
