-- args: --sandbox
-- expect: panic: sandbox: io.open is not available
-- expect: io_open.lua:4:
local f = io.open("/etc/passwd")
