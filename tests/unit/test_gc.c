/*
 * test_gc.c — the garbage collector: unreachable objects are reclaimed,
 * reachable ones (globals, constants, frames) are kept, the heap limit
 * holds after a full collection, stress and verify modes keep results.
 */
#include "unit.h"

#include "../../gc/gc.h"

/* A VM with these flags and heap limit; its output is kept in one sink
 * the tests do not look at. */
static kiln_vm *vm_with(unsigned flags, size_t limit)
{
    static unit_out sink;
    unit_out_free(&sink);
    return unit_vm_with(&sink, flags, limit);
}

static void load_run(kiln_vm *vm, const char *src)
{
    cr_assert_eq(kiln_load_source(vm, "g.kn", src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
}

Test(gc, garbage_is_reclaimed_and_globals_are_kept)
{
    kiln_vm *vm = vm_with(0, 0);
    /* 10,000 strings of 14+ bytes become garbage; `keep` stays reachable. */
    load_run(vm, "var keep = \"\"\n"
                 "for i in 0..10000 { keep = \"value number ${i}\" }\n");
    gc_collect(&vm->heap);
    /* What survives: `keep`, the constants (the prelude's among them,
     * about 1 KiB), nothing else: not the 10,000 strings (some 300 KiB). */
    size_t live = vm->heap.bytes;
    cr_assert_lt(live, 2048, "%zu bytes survive", live);
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
    cr_assert_eq(kiln_run(vm), KILN_ERR_LIMIT, "uncaught, the limit stopped the guest");
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

/* ---- Object graphs, cycles, arrays and maps ---- */

/* The global called `name` of the loaded program. */
static vm_value *global(kiln_vm *vm, const char *name)
{
    for (uint32_t i = 0; i < vm->img.nglobals; i++)
        if (!strcmp(vm_image_str(&vm->img, vm->img.globals[i].name), name))
            return &vm->globals[i];
    cr_assert_fail("no global %s", name);
    return NULL;
}

/* Field `name` of instance `o`. */
static vm_value *field(vm_inst *o, kiln_vm *vm, const char *name)
{
    cr_assert_not_null(o);
    cr_assert_eq(o->obj.kind, VM_OBJ_INST);
    const vm_class *c = o->cls->def;
    for (uint16_t i = 0; i < c->nfields; i++)
        if (!strcmp(vm_image_str(&vm->img, c->field_names[i]), name))
            return &o->fields[i];
    cr_assert_fail("no field %s", name);
    return NULL;
}

/* Each print() collects, then records the heap's size: snapshots of the
 * live data at chosen points of a program. */
struct snapshots {
    kiln_vm *vm;
    size_t bytes[16];
    int n;
};

static void snapshot_hook(void *ud, int stream, const char *p, size_t len)
{
    (void)stream, (void)p, (void)len;
    struct snapshots *s = ud;
    if (s->n < 16 && len > 1) { /* print writes the text, then "\n" */
        gc_collect(&s->vm->heap);
        s->bytes[s->n++] = s->vm->heap.bytes;
    }
}

static kiln_vm *snapshot_vm(struct snapshots *s, unsigned flags)
{
    memset(s, 0, sizeof *s);
    s->vm = unit_vm_hook(snapshot_hook, s, flags, 0);
    return s->vm;
}

static const char ring_src[] = "class Node {\n"
                               "    id: int\n"
                               "    name: str\n"
                               "    next: Node\n"
                               "    prev: Node\n"
                               "    me: Node\n"
                               "    fn init(id: int) {\n"
                               "        self.id = id\n"
                               "        self.name = \"node number ${id}\"\n"
                               "        self.me = self\n"
                               "    }\n"
                               "}\n"
                               "var ring: Node = null\n"
                               "fn make_ring(n: int) -> Node {\n"
                               "    let first = Node(0)\n"
                               "    var last = first\n"
                               "    for i in 1..n {\n"
                               "        let x = Node(i)\n"
                               "        x.prev = last\n"
                               "        last.next = x\n"
                               "        last = x\n"
                               "    }\n"
                               "    last.next = first\n"
                               "    first.prev = last\n"
                               "    return first\n"
                               "}\n"
                               "fn churn() {\n"
                               "    ring = make_ring(2000)\n"
                               "    print(\"alive\")\n"
                               "    ring = null\n"
                               "}\n"
                               "print(\"start\")\n"
                               "churn()\n"
                               "print(\"dropped\")\n";

Test(gc, unreachable_cycles_are_reclaimed)
{
    struct snapshots s;
    kiln_vm *vm = snapshot_vm(&s, 0);
    cr_assert_eq(kiln_load_source(vm, "ring.kn", ring_src, strlen(ring_src)), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(s.n, 3);
    /* alive: 2,000 instances and their names on top of the start */
    size_t per_node =
        charge(sizeof(vm_inst) + 5 * sizeof(vm_value)) + str_bytes(strlen("node number 0"));
    cr_assert_geq(s.bytes[1], s.bytes[0] + 2000 * per_node, "start %zu, alive %zu", s.bytes[0],
                  s.bytes[1]);
    /* dropped: the cycles (next/prev around the ring, each node's self
     * reference) do not keep it alive */
    cr_assert_eq(s.bytes[2], s.bytes[0], "start %zu, alive %zu, dropped %zu", s.bytes[0],
                 s.bytes[1], s.bytes[2]);
    gc_collect(&vm->heap);
    cr_assert_eq(vm->heap.bytes, s.bytes[0]);
    cr_assert_null(global(vm, "ring")->p);
    kiln_free(vm);
}

Test(gc, unreachable_cycles_are_reclaimed_under_stress)
{
    struct snapshots s;
    kiln_vm *vm = snapshot_vm(&s, KILN_FLAG_GC_STRESS | KILN_FLAG_GC_VERIFY);
    cr_assert_eq(kiln_load_source(vm, "ring.kn", ring_src, strlen(ring_src)), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(s.n, 3);
    cr_assert_gt(s.bytes[1], s.bytes[0]);
    cr_assert_eq(s.bytes[2], s.bytes[0]);
    cr_assert_null(vm->heap.verify_error);
    kiln_free(vm);
}

/* Closures: each captures a string (copied) and the cell of a variable
 * that holds the closure itself, a cycle through the cell. */
static const char closures_src[] =
    "var keep: fn() -> str = null\n"
    "fn make(i: int) -> fn() -> str {\n"
    "    var me: fn() -> str = null\n"
    "    let name = \"closure number ${i}\"\n"
    "    me = fn() -> str { if me == null { return \"?\" }; return name }\n"
    "    return me\n"
    "}\n"
    "fn churn() {\n"
    "    var all: [fn() -> str] = []\n"
    "    for i in 0..2000 { all.push(make(i)) }\n"
    "    print(\"alive\")\n" /* `all` is read below: live, a root here */
    "    keep = all[1234]\n"
    "}\n"
    "print(\"start\")\n"
    "churn()\n"
    "print(\"dropped\")\n"
    "print(keep())\n";

static void closures_reclaimed(unsigned flags)
{
    struct snapshots s;
    kiln_vm *vm = snapshot_vm(&s, flags);
    cr_assert_eq(kiln_load_source(vm, "clo.kn", closures_src, strlen(closures_src)), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(s.n, 4);
    size_t closure = charge(sizeof(vm_closure) + 2 * sizeof(vm_value)),
           cell = charge(sizeof(vm_cell));
    size_t each = closure + cell + str_bytes(strlen("closure number 0"));
    cr_assert_geq(s.bytes[1], s.bytes[0] + 2000 * each, "start %zu, alive %zu", s.bytes[0],
                  s.bytes[1]);
    /* dropped: all but `keep` (its closure, cell and string) are gone */
    cr_assert_leq(s.bytes[2], s.bytes[0] + each + 64, "start %zu, dropped %zu", s.bytes[0],
                  s.bytes[2]);
    vm_closure *c = global(vm, "keep")->p;
    cr_assert_not_null(c);
    cr_assert_eq(c->obj.kind, VM_OBJ_FN);
    cr_assert_eq(c->fn->ncaps, 2);
    vm_cell *me = c->caps[0].p; /* captured first: `me`, assigned, so a cell */
    cr_assert_eq(me->obj.kind, VM_OBJ_CELL);
    cr_assert_eq(me->v.p, c, "the cell holds the closure: a cycle");
    cr_assert_str_eq(c->caps[1].s->data, "closure number 1234");
    cr_assert_null(vm->heap.verify_error);
    kiln_free(vm);
}

Test(gc, closures_and_cells_reclaimed_and_kept)
{
    closures_reclaimed(0);
}

/* Liveness: a local no longer read is not a root, even while its frame is
 * active. At "dead", `all` (the array and its 2000 closures) has had its
 * last use; the collection the print triggers reclaims it all. */
Test(gc, dead_local_is_not_a_root)
{
    static const char src[] = "var keep: fn() -> str = null\n"
                              "fn make(i: int) -> fn() -> str {\n"
                              "    let name = \"closure number ${i}\"\n"
                              "    return fn() -> str { return name }\n"
                              "}\n"
                              "fn churn() {\n"
                              "    var all: [fn() -> str] = []\n"
                              "    for i in 0..2000 { all.push(make(i)) }\n"
                              "    keep = all[1234]\n"
                              "    print(\"dead\")\n"
                              "    print(keep())\n"
                              "}\n"
                              "print(\"start\")\n"
                              "churn()\n";
    struct snapshots s;
    kiln_vm *vm = snapshot_vm(&s, 0);
    cr_assert_eq(kiln_load_source(vm, "dead.kn", src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(s.n, 3);
    size_t each =
        charge(sizeof(vm_closure) + sizeof(vm_value)) + str_bytes(strlen("closure number 0"));
    cr_assert_leq(s.bytes[1], s.bytes[0] + each + 64,
                  "start %zu, at \"dead\" %zu: the dead "
                  "array was kept",
                  s.bytes[0], s.bytes[1]);
    kiln_free(vm);
}
Test(gc, closures_and_cells_under_stress)
{
    closures_reclaimed(KILN_FLAG_GC_STRESS | KILN_FLAG_GC_VERIFY);
}

Test(gc, reachable_graph_is_kept_intact)
{
    /* A binary tree whose nodes also point back to their parent and to a
     * shared sentinel, with plenty of garbage made around it. */
    kiln_vm *vm = vm_with(0, 0);
    load_run(vm, "class T {\n"
                 "    id: int\n"
                 "    label: str\n"
                 "    left: T\n"
                 "    right: T\n"
                 "    up: T\n"
                 "    shared: T\n"
                 "}\n"
                 "let sentinel = T()\n"
                 "fn build(id: int, depth: int, up: T) -> T {\n"
                 "    let t = T()\n"
                 "    t.id = id\n"
                 "    t.label = \"node \" + str(id)\n"
                 "    t.up = up\n"
                 "    t.shared = sentinel\n"
                 "    var junk = \"\"\n"
                 "    for i in 0..5 { junk = \"garbage ${i} ${id}\" }\n"
                 "    if depth > 0 {\n"
                 "        t.left = build(2 * id + 1, depth - 1, t)\n"
                 "        t.right = build(2 * id + 2, depth - 1, t)\n"
                 "    }\n"
                 "    return t\n"
                 "}\n"
                 "let root = build(0, 10, null)\n"
                 "sentinel.label = \"sentinel\"\n"
                 "for i in 0..50000 { let g = \"more garbage ${i}\" }\n");
    vm_inst *sentinel = global(vm, "sentinel")->p;
    vm_inst *root = global(vm, "root")->p;
    for (int round = 0; round < 3; round++) {
        gc_collect(&vm->heap);
        /* walk the tree: 2^11 - 1 nodes, each with its id, label, parent */
        vm_inst *stack[64];
        int sp = 0, seen = 0;
        stack[sp++] = root;
        char want[32];
        while (sp) {
            vm_inst *t = stack[--sp];
            int64_t id = field(t, vm, "id")->i;
            snprintf(want, sizeof want, "node %lld", (long long)id);
            cr_assert_str_eq(field(t, vm, "label")->s->data, want);
            cr_assert_eq(field(t, vm, "shared")->p, sentinel);
            vm_inst *up = field(t, vm, "up")->p;
            if (id == 0)
                cr_assert_null(up);
            else
                cr_assert_eq(field(up, vm, "id")->i, (id - 1) / 2);
            vm_inst *l = field(t, vm, "left")->p, *r = field(t, vm, "right")->p;
            cr_assert_eq(!l, !r);
            if (l) {
                cr_assert_eq(field(l, vm, "id")->i, 2 * id + 1);
                cr_assert_eq(field(r, vm, "id")->i, 2 * id + 2);
                cr_assert_eq(field(l, vm, "up")->p, t);
                cr_assert_lt(sp + 2, 64);
                stack[sp++] = l;
                stack[sp++] = r;
            }
            seen++;
        }
        cr_assert_eq(seen, 2047);
        cr_assert_str_eq(field(sentinel, vm, "label")->s->data, "sentinel");
    }
    /* the tree is what is left: the garbage is gone */
    size_t node = charge(sizeof(vm_inst) + 6 * sizeof(vm_value));
    cr_assert_lt(vm->heap.bytes, 2048 * (node + str_bytes(16)) + 4096, "%zu bytes", vm->heap.bytes);
    size_t kept = vm->heap.bytes;
    gc_collect(&vm->heap);
    cr_assert_eq(vm->heap.bytes, kept);
    /* cut from C, the whole tree goes */
    global(vm, "root")->p = NULL;
    gc_collect(&vm->heap);
    cr_assert_lt(vm->heap.bytes + 2047 * node, kept, "%zu of %zu", vm->heap.bytes, kept);
    kiln_free(vm);
}

Test(gc, arrays_and_maps_of_strings_kept_and_reclaimed)
{
    kiln_vm *vm = vm_with(0, 0);
    load_run(vm, "var words: [str] = []\n"
                 "var index: {str: str} = {}\n"
                 "var byid: {int: str} = {}\n"
                 "var dropped: [str] = []\n"
                 "var dropped_map: {str: [str]} = {}\n"
                 "for i in 0..1000 {\n"
                 "    words.push(\"word ${i}\")\n"
                 "    index[\"key ${i}\"] = \"value ${i}\"\n"
                 "    byid[i] = \"id ${i}\"\n"
                 "    dropped.push(\"temp ${i}\")\n"
                 "    dropped_map[\"t${i}\"] = [\"x${i}\", \"y${i}\"]\n"
                 "    if i % 2 == 1 { byid.remove(i) }\n"
                 "}\n"
                 "dropped = []\n"
                 "dropped_map = {}\n");
    gc_collect(&vm->heap);
    size_t all = vm->heap.bytes;
    vm_array *words = global(vm, "words")->p;
    vm_map *index = global(vm, "index")->p;
    vm_map *byid = global(vm, "byid")->p;
    cr_assert_eq(words->len, 1000);
    cr_assert_eq(index->count, 1000);
    cr_assert_eq(byid->count, 500);
    char want[32];
    for (uint32_t i = 0; i < 1000; i++) {
        snprintf(want, sizeof want, "word %u", i);
        cr_assert_str_eq(words->buf->items[i].s->data, want);
        snprintf(want, sizeof want, "key %u", i);
        cr_assert_str_eq(VM_MAPENT_KEY(index, i).s->data, want);
        snprintf(want, sizeof want, "value %u", i);
        cr_assert_str_eq(VM_MAPENT_VAL(index, i).s->data, want);
        int64_t e = vm_map_find(vm, byid, (vm_value){.i = i});
        if (i % 2) {
            cr_assert_eq(e, -1);
        } else {
            cr_assert_geq(e, 0);
            snprintf(want, sizeof want, "id %u", i);
            cr_assert_str_eq(VM_MAPENT_VAL(byid, e).s->data, want);
        }
    }
    /* the dropped array and map, and the removed entries' strings, are
     * gone: what is left is about the three live collections */
    size_t strs = 1000 * (str_bytes(8) + str_bytes(7) + str_bytes(9)) + 500 * str_bytes(6);
    cr_assert_lt(all, strs + 200 * 1024, "%zu bytes for %zu of strings", all, strs);
    /* dropping each collection frees at least its strings */
    global(vm, "words")->p = NULL;
    gc_collect(&vm->heap);
    cr_assert_leq(vm->heap.bytes + 1000 * str_bytes(8), all);
    size_t without_words = vm->heap.bytes;
    global(vm, "index")->p = NULL;
    gc_collect(&vm->heap);
    cr_assert_leq(vm->heap.bytes + 1000 * (str_bytes(7) + str_bytes(9)), without_words);
    global(vm, "byid")->p = NULL;
    gc_collect(&vm->heap);
    /* left: the constants and the two empty collections */
    cr_assert_lt(vm->heap.bytes, 2048, "%zu bytes survive", vm->heap.bytes);
    kiln_free(vm);
}

Test(gc, heap_limit_by_live_data_is_caught_and_the_guest_continues)
{
    unit_out o;
    kiln_vm *vm = unit_vm_with(&o, 0, 512 * 1024);
    const char *src = "var hoard: [[int]] = []\n"
                      "var blocks = 0\n"
                      "var caught = 0\n"
                      "try {\n"
                      "    while true { hoard.push([blocks; 1000]); blocks += 1 }\n"
                      "} catch e: OutOfMemoryError {\n"
                      "    caught += 1\n"
                      "    print(\"caught ${e.message.len() > 0}\")\n"
                      "}\n"
                      "let first = hoard[0][999] + hoard[blocks - 1][0]\n"
                      "hoard = []\n"
                      "var m: {int: str} = {}\n"
                      "var entries = 0\n"
                      "try {\n"
                      "    while true { m[entries] = \"entry ${entries}\"; entries += 1 }\n"
                      "} catch e: OutOfMemoryError {\n"
                      "    caught += 1\n"
                      "    print(\"map caught\")\n"
                      "}\n"
                      "let last = m[entries - 1]\n"
                      "m = {}\n"
                      "var after = 0\n"
                      "for i in 0..20 { after += [i; 1000].len() }\n"
                      "print(\"after ${after} ${last == \"entry \" + str(entries - 1)}\")\n";
    cr_assert_eq(kiln_load_source(vm, "oom.kn", src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(unit_text(&o.out), "caught true\nmap caught\nafter 20000 true\n");
    cr_assert_eq(global(vm, "caught")->i, 2);
    int64_t blocks = global(vm, "blocks")->i;
    cr_assert_gt(blocks, 10);
    cr_assert_eq(global(vm, "first")->i, blocks - 1);
    cr_assert_gt(global(vm, "entries")->i, 100);
    cr_assert_leq(vm->heap.bytes, 512 * 1024);
    /* after the run, the hoards are garbage */
    gc_collect(&vm->heap);
    cr_assert_lt(vm->heap.bytes, 64 * 1024, "%zu bytes", vm->heap.bytes);
    kiln_free(vm);
    unit_out_free(&o);
}

/* ---- The gray stack full ---- */

enum { HELD = 6000 };
static gc_obj *held[HELD];

static void hold_roots(gc_heap *h, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < HELD; i++)
        gc_mark(h, held[i]);
}

static void no_children(gc_heap *h, gc_obj *o, void *ctx)
{
    (void)h, (void)o, (void)ctx;
}

Test(gc, roots_past_a_full_gray_stack_are_kept)
{
    /* Under a 1 MiB limit the gray stack stops at 4,096 entries (limit /
     * 64 bytes of pointers), as it does when it cannot grow: the roots
     * marked past it must survive the sweep (they were left unmarked, and
     * freed, when only the marked objects' children were rescanned). */
    gc_heap h;
    memset(held, 0, sizeof held);
    cr_assert(gc_init(&h, 1 << 20, hold_roots, no_children, NULL));
    for (int i = 0; i < HELD; i++)
        cr_assert_not_null(held[i] = gc_alloc(&h, sizeof(gc_obj) + 8, 1));
    size_t before = h.bytes;
    gc_collect(&h);
    cr_assert_eq(h.bytes, before, "%zu of %zu bytes survive", h.bytes, before);
    int n = 0;
    for (gc_obj *o = h.all; o; o = o->next)
        n++;
    cr_assert_eq(n, HELD);
    gc_destroy(&h);
}
