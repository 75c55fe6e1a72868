-- One goroutine of many grows past its own limit.
-- args: --sandbox --goroutine-mem 8M
-- expect: exceeded its memory limit (8 MiB)
-- expect: created by go() at
-- expect: goroutine_mem.lua:10:
local wg = sync.waitgroup()
for _ = 1, 10 do wg:go(function() time.sleep(0.01) end) end
wg:go(function()
  local t = {}
  for i = 1, 1e9 do t[i] = i end
end)
wg:wait()
