-- test_cmodule.lua - a C module compiled against Lua's headers loads with
-- require in the interpreter and in a goroutine: the interpreter links Lua
-- statically and must still export the whole API to modules (-rdynamic).
--   build/chanlab tests/lua/test_cmodule.lua
local lu = require("luaunit")
local run = require("subprocess")

local MODULE = [[
#include <lua.h>
#include <lauxlib.h>
static int add(lua_State *L)
{
	luaL_Buffer b;
	luaL_buffinit(L, &b);            /* lauxlib, not only lua_* */
	luaL_addstring(&b, "sum ");
	lua_pushinteger(L, luaL_checkinteger(L, 1) + luaL_checkinteger(L, 2));
	luaL_addvalue(&b);
	luaL_pushresult(&b);
	return 1;
}
int luaopen_probe(lua_State *L)
{
	luaL_newlib(L, ((const luaL_Reg[]){ { "add", add }, { NULL, NULL } }));
	return 1;
}
]]

-- Compile MODULE into dir/probe.so; nil when no compiler is at hand.
local function build(dir)
  local src = dir .. "/probe.c"
  local f = assert(io.open(src, "w"))
  f:write(MODULE)
  f:close()
  local cmd = ("cc -shared -fPIC $(pkg-config --cflags lua5.4 2>/dev/null) -o %s/probe.so %s 2>/dev/null")
    :format(dir, src)
  return os.execute(cmd)
end

TestCModule = {}

function TestCModule.testRequireInMainAndInAGoroutine()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  if not build(dir) then
    os.execute("rm -rf " .. dir)
    lu.skip("no C compiler")
  end
  local out, err, status = run(([[
package.cpath = "%s/?.so;" .. package.cpath
local probe = require "probe"
print(probe.add(2, 3))
local done = chan()
go(function(done, cpath)
  package.cpath = cpath            -- a goroutine starts with fresh globals
  done:send(require("probe").add(4, 5))
end, done, package.cpath)
print((done:recv()))
]]):format(dir))
  os.execute("rm -rf " .. dir)
  lu.assertEquals(err, "")
  lu.assertEquals(status, 0)
  lu.assertEquals(out, "sum 5\nsum 9\n")
end

os.exit(lu.LuaUnit.run())
