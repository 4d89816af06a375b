/*
 * test_values.c — structured values at the embedding boundary: natives
 * whose types name arrays, maps, classes, tuples and function types; the
 * accessors of arrays, maps and objects; calling function values; and
 * their misuse. Through nothing but the public header, in every JIT mode
 * and under a collection at every allocation.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vm/kiln.h"
#include "capture.h"

/* ---- The natives of the program below ---- */

/* sum(xs: [int]) -> int */
static kiln_status sum(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    int64_t len, s = 0;
    kiln_status st = kiln_array_len(vm, a[0], &len);
    for (int64_t i = 0; st == KILN_OK && i < len; i++) {
        kiln_value x;
        st = kiln_array_get(vm, a[0], i, &x);
        s += x.as.i;
    }
    *r = kiln_int(s);
    return st;
}

/* words(n: int) -> [str]: "w0", "w1", ... */
static kiln_status words(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    kiln_status st = kiln_array_new(vm, "[str]", r);
    for (int64_t i = 0; st == KILN_OK && i < a[0].as.i; i++) {
        char w[32];
        int len = snprintf(w, sizeof w, "w%lld", (long long)i);
        kiln_value s = kiln_str(vm, w, (size_t)len);
        st = kiln_array_push(vm, *r, s);
        kiln_release(vm, s);
    }
    return st;
}

/* count(m: {str: int}, key: str) -> int: m[key] + 1, -1 when absent; sets m["seen"] */
static kiln_status count(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    kiln_value v;
    bool found;
    kiln_status st = kiln_map_get(vm, a[0], a[1], &v, &found);
    if (st != KILN_OK)
        return st;
    *r = kiln_int(found ? v.as.i + 1 : -1);
    kiln_value k = kiln_str(vm, "seen", 4);
    st = kiln_map_set(vm, a[0], k, kiln_int(1));
    kiln_release(vm, k);
    return st;
}

/* inventory() -> {str: int} */
static kiln_status inventory(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)a, (void)n, (void)ud;
    kiln_status st = kiln_map_new(vm, "{str: int}", r);
    const char *names[] = {"apples", "pears", "plums"};
    for (int i = 0; st == KILN_OK && i < 3; i++) {
        kiln_value k = kiln_str(vm, names[i], strlen(names[i]));
        st = kiln_map_set(vm, *r, k, kiln_int(10 * (i + 1)));
        kiln_release(vm, k);
    }
    return st;
}

/* norm2(p: Point) -> float */
static kiln_status norm2(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    kiln_value x, y;
    kiln_status st = kiln_get_field(vm, a[0], "x", &x);
    if (st == KILN_OK)
        st = kiln_get_field(vm, a[0], "y", &y);
    if (st == KILN_OK)
        *r = kiln_float(x.as.f * x.as.f + y.as.f * y.as.f);
    return st;
}

/* mirror(p: Point) -> Point: a new Point (y, x), labelled "m" */
static kiln_status mirror(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    kiln_value x, y, label = kiln_str(vm, "m", 1);
    kiln_status st = kiln_get_field(vm, a[0], "x", &x);
    if (st == KILN_OK)
        st = kiln_get_field(vm, a[0], "y", &y);
    if (st == KILN_OK)
        st = kiln_object_new(vm, "Point", r);
    if (st == KILN_OK)
        st = kiln_set_field(vm, *r, "x", y);
    if (st == KILN_OK)
        st = kiln_set_field(vm, *r, "y", x);
    if (st == KILN_OK)
        st = kiln_set_field(vm, *r, "label", label);
    kiln_release(vm, label);
    return st;
}

/* twice(f: fn(int) -> int, x: int) -> int */
static kiln_status twice(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    kiln_value once;
    kiln_status st = kiln_call_value(vm, a[0], &a[1], 1, &once);
    return st == KILN_OK ? kiln_call_value(vm, a[0], &once, 1, r) : st;
}

/* swap(t: (int, str)) -> (str, int) is not expressible without the tuple
 * class; describe(t: (int, str)) -> str reads a tuple's fields */
