// CD: collision detection between simulated aircraft, with red-black trees as the maps and sets.
// JavaScript version of ../cd.kn (Kiln's port of the Are We Fast Yet
// benchmark; see bench/README.md).
//
// The Kiln port's generic red-black tree is one dynamically typed tree
// here: keys have compareTo, the "seen" sets map to true, and the voxel
// map's values are arrays of Motions. Where the Kiln port uses som.Vector
// (AWFY's Vector), this translation, made from the earlier Kiln port, uses
// a plain array.
'use strict';
const { Benchmark } = require('./som');

// Constants.java. GOOD_VOXEL_SIZE is PROXIMITY_RADIUS * 2.0.
const MIN_X = 0.0;
const MIN_Y = 0.0;
const MAX_X = 1000.0;
const MAX_Y = 1000.0;
const MIN_Z = 0.0;
const MAX_Z = 10.0;
const PROXIMITY_RADIUS = 1.0;
const GOOD_VOXEL_SIZE = 2.0;

class Vector2D {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }

  plus(other) {
    return new Vector2D(this.x + other.x, this.y + other.y);
  }

  minus(other) {
    return new Vector2D(this.x - other.x, this.y - other.y);
  }

  compareTo(other) {
    const result = compareNumbers(this.x, other.x);
    if (result !== 0) {
      return result;
    }
    return compareNumbers(this.y, other.y);
  }
}

function compareNumbers(a, b) {
  if (a === b) {
    return 0;
  }
  if (a < b) {
    return -1;
  }
  if (a > b) {
    return 1;
  }
  // We say that NaN is smaller than non-NaN.
  if (a === a) {
    return 1;
  }
  return -1;
}

class Vector3D {
  constructor(x, y, z) {
    this.x = x;
    this.y = y;
    this.z = z;
  }

  plus(other) {
    return new Vector3D(this.x + other.x, this.y + other.y, this.z + other.z);
  }

  minus(other) {
    return new Vector3D(this.x - other.x, this.y - other.y, this.z - other.z);
  }

  dot(other) {
    return this.x * other.x + this.y * other.y + this.z * other.z;
  }

  squaredMagnitude() {
    return this.dot(this);
  }

  magnitude() {
    return Math.sqrt(this.squaredMagnitude());
  }

  times(amount) {
    return new Vector3D(this.x * amount, this.y * amount, this.z * amount);
  }
}

// ---------------------------------------------------------------------------
// RedBlackTree.java

const RED = 0;
const BLACK = 1;

class RbtNode {
  constructor(key, value) {
    this.key = key;
    this.value = value;
    this.left = null;
    this.right = null;
    this.parent = null;
    this.color = RED;
  }

  successor() {
    let x = this;
    if (x.right !== null) {
      return treeMinimum(x.right);
    }
    let y = x.parent;
    while (y !== null && x === y.right) {
      x = y;
      y = y.parent;
    }
    return y;
  }
}

function treeMinimum(node) {
  let x = node;
  while (x.left !== null) {
    x = x.left;
  }
  return x;
}

class RbtEntry {
  constructor(key, value) {
    this.key = key;
    this.value = value;
  }
}

class InsertResult {
  constructor(isNewEntry, newNode, oldValue) {
    this.isNewEntry = isNewEntry;
    this.newNode = newNode;
    this.oldValue = oldValue;
  }
}

class RedBlackTree {
  constructor() {
    this.root = null;
  }

  put(key, value) {
    const insertionResult = this.treeInsert(key, value);
    if (!insertionResult.isNewEntry) {
      return insertionResult.oldValue;
    }
    let x = insertionResult.newNode;

    while (x !== this.root && x.parent.color === RED) {
      if (x.parent === x.parent.parent.left) {
        const y = x.parent.parent.right;
        if (y !== null && y.color === RED) {
          // Case 1
          x.parent.color = BLACK;
          y.color = BLACK;
          x.parent.parent.color = RED;
          x = x.parent.parent;
        } else {
          if (x === x.parent.right) {
            // Case 2
            x = x.parent;
            this.leftRotate(x);
          }
          // Case 3
          x.parent.color = BLACK;
          x.parent.parent.color = RED;
          this.rightRotate(x.parent.parent);
        }
      } else {
        // Same as "then" clause with "right" and "left" exchanged.
        const y = x.parent.parent.left;
        if (y !== null && y.color === RED) {
          // Case 1
          x.parent.color = BLACK;
          y.color = BLACK;
          x.parent.parent.color = RED;
          x = x.parent.parent;
        } else {
          if (x === x.parent.left) {
            // Case 2
            x = x.parent;
            this.rightRotate(x);
          }
          // Case 3
          x.parent.color = BLACK;
          x.parent.parent.color = RED;
          this.leftRotate(x.parent.parent);
        }
      }
    }

    this.root.color = BLACK;
    return null;
  }

