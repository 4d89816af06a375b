/*
 * test_barrier.c — the write-barrier contract of gc/gc.h, one test per
 * kind of store site: instance field, array element, array push, array
 * fill, array buffer swap, map key, map value (new and replaced), map
 * buffer swaps when it is rebuilt, cell. Under --gc-verify every
 * gc_barrier call is counted and logged (heap.barriers, barrier_log), so
 * each test fails if its site stops calling the barrier or passes the
 * wrong object or value. The barrier's own check (a live heap object, a
 * heap object or null stored) is tested too.
 *
 * Interpreter sites are driven by programs that print before and after
 * the store; the write hook records the barrier count and the last call
 * at each print.
 */
#include "unit.h"

#include "../../gc/gc.h"
#include "../../runtime/rt.h"

struct probe {
    kiln_vm *vm;
    vm_inst *a, *b; /* the program's globals a and b (P objects) */
    int n;
    uint64_t count[16];             /* heap.barriers at each print */
    struct gc_barrier_rec last[16]; /* the last call before it */
};

static void probe_hook(void *ud, int stream, const char *p, size_t len)
{
    (void)stream;
    struct probe *pr = ud;
    const gc_heap *h = &pr->vm->heap;
    if (!(len == 1 && *p == '\n') && pr->n < 16) { /* print writes the text, then "\n" */
        pr->count[pr->n] = h->barriers;
        pr->last[pr->n] = h->barriers ? h->barrier_log[(h->barriers - 1) % GC_BARRIER_LOG]
                                      : (struct gc_barrier_rec){NULL, NULL};
        pr->n++;
    }
}

static void *global(kiln_vm *vm, const char *name)
{
    for (uint32_t i = 0; i < vm->img.nglobals; i++)
        if (!strcmp(vm_image_str(&vm->img, vm->img.globals[i].name), name))
            return vm->globals[i].p;
    cr_assert_fail("no global %s", name);
    return NULL;
}

/* Runs `classes`, then `tail`, under --gc-verify with the probe on the
 * prints. */
static const char classes[] = "class P {\n    q: P\n    n: int\n}\n"
                              "let a = P()\nlet b = P()\n";

static kiln_vm *probe_run(struct probe *pr, const char *tail)
{
    memset(pr, 0, sizeof *pr);
    pr->vm = unit_vm_hook(probe_hook, pr, KILN_FLAG_GC_VERIFY, 0);
    char src[1024];
    snprintf(src, sizeof src, "%s%s", classes, tail);
    unit_load_run(pr->vm, "b.kn", src);
    cr_assert_null(pr->vm->heap.verify_error, "%s", pr->vm->heap.verify_error);
    pr->a = global(pr->vm, "a");
    pr->b = global(pr->vm, "b");
    return pr->vm;
}

/* Between prints i and i+1: `calls` barrier calls, the last (o, v). */
static void expect_calls(const struct probe *pr, int i, uint64_t calls, const void *o,
                         const void *v)
{
    cr_assert_lt(i + 1, pr->n);
    cr_assert_eq(pr->count[i + 1] - pr->count[i], calls, "between prints %d and %d: %llu calls", i,
                 i + 1, (unsigned long long)(pr->count[i + 1] - pr->count[i]));
    cr_assert_eq(pr->last[i + 1].o, o, "the object stored into");
    cr_assert_eq(pr->last[i + 1].v, v, "the value stored");
}

/* Was (o, v) among the last `calls` (≤ GC_BARRIER_LOG) barrier calls? */
static bool logged(const gc_heap *h, uint64_t calls, const void *o, const void *v)
{
    for (uint64_t k = 1; k <= calls; k++) {
        const struct gc_barrier_rec *r = &h->barrier_log[(h->barriers - k) % GC_BARRIER_LOG];
        if (r->o == o && r->v == v)
            return true;
    }
    return false;
}

Test(barrier, instance_field)
{
    struct probe pr;
    kiln_vm *vm =
        probe_run(&pr, "print(\"0\")\na.q = b\nprint(\"1\")\na.n = 123456\nprint(\"2\")\n");
    expect_calls(&pr, 0, 1, pr.a, pr.b);
    /* an int field: a call with null, never the int as a pointer */
    expect_calls(&pr, 1, 1, pr.a, NULL);
    kiln_free(vm);
}

