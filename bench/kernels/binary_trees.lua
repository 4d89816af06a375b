-- Binary trees: the same algorithm as binary_trees.kn (runs under Lua 5.4
-- and LuaJIT, so no bitwise operators).
-- Size: the first argument, the maximum depth (default 16).
local function make(depth)
    if depth == 0 then return { nil, nil } end
    return { make(depth - 1), make(depth - 1) }
end

local function check(n)
    if n[1] == nil then return 1 end
    return 1 + check(n[1]) + check(n[2])
end

local function run(max_depth)
    local stretch = max_depth + 1
    print(string.format("stretch tree of depth %d\t check: %d", stretch, check(make(stretch))))
    local long_lived = make(max_depth)
    local depth = 4
    while depth <= max_depth do
        local iterations = 1
        for _ = 1, max_depth - depth + 4 do iterations = iterations * 2 end
        local sum = 0
        for _ = 1, iterations do sum = sum + check(make(depth)) end
        print(string.format("%d\t trees of depth %d\t check: %d", iterations, depth, sum))
        depth = depth + 2
    end
    print(string.format("long lived tree of depth %d\t check: %d", max_depth, check(long_lived)))
end

local max_depth = 16
if arg[1] then max_depth = assert(tonumber(arg[1]), "the size must be an integer") end
run(max_depth)
