-- mutex: a contended sync.mutex. 8 goroutines each lock and unlock it N/8
-- times, counting inside the critical section (goroutines share no Lua
-- variables, so each counts its own and sends the count back).
-- Prints "mutex: X ns/op" (total time / N lock-unlock pairs), then two
-- floors measured on one goroutine, no contention: "mutex_uncontended"
-- (a lock/unlock pair) and "method_call" (a bare method call on a handle,
-- ch:cap(): what any call from Lua into the runtime costs at least).
-- Usage: chanlab run mutex.lua [N]        (default 1e6)
local N = math.tointeger(tonumber(arg and arg[1] or ...)) or 1000000
local G = 8
local per = N // G
N = per * G

local mu = sync.mutex()
local out = chan(G)
local t0 = time.now()
for _ = 1, G do
  go(function(mu, out, n)
    local c = 0
    for _ = 1, n do
      mu:lock()
      c = c + 1
      mu:unlock()
    end
    out:send(c)
  end, mu, out, per)
end
local total = 0
for _ = 1, G do total = total + out:recv() end
local el = time.now() - t0
if total ~= N then
  print("mutex: failed (bad count " .. total .. ")")
  os.exit(1)
end
print(string.format("mutex: %.1f ns/op", el * 1e9 / N))

local M = 2000000
local t1 = time.now()
for _ = 1, M do mu:lock(); mu:unlock() end
print(string.format("mutex_uncontended: %.1f ns/op", (time.now() - t1) * 1e9 / M))
local c = chan(1)
t1 = time.now()
for _ = 1, M do c:cap() end
print(string.format("method_call: %.1f ns/call", (time.now() - t1) * 1e9 / M))
