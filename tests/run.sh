#!/usr/bin/env bash
# tests/run.sh — every test of `make test` (and `make asan`), in one run.
#
#   1. unit      Criterion unit tests of the C pieces (build/unit-tests)
#   2. lang      tests/lang/**/X.kn, each run in every execution mode:
#                from source, from its built .kbc image, from source
#                under --gc-stress --gc-verify (a collection at every
#                allocation, the heap checked after each), and from source
#                under --jit=always (every function compiled to machine
#                code before it runs); every third program also under
#                --jit=always --gc-stress --gc-verify. Every run must
#                match X.out (stdout), X.code (exit status, default 0) and
#                X.err (each line a substring of stderr; without X.code
#                stderr must be empty), and all runs must be identical.
#                X.flags, if present, holds extra `kiln run` options.
#                In a folder with a main.kn, only main.kn is a program: the
#                other files are modules it imports (tests/lang/modules/).
#                Its image is run from another folder, so it must hold
#                every module.
#                With KILN_SWITCH set (make test does), each program also
#                runs from source on that build of kiln, whose interpreter
#                uses switch dispatch instead of computed goto.
#   3. bad       malformed images from tests/bad/bad_images.c, each rejected
#                by `kiln verify` with exit 2 and its expected message
#   4. mutation  1,000 random corruptions of valid images: none may make
#                kiln die by a signal
#   5. cli       the command line's usage errors and exit codes; generated
#                programs with 50,000 uses of a type and with every type id
#                the image allows, and one type more; the AWFY benchmarks
#                (bench/awfy) verifying at their smallest size;
#                the kernels (bench/kernels) at a tiny size, output against
#                tests/kernels/NAME-SIZE.out (three also under --gc-stress);
#                both of these also under --jit=always; bench/gc/gc_pause
#                at a tiny size (exit 0 and four numbers; also under
#                --jit=always and --gc-stress);
#                with MAXRSS set (make test), the heap-limit checks of
#                tests/heapcap (peak RSS within limit * 1.1 + 8 MiB);
#                examples/embed's output, and the FFI examples' (against
#                tests/examples/NAME.out); the net examples' servers
#                (http_hello, echo_server) answering the clients of
#                tests/examples, and parallel_fetch; with TSAN_THREADS set (make
#                test does), tests/tsan/threads.c under ThreadSanitizer;
#                with OOM_BUILD set (make test does), a sample of the
#                failure injection of make oomtest (tests/oom/run.sh
#                sample: every 3rd allocation of libkiln made to fail, over
#                a few programs, an image, the API and the command line);
#                then, with
#                INSTALL_CHECK=yes (the default; make asan sets no),
#                tests/install/check.sh: libkiln.so's exports, make install,
#                and a C application built against the installed library
#                through pkg-config, shared and static
#   6. source    tests/layers.sh: no file includes a header of a layer
#                above its own (docs/architecture.md); every C file is as
#                clang-format formats it (.clang-format)
#
# Ends with one line "N passed, N failed" over everything it ran, and exits
# non-zero when anything failed. Set TEST_FILTER to a substring to run only
# the language tests whose path contains it.
set -u
KILN=${KILN:-build/kiln}
UNIT=${UNIT:-build/unit-tests}
BADGEN=${BADGEN:-build/bad-images}
MUTATE=${MUTATE:-build/mutate}
OUT=${OUT:-build/test}
MUTANTS=${MUTANTS:-1000}
TIMEOUT=${TIMEOUT:-60}

ROOT=$PWD
KILN_PATH=$(cd "$(dirname "$KILN")" && pwd)/$(basename "$KILN")
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

rm -rf "$OUT"
mkdir -p "$OUT/img" "$OUT/bad" "$OUT/mutants"

# The C library the FFI's tests call (tests/lang/ffi, and the unit tests
# that run every language test's program): at a fixed path, since the
# programs name it.
mkdir -p build/ffi
mkdir -p build/test # where tests/lang/sandbox may write, also when OUT is elsewhere (make asan)
if ! ${CC:-cc} -shared -fPIC -O1 -pthread -o build/ffi/libkilntest.so tests/ffi/kilntest.c; then
    fail "ffi: cannot build build/ffi/libkilntest.so"
fi

