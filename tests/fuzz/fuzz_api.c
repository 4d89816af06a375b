/*
 * fuzz_api.c — libFuzzer target for the embedding API's call sequences:
 * the input is read as a program of host calls (structured values, enum
 * values, guest calls, function values, host objects, globals, releases,
 * collections, a reset) on a table of handles that may be live,
 * released, of the wrong kind or forged. Each call must come back with a
 * status, never a crash or a sanitizer's report, and the VM must free
 * cleanly.
 *
 *   make fuzz && build/fuzz/fuzz_api -timeout=10 CORPUS
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vm/kiln.h"

static const char PROGRAM[] =
    "import host\n"
    "class Point {\n    x: int\n    label: str\n    next: Point\n}\n"
    "class P3 : Point {\n    z: float\n}\n"
    "interface Shape { fn area() -> float }\n"
    "class Circle : Shape {\n    r: float\n    fn area() -> float { return self.r }\n}\n"
    "enum L { Nil, Cons(int, L) }\n"
    "var shared: [Point] = []\n"
    "let fixed = 3\n"
    "fn a1() -> [int] { return [1, 2] }\n"
    "fn a2() -> [[str]] { return [[\"x\"]] }\n"
    "fn a3() -> [Point] { return [P3(), Point()] }\n"
    "fn m1() -> {str: Point} { return {\"k\": Point()} }\n"
    "fn m2() -> {(int, str): [int]} { return {(1, \"a\"): [1]} }\n"
    "fn m3() -> {L: int} { return {L.Nil: 1, L.Cons(2, L.Nil): 2} }\n"
    "fn t1() -> (int, str) { return (1, \"a\") }\n"
    "fn cl(k: int) -> fn(int) -> int { return fn(v: int) -> int { return v + k } }\n"
    "fn sh() -> Shape { return Circle() }\n"
    "fn win() -> Window { return host.open() }\n"
    "fn use(xs: [Point], m: {str: Point}, l: L, f: fn(int) -> int) -> str {\n"
    "    var n = 0\n"
    "    for p in xs { if p != null { n += p.x } }\n"
    "    for k, v in m { if v != null { n += v.x } }\n"
    "    return \"${n} ${xs} ${m} ${l} ${f(1)}\"\n"
    "}\n";

static const char *const TYPES[] = {"[int]",
                                    "[[str]]",
                                    "[Point]",
                                    "{str: Point}",
                                    "{(int, str): [int]}",
                                    "{L: int}",
                                    "(int, str)",
                                    "Point",
                                    "P3",
                                    "L",
                                    "Shape",
                                    "Circle",
                                    "[str]",
                                    "fn(int) -> int",
                                    "Window",
                                    "bogus"};
static const char *const FNS[] = {"a1", "a2", "a3", "m1", "m2", "m3", "t1", "sh", "win", "nope"};
static const char *const FIELDS[] = {"x", "label", "next", "z", "0", "1", "_tag", "r", "nope", ""};
static const char *const GLOBALS[] = {"shared", "fixed", "nope"};
static const char *const VARIANTS[] = {"Nil", "Cons", "x", NULL};

typedef struct host {
    kiln_htype window;
    int finalized;
} host;

static void finalize(void *userdata, void *ptr)
{
    (void)ptr;
    ((host *)userdata)->finalized++;
}

static kiln_status open_window(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)a, (void)n;
    return kiln_host_new(vm, ((host *)ud)->window, ud, r);
}

/* The input, read a byte at a time (0 past its end). */
typedef struct input {
    const uint8_t *p;
    size_t n, at;
} input;

static unsigned byte(input *in)
{
    return in->at < in->n ? in->p[in->at++] : 0;
}

enum { NH = 32 };

/* The program compiled once (the harness's own state, not libkiln's):
 * each input then loads the image, far faster than compiling. */
static uint8_t *image;
static size_t image_len;