static kiln_status describe(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    kiln_value i, s;
    kiln_status st = kiln_get_field(vm, a[0], "0", &i);
    if (st == KILN_OK)
        st = kiln_get_field(vm, a[0], "1", &s);
    if (st != KILN_OK)
        return st;
    char buf[64];
    int len = snprintf(buf, sizeof buf, "%lld:%s", (long long)i.as.i, kiln_str_bytes(vm, s, NULL));
    kiln_release(vm, s);
    *r = kiln_str(vm, buf, (size_t)len);
    return KILN_OK;
}

static const char *const PROGRAM =
    "import host\n"
    "class Point {\n"
    "    x: float\n"
    "    y: float\n"
    "    label: str\n"
    "    fn init(x: float, y: float) { self.x = x; self.y = y; self.label = \"p\" }\n"
    "}\n"
    "fn main() {\n"
    "    print(host.sum([1, 2, 3, 40]))\n"
    "    let ws = host.words(3)\n"
    "    print(ws)\n"
    "    ws.push(\"more\")\n"
    "    print(ws.len())\n"
    "    var m = {\"a\": 1}\n"
    "    print(host.count(m, \"a\"))\n"
    "    print(host.count(m, \"b\"))\n"
    "    print(m[\"seen\"])\n"
    "    let inv = host.inventory()\n"
    "    print(inv[\"pears\"] + inv.len())\n"
    "    print(host.norm2(Point(3.0, 4.0)))\n"
    "    let q = host.mirror(Point(1.0, 2.0))\n"
    "    print(\"${q.x} ${q.y} ${q.label}\")\n"
    "    let k = 5\n"
    "    print(host.twice(fn(v: int) -> int { return v * k }, 3))\n"
    "    print(host.describe((7, \"seven\")))\n"
    "}\n";

static const char *const EXPECTED =
    "46\n[\"w0\", \"w1\", \"w2\"]\n4\n2\n-1\n1\n23\n25.0\n2.0 1.0 m\n75\n7:seven\n";

static kiln_vm *program_vm(int jit, unsigned flags, out *o)
{
    kiln_config cfg = out_config(o);
    cfg.jit = jit;
    cfg.flags = flags;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    struct {
        const char *name, *type;
        kiln_native_fn fn;
    } N[] = {{"sum", "fn([int]) -> int", sum},
             {"words", "fn(int) -> [str]", words},
             {"count", "fn({str: int}, str) -> int", count},
             {"inventory", "fn() -> {str:int}", inventory},
             {"norm2", "fn(Point) -> float", norm2},
             {"mirror", "fn(Point) -> Point", mirror},
             {"twice", "fn(fn(int) -> int, int) -> int", twice},
             {"describe", "fn((int, str)) -> str", describe}};
    for (size_t i = 0; i < sizeof N / sizeof N[0]; i++)
        cr_assert_eq(kiln_define_native(vm, "host", N[i].name, N[i].type, N[i].fn, NULL), KILN_OK,
                     "%s: %s", N[i].name, kiln_error(vm));
    cr_assert_eq(kiln_load_source(vm, "app.kn", PROGRAM, strlen(PROGRAM)), KILN_OK, "%s",
                 kiln_error(vm));
    return vm;
}

