-- A thousand goroutines, each filling a table: the program's limit.
-- args: --sandbox --mem-limit 128M
-- expect: fatal error: program exceeded its memory limit (128 MiB)
-- expect: created by go() at
-- bound: rss 128M
for _ = 1, 1000 do
  go(function()
    local t = {}
    for j = 1, 1e7 do t[j] = j end
    time.sleep(100)
  end)
end
time.sleep(100)
