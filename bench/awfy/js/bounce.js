// Bounce: balls bouncing in a box.
// JavaScript version of ../bounce.kn (Kiln's port of the Are We Fast Yet
// benchmark; see bench/README.md).
'use strict';
const { Random, Benchmark } = require('./som');

class Ball {
  constructor(random) {
    this.x = random.next() % 500;
    this.y = random.next() % 500;
    this.xVel = (random.next() % 300) - 150;
    this.yVel = (random.next() % 300) - 150;
  }

  bounce() {
    const xLimit = 500;
    const yLimit = 500;
    let bounced = false;

    this.x += this.xVel;
    this.y += this.yVel;
    if (this.x > xLimit) { this.x = xLimit; this.xVel = 0 - Math.abs(this.xVel); bounced = true; }
    if (this.x < 0) { this.x = 0; this.xVel = Math.abs(this.xVel); bounced = true; }
    if (this.y > yLimit) { this.y = yLimit; this.yVel = 0 - Math.abs(this.yVel); bounced = true; }
    if (this.y < 0) { this.y = 0; this.yVel = Math.abs(this.yVel); bounced = true; }
    return bounced;
  }
}

class Bounce extends Benchmark {
  benchmark() {
    const random = new Random();
    const ballCount = 100;
    let bounces = 0;
    const balls = new Array(ballCount).fill(null);
    for (let i = 0; i < ballCount; i++) {
      balls[i] = new Ball(random);
    }

    for (let i = 1; i <= 50; i++) {
      for (const ball of balls) {
        if (ball.bounce()) {
          bounces += 1;
        }
      }
    }
    return bounces;
  }

  verifyResult(result) {
    return result === 1331;
  }
}

const bench = new Bounce();

module.exports = {
  innerBenchmarkLoop: (inner) => bench.innerBenchmarkLoop(inner),
};
