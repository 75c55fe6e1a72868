-- table_msg: throughput of a message that is a table of 1,000 integers,
-- through a cap-64 channel. The sender builds the table once and sends it N
-- times; every send deep-copies it (values are copied at the moment of
-- sending) and the receiver gets its own table, of which it reads t[1000].
-- (The Go side allocates a fresh []int of 1,000 per message and copies into
-- it, the nearest equivalent.) Prints "table_msg: X msg/s".
-- Then, on one goroutine, what bounds the figure: "table_send" (the copy
-- a send makes, into a channel with room) and "table_recv" (building the
-- receiver's table), each per message; the pipeline above overlaps them
-- on two cores, so it cannot beat 1 / max(send, recv).
-- Usage: chanlab run table_msg.lua [N]    (N messages, default 20,000)
local N = math.tointeger(tonumber(arg and arg[1] or ...)) or 20000

local ch = chan(64)
local t0 = time.now()
go(function(ch, n)
  local t = {}
  for i = 1, 1000 do t[i] = i end
  for _ = 1, n do ch:send(t) end
  ch:close()
end, ch, N)
local sum = 0
for t in ch:range() do sum = sum + t[1000] end
local el = time.now() - t0
if sum ~= N * 1000 then
  print("table_msg: failed (bad sum " .. sum .. ")")
  os.exit(1)
end
print(string.format("table_msg: %.0f msg/s", N / el))

local M = 2000
local t = {}
for i = 1, 1000 do t[i] = i end
local c = chan(M)
local t1 = time.now()
for _ = 1, M do c:send(t) end
local t2 = time.now()
for _ = 1, M do sum = sum + c:recv()[1000] end
local t3 = time.now()
print(string.format("table_send: %.2f us/msg", (t2 - t1) * 1e6 / M))
print(string.format("table_recv: %.2f us/msg", (t3 - t2) * 1e6 / M))
