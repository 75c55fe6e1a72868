-- workerpool: 8 workers read jobs (integers) from a cap-100 jobs channel and
-- send job*2 on a cap-100 results channel; a feeder goroutine sends N jobs,
-- main collects N results. Prints "workerpool: X ns/job".
-- Usage: chanlab run workerpool.lua [N]   (default 1e6)
local N = math.tointeger(tonumber(arg and arg[1] or ...)) or 1000000

local jobs, results = chan(100), chan(100)
local t0 = time.now()
for _ = 1, 8 do
  go(function(jobs, results)
    for j in jobs:range() do results:send(j * 2) end
  end, jobs, results)
end
go(function(jobs, n)
  for i = 1, n do jobs:send(i) end
  jobs:close()
end, jobs, N)
local sum = 0
for _ = 1, N do sum = sum + results:recv() end
local el = time.now() - t0
if sum ~= N * (N + 1) then
  print("workerpool: failed (bad sum " .. sum .. ")")
  os.exit(1)
end
print(string.format("workerpool: %.1f ns/job", el * 1e9 / N))
