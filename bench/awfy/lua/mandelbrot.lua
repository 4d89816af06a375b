-- Mandelbrot: the classic fractal, as a bit-image checksum.
-- Lua version of ../mandelbrot.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
local som = require("som")
local compat = require("compat")
local lshift, bxor = compat.lshift, compat.bxor

local Mandelbrot = som.class(som.Benchmark)

-- As in AWFY, the inner iteration count is the image size, and the
-- expected result depends on it.
function Mandelbrot:inner_benchmark_loop(inner)
    return self:verify_result_for(self:mandelbrot(inner), inner)
end

function Mandelbrot:verify_result_for(result, inner_iterations)
    if inner_iterations == 500 then
        return result == 191
    end
    if inner_iterations == 750 then
        return result == 50
    end
    if inner_iterations == 1 then
        return result == 128
    end
    print(("No verification result for %d found"):format(inner_iterations))
    print(("Result is: %d"):format(result))
    return false
end

function Mandelbrot:mandelbrot(size)
    local sum = 0
    local byte_acc = 0
    local bit_num = 0

    local y = 0
    while y < size do
        local ci = (2.0 * y / size) - 1.0
        local x = 0

        while x < size do
            local zr = 0.0
            local zrzr = 0.0
            local zi = 0.0
            local zizi = 0.0
            local cr = (2.0 * x / size) - 1.5

            local z = 0
            local not_done = true
            local escape = 0
            while not_done and z < 50 do
                zr = zrzr - zizi + cr
                zi = 2.0 * zr * zi + ci

                -- preserve recalculation
                zrzr = zr * zr
                zizi = zi * zi

                if zrzr + zizi > 4.0 then
                    not_done = false
                    escape = 1
                end
                z = z + 1
            end

            byte_acc = lshift(byte_acc, 1) + escape
            bit_num = bit_num + 1

            -- Separate branches skip the shift in the common case.
            if bit_num == 8 then
                sum = bxor(sum, byte_acc)
                byte_acc = 0
                bit_num = 0
            elseif x == size - 1 then
                byte_acc = lshift(byte_acc, 8 - bit_num)
                sum = bxor(sum, byte_acc)
                byte_acc = 0
                bit_num = 0
            end
            x = x + 1
        end
        y = y + 1
    end
    return sum
end

local bench = setmetatable({}, Mandelbrot)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
