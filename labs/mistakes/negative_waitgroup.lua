-- Mistake: calling wg:done() more often than wg:add() panics.
-- Fix: one wg:add(1) per goroutine, before go(), and one wg:done() at the
-- end of that goroutine.
local wg = sync.waitgroup()
wg:add(1)
wg:done()
wg:done()          -- panic: sync: negative WaitGroup counter
