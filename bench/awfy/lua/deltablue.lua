-- DeltaBlue: the incremental dataflow constraint solver, exercised by a
-- long chain of equality constraints and by a projection through scale
-- constraints.
-- Lua version of ../deltablue.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
--
-- The Kiln port's som.Vector instances are som.lua's Vector class here,
-- with 1-based indices. Directions are int constants, and so are the
-- strength symbols, looked up in plain tables: this translation was made
-- from the earlier Kiln port, before it used AWFY's Sym objects and
-- som.IdentityDictionary.
local som = require("som")
local compat = require("compat")
local idiv = compat.idiv

-- Makes an instance of class `cls` and runs its init method.
local function new(cls, ...)
    local obj = setmetatable({}, cls)
    obj:init(...)
    return obj
end

-- ----------------------------- strengths ------------------------------

local ABSOLUTE_STRONGEST = 0
local REQUIRED = 1
local STRONG_PREFERRED = 2
local PREFERRED = 3
local STRONG_DEFAULT = 4
local DEFAULT = 5
local WEAK_DEFAULT = 6
local ABSOLUTE_WEAKEST = 7

local strength_table = {
    [ABSOLUTE_STRONGEST] = -10000,
    [REQUIRED] = -800,
    [STRONG_PREFERRED] = -600,
    [PREFERRED] = -400,
    [STRONG_DEFAULT] = -200,
    [DEFAULT] = 0,
    [WEAK_DEFAULT] = 500,
    [ABSOLUTE_WEAKEST] = 10000,
}

-- Strengths are used to measure the relative importance of constraints.
-- New strengths may be inserted in the strength hierarchy without
-- disrupting current constraints. Strengths cannot be created outside this
-- module, so identity can be used for value comparison.
local Strength = som.class()

function Strength:init(symbolic_value)
    self.symbolic_value = symbolic_value
    self.arithmetic_value = strength_table[symbolic_value]
end

function Strength:same_as(s)
    return self.arithmetic_value == s.arithmetic_value
end

function Strength:stronger(s)
    return self.arithmetic_value < s.arithmetic_value
end

function Strength:weaker(s)
    return self.arithmetic_value > s.arithmetic_value
end

function Strength:strongest(s)
    if s:stronger(self) then
        return s
    end
    return self
end

function Strength:weakest(s)
    if s:weaker(self) then
        return s
    end
    return self
end

local strength_constants = {}
for key in pairs(strength_table) do
    strength_constants[key] = new(Strength, key)
end

local function strength_of(sym)
    return strength_constants[sym]
end

local absolute_weakest = strength_of(ABSOLUTE_WEAKEST)
local required = strength_of(REQUIRED)

-- ------------------------------- vector -------------------------------

local Vector = som.Vector

local function vector_with(elem)
    local v = new(Vector, 1)
    v:append(elem)
    return v
end

-- ---------------------------- constraints -----------------------------

-- Direction in the Java version; NONE is its null.
local NONE = 0
local FORWARD = 1
local BACKWARD = 2

-- I am an abstract class representing a system-maintainable relationship
-- (or "constraint") between a set of variables. I supply a strength
-- instance variable; concrete subclasses provide a means of storing the
-- constrained variables and other information required to represent a
-- constraint.
local AbstractConstraint = som.class()

function AbstractConstraint:init(strength)
    self.strength = strength_of(strength)
end

-- Normal constraints are not input constraints. An input constraint is
-- one that depends on external state, such as the mouse, the keyboard,
-- a clock, or some arbitrary piece of imperative code.
function AbstractConstraint:is_input()
    return false
end

-- Answer true if this constraint is satisfied in the current solution.
function AbstractConstraint:is_satisfied()
    error("subclass responsibility")
end

-- Activate this constraint and attempt to satisfy it.
function AbstractConstraint:add_constraint(planner)
    self:add_to_graph()
    planner:incremental_add(self)
end

-- Add myself to the constraint graph.
function AbstractConstraint:add_to_graph()
    error("subclass responsibility")
end

-- Deactivate this constraint, remove it from the constraint graph,
-- possibly causing other constraints to be satisfied, and destroy it.
function AbstractConstraint:destroy_constraint(planner)
    if self:is_satisfied() then
        planner:incremental_remove(self)
    end
    self:remove_from_graph()
