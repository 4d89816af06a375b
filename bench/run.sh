#!/usr/bin/env bash
# bench/run.sh — times Kiln beside its peers (what `make bench` runs).
#
# Kiln has two columns: "Kiln interpreter" (`kiln run --jit=off`) and
# "Kiln JIT" (`kiln run --jit=on`, the default: hot functions and loops
# compiled to machine code). The JIT column is left out, with a note, when
# $KILN cannot compile (`--jit=always` fails: not x86-64 Linux).
#
# 1. Kernels: every bench/kernels/NAME.kn, at the size KERNEL_SIZE below
#    gives it (its first argument), under both Kiln columns and, for each
#    peer that is installed and has a version of it, under lua5.4 (NAME.lua),
#    `luajit -joff` and luajit (NAME.lua), node (NAME.js) and C (NAME.c,
#    compiled here with $CC -O2 -ffp-contract=off into build/bench/NAME).
#    A missing peer is skipped with a note. Before timing, every version's
#    output (the JIT's too) must equal the Kiln interpreter's, else the
#    script stops (exit 1).
# 2. Are We Fast Yet: each benchmark whose bench/awfy/NAME.kn exists, at the
#    OUTER INNER of AWFY_SIZES below, as
#    `kiln run --jit=off|--jit=on bench/awfy/harness.kn NAME OUTER INNER`
#    and, for each peer
#    that is installed and has a version of it (bench/awfy/lua/name.lua,
#    bench/awfy/js/name.js: our translations of the Kiln ports), as
#    `lua5.4|luajit -joff|luajit bench/awfy/lua/harness.lua NAME OUTER INNER`
#    and `node bench/awfy/js/harness.js NAME OUTER INNER`. Every harness
#    verifies its result: a command is timed only after one run of it exits
#    with status 0; otherwise its cell is "not run", with the reason in a
#    note under the table.
# 3. JIT compile times: one extra run of each kernel and AWFY benchmark of
#    the tables above, at its smallest size (KERNEL_SMALL and AWFY_SMALL
#    below, the sizes of tests/run.sh), as `kiln run --jit=always
#    --jit-stats`, which compiles every function of the program before it
#    runs, so the compile work does not depend on the size. The table
#    gives the functions compiled, their bytecode instructions, the bytes of
#    machine code, the compile time and the ns per instruction, with a
#    total row; and, from the Kiln JIT column's verification run at the
#    timed size (the one run before timing, given --jit-stats), what
#    --jit=on compiled there: functions, compile time, OSR entries.
# 4. FFI call overhead: bench/ffi/abs_loop.* calls libc's abs N times through
#    each runtime's FFI (Kiln's `extern`, LuaJIT's ffi, Python's ctypes) and
#    bench/ffi/empty_loop.* runs the same loop calling a function of the
#    language instead, both at the N that FFI_SIZE below gives the runtime,
#    under `kiln run --jit=off|--jit=on` (NAME.kn), `luajit -joff` and luajit
#    (NAME.lua) and python3 (NAME.py). Each command must first print the
#    expected sum; one that does not gets a "failed" cell and a note, and
#    the bench runs on.
#    The table gives the fastest of the RUNS runs of each loop, the abs
#    loop's ns per iteration, the ns per call, (abs loop - empty loop) / N,
#    and that per-call figure divided by luajit -joff's.
# 5. GC pause: bench/gc/gc_pause.kn under both Kiln columns, gc_pause.lua
#    under lua5.4 and luajit, gc_pause.js under node (each when installed),
#    at LIVE ALLOCS = GC_SIZE below: LIVE small objects stay live while
#    ALLOCS short-lived ones are allocated in batches of 1,000, the program
#    reading its clock after each batch (Kiln's os.clock() and node's
#    hrtime: monotonic wall clocks; Lua's os.clock(): processor time). Each
#    prints "max_ms p99_ms batches total_s": the longest and the 99th
#    percentile gap between two checkpoints, where a collection shows as a
#    long gap, and the allocation phase's seconds; it checks its live
#    objects and exits 1 if they are wrong. Not hyperfine: each command
#    runs RUNS times (no warm-up), must exit 0 and print the four numbers
#    with the expected batch count (else a "failed" cell and a note, and
#    the bench runs on), and the table gives the median over the runs of
#    each figure and the max pause divided by lua5.4's.
# 6. Embedding costs: bench/embed_cost.c, compiled here against $KILN's
#    libkiln.a and liblua5.4, measures in one process a guest's call of a
#    host function, the host's call of a guest function (kiln_call_fn and
#    kiln_call beside lua_pcall) and the resident memory of a ready VM
#    (created, a small program loaded and run; the mean of 200), Kiln
#    beside Lua 5.4's C API. EMBED_N sets the calls (default 2000000).
# 7. Fibers and the net module: an HTTP hello server under wrk beside
#    node's, channel ping-pong beside coroutines and promises, and the
#    memory of an idle fiber (details at the section below).
#
# Each command of sections 1, 2 and 4: hyperfine -N (no shell), WARMUP
# warm-up runs, then RUNS runs; the whole process is timed (start-up and
# compiling from source included) and the median kept. Prints the markdown
# tables (1 and 2: median seconds, ratio to lua5.4 in parentheses,
# geometric means; 3: the compile statistics; 5: the pauses) and writes
# them to build/bench/results.md, with bar charts of the ratios to lua5.4,
# build/bench/kernels.svg and build/bench/awfy.svg, when gnuplot is
# installed. Raw hyperfine CSVs: build/bench/*.csv; the GC pause runs'
# lines: build/bench/gc-RUNTIME.txt. Progress and notes go to stderr.
#
# Environment: RUNS (default 5), WARMUP (default 1), KILN (build/kiln),
# CC (cc), KERNELS / AWFY (space-separated names to run only those; AWFY=none
# skips the AWFY table), BENCH_SECTIONS (the sections to run, of "kernels
# awfy jit ffi gc embed", separated by spaces or commas; default all; "jit" without
# "kernels" and "awfy" gives the compile statistics of the selected kernels
# and AWFY benchmarks without their --jit=on columns), FFI_N (one N for
# every runtime of the FFI section in place of FFI_SIZE; at most 134217728,
# past which LuaJIT's sum, a double, is no longer exact), GC_SIZE ("LIVE
# ALLOCS" for every runtime of the GC pause section, in place of its
# default). A quick check that the tables render: RUNS=1 WARMUP=0 bash
# bench/run.sh; of the FFI section alone: BENCH_SECTIONS=ffi RUNS=1
# WARMUP=0 FFI_N=1000000 bash bench/run.sh; of the GC pause section alone:
# BENCH_SECTIONS=gc RUNS=1 GC_SIZE="1000 10000" bash bench/run.sh.
set -eu
cd "$(dirname "$0")/.."
KILN=${KILN:-build/kiln}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
CC=${CC:-cc}
OUT=build/bench
mkdir -p "$OUT"
rm -f "$OUT"/*.svg "$OUT"/*.csv "$OUT"/*.dat "$OUT"/gc-*.txt   # nothing stale from an earlier run

note() { echo "bench: $*" >&2; }
command -v hyperfine >/dev/null || { note "hyperfine is missing (make bench-deps)"; exit 2; }
[ -x "$KILN" ] || { note "$KILN not built (make)"; exit 2; }

# ---- sizes ------------------------------------------------------------------
# Each kernel's size, passed as its first argument: equal to the default each
# version uses without one (fib's n, mandelbrot's side, nbody's steps,
# spectral_norm's n, fannkuch_redux's n, binary_trees's maximum depth).
declare -A KERNEL_SIZE=([fib]=36 [mandelbrot]=1500 [nbody]=500000 [spectral_norm]=700
                        [fannkuch_redux]=10 [binary_trees]=16 [sort]=1000000 [int_map]=1000000)
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
# The smallest sizes, those tests/run.sh runs, for the one `--jit=always
# --jit-stats` run of each program (the compile statistics): each kernel's
# size (its output is then tests/kernels/NAME-SIZE.out), and the INNER of
# each AWFY benchmark at OUTER 1 (1 when not listed).
declare -A KERNEL_SMALL=([fib]=27 [mandelbrot]=250 [nbody]=10000 [spectral_norm]=100
                         [fannkuch_redux]=8 [binary_trees]=12 [sort]=1000 [int_map]=1000)
declare -A AWFY_SMALL=([CD]=10)
# The FFI section's N for each runtime, the same for its abs loop and its
# empty loop: each run takes roughly 0.3-2 s (python3's ctypes calls are
# slow, LuaJIT's compiled loop fast; the Kiln sizes were picked from the
# empty loop's times, before Kiln's FFI ran). FFI_N overrides them all.
declare -A FFI_SIZE=([kiln_interp]=20000000 [kiln_jit]=50000000 [luajit_joff]=10000000
                     [luajit]=100000000 [python3]=2000000)

# The GC pause section's LIVE ALLOCS (bench/gc/gc_pause's two arguments), for
# every runtime: a million live objects, five million short-lived ones.
# GC_SIZE in the environment overrides it (a quick check: GC_SIZE="1000 10000").
GC_SIZE=${GC_SIZE:-"1000000 5000000"}

# ---- sections ---------------------------------------------------------------
SECTIONS=${BENCH_SECTIONS:-kernels awfy jit ffi gc embed fibers}
SECTIONS=${SECTIONS//,/ }
for sec in $SECTIONS; do
    case $sec in
        kernels|awfy|jit|ffi|gc|embed|fibers) ;;
        *) note "BENCH_SECTIONS: no section '$sec' (kernels awfy jit ffi gc embed fibers)"; exit 2 ;;
    esac
done
section() { [[ " $SECTIONS " == *" $1 "* ]]; }   # is section $1 selected?

# ---- runtimes ---------------------------------------------------------------
RT_IDS=(kiln_interp kiln_jit lua54 luajit_joff luajit node c)
declare -A LABEL=([kiln_interp]="Kiln interpreter" [kiln_jit]="Kiln JIT" [lua54]="lua5.4"
                  [luajit_joff]="luajit -joff" [luajit]="luajit" [node]="node" [c]="C -O2"
                  [python3]="python3")
declare -A HAVE=([kiln_interp]=1)
have() { command -v "$1" >/dev/null 2>&1; }
"$KILN" run --jit=off bench/kernels/fib.kn 1 >/dev/null 2>&1 ||
    { note "$KILN run --jit=off fails: a kiln without the JIT's options? (make)"; exit 2; }
if "$KILN" run --jit=always bench/kernels/fib.kn 1 >/dev/null 2>&1; then
    HAVE[kiln_jit]=1
else
    note "$KILN run --jit=always fails (no JIT on this machine?): the Kiln JIT column and the compile table are skipped"
fi
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
# no version of it for that runtime. A .lua version that says "Lua 5.4
# only" in its first lines (64-bit integers, >>) has none for LuaJIT.
jit_lua() {
    [ -f "$1.lua" ] && ! head -n 3 "$1.lua" | grep -q 'Lua 5.4 only'
}
kernel_cmd() {
    local k=bench/kernels/$2 size=${KERNEL_SIZE[$2]}
    case $1 in
        kiln_interp) [ -f "$k.kn" ] && echo "$KILN run --jit=off $k.kn $size" ;;
        kiln_jit)    [ -f "$k.kn" ] && echo "$KILN run --jit=on $k.kn $size" ;;
        lua54)       [ -f "$k.lua" ] && echo "lua5.4 $k.lua $size" ;;
        luajit_joff) jit_lua "$k" && echo "luajit -joff $k.lua $size" ;;
        luajit)      jit_lua "$k" && echo "luajit $k.lua $size" ;;
        node)        [ -f "$k.js" ] && echo "node $k.js $size" ;;
        c)           [ -f "$k.c" ] && echo "$OUT/$2 $size" ;;
    esac
    return 0
}

# The command that runs AWFY benchmark $2 at OUTER $3 INNER $4 under runtime
# $1, or nothing when there is no version of it for that runtime.
awfy_cmd() {
    local lower args="$2 $3 $4"
    lower=$(echo "$2" | tr '[:upper:]' '[:lower:]')
    case $1 in
        kiln_interp) [ -f "bench/awfy/$lower.kn" ] && echo "$KILN run --jit=off bench/awfy/harness.kn $args" ;;
        kiln_jit)    [ -f "bench/awfy/$lower.kn" ] && echo "$KILN run --jit=on bench/awfy/harness.kn $args" ;;
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
# The numbers of a --jit-stats report read from stdin: "FUNCTIONS
# INSTRUCTIONS BYTES MS NS-PER-INSTRUCTION OSR-ENTRIES LEFT-INTERPRETED", or
# nothing when there is no complete report.
jit_stats() {
    awk '/^jit: [0-9]+ functions compiled,/ { f = $2; i = $5; b = $8 }
         /^jit: compile time / { ms = $4; ns = substr($6, 2) }
         /^jit: [0-9]+ OSR entries,/ { osr = $2; left = $5 }
         END { if (f != "" && ms != "" && osr != "") print f, i, b, ms, ns, osr, left }'
}
# The command string $1 with --jit-stats after its `run`.
with_stats() { printf '%s' "${1/ run / run --jit-stats }"; }

declare -A MED CELL   # MED[row,rt]: median seconds; CELL[row,rt]: text of a cell not timed
declare -A TBL_LEAD=()   # the leading cells of each row of a table (emit_table)
# JIT_ON[k:NAME] / JIT_ON[a:NAME]: jit_stats of the Kiln JIT column's
# verification run of kernel / AWFY benchmark NAME at the timed size.
declare -A JIT_ON=()
TABLES=$OUT/tables.md
: > "$TABLES"
emit() { printf '%s\n' "$*" >> "$TABLES"; }
# A table cell of x / ref to 2 decimals (a value that rounds to 0 prints
# 0.00), or "–" without a positive ref.
ratio_cell() {
    if [ -n "$2" ] && awk -v r="$2" 'BEGIN { exit !(r > 0) }'; then
        awk -v x="$1" -v r="$2" 'BEGIN { v = x / r; if (v > -0.005 && v < 0.005) v = 0; printf "%.2f", v }'
    else
        printf '–'
    fi
}
# The note under a table naming the runtimes of "$@" that were not measured.
note_missing() {
    local missing=() rt
    for rt in "$@"; do [ -n "${HAVE[$rt]:-}" ] || missing+=("${LABEL[$rt]}"); done
    [ ${#missing[@]} -eq 0 ] || { emit "Not installed (or no JIT), so not measured: ${missing[*]}."; emit ""; }
}

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
        # shellcheck disable=SC2086 # one argument per value
        g=$(geomean ${secs[$rt]:-})
        if [ -z "$g" ]; then line+=" – |"; continue; fi
        line+=" $(fmt "$g")"
        # shellcheck disable=SC2086 # one argument per value
        [ -z "${ratios[$rt]:-}" ] || line+=" ($(awk -v x="$(geomean ${ratios[$rt]})" 'BEGIN { printf "%.2f", x }'))"
        line+=" |"
    done
    emit "$line"
}

table_head() { # table_head LEADING-COLUMNS RT...: the header and separator rows
    local lead=$1 rt header sep="|" pipes=${1//[^|]/} i
    shift
    header="| $lead |"
    for ((i = 0; i <= ${#pipes}; i++)); do sep+="---|"; done
    for rt in "$@"; do header+=" ${LABEL[$rt]} |"; sep+="---:|"; done
    emit "$header"
    emit "$sep"
}

# ---- kernels ----------------------------------------------------------------
KERNEL_NAMES=()
if [ -n "${KERNELS:-}" ]; then
    read -ra KERNEL_NAMES <<< "$KERNELS"
else
    for kn in bench/kernels/*.kn; do KERNEL_NAMES+=("$(basename "$kn" .kn)"); done
fi

# The kernel table (the names are also the compile table's).
if section kernels; then
    for name in "${KERNEL_NAMES[@]}"; do
        [ -f "bench/kernels/$name.kn" ] || { note "no bench/kernels/$name.kn"; exit 2; }
        [ -n "${KERNEL_SIZE[$name]:-}" ] || { note "no size for $name: add it to KERNEL_SIZE in $0"; exit 2; }
        [ -n "${KERNEL_SMALL[$name]:-}" ] || { note "no small size for $name: add it to KERNEL_SMALL in $0"; exit 2; }
        if [ -n "${HAVE[c]:-}" ] && [ -f "bench/kernels/$name.c" ]; then
            "$CC" -O2 -ffp-contract=off -o "$OUT/$name" "bench/kernels/$name.c" -lm
        fi
        # Every version, the JIT's too, must print what the Kiln interpreter
        # prints before its time means anything.
        read -ra interp_cmd <<< "$(kernel_cmd kiln_interp "$name")"
        expected=$("${interp_cmd[@]}")
        cmds=() rts=()
        for rt in "${ACTIVE[@]}"; do
            cmd=$(kernel_cmd "$rt" "$name")
            [ -n "$cmd" ] || continue
            if [ "$rt" = kiln_jit ]; then
                # This run also reports what --jit=on compiles (stderr).
                jcmd=$(with_stats "$cmd")
                got=$($jcmd 2>"$OUT/jit-on.err") ||
                    { note "$name: '$cmd' failed: $(head -c 300 "$OUT/jit-on.err")"; exit 1; }
                JIT_ON[k:$name]=$(jit_stats <"$OUT/jit-on.err")
            elif [ "$rt" != kiln_interp ]; then
                got=$($cmd) || { note "$name: '$cmd' failed"; exit 1; }
            fi
            if [ "$rt" != kiln_interp ]; then
                if [ "$got" != "$expected" ]; then
                    note "$name: '$cmd' prints something other than the Kiln interpreter:"
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
    for rt in "${RT_IDS[@]}"; do [ -n "${HAVE[$rt]:-}" ] || [ "$rt" = kiln_jit ] || missing+=("${LABEL[$rt]}"); done
    [ ${#missing[@]} -eq 0 ] || emit "Not installed, so not measured: ${missing[*]}."
    [ ${#missing[@]} -eq 0 ] || emit ""
    if [ -z "${HAVE[kiln_jit]:-}" ]; then
        emit "No Kiln JIT column (nor compile table): \`$KILN run --jit=always\` fails on this machine."
        emit ""
    fi
fi

# ---- Are We Fast Yet --------------------------------------------------------
# The first line of a failed command's stderr that says what went wrong
# (node puts the source line before the error), shortened for a table note.
why_failed() {
    local line
    line=$(printf '%s\n' "$1" | grep -m 1 -E 'harness:|[A-Za-z]*Error|error' ||
        printf '%s\n' "$1" | grep -m 1 .) || true
    printf '%s' "${line:0:160}"
}

awfy_rows=0 AWFY_ROWS=()
if [ "${AWFY:-}" != none ] && ! section awfy; then
    # Not timed; the compile table still covers the selected benchmarks.
    while read -r bname outer inner; do
        if [ -n "${AWFY:-}" ] && ! [[ " $AWFY " == *" $bname "* ]]; then continue; fi
        [ -z "$(awfy_cmd kiln_interp "$bname" "$outer" "$inner")" ] || AWFY_ROWS+=("$bname")
    done <<< "$AWFY_SIZES"
elif [ "${AWFY:-}" != none ]; then
    for bname in ${AWFY:-}; do
        grep -q "^$bname " <<< "$AWFY_SIZES" || note "AWFY $bname: not in AWFY_SIZES, skipped"
    done
    MED=() CELL=() TBL_ROWS=() TBL_LEAD=() TBL_GEO_PAD=" |" TBL_PARTIAL=
    awfy_notes=()
    while read -r bname outer inner; do
        if [ -n "${AWFY:-}" ] && ! [[ " $AWFY " == *" $bname "* ]]; then continue; fi
        if [ -z "$(awfy_cmd kiln_interp "$bname" "$outer" "$inner")" ]; then
            note "AWFY $bname: no Kiln version, skipped"
            continue
        fi
        TBL_ROWS+=("$bname")
        TBL_LEAD[$bname]="| $bname | $outer $inner |"
        cmds=() rts=()
        for rt in "${AWFY_RTS[@]}"; do
            cmd=$(awfy_cmd "$rt" "$bname" "$outer" "$inner")
            [ -n "$cmd" ] || continue
            # The harness verifies the result itself: exit status 0 means it
            # did. The JIT's run also reports what --jit=on compiles.
            vcmd=$cmd
            [ "$rt" != kiln_jit ] || vcmd=$(with_stats "$cmd")
            if err=$($vcmd 2>&1 >/dev/null); then
                cmds+=("$cmd") rts+=("$rt")
                [ "$rt" != kiln_jit ] || JIT_ON[a:$bname]=$(jit_stats <<< "$err")
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
    AWFY_ROWS=("${TBL_ROWS[@]}")

    emit "### Are We Fast Yet (bench/awfy)"
    emit ""
    emit "\`kiln run --jit=off|--jit=on bench/awfy/harness.kn NAME OUTER INNER\`; the peers run our Lua and JavaScript"
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

# ---- JIT compile times ------------------------------------------------------
declare -A JIT_ALWAYS=() JIT_CELL=()   # by k:NAME / a:NAME, as JIT_ON
jit_notes=()
# jit_always KEY CHECK-FILE ARGS...: one `kiln run --jit=always --jit-stats
# ARGS...`; its jit_stats go to JIT_ALWAYS[KEY], unless it fails, prints
# something other than CHECK-FILE (when that file exists) or reports no
# statistics: then a note, and JIT_CELL[KEY] says so.
jit_always() {
    local key=$1 check=$2 st=0 stats
    shift 2
    "$KILN" run --jit=always --jit-stats "$@" >"$OUT/jit-always.out" 2>"$OUT/jit-always.err" </dev/null ||
        st=$?
    stats=$(jit_stats <"$OUT/jit-always.err")
    if [ "$st" != 0 ]; then
        jit_notes+=("${key#*:}: exit $st, $(why_failed "$(cat "$OUT/jit-always.err")")")
    elif [ -f "$check" ] && ! cmp -s "$OUT/jit-always.out" "$check"; then
        jit_notes+=("${key#*:}: its output differs from $check")
    elif [ -z "$stats" ]; then
        jit_notes+=("${key#*:}: no --jit-stats report on stderr")
    else
        JIT_ALWAYS[$key]=$stats
        return 0
    fi
    JIT_CELL[$key]="failed ($(( ${#jit_notes[@]} )))"
    note "compile statistics: ${jit_notes[-1]}"
}

if [ -n "${HAVE[kiln_jit]:-}" ] && section jit; then
    note "compile statistics: ${#KERNEL_NAMES[@]} kernels and ${#AWFY_ROWS[@]} AWFY benchmarks under --jit=always, once each"
    jit_rows=()   # KEY|leading cells
    for name in "${KERNEL_NAMES[@]}"; do
        size=${KERNEL_SMALL[$name]}
        jit_always "k:$name" "tests/kernels/$name-$size.out" "bench/kernels/$name.kn" "$size"
        jit_rows+=("k:$name|| $name | $size |")
    done
    for bname in ${AWFY_ROWS[@]+"${AWFY_ROWS[@]}"}; do
        inner=${AWFY_SMALL[$bname]:-1}
        jit_always "a:$bname" "" bench/awfy/harness.kn "$bname" 1 "$inner"
        jit_rows+=("a:$bname|| $bname | 1 $inner |")
    done

    emit "### JIT compile times (kiln run --jit=always --jit-stats)"
    emit ""
    emit "One run of each program above at its smallest size (the size \`make test\` runs) under"
    emit "\`--jit=always\`, which compiles every function of the program before it runs, so the compile work"
    emit "does not depend on the size: functions compiled, their bytecode instructions, the machine code"
    emit "written, the compile time and the compile time per bytecode instruction. The last three columns"
    emit "are what the default \`--jit=on\` compiled (hot functions and loops) in the Kiln JIT column's"
    emit "run at the timed size: functions, compile time, OSR entries (loops entered in machine code)."
    emit ""
    emit "| benchmark | size | functions | bytecode instructions | machine code (bytes) | compile (ms) | ns / instruction | --jit=on: functions | --jit=on: compile (ms) | --jit=on: OSR entries |"
    emit "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    tf=0 ti=0 tb=0 tms=0 of=0 oms=0 oosr=0 counted=0 awfy_same='' left=()
    for entry in "${jit_rows[@]}"; do
        key=${entry%%|*} line=${entry#*|}
        if [ -n "${JIT_ALWAYS[$key]:-}" ]; then
            read -r f i b ms ns osr l <<< "${JIT_ALWAYS[$key]}"
            line+=" $f | $i | $b | $ms | $ns |"
            tf=$((tf + f)) ti=$((ti + i)) tb=$((tb + b)) counted=$((counted + 1))
            tms=$(awk -v a="$tms" -v b="$ms" 'BEGIN { print a + b }')
            [ "$l" = 0 ] || left+=("${key#*:} under --jit=always: $l functions left interpreted")
            if [ "${key%%:*}" = a ]; then # do all the AWFY rows compile the same program?
                case $awfy_same in "") awfy_same="$f $i $b" ;; "$f $i $b") ;; *) awfy_same=differ ;; esac
            fi
        else
            line+=" ${JIT_CELL[$key]:-–} | | | | |"
        fi
        if [ -n "${JIT_ON[$key]:-}" ]; then
            read -r f i b ms ns osr l <<< "${JIT_ON[$key]}"
            line+=" $f | $ms | $osr |"
            of=$((of + f)) oosr=$((oosr + osr))
            oms=$(awk -v a="$oms" -v b="$ms" 'BEGIN { print a + b }')
            [ "$l" = 0 ] || left+=("${key#*:} under --jit=on: $l functions left interpreted")
        else
            line+=" – | – | – |"
        fi
        emit "$line"
    done
    if [ "$counted" -eq ${#jit_rows[@]} ]; then line="| **total** | |"; else line="| **total** of $counted | |"; fi
    if [ "$ti" -gt 0 ]; then
        line+=" $tf | $ti | $tb | $(fmt "$tms") | $(awk -v ms="$tms" -v n="$ti" 'BEGIN { printf "%.1f", ms * 1e6 / n }') |"
    else
        line+=" | | | | |"
    fi
    line+=" $of | $(fmt "$oms") | $oosr |"
    emit "$line"
    emit ""
    if [ ${#AWFY_ROWS[@]} -gt 1 ] && [ -n "$awfy_same" ] && [ "$awfy_same" != differ ]; then
        emit "Every AWFY row compiles the same $(cut -d' ' -f1 <<< "$awfy_same") functions: the harness imports all the benchmarks"
        emit "and \`--jit=always\` compiles every function, so those rows differ only in the noise of the compile time."
        emit ""
    fi
    for l in ${left[@]+"${left[@]}"}; do emit "- $l"; done
    [ ${#left[@]} -eq 0 ] || emit ""
    if [ ${#jit_notes[@]} -gt 0 ]; then
        emit "Failed under \`--jit=always\`:"
        emit ""
        for i in "${!jit_notes[@]}"; do emit "$((i + 1)). ${jit_notes[$i]//|/\\|}"; done
        emit ""
    fi
fi

# ---- FFI call overhead -----------------------------------------------------
# The command that runs bench/ffi/$2 (abs_loop or empty_loop) at N $3 under
# runtime $1.
ffi_cmd() {
    local p=bench/ffi/$2
    case $1 in
        kiln_interp) echo "$KILN run --jit=off $p.kn $3" ;;
        kiln_jit)    echo "$KILN run --jit=on $p.kn $3" ;;
        luajit_joff) echo "luajit -joff $p.lua $3" ;;
        luajit)      echo "luajit $p.lua $3" ;;
        python3)     echo "python3 $p.py $3" ;;
    esac
}
# What both loops print at N $1: the sum of |i - 5| for i from 0 to N - 1.
ffi_sum() {
    local n=$1
    if [ "$n" -ge 6 ]; then echo $((15 + (n - 6) * (n - 5) / 2)); else echo $((5 * n - n * (n - 1) / 2)); fi
}
# Column $3 of row $2 (1-based, in command order) of hyperfine CSV $1
# (4: median, 7: min).
csv_col() { awk -F, -v row="$2" -v col="$3" 'NR == row + 1 { print $col }' "$1"; }

if section ffi; then
    FFI_RTS=(kiln_interp kiln_jit luajit_joff luajit python3)
    if have python3; then HAVE[python3]=1; else note "python3 not installed: its FFI row is skipped"; fi
    if [ -n "${FFI_N:-}" ]; then
        if ! [[ $FFI_N =~ ^[1-9][0-9]*$ ]] || [ "$FFI_N" -gt 134217728 ]; then
            note "FFI_N must be a whole number from 1 to 134217728"; exit 2
        fi
    fi
    declare -A FFI_ABS=() FFI_EMPTY=() FFI_NS=() FFI_CELL=()
    ffi_notes=() ffi_rows=()
    for rt in "${FFI_RTS[@]}"; do
        [ -n "${HAVE[$rt]:-}" ] || continue
        ffi_rows+=("$rt")
        n=${FFI_N:-${FFI_SIZE[$rt]}}
        expected=$(ffi_sum "$n")
        cmds=() failed=
        # Each command must print the expected sum first (a hung one is
        # stopped after 300 s), as Kiln's FFI may not run yet.
        for prog in abs_loop empty_loop; do
            cmd=$(ffi_cmd "$rt" "$prog" "$n")
            cmds+=("$cmd")
            read -ra argv <<< "$cmd"
            st=0
            got=$(timeout 300 "${argv[@]}" 2>"$OUT/ffi.err" </dev/null) || st=$?
            if [ "$st" != 0 ]; then
                why="exit $st"
                [ "$st" != 124 ] || why="timed out (300 s)"
                ffi_notes+=("${LABEL[$rt]}, $prog: $why, $(why_failed "$(cat "$OUT/ffi.err")")")
            elif [ "$got" != "$expected" ]; then
                ffi_notes+=("${LABEL[$rt]}, $prog: printed '${got:0:40}', not the sum $expected")
            else
                continue
            fi
            note "FFI: '$cmd' failed: ${ffi_notes[-1]#*: }"
            failed+="${failed:+, }${#ffi_notes[@]}"
        done
        if [ -z "$failed" ]; then
            note "FFI ${LABEL[$rt]} N=$n: both loops print $expected; timing, $WARMUP warm-up + $RUNS runs each"
            if hyperfine -N -w "$WARMUP" -r "$RUNS" --export-csv "$OUT/ffi-$rt.csv" "${cmds[@]}" >/dev/null 2>&1; then
                FFI_ABS[$rt]=$(csv_col "$OUT/ffi-$rt.csv" 1 7)
                FFI_EMPTY[$rt]=$(csv_col "$OUT/ffi-$rt.csv" 2 7)
                FFI_NS[$rt]=$(awk -v a="${FFI_ABS[$rt]}" -v e="${FFI_EMPTY[$rt]}" -v n="$n" 'BEGIN { print (a - e) * 1e9 / n }')
                continue
            fi
            ffi_notes+=("${LABEL[$rt]}: hyperfine failed (a run exited with a status other than 0)")
            note "FFI: ${ffi_notes[-1]}"
            failed=${#ffi_notes[@]}
        fi
        case $rt in kiln_*) FFI_CELL[$rt]="kiln: failed ($failed)" ;; *) FFI_CELL[$rt]="failed ($failed)" ;; esac
    done

    emit "### FFI call overhead (bench/ffi)"
    emit ""
    emit "N calls of libc's \`abs\` (\`int abs(int)\`) in a loop that sums the results (\`bench/ffi/abs_loop.*\`: Kiln's"
    emit "\`extern\`, LuaJIT's \`ffi.C\`, Python's \`ctypes\`), and the same loop calling a function written in the language"
    emit "instead (\`bench/ffi/empty_loop.*\`). Fastest of $RUNS wall-clock runs of the whole process, at the runtime's N"
    emit "for both loops; ns / iteration: the abs loop's time / N (start-up included); ns / call: (abs loop − empty loop)"
    emit "/ N, what an FFI call costs beyond a call of a function of the language; × luajit -joff: that figure divided by"
    emit "LuaJIT's interpreter's (lower is faster)."
    emit ""
    emit "| runtime | N | abs loop (s) | empty loop (s) | ns / iteration | ns / call | × luajit -joff |"
    emit "|---|---:|---:|---:|---:|---:|---:|"
    ref=${FFI_NS[luajit_joff]:-}
    for rt in ${ffi_rows[@]+"${ffi_rows[@]}"}; do
        n=${FFI_N:-${FFI_SIZE[$rt]}}
        line="| ${LABEL[$rt]} | $n |"
        if [ -z "${FFI_NS[$rt]:-}" ]; then
            emit "$line ${FFI_CELL[$rt]} | – | – | – | – |"
            continue
        fi
        line+=" $(fmt "${FFI_ABS[$rt]}") | $(fmt "${FFI_EMPTY[$rt]}") |"
        line+=" $(awk -v a="${FFI_ABS[$rt]}" -v n="$n" 'BEGIN { printf "%.1f", a * 1e9 / n }') |"
        line+=" $(awk -v x="${FFI_NS[$rt]}" 'BEGIN { printf "%.1f", x }') |"
        line+=" $(ratio_cell "${FFI_NS[$rt]}" "$ref") |"
        emit "$line"
    done
    emit ""
    note_missing "${FFI_RTS[@]}"
    if [ ${#ffi_notes[@]} -gt 0 ]; then
        emit "Failed (not timed):"
        emit ""
        for i in "${!ffi_notes[@]}"; do emit "$((i + 1)). ${ffi_notes[$i]//|/\\|}"; done
        emit ""
    fi
fi

# ---- GC pause ---------------------------------------------------------------
# The command that runs bench/gc/gc_pause at GC_SIZE under runtime $1, or
# nothing for a runtime the section does not run.
gc_cmd() {
    local p=bench/gc/gc_pause
    case $1 in
        kiln_interp) echo "$KILN run --jit=off $p.kn $GC_SIZE" ;;
        kiln_jit)    echo "$KILN run --jit=on $p.kn $GC_SIZE" ;;
        lua54)       echo "lua5.4 $p.lua $GC_SIZE" ;;
        luajit)      echo "luajit $p.lua $GC_SIZE" ;;
        node)        echo "node $p.js $GC_SIZE" ;;
    esac
    return 0
}
# The median of the numbers on stdin, one a line (the mean of the middle
# two for an even count, as hyperfine's).
median_of() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

if section gc; then
    read -r gc_live gc_allocs gc_extra <<< "$GC_SIZE"
    if ! [[ ${gc_live:-} =~ ^[1-9][0-9]*$ && ${gc_allocs:-} =~ ^[1-9][0-9]*$ ]] || [ -n "${gc_extra:-}" ]; then
        note "GC_SIZE must be two whole numbers from 1 up, LIVE ALLOCS"; exit 2
    fi
    gc_batches=$(( (gc_allocs + 999) / 1000 ))
    GC_RTS=() gc_notes=()
    declare -A GC_MAX=() GC_P99=() GC_TOTAL=() GC_CELL=()
    for rt in kiln_interp kiln_jit lua54 luajit node; do
        [ -n "${HAVE[$rt]:-}" ] || continue
        GC_RTS+=("$rt")
        cmd=$(gc_cmd "$rt")
        read -ra argv <<< "$cmd"
        note "GC pause ${LABEL[$rt]}: $RUNS runs of '$cmd'"
        : > "$OUT/gc-$rt.txt"   # each run's line: max_ms p99_ms batches total_s
        for ((run = 1; run <= RUNS; run++)); do
            st=0
            got=$(timeout 300 "${argv[@]}" 2>"$OUT/gc.err" </dev/null) || st=$?
            if [ "$st" != 0 ]; then
                why="exit $st"
                [ "$st" != 124 ] || why="timed out (300 s)"
                gc_notes+=("${LABEL[$rt]}: $why, $(why_failed "$(cat "$OUT/gc.err")")")
            elif ! awk -v b="$gc_batches" 'NR == 1 && NF == 4 && $3 == b { ok = 1; for (i = 1; i <= 4; i++) if ($i !~ /^[0-9]+(\.[0-9]+)?$/) ok = 0 }
                                          END { exit !(ok && NR == 1) }' <<< "$got"; then
                gc_notes+=("${LABEL[$rt]}: printed '${got:0:60}', not \"max_ms p99_ms $gc_batches total_s\"")
            else
                echo "$got" >> "$OUT/gc-$rt.txt"
                continue
            fi
            note "GC pause: '$cmd' failed: ${gc_notes[-1]#*: }"
            GC_CELL[$rt]="failed (${#gc_notes[@]})"
            break
        done
        [ -z "${GC_CELL[$rt]:-}" ] || continue
        GC_MAX[$rt]=$(awk '{ print $1 }' "$OUT/gc-$rt.txt" | median_of)
        GC_P99[$rt]=$(awk '{ print $2 }' "$OUT/gc-$rt.txt" | median_of)
        GC_TOTAL[$rt]=$(awk '{ print $4 }' "$OUT/gc-$rt.txt" | median_of)
    done

    emit "### GC pause (bench/gc)"
    emit ""
    emit "\`bench/gc/gc_pause\` keeps $gc_live small objects live (two fields each) and allocates $gc_allocs short-lived"
    emit "ones in $gc_batches batches of 1,000, reading the clock after each batch: a batch's time is the gap between two"
    emit "checkpoints, so a collection (or anything else that stops the program) lengthens the gap it falls in. Median"
    emit "over $RUNS runs of each figure: the longest gap, the 99th percentile gap, and the allocation phase's time as the"
    emit "program measures it; × lua5.4: the max pause divided by lua5.4's (lower is better). Kiln and node read"
    emit "a monotonic wall clock, Lua \`os.clock()\`, processor time, which leaves out the time the process spends"
    emit "descheduled: on a loaded machine the wall-clock figures also hold other programs' time slices."
    emit ""
    emit "| runtime | max pause (ms) | p99 pause (ms) | total (s) | max × lua5.4 |"
    emit "|---|---:|---:|---:|---:|"
    ref=${GC_MAX[lua54]:-}
    for rt in ${GC_RTS[@]+"${GC_RTS[@]}"}; do
        line="| ${LABEL[$rt]} |"
        if [ -n "${GC_CELL[$rt]:-}" ]; then
            emit "$line ${GC_CELL[$rt]} | – | – | – |"
            continue
        fi
        line+=" $(awk -v x="${GC_MAX[$rt]}" 'BEGIN { printf "%.2f", x }') |"
        line+=" $(awk -v x="${GC_P99[$rt]}" 'BEGIN { printf "%.2f", x }') |"
        line+=" $(fmt "${GC_TOTAL[$rt]}") |"
        line+=" $(ratio_cell "${GC_MAX[$rt]}" "$ref") |"
        emit "$line"
    done
    emit ""
    note_missing kiln_jit lua54 luajit node
    if [ ${#gc_notes[@]} -gt 0 ]; then
        emit "Failed (its runs stopped there):"
        emit ""
        for i in "${!gc_notes[@]}"; do emit "$((i + 1)). ${gc_notes[$i]//|/\\|}"; done
        emit ""
    fi
fi

# ---- 6. embedding costs -------------------------------------------------------
if section embed; then
    lib=$(dirname "$KILN")/libkiln.a
    if ! pkg-config --exists lua5.4 2>/dev/null; then
        note "liblua5.4-dev is missing: no embedding table (make bench-deps)"
    elif [ ! -f "$lib" ]; then
        note "$lib is not built: no embedding table (make)"
    else
        # shellcheck disable=SC2046  # pkg-config's flags are words
        "$CC" -O2 -Ivm $(pkg-config --cflags lua5.4) -o "$OUT/embed_cost" bench/embed_cost.c "$lib" \
            $(pkg-config --libs lua5.4) -lmimalloc -lffi -luv -lm -lpthread -ldl
        emit "## Embedding costs"
        emit ""
        emit "bench/embed_cost.c, N = ${EMBED_N:-2000000} calls; ns per call, the fastest of 5 runs; a guest's call of a host function is its loop less the same loop without the call."
        emit ""
        "$OUT/embed_cost" "${EMBED_N:-2000000}" >> "$TABLES"
        emit ""
    fi
fi

# ---- 7. fibers and the net module ---------------------------------------------
# HTTP: examples/http_hello.kn (Kiln JIT) and bench/fibers/http_hello.js
# (node's http module) answer GET / with "hello" on 127.0.0.1; wrk (one
# thread, HTTP_SECS seconds after a 1 s warm-up) drives each with 100 and
# 1,000 connections: requests per second and the 99th percentile latency.
# Ping-pong: bench/fibers/pingpong.* hand a counter back and forth N times:
# Kiln's fibers over two unbuffered channels, Lua's coroutines by
# resume/yield, node's awaited Promises; ns per round trip, the fastest of
# RUNS. Idle fibers: bench/fibers/idle.* hold N fibers (coroutines) blocked
# at once; the resident memory beyond N = 0, per fiber.
if section fibers; then
    http_port() { # a free port, by asking the kernel for one
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    }
    wrk_run() { # wrk_run URL CONNECTIONS: "rps p99" or nothing
        local out
        out=$(wrk -t1 -c"$2" -d"${HTTP_SECS:-5}s" --latency "$1" 2>&1) || return 0
        printf '%s %s\n' "$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ {print $2}')" \
            "$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')"
    }
    serve() { # serve COMMAND...: starts it, waits until its port answers; its pid in $srv
        "$@" >/dev/null 2>&1 &
        srv=$!
        for _ in $(seq 50); do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
            sleep 0.1
        done
        return 1
    }
    emit "## Fibers and the net module"
    emit ""
    if ! have wrk; then
        note "wrk is missing: no HTTP table (make bench-deps)"
    else
        emit "HTTP/1.1 hello server on 127.0.0.1, wrk -t1 for ${HTTP_SECS:-5} s per row (after a 1 s warm-up); requests per second and p99 latency."
        emit ""
        emit "| connections | Kiln JIT req/s | Kiln p99 | node req/s | node p99 | Kiln / node |"
        emit "|---:|---:|---:|---:|---:|---:|"
        for conns in 100 1000; do
            port=$(http_port)
            kr="" nr=""
            if serve "$KILN" run examples/http_hello.kn "$port"; then
                wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
                kr=$(wrk_run "http://127.0.0.1:$port/" "$conns")
            fi
            kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null || true
            if [ -n "${HAVE[node]:-}" ]; then
                port=$(http_port)
                if serve node bench/fibers/http_hello.js "$port"; then
                    wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
                    nr=$(wrk_run "http://127.0.0.1:$port/" "$conns")
                fi
                kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null || true
            fi
            read -r krps kp99 <<<"${kr:-- -}"
            read -r nrps np99 <<<"${nr:-- -}"
            ratio=$(awk -v a="$krps" -v b="$nrps" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')
            emit "| $conns | $krps | $kp99 | $nrps | $np99 | $ratio |"
        done
        emit ""
    fi
    pp_n=${PINGPONG_N:-1000000}
    best_of() { # best_of COMMAND...: the smallest number it prints over RUNS runs
        local b="" v
        for _ in $(seq "$RUNS"); do
            v=$("$@" 2>/dev/null | tail -n 1) || return 0
            b=$(awk -v a="$b" -v v="$v" 'BEGIN { if (a == "" || v + 0 < a + 0) print v; else print a }')
        done
        printf '%.0f' "$b"
    }
    emit "Channel ping-pong, N = $pp_n round trips (two switches each); ns per round trip, the fastest of $RUNS runs."
    emit ""
    emit "| runtime | ns per round trip |"
    emit "|---|---:|"
    emit "| Kiln interpreter (fibers, channels) | $(best_of "$KILN" run --jit=off bench/fibers/pingpong.kn "$pp_n") |"
    [ -n "${HAVE[kiln_jit]:-}" ] &&
        emit "| Kiln JIT (fibers, channels) | $(best_of "$KILN" run --jit=on bench/fibers/pingpong.kn "$pp_n") |"
    [ -n "$has_lua" ] && emit "| lua5.4 (coroutine resume/yield) | $(best_of lua5.4 bench/fibers/pingpong.lua "$pp_n") |"
    [ -n "${HAVE[luajit]:-}" ] && emit "| luajit (coroutine resume/yield) | $(best_of luajit bench/fibers/pingpong.lua "$pp_n") |"
    [ -n "${HAVE[node]:-}" ] && emit "| node (await of a Promise) | $(best_of node bench/fibers/pingpong.js "$pp_n") |"
    emit ""
    idle_n=${IDLE_N:-10000}
    per_fiber() { # per_fiber COMMAND...: (RSS at N - RSS at 0) / N, in bytes
        local base full
        base=$("$@" 0 2>/dev/null | tail -n 1) full=$("$@" "$idle_n" 2>/dev/null | tail -n 1)
        awk -v a="$base" -v b="$full" -v n="$idle_n" 'BEGIN { if (b + 0 > 0) printf "%.0f | %.1f", (b - a) * 1024 / n, b / 1024; else print "- | -" }'
    }
    emit "Idle fibers: $idle_n blocked at once; resident memory per fiber beyond the empty program's, and the whole process's."
    emit ""
    emit "| runtime | bytes per idle fiber | process RSS (MB) |"
    emit "|---|---:|---:|"
    emit "| Kiln (fibers asleep in sleep) | $(per_fiber "$KILN" run bench/fibers/idle.kn) |"
    [ -n "$has_lua" ] && emit "| lua5.4 (suspended coroutines) | $(per_fiber lua5.4 bench/fibers/idle.lua) |"
    emit ""
fi

# ---- results.md and charts --------------------------------------------------
charts=""
if have gnuplot; then
    if [ -n "$has_lua" ]; then ylabel="time / lua5.4 time (lower is faster)"; else ylabel="median seconds"; fi
    if [ -f "$OUT/kernels.dat" ]; then   # the kernel section ran
        gnuplot -e "datafile='$OUT/kernels.dat'; outfile='$OUT/kernels.svg'; ncols=$((${#ACTIVE[@]} + 1)); ylabel='$ylabel'; chart_title='Kiln benchmark kernels'" bench/chart.gp &&
            charts+="![kernels](kernels.svg)"$'\n'
    fi
    if [ "$awfy_rows" -gt 0 ]; then
        width=$((awfy_rows > 8 ? 200 + 90 * awfy_rows : 960))   # room for every name and bar
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
    echo "- kiln: $("$KILN" --version 2>/dev/null | head -n 1 || echo "$KILN"); Kiln interpreter: \`kiln run --jit=off\`, Kiln JIT: \`kiln run --jit=on\`"
    [ -n "$has_lua" ] && echo "- lua5.4: $(lua5.4 -v 2>&1 | head -n 1)"
    [ -n "${HAVE[luajit]:-}" ] && echo "- luajit: $(luajit -v 2>&1 | head -n 1)"
    [ -n "${HAVE[node]:-}" ] && echo "- node: $(node --version)"
    [ -n "${HAVE[c]:-}" ] && echo "- C: $("$CC" --version | head -n 1), -O2 -ffp-contract=off"
    [ -n "${HAVE[python3]:-}" ] && echo "- python3: $(python3 --version 2>&1 | head -n 1) (FFI section)"
    echo
    cat "$TABLES"
    [ -z "$charts" ] || printf '%s' "$charts"
} > "$OUT/results.md"

cat "$TABLES"
note "wrote $OUT/results.md$(printf '%s' "$charts" | grep -o '[a-z]*\.svg' | sed "s|^|, $OUT/|" | tr -d '\n')"
