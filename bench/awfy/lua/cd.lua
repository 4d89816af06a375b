-- CD: collision detection between simulated aircraft, with a red-black tree
-- as the map from aircraft to positions and from voxels to motions.
-- Lua version of ../cd.kn (Kiln's port of the Are We Fast Yet benchmark;
-- see bench/README.md).
--
-- One dynamically typed red-black tree serves the Kiln port's four
-- instances of its generic tree: keys are CallSign or Vector2D objects
-- (compared with compare_to), values are Vector3D positions, `true` for the
-- sets of seen keys and plain arrays of Motion for the voxel map. Where the
-- Kiln port uses som.Vector (AWFY's Vector), this translation, made from
-- the earlier Kiln port, uses a plain Lua array.
local som = require("som")

-- Constants.java. GOOD_VOXEL_SIZE is PROXIMITY_RADIUS * 2.0, folded.
local MIN_X = 0.0
local MIN_Y = 0.0
local MAX_X = 1000.0
local MAX_Y = 1000.0
local MIN_Z = 0.0
local MAX_Z = 10.0
local PROXIMITY_RADIUS = 1.0
local GOOD_VOXEL_SIZE = 2.0

local function compare_numbers(a, b)
    if a == b then
        return 0
    end
    if a < b then
        return -1
    end
    if a > b then
        return 1
    end
    -- We say that NaN is smaller than non-NaN.
    if a == a then
        return 1
    end
    return -1
end

local Vector2D = som.class()

function Vector2D.new(x, y)
    return setmetatable({ x = x, y = y }, Vector2D)
end

function Vector2D:plus(other)
    return Vector2D.new(self.x + other.x, self.y + other.y)
end

function Vector2D:minus(other)
    return Vector2D.new(self.x - other.x, self.y - other.y)
end

function Vector2D:compare_to(other)
    local result = compare_numbers(self.x, other.x)
    if result ~= 0 then
        return result
    end
    return compare_numbers(self.y, other.y)
end

local Vector3D = som.class()

function Vector3D.new(x, y, z)
    return setmetatable({ x = x, y = y, z = z }, Vector3D)
end

function Vector3D:plus(other)
    return Vector3D.new(self.x + other.x, self.y + other.y, self.z + other.z)
end

function Vector3D:minus(other)
    return Vector3D.new(self.x - other.x, self.y - other.y, self.z - other.z)
end

function Vector3D:dot(other)
    return self.x * other.x + self.y * other.y + self.z * other.z
end

function Vector3D:squared_magnitude()
    return self:dot(self)
end

function Vector3D:magnitude()
    return math.sqrt(self:squared_magnitude())
end

function Vector3D:times(amount)
    return Vector3D.new(self.x * amount, self.y * amount, self.z * amount)
end

-- ---------------------------------------------------------------------------
-- RedBlackTree.java

local RED = 0
local BLACK = 1

local function tree_minimum(node)
    local x = node
    while x.left ~= nil do
        x = x.left
    end
    return x
end

local RbtNode = som.class()

function RbtNode.new(key, value)
    return setmetatable({
        key = key,
        value = value,
        left = nil,
        right = nil,
        parent = nil,
        color = RED,
    }, RbtNode)
end

function RbtNode:successor()
    local x = self
    if x.right ~= nil then
        return tree_minimum(x.right)
    end
    local y = x.parent
    while y ~= nil and x == y.right do
        x = y
        y = y.parent
    end
    return y
end

local RbtEntry = som.class()

function RbtEntry.new(key, value)
    return setmetatable({ key = key, value = value }, RbtEntry)
end

local InsertResult = som.class()

function InsertResult.new(is_new_entry, new_node, old_value)
    return setmetatable({
        is_new_entry = is_new_entry,
        new_node = new_node,
        old_value = old_value,
    }, InsertResult)
end

local RedBlackTree = som.class()

function RedBlackTree.new()
    return setmetatable({ root = nil }, RedBlackTree)
end

function RedBlackTree:put(key, value)
    local insertion_result = self:tree_insert(key, value)
    if not insertion_result.is_new_entry then
        return insertion_result.old_value
    end
    local x = insertion_result.new_node

    while x ~= self.root and x.parent.color == RED do
        if x.parent == x.parent.parent.left then
            local y = x.parent.parent.right
            if y ~= nil and y.color == RED then
                -- Case 1
                x.parent.color = BLACK
                y.color = BLACK
                x.parent.parent.color = RED
                x = x.parent.parent
            else
                if x == x.parent.right then
                    -- Case 2
                    x = x.parent
                    self:left_rotate(x)
                end
                -- Case 3
                x.parent.color = BLACK
                x.parent.parent.color = RED
                self:right_rotate(x.parent.parent)
            end
        else
            -- Same as "then" clause with "right" and "left" exchanged.
            local y = x.parent.parent.left
            if y ~= nil and y.color == RED then
                -- Case 1
                x.parent.color = BLACK
                y.color = BLACK
                x.parent.parent.color = RED
                x = x.parent.parent
            else
                if x == x.parent.left then
                    -- Case 2
                    x = x.parent
                    self:right_rotate(x)
                end
                -- Case 3
                x.parent.color = BLACK
                x.parent.parent.color = RED
                self:left_rotate(x.parent.parent)
            end
        end
    end

    self.root.color = BLACK
    return nil
end

function RedBlackTree:remove(key)
    local z = self:find_node(key)
    if z == nil then
        return nil
    end

    -- Y is the node to be unlinked from the tree.
    local y
    if z.left == nil or z.right == nil then
        y = z
    else
        y = z:successor()
    end

    -- Y is guaranteed to be non-nil at this point.
    local x
    if y.left ~= nil then
        x = y.left
    else
        x = y.right
    end

    -- X is the child of y which might potentially replace y in the tree. X
    -- might be nil at this point.
    local x_parent
    if x ~= nil then
        x.parent = y.parent
        x_parent = x.parent
    else
        x_parent = y.parent
    end
    if y.parent == nil then
        self.root = x
    else
        if y == y.parent.left then
            y.parent.left = x
        else
            y.parent.right = x
        end
    end

    if y ~= z then
        if y.color == BLACK then
            self:remove_fixup(x, x_parent)
        end

        y.parent = z.parent
        y.color = z.color
        y.left = z.left
        y.right = z.right

        if z.left ~= nil then
            z.left.parent = y
        end
        if z.right ~= nil then
            z.right.parent = y
        end
        if z.parent ~= nil then
            if z.parent.left == z then
                z.parent.left = y
            else
                z.parent.right = y
            end
        else
            self.root = y
        end
    elseif y.color == BLACK then
        self:remove_fixup(x, x_parent)
    end

    return z.value
end

function RedBlackTree:get(key)
    local node = self:find_node(key)
    if node == nil then
        return nil
    end
    return node.value
end

function RedBlackTree:for_each(f)
    if self.root == nil then
        return
    end
    local current = tree_minimum(self.root)
    while current ~= nil do
        f(RbtEntry.new(current.key, current.value))
        current = current:successor()
    end
end

function RedBlackTree:find_node(key)
    local current = self.root
    while current ~= nil do
        local comparison_result = key:compare_to(current.key)
        if comparison_result == 0 then
            return current
        end
        if comparison_result < 0 then
            current = current.left
        else
            current = current.right
        end
    end
    return nil
end

function RedBlackTree:tree_insert(key, value)
    local y = nil
    local x = self.root

    while x ~= nil do
        y = x
        local comparison_result = key:compare_to(x.key)
        if comparison_result < 0 then
            x = x.left
        elseif comparison_result > 0 then
            x = x.right
        else
            local old_value = x.value
            x.value = value
            return InsertResult.new(false, nil, old_value)
        end
    end

    local z = RbtNode.new(key, value)
    z.parent = y
    if y == nil then
        self.root = z
    else
        if key:compare_to(y.key) < 0 then
            y.left = z
        else
            y.right = z
        end
    end
    return InsertResult.new(true, z, nil)
end

function RedBlackTree:left_rotate(x)
    local y = x.right

    -- Turn y's left subtree into x's right subtree.
    x.right = y.left
    if y.left ~= nil then
        y.left.parent = x
    end

    -- Link x's parent to y.
    y.parent = x.parent
    if x.parent == nil then
        self.root = y
    else
        if x == x.parent.left then
            x.parent.left = y
        else
            x.parent.right = y
        end
    end

    -- Put x on y's left.
    y.left = x
    x.parent = y

    return y
end

function RedBlackTree:right_rotate(y)
    local x = y.left

    -- Turn x's right subtree into y's left subtree.
    y.left = x.right
    if x.right ~= nil then
        x.right.parent = y
    end

    -- Link y's parent to x.
    x.parent = y.parent
    if y.parent == nil then
        self.root = x
    else
        if y == y.parent.left then
            y.parent.left = x
        else
            y.parent.right = x
        end
    end

    x.right = y
    y.parent = x

    return x
end

function RedBlackTree:remove_fixup(x_node, x_parent_node)
    local x = x_node
    local x_parent = x_parent_node
    while x ~= self.root and (x == nil or x.color == BLACK) do
        if x == x_parent.left then
            -- Note: the text points out that w cannot be nil. The reason is
            -- not obvious from simply looking at the code; it comes about
            -- from the properties of the red-black tree.
            local w = x_parent.right
            if w.color == RED then
                -- Case 1
                w.color = BLACK
                x_parent.color = RED
                self:left_rotate(x_parent)
                w = x_parent.right
            end
            if (w.left == nil or w.left.color == BLACK) and
                (w.right == nil or w.right.color == BLACK) then
                -- Case 2
                w.color = RED
                x = x_parent
                x_parent = x.parent
            else
                if w.right == nil or w.right.color == BLACK then
                    -- Case 3
                    w.left.color = BLACK
                    w.color = RED
                    self:right_rotate(w)
                    w = x_parent.right
                end
                -- Case 4
                w.color = x_parent.color
                x_parent.color = BLACK
                if w.right ~= nil then
                    w.right.color = BLACK
                end
                self:left_rotate(x_parent)
                x = self.root
                x_parent = x.parent
            end
        else
            -- Same as "then" clause with "right" and "left" exchanged.
            local w = x_parent.left
            if w.color == RED then
                -- Case 1
                w.color = BLACK
                x_parent.color = RED
                self:right_rotate(x_parent)
                w = x_parent.left
            end
            if (w.right == nil or w.right.color == BLACK) and
                (w.left == nil or w.left.color == BLACK) then
                -- Case 2
                w.color = RED
                x = x_parent
                x_parent = x.parent
            else
                if w.left == nil or w.left.color == BLACK then
                    -- Case 3
                    w.right.color = BLACK
                    w.color = RED
                    self:left_rotate(w)
                    w = x_parent.left
                end
                -- Case 4
                w.color = x_parent.color
                x_parent.color = BLACK
                if w.left ~= nil then
                    w.left.color = BLACK
                end
                self:right_rotate(x_parent)
                x = self.root
                x_parent = x.parent
            end
        end
    end
    if x ~= nil then
        x.color = BLACK
    end
end

-- ---------------------------------------------------------------------------
-- The simulation

local CallSign = som.class()

function CallSign.new(value)
    return setmetatable({ value = value }, CallSign)
end

function CallSign:compare_to(other)
    if self.value == other.value then
        return 0
    end
    if self.value < other.value then
        return -1
    end
    return 1
end

local Aircraft = som.class()

function Aircraft.new(callsign, position)
    return setmetatable({ callsign = callsign, position = position }, Aircraft)
end

local Collision = som.class()

function Collision.new(aircraft_a, aircraft_b, position)
    return setmetatable({
        aircraft_a = aircraft_a,
        aircraft_b = aircraft_b,
        position = position,
    }, Collision)
end

local Motion = som.class()

function Motion.new(callsign, pos_one, pos_two)
    return setmetatable({
        callsign = callsign,
        pos_one = pos_one,
        pos_two = pos_two,
    }, Motion)
end

function Motion:delta()
    return self.pos_two:minus(self.pos_one)
end

function Motion:find_intersection(other)
    local init1 = self.pos_one
    local init2 = other.pos_one
    local vec1 = self:delta()
    local vec2 = other:delta()
    local radius = PROXIMITY_RADIUS

    -- This test is not a geometrical 3-d intersection test: it takes into
    -- account that the aircraft move, so it is more like a 4-d test (it
    -- assumes that both aircraft have a constant speed over the tested
    -- interval). We have two points, each moving on its line segment at
    -- constant speed, and look for the times when the distance between them
    -- is smaller than r.
    --   P1 = I1 + v V1, P2 = I2 + v V2; find v with || P1 - P2 || = r:
    --   0 = -r^2 + <I1-I2,I1-I2> + v * 2<I1-I2, V1-V2> + v^2 <V1-V2,V1-V2>
    -- a quadratic equation 0 = c + b v + a v^2.

    -- a = (V2 - V1)^T * (V2 - V1)
    local a = vec2:minus(vec1):squared_magnitude()

    if a ~= 0.0 then
        -- At least one plane is moving.

        -- b = 2 * <I1-I2, V1-V2>
        local b = 2.0 * init1:minus(init2):dot(vec1:minus(vec2))

        -- c = -r^2 + (I2 - I1)^T * (I2 - I1)
        local c = -radius * radius + init2:minus(init1):squared_magnitude()

        local discr = b * b - 4.0 * a * c
        if discr < 0.0 then
            return nil
        end

        local v1 = (-b - math.sqrt(discr)) / (2.0 * a)
        local v2 = (-b + math.sqrt(discr)) / (2.0 * a)

        if v1 <= v2 and ((v1 <= 1.0 and 1.0 <= v2) or
            (v1 <= 0.0 and 0.0 <= v2) or
            (0.0 <= v1 and v2 <= 1.0)) then
            -- Pick a good "time" at which to report the collision.
            local v
            if v1 <= 0.0 then
                -- The collision started before this frame. Report it at the
                -- start of the frame.
                v = 0.0
            else
                -- The collision started during this frame. Report it at
                -- that moment.
                v = v1
            end

            local result1 = init1:plus(vec1:times(v))
            local result2 = init2:plus(vec2:times(v))

            local result = result1:plus(result2):times(0.5)
            if result.x >= MIN_X and
                result.x <= MAX_X and
                result.y >= MIN_Y and
                result.y <= MAX_Y and
                result.z >= MIN_Z and
                result.z <= MAX_Z then
                return result
            end
        end

        return nil
    end

    -- The planes have the same speeds and are moving in parallel (or they
    -- are not moving at all): their distance is constant, so we calculate
    -- it from the initial points.
    -- dist = || i2 - i1 || = sqrt(  ( i2 - i1 )^T * ( i2 - i1 ) )
    local dist = init2:minus(init1):magnitude()
    if dist <= radius then
        return init1:plus(init2):times(0.5)
    end

    return nil
end

local reduce_collision_set -- defined below

local CollisionDetector = som.class()

function CollisionDetector.new()
    return setmetatable({ state = RedBlackTree.new() }, CollisionDetector)
end

function CollisionDetector:handle_new_frame(frame)
    local motions = {}
    local seen = RedBlackTree.new()

    for i = 1, #frame do
        local aircraft = frame[i]
        local old_position = self.state:put(aircraft.callsign, aircraft.position)
        local new_position = aircraft.position
        seen:put(aircraft.callsign, true)

        if old_position == nil then
            -- Treat newly introduced aircraft as if they were stationary.
            old_position = new_position
        end

        motions[#motions + 1] = Motion.new(aircraft.callsign, old_position, new_position)
    end

    -- Remove aircraft that are no longer present.
    local to_remove = {}
    self.state:for_each(function(e)
        if not seen:get(e.key) then
            to_remove[#to_remove + 1] = e.key
        end
    end)

    for i = 1, #to_remove do
        self.state:remove(to_remove[i])
    end

    local all_reduced = reduce_collision_set(motions)
    local collisions = {}
    for r = 1, #all_reduced do
        local reduced = all_reduced[r]
        for i = 1, #reduced do
            local motion1 = reduced[i]
            for j = i + 1, #reduced do
                local motion2 = reduced[j]
                local collision = motion1:find_intersection(motion2)
                if collision ~= nil then
                    collisions[#collisions + 1] =
                        Collision.new(motion1.callsign, motion2.callsign, collision)
                end
            end
        end
    end

    return collisions
end

local function is_in_voxel(voxel, motion)
    if voxel.x > MAX_X or
        voxel.x < MIN_X or
        voxel.y > MAX_Y or
        voxel.y < MIN_Y then
        return false
    end

    local init = motion.pos_one
    local fin = motion.pos_two

    local v_s = GOOD_VOXEL_SIZE
    local r = PROXIMITY_RADIUS / 2.0

    local v_x = voxel.x
    local x0 = init.x
    local xv = fin.x - init.x

    local v_y = voxel.y
    local y0 = init.y
    local yv = fin.y - init.y

    local low_x = (v_x - r - x0) / xv
    local high_x = (v_x + v_s + r - x0) / xv

    if xv < 0.0 then
        local tmp = low_x
        low_x = high_x
        high_x = tmp
    end

    local low_y = (v_y - r - y0) / yv
    local high_y = (v_y + v_s + r - y0) / yv

    if yv < 0.0 then
        local tmp = low_y
        low_y = high_y
        high_y = tmp
    end

    return (((xv == 0.0 and v_x <= x0 + r and x0 - r <= v_x + v_s) or -- no motion in x
        (low_x <= 1.0 and 1.0 <= high_x) or (low_x <= 0.0 and 0.0 <= high_x) or
        (0.0 <= low_x and high_x <= 1.0)) and
        ((yv == 0.0 and v_y <= y0 + r and y0 - r <= v_y + v_s) or -- no motion in y
        ((low_y <= 1.0 and 1.0 <= high_y) or (low_y <= 0.0 and 0.0 <= high_y) or
        (0.0 <= low_y and high_y <= 1.0))) and
        (xv == 0.0 or yv == 0.0 or -- no motion in x or y or both
        (low_y <= high_x and high_x <= high_y) or
        (low_y <= low_x and low_x <= high_y) or
        (low_x <= low_y and high_y <= high_x)))
end

local HORIZONTAL = Vector2D.new(GOOD_VOXEL_SIZE, 0.0)
local VERTICAL = Vector2D.new(0.0, GOOD_VOXEL_SIZE)

local function put_into_map(voxel_map, voxel, motion)
    local array = voxel_map:get(voxel)
    if array == nil then
        array = {}
        voxel_map:put(voxel, array)
    end
    array[#array + 1] = motion
end

local function recurse(voxel_map, seen, next_voxel, motion)
    if not is_in_voxel(next_voxel, motion) then
        return
    end

    if seen:put(next_voxel, true) == true then
        return
    end

    put_into_map(voxel_map, next_voxel, motion)

    recurse(voxel_map, seen, next_voxel:minus(HORIZONTAL), motion)
    recurse(voxel_map, seen, next_voxel:plus(HORIZONTAL), motion)
    recurse(voxel_map, seen, next_voxel:minus(VERTICAL), motion)
    recurse(voxel_map, seen, next_voxel:plus(VERTICAL), motion)
    recurse(voxel_map, seen, next_voxel:minus(HORIZONTAL):minus(VERTICAL), motion)
    recurse(voxel_map, seen, next_voxel:minus(HORIZONTAL):plus(VERTICAL), motion)
    recurse(voxel_map, seen, next_voxel:plus(HORIZONTAL):minus(VERTICAL), motion)
    recurse(voxel_map, seen, next_voxel:plus(HORIZONTAL):plus(VERTICAL), motion)
end

-- As in the Kiln port (and Java), the division is truncated toward zero
-- (math.modf's integral part), not floored.
local function voxel_hash(position)
    local x_div = math.modf(position.x / GOOD_VOXEL_SIZE)
    local y_div = math.modf(position.y / GOOD_VOXEL_SIZE)

    local x = GOOD_VOXEL_SIZE * x_div
    local y = GOOD_VOXEL_SIZE * y_div

    if position.x < 0.0 then
        x = x - GOOD_VOXEL_SIZE
    end
    if position.y < 0.0 then
        y = y - GOOD_VOXEL_SIZE
    end

    return Vector2D.new(x, y)
end

local function draw_motion_on_voxel_map(voxel_map, motion)
    local seen = RedBlackTree.new()
    recurse(voxel_map, seen, voxel_hash(motion.pos_one), motion)
end

reduce_collision_set = function(motions)
    local voxel_map = RedBlackTree.new()
    for i = 1, #motions do
        draw_motion_on_voxel_map(voxel_map, motions[i])
    end

    local result = {}
    voxel_map:for_each(function(e)
        local value = e.value
        if #value > 1 then
            result[#result + 1] = value
        end
    end)
    return result
end

local Simulator = som.class()

function Simulator.new(num_aircraft)
    local aircraft = {}
    for i = 0, num_aircraft - 1 do
        aircraft[#aircraft + 1] = CallSign.new(i)
    end
    return setmetatable({ aircraft = aircraft }, Simulator)
end

-- Aircraft come in pairs: as in the reference, num_aircraft must be even.
function Simulator:simulate(time)
    local frame = {}
    for i = 1, #self.aircraft, 2 do
        frame[#frame + 1] = Aircraft.new(self.aircraft[i],
            Vector3D.new(time, math.cos(time) * 2.0 + (i - 1) * 3, 10.0))
        frame[#frame + 1] = Aircraft.new(self.aircraft[i + 1],
            Vector3D.new(time, math.sin(time) * 2.0 + (i - 1) * 3, 10.0))
    end
    return frame
end

-- ---------------------------------------------------------------------------
-- CD.java

local CD = som.class(som.Benchmark)

-- As in AWFY, the inner iteration count is the number of aircraft, and the
-- expected result depends on it.
function CD:inner_benchmark_loop(inner)
    return self:verify_result_for(self:benchmark_for(inner), inner)
end

function CD:benchmark_for(num_aircrafts)
    local num_frames = 200

    local simulator = Simulator.new(num_aircrafts)
    local detector = CollisionDetector.new()

    local actual_collisions = 0

    for i = 0, num_frames - 1 do
        local time = i / 10.0
        local collisions = detector:handle_new_frame(simulator:simulate(time))
        actual_collisions = actual_collisions + #collisions
    end

    return actual_collisions
end

function CD:verify_result_for(actual_collisions, num_aircrafts)
    if num_aircrafts == 1000 then
        return actual_collisions == 14484
    end
    if num_aircrafts == 500 then
        return actual_collisions == 14484
    end
    if num_aircrafts == 250 then
        return actual_collisions == 10830
    end
    if num_aircrafts == 100 then
        return actual_collisions == 4305
    end
    if num_aircrafts == 10 then
        return actual_collisions == 390
    end
    print(("No verification result for %d found"):format(num_aircrafts))
    print(("Result is: %d"):format(actual_collisions))
    return false
end

local bench = setmetatable({}, CD)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
