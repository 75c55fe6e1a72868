-- A forged binary chunk: the header of Lua 5.4's, then garbage.
-- args: --sandbox
-- expect: panic: 
-- expect: attempt to load a binary chunk (mode is 't')
local forged = "\27Lua\x54\0\x19\x93\r\n\x1a\n\4\8\8" .. ("\255"):rep(64)
local parts = { forged }
assert(load(function() return table.remove(parts) end))
