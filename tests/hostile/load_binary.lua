-- A binary chunk (here a real one; a forged one could crash Lua) is refused.
-- args: --sandbox
-- expect: panic: 
-- expect: attempt to load a binary chunk (mode is 't')
local chunk = string.dump(function() return 1 end)
assert(load(chunk, "x", "b"))
