-- args: --sandbox --cpu-limit 1
-- expect: fatal error: program exceeded its CPU limit (1 s)
-- expect: goroutine 1 [running]:
-- expect: spin.lua:8:
-- stdout: before
-- bound: cpu 1
print("before")
while true do end
