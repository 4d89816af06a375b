-- som.lua: the shared pieces of the Lua versions of the Kiln AWFY ports
-- (the counterpart of ../som.kn): a class helper, AWFY's Random and its
-- Benchmark base class.
local compat = require("compat")
local band = compat.band

local som = {}

-- A class is a metatable for its instances; `super` (optional) is where
-- methods it does not define are looked up.
function som.class(super)
    local cls = {}
    cls.__index = cls
    if super then setmetatable(cls, { __index = super }) end
    return cls
end

-- AWFY's generator: seed = ((seed * 1309) + 13849) & 65535 from 74755.
local Random = som.class()
som.Random = Random

function Random.new()
    return setmetatable({ seed = 74755 }, Random)
end

function Random:next()
    self.seed = band(self.seed * 1309 + 13849, 65535)
    return self.seed
end

-- AWFY's som.Vector, shared by DeltaBlue and Havlak (the Kiln ports use
-- som.kn's generic Vector<E>): a storage table of `cap` slots (nil when unset),
-- copied to a bigger one to grow; the elements are at first_idx ..
-- last_idx - 1 (1-based). A size of 0 leaves the storage to the first
-- append or at_put. Subclasses call Vector.init(self, size).
local INITIAL_SIZE = 10
local idiv = compat.idiv
local Vector = som.class()
som.Vector = Vector

-- (The fields are made in one table constructor: Havlak makes many
-- vectors, and filling an empty table field by field regrows it.)
function Vector.new(size)
    return setmetatable({ storage = size > 0 and {} or nil, cap = size > 0 and size or 0,
                          first_idx = 1, last_idx = 1 }, Vector)
end

function Vector:init(size)
    self.storage = size > 0 and {} or nil
    self.cap = size > 0 and size or 0
    self.first_idx = 1
    self.last_idx = 1
end

function Vector:at(idx)
    if self.storage == nil or idx > self.cap then
        return nil
    end
    return self.storage[idx]
end

function Vector:at_put(idx, val)
    if self.storage == nil then
        self.storage = {}
        self.cap = math.max(idx, INITIAL_SIZE)
    elseif idx > self.cap then
        local new_length = self.cap
        while new_length < idx do
            new_length = new_length * 2
        end
        self:grow(new_length)
    end
    self.storage[idx] = val
    if self.last_idx < idx + 1 then
        self.last_idx = idx + 1
    end
end

function Vector:grow(new_length)
    local old = self.storage
    local bigger = {}
    for i = 1, self.cap do
        bigger[i] = old[i]
    end
    self.storage = bigger
    self.cap = new_length
end

function Vector:append(elem)
    if self.storage == nil then
        self.storage = {}
        self.cap = INITIAL_SIZE
    elseif self.last_idx > self.cap then
        self:grow(2 * self.cap) -- expand capacity first
    end
    self.storage[self.last_idx] = elem
    self.last_idx = self.last_idx + 1
end

function Vector:is_empty()
    return self.last_idx == self.first_idx
end

function Vector:for_each(f)
    for i = self.first_idx, self.last_idx - 1 do
        f(self.storage[i])
    end
end

function Vector:has_some(f)
    for i = self.first_idx, self.last_idx - 1 do
        if f(self.storage[i]) then
            return true
        end
    end
    return false
end

function Vector:remove_first()
    if self:is_empty() then
        return nil
    end
    self.first_idx = self.first_idx + 1
    return self.storage[self.first_idx - 1]
end

-- Removes every element equal to obj (a copy of the others into new
-- storage of the same capacity); true when there was one.
function Vector:remove(obj)
    if self.storage == nil or self:is_empty() then
        return false
    end
    local new_array = {}
    local new_last = 1
    local found = false
    self:for_each(function(it)
        if it == obj then
            found = true
        else
            new_array[new_last] = it
            new_last = new_last + 1
        end
    end)
    self.storage = new_array
    self.last_idx = new_last
    self.first_idx = 1
    return found
end

function Vector:remove_all()
    self.first_idx = 1
    self.last_idx = 1
    if self.storage ~= nil then
        self.storage = {}
    end
end

function Vector:size()
    return self.last_idx - self.first_idx
end

function Vector:capacity()
    return self.cap
end

-- c(a, b) > 0 when a must come after b (Java's Comparator).
function Vector:sort(c)
    if self:size() > 0 then
        self:sort_range(self.first_idx, self.last_idx - 1, c)
    end
end

function Vector:swap(i, j)
    local t = self.storage[i]
    self.storage[i] = self.storage[j]
    self.storage[j] = t
end

function Vector:sort_range(i, j, c)
    local n = j + 1 - i
    if n <= 1 then
        return
    end
    local di = self.storage[i]
    local dj = self.storage[j]
    if c(di, dj) > 0 then
        self:swap(i, j)
        local tt = di
        di = dj
        dj = tt
    end
    if n > 2 then
        local ij = idiv(i + j, 2)
        local dij = self.storage[ij]
        if c(di, dij) <= 0 then
            if c(dij, dj) > 0 then
                self:swap(j, ij)
                dij = dj
            end
        else
            self:swap(i, ij)
            dij = di
        end
        if n > 3 then
            local k = i
            local l = j - 1
            while true do
                while k <= l and c(dij, self.storage[l]) <= 0 do
                    l = l - 1
                end
                k = k + 1
                while k <= l and c(self.storage[k], dij) <= 0 do
                    k = k + 1
                end
                if k > l then
                    break
                end
                self:swap(k, l)
            end
            self:sort_range(i, l, c)
            self:sort_range(k, j, c)
        end
    end
end

-- Subclasses define benchmark() and verify_result(result);
-- inner_benchmark_loop(inner) runs the first `inner` times and checks every
-- result with the second.
local Benchmark = som.class()
som.Benchmark = Benchmark

function Benchmark:inner_benchmark_loop(inner)
    for _ = 1, inner do
        if not self:verify_result(self:benchmark()) then
            return false
        end
    end
    return true
end

function Benchmark:benchmark() error("subclass responsibility") end
function Benchmark:verify_result(_) error("subclass responsibility") end

return som
