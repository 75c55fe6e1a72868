-- args: --sandbox
-- expect: fatal error: program exceeded its goroutine limit (10000)
-- expect: goroutine_bomb.lua:4:
local function bomb() go(bomb); go(bomb); time.sleep(100) end
bomb()