Test(values, natives_take_and_return_structured_values)
{
    for (int jit = KILN_JIT_ON; jit <= KILN_JIT_ALWAYS; jit++)
        for (unsigned flags = 0; flags <= KILN_FLAG_GC_STRESS; flags += KILN_FLAG_GC_STRESS) {
            out o = {0};
            kiln_vm *vm = program_vm(jit, flags | (flags ? KILN_FLAG_GC_VERIFY : 0), &o);
            cr_assert_eq(kiln_run(vm), KILN_OK, "jit %d flags %u: %s", jit, flags, kiln_error(vm));
            cr_assert_str_eq(o.text, EXPECTED, "jit %d flags %u: %s", jit, flags, o.text);
            /* An image of the program links against the same natives. */
            const void *bytes;
            size_t len;
            cr_assert_eq(kiln_image(vm, &bytes, &len), KILN_OK);
            out o2;
            kiln_config cfg = out_config(&o2);
            cfg.jit = jit;
            kiln_vm *vm2 = kiln_new(&cfg);
            const char *names[] = {"sum",   "words",  "count", "inventory",
                                   "norm2", "mirror", "twice", "describe"};
            kiln_native_fn fns[] = {sum, words, count, inventory, norm2, mirror, twice, describe};
            const char *types[] = {"fn([int]) -> int",
                                   "fn(int) -> [str]",
                                   "fn({str: int}, str) -> int",
                                   "fn() -> {str: int}",
                                   "fn(Point) -> float",
                                   "fn(Point) -> Point",
                                   "fn(fn(int) -> int, int) -> int",
                                   "fn((int, str)) -> str"};
            for (int i = 0; i < 8; i++)
                kiln_define_native(vm2, "host", names[i], types[i], fns[i], NULL);
            cr_assert_eq(kiln_load_image(vm2, bytes, len), KILN_OK, "%s", kiln_error(vm2));
            cr_assert_eq(kiln_run(vm2), KILN_OK, "%s", kiln_error(vm2));
            cr_assert_str_eq(o2.text, EXPECTED);
            kiln_free(vm2);
            kiln_free(vm);
        }
}

Test(values, an_image_needs_natives_of_the_same_types)
{
    out o = {0};
    kiln_vm *vm = program_vm(KILN_JIT_OFF, 0, &o);
    const void *bytes;
    size_t len;
    cr_assert_eq(kiln_image(vm, &bytes, &len), KILN_OK);
    kiln_vm *vm2 = kiln_new(NULL);
    const char *names[] = {"sum",   "words",  "count", "inventory",
                           "norm2", "mirror", "twice", "describe"};
    for (int i = 0; i < 8; i++) /* sum takes [float] here */
        kiln_define_native(vm2, "host", names[i], i ? "fn(int) -> int" : "fn([float]) -> int", sum,
                           NULL);
    cr_assert_eq(kiln_load_image(vm2, bytes, len), KILN_ERR_LOAD);
    cr_assert(strstr(kiln_error(vm2), "unknown native host.sum"), "%s", kiln_error(vm2));
    kiln_free(vm2);
    kiln_free(vm);
}

