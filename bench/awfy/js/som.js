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

// AWFY's som.Vector, shared by DeltaBlue and Havlak (the Kiln ports use
// som.kn's generic Vector<E>): a fixed-size storage array that is copied to grow,
// with first/last indices (removeFirst is O(1)). A size of 0 leaves the
// storage to the first append or atPut, as Java's Vector() does.
const INITIAL_SIZE = 10;

class Vector {
  constructor(size) {
    this.storage = size > 0 ? new Array(size).fill(null) : null;
    this.firstIdx = 0;
    this.lastIdx = 0;
  }

  at(idx) {
    if (this.storage === null || idx >= this.storage.length) {
      return null;
    }
    return this.storage[idx];
  }

  atPut(idx, val) {
    if (this.storage === null) {
      this.storage = new Array(Math.max(idx + 1, INITIAL_SIZE)).fill(null);
    } else if (idx >= this.storage.length) {
      let newLength = this.storage.length;
      while (newLength <= idx) {
        newLength *= 2;
      }
      this.grow(newLength);
    }
    this.storage[idx] = val;
    if (this.lastIdx < idx + 1) {
      this.lastIdx = idx + 1;
    }
  }

  grow(newLength) {
    const old = this.storage;
    const bigger = new Array(newLength).fill(null);
    for (let i = 0; i < old.length; i++) {
      bigger[i] = old[i];
    }
    this.storage = bigger;
  }

  append(elem) {
    if (this.storage === null) {
      this.storage = new Array(INITIAL_SIZE).fill(null);
    } else if (this.lastIdx >= this.storage.length) {
      // Need to expand capacity first
      this.grow(2 * this.storage.length);
    }
    this.storage[this.lastIdx] = elem;
    this.lastIdx += 1;
  }

  isEmpty() {
    return this.lastIdx === this.firstIdx;
  }

  forEach(f) {
    for (let i = this.firstIdx; i < this.lastIdx; i++) {
      f(this.storage[i]);
    }
  }

  hasSome(f) {
    for (let i = this.firstIdx; i < this.lastIdx; i++) {
      if (f(this.storage[i])) {
        return true;
      }
    }
    return false;
  }

  removeFirst() {
    if (this.isEmpty()) {
      return null;
    }
    this.firstIdx += 1;
    return this.storage[this.firstIdx - 1];
  }

  removeAll() {
    this.firstIdx = 0;
    this.lastIdx = 0;
    if (this.storage !== null) {
      this.storage = new Array(this.storage.length).fill(null);
    }
  }

  size() {
    return this.lastIdx - this.firstIdx;
  }

  remove(obj) {
    if (this.storage === null || this.isEmpty()) {
      return false;
    }
    const newArray = new Array(this.capacity()).fill(null);
    let newLast = 0;
    let found = false;
    this.forEach((it) => {
      if (it === obj) {
        found = true;
      } else {
        newArray[newLast] = it;
        newLast += 1;
      }
    });
    this.storage = newArray;
    this.lastIdx = newLast;
    this.firstIdx = 0;
    return found;
  }

  capacity() {
    if (this.storage === null) {
      return 0;
    }
    return this.storage.length;
  }

  // c(a, b) > 0 when a must come after b (Java's Comparator).
  sort(c) {
    if (this.size() > 0) {
      this.sortRange(this.firstIdx, this.lastIdx - 1, c);
    }
  }

  swap(i, j) {
    const t = this.storage[i];
    this.storage[i] = this.storage[j];
    this.storage[j] = t;
  }

  sortRange(i, j, c) {
    const n = j + 1 - i;
    if (n <= 1) {
      return;
    }
    let di = this.storage[i];
    let dj = this.storage[j];
    if (c(di, dj) > 0) {
      this.swap(i, j);
      const tt = di;
      di = dj;
      dj = tt;
    }
    if (n > 2) {
      const ij = Math.trunc((i + j) / 2);
      let dij = this.storage[ij];
      if (c(di, dij) <= 0) {
        if (c(dij, dj) > 0) {
          this.swap(j, ij);
          dij = dj;
        }
      } else {
        this.swap(i, ij);
        dij = di;
      }
      if (n > 3) {
        let k = i;
        let l = j - 1;
        while (true) {
          while (k <= l && c(dij, this.storage[l]) <= 0) {
            l -= 1;
          }
          k += 1;
          while (k <= l && c(this.storage[k], dij) <= 0) {
            k += 1;
          }
          if (k > l) {
            break;
          }
          this.swap(k, l);
        }
        this.sortRange(i, l, c);
        this.sortRange(k, j, c);
      }
    }
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

module.exports = { Random, Vector, Benchmark };