  remove(key) {
    const z = this.findNode(key);
    if (z === null) {
      return null;
    }

    // Y is the node to be unlinked from the tree.
    let y;
    if (z.left === null || z.right === null) {
      y = z;
    } else {
      y = z.successor();
    }

    // Y is guaranteed to be non-null at this point.
    let x;
    if (y.left !== null) {
      x = y.left;
    } else {
      x = y.right;
    }

    // X is the child of y which might potentially replace y in the
    // tree. X might be null at this point.
    let xParent;
    if (x !== null) {
      x.parent = y.parent;
      xParent = x.parent;
    } else {
      xParent = y.parent;
    }
    if (y.parent === null) {
      this.root = x;
    } else {
      if (y === y.parent.left) {
        y.parent.left = x;
      } else {
        y.parent.right = x;
      }
    }

    if (y !== z) {
      if (y.color === BLACK) {
        this.removeFixup(x, xParent);
      }

      y.parent = z.parent;
      y.color = z.color;
      y.left = z.left;
      y.right = z.right;

      if (z.left !== null) {
        z.left.parent = y;
      }
      if (z.right !== null) {
        z.right.parent = y;
      }
      if (z.parent !== null) {
        if (z.parent.left === z) {
          z.parent.left = y;
        } else {
          z.parent.right = y;
        }
      } else {
        this.root = y;
      }
    } else if (y.color === BLACK) {
      this.removeFixup(x, xParent);
    }

    return z.value;
  }

  get(key) {
    const node = this.findNode(key);
    if (node === null) {
      return null;
    }
    return node.value;
  }

  forEach(f) {
    if (this.root === null) {
      return;
    }
    let current = treeMinimum(this.root);
    while (current !== null) {
      f(new RbtEntry(current.key, current.value));
      current = current.successor();
    }
  }

  findNode(key) {
    let current = this.root;
    while (current !== null) {
      const comparisonResult = key.compareTo(current.key);
      if (comparisonResult === 0) {
        return current;
      }
      if (comparisonResult < 0) {
        current = current.left;
      } else {
        current = current.right;
      }
    }
    return null;
  }

  treeInsert(key, value) {
    let y = null;
    let x = this.root;

    while (x !== null) {
      y = x;
      const comparisonResult = key.compareTo(x.key);
      if (comparisonResult < 0) {
        x = x.left;
      } else if (comparisonResult > 0) {
        x = x.right;
      } else {
        const oldValue = x.value;
        x.value = value;
        return new InsertResult(false, null, oldValue);
      }
    }

    const z = new RbtNode(key, value);
    z.parent = y;
    if (y === null) {
      this.root = z;
    } else {
      if (key.compareTo(y.key) < 0) {
        y.left = z;
      } else {
        y.right = z;
      }
    }
    return new InsertResult(true, z, null);
  }

  leftRotate(x) {
    const y = x.right;

    // Turn y's left subtree into x's right subtree.
    x.right = y.left;
    if (y.left !== null) {
      y.left.parent = x;
    }

    // Link x's parent to y.
    y.parent = x.parent;
    if (x.parent === null) {
      this.root = y;
    } else {
      if (x === x.parent.left) {
        x.parent.left = y;
      } else {
        x.parent.right = y;
      }
    }

    // Put x on y's left.
    y.left = x;
    x.parent = y;

    return y;
  }

  rightRotate(y) {
    const x = y.left;

    // Turn x's right subtree into y's left subtree.
    y.left = x.right;
    if (x.right !== null) {
      x.right.parent = y;
    }

    // Link y's parent to x.
    x.parent = y.parent;
    if (y.parent === null) {
      this.root = x;
    } else {
      if (y === y.parent.left) {
        y.parent.left = x;
      } else {
        y.parent.right = x;
      }
    }

    x.right = y;
    y.parent = x;

    return x;
  }

