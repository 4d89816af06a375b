// Richards: simulates an operating system's task scheduler (Martin Richards's benchmark).
// JavaScript version of ../richards.kn (Kiln's port of the Are We Fast Yet
// benchmark; see bench/README.md).
'use strict';
const { Benchmark } = require('./som');

const IDLER = 0;
const WORKER = 1;
const HANDLER_A = 2;
const HANDLER_B = 3;
const DEVICE_A = 4;
const DEVICE_B = 5;
const NUM_TYPES = 6;

const DEVICE_PACKET_KIND = 0;
const WORK_PACKET_KIND = 1;

const DATA_SIZE = 4;

const TRACING = false;

class RBObject {
  append(packet, queueHead) {
    packet.link = null;
    if (queueHead === null) {
      return packet;
    }
    let mouse = queueHead;
    let link = mouse.link;
    while (link !== null) {
      mouse = link;
      link = mouse.link;
    }
    mouse.link = packet;
    return queueHead;
  }
}

class Packet extends RBObject {
  constructor(link, identity, kind) {
    super();
    this.link = link;
    this.identity = identity;
    this.kind = kind;
    this.datum = 0;
    this.data = new Array(DATA_SIZE).fill(0);
  }
}

class DeviceTaskDataRecord extends RBObject {
  constructor() {
    super();
    this.pending = null;
  }
}

class HandlerTaskDataRecord extends RBObject {
  constructor() {
    super();
    this.workIn = null;
    this.deviceIn = null;
  }

  deviceInAdd(packet) {
    this.deviceIn = this.append(packet, this.deviceIn);
  }

  workInAdd(packet) {
    this.workIn = this.append(packet, this.workIn);
  }
}

class IdleTaskDataRecord extends RBObject {
  constructor() {
    super();
    this.control = 1;
    this.count = 10000;
  }
}

class WorkerTaskDataRecord extends RBObject {
  constructor() {
    super();
    this.destination = HANDLER_A;
    this.count = 0;
  }
}

class TaskState extends RBObject {
  constructor() {
    super();
    this.packetPending_ = false;
    this.taskWaiting_ = false;
    this.taskHolding_ = false;
  }

  isPacketPending() { return this.packetPending_; }
  isTaskHolding() { return this.taskHolding_; }
  isTaskWaiting() { return this.taskWaiting_; }

  setTaskHolding(b) { this.taskHolding_ = b; }
  setTaskWaiting(b) { this.taskWaiting_ = b; }
  setPacketPending(b) { this.packetPending_ = b; }

  packetPending() {
    this.packetPending_ = true;
    this.taskWaiting_ = false;
    this.taskHolding_ = false;
  }

  running() {
    this.packetPending_ = false;
    this.taskWaiting_ = false;
    this.taskHolding_ = false;
  }

  waiting() {
    this.packetPending_ = false;
    this.taskHolding_ = false;
    this.taskWaiting_ = true;
  }

  waitingWithPacket() {
    this.taskHolding_ = false;
    this.taskWaiting_ = true;
    this.packetPending_ = true;
  }

  isRunning() {
    return !this.packetPending_ && !this.taskWaiting_ && !this.taskHolding_;
  }

  isTaskHoldingOrWaiting() {
    return this.taskHolding_ || (!this.packetPending_ && this.taskWaiting_);
  }

  isWaiting() {
    return !this.packetPending_ && this.taskWaiting_ && !this.taskHolding_;
  }

  isWaitingWithPacket() {
    return this.packetPending_ && this.taskWaiting_ && !this.taskHolding_;
  }
}

function createPacketPendingState() {
  const t = new TaskState();
  t.packetPending();
  return t;
}

function createRunningState() {
  const t = new TaskState();
  t.running();
  return t;
}

function createWaitingState() {
  const t = new TaskState();
  t.waiting();
  return t;
}

function createWaitingWithPacketState() {
  const t = new TaskState();
  t.waitingWithPacket();
  return t;
}

