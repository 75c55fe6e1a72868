--[[
lab.lua - the lab runner behind `chanlab lab list | run N | verify [N] [--show]`.

The interpreter runs this script with `...` = the words after `lab` and two
globals: CHANLAB_EXE (absolute path of the running chanlab) and CHANLAB_LABS
(the labs folder; the environment variable CHANLAB_LABS overrides it, which
is how tests point the runner at a scratch folder).  Loaded any other way
(`loadfile(path)("--module")`, or with CHANLAB_EXE unset, e.g. from a stock
lua5.4) it runs nothing and returns its functions, so the matcher can be
unit-tested (tests/lua/test_labrunner.lua).

A lab is labs/NN_name.lua with its expected output labs/NN_name.out; a
mistake is labs/mistakes/name.lua with labs/mistakes/name.out.  Each runs as
a subprocess, from its own folder (so tracebacks name `name.lua:LINE`), with
stdout and stderr merged, under `timeout 60` when that exists.

The .out format
  Each line of the output must equal the expected line, except for these
  placeholders:
    {{int}}        an integer: optional sign, digits            -12, 8000000
    {{num}}        a decimal number, optional fraction/exponent 3.25, 1e-05
    {{any}}        any text on this line, possibly empty
    {{lua:PAT}}    text matching the Lua pattern PAT as a whole (PAT cannot
                   contain "}}"; a literal "{{" is written {{lua:{{}})
  A line that is exactly
    {{...}}
  matches zero or more whole lines (tracebacks, goroutine dumps).
  If the last line of a .out is `exit status N`, the script must exit with
  status N (like the footer `go run` prints); otherwise it must exit 0.
  Any other {{word}} is an error in the .out file and fails the lab.

Failures are reported at the first line that cannot be matched, numbered
as in the actual output:
  line 5: expected "..." got "..."
  line 9: expected "..." got end of output
  line 9: unexpected extra line "..."
  exit status: expected 2, got 0
]]

local M = {}

M.TIMEOUT = 60   -- seconds per lab in `verify`

---------------------------------------------------------------------------
-- Matching one line
---------------------------------------------------------------------------

-- Each placeholder is a predicate on the whole substring it would cover;
-- the line matcher tries every split, so no alternation is needed in a
-- pattern (Lua patterns have none).
local PLACEHOLDERS = {
	int = function(s) return s:find("^[-+]?%d+$") ~= nil end,
	num = function(s)
		local mantissa = s:match("^(.-)[eE][-+]?%d+$") or s
		return mantissa:find("^[-+]?%d*%.?%d*$") ~= nil
			and mantissa:find("%d") ~= nil
	end,
	any = function() return true end,
}

-- compile_line(line) -> tokens
-- Splits an expected line into literal strings and placeholder predicates.
-- Raises "unknown placeholder {{x}}" for a {{word}} it does not know.
function M.compile_line(line)
	local tokens, pos = {}, 1
	while true do
		local s = line:find("{{", pos, true)
		if not s then break end
		local e = line:find("}}", s + 2, true)
		if not e then break end        -- an unclosed {{ is plain text
		if s > pos then tokens[#tokens + 1] = line:sub(pos, s - 1) end
		local body = line:sub(s + 2, e - 1)
		local lpat = body:match("^lua:(.*)$")
		if lpat then
			local anchored = "^" .. lpat .. "$"
			local ok, err = pcall(string.find, "", anchored)
			if not ok then
				error("bad Lua pattern in {{" .. body .. "}}: " .. tostring(err), 0)
			end
			tokens[#tokens + 1] = function(sub) return sub:find(anchored) ~= nil end
		elseif PLACEHOLDERS[body] then
			tokens[#tokens + 1] = PLACEHOLDERS[body]
		else
			error("unknown placeholder {{" .. body .. "}}", 0)
		end
		pos = e + 2
	end
	if pos <= #line then tokens[#tokens + 1] = line:sub(pos) end
	return tokens
end

-- Does s[pos..] match tokens[ti..]?  Literals must appear exactly;
-- a predicate tries every end position, longest first.  Cost: O(n^k) for
-- k placeholders on a line of n characters, which lab lines keep tiny.
local function match_tokens(tokens, ti, s, pos)
	local tok = tokens[ti]
	if tok == nil then return pos == #s + 1 end
	if type(tok) == "string" then
		if s:sub(pos, pos + #tok - 1) ~= tok then return false end
		return match_tokens(tokens, ti + 1, s, pos + #tok)
	end
	for j = #s, pos - 1, -1 do
		if tok(s:sub(pos, j)) and match_tokens(tokens, ti + 1, s, j + 1) then
			return true
		end
	end
	return false
end

-- match_line(expected, actual) -> boolean.  Raises on a bad placeholder.
function M.match_line(expected, actual)
	return match_tokens(M.compile_line(expected), 1, actual, 1)
end

---------------------------------------------------------------------------
-- Matching whole outputs
---------------------------------------------------------------------------

-- split_lines(text) -> lines.  A final newline does not make an empty line.
function M.split_lines(text)
	local lines = {}
	if text == "" then return lines end
	if text:sub(-1) ~= "\n" then text = text .. "\n" end
	for line in text:gmatch("(.-)\r?\n") do lines[#lines + 1] = line end
	return lines
end

-- parse_expected(text) -> lines, exit_status
-- Takes the optional `exit status N` footer off the expected lines.
function M.parse_expected(text)
	local lines = M.split_lines(text)
	local status = 0
	local n = lines[#lines] and lines[#lines]:match("^exit status (%d+)$")
	if n then
		status = tonumber(n)
		lines[#lines] = nil
	end
	return lines, status
end

-- match_lines(expected, actual) -> true | false, failure
-- expected may hold "{{...}}" lines (zero or more lines).  On failure,
-- failure = { line = index in actual, expected = line or nil (none left),
-- got = line or nil (end of output) }: the attempt that got furthest
-- through the expected lines (then through the actual ones), which is
-- where a reader wants to look.
-- Raises on a bad placeholder in expected.
function M.match_lines(expected, actual)
	local compiled = {}
	for i, line in ipairs(expected) do
		compiled[i] = line == "{{...}}" and "..." or M.compile_line(line)
	end
	local failed = {}            -- memo of (ei, ai) pairs known to fail
	local best                   -- furthest failure seen
	local function fail(ei, ai)
		if not best or ei > best.ei or (ei == best.ei and ai > best.ai) then
			best = { ei = ei, ai = ai }
		end
		return false
	end
	local function go_from(ei, ai)
		local key = ei * (#actual + 2) + ai
		if failed[key] then return false end
		local ok
		local pat = compiled[ei]
		if pat == nil then
			ok = ai > #actual or fail(ei, ai)
		elseif pat == "..." then
			ok = false
			for k = ai, #actual + 1 do         -- lazy: fewest lines first
				if go_from(ei + 1, k) then ok = true break end
			end
		elseif ai > #actual then
			ok = fail(ei, ai)
		else
			ok = (match_tokens(pat, 1, actual[ai], 1) or fail(ei, ai))
				and go_from(ei + 1, ai + 1)
		end
		if not ok then failed[key] = true end
		return ok
	end
	if go_from(1, 1) then return true end
	return false, { line = best.ai, expected = expected[best.ei],
		got = actual[best.ai] }
end

-- describe(failure) -> the one-line message for a match_lines failure.
function M.describe(f)
	if f.expected == nil then
		return string.format("line %d: unexpected extra line %q", f.line, f.got)
	elseif f.got == nil then
		return string.format("line %d: expected %q got end of output",
			f.line, f.expected)
	end
	return string.format("line %d: expected %q got %q", f.line, f.expected, f.got)
end

-- compare(expected_text, output, status) -> true | false, message
-- The whole check of one run: lines first, then the exit status.
function M.compare(expected_text, output, status)
	local expected, want = M.parse_expected(expected_text)
	local okp, ok, f = pcall(M.match_lines, expected, M.split_lines(output))
	if not okp then return false, "bad .out file: " .. tostring(ok) end
	if not ok then return false, M.describe(f) end
	if status ~= want then
		return false, string.format("exit status: expected %d, got %d", want, status)
	end
	return true
end

---------------------------------------------------------------------------
-- Finding and running labs
---------------------------------------------------------------------------

local function shell_quote(s)
	return "'" .. s:gsub("'", "'\\''") .. "'"
end
M.shell_quote = shell_quote

local function read_file(path)
	local f = io.open(path, "rb")
	if not f then return nil end
	local s = f:read("a")
	f:close()
	return s
end

-- description(path) -> the lab's first comment line, without "-- ".
function M.description(path)
	local f = io.open(path, "r")
	if not f then return "" end
	for line in f:lines() do
		local text = line:match("^%-%-+%s*(.-)%s*$")
		if text and text ~= "" then f:close() return text end
		if not line:find("^%s*$") and not line:find("^#!") then break end
	end
	f:close()
	return ""
end

-- list_dir(dir) -> sorted file names matching pat
local function list_dir(dir, pat)
	local names = {}
	local p = io.popen("ls -1 " .. shell_quote(dir) .. " 2>/dev/null")
	if p then
		for name in p:lines() do
			if name:find(pat) then names[#names + 1] = name end
		end
		p:close()
	end
	table.sort(names)
	return names
end

-- find_labs(dir) -> entries { name, num (labs only), dir, file, desc }:
-- the numbered labs in order, then the mistakes.
function M.find_labs(dir)
	local entries = {}
	for _, file in ipairs(list_dir(dir, "^%d%d_.*%.lua$")) do
		entries[#entries + 1] = { name = file:sub(1, -5),
			num = tonumber(file:sub(1, 2)), dir = dir, file = file,
			desc = M.description(dir .. "/" .. file) }
	end
	local mdir = dir .. "/mistakes"
	for _, file in ipairs(list_dir(mdir, "^[%w_]+%.lua$")) do
		entries[#entries + 1] = { name = "mistakes/" .. file:sub(1, -5),
			dir = mdir, file = file, desc = M.description(mdir .. "/" .. file) }
	end
	return entries
end

-- resolve(entries, key) -> entry or nil
-- key: "3", "03", "03_semaphore", "semaphore", "mistakes/nil_channel",
-- "nil_channel".
function M.resolve(entries, key)
	local n = tonumber(key)
	for _, e in ipairs(entries) do
		local short = e.name:gsub("^mistakes/", ""):gsub("^%d%d_", "")
		if (n and e.num == n) or e.name == key or short == key
			or e.name:gsub("^mistakes/", "") == key then
			return e
		end
	end
	return nil
end

-- command(exe, entry, args, exec) -> the shell command that runs one lab.
-- exec: the shell replaces itself by chanlab, so that a Ctrl-C reaches
-- only the lab (used by `run`, whose output and status pass straight on).
local function command(exe, e, args, exec)
	local words = { "cd", shell_quote(e.dir), "&&" }
	if exec then words[#words + 1] = "exec" end
	if M.timeout_cmd then words[#words + 1] = M.timeout_cmd end
	words[#words + 1] = shell_quote(exe)
	words[#words + 1] = "run"
	words[#words + 1] = shell_quote(e.file)
	for _, a in ipairs(args or {}) do words[#words + 1] = shell_quote(a) end
	return table.concat(words, " ")
end

-- parse_run(raw) -> output, status: splits off the "__EXIT__N" marker
-- that capture() appends (on a line of its own, or after an unterminated
-- last line).
function M.parse_run(raw)
	local body, n = raw:match("^(.*)__EXIT__(%d+)\n?$")
	if not body then return raw, -1 end
	return body, tonumber(n)
end

-- capture(exe, entry) -> output, status (stdout and stderr merged)
function M.capture(exe, e)
	local p = assert(io.popen(command(exe, e) ..
		" </dev/null 2>&1; echo __EXIT__$?"))
	local raw = p:read("a")
	p:close()
	return M.parse_run(raw)
end

-- check(entry, output, status) -> ok, message
function M.check(e, output, status)
	local expected = read_file(e.dir .. "/" .. e.file:sub(1, -5) .. ".out")
	if not expected then return false, "no expected output (.out file)" end
	if M.timeout_cmd and status == 124 then
		return false, string.format("timed out after %d s", M.TIMEOUT)
	end
	return M.compare(expected, output, status)
end

local function indent(text)
	return (text:gsub("[^\n]+", "    %0"))
end

-- verify(entries, show, exe, capture) -> passed, failed
-- Prints one ✓/✗ line per entry (and its output when show) and the summary.
function M.verify(entries, show, exe, capture)
	capture = capture or M.capture
	local passed, failed = 0, 0
	for _, e in ipairs(entries) do
		local output, status = capture(exe, e)
		local ok, msg = M.check(e, output, status)
		if ok then
			passed = passed + 1
			print("✓ " .. e.name)
		else
			failed = failed + 1
			print("✗ " .. e.name .. ": " .. msg)
		end
		if show then
			io.write(indent(output))
			if output ~= "" and output:sub(-1) ~= "\n" then io.write("\n") end
			if status ~= 0 then print("    [exit status " .. status .. "]") end
		end
		io.stdout:flush()
	end
	print(string.format("labs: %d passed, %d failed", passed, failed))
	return passed, failed
end

local USAGE = [[
usage: chanlab lab list                 the labs and what each teaches
       chanlab lab run N [args...]      run lab N (or a mistake, by name)
       chanlab lab verify [N] [--show]  check outputs against the .out files]]

-- main(args) -> exit status
function M.main(args, exe, dir)
	local cmd = args[1]
	if os.execute("command -v timeout >/dev/null 2>&1") then
		M.timeout_cmd = "timeout " .. M.TIMEOUT
	end
	local entries = M.find_labs(dir)
	if cmd == "list" then
		for _, e in ipairs(entries) do
			local label = e.num and string.format("%2d  %-28s", e.num, e.name)
				or string.format("    %-28s", e.name)
			print(label .. "  " .. e.desc)
		end
		return 0
	elseif cmd == "run" and args[2] then
		local e = M.resolve(entries, args[2])
		if not e then
			io.stderr:write("chanlab lab: no lab " .. args[2] .. "\n")
			return 1
		end
		local saved = M.timeout_cmd
		M.timeout_cmd = nil              -- interactive: no time limit
		local rest = table.move(args, 3, #args, 1, {})
		local ok, how, n = os.execute(command(exe, e, rest, true))
		M.timeout_cmd = saved
		if ok then return 0 end
		if how == "signal" then return 128 + n end
		return n or 1
	elseif cmd == "verify" then
		local show, picked = false, {}
		for i = 2, #args do
			if args[i] == "--show" then
				show = true
			else
				local e = M.resolve(entries, args[i])
				if not e then
					io.stderr:write("chanlab lab: no lab " .. args[i] .. "\n")
					return 1
				end
				picked[#picked + 1] = e
			end
		end
		if #picked == 0 then picked = entries end
		local _, failed = M.verify(picked, show, exe)
		return failed == 0 and 0 or 1
	end
	if cmd == nil or cmd == "help" or cmd == "--help" then
		print(USAGE)
		return 0
	end
	io.stderr:write(USAGE .. "\n")
	return 1
end

if (...) == "--module" or CHANLAB_EXE == nil then
	return M
end

local status = M.main({ ... }, CHANLAB_EXE, os.getenv("CHANLAB_LABS") or CHANLAB_LABS)
io.stdout:flush()
if status ~= 0 then os.exit(status) end
