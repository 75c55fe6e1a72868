-- A pattern that backtracks for hours, inside one C call (no count hook
-- runs there): the watchdog names the line the match was called from.
-- args: --sandbox --cpu-limit 1
-- expect: fatal error: program exceeded its CPU limit (1 s)
-- expect: backtrack.lua:8
-- bound: cpu 1
local s = ("a"):rep(50000)
print(s:find(".-.-.-.-.-b"))
