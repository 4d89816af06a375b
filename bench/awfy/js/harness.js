// harness.js: runs the JavaScript versions of the Kiln AWFY ports the way
// ../harness.kn runs the Kiln ones, with the same output and exit status.
//
//   node bench/awfy/js/harness.js NAME [OUTER [INNER]]
//
// NAME.js (lower case) exports innerBenchmarkLoop(inner), true when every
// result verified. Times are from process.hrtime (a monotonic clock, as
// Kiln's os.clock) in microseconds. Exit status: 0 verified, 1 a result did
// not verify, 2 bad arguments or unknown benchmark.
'use strict';
const path = require('path');

function fail(status, msg) {
  process.stderr.write(msg + '\n');
  process.exit(status);
}

function countArg(args, i, what) {
  if (args.length <= i) return 1;
  const n = Number(args[i]);
  if (!Number.isInteger(n)) fail(2, `harness: ${what} must be an integer, not "${args[i]}"`);
  if (n < 1) fail(2, `harness: ${what} must be at least 1, not ${n}`);
  return n;
}

function micros() {
  return Number(process.hrtime.bigint()) / 1000;
}

const args = process.argv.slice(2);
if (args.length < 1 || args.length > 3) {
  fail(2, 'usage: node harness.js benchmark [num-iterations [inner-iter]]');
}
const name = args[0];
let bench;
try {
  bench = require(path.join(__dirname, name.toLowerCase() + '.js'));
} catch (e) {
  fail(2, `harness: unknown benchmark "${name}" (${e.message.split('\n')[0]})`);
}
const outer = countArg(args, 1, 'num-iterations');
const inner = countArg(args, 2, 'inner-iter');
const us = (t) => Math.round(t).toString();

console.log(`Starting ${name} benchmark ...`);
let total = 0;
for (let i = 0; i < outer; i++) {
  const start = micros();
  if (!bench.innerBenchmarkLoop(inner)) {
    fail(1, `harness: ${name}: benchmark failed with incorrect result`);
  }
  const runTime = micros() - start;
  console.log(`${name}: iterations=1 runtime: ${us(runTime)}us`);
  total += runTime;
}
console.log(`${name}: iterations=${outer} average: ${us(total / outer)}us total: ${us(total)}us`);
console.log('');
console.log(`Total Runtime: ${us(total)}us`);
