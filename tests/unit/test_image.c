/*
 * test_image.c — the image format: write/read round trips, reproducible
 * builds, the header, and the reader's refusals (vm_image.c).
 */
#include "unit.h"

static const char PROGRAM[] = "// a program touching every section of the image\n"
                              "fn fib(n: int) -> int {\n"
                              "    if n < 2 { return n }\n"
                              "    return fib(n - 1) + fib(n - 2)\n"
                              "}\n"
                              "fn scale(x: float, k: float) -> float { return x * k + 0.5 }\n"
                              "var count = 0\n"
                              "let big = 1234567890123\n"
                              "var label: str = null\n"
                              "for i in 0..10 { count += fib(i) }\n"
                              "label = \"n=${count} f=${scale(1.5, 2.0)} big=${big}\"\n"
                              "fn main() {\n"
                              "    print(label)\n"
                              "    print(\"caf\\u{e9}\".len())\n"
                              "    print(\"abcdef\".slice(1, 3).to_upper())\n"
                              "}\n";

static uint32_t rd32(const vm_buf *b, size_t at)
{
    const uint8_t *p = (const uint8_t *)b->data + at;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads `len` bytes, expecting failure with exactly `want`. */
static void assert_read_fails(const void *bytes, size_t len, bool sum, const char *want)
{
    vm_image im;
    char err[256] = "";
    cr_assert_not(vm_image_read(bytes, len, sum, &im, err, sizeof err), "read succeeded");
    cr_assert_str_eq(err, want);
    vm_image_free(&im);
}

Test(image, round_trip_gives_identical_bytes)
{
    vm_buf a;
    unit_compile("prog.kn", PROGRAM, &a);
    vm_image im;
    char err[256] = "";
    cr_assert(vm_image_read((const uint8_t *)a.data, a.len, true, &im, err, sizeof err), "%s", err);
    cr_assert(vm_verify(&im, err, sizeof err), "%s", err);
    vm_buf b = {0};
    cr_assert(vm_image_write(&im, &b));
    cr_assert_eq(b.len, a.len);
    cr_assert(memcmp(a.data, b.data, a.len) == 0, "rewritten image differs");

    /* And once more from the rewritten bytes. */
    vm_image im2;
    cr_assert(vm_image_read((const uint8_t *)b.data, b.len, true, &im2, err, sizeof err), "%s",
              err);
    vm_buf c = {0};
    cr_assert(vm_image_write(&im2, &c));
    cr_assert_eq(c.len, a.len);
    cr_assert(memcmp(a.data, c.data, a.len) == 0);
    vm_image_free(&im);
    vm_image_free(&im2);
    vm_buf_free(&a);
    vm_buf_free(&b);
    vm_buf_free(&c);
}

Test(image, read_gives_the_program_structure)
{
    vm_buf a;
    unit_compile("dir/prog.kn", PROGRAM, &a);
    vm_image im;
    char err[256] = "";
    cr_assert(vm_image_read((const uint8_t *)a.data, a.len, true, &im, err, sizeof err), "%s", err);
    cr_assert_eq(im.nmodules, 2, "the program and the prelude");
    cr_assert_str_eq(vm_image_str(&im, im.modules[1].file), "<prelude>");
    cr_assert_eq(im.entry, 0);
    cr_assert_str_eq(vm_image_str(&im, im.modules[0].name), "prog",
                     "module name: base name without .kn");
    cr_assert_str_eq(vm_image_str(&im, im.modules[0].file), "dir/prog.kn");
    cr_assert_str_eq(vm_image_str(&im, im.funcs[im.modules[0].init].name), "<module>");
    /* the program's functions, found by name (a prelude may add others) */
    const vm_func *fib = &im.funcs[unit_func(&im, "fib")];
    cr_assert_eq(fib->nparams, 1);
    cr_assert_eq(fib->ret, VM_T_INT);
    cr_assert_eq(fib->types[0], VM_T_INT);
    const vm_func *scale = &im.funcs[unit_func(&im, "scale")];
    cr_assert_eq(scale->nparams, 2);
    cr_assert_eq(scale->ret, VM_T_FLOAT);
    cr_assert_eq(scale->types[1], VM_T_FLOAT);
    cr_assert_geq(im.main, 0);
    cr_assert_str_eq(vm_image_str(&im, im.funcs[im.main].name), "main");
    cr_assert_eq(im.funcs[im.main].ret, VM_T_VOID);
    /* globals keep their declared types */
    bool count = false, label = false;
    for (uint32_t i = 0; i < im.nglobals; i++) {
        const char *n = vm_image_str(&im, im.globals[i].name);
        if (!strcmp(n, "count"))
            count = im.globals[i].type == VM_T_INT && im.globals[i].flags == VM_GLOBAL_VAR;
        if (!strcmp(n, "label"))
            label = im.globals[i].type == VM_T_STR;
    }
    cr_assert(count && label, "globals count: int and label: str");
    /* the large int literal is a constant; natives are referenced by name */
    bool has_big = false;
    for (uint32_t i = 0; i < im.nconsts; i++)
        has_big |= im.consts[i].type == VM_T_INT && im.consts[i].bits == 1234567890123ull;
    cr_assert(has_big);
    bool has_slice = false;
    for (uint32_t i = 0; i < im.nnatives; i++)
        if (!strcmp(vm_image_str(&im, im.natives[i].name), "str.slice")) {
            has_slice = true;
            cr_assert_eq(im.natives[i].nparams, 3);
            cr_assert_eq(im.natives[i].params[0], VM_T_STR);
            cr_assert_eq(im.natives[i].params[1], VM_T_INT);
            cr_assert_eq(im.natives[i].ret, VM_T_STR);
        }
    cr_assert(has_slice);
    /* line table: fib's first instruction is on line 3 */
    cr_assert_eq(vm_func_line(fib, 0), 3);
    cr_assert_eq(vm_image_str(&im, im.nstrs)[0], '?', "an index out of range reads as \"?\"");
    vm_image_free(&im);
    vm_buf_free(&a);
}

Test(image, same_source_gives_same_bytes)
{
    vm_buf a, b;
    unit_compile("prog.kn", PROGRAM, &a);
    unit_compile("prog.kn", PROGRAM, &b);
    cr_assert_eq(a.len, b.len);
    cr_assert(memcmp(a.data, b.data, a.len) == 0, "two builds of one source differ");
    vm_buf_free(&b);
    /* A different file name changes the bytes (it is in the image). */
    unit_compile("other.kn", PROGRAM, &b);
    cr_assert(a.len != b.len || memcmp(a.data, b.data, a.len) != 0);
    vm_buf_free(&a);
    vm_buf_free(&b);
}

Test(image, header)
{
    vm_buf a;
    unit_compile("prog.kn", PROGRAM, &a);
    static const char MAGIC[8] = {0x7f, 'K', 'I', 'L', 'N', '\r', '\n', 0x1a};
    cr_assert(memcmp(a.data, MAGIC, 8) == 0);
    cr_assert(vm_image_is(a.data, a.len));
    cr_assert_not(vm_image_is(a.data, 7), "shorter than the magic");
    cr_assert_not(vm_image_is("print(1)\n", 9));
    cr_assert_eq(rd32(&a, 8), KILN_IMAGE_VERSION);
    cr_assert_eq(rd32(&a, 12), 10, "ten sections");
    /* Every section, in order, each tag followed by its size. */
    static const char TAGS[10][5] = {"STRS", "TYPE", "CNST", "GLOB", "NATV",
                                     "CLAS", "FUNC", "EXTN", "MODS", "ENTR"};
    size_t at = 24; /* the first section follows the header */
    for (int i = 0; i < 10; i++) {
        cr_assert_leq(at + 8, a.len, "section %s past the end", TAGS[i]);
        cr_assert(memcmp(a.data + at, TAGS[i], 4) == 0, "section %d is not %s", i, TAGS[i]);
        at += 8 + rd32(&a, at + 4);
    }
    cr_assert_eq(at, a.len, "ENTR is the last section");
    vm_buf_free(&a);
}

Test(image, handmade_image_round_trip)
{
    /* Every field set, including ones the compiler leaves at zero. */
    uint32_t off[3] = {0, 2, 5}, len[3] = {1, 2, 3};
    char data[] = "m\0ab\0xyz";
    vm_const k[2] = {{VM_T_INT, 0x8000000000000001ull}, {VM_T_STR, 2}};
    vm_global g[2] = {{1, VM_T_BOOL, 0}, {1, VM_T__COUNT + 1, VM_GLOBAL_VAR}};
    /* types 5 and 6 both name class 0 (the reader does not mind; the
     * verifier would), class 0 has two fields and a slot */
    uint16_t fparams[2] = {VM_T_STR, VM_T__COUNT};
    vm_type t[4] = {{VM_K_CLASS, 0, NULL},
                    {VM_K_CLASS, 0, NULL},
                    {VM_K_FN, VM_T_INT | 2u << 16, fparams},
                    {VM_K_CELL, VM_T__COUNT + 2, NULL}};
    uint16_t ftypes[2] = {VM_T__COUNT + 1, VM_T_FLOAT};
    uint32_t fnames[2] = {1, 2};
    uint32_t slots[1] = {0};
    vm_class c[1] = {{.name = 2,
                      .super = -1,
                      .type = VM_T__COUNT + 1,
                      .nfields = 2,
                      .field_types = ftypes,
                      .field_names = fnames,
                      .nslots = 1,
                      .slots = slots}};
    vm_nativeref n[1] = {
        {.name = 2, .nparams = 2, .ret = VM_T_STR, .params = {VM_T_STR, VM_T_INT}}};
    uint16_t types[3] = {VM_T_INT, VM_T_STR, VM_T__COUNT};
    uint32_t code[3] = {MK_ABx(OP_LOADK, 0, 0), MK_ABC(OP_NOP, 0, 0, 0), MK_ABC(OP_RET0, 0, 0, 0)};
    vm_line lines[2] = {{0, 7}, {2, 9}};
    vm_func f[1] = {{.name = 0,
                     .module = 0,
                     .nparams = 0,
                     .ncaps = 2,
                     .ret = VM_T__COUNT + 1,
                     .nregs = 3,
                     .types = types,
                     .ncode = 3,
                     .code = code,
                     .nlines = 2,
                     .lines = lines}};
    vm_module m[1] = {{0, 1, 0}};
    vm_image im = {.ntypes = 4,
                   .types = t,
                   .nclasses = 1,
                   .classes = c,
                   .nstrs = 3,
                   .str_off = off,
                   .str_len = len,
                   .str_data = data,
                   .nconsts = 2,
                   .consts = k,
                   .nglobals = 2,
                   .globals = g,
                   .nnatives = 1,
                   .natives = n,
                   .nfuncs = 1,
                   .funcs = f,
                   .nmodules = 1,
                   .modules = m,
                   .entry = 0,
                   .main = -1};
    vm_buf a = {0};
    cr_assert(vm_image_write(&im, &a));
    vm_image r;
    char err[256] = "";
    cr_assert(vm_image_read((const uint8_t *)a.data, a.len, true, &r, err, sizeof err), "%s", err);
    cr_assert_eq(r.nstrs, 3);
    cr_assert_str_eq(vm_image_str(&r, 2), "xyz");
    cr_assert_eq(r.str_len[1], 2);
    cr_assert_eq(r.consts[0].bits, 0x8000000000000001ull);
    cr_assert_eq(r.consts[1].type, VM_T_STR);
    cr_assert_eq(r.globals[0].type, VM_T_BOOL);
    cr_assert_eq(r.globals[1].type, VM_T__COUNT + 1);
    cr_assert_eq(r.globals[0].flags, 0);
    cr_assert_eq(r.globals[1].flags, VM_GLOBAL_VAR);
    cr_assert_eq(r.ntypes, 4);
    cr_assert_eq(r.types[1].kind, VM_K_CLASS);
    cr_assert_eq(r.types[1].a, 0);
    cr_assert_eq(r.types[2].kind, VM_K_FN);
    cr_assert_eq(VM_FN_NPARAMS(r.types[2].a), 2);
    cr_assert_eq(VM_FN_RET(r.types[2].a), VM_T_INT);
    cr_assert_eq(r.types[2].params[1], VM_T__COUNT);
    cr_assert_eq(r.types[3].kind, VM_K_CELL);
    cr_assert_eq(r.types[3].a, VM_T__COUNT + 2);
    cr_assert_eq(r.funcs[0].ncaps, 2);
    cr_assert_eq(r.nclasses, 1);
    cr_assert_eq(r.classes[0].super, -1);
    cr_assert_eq(r.classes[0].type, VM_T__COUNT + 1);
    cr_assert_eq(r.classes[0].nfields, 2);
    cr_assert_eq(r.classes[0].field_types[0], VM_T__COUNT + 1);
    cr_assert_eq(r.classes[0].field_types[1], VM_T_FLOAT);
    cr_assert_eq(r.classes[0].field_names[1], 2);
    cr_assert_eq(r.classes[0].nslots, 1);
    cr_assert_eq(r.classes[0].slots[0], 0);
    cr_assert_eq(r.funcs[0].ret, VM_T__COUNT + 1);
    cr_assert_eq(r.funcs[0].types[2], VM_T__COUNT);
    cr_assert_str_eq(vm_type_str(&r, VM_T__COUNT), "xyz");
    cr_assert_str_eq(vm_type_str(&r, VM_T_FLOAT), "float");
    cr_assert_str_eq(vm_type_str(&r, VM_T__COUNT + 2), "function");
    cr_assert_str_eq(vm_type_str(&r, VM_T__COUNT + 4), "?", "past the type table");
    cr_assert_eq(r.natives[0].params[1], VM_T_INT);
    cr_assert_eq(r.funcs[0].ncode, 3);
    cr_assert_eq(r.funcs[0].code[0], code[0]);
    cr_assert_eq(r.funcs[0].nlines, 2);
    cr_assert_eq(vm_func_line(&r.funcs[0], 0), 7);
    cr_assert_eq(vm_func_line(&r.funcs[0], 1), 7);
    cr_assert_eq(vm_func_line(&r.funcs[0], 2), 9);
    cr_assert_eq(r.main, -1);
    vm_buf b = {0};
    cr_assert(vm_image_write(&r, &b));
    cr_assert_eq(a.len, b.len);
    cr_assert(memcmp(a.data, b.data, a.len) == 0);
    vm_image_free(&r);
    vm_buf_free(&a);
    vm_buf_free(&b);
}

Test(image, checksum)
{
    vm_buf a;
    unit_compile("prog.kn", "print(\"hello\")\n", &a);
    /* flip a byte of the string "hello" */
    char *h = NULL;
    for (size_t i = 0; i + 5 <= a.len && !h; i++)
        if (memcmp(a.data + i, "hello", 5) == 0)
            h = a.data + i;
    cr_assert_not_null(h);
    h[0] = 'j';
    assert_read_fails(a.data, a.len, true, "invalid image: checksum mismatch at offset 16");
    vm_image im;
    char err[256] = "";
    cr_assert(vm_image_read((const uint8_t *)a.data, a.len, false, &im, err, sizeof err),
              "without the checksum the structure is fine: %s", err);
    vm_image_free(&im);
    vm_buf_free(&a);
}

Test(image, header_errors)
{
    vm_buf a;
    unit_compile("prog.kn", "print(1)\n", &a);
    assert_read_fails("", 0, true, "invalid image: bad magic at offset 0");
    assert_read_fails("print(1)\n", 9, true, "invalid image: bad magic at offset 0");
    assert_read_fails(a.data, 8, true, "invalid image: truncated data at offset 8");
    assert_read_fails(a.data, 23, true, "invalid image: truncated data at offset 20");
    char want[128];
    a.data[8] = 9;
    snprintf(want, sizeof want,
             "invalid image: format version 9, this kiln reads version %d at offset 8",
             KILN_IMAGE_VERSION);
    assert_read_fails(a.data, a.len, true, want);
    a.data[8] = 1; /* the version before classes: refused, not misread */
    snprintf(want, sizeof want,
             "invalid image: format version 1, this kiln reads version %d at offset 8",
             KILN_IMAGE_VERSION);
    assert_read_fails(a.data, a.len, true, want);
    a.data[8] = KILN_IMAGE_VERSION;
    a.data[12] = 7; /* the section count of version 1 */
    assert_read_fails(a.data, a.len, true, "invalid image: 7 sections, expected 10 at offset 12");
    a.data[12] = 9; /* the section count of version 4, before the FFI's */
    assert_read_fails(a.data, a.len, true, "invalid image: 9 sections, expected 10 at offset 12");
    vm_buf_free(&a);
}

Test(image, every_truncation_is_refused)
{
    vm_buf a;
    unit_compile("prog.kn", PROGRAM, &a);
    for (size_t len = 0; len < a.len; len++) {
        vm_image im;
        char err[256] = "";
        bool ok = vm_image_read((const uint8_t *)a.data, len, false, &im, err, sizeof err);
        cr_assert_not(ok, "a %zu-byte prefix of a %zu-byte image was accepted", len, a.len);
        cr_assert(strncmp(err, "invalid image: ", 15) == 0, "len %zu: %s", len, err);
        vm_image_free(&im);
    }
    vm_buf_free(&a);
}

Test(image, trailing_bytes_are_refused)
{
    vm_buf a;
    unit_compile("prog.kn", "print(1)\n", &a);
    size_t len = a.len;
    vm_buf_put(&a, "\0\0", 2);
    char want[128];
    snprintf(want, sizeof want, "invalid image: 2 stray bytes after the last section at offset %zu",
             len);
    assert_read_fails(a.data, a.len, false, want);
    vm_buf_free(&a);
}

Test(image, sections_must_come_in_order)
{
    vm_buf a;
    unit_compile("prog.kn", "print(1)\n", &a);
    size_t type = 24 + 8 + rd32(&a, 28); /* after STRS */
    cr_assert(memcmp(a.data + type, "TYPE", 4) == 0);
    size_t cnst = type + 8 + rd32(&a, type + 4);
    cr_assert(memcmp(a.data + cnst, "CNST", 4) == 0);
    char want[128];
    /* A version-1 reader's order (CNST right after STRS) is refused. */
    memcpy(a.data + type, "CNST", 4);
    snprintf(want, sizeof want, "invalid image: expected section TYPE at offset %zu", type);
    assert_read_fails(a.data, a.len, false, want);
    memcpy(a.data + type, "TYPE", 4);
    memcpy(a.data + cnst, "GLOB", 4);
    snprintf(want, sizeof want, "invalid image: expected section CNST at offset %zu", cnst);
    assert_read_fails(a.data, a.len, false, want);
    vm_buf_free(&a);
}

Test(image, disassembly)
{
    vm_buf a;
    unit_compile("prog.kn", PROGRAM, &a);
    vm_image im;
    char err[256] = "";
    cr_assert(vm_image_read((const uint8_t *)a.data, a.len, true, &im, err, sizeof err), "%s", err);
    vm_buf out = {0};
    vm_disasm(&im, &out);
    const char *t = unit_text(&out);
    char want[128];
    snprintf(want, sizeof want, "module prog (prog.kn), init f%u\n", im.modules[0].init);
    cr_assert_not_null(strstr(t, want), "%s", t);
    snprintf(want, sizeof want, "fn f%u fib(r0: int) -> int", unit_func(&im, "fib"));
    cr_assert_not_null(strstr(t, want), "%s", t);
    cr_assert_not_null(strstr(t, " count: int\n"), "%s", t);
    cr_assert_not_null(strstr(t, "global g0 "), "%s", t);
    cr_assert_not_null(strstr(t, "native n"), "%s", t);
    /* fib calls itself with a packed call (one argument, named by register) */
    snprintf(want, sizeof want, " f%u(fib)\n", unit_func(&im, "fib"));
    const char *call = strstr(t, " CALLP ");
    cr_assert(call && strstr(call, want) && strstr(call, want) < strchr(call, '\n') + 1, "%s", t);
    cr_assert_null(strstr(t, "<bad opcode"), "%s", t);
    vm_buf_free(&out);
    vm_image_free(&im);
    vm_buf_free(&a);
}
