-- Permute: generates all permutations of a six-element array.
-- Lua version of ../permute.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
local som = require("som")

local Permute = som.class(som.Benchmark)

function Permute:benchmark()
    self.count = 0
    self.v = { 0, 0, 0, 0, 0, 0 }
    self:permute(6)
    return self.count
end

-- Kiln swaps 0-based positions n - 1 and i for i from n - 1 down to 0;
-- here the same positions, 1-based: n and i for i from n down to 1.
function Permute:permute(n)
    self.count = self.count + 1
    if n ~= 0 then
        local n1 = n - 1
        self:permute(n1)
        for i = n, 1, -1 do
            self:swap(n, i)
            self:permute(n1)
            self:swap(n, i)
        end
    end
end

function Permute:swap(i, j)
    local tmp = self.v[i]
    self.v[i] = self.v[j]
    self.v[j] = tmp
end

function Permute:verify_result(result)
    return result == 8660
end

local bench = setmetatable({ count = 0, v = nil }, Permute)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