end

-- Remove myself from the constraint graph.
function AbstractConstraint:remove_from_graph()
    error("subclass responsibility")
end

-- Decide if I can be satisfied and record that decision. The output of
-- the chosen method must not have the given mark and must have a
-- walkabout strength less than that of this constraint.
function AbstractConstraint:choose_method(mark)
    error("subclass responsibility")
end

-- Enforce this constraint. Assume that it is satisfied.
function AbstractConstraint:execute()
    error("subclass responsibility")
end

function AbstractConstraint:inputs_do(f)
    error("subclass responsibility")
end

function AbstractConstraint:inputs_has_one(f)
    error("subclass responsibility")
end

-- Assume that I am satisfied. Answer true if all my current inputs are
-- known. A variable is known if either a) it is 'stay' (i.e. it is a
-- constant at plan execution time), b) it has the given mark
-- (indicating that it has been computed by a constraint appearing
-- earlier in the plan), or c) it is not determined by any constraint.
function AbstractConstraint:inputs_known(mark)
    return not self:inputs_has_one(function(v)
        return not (v.mark == mark or v.stay or v.determined_by == nil)
    end)
end

-- Record the fact that I am unsatisfied.
function AbstractConstraint:mark_unsatisfied()
    error("subclass responsibility")
end

-- Answer my current output variable.
function AbstractConstraint:get_output()
    error("subclass responsibility")
end

-- Calculate the walkabout strength, the stay flag, and, if it is
-- 'stay', the value for the current output of this constraint. Assume
-- this constraint is satisfied.
function AbstractConstraint:recalculate()
    error("subclass responsibility")
end

-- Attempt to find a way to enforce this constraint. If successful,
-- record the solution, perhaps modifying the current dataflow graph.
-- Answer the constraint that this constraint overrides, if there is
-- one, or nil, if there isn't.
-- Assume: I am not already satisfied.
function AbstractConstraint:satisfy(mark, planner)
    local overridden
    self:choose_method(mark)
    if self:is_satisfied() then
        -- constraint can be satisfied
        -- mark inputs to allow cycle detection in add_propagate
        self:inputs_do(function(i) i.mark = mark end)
        local out = self:get_output()
        overridden = out.determined_by
        if overridden ~= nil then
            overridden:mark_unsatisfied()
        end
        out.determined_by = self
        if not planner:add_propagate(self, mark) then
            error("Cycle encountered")
        end
        out.mark = mark
    else
        overridden = nil
        if self.strength:same_as(required) then
            error("Could not satisfy a required constraint")
        end
    end
    return overridden
end

-- I am an abstract superclass for constraints having two possible output
-- variables.
local BinaryConstraint = som.class(AbstractConstraint)

function BinaryConstraint:init(var1, var2, strength, planner)
    AbstractConstraint.init(self, strength)
    self.v1 = var1 -- possible output variables
    self.v2 = var2
    self.direction = NONE -- one of FORWARD, BACKWARD, NONE
end

function BinaryConstraint:is_satisfied()
    return self.direction ~= NONE
end

function BinaryConstraint:add_to_graph()
    self.v1:add_constraint(self)
    self.v2:add_constraint(self)
    self.direction = NONE
end

function BinaryConstraint:remove_from_graph()
    if self.v1 ~= nil then
        self.v1:remove_constraint(self)
    end
    if self.v2 ~= nil then
        self.v2:remove_constraint(self)
    end
    self.direction = NONE
end

-- Decide if I can be satisfied and which way I should flow based on the
-- relative strength of the variables I relate, and record that
-- decision.
function BinaryConstraint:choose_method(mark)
    if self.v1.mark == mark then
        if self.v2.mark ~= mark and self.strength:stronger(self.v2.walk_strength) then
            self.direction = FORWARD
            return self.direction
        else
            self.direction = NONE
            return self.direction
        end
    end

    if self.v2.mark == mark then
        if self.v1.mark ~= mark and self.strength:stronger(self.v1.walk_strength) then
            self.direction = BACKWARD
            return self.direction
        else
            self.direction = NONE
            return self.direction
        end
    end

    -- If we get here, neither variable is marked, so we have a choice.
    if self.v1.walk_strength:weaker(self.v2.walk_strength) then
        if self.strength:stronger(self.v1.walk_strength) then
            self.direction = BACKWARD
            return self.direction
        else
            self.direction = NONE
            return self.direction
        end
    else
        if self.strength:stronger(self.v2.walk_strength) then
            self.direction = FORWARD
            return self.direction
        else
            self.direction = NONE
            return self.direction
        end
    end
