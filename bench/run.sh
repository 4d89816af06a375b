#!/usr/bin/env bash
# bench/run.sh — times Kiln beside its peers (what `make bench` runs).
#
# 1. Kernels: every bench/kernels/NAME.kn, at the size KERNEL_SIZE below
#    gives it (its first argument), under Kiln and, for each peer that is
#    installed and has a version of it, under lua5.4 (NAME.lua),
#    `luajit -joff` and luajit (NAME.lua), node (NAME.js) and C (NAME.c,
#    compiled here with $CC -O2 -ffp-contract=off into build/bench/NAME).
#    A missing peer is skipped with a note. Before timing, every version's
#    output must equal Kiln's, else the script stops (exit 1).
# 2. Are We Fast Yet: each benchmark whose bench/awfy/NAME.kn exists, at the
#    OUTER INNER of AWFY_SIZES below, as
#    `kiln run bench/awfy/harness.kn NAME OUTER INNER` and, for each peer
#    that is installed and has a version of it (bench/awfy/lua/name.lua,
#    bench/awfy/js/name.js: our translations of the Kiln ports), as
#    `lua5.4|luajit -joff|luajit bench/awfy/lua/harness.lua NAME OUTER INNER`
#    and `node bench/awfy/js/harness.js NAME OUTER INNER`. Every harness
#    verifies its result: a command is timed only after one run of it exits
#    with status 0; otherwise its cell is "not run", with the reason in a
#    note under the table.
#
# Each command: hyperfine -N (no shell), WARMUP warm-up runs, then RUNS
# runs; the whole process is timed (start-up and compiling from source
# included) and the median kept. Prints two markdown tables (median seconds,
# ratio to lua5.4 in parentheses, geometric means) and writes them to
# build/bench/results.md, with bar charts of the ratios to lua5.4,
# build/bench/kernels.svg and build/bench/awfy.svg, when gnuplot is
# installed. Raw hyperfine CSVs: build/bench/*.csv. Progress and notes go
# to stderr.
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

# ---- sizes ------------------------------------------------------------------
# Each kernel's size, passed as its first argument: equal to the default each
# version uses without one (fib's n, mandelbrot's side, nbody's steps,
# spectral_norm's n, fannkuch_redux's n, binary_trees's maximum depth).
declare -A KERNEL_SIZE=([fib]=36 [mandelbrot]=1500 [nbody]=500000 [spectral_norm]=700
                        [fannkuch_redux]=10 [binary_trees]=16)
# Are We Fast Yet, NAME OUTER INNER, for every runtime: the sizes of
# bench/README.md, where the Lua version takes about 1-3 s under lua5.4
# (Havlak at 1 1, its smallest verified size, takes longer).
AWFY_SIZES="Bounce 10 300
CD 3 100
DeltaBlue 10 4000
Havlak 1 1
Json 10 20
List 10 400
Mandelbrot 6 500
NBody 2 250000
Permute 10 200
Queens 10 300
Richards 10 4
Sieve 10 800
Storage 10 50
Towers 10 150"

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
ACTIVE=()      # the kernel table's runtimes
AWFY_RTS=()    # the AWFY table's: the same without C
for rt in "${RT_IDS[@]}"; do
    [ -n "${HAVE[$rt]:-}" ] || continue
    ACTIVE+=("$rt")
    [ "$rt" = c ] || AWFY_RTS+=("$rt")
done
has_lua=${HAVE[lua54]:-}

# The command that runs kernel $2 under runtime $1, or nothing when there is
# no version of it for that runtime.
kernel_cmd() {
    local k=bench/kernels/$2 size=${KERNEL_SIZE[$2]}
    case $1 in
        kiln)        [ -f "$k.kn" ] && echo "$KILN run $k.kn $size" ;;
        lua54)       [ -f "$k.lua" ] && echo "lua5.4 $k.lua $size" ;;
        luajit_joff) [ -f "$k.lua" ] && echo "luajit -joff $k.lua $size" ;;
        luajit)      [ -f "$k.lua" ] && echo "luajit $k.lua $size" ;;
        node)        [ -f "$k.js" ] && echo "node $k.js $size" ;;
        c)           [ -f "$k.c" ] && echo "$OUT/$2 $size" ;;
    esac
    return 0
}

