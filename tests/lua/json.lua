-- json.lua - a strict JSON decoder (RFC 8259) for the tests: objects
-- become tables, arrays become tables with n = their length, null
-- becomes json.null.  Anything that is not JSON raises, with the byte
-- offset: trailing commas, single quotes, bare words, control
-- characters in strings, invalid UTF-8, leading zeros, text after the
-- value.
--   local json = require("json")
--   local doc = json.decode(text)
local json = { null = setmetatable({}, { __tostring = function() return "null" end }) }

local byte, sub, find = string.byte, string.sub, string.find

local function fail(pos, what)
  error(("json: %s at byte %d"):format(what, pos), 0)
end

local function skip(s, i)
  return (find(s, "[^ \t\r\n]", i)) or #s + 1
end

local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f",
                  n = "\n", r = "\r", t = "\t" }

local function utf8_char(s, i, pos)
  local n = utf8.len(s, i, i)  -- validates one character
  if not n then fail(pos, "invalid UTF-8") end
  local c = utf8.codepoint(s, i)
  return utf8.char(c), i + #utf8.char(c)
end

local function str(s, i)   -- s[i] is the opening quote
  local out, j = {}, i + 1
  while true do
    local c = byte(s, j)
    if not c then fail(i, "unterminated string") end
    if c == 34 then return table.concat(out), j + 1 end
    if c < 32 then fail(j, "control character in string") end
    if c == 92 then
      local e = sub(s, j + 1, j + 1)
      if e == "u" then
        local hex = sub(s, j + 2, j + 5)
        if not hex:match("^%x%x%x%x$") then fail(j, "bad \\u escape") end
        local cp = tonumber(hex, 16)
        j = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          local lo = sub(s, j, j + 5):match("^\\u(%x%x%x%x)$")
          if not lo then fail(j, "lone surrogate") end
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (tonumber(lo, 16) - 0xDC00)
          j = j + 6
        end
        out[#out + 1] = utf8.char(cp)
      elseif escapes[e] then
        out[#out + 1] = escapes[e]
        j = j + 2
      else
        fail(j, "bad escape")
      end
    elseif c < 128 then
      local k = find(s, '["\\\0-\31\128-\255]', j)
      if not k then fail(i, "unterminated string") end
      out[#out + 1] = sub(s, j, k - 1)
      j = k
    else
      local ch
      ch, j = utf8_char(s, j, j)
      out[#out + 1] = ch
    end
  end
end

local value

local function array(s, i)
  local t, n = {}, 0
  i = skip(s, i + 1)
  if byte(s, i) == 93 then t.n = 0 return t, i + 1 end
  while true do
    n = n + 1
    t[n], i = value(s, i)
    i = skip(s, i)
    local c = byte(s, i)
    if c == 93 then t.n = n return t, i + 1 end
    if c ~= 44 then fail(i, "expected ',' or ']'") end
    i = skip(s, i + 1)
    if byte(s, i) == 93 then fail(i, "trailing comma") end
  end
end

local function object(s, i)
  local t = {}
  i = skip(s, i + 1)
  if byte(s, i) == 125 then return t, i + 1 end
  while true do
    if byte(s, i) ~= 34 then fail(i, "expected a string key") end
    local k
    k, i = str(s, i)
    i = skip(s, i)
    if byte(s, i) ~= 58 then fail(i, "expected ':'") end
    t[k], i = value(s, skip(s, i + 1))
    i = skip(s, i)
    local c = byte(s, i)
    if c == 125 then return t, i + 1 end
    if c ~= 44 then fail(i, "expected ',' or '}'") end
    i = skip(s, i + 1)
    if byte(s, i) == 125 then fail(i, "trailing comma") end
  end
end

function value(s, i)
  local c = byte(s, i)
  if c == 123 then return object(s, i) end
  if c == 91 then return array(s, i) end
  if c == 34 then return str(s, i) end
  if sub(s, i, i + 3) == "true" then return true, i + 4 end
  if sub(s, i, i + 4) == "false" then return false, i + 5 end
  if sub(s, i, i + 3) == "null" then return json.null, i + 4 end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  if num and num ~= "" and num ~= "-" then
    if not num:match("^-?0%d") and not num:match("%.$") and not num:match("[eE][-+]?$")
       and (num:match("^-?%d+$") or num:match("^-?%d+%.%d+$") or
            num:match("^-?%d+%.?%d*[eE][-+]?%d+$")) then
      return tonumber(num), i + #num
    end
  end
  fail(i, "unexpected " .. (c and ("'" .. string.char(c) .. "'") or "end"))
end

function json.decode(s)
  local v, i = value(s, skip(s, 1))
  i = skip(s, i)
  if i <= #s then fail(i, "text after the value") end
  return v
end

return json
