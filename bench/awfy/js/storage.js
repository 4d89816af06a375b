// Storage: builds a tree of arrays to stress the garbage collector.
// JavaScript version of ../storage.kn (Kiln's port of the Are We Fast Yet
// benchmark; see bench/README.md).
'use strict';
const { Random, Benchmark } = require('./som');

// AWFY's tree of bare arrays: an inner node is an array of its four
// subtrees, a leaf an array of random.next() % 10 + 1 nulls. The Kiln port
// wraps each array in a TreeArray only because Kiln's types require it;
// JavaScript needs no wrapper, so it makes half the allocations Kiln makes.

class Storage extends Benchmark {
  constructor() {
    super();
    this.count = 0;
  }

  benchmark() {
    const random = new Random();
    this.count = 0;
    this.buildTreeDepth(7, random);
    return this.count;
  }

  buildTreeDepth(depth, random) {
    this.count += 1;
    if (depth === 1) {
      const leaf = new Array(random.next() % 10 + 1).fill(null);
      return leaf;
    }
    const arr = new Array(4).fill(null);
    for (let i = 0; i < 4; i++) {
      arr[i] = this.buildTreeDepth(depth - 1, random);
    }
    return arr;
  }

  verifyResult(result) {
    return result === 5461;
  }
}

const bench = new Storage();

module.exports = {
  innerBenchmarkLoop: (inner) => bench.innerBenchmarkLoop(inner),
};
