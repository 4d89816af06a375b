-- Recursive Fibonacci: the same algorithm as fib.kn.
-- Size: the first argument, n (default 36).
local function fib(n)
    if n < 2 then return n end
    return fib(n - 1) + fib(n - 2)
end

local n = 36
if arg[1] then n = assert(tonumber(arg[1]), "the size must be an integer") end
print(fib(n))
