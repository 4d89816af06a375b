-- Sieve: counts the primes up to 5000 with the sieve of Eratosthenes.
-- Lua version of ../sieve.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
local som = require("som")

local Sieve = som.class(som.Benchmark)

function Sieve:benchmark()
    local flags = {}
    for i = 1, 5000 do flags[i] = true end
    return self:sieve(flags, 5000)
end

function Sieve:sieve(flags, size)
    local prime_count = 0
    for i = 2, size do
        if flags[i] then
            prime_count = prime_count + 1
            local k = i + i
            while k <= size do
                flags[k] = false
                k = k + i
            end
        end
    end
    return prime_count
end

function Sieve:verify_result(result)
    return result == 669
end

local bench = setmetatable({}, Sieve)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
