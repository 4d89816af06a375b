-- Sorting: the same data and checks as sort.kn, with table.sort.
-- Size: the first argument, n (default 1000000).
-- Lua 5.4 only (64-bit integers and >>): LuaJIT has no version of it.
local n = 1000000
if arg[1] then n = assert(math.tointeger(tonumber(arg[1])), "the size must be an integer") end
local xs = {}
local x = 42
for i = 1, n do
    x = x * 6364136223846793005 + 1442695040888963407
    xs[i] = (x >> 33) & 0x7fffffff
end
table.sort(xs)
local check = 0
for i = 1, n do
    if i > 1 and xs[i - 1] > xs[i] then error("not sorted at " .. (i - 1)) end
    check = (check * 31 + xs[i]) & 0xffffffff
end
print(string.format("%d %d %d %d", xs[1], xs[n // 2 + 1], xs[n], check))
