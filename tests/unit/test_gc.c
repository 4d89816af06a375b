/*
 * test_gc.c — the garbage collector: unreachable objects are reclaimed,
 * reachable ones (globals, constants, frames) are kept, the heap limit
 * holds after a full collection, stress and verify modes keep results.
 */
#include "unit.h"

#include "../../gc/gc.h"

static void discard(void *ud, int stream, const char *p, size_t n)
{
    (void)ud, (void)stream, (void)p, (void)n;
}

static kiln_vm *vm_with(unsigned flags, size_t limit)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = discard;
    cfg.flags = flags;
    cfg.heap_limit = limit;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    return vm;
}

static void load_run(kiln_vm *vm, const char *src)
{
    cr_assert_eq(kiln_load_source(vm, "g.kn", src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
}

/* Bytes of one string object of n bytes, as vm_str_new allocates it. */
static size_t str_bytes(size_t n) { return sizeof(vm_str) + n + 1; }

Test(gc, garbage_is_reclaimed_and_globals_are_kept)
{
    kiln_vm *vm = vm_with(0, 0);
    /* 10,000 strings of 14+ bytes become garbage; `keep` stays reachable. */
    load_run(vm, "var keep = \"\"\n"
                 "for i in 0..10000 { keep = \"value number ${i}\" }\n");
    gc_collect(&vm->heap);
    /* What survives: `keep`, the constants, nothing else. */
    size_t live = vm->heap.bytes;
    cr_assert_lt(live, 1024, "%zu bytes survive", live);
    cr_assert_str_eq(vm->globals[0].s->data, "value number 9999");
    cr_assert_eq(vm->heap.bytes, live, "a second collection frees nothing more");
    gc_collect(&vm->heap);
    cr_assert_eq(vm->heap.bytes, live);
    kiln_free(vm);
}

Test(gc, constants_are_roots)
{
    kiln_vm *vm = vm_with(0, 0);
    load_run(vm, "let a = \"first constant\"\nlet b = \"second constant\"\n");
    gc_collect(&vm->heap);
    cr_assert_geq(vm->heap.bytes, str_bytes(14) + str_bytes(15));
    cr_assert_str_eq(vm->kvals[0].s->data, "first constant");
    kiln_free(vm);
}

Test(gc, collections_happen_and_memory_stays_bounded)
{
    kiln_vm *vm = vm_with(0, 0);
    load_run(vm, "var s = \"\"\nfor i in 0..200000 { s = \"some text ${i}\" }\n");
    cr_assert_gt(vm->heap.collections, 0);
    /* Threshold: twice the live size, at least KILN_GC_MIN_HEAP more. */
    cr_assert_lt(vm->heap.bytes, 3 * KILN_GC_MIN_HEAP, "%zu bytes", vm->heap.bytes);
    kiln_free(vm);
}

Test(gc, frames_are_roots_under_stress)
{
    /* Every allocation collects; the strings held in registers of the
     * outer frames (a, b) and in arguments must survive the inner calls. */
    kiln_vm *vm = vm_with(KILN_FLAG_GC_STRESS | KILN_FLAG_GC_VERIFY, 0);
    load_run(vm, "fn inner(s: str, n: int) -> str {\n"
                 "    if n == 0 { return s + \"!\" }\n"
                 "    let t = \"<\" + s + \">\"\n"
                 "    return inner(t, n - 1) + str(n)\n"
                 "}\n"
                 "var result = \"\"\n"
                 "fn main() {\n"
                 "    let a = \"a\" + str(1)\n"
                 "    let b = inner(a, 5)\n"
                 "    result = a + \"|\" + b\n"
                 "}\n");
    cr_assert_str_eq(vm->globals[0].s->data, "a1|<<<<<a1>>>>>!12345");
    cr_assert_gt(vm->heap.collections, 20);
    cr_assert_null(vm->heap.verify_error);
    kiln_free(vm);
}

Test(gc, heap_limit_after_a_full_collection)
{
    /* Garbage alone never exhausts a limited heap: it is collected. */
    kiln_vm *vm = vm_with(0, 256 * 1024);
    load_run(vm, "var s = \"\"\nfor i in 0..100000 { s = \"garbage ${i}\" }\n");
    cr_assert_leq(vm->heap.bytes, 256 * 1024);
    kiln_free(vm);
    /* Live data beyond the limit is an OutOfMemoryError, not a crash. */
    vm = vm_with(0, 256 * 1024);
    const char *src = "var s = \"0123456789\"\nwhile true { s = s + s }\n";
    cr_assert_eq(kiln_load_source(vm, "g.kn", src, strlen(src)), KILN_OK);
    cr_assert_eq(kiln_run(vm), KILN_ERR_RUNTIME);
    cr_assert(strstr(kiln_error(vm), "error: OutOfMemoryError:") == kiln_error(vm), "%s",
              kiln_error(vm));
    cr_assert_leq(vm->heap.bytes, 256 * 1024);
    kiln_free(vm);
}

struct reent {
    kiln_vm *vm;
    int calls;
    kiln_status inner;
};

static void reentering_hook(void *ud, int stream, const char *p, size_t n)
{
    (void)stream, (void)p, (void)n;
    struct reent *r = ud;
    if (r->calls++ == 0)
        r->inner = kiln_run(r->vm); /* the VM is printing: it is running */
}

Test(gc, run_reentry_from_a_hook_is_refused)
{
    struct reent r = {NULL, 0, KILN_OK};
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.userdata = &r;
    cfg.write = reentering_hook;
    r.vm = kiln_new(&cfg);
    cr_assert_not_null(r.vm);
    const char *src = "fn f(n: int) -> int {\n"
                      "    if n == 3 { print(\"deep\") }\n"
                      "    if n == 0 { return 0 }\n"
                      "    return n + f(n - 1)\n"
                      "}\n"
                      "var x = f(5)\n";
    cr_assert_eq(kiln_load_source(r.vm, "r.kn", src, strlen(src)), KILN_OK);
    cr_assert_eq(kiln_run(r.vm), KILN_OK, "%s", kiln_error(r.vm));
    cr_assert_eq(r.inner, KILN_ERR_API, "the inner run must be refused");
    cr_assert_eq(r.vm->globals[0].i, 15, "the outer run's frames were not disturbed");
    kiln_free(r.vm);
}
