// Mandelbrot escape counts: the same algorithm as mandelbrot.kn.
'use strict';
const size = 1500;
const maxIter = 50;
let inside = 0;
for (let y = 0; y < size; y++) {
    const ci = 2.0 * y / size - 1.0;
    for (let x = 0; x < size; x++) {
        const cr = 2.0 * x / size - 1.5;
        let zr = 0.0, zi = 0.0;
        let i = 0;
        while (i < maxIter && zr * zr + zi * zi <= 4.0) {
            const t = zr * zr - zi * zi + cr;
            zi = 2.0 * zr * zi + ci;
            zr = t;
            i += 1;
        }
        if (i === maxIter) inside += 1;
    }
}
console.log(String(inside));
