-- Richards: simulates an operating system's task scheduler (an idler, a
-- worker, two handlers and two devices exchanging packets).
-- Lua version of ../richards.kn (Kiln's port of the Are We Fast Yet
-- benchmark; see bench/README.md).
--
-- Task identities stay 0-based (IDLER = 0 .. DEVICE_B = 5), as in the Kiln
-- port; the task table and the packets' data are 1-based Lua arrays. A
-- task's behaviour is the field `func` (`function` is a Lua keyword).
local som = require("som")
local compat = require("compat")
local band, bxor, idiv = compat.band, compat.bxor, compat.idiv

local IDLER = 0
local WORKER = 1
local HANDLER_A = 2
local HANDLER_B = 3
local DEVICE_A = 4
local DEVICE_B = 5
local NUM_TYPES = 6

local DEVICE_PACKET_KIND = 0
local WORK_PACKET_KIND = 1

local DATA_SIZE = 4

local TRACING = false

local RBObject = som.class()

function RBObject:append(packet, queue_head)
    packet.link = nil
    if queue_head == nil then
        return packet
    end
    local mouse = queue_head
    local link = mouse.link
    while link ~= nil do
        mouse = link
        link = mouse.link
    end
    mouse.link = packet
    return queue_head
end

local Packet = som.class(RBObject)

function Packet.new(link, identity, kind)
    local data = {}
    for i = 1, DATA_SIZE do data[i] = 0 end
    return setmetatable({
        link = link,
        identity = identity,
        kind = kind,
        datum = 0,
        data = data,
    }, Packet)
end

local DeviceTaskDataRecord = som.class(RBObject)

function DeviceTaskDataRecord.new()
    return setmetatable({ pending = nil }, DeviceTaskDataRecord)
end

local HandlerTaskDataRecord = som.class(RBObject)

function HandlerTaskDataRecord.new()
    return setmetatable({ work_in = nil, device_in = nil }, HandlerTaskDataRecord)
end

function HandlerTaskDataRecord:device_in_add(packet)
    self.device_in = self:append(packet, self.device_in)
end

function HandlerTaskDataRecord:work_in_add(packet)
    self.work_in = self:append(packet, self.work_in)
end

local IdleTaskDataRecord = som.class(RBObject)

function IdleTaskDataRecord.new()
    return setmetatable({ control = 1, count = 10000 }, IdleTaskDataRecord)
end

local WorkerTaskDataRecord = som.class(RBObject)

function WorkerTaskDataRecord.new()
    return setmetatable({ destination = HANDLER_A, count = 0 }, WorkerTaskDataRecord)
end

local TaskState = som.class(RBObject)

function TaskState.new()
    return setmetatable({
        packet_pending_ = false,
        task_waiting_ = false,
        task_holding_ = false,
    }, TaskState)
end

function TaskState:is_packet_pending() return self.packet_pending_ end
function TaskState:is_task_holding() return self.task_holding_ end
function TaskState:is_task_waiting() return self.task_waiting_ end

function TaskState:set_task_holding(b) self.task_holding_ = b end
function TaskState:set_task_waiting(b) self.task_waiting_ = b end
function TaskState:set_packet_pending(b) self.packet_pending_ = b end

function TaskState:packet_pending()
    self.packet_pending_ = true
    self.task_waiting_ = false
    self.task_holding_ = false
end

function TaskState:running()
    self.packet_pending_ = false
    self.task_waiting_ = false
    self.task_holding_ = false
end

function TaskState:waiting()
    self.packet_pending_ = false
    self.task_holding_ = false
    self.task_waiting_ = true
end

function TaskState:waiting_with_packet()
    self.task_holding_ = false
    self.task_waiting_ = true
    self.packet_pending_ = true
end

function TaskState:is_running()
    return not self.packet_pending_ and not self.task_waiting_ and not self.task_holding_
end

function TaskState:is_task_holding_or_waiting()
    return self.task_holding_ or (not self.packet_pending_ and self.task_waiting_)
end

function TaskState:is_waiting()
    return not self.packet_pending_ and self.task_waiting_ and not self.task_holding_
end

function TaskState:is_waiting_with_packet()
    return self.packet_pending_ and self.task_waiting_ and not self.task_holding_
end

local function create_packet_pending_state()
    local t = TaskState.new()
    t:packet_pending()
    return t
