-- Every way to reach a refused function refuses it.
-- args: --sandbox
-- expect: panic: all refused
local tried = {
  function() return io.popen("id") end,
  function() return io.lines("/etc/passwd") end,
  function() return io.read() end,
  function() return require("io").open("/etc/passwd") end,
  function() return package.loaded.io.open("/etc/passwd") end,
  function() return package.loadlib("/lib/x86_64-linux-gnu/libc.so.6", "system") end,
  function() return loadfile("/etc/passwd") end,
  function() return dofile("/etc/passwd") end,
  function() return debug.getregistry() end,
  function() return debug.sethook() end,
  function() return getmetatable(io.stdout) end,
  function() return os.getenv("HOME") end,
  function() return os.remove("/tmp/x") end,
  function() return collectgarbage("stop") end,
}
for i, f in ipairs(tried) do
  local ok, err = pcall(f)
  assert(not ok or err == false, ("case %d was allowed: %s"):format(i, tostring(err)))
end
error("all refused", 0)
