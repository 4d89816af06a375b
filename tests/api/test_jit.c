/*
 * test_jit.c — the JIT as an embedder sees it, through vm/kiln.h only:
 * the three modes agree; code memory is never writable and executable at
 * once (read from /proc/self/maps while compiled code runs and compiles
 * more); kiln_interrupt stops a compiled loop; the code limit leaves
 * functions interpreted; VMs on eight threads each compile and run;
 * statistics and the machine-code listing.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../vm/kiln.h"
#include "capture.h"

static kiln_vm *vm_jit(out *o, int jit, size_t code_limit)
{
    kiln_config cfg = out_config(o);
    cfg.jit = jit;
    cfg.jit_code_limit = code_limit;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    return vm;
}

static void load(kiln_vm *vm, const char *src)
{
    cr_assert_eq(kiln_load_source(vm, "app.kn", src, strlen(src)), KILN_OK, "load: %s",
                 kiln_error(vm));
}

#include "mixed_program.h"

Test(jit, the_three_modes_print_the_same)
{
    const int modes[] = {KILN_JIT_OFF, KILN_JIT_ON, KILN_JIT_ALWAYS};
    out o[3];
    for (int i = 0; i < 3; i++) {
        kiln_vm *vm = vm_jit(&o[i], modes[i], 0);
        load(vm, mixed_src);
        cr_assert_eq(kiln_run(vm), KILN_OK, "mode %d: %s", modes[i], kiln_error(vm));
        kiln_jitstats s;
        cr_assert_eq(kiln_jit_stats(vm, &s), KILN_OK);
        if (s.available && modes[i] != KILN_JIT_OFF)
            cr_assert_gt(s.functions, 0, "mode %d compiled nothing", modes[i]);
        if (modes[i] == KILN_JIT_OFF)
            cr_assert_eq(s.functions, 0);
        kiln_free(vm);
    }
    cr_assert_str_eq(o[0].text, MIXED_PROGRAM_OUTPUT);
    cr_assert_str_eq(o[1].text, o[0].text);
    cr_assert_str_eq(o[2].text, o[0].text);
}

/* ---- W^X ---- */

/* The mappings of this process that are writable and executable at once. */
static int64_t wx_mappings(void)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    if (!fp)
        return -1;
    char line[512];
    int64_t n = 0;
    while (fgets(line, sizeof line, fp)) {
        char perms[8] = "";
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x')
            n++;
    }
    fclose(fp);
    return n;
}

static kiln_status n_maps(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                          void *ud)
{
    (void)vm, (void)args, (void)nargs;
    int64_t *calls = ud;
    (*calls)++;
    *result = kiln_int(wx_mappings());
    return KILN_OK;
}

Test(jit, no_mapping_is_ever_writable_and_executable)
{
    if (!kiln_jit_available())
        cr_skip_test("no JIT on this machine");
    /* Under ON the hot functions compile while the others run compiled
     * code: the maps are read from compiled frames before, between and
     * after compilations. */
    const char *src = "import host\n"
                      "fn probe(i: int) -> int { return host.maps() + i - i }\n"
                      "fn sweep(n: int) -> int {\n"
                      "    var bad = 0\n"
                      "    for i in 0..n { bad += probe(i) }\n"
                      "    return bad\n"
                      "}\n"
                      "fn a(n: int) -> int { return sweep(n) }\n"
                      "fn b(n: int) -> int { return a(n) + sweep(n % 3) }\n"
                      "var total = 0\n"
                      "for k in 0..600 { total += b(k % 4) }\n"
                      "print(total)\n";
    const int modes[] = {KILN_JIT_ON, KILN_JIT_ALWAYS};
    for (int i = 0; i < 2; i++) {
        out o;
        int64_t calls = 0;
        kiln_vm *vm = vm_jit(&o, modes[i], 0);
        cr_assert_eq(kiln_define_native(vm, "host", "maps", "fn() -> int", n_maps, &calls),
                     KILN_OK);
        load(vm, src);
        cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
        kiln_jitstats s;
        kiln_jit_stats(vm, &s);
        cr_assert_gt(s.functions, 3, "mode %d compiled %llu functions", modes[i],
                     (unsigned long long)s.functions);
        cr_assert_gt(calls, 1000);
        cr_assert_str_eq(o.text, "0\n", "mode %d: writable+executable mappings seen: %s", modes[i],
                         o.text);
        kiln_free(vm);
    }
}

