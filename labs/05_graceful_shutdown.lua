-- Step 5: Graceful shutdown - on Ctrl-C, stop taking work, let workers finish, exit 0.
--
-- Why: a server killed mid-write loses data.  Instead, turn SIGINT/SIGTERM
-- into a cancelled context; every worker watches ctx:done(), finishes what
-- it is doing, cleans up and reports; main waits for them (with a time
-- limit), then exits normally.
--
-- Run:  chanlab run labs/05_graceful_shutdown.lua            (stops itself)
--       chanlab run labs/05_graceful_shutdown.lua -after=0   (waits for Ctrl-C)
-- By default the program raises SIGINT at itself after 0.2 s, so it can run
-- unattended; -after=SECONDS changes the delay, 0 waits for a real signal.
local after = 0.2
for _, a in ipairs({ ... }) do
  local v = a:match("^%-%-?after=(.*)$")
  if v then after = assert(tonumber(v), "-after wants seconds, e.g. -after=0.5") end
end

local NUM_WORKERS = 3

local function worker(ctx, id, wg, reports)
  local ticker = time.ticker(50 * time.ms)
  repeat
    -- Either one unit of periodic work (a tick) or the shutdown request.
    local which = chan.select { { recv = ticker.c }, { recv = ctx:done() } }
  until which == 2
  ticker:stop()
  time.sleep(10 * time.ms)             -- finish in-flight work, clean up
  reports:send({ id, string.format("worker %d: stopped cleanly (%s)", id, ctx:err()) })
  wg:done()
end

-- ctx is cancelled when SIGINT or SIGTERM arrives.
local ctx, stop = signal.notify_context(context.background(), "INT", "TERM")

local wg = sync.waitgroup()
local reports = chan(NUM_WORKERS)
for id = 1, NUM_WORKERS do
  wg:add(1)
  go(worker, ctx, id, wg, reports)
end
print(string.format("server: %d workers running (Ctrl-C to stop)", NUM_WORKERS))

if after > 0 then
  go(function()
    time.sleep(after)
    signal.raise("INT")                -- as if someone pressed Ctrl-C
  end)
end

ctx:done():recv()
-- The tip: stop() right away gives the signal back its default action, so
-- a second Ctrl-C during a slow shutdown kills the program at once.
stop()
print("server: signal received, shutting down...")

-- Wait for the workers, but not forever: a stuck worker must not keep the
-- process alive past a deadline.
local done = chan()
go(function()
  wg:wait()
  done:close()
end)
chan.select {
  { recv = done, function()
      local lines = {}
      for _ = 1, NUM_WORKERS do
        local r = reports:recv()
        lines[r[1]] = r[2]
      end
      for _, line in ipairs(lines) do print(line) end
      print("server: all workers stopped, exiting")
    end },
  { recv = time.after(2 * time.second), function()
      print("server: shutdown timed out, forcing exit")
      os.exit(1)
    end },
}
