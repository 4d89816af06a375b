// Recursive Fibonacci: the same algorithm as fib.kn.
'use strict';
function fib(n) {
    if (n < 2) return n;
    return fib(n - 1) + fib(n - 2);
}
console.log(String(fib(36)));
