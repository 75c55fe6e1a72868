-- args: --sandbox --goroutine-mem 16M
-- expect: fatal error: goroutine 1 exceeded its memory limit (16 MiB)
-- expect: table_grow.lua:6:
-- bound: rss 16M
local t = {}
for i = 1, 1e9 do t[i] = ("x"):rep(100) .. i end
