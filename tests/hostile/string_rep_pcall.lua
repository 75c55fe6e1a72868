-- Catching "not enough memory" does not help.
-- args: --sandbox --mem-limit 64M
-- expect: fatal error: program exceeded its memory limit (64 MiB)
-- expect: string_rep_pcall.lua:7:
-- bound: rss 64M
while true do
  pcall(string.rep, "x", 1e8)
end
