-- Step 4: errgroup - run calls in parallel, wait for all, keep the first error.
--
-- Why: "fetch these five things at once; if any fails, tell me which, and
-- stop wasting time on the rest".  g:go(fn) starts fn in a goroutine;
-- g:wait() waits for all of them and returns the first failure (or nil).
-- A function fails by returning a non-nil first value (or by raising).

-- fetch simulates a network call that takes d seconds, fails if `fail`,
-- and gives up early when ctx is cancelled.  Lua style: value or nil, err.
local function fetch(ctx, name, d, fail)
  return chan.select {
    { recv = time.after(d), function()
        if fail then return nil, "fetch " .. name .. ": connection refused" end
        return "data from " .. name
      end },
    { recv = ctx:done(), function()
        return nil, ctx:err()         -- someone else failed: bail out
      end },
  }
end

-- Part A: errgroup.new() - all succeed, wait() returns nil.  The pages come
-- back over a channel: a goroutine writing into a table of ours would only
-- write into its own copy of it.
local g = errgroup.new()
local names = { "users", "orders", "invoices" }
local pages = chan(#names)
for i, name in ipairs(names) do
  g:go(function()
    local page, err = fetch(context.background(), name, 10 * time.ms, false)
    pages:send({ i, page })
    return err                         -- nil: success
  end)
end
local err = g:wait()
if err ~= nil then print("unexpected error:", err) end
local got = {}
for _ = 1, #names do
  local p = pages:recv()
  got[p[1]] = p[2]
end
print("Part A: all fetches succeeded:")
for _, p in ipairs(got) do print("  " .. p) end

-- Part B: errgroup.with_context - the tip: the group's context is
-- cancelled the moment one function fails, so the others, if they watch
-- ctx:done() as fetch does, can stop at once instead of finishing work
-- whose result nobody will use.
local tasks = {
  { "svc-1", 10 * time.ms, false },
  { "svc-2", 20 * time.ms, false },
  { "svc-3", 50 * time.ms, true },     -- fails first
  { "svc-4", 500 * time.ms, false },
  { "svc-5", 500 * time.ms, true },    -- would fail too, but is cancelled
}
local g2, ctx = errgroup.with_context(context.background())
local statuses = chan(#tasks)
for i, t in ipairs(tasks) do
  g2:go(function()
    local _, ferr = fetch(ctx, t[1], t[2], t[3])
    local status
    if ferr == nil then
      status = "ok"
    elseif ferr == context.canceled then
      status = "cancelled"
    else
      status = "failed: " .. ferr
    end
    statuses:send({ i, status })
    return ferr
  end)
end
err = g2:wait()                        -- waits for ALL, returns the FIRST error

local status = {}
for _ = 1, #tasks do
  local s = statuses:recv()
  status[s[1]] = s[2]
end
print("Part B: errgroup.WithContext")         -- Go's name, as in the Go output
for i, t in ipairs(tasks) do print(string.format("  %s: %s", t[1], status[i])) end
print("  Wait() returned: " .. tostring(err))
-- The tip: wait() cancels the group's context even when all went well,
-- so ctx cannot be reused after it.
print("  ctx.Err() after Wait: " .. tostring(ctx:err()))
