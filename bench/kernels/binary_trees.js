// Binary trees: the same algorithm as binary_trees.kn.
// Size: the first argument, the maximum depth (default 16).
'use strict';
class Node {
    constructor(left, right) {
        this.left = left;
        this.right = right;
    }
}

function make(depth) {
    if (depth === 0) return new Node(null, null);
    return new Node(make(depth - 1), make(depth - 1));
}

function check(n) {
    if (n.left === null) return 1;
    return 1 + check(n.left) + check(n.right);
}

function run(maxDepth) {
    const stretch = maxDepth + 1;
    console.log(`stretch tree of depth ${stretch}\t check: ${check(make(stretch))}`);
    const longLived = make(maxDepth);
    for (let depth = 4; depth <= maxDepth; depth += 2) {
        const iterations = 1 << (maxDepth - depth + 4);
        let sum = 0;
        for (let i = 0; i < iterations; i++) sum += check(make(depth));
        console.log(`${iterations}\t trees of depth ${depth}\t check: ${sum}`);
    }
    console.log(`long lived tree of depth ${maxDepth}\t check: ${check(longLived)}`);
}

function sizeArg(fallback) {
    if (process.argv.length <= 2) return fallback;
    const n = Number(process.argv[2]);
    if (!Number.isInteger(n)) throw new Error(`the size must be an integer, not '${process.argv[2]}'`);
    return n;
}

run(sizeArg(16));
