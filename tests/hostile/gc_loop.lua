-- A __gc metamethod that loops: Lua runs no hook inside it.
-- args: --sandbox --cpu-limit 1
-- expect: fatal error: program exceeded its CPU limit (1 s)
-- expect: goroutine 1 [running]:
-- bound: cpu 1
setmetatable({}, { __gc = function() while true do end end })
local t = {}
for i = 1, 1e8 do t[i % 100] = {} end
