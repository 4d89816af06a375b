/*
 * driver.c — build/oom/oom-driver: the in-process half of `make oomtest`
 * (tests/oom/README.md). For each case, runs it once with no failure (the
 * baseline: its status, output and number of allocations), then again for
 * N = 1, 1 + STEP, 1 + 2 STEP, ... with the N-th allocation of libkiln
 * failing (oom_wrap.c), until a run makes no allocation N. Each run must
 *   - end in a clean error: a KILN_ERR_* status whose kiln_error text says
 *     "out of memory" or OutOfMemoryError, kiln_new returning NULL, or the
 *     baseline's result (its output, or its error: the VM got round the
 *     failure, as when the JIT leaves a function interpreted or the
 *     collector rescans) — or, when the guest caught the OutOfMemoryError,
 *     output that names it;
 *   - leave nothing behind: after kiln_free, libkiln holds the same number
 *     of heap blocks and mappings as before kiln_new (LeakSanitizer checks
 *     the heap again at exit, with stacks);
 *   - not crash (AddressSanitizer and UBSan stop the driver with a report).
 *
 *   oom-driver [-j off|on|always] [-s STEP] [-f] [-n N] [-l BYTES] [-c] [-g] CASE...
 *     -j     the JIT mode of every VM (default off)
 *     -s     try every STEP-th injection point (default 1: all)
 *     -f     fail every allocation from N on, not only the N-th
 *     -n N   try injection point N only (to look at one failure)
 *     -l B   a heap limit of B bytes (the guest's own OutOfMemoryError too)
 *     -c     the programs catch OutOfMemoryError and go on: a run that
 *            succeeds may print what the first did not
 *     -g     collect at every allocation and check the heap after
 *            (KILN_FLAG_GC_STRESS, KILN_FLAG_GC_VERIFY)
 *     CASE   src:FILE  kiln_load_file of a program, kiln_run
 *            img:FILE  the program built to an image (without injection),
 *                      then kiln_load_image of it, kiln_run
 *            api       kiln_define_native, kiln_load_source, kiln_run,
 *                      kiln_str, kiln_call, kiln_str_bytes, kiln_release,
 *                      kiln_image, kiln_disassemble, kiln_collect
 *
 * Prints a line per case and a total "oom: N injection points, C crashes,
 * L leaks, B bad outcomes"; exits 1 when anything was wrong. (A crash ends
 * the process, so it never prints 0 crashes after one.)
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vm/kiln.h"
#include "oom_wrap.h"

enum { OUT_MAX = 1 << 16, ERR_MAX = 4096 };

/* What one run ended with. No allocation by the driver while it runs:
 * the guest's output goes into a fixed buffer. */
typedef struct {
    char out[OUT_MAX];
    size_t len;
    char err[ERR_MAX];
    kiln_status st;
    int exit_code;
    bool no_vm;     /* kiln_new returned NULL */
    const char *at; /* the API call that failed */
} result;

static void capture(void *ud, int stream, const char *p, size_t n)
{
    (void)stream;
    result *r = ud;
    if (r->len + n > OUT_MAX)
        n = OUT_MAX - r->len;
    memcpy(r->out + r->len, p, n);
    r->len += n;
}

static int jit_mode = KILN_JIT_OFF;
static size_t heap_limit;
static unsigned flags;
static bool catches; /* -c: the programs catch OutOfMemoryError and go on */

static kiln_vm *new_vm(result *r)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = capture;
    cfg.userdata = r;
    cfg.jit = jit_mode;
    cfg.heap_limit = heap_limit;
    cfg.flags = flags;
    cfg.allow = KILN_ALLOW_READ | KILN_ALLOW_ENV | KILN_ALLOW_FFI;
    kiln_vm *vm = kiln_new(&cfg);
    r->no_vm = !vm;
    return vm;
}

/* Records a failed call's status and text; true when `st` is KILN_OK. */
static bool ok(kiln_vm *vm, result *r, kiln_status st, const char *call)
{
    r->st = st;
    if (st == KILN_OK)
        return true;
    r->at = call;
    snprintf(r->err, sizeof r->err, "%s", kiln_error(vm));
    return false;
}

/* ---- The cases ---- */

static const void *image;
static size_t image_len;

static void run_file(result *r, const char *path, bool img)
{
    kiln_vm *vm = new_vm(r);
    if (!vm)
        return;
    if (img ? ok(vm, r, kiln_load_image(vm, image, image_len), "kiln_load_image")
            : ok(vm, r, kiln_load_file(vm, path), "kiln_load_file"))
        if (ok(vm, r, kiln_run(vm), "kiln_run"))
            r->exit_code = kiln_exit_code(vm);
    kiln_free(vm);
}

static kiln_status mul(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *res, void *ud)
{
    (void)vm, (void)nargs, (void)ud;
    *res = kiln_int(args[0].as.i * args[1].as.i);
    return KILN_OK;
}

