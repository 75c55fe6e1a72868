-- The C module searcher is gone: even the chanlab module file is not loaded.
-- args: --sandbox
-- expect: sandbox: bad module name
-- expect: C modules are not available
local ok, err = pcall(require, "socket.core")
io.stderr:write(err, "\n")
require("../../usr/lib/x86_64-linux-gnu/liblua5.4")
