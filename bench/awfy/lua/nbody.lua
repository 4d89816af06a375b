-- NBody: a simulation of the Jovian planets.
-- Lua version of ../nbody.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
local som = require("som")

local PI = 3.141592653589793
local SOLAR_MASS = 4.0 * PI * PI
local DAYS_PER_YEAR = 365.24

local Body = som.class()

function Body.new(x, y, z, vx, vy, vz, mass)
    return setmetatable({
        x = x,
        y = y,
        z = z,
        vx = vx * DAYS_PER_YEAR,
        vy = vy * DAYS_PER_YEAR,
        vz = vz * DAYS_PER_YEAR,
        mass = mass * SOLAR_MASS,
    }, Body)
end

function Body:offset_momentum(px, py, pz)
    self.vx = 0.0 - (px / SOLAR_MASS)
    self.vy = 0.0 - (py / SOLAR_MASS)
    self.vz = 0.0 - (pz / SOLAR_MASS)
end

local function jupiter()
    return Body.new(4.84143144246472090e+00,
        -1.16032004402742839e+00,
        -1.03622044471123109e-01,
        1.66007664274403694e-03,
        7.69901118419740425e-03,
        -6.90460016972063023e-05,
        9.54791938424326609e-04)
end

local function saturn()
    return Body.new(8.34336671824457987e+00,
        4.12479856412430479e+00,
        -4.03523417114321381e-01,
        -2.76742510726862411e-03,
        4.99852801234917238e-03,
        2.30417297573763929e-05,
        2.85885980666130812e-04)
end

local function uranus()
    return Body.new(1.28943695621391310e+01,
        -1.51111514016986312e+01,
        -2.23307578892655734e-01,
        2.96460137564761618e-03,
        2.37847173959480950e-03,
        -2.96589568540237556e-05,
        4.36624404335156298e-05)
end

local function neptune()
    return Body.new(1.53796971148509165e+01,
        -2.59193146099879641e+01,
        1.79258772950371181e-01,
        2.68067772490389322e-03,
        1.62824170038242295e-03,
        -9.51592254519715870e-05,
        5.15138902046611451e-05)
end

local function sun()
    return Body.new(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
end

local NBodySystem = som.class()

function NBodySystem.new()
    local system = setmetatable({ bodies = nil }, NBodySystem)
    system.bodies = system:create_bodies()
    return system
end

function NBodySystem:create_bodies()
    local bodies = { sun(), jupiter(), saturn(), uranus(), neptune() }

    local px = 0.0
    local py = 0.0
    local pz = 0.0
    for i = 1, #bodies do
        local b = bodies[i]
        px = px + b.vx * b.mass
        py = py + b.vy * b.mass
        pz = pz + b.vz * b.mass
    end
    bodies[1]:offset_momentum(px, py, pz)
    return bodies
end

function NBodySystem:advance(dt)
    local bodies = self.bodies
    local n = #bodies
    for i = 1, n do
        local i_body = bodies[i]
        for j = i + 1, n do
            local j_body = bodies[j]
            local dx = i_body.x - j_body.x
            local dy = i_body.y - j_body.y
            local dz = i_body.z - j_body.z

            local d_squared = dx * dx + dy * dy + dz * dz
            local distance = math.sqrt(d_squared)
            local mag = dt / (d_squared * distance)

            i_body.vx = i_body.vx - (dx * j_body.mass * mag)
            i_body.vy = i_body.vy - (dy * j_body.mass * mag)
            i_body.vz = i_body.vz - (dz * j_body.mass * mag)

            j_body.vx = j_body.vx + (dx * i_body.mass * mag)
            j_body.vy = j_body.vy + (dy * i_body.mass * mag)
            j_body.vz = j_body.vz + (dz * i_body.mass * mag)
        end
    end

    for i = 1, n do
        local body = bodies[i]
        body.x = body.x + dt * body.vx
        body.y = body.y + dt * body.vy
        body.z = body.z + dt * body.vz
    end
end

function NBodySystem:energy()
    local e = 0.0
    local bodies = self.bodies
    local n = #bodies
    for i = 1, n do
        local i_body = bodies[i]
        e = e + 0.5 * i_body.mass * (i_body.vx * i_body.vx +
            i_body.vy * i_body.vy +
            i_body.vz * i_body.vz)

        for j = i + 1, n do
            local j_body = bodies[j]
            local dx = i_body.x - j_body.x
            local dy = i_body.y - j_body.y
            local dz = i_body.z - j_body.z

            local distance = math.sqrt(dx * dx + dy * dy + dz * dz)
            e = e - (i_body.mass * j_body.mass) / distance
        end
    end
    return e
end

local NBody = som.class(som.Benchmark)

function NBody:inner_benchmark_loop(inner)
    local system = NBodySystem.new()
    for _ = 1, inner do
        system:advance(0.01)
    end
    return self:verify_result_for(system:energy(), inner)
end

-- The values are AWFY's, compared exactly.
function NBody:verify_result_for(result, inner_iterations)
    if inner_iterations == 250000 then
        return result == -0.1690859889909308
    end
    if inner_iterations == 1 then
        return result == -0.16907495402506745
    end
    print(("No verification result for %d found"):format(inner_iterations))
    print(("Result is: %.17g"):format(result))
    return false
end

local bench = setmetatable({}, NBody)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
