-- test_install.lua - installing chanlab: `luarocks make` of each rockspec
-- into a scratch tree, then a stock lua5.4 runs goroutines through that
-- tree's module; `make install` puts the man page and the annotations
-- under DESTDIR.  Nothing may be left in the repository.
--   build/chanlab tests/lua/test_install.lua
-- The rockspec tests need luarocks (make deps installs it when it can);
-- without it they are skipped, with a line saying so.  luarocks builds in
-- the source folder, so they build in a copy of the checkout (the build
-- the tests run on stays as it is) and check that every artefact went to
-- build/ there.
local lu = require("luaunit")

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/tests/lua/[^/]*$")) or "."
local ROCKSPECS = { "chanlab-scm-1.rockspec", "chanlab-0.1.0-1.rockspec" }

local function sh_quote(s)
	return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- run(cmd) -> output (stdout and stderr), ok
local function run(cmd)
	local p = io.popen("(" .. cmd .. ") 2>&1")
	local out = p:read("a")
	return out, p:close() == true
end

local function have(cmd)
	return select(2, run("command -v " .. cmd)) == true
end

local HAVE_LUAROCKS = have("luarocks") and have("lua5.4")
if not HAVE_LUAROCKS then
	print("test_install: rockspec tests skipped: luarocks is not installed (apt-get install luarocks)")
end

-- The make that luarocks or this test starts must not inherit the make
-- that runs the tests (`make tsan` passes BUILD, OPT and SAN down through
-- MAKEFLAGS and the environment).
local CLEAN_ENV = "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u OPT -u SAN "

local function scratch()
	local dir = os.tmpname()
	os.remove(dir)
	assert(os.execute("mkdir -p " .. sh_quote(dir)))
	return dir
end

-- What git says is changed or untracked (nil outside a git checkout).
local function git_status()
	local out, ok = run("cd " .. sh_quote(ROOT) .. " && git status --porcelain --untracked-files=all")
	return ok and out or nil
end

local function exists(path)
	local f = io.open(path)
	if f then f:close() end
	return f ~= nil
end

-- The files of a source folder, build/ left out, one per line, sorted.
local function source_files(dir)
	return (run(("cd %s && find . -path ./build -prune -o -type f -print | sort"):format(sh_quote(dir))))
end

-- A copy of the checkout (tracked files and new ones, as they are now),
-- made once: luarocks builds there, never in the build the tests run on.
local copy
local function source_copy()
	if copy then return copy end
	copy = scratch()
	local list = "git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -"
	if not git_status() then list = "tar --exclude=./build -cf - ." end
	local out, ok = run(("cd %s && %s | tar -xf - -C %s"):format(sh_quote(ROOT), list, sh_quote(copy)))
	assert(ok, "cannot copy the checkout: " .. out)
	return copy
end

-- A stock lua5.4 loads the module from tree and runs two goroutines.
local GOROUTINES = [[
local c = require "chanlab"
local ch, wg = c.chan(), c.sync.waitgroup()
for i = 1, 2 do wg:go(function(n) ch:send(n * 21) end, i) end
c.go(function() wg:wait(); ch:close() end)
local sum = 0
for v in ch:range() do sum = sum + v end
print("sum", sum, c.version)]]

TestRockspec = {}

function TestRockspec.setUp()
	lu.skipIf(not HAVE_LUAROCKS, "luarocks is not installed")
end

