-- Mandelbrot escape counts: the same algorithm as mandelbrot.kn.
-- Size: the first argument, the grid's side (default 1500).
local max_iter = 50

local function mandelbrot(size)
    local inside = 0
    for y = 0, size - 1 do
        local ci = 2.0 * y / size - 1.0
        for x = 0, size - 1 do
            local cr = 2.0 * x / size - 1.5
            local zr, zi = 0.0, 0.0
            local i = 0
            while i < max_iter and zr * zr + zi * zi <= 4.0 do
                local t = zr * zr - zi * zi + cr
                zi = 2.0 * zr * zi + ci
                zr = t
                i = i + 1
            end
            if i == max_iter then inside = inside + 1 end
        end
    end
    return inside
end

local size = 1500
if arg[1] then size = assert(tonumber(arg[1]), "the size must be an integer") end
print(mandelbrot(size))
