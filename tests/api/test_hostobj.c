/*
 * test_hostobj.c — host objects (kiln_define_type, kiln_host_new,
 * kiln_host_ptr): the guest holds, stores and passes them but cannot make
 * or forge one; each is finalized exactly once, when collected or at
 * kiln_free; a pointer comes back only for an object of its very type.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vm/kiln.h"
#include "capture.h"

typedef struct window {
    char title[32];
    int *finalized; /* the test's counter */
} window;

typedef struct host {
    kiln_htype window, texture;
    int finalized, textures_finalized;
} host;

static void finalize_window(void *userdata, void *ptr)
{
    (void)userdata;
    window *w = ptr;
    (*w->finalized)++;
    free(w);
}

static void finalize_texture(void *userdata, void *ptr)
{
    (void)ptr;
    ((host *)userdata)->textures_finalized++;
}

/* host.open(title: str) -> Window */
static kiln_status h_open(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n;
    host *h = ud;
    window *w = calloc(1, sizeof *w);
    cr_assert_not_null(w);
    snprintf(w->title, sizeof w->title, "%s", kiln_str_bytes(vm, a[0], NULL));
    w->finalized = &h->finalized;
    kiln_status st = kiln_host_new(vm, h->window, w, r);
    if (st != KILN_OK)
        free(w);
    return st;
}

/* host.title(w: Window) -> str */
static kiln_status h_title(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n;
    host *h = ud;
    void *p;
    kiln_status st = kiln_host_ptr(vm, a[0], h->window, &p);
    if (st != KILN_OK)
        return kiln_throw(vm, "ValueError", kiln_error(vm));
    const window *w = p;
    *r = kiln_str(vm, w->title, strlen(w->title));
    return KILN_OK;
}

/* host.texture() -> Texture */
static kiln_status h_texture(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)a, (void)n;
    host *h = ud;
    return kiln_host_new(vm, h->texture, h, r);
}

static const char *const PROGRAM =
    "import host\n"
    "class Evil : Window {\n"
    "    fn init() {}\n"
    "}\n"
    "var kept: [Window] = []\n"
    "fn main() {\n"
    "    let w = host.open(\"main\")\n"
    "    print(host.title(w))\n"
    "    for i in 0..100 { kept.push(host.open(\"w${i}\")) }\n"
    "    for i in 0..1000 { let t = host.open(\"temp\") }\n"
    "    print(host.title(kept[42]))\n"
    "    print(w is Window)\n"
    "    try { let x = Window() } catch e: Error { print(e.message) }\n"
    "    try { print(host.title(Evil())) } catch e: ValueError { print(\"evil refused\") }\n"
    "    let t = host.texture()\n"
    "    print(t is Texture)\n"
    "}\n"
    "fn drop() { kept = [] }\n"
    "fn count() -> int { return kept.len() }\n";

static kiln_vm *host_vm(host *h, int jit, unsigned flags, out *o)
{
    kiln_config cfg = out_config(o);
    cfg.jit = jit;
    cfg.flags = flags;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    cr_assert_eq(kiln_define_type(vm, "Window", finalize_window, NULL, &h->window), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_define_type(vm, "Texture", finalize_texture, h, &h->texture), KILN_OK);
    cr_assert_eq(kiln_define_native(vm, "host", "open", "fn(str) -> Window", h_open, h), KILN_OK);
    cr_assert_eq(kiln_define_native(vm, "host", "title", "fn(Window) -> str", h_title, h), KILN_OK);
    cr_assert_eq(kiln_define_native(vm, "host", "texture", "fn() -> Texture", h_texture, h),
                 KILN_OK);
    cr_assert_eq(kiln_load_source(vm, "app.kn", PROGRAM, strlen(PROGRAM)), KILN_OK, "%s",
                 kiln_error(vm));
    return vm;
}

