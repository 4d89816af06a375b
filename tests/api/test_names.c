/*
 * test_names.c — classes named with their modules, and enum values made
 * and read by the host: two modules of one program with classes of one
 * name, named qualified and bare (and refused where a bare name may be
 * either), kiln_throw of a module's error class, kiln_type_of; enum values
 * of plain, payload-carrying and generic enums (Option<int>, a user
 * Tree<int>) made with kiln_enum_new, read with kiln_enum_variant and
 * kiln_enum_payload, passed to and from natives and guest functions, and
 * compared with the guest's own. Through nothing but the public header,
 * in every JIT mode and under a collection at every allocation.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../vm/kiln.h"
#include "capture.h"

/* ---- The program: a root module and two modules, util and geo ---- */

static const char *const UTIL = "class Point {\n"
                                "    x: int\n"
                                "    fn init(x: int) { self.x = x }\n"
                                "}\n"
                                "class ParseError : Error {}\n"
                                "class Only { n: int }\n"
                                "enum Color { Red, Green, Blue }\n"
                                "enum Shape { Circle(float), Rect(float, float), Empty }\n"
                                "enum Tree<T> { Leaf, Node(Tree<T>, T, Tree<T>) }\n"
                                "fn point(x: int) -> Point { return Point(x) }\n"
                                "fn only() -> Only { return Only() }\n";

static const char *const GEO = "class Point {\n"
                               "    lat: float\n"
                               "    fn init(lat: float) { self.lat = lat }\n"
                               "}\n"
                               "class ParseError : Error {}\n"
                               "fn point(lat: float) -> Point { return Point(lat) }\n";

static const char *const MAIN =
    "import util\n"
    "import geo\n"
    "import host\n"
    "class Point {\n"
    "    name: str\n"
    "    fn init(name: str) { self.name = name }\n"
    "}\n"
    "fn mine() -> Point { return Point(\"p\") }\n"
    "fn points() -> [Point] { return [mine()] }\n"
    "fn upoints() -> {str: util.Point} { return {\"a\": util.point(1)} }\n"
    "fn area(s: util.Shape) -> float {\n"
    "    return match s {\n"
    "        util.Shape.Circle(r) => 3.0 * r * r,\n"
    "        util.Shape.Rect(w, h) => w * h,\n"
    "        util.Shape.Empty => 0.0,\n"
    "    }\n"
    "}\n"
    "fn same(a: util.Shape, b: util.Shape) -> bool { return a == b }\n"
    "fn is_rect(s: util.Shape) -> bool { return s == util.Shape.Rect(2.0, 3.0) }\n"
    "fn is_green(c: util.Color) -> bool { return c == util.Color.Green }\n"
    "fn blue() -> util.Color { return util.Color.Blue }\n"
    "fn or_zero(o: Option<int>) -> int { return o.unwrap_or(0) }\n"
    "fn some(n: int) -> Option<int> { return Option.Some(n) }\n"
    "fn is_some7(o: Option<int>) -> bool { return o == Option.Some(7) }\n"
    "fn total(t: util.Tree<int>) -> int {\n"
    "    return match t {\n"
    "        util.Tree.Leaf => 0,\n"
    "        util.Tree.Node(l, v, r) => total(l) + v + total(r),\n"
    "    }\n"
    "}\n"
    "fn tree() -> util.Tree<int> {\n"
    "    let leaf: util.Tree<int> = util.Tree.Leaf\n"
    "    return util.Tree.Node(leaf, 5, util.Tree.Node(leaf, 6, leaf))\n"
    "}\n"
    "fn main() {\n"
    "    print(area(host.scale(util.Shape.Circle(1.0))))\n"
    "    print(area(host.scale(util.Shape.Rect(1.0, 2.0))))\n"
    "    print(host.scale(util.Shape.Empty))\n"
    "    print(host.some(4))\n"
    "    print(host.lat(geo.point(2.5)))\n"
    "    print(host.x(util.point(3)))\n"
    "    print(total(host.grow(tree(), 10)))\n"
    "    try { host.fail(\"util.ParseError\") } catch e: util.ParseError { print(\"util ${e}\") }\n"
    "    try { host.fail(\"geo.ParseError\") } catch e: geo.ParseError { print(\"geo ${e}\") }\n"
    "    try { host.fail(\"ParseError\") } catch e { print(\"bare ${e}\") }\n"
    "}\n";

