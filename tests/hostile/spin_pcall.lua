-- A loop that catches every error cannot catch the end.
-- args: --sandbox --cpu-limit 1
-- expect: fatal error: program exceeded its CPU limit (1 s)
-- expect: spin_pcall.lua:9:
-- bound: cpu 1
local n = 0
while true do
  pcall(function()
    while true do n = n + 1 end
  end)
end
