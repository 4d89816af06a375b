-- Storage: builds a tree of arrays to stress the garbage collector.
-- Lua version of ../storage.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
local som = require("som")

-- AWFY's tree of bare arrays: an inner node is a table of its four
-- subtrees, a leaf a table of random.next() % 10 + 1 slots. The Kiln port
-- wraps each array in a TreeArray only because Kiln's types require it;
-- Lua needs no wrapper, so it makes half the allocations Kiln makes. A
-- Lua table cannot hold nil as an element, so the leaf's slots hold false.
local Storage = som.class(som.Benchmark)

function Storage:benchmark()
    local random = som.Random.new()
    self.count = 0
    self:build_tree_depth(7, random)
    return self.count
end

function Storage:build_tree_depth(depth, random)
    self.count = self.count + 1
    if depth == 1 then
        local leaf = {}
        for i = 1, random:next() % 10 + 1 do
            leaf[i] = false
        end
        return leaf
    end
    local arr = {}
    for i = 1, 4 do
        arr[i] = self:build_tree_depth(depth - 1, random)
    end
    return arr
end

function Storage:verify_result(result)
    return result == 5461
end

local bench = setmetatable({ count = 0 }, Storage)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
