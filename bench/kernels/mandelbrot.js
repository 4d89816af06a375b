// Mandelbrot escape counts: the same algorithm as mandelbrot.kn.
// Size: the first argument, the grid's side (default 1500).
'use strict';
const maxIter = 50;

function mandelbrot(size) {
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
    return inside;
}

function sizeArg(fallback) {
    if (process.argv.length <= 2) return fallback;
    const n = Number(process.argv[2]);
    if (!Number.isInteger(n)) throw new Error(`the size must be an integer, not '${process.argv[2]}'`);
    return n;
}

console.log(String(mandelbrot(sizeArg(1500))));
