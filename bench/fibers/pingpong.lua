-- Coroutine ping-pong: a coroutine receives a value by yield and hands
-- back value + 1 on each resume, N round trips. Prints ns per round trip.
local n = tonumber(arg[1] or "1000000")
local co = coroutine.wrap(function(v)
  while true do v = coroutine.yield(v + 1) end
end)
local x = 0
local clock = os.clock
local t0 = clock()
for _ = 1, n do x = co(x) end
local t1 = clock()
assert(x == n, "wrong count")
print((t1 - t0) * 1e9 / n)
