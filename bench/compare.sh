#!/usr/bin/env bash
# bench/compare.sh OLD NEW — two builds of kiln side by side, for "does this
# change make Kiln slower?": every AWFY benchmark and every kernel at
# `make bench`'s sizes (read from bench/run.sh), each timed with hyperfine
# (-N, WARMUP warm-ups, RUNS runs, OLD and NEW interleaved per benchmark so
# both see the same machine load). Prints a markdown table of medians and
# NEW/OLD ratios, and the geometric mean of the ratios for AWFY and for the
# kernels (below 1: NEW is faster).
#
# Environment: RUNS (default 5), WARMUP (1), AWFY / KERNELS (space-separated
# names to run only those; "none" skips the group).
set -eu
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: bench/compare.sh OLD-KILN NEW-KILN" >&2; exit 2; }
OLD=$1 NEW=$2
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
command -v hyperfine >/dev/null || { echo "compare: hyperfine is missing (make bench-deps)" >&2; exit 2; }
for k in "$OLD" "$NEW"; do [ -x "$k" ] || { echo "compare: $k is not executable" >&2; exit 2; }; done

# The sizes of bench/run.sh, so the two scripts measure the same work.
eval "$(sed -n '/^declare -A KERNEL_SIZE=/,/)$/p' bench/run.sh)"
AWFY_SIZES=$(sed -n '/^AWFY_SIZES="/,/"$/p' bench/run.sh | tr -d '"' | sed 's/^AWFY_SIZES=//')
OUT=build/bench/compare
mkdir -p "$OUT"

median() { # hyperfine JSON -> median seconds of command $2 (0 or 1)
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["median"])' "$1" "$2"
}

# time NAME ARGS...: one row; appends the ratio to the group's list.
ratios_awfy="" ratios_kernels=""
row() {
    local group=$1 name=$2; shift 2
    local json=$OUT/$name.json
    for k in "$OLD" "$NEW"; do
        "$k" run "$@" >/dev/null || { echo "compare: $k run $* failed" >&2; exit 1; }
    done
    hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$json" \
        "$OLD run $*" "$NEW run $*" >/dev/null 2>&1
    local a b r
    a=$(median "$json" 0)
    b=$(median "$json" 1)
    r=$(python3 -c "print(f'{$b / $a:.3f}')")
    printf '| %s | %.3f | %.3f | %s |\n' "$name" "$a" "$b" "$r"
    if [ "$group" = awfy ]; then ratios_awfy="$ratios_awfy $r"; else ratios_kernels="$ratios_kernels $r"; fi
}

geomean() { python3 -c 'import math,sys; v=[float(x) for x in sys.argv[1:]]; print(f"{math.exp(sum(map(math.log, v))/len(v)):.3f}" if v else "-")' "$@"; }

echo "| benchmark | old (s) | new (s) | new/old |"
echo "|---|---:|---:|---:|"
if [ "${AWFY:-}" != none ]; then
    while read -r name outer inner; do
        [ -n "$name" ] || continue
        [ -z "${AWFY:-}" ] || [[ " $AWFY " == *" $name "* ]] || continue
        row awfy "$name" bench/awfy/harness.kn "$name" "$outer" "$inner"
    done <<<"$AWFY_SIZES"
fi
if [ "${KERNELS:-}" != none ]; then
    for name in $(printf '%s\n' "${!KERNEL_SIZE[@]}" | sort); do
        [ -z "${KERNELS:-}" ] || [[ " $KERNELS " == *" $name "* ]] || continue
        row kernels "$name" "bench/kernels/$name.kn" "${KERNEL_SIZE[$name]}"
    done
fi
echo
echo "AWFY geomean new/old: $(geomean $ratios_awfy)"
echo "kernels geomean new/old: $(geomean $ratios_kernels)"
