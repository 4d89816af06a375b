#!/usr/bin/env bash
# bench/run.sh — times every program in bench/kernels/ under Kiln and,
# beside it in the same run, under each peer that has a version of it
# (NAME.lua under lua5.4 when installed). Prints a markdown table of median
# wall-clock seconds (hyperfine: warm-up runs, then RUNS runs, alternating
# between commands is left to hyperfine's order) and the ratio Kiln / Lua.
# Whole-process time: start-up included, as in ../shared/design/PERFORMANCE.md.
set -eu
cd "$(dirname "$0")/.."
KILN=${KILN:-build/kiln}
RUNS=${RUNS:-10}
OUT=build/bench
mkdir -p "$OUT"
command -v hyperfine >/dev/null || { echo "bench: hyperfine is missing (make bench-deps)"; exit 2; }
have_lua=1
command -v lua5.4 >/dev/null || { have_lua=0; echo "note: lua5.4 not installed, Lua column skipped"; }

median() { # hyperfine CSV row for command $2 in file $1: the median column
    awk -F, -v cmd="$2" 'NR > 1 && $1 == cmd { print $4 }' "$1"
}

echo "| kernel | kiln (s) | lua5.4 (s) | kiln / lua5.4 |"
echo "|---|---:|---:|---:|"
for kn in bench/kernels/*.kn; do
    name=$(basename "$kn" .kn)
    lua=bench/kernels/$name.lua
    # Both must print the same result before their times mean anything.
    if [ "$have_lua" = 1 ] && [ -f "$lua" ] && [ "$("$KILN" run "$kn")" != "$(lua5.4 "$lua")" ]; then
        echo "bench: $name: Kiln and Lua print different results" >&2
        exit 1
    fi
    cmds=("$KILN run $kn")
    [ "$have_lua" = 1 ] && [ -f "$lua" ] && cmds+=("lua5.4 $lua")
    hyperfine -N -w 2 -r "$RUNS" --export-csv "$OUT/$name.csv" "${cmds[@]}" >/dev/null 2>&1
    k=$(median "$OUT/$name.csv" "$KILN run $kn")
    if [ "${#cmds[@]}" -gt 1 ]; then
        l=$(median "$OUT/$name.csv" "lua5.4 $lua")
        printf '| %s | %.3f | %.3f | %.2f |\n' "$name" "$k" "$l" "$(awk -v k="$k" -v l="$l" 'BEGIN { print k / l }')"
    else
        printf '| %s | %.3f | – | – |\n' "$name" "$k"
    fi
done
