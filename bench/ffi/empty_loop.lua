-- Baseline of abs_loop.lua: the same loop calling a Lua function in place
-- of libc's abs; prints the same sum. The FFI is loaded and the C
-- declaration made here too, so that the two programs differ only in the
-- calls. N: the first argument (default 10000000).
local ffi = require("ffi")
ffi.cdef[[int abs(int);]]

local function myabs(x)
    if x < 0 then return -x end
    return x
end

local n = 10000000
if arg[1] then n = assert(tonumber(arg[1]), "N must be an integer") end
local s, i = 0, 0
while i < n do
    s = s + myabs(i - 5)
    i = i + 1
end
print(string.format("%.0f", s))
