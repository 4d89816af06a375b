/*
 * test_ffi.c — the FFI's tables in an image (C structs, C signatures,
 * extern functions): the compiler writes them, the reader and the
 * verifier refuse every way a hand-made image could make the FFI read a
 * value as another type. Calls themselves are tested by tests/lang/ffi.
 */
#include "unit.h"

static const char PROGRAM[] =
    "extern struct pt { x: c_int, y: c_double }\n"
    "extern \"libc.so.6\" {\n"
    "    fn abs(x: c_int) -> c_int\n"
    "    fn f(p: pt, q: *pt, cb: fn(ptr) -> c_int, s: cstr, b: ptr) -> pt\n"
    "    fn printf(fmt: cstr, ...) -> c_int\n"
    "}\n"
    "fn main() { printf(\"%ld %f\", 1, 2.0) }\n";

/* The program's image, read back from its bytes. */
static void load(vm_image *im)
{
    vm_buf b;
    unit_compile("ffi.kn", PROGRAM, &b);
    char err[256] = "";
    cr_assert(vm_image_read((const uint8_t *)b.data, b.len, true, im, err, sizeof err), "%s", err);
    vm_buf_free(&b);
    cr_assert(vm_verify(im, err, sizeof err), "%s", err);
}

/* The extern function whose symbol is `name` (the variadic call's for
 * printf: the one with more parameters than it declares). */
static vm_extern *ext(vm_image *im, const char *name)
{
    vm_extern *found = NULL;
    for (uint32_t i = 0; i < im->nexterns; i++)
        if (!strcmp(vm_image_str(im, im->natives[im->externs[i].native].name), name) &&
            (!found || im->csigs[im->externs[i].sig].nparams > im->csigs[found->sig].nparams))
            found = &im->externs[i];
    cr_assert(found, "no extern %s", name);
    return found;
}

static void verify_fails(vm_image *im, const char *want)
{
    char err[256] = "";
    cr_assert_not(vm_verify(im, err, sizeof err), "verified, expected: %s", want);
    cr_assert(strstr(err, want), "error '%s', expected '%s'", err, want);
    vm_image_free(im);
}

Test(ffi, compiled_tables)
{
    vm_image im;
    load(&im);
    cr_assert_eq(im.ncstructs, 1);
    cr_assert_eq(im.cstructs[0].nfields, 2);
    cr_assert_eq(im.cstructs[0].ctypes[0], VM_C_INT);
    cr_assert_eq(im.cstructs[0].ctypes[1], VM_C_DOUBLE);
    vm_extern *f = ext(&im, "f");
    const vm_csig *g = &im.csigs[f->sig];
    cr_assert_eq(g->nparams, 5);
    cr_assert_eq(g->nfixed, 5);
    cr_assert_eq(g->params[0], VM_CTYPE(VM_C_STRUCT, 0));
    cr_assert_eq(g->params[1], VM_CTYPE(VM_C_STRUCTP, 0));
    cr_assert_eq(VM_CKIND(g->params[2]), VM_C_FN);
    cr_assert_eq(g->params[3], VM_C_CSTR);
    cr_assert_eq(g->params[4], VM_C_PTR);
    cr_assert_eq(g->ret, VM_CTYPE(VM_C_STRUCT, 0));
    cr_assert_str_eq(vm_image_str(&im, f->lib), "libc.so.6");
    cr_assert_str_eq(vm_image_str(&im, f->pnames[2]), "cb");
    const vm_csig *cb = &im.csigs[VM_CIDX(g->params[2])];
    cr_assert_eq(cb->nparams, 1);
    cr_assert_eq(cb->params[0], VM_C_PTR);
    cr_assert_eq(cb->ret, VM_C_INT);
    /* printf's call: one fixed parameter, then a long and a double */
    vm_extern *p = ext(&im, "printf");
    g = &im.csigs[p->sig];
    cr_assert_eq(g->nfixed, 1);
    cr_assert_eq(g->nparams, 3);
    cr_assert_eq(g->params[1], VM_C_LONG);
    cr_assert_eq(g->params[2], VM_C_DOUBLE);
    cr_assert_str_eq(vm_image_str(&im, p->pnames[1]), "...");
    /* the listing names them */
    vm_buf out = {0};
    vm_disasm(&im, &out);
    cr_assert(strstr(out.data, "extern \"libc.so.6\" n"), "%s", out.data);
    cr_assert(strstr(out.data, " f(pt, *pt, fn(ptr) -> c_int, cstr, ptr) -> pt\n"), "%s", out.data);
    cr_assert(strstr(out.data, " printf(cstr, ..., c_long, c_double) -> c_int\n"), "%s", out.data);
    cr_assert(strstr(out.data, "cstruct s0 c"), "%s", out.data);
    vm_buf_free(&out);
    vm_image_free(&im);
}

Test(ffi, image_round_trip)
{
    vm_buf a, b = {0};
    unit_compile("ffi.kn", PROGRAM, &a);
    vm_image im;
    char err[256] = "";
    cr_assert(vm_image_read((const uint8_t *)a.data, a.len, true, &im, err, sizeof err), "%s", err);
    cr_assert(vm_image_write(&im, &b));
    cr_assert_eq(a.len, b.len);
    cr_assert(memcmp(a.data, b.data, a.len) == 0, "the same image gives the same bytes");
    vm_image_free(&im);
    vm_buf_free(&a);
    vm_buf_free(&b);
}

