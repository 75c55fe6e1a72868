-- chanlab-scm-1.rockspec - chanlab from the current checkout.
--   luarocks --lua-version 5.4 make chanlab-scm-1.rockspec          (system tree)
--   luarocks --lua-version 5.4 --tree DIR make chanlab-scm-1.rockspec
-- installs, under the tree: lib/lua/5.4/chanlab.so (require "chanlab"),
-- bin/chanlab (the interpreter) and share/lua/5.4/chanlab.d.lua (LuaLS
-- annotations: point Lua.workspace.library at share/lua/5.4).
-- chanlab-0.1.0-1.rockspec is the same build for the tagged release.
rockspec_format = "3.0"
package = "chanlab"
version = "scm-1"
source = {
   -- Where the repository is published; `luarocks make` builds the checkout
   -- it runs in and never fetches this.
   url = "git+https://github.com/chanlab/chanlab.git",
   branch = "main",
}
description = {
   summary = "Go's goroutines, channels, select, waitgroups and contexts for Lua 5.4",
   detailed = [[
chanlab is a concurrency sandbox: Go's toolkit - goroutines, channels with
select, waitgroups, mutexes, contexts, semaphores, timers, signals - in C,
scripted in Lua 5.4, with every goroutine in its own Lua state so they run
truly in parallel on every core.  require "chanlab" returns the API as one
table; the chanlab program runs scripts with the API as globals.
Builds with GNU make, a C11 compiler, pkg-config and Lua 5.4's headers and
library (Debian: liblua5.4-dev).]],
   labels = { "concurrency", "channels", "coroutines", "threads" },
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
build = {
   -- "make" drives our Makefile for the build only.  build_target names the
   -- two files we ship (LuaRocks pastes build_target into the make command
   -- line, as it does with `makefile`): plain `make` would also build the C
   -- tests, which need cmocka.  BUILD=build keeps every artefact in build/
   -- (ignored by git) whatever the environment says; OPT and LUA_CFLAGS
   -- take LuaRocks' compiler flags and the headers of the Lua it targets.
   type = "make",
   build_target = "build/chanlab build/chanlab.so",
   build_variables = {
      BUILD = "build",
      OPT = "$(CFLAGS)",
      LUA_CFLAGS = "-I$(LUA_INCDIR)",
   },
   -- No `make install` pass: it lays files out for a system PREFIX (headers,
   -- libchanlab.a, pkg-config, labs), while LuaRocks deploys a rock's own
   -- lib/ to lib/lua/5.4, lua/ to share/lua/5.4 and bin/ to bin itself.
   -- build.install is applied after the build by every LuaRocks 3 back-end.
   install_pass = false,
   install = {
      lib = { chanlab = "build/chanlab.so" },
      bin = { chanlab = "build/chanlab" },
      lua = { "bindings/chanlab.d.lua" },
   },
}