  removeFixup(xNode, xParentNode) {
    let x = xNode;
    let xParent = xParentNode;
    while (x !== this.root && (x === null || x.color === BLACK)) {
      if (x === xParent.left) {
        // Note: the text points out that w cannot be null. The reason is
        // not obvious from simply looking at the code; it comes about from
        // the properties of the red-black tree.
        let w = xParent.right;
        if (w.color === RED) {
          // Case 1
          w.color = BLACK;
          xParent.color = RED;
          this.leftRotate(xParent);
          w = xParent.right;
        }
        if ((w.left === null || w.left.color === BLACK) &&
            (w.right === null || w.right.color === BLACK)) {
          // Case 2
          w.color = RED;
          x = xParent;
          xParent = x.parent;
        } else {
          if (w.right === null || w.right.color === BLACK) {
            // Case 3
            w.left.color = BLACK;
            w.color = RED;
            this.rightRotate(w);
            w = xParent.right;
          }
          // Case 4
          w.color = xParent.color;
          xParent.color = BLACK;
          if (w.right !== null) {
            w.right.color = BLACK;
          }
          this.leftRotate(xParent);
          x = this.root;
          xParent = x.parent;
        }
      } else {
        // Same as "then" clause with "right" and "left" exchanged.
        let w = xParent.left;
        if (w.color === RED) {
          // Case 1
          w.color = BLACK;
          xParent.color = RED;
          this.rightRotate(xParent);
          w = xParent.left;
        }
        if ((w.right === null || w.right.color === BLACK) &&
            (w.left === null || w.left.color === BLACK)) {
          // Case 2
          w.color = RED;
          x = xParent;
          xParent = x.parent;
        } else {
          if (w.left === null || w.left.color === BLACK) {
            // Case 3
            w.right.color = BLACK;
            w.color = RED;
            this.leftRotate(w);
            w = xParent.left;
          }
          // Case 4
          w.color = xParent.color;
          xParent.color = BLACK;
          if (w.left !== null) {
            w.left.color = BLACK;
          }
          this.rightRotate(xParent);
          x = this.root;
          xParent = x.parent;
        }
      }
    }
    if (x !== null) {
      x.color = BLACK;
    }
  }
}

// ---------------------------------------------------------------------------
// The simulation

class CallSign {
  constructor(value) {
    this.value = value;
  }

  compareTo(other) {
    if (this.value === other.value) {
      return 0;
    }
    if (this.value < other.value) {
      return -1;
    }
    return 1;
  }
}

class Aircraft {
  constructor(callsign, position) {
    this.callsign = callsign;
    this.position = position;
  }
}

class Collision {
  constructor(aircraftA, aircraftB, position) {
    this.aircraftA = aircraftA;
    this.aircraftB = aircraftB;
    this.position = position;
  }
}

class Motion {
  constructor(callsign, posOne, posTwo) {
    this.callsign = callsign;
    this.posOne = posOne;
    this.posTwo = posTwo;
  }

  delta() {
    return this.posTwo.minus(this.posOne);
  }

  findIntersection(other) {
    const init1 = this.posOne;
    const init2 = other.posOne;
    const vec1 = this.delta();
    const vec2 = other.delta();
    const radius = PROXIMITY_RADIUS;

    // This test is not a geometrical 3-d intersection test: it takes into
    // account that the aircraft move, so it is more like a 4-d test (it
    // assumes that both aircraft have a constant speed over the tested
    // interval). We have two points, each moving on its line segment at
    // constant speed, and look for the times when the distance between
    // them is smaller than r.
    //   P1 = I1 + v V1, P2 = I2 + v V2; find v with || P1 - P2 || = r:
    //   0 = -r^2 + <I1-I2,I1-I2> + v * 2<I1-I2, V1-V2> + v^2 <V1-V2,V1-V2>
    // a quadratic equation 0 = c + b v + a v^2.

    // a = (V2 - V1)^T * (V2 - V1)
    const a = vec2.minus(vec1).squaredMagnitude();

    if (a !== 0.0) {
      // At least one plane is moving.

      // b = 2 * <I1-I2, V1-V2>
      const b = 2.0 * init1.minus(init2).dot(vec1.minus(vec2));

      // c = -r^2 + (I2 - I1)^T * (I2 - I1)
      const c = -radius * radius + init2.minus(init1).squaredMagnitude();

      const discr = b * b - 4.0 * a * c;
      if (discr < 0.0) {
        return null;
      }

      const v1 = (-b - Math.sqrt(discr)) / (2.0 * a);
      const v2 = (-b + Math.sqrt(discr)) / (2.0 * a);

      if (v1 <= v2 && ((v1 <= 1.0 && 1.0 <= v2) ||
          (v1 <= 0.0 && 0.0 <= v2) ||
          (0.0 <= v1 && v2 <= 1.0))) {
        // Pick a good "time" at which to report the collision.
        let v;
        if (v1 <= 0.0) {
          // The collision started before this frame. Report it at the
          // start of the frame.
          v = 0.0;
        } else {
          // The collision started during this frame. Report it at that
          // moment.
          v = v1;
        }

        const result1 = init1.plus(vec1.times(v));
        const result2 = init2.plus(vec2.times(v));

        const result = result1.plus(result2).times(0.5);
        if (result.x >= MIN_X &&
            result.x <= MAX_X &&
            result.y >= MIN_Y &&
            result.y <= MAX_Y &&
            result.z >= MIN_Z &&
            result.z <= MAX_Z) {
          return result;
        }
      }

      return null;
    }

    // The planes have the same speeds and are moving in parallel (or they
    // are not moving at all): their distance is constant, so we calculate
    // it from the initial points.
    // dist = || i2 - i1 || = sqrt(  ( i2 - i1 )^T * ( i2 - i1 ) )
    const dist = init2.minus(init1).magnitude();
    if (dist <= radius) {
      return init1.plus(init2).times(0.5);
    }

    return null;
  }
}

