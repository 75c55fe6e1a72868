-- Prime sieve: a daisy chain of goroutines, one filter per prime found.
--
-- The classic from Go's early talks.  A generator sends 2, 3, 4, ...; each
-- prime p gets a goroutine that passes on only the numbers not divisible
-- by p.  The first number to reach the end of the chain is always the next
-- prime, which then gets its own filter.
--   chanlab run scripts/prime_sieve.lua [N]      (default: first 25 primes)
local N = tonumber((...)) or 25

local function generate(out)
  local i = 2
  while true do out:send(i); i = i + 1 end    -- runs until the program ends
end

local function filter(input, out, p)
  while true do
    local v = input:recv()
    if v % p ~= 0 then out:send(v) end
  end
end

local ch = chan()
go(generate, ch)
local primes = {}
for i = 1, N do
  local p = ch:recv()
  primes[i] = p
  local next_ch = chan()
  go(filter, ch, next_ch, p)     -- a new Lua state per prime
  ch = next_ch
end
print(string.format("first %d primes: %s", N, table.concat(primes, " ")))
print(string.format("goroutines alive (main, generator, %d filters): %d", N, runtime.goroutines()))
-- Returning from the main script ends the program, filters and all.