class TaskControlBlock extends TaskState {
  constructor(link, identity, priority, initialWorkQueue, initialState,
              aBlock, privateData) {
    super();
    this.link = link;
    this.identity = identity;
    this.priority = priority;
    this.input = initialWorkQueue;
    this.setPacketPending(initialState.isPacketPending());
    this.setTaskWaiting(initialState.isTaskWaiting());
    this.setTaskHolding(initialState.isTaskHolding());
    this.function = aBlock;
    this.handle = privateData;
  }

  addInputAndCheckPriority(packet, oldTask) {
    if (this.input === null) {
      this.input = packet;
      this.setPacketPending(true);
      if (this.priority > oldTask.priority) {
        return this;
      }
    } else {
      this.input = this.append(packet, this.input);
    }
    return oldTask;
  }

  runTask() {
    let message = null;
    if (this.isWaitingWithPacket()) {
      message = this.input;
      this.input = message.link;
      if (this.input === null) {
        this.running();
      } else {
        this.packetPending();
      }
    } else {
      message = null;
    }
    return this.function(message, this.handle);
  }
}

class Scheduler extends RBObject {
  constructor() {
    super();
    // init tracing
    this.layout = 0;
    this.traceLine = '';

    // init scheduler
    this.queuePacketCount = 0;
    this.holdCount = 0;
    this.taskTable = new Array(NUM_TYPES).fill(null);
    this.taskList = null;
    this.currentTask = null;
    this.currentTaskIdentity = 0;
  }

  createDevice(identity, priority, workPacket, state) {
    const data = new DeviceTaskDataRecord();
    this.createTask(identity, priority, workPacket, state,
      (workArg, wordArg) => {
        const dataRecord = wordArg;
        let functionWork = workArg;
        if (functionWork === null) {
          functionWork = dataRecord.pending;
          if (functionWork === null) {
            return this.markWaiting();
          } else {
            dataRecord.pending = null;
            return this.queuePacket(functionWork);
          }
        } else {
          dataRecord.pending = functionWork;
          if (TRACING) {
            this.trace(functionWork.datum);
          }
          return this.holdSelf();
        }
      },
      data);
  }

  createHandler(identity, priority, workPacket, state) {
    const data = new HandlerTaskDataRecord();
    this.createTask(identity, priority, workPacket, state,
      (work, word) => {
        const dataRecord = word;
        if (work !== null) {
          if (WORK_PACKET_KIND === work.kind) {
            dataRecord.workInAdd(work);
          } else {
            dataRecord.deviceInAdd(work);
          }
        }

        const workPacket = dataRecord.workIn;
        if (workPacket === null) {
          return this.markWaiting();
        } else {
          const count = workPacket.datum;
          if (count >= DATA_SIZE) {
            dataRecord.workIn = workPacket.link;
            return this.queuePacket(workPacket);
          } else {
            const devicePacket = dataRecord.deviceIn;
            if (devicePacket === null) {
              return this.markWaiting();
            } else {
              dataRecord.deviceIn = devicePacket.link;
              devicePacket.datum = workPacket.data[count];
              workPacket.datum = count + 1;
              return this.queuePacket(devicePacket);
            }
          }
        }
      },
      data);
  }

  createIdler(identity, priority, work, state) {
    const data = new IdleTaskDataRecord();
    this.createTask(identity, priority, work, state,
      (workArg, wordArg) => {
        const dataRecord = wordArg;
        dataRecord.count = dataRecord.count - 1;
        if (0 === dataRecord.count) {
          return this.holdSelf();
        } else {
          if (0 === (dataRecord.control & 1)) {
            dataRecord.control = Math.trunc(dataRecord.control / 2);
            return this.release(DEVICE_A);
          } else {
            dataRecord.control = Math.trunc(dataRecord.control / 2) ^ 53256;
            return this.release(DEVICE_B);
          }
        }
      },
      data);
  }

  createPacket(link, identity, kind) {
    return new Packet(link, identity, kind);
  }

  createTask(identity, priority, work, state, aBlock, data) {
    const t = new TaskControlBlock(this.taskList, identity, priority, work, state, aBlock, data);
    this.taskList = t;
    this.taskTable[identity] = t;
  }