class CollisionDetector {
  constructor() {
    this.state = new RedBlackTree();
  }

  handleNewFrame(frame) {
    const motions = [];
    const seen = new RedBlackTree();

    for (const aircraft of frame) {
      let oldPosition = this.state.put(aircraft.callsign, aircraft.position);
      const newPosition = aircraft.position;
      seen.put(aircraft.callsign, true);

      if (oldPosition === null) {
        // Treat newly introduced aircraft as if they were stationary.
        oldPosition = newPosition;
      }

      motions.push(new Motion(aircraft.callsign, oldPosition, newPosition));
    }

    // Remove aircraft that are no longer present.
    const toRemove = [];
    this.state.forEach((e) => {
      if (!seen.get(e.key)) {
        toRemove.push(e.key);
      }
    });

    for (const e of toRemove) {
      this.state.remove(e);
    }

    const allReduced = reduceCollisionSet(motions);
    const collisions = [];
    for (const reduced of allReduced) {
      for (let i = 0; i < reduced.length; i++) {
        const motion1 = reduced[i];
        for (let j = i + 1; j < reduced.length; j++) {
          const motion2 = reduced[j];
          const collision = motion1.findIntersection(motion2);
          if (collision !== null) {
            collisions.push(new Collision(motion1.callsign, motion2.callsign, collision));
          }
        }
      }
    }

    return collisions;
  }
}

function isInVoxel(voxel, motion) {
  if (voxel.x > MAX_X ||
      voxel.x < MIN_X ||
      voxel.y > MAX_Y ||
      voxel.y < MIN_Y) {
    return false;
  }

  const init = motion.posOne;
  const fin = motion.posTwo;

  const vS = GOOD_VOXEL_SIZE;
  const r = PROXIMITY_RADIUS / 2.0;

  const vX = voxel.x;
  const x0 = init.x;
  const xv = fin.x - init.x;

  const vY = voxel.y;
  const y0 = init.y;
  const yv = fin.y - init.y;

  let lowX = (vX - r - x0) / xv;
  let highX = (vX + vS + r - x0) / xv;

  if (xv < 0.0) {
    const tmp = lowX;
    lowX = highX;
    highX = tmp;
  }

  let lowY = (vY - r - y0) / yv;
  let highY = (vY + vS + r - y0) / yv;

  if (yv < 0.0) {
    const tmp = lowY;
    lowY = highY;
    highY = tmp;
  }

  return (((xv === 0.0 && vX <= x0 + r && x0 - r <= vX + vS) ||  // no motion in x
      (lowX <= 1.0 && 1.0 <= highX) || (lowX <= 0.0 && 0.0 <= highX) ||
      (0.0 <= lowX && highX <= 1.0)) &&
      ((yv === 0.0 && vY <= y0 + r && y0 - r <= vY + vS) ||  // no motion in y
      ((lowY <= 1.0 && 1.0 <= highY) || (lowY <= 0.0 && 0.0 <= highY) ||
      (0.0 <= lowY && highY <= 1.0))) &&
      (xv === 0.0 || yv === 0.0 ||  // no motion in x or y or both
      (lowY <= highX && highX <= highY) ||
      (lowY <= lowX && lowX <= highY) ||
      (lowX <= lowY && highY <= highX)));
}

const HORIZONTAL = new Vector2D(GOOD_VOXEL_SIZE, 0.0);
const VERTICAL = new Vector2D(0.0, GOOD_VOXEL_SIZE);

function putIntoMap(voxelMap, voxel, motion) {
  let array = voxelMap.get(voxel);
  if (array === null) {
    array = [];
    voxelMap.put(voxel, array);
  }
  array.push(motion);
}