static const char *const EXPECTED = "12.0\n8.0\nShape.Empty\nOption.Some(4)\n2.5\n3\n21\n"
                                    "util ParseError: from the host\n"
                                    "geo ParseError: from the host\n"
                                    "bare Error: native host.fail failed (status 5): kiln_throw: "
                                    "'ParseError' may name two types of the program: write "
                                    "'util.ParseError' or 'geo.ParseError'\n";

static kiln_status load_module(void *ud, const char *name, kiln_module *m)
{
    (void)ud;
    m->src = !strcmp(name, "util") ? UTIL : !strcmp(name, "geo") ? GEO : NULL;
    m->len = m->src ? strlen(m->src) : 0;
    return KILN_OK;
}

/* ---- Natives ---- */

/* scale(s: util.Shape) -> util.Shape: each payload value doubled */
static kiln_status scale(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    const char *name;
    int np;
    kiln_status st = kiln_enum_variant(vm, a[0], &name, &np);
    kiln_value p[2] = {kiln_null(), kiln_null()};
    for (int i = 0; st == KILN_OK && i < np && i < 2; i++) {
        st = kiln_enum_payload(vm, a[0], i, &p[i]);
        p[i].as.f *= 2;
    }
    if (st == KILN_OK)
        st = kiln_enum_new(vm, "util.Shape", name, p, np, r);
    return st;
}

/* some(n: int) -> Option<int> */
static kiln_status some(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    return kiln_enum_new(vm, "Option<int>", "Some", a, 1, r);
}

/* lat(p: geo.Point) -> float */
static kiln_status lat(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    return kiln_get_field(vm, a[0], "lat", r);
}

/* x(p: util.Point) -> int */
static kiln_status x(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    return kiln_get_field(vm, a[0], "x", r);
}

/* grow(t: Tree<int>, v: int) -> Tree<int>: Node(t, v, Leaf) */
static kiln_status grow(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)ud;
    kiln_value leaf;
    kiln_status st = kiln_enum_new(vm, "util.Tree<int>", "Leaf", NULL, 0, &leaf);
    if (st != KILN_OK)
        return st;
    kiln_value p[3] = {a[0], a[1], leaf};
    st = kiln_enum_new(vm, "Tree<int>", "Node", p, 3, r); /* bare: the only Tree<int> */
    kiln_release(vm, leaf);
    return st;
}

/* fail(cls: str): throws cls("from the host") */
static kiln_status fail(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)r, (void)ud;
    return kiln_throw(vm, kiln_str_bytes(vm, a[0], NULL), "from the host");
}

/* A VM of config cfg (its modules from load_module) with the program
 * and its natives loaded. */
static kiln_vm *names_vm_of(kiln_config cfg)
{
    cfg.load_module = load_module;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    struct {
        const char *name, *type;
        kiln_native_fn fn;
    } N[] = {{"scale", "fn(util.Shape) -> util.Shape", scale},
             {"some", "fn(int) -> Option<int>", some},
             {"lat", "fn(geo.Point) -> float", lat},
             {"x", "fn(util.Point) -> int", x},
             {"grow", "fn(Tree<int>, int) -> util.Tree<int>", grow},
             {"fail", "fn(str)", fail}};
    for (size_t i = 0; i < sizeof N / sizeof N[0]; i++)
        cr_assert_eq(kiln_define_native(vm, "host", N[i].name, N[i].type, N[i].fn, NULL), KILN_OK,
                     "%s: %s", N[i].name, kiln_error(vm));
    cr_assert_eq(kiln_load_source(vm, "app.kn", MAIN, strlen(MAIN)), KILN_OK, "%s", kiln_error(vm));
    return vm;
}

static kiln_vm *names_vm(int jit, unsigned flags, out *o)
{
    kiln_config cfg = out_config(o);
    cfg.jit = jit;
    cfg.flags = flags;
    return names_vm_of(cfg);
}

Test(names, natives_of_module_classes_and_enums)
{
    for (int jit = KILN_JIT_ON; jit <= KILN_JIT_ALWAYS; jit++)
        for (unsigned flags = 0; flags <= KILN_FLAG_GC_STRESS; flags += KILN_FLAG_GC_STRESS) {
            out o;
            kiln_vm *vm = names_vm(jit, flags, &o);
            cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
            cr_assert_str_eq(o.text, EXPECTED);
            kiln_free(vm);
        }
}