static kiln_vm *ready_vm(host *h, int jit, unsigned flags)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.fuel = 100000;
    cfg.heap_limit = 8 << 20;
    cfg.jit = jit;
    cfg.flags = flags | KILN_FLAG_NO_CHECKSUM;
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm)
        return NULL;
    if (kiln_define_type(vm, "Window", finalize, h, &h->window) != KILN_OK ||
        kiln_define_native(vm, "host", "open", "fn() -> Window", open_window, h) != KILN_OK ||
        (image ? kiln_load_image(vm, image, image_len)
               : kiln_load_source(vm, "api.kn", PROGRAM, sizeof PROGRAM - 1)) != KILN_OK)
        __builtin_trap(); /* the program itself must load */
    return vm;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size, 0};
    host h = {0};
    if (!image) {
        kiln_vm *first = ready_vm(&h, KILN_JIT_OFF, 0);
        const void *bytes;
        if (!first || kiln_image(first, &bytes, &image_len) != KILN_OK ||
            !(image = malloc(image_len)))
            __builtin_trap();
        memcpy(image, bytes, image_len);
        kiln_free(first);
    }
    unsigned mode = byte(&in);
    kiln_vm *vm =
        ready_vm(&h, mode & 1 ? KILN_JIT_ALWAYS : KILN_JIT_OFF, mode & 2 ? KILN_FLAG_GC_STRESS : 0);
    if (!vm)
        return 0;
    kiln_run(vm);
    kiln_value hs[NH];
    for (int i = 0; i < NH; i++)
        hs[i] = kiln_null();
    kiln_fn fns[4] = {{0}};
    for (int steps = 0; steps < 400 && in.at < in.n; steps++) {
        unsigned op = byte(&in) % 29, i = byte(&in) % NH, j = byte(&in) % NH, k = byte(&in);
        kiln_value out = kiln_null(), x = hs[j];
        if (k % 13 == 0) /* forged */
            x = (kiln_value){.type = (kiln_type)(byte(&in) % 7),
                             .as.i = (int64_t)(byte(&in) | byte(&in) << 8) - 100};
        bool found;
        int64_t n;
        uint64_t pos = k % 4;
        kiln_value k2, v2, args[4];
        char buf[64];
        void *ptr;
        switch (op) {
        case 0: kiln_array_new(vm, TYPES[k % 16], &out); break;
        case 1: kiln_map_new(vm, TYPES[k % 16], &out); break;
        case 2: kiln_object_new(vm, TYPES[k % 16], &out); break;
        case 3: kiln_call(vm, FNS[k % 10], NULL, 0, &out); break;
        case 4: kiln_array_push(vm, hs[i], x); break;
        case 5: kiln_array_set(vm, hs[i], (int64_t)(k % 4) - 1, x); break;
        case 6: kiln_array_get(vm, hs[i], (int64_t)(k % 4) - 1, &out); break;
        case 7: kiln_array_len(vm, hs[i], &n); break;
        case 8: kiln_map_set(vm, hs[i], x, hs[k % NH]); break;
        case 9: kiln_map_get(vm, hs[i], x, &out, &found); break;
        case 10: kiln_map_remove(vm, hs[i], x); break;
        case 11:
            if (kiln_map_next(vm, hs[i], &pos, &k2, &v2) == 1) {
                out = k2;
                kiln_release(vm, v2);
            }
            break;
        case 12: kiln_get_field(vm, hs[i], FIELDS[k % 10], &out); break;
        case 13: kiln_set_field(vm, hs[i], FIELDS[k % 10], x); break;
        case 14: kiln_release(vm, hs[i]); break; /* the slot keeps a stale handle */
        case 15: kiln_type_of(vm, hs[i], buf, sizeof buf); break;
        case 16:
            args[0] = kiln_int(k % 5);
            kiln_call_value(vm, hs[i], args, (int)(k % 3), &out);
            break;
        case 17:
            args[0] = kiln_int(k % 5);
            kiln_call(vm, "cl", args, 1, &out);
            break;
        case 18:
            args[0] = hs[i], args[1] = hs[j], args[2] = hs[k % NH], args[3] = x;
            kiln_call(vm, "use", args, 4, &out);
            break;
        case 19: kiln_collect(vm); break;
        case 20: out = kiln_str(vm, "s", 1); break;
        case 21: kiln_get_global(vm, GLOBALS[k % 3], &out); break;
        case 22: kiln_set_global(vm, GLOBALS[k % 3], x); break;
        case 23:
            if (kiln_find_function(vm, FNS[k % 10], k & 16 ? "fn() -> [int]" : NULL, &fns[k % 4]) !=
                KILN_OK)
                fns[k % 4] = (kiln_fn){(uint64_t)(k * 7919)}; /* a forged one */
            kiln_call_fn(vm, fns[j % 4], NULL, 0, &out);
            break;
        case 24: kiln_host_ptr(vm, hs[i], h.window, &ptr); break;
        case 25: /* an enum value: L.Nil, L.Cons(int, L), or wrong ones */
            args[0] = k & 32 ? x : kiln_int(k), args[1] = hs[k % NH];
            kiln_enum_new(vm, TYPES[k % 16], VARIANTS[j % 4], args, (int)(k % 3), &out);
            break;
        case 26: {
            const char *name;
            int np;
            kiln_enum_variant(vm, hs[i], &name, k & 1 ? NULL : &np);
            break;
        }
        case 27: kiln_enum_payload(vm, hs[i], (int)(k % 4) - 1, &out); break;
        default:
            if (k % 8 == 0)
                kiln_reset(vm); /* every handle released: the table goes stale */
            else
                args[0] = kiln_int(1), args[1] = x, kiln_tuple_new(vm, "(int, str)", args, 2, &out);
            break;
        }
        if (out.type != KILN_NULL) {
            if (hs[i].type >= KILN_STR && k % 2)
                kiln_release(vm, hs[i]);
            hs[i] = out;
        }
    }
    kiln_free(vm);
    return 0;
}
