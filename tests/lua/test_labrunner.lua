-- test_labrunner.lua - LuaUnit tests of the lab runner (bindings/interp/lab.lua):
-- the .out matcher, its placeholders, how failures are reported, and the
-- verify loop with a fake runner.  Runs under `chanlab` and under a stock
-- lua5.4 alike (the runner's matcher is plain Lua):
--   build/chanlab tests/lua/test_labrunner.lua
--   lua5.4 tests/lua/test_labrunner.lua
local lu = require("luaunit")

-- Find bindings/interp/lab.lua from this file's own path, whatever the cwd.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local lab = assert(loadfile(here .. "/../../bindings/interp/lab.lua"))("--module")

TestMatchLine = {}

function TestMatchLine.testExact()
	lu.assertTrue(lab.match_line("Sum: 385", "Sum: 385"))
	lu.assertFalse(lab.match_line("Sum: 385", "Sum: 386"))
	lu.assertFalse(lab.match_line("Sum: 385", "Sum: 385 "))
	lu.assertFalse(lab.match_line("Sum: 385", "Sum: 38"))
	lu.assertTrue(lab.match_line("", ""))
end

function TestMatchLine.testMagicCharactersAreLiteral()
	-- Lua pattern characters in plain text must not act as a pattern.
	lu.assertTrue(lab.match_line("[1 4 9] 100% (a.b)*", "[1 4 9] 100% (a.b)*"))
	lu.assertFalse(lab.match_line("a.c", "abc"))
end

function TestMatchLine.testInt()
	lu.assertTrue(lab.match_line("counter = {{int}} of 400", "counter = 391 of 400"))
	lu.assertTrue(lab.match_line("x {{int}}", "x -12"))
	lu.assertFalse(lab.match_line("counter = {{int}} of 400", "counter =  of 400"))
	lu.assertFalse(lab.match_line("counter = {{int}} of 400", "counter = 3.5 of 400"))
	lu.assertFalse(lab.match_line("n={{int}}", "n=12abc"))
end

function TestMatchLine.testNum()
	for _, s in ipairs({ "3", "3.25", "-0.5", ".5", "1e-05", "2.5E+10" }) do
		lu.assertTrue(lab.match_line("took {{num}} s", "took " .. s .. " s"), s)
	end
	for _, s in ipairs({ "", "abc", ".", "1.2.3", "e5" }) do
		lu.assertFalse(lab.match_line("took {{num}} s", "took " .. s .. " s"), s)
	end
end

function TestMatchLine.testAny()
	lu.assertTrue(lab.match_line("goroutine {{int}} [{{any}}]:", "goroutine 7 [chan receive]:"))
	lu.assertTrue(lab.match_line("a{{any}}b", "ab"))
	lu.assertTrue(lab.match_line("{{any}}", "whatever at all"))
	lu.assertFalse(lab.match_line("a{{any}}b", "a--c"))
end

function TestMatchLine.testLuaPattern()
	lu.assertTrue(lab.match_line("{{lua:%s+}}forgot_close.lua:{{int}}: in main chunk",
		"\tforgot_close.lua:17: in main chunk"))
	lu.assertTrue(lab.match_line("speedup {{lua:%d%.%dx}}", "speedup 1.9x"))
	lu.assertFalse(lab.match_line("speedup {{lua:%d%.%dx}}", "speedup 1.95x"))
	-- a literal "{{" through a Lua pattern
	lu.assertTrue(lab.match_line("{{lua:{{}}x", "{{x"))
end

function TestMatchLine.testSeveralPlaceholdersBacktrack()
	lu.assertTrue(lab.match_line("{{any}}: {{int}} ok", "a: b: 3 ok"))
	lu.assertTrue(lab.match_line("{{int}}{{int}}", "12"))
end

function TestMatchLine.testUnknownPlaceholderRaises()
	lu.assertErrorMsgContains("unknown placeholder {{float}}",
		lab.match_line, "x {{float}}", "x 1.0")
	lu.assertErrorMsgContains("bad Lua pattern", lab.match_line, "{{lua:[a}}", "a")
end

function TestMatchLine.testUnclosedBracesArePlain()
	lu.assertTrue(lab.match_line("a {{ b", "a {{ b"))
end

TestMatchLines = {}

local function L(text) return lab.split_lines(text) end

function TestMatchLines.testSplitLines()
	lu.assertEquals(L("a\nb\n"), { "a", "b" })
	lu.assertEquals(L("a\nb"), { "a", "b" })
	lu.assertEquals(L("a\n\nb\n"), { "a", "", "b" })
	lu.assertEquals(L(""), {})
end

function TestMatchLines.testSame()
	lu.assertTrue(lab.match_lines(L("11\n14\n19\n"), L("11\n14\n19\n")))
end

function TestMatchLines.testChangedLineReportedWithNumber()
	local ok, f = lab.match_lines(L("11\n14\n19\n26\n"), L("11\n14\n20\n26\n"))
	lu.assertFalse(ok)
	lu.assertEquals(f.line, 3)
	lu.assertEquals(lab.describe(f), 'line 3: expected "19" got "20"')
end

function TestMatchLines.testMissingLines()
	local ok, f = lab.match_lines(L("a\nb\nc\n"), L("a\nb\n"))
	lu.assertFalse(ok)
	lu.assertEquals(lab.describe(f), 'line 3: expected "c" got end of output')
end

function TestMatchLines.testExtraLines()
	local ok, f = lab.match_lines(L("a\nb\n"), L("a\nb\nc\nd\n"))
	lu.assertFalse(ok)
	lu.assertEquals(lab.describe(f), 'line 3: unexpected extra line "c"')
end

function TestMatchLines.testAnyLines()
	local exp = L("fatal error: boom\n\ngoroutine 1 [chan receive]:\n{{...}}\nend\n")
	lu.assertTrue(lab.match_lines(exp,
		L("fatal error: boom\n\ngoroutine 1 [chan receive]:\nx.lua:3\ny.lua:4\nend\n")))
	-- zero lines
	lu.assertTrue(lab.match_lines(exp, L("fatal error: boom\n\ngoroutine 1 [chan receive]:\nend\n")))
	-- at the very end it swallows everything left
	lu.assertTrue(lab.match_lines(L("a\n{{...}}\n"), L("a\nb\nc\n")))
	lu.assertTrue(lab.match_lines(L("a\n{{...}}\n"), L("a\n")))
	-- but the lines after it must still come
	local ok, f = lab.match_lines(exp, L("fatal error: boom\n\ngoroutine 1 [chan receive]:\nx.lua:3\n"))
	lu.assertFalse(ok)
	lu.assertEquals(f.expected, "end")
	lu.assertNil(f.got)
end

function TestMatchLines.testFailureAfterAnyLinesPointsAtFurthestLine()
	local ok, f = lab.match_lines(L("a\n{{...}}\nz\nlast\n"), L("a\nb\nz\nwrong\n"))
	lu.assertFalse(ok)
	lu.assertEquals(lab.describe(f), 'line 4: expected "last" got "wrong"')
end

TestCompare = {}

function TestCompare.testExitStatusFooter()
	local lines, status = lab.parse_expected("got 1\npanic: x\nexit status 2\n")
	lu.assertEquals(lines, { "got 1", "panic: x" })
	lu.assertEquals(status, 2)
	lines, status = lab.parse_expected("11\n14\n")
	lu.assertEquals(lines, { "11", "14" })
	lu.assertEquals(status, 0)
end

function TestCompare.testPass()
	lu.assertTrue(lab.compare("a\n{{int}}\nexit status 2\n", "a\n42\n", 2))
	lu.assertTrue(lab.compare("a\n", "a\n", 0))
end

function TestCompare.testExitStatusMismatch()
	local ok, msg = lab.compare("a\nexit status 2\n", "a\n", 0)
	lu.assertFalse(ok)
	lu.assertEquals(msg, "exit status: expected 2, got 0")
	ok, msg = lab.compare("a\n", "a\n", 1)
	lu.assertFalse(ok)
	lu.assertEquals(msg, "exit status: expected 0, got 1")
end

function TestCompare.testLinesCheckedBeforeStatus()
	local ok, msg = lab.compare("a\nexit status 2\n", "b\n", 0)
	lu.assertFalse(ok)
	lu.assertEquals(msg, 'line 1: expected "a" got "b"')
end

function TestCompare.testBadOutFile()
	local ok, msg = lab.compare("{{nope}}\n", "x\n", 0)
	lu.assertFalse(ok)
	lu.assertStrContains(msg, "bad .out file: unknown placeholder {{nope}}")
end

function TestCompare.testParseRun()
	local out, status = lab.parse_run("a\nb\n__EXIT__2\n")
	lu.assertEquals(out, "a\nb\n")
	lu.assertEquals(status, 2)
	out, status = lab.parse_run("no newline__EXIT__0\n")
	lu.assertEquals(out, "no newline")
	lu.assertEquals(status, 0)
	out, status = lab.parse_run("__EXIT__124\n")
	lu.assertEquals(out, "")
	lu.assertEquals(status, 124)
end

TestRunner = {}

-- A scratch labs folder with two labs and a mistake, and a fake capture()
-- so the verify loop is tested without running anything.
local function scratch()
	local dir = os.tmpname()
	os.remove(dir)
	assert(os.execute("mkdir -p " .. lab.shell_quote(dir .. "/mistakes")))
	local function put(name, text)
		local f = assert(io.open(dir .. "/" .. name, "w"))
		f:write(text)
		f:close()
	end
	put("01_alpha.lua", "-- Step 1: Alpha - the first one.\nprint(1)\n")
	put("01_alpha.out", "1\n")
	put("02_beta.lua", "#!/usr/bin/env chanlab\n\n-- Beta: second\n")
	put("02_beta.out", "b {{int}}\n")
	put("mistakes/boom.lua", "-- Boom: panics\n")
	put("mistakes/boom.out", "panic: boom\n{{...}}\nexit status 2\n")
	return dir
end

local function capture_lines(fn)
	local lines, real = {}, print
	print = function(...) lines[#lines + 1] = table.concat({ ... }, "\t") end
	local ok, a, b = pcall(fn)
	print = real
	assert(ok, a)
	return lines, a, b
end

function TestRunner.testFindResolveDescribe()
	local dir = scratch()
	local entries = lab.find_labs(dir)
	lu.assertEquals(#entries, 3)
	lu.assertEquals(entries[1].name, "01_alpha")
	lu.assertEquals(entries[1].desc, "Step 1: Alpha - the first one.")
	lu.assertEquals(entries[2].desc, "Beta: second")
	lu.assertEquals(entries[3].name, "mistakes/boom")
	lu.assertEquals(lab.resolve(entries, "2").name, "02_beta")
	lu.assertEquals(lab.resolve(entries, "02").name, "02_beta")
	lu.assertEquals(lab.resolve(entries, "beta").name, "02_beta")
	lu.assertEquals(lab.resolve(entries, "boom").name, "mistakes/boom")
	lu.assertEquals(lab.resolve(entries, "mistakes/boom").name, "mistakes/boom")
	lu.assertNil(lab.resolve(entries, "9"))
	os.execute("rm -rf " .. lab.shell_quote(dir))
end

function TestRunner.testVerifyReportsEachLabAndSummary()
	local dir = scratch()
	local entries = lab.find_labs(dir)
	local fake = {
		["01_alpha"] = { "1\n", 0 },
		["02_beta"] = { "b x\n", 0 },                     -- wrong line
		["mistakes/boom"] = { "panic: boom\ntrace\n", 0 }, -- wrong status
	}
	local lines, passed, failed = capture_lines(function()
		return lab.verify(entries, false, "chanlab", function(_, e)
			return fake[e.name][1], fake[e.name][2]
		end)
	end)
	lu.assertEquals(passed, 1)
	lu.assertEquals(failed, 2)
	lu.assertEquals(lines, {
		"✓ 01_alpha",
		'✗ 02_beta: line 1: expected "b {{int}}" got "b x"',
		"✗ mistakes/boom: exit status: expected 2, got 0",
		"labs: 1 passed, 2 failed",
	})
	os.execute("rm -rf " .. lab.shell_quote(dir))
end

function TestRunner.testTimeoutReported()
	local dir = scratch()
	local e = lab.find_labs(dir)[1]
	local saved = lab.timeout_cmd
	lab.timeout_cmd = "timeout 60"
	local ok, msg = lab.check(e, "", 124)
	lab.timeout_cmd = saved
	lu.assertFalse(ok)
	lu.assertEquals(msg, "timed out after 60 s")
	os.execute("rm -rf " .. lab.shell_quote(dir))
end

-- Under chanlab (run.sh sets CHANLAB) run the real runner end to end on the
-- scratch folder: a real subprocess per lab, real exit statuses.
function TestRunner.testEndToEnd()
	local exe = os.getenv("CHANLAB")
	if not exe then lu.skip("CHANLAB not set (run by tests/run.sh)") end
	local dir = scratch()
	local f = assert(io.open(dir .. "/02_beta.lua", "w"))
	f:write("-- Beta\nprint('b ' .. 6 * 7)\n")
	f:close()
	f = assert(io.open(dir .. "/mistakes/boom.lua", "w"))
	f:write("-- Boom\nerror('boom', 0)\n")
	f:close()
	local p = assert(io.popen("CHANLAB_LABS=" .. lab.shell_quote(dir) .. " " ..
		lab.shell_quote(exe) .. " lab verify 2>&1; echo __EXIT__$?"))
	local out, status = lab.parse_run(p:read("a"))
	p:close()
	lu.assertEquals(lab.split_lines(out), {
		"✓ 01_alpha", "✓ 02_beta", "✓ mistakes/boom", "labs: 3 passed, 0 failed" })
	lu.assertEquals(status, 0)
	os.execute("rm -rf " .. lab.shell_quote(dir))
end

os.exit(lu.LuaUnit.run())
