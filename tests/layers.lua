-- layers.lua - the include graph of core/ and bindings/ points downward
-- only and has no cycle.
--   lua5.4 tests/layers.lua [ROOT]      (ROOT: the repository, by default
--                                        the folder above this script's)
-- The layers, lowest first:
--   0 core/              plain C: includes only core/, never a Lua header
--   1 bindings/value/    Lua values copied between states
--   2 bindings/runtime/  runtime, goroutines, handles, reports
--   3 bindings/api/      one file per Lua module
--   3 bindings/trace/    --trace (fed by the hook; beside api/, neither uses the other)
--   4 bindings/*.c, *.h  the module (module.c)
--   5 bindings/interp/   the interpreter, and the generated *_lua.h it embeds
-- A file may include its own layer or a lower one.  Why: the core is a C
-- library usable without Lua, and each layer can be built and tested
-- without the ones above it; a cycle, even within one layer, means two
-- files cannot be understood apart.
-- A quoted include resolves as the compiler's would (-iquote core -iquote
-- bindings -iquote build/gen): the including file's folder first, then
-- core/, then bindings/.  One that resolves nowhere is an error, unless it
-- is named *_lua.h (generated into build/gen, part of interp) or *_html.h
-- (generated from bindings/trace/*.html, part of trace).  Angle
-- includes matter only to the core's no-Lua rule.
-- One line per violation, "file:line: include: rule", then "layers: N
-- passed, M failed" (tests/run.sh reads it).  Checks: one per file (it sits
-- in a layer), one per include, one for the graph (no cycle).  Exit status
-- 1 when anything failed.  Includes inside comments or #if 0 count too.

local ROOT = arg[1] or (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/.."

local LAYER = { value = 1, runtime = 2, api = 3, trace = 3, interp = 5 }
local NAME = { [0] = "core", "value", "runtime", "api", "module", "interp" }
local LUA_H = { ["lua.h"] = true, ["lauxlib.h"] = true, ["lualib.h"] = true,
                ["luaconf.h"] = true, ["lua.hpp"] = true }

-- layer(path) -> 0..5, or nil for a folder of bindings/ not in the table.
local function layer(path)
  if path:match("^core/") then return 0 end
  local sub = path:match("^bindings/([^/]+)/")
  if sub then return LAYER[sub] end
  return 4
end

-- Every file under core/ and bindings/, as paths relative to ROOT, sorted;
-- .c and .h files are checked, the others can still be included.
local function list()
  local q = "'" .. ROOT:gsub("'", "'\\''") .. "'"
  local p = assert(io.popen(("cd %s 2>/dev/null && find core bindings -type f 2>/dev/null"):format(q)))
  local files, exists = {}, {}
  for path in p:lines() do
    exists[path] = true
    if path:match("%.[ch]$") then files[#files + 1] = path end
  end
  p:close()
  table.sort(files)
  return files, exists
end

-- join("bindings/api", "../core/x.h") -> "core/x.h"
local function join(dir, name)
  local parts = {}
  for part in (dir .. "/" .. name):gmatch("[^/]+") do
    if part == ".." and #parts > 0 and parts[#parts] ~= ".." then
      parts[#parts] = nil
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  return table.concat(parts, "/")
end

local files, exists = list()
if #files == 0 then
  print(ROOT .. ": no .c or .h file under core/ or bindings/")
  print("layers: 0 passed, 1 failed")
  os.exit(1)
end
local passed, failed = 0, 0
local edges = {}   -- edges[file] = { {to = path, line = n}, ... } in file order

local function fail(file, line, msg)
  print(("%s:%d: %s"):format(file, line, msg))
  failed = failed + 1
end

-- check(file, n, text, open, name): one include against the rules.
-- Returns the included file's path when it is in the tree.
local function check(file, n, text, open, name)
  local from = layer(file)
  if from == 0 and LUA_H[name:match("[^/]*$")] then
    return fail(file, n, text .. ": the core must not include a Lua header")
  end
  if open == "<" then
    passed = passed + 1
    return nil
  end
  local to
  for _, dir in ipairs({ file:match("^(.*)/"), "core", "bindings" }) do
    local path = join(dir, name)
    if exists[path] then to = path break end
  end
  local into
  if to then
    into = layer(to)
  elseif name:match("_lua%.h$") then
    into = 5
  elseif name:match("_html%.h$") then   -- trace/'s embedded page
    into = 3
  else
    return fail(file, n, text .. ": resolves nowhere in core/ or bindings/")
  end
  if from == nil then   -- already failed as a file in no layer
    passed = passed + 1
    return to
  end
  if from == 0 and into ~= 0 then
    return fail(file, n, ("%s: the core must include only core/ (this is %s)")
      :format(text, to or "build/gen/" .. name))
  end
  if into == nil then
    return fail(file, n, ("%s: %s is in no layer"):format(text, to))
  end
  if into > from then
    return fail(file, n, ("%s: %s (layer %d) must not include %s (layer %d)")
      :format(text, NAME[from], from, NAME[into], into))
  end
  passed = passed + 1
  return to
end

for _, file in ipairs(files) do
  edges[file] = {}
  if layer(file) then
    passed = passed + 1
  else
    fail(file, 1, ("in no layer: %s is not value/, runtime/, api/, trace/ or interp/")
      :format(file:match("^bindings/[^/]+/")))
  end
  local n = 0
  for text in io.lines(ROOT .. "/" .. file) do
    n = n + 1
    local open, name = text:match('^%s*#%s*include%s*([<"])([^>"]+)[>"]')
    if open then
      local inc = open == "<" and "<" .. name .. ">" or '"' .. name .. '"'
      local to = check(file, n, "#include " .. inc, open, name)
      if to then table.insert(edges[file], { to = to, line = n }) end
    end
  end
end

-- Cycles: a depth-first walk; an edge back to a file still on the path
-- closes a cycle, printed from that file round to itself.
local state, path, cycles = {}, {}, 0
local function walk(file)
  state[file] = "open"
  path[#path + 1] = file
  for _, e in ipairs(edges[file] or {}) do
    if state[e.to] == "open" then
      local from = #path
      while path[from] ~= e.to do from = from - 1 end
      local ring = table.move(path, from, #path, 1, {})
      ring[#ring + 1] = e.to
      fail(file, e.line, "include cycle: " .. table.concat(ring, " -> "))
      cycles = cycles + 1
    elseif not state[e.to] then
      walk(e.to)
    end
  end
  path[#path] = nil
  state[file] = "done"
end
for _, file in ipairs(files) do
  if not state[file] then walk(file) end
end
if cycles == 0 then passed = passed + 1 end

print(("layers: %d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