/* ---- Limits in compiled code ---- */

struct stopper {
    kiln_vm *vm;
    double sent;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *interrupt_later(void *arg)
{
    struct stopper *s = arg;
    struct timespec d = {0, 200 * 1000 * 1000};
    nanosleep(&d, NULL);
    s->sent = now();
    kiln_interrupt(s->vm);
    return NULL;
}

Test(jit, interrupt_stops_a_compiled_loop)
{
    out o;
    kiln_vm *vm = vm_jit(&o, KILN_JIT_ALWAYS, 0);
    load(vm, "fn spin() -> int {\n"
             "    var x = 0\n"
             "    while true { x = (x * 7 + 1) % 1000003 }\n"
             "    return x\n"
             "}\n"
             "fn quick() -> int { return 6 * 7 }\n");
    cr_assert_eq(kiln_run(vm), KILN_OK);
    struct stopper s = {vm, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, interrupt_later, &s), 0);
    kiln_value r;
    kiln_status st = kiln_call(vm, "spin", NULL, 0, &r);
    double stopped = now();
    pthread_join(t, NULL);
    cr_assert_eq(st, KILN_ERR_LIMIT, "%s", kiln_error(vm));
    cr_assert(strstr(kiln_error(vm), "interrupted"), "%s", kiln_error(vm));
    /* how long the loop ran on after the interrupt (reported, not asserted:
     * timing depends on the machine) */
    cr_log_info("stopped %.3f ms after kiln_interrupt", (stopped - s.sent) * 1e3);
    /* the VM is still usable: compiled code runs again */
    cr_assert_eq(kiln_call(vm, "quick", NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, 42);
    kiln_free(vm);
}

Test(jit, fuel_stops_compiled_code_where_the_interpreter_stops)
{
    const char *src = "fn f(n: int) -> int {\n"
                      "    var s = 0\n"
                      "    for i in 0..n { s += i % 3 }\n"
                      "    return s\n"
                      "}\n"
                      "var k = 0\n"
                      "while true { k += 1\n print(f(k)) }\n";
    out o[3];
    const int modes[] = {KILN_JIT_OFF, KILN_JIT_ON, KILN_JIT_ALWAYS};
    for (int i = 0; i < 3; i++) {
        memset(&o[i], 0, sizeof o[i]);
        kiln_config cfg;
        kiln_config_init(&cfg);
        cfg.write = capture;
        cfg.userdata = &o[i];
        cfg.jit = modes[i];
        cfg.fuel = 54321;
        kiln_vm *vm = kiln_new(&cfg);
        load(vm, src);
        cr_assert_eq(kiln_run(vm), KILN_ERR_LIMIT);
        cr_assert(strstr(kiln_error(vm), "out of fuel"), "%s", kiln_error(vm));
        kiln_free(vm);
    }
    cr_assert_gt(o[0].len, 100);
    cr_assert_str_eq(o[1].text, o[0].text);
    cr_assert_str_eq(o[2].text, o[0].text);
}

Test(jit, past_the_code_limit_functions_stay_interpreted)
{
    if (!kiln_jit_available())
        cr_skip_test("no JIT on this machine");
    out big, small;
    kiln_vm *vm = vm_jit(&big, KILN_JIT_ALWAYS, 0);
    load(vm, mixed_src);
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    kiln_jitstats all;
    kiln_jit_stats(vm, &all);
    kiln_free(vm);
    vm = vm_jit(&small, KILN_JIT_ALWAYS, 2048);
    load(vm, mixed_src);
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    kiln_jitstats some;
    kiln_jit_stats(vm, &some);
    kiln_free(vm);
    cr_assert_eq(all.failed, 0);
    /* a limit too large to add to is no limit (it once wrapped around) */
    out huge;
    vm = vm_jit(&huge, KILN_JIT_ALWAYS, SIZE_MAX);
    load(vm, mixed_src);
    kiln_jitstats none;
    kiln_jit_stats(vm, &none);
    kiln_free(vm);
    cr_assert_eq(none.failed, 0);
    cr_assert_eq(none.functions, all.functions);
    cr_assert_gt(some.failed, 0, "a 2 KiB cache holds everything?");
    cr_assert_lt(some.functions, all.functions);
    cr_assert_leq(some.code_bytes, 2048);
    cr_assert_str_eq(small.text, big.text);
}

Test(jit, statistics_and_listing)
{
    if (!kiln_jit_available())
        cr_skip_test("no JIT on this machine");
    out o;
    kiln_vm *vm = vm_jit(&o, KILN_JIT_ON, 0);
    load(vm, mixed_src);
    const char *text = NULL;
    cr_assert_eq(kiln_disassemble_jit(vm, &text), KILN_OK, "%s", kiln_error(vm));
    cr_assert(strstr(text, "fn f") && strstr(text, "ret") && strstr(text, "rbx"),
              "no machine code in the listing");
    kiln_jitstats s;
    cr_assert_eq(kiln_jit_stats(vm, &s), KILN_OK);
    cr_assert(s.available && s.enabled);
    cr_assert_gt(s.instructions, s.functions);
    cr_assert_gt(s.code_bytes, s.instructions);
    cr_assert_eq(kiln_jit_stats(NULL, &s), KILN_ERR_API);
    kiln_free(vm);
    vm = vm_jit(&o, KILN_JIT_OFF, 0);
    load(vm, mixed_src);
    cr_assert_eq(kiln_disassemble_jit(vm, &text), KILN_ERR_API, "the JIT is off");
    kiln_free(vm);
}

/* ---- Many VMs, each compiling ---- */

struct worker {
    int id, mode;
    kiln_status st;
    out o;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    kiln_vm *vm = vm_jit(&w->o, w->mode, 0);
    if (kiln_load_source(vm, "app.kn", mixed_src, strlen(mixed_src)) != KILN_OK)
        w->st = KILN_ERR_COMPILE;
    else
        w->st = kiln_run(vm);
    kiln_free(vm);
    return NULL;
}

Test(jit, eight_vms_compile_and_run_on_eight_threads)
{
    enum { N = 8 };
    struct worker w[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){.id = i, .mode = i % 2 ? KILN_JIT_ALWAYS : KILN_JIT_ON};
        cr_assert_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(w[i].st, KILN_OK, "VM %d", i);
        cr_assert_str_eq(w[i].o.text, MIXED_PROGRAM_OUTPUT, "VM %d", i);
    }
}

