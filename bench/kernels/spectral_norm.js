// Spectral norm: the same algorithm as spectral_norm.kn.
// Size: the first argument, n (default 700).
'use strict';
function a(i, j) {
    return 1.0 / ((i + j) * (i + j + 1) / 2 + i + 1);
}

function mulAv(n, v, av) {
    for (let i = 0; i < n; i++) {
        let sum = 0.0;
        for (let j = 0; j < n; j++) sum += a(i, j) * v[j];
        av[i] = sum;
    }
}

function mulAtv(n, v, atv) {
    for (let i = 0; i < n; i++) {
        let sum = 0.0;
        for (let j = 0; j < n; j++) sum += a(j, i) * v[j];
        atv[i] = sum;
    }
}

function mulAtAv(n, v, out, tmp) {
    mulAv(n, v, tmp);
    mulAtv(n, tmp, out);
}

function spectralNorm(n) {
    const u = new Array(n).fill(1.0);
    const v = new Array(n).fill(0.0);
    const tmp = new Array(n).fill(0.0);
    for (let i = 0; i < 10; i++) {
        mulAtAv(n, u, v, tmp);
        mulAtAv(n, v, u, tmp);
    }
    let vbv = 0.0, vv = 0.0;
    for (let i = 0; i < n; i++) {
        vbv += u[i] * v[i];
        vv += v[i] * v[i];
    }
    return Math.sqrt(vbv / vv);
}

function sizeArg(fallback) {
    if (process.argv.length <= 2) return fallback;
    const n = Number(process.argv[2]);
    if (!Number.isInteger(n)) throw new Error(`the size must be an integer, not '${process.argv[2]}'`);
    return n;
}

console.log(String(Math.trunc(spectralNorm(sizeArg(700)) * 1000000000.0)));
