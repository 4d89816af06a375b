#!/usr/bin/env bash
# bench/run.sh — times Kiln beside its peers (what `make bench` runs).
#
# 1. Kernels: every bench/kernels/NAME.kn under Kiln and, for each peer that
#    is installed and has a version of it, under lua5.4 (NAME.lua),
#    `luajit -joff` and luajit (NAME.lua), node (NAME.js) and C (NAME.c,
#    compiled here with $CC -O2 -ffp-contract=off into build/bench/NAME).
#    A missing peer is skipped with a note. Before timing, every version's
#    output must equal Kiln's, else the script stops (exit 1).
# 2. Are We Fast Yet: each benchmark whose bench/awfy/NAME.kn exists, as
#    `kiln run bench/awfy/harness.kn NAME OUTER INNER` (Kiln only: AWFY's
#    own Lua/JS versions are not in the repository). One that the harness
#    does not know or that fails verification is listed as not run.
#
# Each command: hyperfine -N (no shell), WARMUP warm-up runs, then RUNS
# runs; the whole process is timed (start-up and compiling from source
# included) and the median kept. Prints two markdown tables (median seconds,
# ratio to lua5.4 in parentheses, geometric means) and writes them to
# build/bench/results.md, with bar charts build/bench/kernels.svg and
# build/bench/awfy.svg when gnuplot is installed. Raw hyperfine CSVs:
# build/bench/*.csv. Progress and notes go to stderr.
#
# Environment: RUNS (default 5), WARMUP (default 1), KILN (build/kiln),
# CC (cc), KERNELS / AWFY (space-separated names to run only those; AWFY=none
# skips the AWFY table).
set -eu
cd "$(dirname "$0")/.."
KILN=${KILN:-build/kiln}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
CC=${CC:-cc}
OUT=build/bench
mkdir -p "$OUT"
rm -f "$OUT"/*.svg "$OUT"/*.csv "$OUT"/*.dat   # nothing stale from an earlier run

note() { echo "bench: $*" >&2; }
command -v hyperfine >/dev/null || { note "hyperfine is missing (make bench-deps)"; exit 2; }
[ -x "$KILN" ] || { note "$KILN not built (make)"; exit 2; }

# ---- runtimes ---------------------------------------------------------------
RT_IDS=(kiln lua54 luajit_joff luajit node c)
declare -A LABEL=([kiln]="kiln" [lua54]="lua5.4" [luajit_joff]="luajit -joff"
                  [luajit]="luajit" [node]="node" [c]="C -O2")
declare -A HAVE=([kiln]=1)
have() { command -v "$1" >/dev/null 2>&1; }
if have lua5.4; then HAVE[lua54]=1; else note "lua5.4 not installed: its column is skipped (no ratios)"; fi
if have luajit; then HAVE[luajit_joff]=1; HAVE[luajit]=1; else note "luajit not installed: its columns are skipped"; fi
if have node; then HAVE[node]=1; else note "node not installed: its column is skipped"; fi
if have "$CC"; then HAVE[c]=1; else note "$CC not found: the C column is skipped"; fi
ACTIVE=()
for rt in "${RT_IDS[@]}"; do [ -n "${HAVE[$rt]:-}" ] && ACTIVE+=("$rt"); done

# The command that runs kernel $2 under runtime $1, or nothing when there is
# no version of it for that runtime.
kernel_cmd() {
    local k=bench/kernels/$2
    case $1 in
        kiln)        [ -f "$k.kn" ] && echo "$KILN run $k.kn" ;;
        lua54)       [ -f "$k.lua" ] && echo "lua5.4 $k.lua" ;;
        luajit_joff) [ -f "$k.lua" ] && echo "luajit -joff $k.lua" ;;
        luajit)      [ -f "$k.lua" ] && echo "luajit $k.lua" ;;
        node)        [ -f "$k.js" ] && echo "node $k.js" ;;
        c)           [ -f "$k.c" ] && echo "$OUT/$2" ;;
    esac
    return 0
}

# Median column of row $2 (1-based, in command order) of hyperfine CSV $1.
median() { awk -F, -v row="$2" 'NR == row + 1 { print $4 }' "$1"; }
fmt() { awk -v x="$1" 'BEGIN { printf "%.3f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
geomean() { # geometric mean of the arguments, or empty
    [ $# -gt 0 ] || return 0
    printf '%s\n' "$@" | awk '{ s += log($1); n++ } END { if (n) printf "%.6g", exp(s / n) }'
}

declare -A MED
TABLES=$OUT/tables.md
: > "$TABLES"
emit() { printf '%s\n' "$*" >> "$TABLES"; }

# ---- kernels ----------------------------------------------------------------
KERNEL_NAMES=()
if [ -n "${KERNELS:-}" ]; then
    KERNEL_NAMES=($KERNELS)
else
    for kn in bench/kernels/*.kn; do KERNEL_NAMES+=("$(basename "$kn" .kn)"); done
fi

for name in "${KERNEL_NAMES[@]}"; do
    [ -f "bench/kernels/$name.kn" ] || { note "no bench/kernels/$name.kn"; exit 2; }
    if [ -n "${HAVE[c]:-}" ] && [ -f "bench/kernels/$name.c" ]; then
        "$CC" -O2 -ffp-contract=off -o "$OUT/$name" "bench/kernels/$name.c" -lm
    fi
    # Every version must print what Kiln prints before its time means anything.
    expected=$($KILN run "bench/kernels/$name.kn")
    cmds=() rts=()
    for rt in "${ACTIVE[@]}"; do
        cmd=$(kernel_cmd "$rt" "$name")
        [ -n "$cmd" ] || continue
        if [ "$rt" != kiln ]; then
            got=$($cmd) || { note "$name: '$cmd' failed"; exit 1; }
            if [ "$got" != "$expected" ]; then
                note "$name: '$cmd' prints something other than Kiln:"
                diff <(echo "$expected") <(echo "$got") >&2 || true
                exit 1
            fi
        fi
        cmds+=("$cmd") rts+=("$rt")
    done
    note "$name: outputs agree (${#cmds[@]} runtimes); timing, $WARMUP warm-up + $RUNS runs each"
    hyperfine -N -w "$WARMUP" -r "$RUNS" --export-csv "$OUT/$name.csv" "${cmds[@]}" >/dev/null 2>&1 ||
        { note "$name: hyperfine failed"; exit 1; }
    for i in "${!rts[@]}"; do MED[$name,${rts[$i]}]=$(median "$OUT/$name.csv" $((i + 1))); done
done

has_lua=${HAVE[lua54]:-}
header="| kernel |" sep="|---|"
for rt in "${ACTIVE[@]}"; do header+=" ${LABEL[$rt]} |"; sep+="---:|"; done
emit "### Kernels (bench/kernels)"
emit ""
if [ -n "$has_lua" ]; then
    emit "Median wall-clock seconds of the whole process; in parentheses the ratio to lua5.4 (lower is faster)."
else
    emit "Median wall-clock seconds of the whole process (lua5.4 missing: no ratios)."
fi
emit ""
emit "$header"
emit "$sep"
declare -A SECS RATIOS
DAT=$OUT/kernels.dat
{ printf '"kernel"'; for rt in "${ACTIVE[@]}"; do printf ' "%s"' "${LABEL[$rt]}"; done; echo; } > "$DAT"
for name in "${KERNEL_NAMES[@]}"; do
    row="| $name |" datrow="$name"
    lua=${MED[$name,lua54]:-}
    for rt in "${ACTIVE[@]}"; do
        m=${MED[$name,$rt]:-}
        if [ -z "$m" ]; then row+=" – |"; datrow+=" NaN"; continue; fi
        SECS[$rt]+=" $m"
        if [ -n "$lua" ]; then
            r=$(ratio "$m" "$lua")
            RATIOS[$rt]+=" $(awk -v a="$m" -v b="$lua" 'BEGIN { print a / b }')"
            row+=" $(fmt "$m") ($r) |"; datrow+=" $(awk -v a="$m" -v b="$lua" 'BEGIN { printf "%.4f", a / b }')"
        else
            row+=" $(fmt "$m") |"; datrow+=" $m"
        fi
    done
    emit "$row"
    echo "$datrow" >> "$DAT"
done
row="| **geomean** |"
for rt in "${ACTIVE[@]}"; do
    g=$(geomean ${SECS[$rt]:-})
    if [ -z "$g" ]; then row+=" – |"; continue; fi
    if [ -n "$has_lua" ] && [ -n "${RATIOS[$rt]:-}" ]; then
        row+=" $(fmt "$g") ($(awk -v x="$(geomean ${RATIOS[$rt]})" 'BEGIN { printf "%.2f", x }')) |"
    else
        row+=" $(fmt "$g") |"
    fi
done
emit "$row"
emit ""
missing=()
for rt in "${RT_IDS[@]}"; do [ -n "${HAVE[$rt]:-}" ] || missing+=("${LABEL[$rt]}"); done
[ ${#missing[@]} -eq 0 ] || emit "Not installed, so not measured: ${missing[*]}."
[ ${#missing[@]} -eq 0 ] || emit ""

# ---- Are We Fast Yet --------------------------------------------------------
# NAME OUTER INNER: sizes from bench/README.md (AWFY's Lua port takes about
# 1-3 s under lua5.4; Havlak at 1 1, its smallest verified size, takes Lua ~9 s).
AWFY_SIZES="Bounce 10 300
CD 2 100
DeltaBlue 10 4000
Havlak 1 1
Json 10 10
List 10 400
Mandelbrot 6 500
NBody 2 250000
Permute 10 200
Queens 10 300
Richards 10 4
Sieve 10 800
Storage 10 150
Towers 10 150"

if [ "${AWFY:-}" != none ]; then
    emit "### Are We Fast Yet (bench/awfy, Kiln only)"
    emit ""
    emit "\`kiln run bench/awfy/harness.kn NAME OUTER INNER\`: median wall-clock seconds of the whole process."
    emit ""
    emit "| benchmark | OUTER INNER | kiln (s) |"
    emit "|---|---|---:|"
    AWFY_DAT=$OUT/awfy.dat
    echo '"benchmark" "kiln"' > "$AWFY_DAT"
    awfy_secs=()
    while read -r bname outer inner; do
        if [ -n "${AWFY:-}" ] && ! [[ " $AWFY " == *" $bname "* ]]; then continue; fi
        file=bench/awfy/$(echo "$bname" | tr 'A-Z' 'a-z').kn
        [ -f "$file" ] || { note "AWFY $bname: no $file, skipped"; continue; }
        cmd="$KILN run bench/awfy/harness.kn $bname $outer $inner"
        # The harness verifies the result itself: exit status 0 means it did.
        if ! err=$($cmd 2>&1 >/dev/null); then
            why=$(printf '%s\n' "$err" | head -n 1 | cut -d';' -f1)
            note "AWFY $bname: not run ($why)"
            emit "| $bname | $outer $inner | not run: ${why//|/\\|} |"
            continue
        fi
        note "AWFY $bname: verified; timing, $WARMUP warm-up + $RUNS runs"
        hyperfine -N -w "$WARMUP" -r "$RUNS" --export-csv "$OUT/awfy-$bname.csv" "$cmd" >/dev/null 2>&1 ||
            { note "AWFY $bname: hyperfine failed"; exit 1; }
        m=$(median "$OUT/awfy-$bname.csv" 1)
        awfy_secs+=("$m")
        emit "| $bname | $outer $inner | $(fmt "$m") |"
        echo "$bname $m" >> "$AWFY_DAT"
    done <<< "$AWFY_SIZES"
    g=$(geomean "${awfy_secs[@]}")
    [ -z "$g" ] || emit "| **geomean** | | $(fmt "$g") |"
    emit ""
fi

# ---- results.md and charts --------------------------------------------------
charts=""
if have gnuplot; then
    if [ -n "$has_lua" ]; then ylabel="time / lua5.4 time (lower is faster)"; else ylabel="median seconds"; fi
    gnuplot -e "datafile='$DAT'; outfile='$OUT/kernels.svg'; ncols=$((${#ACTIVE[@]} + 1)); ylabel='$ylabel'; chart_title='Kiln benchmark kernels'" bench/chart.gp &&
        charts+="![kernels](kernels.svg)"$'\n'
    if [ "${AWFY:-}" != none ] && [ "$(wc -l < "$OUT/awfy.dat")" -gt 1 ]; then
        gnuplot -e "datafile='$OUT/awfy.dat'; outfile='$OUT/awfy.svg'; ncols=2; ylabel='median seconds'; chart_title='Are We Fast Yet under Kiln'" bench/chart.gp &&
            charts+="![awfy](awfy.svg)"$'\n'
    fi
else
    note "gnuplot not installed: no charts (make bench-deps)"
fi

{
    echo "# Kiln benchmark results"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end;"
    echo "hyperfine -N, $WARMUP warm-up + $RUNS runs per command. Peers:"
    echo
    echo "- kiln: $("$KILN" --version 2>/dev/null | head -n 1 || echo "$KILN")"
    [ -n "$has_lua" ] && echo "- lua5.4: $(lua5.4 -v 2>&1 | head -n 1)"
    [ -n "${HAVE[luajit]:-}" ] && echo "- luajit: $(luajit -v 2>&1 | head -n 1)"
    [ -n "${HAVE[node]:-}" ] && echo "- node: $(node --version)"
    [ -n "${HAVE[c]:-}" ] && echo "- C: $("$CC" --version | head -n 1), -O2 -ffp-contract=off"
    echo
    cat "$TABLES"
    [ -z "$charts" ] || printf '%s' "$charts"
} > "$OUT/results.md"

cat "$TABLES"
note "wrote $OUT/results.md$(printf '%s' "$charts" | grep -o '[a-z]*\.svg' | sed "s|^|, $OUT/|" | tr -d '\n')"