Test(barrier, array_element_push_and_fill)
{
    struct probe pr;
    kiln_vm *vm = probe_run(
        &pr, "var xs: [P] = []\nvar ns: [int] = [0, 0]\n"
             "print(\"0\")\nxs.push(a)\nprint(\"1\")\nxs.push(b)\nprint(\"2\")\n"
             "xs[0] = b\nprint(\"3\")\nlet ys = [a; 3]\nprint(\"4\")\nns[1] = 99\nprint(\"5\")\n");
    vm_array *xs = global(vm, "xs"), *ys = global(vm, "ys"), *ns = global(vm, "ns");
    cr_assert_eq(xs->cap, 2, "the first push fit, the second grew the buffer once");
    expect_calls(&pr, 0, 1, xs, pr.a); /* push */
    /* push that grows: the buffer swap, then the element */
    expect_calls(&pr, 1, 2, xs, pr.b);
    expect_calls(&pr, 2, 1, xs, pr.b); /* ASET */
    expect_calls(&pr, 3, 1, ys, pr.a); /* AFILL: one call for the three stores */
    expect_calls(&pr, 4, 1, ns, NULL); /* an int element */
    kiln_free(vm);
}

Test(barrier, array_buffer_swap)
{
    kiln_vm *vm = unit_linked_vm(KILN_FLAG_GC_VERIFY);
    vm_array *xs = vm_array_new(vm, 0, 1, true);
    cr_assert_not_null(xs);
    unit_root(vm, xs);
    vm_str *s = vm_str_cstr(vm, "element");
    unit_root(vm, s);
    cr_assert(vm_array_push(vm, xs, (vm_value){.s = s}));
    vm_buffer *before = xs->buf;
    uint64_t c0 = vm->heap.barriers;
    cr_assert(vm_array_push(vm, xs, (vm_value){.s = s}));
    cr_assert_neq(xs->buf, before, "the buffer was replaced");
    cr_assert_eq(vm->heap.barriers - c0, 2);
    cr_assert(logged(&vm->heap, 2, xs, xs->buf), "the swap to the new buffer");
    cr_assert(logged(&vm->heap, 2, xs, s), "the element");
    cr_assert_null(vm->heap.verify_error, "%s", vm->heap.verify_error);
    vm_root_pop(vm, 2);
    kiln_free(vm);
}

Test(barrier, map_key_and_value)
{
    struct probe pr;
    kiln_vm *vm =
        probe_run(&pr, "var m: {str: P} = {}\nvar ints: {int: int} = {}\nlet k = \"key\" + str(1)\n"
                       "print(\"0\")\nm[k] = a\nprint(\"1\")\nm[k] = b\nprint(\"2\")\n"
                       "ints[0] = 6\nprint(\"3\")\n");
    vm_map *m = global(vm, "m"), *ints = global(vm, "ints");
    vm_str *k = global(vm, "k");
    /* a new entry: the key, then the value */
    expect_calls(&pr, 0, 2, m, pr.a);
    cr_assert(logged(&vm->heap, GC_BARRIER_LOG, m, k), "the string key");
    expect_calls(&pr, 1, 1, m, pr.b); /* the value replaced */
    /* int key and value: calls with null (key 0 keeps the map dense: a
     * first other key would also swap in an index) */
    expect_calls(&pr, 2, 2, ints, NULL);
    kiln_free(vm);
}

