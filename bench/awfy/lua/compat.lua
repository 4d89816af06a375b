-- compat.lua: what the Lua ports need that Lua 5.4 and LuaJIT spell
-- differently. Lua 5.4 has bitwise operators and floor division (syntax
-- LuaJIT cannot parse, hence load()); LuaJIT has its bit library. Every
-- value the ports pass here is a non-negative integer below 2^31, where the
-- two agree.
local compat = {}

if bit then -- LuaJIT (and Lua 5.1 with bitop)
    compat.band = bit.band
    compat.bor = bit.bor
    compat.bxor = bit.bxor
    compat.lshift = bit.lshift
    compat.rshift = bit.rshift
    compat.idiv = function(a, b) return math.floor(a / b) end
else
    local ops = load([[
        return function(a, b) return a & b end,
               function(a, b) return a | b end,
               function(a, b) return a ~ b end,
               function(a, n) return a << n end,
               function(a, n) return a >> n end,
               function(a, b) return a // b end
    ]])
    compat.band, compat.bor, compat.bxor, compat.lshift, compat.rshift,
        compat.idiv = ops()
end

return compat
