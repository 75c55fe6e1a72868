-- The main goroutine waits forever while another spins (CPU limit off).
-- args: --timeout 1
-- expect: fatal error: program exceeded its time limit (1 s)
-- expect: created by go() at
-- bound: wall 1
go(function() while true do end end)
chan():recv()
