/*
 * test_loader.c — the loader, reset and input part of the embedding API
 * (vm/kiln.h): modules served from memory by kiln_config.load_module (and
 * the default loader's permission check), kiln_reset and what a second
 * kiln_run starts from, and guest input through kiln_config.read under
 * KILN_ALLOW_STDIN.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vm/kiln.h"
#include "capture.h"

static kiln_status load_str(kiln_vm *vm, const char *name, const char *src)
{
    return kiln_load_source(vm, name, src, strlen(src));
}

/* ---- The module loader ---- */

/* A store of modules: name -> source. "gen" is made with malloc at each
 * request (released by the hook's release); "broken" fails; "elsewhere"
 * names its own file. */
typedef struct store {
    int asked, released;
    char asked_names[256];
} store;

static const char *const MODULES[][2] = {
    {"shapes", "import geometry\n"
               "fn area(w: int, h: int) -> int { return geometry.rect(w, h) }\n"},
    {"geometry", "let UNIT = 1\nfn rect(w: int, h: int) -> int { return w * h * UNIT }\n"},
    {"typo", "fn f() -> int {\n    return \"no\"\n}\n"},
    {"elsewhere", "fn f() -> int { return undefined_name }\n"},
};

static void release_gen(void *ud, kiln_module *m)
{
    store *s = ud;
    s->released++;
    free(m->data);
}

static kiln_status serve(void *ud, const char *name, kiln_module *m)
{
    store *s = ud;
    s->asked++;
    strncat(s->asked_names, name, sizeof s->asked_names - strlen(s->asked_names) - 2);
    strcat(s->asked_names, " ");
    if (!strcmp(name, "broken")) {
        m->error = "the store is offline";
        return KILN_ERR_LOAD;
    }
    if (!strcmp(name, "gen")) {
        char *src = malloc(64);
        snprintf(src, 64, "fn answer() -> int { return %d }\n", 42);
        m->src = src;
        m->len = strlen(src);
        m->data = src;
        m->release = release_gen;
        return KILN_OK;
    }
    for (size_t i = 0; i < sizeof MODULES / sizeof MODULES[0]; i++)
        if (!strcmp(name, MODULES[i][0])) {
            m->src = MODULES[i][1];
            m->len = strlen(m->src);
            if (!strcmp(name, "elsewhere"))
                m->file = "lib/elsewhere.kn";
            return KILN_OK;
        }
    return KILN_OK; /* not ours: src stays NULL */
}

static kiln_vm *loader_vm(out *o, store *s, unsigned allow, unsigned flags)
{
    kiln_config cfg = out_config(o);
    memset(s, 0, sizeof *s);
    cfg.load_module = serve;
    cfg.loader_userdata = s;
    cfg.allow = allow;
    cfg.flags = flags;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    return vm;
}