end

function BinaryConstraint:inputs_do(f)
    if self.direction == FORWARD then
        f(self.v1)
    else
        f(self.v2)
    end
end

function BinaryConstraint:inputs_has_one(f)
    if self.direction == FORWARD then
        return f(self.v1)
    else
        return f(self.v2)
    end
end

function BinaryConstraint:mark_unsatisfied()
    self.direction = NONE
end

function BinaryConstraint:get_output()
    if self.direction == FORWARD then
        return self.v2
    end
    return self.v1
end

function BinaryConstraint:recalculate()
    local ihn, out
    if self.direction == FORWARD then
        ihn = self.v1
        out = self.v2
    else
        ihn = self.v2
        out = self.v1
    end
    out.walk_strength = self.strength:weakest(ihn.walk_strength)
    out.stay = ihn.stay
    if out.stay then
        self:execute()
    end
end

-- I am an abstract superclass for constraints having a single possible
-- output variable.
local UnaryConstraint = som.class(AbstractConstraint)

function UnaryConstraint:init(v, strength, planner)
    AbstractConstraint.init(self, strength)
    self.output = v -- possible output variable
    self.satisfied = false -- true if I am currently satisfied
    self:add_constraint(planner)
end

function UnaryConstraint:is_satisfied()
    return self.satisfied
end

function UnaryConstraint:add_to_graph()
    self.output:add_constraint(self)
    self.satisfied = false
end

function UnaryConstraint:remove_from_graph()
    if self.output ~= nil then
        self.output:remove_constraint(self)
    end
    self.satisfied = false
end

function UnaryConstraint:choose_method(mark)
    self.satisfied = self.output.mark ~= mark and
        self.strength:stronger(self.output.walk_strength)
    return NONE
end

function UnaryConstraint:inputs_do(f)
    -- I have no input variables
end

function UnaryConstraint:inputs_has_one(f)
    return false
end

function UnaryConstraint:mark_unsatisfied()
    self.satisfied = false
end

function UnaryConstraint:get_output()
    return self.output
end

function UnaryConstraint:recalculate()
    self.output.walk_strength = self.strength
    self.output.stay = not self:is_input()
    if self.output.stay then
        self:execute() -- stay optimization
    end
end

-- I am a unary input constraint used to mark a variable that the client
-- wishes to change.
local EditConstraint = som.class(UnaryConstraint)

function EditConstraint:is_input()
    return true
end

function EditConstraint:execute()
    -- Edit constraints do nothing.
end

-- I constrain two variables to have the same value: "v1 = v2".
local EqualityConstraint = som.class(BinaryConstraint)

function EqualityConstraint:init(var1, var2, strength, planner)
    BinaryConstraint.init(self, var1, var2, strength, planner)
    self:add_constraint(planner)
end

-- Enforce this constraint. Assume that it is satisfied.
function EqualityConstraint:execute()
    if self.direction == FORWARD then
        self.v2.value = self.v1.value
    else
        self.v1.value = self.v2.value
    end
end

-- I relate two variables by the linear scaling relationship:
-- "v2 = (v1 * scale) + offset". Either v1 or v2 may be changed to maintain
-- this relationship but the scale factor and offset are considered
-- read-only.
local ScaleConstraint = som.class(BinaryConstraint)

function ScaleConstraint:init(src, scale, offset, dest, strength, planner)
    BinaryConstraint.init(self, src, dest, strength, planner)
    self.scale = scale -- scale factor input variable
    self.offset = offset -- offset input variable
    self:add_constraint(planner)
end

function ScaleConstraint:add_to_graph()
    self.v1:add_constraint(self)
    self.v2:add_constraint(self)
    self.scale:add_constraint(self)
    self.offset:add_constraint(self)
    self.direction = NONE
end