end

local function create_running_state()
    local t = TaskState.new()
    t:running()
    return t
end

local function create_waiting_state()
    local t = TaskState.new()
    t:waiting()
    return t
end

local function create_waiting_with_packet_state()
    local t = TaskState.new()
    t:waiting_with_packet()
    return t
end

local TaskControlBlock = som.class(TaskState)

function TaskControlBlock.new(link, identity, priority, initial_work_queue,
                              initial_state, a_block, private_data)
    local t = setmetatable({
        packet_pending_ = false,
        task_waiting_ = false,
        task_holding_ = false,
        link = link,
        identity = identity,
        priority = priority,
        input = initial_work_queue,
        func = a_block,
        handle = private_data,
    }, TaskControlBlock)
    t:set_packet_pending(initial_state:is_packet_pending())
    t:set_task_waiting(initial_state:is_task_waiting())
    t:set_task_holding(initial_state:is_task_holding())
    return t
end

function TaskControlBlock:add_input_and_check_priority(packet, old_task)
    if self.input == nil then
        self.input = packet
        self:set_packet_pending(true)
        if self.priority > old_task.priority then
            return self
        end
    else
        self.input = self:append(packet, self.input)
    end
    return old_task
end

function TaskControlBlock:run_task()
    local message
    if self:is_waiting_with_packet() then
        message = self.input
        self.input = message.link
        if self.input == nil then
            self:running()
        else
            self:packet_pending()
        end
    else
        message = nil
    end
    return self.func(message, self.handle)
end

local Scheduler = som.class(RBObject)

function Scheduler.new()
    return setmetatable({
        current_task_identity = 0,
        task_table = {}, -- NUM_TYPES slots, filled by create_task
        queue_packet_count = 0,
        hold_count = 0,
        layout = 0,
        trace_line = "",
    }, Scheduler)
end

function Scheduler:create_device(identity, priority, work_packet, state)
    local data = DeviceTaskDataRecord.new()
    self:create_task(identity, priority, work_packet, state,
        function(work_arg, word_arg)
            local data_record = word_arg
            local function_work = work_arg
            if function_work == nil then
                function_work = data_record.pending
                if function_work == nil then
                    return self:mark_waiting()
                else
                    data_record.pending = nil
                    return self:queue_packet(function_work)
                end
            else
                data_record.pending = function_work
                if TRACING then
                    self:trace(function_work.datum)
                end
                return self:hold_self()
            end
        end,
        data)
end

function Scheduler:create_handler(identity, priority, work_packet, state)
    local data = HandlerTaskDataRecord.new()
    self:create_task(identity, priority, work_packet, state,
        function(work, word)
            local data_record = word
            if work ~= nil then
                if WORK_PACKET_KIND == work.kind then
                    data_record:work_in_add(work)
                else
                    data_record:device_in_add(work)
                end
            end

            local work_packet = data_record.work_in
            if work_packet == nil then
                return self:mark_waiting()
            else
                local count = work_packet.datum
                if count >= DATA_SIZE then
                    data_record.work_in = work_packet.link
                    return self:queue_packet(work_packet)
                else
                    local device_packet = data_record.device_in
                    if device_packet == nil then
                        return self:mark_waiting()
                    else
                        data_record.device_in = device_packet.link
                        device_packet.datum = work_packet.data[count + 1]
                        work_packet.datum = count + 1
                        return self:queue_packet(device_packet)
                    end
                end
            end
        end,
        data)
end

function Scheduler:create_idler(identity, priority, work, state)
    local data = IdleTaskDataRecord.new()
    self:create_task(identity, priority, work, state,
        function(work_arg, word_arg)
            local data_record = word_arg
            data_record.count = data_record.count - 1
            if 0 == data_record.count then
                return self:hold_self()
            else
                if 0 == band(data_record.control, 1) then
                    data_record.control = idiv(data_record.control, 2)
                    return self:release(DEVICE_A)
                else
                    data_record.control = bxor(idiv(data_record.control, 2), 53256)
                    return self:release(DEVICE_B)
                end
            end
        end,
        data)
end

function Scheduler:create_packet(link, identity, kind)
    return Packet.new(link, identity, kind)
end