/* greet(s): "hello, " + s, made by the host. */
static kiln_status greet(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *res, void *ud)
{
    (void)nargs, (void)ud;
    size_t n;
    const char *s = kiln_str_bytes(vm, args[0], &n);
    if (!s)
        return kiln_throw(vm, "Error", "greet: not a string");
    char buf[256];
    int len = snprintf(buf, sizeof buf, "hello, %.*s", (int)(n < 200 ? n : 200), s);
    *res = kiln_str(vm, buf, (size_t)len);
    if (res->type == KILN_NULL) /* kiln_error says why */
        return kiln_throw(vm, "OutOfMemoryError", kiln_error(vm));
    return KILN_OK;
}

static const char API_SRC[] = "import host\n"
                              "class Counter {\n"
                              "    n: int\n"
                              "    fn bump(k: int) -> int { self.n = self.n + k; return self.n }\n"
                              "}\n"
                              "var names: [str] = []\n"
                              "var seen = {\"a\": 1}\n"
                              "fn shout(s: str) -> str {\n"
                              "    names.push(s)\n"
                              "    seen[s] = names.len()\n"
                              "    return host.greet(s) + \"!\"\n"
                              "}\n"
                              "fn main() {\n"
                              "    let c = Counter()\n"
                              "    for i in 0..50 { c.bump(host.mul(i, 3)) }\n"
                              "    print(\"${shout(\"world\")} ${c.n}\")\n"
                              "}\n";

static void run_api(result *r)
{
    kiln_vm *vm = new_vm(r);
    if (!vm)
        return;
    kiln_value arg = kiln_null(), res = kiln_null();
    if (!ok(vm, r, kiln_define_native(vm, "host", "mul", "fn(int, int) -> int", mul, NULL),
            "kiln_define_native") ||
        !ok(vm, r, kiln_define_native(vm, "host", "greet", "fn(str) -> str", greet, NULL),
            "kiln_define_native") ||
        !ok(vm, r, kiln_load_source(vm, "api.kn", API_SRC, sizeof API_SRC - 1),
            "kiln_load_source") ||
        !ok(vm, r, kiln_run(vm), "kiln_run"))
        goto done;
    arg = kiln_str(vm, "kiln", 4);
    if (arg.type == KILN_NULL && !ok(vm, r, KILN_ERR_API, "kiln_str"))
        goto done;
    if (!ok(vm, r, kiln_call(vm, "shout", &arg, 1, &res), "kiln_call"))
        goto done;
    size_t n;
    const char *s = kiln_str_bytes(vm, res, &n);
    if (!s) {
        ok(vm, r, KILN_ERR_API, "kiln_str_bytes");
        goto done;
    }
    capture(r, 1, s, n);
    const void *bytes;
    size_t len;
    const char *text;
    if (!ok(vm, r, kiln_release(vm, res), "kiln_release") ||
        !ok(vm, r, kiln_image(vm, &bytes, &len), "kiln_image") ||
        !ok(vm, r, kiln_disassemble(vm, &text), "kiln_disassemble") ||
        !ok(vm, r, kiln_collect(vm), "kiln_collect"))
        goto done;
    capture(r, 1, "\n", 1);
done:
    kiln_release(vm, arg); /* KILN_NULL: nothing; a released handle: KILN_ERR_API, harmless */
    kiln_free(vm);
}

/* The image of a program, built with no failure injected. */
static bool build_image(const char *path)
{
    result r = {0};
    kiln_vm *vm = new_vm(&r);
    const void *bytes;
    if (!vm || kiln_load_file(vm, path) != KILN_OK ||
        kiln_image(vm, &bytes, &image_len) != KILN_OK) {
        fprintf(stderr, "oom: %s: cannot build its image: %s\n", path, vm ? kiln_error(vm) : "");
        kiln_free(vm);
        return false;
    }
    void *copy = malloc(image_len);
    if (copy)
        memcpy(copy, bytes, image_len);
    image = copy;
    kiln_free(vm);
    return copy != NULL;
}

static void run_case(result *r, const char *spec)
{
    memset(r, 0, sizeof *r);
    if (!strcmp(spec, "api"))
        run_api(r);
    else
        run_file(r, spec + 4, !strncmp(spec, "img:", 4));
}

/* ---- The sweep ---- */

static bool says_oom(const char *s, size_t n)
{
    return memmem(s, n, "out of memory", 13) || memmem(s, n, "OutOfMemoryError", 16);
}

static long long points, leaks, bad;

/* Is run `r` (N-th allocation failing, `injected` failures) a correct
 * outcome against the baseline `b`? Prints why not. */