Test(hostobj, held_passed_finalized_once)
{
    for (int jit = KILN_JIT_ON; jit <= KILN_JIT_ALWAYS; jit++)
        for (unsigned flags = 0; flags <= KILN_FLAG_GC_STRESS; flags += KILN_FLAG_GC_STRESS) {
            host h = {0};
            out o;
            kiln_vm *vm = host_vm(&h, jit, flags, &o);
            cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
            cr_assert_str_eq(o.text, "main\nw42\ntrue\na host object is made only by the host\n"
                                     "evil refused\ntrue\n");
            /* The 1,000 temporaries (and main's window, and the texture)
             * are garbage; the 100 kept are not. */
            cr_assert_eq(kiln_collect(vm), KILN_OK);
            cr_assert_eq(h.finalized, 1001, "jit %d flags %u: %d", jit, flags, h.finalized);
            cr_assert_eq(h.textures_finalized, 1);
            kiln_value r;
            cr_assert_eq(kiln_call(vm, "count", NULL, 0, &r), KILN_OK);
            cr_assert_eq(r.as.i, 100);
            cr_assert_eq(kiln_call(vm, "drop", NULL, 0, &r), KILN_OK);
            cr_assert_eq(kiln_collect(vm), KILN_OK);
            cr_assert_eq(h.finalized, 1101);
            kiln_free(vm);
            cr_assert_eq(h.finalized, 1101, "nothing finalized twice");
        }
}

Test(hostobj, kiln_free_finalizes_the_living)
{
    host h = {0};
    out o;
    kiln_vm *vm = host_vm(&h, KILN_JIT_OFF, 0, &o);
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    kiln_value w;
    window *mine = calloc(1, sizeof *mine);
    mine->finalized = &h.finalized;
    cr_assert_eq(kiln_host_new(vm, h.window, mine, &w), KILN_OK, "%s", kiln_error(vm));
    void *p;
    cr_assert_eq(kiln_host_ptr(vm, w, h.window, &p), KILN_OK);
    cr_assert_eq(p, mine);
    char type[32];
    cr_assert_eq(kiln_type_of(vm, w, type, sizeof type), KILN_OK);
    cr_assert_str_eq(type, "Window");
    /* the wrong type, not a host object, no type */
    cr_assert_eq(kiln_host_ptr(vm, w, h.texture, &p), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "a Window, not a Texture"), "%s", kiln_error(vm));
    cr_assert_null(p);
    kiln_value s = kiln_str(vm, "x", 1);
    cr_assert_eq(kiln_host_ptr(vm, s, h.window, &p), KILN_ERR_API);
    cr_assert_eq(kiln_host_ptr(vm, w, (kiln_htype){0}, &p), KILN_ERR_API);
    cr_assert_eq(kiln_get_field(vm, w, "x", &s), KILN_ERR_API);
    cr_assert_eq(kiln_collect(vm), KILN_OK);
    int before = h.finalized;
    kiln_free(vm); /* the 100 kept and the one held by a handle */
    cr_assert_eq(h.finalized, before + 101);
}

Test(hostobj, defining_types)
{
    kiln_vm *vm = kiln_new(NULL);
    kiln_htype t;
    cr_assert_eq(kiln_define_type(vm, "9lives", NULL, NULL, &t), KILN_ERR_API);
    cr_assert_eq(kiln_define_type(vm, "a b", NULL, NULL, &t), KILN_ERR_API);
    cr_assert_eq(kiln_define_type(vm, NULL, NULL, NULL, &t), KILN_ERR_API);
    cr_assert_eq(kiln_define_type(vm, "Window", NULL, NULL, &t), KILN_OK);
    kiln_htype again;
    cr_assert_eq(kiln_define_type(vm, "Window", NULL, NULL, &again), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "already defined"), "%s", kiln_error(vm));
    /* An image made without the type has no class for it: no object. */
    kiln_vm *other = kiln_new(NULL);
    const char *src = "fn main() { print(1) }\n";
    cr_assert_eq(kiln_load_source(other, "app.kn", src, strlen(src)), KILN_OK);
    const void *bytes;
    size_t len;
    cr_assert_eq(kiln_image(other, &bytes, &len), KILN_OK);
    cr_assert_eq(kiln_load_image(vm, bytes, len), KILN_OK, "%s", kiln_error(vm));
    kiln_free(other);
    kiln_value v;
    cr_assert_eq(kiln_host_new(vm, t, NULL, &v), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "does not use type Window"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_define_type(vm, "Late", NULL, NULL, &t), KILN_ERR_API);
    kiln_free(vm);
}

