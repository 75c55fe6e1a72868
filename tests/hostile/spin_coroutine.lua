-- The loop runs inside a coroutine the script made.
-- args: --sandbox --cpu-limit 1
-- expect: fatal error: program exceeded its CPU limit (1 s)
-- expect: spin_coroutine.lua:8:
-- bound: cpu 1
local co = coroutine.wrap(function()
  while true do
    pcall(function() while true do end end)
  end
end)
co()