/* ---- A small machine stack ---- */

struct deep {
    int mode;
    kiln_status st;
    int64_t result;
};

static void *recurse(void *arg)
{
    struct deep *d = arg;
    out o;
    kiln_vm *vm = vm_jit(&o, d->mode, 0);
    load(vm, "fn rec(n: int) -> int {\n"
             "    if n == 0 { return 0 }\n"
             "    return rec(n - 1) + 1\n"
             "}\n");
    kiln_run(vm);
    kiln_value a = kiln_int(100000), r = kiln_int(0);
    d->st = kiln_call(vm, "rec", &a, 1, &r);
    d->result = r.as.i;
    kiln_free(vm);
    return NULL;
}

/* 100,000 compiled frames would take 1.6 MB of machine stack; on a thread
 * with 256 KiB, calls go on in the interpreter (which takes none per call)
 * once the machine stack runs low: the same result, no crash. */
Test(jit, deep_recursion_on_a_small_thread_stack)
{
    const int modes[] = {KILN_JIT_OFF, KILN_JIT_ON, KILN_JIT_ALWAYS};
    for (int i = 0; i < 3; i++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        cr_assert_eq(pthread_attr_setstacksize(&attr, 256 << 10), 0);
        struct deep d = {modes[i], KILN_ERR_API, 0};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, &attr, recurse, &d), 0);
        pthread_join(t, NULL);
        pthread_attr_destroy(&attr);
        cr_assert_eq(d.st, KILN_OK, "mode %d", modes[i]);
        cr_assert_eq(d.result, 100000, "mode %d", modes[i]);
    }
}

/* ---- Hand-made images ---- */

/* The image of `src`, compiled, with each of the n words old[i] (a unique
 * run of bytes) replaced by new[i]. */
static uint8_t *patched_image(const char *src, size_t *len, size_t n, const uint8_t (*old)[8],
                              const uint8_t (*new)[8], size_t wlen)
{
    out o;
    kiln_vm *vm = vm_jit(&o, KILN_JIT_OFF, 0);
    load(vm, src);
    const void *bytes;
    cr_assert_eq(kiln_image(vm, &bytes, len), KILN_OK);
    uint8_t *img = malloc(*len);
    cr_assert(img);
    memcpy(img, bytes, *len);
    kiln_free(vm);
    for (size_t i = 0; i < n; i++) {
        size_t at = 0, found = 0;
        for (size_t k = 0; k + wlen <= *len; k++)
            if (!memcmp(img + k, old[i], wlen))
                at = k, found++;
        cr_assert_eq(found, 1, "change %zu: the words to change (opcode numbering changed?)", i);
        memcpy(img + at, new[i], wlen);
    }
    return img;
}

