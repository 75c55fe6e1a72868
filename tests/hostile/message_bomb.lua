-- Messages waiting in a channel's buffer count too.
-- args: --sandbox --mem-limit 64M
-- expect: fatal error: program exceeded its memory limit (64 MiB)
-- expect: message_bomb.lua:8:
-- bound: rss 64M
local s = ("x"):rep(1e5)
local c = chan(1e6)
for _ = 1, 1e6 do c:send(s) end
