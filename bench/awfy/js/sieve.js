// Sieve: counts the primes up to 5000 with the sieve of Eratosthenes.
// JavaScript version of ../sieve.kn (Kiln's port of the Are We Fast Yet
// benchmark; see bench/README.md).
'use strict';
const { Benchmark } = require('./som');

class Sieve extends Benchmark {
  benchmark() {
    const flags = new Array(5000).fill(true);
    return this.sieve(flags, 5000);
  }

  sieve(flags, size) {
    let primeCount = 0;
    for (let i = 2; i <= size; i++) {
      if (flags[i - 1]) {
        primeCount += 1;
        let k = i + i;
        while (k <= size) {
          flags[k - 1] = false;
          k += i;
        }
      }
    }
    return primeCount;
  }

  verifyResult(result) {
    return result === 669;
  }
}

const bench = new Sieve();

module.exports = {
  innerBenchmarkLoop: (inner) => bench.innerBenchmarkLoop(inner),
};