/* Runs an image in each JIT mode with `fuel` (0: none): it prints
 * `expect` and ends with `want`; when that is an error, its message
 * contains `err_has` and is the same in every mode. Returns the calls
 * compiled inline under KILN_JIT_ALWAYS. */
static uint64_t run_modes(const uint8_t *img, size_t len, uint64_t fuel, kiln_status want,
                          const char *expect, const char *err_has)
{
    const int modes[] = {KILN_JIT_OFF, KILN_JIT_ON, KILN_JIT_ALWAYS};
    uint64_t inlined = 0;
    char first[512] = "";
    for (int m = 0; m < 3; m++) {
        out o = {0};
        kiln_config cfg;
        kiln_config_init(&cfg);
        cfg.write = capture;
        cfg.userdata = &o;
        cfg.jit = modes[m];
        cfg.flags = KILN_FLAG_NO_CHECKSUM;
        cfg.fuel = fuel;
        kiln_vm *vm = kiln_new(&cfg);
        cr_assert_eq(kiln_load_image(vm, img, len), KILN_OK, "%s", kiln_error(vm));
        cr_assert_eq(kiln_run(vm), want, "mode %d: %s", modes[m], kiln_error(vm));
        cr_assert_str_eq(o.text, expect, "mode %d", modes[m]);
        if (want != KILN_OK) {
            cr_assert(strstr(kiln_error(vm), err_has), "mode %d: %s", modes[m], kiln_error(vm));
            if (m == 0)
                snprintf(first, sizeof first, "%s", kiln_error(vm));
            else
                cr_assert_str_eq(kiln_error(vm), first, "mode %d", modes[m]);
        }
        kiln_jitstats st;
        kiln_jit_stats(vm, &st);
        if (modes[m] == KILN_JIT_ALWAYS)
            inlined = st.inlined;
        kiln_free(vm);
    }
    return inlined;
}

/* A catch clause reached by falling into it, not by an error: the
 * compiler never emits that (a try block ends in a jump over its
 * clauses), but the verifier accepts it, so an image can. Compiled code
 * once loaded the kept registers at every clause start, overwriting newer
 * values on this path: 100 instead of 1060, or a loop that never ended. */
Test(jit, a_catch_clause_entered_by_falling_through)
{
    const char *src = "var i = 0\n"
                      "fn f(n: int) -> int {\n"
                      "    var a = 0\n"
                      "    while i < n {\n"
                      "        i += 1\n"
                      "        a += 5\n"
                      "        try { a += 1 } catch e { a += 100 }\n"
                      "    }\n"
                      "    return a\n"
                      "}\n"
                      "print(f(10))\n";
    /* the try block's closing JMP +1 (one word) becomes a NOP */
    const uint8_t jmp[1][8] = {{0x35, 1, 0, 0}}, nop[1][8] = {{0}};
    size_t len;
    uint8_t *img = patched_image(src, &len, 1, jmp, nop, 4);
    run_modes(img, len, 10000000, KILN_OK, "1060\n", NULL); /* fuel: the broken version looped */
    free(img);
}

/* Leaf callees the JIT compiles inline, changed by hand the way the
 * compiler never writes them: g writes its own parameter (the caller's
 * argument register must keep its value), h reads a register before
 * writing it (registers start at zero, so it returns its argument). */
