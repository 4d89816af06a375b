#!/usr/bin/env bash
# bench/compare.sh OLD NEW — two builds of kiln side by side (or one build
# with two sets of options: OLD_FLAGS / NEW_FLAGS below), for "does this
# change make Kiln slower?": every AWFY benchmark and every kernel at
# `make bench`'s sizes (read from bench/run.sh).
#
# Each benchmark runs WARMUP times under each build, then RUNS rounds of
# OLD and NEW in turn (interleaved: a machine whose speed drifts, as shared
# ones do, drifts for both). The table gives each build's fastest run (the
# least disturbed one, closest to the cost of the code itself), its median,
# and NEW/OLD of the fastest runs; then the geometric means of those ratios
# for AWFY and for the kernels (below 1: NEW is faster). Times are wall
# clock, whole process.
#
# Environment: RUNS (default 10), WARMUP (1), AWFY / KERNELS (space-separated
# names to run only those; "none" skips the group), OLD_FLAGS / NEW_FLAGS
# (kiln options for each build, split on spaces and put after `run`;
# default none, so each build runs with its default JIT mode). OLD and NEW
# may be the same binary with different flags:
#   NEW_FLAGS=--jit=off bench/compare.sh build/kiln build/kiln   # JIT vs interpreter
#   OLD_FLAGS=--jit=off NEW_FLAGS=--jit=off bench/compare.sh OLD NEW   # interpreters only
# OLD_AWFY / NEW_AWFY: another directory of AWFY ports for that side
# (default bench/awfy), to compare two versions of the ports on one build:
#   git archive b48258d bench/awfy | tar -x -C /tmp/spec   # the ports before generics
#   OLD_AWFY=/tmp/spec/bench/awfy KERNELS=none bench/compare.sh build/kiln build/kiln
set -eu
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: [OLD_FLAGS=...] [NEW_FLAGS=...] bench/compare.sh OLD-KILN NEW-KILN" >&2; exit 2; }
for k in "$1" "$2"; do [ -x "$k" ] || { echo "compare: $k is not executable" >&2; exit 2; }; done

# The sizes of bench/run.sh, so the two scripts measure the same work.
eval "$(sed -n '/^declare -A KERNEL_SIZE=/,/)$/p' bench/run.sh)"
AWFY_SIZES=$(sed -n '/^AWFY_SIZES="/,/"$/p' bench/run.sh | tr -d '"' | sed 's/^AWFY_SIZES=//')

jobs=()
if [ "${AWFY:-}" != none ]; then
    while read -r name outer inner; do
        [ -n "$name" ] || continue
        [ -z "${AWFY:-}" ] || [[ " $AWFY " == *" $name "* ]] || continue
        jobs+=("awfy $name bench/awfy/harness.kn $name $outer $inner")
    done <<<"$AWFY_SIZES"
fi
if [ "${KERNELS:-}" != none ]; then
    for name in $(printf '%s\n' "${!KERNEL_SIZE[@]}" | sort); do
        [ -z "${KERNELS:-}" ] || [[ " $KERNELS " == *" $name "* ]] || continue
        jobs+=("kernels $name bench/kernels/$name.kn ${KERNEL_SIZE[$name]}")
    done
fi

printf '%s\n' "${jobs[@]}" | python3 -c '
import math, subprocess, sys, time
old, new, runs, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
# The two builds: (binary, options put after run). They may be the same binary.
builds = [(old, sys.argv[5].split(), sys.argv[7]), (new, sys.argv[6].split(), sys.argv[8])]
for label, (kiln, flags, awfy) in zip(("old", "new"), builds):
    print("%s: %s run %s (AWFY ports in %s)" % (label, kiln, " ".join(flags + ["..."]), awfy))
print()

def once(build, args):
    kiln, flags, awfy = build
    args = [awfy + a[len("bench/awfy"):] if a.startswith("bench/awfy/") else a for a in args]
    t = time.perf_counter()
    r = subprocess.run([kiln, "run", *flags, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("compare: %s run %s failed: %s" % (kiln, " ".join(flags + args), r.stderr.decode()[:300]))
    return time.perf_counter() - t

ratios = {"awfy": [], "kernels": []}
print("| benchmark | old fastest (s) | new fastest (s) | old median | new median | new/old |")
print("|---|---:|---:|---:|---:|---:|")
for line in sys.stdin:
    group, name, *args = line.split()
    for _ in range(warmup):
        once(builds[0], args), once(builds[1], args)
    t = ([], [])   # by position: OLD and NEW may be the same binary
    for _ in range(runs):
        for i in (0, 1):
            t[i].append(once(builds[i], args))
    a, b = min(t[0]), min(t[1])
    med = lambda v: sorted(v)[len(v) // 2]
    ratios[group].append(b / a)
    print(f"| {name} | {a:.3f} | {b:.3f} | {med(t[0]):.3f} | {med(t[1]):.3f} | {b / a:.3f} |",
          flush=True)
print()
for group, v in ratios.items():
    if v:
        g = math.exp(sum(map(math.log, v)) / len(v))
        print(f"{group} geomean new/old (fastest runs): {g:.3f}")
' "$1" "$2" "${RUNS:-10}" "${WARMUP:-1}" "${OLD_FLAGS:-}" "${NEW_FLAGS:-}" \
    "${OLD_AWFY:-bench/awfy}" "${NEW_AWFY:-bench/awfy}"