/* The Kiln types the guest's code passes must be the C types' own. */
Test(ffi, kiln_types_must_match)
{
    vm_image im;
    load(&im);
    im.natives[ext(&im, "abs")->native].params[0] = VM_T_FLOAT;
    verify_fails(&im, "extern abs parameter 1 is float, C type c_int");
    load(&im);
    im.natives[ext(&im, "f")->native].params[4] = VM_T_INT; /* an int where C takes a ptr */
    verify_fails(&im, "extern f parameter 5 is int, C type ptr");
    load(&im);
    im.natives[ext(&im, "abs")->native].ret = VM_T_STR;
    verify_fails(&im, "extern abs returns str, C type c_int");
    load(&im);
    im.natives[ext(&im, "f")->native].params[0] = VM_T_PTR; /* a struct by value from a ptr */
    verify_fails(&im, "extern f parameter 1 is ptr, C type struct");
    load(&im);
    im.natives[ext(&im, "abs")->native].nparams = 0;
    verify_fails(&im, "extern abs takes 0 arguments, its C signature 1");
}

Test(ffi, signatures_must_be_passable)
{
    vm_image im;
    load(&im);
    im.csigs[ext(&im, "abs")->sig].params[0] = VM_C__COUNT;
    verify_fails(&im, "bad parameter 1 type");
    load(&im);
    im.csigs[ext(&im, "abs")->sig].params[0] = VM_C_VOID;
    verify_fails(&im, "bad parameter 1 type");
    load(&im);
    im.csigs[ext(&im, "abs")->sig].params[0] = VM_CTYPE(VM_C_INT, 1); /* an index on a scalar */
    verify_fails(&im, "bad parameter 1 type");
    load(&im);
    vm_csig *g = &im.csigs[ext(&im, "f")->sig];
    g->params[0] = VM_CTYPE(VM_C_STRUCT, 7); /* no such struct */
    verify_fails(&im, "bad parameter 1 type");
    load(&im);
    g = &im.csigs[ext(&im, "f")->sig];
    g->ret = VM_CTYPE(VM_C_STRUCTP, 0); /* results are never struct pointers */
    verify_fails(&im, "bad result type");
    load(&im);
    g = &im.csigs[ext(&im, "printf")->sig];
    g->params[1] = VM_C_CHAR; /* not what C's promotions pass variadically */
    verify_fails(&im, "bad parameter 2 type");
}

Test(ffi, callbacks_take_scalars_only)
{
    vm_image im;
    load(&im);
    vm_csig *g = &im.csigs[ext(&im, "f")->sig];
    uint32_t cbi = VM_CIDX(g->params[2]);
    im.csigs[cbi].params[0] = VM_CTYPE(VM_C_STRUCT, 0);
    verify_fails(&im, "bad parameter 3 type");
    load(&im);
    g = &im.csigs[ext(&im, "f")->sig];
    cbi = VM_CIDX(g->params[2]);
    im.csigs[cbi].nfixed = 0; /* a variadic callback */
    verify_fails(&im, "bad parameter 3 type");
    load(&im);
    g = &im.csigs[ext(&im, "f")->sig];
    cbi = VM_CIDX(g->params[2]);
    im.csigs[cbi].ret = VM_C_CSTR; /* a string C would have to free */
    verify_fails(&im, "bad parameter 3 type");
}

Test(ffi, structs_must_match_their_class)
{
    vm_image im;
    load(&im);
    im.cstructs[0].ctypes[0] = VM_C_CSTR; /* a field C would read as a char * */
    verify_fails(&im, "C struct 0 field 0");
    load(&im);
    im.cstructs[0].ctypes[1] = VM_C_INT; /* the class's field is a float */
    verify_fails(&im, "C struct 0 field 1");
    load(&im);
    im.cstructs[0].nfields = 1;
    verify_fails(&im, "C struct 0 does not match its class pt");
    load(&im);
    im.cstructs[0].cls = (uint32_t)vm_error_class(&im); /* Error: a str field */
    verify_fails(&im, "C struct 0 does not match its class Error");
}

/* The reader checks indexes before anything uses them. */
static void read_fails(vm_image *im, const char *want)
{
    vm_buf b = {0};
    cr_assert(vm_image_write(im, &b));
    vm_image_free(im);
    vm_image back;
    char err[256] = "";
    cr_assert_not(vm_image_read((const uint8_t *)b.data, b.len, true, &back, err, sizeof err),
                  "read, expected: %s", want);
    cr_assert(strstr(err, want), "error '%s', expected '%s'", err, want);
    vm_image_free(&back);
    vm_buf_free(&b);
}

Test(ffi, reader_checks_indexes)
{
    vm_image im;
    load(&im);
    ext(&im, "abs")->native = im.nnatives;
    read_fails(&im, "out of range");
    load(&im);
    ext(&im, "abs")->sig = im.ncsigs;
    read_fails(&im, "out of range");
    load(&im);
    ext(&im, "abs")->lib = im.nstrs;
    read_fails(&im, "extern library string index");
    load(&im);
    ext(&im, "f")->native = ext(&im, "abs")->native;
    read_fails(&im, "is extern twice");
    load(&im);
    im.cstructs[0].cls = im.nclasses;
    read_fails(&im, "bad C struct 0");
    load(&im);
    im.csigs[0].nfixed = (uint8_t)(im.csigs[0].nparams + 1);
    read_fails(&im, "bad C signature 0");
}