Test(loader, serves_imports_from_memory_with_nested_ones)
{
    out o;
    store s;
    kiln_vm *vm = loader_vm(&o, &s, 0, 0);
    const char *app = "import shapes\nimport gen\nimport math\n"
                      "print(shapes.area(6, 7))\nprint(gen.answer())\nprint(math.floor(2.5))\n";
    cr_assert_eq(load_str(vm, "<memory>", app), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(s.asked_names, "shapes gen math geometry ",
                     "each import asked once, the nested one too");
    cr_assert_eq(s.released, 1, "the generated source released once");
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(o.text, "42\n42\n2.0\n");
    kiln_value a[2] = {kiln_int(3), kiln_int(5)}, r;
    cr_assert_eq(kiln_call(vm, "geometry.rect", a, 2, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, 15);
    kiln_free(vm);
}

Test(loader, a_missing_module_is_a_compile_error)
{
    out o;
    store s;
    kiln_vm *vm = loader_vm(&o, &s, 0, 0);
    cr_assert_eq(load_str(vm, "<memory>", "import nowhere_at_all\n"), KILN_ERR_COMPILE);
    cr_assert(strstr(kiln_error(vm), "<memory>:1:8: error: unknown module 'nowhere_at_all'"), "%s",
              kiln_error(vm));
    cr_assert_eq(s.asked, 1);
    kiln_free(vm);
}

Test(loader, a_loader_error_fails_the_import_with_its_text)
{
    out o;
    store s;
    kiln_vm *vm = loader_vm(&o, &s, 0, 0);
    cr_assert_eq(load_str(vm, "<memory>", "import broken\n"), KILN_ERR_COMPILE);
    cr_assert(strstr(kiln_error(vm),
                     "<memory>:1:8: error: cannot import module 'broken': the store is offline"),
              "%s", kiln_error(vm));
    kiln_free(vm);
}

Test(loader, compile_errors_in_a_loaded_module_name_it)
{
    out o;
    store s;
    kiln_vm *vm = loader_vm(&o, &s, 0, 0);
    cr_assert_eq(load_str(vm, "<memory>", "import typo\nprint(typo.f())\n"), KILN_ERR_COMPILE);
    cr_assert(strstr(kiln_error(vm), "typo.kn:2:"), "%s", kiln_error(vm));
    kiln_free(vm);
    vm = loader_vm(&o, &s, 0, 0);
    cr_assert_eq(load_str(vm, "<memory>", "import elsewhere\n"), KILN_ERR_COMPILE);
    cr_assert(strstr(kiln_error(vm), "lib/elsewhere.kn:1:"), "the hook's file name: %s",
              kiln_error(vm));
    kiln_free(vm);
}

/* Without a loader (or when it says "not mine"), a program given as
 * source reads its imports from disk only as the permissions allow; one
 * given as a file imports from its own folder. */
static const char BASIC[] = "tests/lang/modules/basic/main.kn";

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* A hook that calls back into its VM while the load is under way: what
 * would change the load (the prelude's host types, the natives, a second
 * program, the VM itself) is refused, and the load goes on. */
typedef struct meddler {
    kiln_vm *vm;
    kiln_status type, native, source, image, file;
    char free_error[200];
} meddler;

static kiln_status nop_native(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                              void *ud)
{
    (void)vm, (void)args, (void)nargs, (void)result, (void)ud;
    return KILN_OK;
}

static kiln_status meddle(void *ud, const char *name, kiln_module *m)
{
    meddler *md = ud;
    if (strcmp(name, "util"))
        return KILN_OK;
    kiln_htype t;
    md->type = kiln_define_type(md->vm, "Widget", NULL, NULL, &t);
    md->native = kiln_define_native(md->vm, "more", "f", "fn() -> int", nop_native, NULL);
    md->source = load_str(md->vm, "inner.kn", "print(1)\n");
    md->image = kiln_load_image(md->vm, "", 0);
    md->file = kiln_load_file(md->vm, "/nonexistent/inner.kn");
    kiln_free(md->vm); /* refused: the compiler is using it */
    snprintf(md->free_error, sizeof md->free_error, "%s", kiln_error(md->vm));
    m->src = "fn twice(x: int) -> int { return 2 * x }\n";
    m->len = strlen(m->src);
    return KILN_OK;
}

Test(loader, a_hook_calling_back_cannot_change_the_load)
{
    out o;
    kiln_config cfg = out_config(&o);
    meddler md = {0};
    cfg.load_module = meddle;
    cfg.loader_userdata = &md;
    kiln_vm *vm = md.vm = kiln_new(&cfg);
    kiln_htype gadget;
    cr_assert_eq(kiln_define_type(vm, "Gadget", NULL, NULL, &gadget), KILN_OK);
    cr_assert_eq(
        load_str(vm, "app.kn", "import util\nfn keep(g: Gadget) {}\nprint(util.twice(21))\n"),
        KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(md.type, KILN_ERR_API);
    cr_assert_eq(md.native, KILN_ERR_API);
    cr_assert_eq(md.source, KILN_ERR_API);
    cr_assert_eq(md.image, KILN_ERR_API);
    cr_assert_eq(md.file, KILN_ERR_API);
    cr_assert(strstr(md.free_error, "kiln_free: not while the VM is in use"), "%s", md.free_error);
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(o.text, "42\n", "the program the host loaded, not the hook's");
    kiln_free(vm);
}

Test(loader, the_default_loader_asks_the_permission_layer)
{
    out o;
    store s;
    const char *src = slurp(BASIC);
    kiln_vm *vm = loader_vm(&o, &s, 0, KILN_FLAG_TRACE_SYS);
    cr_assert_eq(load_str(vm, BASIC, src), KILN_ERR_COMPILE);
    cr_assert(strstr(kiln_error(vm), "cannot import module 'util': import "
                                     "tests/lang/modules/basic/util.kn: not allowed"),
              "%s", kiln_error(vm));
    cr_assert_str_eq(o.text, "[sys] import tests/lang/modules/basic/util.kn: denied\n");
    kiln_free(vm);

    kiln_config cfg = out_config(&o);
    static const char *const other[] = {"tests/lang/sandbox", NULL};
    static const char *const here[] = {"tests/lang/modules", NULL};
    cfg.allow = KILN_ALLOW_READ;
    cfg.read_dirs = other;
    vm = kiln_new(&cfg);
    cr_assert_eq(load_str(vm, BASIC, src), KILN_ERR_COMPILE);
    cr_assert(strstr(kiln_error(vm), "util.kn: outside the allowed folders"), "%s", kiln_error(vm));
    kiln_free(vm);
    cfg.read_dirs = here;
    vm = kiln_new(&cfg);
    cr_assert_eq(load_str(vm, BASIC, src), KILN_OK, "%s", kiln_error(vm));
    kiln_free(vm);

    /* kiln_load_file: the host chose the file, and so its folder */
    vm = loader_vm(&o, &s, 0, KILN_FLAG_TRACE_SYS);
    cr_assert_eq(kiln_load_file(vm, BASIC), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(s.asked_names, "util math ", "the hook is asked first");
    cr_assert_str_eq(o.text, "", "no permission asked");
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    kiln_free(vm);
}

/* ---- kiln_reset, and a second kiln_run ---- */

static const char RESET_SRC[] = "var hits: int\n"
                                "var name: str\n"
                                "var big = [0]\n"
                                "hits += 1\n"
                                "print(\"${hits} ${name}\")\n"
                                "name = \"set\"\n"
                                "fn grow() { big = [0; 1000000] }\n"
                                "fn count() -> int { hits += 10\n return hits }\n"
                                "fn label() -> str { return \"h${hits}\" }\n";

static kiln_status call_reset(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                              void *ud)
{
    (void)args, (void)nargs, (void)result, (void)ud;
    *(kiln_status *)ud = kiln_reset(vm);
    return KILN_OK;
}

Test(reset, restores_the_globals_and_invalidates_handles)
{
    out o;
    kiln_config cfg = out_config(&o);
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_eq(kiln_reset(vm), KILN_ERR_API, "nothing loaded");
    cr_assert_eq(load_str(vm, "app.kn", RESET_SRC), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    kiln_value r, label;
    cr_assert_eq(kiln_call(vm, "count", NULL, 0, &r), KILN_OK);
    cr_assert_eq(r.as.i, 11);
    cr_assert_eq(kiln_call(vm, "label", NULL, 0, &label), KILN_OK);
    cr_assert_str_eq(kiln_str_bytes(vm, label, NULL), "h11");
    cr_assert_eq(kiln_call(vm, "grow", NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
    size_t grown = kiln_heap_used(vm);

    cr_assert_eq(kiln_reset(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_lt(kiln_heap_used(vm), grown - 4000000, "the 8 MB array is freed");
    cr_assert_null(kiln_str_bytes(vm, label, NULL), "the handle is stale");
    cr_assert(strstr(kiln_error(vm), "a released handle"), "%s", kiln_error(vm));
    cr_assert_eq(kiln_release(vm, label), KILN_ERR_API);
    cr_assert_eq(kiln_call(vm, "count", NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, 10, "hits is 0 again before the run");

    cr_assert_eq(kiln_reset(vm), KILN_OK);
    o.len = 0;
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(o.text, "1 null\n", "the same as the first run");
    kiln_free(vm);
}

Test(reset, a_second_run_starts_from_the_zero_values)
{
    out o;
    kiln_config cfg = out_config(&o);
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_eq(load_str(vm, "app.kn", RESET_SRC), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    kiln_value h = kiln_str(vm, "kept", 4);
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(o.text, "1 null\n1 null\n", "globals without an initializer start again too");
    cr_assert_str_eq(kiln_str_bytes(vm, h, NULL), "kept", "kiln_run keeps the handles");
    kiln_free(vm);
}

Test(reset, is_refused_while_the_guest_runs)
{
    out o;
    kiln_config cfg = out_config(&o);
    kiln_vm *vm = kiln_new(&cfg);
    kiln_status got = KILN_OK;
    cr_assert_eq(kiln_define_native(vm, "host", "reset", "fn()", call_reset, &got), KILN_OK);
    cr_assert_eq(load_str(vm, "app.kn", "import host\nvar n = 3\nhost.reset()\nprint(n)\n"),
                 KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(got, KILN_ERR_API);
    cr_assert_str_eq(o.text, "3\n");
    kiln_free(vm);
}

/* ---- Guest input: kiln_config.read and KILN_ALLOW_STDIN ---- */

typedef struct input {
    out o; /* first: the write hook's userdata is the read hook's too */
    const char *text;
    size_t at, chunk;
    int calls;
    kiln_vm *vm; /* to interrupt from the hook */
    int fail_at;
} input;

static long feed(void *ud, char *buf, size_t cap)
{
    input *in = ud;
    in->calls++;
    if (in->fail_at && in->calls == in->fail_at)
        return -1;
    if (in->vm)
        kiln_interrupt(in->vm); /* as a watchdog would while the hook blocks */
    size_t n = strlen(in->text + in->at);
    if (n > in->chunk)
        n = in->chunk;
    if (n > cap)
        n = cap;
    memcpy(buf, in->text + in->at, n);
    in->at += n;
    return (long)n;
}

static kiln_vm *input_vm(input *in, unsigned allow, unsigned flags, const char *src)
{
    kiln_config cfg = out_config(&in->o);
    cfg.read = feed;
    cfg.allow = allow;
    cfg.flags = flags;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_eq(load_str(vm, "app.kn", src), KILN_OK, "%s", kiln_error(vm));
    return vm;
}

static const char READ_ALL[] = "import io\n"
                               "var line = io.read_line()\n"
                               "while line != null {\n"
                               "    print(\"[${line}]\")\n"
                               "    line = io.read_line()\n"
                               "}\n"
                               "print(\"end\")\n";

Test(input, the_read_hook_feeds_read_line)
{
    input in = {.text = "one\ntwo\r\n\nlast", .chunk = 3};
    kiln_vm *vm = input_vm(&in, KILN_ALLOW_STDIN, 0, READ_ALL);
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(in.o.text, "[one]\n[two]\n[]\n[last]\nend\n");
    int calls = in.calls;
    cr_assert_eq(calls, 6, "5 chunks of 3 bytes at most, then the end: %d", calls);
    in.o.len = 0;
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(in.o.text, "end\n", "the end stays the end");
    cr_assert_eq(in.calls, calls, "the hook is not asked after the end");
    kiln_free(vm);
}

Test(input, stdin_is_its_own_capability)
{
    input in = {.text = "x\n", .chunk = 8};
    kiln_vm *vm = input_vm(&in, KILN_ALLOW_ALL & ~KILN_ALLOW_STDIN, KILN_FLAG_TRACE_SYS,
                           "import io\n"
                           "try { print(io.read_line()) } catch e: PermissionError { print(e) }\n");
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(in.o.text, "[sys] io.read_line: denied\n"
                                "PermissionError: io.read_line: not allowed\n");
    cr_assert_eq(in.calls, 0);
    kiln_free(vm);
}

Test(input, a_failing_hook_is_an_io_error)
{
    input in = {.text = "x\n", .chunk = 8, .fail_at = 1};
    kiln_vm *vm = input_vm(&in, KILN_ALLOW_STDIN, 0,
                           "import io\n"
                           "try { print(io.read_line()) } catch e: IOError { print(e) }\n");
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert(strstr(in.o.text, "IOError: io.read_line: cannot read the input"), "%s", in.o.text);
    kiln_free(vm);
}

Test(input, an_interrupt_during_the_hook_stops_the_guest)
{
    input in = {.text = "a\nb\n", .chunk = 8};
    kiln_vm *vm = input_vm(&in, KILN_ALLOW_STDIN, 0, READ_ALL);
    in.vm = vm;
    cr_assert_eq(kiln_run(vm), KILN_ERR_LIMIT, "%s", kiln_error(vm));
    cr_assert(strstr(kiln_error(vm), "interrupted"), "%s", kiln_error(vm));
    cr_assert_str_eq(in.o.text, "", "stopped before the first line was used");
    kiln_free(vm);
}
