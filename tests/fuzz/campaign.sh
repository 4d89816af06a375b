#!/usr/bin/env bash
# tests/fuzz/campaign.sh — a fuzzing campaign: each target of `make fuzz`
# runs for FUZZ_TIME seconds (default 3600) from its corpus in
# tests/fuzz/corpus/TARGET plus seeds made fresh from the language tests
# (their sources for fuzz_source, their compiled images for fuzz_image and
# fuzz_struct), then what it found that adds coverage is merged back into
# the kept corpus (-merge=1: minimized). Prints, per target, the executions,
# the coverage and whether it crashed; a crash's input is left in
# build/fuzz/run-TARGET/ (crash-*, timeout-*, oom-*) and the script exits 1.
#
#   make fuzz && FUZZ_TIME=600 FUZZ_TARGETS="fuzz_struct" bash tests/fuzz/campaign.sh
set -u
cd "$(dirname "$0")/../.."
KILN=${KILN:-build/kiln}
TIME=${FUZZ_TIME:-3600}
TARGETS=${FUZZ_TARGETS:-"fuzz_source fuzz_image fuzz_struct fuzz_api"}
[ -x "$KILN" ] || { echo "campaign: $KILN not built (make)" >&2; exit 2; }
seeds=build/fuzz/seeds
rm -rf "$seeds"
mkdir -p "$seeds/src" "$seeds/img"
for f in $(find tests/lang -name '*.kn' | sort); do
    name=$(printf %s "$f" | tr / _)
    cp "$f" "$seeds/src/$name"
    "$KILN" build "$f" -o "$seeds/img/$name.kbc" >/dev/null 2>&1 || rm -f "$seeds/img/$name.kbc"
done
failed=0
for t in $TARGETS; do
    bin=build/fuzz/$t
    [ -x "$bin" ] || { echo "campaign: $bin not built (make fuzz)" >&2; exit 2; }
    kept=tests/fuzz/corpus/$t
    work=build/fuzz/run-$t
    mkdir -p "$kept" "$work/corpus"
    seed=$seeds/img
    [ "$t" = fuzz_source ] && seed=$seeds/src
    [ "$t" = fuzz_api ] && seed=$kept # its inputs are call sequences: no seeds
    (cd "$work" && "$OLDPWD/$bin" -max_total_time="$TIME" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 corpus "$OLDPWD/$kept" "$OLDPWD/$seed") \
        >"$work/log" 2>&1
    st=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1)
    if [ "$st" != 0 ]; then
        failed=1
        echo "$t: FAILED after ${runs:-?} runs ($cov): see $work/log and $work/crash-*"
        continue
    fi
    # Keep what adds coverage, minimized, with the inputs kept before.
    "$bin" -merge=1 -max_len=65536 "$kept" "$work/corpus" >"$work/merge.log" 2>&1
    echo "$t: ${runs:-?} runs in ${TIME} s, $cov, no crash; corpus $(ls "$kept" | wc -l) files"
done
exit $failed
