-- pcall inside pcall inside xpcall, with a handler that loops again.
-- args: --sandbox --cpu-limit 1
-- expect: fatal error: program exceeded its CPU limit (1 s)
-- bound: cpu 1
local function spin() while true do end end
while true do
  xpcall(function() pcall(pcall, spin) end, function() spin() end)
end
