-- Bank: concurrent transfers between accounts; without a mutex the total drifts.
--
-- Balances live in atomic.int handles, shared by every goroutine.  A
-- transfer is four steps (load, store, load, store); each step is atomic,
-- the transfer is not.  Two tellers moving money at once can overwrite
-- each other's stores: money appears or vanishes.  A mutex around the
-- whole transfer makes it one indivisible step again.  A third way, the
-- Go proverb "share memory by communicating": one goroutine owns the
-- balances (a plain Lua table, which only it can see) and tellers send it
-- transfer requests.
--   chanlab run scripts/bank.lua [TRANSFERS_PER_TELLER]
local ACCOUNTS, TELLERS, START = 5, 4, 1000
local TRANSFERS = tonumber((...)) or 20000

local function open_accounts()
  local accts = {}
  for i = 1, ACCOUNTS do accts[i] = atomic.int(START) end
  return accts
end

local function total(accts)
  local t = 0
  for _, a in ipairs(accts) do t = t + a:load() end
  return t
end

-- Each teller moves 1..10 from one account to another, TRANSFERS times.
-- mu == nil: no locking (the mistake).
local function run_tellers(accts, mu)
  local wg = sync.waitgroup()
  for t = 1, TELLERS do
    wg:add(1)
    go(function()
      math.randomseed(t)
      for _ = 1, TRANSFERS do
        local from, to = math.random(ACCOUNTS), math.random(ACCOUNTS)
        local amount = math.random(10)
        if mu then mu:lock() end
        accts[from]:store(accts[from]:load() - amount)
        accts[to]:store(accts[to]:load() + amount)
        if mu then mu:unlock() end
      end
      wg:done()
    end)
  end
  wg:wait()
end

local expected = ACCOUNTS * START
local racy = open_accounts()
run_tellers(racy)
print(string.format("no mutex:   total = %d (expected %d, drift %+d)",
  total(racy), expected, total(racy) - expected))

local safe = open_accounts()
run_tellers(safe, sync.mutex())
print(string.format("with mutex: total = %d (expected %d)", total(safe), expected))

-- The owner goroutine: requests in, one at a time, so no locking at all.
local requests, reply = chan(64), chan()
go(function()
  local balances = {}
  for i = 1, ACCOUNTS do balances[i] = START end
  for r in requests:range() do
    balances[r[1]] = balances[r[1]] - r[3]
    balances[r[2]] = balances[r[2]] + r[3]
  end
  local t = 0
  for _, b in ipairs(balances) do t = t + b end
  reply:send(t)
end)
local wg = sync.waitgroup()
for t = 1, TELLERS do
  wg:add(1)
  go(function()
    math.randomseed(t)
    for _ = 1, TRANSFERS do
      requests:send({ math.random(ACCOUNTS), math.random(ACCOUNTS), math.random(10) })
    end
    wg:done()
  end)
end
wg:wait()
requests:close()
print(string.format("owner goroutine: total = %d (expected %d)", reply:recv(), expected))
