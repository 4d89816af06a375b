-- harness.lua: runs the Lua versions of the Kiln AWFY ports the way
-- ../harness.kn runs the Kiln ones, with the same output and exit status.
--
--   lua5.4 bench/awfy/lua/harness.lua NAME [OUTER [INNER]]
--   luajit bench/awfy/lua/harness.lua NAME [OUTER [INNER]]
--
-- NAME.lua (lower case) returns a table whose inner_benchmark_loop(inner)
-- returns true when every result verified. Times are os.clock() in
-- microseconds: processor time, as standard Lua has no monotonic wall clock
-- (Kiln's os.clock is one); make bench times whole processes instead.
-- Exit status: 0 verified, 1 a result did not verify, 2 bad arguments or
-- unknown benchmark.
local dir = arg[0]:match("^(.*[/\\])") or "./"
package.path = dir .. "?.lua;" .. package.path

local function fail(status, msg)
    io.stderr:write(msg, "\n")
    os.exit(status)
end

local function count_arg(i, what)
    local s = arg[i]
    if s == nil then return 1 end
    local n = tonumber(s)
    if n == nil or n % 1 ~= 0 then
        fail(2, ('harness: %s must be an integer, not "%s"'):format(what, s))
    end
    if n < 1 then
        fail(2, ("harness: %s must be at least 1, not %d"):format(what, n))
    end
    return math.floor(n)
end

if #arg < 1 or #arg > 3 then
    fail(2, "usage: harness.lua benchmark [num-iterations [inner-iter]]")
end
local name = arg[1]
local file = io.open(dir .. name:lower() .. ".lua")
if not file then
    fail(2, ('harness: unknown benchmark "%s" (no %s%s.lua)'):format(name, dir, name:lower()))
end
file:close()
local bench = require(name:lower())
local outer = count_arg(2, "num-iterations")
local inner = count_arg(3, "inner-iter")

local function us(t) return ("%.0f"):format(t) end

print(("Starting %s benchmark ..."):format(name))
local total = 0
for _ = 1, outer do
    local start_time = os.clock()
    if not bench.inner_benchmark_loop(inner) then
        fail(1, ("harness: %s: benchmark failed with incorrect result"):format(name))
    end
    local run_time = (os.clock() - start_time) * 1.0e6
    print(("%s: iterations=1 runtime: %sus"):format(name, us(run_time)))
    total = total + run_time
end
print(("%s: iterations=%d average: %sus total: %sus"):format(name, outer, us(total / outer), us(total)))
print("")
print(("Total Runtime: %sus"):format(us(total)))
