-- test_layers.lua - tests/layers.lua, the include-layering check, run as a
-- subprocess on small trees written to a temporary folder, and on the
-- repository itself.  Every test checks the exit status and the message.
--   build/chanlab tests/lua/test_layers.lua
local lu = require("luaunit")

-- The repository: two folders above this file.
local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or ".") .. "/../.."
local CHECK = ROOT .. "/tests/layers.lua"

-- A tree that obeys every rule: each layer includes its own and lower ones.
local CLEAN = {
  ["core/chanlab.h"]              = '#include "status.h"\n#include <stddef.h>\n',
  ["core/status.h"]               = "int chl_status;\n",
  ["core/chan.c"]                 = '#include <stdio.h>\n#include "chanlab.h"\n',
  ["bindings/value/transfer.h"]   = '#include <lua.h>\n#include "chanlab.h"\n',
  ["bindings/runtime/lrt.h"]      = '#include <lauxlib.h>\n#include "value/transfer.h"\n',
  ["bindings/runtime/lrt.c"]      = '#include "runtime/lrt.h"\n#include "status.h"\n',
  ["bindings/api/lchan.c"]        = '#include "runtime/lrt.h"\n',
  ["bindings/module.c"]           = '#include "runtime/lrt.h"\n',
  ["bindings/interp/main.c"]      = '#include <lualib.h>\n#include "runtime/lrt.h"\n#include "lab_lua.h"\n',
}

-- check(files) -> output, exit status of layers.lua on CLEAN with files
-- added or replaced; the tree is removed before returning.
local function check(files)
  local dir = os.tmpname()
  os.remove(dir)
  local tree = {}
  for path, text in pairs(CLEAN) do tree[path] = text end
  for path, text in pairs(files or {}) do tree[path] = text end
  for path, text in pairs(tree) do
    assert(os.execute(("mkdir -p '%s/%s'"):format(dir, path:match("^(.*)/"))))
    local f = assert(io.open(dir .. "/" .. path, "w"))
    f:write(text)
    f:close()
  end
  local p = io.popen(("lua5.4 '%s' '%s' 2>&1; echo \"__EXIT__$?\""):format(CHECK, dir))
  local out = p:read("a")
  p:close()
  os.execute(("rm -rf '%s'"):format(dir))
  local status = tonumber(out:match("__EXIT__(%d+)%s*$"))
  return out:gsub("__EXIT__%d+%s*$", ""), status
end

-- The output names one violation and nothing else failed.
local function assertOneFailure(out, status, line)
  lu.assertEquals(status, 1)
  lu.assertStrContains(out, line .. "\n")
  lu.assertStrMatches(out, "[^\n]*\nlayers: %d+ passed, 1 failed\n")
end

TestLayers = {}

function TestLayers.testCleanTreePasses()
  local out, status = check()
  lu.assertEquals(status, 0)
  lu.assertStrMatches(out, "layers: %d+ passed, 0 failed\n")
end

function TestLayers.testCoreIncludingLuaFails()
  local out, status = check({ ["core/chan.c"] = '#include <stdio.h>\n#include <lua.h>\n' })
  assertOneFailure(out, status, "core/chan.c:2: #include <lua.h>: the core must not include a Lua header")
end

function TestLayers.testCoreIncludingABindingsHeaderFails()
  local out, status = check({ ["core/chan.c"] = '#include "chanlab.h"\n#include "runtime/lrt.h"\n' })
  assertOneFailure(out, status, 'core/chan.c:2: #include "runtime/lrt.h": '
    .. "the core must include only core/ (this is bindings/runtime/lrt.h)")
end

function TestLayers.testRuntimeIncludingApiFails()
  local out, status = check({
    ["bindings/api/lchan.h"] = '#include "chanlab.h"\n',
    ["bindings/runtime/lrt.c"] = '#include "runtime/lrt.h"\n#include "api/lchan.h"\n',
  })
  assertOneFailure(out, status, 'bindings/runtime/lrt.c:2: #include "api/lchan.h": '
    .. "runtime (layer 2) must not include api (layer 3)")
end

function TestLayers.testValueIncludingRuntimeFails()
  local out, status = check({ ["bindings/value/transfer.c"] = '#include "value/transfer.h"\n#include "runtime/lrt.h"\n' })
  assertOneFailure(out, status, 'bindings/value/transfer.c:2: #include "runtime/lrt.h": '
    .. "value (layer 1) must not include runtime (layer 2)")
end

function TestLayers.testApiIncludingModuleHeaderFails()
  local out, status = check({
    ["bindings/module.h"] = '#include "runtime/lrt.h"\n',
    ["bindings/api/lchan.c"] = '#include "module.h"\n',
  })
  assertOneFailure(out, status, 'bindings/api/lchan.c:1: #include "module.h": '
    .. "api (layer 3) must not include module (layer 4)")
end

function TestLayers.testGeneratedHeaderOutsideInterpFails()
  local out, status = check({ ["bindings/module.c"] = '#include "runtime/lrt.h"\n#include "repl_lua.h"\n' })
  assertOneFailure(out, status, 'bindings/module.c:2: #include "repl_lua.h": '
    .. "module (layer 4) must not include interp (layer 5)")
end

function TestLayers.testCycleOfThreeHeadersFails()
  local out, status = check({
    ["bindings/runtime/a.h"] = '#include "runtime/b.h"\n',
    ["bindings/runtime/b.h"] = '#include "chanlab.h"\n#include "runtime/c.h"\n',
    ["bindings/runtime/c.h"] = '#include "runtime/a.h"\n',
  })
  assertOneFailure(out, status, "bindings/runtime/c.h:1: include cycle: bindings/runtime/a.h"
    .. " -> bindings/runtime/b.h -> bindings/runtime/c.h -> bindings/runtime/a.h")
end

function TestLayers.testSameLayerIncludePasses()
  local out, status = check({
    ["bindings/api/lctx.h"] = '#include "runtime/lrt.h"\n',
    ["bindings/api/lchan.c"] = '#include "api/lctx.h"\n#include "lctx.h"\n',
  })
  lu.assertEquals(status, 0)
  lu.assertStrMatches(out, "layers: %d+ passed, 0 failed\n")
end

function TestLayers.testUnresolvedIncludeFails()
  local out, status = check({ ["bindings/api/lchan.c"] = '#include "runtime/lrt.h"\n#include "lchan.h"\n' })
  assertOneFailure(out, status, 'bindings/api/lchan.c:2: #include "lchan.h": resolves nowhere in core/ or bindings/')
end

function TestLayers.testRepositoryPasses()
  local p = io.popen(("lua5.4 '%s' 2>&1; echo \"__EXIT__$?\""):format(CHECK))
  local out = p:read("a")
  p:close()
  lu.assertStrMatches(out, "layers: %d+ passed, 0 failed\n__EXIT__0\n")
end

os.exit(lu.LuaUnit.run())
