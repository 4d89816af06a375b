// Mandelbrot: the classic fractal, as a bit-image checksum.
// JavaScript version of ../mandelbrot.kn (Kiln's port of the Are We Fast Yet
// benchmark, adapted from the Computer Language Benchmarks Game; see
// bench/README.md).
'use strict';
const { Benchmark } = require('./som');

class Mandelbrot extends Benchmark {
  // As in AWFY, the inner iteration count is the image size, and the
  // expected result depends on it.
  innerBenchmarkLoop(inner) {
    return this.verifyResultFor(this.mandelbrot(inner), inner);
  }

  verifyResultFor(result, innerIterations) {
    if (innerIterations === 500) {
      return result === 191;
    }
    if (innerIterations === 750) {
      return result === 50;
    }
    if (innerIterations === 1) {
      return result === 128;
    }
    console.log(`No verification result for ${innerIterations} found`);
    console.log(`Result is: ${result}`);
    return false;
  }

  mandelbrot(size) {
    let sum = 0;
    let byteAcc = 0;
    let bitNum = 0;

    let y = 0;
    while (y < size) {
      const ci = (2.0 * y / size) - 1.0;
      let x = 0;

      while (x < size) {
        let zr = 0.0;
        let zrzr = 0.0;
        let zi = 0.0;
        let zizi = 0.0;
        const cr = (2.0 * x / size) - 1.5;

        let z = 0;
        let notDone = true;
        let escape = 0;
        while (notDone && z < 50) {
          zr = zrzr - zizi + cr;
          zi = 2.0 * zr * zi + ci;

          // preserve recalculation
          zrzr = zr * zr;
          zizi = zi * zi;

          if (zrzr + zizi > 4.0) {
            notDone = false;
            escape = 1;
          }
          z += 1;
        }

        byteAcc = (byteAcc << 1) + escape;
        bitNum += 1;

        // Separate branches skip the shift in the common case.
        if (bitNum === 8) {
          sum = sum ^ byteAcc;
          byteAcc = 0;
          bitNum = 0;
        } else if (x === size - 1) {
          byteAcc = byteAcc << (8 - bitNum);
          sum = sum ^ byteAcc;
          byteAcc = 0;
          bitNum = 0;
        }
        x += 1;
      }
      y += 1;
    }
    return sum;
  }
}

const bench = new Mandelbrot();

module.exports = {
  innerBenchmarkLoop: (inner) => bench.innerBenchmarkLoop(inner),
};
