/*
 * test_roots.c — the root stack (gc_roots in gc/, vm_root_push and
 * vm_root_pop in the VM): it grows past any fixed size without dropping a
 * root, it is a root set the collector marks, a push it cannot take fails
 * with nothing pushed, and that failure reaches the guest as an
 * OutOfMemoryError it can catch. Natives leave it balanced.
 */
#include "unit.h"

#include "../../gc/gc.h"
#include "../../runtime/rt.h"

Test(roots, stack_grows_keeps_order_and_refuses_past_its_max)
{
    gc_roots r;
    gc_roots_init(&r, 1000);
    gc_obj objs[1000];
    for (size_t i = 0; i < 1000; i++)
        cr_assert(gc_roots_push(&r, &objs[i]), "push %zu", i);
    cr_assert_eq(r.n, 1000);
    for (size_t i = 0; i < 1000; i++)
        cr_assert_eq(r.items[i], &objs[i], "entry %zu", i);
    /* full: refused, nothing pushed, nothing else lost */
    cr_assert_not(gc_roots_push(&r, &objs[0]));
    cr_assert_eq(r.n, 1000);
    cr_assert_eq(r.items[999], &objs[999]);
    cr_assert(gc_roots_pop(&r, 400));
    cr_assert_eq(r.n, 600);
    cr_assert(gc_roots_push(&r, NULL), "room again; NULL is allowed");
    cr_assert_eq(r.items[600], NULL);
    /* popping more than was pushed is reported, and empties the stack */
    cr_assert_not(gc_roots_pop(&r, 602));
    cr_assert_eq(r.n, 0);
    gc_roots_free(&r);
    cr_assert_null(r.items);
    cr_assert_eq(r.max, 1000, "a freed stack can be used again");
    cr_assert(gc_roots_push(&r, &objs[1]));
    gc_roots_free(&r);
}

Test(roots, many_rooted_objects_all_survive_collections)
{
    /* The old fixed array held 8 and silently dropped the rest: 100 here,
     * each the only reference to its string, under --gc-verify. */
    kiln_vm *vm = unit_linked_vm(KILN_FLAG_GC_VERIFY);
    gc_collect(&vm->heap);
    size_t base = vm->heap.bytes;
    enum { N = 100 };
    vm_str *s[N];
    char text[32];
    for (int i = 0; i < N; i++) {
        int len = snprintf(text, sizeof text, "rooted string %03d", i);
        s[i] = vm_str_new(vm, text, (size_t)len);
        cr_assert_not_null(s[i]);
        unit_root(vm, s[i]);
        vm_str_cstr(vm, "garbage between them");
    }
    cr_assert_eq(vm->ctx->roots.n, N);
    gc_collect(&vm->heap);
    cr_assert_eq(vm->heap.bytes, base + N * str_bytes(17), "%zu bytes, %zu before", vm->heap.bytes,
                 base);
    for (int i = 0; i < N; i++) {
        snprintf(text, sizeof text, "rooted string %03d", i);
        cr_assert_str_eq(s[i]->data, text);
    }
    /* popping half frees exactly those */
    vm_root_pop(vm, N / 2);
    gc_collect(&vm->heap);
    cr_assert_eq(vm->heap.bytes, base + N / 2 * str_bytes(17));
    vm_root_pop(vm, N / 2);
    gc_collect(&vm->heap);
    cr_assert_eq(vm->heap.bytes, base);
    cr_assert_null(vm->heap.verify_error, "%s", vm->heap.verify_error);
    kiln_free(vm);
}

Test(roots, a_push_that_cannot_grow_raises_out_of_memory)
{
    kiln_vm *vm = unit_linked_vm(0);
    gc_roots_free(&vm->ctx->roots);
    vm->ctx->roots.max = 3;
    vm_str *s = vm_str_cstr(vm, "kept");
    for (int i = 0; i < 3; i++)
        unit_root(vm, s);
    vm->ctx->err_kind = RT_ERR_NONE;
    cr_assert_not(vm_root_push(vm, s));
    cr_assert_eq(vm->ctx->err_kind, RT_ERR_OOM);
    cr_assert(strstr(vm->ctx->err_msg, "GC root"), "%s", vm->ctx->err_msg);
    cr_assert_eq(vm->ctx->roots.n, 3, "nothing pushed, nothing dropped");
    vm_root_pop(vm, 3);
    kiln_free(vm);
}

