-- FFI call overhead: N calls of libc's abs through LuaJIT's FFI, the loop
-- of abs_loop.kn; prints the same sum. N: the first argument (default
-- 10000000). Run with `luajit -joff` (interpreter) and `luajit`.
local ffi = require("ffi")
ffi.cdef[[int abs(int);]]
local C = ffi.C
local abs = C.abs

local n = 10000000
if arg[1] then n = assert(tonumber(arg[1]), "N must be an integer") end
local s, i = 0, 0
while i < n do
    s = s + abs(i - 5)
    i = i + 1
end
print(string.format("%.0f", s))   -- a double: exact up to 2^53, no exponent
