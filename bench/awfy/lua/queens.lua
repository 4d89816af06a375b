-- Queens: solves the eight queens problem, ten times.
-- Lua version of ../queens.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
local som = require("som")

-- Queens's result is a bool (the Kiln port extends som.Benchmark<bool>).
local Queens = som.class(som.Benchmark)

function Queens:benchmark()
    local result = true
    for _ = 1, 10 do
        result = result and self:queens()
    end
    return result
end

function Queens:verify_result(result)
    return result
end

function Queens:queens()
    local free_rows, queen_rows = {}, {}
    for i = 1, 8 do
        free_rows[i] = true
        queen_rows[i] = -1
    end
    local free_maxs, free_mins = {}, {}
    for i = 1, 16 do
        free_maxs[i] = true
        free_mins[i] = true
    end
    self.free_rows = free_rows
    self.free_maxs = free_maxs
    self.free_mins = free_mins
    self.queen_rows = queen_rows
    return self:place_queen(1)
end

-- Rows and columns are 1-based (Kiln: 0-based r and c). free_maxs[c + r]
-- then uses entries 2..16 and free_mins[c - r + 8] entries 1..15 (Kiln:
-- 0..14 of each).
function Queens:place_queen(c)
    for r = 1, 8 do
        if self:get_row_column(r, c) then
            self.queen_rows[r] = c
            self:set_row_column(r, c, false)

            if c == 8 then
                return true
            end
            if self:place_queen(c + 1) then
                return true
            end
            self:set_row_column(r, c, true)
        end
    end
    return false
end

function Queens:get_row_column(r, c)
    return self.free_rows[r] and self.free_maxs[c + r] and self.free_mins[c - r + 8]
end

function Queens:set_row_column(r, c, v)
    self.free_rows[r] = v
    self.free_maxs[c + r] = v
    self.free_mins[c - r + 8] = v
end

local bench = setmetatable({}, Queens)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