Test(roots, popping_more_than_pushed_is_an_internal_error)
{
    unit_out o;
    kiln_vm *vm = unit_vm(&o);
    const char *src = "var s = \"\"\nfn main() { s = \"a\" + str(1) }\n";
    cr_assert_eq(kiln_load_source(vm, "p.kn", src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    vm_root_pop(vm, 1);
    cr_assert_not_null(vm->heap.verify_error);
    cr_assert_eq(kiln_run(vm), KILN_ERR_RUNTIME, "the next allocation reports it");
    cr_assert(strstr(kiln_error(vm), "more GC roots popped than pushed"), "%s", kiln_error(vm));
    kiln_free(vm);
    unit_out_free(&o);
}

/* Natives and helpers that need the root stack, each failing for want of
 * it: the guest catches an OutOfMemoryError, and the stack is left as it
 * was (balanced) for what follows. */
Test(roots, no_room_on_the_root_stack_is_a_catchable_out_of_memory_error)
{
    unit_out o;
    kiln_vm *vm = unit_vm(&o);
    const char *src =
        "fn main() {\n"
        "    var caught = 0\n"
        "    try { print(\"a,b\".split(\",\").len()) } catch e: OutOfMemoryError {\n"
        "        caught += 1\n"
        "    }\n"
        "    try { let m: {str: int} = {}; print(m.len()) } catch e: OutOfMemoryError {\n"
        "        caught += 1\n"
        "    }\n"
        "    try { let xs = [1, 2, 3]; print(xs.len()) } catch e: OutOfMemoryError {\n"
        "        caught += 1\n"
        "    }\n"
        "    print(\"caught ${caught}\")\n"
        "}\n";
    cr_assert_eq(kiln_load_source(vm, "oom.kn", src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    gc_roots_free(&vm->ctx->roots); /* empty after loading: no room at all now */
    vm->ctx->roots.max = 0;
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(unit_text(&o.out), "caught 3\n");
    cr_assert_eq(vm->ctx->roots.n, 0);
    /* with room again, the same VM goes on */
    vm->ctx->roots.max = KILN_MAX_ROOTS;
    kiln_value r;
    cr_assert_eq(kiln_call(vm, "main", NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(unit_text(&o.out), "caught 3\n2\n0\n3\ncaught 0\n");
    cr_assert_eq(vm->ctx->roots.n, 0);
    kiln_free(vm);
    unit_out_free(&o);
}

Test(roots, natives_leave_the_stack_balanced_under_stress)
{
    unit_out o;
    kiln_vm *vm = unit_vm_with(&o, KILN_FLAG_GC_STRESS | KILN_FLAG_GC_VERIFY, 0);
    const char *src = "var total = 0\n"
                      "for i in 0..50 {\n"
                      "    let parts = \"x${i},y,z${i}\".split(\",\")\n"
                      "    total += parts.len() + parts[0].len()\n"
                      "    var m: {str: [str]} = {}\n"
                      "    m[parts[2]] = parts\n"
                      "    total += m[\"z${i}\"].len()\n"
                      "    try { let n = parse_int(\"no\") } catch e: ValueError { total += 1 }\n"
                      "}\n"
                      "print(total)\n";
    unit_load_run(vm, "bal.kn", src);
    /* per i: 3 parts + len("x<i>") + 3 + 1 */
    cr_assert_str_eq(unit_text(&o.out), "490\n");
    cr_assert_eq(vm->ctx->roots.n, 0);
    cr_assert_null(vm->heap.verify_error, "%s", vm->heap.verify_error);
    kiln_free(vm);
    unit_out_free(&o);
}
