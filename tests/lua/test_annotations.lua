-- test_annotations.lua - bindings/chanlab.d.lua (the LuaLS annotations)
-- against the module at run time: every name the module exports has an
-- annotation, and every annotated name exists.
--   build/chanlab tests/lua/test_annotations.lua
--
-- Both sides become one map, name -> kind:
--   go                  global               function | table
--   chan()              a callable table     callable
--   chan.select         member of a table    function | value
--   require.version     field of require "chanlab"'s table
--   chanlab.chan        a handle type        type  (its metatable's __name)
--   chanlab.chan:send   a handle's method    function
--   chanlab.timer.c     a handle's field     value
--   chanlab.cancel()    a callable handle    callable
-- The run-time side walks the globals, require "chanlab"'s table (in a
-- stock lua5.4: the interpreter must not load the module a second time)
-- and one handle of each type.  A handle's methods come in lazily (a __index on
-- the metatable's metatable), so they cannot be listed: each is probed by
-- name, with every identifier-like string literal of bindings/**/*.c and
-- every annotated name as candidates.  The handle types themselves are
-- read from the sources (the "chanlab.NAME" of each chl_lua_type).

-- What chanlab put in the globals, before this file adds any.
local startup_globals = {}
for k in pairs(_G) do startup_globals[k] = true end

local lu = require("luaunit")

-- Lua 5.4's own globals (the manual's list), and the interpreter's `arg`.
local STANDARD = {}
for name in ([[_G _VERSION arg assert collectgarbage coroutine debug dofile
	error getmetatable io ipairs load loadfile math next os package pairs
	pcall print rawequal rawget rawlen rawset require select setmetatable
	string table tonumber tostring type utf8 warn xpcall]]):gmatch("%S+") do
	STANDARD[name] = true
end

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/tests/lua/[^/]*$")) or "."
local EXE = os.getenv("CHANLAB") or "build/chanlab"
local ANNOTATIONS = ROOT .. "/bindings/chanlab.d.lua"

local function read(path)
	local f = assert(io.open(path))
	local s = f:read("a")
	f:close()
	return s
end

---------------------------------------------------------------------------
-- The annotations: parse the file's shapes (see its header)
---------------------------------------------------------------------------

-- parse(text) -> names (name -> kind), undocumented (list of functions
-- with no description line above them).
local function parse(text)
	local names, undocumented = {}, {}
	local class            -- the class being declared: { name, callable, fields }
	local locals = {}      -- local variable -> class name (handle types)
	local globals = {}     -- global table -> true
	local described = false
	local in_module = false

	local function bind(line)
		-- the first code line after a ---@class block says what the class is
		local var = line:match("^local ([%w_]+) = {}$")
		if var then
			locals[var] = class.name
			names[class.name] = "type"
			for _, f in ipairs(class.fields) do names[class.name .. "." .. f] = "value" end
			if class.callable then names[class.name .. "()"] = "callable" end
		elseif line:match("^[%w_]+ = {}$") then
			var = line:match("^([%w_]+)")
			globals[var] = true
			names[var] = "table"
			if class.callable then names[var .. "()"] = "callable" end
		elseif line:match("^local chanlab = {$") then
			in_module = true
			for _, f in ipairs(class.fields) do names["require." .. f] = "value" end
		end
		-- anything else: a shape (a select case, stats): documentation only
		class = nil
	end

	for line in (text .. "\n"):gmatch("(.-)\n") do
		if in_module then
			local key = line:match("^%s*([%w_]+)%s*=")
			if key then names["require." .. key] = "value" end
			if line:match("^}") then in_module = false end
		elseif line:match("^%-%-%-") then
			local cname = line:match("^%-%-%-@class ([%w_.]+)")
			if cname then
				class = { name = cname, callable = false, fields = {} }
			elseif class and line:match("^%-%-%-@overload") then
				class.callable = true
			elseif class and line:match("^%-%-%-@field [%w_]") then
				table.insert(class.fields, (line:match("^%-%-%-@field ([%w_]+)")))
			elseif not line:match("^%-%-%-@") and not line:match("^%-%-%-|") then
				described = true
			end
		else
			if class then bind(line) end
			local fn = line:match("^function ([%w_]+)%(")
			local t, member = line:match("^function ([%w_]+)%.([%w_]+)%(")
			local obj, method = line:match("^function ([%w_]+):([%w_]+)%(")
			local ct, constant = line:match("^([%w_]+)%.([%w_]+) = ")
			local name
			if fn then
				name = fn
				names[fn] = "function"
			elseif t then
				name = t .. "." .. member
				names[name] = "function"
			elseif obj then
				name = (locals[obj] or "?" .. obj) .. ":" .. method
				names[name] = "function"
			elseif ct then
				names[ct .. "." .. constant] = "value"
			end
			if name and not described then table.insert(undocumented, name) end
			described = false
		end
	end
	return names, undocumented
