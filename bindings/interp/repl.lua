-- The interactive prompt of `chanlab` (runs as the main goroutine, so
-- go, channels and select work as in a script).  A line is tried as an
-- expression first, then as a statement; an incomplete chunk asks for more.
io.write("chanlab: goroutines, channels and select in ", _VERSION, ". Ctrl-D exits.\n")
local buffer = ""
while true do
  io.write(buffer == "" and "> " or ">> ")
  io.flush()
  local line = io.read("L")
  if not line then io.write("\n") break end
  buffer = buffer .. line
  local f, err = load("return " .. buffer, "=stdin")
  if not f then f, err = load(buffer, "=stdin") end
  if not f and err:match("<eof>$") then
    -- incomplete: keep reading
  else
    buffer = ""
    if not f then
      print(err)
    else
      local r = table.pack(xpcall(f, debug.traceback))
      if not r[1] then print(r[2])
      elseif r.n > 1 then print(table.unpack(r, 2, r.n)) end
    end
  end
end