Test(hostobj, an_image_cannot_give_the_type_fields)
{
    /* Made without the host type, an image's own Window with a field
     * would let code read a field a host object does not have. */
    kiln_vm *maker = kiln_new(NULL);
    const char *src = "class Window : HostObject {\n    x: int\n    fn init() { self.x = 1 }\n}\n"
                      "fn main() { print(Window().x) }\n";
    cr_assert_eq(kiln_load_source(maker, "app.kn", src, strlen(src)), KILN_OK, "%s",
                 kiln_error(maker));
    const void *bytes;
    size_t len;
    cr_assert_eq(kiln_image(maker, &bytes, &len), KILN_OK);
    kiln_vm *vm = kiln_new(NULL);
    kiln_htype t;
    cr_assert_eq(kiln_define_type(vm, "Window", NULL, NULL, &t), KILN_OK);
    cr_assert_eq(kiln_load_image(vm, bytes, len), KILN_ERR_LOAD);
    cr_assert(strstr(kiln_error(vm), "class Window is not the host type Window"), "%s",
              kiln_error(vm));
    kiln_free(vm);
    kiln_free(maker);
}

/* ---- What the second red team found (each failed before its fix) ---- */

static kiln_vm *finalizer_vm;
static int refusals;

static void calls_back(void *userdata, void *ptr)
{
    (void)userdata, (void)ptr;
    kiln_vm *vm = finalizer_vm;
    kiln_value r, s = kiln_str(vm, "x", 1);
    refusals += s.type == KILN_NULL;
    refusals += kiln_collect(vm) == KILN_ERR_API;
    refusals += kiln_call(vm, "count", NULL, 0, &r) == KILN_ERR_API;
}

Test(hostobj, a_finalizer_calling_back_is_refused_not_corrupting)
{
    for (int at_free = 0; at_free < 2; at_free++) {
        kiln_vm *vm = kiln_new(NULL);
        finalizer_vm = vm;
        refusals = 0;
        kiln_htype t;
        cr_assert_eq(kiln_define_type(vm, "Window", calls_back, NULL, &t), KILN_OK);
        const char *src = "var kept: [Window] = []\nfn keep(w: Window) { kept.push(w) }\n"
                          "fn count() -> int { return kept.len() }\n";
        cr_assert_eq(kiln_load_source(vm, "app.kn", src, strlen(src)), KILN_OK, "%s",
                     kiln_error(vm));
        cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
        for (int i = 0; i < 3; i++) {
            kiln_value w;
            cr_assert_eq(kiln_host_new(vm, t, NULL, &w), KILN_OK, "%s", kiln_error(vm));
            if (at_free) { /* kept: finalized by kiln_free */
                kiln_value r;
                cr_assert_eq(kiln_call(vm, "keep", &w, 1, &r), KILN_OK, "%s", kiln_error(vm));
            }
            cr_assert_eq(kiln_release(vm, w), KILN_OK);
        }
        if (!at_free) {
            cr_assert_eq(kiln_collect(vm), KILN_OK);
            cr_assert_eq(refusals, 9);
        }
        kiln_free(vm);
        cr_assert_eq(refusals, 9, "at_free %d", at_free);
    }
}

Test(hostobj, types_belong_to_their_vm_and_are_not_builtins)
{
    kiln_vm *a = kiln_new(NULL), *b = kiln_new(NULL);
    kiln_htype wa, tb, x;
    cr_assert_eq(kiln_define_type(a, "Window", NULL, NULL, &wa), KILN_OK);
    cr_assert_eq(kiln_define_type(b, "Texture", NULL, NULL, &tb), KILN_OK);
    const char *sa = "fn f(w: Window) {}\n", *sb = "fn f(t: Texture) {}\n";
    cr_assert_eq(kiln_load_source(a, "a.kn", sa, strlen(sa)), KILN_OK, "%s", kiln_error(a));
    cr_assert_eq(kiln_load_source(b, "b.kn", sb, strlen(sb)), KILN_OK, "%s", kiln_error(b));
    int mine;
    kiln_value tex;
    void *p;
    cr_assert_eq(kiln_host_new(b, tb, &mine, &tex), KILN_OK, "%s", kiln_error(b));
    cr_assert_eq(kiln_host_ptr(b, tex, wa, &p), KILN_ERR_API); /* a's type, b's object */
    cr_assert(strstr(kiln_error(b), "not a host type of this VM"), "%s", kiln_error(b));
    cr_assert_eq(kiln_host_ptr(b, tex, tb, &p), KILN_OK);
    cr_assert_eq(p, &mine);
    kiln_free(a);
    kiln_free(b);
    kiln_vm *vm = kiln_new(NULL);
    const char *taken[] = {"Error",  "HostObject", "Option", "StringBuilder",
                           "Buffer", "int",        "print"};
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        cr_assert_eq(kiln_define_type(vm, taken[i], NULL, NULL, &x), KILN_ERR_API, "%s", taken[i]);
    kiln_free(vm);
}
