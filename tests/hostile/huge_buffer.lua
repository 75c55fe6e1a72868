-- args: --sandbox
-- expect: fatal error: chan(1000000000) exceeds the channel buffer limit (1048576)
-- expect: huge_buffer.lua:4:
local c = chan(1e9)
