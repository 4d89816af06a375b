-- Spectral norm: the same algorithm as spectral_norm.kn (Lua 5.4 and LuaJIT).
-- Size: the first argument, n (default 700).
local function a(i, j)
    -- (i + j) * (i + j + 1) is even, so / 2 is exact.
    return 1.0 / ((i + j) * (i + j + 1) / 2 + i + 1)
end

local function mul_av(n, v, av)
    for i = 0, n - 1 do
        local sum = 0.0
        for j = 0, n - 1 do sum = sum + a(i, j) * v[j] end
        av[i] = sum
    end
end

local function mul_atv(n, v, atv)
    for i = 0, n - 1 do
        local sum = 0.0
        for j = 0, n - 1 do sum = sum + a(j, i) * v[j] end
        atv[i] = sum
    end
end

local function mul_atav(n, v, out, tmp)
    mul_av(n, v, tmp)
    mul_atv(n, tmp, out)
end

local function spectral_norm(n)
    local u, v, tmp = {}, {}, {}
    for i = 0, n - 1 do u[i] = 1.0; v[i] = 0.0; tmp[i] = 0.0 end
    for _ = 1, 10 do
        mul_atav(n, u, v, tmp)
        mul_atav(n, v, u, tmp)
    end
    local vbv, vv = 0.0, 0.0
    for i = 0, n - 1 do
        vbv = vbv + u[i] * v[i]
        vv = vv + v[i] * v[i]
    end
    return math.sqrt(vbv / vv)
end

local n = 700
if arg[1] then n = assert(tonumber(arg[1]), "the size must be an integer") end
print(string.format("%d", math.floor(spectral_norm(n) * 1000000000.0)))