/* The type of v, as kiln_type_of writes it. */
static const char *type_of(kiln_vm *vm, kiln_value v)
{
    static char buf[128];
    cr_assert_eq(kiln_type_of(vm, v, buf, sizeof buf), KILN_OK, "%s", kiln_error(vm));
    return buf;
}

Test(names, classes_qualified_and_bare)
{
    out o;
    kiln_vm *vm = names_vm(KILN_JIT_OFF, 0, &o);
    kiln_value p, q, g;
    /* Bare: the root module's Point; qualified: exactly that module's */
    cr_assert_eq(kiln_object_new(vm, "Point", &p), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(type_of(vm, p), "Point");
    cr_assert_eq(kiln_set_field(vm, p, "name", kiln_null()), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_object_new(vm, "util.Point", &q), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(type_of(vm, q), "util.Point");
    cr_assert_eq(kiln_set_field(vm, q, "x", kiln_int(3)), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_object_new(vm, "geo.Point", &g), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(type_of(vm, g), "geo.Point");
    cr_assert_eq(kiln_set_field(vm, g, "lat", kiln_float(1.0)), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_set_field(vm, g, "x", kiln_int(1)), KILN_ERR_API, "geo's Point has no x");
    cr_assert(strstr(kiln_error(vm), "geo.Point has no field 'x'"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_object_new(vm, "nope.Point", &g), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "no type 'nope.Point'"), "%s", kiln_error(vm));
    /* Bare and found in one module only */
    kiln_value only, arr;
    cr_assert_eq(kiln_object_new(vm, "Only", &only), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(type_of(vm, only), "util.Only");
    /* A type written with classes inside: each named either way */
    cr_assert_eq(kiln_array_new(vm, "[Point]", &arr), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(type_of(vm, arr), "[Point]");
    cr_assert_eq(kiln_array_push(vm, arr, q), KILN_ERR_API, "util's Point is not the root's");
    cr_assert_eq(kiln_array_push(vm, arr, p), KILN_OK, "%s", kiln_error(vm));
    /* Guest functions with module classes in their types */
    kiln_fn f;
    cr_assert_eq(kiln_find_function(vm, "util.point", "fn(int) -> util.Point", &f), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_find_function(vm, "util.point", "fn(int) -> geo.Point", &f), KILN_ERR_API);
    cr_assert_eq(kiln_find_function(vm, "mine", "fn() -> util.Point", &f), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "has type fn() -> Point"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_find_function(vm, "util.point", "fn(int) -> Point", &f), KILN_ERR_API,
                 "Point is the root module's");
    cr_assert_eq(kiln_find_function(vm, "util.only", "fn() -> Only", &f), KILN_OK,
                 "util's Only is the only one: %s", kiln_error(vm));
    /* A bare name that means the root's class, in a type only util's has */
    kiln_value m;
    cr_assert_eq(kiln_map_new(vm, "{str: Point}", &m), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "no type '{str: Point}' (a bare name is the root module's "
                                     "class): write '{str: util.Point}'"),
              "%s", kiln_error(vm));
    cr_assert_eq(kiln_map_new(vm, "{str: util.Point}", &m), KILN_OK, "%s", kiln_error(vm));
    kiln_value r;
    cr_assert_eq(kiln_call(vm, "geo.point", (kiln_value[]){kiln_float(4.0)}, 1, &r), KILN_OK);
    cr_assert_str_eq(type_of(vm, r), "geo.Point");
    kiln_free(vm);
}

Test(names, the_disassembly_shows_modules_and_variants)
{
    out o;
    kiln_vm *vm = names_vm(KILN_JIT_OFF, 0, &o);
    const char *text;
    cr_assert_eq(kiln_disassemble(vm, &text), KILN_OK, "%s", kiln_error(vm));
    const char *want[] = {" Point in app\n",
                          " Point in util\n",
                          " Point in geo\n",
                          " ParseError in geo : Error\n",
                          " Shape in util\n  variant0 Circle(field1)\n  variant1 Rect(field2, "
                          "field3)\n  variant2 Empty\n",
                          " Option<int> in prelude\n  variant0 None\n  variant1 Some(field1)\n"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(text, want[i]), "no '%s' in the listing", want[i]);
    kiln_free(vm);
}

Test(names, a_bare_name_two_modules_share)
{
    out o;
    kiln_vm *vm = names_vm(KILN_JIT_OFF, 0, &o);
    kiln_value v;
    /* util and geo both have ParseError, the root none: say which */
    cr_assert_eq(kiln_object_new(vm, "ParseError", &v), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "kiln_object_new: 'ParseError' may name two types of the "
                                     "program: write 'util.ParseError' or 'geo.ParseError'"),
              "%s", kiln_error(vm));
    cr_assert_eq(kiln_object_new(vm, " util.ParseError ", &v), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "not a class the program makes"), "found: %s", kiln_error(vm));
    kiln_free(vm);
}

Test(names, a_native_type_two_modules_share)
{
    const char *types[] = {"fn(util.ParseError)", "fn(ParseError)"};
    for (int i = 0; i < 2; i++) {
        kiln_config cfg;
        kiln_config_init(&cfg);
        cfg.load_module = load_module;
        kiln_vm *vm = kiln_new(&cfg);
        const char *src = "import util\nimport geo\nimport host\nhost.f(util.ParseError(\"x\"))\n";
        cr_assert_eq(kiln_define_native(vm, "host", "f", types[i], fail, NULL), KILN_OK);
        cr_assert_eq(kiln_load_source(vm, "app.kn", src, strlen(src)),
                     i ? KILN_ERR_COMPILE : KILN_OK, "%s", kiln_error(vm));
        kiln_free(vm);
    }
}

Test(names, enums_from_the_host)
{
    for (unsigned flags = 0; flags <= KILN_FLAG_GC_STRESS; flags += KILN_FLAG_GC_STRESS) {
        out o;
        kiln_vm *vm = names_vm(KILN_JIT_ON, flags, &o);
        kiln_value c, s, r, e;
        /* Plain: made, read, compared with the guest's */
        cr_assert_eq(kiln_enum_new(vm, "util.Color", "Green", NULL, 0, &c), KILN_OK, "%s",
                     kiln_error(vm));
        cr_assert_str_eq(type_of(vm, c), "util.Color");
        const char *name;
        int np = -1;
        cr_assert_eq(kiln_enum_variant(vm, c, &name, &np), KILN_OK);
        cr_assert_str_eq(name, "Green");
        cr_assert_eq(np, 0);
        cr_assert_eq(kiln_call(vm, "is_green", &c, 1, &r), KILN_OK, "%s", kiln_error(vm));
        cr_assert(r.as.b, "the host's Green == the guest's");
        cr_assert_eq(kiln_call(vm, "blue", NULL, 0, &e), KILN_OK);
        cr_assert_eq(kiln_enum_variant(vm, e, &name, NULL), KILN_OK);
        cr_assert_str_eq(name, "Blue");
        cr_assert_eq(kiln_call(vm, "is_green", &e, 1, &r), KILN_OK);
        cr_assert(!r.as.b);
        /* Payloads */
        kiln_value wh[2] = {kiln_float(2.0), kiln_float(3.0)};
        cr_assert_eq(kiln_enum_new(vm, "Shape", "Rect", wh, 2, &s), KILN_OK, "%s",
                     kiln_error(vm)); /* bare: util's, the only Shape */
        cr_assert_eq(kiln_call(vm, "is_rect", &s, 1, &r), KILN_OK, "%s", kiln_error(vm));
        cr_assert(r.as.b, "the host's Rect(2.0, 3.0) == the guest's");
        cr_assert_eq(kiln_call(vm, "area", &s, 1, &r), KILN_OK);
        cr_assert_float_eq(r.as.f, 6.0, 0);
        kiln_value args[2] = {s, s};
        cr_assert_eq(kiln_call(vm, "same", args, 2, &r), KILN_OK);
        cr_assert(r.as.b);
        cr_assert_eq(kiln_enum_variant(vm, s, &name, &np), KILN_OK);
        cr_assert_str_eq(name, "Rect");
        cr_assert_eq(np, 2);
        cr_assert_eq(kiln_enum_payload(vm, s, 1, &r), KILN_OK);
        cr_assert_float_eq(r.as.f, 3.0, 0);
        cr_assert_eq(kiln_enum_payload(vm, s, 2, &r), KILN_ERR_API);
        cr_assert(strstr(kiln_error(vm), "index 2 out of range (Rect has 2)"), "%s",
                  kiln_error(vm));
        cr_assert_eq(kiln_enum_payload(vm, s, -1, &r), KILN_ERR_API);
        /* Its fields are the guest's: readable, never set */
        cr_assert_eq(kiln_get_field(vm, s, "_tag", &r), KILN_OK);
        cr_assert_eq(r.as.i, 1);
        cr_assert_eq(kiln_set_field(vm, s, "_Rect_0", kiln_float(9.0)), KILN_ERR_API);
        cr_assert(strstr(kiln_error(vm), "not changed field by field"), "%s", kiln_error(vm));
        cr_assert_eq(kiln_set_field(vm, s, "_tag", kiln_int(0)), KILN_ERR_API);
        cr_assert_eq(kiln_object_new(vm, "util.Shape", &r), KILN_ERR_API);
        kiln_value other;
        wh[1] = kiln_float(4.0);
        cr_assert_eq(kiln_enum_new(vm, "util.Shape", "Rect", wh, 2, &other), KILN_OK);
        args[1] = other;
        cr_assert_eq(kiln_call(vm, "same", args, 2, &r), KILN_OK);
        cr_assert(!r.as.b, "payloads compared by value");
        kiln_release(vm, other);
        kiln_release(vm, s);
        kiln_release(vm, c);
        kiln_release(vm, e);
        kiln_free(vm);
    }
}

Test(names, generic_enums_from_the_host)
{
    out o;
    kiln_vm *vm = names_vm(KILN_JIT_ALWAYS, KILN_FLAG_GC_STRESS, &o);
    kiln_value v, r, none;
    cr_assert_eq(kiln_enum_new(vm, "Option<int>", "Some", (kiln_value[]){kiln_int(7)}, 1, &v),
                 KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(type_of(vm, v), "Option<int>");
    cr_assert_eq(kiln_call(vm, "is_some7", &v, 1, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert(r.as.b, "the host's Some(7) == the guest's");
    cr_assert_eq(kiln_call(vm, "or_zero", &v, 1, &r), KILN_OK);
    cr_assert_eq(r.as.i, 7);
    cr_assert_eq(kiln_enum_new(vm, "Option<int>", "None", NULL, 0, &none), KILN_OK);
    cr_assert_eq(kiln_call(vm, "or_zero", &none, 1, &r), KILN_OK);
    cr_assert_eq(r.as.i, 0);
    cr_assert_eq(kiln_call(vm, "some", (kiln_value[]){kiln_int(9)}, 1, &v), KILN_OK);
    const char *name;
    int np;
    cr_assert_eq(kiln_enum_variant(vm, v, &name, &np), KILN_OK);
    cr_assert_str_eq(name, "Some");
    cr_assert_eq(np, 1);
    cr_assert_eq(kiln_enum_payload(vm, v, 0, &r), KILN_OK);
    cr_assert_eq(r.type, KILN_INT);
    cr_assert_eq(r.as.i, 9);
    cr_assert_eq(kiln_enum_new(vm, "Option<str>", "None", NULL, 0, &v), KILN_ERR_API,
                 "the program uses no Option<str>");
    cr_assert(strstr(kiln_error(vm), "no type 'Option<str>'"), "%s", kiln_error(vm));
    /* A user generic enum: Node(Leaf, 1, Node(Leaf, 2, Leaf)) */
    kiln_value leaf, inner, tree;
    cr_assert_eq(kiln_enum_new(vm, "util.Tree<int>", "Leaf", NULL, 0, &leaf), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_enum_new(vm, "util.Tree<int>", "Node",
                               (kiln_value[]){leaf, kiln_int(2), leaf}, 3, &inner),
                 KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_enum_new(vm, "util.Tree<int>", "Node",
                               (kiln_value[]){leaf, kiln_int(1), inner}, 3, &tree),
                 KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(type_of(vm, tree), "util.Tree<int>");
    cr_assert_eq(kiln_call(vm, "total", &tree, 1, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, 3);
    cr_assert_eq(kiln_enum_payload(vm, tree, 2, &r), KILN_OK);
    cr_assert_str_eq(type_of(vm, r), "util.Tree<int>");
    cr_assert_eq(kiln_enum_payload(vm, r, 1, &v), KILN_OK);
    cr_assert_eq(v.as.i, 2);
    kiln_release(vm, r);
    cr_assert_eq(kiln_enum_new(vm, "util.Tree<int>", "Node",
                               (kiln_value[]){leaf, kiln_str(vm, "x", 1), leaf}, 3, &v),
                 KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "the payload value is str, expected int"), "%s",
              kiln_error(vm));
    kiln_free(vm);
}

Test(names, enum_misuse)
{
    out o;
    kiln_vm *vm = names_vm(KILN_JIT_OFF, 0, &o);
    kiln_value v, p;
    cr_assert_eq(kiln_enum_new(vm, "util.Shape", "Triangle", NULL, 0, &v), KILN_ERR_API);
    cr_assert(
        strstr(kiln_error(vm), "util.Shape has no variant 'Triangle' (it has Circle, Rect, Empty)"),
        "%s", kiln_error(vm));
    cr_assert_eq(v.type, KILN_NULL);
    cr_assert_eq(kiln_enum_new(vm, "util.Shape", NULL, NULL, 0, &v), KILN_ERR_API);
    cr_assert_eq(kiln_enum_new(vm, "util.Shape", "Circle", NULL, 0, &v), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "util.Shape.Circle has 1 payload values, got 0"), "%s",
              kiln_error(vm));
    cr_assert_eq(kiln_enum_new(vm, "util.Shape", "Empty", (kiln_value[]){kiln_int(1)}, 1, &v),
                 KILN_ERR_API);
    cr_assert_eq(kiln_enum_new(vm, "util.Shape", "Circle", NULL, 1, &v), KILN_ERR_API);
    cr_assert_eq(kiln_enum_new(vm, "util.Shape", "Circle", (kiln_value[]){kiln_int(1)}, 1, &v),
                 KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "the payload value is int, expected float"), "%s",
              kiln_error(vm));
    cr_assert_eq(kiln_enum_new(vm, "util.Point", "Circle", NULL, 0, &v), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "'util.Point' is not an enum type"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_enum_new(vm, "(int, str)", "Circle", NULL, 0, &v), KILN_ERR_API);
    /* Reading what is no enum value */
    const char *name = "x";
    cr_assert_eq(kiln_object_new(vm, "util.Point", &p), KILN_OK);
    cr_assert_eq(kiln_enum_variant(vm, p, &name, NULL), KILN_ERR_API);
    cr_assert_null(name);
    cr_assert(strstr(kiln_error(vm), "a util.Point, not an enum value"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_enum_payload(vm, p, 0, &v), KILN_ERR_API);
    cr_assert_eq(kiln_enum_variant(vm, kiln_int(3), &name, NULL), KILN_ERR_API);
    cr_assert_eq(kiln_enum_variant(vm, kiln_null(), &name, NULL), KILN_ERR_API);
    kiln_value s = kiln_str(vm, "s", 1);
    cr_assert_eq(kiln_enum_payload(vm, s, 0, &v), KILN_ERR_API);
    kiln_release(vm, s);
    /* A released handle */
    kiln_value c;
    cr_assert_eq(kiln_enum_new(vm, "util.Color", "Red", NULL, 0, &c), KILN_OK);
    kiln_release(vm, c);
    cr_assert_eq(kiln_enum_variant(vm, c, &name, NULL), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "a released handle"), "%s", kiln_error(vm));
    kiln_free(vm);
    /* No program */
    vm = kiln_new(NULL);
    cr_assert_eq(kiln_enum_new(vm, "Option<int>", "None", NULL, 0, &v), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "no program loaded"), "%s", kiln_error(vm));
    kiln_free(vm);
}

Test(names, enum_values_under_the_heap_limit)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.heap_limit = 1 << 20;
    kiln_vm *vm = names_vm_of(cfg);
    kiln_value v;
    kiln_status st = KILN_OK;
    int made = 0;
    for (; made < 1000000 && st == KILN_OK; made++)
        st = kiln_enum_new(vm, "Option<int>", "Some", (kiln_value[]){kiln_int(made)}, 1, &v);
    cr_assert_eq(st, KILN_ERR_LIMIT, "%s", kiln_error(vm));
    cr_assert_lt(made, 1000000);
    cr_assert_eq(v.type, KILN_NULL);
    kiln_free(vm);
}
