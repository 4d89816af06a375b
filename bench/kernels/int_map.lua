-- Int-keyed maps: the same keys and checks as int_map.kn, with tables.
-- Size: the first argument, n (default 1000000).
-- Lua 5.4 only (64-bit integers and >>): LuaJIT has no version of it.
local n = 1000000
if arg[1] then n = assert(math.tointeger(tonumber(arg[1])), "the size must be an integer") end
local m, count = {}, 0
local x = 7
for i = 0, n - 1 do
    x = x * 6364136223846793005 + 1442695040888963407
    local k = (x >> 24) & 0xffffffffff
    if m[k] == nil then count = count + 1 end
    m[k] = i
end
x = 7
local sum = 0
for i = 0, n - 1 do
    x = x * 6364136223846793005 + 1442695040888963407
    sum = sum + m[(x >> 24) & 0xffffffffff]
end
local ids = {}
for i = n - 1, 0, -1 do ids[i] = i * 2 end
local sum2 = 0
for j = 0, n - 1 do sum2 = sum2 + ids[j] end
print(string.format("%d %d %d %d", count, sum, n, sum2))