end

---------------------------------------------------------------------------
-- The module at run time
---------------------------------------------------------------------------

local function source_files()
	local files = {}
	local p = io.popen(("find '%s/bindings' -name '*.c' | sort"):format(ROOT))
	for path in p:lines() do table.insert(files, path) end
	p:close()
	return files
end

-- The handle types ("chanlab.chan" ...) and every identifier-like string
-- literal of the bindings' sources (candidate method names).
local function from_sources()
	local types, literals = {}, {}
	for _, path in ipairs(source_files()) do
		local src = read(path)
		-- CHL_LUA_TYPE("chanlab.chan", ...) or { { "chanlab.chan", ... } ... }
		for tname in src:gmatch('CHL_LUA_TYPE[%w_]*%(%s*"(chanlab%.[%w_]+)"') do types[tname] = true end
		for tname in src:gmatch('{%s*{%s*"(chanlab%.[%w_]+)"') do types[tname] = true end
		for lit in src:gmatch('"([%a_][%w_]*)"') do literals[lit] = true end
	end
	return types, literals
end

-- One handle of each type, made through the API, and a function that
-- stops what needs stopping.
local MAKERS = {
	["chanlab.chan"] = function() return chan() end,
	["chanlab.waitgroup"] = function() return sync.waitgroup() end,
	["chanlab.mutex"] = function() return sync.mutex() end,
	["chanlab.once"] = function() return sync.once() end,
	["chanlab.atomic"] = function() return atomic.int(0) end,
	["chanlab.ctx"] = function() return context.background() end,
	["chanlab.cancel"] = function()
		local _, cancel = context.with_cancel(context.background())
		return cancel, cancel
	end,
	["chanlab.errgroup"] = function() return errgroup.new() end,
	["chanlab.semaphore"] = function() return semaphore.new(1) end,
	["chanlab.timer"] = function()
		local t = time.timer(3600)
		return t, function() t:stop() end
	end,
	["chanlab.sigstop"] = function()
		local _, stop = signal.notify_context(context.background(), "USR2")
		return stop, stop
	end,
}

-- A stock lua5.4 walks require "chanlab"'s table, from the shared library
-- beside the interpreter (loading it into the interpreter itself would
-- define every global twice).  Returns the names walk() gives the API
-- tables, plus "require.KEY" for each key; nil and why when it cannot be
-- done: a sanitizer build's module cannot load into an uninstrumented
-- lua5.4.
local MODULE_DUMP = [[
local m = require "chanlab"
local function kind(v) return type(v) == "function" and "function" or "value" end
for k, v in pairs(m) do
	print("require." .. k, "value")
	if type(v) == "table" then
		for kk, vv in pairs(v) do print(k .. "." .. kk, kind(vv)) end
		local mt = getmetatable(v)
		if mt and mt.__call then print(k .. "()", "callable") end
	end
end]]

local function module_names()
	if EXE:match("/[at]san/") then
		return nil, "sanitizer build: its module cannot load into a stock lua5.4"
	end
	local dir = EXE:match("^(.*)/[^/]*$") or "."
	local p = io.popen(("LUA_CPATH='%s/?.so' lua5.4 -e '%s' 2>&1"):format(dir, MODULE_DUMP))
	local out = p:read("a")
	local ok = p:close()
	assert(ok, "lua5.4 could not walk require \"chanlab\" from " .. dir .. ":\n" .. out)
	local names = {}
	for name, kind in out:gmatch("([^\t\n]+)\t([^\n]+)\n") do names[name] = kind end
	return names
