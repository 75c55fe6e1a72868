-- test_manpage.lua - the manual page bindings/interp/chanlab.1: it renders
-- without a warning, and it describes (under OPTIONS or COMMANDS) every
-- option and (under ENVIRONMENT) every variable that `chanlab --help`
-- prints.
--   build/chanlab tests/lua/test_manpage.lua
-- Needs groff (Debian: groff-base; make deps installs it when it can);
-- without it every test is skipped, with a line saying so.
local lu = require("luaunit")

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/tests/lua/[^/]*$")) or "."
local EXE = os.getenv("CHANLAB") or "build/chanlab"
local PAGE = ROOT .. "/bindings/interp/chanlab.1"

local function have(cmd)
	return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true
end

local HAVE_GROFF = have("groff")
if not HAVE_GROFF then
	print("test_manpage: skipped: groff is not installed (apt-get install groff-base)")
end

-- run(cmd) -> stdout, stderr, ok
local function run(cmd)
	local errfile = os.tmpname()
	local p = io.popen(cmd .. " 2>" .. errfile)
	local out = p:read("a")
	local ok = p:close()
	local f = io.open(errfile)
	local err = f:read("a")
	f:close()
	os.remove(errfile)
	return out, err, ok
end

-- The page as a reader sees it: plain text, every kind of minus or hyphen
-- groff may print for \- or a hyphenation turned into "-".
local function rendered()
	local out, err, ok = run("groff -man -Tutf8 -P-cbou '" .. PAGE .. "'")
	assert(ok, "groff failed: " .. err)
	out = out:gsub("\u{2212}", "-"):gsub("\u{2010}", "-"):gsub("\u{2011}", "-")
	return out
end

-- The option words of a text (--procs, -e ...): words of letters, digits
-- and dashes that start with one or two dashes; "--procs=N" gives --procs.
local function options(text)
	local set = {}
	for word in text:gmatch("[^%s%[%]|(),;:'\"]+") do
		word = word:match("^([^=]*)")
		if word:match("^%-%-?%a[%w%-]*$") then set[word] = true end
		local trimmed = word:match("^(%-%-?%a[%w%-]*)%.$")   -- end of a sentence
		if trimmed then set[trimmed] = true end
	end
	return set
end

local function help()
	local out, _, ok = run(EXE .. " --help")
	assert(ok, EXE .. " --help failed")
	return out
end

-- The text of one section: the lines after its heading, up to the next,
-- each line after a newline.
local function section(text, title)
	local body = text:match("\n" .. title .. "\n(.-)\n%u[%u ]+\n") or text:match("\n" .. title .. "\n(.*)$")
	return "\n" .. (body or "")
end

local function sorted(set)
	local list = {}
	for k in pairs(set) do table.insert(list, k) end
	table.sort(list)
	return list
end

TestManpage = {}

function TestManpage.setUp()
	lu.skipIf(not HAVE_GROFF, "groff is not installed")
end

function TestManpage.testRendersWithoutWarnings()
	local out, err, ok = run("groff -man -Tutf8 -ww -z '" .. PAGE .. "'")
	lu.assertTrue(ok)
	lu.assertEquals(err, "")
	lu.assertEquals(out, "")
end

function TestManpage.testManRendersItWithoutWarnings()
	lu.skipIf(not have("man"), "man is not installed")
	local out, err, ok = run("MANWIDTH=80 man --warnings -l '" .. PAGE .. "'")
	lu.assertTrue(ok)
	lu.assertEquals(err, "")
	lu.assertStrContains(out, "chanlab")
end

function TestManpage.testEveryOptionOfHelpIsDescribed()
	local wanted = options(help())
	lu.assertTrue(wanted["--procs"] and wanted["-e"] and wanted["--help"] and true or false,
		"the option parser found: " .. table.concat(sorted(wanted), " "))
	local text = rendered()
	local page = options(section(text, "OPTIONS") .. section(text, "COMMANDS"))
	local missing = {}
	for _, opt in ipairs(sorted(wanted)) do
		if not page[opt] then table.insert(missing, opt) end
	end
	lu.assertEquals(missing, {}, "options of chanlab --help missing from the man page's OPTIONS and COMMANDS")
end

function TestManpage.testEveryEnvironmentVariableOfHelpIsDescribed()
	local wanted = {}
	for name in help():gmatch("CHANLAB_[%u_]+") do wanted[name] = true end
	lu.assertTrue(wanted.CHANLAB_PROCS ~= nil)
	local env = section(rendered(), "ENVIRONMENT")
	local missing = {}
	for _, name in ipairs(sorted(wanted)) do
		if not env:find("\n       " .. name .. "\n", 1, true) then table.insert(missing, name) end
	end
	lu.assertEquals(missing, {}, "variables of chanlab --help missing from the man page's ENVIRONMENT")
end

function TestManpage.testSections()
	local text = rendered()
	for _, title in ipairs({ "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS",
		"ENVIRONMENT", "EXIT STATUS", "EXAMPLES", "SEE ALSO" }) do
		lu.assertStrContains(text, "\n" .. title .. "\n", false, title)
	end
	local commands = section(text, "COMMANDS")
	for _, cmd in ipairs({ "run script.lua", "explore", "lab list", "lab run N", "lab verify", "-e code", "REPL" }) do
		lu.assertStrContains(commands, cmd)
	end
end

function TestManpage.testExitStatusesAreDesignMdOnes()
	local status = section(rendered(), "EXIT STATUS")
	for _, code in ipairs({ "0", "1", "2" }) do
		lu.assertStrMatches(status, ".*\n       " .. code .. "      .*")
	end
	lu.assertStrContains(status, "panic")
	lu.assertStrContains(status, "deadlock")
end

function TestManpage.testVersionIsTheProgramOne()
	local version = run(EXE .. " --version"):match("^chanlab (%S+)")
	local f = assert(io.open(PAGE))
	local th = f:read("a"):match("\n%.TH [^\n]*")
	f:close()
	lu.assertStrContains(th, '"chanlab ' .. version .. '"')
end

os.exit(lu.LuaUnit.run())