  createWorker(identity, priority, workPacket, state) {
    const dataRecord = new WorkerTaskDataRecord();
    this.createTask(identity, priority, workPacket, state,
      (work, word) => {
        const data = word;
        if (work === null) {
          return this.markWaiting();
        } else {
          if (HANDLER_A === data.destination) {
            data.destination = HANDLER_B;
          } else {
            data.destination = HANDLER_A;
          }
          work.identity = data.destination;
          work.datum = 0;
          for (let i = 0; i < DATA_SIZE; i++) {
            data.count = data.count + 1;
            if (data.count > 26) {
              data.count = 1;
            }
            work.data[i] = 65 + data.count - 1;
          }
          return this.queuePacket(work);
        }
      },
      dataRecord);
  }

  start() {
    let workQ = null;

    this.createIdler(IDLER, 0, null, createRunningState());
    workQ = this.createPacket(null, WORKER, WORK_PACKET_KIND);
    workQ = this.createPacket(workQ, WORKER, WORK_PACKET_KIND);

    this.createWorker(WORKER, 1000, workQ, createWaitingWithPacketState());
    workQ = this.createPacket(null, DEVICE_A, DEVICE_PACKET_KIND);
    workQ = this.createPacket(workQ, DEVICE_A, DEVICE_PACKET_KIND);
    workQ = this.createPacket(workQ, DEVICE_A, DEVICE_PACKET_KIND);

    this.createHandler(HANDLER_A, 2000, workQ, createWaitingWithPacketState());
    workQ = this.createPacket(null, DEVICE_B, DEVICE_PACKET_KIND);
    workQ = this.createPacket(workQ, DEVICE_B, DEVICE_PACKET_KIND);
    workQ = this.createPacket(workQ, DEVICE_B, DEVICE_PACKET_KIND);

    this.createHandler(HANDLER_B, 3000, workQ, createWaitingWithPacketState());
    this.createDevice(DEVICE_A, 4000, null, createWaitingState());
    this.createDevice(DEVICE_B, 5000, null, createWaitingState());

    this.schedule();

    return this.queuePacketCount === 23246 && this.holdCount === 9297;
  }

  findTask(identity) {
    const t = this.taskTable[identity];
    if (t === null) {
      throw new Error('findTask failed');
    }
    return t;
  }

  holdSelf() {
    this.holdCount = this.holdCount + 1;
    this.currentTask.setTaskHolding(true);
    return this.currentTask.link;
  }

  queuePacket(packet) {
    const t = this.findTask(packet.identity);
    if (t === null) {
      return null;
    }

    this.queuePacketCount = this.queuePacketCount + 1;

    packet.link = null;
    packet.identity = this.currentTaskIdentity;
    return t.addInputAndCheckPriority(packet, this.currentTask);
  }

  release(identity) {
    const t = this.findTask(identity);
    if (t === null) {
      return null;
    }
    t.setTaskHolding(false);
    if (t.priority > this.currentTask.priority) {
      return t;
    } else {
      return this.currentTask;
    }
  }

  trace(id) {
    this.layout = this.layout - 1;
    if (0 >= this.layout) {
      console.log(this.traceLine);
      this.traceLine = '';
      this.layout = 50;
    }
    this.traceLine += String(id);
  }

  markWaiting() {
    this.currentTask.setTaskWaiting(true);
    return this.currentTask;
  }

  schedule() {
    this.currentTask = this.taskList;
    while (this.currentTask !== null) {
      if (this.currentTask.isTaskHoldingOrWaiting()) {
        this.currentTask = this.currentTask.link;
      } else {
        this.currentTaskIdentity = this.currentTask.identity;
        if (TRACING) {
          this.trace(this.currentTaskIdentity);
        }
        this.currentTask = this.currentTask.runTask();
      }
    }
  }
}

class Richards extends Benchmark {
  benchmark() {
    return new Scheduler().start();
  }

  verifyResult(result) {
    return result;
  }
}

const bench = new Richards();

module.exports = {
  innerBenchmarkLoop: (inner) => bench.innerBenchmarkLoop(inner),
};