function ScaleConstraint:remove_from_graph()
    if self.v1 ~= nil then
        self.v1:remove_constraint(self)
    end
    if self.v2 ~= nil then
        self.v2:remove_constraint(self)
    end
    if self.scale ~= nil then
        self.scale:remove_constraint(self)
    end
    if self.offset ~= nil then
        self.offset:remove_constraint(self)
    end
    self.direction = NONE
end

function ScaleConstraint:execute()
    if self.direction == FORWARD then
        self.v2.value = self.v1.value * self.scale.value + self.offset.value
    else
        -- Kiln's / truncates and idiv floors: the same here, where every
        -- quotient is a non-negative integer.
        self.v1.value = idiv(self.v2.value - self.offset.value, self.scale.value)
    end
end

function ScaleConstraint:inputs_do(f)
    if self.direction == FORWARD then
        f(self.v1)
        f(self.scale)
        f(self.offset)
    else
        f(self.v2)
        f(self.scale)
        f(self.offset)
    end
end

function ScaleConstraint:recalculate()
    local ihn, out
    if self.direction == FORWARD then
        ihn = self.v1
        out = self.v2
    else
        out = self.v1
        ihn = self.v2
    end
    out.walk_strength = self.strength:weakest(ihn.walk_strength)
    out.stay = ihn.stay and self.scale.stay and self.offset.stay
    if out.stay then
        self:execute() -- stay optimization
    end
end

-- I mark variables that should, with some level of preference, stay the
-- same. I have one method with zero inputs and one output, which does
-- nothing. Planners may exploit the fact that, if I am satisfied, my output
-- will not change during plan execution. This is called "stay
-- optimization".
local StayConstraint = som.class(UnaryConstraint)

function StayConstraint:execute()
    -- Stay constraints do nothing.
end

-- ------------------------------ variables -----------------------------

-- I represent a constrained variable. In addition to my value, I maintain
-- the structure of the constraint graph, the current dataflow graph, and
-- various parameters of interest to the DeltaBlue incremental constraint
-- solver.
local Variable = som.class()

function Variable:init()
    self.value = 0                     -- my value; changed by constraints
    self.constraints = new(Vector, 2)  -- normal constraints that reference me
    self.determined_by = nil           -- the constraint that currently determines
                                       -- my value (or nil if there isn't one)
    self.walk_strength = absolute_weakest -- my walkabout strength
    self.stay = true                   -- true if I am a planning-time constant
    self.mark = 0                      -- used by the planner to mark constraints
end

-- Add the given constraint to the set of all constraints that refer
-- to me.
function Variable:add_constraint(c)
    self.constraints:append(c)
end

-- Remove all traces of c from this variable.
function Variable:remove_constraint(c)
    self.constraints:remove(c)
    if self.determined_by == c then
        self.determined_by = nil
    end
end

-- Variable.value(aValue) in the Java version.
local function variable_value(a_value)
    local v = new(Variable)
    v.value = a_value
    return v
end

-- -------------------------------- plans --------------------------------

-- A Plan is an ordered list of constraints to be executed in sequence to
-- resatisfy all currently satisfiable constraints in the face of one or
-- more changing inputs.
local Plan = som.class(Vector)

function Plan:init()
    Vector.init(self, 15)
end

function Plan:execute()
    self:for_each(function(c) c:execute() end)
end

-- ------------------------------- planner -------------------------------

local Planner = som.class()

function Planner:init()
    self.current_mark = 1
end

-- Attempt to satisfy the given constraint and, if successful,
-- incrementally update the dataflow graph. Details: If satisfying the
-- constraint is successful, it may override a weaker constraint on its
-- output. The algorithm attempts to resatisfy that constraint using
-- some other method. This process is repeated until either a) it
-- reaches a variable that was not previously determined by any
-- constraint or b) it reaches a constraint that is too weak to be
-- satisfied using any of its methods. The variables of constraints that
-- have been processed are marked with a unique mark value so that we
-- know where we've been. This allows the algorithm to avoid getting
-- into an infinite loop even if the constraint graph has an inadvertent
-- cycle.
function Planner:incremental_add(c)
    local mark = self:new_mark()
    local overridden = c:satisfy(mark, self)
    while overridden ~= nil do
        overridden = overridden:satisfy(mark, self)
    end
end

