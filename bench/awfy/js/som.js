// som.js: the shared pieces of the JavaScript versions of the Kiln AWFY
// ports (the counterpart of ../som.kn): AWFY's Random and Benchmark.
'use strict';

// AWFY's generator: seed = ((seed * 1309) + 13849) & 65535 from 74755.
class Random {
  constructor() { this.seed = 74755; }
  next() {
    this.seed = ((this.seed * 1309) + 13849) & 65535;
    return this.seed;
  }
}

// Subclasses define benchmark() and verifyResult(r).
class Benchmark {
  innerBenchmarkLoop(inner) {
    for (let i = 0; i < inner; i++) {
      if (!this.verifyResult(this.benchmark())) return false;
    }
    return true;
  }
  benchmark() { throw new Error('subclass responsibility'); }
  verifyResult(_result) { throw new Error('subclass responsibility'); }
}

module.exports = { Random, Benchmark };
