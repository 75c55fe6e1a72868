-- Many goroutines, each spinning inside pcall.
-- args: --sandbox --cpu-limit 1
-- expect: fatal error: program exceeded its CPU limit (1 s)
-- expect: [running]:
-- bound: cpu 1
for _ = 1, 100 do
  go(function() while true do pcall(function() while true do end end) end end)
end
chan():recv()
