/*
 * test_entry.c — the embedding API's resolved entry points (kiln_fn),
 * globals, errors as data (class, message, frames), the guest stack seen
 * from a native, kiln_throw with the program's own error classes, and the
 * per-VM user pointer; through nothing but the public header.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../vm/kiln.h"

static void discard(void *ud, int stream, const char *p, size_t n)
{
    (void)ud, (void)stream, (void)p, (void)n;
}

/* A VM with output discarded, running `jit` (KILN_JIT_*), fuel `fuel`. */
static kiln_vm *vm_jit(int jit, uint64_t fuel)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = discard;
    cfg.jit = jit;
    cfg.fuel = fuel;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    return vm;
}

static kiln_vm *loaded(const char *src)
{
    kiln_vm *vm = vm_jit(KILN_JIT_OFF, 0);
    kiln_status st = kiln_load_source(vm, "app.kn", src, strlen(src));
    cr_assert_eq(st, KILN_OK, "load: %s", kiln_error(vm));
    return vm;
}

/* A folder with files name=text (pairs, NULL-ended); its path. */
static char *folder(const char *first, ...)
{
    static char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "/tmp/kiln_entry_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpl));
    va_list ap;
    va_start(ap, first);
    for (const char *name = first; name; name = va_arg(ap, const char *)) {
        const char *text = va_arg(ap, const char *);
        char path[128];
        snprintf(path, sizeof path, "%s/%s", tmpl, name);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(text, f);
        fclose(f);
    }
    va_end(ap);
    return tmpl;
}

static void remove_folder(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* ---- kiln_find_function, kiln_call_fn ---- */

static const char *const FUNCS = "fn add(a: int, b: int) -> int { return a + b }\n"
                                 "fn names(xs: [int], m: {str: int}) -> [str] { return [] }\n"
                                 "fn hello() { print(\"hi\") }\n"
                                 "fn twice(f: fn(int) -> int, x: int) -> int { return f(f(x)) }\n";

Test(entry, find_and_call_by_handle)
{
    kiln_vm *vm = loaded(FUNCS);
    kiln_fn add;
    cr_assert_eq(kiln_find_function(vm, "add", "fn(int, int) -> int", &add), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_neq(add.id, 0);
    for (int64_t i = 0; i < 1000; i++) {
        kiln_value args[2] = {kiln_int(i), kiln_int(i * 3)}, r;
        cr_assert_eq(kiln_call_fn(vm, add, args, 2, &r), KILN_OK, "%s", kiln_error(vm));
        cr_assert_eq(r.type, KILN_INT);
        cr_assert_eq(r.as.i, i * 4);
    }
    /* The arguments are still checked on each call. */
    kiln_value bad[2] = {kiln_int(1), kiln_float(2.0)}, r;
    cr_assert_eq(kiln_call_fn(vm, add, bad, 2, &r), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "argument 2 of add() is float, expected int"), "%s",
              kiln_error(vm));
    cr_assert_eq(kiln_call_fn(vm, add, bad, 1, &r), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "takes 2 arguments, got 1"), "%s", kiln_error(vm));
    kiln_free(vm);
}

Test(entry, find_checks_the_type_once)
{
    kiln_vm *vm = loaded(FUNCS);
    kiln_fn f;
    /* Any type the language writes, spaces aside. */
    cr_assert_eq(kiln_find_function(vm, "names", "fn([int],{str:int})->[str]", &f), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_find_function(vm, "hello", "fn()", &f), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_find_function(vm, "twice", "fn(fn(int) -> int, int) -> int", &f), KILN_OK,
                 "%s", kiln_error(vm));
    cr_assert_eq(kiln_find_function(vm, "hello", NULL, &f), KILN_OK); /* no check */
    cr_assert_eq(kiln_find_function(vm, "add", "fn(int, float) -> int", &f), KILN_ERR_API);
    cr_assert_eq(f.id, 0);
    cr_assert(strstr(kiln_error(vm), "add has type fn(int, int) -> int, not fn(int, float) -> int"),
              "%s", kiln_error(vm));
    cr_assert_eq(kiln_find_function(vm, "hello", "fn() -> int", &f), KILN_ERR_API);
    cr_assert_eq(kiln_find_function(vm, "nope", NULL, &f), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "no function 'nope'"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_find_function(vm, "print", NULL, &f), KILN_ERR_API); /* a native */
    cr_assert_eq(kiln_find_function(vm, NULL, NULL, &f), KILN_ERR_API);
    cr_assert_eq(kiln_find_function(vm, "add", NULL, NULL), KILN_ERR_API);
    kiln_free(vm);
}