Test(jit, inlined_callees_made_by_hand)
{
    const char *src = "fn g(x: int) -> int {\n"
                      "    let y = x + 7\n"
                      "    return y\n"
                      "}\n"
                      "fn h(x: int) -> int {\n"
                      "    var y = 0\n"
                      "    y = y + x\n"
                      "    return y\n"
                      "}\n"
                      "var t = 0\n"
                      "var u = 0\n"
                      "for i in 0..1000 {\n"
                      "    let v = i\n"
                      "    t += g(v) + v\n"
                      "    u += h(v) + v\n"
                      "}\n"
                      "print(\"${t} ${u}\")\n";
    /* g: ADDI_I r1 r0 7; RET r1 -> ADDI_I r0 r0 7; RET r0.
     * h: LOADI r1 0; ADD_I r1 r1 r0 -> NOP; ADD_I r1 r1 r0. */
    const uint8_t old[2][8] = {{0x0d, 1, 0, 7, 0x75, 1, 0, 0}, {0x02, 1, 0, 0, 0x08, 1, 1, 0}};
    const uint8_t new[2][8] = {{0x0d, 0, 0, 7, 0x75, 0, 0, 0}, {0, 0, 0, 0, 0x08, 1, 1, 0}};
    size_t len;
    uint8_t *img = patched_image(src, &len, 2, old, new, 8);
    /* t: the sum of i + 7 + i; u: of i + i. g is compiled inline, h not. */
    cr_assert_eq(run_modes(img, len, 0, KILN_OK, "1006000 999000\n", NULL), 1);
    free(img);
}

/* A catch clause that covers its own throw and whose handler is the start
 * of its try block: a loop with no jump back, which the compiler never
 * makes. Entering a clause charges a tick, so --fuel stops it, at the same
 * count in every mode (#16 finding 4: it ran on forever). */
Test(jit, a_catch_clause_looping_to_its_throw_runs_out_of_fuel)
{
    const char *src = "var n = 0\n"
                      "let err = Error(\"again\")\n"
                      "fn spin() {\n"
                      "    try {\n"
                      "        n += 1\n"
                      "        throw err\n"
                      "    } catch e {\n"
                      "        print(\"caught ${n}\")\n"
                      "    }\n"
                      "}\n"
                      "spin()\n";
    /* the clause 0..5 -> 6 becomes 0..5 -> 0 (end, handler: u32 each):
     * GETG, ADDI_I, SETG, GETG, THROW, again; no call, no jump */
    const uint8_t old[1][8] = {{5, 0, 0, 0, 6, 0, 0, 0}}, new[1][8] = {{5, 0, 0, 0, 0, 0, 0, 0}};
    size_t len;
    uint8_t *img = patched_image(src, &len, 1, old, new, 8);
    /* the clause's print never runs; the stop is the same in every mode */
    run_modes(img, len, 100000, KILN_ERR_LIMIT, "", "out of fuel");
    /* and a deadline stops it too, in every mode: the interrupt flag is
     * looked at where the clause is entered */
    const int modes[] = {KILN_JIT_OFF, KILN_JIT_ON, KILN_JIT_ALWAYS};
    for (int m = 0; m < 3; m++) {
        kiln_config cfg;
        kiln_config_init(&cfg);
        cfg.jit = modes[m];
        cfg.flags = KILN_FLAG_NO_CHECKSUM;
        cfg.timeout = 0.05;
        kiln_vm *vm = kiln_new(&cfg);
        cr_assert_eq(kiln_load_image(vm, img, len), KILN_OK, "%s", kiln_error(vm));
        cr_assert_eq(kiln_run(vm), KILN_ERR_LIMIT, "mode %d: %s", modes[m], kiln_error(vm));
        cr_assert(strstr(kiln_error(vm), "out of time"), "mode %d: %s", modes[m], kiln_error(vm));
        kiln_free(vm);
    }
    free(img);
}

/* Regression (red team): the JIT compiled a call of the native named
 * math.sqrt as a sqrtsd instruction by its name alone, so an image whose
 * extern function is named so (it verifies: the name is a C symbol's)
 * got a square root where the interpreter called C. Every mode must call
 * the extern function: here that is refused, nothing being allowed. */
Test(jit, an_extern_named_math_sqrt_is_called_not_compiled_as_sqrtsd)
{
    static const char SRC[] = "extern \"libm.so.6\" { fn mathxsqrt(x: c_double) -> c_double }\n"
                              "fn f(x: float) -> float { return mathxsqrt(x) }\n"
                              "print(f(4.0))\n";
    static const uint8_t OLD[1][8] = {{'m', 'a', 't', 'h', 'x', 's', 'q', 'r'}};
    static const uint8_t NEW[1][8] = {{'m', 'a', 't', 'h', '.', 's', 'q', 'r'}};
    size_t len;
    uint8_t *img = patched_image(SRC, &len, 1, OLD, NEW, 8);
    run_modes(img, len, 0, KILN_ERR_RUNTIME, "",
              "PermissionError: ffi.load libm.so.6: not allowed");
    free(img);
}