-- Entry point for retracting a constraint. Remove the given constraint
-- and incrementally update the dataflow graph.
-- Details: Retracting the given constraint may allow some currently
-- unsatisfiable downstream constraint to be satisfied. We therefore
-- collect a list of unsatisfied downstream constraints and attempt to
-- satisfy each one in turn. This list is traversed by constraint
-- strength, strongest first, as a heuristic for avoiding unnecessarily
-- adding and then overriding weak constraints.
-- Assume: c is satisfied.
function Planner:incremental_remove(c)
    local out = c:get_output()
    c:mark_unsatisfied()
    c:remove_from_graph()
    local unsatisfied = self:remove_propagate_from(out)
    unsatisfied:for_each(function(u) self:incremental_add(u) end)
end

-- Extract a plan for resatisfaction starting from the outputs of the
-- given constraints, usually a set of input constraints.
function Planner:extract_plan_from_constraints(constraints)
    local sources = new(Vector, 0)
    constraints:for_each(function(c)
        if c:is_input() and c:is_satisfied() then
            sources:append(c)
        end
    end)
    return self:make_plan(sources)
end

-- Extract a plan for resatisfaction starting from the given source
-- constraints, usually a set of input constraints. This method assumes
-- that stay optimization is desired; the plan will contain only
-- constraints whose output variables are not stay. Constraints that do
-- no computation, such as stay and edit constraints, are not included
-- in the plan.
-- Details: The outputs of a constraint are marked when it is added to
-- the plan under construction. A constraint may be appended to the plan
-- when all its input variables are known. A variable is known if either
-- a) the variable is marked (indicating that has been computed by a
-- constraint appearing earlier in the plan), b) the variable is 'stay'
-- (i.e. it is a constant at plan execution time), or c) the variable is
-- not determined by any constraint. The last provision is for past
-- states of history variables, which are not stay but which are also
-- not computed by any constraint.
-- Assume: sources are all satisfied.
function Planner:make_plan(sources)
    local mark = self:new_mark()
    local plan = new(Plan)
    local todo = sources
    while not todo:is_empty() do
        local c = todo:remove_first()
        if c:get_output().mark ~= mark and c:inputs_known(mark) then
            -- not in plan already and eligible for inclusion
            plan:append(c)
            c:get_output().mark = mark
            self:add_constraints_consuming_to(c:get_output(), todo)
        end
    end
    return plan
end

-- The given variable has changed. Propagate new values downstream.
function Planner:propagate_from(v)
    local todo = new(Vector, 0)
    self:add_constraints_consuming_to(v, todo)
    while not todo:is_empty() do
        local c = todo:remove_first()
        c:execute()
        self:add_constraints_consuming_to(c:get_output(), todo)
    end
end

function Planner:add_constraints_consuming_to(v, coll)
    local determining_c = v.determined_by
    v.constraints:for_each(function(c)
        if c ~= determining_c and c:is_satisfied() then
            coll:append(c)
        end
    end)
end

-- Recompute the walkabout strengths and stay flags of all variables
-- downstream of the given constraint and recompute the actual values of
-- all variables whose stay flag is true. If a cycle is detected, remove
-- the given constraint and answer false. Otherwise, answer true.
-- Details: Cycles are detected when a marked variable is encountered
-- downstream of the given constraint. The sender is assumed to have
-- marked the inputs of the given constraint with the given mark. Thus,
-- encountering a marked node downstream of the output constraint means
-- that there is a path from the constraint's output to one of its
-- inputs.
function Planner:add_propagate(c, mark)
    local todo = vector_with(c)
    while not todo:is_empty() do
        local d = todo:remove_first()
        if d:get_output().mark == mark then
            self:incremental_remove(c)
            return false
        end
        d:recalculate()
        self:add_constraints_consuming_to(d:get_output(), todo)
    end
    return true
end

function Planner:change(v, new_value)
    local edit_c = new(EditConstraint, v, PREFERRED, self)
    local edit_v = vector_with(edit_c)
    local plan = self:extract_plan_from_constraints(edit_v)
    for _ = 1, 10 do
        v.value = new_value
        plan:execute()
    end
    edit_c:destroy_constraint(self)
end

function Planner:constraints_consuming(v, block)
    local determining_c = v.determined_by
    v.constraints:for_each(function(c)
        if c ~= determining_c and c:is_satisfied() then
            block(c)
        end
    end)