Test(entry, handles_of_no_or_another_vm)
{
    kiln_vm *a = loaded(FUNCS), *b = loaded("fn add(a: int, b: int) -> int { return a - b }\n");
    kiln_fn fa, none = {0}, forged = {0xffffffffffffffffull};
    cr_assert_eq(kiln_find_function(a, "add", NULL, &fa), KILN_OK);
    kiln_value args[2] = {kiln_int(5), kiln_int(3)}, r;
    cr_assert_eq(kiln_call_fn(b, fa, args, 2, &r), KILN_ERR_API);
    cr_assert(strstr(kiln_error(b), "not a function of this VM"), "%s", kiln_error(b));
    cr_assert_eq(kiln_call_fn(a, none, args, 2, &r), KILN_ERR_API);
    cr_assert_eq(kiln_call_fn(a, forged, args, 2, &r), KILN_ERR_API);
    cr_assert_eq(kiln_call_fn(a, fa, args, 2, &r), KILN_OK);
    cr_assert_eq(r.as.i, 8);
    kiln_vm *empty = vm_jit(KILN_JIT_OFF, 0);
    cr_assert_eq(kiln_find_function(empty, "add", NULL, &fa), KILN_ERR_API);
    cr_assert(strstr(kiln_error(empty), "no program loaded"), "%s", kiln_error(empty));
    kiln_free(empty);
    kiln_free(a);
    kiln_free(b);
}

