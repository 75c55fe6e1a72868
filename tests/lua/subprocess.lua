-- subprocess.lua - run a Lua snippet with `chanlab run` in a child process,
-- for tests of what a learner sees: stdout, stderr and the exit status.
--   local run = require("subprocess")
--   local out, err, status, script = run(src, "--procs 1")
-- The interpreter is $CHANLAB (tests/run.sh sets it) or build/chanlab.
-- The script's path is returned for assertions; the file is gone by then.
local EXE = os.getenv("CHANLAB") or "build/chanlab"

return function(src, args)
  local script, errfile = os.tmpname(), os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(src)
  f:close()
  local p = io.popen(("%s run %s %s 2>%s; echo \"__EXIT__$?\""):format(EXE, args or "", script, errfile))
  local out = p:read("a")
  p:close()
  local status = tonumber(out:match("__EXIT__(%d+)%s*$"))
  out = out:gsub("__EXIT__%d+%s*$", "")
  local ef = io.open(errfile)
  local err = ef:read("a")
  ef:close()
  os.remove(errfile)
  os.remove(script)
  return out, err, status, script
end
