-- Buffers within the cap, but many: the memory limit counts them.
-- args: --sandbox --mem-limit 64M
-- expect: fatal error: program exceeded its memory limit (64 MiB)
-- expect: many_buffers.lua:7:
-- bound: rss 64M
local keep = {}
for i = 1, 1000 do keep[i] = chan(1e6) end