function recurse(voxelMap, seen, nextVoxel, motion) {
  if (!isInVoxel(nextVoxel, motion)) {
    return;
  }

  if (seen.put(nextVoxel, true) === true) {
    return;
  }

  putIntoMap(voxelMap, nextVoxel, motion);

  recurse(voxelMap, seen, nextVoxel.minus(HORIZONTAL), motion);
  recurse(voxelMap, seen, nextVoxel.plus(HORIZONTAL), motion);
  recurse(voxelMap, seen, nextVoxel.minus(VERTICAL), motion);
  recurse(voxelMap, seen, nextVoxel.plus(VERTICAL), motion);
  recurse(voxelMap, seen, nextVoxel.minus(HORIZONTAL).minus(VERTICAL), motion);
  recurse(voxelMap, seen, nextVoxel.minus(HORIZONTAL).plus(VERTICAL), motion);
  recurse(voxelMap, seen, nextVoxel.plus(HORIZONTAL).minus(VERTICAL), motion);
  recurse(voxelMap, seen, nextVoxel.plus(HORIZONTAL).plus(VERTICAL), motion);
}

function reduceCollisionSet(motions) {
  const voxelMap = new RedBlackTree();
  for (const motion of motions) {
    drawMotionOnVoxelMap(voxelMap, motion);
  }

  const result = [];
  voxelMap.forEach((e) => {
    if (e.value.length > 1) {
      result.push(e.value);
    }
  });
  return result;
}

// As in Java, the division is truncated toward zero, not floored.
function voxelHash(position) {
  const xDiv = Math.trunc(position.x / GOOD_VOXEL_SIZE);
  const yDiv = Math.trunc(position.y / GOOD_VOXEL_SIZE);

  let x = GOOD_VOXEL_SIZE * xDiv;
  let y = GOOD_VOXEL_SIZE * yDiv;

  if (position.x < 0.0) {
    x -= GOOD_VOXEL_SIZE;
  }
  if (position.y < 0.0) {
    y -= GOOD_VOXEL_SIZE;
  }

  return new Vector2D(x, y);
}

function drawMotionOnVoxelMap(voxelMap, motion) {
  const seen = new RedBlackTree();
  recurse(voxelMap, seen, voxelHash(motion.posOne), motion);
}

class Simulator {
  constructor(numAircraft) {
    this.aircraft = [];
    for (let i = 0; i < numAircraft; i++) {
      this.aircraft.push(new CallSign(i));
    }
  }

  // Aircraft come in pairs: as in the reference, numAircraft must be even.
  simulate(time) {
    const frame = [];
    let i = 0;
    while (i < this.aircraft.length) {
      frame.push(new Aircraft(this.aircraft[i],
        new Vector3D(time, Math.cos(time) * 2.0 + i * 3, 10.0)));
      frame.push(new Aircraft(this.aircraft[i + 1],
        new Vector3D(time, Math.sin(time) * 2.0 + i * 3, 10.0)));
      i += 2;
    }
    return frame;
  }
}

// ---------------------------------------------------------------------------
// CD.java

class CD extends Benchmark {
  // As in AWFY, the inner iteration count is the number of aircraft, and
  // the expected result depends on it.
  innerBenchmarkLoop(inner) {
    return this.verifyResultFor(this.benchmarkFor(inner), inner);
  }

  benchmarkFor(numAircrafts) {
    const numFrames = 200;

    const simulator = new Simulator(numAircrafts);
    const detector = new CollisionDetector();

    let actualCollisions = 0;

    for (let i = 0; i < numFrames; i++) {
      const time = i / 10.0;
      const collisions = detector.handleNewFrame(simulator.simulate(time));
      actualCollisions += collisions.length;
    }

    return actualCollisions;
  }

  verifyResultFor(actualCollisions, numAircrafts) {
    if (numAircrafts === 1000) {
      return actualCollisions === 14484;
    }
    if (numAircrafts === 500) {
      return actualCollisions === 14484;
    }
    if (numAircrafts === 250) {
      return actualCollisions === 10830;
    }
    if (numAircrafts === 100) {
      return actualCollisions === 4305;
    }
    if (numAircrafts === 10) {
      return actualCollisions === 390;
    }
    console.log(`No verification result for ${numAircrafts} found`);
    console.log(`Result is: ${actualCollisions}`);
    return false;
  }
}

const bench = new CD();

module.exports = {
  innerBenchmarkLoop: (inner) => bench.innerBenchmarkLoop(inner),
};