# The command that runs AWFY benchmark $2 at OUTER $3 INNER $4 under runtime
# $1, or nothing when there is no version of it for that runtime.
awfy_cmd() {
    local lower args="$2 $3 $4"
    lower=$(echo "$2" | tr 'A-Z' 'a-z')
    case $1 in
        kiln)        [ -f "bench/awfy/$lower.kn" ] && echo "$KILN run bench/awfy/harness.kn $args" ;;
        lua54)       [ -f "bench/awfy/lua/$lower.lua" ] && echo "lua5.4 bench/awfy/lua/harness.lua $args" ;;
        luajit_joff) [ -f "bench/awfy/lua/$lower.lua" ] && echo "luajit -joff bench/awfy/lua/harness.lua $args" ;;
        luajit)      [ -f "bench/awfy/lua/$lower.lua" ] && echo "luajit bench/awfy/lua/harness.lua $args" ;;
        node)        [ -f "bench/awfy/js/$lower.js" ] && echo "node bench/awfy/js/harness.js $args" ;;
    esac
    return 0
}

# Median column of row $2 (1-based, in command order) of hyperfine CSV $1.
median() { awk -F, -v row="$2" 'NR == row + 1 { print $4 }' "$1"; }
fmt() { awk -v x="$1" 'BEGIN { printf "%.3f", x }'; }
geomean() { # geometric mean of the arguments, or empty
    [ $# -gt 0 ] || return 0
    printf '%s\n' "$@" | awk '{ s += log($1); n++ } END { if (n) printf "%.6g", exp(s / n) }'
}

declare -A MED CELL   # MED[row,rt]: median seconds; CELL[row,rt]: text of a cell not timed
TABLES=$OUT/tables.md
: > "$TABLES"
emit() { printf '%s\n' "$*" >> "$TABLES"; }

# emit_table DATFILE RT...: the rows TBL_ROWS (each starting with the cells
# TBL_LEAD[row]) with one cell per runtime: median seconds and, when lua5.4
# was timed on that row, the ratio to it in parentheses; then the geometric
# mean row, of the seconds and of the ratios, over the rows on which every
# runtime was timed (if that is not all of them, the row says how many).
# Writes the chart data (ratios to lua5.4, or seconds when lua5.4 is not
# installed; NaN for no value) to DATFILE.
emit_table() {
    local dat=$1 rt row m lua r g line datrow all
    shift
    local rts=("$@") common=()
    local -A secs=() ratios=()
    { printf '"benchmark"'; for rt in "${rts[@]}"; do printf ' "%s"' "${LABEL[$rt]}"; done; echo; } > "$dat"
    for row in "${TBL_ROWS[@]}"; do
        line=${TBL_LEAD[$row]} datrow=$row all=1
        lua=${MED[$row,lua54]:-}
        for rt in "${rts[@]}"; do
            m=${MED[$row,$rt]:-}
            if [ -z "$m" ]; then line+=" ${CELL[$row,$rt]:-–} |"; datrow+=" NaN"; all=; continue; fi
            if [ -n "$lua" ]; then
                r=$(awk -v a="$m" -v b="$lua" 'BEGIN { print a / b }')
                line+=" $(fmt "$m") ($(awk -v x="$r" 'BEGIN { printf "%.2f", x }')) |"
                datrow+=" $(awk -v x="$r" 'BEGIN { printf "%.4f", x }')"
            else
                line+=" $(fmt "$m") |"
                if [ -n "$has_lua" ]; then datrow+=" NaN"; else datrow+=" $m"; fi
            fi
        done
        emit "$line"
        echo "$datrow" >> "$dat"
        [ -z "$all" ] || common+=("$row")
    done
    for row in "${common[@]}"; do
        lua=${MED[$row,lua54]:-}
        for rt in "${rts[@]}"; do
            secs[$rt]+=" ${MED[$row,$rt]}"
            [ -z "$lua" ] || ratios[$rt]+=" $(awk -v a="${MED[$row,$rt]}" -v b="$lua" 'BEGIN { print a / b }')"
        done
    done
    if [ ${#common[@]} -eq ${#TBL_ROWS[@]} ]; then
        line="| **geomean** |${TBL_GEO_PAD:-}"
    else
        line="| **geomean** of ${#common[@]} |${TBL_GEO_PAD:-}"
        TBL_PARTIAL="${#common[@]} of the ${#TBL_ROWS[@]}"
    fi
    for rt in "${rts[@]}"; do
        g=$(geomean ${secs[$rt]:-})
        if [ -z "$g" ]; then line+=" – |"; continue; fi
        line+=" $(fmt "$g")"
        [ -z "${ratios[$rt]:-}" ] || line+=" ($(awk -v x="$(geomean ${ratios[$rt]})" 'BEGIN { printf "%.2f", x }'))"
        line+=" |"
    done
    emit "$line"
}

table_head() { # table_head LEADING-COLUMNS RT...: the header and separator rows
    local lead=$1 rt header sep
    shift
    header="| $lead |" sep="|$(echo "$lead" | sed 's/[^|]*/---/g')|"
    for rt in "$@"; do header+=" ${LABEL[$rt]} |"; sep+="---:|"; done
    emit "$header"
    emit "$sep"
}

# ---- kernels ----------------------------------------------------------------
KERNEL_NAMES=()
if [ -n "${KERNELS:-}" ]; then
    KERNEL_NAMES=($KERNELS)
else
    for kn in bench/kernels/*.kn; do KERNEL_NAMES+=("$(basename "$kn" .kn)"); done
fi

for name in "${KERNEL_NAMES[@]}"; do
    [ -f "bench/kernels/$name.kn" ] || { note "no bench/kernels/$name.kn"; exit 2; }
    [ -n "${KERNEL_SIZE[$name]:-}" ] || { note "no size for $name: add it to KERNEL_SIZE in $0"; exit 2; }
    if [ -n "${HAVE[c]:-}" ] && [ -f "bench/kernels/$name.c" ]; then
        "$CC" -O2 -ffp-contract=off -o "$OUT/$name" "bench/kernels/$name.c" -lm
    fi
    # Every version must print what Kiln prints before its time means anything.
    expected=$($(kernel_cmd kiln "$name"))
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
    note "$name ${KERNEL_SIZE[$name]}: outputs agree (${#cmds[@]} runtimes); timing, $WARMUP warm-up + $RUNS runs each"
    hyperfine -N -w "$WARMUP" -r "$RUNS" --export-csv "$OUT/$name.csv" "${cmds[@]}" >/dev/null 2>&1 ||
        { note "$name: hyperfine failed"; exit 1; }
    for i in "${!rts[@]}"; do MED[$name,${rts[$i]}]=$(median "$OUT/$name.csv" $((i + 1))); done
done

emit "### Kernels (bench/kernels)"
emit ""
if [ -n "$has_lua" ]; then
    emit "Median wall-clock seconds of the whole process; in parentheses the ratio to lua5.4 (lower is faster)."
else
    emit "Median wall-clock seconds of the whole process (lua5.4 missing: no ratios)."
fi
emit ""
table_head "kernel | size" "${ACTIVE[@]}"
declare -A TBL_LEAD=()
TBL_ROWS=("${KERNEL_NAMES[@]}") TBL_GEO_PAD=" |"
for name in "${KERNEL_NAMES[@]}"; do TBL_LEAD[$name]="| $name | ${KERNEL_SIZE[$name]} |"; done
emit_table "$OUT/kernels.dat" "${ACTIVE[@]}"
emit ""
missing=()
for rt in "${RT_IDS[@]}"; do [ -n "${HAVE[$rt]:-}" ] || missing+=("${LABEL[$rt]}"); done
[ ${#missing[@]} -eq 0 ] || emit "Not installed, so not measured: ${missing[*]}."
[ ${#missing[@]} -eq 0 ] || emit ""

# ---- Are We Fast Yet --------------------------------------------------------
# The first line of a failed command's stderr that says what went wrong
# (node puts the source line before the error), shortened for a table note.
why_failed() {
    local line
    line=$(printf '%s\n' "$1" | grep -m 1 -E 'harness:|[A-Za-z]*Error|error' ||
        printf '%s\n' "$1" | grep -m 1 .) || true
    printf '%s' "${line:0:160}"
}

awfy_rows=0
if [ "${AWFY:-}" != none ]; then
    for bname in ${AWFY:-}; do
        grep -q "^$bname " <<< "$AWFY_SIZES" || note "AWFY $bname: not in AWFY_SIZES, skipped"
    done
    MED=() CELL=() TBL_ROWS=() TBL_LEAD=() TBL_GEO_PAD=" |" TBL_PARTIAL=
    awfy_notes=()
    while read -r bname outer inner; do
        if [ -n "${AWFY:-}" ] && ! [[ " $AWFY " == *" $bname "* ]]; then continue; fi
        if [ -z "$(awfy_cmd kiln "$bname" "$outer" "$inner")" ]; then
            note "AWFY $bname: no Kiln version, skipped"
            continue
        fi
        TBL_ROWS+=("$bname")
        TBL_LEAD[$bname]="| $bname | $outer $inner |"
        cmds=() rts=()
        for rt in "${AWFY_RTS[@]}"; do
            cmd=$(awfy_cmd "$rt" "$bname" "$outer" "$inner")
            [ -n "$cmd" ] || continue
            # The harness verifies the result itself: exit status 0 means it did.
            if err=$($cmd 2>&1 >/dev/null); then
                cmds+=("$cmd") rts+=("$rt")
            else
                st=$?
                awfy_notes+=("$bname under ${LABEL[$rt]}: exit $st, $(why_failed "$err")")
                CELL[$bname,$rt]="not run ($(( ${#awfy_notes[@]} )))"
                note "AWFY $bname: '$cmd' exits $st: not run"
            fi
        done
        [ ${#cmds[@]} -gt 0 ] || continue
        note "AWFY $bname: verified under ${#cmds[@]} runtimes; timing, $WARMUP warm-up + $RUNS runs each"
        hyperfine -N -w "$WARMUP" -r "$RUNS" --export-csv "$OUT/awfy-$bname.csv" "${cmds[@]}" >/dev/null 2>&1 ||
            { note "AWFY $bname: hyperfine failed"; exit 1; }
        for i in "${!rts[@]}"; do MED[$bname,${rts[$i]}]=$(median "$OUT/awfy-$bname.csv" $((i + 1))); done
    done <<< "$AWFY_SIZES"
    awfy_rows=${#TBL_ROWS[@]}

    emit "### Are We Fast Yet (bench/awfy)"
    emit ""
    emit "\`kiln run bench/awfy/harness.kn NAME OUTER INNER\`; the peers run our Lua and JavaScript"
    emit "translations of the Kiln ports through \`bench/awfy/lua/harness.lua\` and \`bench/awfy/js/harness.js\`"
    emit "with the same arguments. Every run verifies its result. Median wall-clock seconds of the whole"
    if [ -n "$has_lua" ]; then
        emit "process; in parentheses the ratio to lua5.4 (lower is faster); – where that runtime has no version."
    else
        emit "process (lua5.4 missing: no ratios); – where that runtime has no version."
    fi
    emit ""
    if [ "$awfy_rows" -gt 0 ]; then
        table_head "benchmark | OUTER INNER" "${AWFY_RTS[@]}"
        emit_table "$OUT/awfy.dat" "${AWFY_RTS[@]}"
    else
        emit "No benchmark selected (AWFY=\"${AWFY:-}\")."
    fi
    emit ""
    if [ ${#awfy_notes[@]} -gt 0 ]; then
        emit "Not run (the command did not exit with status 0):"
        emit ""
        for i in "${!awfy_notes[@]}"; do emit "$((i + 1)). ${awfy_notes[$i]//|/\\|}"; done
        emit ""
    fi
    if [ -n "${TBL_PARTIAL:-}" ]; then
        emit "The geometric means cover only the benchmarks every runtime ran ($TBL_PARTIAL)."
        emit ""
    fi
fi

# ---- results.md and charts --------------------------------------------------
charts=""
if have gnuplot; then
    if [ -n "$has_lua" ]; then ylabel="time / lua5.4 time (lower is faster)"; else ylabel="median seconds"; fi
    gnuplot -e "datafile='$OUT/kernels.dat'; outfile='$OUT/kernels.svg'; ncols=$((${#ACTIVE[@]} + 1)); ylabel='$ylabel'; chart_title='Kiln benchmark kernels'" bench/chart.gp &&
        charts+="![kernels](kernels.svg)"$'\n'
    if [ "$awfy_rows" -gt 0 ]; then
        width=$((awfy_rows > 8 ? 200 + 80 * awfy_rows : 960))   # room for every name
        gnuplot -e "datafile='$OUT/awfy.dat'; outfile='$OUT/awfy.svg'; ncols=$((${#AWFY_RTS[@]} + 1)); width=$width; ylabel='$ylabel'; chart_title='Are We Fast Yet benchmarks'" bench/chart.gp &&
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
