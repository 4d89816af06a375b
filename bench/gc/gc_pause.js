// GC pause: the same program as gc_pause.kn. Builds LIVE small objects
// (two fields, held by an array and linked through next), then allocates
// ALLOCS short-lived ones in batches of 1,000 (each batch a chain, dropped
// when the batch ends) and reads process.hrtime.bigint() (monotonic wall
// clock, ns) after every batch; prints "max_ms p99_ms batches total_s" and
// checks the live objects and the batches' values (exit 1 if wrong).
// Size: the first argument, LIVE (default 1000000); the second, ALLOCS
// (default 5000000).
'use strict';
class Cell {
    constructor(val, next) {
        this.val = val;
        this.next = next;
    }
}

function run(liveN, allocs) {
    const live = new Array(liveN).fill(null);
    let prev = null;
    for (let i = 0; i < liveN; i++) {
        const c = new Cell(i, prev);
        live[i] = c;
        prev = c;
    }

    const batch = 1000;
    const batches = Math.floor((allocs + batch - 1) / batch);
    const gaps = new Float64Array(batches);
    let acc = 0;
    let k = 0;
    const start = process.hrtime.bigint();
    let last = start;
    for (let b = 0; b < batches; b++) {
        let chain = null;
        const n = Math.min(allocs - k, batch);
        for (let j = 0; j < n; j++) {
            chain = new Cell(k, chain);
            k++;
        }
        acc += chain.val;
        const now = process.hrtime.bigint();
        gaps[b] = Number(now - last) / 1e9;
        last = now;
    }
    const total = Number(last - start) / 1e9;

    let sum = 0, count = 0;
    for (let c = prev; c !== null; c = c.next) {
        sum += c.val;
        count++;
    }
    for (let i = 0; i < liveN; i++) sum += live[i].val;
    let want = 0;
    for (let b = 0; b < batches; b++) want += Math.min((b + 1) * batch, allocs) - 1;
    if (count !== liveN || sum !== liveN * (liveN - 1) || acc !== want) {
        console.error(`gc_pause: wrong result: count ${count} sum ${sum} acc ${acc}, ` +
            `want ${liveN} ${liveN * (liveN - 1)} ${want}`);
        process.exit(1);
    }

    gaps.sort();   // a Float64Array sorts numerically
    const p99 = gaps[Math.floor((99 * batches + 99) / 100) - 1];
    const max = gaps[batches - 1];
    console.log(`${(max * 1000).toFixed(3)} ${(p99 * 1000).toFixed(3)} ${batches} ${total.toFixed(3)}`);
}

function sizeArg(i, fallback) {
    const s = process.argv[2 + i];
    if (s === undefined) return fallback;
    const n = Number(s);
    if (!Number.isInteger(n)) throw new Error(`the sizes must be integers, not '${s}'`);
    return n;
}

const liveN = sizeArg(0, 1000000), allocs = sizeArg(1, 5000000);
if (liveN < 1 || allocs < 1) {
    console.error('gc_pause: LIVE must be at least 1 and ALLOCS at least 1');
    process.exit(2);
}
run(liveN, allocs);
