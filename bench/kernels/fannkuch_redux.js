// Fannkuch-redux: the same algorithm as fannkuch_redux.kn.
// Size: the first argument, n (default 10).
'use strict';
function fannkuch(n) {
    const perm = new Array(n).fill(0);
    const perm1 = new Array(n).fill(0);
    const count = new Array(n).fill(0);
    for (let i = 0; i < n; i++) perm1[i] = i;
    let maxFlips = 0, checksum = 0, permCount = 0;
    let r = n;
    for (;;) {
        while (r !== 1) {
            count[r - 1] = r;
            r -= 1;
        }
        for (let i = 0; i < n; i++) perm[i] = perm1[i];
        let flips = 0;
        let k = perm[0];
        while (k !== 0) {
            let i = 0, j = k;
            while (i < j) {
                const t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
                i += 1;
                j -= 1;
            }
            flips += 1;
            k = perm[0];
        }
        if (flips > maxFlips) maxFlips = flips;
        if (permCount % 2 === 0) checksum += flips; else checksum -= flips;
        for (;;) {
            if (r === n) return [checksum, maxFlips];
            const perm0 = perm1[0];
            for (let i = 0; i < r; i++) perm1[i] = perm1[i + 1];
            perm1[r] = perm0;
            count[r] -= 1;
            if (count[r] > 0) break;
            r += 1;
        }
        permCount += 1;
    }
}

function sizeArg(fallback) {
    if (process.argv.length <= 2) return fallback;
    const n = Number(process.argv[2]);
    if (!Number.isInteger(n)) throw new Error(`the size must be an integer, not '${process.argv[2]}'`);
    return n;
}

const n = sizeArg(10);
const [checksum, maxFlips] = fannkuch(n);
console.log(String(checksum));
console.log(`Pfannkuchen(${n}) = ${maxFlips}`);
