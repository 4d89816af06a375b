// Towers: solves the Towers of Hanoi with 13 disks, as linked lists.
// JavaScript version of ../towers.kn (Kiln's port of the Are We Fast Yet
// benchmark; see bench/README.md).
'use strict';
const { Benchmark } = require('./som');

class TowersDisk {
  constructor(size) {
    this.size = size;
    this.next = null;
  }
}

class Towers extends Benchmark {
  constructor() {
    super();
    this.piles = null;
    this.movesDone = 0;
  }

  benchmark() {
    this.piles = new Array(3).fill(null);
    this.buildTowerAt(0, 13);
    this.movesDone = 0;
    this.moveDisks(13, 0, 1);
    return this.movesDone;
  }

  verifyResult(result) {
    return result === 8191;
  }

  pushDisk(disk, pile) {
    const top = this.piles[pile];
    if (top !== null && disk.size >= top.size) {
      throw new Error('Cannot put a big disk on a smaller one');
    }
    disk.next = top;
    this.piles[pile] = disk;
  }

  popDiskFrom(pile) {
    const top = this.piles[pile];
    if (top === null) {
      throw new Error('Attempting to remove a disk from an empty pile');
    }
    this.piles[pile] = top.next;
    top.next = null;
    return top;
  }

  moveTopDisk(fromPile, toPile) {
    this.pushDisk(this.popDiskFrom(fromPile), toPile);
    this.movesDone += 1;
  }

  // As in towers.kn (and AWFY's Java version): disks 13 down to 0 (14 disks),
  // of which the top 13 are moved.
  buildTowerAt(pile, disks) {
    for (let i = disks; i >= 0; i--) {
      this.pushDisk(new TowersDisk(i), pile);
    }
  }

  moveDisks(disks, fromPile, toPile) {
    if (disks === 1) {
      this.moveTopDisk(fromPile, toPile);
    } else {
      const otherPile = (3 - fromPile) - toPile;
      this.moveDisks(disks - 1, fromPile, otherPile);
      this.moveTopDisk(fromPile, toPile);
      this.moveDisks(disks - 1, otherPile, toPile);
    }
  }
}

const bench = new Towers();

module.exports = {
  innerBenchmarkLoop: (inner) => bench.innerBenchmarkLoop(inner),
};
