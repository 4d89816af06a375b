-- Towers: solves the Towers of Hanoi with 13 disks, as linked lists.
-- Lua version of ../towers.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
local som = require("som")

local TowersDisk = som.class()

function TowersDisk.new(size)
    return setmetatable({ size = size, next = nil }, TowersDisk)
end

-- Piles are numbered 1 to 3 (Kiln: 0 to 2), so the third pile of a move
-- is 6 - from - to (Kiln: 3 - from - to).
local Towers = som.class(som.Benchmark)

function Towers:benchmark()
    self.piles = {}
    self:build_tower_at(1, 13)
    self.moves_done = 0
    self:move_disks(13, 1, 2)
    return self.moves_done
end

function Towers:verify_result(result)
    return result == 8191
end

function Towers:push_disk(disk, pile)
    local top = self.piles[pile]
    if top ~= nil and disk.size >= top.size then
        error("Cannot put a big disk on a smaller one")
    end
    disk.next = top
    self.piles[pile] = disk
end

function Towers:pop_disk_from(pile)
    local top = self.piles[pile]
    if top == nil then
        error("Attempting to remove a disk from an empty pile")
    end
    self.piles[pile] = top.next
    top.next = nil
    return top
end

function Towers:move_top_disk(from_pile, to_pile)
    self:push_disk(self:pop_disk_from(from_pile), to_pile)
    self.moves_done = self.moves_done + 1
end

-- As in the Kiln port (and AWFY's Java version): disks 13 down to 0, of
-- which the top 13 are moved.
function Towers:build_tower_at(pile, disks)
    for i = disks, 0, -1 do
        self:push_disk(TowersDisk.new(i), pile)
    end
end

function Towers:move_disks(disks, from_pile, to_pile)
    if disks == 1 then
        self:move_top_disk(from_pile, to_pile)
    else
        local other_pile = (6 - from_pile) - to_pile
        self:move_disks(disks - 1, from_pile, other_pile)
        self:move_top_disk(from_pile, to_pile)
        self:move_disks(disks - 1, other_pile, to_pile)
    end
end

local bench = setmetatable({ piles = nil, moves_done = 0 }, Towers)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
