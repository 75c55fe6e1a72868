-- args: --sandbox --mem-limit 64M
-- expect: fatal error: program exceeded its memory limit (64 MiB)
-- bound: rss 64M
local t = {}
for i = 1, 1e5 do t[i] = ("y"):rep(1000) end
local s = table.concat(t)
