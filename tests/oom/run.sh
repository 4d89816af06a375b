#!/usr/bin/env bash
# tests/oom/run.sh — failure injection (tests/oom/README.md).
#
#   bash tests/oom/run.sh full      every injection point (make oomtest)
#   bash tests/oom/run.sh sample    a bounded sample (make test)
#
# Needs $OOM_BUILD/oom-driver and $OOM_BUILD/kiln-oom (make oom-build).
# Each case runs in a process of its own: oom-driver in-process over every
# injection point of programs and API sequences, kiln-oom (the command
# line) once per injection point. A process that dies by a signal or a
# sanitizer's report (exit 99) is a crash; a LeakSanitizer report or a
# leak oom-driver counts is a leak; an outcome that is not a clean error
# (see driver.c) is a bad outcome. Ends with one line
#   oomtest: N injection points, C crashes, L leaks, B bad outcomes
# and exits non-zero unless all three are 0.
set -u
mode=${1:-full}
OOM_BUILD=${OOM_BUILD:-build/asan}
DRIVER=$OOM_BUILD/oom-driver
KILN_OOM=$OOM_BUILD/kiln-oom
OUT=$OOM_BUILD/run
case $mode in full | sample) ;; *)
    echo "usage: tests/oom/run.sh full|sample" >&2
    exit 2
    ;;
esac
for b in "$DRIVER" "$KILN_OOM"; do
    if [ ! -x "$b" ]; then
        echo "oomtest: $b is missing (make oom-build)" >&2
        exit 2
    fi
done
rm -rf "$OUT"
mkdir -p "$OUT"
# The C library of the FFI's tests, at the path the programs name (as
# tests/run.sh builds it).
if [ ! -e build/ffi/libkilntest.so ]; then
    mkdir -p build/ffi
    ${CC:-cc} -shared -fPIC -O1 -pthread -o build/ffi/libkilntest.so tests/ffi/kilntest.c || exit 2
fi
# A sanitizer's report exits 99, told apart from the CLI's own 1 and 2.
export ASAN_OPTIONS=detect_leaks=1:exitcode=99:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:exitcode=99:print_stacktrace=1
export LSAN_OPTIONS=exitcode=99

L=tests/lang
# Programs over the compiler (classes, generics, enums, modules,
# closures, exceptions), the runtime (maps, arrays, strings, tuples,
# fibers and channels) and the standard library; two with compile errors, one with an uncaught
# error (their first run's error stays a correct outcome).
PROGRAMS="$L/arrays/classes.kn $L/arrays/methods_v1.kn $L/classes/binary_tree.kn
$L/classes/linked_list.kn $L/closures/higher_order.kn $L/closures/exceptions.kn
$L/enums/option.kn $L/enums/enums_match.kn $L/exceptions/finally.kn
$L/exceptions/runtime_faults.kn $L/generics/functions.kn $L/generics/lazy_methods.kn
$L/interfaces/interfaces.kn $L/maps/nested_values.kn $L/maps/modify_while_iterating.kn
$L/strings/methods.kn $L/strings/escapes.kn $L/stdlib/str_join.kn $L/tuples/tuples.kn
$L/modules/basic/main.kn $L/modules/interfaces/main.kn $L/compile_errors/bad_escape.kn
$L/compile_errors/assign_type_mismatch.kn $L/exceptions/stale_handler_uncaught.kn
$L/stdlib/str_split.kn $L/stdlib/random_shuffle_choice.kn $L/maps/int_keys_layouts.kn
$L/maps/key_types.kn $L/maps/print_map.kn $L/ffi/callbacks.kn $L/ffi/buffer.kn
$L/programs/json.kn $L/programs/expr.kn $L/programs/ledger.kn $L/programs/wordfreq.kn
$L/programs/gauss.kn $L/fibers/spec_example.kn $L/fibers/closed.kn $L/fibers/join_error.kn
$L/fibers/deadlock_caught.kn"
# Loaded from their images (the loader and the verifier), and compiled
# by the JIT before they run (--jit=always).
IMAGES="$L/classes/binary_tree.kn $L/enums/option.kn $L/maps/nested_values.kn
$L/generics/functions.kn $L/modules/interfaces/main.kn"
JITTED="$L/classes/binary_tree.kn $L/closures/higher_order.kn $L/maps/nested_values.kn
$L/strings/methods.kn $L/exceptions/finally.kn $L/ffi/callbacks.kn"
# Under a heap limit (BYTES:FILE; the guest's own OutOfMemoryError, caught
# and uncaught, as well: these programs catch it and go on, so a run that
# succeeds may print other things); with a collection at every allocation and the
# heap checked after each; with the JIT compiling what gets hot (OSR).
LIMITED="4194304:$L/exceptions/oom_caught.kn 4194304:$L/exceptions/oom_message.kn
1048576:$L/gc/heap_limit.kn"
STRESSED="$L/closures/higher_order.kn $L/maps/nested_values.kn $L/classes/binary_tree.kn
$L/strings/methods.kn"
HOT="$L/programs/gauss.kn $L/programs/wordfreq.kn"
# The command line: kiln run (source, image), kiln build, kiln verify.
CLI_PROGRAM=$L/enums/option.kn

points=0 crashes=0 leaks=0 bad=0
step=1
if [ "$mode" = sample ]; then
    # make test: every 3rd point of a few cases, every 11th of the CLI's.
    PROGRAMS="$L/classes/binary_tree.kn $L/enums/option.kn $L/modules/interfaces/main.kn
$L/compile_errors/bad_escape.kn $L/fibers/spec_example.kn"
    IMAGES="$L/generics/functions.kn"
    JITTED="$L/closures/higher_order.kn"
    LIMITED="4194304:$L/exceptions/oom_caught.kn"
    STRESSED="$L/maps/nested_values.kn"
    HOT=""
    step=3
