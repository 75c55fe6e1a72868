-- args: --sandbox --goroutine-mem 32M
-- expect: fatal error: goroutine 1 exceeded its memory limit (32 MiB)
-- bound: rss 32M
local cos = {}
for i = 1, 1e9 do
  cos[i] = coroutine.create(function() coroutine.yield() end)
  coroutine.resume(cos[i])
end
