/*
 * unit.h — helpers shared by the Criterion unit tests: driving the
 * compiler's passes on a source string, compiling to image bytes, and
 * loading or running a program through the public API with its output
 * captured. Everything is static inline so each test file uses what it
 * needs without unused-function warnings.
 */
#ifndef KILN_UNIT_H
#define KILN_UNIT_H

#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../compiler/comp.h"
#include "../../vm/api.h"
#include "../../vm/kiln.h"

/* ---- The compiler's passes, one by one ---- */

/* What the compiler sees: the standard library, no files. */
static inline const comp_env *unit_env(void)
{
    static comp_env env;
    if (!env.prelude)
        env = vm_compile_env(NULL);
    return &env;
}

enum { UNTIL_LEX = 1, UNTIL_PARSE, UNTIL_CHECK };

/* Runs the passes up to `until` on `src` (named "t.kn") as comp_compile
 * does: a later pass runs only when the earlier ones found no error. For
 * the tokens and the AST; the text of diagnostics comes from comp_compile
 * (unit_diags), which formats them. Release with unit_comp_free. */
static inline comp *unit_front(const char *src, int until, vm_buf *diags)
{
    comp *C = calloc(1, sizeof *C);
    cr_assert_not_null(C);
    memset(diags, 0, sizeof *diags);
    C->file = "t.kn";
    C->src = src;
    C->srclen = strlen(src);
    C->diags = diags;
    C->env = unit_env();
    if (setjmp(C->oom))
        cr_assert_fail("out of memory in the compiler");
    comp_lex(C);
    if (until >= UNTIL_PARSE && C->nerrors == 0)
        comp_parse(C);
    if (until >= UNTIL_CHECK && C->nerrors == 0)
        comp_check(C);
    return C;
}

static inline void unit_comp_free(comp *C, vm_buf *diags)
{
    comp_free(C);
    if (diags)
        vm_buf_free(diags);
}

/* ---- Whole compilations ---- */

/* The diagnostics of compiling `src` as "t.kn" (a malloc'd string; "" when
 * it compiles). */
static inline char *unit_diags(const char *src)
{
    vm_buf img = {0}, diags = {0};
    bool ok = comp_compile("t.kn", src, strlen(src), unit_env(), &img, &diags);
    char *text = strdup(ok ? "" : diags.data ? diags.data : "");
    cr_assert_not_null(text);
    if (!ok)
        cr_assert_gt(diags.len, 0, "a failed compilation must say why");
    vm_buf_free(&img);
    vm_buf_free(&diags);
    return text;
}

/* The first line of the diagnostics of `src` (malloc'd). */
static inline char *unit_first_diag(const char *src)
{
    char *text = unit_diags(src);
    char *nl = strchr(text, '\n');
    if (nl)
        *nl = 0;
    return text;
}

/* How many "file:line:col: error:" lines `text` has. */
static inline int unit_count_errors(const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, ": error: ")); p++)
        n++;
    return n;
}

/* Compiles `src` into *img, asserting success. */
static inline void unit_compile(const char *name, const char *src, vm_buf *img)
{
    vm_buf diags = {0};
    memset(img, 0, sizeof *img);
    bool ok = comp_compile(name, src, strlen(src), unit_env(), img, &diags);
    cr_assert(ok, "compiling %s failed:\n%s", name, diags.data ? diags.data : "");
    vm_buf_free(&diags);
}

/* The index of the function named `name` in `im` (asserting there is
 * one): compiled images may hold more functions than the program's own
 * (a prelude's), so tests look functions up by name, not by index. */
static inline uint32_t unit_func(const vm_image *im, const char *name)
{
    for (uint32_t i = 0; i < im->nfuncs; i++)
        if (!strcmp(vm_image_str(im, im->funcs[i].name), name))
            return i;
    cr_assert_fail("no function %s in the image", name);
    return 0;
}

/* ---- Running through the public API ---- */

typedef struct unit_out {
    vm_buf out, err; /* guest stdout, stderr */
} unit_out;

static inline void unit_write(void *userdata, int stream, const char *bytes, size_t len)
{
    unit_out *o = userdata;
    vm_buf_put(stream == 2 ? &o->err : &o->out, bytes, len);
}

/* A VM whose guest output goes to write(userdata, ...), with config
 * flags and a heap limit (0: none). */
static inline kiln_vm *unit_vm_hook(void (*write)(void *, int, const char *, size_t),
                                    void *userdata, unsigned flags, size_t heap_limit)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = write;
    cfg.userdata = userdata;
    cfg.flags = flags;
    cfg.heap_limit = heap_limit;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    return vm;
}

/* A VM whose guest output goes to *o, with config flags and a heap limit
 * (0: none). */
static inline kiln_vm *unit_vm_with(unit_out *o, unsigned flags, size_t heap_limit)
{
    memset(o, 0, sizeof *o);
    return unit_vm_hook(unit_write, o, flags, heap_limit);
}

/* Loads `src` (named `name`) into vm and runs it, asserting success. */
static inline void unit_load_run(kiln_vm *vm, const char *name, const char *src)
{
    cr_assert_eq(kiln_load_source(vm, name, src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
}

/* A VM whose guest output goes to *o. */
static inline kiln_vm *unit_vm(unit_out *o)
{
    return unit_vm_with(o, 0, 0);
}

static inline void unit_discard(void *ud, int stream, const char *p, size_t n)
{
    (void)ud, (void)stream, (void)p, (void)n;
}

/* A VM with a tiny program loaded and run, so that it is linked (root
 * maps, error classes) and idle: no frames, so only the constants, the
 * globals and the root stack keep objects alive. Output is discarded. */
static inline kiln_vm *unit_linked_vm(unsigned flags)
{
    kiln_vm *vm = unit_vm_hook(unit_discard, NULL, flags, 0);
    unit_load_run(vm, "m.kn", "let x = 1\n");
    cr_assert_eq(vm->ctx->roots.n, 0);
    return vm;
}

/* Pushes obj on vm's root stack, asserting success. */
static inline void unit_root(kiln_vm *vm, void *obj)
{
    cr_assert(vm_root_push(vm, obj), "vm_root_push failed: %s", vm->ctx->err_msg);
}

static inline const char *unit_text(const vm_buf *b)
{
    return b->data ? b->data : "";
}

static inline void unit_out_free(unit_out *o)
{
    vm_buf_free(&o->out);
    vm_buf_free(&o->err);
}

/* What the heap is charged for an object of `size` bytes (its allocator
 * size class), as gc_alloc charges it; and for a string of n bytes, as
 * vm_str_new allocates it. */
static inline size_t charge(size_t size)
{
    gc_heap h;
    gc_init(&h, 0, NULL, NULL, NULL);
    size_t n = gc_charge(&h, size);
    gc_destroy(&h);
    return n;
}

static inline size_t str_bytes(size_t n)
{
    return charge(sizeof(vm_str) + n + 1);
}

#endif