local function check_rockspec(rockspec)
	local src = source_copy()
	local tree = scratch()
	local before, repo_before = source_files(src), git_status()
	local out, ok = run(("cd %s && %s luarocks --lua-version 5.4 --tree %s make %s")
		:format(sh_quote(src), CLEAN_ENV, sh_quote(tree), rockspec))
	local after, repo_after = source_files(src), git_status()
	local installed = {}
	for _, file in ipairs({ "lib/lua/5.4/chanlab.so", "bin/chanlab", "share/lua/5.4/chanlab.d.lua" }) do
		installed[file] = exists(tree .. "/" .. file)
	end
	local version = rockspec:match("^chanlab%-(.*)%.rockspec$")
	local list = run(("luarocks --lua-version 5.4 --tree %s list --porcelain chanlab"):format(sh_quote(tree)))
	local code = ("package.cpath = %q .. package.cpath; package.path = ''; %s")
		:format(tree .. "/lib/lua/5.4/?.so;", GOROUTINES)
	local got, ran = run(CLEAN_ENV .. "lua5.4 -e " .. sh_quote(code))
	local prog, progran = run(sh_quote(tree .. "/bin/chanlab") ..
		" -e 'local c = chan(); go(function() c:send(runtime.id()) end); print(c:recv() > 1)'")
	os.execute("rm -rf " .. sh_quote(tree))
	lu.assertTrue(ok, "luarocks make " .. rockspec .. " failed:\n" .. out)
	lu.assertEquals(after, before, "luarocks make left files outside build/")
	lu.assertEquals(repo_after, repo_before, "luarocks make changed the repository")
	lu.assertEquals(installed, { ["lib/lua/5.4/chanlab.so"] = true, ["bin/chanlab"] = true,
		["share/lua/5.4/chanlab.d.lua"] = true })
	lu.assertStrContains(list, "chanlab\t" .. version)
	lu.assertTrue(ran, got)
	lu.assertStrMatches(got, "sum\t63\t%d+%.%d+%.%d+\n")
	lu.assertTrue(progran, prog)
	lu.assertEquals(prog, "true\n")
end

function TestRockspec.testScmRockspecInstallsModuleProgramAndAnnotations()
	check_rockspec(ROCKSPECS[1])
end

function TestRockspec.testReleaseRockspecInstallsModuleProgramAndAnnotations()
	check_rockspec(ROCKSPECS[2])
end

-- What needs no luarocks.
TestRockspecFiles = {}

-- Both rockspecs build the same thing: only the version, the source and
-- the comments that name the file differ.
function TestRockspecFiles.testRockspecsAgree()
	local function body(name)
		local f = assert(io.open(ROOT .. "/" .. name))
		local s = f:read("a")
		f:close()
		return (s:gsub("%-%-[^\n]*", ""):gsub('\nversion = "[^"]*"', ""):gsub("\n   branch = [^\n]*", "")
			:gsub("\n   tag = [^\n]*", ""))
	end
	lu.assertEquals(body(ROCKSPECS[2]), body(ROCKSPECS[1]))
end

-- The rockspecs' versions are the Makefile's.
function TestRockspecFiles.testReleaseVersionIsTheMakefileOne()
	local f = assert(io.open(ROOT .. "/Makefile"))
	local version = f:read("a"):match("\nVERSION%s*:?=%s*(%S+)")
	f:close()
	lu.assertEquals(ROCKSPECS[2], "chanlab-" .. version .. "-1.rockspec")
	lu.assertTrue(exists(ROOT .. "/" .. ROCKSPECS[2]))
end

TestMakeInstall = {}

function TestMakeInstall.testInstallsManPageAndAnnotations()
	local dest = scratch()
	local before = git_status()
	-- the build the tests run on (BUILD, flags) is up to date: this only copies
	local out, ok = run(("cd %s && make --no-print-directory install DESTDIR=%s PREFIX=/usr/local")
		:format(sh_quote(ROOT), sh_quote(dest)))
	local after = git_status()
	local files = {}
	for _, file in ipairs({ "share/man/man1/chanlab.1", "share/lua/5.4/chanlab.d.lua",
		"lib/lua/5.4/chanlab.so", "bin/chanlab" }) do
		files[file] = exists(dest .. "/usr/local/" .. file)
	end
	os.execute("rm -rf " .. sh_quote(dest))
	lu.assertTrue(ok, out)
	lu.assertEquals(after, before, "make install left files in the repository")
	lu.assertEquals(files, { ["share/man/man1/chanlab.1"] = true, ["share/lua/5.4/chanlab.d.lua"] = true,
		["lib/lua/5.4/chanlab.so"] = true, ["bin/chanlab"] = true })
end

local status = lu.LuaUnit.run()
if copy then os.execute("rm -rf " .. sh_quote(copy)) end
os.exit(status)
