-- List: builds linked lists and walks them (Takeuchi-style recursion).
-- Lua version of ../list.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
local som = require("som")

local Element = som.class()

function Element.new(v)
    return setmetatable({ val = v, next = nil }, Element)
end

function Element:length()
    if self.next == nil then
        return 1
    end
    return 1 + self.next:length()
end

local List = som.class(som.Benchmark)

function List:benchmark()
    local result = self:tail(self:make_list(15), self:make_list(10), self:make_list(6))
    return result:length()
end

function List:make_list(length)
    if length == 0 then
        return nil
    end
    local e = Element.new(length)
    e.next = self:make_list(length - 1)
    return e
end

function List:is_shorter_than(x, y)
    local x_tail = x
    local y_tail = y
    while y_tail ~= nil do
        if x_tail == nil then
            return true
        end
        x_tail = x_tail.next
        y_tail = y_tail.next
    end
    return false
end

function List:tail(x, y, z)
    if self:is_shorter_than(y, x) then
        return self:tail(self:tail(x.next, y, z),
            self:tail(y.next, z, x),
            self:tail(z.next, x, y))
    end
    return z
end

function List:verify_result(result)
    return result == 10
end

local bench = setmetatable({}, List)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