Test(values, native_types_the_program_lacks)
{
    kiln_vm *vm = kiln_new(NULL);
    cr_assert_eq(kiln_define_native(vm, "host", "f", "fn(Nope) -> int", sum, NULL), KILN_OK);
    const char *src = "import host\nfn main() { print(1) }\n";
    /* Not called: no error. */
    cr_assert_eq(kiln_load_source(vm, "app.kn", src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    kiln_free(vm);

    vm = kiln_new(NULL);
    cr_assert_eq(kiln_define_native(vm, "host", "f", "fn([int]) -> int", sum, NULL), KILN_OK);
    src = "import host\nfn main() { print(host.f([\"a\"])) }\n";
    cr_assert_eq(kiln_load_source(vm, "app.kn", src, strlen(src)), KILN_ERR_COMPILE);
    cr_assert(strstr(kiln_error(vm), "host.f() cannot be called with ([str])"), "%s",
              kiln_error(vm));
    kiln_free(vm);
}

Test(values, malformed_native_types)
{
    kiln_vm *vm = kiln_new(NULL);
    const char *bad[] = {"fn([int) -> int",  "fn({str}) -> int", "fn(int,) -> int",
                         "fn((int)) -> int", "fn(Box<>) -> int", "fn(int) -> ",
                         "fn(1a)",           "fn(a.) -> int"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(kiln_define_native(vm, "host", "f", bad[i], sum, NULL), KILN_ERR_API, "%s",
                     bad[i]);
        cr_assert(strstr(kiln_error(vm), "bad type"), "%s", kiln_error(vm));
    }
    cr_assert_eq(
        kiln_define_native(vm, "host", "f", "fn(util.Shape, Box<int>, (int, str))", sum, NULL),
        KILN_OK, "%s", kiln_error(vm));
    kiln_free(vm);
}

/* ---- Accessors from the host, outside any native ---- */

static const char *const DATA =
    "class Point {\n"
    "    x: float\n"
    "    y: float\n"
    "    label: str\n"
    "}\n"
    "fn numbers() -> [int] { return [5, 6, 7] }\n"
    "fn table() -> {str: [int]} { return {\"a\": [1], \"b\": [2, 3]} }\n"
    "fn origin() -> Point { return Point() }\n"
    "fn adder(k: int) -> fn(int) -> int {\n"
    "    return fn(v: int) -> int { return v + k }\n"
    "}\n"
    "fn pair() -> (int, str) { return (1, \"one\") }\n"
    "fn total(xs: [int]) -> int {\n"
    "    var s = 0\n"
    "    for x in xs { s += x }\n"
    "    return s\n"
    "}\n"
    "fn points(ps: {int: Point}) -> int { return ps.len() }\n";

static kiln_vm *data_vm(void)
{
    kiln_vm *vm = kiln_new(NULL);
    cr_assert_eq(kiln_load_source(vm, "app.kn", DATA, strlen(DATA)), KILN_OK, "%s", kiln_error(vm));
    return vm;
}

Test(values, arrays_from_the_host)
{
    kiln_vm *vm = data_vm();
    kiln_value a, x, r;
    cr_assert_eq(kiln_call(vm, "numbers", NULL, 0, &a), KILN_OK);
    char type[32];
    cr_assert_eq(kiln_type_of(vm, a, type, sizeof type), KILN_OK);
    cr_assert_str_eq(type, "[int]");
    int64_t len;
    cr_assert_eq(kiln_array_len(vm, a, &len), KILN_OK);
    cr_assert_eq(len, 3);
    cr_assert_eq(kiln_array_get(vm, a, 2, &x), KILN_OK);
    cr_assert_eq(x.as.i, 7);
    cr_assert_eq(kiln_array_set(vm, a, 0, kiln_int(100)), KILN_OK);
    cr_assert_eq(kiln_array_push(vm, a, kiln_int(1000)), KILN_OK);
    cr_assert_eq(kiln_call(vm, "total", &a, 1, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, 100 + 6 + 7 + 1000);
    /* misuse */
    cr_assert_eq(kiln_array_get(vm, a, 4, &x), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "index 4 out of range (length 4)"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_array_get(vm, a, -1, &x), KILN_ERR_API);
    cr_assert_eq(kiln_array_set(vm, a, 0, kiln_float(1.5)), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "the element is float, expected int"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_array_push(vm, a, kiln_str(vm, "s", 1)), KILN_ERR_API);
    cr_assert_eq(kiln_array_len(vm, kiln_null(), &len), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "null"), "%s", kiln_error(vm));
    kiln_value m;
    cr_assert_eq(kiln_call(vm, "table", NULL, 0, &m), KILN_OK);
    cr_assert_eq(kiln_array_len(vm, m, &len), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "a map, not an array"), "%s", kiln_error(vm));
    /* a new array of a type the program uses, and one it does not */
    kiln_value b;
    cr_assert_eq(kiln_array_new(vm, "[int]", &b), KILN_OK, "%s", kiln_error(vm));
    for (int i = 1; i <= 100; i++)
        cr_assert_eq(kiln_array_push(vm, b, kiln_int(i)), KILN_OK);
    cr_assert_eq(kiln_call(vm, "total", &b, 1, &r), KILN_OK);
    cr_assert_eq(r.as.i, 5050);
    cr_assert_eq(kiln_array_new(vm, "[[bool]]", &b), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "no type '[[bool]]'"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_array_new(vm, "{str: [int]}", &b), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "not an array type"), "%s", kiln_error(vm));
    /* a released handle */
    kiln_value stale = a;
    cr_assert_eq(kiln_release(vm, a), KILN_OK);
    cr_assert_eq(kiln_array_len(vm, stale, &len), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "released"), "%s", kiln_error(vm));
    kiln_free(vm);
}

