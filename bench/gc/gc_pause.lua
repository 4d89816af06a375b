-- GC pause: the same program as gc_pause.kn (runs under Lua 5.4 and
-- LuaJIT). Builds LIVE small tables ({ val, next }: two fields, held by an
-- array and linked through next), then allocates ALLOCS short-lived ones
-- in batches of 1,000 (each batch a chain, dropped when the batch ends)
-- and reads the clock after every batch; prints "max_ms p99_ms batches
-- total_s" and checks the live tables and the batches' values (exit 1 if
-- wrong).
-- The clock is os.clock(), the process's CPU time: plain Lua has no
-- monotonic wall clock (os.time() counts whole seconds). Lua's collector
-- runs in the program's one thread, so a pause is CPU time too; time the
-- process spends waiting (page faults served from disk, being descheduled)
-- is not counted, where Kiln's and node's wall clocks count it.
-- Size: the first argument, LIVE (default 1000000); the second, ALLOCS
-- (default 5000000).
local function run(live_n, allocs)
    local live = {}
    local prev = nil
    for i = 0, live_n - 1 do
        local c = { i, prev }
        live[i + 1] = c
        prev = c
    end

    local batch = 1000
    local batches = math.floor((allocs + batch - 1) / batch)
    local gaps = {}
    local acc = 0
    local k = 0
    local clock = os.clock
    local start = clock()
    local last = start
    for b = 1, batches do
        local chain = nil
        local n = allocs - k
        if n > batch then n = batch end
        for _ = 1, n do
            chain = { k, chain }
            k = k + 1
        end
        acc = acc + chain[1]
        local now = clock()
        gaps[b] = now - last
        last = now
    end
    local total = last - start

    local sum, count = 0, 0
    local c = prev
    while c ~= nil do
        sum = sum + c[1]
        count = count + 1
        c = c[2]
    end
    for i = 1, live_n do sum = sum + live[i][1] end
    local want = 0
    for b = 1, batches do
        local e = b * batch
        if e > allocs then e = allocs end
        want = want + e - 1
    end
    if count ~= live_n or sum ~= live_n * (live_n - 1) or acc ~= want then
        io.stderr:write(string.format("gc_pause: wrong result: count %d sum %.0f acc %.0f, want %d %.0f %.0f\n",
            count, sum, acc, live_n, live_n * (live_n - 1), want))
        os.exit(1)
    end

    table.sort(gaps)
    local p99 = gaps[math.floor((99 * batches + 99) / 100)]
    local max = gaps[batches]
    print(string.format("%.3f %.3f %d %.3f", max * 1000, p99 * 1000, batches, total))
end

local function size_arg(i, fallback)
    if arg[i] then return assert(tonumber(arg[i]), "the sizes must be integers") end
    return fallback
end

local live_n, allocs = size_arg(1, 1000000), size_arg(2, 5000000)
if live_n < 1 or allocs < 1 then
    io.stderr:write("gc_pause: LIVE must be at least 1 and ALLOCS at least 1\n")
    os.exit(2)
end
run(live_n, allocs)