end

-- Select a previously unused mark value.
function Planner:new_mark()
    self.current_mark = self.current_mark + 1
    return self.current_mark
end

-- Update the walkabout strengths and stay flags of all variables
-- downstream of the given constraint. Answer a collection of
-- unsatisfied constraints sorted in order of decreasing strength.
function Planner:remove_propagate_from(out)
    local unsatisfied = new(Vector, 0)

    out.determined_by = nil
    out.walk_strength = absolute_weakest
    out.stay = true

    local todo = vector_with(out)
    while not todo:is_empty() do
        local v = todo:remove_first()
        v.constraints:for_each(function(c)
            if not c:is_satisfied() then
                unsatisfied:append(c)
            end
        end)
        self:constraints_consuming(v, function(c)
            c:recalculate()
            todo:append(c:get_output())
        end)
    end

    unsatisfied:sort(function(c1, c2)
        if c1.strength:stronger(c2.strength) then
            return -1
        end
        return 1
    end)
    return unsatisfied
end

-- This is the standard DeltaBlue benchmark. A long chain of equality
-- constraints is constructed with a stay constraint on one end. An edit
-- constraint is then added to the opposite end and the time is measured
-- for adding and removing this constraint, and extracting and executing a
-- constraint satisfaction plan. There are two cases. In case 1, the added
-- constraint is stronger than the stay constraint and values must
-- propagate down the entire length of the chain. In case 2, the added
-- constraint is weaker than the stay constraint so it cannot be
-- accommodated. The cost in this case is, of course, very low. Typical
-- situations lie somewhere between these two extremes.
local function chain_test(n)
    local planner = new(Planner)
    local vars = {}
    for i = 1, n + 1 do
        vars[i] = new(Variable)
    end

    -- Build chain of n equality constraints
    for i = 1, n do
        local v1 = vars[i]
        local v2 = vars[i + 1]
        new(EqualityConstraint, v1, v2, REQUIRED, planner)
    end

    new(StayConstraint, vars[n + 1], STRONG_DEFAULT, planner)
    local edit_c = new(EditConstraint, vars[1], PREFERRED, planner)

    local edit_v = vector_with(edit_c)
    local plan = planner:extract_plan_from_constraints(edit_v)
    for i = 0, 99 do
        vars[1].value = i
        plan:execute()
        if vars[n + 1].value ~= i then
            error("Chain test failed!")
        end
    end
    edit_c:destroy_constraint(planner)
end

-- This test constructs a two sets of variables related to each other by a
-- simple linear transformation (scale and offset). The time is measured to
-- change a variable on either side of the mapping and to change the scale
-- and offset factors.
local function projection_test(n)
    local planner = new(Planner)
    local dests = new(Vector, 0)

    local scale = variable_value(10)
    local offset = variable_value(1000)

    local src, dst
    for i = 0, n - 1 do
        src = variable_value(i)
        dst = variable_value(i)
        dests:append(dst)
        new(StayConstraint, src, DEFAULT, planner)
        new(ScaleConstraint, src, scale, offset, dst, REQUIRED, planner)
    end

    planner:change(src, 17)
    if dst.value ~= 1170 then
        error("Projection test 1 failed!")
    end

    planner:change(dst, 1050)
    if src.value ~= 5 then
        error("Projection test 2 failed!")
    end

    planner:change(scale, 5)
    for i = 0, n - 2 do
        if dests:at(i + 1).value ~= i * 5 + 1000 then
            error("Projection test 3 failed!")
        end
    end

    planner:change(offset, 2000)
    for i = 0, n - 2 do
        if dests:at(i + 1).value ~= i * 5 + 2000 then
            error("Projection test 4 failed!")
        end
    end
end

-- As in AWFY, chain_test and projection_test verify their own results and
-- raise an error when they fail.
local DeltaBlue = som.class(som.Benchmark)

function DeltaBlue:inner_benchmark_loop(inner)
    chain_test(inner)
    projection_test(inner)
    return true
end

function DeltaBlue:benchmark()
    error("should never be reached")
end

function DeltaBlue:verify_result(_)
    error("should never be reached")
end

local bench = setmetatable({}, DeltaBlue)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