Test(entry, functions_and_globals_of_modules)
{
    char *dir = folder("util.kn",
                       "var hits = 0\n"
                       "let label = \"util\"\n"
                       "fn bump(n: int) -> int { hits = hits + n\n return hits }\n",
                       "main.kn",
                       "import util\n"
                       "var hits = 100\n"
                       "fn main() { util.bump(2) }\n",
                       NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/main.kn", dir);
    kiln_vm *vm = vm_jit(KILN_JIT_OFF, 0);
    cr_assert_eq(kiln_load_file(vm, path), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    kiln_value v;
    cr_assert_eq(kiln_get_global(vm, "util.hits", &v), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(v.as.i, 2);
    cr_assert_eq(kiln_get_global(vm, "hits", &v), KILN_OK);
    cr_assert_eq(v.as.i, 100, "the root's hits is another global");
    kiln_fn bump;
    cr_assert_eq(kiln_find_function(vm, "util.bump", "fn(int) -> int", &bump), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_set_global(vm, "util.hits", kiln_int(40)), KILN_OK, "%s", kiln_error(vm));
    kiln_value r;
    cr_assert_eq(kiln_call_fn(vm, bump, &(kiln_value){KILN_INT, .as.i = 2}, 1, &r), KILN_OK);
    cr_assert_eq(r.as.i, 42);
    cr_assert_eq(kiln_set_global(vm, "util.label", kiln_null()), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "util.label is a let"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_get_global(vm, "util.label", &v), KILN_OK);
    cr_assert_str_eq(kiln_str_bytes(vm, v, NULL), "util");
    cr_assert_eq(kiln_release(vm, v), KILN_OK);
    kiln_free(vm);
    remove_folder(dir);
}

/* ---- Globals ---- */

Test(entry, globals_get_and_set)
{
    kiln_vm *vm = loaded("var count = 7\n"
                         "var name = \"ann\"\n"
                         "var xs: [int] = [1, 2]\n"
                         "let fixed = 3\n"
                         "fn get() -> int { return count }\n"
                         "fn greet() -> str { return \"hi \" + name }\n");
    kiln_value v;
    cr_assert_eq(kiln_get_global(vm, "count", &v), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(v.type, KILN_INT);
    cr_assert_eq(v.as.i, 0, "before kiln_run a global holds 0");
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_get_global(vm, "count", &v), KILN_OK);
    cr_assert_eq(v.as.i, 7);
    cr_assert_eq(kiln_set_global(vm, "count", kiln_int(-12)), KILN_OK, "%s", kiln_error(vm));
    kiln_value r;
    cr_assert_eq(kiln_call(vm, "get", NULL, 0, &r), KILN_OK);
    cr_assert_eq(r.as.i, -12, "the guest reads what the host set");

    kiln_value s = kiln_str(vm, "bob", 3);
    cr_assert_eq(kiln_set_global(vm, "name", s), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_release(vm, s), KILN_OK); /* the global holds it now */
    cr_assert_eq(kiln_collect(vm), KILN_OK);
    cr_assert_eq(kiln_call(vm, "greet", NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(kiln_str_bytes(vm, r, NULL), "hi bob");
    cr_assert_eq(kiln_release(vm, r), KILN_OK);

    cr_assert_eq(kiln_get_global(vm, "xs", &v), KILN_OK);
    cr_assert_eq(v.type, KILN_REF);
    cr_assert_eq(kiln_set_global(vm, "xs", kiln_null()), KILN_OK); /* null: any reference */
    cr_assert_eq(kiln_set_global(vm, "name", v), KILN_ERR_API);    /* an array for a str */
    cr_assert(strstr(kiln_error(vm), "name is str, the value is [int]"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_set_global(vm, "xs", v), KILN_OK); /* back from its handle */
    cr_assert_eq(kiln_release(vm, v), KILN_OK);

    cr_assert_eq(kiln_set_global(vm, "count", kiln_float(1.5)), KILN_ERR_API);
    cr_assert_eq(kiln_set_global(vm, "fixed", kiln_int(4)), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "fixed is a let, not a var"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_get_global(vm, "fixed", &v), KILN_OK);
    cr_assert_eq(v.as.i, 3);
    cr_assert_eq(kiln_get_global(vm, "nope", &v), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "no global 'nope'"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_get_global(vm, NULL, &v), KILN_ERR_API);
    cr_assert_eq(kiln_get_global(vm, "count", NULL), KILN_ERR_API);
    cr_assert_eq(kiln_set_global(NULL, "count", kiln_int(1)), KILN_ERR_API);
    kiln_free(vm);
}

/* ---- Errors as data ---- */

static const char *const THROWS = "class ParseError : Error {\n"
                                  "    pos: int\n"
                                  "}\n"
                                  "fn inner(n: int) -> int {\n"
                                  "    if n > 0 { return inner(n - 1) }\n"
                                  "    throw ValueError(\"bad value\")\n"
                                  "}\n"
                                  "fn deep(n: int) -> int { return inner(n) }\n"
                                  "fn mine() { throw ParseError(\"at 3\") }\n"
                                  "fn spin() { while true {} }\n"
                                  "fn fine() -> int { return 1 }\n";

Test(entry, error_class_message_and_frames)
{
    for (int jit = KILN_JIT_ON; jit <= KILN_JIT_ALWAYS; jit++) {
        kiln_vm *vm = vm_jit(jit, 0);
        cr_assert_eq(kiln_load_source(vm, "app.kn", THROWS, strlen(THROWS)), KILN_OK, "%s",
                     kiln_error(vm));
        cr_assert_null(kiln_error_class(vm));
        kiln_value r;
        cr_assert_eq(kiln_call(vm, "deep", &(kiln_value){KILN_INT, .as.i = 2}, 1, &r),
                     KILN_ERR_RUNTIME);
        cr_assert_str_eq(kiln_error_class(vm), "ValueError");
        cr_assert_str_eq(kiln_error_message(vm), "bad value");
        uint32_t depth;
        cr_assert_eq(kiln_error_frames(vm, &depth), 4);
        cr_assert_eq(depth, 4);
        const char *want[] = {"inner", "inner", "inner", "deep"};
        const uint32_t lines[] = {6, 5, 5, 8};
        for (int i = 0; i < 4; i++) {
            kiln_frame f;
            cr_assert_eq(kiln_error_frame(vm, i, &f), KILN_OK);
            cr_assert_str_eq(f.function, want[i]);
            cr_assert_str_eq(f.file, "app.kn");
            cr_assert_eq(f.line, lines[i], "frame %d line %u", i, f.line);
        }
        kiln_frame f;
        cr_assert_eq(kiln_error_frame(vm, 4, &f), KILN_ERR_API);
        cr_assert_eq(kiln_error_frame(vm, -1, &f), KILN_ERR_API);

        cr_assert_eq(kiln_call(vm, "mine", NULL, 0, &r), KILN_ERR_RUNTIME);
        cr_assert_str_eq(kiln_error_class(vm), "ParseError");
        cr_assert_str_eq(kiln_error_message(vm), "at 3");

        /* A success clears it. */
        cr_assert_eq(kiln_call(vm, "fine", NULL, 0, &r), KILN_OK);
        cr_assert_null(kiln_error_class(vm));
        cr_assert_str_eq(kiln_error_message(vm), "");
        cr_assert_eq(kiln_error_frames(vm, &depth), 0);
        cr_assert_eq(depth, 0);
        kiln_free(vm);
    }
}

Test(entry, deep_stack_keeps_both_ends)
{
    kiln_vm *vm = loaded(THROWS);
    kiln_value r;
    cr_assert_eq(kiln_call(vm, "deep", &(kiln_value){KILN_INT, .as.i = 100}, 1, &r),
                 KILN_ERR_RUNTIME);
    uint32_t depth;
    cr_assert_eq(kiln_error_frames(vm, &depth), 20);
    cr_assert_eq(depth, 102);
    kiln_frame f;
    cr_assert_eq(kiln_error_frame(vm, 0, &f), KILN_OK);
    cr_assert_eq(f.line, 6);
    cr_assert_eq(kiln_error_frame(vm, 19, &f), KILN_OK);
    cr_assert_str_eq(f.function, "deep", "the outermost frame is last");
    kiln_free(vm);
}

Test(entry, limits_have_no_class_but_frames)
{
    kiln_vm *vm = vm_jit(KILN_JIT_OFF, 10000);
    cr_assert_eq(kiln_load_source(vm, "app.kn", THROWS, strlen(THROWS)), KILN_OK);
    kiln_value r;
    cr_assert_eq(kiln_call(vm, "spin", NULL, 0, &r), KILN_ERR_LIMIT);
    cr_assert_null(kiln_error_class(vm));
    cr_assert(strstr(kiln_error_message(vm), "fuel"), "%s", kiln_error_message(vm));
    cr_assert_eq(kiln_error_frames(vm, NULL), 1);
    kiln_frame f;
    cr_assert_eq(kiln_error_frame(vm, 0, &f), KILN_OK);
    cr_assert_str_eq(f.function, "spin");
    cr_assert_eq(f.line, 10);
    kiln_free(vm);
}

Test(entry, no_error_data_for_compile_errors)
{
    kiln_vm *vm = vm_jit(KILN_JIT_OFF, 0);
    const char *src = "fn main() { let x: int = \"s\" }\n";
    cr_assert_eq(kiln_load_source(vm, "app.kn", src, strlen(src)), KILN_ERR_COMPILE);
    cr_assert_null(kiln_error_class(vm));
    cr_assert_eq(kiln_error_frames(vm, NULL), 0);
    cr_assert_null(kiln_error_class(NULL));
    cr_assert_str_eq(kiln_error_message(NULL), "");
    kiln_free(vm);
}

/* ---- The stack from a native; kiln_throw of the program's classes ---- */

typedef struct seen {
    int n;
    char frames[8][64];
} seen;

static kiln_status where(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)a, (void)n, (void)r;
    seen *s = ud;
    kiln_frame f;
    for (s->n = 0; s->n < 8 && kiln_stack_frame(vm, s->n, &f) == KILN_OK; s->n++)
        snprintf(s->frames[s->n], sizeof s->frames[0], "%s:%u", f.function, f.line);
    return KILN_OK;
}

static kiln_status throw_named(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)n, (void)r, (void)ud;
    return kiln_throw(vm, kiln_str_bytes(vm, a[0], NULL), kiln_str_bytes(vm, a[1], NULL));
}

static const char *const STACKS = "import host\n"
                                  "class ParseError : Error {\n"
                                  "    pos: int\n"
                                  "}\n"
                                  "fn leaf() { host.where() }\n"
                                  "fn mid() { leaf() }\n"
                                  "fn try_throw(cls: str) -> str {\n"
                                  "    try { host.raise(cls, \"from the host\") }"
                                  " catch e: ParseError { return \"parse \" + e.message + \" \" "
                                  "+ str(e.pos) }"
                                  " catch e: ValueError { return \"value \" + e.message }\n"
                                  "    return \"none\"\n"
                                  "}\n"
                                  "fn raise(cls: str) { host.raise(cls, \"uncaught\") }\n";

static kiln_vm *stacks_vm(int jit, seen *s)
{
    kiln_vm *vm = vm_jit(jit, 0);
    cr_assert_eq(kiln_define_native(vm, "host", "where", "fn()", where, s), KILN_OK);
    cr_assert_eq(kiln_define_native(vm, "host", "raise", "fn(str, str)", throw_named, NULL),
                 KILN_OK);
    cr_assert_eq(kiln_load_source(vm, "app.kn", STACKS, strlen(STACKS)), KILN_OK, "%s",
                 kiln_error(vm));
    return vm;
}

Test(entry, stack_frames_from_a_native)
{
    for (int jit = KILN_JIT_ON; jit <= KILN_JIT_ALWAYS; jit++) {
        seen s = {0};
        kiln_vm *vm = stacks_vm(jit, &s);
        kiln_value r;
        cr_assert_eq(kiln_call(vm, "mid", NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
        cr_assert_eq(s.n, 2, "jit %d: %d frames", jit, s.n);
        cr_assert_str_eq(s.frames[0], "leaf:5");
        cr_assert_str_eq(s.frames[1], "mid:6");
        kiln_frame f;
        cr_assert_eq(kiln_stack_frame(vm, 0, &f), KILN_ERR_API); /* nothing runs */
        cr_assert(strstr(kiln_error(vm), "no guest code runs"), "%s", kiln_error(vm));
        kiln_free(vm);
    }
}

Test(entry, throw_the_programs_own_class)
{
    for (int jit = KILN_JIT_ON; jit <= KILN_JIT_ALWAYS; jit++) {
        seen s = {0};
        kiln_vm *vm = stacks_vm(jit, &s);
        kiln_value r, arg = kiln_str(vm, "ParseError", 10);
        cr_assert_eq(kiln_call(vm, "try_throw", &arg, 1, &r), KILN_OK, "%s", kiln_error(vm));
        cr_assert_str_eq(kiln_str_bytes(vm, r, NULL), "parse from the host 0");
        kiln_release(vm, r);
        kiln_release(vm, arg);
        arg = kiln_str(vm, "ValueError", 10);
        cr_assert_eq(kiln_call(vm, "try_throw", &arg, 1, &r), KILN_OK, "%s", kiln_error(vm));
        cr_assert_str_eq(kiln_str_bytes(vm, r, NULL), "value from the host");
        kiln_release(vm, r);
        kiln_release(vm, arg);

        arg = kiln_str(vm, "ParseError", 10);
        cr_assert_eq(kiln_call(vm, "raise", &arg, 1, &r), KILN_ERR_RUNTIME);
        cr_assert_str_eq(kiln_error_class(vm), "ParseError");
        cr_assert_str_eq(kiln_error_message(vm), "uncaught");
        kiln_release(vm, arg);

        /* Not an error class: the native's failure becomes the guest's Error. */
        arg = kiln_str(vm, "Nope", 4);
        cr_assert_eq(kiln_call(vm, "raise", &arg, 1, &r), KILN_ERR_RUNTIME);
        cr_assert_str_eq(kiln_error_class(vm), "Error");
        cr_assert(strstr(kiln_error_message(vm), "no error class 'Nope'"), "%s",
                  kiln_error_message(vm));
        kiln_release(vm, arg);
        cr_assert_eq(kiln_throw(vm, "ValueError", "outside"), KILN_ERR_API);
        cr_assert(strstr(kiln_error(vm), "only a native may throw"), "%s", kiln_error(vm));
        kiln_free(vm);
    }
}

/* kiln_throw only from a native: from the write hook (guest code is
 * running, but no native of the embedder's) it is an API error the hook
 * sees, and the guest goes on (it was silently lost: KILN_ERR_RUNTIME to
 * the hook, nothing thrown); from a native, also after the native's own
 * kiln_call into the guest returned, it throws. */
typedef struct hook_throw {
    kiln_vm *vm;
    kiln_status st;
    char why[160];
} hook_throw;

static void throwing_write(void *ud, int stream, const char *p, size_t n)
{
    (void)stream, (void)p, (void)n;
    hook_throw *h = ud;
    if (!h->vm || h->st != KILN_OK)
        return;
    h->st = kiln_throw(h->vm, "ValueError", "from the write hook");
    snprintf(h->why, sizeof h->why, "%s", kiln_error(h->vm));
}

static kiln_status call_then_throw(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)a, (void)n, (void)r, (void)ud;
    kiln_value x;
    kiln_status st = kiln_call(vm, "say", NULL, 0, &x); /* prints: the hook's throw is refused */
    if (st != KILN_OK)
        return st;
    return kiln_throw(vm, "ValueError", "after the call");
}

Test(entry, throw_only_from_a_native)
{
    hook_throw h = {0};
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = throwing_write;
    cfg.userdata = &h;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    cr_assert_eq(kiln_define_native(vm, "host", "go", "fn()", call_then_throw, NULL), KILN_OK);
    static const char src[] = "import host\n"
                              "fn say() { print(\"said\") }\n"
                              "fn run() -> str {\n"
                              "    say()\n"
                              "    try { host.go() } catch e: ValueError { return e.message }\n"
                              "    return \"nothing caught\"\n"
                              "}\n";
    cr_assert_eq(kiln_load_source(vm, "app.kn", src, sizeof src - 1), KILN_OK, "%s",
                 kiln_error(vm));
    h.vm = vm;
    kiln_value r;
    cr_assert_eq(kiln_call(vm, "run", NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(h.st, KILN_ERR_API, "the hook's kiln_throw gave %d", h.st);
    cr_assert(strstr(h.why, "only a native may throw"), "%s", h.why);
    cr_assert_str_eq(kiln_str_bytes(vm, r, NULL), "after the call");
    kiln_release(vm, r);
    kiln_free(vm);
}

/* A NULL output pointer is an API error that says so (it left the text
 * of the last error in kiln_error). */
Test(entry, null_outputs_say_so)
{
    kiln_vm *vm = loaded("fn f() -> [int] { return [1, 2] }\n");
    kiln_value a;
    cr_assert_eq(kiln_call(vm, "f", NULL, 0, &a), KILN_OK);
    cr_assert_eq(kiln_array_len(vm, a, NULL), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(vm), "kiln_array_len: NULL len");
    cr_assert_eq(kiln_array_get(vm, a, 0, NULL), KILN_ERR_API);
    cr_assert_str_eq(kiln_error(vm), "kiln_array_get: NULL out");
    cr_assert_eq(kiln_set_args(vm, -1, NULL), KILN_ERR_API);
    cr_assert(strstr(kiln_error(vm), "kiln_set_args: argc -1"), "%s", kiln_error(vm));
    kiln_release(vm, a);
    kiln_free(vm);
}

Test(entry, user_pointer)
{
    kiln_vm *a = vm_jit(KILN_JIT_OFF, 0), *b = vm_jit(KILN_JIT_OFF, 0);
    int x, y;
    cr_assert_null(kiln_user(a));
    kiln_set_user(a, &x);
    kiln_set_user(b, &y);
    cr_assert_eq(kiln_user(a), &x);
    cr_assert_eq(kiln_user(b), &y);
    kiln_set_user(NULL, &x); /* ignored */
    cr_assert_null(kiln_user(NULL));
    kiln_free(a);
    kiln_free(b);
}

/* ---- What the red team found (each failed before its fix) ---- */

Test(entry, a_forged_kiln_fn_reaches_no_function_literal)
{
    kiln_vm *vm = loaded("fn make(k: int) -> fn() -> str { return fn() -> str { return \"k\" + "
                         "str(k) } }\n"
                         "fn add(a: int, b: int) -> int { return a + b }\n");
    kiln_fn add;
    cr_assert_eq(kiln_find_function(vm, "add", NULL, &add), KILN_OK);
    kiln_value args[2] = {kiln_int(1), kiln_int(2)}, r;
    for (uint64_t i = 0; i < 64; i++) {
        kiln_fn forged = {(add.id & ~0xffffffffffffull) | i};
        kiln_status st = kiln_call_fn(vm, forged, args, 0, &r);
        if (forged.id != add.id)
            cr_assert_eq(st, KILN_ERR_API, "id %llu", (unsigned long long)i);
    }
    cr_assert_eq(kiln_call_fn(vm, add, args, 2, &r), KILN_OK);
    cr_assert_eq(r.as.i, 3);
    kiln_free(vm);
}

Test(entry, a_freed_vms_handles_are_not_a_new_ones)
{
    /* The allocator soon gives a new VM a freed one's address: its
     * handles must still be told apart (the mark is random, not the
     * address's). */
    int same_address = 0;
    for (int round = 0; round < 20; round++) {
        kiln_vm *a = loaded("fn f() {}\n");
        kiln_value old = kiln_str(a, "old", 3);
        void *where = a;
        kiln_free(a);
        kiln_vm *b = loaded("fn f() {}\n");
        kiln_value mine = kiln_str(b, "new", 3); /* the same slot and generation */
        if ((void *)b == where) {
            same_address++;
            cr_assert_null(kiln_str_bytes(b, old, NULL), "a freed VM's handle was taken");
        }
        cr_assert_str_eq(kiln_str_bytes(b, mine, NULL), "new");
        kiln_free(b);
    }
    cr_log_info("%d of 20 rounds reused the address", same_address);
}

static kiln_status throw_then_ok(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)a, (void)n, (void)r, (void)ud;
    kiln_throw(vm, "ValueError", "thrown");
    return KILN_OK;
}

Test(entry, a_throw_stands_when_the_native_returns_ok)
{
    kiln_vm *vm = vm_jit(KILN_JIT_OFF, 0);
    cr_assert_eq(kiln_define_native(vm, "host", "t", "fn()", throw_then_ok, NULL), KILN_OK);
    const char *src =
        "import host\nfn go() -> str {\n"
        "    try { host.t() } catch e: ValueError { return \"caught \" + e.message }\n"
        "    return \"nothing\"\n}\n";
    cr_assert_eq(kiln_load_source(vm, "app.kn", src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    kiln_value r;
    cr_assert_eq(kiln_call(vm, "go", NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(kiln_str_bytes(vm, r, NULL), "caught thrown");
    kiln_free(vm);
}

/* ---- A limit met inside a native stops the run (second red team) ---- */

static kiln_status slow_big_str(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)a, (void)n;
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL); /* host work */
    static char big[8192];
    memset(big, 'x', sizeof big);
    *r = kiln_str(vm, big, sizeof big); /* 8 KiB: charged, so the limit is met here */
    if (r->type == KILN_NULL && ud)     /* the usual pattern: a failure becomes a guest error */
        return kiln_throw(vm, "ValueError", kiln_error(vm));
    return KILN_OK;
}

static void *interrupt_soon(void *arg)
{
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    kiln_interrupt(arg);
    return NULL;
}

Test(entry, an_interrupt_met_by_a_natives_kiln_str_stops_the_run)
{
    for (int throws = 0; throws < 2; throws++) {
        kiln_vm *vm = vm_jit(KILN_JIT_OFF, 0);
        cr_assert_eq(kiln_define_native(vm, "host", "fetch", "fn() -> str", slow_big_str,
                                        throws ? vm : NULL),
                     KILN_OK);
        const char *src = "import host\nfn go() -> int {\n    var n = 0\n"
                          "    for i in 0..200 {\n"
                          "        try { n += host.fetch().len() } catch e: ValueError { n -= 1 }\n"
                          "    }\n    return n\n}\n";
        cr_assert_eq(kiln_load_source(vm, "app.kn", src, strlen(src)), KILN_OK, "%s",
                     kiln_error(vm));
        pthread_t t;
        kiln_value r;
        cr_assert_eq(pthread_create(&t, NULL, interrupt_soon, vm), 0);
        kiln_status st = kiln_call(vm, "go", NULL, 0, &r); /* 2 s if nothing stops it */
        pthread_join(t, NULL);
        cr_assert_eq(st, KILN_ERR_LIMIT, "throws %d: status %d, %s", throws, st, kiln_error(vm));
        kiln_free(vm);
    }
}