static bool judge(const char *spec, long long n, const result *b, const result *r,
                  long long injected)
{
    const char *why = NULL;
    if (!injected) {
        if (r->no_vm || r->st != b->st || r->len != b->len || memcmp(r->out, b->out, r->len))
            why = "with no failure injected, the run differs from the first";
    } else if (r->no_vm) {
        why = NULL; /* kiln_new: NULL when memory runs out */
    } else if (r->st != KILN_OK) {
        if (r->st == b->st && !strcmp(r->err, b->err))
            why = NULL; /* the first run's error (a compile error, an uncaught one) */
        else if (!says_oom(r->err, strlen(r->err)))
            why = "the error does not say out of memory";
        else if (b->st == KILN_OK && r->st == KILN_ERR_API && strcmp(r->at, "kiln_call") &&
                 strcmp(r->at, "kiln_str") && strcmp(r->at, "kiln_define_native") &&
                 strcmp(r->at, "kiln_disassemble") && strcmp(r->at, "kiln_str_bytes") &&
                 strcmp(r->at, "kiln_image")) /* it writes the image when first asked */
            why = "KILN_ERR_API from a call that should not fail so";
    } else if (b->st != KILN_OK) {
        why = "the run succeeded where the first failed";
    } else if ((r->len != b->len || memcmp(r->out, b->out, r->len)) && !says_oom(r->out, r->len) &&
               !catches) {
        why = "the run succeeded with other output, which does not name OutOfMemoryError";
    }
    if (!why)
        return true;
    fprintf(stderr, "oom: %s, allocation %lld failing: %s\n  status %d at %s: %s\n  output: %.*s\n",
            spec, n, why, (int)r->st, r->at ? r->at : "-", r->err,
            (int)(r->len < 400 ? r->len : 400), r->out);
    return false;
}

static result base, run;

static long long only; /* -n: just this injection point */

static bool sweep(const char *spec, long long step, bool from)
{
    if (!strncmp(spec, "img:", 4) && !build_image(spec + 4))
        return false;
    long long blocks = oom_live_blocks(), maps = oom_live_maps();
    oom_arm(0, 0);
    run_case(&base, spec);
    long long total = oom_count();
    if (base.no_vm || oom_live_blocks() != blocks || oom_live_maps() != maps) {
        fprintf(stderr, "oom: %s: the run without failures %s\n", spec,
                base.no_vm ? "had no VM" : "leaks");
        bad++;
        return false;
    }
    long long tried = 0, case_bad = 0, case_leaks = 0, clean = 0, got_round = 0;
    for (long long n = only ? only : 1;; n += step) {
        oom_arm(n, from);
        run_case(&run, spec);
        long long injected = oom_injected();
        oom_arm(0, 0);
        if (oom_live_blocks() != blocks || oom_live_maps() != maps) {
            fprintf(stderr, "oom: %s, allocation %lld failing: leaks %lld blocks, %lld mappings\n",
                    spec, n, oom_live_blocks() - blocks, oom_live_maps() - maps);
            case_leaks++;
            blocks = oom_live_blocks(); /* count each leak once */
            maps = oom_live_maps();
        }
        if (!judge(spec, n, &base, &run, injected))
            case_bad++;
        if (!injected)
            break;
        tried++;
        if (only)
            break;
        if (run.no_vm || run.st != KILN_OK)
            clean++;
        else
            got_round++;
    }
    char how[96];
    snprintf(how, sizeof how, "%s%s%s%s", from ? "from" : "at",
             jit_mode == KILN_JIT_ALWAYS ? " jit=always"
             : jit_mode == KILN_JIT_ON   ? " jit=on"
                                         : "",
             heap_limit ? " heap-limit" : "", flags ? " gc-stress" : "");
    printf("oom: %-44s %-20s %6lld points (%lld allocations): %lld clean errors, %lld got round, "
           "%lld leaks, %lld bad\n",
           spec, how, tried, total, clean, got_round, case_leaks, case_bad);
    fflush(stdout);
    points += tried;
    leaks += case_leaks;
    bad += case_bad;
    free((void *)image);
    image = NULL;
    return !case_leaks && !case_bad;
}

int main(int argc, char **argv)
{
    long long step = 1;
    bool from = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-f")) {
            from = true;
        } else if (!strcmp(argv[i], "-c")) {
            catches = true;
        } else if (!strcmp(argv[i], "-g")) {
            flags |= KILN_FLAG_GC_STRESS | KILN_FLAG_GC_VERIFY;
        } else if (!strcmp(argv[i], "-l") && i + 1 < argc) {
            heap_limit = (size_t)atoll(argv[++i]);
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            only = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
            step = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "-j") && i + 1 < argc) {
            i++;
            jit_mode = !strcmp(argv[i], "always") ? KILN_JIT_ALWAYS
                       : !strcmp(argv[i], "on")   ? KILN_JIT_ON
                                                  : KILN_JIT_OFF;
        } else {
            fprintf(stderr, "oom-driver: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (i == argc || step < 1) {
        fprintf(stderr,
                "usage: oom-driver [-j off|on|always] [-s STEP] [-f] [-n N] [-l BYTES] [-c] [-g] "
                "CASE...\n");
        return 2;
    }
    for (; i < argc; i++)
        if (strcmp(argv[i], "api") && strncmp(argv[i], "src:", 4) && strncmp(argv[i], "img:", 4)) {
            fprintf(stderr, "oom-driver: bad case %s (src:FILE, img:FILE or api)\n", argv[i]);
            bad++;
        } else {
            sweep(argv[i], step, from);
        }
    printf("oom: %lld injection points, 0 crashes, %lld leaks, %lld bad outcomes\n", points, leaks,
           bad);
    return leaks || bad ? 1 : 0;
}
