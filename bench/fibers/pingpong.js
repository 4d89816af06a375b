// Promise ping-pong: each round trip awaits a promise the other side
// resolves with value + 1 (two microtask hops). Prints ns per round trip.
const n = parseInt(process.argv[2] || '1000000');
async function main() {
  let x = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    x = await new Promise((resolve) => resolve(x + 1));
  }
  const t1 = process.hrtime.bigint();
  if (x !== n) throw new Error('wrong count');
  console.log(Number(t1 - t0) / n);
}
main();
