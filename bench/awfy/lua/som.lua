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