Test(barrier, map_buffer_swaps_when_rebuilt)
{
    kiln_vm *vm = unit_linked_vm(KILN_FLAG_GC_VERIFY);
    vm_map *m = vm_map_new(vm, true, true);
    cr_assert_not_null(m);
    unit_root(vm, m);
    vm_str *s = vm_str_cstr(vm, "shared");
    unit_root(vm, s);
    char key[16];
    for (int i = 0; i < 8; i++) { /* the first buffers hold 8 */
        vm_str *k = vm_str_new(vm, key, (size_t)snprintf(key, sizeof key, "k%d", i));
        cr_assert_not_null(k);
        cr_assert(vm_map_set(vm, m, (vm_value){.s = k}, (vm_value){.s = s}));
    }
    gc_obj *old[2] = {&m->ents->obj, &m->index->obj};
    vm_str *k = vm_str_cstr(vm, "the ninth");
    unit_root(vm, k);
    uint64_t c0 = vm->heap.barriers;
    cr_assert(vm_map_set(vm, m, (vm_value){.s = k}, (vm_value){.s = s}));
    gc_obj *now[2] = {&m->ents->obj, &m->index->obj};
    /* two buffer swaps (entries, index), the key, the value */
    cr_assert_eq(vm->heap.barriers - c0, 4);
    for (int i = 0; i < 2; i++) {
        cr_assert_neq(now[i], old[i], "buffer %d replaced", i);
        cr_assert(logged(&vm->heap, 4, m, now[i]), "the swap of buffer %d", i);
    }
    cr_assert(logged(&vm->heap, 4, m, k));
    cr_assert(logged(&vm->heap, 4, m, s));
    cr_assert_null(vm->heap.verify_error, "%s", vm->heap.verify_error);
    vm_root_pop(vm, 3);
    kiln_free(vm);
}

Test(barrier, cell)
{
    struct probe pr;
    kiln_vm *vm = probe_run(&pr, "var keep: fn() -> str = null\n"
                                 "var after = \"\"\n"
                                 "fn make() {\n"
                                 "    var s = \"x\"\n"
                                 "    keep = fn() -> str { return s }\n"
                                 "    print(\"0\")\n"
                                 "    s = \"y\" + str(1)\n"
                                 "    print(\"1\")\n"
                                 "}\n"
                                 "make()\n"
                                 "after = keep()\n");
    vm_closure *keep = global(vm, "keep");
    vm_cell *cell = keep->caps[0].p;
    cr_assert_eq(cell->obj.kind, VM_OBJ_CELL);
    vm_str *after = global(vm, "after");
    cr_assert_str_eq(after->data, "y1");
    expect_calls(&pr, 0, 1, cell, after);
    kiln_free(vm);
}

Test(barrier, verify_mode_checks_the_arguments)
{
    kiln_vm *vm = unit_linked_vm(KILN_FLAG_GC_VERIFY);
    vm_str *s = vm_str_cstr(vm, "a string");
    unit_root(vm, s);
    vm_array *xs = vm_array_new(vm, 1, 1, true);
    cr_assert_not_null(xs);
    gc_barrier(&vm->heap, &xs->obj, &s->obj);
    gc_barrier(&vm->heap, &xs->obj, NULL);
    cr_assert_null(vm->heap.verify_error, "%s", vm->heap.verify_error);
    /* a value whose header no allocation wrote */
    gc_obj fake = {0};
    gc_barrier(&vm->heap, &xs->obj, &fake);
    cr_assert_str_eq(vm->heap.verify_error,
                     "gc_barrier: the stored reference is not a heap object");
    vm->heap.verify_error = NULL;
    gc_barrier(&vm->heap, NULL, &s->obj);
    cr_assert_str_eq(vm->heap.verify_error,
                     "gc_barrier: the object stored into is not a heap object");
    vm->heap.verify_error = NULL;
#ifndef KILN_GC_MALLOC
    /* a well-formed header outside the heap */
    gc_obj elsewhere = {.kind = VM_OBJ_STR, .size = sizeof(vm_str)};
    gc_barrier(&vm->heap, &xs->obj, &elsewhere);
    cr_assert_not_null(vm->heap.verify_error);
    vm->heap.verify_error = NULL;
#endif
    vm_root_pop(vm, 1);
    kiln_free(vm);
}

Test(barrier, off_outside_verify_mode)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_array *xs = vm_array_new(vm, 0, 1, true);
    cr_assert_not_null(xs);
    cr_assert(vm_array_push(vm, xs, (vm_value){.p = xs}));
    cr_assert_eq(vm->heap.barriers, 0, "no counting: the barrier is one untaken branch");
    kiln_free(vm);
}