fi
cli_step=$((step == 1 ? 1 : 11))

# A process that ended with a sanitizer's report or a signal: a leak
# (LeakSanitizer's report) or a crash, counted and shown.
died() {
    local log=$1 what=$2
    if grep -q LeakSanitizer "$log"; then
        leaks=$((leaks + 1))
        echo "oomtest: $what: LeakSanitizer reports a leak (see $log)"
    else
        crashes=$((crashes + 1))
        echo "oomtest: $what: crashed (see $log):"
        grep -m3 -E 'ERROR|runtime error' "$log" | sed 's/^/  /'
    fi
}

# One oom-driver process: its numbers, or a crash.
drive() {
    local name=$1
    shift
    local log=$OUT/$name.log
    "$DRIVER" -s "$step" "$@" >"$log.out" 2>"$log"
    local rc=$?
    grep '^oom: [sia]' "$log.out"
    local p l b
    read -r p l b < <(awk '/^oom: [0-9]+ injection points/ {print $2, $7, $9}' "$log.out")
    points=$((points + ${p:-0}))
    if [ $rc -ne 0 ] && [ $rc -ne 1 ] || [ -z "${p:-}" ]; then
        died "$log" "$name (exit $rc)"
    fi
    leaks=$((leaks + ${l:-0}))
    bad=$((bad + ${b:-0}))
    if [ "${l:-0}" != 0 ] || [ "${b:-0}" != 0 ]; then
        echo "oomtest: $name: ${l:-0} leaks, ${b:-0} bad outcomes (see $log):"
        grep -m6 '^oom: .*failing' "$log" | sed 's/^/  /'
    fi
}

srcs="" imgs="" jits=""
for p in $PROGRAMS; do srcs="$srcs src:$p"; done
for p in $IMAGES; do imgs="$imgs img:$p"; done
for p in $JITTED; do jits="$jits src:$p"; done
n=0
for c in api $srcs $imgs; do
    n=$((n + 1))
    drive "at-$n" "$c"
    [ "$mode" = full ] && drive "from-$n" -f "$c"
done
for c in $jits; do
    n=$((n + 1))
    drive "jit-$n" -j always "$c"
done
for c in $LIMITED; do
    n=$((n + 1))
    drive "limit-$n" -c -l "${c%%:*}" "src:${c#*:}"
done
for c in $STRESSED; do
    n=$((n + 1))
    drive "stress-$n" -g "src:$c"
done
for c in $HOT; do
    n=$((n + 1))
    drive "hot-$n" -j on "src:$c"
done

# The command line, one process per injection point: exit 0 with the
# first run's output, or 1 or 2 with "out of memory" (or the first run's
# message) on stderr; never a signal or a sanitizer's report.
cli() {
    local name=$1
    shift
    local dir=$OUT/cli-$name
    mkdir -p "$dir"
    KILN_OOM_REPORT=$dir/report "$KILN_OOM" "$@" >"$dir/out0" 2>"$dir/err0"
    local rc0=$? total= tried=0 n
    [ -e "$dir/report" ] && read -r total _ <"$dir/report"
    if [ -z "$total" ] || [ $rc0 -gt 2 ]; then # the run without failures
        died "$dir/err0" "kiln $name, no failure injected (exit $rc0)"
        return
    fi
    for ((n = 1; n <= total + cli_step; n += cli_step)); do
        rm -f "$dir/report" # written at exit: none after a crash
        KILN_OOM_AT=$n KILN_OOM_REPORT=$dir/report "$KILN_OOM" "$@" >"$dir/out" 2>"$dir/err"
        local rc=$? injected=
        [ -e "$dir/report" ] && read -r _ injected <"$dir/report"
        if [ $rc -eq 99 ] || [ $rc -gt 2 ] || [ -z "$injected" ]; then
            cp "$dir/err" "$dir/err-$n"
            died "$dir/err-$n" "kiln $name, allocation $n failing (exit $rc)"
        elif [ "${injected:-0}" = 0 ]; then
            if [ $rc -ne $rc0 ] || ! cmp -s "$dir/out" "$dir/out0"; then
                bad=$((bad + 1))
                echo "oomtest: kiln $name: with no failure injected, the run differs from the first"
            fi
            break
        elif { [ $rc -eq 0 ] && [ $rc0 -eq 0 ] && ! cmp -s "$dir/out" "$dir/out0" &&
            ! grep -qE 'out of memory|OutOfMemoryError' "$dir/out"; } ||
            { [ $rc -ne 0 ] && ! grep -qE 'out of memory|OutOfMemoryError' "$dir/err" &&
                ! { [ $rc -eq $rc0 ] && cmp -s "$dir/err" "$dir/err0"; }; }; then
            bad=$((bad + 1))
            echo "oomtest: kiln $name, allocation $n failing: exit $rc, not a clean error:"
            head -3 "$dir/err" | sed 's/^/  /'
        fi
        tried=$((tried + 1))
    done
    points=$((points + tried))
    printf 'oom: kiln %-39s %-20s %6d points (%d allocations)\n' "$name" at "$tried" "$total"
}

img=$OUT/cli.kbc
"$KILN_OOM" build "$CLI_PROGRAM" -o "$img"
cli "run-source" run "$CLI_PROGRAM"
cli "run-image" run "$img"
cli "build" build "$CLI_PROGRAM" -o "$OUT/built.kbc"
cli "verify" verify "$img"
[ "$mode" = full ] && cli "run-jit" run --jit=always "$L/closures/higher_order.kn"

echo "oomtest: $points injection points, $crashes crashes, $leaks leaks, $bad bad outcomes"
[ $crashes -eq 0 ] && [ $leaks -eq 0 ] && [ $bad -eq 0 ]
