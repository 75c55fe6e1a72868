-- Pub/sub: a broker fans each message out to its subscribers; unsubscribe closes a feed.
--
-- The broker goroutine owns the subscriber list (a plain table that only
-- it sees) and serves three channels with one select: subscribe,
-- unsubscribe, publish.  Requests are handled one at a time, in order, so
-- bob, who leaves after message 2, gets exactly messages 1 and 2.
local subscribe, unsubscribe, publish = chan(), chan(), chan()

go(function()                                   -- the broker
  local subs = {}                               -- name -> channel
  local open = true
  while open do
    chan.select {
      { recv = subscribe, function(s) subs[s.name] = s.feed end },
      { recv = unsubscribe, function(name)
          subs[name]:close()                    -- ends that subscriber's loop
          subs[name] = nil
        end },
      { recv = publish, function(msg, ok)
          if not ok then open = false return end    -- publisher is done
          for _, feed in pairs(subs) do feed:send(msg) end
        end },
    }
  end
  for _, feed in pairs(subs) do feed:close() end
end)

-- A subscriber collects what it receives and reports when its feed closes.
local reports = chan(3)
local function subscriber(name)
  local feed = chan(8)                          -- a buffer: a slow reader
  subscribe:send({ name = name, feed = feed })  -- does not stall the broker
  go(function()
    local got = {}
    for msg in feed:range() do got[#got + 1] = msg end
    reports:send(string.format("%-5s got %d: %s", name, #got, table.concat(got, ", ")))
  end)
end

for _, name in ipairs({ "alice", "bob", "carol" }) do subscriber(name) end
publish:send("msg 1")
publish:send("msg 2")
unsubscribe:send("bob")
publish:send("msg 3")
publish:close()

local lines = {}
for i = 1, 3 do lines[i] = reports:recv() end
table.sort(lines)
for _, line in ipairs(lines) do print(line) end
