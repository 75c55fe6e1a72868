-- Deep recursion is Lua's own "stack overflow" error, not a crash.
-- args: --sandbox
-- expect: panic: 
-- expect: stack overflow
local function f(n) return f(n + 1) + 1 end
f(1)