end

-- walk(names, prefix, t): the members of an API table.
local function walk(names, prefix, t)
	for k, v in pairs(t) do
		names[prefix .. "." .. k] = type(v) == "function" and "function" or "value"
	end
	local mt = getmetatable(t)
	if mt and mt.__call then names[prefix .. "()"] = "callable" end
end

-- runtime(extra_candidates) -> names, problems (what could not be checked)
local function runtime(candidates_from_annotations)
	local names, problems = {}, {}
	local module = module_names()
	if module then
		-- the module's parts are the globals' parts: the same members
		local globals = {}
		for name in pairs(module) do
			local part = name:match("^([%w_]+)[.(]")
			if part and part ~= "require" and type(_G[part]) == "table" and not globals[part] then
				globals[part] = true
				walk(globals, part, _G[part])
			end
		end
		for name, kind in pairs(module) do
			local key = name:match("^require%.(.*)")
			if key then
				names[name] = kind
				-- every key but the version is also a global
				if key ~= "version" and _G[key] == nil then
					table.insert(problems, key .. " is in the module, not in the globals")
				end
			elseif globals[name] ~= kind then
				table.insert(problems, name .. " is in the module, not in the globals")
			end
		end
		for name in pairs(globals) do
			if name:find("[.(]") and not module[name] then
				table.insert(problems, name .. " is in the globals, not in the module")
			end
		end
	end
	for k in pairs(startup_globals) do
		if not STANDARD[k] then
			local v = _G[k]
			names[k] = type(v) == "table" and "table" or type(v) == "function" and "function" or "value"
			if type(v) == "table" then walk(names, k, v) end
		end
	end
	local types, literals = from_sources()
	for tname in pairs(MAKERS) do
		if not types[tname] then
			table.insert(problems, tname .. " is in MAKERS but no chl_lua_type of bindings/ defines it")
		end
	end
	local candidates = {}
	for name in pairs(literals) do candidates[name] = true end
	for name in pairs(candidates_from_annotations) do candidates[name] = true end
	for tname in pairs(types) do
		names[tname] = "type"
		local make = MAKERS[tname]
		if not make then
			table.insert(problems, "no way to make a " .. tname .. ": add it to MAKERS")
		else
			local h, stop = make()
			local mt = getmetatable(h)
			if mt.__name ~= tname then
				table.insert(problems, tname .. "'s maker made a " .. tostring(mt.__name))
			end
			if mt.__call then names[tname .. "()"] = "callable" end
			-- a handle with no methods (a cancel function) has no __index
			for name in pairs(mt.__index and candidates or {}) do
				if name:sub(1, 2) ~= "__" then
					local v = h[name]
					if type(v) == "function" then
						names[tname .. ":" .. name] = "function"
					elseif v ~= nil then
						names[tname .. "." .. name] = "value"
					end
				end
			end
			if stop then stop() end
		end
	end
	return names, problems
end

-- compare(actual, annotated) -> missing annotations, names missing at run
-- time, kinds that differ: sorted lists of "name (kind)".
local function compare(actual, annotated)
	local unannotated, absent, differ = {}, {}, {}
	for name, kind in pairs(actual) do
		if not annotated[name] then
			table.insert(unannotated, name .. " (" .. kind .. ")")
		elseif annotated[name] ~= kind then
			table.insert(differ, ("%s: %s at run time, annotated as %s"):format(name, kind, annotated[name]))
		end
	end
	for name, kind in pairs(annotated) do
		if not actual[name] then table.insert(absent, name .. " (" .. kind .. ")") end
	end
	table.sort(unannotated)
	table.sort(absent)
	table.sort(differ)
	return unannotated, absent, differ
end

-- The method and field names that the annotations give handles.
local function annotated_members(annotated)
	local out = {}
	for name in pairs(annotated) do
		local member = name:match("^chanlab%.[%w_]+[:.]([%w_]+)$")
		if member then out[member] = true end
	end
	return out
