-- Bounce: balls bouncing in a box.
-- Lua version of ../bounce.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
local som = require("som")

local Ball = som.class()

function Ball.new(random)
    -- Locals first: the four draws must happen in this order, and Lua
    -- leaves the evaluation order inside a table constructor unspecified.
    local x = random:next() % 500
    local y = random:next() % 500
    local x_vel = (random:next() % 300) - 150
    local y_vel = (random:next() % 300) - 150
    return setmetatable({ x = x, y = y, x_vel = x_vel, y_vel = y_vel }, Ball)
end

function Ball:bounce()
    local x_limit = 500
    local y_limit = 500
    local bounced = false

    self.x = self.x + self.x_vel
    self.y = self.y + self.y_vel
    if self.x > x_limit then self.x = x_limit; self.x_vel = -math.abs(self.x_vel); bounced = true end
    if self.x < 0 then self.x = 0; self.x_vel = math.abs(self.x_vel); bounced = true end
    if self.y > y_limit then self.y = y_limit; self.y_vel = -math.abs(self.y_vel); bounced = true end
    if self.y < 0 then self.y = 0; self.y_vel = math.abs(self.y_vel); bounced = true end
    return bounced
end

local Bounce = som.class(som.Benchmark)

function Bounce:benchmark()
    local random = som.Random.new()
    local ball_count = 100
    local bounces = 0
    local balls = {}
    for i = 1, ball_count do
        balls[i] = Ball.new(random)
    end

    for _ = 1, 50 do
        for i = 1, #balls do
            if balls[i]:bounce() then
                bounces = bounces + 1
            end
        end
    end
    return bounces
end

function Bounce:verify_result(result)
    return result == 1331
end

local bench = setmetatable({}, Bounce)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