function Scheduler:create_task(identity, priority, work, state, a_block, data)
    local t = TaskControlBlock.new(self.task_list, identity, priority, work, state, a_block, data)
    self.task_list = t
    self.task_table[identity + 1] = t
end

function Scheduler:create_worker(identity, priority, work_packet, state)
    local data_record = WorkerTaskDataRecord.new()
    self:create_task(identity, priority, work_packet, state,
        function(work, word)
            local data = word
            if work == nil then
                return self:mark_waiting()
            else
                if HANDLER_A == data.destination then
                    data.destination = HANDLER_B
                else
                    data.destination = HANDLER_A
                end
                work.identity = data.destination
                work.datum = 0
                for i = 1, DATA_SIZE do
                    data.count = data.count + 1
                    if data.count > 26 then
                        data.count = 1
                    end
                    work.data[i] = 65 + data.count - 1
                end
                return self:queue_packet(work)
            end
        end,
        data_record)
end

function Scheduler:start()
    local work_q

    self:create_idler(IDLER, 0, nil, create_running_state())
    work_q = self:create_packet(nil, WORKER, WORK_PACKET_KIND)
    work_q = self:create_packet(work_q, WORKER, WORK_PACKET_KIND)

    self:create_worker(WORKER, 1000, work_q, create_waiting_with_packet_state())
    work_q = self:create_packet(nil, DEVICE_A, DEVICE_PACKET_KIND)
    work_q = self:create_packet(work_q, DEVICE_A, DEVICE_PACKET_KIND)
    work_q = self:create_packet(work_q, DEVICE_A, DEVICE_PACKET_KIND)

    self:create_handler(HANDLER_A, 2000, work_q, create_waiting_with_packet_state())
    work_q = self:create_packet(nil, DEVICE_B, DEVICE_PACKET_KIND)
    work_q = self:create_packet(work_q, DEVICE_B, DEVICE_PACKET_KIND)
    work_q = self:create_packet(work_q, DEVICE_B, DEVICE_PACKET_KIND)

    self:create_handler(HANDLER_B, 3000, work_q, create_waiting_with_packet_state())
    self:create_device(DEVICE_A, 4000, nil, create_waiting_state())
    self:create_device(DEVICE_B, 5000, nil, create_waiting_state())

    self:schedule()

    return self.queue_packet_count == 23246 and self.hold_count == 9297
end

function Scheduler:find_task(identity)
    local t = self.task_table[identity + 1]
    if t == nil then
        error("findTask failed")
    end
    return t
end

function Scheduler:hold_self()
    self.hold_count = self.hold_count + 1
    self.current_task:set_task_holding(true)
    return self.current_task.link
end

function Scheduler:queue_packet(packet)
    local t = self:find_task(packet.identity)
    if t == nil then
        return nil
    end

    self.queue_packet_count = self.queue_packet_count + 1

    packet.link = nil
    packet.identity = self.current_task_identity
    return t:add_input_and_check_priority(packet, self.current_task)
end

function Scheduler:release(identity)
    local t = self:find_task(identity)
    if t == nil then
        return nil
    end
    t:set_task_holding(false)
    if t.priority > self.current_task.priority then
        return t
    else
        return self.current_task
    end
end

function Scheduler:trace(id)
    self.layout = self.layout - 1
    if 0 >= self.layout then
        print(self.trace_line)
        self.trace_line = ""
        self.layout = 50
    end
    self.trace_line = self.trace_line .. tostring(id)
end

function Scheduler:mark_waiting()
    self.current_task:set_task_waiting(true)
    return self.current_task
end

function Scheduler:schedule()
    self.current_task = self.task_list
    while self.current_task ~= nil do
        if self.current_task:is_task_holding_or_waiting() then
            self.current_task = self.current_task.link
        else
            self.current_task_identity = self.current_task.identity
            if TRACING then
                self:trace(self.current_task_identity)
            end
            self.current_task = self.current_task:run_task()
        end
    end
end

-- Richards's result is a boolean; som.Benchmark takes any result (the Kiln
-- port's is som.Benchmark<bool>).
local Richards = som.class(som.Benchmark)

function Richards:benchmark()
    return Scheduler.new():start()
end

function Richards:verify_result(result)
    return result
end

local bench = setmetatable({}, Richards)

return {
    inner_benchmark_loop = function(inner)
        return bench:inner_benchmark_loop(inner)
    end,
}