end

local function check(selector)
	local annotated = parse(read(ANNOTATIONS))
	local actual, problems = runtime(annotated_members(annotated))
	lu.assertEquals(problems, {})
	local a, b = {}, {}
	for name, kind in pairs(actual) do if selector(name) then a[name] = kind end end
	for name, kind in pairs(annotated) do if selector(name) then b[name] = kind end end
	local unannotated, absent, differ = compare(a, b)
	lu.assertEquals(unannotated, {}, "exported but not annotated in bindings/chanlab.d.lua")
	lu.assertEquals(absent, {}, "annotated but not there at run time")
	lu.assertEquals(differ, {})
	local n = 0
	for _ in pairs(b) do n = n + 1 end
	lu.assertTrue(n > 0, "nothing of this kind found")
end

---------------------------------------------------------------------------

TestAnnotations = {}

function TestAnnotations.testFileIsLuaAndReturnsTheModuleTable()
	local env = {}
	local chunk = assert(loadfile(ANNOTATIONS, "t", env))
	local m = chunk()
	lu.assertIsTable(m)
	lu.assertIs(m.chan, env.chan)
	lu.assertIsFunction(env.go)
end

function TestAnnotations.testGlobals()
	check(function(name) return not name:find("[.:()]") end)
end

function TestAnnotations.testModuleTable()
	local _, why = module_names()
	if why then print("test_annotations: require \"chanlab\" not checked: " .. why) end
	lu.skipIf(why ~= nil, why)
	check(function(name) return name:match("^require%.") ~= nil end)
end

function TestAnnotations.testMembersOfTheAPITables()
	check(function(name) return name:match("^[%w_]+%.[%w_]+$") ~= nil and not name:match("^require%.") end)
end

function TestAnnotations.testCallableTables()
	check(function(name) return name:match("^[%w_]+%(%)$") ~= nil end)
end

function TestAnnotations.testHandleTypes()
	check(function(name) return name:match("^chanlab%.[%w_]+$") ~= nil end)
end

function TestAnnotations.testHandleMethodsFieldsAndCalls()
	check(function(name) return name:match("^chanlab%.[%w_]+[:.(]") ~= nil end)
end

function TestAnnotations.testConstantsHaveTheirRunTimeValues()
	local env = {}
	assert(loadfile(ANNOTATIONS, "t", env))()
	local n = 0
	for part, t in pairs(env) do
		if type(t) == "table" then
			for k, v in pairs(t) do
				if type(v) ~= "function" and type(v) ~= "table" then
					lu.assertEquals(_G[part][k], v, part .. "." .. k)
					lu.assertEquals(math.type(_G[part][k]), math.type(v), part .. "." .. k)
					n = n + 1
				end
			end
		end
	end
	lu.assertTrue(n >= 8)   -- time.ns ... time.hour, context.canceled ...
end

function TestAnnotations.testEveryFunctionHasADescription()
	local _, undocumented = parse(read(ANNOTATIONS))
	lu.assertEquals(undocumented, {})
end

-- The checker itself: one annotation removed, or one name that does not
-- exist added, and the comparison says which.
function TestAnnotations.testCheckerSeesAMissingAndAnExtraAnnotation()
	local text = read(ANNOTATIONS)
	local cut, n = text:gsub("\nfunction Chan:trysend%(v%) end\n", "\n")
	lu.assertEquals(n, 1)
	cut = cut:gsub("\nfunction sync%.mutex%(%) end\n", "\nfunction sync.mutex() end\n---Not there.\nfunction sync.rwmutex() end\n")
	local annotated = parse(cut)
	local actual = runtime(annotated_members(annotated))
	for name in pairs(annotated) do
		if name:match("^require%.") then annotated[name] = nil; actual[name] = nil end
	end
	local unannotated, absent = compare(actual, annotated)
	lu.assertEquals(unannotated, { "chanlab.chan:trysend (function)" })
	lu.assertEquals(absent, { "sync.rwmutex (function)" })
end

os.exit(lu.LuaUnit.run())