Test(values, maps_from_the_host)
{
    kiln_vm *vm = data_vm();
    kiln_value m, v, k, val;
    cr_assert_eq(kiln_call(vm, "table", NULL, 0, &m), KILN_OK);
    char type[32];
    cr_assert_eq(kiln_type_of(vm, m, type, sizeof type), KILN_OK);
    cr_assert_str_eq(type, "{str: [int]}");
    int64_t len;
    cr_assert_eq(kiln_map_len(vm, m, &len), KILN_OK);
    cr_assert_eq(len, 2);
    bool found;
    k = kiln_str(vm, "b", 1);
    cr_assert_eq(kiln_map_get(vm, m, k, &v, &found), KILN_OK);
    cr_assert(found);
    cr_assert_eq(kiln_array_len(vm, v, &len), KILN_OK);
    cr_assert_eq(len, 2);
    kiln_value z = kiln_str(vm, "z", 1);
    cr_assert_eq(kiln_map_get(vm, m, z, &v, &found), KILN_OK);
    cr_assert(!found);
    cr_assert_eq(v.type, KILN_NULL);
    /* set, replace, remove; keys and values checked */
    kiln_value arr;
    cr_assert_eq(kiln_array_new(vm, "[int]", &arr), KILN_OK);
    cr_assert_eq(kiln_map_set(vm, m, z, arr), KILN_OK);
    cr_assert_eq(kiln_map_set(vm, m, k, kiln_null()), KILN_OK);
    cr_assert_eq(kiln_map_set(vm, m, kiln_int(3), arr), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "the key is int, expected str"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_map_set(vm, m, z, kiln_int(3)), KILN_ERR_API);
    cr_assert_eq(kiln_map_get(vm, m, kiln_null(), &v, &found), KILN_ERR_API); /* a null key */
    cr_assert_eq(kiln_map_remove(vm, m, k), KILN_OK);
    /* the walk: insertion order */
    uint64_t pos = 0;
    const char *want[] = {"a", "z"};
    int n = 0, got;
    while ((got = kiln_map_next(vm, m, &pos, &k, &val)) == 1) {
        cr_assert_lt(n, 2);
        cr_assert_str_eq(kiln_str_bytes(vm, k, NULL), want[n]);
        n++;
        kiln_release(vm, k);
        kiln_release(vm, val);
    }
    cr_assert_eq(got, 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(kiln_map_next(vm, arr, &pos, &k, &val), -1);
    /* a map with class values, made by the host */
    kiln_value pm, p, r;
    cr_assert_eq(kiln_map_new(vm, "{int: Point}", &pm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_object_new(vm, "Point", &p), KILN_OK);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(kiln_map_set(vm, pm, kiln_int(i * 7), p), KILN_OK);
    cr_assert_eq(kiln_call(vm, "points", &pm, 1, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, 10);
    kiln_free(vm);
}

Test(values, objects_tuples_and_function_values)
{
    kiln_vm *vm = data_vm();
    kiln_value p, v, t, f, r;
    cr_assert_eq(kiln_call(vm, "origin", NULL, 0, &p), KILN_OK);
    char type[32];
    cr_assert_eq(kiln_type_of(vm, p, type, sizeof type), KILN_OK);
    cr_assert_str_eq(type, "Point");
    cr_assert_eq(kiln_get_field(vm, p, "label", &v), KILN_OK);
    cr_assert_eq(v.type, KILN_NULL);
    cr_assert_eq(kiln_set_field(vm, p, "x", kiln_float(2.5)), KILN_OK);
    cr_assert_eq(kiln_get_field(vm, p, "x", &v), KILN_OK);
    cr_assert_eq(v.as.f, 2.5);
    cr_assert_eq(kiln_set_field(vm, p, "x", kiln_int(2)), KILN_ERR_API);
    cr_assert_eq(kiln_get_field(vm, p, "z", &v), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "Point has no field 'z'"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_object_new(vm, "Nope", &v), KILN_ERR_API);
    cr_assert_eq(kiln_object_new(vm, "[int]", &v), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "not a class"), "%s", kiln_error(vm));

    cr_assert_eq(kiln_call(vm, "pair", NULL, 0, &t), KILN_OK);
    cr_assert_eq(kiln_type_of(vm, t, type, sizeof type), KILN_OK);
    cr_assert_str_eq(type, "(int, str)");
    cr_assert_eq(kiln_get_field(vm, t, "0", &v), KILN_OK);
    cr_assert_eq(v.as.i, 1);
    cr_assert_eq(kiln_get_field(vm, t, "1", &v), KILN_OK);
    cr_assert_str_eq(kiln_str_bytes(vm, v, NULL), "one");

    kiln_value k = kiln_int(40);
    cr_assert_eq(kiln_call(vm, "adder", &k, 1, &f), KILN_OK);
    cr_assert_eq(kiln_type_of(vm, f, type, sizeof type), KILN_OK);
    cr_assert_str_eq(type, "fn(int) -> int");
    kiln_value two = kiln_int(2);
    cr_assert_eq(kiln_call_value(vm, f, &two, 1, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, 42);
    cr_assert_eq(kiln_call_value(vm, f, NULL, 0, &r), KILN_ERR_API);
    cr_assert_eq(kiln_call_value(vm, p, &two, 1, &r), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "an object, not a function"), "%s", kiln_error(vm));
    kiln_free(vm);
}

Test(values, the_heap_limit_holds_for_the_host)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.heap_limit = 4 << 20;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_eq(kiln_load_source(vm, "app.kn", DATA, strlen(DATA)), KILN_OK);
    kiln_value a;
    cr_assert_eq(kiln_array_new(vm, "[int]", &a), KILN_OK);
    kiln_status st = KILN_OK;
    int64_t i = 0;
    for (; i < 10000000 && st == KILN_OK; i++)
        st = kiln_array_push(vm, a, kiln_int(i));
    cr_assert_eq(st, KILN_ERR_LIMIT, "pushed %lld", (long long)i);
    cr_assert(strstr(kiln_error(vm), "kiln_array_push"), "%s", kiln_error(vm));
    cr_assert_leq(kiln_heap_used(vm), (size_t)(4 << 20));
    /* the VM goes on */
    kiln_value r;
    cr_assert_eq(kiln_release(vm, a), KILN_OK);
    cr_assert_eq(kiln_collect(vm), KILN_OK);
    cr_assert_eq(kiln_call(vm, "numbers", NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
    kiln_free(vm);
}

/* ---- What the red team found (each failed before its fix) ---- */

static const char *const KINDS = "interface Shape { fn area() -> int }\n"
                                 "class Sq : Shape {\n"
                                 "    s: int\n"
                                 "    fn init(s: int) { self.s = s }\n"
                                 "    fn area() -> int { return self.s * self.s }\n"
                                 "}\n"
                                 "enum Light { Red, Green(int) }\n"
                                 "fn shapes() -> [Shape] { return [Sq(2)] }\n"
                                 "fn pair() -> (int, str) { return (1, \"one\") }\n"
                                 "fn light() -> Light { return Light.Green(3) }\n"
                                 "fn work() -> int {\n"
                                 "    var s = 0\n"
                                 "    for i in 0..1000 { s += i }\n"
                                 "    return s\n"
                                 "}\n";

Test(values, only_what_the_program_makes)
{
    kiln_vm *vm = kiln_new(NULL);
    cr_assert_eq(kiln_load_source(vm, "app.kn", KINDS, strlen(KINDS)), KILN_OK, "%s",
                 kiln_error(vm));
    kiln_value v, t, l;
    cr_assert_eq(kiln_object_new(vm, "Sq", &v), KILN_OK, "%s", kiln_error(vm));
    const char *refused[] = {"Shape", "(int, str)", "Light"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(kiln_object_new(vm, refused[i], &v), KILN_ERR_API, "%s", refused[i]);
        cr_assert(strstr(kiln_error(vm), "not a class the program makes"), "%s", kiln_error(vm));
    }
    /* a tuple is immutable; an enum's tag is no field to set */
    cr_assert_eq(kiln_call(vm, "pair", NULL, 0, &t), KILN_OK);
    cr_assert_eq(kiln_set_field(vm, t, "0", kiln_int(5)), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "not changed field by field"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_get_field(vm, t, "0", &v), KILN_OK);
    cr_assert_eq(v.as.i, 1);
    kiln_value items[2] = {kiln_int(9), kiln_str(vm, "nine", 4)}, t2, s;
    cr_assert_eq(kiln_tuple_new(vm, "(int, str)", items, 2, &t2), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_get_field(vm, t2, "1", &s), KILN_OK);
    cr_assert_str_eq(kiln_str_bytes(vm, s, NULL), "nine");
    cr_assert_eq(kiln_tuple_new(vm, "(int, str)", items, 1, &t2), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "has 2 values, got 1"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_tuple_new(vm, "(int, str)", NULL, 2, &t2), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "got 2 (items NULL)"), "%s", kiln_error(vm));
    items[0] = kiln_float(1.0);
    cr_assert_eq(kiln_tuple_new(vm, "(int, str)", items, 2, &t2), KILN_ERR_API);
    cr_assert_eq(kiln_tuple_new(vm, "Sq", items, 2, &t2), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "not a tuple type"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_call(vm, "light", NULL, 0, &l), KILN_OK);
    cr_assert_eq(kiln_set_field(vm, l, "_tag", kiln_int(99)), KILN_ERR_API);
    kiln_free(vm);
}

Test(values, idle_host_work_keeps_the_fuel_count)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.fuel = 1000000;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_eq(kiln_load_source(vm, "app.kn", KINDS, strlen(KINDS)), KILN_OK);
    kiln_value r, a;
    cr_assert_eq(kiln_call(vm, "work", NULL, 0, &r), KILN_OK);
    uint64_t used = kiln_fuel_used(vm);
    cr_assert_gt(used, 1000);
    cr_assert_eq(kiln_call(vm, "shapes", NULL, 0, &a), KILN_OK);
    used = kiln_fuel_used(vm);
    cr_assert_eq(kiln_array_push(vm, a, kiln_null()), KILN_OK);
    cr_assert_eq(kiln_fuel_used(vm), used, "the host's push is not the last call's");
    kiln_free(vm);
}

Test(values, module_qualified_types)
{
    char tmpl[] = "/tmp/kiln_values_XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    char path[128];
    snprintf(path, sizeof path, "%s/util.kn", tmpl);
    FILE *f = fopen(path, "w");
    fputs("class Shape {\n    w: int\n    fn init(w: int) { self.w = w }\n}\n"
          "fn make(w: int) -> Shape { return Shape(w) }\n",
          f);
    fclose(f);
    snprintf(path, sizeof path, "%s/main.kn", tmpl);
    f = fopen(path, "w");
    fputs("import util\nimport host\nfn main() { print(host.width(util.make(7))) }\n", f);
    fclose(f);
    out o;
    kiln_config cfg = out_config(&o);
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_eq(kiln_define_native(vm, "host", "width", "fn(util.Shape) -> int", norm2, NULL),
                 KILN_OK);
    cr_assert_eq(kiln_load_file(vm, path), KILN_OK, "%s", kiln_error(vm));
    kiln_value s;
    cr_assert_eq(kiln_object_new(vm, "util.Shape", &s), KILN_OK, "%s", kiln_error(vm));
    char type[32];
    cr_assert_eq(kiln_type_of(vm, s, type, sizeof type), KILN_OK);
    cr_assert_str_eq(type, "util.Shape");
    kiln_fn make;
    cr_assert_eq(kiln_find_function(vm, "util.make", "fn(int) -> util.Shape", &make), KILN_OK, "%s",
                 kiln_error(vm));
    kiln_free(vm);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    cr_assert_eq(system(cmd), 0);
}
