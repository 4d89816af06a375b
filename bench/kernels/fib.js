// Recursive Fibonacci: the same algorithm as fib.kn.
// Size: the first argument, n (default 36).
'use strict';
function fib(n) {
    if (n < 2) return n;
    return fib(n - 1) + fib(n - 2);
}

function sizeArg(fallback) {
    if (process.argv.length <= 2) return fallback;
    const n = Number(process.argv[2]);
    if (!Number.isInteger(n)) throw new Error(`the size must be an integer, not '${process.argv[2]}'`);
    return n;
}

console.log(String(fib(sizeArg(36))));