# ---- 1. unit tests ----
if [ -x "$UNIT" ]; then
    "$UNIT" --jobs=2 >"$OUT/unit.log" 2>&1
    unit_status=$?
    line=$(grep -a 'Synthesis:' "$OUT/unit.log" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g')
    tested=$(echo "$line" | sed -n 's/.*Tested: \([0-9]*\).*/\1/p')
    passing=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    if [ -z "$tested" ]; then
        fail "unit: no Criterion summary (exit $unit_status); see $OUT/unit.log"
    else
        passed=$((passed + passing))
        if [ "$passing" -ne "$tested" ] || [ "$unit_status" -ne 0 ]; then
            grep -a -E '\[FAIL\]|CRASH|Assertion|Test .* crashed' "$OUT/unit.log" | head -20
            failed=$((failed + tested - passing))
            [ "$passing" -eq "$tested" ] && fail "unit: exit status $unit_status"
        fi
    fi
    echo "unit: $line"
else
    fail "unit: $UNIT not built"
fi

# ---- 2. language tests, from source and from image ----
# check MODE FILE STATUS STDOUT STDERR: one run against the expectations.
check() {
    local mode=$1 kn=$2 status=$3 out=$4 err=$5 base=${2%.kn} want=0 problem=""
    [ -f "$base.code" ] && want=$(tr -d ' \n' <"$base.code")
    if [ "$status" != "$want" ]; then
        problem="exit $status, expected $want"
    elif [ -f "$base.out" ] && ! cmp -s "$out" "$base.out"; then
        problem="stdout differs: diff $base.out $out"
    elif [ ! -f "$base.code" ] && [ -s "$err" ]; then
        problem="unexpected stderr: $(head -c 300 "$err")"
    elif [ -f "$base.err" ]; then
        while IFS= read -r want_line || [ -n "$want_line" ]; do
            [ -z "$want_line" ] && continue
            if ! grep -qF -- "$want_line" "$err"; then
                problem="stderr lacks: $want_line"
                break
            fi
        done <"$base.err"
    fi
    if [ -n "$problem" ]; then fail "lang [$mode] $kn: $problem"; else pass; fi
}

lang_count=0
while IFS= read -r kn; do
    case "$kn" in *"${TEST_FILTER:-}"*) ;; *) continue ;; esac
    [ "${kn##*/}" != main.kn ] && [ -f "${kn%/*}/main.kn" ] && continue # a module
    lang_count=$((lang_count + 1))
    rel=${kn#tests/lang/}
    s="$OUT/img/${rel%.kn}"
    mkdir -p "$(dirname "$s")"
    flags=()
    [ -f "${kn%.kn}.flags" ] && read -r -a flags <"${kn%.kn}.flags"
    timeout "$TIMEOUT" "$KILN" run "${flags[@]}" "$kn" >"$s.src.out" 2>"$s.src.err" </dev/null
    src_status=$?
    check source "$kn" "$src_status" "$s.src.out" "$s.src.err"
    # From the image: a program that does not compile fails at build time,
    # with the same diagnostics.
    if timeout "$TIMEOUT" "$KILN" build "$kn" -o "$s.kbc" >"$s.img.out" 2>"$s.img.err"; then
        run_dir=.
        [ "${kn##*/}" = main.kn ] && run_dir=$OUT # away from its modules' files
        kbc=$s.kbc
        [ "${kbc#/}" = "$kbc" ] && kbc=$ROOT/$kbc
        (cd "$run_dir" && timeout "$TIMEOUT" "$KILN_PATH" run "${flags[@]}" "$kbc") \
            >"$s.img.out" 2>"$s.img.err" </dev/null
        img_status=$?
    else
        img_status=$?
    fi
    check image "$kn" "$img_status" "$s.img.out" "$s.img.err"
    timeout "$TIMEOUT" "$KILN" run --gc-stress --gc-verify "${flags[@]}" "$kn" \
        >"$s.gc.out" 2>"$s.gc.err" </dev/null
    gc_status=$?
    check gc-stress "$kn" "$gc_status" "$s.gc.out" "$s.gc.err"
    timeout "$TIMEOUT" "$KILN" run --jit=always "${flags[@]}" "$kn" \
        >"$s.jit.out" 2>"$s.jit.err" </dev/null
    jit_status=$?
    check jit "$kn" "$jit_status" "$s.jit.out" "$s.jit.err"
    modes="img gc jit"
    if [ $((lang_count % 3)) = 0 ]; then
        timeout "$TIMEOUT" "$KILN" run --jit=always --gc-stress --gc-verify "${flags[@]}" "$kn" \
            >"$s.jitgc.out" 2>"$s.jitgc.err" </dev/null
        jitgc_status=$?
        check jit-gc-stress "$kn" "$jitgc_status" "$s.jitgc.out" "$s.jitgc.err"
        modes="$modes jitgc"
    fi
    if [ -n "${KILN_SWITCH:-}" ]; then
        timeout "$TIMEOUT" "$KILN_SWITCH" run "${flags[@]}" "$kn" >"$s.sw.out" 2>"$s.sw.err" </dev/null
        sw_status=$?
        check switch "$kn" "$sw_status" "$s.sw.out" "$s.sw.err"
        modes="$modes sw"
    fi
    for mode in $modes; do
        st=$img_status
        [ "$mode" = gc ] && st=$gc_status
        [ "$mode" = sw ] && st=$sw_status
        [ "$mode" = jit ] && st=$jit_status
        [ "$mode" = jitgc ] && st=$jitgc_status
        if [ "$src_status" != "$st" ] || ! cmp -s "$s.src.out" "$s.$mode.out" ||
            ! cmp -s "$s.src.err" "$s.$mode.err"; then
            fail "lang [source = $mode] $kn: the runs differ"
        else
            pass
        fi
    done
done < <(find tests/lang -name '*.kn' | sort)
echo "lang: $lang_count programs, each from source, from image, under --gc-stress, under --jit=always${KILN_SWITCH:+ and with switch dispatch}"

# ---- 3. malformed images ----
if [ -x "$BADGEN" ] && "$BADGEN" "$OUT/bad" >"$OUT/bad.log" 2>&1; then
    nbad=0
    for img in "$OUT"/bad/*.kbc; do
        [ -e "$img" ] || continue
        nbad=$((nbad + 1))
        want=$(head -n 1 "${img%.kbc}.err")
        "$KILN" verify "$img" >/dev/null 2>"$OUT/bad/last.err"
        st=$?
        if [ "$st" != 2 ]; then
            fail "bad $(basename "$img"): exit $st, expected 2"
        elif ! grep -qF -- "$want" "$OUT/bad/last.err"; then
            fail "bad $(basename "$img"): got '$(head -c 300 "$OUT/bad/last.err")', expected '$want'"
        else
            pass
        fi
    done
    echo "bad: $nbad malformed images"
    [ "$nbad" -gt 0 ] || fail "bad: the generator wrote no images"
else
    fail "bad: $BADGEN missing or failed; see $OUT/bad.log"
fi

# ---- 4. mutation test ----
seeds=()
while IFS= read -r img; do
    base=tests/lang/${img#"$OUT"/img/}
    base=${base%.kbc}
    # Seed only with programs that finish quickly and succeed.
    if [ ! -f "$base.code" ] && [ "$(wc -c <"$img")" -lt 20000 ]; then seeds+=("$img"); fi
done < <(find "$OUT/img" -name '*.kbc' | sort)
if [ -z "${TEST_FILTER:-}" ] && [ "${#seeds[@]}" -gt 0 ]; then
    if "$MUTATE" "$KILN" "$MUTANTS" 20261126 "$OUT/mutants" "${seeds[@]}" >"$OUT/mutate.log" 2>&1; then
        pass
    else
        fail "mutation: see $OUT/mutate.log (crashing mutants kept in $OUT/mutants)"
        head -5 "$OUT/mutate.log"
    fi
    echo "mutation: $(tail -n 1 "$OUT/mutate.log")"
elif [ -z "${TEST_FILTER:-}" ]; then
    fail "mutation: no seed images"
fi

# ---- 5. command line ----
cli() { # cli EXPECTED_STATUS STDERR_SUBSTRING ARGS...
    local want=$1 msg=$2
    shift 2
    "$KILN" "$@" >"$OUT/cli.out" 2>"$OUT/cli.err" </dev/null
    local st=$?
    if [ "$st" != "$want" ]; then
        fail "cli kiln $*: exit $st, expected $want"
    elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$OUT/cli.err" "$OUT/cli.out"; then
        fail "cli kiln $*: output lacks '$msg'"
    else
        pass
    fi
}
printf 'print("hi")\n' >"$OUT/hi.txt" # any name: the content decides the kind
printf '\177KILN\r\n\032' >"$OUT/truncated.kbc" # the magic, then nothing
cli 0 "usage: kiln" --help
cli 0 "kiln " --version
cli 2 "no command given"
cli 2 "unknown command" frobnicate
cli 2 "unknown option" run --bogus x.kn
cli 2 "no FILE given" run
cli 2 "cannot open" run "$OUT/does-not-exist.kn"
cli 2 "no output given" build "$OUT/hi.txt"
cli 0 "" run "$OUT/hi.txt"
cli 0 "" build "$OUT/hi.txt" -o "$OUT/hi.kbc"
cli 0 "ok" verify "$OUT/hi.kbc"
cli 0 "" run "$OUT/hi.kbc"
cli 0 "LOADK" dis "$OUT/hi.kbc"
cli 0 "CALLN" dis "$OUT/hi.txt"
cli 2 "not a bytecode image" verify "$OUT/hi.txt"
# A generic class's instance compiles only the methods a call may reach:
# in tests/lang/generics/lazy_methods.kn, Bag<int>.unused is a bare trap
# while Bag<int>.later (first called from a function checked after it) and
# Bag<float>.name (reached through Base's slot) have code.
"$KILN" dis tests/lang/generics/lazy_methods.kn >"$OUT/lazy.dis" 2>&1
fn_code() { # the first instruction of function $1 in $OUT/lazy.dis
    awk -v f="$1" '$1 == "fn" && index($3, f "(") == 1 { getline; print $3; exit }' "$OUT/lazy.dis"
}
if [ "$(fn_code 'Bag<int>.unused')" = TRAP ] && [ "$(fn_code 'Bag<int>.later')" = LOADK ] &&
    [ "$(fn_code 'Bag<float>.name')" = LOADK ]; then
    pass
else
    fail "dis lazy_methods.kn: unused $(fn_code 'Bag<int>.unused'), later $(fn_code 'Bag<int>.later'), name $(fn_code 'Bag<float>.name')"
fi
cli 2 "invalid image: truncated" run "$OUT/truncated.kbc"
cli 0 "" run "$OUT/hi.kbc" guest-arg --guest-flag
cli 2 "bad count" run --fuel=0 "$OUT/hi.txt"
cli 2 "bad time" run --timeout=-1 "$OUT/hi.txt"
cli 0 "" run --sandbox --fuel=1000 --timeout=10 "$OUT/hi.txt"
# stdin is a capability of its own: --allow-stdin grants it, --allow-read
# does not; the default allows it (issue #15, point 7)
printf 'import io\nprint(io.read_line())\n' >"$OUT/echo-line.kn"
for opts in "" "--allow-stdin" "--allow-read=$OUT" "--sandbox"; do
    got=$(echo piped | "$KILN" run $opts "$OUT/echo-line.kn" 2>&1)
    case "$opts" in --allow-read=* | --sandbox) want="PermissionError: io.read_line: not allowed" ;; *) want=piped ;; esac
    case "$got" in *"$want"*) pass ;; *) fail "cli: echo piped | kiln run $opts: $(printf %s "$got" | head -c 200)" ;; esac
done
# The FFI's options, and verify listing the C functions an image may call
cli 0 "" run --allow-ffi "$OUT/hi.txt"
cli 0 "" run --allow-ffi=libm.so.6 --allow-ffi=libc.so.6 "$OUT/hi.txt"
cli 2 "'--allow-ffi=' needs a library" run --allow-ffi= "$OUT/hi.txt"
# #16's poor errors, each precise now
cli 2 "'--allow-read=' needs a folder" run --allow-read= "$OUT/hi.txt"
cli 2 "'--allow-write=' needs a folder" run --allow-write= "$OUT/hi.txt"
many=()
for k in $(seq 65); do many+=("--allow-read=$OUT"); done
cli 2 "too many --allow-read options (at most 64)" run "${many[@]}" "$OUT/hi.txt"
cli 2 "bad count" run --fuel=18446744073709551616 "$OUT/hi.txt"
cli 2 "bad size" run --heap-limit=99999999999999999999999 "$OUT/hi.txt"
cli 2 "cannot read: Is a directory" run "$OUT/img"
cp "$OUT/hi.txt" "$OUT/keep.kn"
cli 2 "is the source file itself" build "$OUT/keep.kn" -o "$OUT/../$(basename "$OUT")/keep.kn"
if cmp -s "$OUT/hi.txt" "$OUT/keep.kn"; then pass; else fail "cli: build -o the source overwrote it"; fi
printf 'extern "libm.so.6" { fn cos(x: c_double) -> c_double }\nprint(cos(0.0))\n' \
    >"$OUT/cos.kn"
cli 0 "" build "$OUT/cos.kn" -o "$OUT/cos.kbc"
cli 0 'extern "libm.so.6" n0 cos(c_double) -> c_double' verify "$OUT/cos.kbc"
cli 1 "PermissionError: ffi.load libm.so.6: not allowed" run --sandbox "$OUT/cos.kbc"
cli 1 "ffi.load libm.so.6: not an allowed library" run --allow-ffi=libc.so.6 "$OUT/cos.kbc"
cli_out() { # cli_out EXPECTED_STDOUT ARGS...: exit 0, exactly that output, nothing on stderr
    local want=$1
    shift
    "$KILN" "$@" >"$OUT/cli.out" 2>"$OUT/cli.err" </dev/null
    local st=$?
    if [ "$st" = 0 ] && [ "$(cat "$OUT/cli.out")" = "$want" ] && [ ! -s "$OUT/cli.err" ]; then
        pass
    else
        fail "cli kiln $*: exit $st, output '$(head -c 100 "$OUT/cli.out")', expected '$want';" \
            "$(head -c 300 "$OUT/cli.err")"
    fi
}
# Type ids: each use of a type is a type name in the compiler; 50,000 of
# them must fit (from about 16,380 they ran into the compiler's other ids)
awk 'BEGIN { for (i = 0; i < 50000; i++) printf "let a%d: [int] = []\n", i
             print "print(a49999.len())" }' >"$OUT/types-50k.kn"
cli_out 0 run "$OUT/types-50k.kn"
cli 0 "" build "$OUT/types-50k.kn" -o "$OUT/types-50k.kbc"
cli_out 0 run "$OUT/types-50k.kbc"
# The image's type ids are uint16_t. N functions, each with a parameter of
# 15 nested arrays around its own fn type, make 16 types each; with the
# prelude's 24 (its error classes; StringBuilder is made only when used),
# 4,094 of them and g (its parameter fn(int): 1 type) use every id up
# to 0xFFFF (7 are fixed), and the next function's fn type is one too
# many: a compile error where it is written, said once. (If the prelude
# gains types, change the numbers and the place.) `run` from source writes, reads and verifies the image in memory,
# so no .kbc round trip is needed here.
types_fns() {
    awk -v n="$1" 'BEGIN {
        split("int float bool str", t, " ")
        for (i = 0; i < n; i++) {
            if (i == 4094) print "fn g(x: fn(int)) {}"
            p = ""; k = i
            for (j = 0; j < 6; j++) { p = p (j ? ", " : "") t[k % 4 + 1]; k = int(k / 4) }
            printf "fn f%d(x: [[[[[[[[[[[[[[[fn(%s)]]]]]]]]]]]]]]]) {}\n", i, p
        }
        if (n == 4094) print "fn g(x: fn(int)) {}"
        print "print(\"ok\")" }'
}
types_fns 4094 >"$OUT/types-full.kn"
types_fns 4095 >"$OUT/types-over.kn"
cli_out ok run "$OUT/types-full.kn"
cli 2 "types-over.kn:4096:28: error: too many types in one program (at most 65529" \
    run "$OUT/types-over.kn"
one_error() { # after a cli run: exactly one diagnostic, not a cascade
    if [ "$(grep -c ': error: ' "$OUT/cli.err")" = 1 ]; then
        pass
    else
        fail "cli kiln run $1: not exactly one error: $(head -c 300 "$OUT/cli.err")"
    fi
}
one_error "$OUT/types-over.kn"
# Each class counts (StringBuilder, Option, Random, HostObject and the
# tuples too): with the prelude's 42, class 65,488 is one too many
awk 'BEGIN { for (i = 0; i < 65510; i++) printf "class C%d {}\n", i }' >"$OUT/types-classes.kn"
cli 2 "types-classes.kn:65488:7: error: too many classes in one program (at most 65529" \
    run "$OUT/types-classes.kn"
one_error "$OUT/types-classes.kn"
# Class numbers past 32,767 (#16 finding 6: the compiler kept them in 16
# signed bits and crashed on the first class with a field after 33,000
# empty ones): the program runs.
awk 'BEGIN { for (i = 0; i < 33000; i++) printf "class C%d {}\n", i
             print "class P { x: int; fn init(x: int) { self.x = x } }"
             print "let p = P(3)"; print "print(p.x)"; print "print(C32999() is C32999)" }' \
    >"$OUT/types-33000.kn"
got=$("$KILN" run "$OUT/types-33000.kn" 2>&1)
[ "$got" = $'3\ntrue' ] && pass || fail "33,000 classes and one with a field: $(printf %s "$got" | head -c 300)"
# docs/language.md's table of built-in errors says what raises each: every
# class it lists is raised (and named in the expected output) by some
# language test, and no row says none does but Error's, which is the base
# (#16 finding 19: PermissionError was said to be raised by "nothing yet").
for cls in $(grep -o '^| `[A-Za-z]*Error` |' docs/language.md | tr -d '|` '); do
    if ! grep -rqw "$cls" tests/lang --include='*.out' --include='*.err'; then
        fail "docs/language.md lists $cls, which no language test expects"
    elif [ "$cls" != Error ] && grep -q "^| \`$cls\` | nothing" docs/language.md; then
        fail "docs/language.md says nothing raises $cls"
    else
        pass
    fi
done
# docs/language.md: each example marked <!-- run: NAME --> (a kiln block,
# then a text block of what it prints) prints exactly that, from source
# and under --jit=always.
# doc_blocks DOC MARK LANG PREFIX EXT: each block of LANG after a line
# "<!-- MARK: NAME -->" into $OUT/PREFIX-NAME.EXT, and the text block
# after it into $OUT/PREFIX-NAME.want.
doc_blocks() {
    awk -v out="$OUT" -v mark="<!-- $2: " -v lang="$3" -v prefix="$4" -v ext="$5" '
        index($0, mark) == 1 { name = $3; want = 1; next }
        want == 1 && $0 == "```" lang { f = out "/" prefix "-" name "." ext; printf "" > f; want = 2; next }
        want == 2 && /^```$/ { close(f); want = 3; next }
        want == 2 { print > f; next }
        want == 3 && /^```text$/ { g = out "/" prefix "-" name ".want"; printf "" > g; want = 4; next }
        want == 4 && /^```$/ { close(g); want = 0; next }
        want == 4 { print > g; next }
    ' "$1"
}
doc_examples=$(grep -c '^<!-- run: ' docs/language.md)
doc_blocks docs/language.md run kiln doc kn
found=0
for want in "$OUT"/doc-*.want; do
    [ -e "$want" ] || continue
    found=$((found + 1))
    kn=${want%.want}.kn
    for jit in on always; do
        if timeout "$TIMEOUT" "$KILN" run --jit=$jit "$kn" >"$OUT/doc.out" 2>&1 </dev/null &&
            cmp -s "$OUT/doc.out" "$want"; then
            pass
        else
            fail "docs/language.md example $(basename "$kn" .kn) (--jit=$jit): $(diff "$want" "$OUT/doc.out" | head -c 300)"
        fi
    done
done
[ "$found" = "$doc_examples" ] && pass || fail "docs/language.md: $doc_examples examples marked, $found extracted"

# bench/awfy: each ported benchmark still verifies its result at the
# smallest size (no timing), in the default mode (--jit=on) and under
# --jit=always (every function compiled first); a few also under --gc-stress
for spec in Bounce:1 CD:10 DeltaBlue:1 Havlak:1 Json:1 List:1 Mandelbrot:1 NBody:1 Permute:1 \
    Queens:1 Richards:1 Sieve:1 Storage:1 Towers:1; do # NAME:INNER, the smallest size each verifies
    name=${spec%:*} inner=${spec#*:}
    for jit in on always; do
        if timeout "$TIMEOUT" "$KILN" run --jit=$jit bench/awfy/harness.kn "$name" 1 "$inner" \
            >"$OUT/awfy.out" 2>&1 </dev/null; then
            pass
        else
            fail "awfy: $name 1 $inner under --jit=$jit does not verify: $(head -c 300 "$OUT/awfy.out")"
        fi
    done
done
for name in Bounce DeltaBlue Richards Sieve Towers; do
    if timeout "$TIMEOUT" "$KILN" run --gc-stress --gc-verify bench/awfy/harness.kn "$name" 1 1 \
        >"$OUT/awfy.out" 2>&1 </dev/null; then
        pass
    else
        fail "awfy: $name 1 1 under --gc-stress: $(head -c 300 "$OUT/awfy.out")"
    fi
done
# bench/kernels: each kernel at a tiny size (its first argument) prints
# tests/kernels/NAME-SIZE.out, the C version's output at that size (the Lua
# version prints the same; int_map has only the Lua one), in the default
# mode (--jit=on) and under --jit=always; the allocating ones also under
# --gc-stress
for spec in fib:27 mandelbrot:250 nbody:10000 spectral_norm:100 fannkuch_redux:8 binary_trees:12 \
    sort:1000 int_map:1000 jit:fib:27 jit:mandelbrot:250 jit:nbody:10000 jit:spectral_norm:100 \
    jit:fannkuch_redux:8 jit:binary_trees:12 jit:sort:1000 jit:int_map:1000 gc:binary_trees:7 \
    gc:fannkuch_redux:7 gc:nbody:1000 gc:sort:1000 gc:int_map:1000; do # [jit:|gc:]NAME:SIZE
    flags=(--jit=on) mode=""
    case $spec in
    gc:*) flags=(--jit=on --gc-stress --gc-verify) mode=gc spec=${spec#gc:} ;;
    jit:*) flags=(--jit=always) mode=jit spec=${spec#jit:} ;;
    esac
    name=${spec%:*} size=${spec#*:}
    expected=tests/kernels/$name-$size.out got=$OUT/kernel-$name-$size${mode:+-$mode}.out
    if timeout "$TIMEOUT" "$KILN" run "${flags[@]}" "bench/kernels/$name.kn" "$size" \
        >"$got" 2>&1 </dev/null && cmp -s "$got" "$expected"; then
        pass
    else
        fail "kernel: $name $size under ${flags[*]}: diff $expected $got"
    fi
done
# bench/gc/gc_pause.kn (make bench's GC pause section) at a tiny size, 1000
# live objects and 10000 allocations: it runs, in the default mode, under
# --jit=always and under --gc-stress --gc-verify, checks its live objects
# (exit 0) and prints one line of four numbers, 10 batches the third. Only
# that: its times are not checked, as no test may assert a timing.
for flags in --jit=on --jit=always "--jit=on --gc-stress --gc-verify"; do
    read -ra argv <<< "$flags"
    got=$OUT/gc_pause.out
    if timeout "$TIMEOUT" "$KILN" run "${argv[@]}" bench/gc/gc_pause.kn 1000 10000 >"$got" 2>&1 </dev/null &&
        awk 'NR == 1 && NF == 4 && $3 == 10 { ok = 1; for (i = 1; i <= 4; i++) if ($i !~ /^[0-9]+(\.[0-9]+)?$/) ok = 0 }
             END { exit !(ok && NR == 1) }' "$got"; then
        pass
    else
        fail "bench/gc/gc_pause.kn 1000 10000 under $flags: exit status or output: $(head -c 300 "$got")"
    fi
done
# --heap-limit bounds real memory: each tests/heapcap program fills the
# heap (arrays, a map of strings, objects and maps mixed, strings of every
# length made by concatenation) until
# OutOfMemoryError (exit 1), and its peak RSS (build/maxrss) must stay
# within the limit * 1.1 + 8 MiB, at 16 and 64 MiB. Not under sanitizers
# (make asan passes no MAXRSS).
# heapcap MIB WHAT PATTERN STDIN FILE [FLAGS...]: runs FILE under
# --heap-limit=MIB M with STDIN; it must end with OutOfMemoryError (exit 1,
# PATTERN on stderr) at a peak RSS within MIB * 1.1 + 8 MiB.
heapcap() {
    local mib=$1 what=$2 pattern=$3 input=$4 file=$5 rss st
    shift 5
    local bound=$((mib * 1024 * 11 / 10 + 8192)) # KiB
    rss=$("$MAXRSS" timeout "$TIMEOUT" "$KILN" run --heap-limit=${mib}M "$@" "$file" \
        2>"$OUT/heapcap.err" <"$input")
    st=$?
    rss=${rss##*$'\n'} # the last line; what the program printed is before it
    if [ "$st" = 1 ] && grep -q "$pattern" "$OUT/heapcap.err" && [ -n "$rss" ] &&
        [ "$rss" -le "$bound" ]; then
        pass
    else
        fail "heapcap $what --heap-limit=${mib}M: exit $st, peak RSS ${rss:-?} KiB (bound $bound): $(head -c 200 "$OUT/heapcap.err")"
    fi
}
if [ -n "${MAXRSS:-}" ]; then
    for prog in arrays gaps maps mixed strings two_phase; do
        for mib in 16 64; do
            heapcap $mib "$prog.kn" OutOfMemoryError /dev/null "tests/heapcap/$prog.kn"
        done
    done
    # What a read gathers is charged too (#16 finding 10): a 40 MB line on
    # stdin, and a 40 MB pipe read by io.read_file, stop with
    # OutOfMemoryError within the bound at 16 MiB; a 6 MB line fits.
    head -c 40000000 /dev/zero | tr '\0' a >"$OUT/heapcap-40m.txt"
    printf 'import io\nprint(io.read_line().len())\n' >"$OUT/heapcap-line.kn"
    mkfifo "$OUT/heapcap-fifo" 2>/dev/null
    printf 'import io\nprint(io.read_file("%s").len())\n' "$OUT/heapcap-fifo" >"$OUT/heapcap-pipe.kn"
    heapcap 16 "io.read_line of 40 MB" "OutOfMemoryError: io.read_" "$OUT/heapcap-40m.txt" \
        "$OUT/heapcap-line.kn"
    head -c 40000000 "$OUT/heapcap-40m.txt" >"$OUT/heapcap-fifo" &
    writer=$!
    heapcap 16 "io.read_file of a 40 MB pipe" "OutOfMemoryError: io.read_" /dev/null \
        "$OUT/heapcap-pipe.kn" --allow-read="$OUT"
    kill "$writer" 2>/dev/null # the reader stopped early: the writer may be blocked
    wait "$writer" 2>/dev/null
    got=$(head -c 6000000 "$OUT/heapcap-40m.txt" | "$KILN" run --heap-limit=16M "$OUT/heapcap-line.kn" 2>&1)
    [ "$got" = 6000000 ] && pass || fail "a 6 MB line under --heap-limit=16M: $(printf %s "$got" | head -c 200)"
    rm -f "$OUT/heapcap-40m.txt" "$OUT/heapcap-fifo"
fi
# --timeout stops a guest blocked in io.read_line on a stdin that stays
# open (#16 finding 11): it ends "stopped" (exit 1), not with the line read
# at the end of input 30 s later.
printf 'import io\nlet l = io.read_line()\nprint("read ${l}")\n' >"$OUT/stdin-open.kn"
exec {held}< <(sleep 30)
holder=$!
timeout "$TIMEOUT" "$KILN" run --timeout=1 "$OUT/stdin-open.kn" <&"$held" >"$OUT/stdin-open.out" 2>&1
st=$?
kill "$holder" 2>/dev/null
exec {held}<&-
if [ "$st" = 1 ] && grep -q "stopped" "$OUT/stdin-open.out"; then
    pass
else
    fail "io.read_line on an open stdin under --timeout=1: exit $st: $(head -c 200 "$OUT/stdin-open.out")"
fi
# --timeout stops io.read_file and io.write_file waiting on a FIFO whose
# other end stays open and silent (a blocking read or write held the VM
# until the peer went away).
mkfifo "$OUT/silent-fifo" 2>/dev/null
printf 'import io\nprint(io.read_file("%s").len())\n' "$OUT/silent-fifo" >"$OUT/silent-read.kn"
printf 'import io\nio.write_file("%s", "x".repeat(1000000))\nprint("wrote")\n' \
    "$OUT/silent-fifo" >"$OUT/silent-write.kn"
for way in read write; do
    if [ $way = read ]; then
        (exec 3>"$OUT/silent-fifo" && sleep 20) &
    else
        (exec 3<"$OUT/silent-fifo" && sleep 20) &
    fi
    peer=$!
    timeout "$TIMEOUT" "$KILN" run --timeout=0.3 "$OUT/silent-$way.kn" >"$OUT/silent-$way.out" 2>&1
    st=$?
    pkill -P "$peer" sleep 2>/dev/null
    kill "$peer" 2>/dev/null
    wait "$peer" 2>/dev/null
    if [ "$st" = 1 ] && grep -q "stopped: out of time (0.3 seconds)" "$OUT/silent-$way.out"; then
        pass
    else
        fail "io.${way}_file on a silent FIFO under --timeout=0.3: exit $st: $(head -c 200 "$OUT/silent-$way.out")"
    fi
done
# Under --allow-write=DIR, a symlink in DIR that leads outside can be
# renamed and removed (the call acts on the link, in DIR), while a name
# in a folder outside, reached through such a link, stays refused; the
# file outside is untouched. Both were refused: the check followed the link.
rm -rf "$OUT/links" && mkdir -p "$OUT/links/in" "$OUT/links/out"
echo secret >"$OUT/links/out/file"
ln -s ../out/file "$OUT/links/in/abs"
ln -s ../out "$OUT/links/in/outdir"
printf '%s\n' 'import fs' "let d = \"$OUT/links/in\"" \
    'fs.rename("${d}/abs", "${d}/abs2")' 'fs.remove("${d}/abs2")' \
    'try { fs.remove("${d}/outdir/file") } catch e: PermissionError { print("refused") }' \
    'try { fs.rename("${d}/outdir/file", "${d}/x") } catch e: PermissionError { print("refused") }' \
    'fs.remove("${d}/outdir")' 'print(fs.list_dir(d).len())' >"$OUT/links.kn"
got=$(timeout "$TIMEOUT" "$KILN" run --allow-read="$OUT/links/in" --allow-write="$OUT/links/in" \
    "$OUT/links.kn" 2>&1)
if [ "$got" = "$(printf 'refused\nrefused\n0')" ] && [ "$(cat "$OUT/links/out/file")" = secret ]; then
    pass
else
    fail "renaming and removing symlinks that lead outside: $(printf %s "$got" | head -c 300)"
fi
rm -rf "$OUT/links"
# A reader that leaves early: io.write_file and fs.write_file to a FIFO
# whose reader takes 10 bytes and closes raise an IOError (EPIPE); the
# SIGPIPE of fs's write (on a worker thread) ended the whole process.
printf 'import io\nio.write_file("%s", "x".repeat(1000000))\n' "$OUT/silent-fifo" >"$OUT/epipe-io.kn"
printf 'import fs\nfs.write_file("%s", "x".repeat(1000000))\n' "$OUT/silent-fifo" >"$OUT/epipe-fs.kn"
for mod in io fs; do
    (head -c 10 "$OUT/silent-fifo" >/dev/null) &
    peer=$!
    timeout "$TIMEOUT" "$KILN" run --timeout=5 "$OUT/epipe-$mod.kn" >"$OUT/epipe-$mod.out" 2>&1
    st=$?
    wait "$peer" 2>/dev/null
    if [ "$st" = 1 ] && grep -qi "broken pipe" "$OUT/epipe-$mod.out"; then
        pass
    else
        fail "$mod.write_file to a FIFO whose reader left: exit $st: $(head -c 200 "$OUT/epipe-$mod.out")"
    fi
done
# While io.read_file waits on a FIFO, the other fibers run: the writer
# (connected, silent) writes only once a fiber has made the file "go",
# which never happened while the read held the VM.
rm -f "$OUT/fifo-go"
printf '%s\n' 'import io' \
    "let r = spawn fn() { print(\"read [\${io.read_file(\"$OUT/silent-fifo\")}]\") }" \
    "let g = spawn fn() { sleep(20); print(\"go\"); io.write_file(\"$OUT/fifo-go\", \"\") }" \
    'r.join()' 'g.join()' >"$OUT/fifo-fibers.kn"
(exec 3>"$OUT/silent-fifo" && while [ ! -e "$OUT/fifo-go" ]; do sleep 0.01; done && printf abc >&3) &
peer=$!
got=$(timeout "$TIMEOUT" "$KILN" run --timeout=5 "$OUT/fifo-fibers.kn" 2>&1)
kill "$peer" 2>/dev/null
wait "$peer" 2>/dev/null
[ "$got" = "$(printf 'go\nread [abc]')" ] && pass ||
    fail "other fibers while io.read_file waits on a FIFO: $(printf %s "$got" | head -c 200)"
rm -f "$OUT/silent-fifo"
# --timeout stops a loop of builtins that each make a 16 MB string and
# charged nothing (to_upper: 65,536 counted instructions between two
# checks took minutes); each allocation of 4 KiB or more is charged now.
# And a loop of [v; n] fills: the interpreter dropped the stop its charge
# raised (and with it the interrupt), so --timeout never ended it.
for builtin in 'to_upper()' 'to_lower()' 'fill'; do
    printf 'let s = "ab".repeat(8000000)\nwhile true { let t = s.%s }\n' "$builtin" >"$OUT/big-builtin.kn"
    [ "$builtin" = fill ] && printf 'while true { let a = [1; 2000000] }\n' >"$OUT/big-builtin.kn"
    for mode in off always; do
        timeout "$TIMEOUT" "$KILN" run --jit=$mode --timeout=1 "$OUT/big-builtin.kn" >"$OUT/big-builtin.out" 2>&1
        st=$?
        if [ "$st" = 1 ] && grep -q "stopped" "$OUT/big-builtin.out"; then
            pass
        else
            fail "a loop of s.$builtin on 16 MB under --timeout=1 --jit=$mode: exit $st: $(head -c 200 "$OUT/big-builtin.out")"
        fi
    done
done
# The FFI's examples print what their C libraries compute (the zlib
# figures are Python's zlib module's, the same C library), in both tiers;
# so do the v1 examples (an enum and match for JSON, a table of words).
for name in ffi_zlib ffi_qsort json wordcount; do
    for mode in off always; do
        got=$OUT/example-$name-$mode.out
        if timeout "$TIMEOUT" "$KILN" run --jit=$mode "examples/$name.kn" >"$got" 2>&1 </dev/null &&
            cmp -s "$got" "tests/examples/$name.out"; then
            pass
        else
            fail "example: $name under --jit=$mode: diff tests/examples/$name.out $got"
        fi
    done
done
# The net examples: a server started on a free port (its first line says
# which), then a client program of tests/examples talks to it and prints
# what it saw; parallel_fetch's squares (its timing line is not compared).
server_check() { # server_check NAME CHECKER MODE
    local srv=$OUT/server-$1-$3.out got=$OUT/check-$1-$3.out port="" k
    "$KILN" run --jit="$3" "examples/$1.kn" 0 >"$srv" 2>&1 </dev/null &
    local pid=$!
    for k in $(seq 50); do
        port=$(head -n 1 "$srv" | grep -o '[0-9][0-9]*' | tail -n 1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -n "$port" ] &&
        timeout "$TIMEOUT" "$KILN" run --jit="$3" "tests/examples/$2.kn" "$port" >"$got" 2>&1 </dev/null &&
        cmp -s "$got" "tests/examples/$2.out"; then
        pass
    else
        fail "example: $1 under --jit=$3 (port '${port}'): diff tests/examples/$2.out $got; server: $(head -c 200 "$srv")"
    fi
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
for mode in off always; do
    server_check http_hello http_check "$mode"
    server_check echo_server echo_check "$mode"
    if timeout "$TIMEOUT" "$KILN" run --jit=$mode examples/parallel_fetch.kn >"$OUT/fetch.out" 2>&1 </dev/null &&
        [ "$(head -n 1 "$OUT/fetch.out")" = "[1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144]" ]; then
        pass
    else
        fail "example: parallel_fetch under --jit=$mode: $(head -c 200 "$OUT/fetch.out")"
    fi
done
# examples/embed: the C application embedding Kiln prints what it should
if [ -x "${EMBED:-}" ]; then
    if "$EMBED" examples/embed/script.kn >"$OUT/embed.out" 2>&1 </dev/null &&
        cmp -s "$OUT/embed.out" examples/embed/expected.out; then
        pass
    else
        fail "embed: $EMBED differs from examples/embed/expected.out: diff $OUT/embed.out"
    fi
fi
# ThreadSanitizer over VMs on threads (make test builds tests/tsan/threads.c
# with -fsanitize=thread): a race report fails it (halt_on_error).
if [ -n "${TSAN_THREADS:-}" ]; then
    if TSAN_OPTIONS="suppressions=tests/tsan/suppressions.txt halt_on_error=1" \
        timeout 600 "$TSAN_THREADS" >"$OUT/tsan.out" 2>&1 </dev/null; then
        pass
    else
        fail "tsan: $TSAN_THREADS failed: see $OUT/tsan.out"
    fi
fi
# docs/embedding.md: each C program marked <!-- compile: NAME --> (then a
# text block of what it prints) builds against libkiln.a without a warning
# and prints exactly that (not under sanitizers, like the install check).
if [ "${INSTALL_CHECK:-yes}" = yes ]; then
    c_examples=$(grep -c '^<!-- compile: ' docs/embedding.md)
    rm -f "$OUT"/cdoc-*
    doc_blocks docs/embedding.md compile c cdoc c
    found=0
    for want in "$OUT"/cdoc-*.want; do
        [ -e "$want" ] || continue
        found=$((found + 1))
        c=${want%.want}.c
        if ! ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pthread -Ivm -o "${c%.c}" "$c" \
            "${BUILD:-build}/libkiln.a" -lmimalloc -lffi -luv -lm -ldl >"$OUT/cdoc.log" 2>&1; then
            fail "docs/embedding.md example $(basename "$c" .c) does not build: $(head -c 300 "$OUT/cdoc.log")"
        elif (exe=$(cd "${c%/*}" && pwd)/$(basename "${c%.c}") && cd "$OUT" && timeout "$TIMEOUT" "$exe") \
            >"$OUT/cdoc.out" 2>&1 </dev/null &&
            cmp -s "$OUT/cdoc.out" "$want"; then
            pass
        else
            fail "docs/embedding.md example $(basename "$c" .c): $(diff "$want" "$OUT/cdoc.out" | head -c 300)"
        fi
    done
    [ "$found" = "$c_examples" ] && pass || fail "docs/embedding.md: $c_examples C examples marked, $found extracted"
fi
if [ -n "${OOM_BUILD:-}" ]; then
    if OOM_BUILD=$OOM_BUILD timeout 600 bash tests/oom/run.sh sample >"$OUT/oom.out" 2>&1 \
        </dev/null; then
        pass
    else
        fail "oom: the failure injection sample: see $OUT/oom.out"
        grep -a '^oomtest:' "$OUT/oom.out" | head -20
    fi
fi
if [ "${INSTALL_CHECK:-yes}" = yes ]; then
    install_checks=0
    while IFS= read -r line; do
        install_checks=$((install_checks + 1))
        case "$line" in
        "ok "*) pass ;;
        *) fail "install: ${line#FAIL }" ;;
        esac
    done < <(bash tests/install/check.sh 2>&1)
    [ "$install_checks" -gt 0 ] || fail "install: tests/install/check.sh printed nothing"
    echo "install: $install_checks checks of libkiln, make install and pkg-config"
else
    echo "install: skipped (INSTALL_CHECK=${INSTALL_CHECK})"
fi

# ---- 6. the source itself ----
if layers=$(bash tests/layers.sh 2>&1); then
    pass
else
    fail "layers: an include runs upward (docs/architecture.md, \"Layers\"):"
    echo "$layers"
fi
# The C sources as .clang-format formats them (clang-format is one of the
# packages `make deps` installs).
if ! command -v clang-format >/dev/null; then
    fail "format: clang-format is not installed (make deps)"
elif fmt=$(find compiler vm interp gc runtime stdlib jit tests bench examples \
               -name '*.[ch]' 2>/dev/null | sort | xargs clang-format --dry-run --Werror 2>&1); then
    pass
else
    fail "format: sources differ from .clang-format (run clang-format -i on them):"
    echo "$fmt" | grep -a 'error:' | head -20
fi
echo "source: include layers and clang-format checked"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
