-- args: --sandbox --mem-limit 64M
-- expect: fatal error: program exceeded its memory limit (64 MiB)
-- expect: string_rep.lua:5:
-- bound: rss 64M
local s = string.rep("x", 1e9)
