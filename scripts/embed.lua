-- embed.lua NAME FILE: print FILE as a C string constant named NAME, so the
-- interpreter carries its Lua parts (lab runner, prompt) inside the binary.
local name, path = ...
local f = assert(io.open(path, "rb"))
local src = f:read("a")
f:close()
io.write("/* generated from ", path, " by scripts/embed.lua; do not edit */\n")
io.write("static const char ", name, "[] =\n")
for line in src:gmatch("[^\n]*\n?") do
  if line ~= "" then
    io.write('\t"', (line:gsub('[\\"]', "\\%0"):gsub("\n", "\\n"):gsub("\t", "\\t")), '"\n')
  end
end
io.write(";\n")
