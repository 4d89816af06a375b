/*
 * bad_images.c — generator of the bad-bytecode corpus.
 *
 *   build/bad-images OUTDIR
 *
 * writes, for each case, OUTDIR/NAME.kbc (a malformed image) and
 * OUTDIR/NAME.err (one line: a substring that `kiln verify OUTDIR/NAME.kbc`
 * must print on stderr).
 *
 * Every case starts from one small valid image, built as a vm_image in
 * memory (three classes, Base, Derived : Base and Other, among its
 * functions and globals), and breaks exactly one thing:
 *   - verifier cases (v_*) change the code or the signature of one
 *     function ("f"; the object cases first give it registers of the class
 *     types) and are written by vm_image_write, so the checksum is right
 *     and the reader accepts them: only vm_verify can reject them;
 *   - class cases (c_*) break one rule of the type table or a class
 *     (check_types / check_class), also written by vm_image_write;
 *   - reader cases change a field the writer copies blindly (a type code,
 *     a string index...), or patch the written bytes (counts, section tags,
 *     sizes, trailing bytes), then recompute the checksum, so the fault the
 *     case is about is the first one the reader meets;
 *   - the checksum, magic and version cases leave the rest intact.
 *
 * Before writing, the generator checks its own expectations through the
 * public API (kiln_load_image must fail with the expected text) and that
 * the unbroken base image loads and runs (and verifies with the object
 * registers of f and code using every class role correctly), so a stale
 * expectation is caught here and not only by `kiln verify`. Exit status: 0 all written and
 * confirmed, 1 a case did not fail as expected, 2 usage or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../vm/kiln.h"
#include "../../vm/vm.h"

/* ---- The base image ---- */

enum { MAX_STRS = 32, MAX_CODE = 64, MAX_REGS = 16 };

/* Functions of the base image. "f" is the one the verifier cases rewrite;
 * nothing calls it, so its signature can change freely. The last five are
 * the classes' methods. */
enum { F_INIT, F_F, F_H, F_V, F_MAIN, F_BTOS, F_BGET, F_DTOS, F_DGET, F_OTOS, NFUNCS };
/* Strings ("gs" stays last: r_section_size_short cuts its two bytes). */
enum {
    S_MOD,
    S_FILE,
    S_INIT,
    S_F,
    S_H,
    S_V,
    S_MAIN,
    S_PRINT,
    S_STR,
    S_HELLO,
    S_BASE,
    S_DERIVED,
    S_OTHER,
    S_TOSTR,
    S_GET,
    S_X,
    S_NEXT,
    S_S,
    S_GB,
    S_GI,
    S_GS,
    NSTRS
};
/* Classes and their type ids (type-table entry i is type VM_T__COUNT + i). */
enum { C_BASE, C_DERIVED, C_OTHER, NCLASSES };
enum { T_BASE = VM_T__COUNT, T_DERIVED, T_OTHER, T_END };
enum { NTYPES = T_END - VM_T__COUNT };
/* Registers of f: one of each type, then spares; r7 is an int so a call
 * whose arguments start at r7 has a valid first argument and runs out of
 * registers on the second. */
static const uint16_t F_TYPES[] = {VM_T_INT, VM_T_FLOAT, VM_T_BOOL,  VM_T_STR,
                                   VM_T_INT, VM_T_STR,   VM_T_FLOAT, VM_T_INT};
enum { F_NREGS = sizeof F_TYPES / sizeof F_TYPES[0] };
/* Registers of f in the object cases (CASE_O): the scalars, then objects.
 * A call whose arguments start at r4 passes (Base, float), at r6 (Derived,
 * int), at r10 (Base) and then runs out of registers. */
static const uint16_t O_TYPES[] = {VM_T_INT,  VM_T_FLOAT, VM_T_BOOL, VM_T_STR, T_BASE, VM_T_FLOAT,
                                   T_DERIVED, VM_T_INT,   T_OTHER,   VM_T_STR, T_BASE};
enum { O_NREGS = sizeof O_TYPES / sizeof O_TYPES[0] };
/* The closure base (closure_init) adds to the type table two function
 * types and two cell types, and two functions that capture a value:
 *   8 fn(int) -> int   9 fn()   10 cell of int   11 cell of str
 *   f10 add(x: int) -> int capturing k: int     regs i i i : return x + k
 *   f11 bump() -> void capturing c: cell of int regs cell i : c = c
 * (the base itself keeps NTYPES types and NFUNCS functions). */
enum { T_FN_II = T_END, T_FN_V, T_CELL_I, T_CELL_S, T_XEND };
enum { NXTYPES = T_XEND - T_END };
enum { F_ADD = NFUNCS, F_BUMP, NFUNCS_X };
/* Registers of f in the closure cases (CASE_X): a function value at r4
 * whose argument r5 is right, one at r11 whose argument r12 is wrong, one
 * at r13 whose argument would be past the last register. */
static const uint16_t X_TYPES[] = {VM_T_INT, VM_T_FLOAT, VM_T_BOOL, VM_T_STR, T_FN_II,
                                   VM_T_INT, T_FN_V,     T_CELL_I,  T_CELL_S, VM_T_INT,
                                   VM_T_STR, T_FN_II,    VM_T_STR,  T_FN_II};
enum { X_NREGS = sizeof X_TYPES / sizeof X_TYPES[0] };

typedef struct base {
    vm_image im;
    uint32_t str_off[MAX_STRS], str_len[MAX_STRS];
    char str_data[1024];
    size_t str_used;
    vm_type ttab[NTYPES + NXTYPES];
    vm_class classes[NCLASSES];
    uint16_t field_types[NCLASSES][4];
    uint32_t field_names[NCLASSES][4];
    uint32_t slots[NCLASSES][4];
    vm_const consts[4];
    vm_global globals[4];
    vm_nativeref natives[4];
    vm_func funcs[NFUNCS_X];
    uint16_t types[NFUNCS_X][MAX_REGS];
    uint32_t code[NFUNCS_X][MAX_CODE];
    vm_line lines[NFUNCS_X][2];
    vm_module modules[2];
} base;

static uint32_t add_str(base *b, const char *s)
{
    vm_image *im = &b->im;
    size_t n = strlen(s);
    uint32_t i = im->nstrs++;
    b->str_off[i] = (uint32_t)b->str_used;
    b->str_len[i] = (uint32_t)n;
    memcpy(b->str_data + b->str_used, s, n + 1);
    b->str_used += n + 1;
    return i;
}

/* Replaces the code of function fi (its line table becomes one run at
 * pc 0, or empty when there is no code). */
static void set_code(base *b, int fi, const uint32_t *code, uint32_t n)
{
    vm_func *f = &b->funcs[fi];
    if (n)
        memcpy(b->code[fi], code, n * sizeof *code);
    f->ncode = n;
    f->nlines = n ? 1 : 0;
    b->lines[fi][0].pc = 0;
    b->lines[fi][0].line = 1;
}
#define SET_CODE(b, fi, ...) \
    do { \
        static const uint32_t code_[] = {__VA_ARGS__}; \
        set_code(b, fi, code_, sizeof code_ / sizeof code_[0]); \
    } while (0)

static void set_func(base *b, int fi, uint32_t name, uint8_t nparams, uint16_t ret,
                     const uint16_t *types, uint16_t nregs)
{
    vm_func *f = &b->funcs[fi];
    f->name = name;
    f->module = 0;
    f->nparams = nparams;
    f->ret = ret;
    f->nregs = nregs;
    if (nregs)
        memcpy(b->types[fi], types, nregs * sizeof *types);
    f->types = b->types[fi];
    f->code = b->code[fi];
    f->lines = b->lines[fi];
}

/* Sets class ci: fields (types[i], names[i]) and slots (function indices). */
static void set_class(base *b, int ci, uint32_t name, int32_t super, uint16_t nfields,
                      const uint16_t *types, const uint32_t *names, uint16_t nslots,
                      const uint32_t *slots)
{
    vm_class *c = &b->classes[ci];
    b->ttab[ci] = (vm_type){VM_K_CLASS, (uint32_t)ci, NULL};
    c->name = name;
    c->super = super;
    c->type = (uint16_t)(VM_T__COUNT + ci);
    c->nfields = nfields;
    c->nslots = nslots;
    if (nfields) {
        memcpy(b->field_types[ci], types, nfields * sizeof *types);
        memcpy(b->field_names[ci], names, nfields * sizeof *names);
    }
    if (nslots)
        memcpy(b->slots[ci], slots, nslots * sizeof *slots);
    c->field_types = b->field_types[ci];
    c->field_names = b->field_names[ci];
    c->slots = b->slots[ci];
}

/*
 * The valid base program:
 *   types    5 Base (class 0)   6 Derived (class 1)   7 Other (class 2)
 *   classes  c0 Base               x: int, next: Base           to_str f5, get f6
 *            c1 Derived : Base     x: int, next: Base, s: str   to_str f7, get f8
 *            c2 Other              (no fields)                  to_str f9
 *   consts   k0 = 42 (int)   k1 = 1.5 (float)   k2 = "hello" (str)
 *   globals  g0 gi: int      g1 gs: str      g2 gb: Base
 *   natives  n0 print(int) -> void      n1 str(int) -> str
 *   f0 <module>() -> void    regs i f i : print(h(1, 1.5)); v(); gi = 42
 *   f1 f(int, float) -> int  regs i f b s i s f i : return r0
 *   f2 h(int, float) -> int  regs i f i : return r0 + int(r1)
 *   f3 v() -> void           : return
 *   f4 main() -> void        regs Derived i Base i s : d = new Derived;
 *                            d.x = 3; b: Base = d; b.next = d; gb = d;
 *                            b.get(0); b.to_str()
 *   f5 to_str(self: Base) -> str             "hello"
 *   f6 get(self: Base, n: int) -> int        self.x + n
 *   f7 to_str(self: Derived) -> str          self.s
 *   f8 get(self: Derived, n: int) -> int     self.x - n
 *   f9 to_str(self: Other) -> str            "hello"
 *   module 0 "base" (base.kn), init f0; entry module 0; main f4
 */
static void base_init(base *b)
{
    memset(b, 0, sizeof *b);
    vm_image *im = &b->im;
    im->str_off = b->str_off;
    im->str_len = b->str_len;
    im->str_data = b->str_data;
    static const char *const STRS[NSTRS] = {
        "base",  "base.kn", "<module>", "f",    "h",       "v",     "main",
        "print", "str",     "hello",    "Base", "Derived", "Other", "to_str",
        "get",   "x",       "next",     "s",    "gb",      "gi",    "gs"};
    for (int i = 0; i < NSTRS; i++)
        add_str(b, STRS[i]);

    static const uint16_t BASE_FT[] = {VM_T_INT, T_BASE},
                          DERIVED_FT[] = {VM_T_INT, T_BASE, VM_T_STR};
    static const uint32_t FN[] = {S_X, S_NEXT, S_S};
    static const uint32_t BASE_SL[] = {F_BTOS, F_BGET}, DERIVED_SL[] = {F_DTOS, F_DGET},
                          OTHER_SL[] = {F_OTOS};
    set_class(b, C_BASE, S_BASE, -1, 2, BASE_FT, FN, 2, BASE_SL);
    set_class(b, C_DERIVED, S_DERIVED, C_BASE, 3, DERIVED_FT, FN, 2, DERIVED_SL);
    set_class(b, C_OTHER, S_OTHER, -1, 0, NULL, NULL, 1, OTHER_SL);
    im->types = b->ttab;
    im->ntypes = NTYPES;
    im->classes = b->classes;
    im->nclasses = NCLASSES;

    double d = 1.5;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    b->consts[0] = (vm_const){VM_T_INT, 42};
    b->consts[1] = (vm_const){VM_T_FLOAT, bits};
    b->consts[2] = (vm_const){VM_T_STR, S_HELLO};
    im->consts = b->consts;
    im->nconsts = 3;

    b->globals[0] = (vm_global){S_GI, VM_T_INT, VM_GLOBAL_VAR};
    b->globals[1] = (vm_global){S_GS, VM_T_STR, 0};
    b->globals[2] = (vm_global){S_GB, T_BASE, VM_GLOBAL_VAR};
    im->globals = b->globals;
    im->nglobals = 3;

    b->natives[0] =
        (vm_nativeref){.name = S_PRINT, .nparams = 1, .ret = VM_T_VOID, .params = {VM_T_INT}};
    b->natives[1] =
        (vm_nativeref){.name = S_STR, .nparams = 1, .ret = VM_T_STR, .params = {VM_T_INT}};
    im->natives = b->natives;
    im->nnatives = 2;

    static const uint16_t INIT_TYPES[] = {VM_T_INT, VM_T_FLOAT, VM_T_INT};
    set_func(b, F_INIT, S_INIT, 0, VM_T_VOID, INIT_TYPES, 3);
    SET_CODE(b, F_INIT, MK_ABx(OP_LOADI, 0, 1), MK_ABx(OP_LOADK, 1, 1), MK_ABC(OP_CALL, 2, 0, 0),
             F_H,                                           /* r2 = h(r0, r1) */
             MK_ABC(OP_CALLN, 0, 2, 0), 0,                  /* print(r2) */
             MK_ABC(OP_CALL, 0, 0, 0), F_V,                 /* v() */
             MK_ABx(OP_LOADK, 0, 0), MK_ABx(OP_SETG, 0, 0), /* gi = 42 */
             MK_ABC(OP_RET0, 0, 0, 0));

    set_func(b, F_F, S_F, 2, VM_T_INT, F_TYPES, F_NREGS);
    SET_CODE(b, F_F, MK_ABC(OP_RET, 0, 0, 0));

    static const uint16_t H_TYPES[] = {VM_T_INT, VM_T_FLOAT, VM_T_INT};
    set_func(b, F_H, S_H, 2, VM_T_INT, H_TYPES, 3);
    SET_CODE(b, F_H, MK_ABC(OP_F2I, 2, 1, 0), MK_ABC(OP_ADD_I, 2, 0, 2), MK_ABC(OP_RET, 2, 0, 0));

    set_func(b, F_V, S_V, 0, VM_T_VOID, NULL, 0);
    SET_CODE(b, F_V, MK_ABC(OP_RET0, 0, 0, 0));

    static const uint16_t MAIN_TYPES[] = {T_DERIVED, VM_T_INT, T_BASE, VM_T_INT, VM_T_STR};
    set_func(b, F_MAIN, S_MAIN, 0, VM_T_VOID, MAIN_TYPES, 5);
    SET_CODE(b, F_MAIN, MK_ABx(OP_NEW, 0, C_DERIVED), MK_ABx(OP_LOADI, 1, 3),
             MK_ABC(OP_SETF, 1, 0, 0),     /* d.x = 3 */
             MK_ABC(OP_MOV, 2, 0, 0),      /* b: Base = d */
             MK_ABC(OP_SETF, 2, 0, 1),     /* d.next = b */
             MK_ABx(OP_SETG, 0, 2),        /* gb = d */
             MK_ABC(OP_CALLV, 3, 2, 0), 1, /* r3 = b.get(r3) */
             MK_ABC(OP_CALLV, 4, 2, 0), 0, /* r4 = b.to_str() */
             MK_ABC(OP_RET0, 0, 0, 0));

    static const uint16_t BTOS_TYPES[] = {T_BASE, VM_T_STR};
    set_func(b, F_BTOS, S_TOSTR, 1, VM_T_STR, BTOS_TYPES, 2);
    SET_CODE(b, F_BTOS, MK_ABx(OP_LOADK, 1, 2), MK_ABC(OP_RET, 1, 0, 0));
    static const uint16_t BGET_TYPES[] = {T_BASE, VM_T_INT, VM_T_INT};
    set_func(b, F_BGET, S_GET, 2, VM_T_INT, BGET_TYPES, 3);
    SET_CODE(b, F_BGET, MK_ABC(OP_GETF, 2, 0, 0), MK_ABC(OP_ADD_I, 2, 2, 1),
             MK_ABC(OP_RET, 2, 0, 0));
    static const uint16_t DTOS_TYPES[] = {T_DERIVED, VM_T_STR};
    set_func(b, F_DTOS, S_TOSTR, 1, VM_T_STR, DTOS_TYPES, 2);
    SET_CODE(b, F_DTOS, MK_ABC(OP_GETF, 1, 0, 2), MK_ABC(OP_RET, 1, 0, 0));
    static const uint16_t DGET_TYPES[] = {T_DERIVED, VM_T_INT, VM_T_INT};
    set_func(b, F_DGET, S_GET, 2, VM_T_INT, DGET_TYPES, 3);
    SET_CODE(b, F_DGET, MK_ABC(OP_GETF, 2, 0, 0), MK_ABC(OP_SUB_I, 2, 2, 1),
             MK_ABC(OP_RET, 2, 0, 0));
    static const uint16_t OTOS_TYPES[] = {T_OTHER, VM_T_STR};
    set_func(b, F_OTOS, S_TOSTR, 1, VM_T_STR, OTOS_TYPES, 2);
    SET_CODE(b, F_OTOS, MK_ABx(OP_LOADK, 1, 2), MK_ABC(OP_RET, 1, 0, 0));

    im->funcs = b->funcs;
    im->nfuncs = NFUNCS;

    b->modules[0] = (vm_module){S_MOD, S_FILE, F_INIT};
    im->modules = b->modules;
    im->nmodules = 1;
    im->entry = 0;
    im->main = F_MAIN;
}

/* The base with closures (see X_TYPES): the types fn(int) -> int, fn(),
 * cell of int and cell of str, the capturing functions add and bump, and
 * f's registers X_TYPES with code that only returns. */
static const uint16_t FN_II_PARAMS[] = {VM_T_INT};
static void closure_init(base *b)
{
    base_init(b);
    vm_image *im = &b->im;
    b->ttab[T_FN_II - VM_T__COUNT] =
        (vm_type){VM_K_FN, VM_T_INT | 1u << 16, (uint16_t *)FN_II_PARAMS};
    b->ttab[T_FN_V - VM_T__COUNT] = (vm_type){VM_K_FN, VM_T_VOID, NULL};
    b->ttab[T_CELL_I - VM_T__COUNT] = (vm_type){VM_K_CELL, VM_T_INT, NULL};
    b->ttab[T_CELL_S - VM_T__COUNT] = (vm_type){VM_K_CELL, VM_T_STR, NULL};
    im->ntypes = NTYPES + NXTYPES;

    static const uint16_t ADD_TYPES[] = {VM_T_INT, VM_T_INT, VM_T_INT};
    set_func(b, F_ADD, add_str(b, "add"), 1, VM_T_INT, ADD_TYPES, 3);
    b->funcs[F_ADD].ncaps = 1;
    SET_CODE(b, F_ADD, MK_ABC(OP_ADD_I, 2, 0, 1), MK_ABC(OP_RET, 2, 0, 0));
    static const uint16_t BUMP_TYPES[] = {T_CELL_I, VM_T_INT};
    set_func(b, F_BUMP, add_str(b, "bump"), 0, VM_T_VOID, BUMP_TYPES, 2);
    b->funcs[F_BUMP].ncaps = 1;
    SET_CODE(b, F_BUMP, MK_ABC(OP_GETCELL, 1, 0, 0), MK_ABC(OP_SETCELL, 1, 0, 0),
             MK_ABC(OP_RET0, 0, 0, 0));
    im->nfuncs = NFUNCS_X;

    set_func(b, F_F, S_F, 2, VM_T_INT, X_TYPES, X_NREGS);
    SET_CODE(b, F_F, MK_ABC(OP_RET, 0, 0, 0));
}

/* ---- Byte-level helpers for the reader cases ---- */

enum { HEADER = 24 };
enum {
    SEC_STRS,
    SEC_TYPE,
    SEC_CNST,
    SEC_GLOB,
    SEC_NATV,
    SEC_CLAS,
    SEC_FUNC,
    SEC_EXTN,
    SEC_MODS,
    SEC_ENTR,
    NSECS
};
/* Bytes of a function record before its register types: name u32,
 * module u32, nparams u8, ncaps u8, ret u16, nregs u16. */
enum { FUNC_HEAD = 14 };
/* Offset of a function record's result type, past it (where the reader
 * reports a bad one). */
enum { FUNC_RET_END = 12 };
/* Bytes of a class record before its fields: name u32, module u32,
 * super i32, type u16, nfields u16. */
enum { CLASS_HEAD = 16 };

static uint32_t rd32(const vm_buf *b, size_t at)
{
    const uint8_t *p = (const uint8_t *)b->data + at;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(vm_buf *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->data[at + i] = (char)(v >> (8 * i));
}

/* Offset of section i's tag (its size follows, then its body). */
static size_t sec_at(const vm_buf *b, int i)
{
    size_t at = HEADER;
    for (int k = 0; k < i; k++)
        at += 8 + rd32(b, at + 4);
    return at;
}
static size_t sec_body(const vm_buf *b, int i)
{
    return sec_at(b, i) + 8;
}

/* Size of section `sec`'s body when the image keeps only its first n
 * functions (SEC_FUNC) or classes (SEC_CLAS): measured with the writer, so
 * record offsets follow the format, whatever a record ends with. */
static size_t body_with_first(const vm_image *im, int sec, uint32_t n)
{
    vm_image cut = *im;
    if (sec == SEC_FUNC)
        cut.nfuncs = n;
    else
        cut.nclasses = n;
    vm_buf tmp = {0};
    size_t size = 0;
    if (vm_image_write(&cut, &tmp))
        size = rd32(&tmp, sec_at(&tmp, sec) + 4);
    vm_buf_free(&tmp);
    return size;
}

/* Offset of function fi's record inside the FUNC section of b, the bytes
 * of im. */
static size_t func_at(const vm_buf *b, const vm_image *im, uint32_t fi)
{
    return sec_body(b, SEC_FUNC) + body_with_first(im, SEC_FUNC, fi);
}
/* Offset of class ci's record inside the CLAS section of b, the bytes of
 * im. */
static size_t class_at(const vm_buf *b, const vm_image *im, uint32_t ci)
{
    return sec_body(b, SEC_CLAS) + body_with_first(im, SEC_CLAS, ci);
}
/* Offset of native ni's record inside the NATV section. */
static size_t native_at(const vm_buf *b, const vm_image *im, uint32_t ni)
{
    size_t at = sec_body(b, SEC_NATV) + 4;
    for (uint32_t k = 0; k < ni; k++)
        at += 7 + 2 * (size_t)im->natives[k].nparams; /* name u32, ret u16, n u8, u16 each */
    return at;
}

/* FNV-1a 64 of everything after the header, as vm_image.c computes it. */
static void fix_checksum(vm_buf *b)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = HEADER; i < b->len; i++) {
        h ^= (uint8_t)b->data[i];
        h *= 0x100000001b3ull;
    }
    wr32(b, 16, (uint32_t)h);
    wr32(b, 20, (uint32_t)(h >> 32));
}

/* Inserts n bytes of `fill` at `at`. */
static void insert(vm_buf *b, size_t at, size_t n, char fill)
{
    char tmp[64];
    memset(tmp, fill, sizeof tmp);
    size_t tail = b->len - at;
    char *save = malloc(tail ? tail : 1);
    if (!save) {
        b->oom = true;
        return;
    }
    memcpy(save, b->data + at, tail);
    b->len = at;
    while (n) {
        size_t k = n < sizeof tmp ? n : sizeof tmp;
        vm_buf_put(b, tmp, k);
        n -= k;
    }
    vm_buf_put(b, save, tail);
    free(save);
}

/* ---- Writing and self-checking the cases ---- */

typedef struct gen {
    const char *outdir;
    int ncases, nfailed;
    bool io_error;
} gen;

static bool write_file(gen *g, const char *name, const char *ext, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", g->outdir, name, ext);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(p, 1, n, fp) != n || fclose(fp) != 0) {
        fprintf(stderr, "bad-images: cannot write %s: %s\n", path, strerror(errno));
        g->io_error = true;
        return false;
    }
    return true;
}

/* Writes NAME.kbc and NAME.err. `expect` is what `kiln verify` prints;
 * `api_expect` what kiln_load_image reports (differs only where the CLI
 * refuses a file before loading it), NULL for the same text. */
static void emit_bytes2(gen *g, const char *name, const vm_buf *bytes, const char *expect,
                        const char *api_expect)
{
    g->ncases++;
    if (bytes->oom) {
        fprintf(stderr, "bad-images: %s: out of memory\n", name);
        g->io_error = true;
        return;
    }
    kiln_config cfg;
    kiln_config_init(&cfg);
    kiln_vm *vm = kiln_new(&cfg);
    kiln_status st = vm ? kiln_load_image(vm, bytes->data, bytes->len) : KILN_ERR_API;
    const char *want = api_expect ? api_expect : expect;
    const char *got = vm ? kiln_error(vm) : "no VM";
    if (st != KILN_ERR_LOAD || !strstr(got, want)) {
        fprintf(stderr,
                "bad-images: %s: expected a load error containing\n  %s\ngot status %d:\n  %s\n",
                name, want, (int)st, got);
        g->nfailed++;
    }
    kiln_free(vm);
    write_file(g, name, "kbc", bytes->data ? bytes->data : "", bytes->len);
    char line[512];
    int n = snprintf(line, sizeof line, "%s\n", expect);
    write_file(g, name, "err", line, (size_t)n);
}
static void emit_bytes(gen *g, const char *name, const vm_buf *bytes, const char *expect)
{
    emit_bytes2(g, name, bytes, expect, NULL);
}

static void serialize(const vm_image *im, vm_buf *out)
{
    memset(out, 0, sizeof *out);
    if (!vm_image_write(im, out))
        out->oom = true;
}

/* A case that is a whole image: written by vm_image_write, so its checksum
 * and structure are right. */
static void emit_image(gen *g, const char *name, const base *b, const char *expect)
{
    vm_buf out;
    serialize(&b->im, &out);
    emit_bytes(g, name, &out, expect);
    vm_buf_free(&out);
}

/* Expected text of a verifier error in function f at pc. */
static const char *at_f(char *buf, size_t n, uint32_t pc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static const char *at_f(char *buf, size_t n, uint32_t pc, const char *fmt, ...)
{
    int k = snprintf(buf, n, "invalid image: ");
    va_list ap;
    va_start(ap, fmt);
    k += vsnprintf(buf + k, n - (size_t)k, fmt, ap);
    va_end(ap);
    snprintf(buf + k, n - (size_t)k, " at f:%u", pc);
    return buf;
}
#define EXPECT_F(pc, ...) at_f(msg, sizeof msg, pc, __VA_ARGS__)

/* ---- Verifier cases: one per rule and operand role of vm_verify.c ---- */

static void verifier_cases(gen *g)
{
    base b;
    char msg[512];

#define CASE(name, expect, ...) \
    do { \
        base_init(&b); \
        SET_CODE(&b, F_F, __VA_ARGS__); \
        emit_image(g, name, &b, expect); \
    } while (0)

    /* Decoding */
    CASE("v_unknown_opcode", EXPECT_F(0, "unknown opcode %u", 255u), 0xffu);
    CASE("v_unknown_opcode_first_free", EXPECT_F(1, "unknown opcode %u", (unsigned)OP__COUNT),
         MK_ABx(OP_LOADI, 0, 1), (uint32_t)OP__COUNT);
    CASE("v_past_end_two_word", EXPECT_F(1, "instruction JT runs past the end of the code"),
         MK_ABC(OP_LOADB, 2, 1, 0), MK_ABC(OP_JT, 2, 0, 0));
    CASE("v_past_end_call", EXPECT_F(0, "instruction CALL runs past the end of the code"),
         MK_ABC(OP_CALL, 0, 0, 0));

    /* Register roles */
    CASE("v_ri_float", EXPECT_F(0, "operand B register 1 is float, expected int"),
         MK_ABC(OP_ADD_I, 0, 1, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_ri_dest_bool", EXPECT_F(0, "operand A register 2 is bool, expected int"),
         MK_ABC(OP_SUB_I, 2, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_ri_loadi_str", EXPECT_F(0, "operand A register 3 is str, expected int"),
         MK_ABx(OP_LOADI, 3, 7), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rf_int", EXPECT_F(0, "operand C register 0 is int, expected float"),
         MK_ABC(OP_ADD_F, 1, 1, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rf_i2f_dest", EXPECT_F(0, "operand A register 4 is int, expected float"),
         MK_ABC(OP_I2F, 4, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rb_not_int", EXPECT_F(0, "operand B register 0 is int, expected bool"),
         MK_ABC(OP_NOT, 2, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rb_compare_dest", EXPECT_F(0, "operand A register 0 is int, expected bool"),
         MK_ABC(OP_EQ_I, 0, 0, 4), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rb_jt_float", EXPECT_F(0, "operand A register 1 is float, expected bool"),
         MK_ABC(OP_JT, 1, 0, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rs_concat_bool", EXPECT_F(0, "operand C register 2 is bool, expected str"),
         MK_ABC(OP_CONCAT, 3, 3, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rs_strlen_int", EXPECT_F(0, "operand B register 4 is int, expected str"),
         MK_ABC(OP_STRLEN, 0, 4, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rr_loadnull_int", EXPECT_F(0, "operand A register 0 is int, expected a reference"),
         MK_ABC(OP_LOADNULL, 0, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rr_loadnull_bool", EXPECT_F(0, "operand A register 2 is bool, expected a reference"),
         MK_ABC(OP_LOADNULL, 2, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rm_mov_float_to_int",
         EXPECT_F(0, "operand B register 1 is float, cannot be stored as int"),
         MK_ABC(OP_MOV, 0, 1, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rm_mov_int_to_str", EXPECT_F(0, "operand B register 7 is int, cannot be stored as str"),
         MK_ABC(OP_MOV, 3, 7, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_ra_out_of_range", EXPECT_F(0, "operand A register 8 out of range (function has 8)"),
         MK_ABC(OP_MOV, 8, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rm_out_of_range", EXPECT_F(0, "operand B register 200 out of range (function has 8)"),
         MK_ABC(OP_MOV, 0, 200, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_ri_out_of_range", EXPECT_F(0, "operand C register 255 out of range (function has 8)"),
         MK_ABC(OP_MUL_I, 0, 0, 255), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rs_out_of_range", EXPECT_F(0, "operand A register 9 out of range (function has 8)"),
         MK_ABC(OP_CONCAT, 9, 3, 3), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_rr_out_of_range", EXPECT_F(0, "operand A register 8 out of range (function has 8)"),
         MK_ABC(OP_LOADNULL, 8, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_branch_operand_out_of_range",
         EXPECT_F(0, "operand B register 12 out of range (function has 8)"),
         MK_ABC(OP_JLT_I, 0, 12, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    /* The pc of an error counts words: after a two-word instruction. */
    CASE("v_error_pc_after_two_word", EXPECT_F(3, "operand A register 5 is str, expected int"),
         MK_ABC(OP_LOADB, 2, 0, 0), MK_ABC(OP_JF, 2, 0, 0), 0, MK_ABC(OP_NEG_I, 5, 0, 0),
         MK_ABC(OP_RET, 0, 0, 0));

    /* Immediates and unused operands */
    CASE("v_ib_bool_immediate_2", EXPECT_F(0, "bool immediate 2 is not 0 or 1"),
         MK_ABC(OP_LOADB, 2, 2, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_ib_bool_immediate_255", EXPECT_F(0, "bool immediate 255 is not 0 or 1"),
         MK_ABC(OP_LOADB, 2, 255, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_unused_c_nonzero", EXPECT_F(0, "unused operand C is 5, expected 0"),
         MK_ABC(OP_NOT, 2, 2, 5), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_unused_b_nonzero_jt", EXPECT_F(0, "unused operand B is 1, expected 0"),
         MK_ABC(OP_JT, 2, 1, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_unused_a_nop", EXPECT_F(0, "unused operand A is 3, expected 0"),
         MK_ABC(OP_NOP, 3, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_unused_trap", EXPECT_F(0, "unused operand B is 9, expected 0"),
         MK_ABC(OP_TRAP, 0, 9, 0));
    CASE("v_unused_c_loadnull", EXPECT_F(0, "unused operand C is 1, expected 0"),
         MK_ABC(OP_LOADNULL, 3, 0, 1), MK_ABC(OP_RET, 0, 0, 0));

    /* Constants and globals */
    CASE("v_ka_out_of_range", EXPECT_F(0, "constant index 3 out of range (image has 3)"),
         MK_ABx(OP_LOADK, 0, 3), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_ka_out_of_range_big", EXPECT_F(0, "constant index 65535 out of range (image has 3)"),
         MK_ABx(OP_LOADK, 0, 65535), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_ka_int_into_float", EXPECT_F(0, "constant 0 is int, register 1 is float"),
         MK_ABx(OP_LOADK, 1, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_ka_str_into_int", EXPECT_F(0, "constant 2 is str, register 0 is int"),
         MK_ABx(OP_LOADK, 0, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_ka_float_into_bool", EXPECT_F(0, "constant 1 is float, register 2 is bool"),
         MK_ABx(OP_LOADK, 2, 1), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_ka_dest_out_of_range",
         EXPECT_F(0, "operand A register 8 out of range (function has 8)"), MK_ABx(OP_LOADK, 8, 0),
         MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_gr_getg_out_of_range", EXPECT_F(0, "global index 3 out of range (image has 3)"),
         MK_ABx(OP_GETG, 0, 3), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_gw_setg_out_of_range", EXPECT_F(0, "global index 40000 out of range (image has 3)"),
         MK_ABx(OP_SETG, 0, 40000), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_gr_getg_type", EXPECT_F(0, "operand A register 0 is int, cannot hold str"),
         MK_ABx(OP_GETG, 0, 1), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_gw_setg_type", EXPECT_F(0, "operand A register 1 is float, cannot be stored as int"),
         MK_ABx(OP_SETG, 1, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_gr_getg_dest_out_of_range",
         EXPECT_F(0, "operand A register 8 out of range (function has 8)"), MK_ABx(OP_GETG, 8, 0),
         MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_gr_getgc_out_of_range", EXPECT_F(0, "global index 3 out of range (image has 3)"),
         MK_ABx(OP_GETGC, 0, 3), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_gr_getgc_type", EXPECT_F(0, "operand A register 0 is int, cannot hold str"),
         MK_ABx(OP_GETGC, 0, 1), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_gi_initg_out_of_range", EXPECT_F(0, "global index 65535 out of range (image has 3)"),
         MK_ABx(OP_INITG, 0, 65535), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_gi_initg_a_used", EXPECT_F(0, "unused operand A is 2, expected 0"),
         MK_ABx(OP_INITG, 2, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_mreserve_not_a_map", EXPECT_F(0, "operand B register 0 is int, expected a map"),
         MK_ABC(OP_MRESERVE, 0, 0, 0), MK_ABC(OP_RET, 0, 0, 0));

    /* Float constant operands (KF) */
    CASE("v_kf_out_of_range", EXPECT_F(0, "constant index 3 out of range (image has 3)"),
         MK_ABC(OP_ADDK_F, 1, 1, 3), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_kf_int_constant", EXPECT_F(0, "constant 0 is int, expected float"),
         MK_ABC(OP_MULK_F, 1, 1, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_kf_str_constant", EXPECT_F(0, "constant 2 is str, expected float"),
         MK_ABC(OP_DIVK_F, 6, 1, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_kf_register_type", EXPECT_F(0, "operand B register 0 is int, expected float"),
         MK_ABC(OP_SUBK_F, 1, 0, 1), MK_ABC(OP_RET, 0, 0, 0));
    /* ... also in the compare-with-constant branches, whose C is a bool */
    CASE("v_kf_branch_int_constant", EXPECT_F(0, "constant 0 is int, expected float"),
         MK_ABC(OP_JLTK_F, 1, 0, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_kf_branch_out_of_range", EXPECT_F(0, "constant index 3 out of range (image has 3)"),
         MK_ABC(OP_JGEK_F, 1, 3, 1), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_kf_branch_register_type", EXPECT_F(0, "operand A register 0 is int, expected float"),
         MK_ABC(OP_JEQK_F, 0, 1, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_kf_branch_negate_2", EXPECT_F(0, "bool immediate 2 is not 0 or 1"),
         MK_ABC(OP_JLEK_F, 1, 1, 2), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_kf_branch_target", EXPECT_F(0, "jump target 102 is not an instruction of the function"),
         MK_ABC(OP_JGTK_F, 1, 1, 0), 100, MK_ABC(OP_RET, 0, 0, 0));

    /* Calls of functions (FN, RD, AR) */
    CASE("v_fn_out_of_range",
         EXPECT_F(0, "function index %u out of range (image has %u)", (unsigned)NFUNCS,
                  (unsigned)NFUNCS),
         MK_ABC(OP_CALL, 0, 0, 0), NFUNCS, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_fn_out_of_range_big",
         EXPECT_F(0, "function index 4294967295 out of range (image has %u)", (unsigned)NFUNCS),
         MK_ABC(OP_CALL, 0, 0, 0), 0xffffffffu, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_call_arg1_type", EXPECT_F(0, "call argument 1 is float, expected int"),
         MK_ABC(OP_CALL, 0, 1, 0), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_call_arg2_type", EXPECT_F(0, "call argument 2 is str, expected float"),
         MK_ABC(OP_CALL, 0, 4, 0), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_call_arg_out_of_range", EXPECT_F(0, "call argument 2 register 8 out of range"),
         MK_ABC(OP_CALL, 0, 7, 0), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_call_arg_far_out_of_range", EXPECT_F(0, "call argument 1 register 250 out of range"),
         MK_ABC(OP_CALL, 0, 250, 0), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_call_result_type", EXPECT_F(0, "operand result register 1 is float, cannot hold int"),
         MK_ABC(OP_CALL, 1, 0, 0), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_call_result_out_of_range",
         EXPECT_F(0, "operand result register 8 out of range (function has 8)"),
         MK_ABC(OP_CALL, 8, 0, 0), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_call_void_names_result",
         EXPECT_F(0, "call of a function without result names result register 3"),
         MK_ABC(OP_CALL, 3, 0, 0), F_V, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_call_unused_c", EXPECT_F(0, "unused operand C is 2, expected 0"),
         MK_ABC(OP_CALL, 0, 0, 2), F_H, MK_ABC(OP_RET, 0, 0, 0));

    /* Packed calls of functions (FP: arguments from registers B and C) */
    CASE("v_fp_out_of_range",
         EXPECT_F(0, "function index %u out of range (image has %u)", (unsigned)NFUNCS,
                  (unsigned)NFUNCS),
         MK_ABC(OP_CALLP, 0, 0, 1), NFUNCS, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_fp_arg1_type", EXPECT_F(0, "call argument 1 is float, expected int"),
         MK_ABC(OP_CALLP, 0, 1, 1), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_fp_arg2_type", EXPECT_F(0, "call argument 2 is int, expected float"),
         MK_ABC(OP_CALLP, 0, 0, 0), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_fp_arg_out_of_range", EXPECT_F(0, "call argument 2 register 200 out of range"),
         MK_ABC(OP_CALLP, 0, 0, 200), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_fp_result_type", EXPECT_F(0, "operand result register 1 is float, cannot hold int"),
         MK_ABC(OP_CALLP, 1, 0, 1), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_fp_unused_c", EXPECT_F(0, "unused operand C is 3, expected 0"),
         MK_ABC(OP_CALLP, 0, 0, 3), F_V, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_fp_unused_b", EXPECT_F(0, "unused operand B is 2, expected 0"),
         MK_ABC(OP_CALLP, 0, 2, 0), F_V, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_fp_void_names_result",
         EXPECT_F(0, "call of a function without result names result register 3"),
         MK_ABC(OP_CALLP, 3, 0, 0), F_V, MK_ABC(OP_RET, 0, 0, 0));

    /* Calls of natives (NT) */
    CASE("v_nt_out_of_range", EXPECT_F(0, "native index 2 out of range (image has 2)"),
         MK_ABC(OP_CALLN, 0, 0, 0), 2, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_native_arg_type", EXPECT_F(0, "call argument 1 is float, expected int"),
         MK_ABC(OP_CALLN, 0, 1, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_native_arg_out_of_range", EXPECT_F(0, "call argument 1 register 8 out of range"),
         MK_ABC(OP_CALLN, 0, 8, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_native_result_type", EXPECT_F(0, "operand result register 0 is int, cannot hold str"),
         MK_ABC(OP_CALLN, 0, 0, 0), 1, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_native_void_names_result",
         EXPECT_F(0, "call of a function without result names result register 4"),
         MK_ABC(OP_CALLN, 4, 0, 0), 0, MK_ABC(OP_RET, 0, 0, 0));

    /* Returns (RT, RV) */
    CASE("v_rt_type", EXPECT_F(0, "operand A register 1 is float, cannot be stored as int"),
         MK_ABC(OP_RET, 1, 0, 0));
    CASE("v_rt_out_of_range", EXPECT_F(0, "operand A register 8 out of range (function has 8)"),
         MK_ABC(OP_RET, 8, 0, 0));
    CASE("v_rt_unused_b", EXPECT_F(0, "unused operand B is 1, expected 0"),
         MK_ABC(OP_RET, 0, 1, 0));
    CASE("v_rv_ret0_in_int_function",
         EXPECT_F(0, "return without a value from a function returning int"),
         MK_ABC(OP_RET0, 0, 0, 0));

    base_init(&b); /* RET with a value in a function without result */
    b.funcs[F_F].ret = VM_T_VOID;
    SET_CODE(&b, F_F, MK_ABC(OP_RET, 0, 0, 0));
    emit_image(g, "v_rt_in_void_function", &b,
               EXPECT_F(0, "return of a value from a function without result"));

    base_init(&b); /* RET0 naming a register */
    b.funcs[F_F].ret = VM_T_VOID;
    SET_CODE(&b, F_F, MK_ABC(OP_RET0, 1, 0, 0));
    emit_image(g, "v_rv_nonzero_a", &b, EXPECT_F(0, "unused operand A is 1, expected 0"));

    base_init(&b); /* returning an int register from a str function */
    b.funcs[F_F].ret = VM_T_STR;
    SET_CODE(&b, F_F, MK_ABC(OP_RET, 0, 0, 0));
    emit_image(g, "v_rt_int_from_str_function", &b,
               EXPECT_F(0, "operand A register 0 is int, cannot be stored as str"));

    /* Jumps (JO) */
    CASE("v_jmp_past_end", EXPECT_F(0, "jump target 101 is not an instruction of the function"),
         MK_sJ(OP_JMP, 100), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_jmp_to_end", EXPECT_F(0, "jump target 2 is not an instruction of the function"),
         MK_sJ(OP_JMP, 1), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_jmp_before_start", EXPECT_F(1, "jump target -2 is not an instruction of the function"),
         MK_ABC(OP_NOP, 0, 0, 0), MK_sJ(OP_JMP, (uint32_t)-4 & 0xffffffu), MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_jmp_into_two_word", EXPECT_F(0, "jump target 2 is not an instruction of the function"),
         MK_sJ(OP_JMP, 1), MK_ABC(OP_JT, 2, 0, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_branch_into_two_word",
         EXPECT_F(3, "jump target 2 is not an instruction of the function"),
         MK_ABC(OP_LOADB, 2, 1, 0), MK_ABC(OP_JT, 2, 0, 0), 0, MK_ABC(OP_JF, 2, 0, 0), (uint32_t)-3,
         MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_branch_past_end", EXPECT_F(0, "jump target 1002 is not an instruction of the function"),
         MK_ABx(OP_JLTK_I, 0, 5), 1000, MK_ABC(OP_RET, 0, 0, 0));
    CASE("v_for_target_negative",
         EXPECT_F(0, "jump target -98 is not an instruction of the function"),
         MK_ABC(OP_FORLT, 0, 4, 0), (uint32_t)-100, MK_ABC(OP_RET, 0, 0, 0));

    /* Shape of the code */
    CASE("v_falls_off_end", EXPECT_F(0, "code falls off the end of the function"),
         MK_ABC(OP_ADD_I, 0, 0, 0));
    CASE("v_falls_off_end_after_branch", EXPECT_F(1, "code falls off the end of the function"),
         MK_ABC(OP_LOADB, 2, 1, 0), MK_ABC(OP_JT, 2, 0, 0), (uint32_t)-3);
    base_init(&b);
    set_code(&b, F_F, NULL, 0);
    emit_image(g, "v_empty_function", &b, EXPECT_F(0, "function has no code"));

    /* Entry points */
    base_init(&b);
    b.modules[0].init = F_F; /* f takes (int, float) */
    emit_image(
        g, "v_module_init_with_params", &b,
        EXPECT_F(0,
                 "module initializer must take no parameters, capture nothing and return nothing"));
    base_init(&b);
    b.funcs[F_F].nparams = 0; /* f() -> int */
    b.modules[0].init = F_F;
    emit_image(
        g, "v_module_init_with_result", &b,
        EXPECT_F(0,
                 "module initializer must take no parameters, capture nothing and return nothing"));
    base_init(&b);
    b.im.main = F_F;
    emit_image(g, "v_main_with_params", &b,
               EXPECT_F(0, "main must take no parameters, capture nothing and return nothing"));
    base_init(&b);
    b.funcs[F_F].nparams = 0;
    b.im.main = F_F;
    emit_image(g, "v_main_with_result", &b,
               EXPECT_F(0, "main must take no parameters, capture nothing and return nothing"));
    base_init(&b);
    b.funcs[F_H].nparams = 3; /* h(int, float, int) */
    SET_CODE(&b, F_F, MK_ABC(OP_CALLP, 0, 0, 1), F_H, MK_ABC(OP_RET, 0, 0, 0));
    emit_image(g, "v_fp_three_params", &b,
               EXPECT_F(0, "packed call of function %u, which has 3 parameters (at most 2)",
                        (unsigned)F_H));
    /* ---- Objects: f gets the registers O_TYPES (int float bool str Base
     * float Derived int Other str Base) ---- */
#define CASE_O(name, expect, ...) \
    do { \
        base_init(&b); \
        set_func(&b, F_F, S_F, 2, VM_T_INT, O_TYPES, O_NREGS); \
        SET_CODE(&b, F_F, __VA_ARGS__); \
        emit_image(g, name, &b, expect); \
    } while (0)

    /* RO: a register of a class type */
    CASE_O("v_ro_getf_int", EXPECT_F(0, "operand B register 7 is int, expected an object"),
           MK_ABC(OP_GETF, 0, 7, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ro_setf_str", EXPECT_F(0, "operand B register 3 is str, expected an object"),
           MK_ABC(OP_SETF, 0, 3, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ro_out_of_range", EXPECT_F(0, "operand B register 11 out of range (function has 11)"),
           MK_ABC(OP_GETF, 0, 11, 0), MK_ABC(OP_RET, 0, 0, 0));

    /* FG: a field of B's class, readable into A */
    CASE_O("v_fg_out_of_range", EXPECT_F(0, "field 2 out of range (class Base has 2)"),
           MK_ABC(OP_GETF, 0, 4, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fg_subclass_field_via_base", /* s is Derived's, not Base's */
           EXPECT_F(0, "field 2 out of range (class Base has 2)"), MK_ABC(OP_GETF, 3, 10, 2),
           MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fg_out_of_range_derived", EXPECT_F(0, "field 3 out of range (class Derived has 3)"),
           MK_ABC(OP_GETF, 3, 6, 3), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fg_no_fields", EXPECT_F(0, "field 0 out of range (class Other has 0)"),
           MK_ABC(OP_GETF, 0, 8, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fg_type", EXPECT_F(0, "operand A register 1 is float, cannot hold int"),
           MK_ABC(OP_GETF, 1, 4, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fg_downcast", EXPECT_F(0, "operand A register 6 is Derived, cannot hold Base"),
           MK_ABC(OP_GETF, 6, 4, 1), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fg_str_into_class", EXPECT_F(0, "operand A register 10 is Base, cannot hold str"),
           MK_ABC(OP_GETF, 10, 6, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fg_dest_out_of_range",
           EXPECT_F(0, "operand A register 11 out of range (function has 11)"),
           MK_ABC(OP_GETF, 11, 4, 0), MK_ABC(OP_RET, 0, 0, 0));

    /* FS: a field of B's class, A storable in it */
    CASE_O("v_fs_out_of_range", EXPECT_F(0, "field 2 out of range (class Base has 2)"),
           MK_ABC(OP_SETF, 0, 4, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fs_out_of_range_big", EXPECT_F(0, "field 255 out of range (class Derived has 3)"),
           MK_ABC(OP_SETF, 0, 6, 255), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fs_type", EXPECT_F(0, "operand A register 3 is str, cannot be stored as int"),
           MK_ABC(OP_SETF, 3, 4, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fs_unrelated_class",
           EXPECT_F(0, "operand A register 8 is Other, cannot be stored as Base"),
           MK_ABC(OP_SETF, 8, 4, 1), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fs_int_into_str_field",
           EXPECT_F(0, "operand A register 7 is int, cannot be stored as str"),
           MK_ABC(OP_SETF, 7, 6, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_fs_value_out_of_range",
           EXPECT_F(0, "operand A register 11 out of range (function has 11)"),
           MK_ABC(OP_SETF, 11, 4, 0), MK_ABC(OP_RET, 0, 0, 0));

    /* CA: a class index, A of exactly its type (NEW, AS) */
    CASE_O("v_ca_new_out_of_range", EXPECT_F(0, "class index 3 out of range (image has 3)"),
           MK_ABx(OP_NEW, 4, 3), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ca_new_out_of_range_big", EXPECT_F(0, "class index 65535 out of range (image has 3)"),
           MK_ABx(OP_NEW, 4, 65535), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ca_new_other_class", EXPECT_F(0, "operand A register 4 is Base, expected Derived"),
           MK_ABx(OP_NEW, 4, C_DERIVED), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ca_new_unrelated_class", EXPECT_F(0, "operand A register 8 is Other, expected Base"),
           MK_ABx(OP_NEW, 8, C_BASE), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ca_new_into_str", EXPECT_F(0, "operand A register 3 is str, expected Base"),
           MK_ABx(OP_NEW, 3, C_BASE), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ca_new_into_int", EXPECT_F(0, "operand A register 0 is int, expected a reference"),
           MK_ABx(OP_NEW, 0, C_BASE), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ca_as_out_of_range", EXPECT_F(0, "class index 3 out of range (image has 3)"),
           MK_ABC(OP_AS, 4, 6, 0), 3, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ca_as_wrong_class", EXPECT_F(0, "operand A register 6 is Derived, expected Base"),
           MK_ABC(OP_AS, 6, 4, 0), C_BASE, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ro_as_int", EXPECT_F(0, "operand B register 0 is int, expected an object"),
           MK_ABC(OP_AS, 4, 0, 0), C_BASE, MK_ABC(OP_RET, 0, 0, 0));
    /* Regression: IS and AS once took any reference as B, so a str reached
     * the interpreter's class test, which read the string as an instance. */
    CASE_O("v_ro_as_str", EXPECT_F(0, "operand B register 3 is str, expected an object"),
           MK_ABC(OP_AS, 4, 3, 0), C_BASE, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ca_as_unused_c", EXPECT_F(0, "unused operand C is 1, expected 0"),
           MK_ABC(OP_AS, 6, 4, 1), C_DERIVED, MK_ABC(OP_RET, 0, 0, 0));

    /* CL: a class index (IS) */
    CASE_O("v_cl_out_of_range", EXPECT_F(0, "class index 3 out of range (image has 3)"),
           MK_ABC(OP_IS, 2, 4, 0), 3, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_cl_out_of_range_big",
           EXPECT_F(0, "class index 4294967295 out of range (image has 3)"), MK_ABC(OP_IS, 2, 4, 0),
           0xffffffffu, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_cl_is_dest_int", EXPECT_F(0, "operand A register 0 is int, expected bool"),
           MK_ABC(OP_IS, 0, 4, 0), C_BASE, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ro_is_float", EXPECT_F(0, "operand B register 1 is float, expected an object"),
           MK_ABC(OP_IS, 2, 1, 0), C_BASE, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_ro_is_str", EXPECT_F(0, "operand B register 9 is str, expected an object"),
           MK_ABC(OP_IS, 2, 9, 0), C_BASE, MK_ABC(OP_RET, 0, 0, 0));

    /* SL: a vtable slot of B's class; the call's arguments and result */
    CASE_O("v_sl_out_of_range", EXPECT_F(0, "method slot 2 out of range (class Base has 2)"),
           MK_ABC(OP_CALLV, 0, 4, 0), 2, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_sl_out_of_range_other", EXPECT_F(0, "method slot 1 out of range (class Other has 1)"),
           MK_ABC(OP_CALLV, 7, 8, 0), 1, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_sl_out_of_range_big",
           EXPECT_F(0, "method slot 4294967295 out of range (class Derived has 2)"),
           MK_ABC(OP_CALLV, 0, 6, 0), 0xffffffffu, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_sl_receiver_str", EXPECT_F(0, "operand B register 3 is str, expected an object"),
           MK_ABC(OP_CALLV, 9, 3, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_sl_receiver_out_of_range",
           EXPECT_F(0, "operand B register 200 out of range (function has 11)"),
           MK_ABC(OP_CALLV, 0, 200, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_sl_arg_type", EXPECT_F(0, "call argument 2 is float, expected int"),
           MK_ABC(OP_CALLV, 0, 4, 0), 1, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_sl_arg_out_of_range", EXPECT_F(0, "call argument 2 register 11 out of range"),
           MK_ABC(OP_CALLV, 0, 10, 0), 1, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_sl_result_type", EXPECT_F(0, "operand result register 1 is float, cannot hold int"),
           MK_ABC(OP_CALLV, 1, 6, 0), 1, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_sl_to_str_into_int", EXPECT_F(0, "operand result register 0 is int, cannot hold str"),
           MK_ABC(OP_CALLV, 0, 8, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_sl_unused_c", EXPECT_F(0, "unused operand C is 4, expected 0"),
           MK_ABC(OP_CALLV, 3, 8, 4), 0, MK_ABC(OP_RET, 0, 0, 0));

    /* VP: a packed method call, slot C of B's class; X's bytes are the
     * other arguments' registers (get takes Base and int, to_str Base) */
    CASE_O("v_vp_slot_out_of_range", EXPECT_F(0, "method slot 2 out of range (class Base has 2)"),
           MK_ABC(OP_CALLVP, 0, 4, 2), 7, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_vp_receiver_int", EXPECT_F(0, "operand B register 7 is int, expected an object"),
           MK_ABC(OP_CALLVP, 0, 7, 1), 7, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_vp_arg_type", EXPECT_F(0, "call argument 2 is float, expected int"),
           MK_ABC(OP_CALLVP, 0, 4, 1), 1, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_vp_arg_out_of_range", EXPECT_F(0, "call argument 2 register 11 out of range"),
           MK_ABC(OP_CALLVP, 0, 4, 1), 11, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_vp_extra_byte",
           EXPECT_F(0, "packed arguments 0x00000707 name more than the 1 the method takes besides "
                       "the receiver"),
           MK_ABC(OP_CALLVP, 0, 4, 1), 0x0707, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_vp_no_args_byte",
           EXPECT_F(0, "packed arguments 0x00000300 name more than the 0 the method takes besides "
                       "the receiver"),
           MK_ABC(OP_CALLVP, 3, 8, 0), 0x0300, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_vp_result_type", EXPECT_F(0, "operand result register 1 is float, cannot hold int"),
           MK_ABC(OP_CALLVP, 1, 6, 1), 7, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_vp_to_str_into_int", EXPECT_F(0, "operand result register 0 is int, cannot hold str"),
           MK_ABC(OP_CALLVP, 0, 8, 0), 0, MK_ABC(OP_RET, 0, 0, 0));

    /* GR / GW with a class-typed global (g2 gb: Base) */
    CASE_O("v_gr_downcast", EXPECT_F(0, "operand A register 6 is Derived, cannot hold Base"),
           MK_ABx(OP_GETG, 6, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_gr_class_into_str", EXPECT_F(0, "operand A register 9 is str, cannot hold Base"),
           MK_ABx(OP_GETG, 9, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_gr_str_into_class", EXPECT_F(0, "operand A register 4 is Base, cannot hold str"),
           MK_ABx(OP_GETG, 4, 1), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_gw_unrelated_class",
           EXPECT_F(0, "operand A register 8 is Other, cannot be stored as Base"),
           MK_ABx(OP_SETG, 8, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_gw_str_into_class",
           EXPECT_F(0, "operand A register 3 is str, cannot be stored as Base"),
           MK_ABx(OP_SETG, 3, 2), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_gw_class_into_str",
           EXPECT_F(0, "operand A register 10 is Base, cannot be stored as str"),
           MK_ABx(OP_SETG, 10, 1), MK_ABC(OP_RET, 0, 0, 0));

    /* RM: B's value may be stored in A (MOV) */
    CASE_O("v_rm_mov_downcast",
           EXPECT_F(0, "operand B register 4 is Base, cannot be stored as Derived"),
           MK_ABC(OP_MOV, 6, 4, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_rm_mov_unrelated_class",
           EXPECT_F(0, "operand B register 8 is Other, cannot be stored as Base"),
           MK_ABC(OP_MOV, 4, 8, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_rm_mov_str_to_class",
           EXPECT_F(0, "operand B register 3 is str, cannot be stored as Base"),
           MK_ABC(OP_MOV, 4, 3, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_rm_mov_class_to_str",
           EXPECT_F(0, "operand B register 6 is Derived, cannot be stored as str"),
           MK_ABC(OP_MOV, 9, 6, 0), MK_ABC(OP_RET, 0, 0, 0));

    /* RR with objects: identity comparisons, null tests */
    CASE_O("v_rr_eq_r_int", EXPECT_F(0, "operand C register 0 is int, expected a reference"),
           MK_ABC(OP_EQ_R, 2, 4, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_rr_ne_r_float", EXPECT_F(0, "operand B register 5 is float, expected a reference"),
           MK_ABC(OP_NE_R, 2, 5, 6), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_rr_eq_r_dest", EXPECT_F(0, "operand A register 4 is Base, expected bool"),
           MK_ABC(OP_EQ_R, 4, 4, 6), MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_rr_jnull_int", EXPECT_F(0, "operand A register 7 is int, expected a reference"),
           MK_ABC(OP_JNULL, 7, 0, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_rr_jnnull_bool", EXPECT_F(0, "operand A register 2 is bool, expected a reference"),
           MK_ABC(OP_JNNULL, 2, 0, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_rr_jeq_r_int", EXPECT_F(0, "operand A register 7 is int, expected a reference"),
           MK_ABC(OP_JEQ_R, 7, 4, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_rr_jne_r_float", EXPECT_F(0, "operand B register 5 is float, expected a reference"),
           MK_ABC(OP_JNE_R, 4, 5, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_jne_r_target", EXPECT_F(0, "jump target 52 is not an instruction of the function"),
           MK_ABC(OP_JNE_R, 4, 6, 0), 50, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_jnull_target", EXPECT_F(0, "jump target 102 is not an instruction of the function"),
           MK_ABC(OP_JNULL, 4, 0, 0), 100, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_jnnull_into_two_word",
           EXPECT_F(0, "jump target 1 is not an instruction of the function"),
           MK_ABC(OP_JNNULL, 6, 0, 0), (uint32_t)-1, MK_ABC(OP_RET, 0, 0, 0));

    /* FN, RT with objects: parameters and results take subclasses only */
    CASE_O("v_call_self_downcast", EXPECT_F(0, "call argument 1 is Base, expected Derived"),
           MK_ABC(OP_CALL, 0, 10, 0), F_DGET, MK_ABC(OP_RET, 0, 0, 0));
    CASE_O("v_call_self_unrelated", EXPECT_F(0, "call argument 1 is Other, expected Base"),
           MK_ABC(OP_CALL, 3, 8, 0), F_BTOS, MK_ABC(OP_RET, 0, 0, 0));

    base_init(&b); /* f() -> Derived returns a Base */
    set_func(&b, F_F, S_F, 2, T_DERIVED, O_TYPES, O_NREGS);
    SET_CODE(&b, F_F, MK_ABC(OP_RET, 4, 0, 0));
    emit_image(g, "v_rt_base_from_derived_function", &b,
               EXPECT_F(0, "operand A register 4 is Base, cannot be stored as Derived"));
    base_init(&b); /* f() -> Base returns an Other */
    set_func(&b, F_F, S_F, 2, T_BASE, O_TYPES, O_NREGS);
    SET_CODE(&b, F_F, MK_ABC(OP_RET, 8, 0, 0));
    emit_image(g, "v_rt_unrelated_class", &b,
               EXPECT_F(0, "operand A register 8 is Other, cannot be stored as Base"));
#undef CASE_O
#undef CASE
}

/* ---- Class-table cases: one per rule of check_types / check_class ---- */

/* Class ci of b is an enum with the n variants at v. */
static void set_variants(base *b, int ci, vm_variant *v, uint16_t n)
{
    b->classes[ci].variants = v;
    b->classes[ci].nvariants = n;
}

static void class_cases(gen *g)
{
    base b;
#define CASE_C(name, expect, ...) \
    do { \
        base_init(&b); \
        __VA_ARGS__; \
        emit_image(g, name, &b, expect); \
    } while (0)

    /* The type table */
    CASE_C("c_type_names_missing_class", "invalid image: type 9 names class 3, out of range",
           b.ttab[C_OTHER].a = NCLASSES);
    CASE_C("c_type_names_class_huge", "invalid image: type 7 names class 4294967295, out of range",
           b.ttab[C_BASE].a = 0xffffffffu);

    /* Superclasses come first */
    CASE_C("c_super_self",
           "invalid image: superclass index must be below its own, got 1 at class Derived",
           b.classes[C_DERIVED].super = C_DERIVED);
    CASE_C("c_super_later",
           "invalid image: superclass index must be below its own, got 2 at class Base",
           b.classes[C_BASE].super = C_OTHER);
    CASE_C("c_super_out_of_range",
           "invalid image: superclass index must be below its own, got 99 at class Other",
           b.classes[C_OTHER].super = 99);
    CASE_C("c_super_negative",
           "invalid image: superclass index must be below its own, got 4294967294 at class Base",
           b.classes[C_BASE].super = -2);

    /* A class's type id names it */
    CASE_C("c_type_of_another_class",
           "invalid image: type id does not name this class: 7 at class Derived",
           b.classes[C_DERIVED].type = T_BASE);
    CASE_C("c_type_scalar", "invalid image: type id does not name this class: 4 at class Base",
           b.classes[C_BASE].type = VM_T_STR);
    CASE_C("c_two_classes_one_type", /* type 9 names Base: Other's type is not Other's */
           "invalid image: type id does not name this class: 9 at class Other",
           b.ttab[C_OTHER].a = C_BASE);

    /* A subclass extends its superclass */
    CASE_C("c_fewer_fields_than_super",
           "invalid image: has fewer fields than its superclass: 1 at class Derived",
           b.classes[C_DERIVED].nfields = 1);
    CASE_C("c_fewer_slots_than_super",
           "invalid image: has fewer method slots than its superclass: 1 at class Derived",
           b.classes[C_DERIVED].nslots = 1);
    CASE_C("c_field_type_differs",
           "invalid image: field differs from its superclass's: field 0 at class Derived",
           b.field_types[C_DERIVED][0] = VM_T_FLOAT);
    CASE_C("c_field_type_narrowed", /* even to a subclass: fields are read and written */
           "invalid image: field differs from its superclass's: field 1 at class Derived",
           b.field_types[C_DERIVED][1] = T_DERIVED);

    /* The runtime reads Error's field 0 as the message, a string (#16
     * findings 2 and 3: a crash in the trace, read past the object) */
    CASE_C("c_error_message_not_str",
           "invalid image: the class Error must have message: str as field 0: fields 2 at class "
           "Error",
           b.classes[C_BASE].name = add_str(&b, "Error"));
    CASE_C("c_error_without_fields",
           "invalid image: the class Error must have message: str as field 0: fields 0 at class "
           "Error",
           b.classes[C_OTHER].name = add_str(&b, "Error"));

    /* Slots */
    CASE_C("c_no_slots", "invalid image: has no to_str slot: slots 0 at class Other",
           b.classes[C_OTHER].nslots = 0);
    CASE_C("c_no_slots_base", "invalid image: has no to_str slot: slots 0 at class Base",
           b.classes[C_BASE].nslots = 0);
    CASE_C("c_slot_no_function", "invalid image: slot names no function: slot 1 at class Base",
           b.slots[C_BASE][1] = NFUNCS);
    CASE_C("c_slot_no_function_huge",
           "invalid image: slot names no function: slot 0 at class Other",
           b.slots[C_OTHER][0] = 0xffffffffu);
    CASE_C("c_method_subclass_self", /* Base cannot use Derived's get */
           "invalid image: method does not take this class as self: slot 1 at class Base",
           b.slots[C_BASE][1] = F_DGET);
    CASE_C("c_method_unrelated_self",
           "invalid image: method does not take this class as self: slot 0 at class Other",
           b.slots[C_OTHER][0] = F_BTOS);
    CASE_C("c_method_no_params",
           "invalid image: method does not take this class as self: slot 1 at class Base",
           b.slots[C_BASE][1] = F_V);
    CASE_C("c_method_int_self",
           "invalid image: method does not take this class as self: slot 1 at class Derived",
           b.slots[C_DERIVED][1] = F_H);
    CASE_C("c_slot0_takes_params",
           "invalid image: slot 0 is not to_str() -> str: slot 0 at class Base",
           b.slots[C_BASE][0] = F_BGET);
    CASE_C("c_slot0_returns_int",
           "invalid image: slot 0 is not to_str() -> str: slot 0 at class Other",
           static const uint16_t T_[] = {T_OTHER, VM_T_INT};
           set_func(&b, F_OTOS, S_TOSTR, 1, VM_T_INT, T_, 2);
           SET_CODE(&b, F_OTOS, MK_ABx(OP_LOADI, 1, 0), MK_ABC(OP_RET, 1, 0, 0)));
    CASE_C("c_slot0_returns_nothing",
           "invalid image: slot 0 is not to_str() -> str: slot 0 at class Other",
           static const uint16_t T_[] = {T_OTHER};
           set_func(&b, F_OTOS, S_TOSTR, 1, VM_T_VOID, T_, 1);
           SET_CODE(&b, F_OTOS, MK_ABC(OP_RET0, 0, 0, 0)));

    /* Overrides keep the signature (but self) */
    CASE_C("c_override_param_type",
           "invalid image: override changes the signature: slot 1 at class Derived",
           static const uint16_t T_[] = {T_DERIVED, VM_T_FLOAT, VM_T_INT};
           set_func(&b, F_DGET, S_GET, 2, VM_T_INT, T_, 3);
           SET_CODE(&b, F_DGET, MK_ABC(OP_GETF, 2, 0, 0), MK_ABC(OP_RET, 2, 0, 0)));
    CASE_C("c_override_result_type",
           "invalid image: override changes the signature: slot 1 at class Derived",
           static const uint16_t T_[] = {T_DERIVED, VM_T_INT, VM_T_FLOAT};
           set_func(&b, F_DGET, S_GET, 2, VM_T_FLOAT, T_, 3);
           SET_CODE(&b, F_DGET, MK_ABx(OP_LOADK, 2, 1), MK_ABC(OP_RET, 2, 0, 0)));
    CASE_C("c_override_param_count",
           "invalid image: override changes the signature: slot 1 at class Derived",
           static const uint16_t T_[] = {T_DERIVED, VM_T_INT, VM_T_INT};
           set_func(&b, F_DGET, S_GET, 3, VM_T_INT, T_, 3);
           SET_CODE(&b, F_DGET, MK_ABC(OP_RET, 2, 0, 0)));

    /* A class's module (format 8) */
    CASE_C("c_module_out_of_range", "invalid image: class 2 names module 1, out of range",
           b.classes[C_OTHER].module = 1);
    CASE_C("c_module_huge", "invalid image: class 0 names module 4294967295, out of range",
           b.classes[C_BASE].module = 0xffffffffu);

    /* An enum's variants (format 8): the tag, then each payload in turn.
     * Base (x: int, next: Base) is an enum of one variant A(Base) when
     * its variants are {x 1 1}: each case breaks that. */
    CASE_C("c_enum_variant_name_index", "invalid image: variant name string index 21 out of range",
           static vm_variant V_[] = {{NSTRS, 1, 1}};
           set_variants(&b, C_BASE, V_, 1));
    CASE_C("c_enum_with_superclass",
           "invalid image: an enum has a superclass: class 0 at class "
           "Derived",
           static vm_variant V_[] = {{S_X, 1, 2}};
           set_variants(&b, C_DERIVED, V_, 1));
    CASE_C("c_enum_without_tag",
           "invalid image: an enum's field 0 (its tag) is not an int: fields 0 at class Other",
           static vm_variant V_[] = {{S_X, 1, 0}};
           set_variants(&b, C_OTHER, V_, 1));
    CASE_C("c_enum_tag_not_int",
           "invalid image: an enum's field 0 (its tag) is not an int: fields 2 at class Base",
           static vm_variant V_[] = {{S_X, 1, 1}};
           b.field_types[C_BASE][0] = VM_T_FLOAT; b.field_types[C_DERIVED][0] = VM_T_FLOAT;
           set_variants(&b, C_BASE, V_, 1));
    CASE_C("c_enum_payload_on_the_tag",
           "invalid image: a variant's payload is not the fields after the last one's: variant 0 "
           "at class Base",
           static vm_variant V_[] = {{S_X, 0, 2}};
           set_variants(&b, C_BASE, V_, 1));
    CASE_C("c_enum_payload_past_fields",
           "invalid image: a variant's payload is not the fields after the last one's: variant 0 "
           "at class Base",
           static vm_variant V_[] = {{S_X, 1, 2}};
           set_variants(&b, C_BASE, V_, 1));
    CASE_C("c_enum_payload_huge",
           "invalid image: a variant's payload is not the fields after the last one's: variant 1 "
           "at class Base",
           static vm_variant V_[] = {{S_X, 1, 0}, {S_S, 1, 0xffff}};
           set_variants(&b, C_BASE, V_, 2));
    CASE_C("c_enum_payloads_overlap",
           "invalid image: a variant's payload is not the fields after the last one's: variant 1 "
           "at class Base",
           static vm_variant V_[] = {{S_X, 1, 1}, {S_S, 1, 1}};
           set_variants(&b, C_BASE, V_, 2));
    CASE_C("c_enum_fields_past_payloads",
           "invalid image: an enum has fields past its variants' payloads: fields 2 at class Base",
           static vm_variant V_[] = {{S_X, 1, 0}, {S_S, 1, 0}};
           set_variants(&b, C_BASE, V_, 2));
#undef CASE_C
}

/* ---- Reader and linker cases ---- */

static void reader_cases(gen *g)
{
    base b;
    vm_buf out;
    char msg[512];
#define EXPECT(...) (snprintf(msg, sizeof msg, __VA_ARGS__), msg)

    /* Header */
    base_init(&b);
    serialize(&b.im, &out);
    out.data[1] = 'k';
    emit_bytes2(g, "r_bad_magic", &out, "not a bytecode image (no image magic)",
                "invalid image: bad magic at offset 0");
    out.data[1] = 'K';
    memmove(out.data + 5, out.data + 6, out.len - 6); /* CR LF -> LF, as a text transfer does */
    out.len--;
    emit_bytes2(g, "r_bad_magic_crlf", &out, "not a bytecode image (no image magic)",
                "invalid image: bad magic at offset 0");
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    wr32(&out, 8, KILN_IMAGE_VERSION + 1);
    emit_bytes(g, "r_wrong_version", &out,
               EXPECT("invalid image: format version %u, this kiln reads version %u at offset 8",
                      KILN_IMAGE_VERSION + 1, KILN_IMAGE_VERSION));
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    wr32(&out, 12, 7); /* version 1's count */
    emit_bytes(g, "r_section_count", &out,
               EXPECT("invalid image: 7 sections, expected %d at offset 12", NSECS));
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    out.data[sec_body(&out, SEC_STRS) + 8] ^= 0x20; /* "base" -> "Base": checksum now wrong */
    emit_bytes(g, "r_checksum_body", &out, "invalid image: checksum mismatch at offset 16");
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    out.data[23] ^= 1;
    emit_bytes(g, "r_checksum_field", &out, "invalid image: checksum mismatch at offset 16");
    vm_buf_free(&out);

    /* Truncation */
    base_init(&b);
    serialize(&b.im, &out);
    out.len = 8;
    emit_bytes(g, "r_truncated_magic_only", &out, "invalid image: truncated data at offset 8");
    out.len = 20;
    emit_bytes(g, "r_truncated_header", &out, "invalid image: truncated data at offset 20");
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_at(&out, SEC_FUNC);
        out.len = at + 8 + 10; /* the FUNC section claims more than is left */
        fix_checksum(&out);
        emit_bytes(g, "r_truncated_section", &out,
                   EXPECT("invalid image: truncated data at offset %zu", at + 8));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_at(&out, SEC_ENTR);
        out.len = at + 4; /* ENTR's tag, no size */
        fix_checksum(&out);
        emit_bytes(g, "r_truncated_section_header", &out,
                   EXPECT("invalid image: truncated data at offset %zu", at));
    }
    vm_buf_free(&out);

    base_init(&b); /* a section that says it is shorter than its contents */
    serialize(&b.im, &out);
    {
        size_t at = sec_at(&out, SEC_STRS), size = rd32(&out, at + 4);
        wr32(&out, at + 4, size - 2);
        fix_checksum(&out);
        /* the last string, "gs", now has its length but not its 2 bytes */
        emit_bytes(g, "r_section_size_short", &out,
                   EXPECT("invalid image: truncated data at offset %zu", at + 8 + size - 2));
    }
    vm_buf_free(&out);

    /* Section order and stray bytes */
    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_at(&out, SEC_CNST);
        out.data[at + 3] = 'X';
        fix_checksum(&out);
        emit_bytes(g, "r_bad_section_tag", &out,
                   EXPECT("invalid image: expected section CNST at offset %zu", at));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_at(&out, SEC_GLOB), end = sec_body(&out, SEC_GLOB) + rd32(&out, at + 4);
        insert(&out, end, 3, 0);
        wr32(&out, at + 4, rd32(&out, at + 4) + 3);
        fix_checksum(&out);
        emit_bytes(g, "r_stray_bytes_in_section", &out,
                   EXPECT("invalid image: section GLOB has 3 stray bytes at offset %zu", end));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t end = out.len;
        insert(&out, end, 5, 'x');
        fix_checksum(&out);
        emit_bytes(
            g, "r_stray_bytes_after_sections", &out,
            EXPECT("invalid image: 5 stray bytes after the last section at offset %zu", end));
    }
    vm_buf_free(&out);

    /* Counts */
    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_body(&out, SEC_STRS);
        wr32(&out, at, 0x7fffffffu);
        fix_checksum(&out);
        emit_bytes(g, "r_string_count_too_large", &out,
                   EXPECT("invalid image: string count 2147483647 too large at offset %zu", at));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_body(&out, SEC_CNST);
        wr32(&out, at, 4); /* 3 constants of 9 bytes are there, not 4 */
        fix_checksum(&out);
        emit_bytes(g, "r_constant_count_too_large", &out,
                   EXPECT("invalid image: constant count 4 too large at offset %zu", at));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_body(&out, SEC_FUNC);
        wr32(&out, at, KILN_IMAGE_MAX_COUNT + 1);
        fix_checksum(&out);
        emit_bytes(g, "r_function_count_over_limit", &out,
                   EXPECT("invalid image: function count %u too large at offset %zu",
                          KILN_IMAGE_MAX_COUNT + 1, at));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        const vm_func *f = &b.funcs[F_F];
        size_t at = func_at(&out, &b.im, F_F) + FUNC_HEAD + 2 * f->nregs;
        wr32(&out, at, 100000);
        fix_checksum(&out);
        emit_bytes(g, "r_code_count_too_large", &out,
                   EXPECT("invalid image: code word count 100000 too large at offset %zu", at));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = native_at(&out, &b.im, 1) + 6; /* nparams of native 1 */
        out.data[at] = KILN_MAX_PARAMS + 1;
        fix_checksum(&out);
        emit_bytes(g, "r_native_too_many_params", &out,
                   EXPECT("invalid image: native has %u parameters at offset %zu",
                          KILN_MAX_PARAMS + 1, at + 1));
    }
    vm_buf_free(&out);

    /* Type codes */
    base_init(&b);
    b.consts[1].type = VM_T_BOOL;
    serialize(&b.im, &out);
    emit_bytes(g, "r_bad_constant_type", &out,
               EXPECT("invalid image: bad constant type 3 at offset %zu",
                      sec_body(&out, SEC_CNST) + 4 + 9 * 2));
    vm_buf_free(&out);

    base_init(&b);
    b.globals[1].type = 11;
    serialize(&b.im, &out);
    emit_bytes(g, "r_bad_global_type", &out,
               EXPECT("invalid image: bad global type 11 at offset %zu",
                      sec_body(&out, SEC_GLOB) + 4 + 7 + 6));
    vm_buf_free(&out);

    base_init(&b);
    b.globals[1].flags = 6;
    serialize(&b.im, &out);
    emit_bytes(g, "r_global_flags", &out,
               EXPECT("invalid image: global 1 has unknown flags 0x6 at offset %zu",
                      sec_body(&out, SEC_GLOB) + 4 + 7 * 2));
    vm_buf_free(&out);

    base_init(&b);
    b.globals[0].type = VM_T_VOID;
    serialize(&b.im, &out);
    emit_bytes(
        g, "r_void_global", &out,
        EXPECT("invalid image: bad global type 0 at offset %zu", sec_body(&out, SEC_GLOB) + 4 + 6));
    vm_buf_free(&out);

    base_init(&b);
    b.natives[1].ret = 200;
    serialize(&b.im, &out);
    emit_bytes(g, "r_bad_native_result_type", &out,
               EXPECT("invalid image: bad native result type 200 at offset %zu",
                      native_at(&out, &b.im, 1) + 6));
    vm_buf_free(&out);

    base_init(&b);
    b.natives[0].params[0] = VM_T_VOID;
    serialize(&b.im, &out);
    emit_bytes(g, "r_void_native_parameter", &out,
               EXPECT("invalid image: bad native parameter type 0 at offset %zu",
                      native_at(&out, &b.im, 0) + 9));
    vm_buf_free(&out);

    base_init(&b);
    b.funcs[F_F].ret = T_END; /* just past the type table */
    serialize(&b.im, &out);
    emit_bytes(g, "r_bad_function_result_type", &out,
               EXPECT("invalid image: bad function result type %u at offset %zu", (unsigned)T_END,
                      func_at(&out, &b.im, F_F) + FUNC_RET_END));
    vm_buf_free(&out);

    base_init(&b);
    b.types[F_F][5] = 17;
    serialize(&b.im, &out);
    emit_bytes(g, "r_bad_register_type", &out,
               EXPECT("invalid image: bad register type 17 at offset %zu",
                      func_at(&out, &b.im, F_F) + FUNC_HEAD + 2 * 6));
    vm_buf_free(&out);

    base_init(&b);
    b.types[F_F][2] = VM_T_VOID;
    serialize(&b.im, &out);
    emit_bytes(g, "r_void_register", &out,
               EXPECT("invalid image: bad register type 0 at offset %zu",
                      func_at(&out, &b.im, F_F) + FUNC_HEAD + 2 * 3));
    vm_buf_free(&out);

    /* Register counts */
    base_init(&b);
    b.funcs[F_V].nparams = 1; /* v has no registers */
    serialize(&b.im, &out);
    emit_bytes(
        g, "r_more_params_than_registers", &out,
        EXPECT("invalid image: bad register count 0 (1 parameters, 0 captures) at offset %zu",
               func_at(&out, &b.im, F_V) + FUNC_HEAD));
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = func_at(&out, &b.im, F_F) + FUNC_HEAD - 2; /* nregs u16 */
        out.data[at] = (char)(300 & 0xff);
        out.data[at + 1] = (char)(300 >> 8);
        fix_checksum(&out);
        emit_bytes(
            g, "r_too_many_registers", &out,
            EXPECT("invalid image: bad register count 300 (2 parameters, 0 captures) at offset %zu",
                   at + 2));
    }
    vm_buf_free(&out);

    /* String indices */
    base_init(&b);
    b.consts[2].bits = NSTRS;
    serialize(&b.im, &out);
    emit_bytes(g, "r_constant_string_index", &out,
               EXPECT("invalid image: constant 2 string index out of range at offset %zu",
                      sec_body(&out, SEC_CNST) + 4 + 9 * 3));
    vm_buf_free(&out);

    base_init(&b);
    b.globals[1].name = 1000;
    serialize(&b.im, &out);
    emit_bytes(g, "r_global_name_index", &out,
               EXPECT("invalid image: global name string index 1000 out of range at offset %zu",
                      sec_body(&out, SEC_GLOB) + 4 + 7 + 4));
    vm_buf_free(&out);

    base_init(&b);
    b.natives[0].name = NSTRS;
    serialize(&b.im, &out);
    emit_bytes(g, "r_native_name_index", &out,
               EXPECT("invalid image: native name string index %u out of range at offset %zu",
                      (unsigned)NSTRS, native_at(&out, &b.im, 0) + 4));
    vm_buf_free(&out);

    base_init(&b);
    b.funcs[F_MAIN].name = 0xffffffffu;
    serialize(&b.im, &out);
    emit_bytes(
        g, "r_function_name_index", &out,
        EXPECT("invalid image: function name string index 4294967295 out of range at offset %zu",
               func_at(&out, &b.im, F_MAIN) + 4));
    vm_buf_free(&out);

    base_init(&b);
    b.modules[0].name = NSTRS;
    serialize(&b.im, &out);
    emit_bytes(g, "r_module_name_index", &out,
               EXPECT("invalid image: module name string index %u out of range at offset %zu",
                      (unsigned)NSTRS, sec_body(&out, SEC_MODS) + 4 + 4));
    vm_buf_free(&out);

    base_init(&b);
    b.modules[0].file = 99;
    serialize(&b.im, &out);
    emit_bytes(g, "r_module_file_index", &out,
               EXPECT("invalid image: module file string index 99 out of range at offset %zu",
                      sec_body(&out, SEC_MODS) + 4 + 8));
    vm_buf_free(&out);

    /* Other cross references */
    base_init(&b);
    b.modules[0].init = NFUNCS;
    serialize(&b.im, &out);
    emit_bytes(g, "r_module_init_index", &out,
               EXPECT("invalid image: module init function %u out of range at offset %zu",
                      (unsigned)NFUNCS, sec_body(&out, SEC_MODS) + 4 + 12));
    vm_buf_free(&out);

    base_init(&b);
    b.funcs[F_H].module = 1;
    emit_image(g, "r_function_module_index", &b,
               "invalid image: function 2 names module 1, out of range");

    base_init(&b);
    b.im.entry = 1;
    emit_image(g, "r_entry_module_index", &b, "invalid image: entry module 1 out of range");

    base_init(&b);
    b.im.main = NFUNCS;
    emit_image(g, "r_main_index", &b,
               EXPECT("invalid image: main function %d out of range", NFUNCS));
    base_init(&b);
    b.im.main = -2;
    emit_image(g, "r_main_negative", &b, "invalid image: main function -2 out of range");

    base_init(&b); /* line table: runs must start inside the code, in order */
    b.funcs[F_H].nlines = 2;
    b.lines[F_H][0] = (vm_line){2, 1};
    b.lines[F_H][1] = (vm_line){1, 2};
    serialize(&b.im, &out);
    emit_bytes(g, "r_line_table_order", &out,
               EXPECT("invalid image: line table out of order at offset %zu",
                      func_at(&out, &b.im, F_H) + FUNC_HEAD + 2 * b.funcs[F_H].nregs + 4 +
                          4 * b.funcs[F_H].ncode + 4 + 16));
    vm_buf_free(&out);

    base_init(&b);
    b.lines[F_V][0].pc = 1; /* v has one instruction */
    serialize(&b.im, &out);
    emit_bytes(g, "r_line_table_past_code", &out,
               EXPECT("invalid image: line table out of order at offset %zu",
                      func_at(&out, &b.im, F_V) + FUNC_HEAD + 4 + 4 + 4 + 8));
    vm_buf_free(&out);

    /* Linking: natives are resolved by name and signature */
    base_init(&b);
    add_str(&b, "no_such_native");
    b.natives[1].name = NSTRS;
    emit_image(g, "l_unknown_native", &b,
               "invalid image: unknown native no_such_native with this signature at native 1");

    base_init(&b);
    b.natives[0].params[0] = VM_T_FLOAT;           /* print(float) exists, */
    b.natives[0].ret = VM_T_INT;                   /* but it returns nothing, not an int */
    b.code[F_INIT][4] = MK_ABC(OP_CALLN, 0, 1, 0); /* r0 = print(r1): int = (float) */
    emit_image(g, "l_native_wrong_result", &b,
               "invalid image: unknown native print with this signature at native 0");

    base_init(&b);
    b.natives[1].params[0] = VM_T_BOOL; /* str(bool) exists, returns str: fine */
    b.natives[1].nparams = 2;           /* str(bool, int) does not */
    b.natives[1].params[1] = VM_T_INT;
    emit_image(g, "l_native_wrong_params", &b,
               "invalid image: unknown native str with this signature at native 1");
    /* The type table (TYPE) */
    base_init(&b);
    b.ttab[1].kind = 0;
    serialize(&b.im, &out);
    emit_bytes(g, "r_bad_type_kind", &out,
               EXPECT("invalid image: bad kind 0 of type 8 at offset %zu",
                      sec_body(&out, SEC_TYPE) + 4 + 5 * 2));
    vm_buf_free(&out);

    base_init(&b);
    b.ttab[0].kind = 200;
    serialize(&b.im, &out);
    emit_bytes(g, "r_unknown_type_kind", &out,
               EXPECT("invalid image: bad kind 200 of type 7 at offset %zu",
                      sec_body(&out, SEC_TYPE) + 4 + 5));
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_body(&out, SEC_TYPE);
        wr32(&out, at, NTYPES + 1); /* NTYPES entries of 5 bytes are there */
        fix_checksum(&out);
        emit_bytes(g, "r_type_count_too_large", &out,
                   EXPECT("invalid image: type count %d too large at offset %zu", NTYPES + 1, at));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_body(&out, SEC_TYPE);
        wr32(&out, at, KILN_IMAGE_MAX_COUNT + 1);
        fix_checksum(&out);
        emit_bytes(g, "r_type_count_over_limit", &out,
                   EXPECT("invalid image: type count %u too large at offset %zu",
                          KILN_IMAGE_MAX_COUNT + 1, at));
    }
    vm_buf_free(&out);

    base_init(&b); /* one type more than a uint16_t type id leaves room for */
    {
        uint32_t n = VM_MAX_TYPES - VM_T__COUNT + 1;
        vm_type *many = calloc(n, sizeof *many);
        if (!many) {
            fprintf(stderr, "bad-images: out of memory\n");
            g->io_error = true;
            return;
        }
        memcpy(many, b.ttab, sizeof b.ttab);
        for (uint32_t i = NTYPES; i < n; i++)
            many[i] = (vm_type){VM_K_CLASS, C_OTHER, NULL};
        b.im.types = many;
        b.im.ntypes = n;
        serialize(&b.im, &out);
        emit_bytes(g, "r_too_many_types", &out,
                   EXPECT("invalid image: %u types, at most %u", n, n - 1));
        vm_buf_free(&out);
        free(many);
    }

    /* Type ids past the table, wherever a type is named */
    base_init(&b);
    b.types[F_F][7] = T_END;
    serialize(&b.im, &out);
    emit_bytes(g, "r_register_type_past_table", &out,
               EXPECT("invalid image: bad register type %u at offset %zu", (unsigned)T_END,
                      func_at(&out, &b.im, F_F) + FUNC_HEAD + 2 * 8));
    vm_buf_free(&out);

    base_init(&b);
    b.types[F_MAIN][0] = 0xffff;
    serialize(&b.im, &out);
    emit_bytes(g, "r_register_type_huge", &out,
               EXPECT("invalid image: bad register type 65535 at offset %zu",
                      func_at(&out, &b.im, F_MAIN) + FUNC_HEAD + 2));
    vm_buf_free(&out);

    base_init(&b);
    b.globals[2].type = T_END;
    serialize(&b.im, &out);
    emit_bytes(g, "r_global_type_past_table", &out,
               EXPECT("invalid image: bad global type %u at offset %zu", (unsigned)T_END,
                      sec_body(&out, SEC_GLOB) + 4 + 7 * 2 + 6));
    vm_buf_free(&out);

    base_init(&b);
    b.funcs[F_BTOS].ret = 0x7fff;
    serialize(&b.im, &out);
    emit_bytes(g, "r_function_result_type_huge", &out,
               EXPECT("invalid image: bad function result type 32767 at offset %zu",
                      func_at(&out, &b.im, F_BTOS) + FUNC_RET_END));
    vm_buf_free(&out);

    /* Classes (CLAS) */
    base_init(&b);
    b.classes[C_DERIVED].name = 1000;
    serialize(&b.im, &out);
    emit_bytes(g, "r_class_name_index", &out,
               EXPECT("invalid image: class name string index 1000 out of range at offset %zu",
                      class_at(&out, &b.im, C_DERIVED) + 4));
    vm_buf_free(&out);

    base_init(&b);
    b.classes[C_OTHER].type = T_END;
    serialize(&b.im, &out);
    emit_bytes(g, "r_class_type_past_table", &out,
               EXPECT("invalid image: bad class type %u at offset %zu", (unsigned)T_END,
                      class_at(&out, &b.im, C_OTHER) + 14));
    vm_buf_free(&out);

    base_init(&b);
    b.classes[C_BASE].type = VM_T_VOID;
    serialize(&b.im, &out);
    emit_bytes(g, "r_class_type_void", &out,
               EXPECT("invalid image: bad class type 0 at offset %zu",
                      class_at(&out, &b.im, C_BASE) + 14));
    vm_buf_free(&out);

    base_init(&b);
    b.field_types[C_DERIVED][2] = T_END;
    serialize(&b.im, &out);
    emit_bytes(g, "r_field_type_past_table", &out,
               EXPECT("invalid image: bad field type %u at offset %zu", (unsigned)T_END,
                      class_at(&out, &b.im, C_DERIVED) + CLASS_HEAD + 6 * 2 + 2));
    vm_buf_free(&out);

    base_init(&b);
    b.field_types[C_BASE][0] = VM_T_VOID;
    serialize(&b.im, &out);
    emit_bytes(g, "r_field_type_void", &out,
               EXPECT("invalid image: bad field type 0 at offset %zu",
                      class_at(&out, &b.im, C_BASE) + CLASS_HEAD + 2));
    vm_buf_free(&out);

    base_init(&b);
    b.field_names[C_BASE][1] = NSTRS;
    serialize(&b.im, &out);
    emit_bytes(g, "r_field_name_index", &out,
               EXPECT("invalid image: field name string index %u out of range at offset %zu",
                      (unsigned)NSTRS, class_at(&out, &b.im, C_BASE) + CLASS_HEAD + 6 * 2));
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        /* one class more than the section could hold at 20 bytes a class */
        size_t at = sec_body(&out, SEC_CLAS);
        uint32_t n = (rd32(&out, at - 4) - 4) / 20 + 1;
        wr32(&out, at, n);
        fix_checksum(&out);
        emit_bytes(g, "r_class_count_too_large", &out,
                   EXPECT("invalid image: class count %u too large at offset %zu", n, at));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_body(&out, SEC_CLAS);
        wr32(&out, at, 0xffffffffu);
        fix_checksum(&out);
        emit_bytes(g, "r_class_count_over_limit", &out,
                   EXPECT("invalid image: class count 4294967295 too large at offset %zu", at));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = class_at(&out, &b.im, C_OTHER) + CLASS_HEAD - 2; /* nfields u16 of Other */
        out.data[at] = 100;
        fix_checksum(&out);
        emit_bytes(g, "r_field_count_past_section", &out,
                   EXPECT("invalid image: truncated data at offset %zu", at + 2));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = class_at(&out, &b.im, C_OTHER) + CLASS_HEAD; /* nslots u16 of Other */
        out.data[at] = 2; /* one slot is there, the last bytes of CLAS */
        fix_checksum(&out);
        emit_bytes(g, "r_slot_count_past_section", &out,
                   EXPECT("invalid image: truncated data at offset %zu", at + 2));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        /* nvariants u16 of Other, after its one slot: the last bytes of CLAS */
        size_t at = class_at(&out, &b.im, C_OTHER) + CLASS_HEAD + 2 + 4;
        out.data[at] = 100;
        fix_checksum(&out);
        emit_bytes(g, "r_variant_count_past_section", &out,
                   EXPECT("invalid image: truncated data at offset %zu", at + 2));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_at(&out, SEC_CLAS);
        out.data[at] = 'K';
        fix_checksum(&out);
        emit_bytes(g, "r_bad_class_section_tag", &out,
                   EXPECT("invalid image: expected section CLAS at offset %zu", at));
    }
    vm_buf_free(&out);

    base_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = sec_at(&out, SEC_TYPE), end = sec_body(&out, SEC_TYPE) + rd32(&out, at + 4);
        insert(&out, end, 4, 0);
        wr32(&out, at + 4, rd32(&out, at + 4) + 4);
        fix_checksum(&out);
        emit_bytes(g, "r_stray_bytes_in_type_section", &out,
                   EXPECT("invalid image: section TYPE has 4 stray bytes at offset %zu", end));
    }
    vm_buf_free(&out);
#undef EXPECT
}

/* ---- Closure cases: one per rule of FNEW, CALLF, NEWCELL, GETCELL,
 * SETCELL, capturing functions, and function and cell types (closure_init
 * base: f has the registers X_TYPES) ---- */

static void closure_cases(gen *g)
{
    base b;
    vm_buf out;
    char msg[512];
#define CASE_X(name, expect, ...) \
    do { \
        closure_init(&b); \
        SET_CODE(&b, F_F, __VA_ARGS__); \
        emit_image(g, name, &b, expect); \
    } while (0)
#define EXPECT(...) (snprintf(msg, sizeof msg, __VA_ARGS__), msg)

    /* FNEW: A is a function type (RN) */
    CASE_X("v_fnew_into_int", EXPECT_F(0, "operand A register 0 is int, expected a function"),
           MK_ABC(OP_FNEW, 0, 9, 0), F_ADD, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_into_cell", EXPECT_F(0, "operand A register 7 is cell, expected a function"),
           MK_ABC(OP_FNEW, 7, 9, 0), F_ADD, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_dest_out_of_range",
           EXPECT_F(0, "operand A register 14 out of range (function has 14)"),
           MK_ABC(OP_FNEW, 14, 9, 0), F_ADD, MK_ABC(OP_RET, 0, 0, 0));
    /* FNEW: the function has exactly A's signature (FC) */
    CASE_X("v_fnew_signature_param_count",
           EXPECT_F(0, "function %u does not have the signature of register 4's type",
                    (unsigned)F_H), /* h(int, float) -> int as a fn(int) -> int */
           MK_ABC(OP_FNEW, 4, 0, 0), F_H, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_signature_result",
           EXPECT_F(0, "function %u does not have the signature of register 6's type",
                    (unsigned)F_ADD), /* add(int) -> int as a fn() */
           MK_ABC(OP_FNEW, 6, 9, 0), F_ADD, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_signature_void_fn",
           EXPECT_F(0, "function %u does not have the signature of register 4's type",
                    (unsigned)F_V), /* v() as a fn(int) -> int */
           MK_ABC(OP_FNEW, 4, 0, 0), F_V, MK_ABC(OP_RET, 0, 0, 0));
    /* FNEW: captures, from R[B] on, storable as the function's */
    CASE_X("v_fnew_capture_type", EXPECT_F(0, "capture 1 is str, expected int"),
           MK_ABC(OP_FNEW, 4, 10, 0), F_ADD, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_capture_value_for_cell", EXPECT_F(0, "capture 1 is int, expected cell"),
           MK_ABC(OP_FNEW, 6, 9, 0), F_BUMP, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_capture_cell_for_value", EXPECT_F(0, "capture 1 is cell, expected int"),
           MK_ABC(OP_FNEW, 4, 7, 0), F_ADD, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_capture_cell_of_other_type", EXPECT_F(0, "capture 1 is cell, expected cell"),
           MK_ABC(OP_FNEW, 6, 8, 0), F_BUMP, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_capture_out_of_range", EXPECT_F(0, "capture 1 register 14 out of range"),
           MK_ABC(OP_FNEW, 4, 14, 0), F_ADD, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_capture_far_out_of_range", EXPECT_F(0, "capture 1 register 255 out of range"),
           MK_ABC(OP_FNEW, 6, 255, 0), F_BUMP, MK_ABC(OP_RET, 0, 0, 0));
    /* FNEW: the function index */
    CASE_X("v_fnew_function_out_of_range",
           EXPECT_F(0, "function index %u out of range (image has %u)", (unsigned)NFUNCS_X,
                    (unsigned)NFUNCS_X),
           MK_ABC(OP_FNEW, 4, 9, 0), NFUNCS_X, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_function_out_of_range_big",
           EXPECT_F(0, "function index 4294967295 out of range (image has %u)", (unsigned)NFUNCS_X),
           MK_ABC(OP_FNEW, 4, 9, 0), 0xffffffffu, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_unused_c", EXPECT_F(0, "unused operand C is 1, expected 0"),
           MK_ABC(OP_FNEW, 4, 9, 1), F_ADD, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_fnew_captures_nothing_but_b",
           EXPECT_F(0, "unused operand B is 9, expected 0 (function %u captures nothing)",
                    (unsigned)F_V), /* v() as a fn(): fine, but with B = 9 */
           MK_ABC(OP_FNEW, 6, 9, 0), F_V, MK_ABC(OP_RET, 0, 0, 0));

    /* CALLF: B is a function value (FV) */
    CASE_X("v_callf_on_int", EXPECT_F(0, "operand B register 5 is int, expected a function"),
           MK_ABC(OP_CALLF, 0, 5, 0), T_FN_II, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_on_cell", EXPECT_F(0, "operand B register 7 is cell, expected a function"),
           MK_ABC(OP_CALLF, 0, 7, 0), T_FN_II, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_on_str", EXPECT_F(0, "operand B register 3 is str, expected a function"),
           MK_ABC(OP_CALLF, 0, 3, 0), T_FN_II, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_callee_out_of_range",
           EXPECT_F(0, "operand B register 14 out of range (function has 14)"),
           MK_ABC(OP_CALLF, 0, 14, 0), T_FN_II, MK_ABC(OP_RET, 0, 0, 0));
    /* CALLF: the arguments R[B+1], ... and the result in A */
    CASE_X("v_callf_arg_type", EXPECT_F(0, "call argument 1 is str, expected int"),
           MK_ABC(OP_CALLF, 0, 11, 0), T_FN_II, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_arg_out_of_range", EXPECT_F(0, "call argument 1 register 14 out of range"),
           MK_ABC(OP_CALLF, 0, 13, 0), T_FN_II, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_result_type",
           EXPECT_F(0, "operand result register 1 is float, cannot hold int"),
           MK_ABC(OP_CALLF, 1, 4, 0), T_FN_II, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_result_into_fn",
           EXPECT_F(0, "operand result register 11 is function, cannot hold int"),
           MK_ABC(OP_CALLF, 11, 4, 0), T_FN_II, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_void_names_result",
           EXPECT_F(0, "call of a function without result names result register 3"),
           MK_ABC(OP_CALLF, 3, 6, 0), T_FN_V, MK_ABC(OP_RET, 0, 0, 0));
    /* CALLF: X is the function type of B's register (FT) */
    CASE_X("v_callf_type_not_function",
           EXPECT_F(0, "type %u is not a function type", (unsigned)T_CELL_I),
           MK_ABC(OP_CALLF, 0, 4, 0), T_CELL_I, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_type_scalar", EXPECT_F(0, "type 1 is not a function type"),
           MK_ABC(OP_CALLF, 0, 4, 0), VM_T_INT, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_type_past_table",
           EXPECT_F(0, "type %u is not a function type", (unsigned)T_XEND),
           MK_ABC(OP_CALLF, 0, 4, 0), T_XEND, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_type_other_function",
           EXPECT_F(0, "operand B register 4 is function, expected function"),
           MK_ABC(OP_CALLF, 0, 4, 0), T_FN_V, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_callf_unused_c", EXPECT_F(0, "unused operand C is 2, expected 0"),
           MK_ABC(OP_CALLF, 0, 4, 2), T_FN_II, MK_ABC(OP_RET, 0, 0, 0));

    /* NEWCELL: A is a cell (CE), B storable in it (CV) */
    CASE_X("v_newcell_into_int", EXPECT_F(0, "operand A register 9 is int, expected a cell"),
           MK_ABC(OP_NEWCELL, 9, 9, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_newcell_into_function",
           EXPECT_F(0, "operand A register 4 is function, expected a cell"),
           MK_ABC(OP_NEWCELL, 4, 9, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_newcell_value_type",
           EXPECT_F(0, "operand B register 10 is str, cannot be stored as int"),
           MK_ABC(OP_NEWCELL, 7, 10, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_newcell_int_into_str_cell",
           EXPECT_F(0, "operand B register 0 is int, cannot be stored as str"),
           MK_ABC(OP_NEWCELL, 8, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_newcell_cell_in_cell",
           EXPECT_F(0, "operand B register 7 is cell, cannot be stored as int"),
           MK_ABC(OP_NEWCELL, 7, 7, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_newcell_value_out_of_range",
           EXPECT_F(0, "operand B register 20 out of range (function has 14)"),
           MK_ABC(OP_NEWCELL, 7, 20, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_newcell_unused_c", EXPECT_F(0, "unused operand C is 3, expected 0"),
           MK_ABC(OP_NEWCELL, 7, 9, 3), MK_ABC(OP_RET, 0, 0, 0));

    /* GETCELL: B is a cell (CG) whose value A can hold */
    CASE_X("v_getcell_from_int", EXPECT_F(0, "operand B register 9 is int, expected a cell"),
           MK_ABC(OP_GETCELL, 0, 9, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_getcell_type", EXPECT_F(0, "operand A register 10 is str, cannot hold int"),
           MK_ABC(OP_GETCELL, 10, 7, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_getcell_str_into_int", EXPECT_F(0, "operand A register 0 is int, cannot hold str"),
           MK_ABC(OP_GETCELL, 0, 8, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_getcell_into_cell", EXPECT_F(0, "operand A register 7 is cell, cannot hold int"),
           MK_ABC(OP_GETCELL, 7, 7, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_getcell_cell_out_of_range",
           EXPECT_F(0, "operand B register 14 out of range (function has 14)"),
           MK_ABC(OP_GETCELL, 0, 14, 0), MK_ABC(OP_RET, 0, 0, 0));
    /* SETCELL: B is a cell (CS) that can hold A's value */
    CASE_X("v_setcell_into_int", EXPECT_F(0, "operand B register 5 is int, expected a cell"),
           MK_ABC(OP_SETCELL, 0, 5, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_setcell_into_function",
           EXPECT_F(0, "operand B register 4 is function, expected a cell"),
           MK_ABC(OP_SETCELL, 9, 4, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_setcell_type", EXPECT_F(0, "operand A register 10 is str, cannot be stored as int"),
           MK_ABC(OP_SETCELL, 10, 7, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_setcell_float_into_str_cell",
           EXPECT_F(0, "operand A register 1 is float, cannot be stored as str"),
           MK_ABC(OP_SETCELL, 1, 8, 0), MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_setcell_value_out_of_range",
           EXPECT_F(0, "operand A register 200 out of range (function has 14)"),
           MK_ABC(OP_SETCELL, 200, 7, 0), MK_ABC(OP_RET, 0, 0, 0));

    /* A capturing function is reached only through FNEW and CALLF */
    CASE_X("v_call_capturing_function",
           EXPECT_F(0, "direct call of function %u, which captures values", (unsigned)F_ADD),
           MK_ABC(OP_CALL, 0, 9, 0), F_ADD, MK_ABC(OP_RET, 0, 0, 0));
    CASE_X("v_call_capturing_void_function",
           EXPECT_F(0, "direct call of function %u, which captures values", (unsigned)F_BUMP),
           MK_ABC(OP_CALL, 0, 0, 0), F_BUMP, MK_ABC(OP_RET, 0, 0, 0));
    closure_init(&b); /* get(self: Base, n: int) -> int, r2 now a capture */
    b.funcs[F_BGET].ncaps = 1;
    emit_image(g, "c_method_captures", &b,
               "invalid image: method captures values: slot 1 at class Base");
    closure_init(&b);
    b.funcs[F_OTOS].ncaps = 1; /* Other.to_str(self) -> str, r1 now a capture */
    emit_image(g, "c_to_str_captures", &b,
               "invalid image: method captures values: slot 0 at class Other");
    closure_init(&b);
    b.modules[0].init = F_BUMP;
    emit_image(g, "v_module_init_captures", &b,
               "invalid image: module initializer must take no parameters, capture nothing "
               "and return nothing at bump:0");
    closure_init(&b);
    b.im.main = F_BUMP;
    emit_image(g, "v_main_captures", &b,
               "invalid image: main must take no parameters, capture nothing and return "
               "nothing at bump:0");
    closure_init(&b); /* main() -> void, its r0 now a capture */
    b.funcs[F_MAIN].ncaps = 1;
    emit_image(g, "v_main_captures_own_register", &b,
               "invalid image: main must take no parameters, capture nothing and return "
               "nothing at main:0");

    /* The type table: function and cell types name earlier, non-void types */
    static const uint16_t VOID_PARAM[] = {VM_T_VOID}, SELF_PARAM[] = {T_FN_II},
                          LATER_PARAM[] = {T_CELL_S}, TWO_PARAMS[] = {VM_T_STR, T_XEND};
    closure_init(&b);
    b.ttab[T_FN_II - VM_T__COUNT].params = (uint16_t *)VOID_PARAM;
    emit_image(g, "c_fn_type_void_param", &b,
               EXPECT("invalid image: function type %u has a bad parameter or result type",
                      (unsigned)T_FN_II));
    closure_init(&b);
    b.ttab[T_FN_II - VM_T__COUNT].params = (uint16_t *)SELF_PARAM;
    emit_image(g, "c_fn_type_param_is_itself", &b,
               EXPECT("invalid image: function type %u has a bad parameter or result type",
                      (unsigned)T_FN_II));
    closure_init(&b);
    b.ttab[T_FN_II - VM_T__COUNT].params = (uint16_t *)LATER_PARAM;
    emit_image(g, "c_fn_type_param_later", &b,
               EXPECT("invalid image: function type %u has a bad parameter or result type",
                      (unsigned)T_FN_II));
    closure_init(&b); /* fn(str, <past the table>) -> int */
    b.ttab[T_FN_II - VM_T__COUNT] = (vm_type){VM_K_FN, VM_T_INT | 2u << 16, (uint16_t *)TWO_PARAMS};
    emit_image(g, "c_fn_type_second_param_past_table", &b,
               EXPECT("invalid image: function type %u has a bad parameter or result type",
                      (unsigned)T_FN_II));
    closure_init(&b); /* fn() -> fn() : its own id as its result */
    b.ttab[T_FN_V - VM_T__COUNT].a = T_FN_V;
    emit_image(g, "c_fn_type_result_is_itself", &b,
               EXPECT("invalid image: function type %u has a bad parameter or result type",
                      (unsigned)T_FN_V));
    closure_init(&b);
    b.ttab[T_FN_V - VM_T__COUNT].a = 0xffff;
    emit_image(g, "c_fn_type_result_huge", &b,
               EXPECT("invalid image: function type %u has a bad parameter or result type",
                      (unsigned)T_FN_V));
    closure_init(&b);
    b.ttab[T_CELL_I - VM_T__COUNT].a = VM_T_VOID;
    emit_image(g, "c_cell_holds_void", &b,
               EXPECT("invalid image: cell type %u holds type 0", (unsigned)T_CELL_I));
    closure_init(&b);
    b.ttab[T_CELL_S - VM_T__COUNT].a = T_CELL_S;
    emit_image(g, "c_cell_holds_itself", &b,
               EXPECT("invalid image: cell type %u holds type %u", (unsigned)T_CELL_S,
                      (unsigned)T_CELL_S));
    closure_init(&b);
    b.ttab[T_CELL_I - VM_T__COUNT].a = 40000;
    emit_image(g, "c_cell_holds_type_past_table", &b,
               EXPECT("invalid image: cell type %u holds type 40000", (unsigned)T_CELL_I));

    /* The reader: a function type's parameter count; a function's
     * parameters and captures fit in its registers */
    static uint16_t many[KILN_MAX_PARAMS + 1];
    for (int i = 0; i <= KILN_MAX_PARAMS; i++)
        many[i] = VM_T_INT;
    closure_init(&b);
    b.ttab[T_FN_II - VM_T__COUNT] =
        (vm_type){VM_K_FN, VM_T_INT | (uint32_t)(KILN_MAX_PARAMS + 1) << 16, many};
    serialize(&b.im, &out);
    emit_bytes(g, "r_fn_type_too_many_params", &out, /* after the three classes' 5 bytes */
               EXPECT("invalid image: function type %u has %u parameters at offset %zu",
                      (unsigned)T_FN_II, KILN_MAX_PARAMS + 1u,
                      sec_body(&out, SEC_TYPE) + 4 + 5 * NTYPES + 5));
    vm_buf_free(&out);

    closure_init(&b);
    b.funcs[F_V].ncaps = 1; /* v has no registers */
    serialize(&b.im, &out);
    emit_bytes(
        g, "r_captures_without_registers", &out,
        EXPECT("invalid image: bad register count 0 (0 parameters, 1 captures) at offset %zu",
               func_at(&out, &b.im, F_V) + FUNC_HEAD));
    vm_buf_free(&out);

    closure_init(&b);
    b.funcs[F_ADD].ncaps = 3; /* add: 1 parameter + 3 captures > 3 registers */
    serialize(&b.im, &out);
    emit_bytes(
        g, "r_params_and_captures_past_registers", &out,
        EXPECT("invalid image: bad register count 3 (1 parameters, 3 captures) at offset %zu",
               func_at(&out, &b.im, F_ADD) + FUNC_HEAD));
    vm_buf_free(&out);

    closure_init(&b);
    serialize(&b.im, &out);
    {
        size_t at = func_at(&out, &b.im, F_BUMP) + 9; /* ncaps u8 */
        out.data[at] = (char)255;
        fix_checksum(&out);
        emit_bytes(
            g, "r_captures_255", &out,
            EXPECT("invalid image: bad register count 2 (0 parameters, 255 captures) at offset %zu",
                   func_at(&out, &b.im, F_BUMP) + FUNC_HEAD));
    }
    vm_buf_free(&out);
#undef EXPECT
#undef CASE_X
}

static void discard(void *userdata, int stream, const char *bytes, size_t len)
{
    (void)userdata, (void)stream, (void)bytes, (void)len;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bad-images OUTDIR\n");
        return 2;
    }
    gen g = {argv[1], 0, 0, false};
    if (mkdir(g.outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "bad-images: cannot create %s: %s\n", g.outdir, strerror(errno));
        return 2;
    }

    /* The base must be valid, or every case would prove nothing. */
    base b;
    base_init(&b);
    vm_buf bytes;
    serialize(&b.im, &bytes);
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = discard; /* the base prints; the corpus run must not */
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm || kiln_load_image(vm, bytes.data, bytes.len) != KILN_OK || kiln_run(vm) != KILN_OK) {
        fprintf(stderr, "bad-images: the base image does not load and run: %s\n",
                vm ? kiln_error(vm) : "out of memory");
        kiln_free(vm);
        vm_buf_free(&bytes);
        return 1;
    }
    kiln_free(vm);
    vm_buf_free(&bytes);

    /* The object cases' f (O_TYPES), with code that uses every class role
     * correctly, must verify too: each CASE_O then breaks one thing. */
    base_init(&b);
    set_func(&b, F_F, S_F, 2, VM_T_INT, O_TYPES, O_NREGS);
    SET_CODE(&b, F_F, MK_ABx(OP_NEW, 6, C_DERIVED), MK_ABx(OP_NEW, 4, C_BASE),
             MK_ABC(OP_MOV, 10, 6, 0), /* Base = Derived */
             MK_ABC(OP_GETF, 7, 6, 0), MK_ABC(OP_SETF, 7, 4, 0),
             MK_ABC(OP_SETF, 6, 4, 1), /* Base field = Derived */
             MK_ABC(OP_GETF, 10, 4, 1), MK_ABC(OP_GETF, 9, 6, 2), MK_ABC(OP_SETF, 3, 6, 2),
             MK_ABx(OP_SETG, 6, 2), MK_ABx(OP_GETG, 10, 2), MK_ABC(OP_IS, 2, 4, 0), C_DERIVED,
             MK_ABC(OP_IS, 2, 8, 0), C_OTHER, MK_ABC(OP_AS, 6, 10, 0), C_DERIVED,
             MK_ABC(OP_JNULL, 6, 0, 0), 0, MK_ABC(OP_JNNULL, 9, 0, 0), 0, MK_ABC(OP_EQ_R, 2, 4, 6),
             MK_ABC(OP_NE_R, 2, 3, 8), MK_ABC(OP_CALLV, 7, 6, 0), 1, /* Derived's get(r6, r7) */
             MK_ABC(OP_CALLV, 9, 8, 0), 0,                           /* Other's to_str */
             MK_ABC(OP_CALLV, 3, 10, 0), 0,                          /* Base's to_str */
             MK_ABC(OP_CALL, 0, 6, 0), F_BGET,                       /* Base's get on a Derived */
             MK_ABC(OP_LOADNULL, 8, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    serialize(&b.im, &bytes);
    vm = kiln_new(&cfg);
    if (!vm || kiln_load_image(vm, bytes.data, bytes.len) != KILN_OK) {
        fprintf(stderr, "bad-images: the base image with the object f does not load: %s\n",
                vm ? kiln_error(vm) : "out of memory");
        kiln_free(vm);
        vm_buf_free(&bytes);
        return 1;
    }
    kiln_free(vm);
    vm_buf_free(&bytes);

    /* The closure base, with an f that uses every closure role correctly:
     * k = 7 (r9); r4 = add capturing k; r0 = r4(r5); r7 = a cell of k;
     * r6 = bump capturing r7; r6(); r9 = *r7; *r7 = r9; r8 = a cell of
     * r10; r12 = *r8; a top-level function as a value (h is no fn(int) ->
     * int, so v as a fn()); return r0. */
    closure_init(&b);
    SET_CODE(&b, F_F, MK_ABx(OP_LOADI, 9, 7), MK_ABx(OP_LOADI, 5, 2), MK_ABC(OP_FNEW, 4, 9, 0),
             F_ADD, MK_ABC(OP_CALLF, 0, 4, 0), T_FN_II, MK_ABC(OP_MOV, 11, 4, 0),
             MK_ABC(OP_NEWCELL, 7, 9, 0), MK_ABC(OP_FNEW, 6, 7, 0), F_BUMP,
             MK_ABC(OP_CALLF, 0, 6, 0), T_FN_V, MK_ABC(OP_GETCELL, 9, 7, 0),
             MK_ABC(OP_SETCELL, 9, 7, 0), MK_ABx(OP_LOADK, 10, 2), MK_ABC(OP_NEWCELL, 8, 10, 0),
             MK_ABC(OP_GETCELL, 12, 8, 0), MK_ABC(OP_SETCELL, 3, 8, 0), MK_ABC(OP_FNEW, 6, 0, 0),
             F_V, MK_ABC(OP_EQ_R, 2, 4, 11), MK_ABC(OP_RET, 0, 0, 0));
    serialize(&b.im, &bytes);
    vm = kiln_new(&cfg);
    if (!vm || kiln_load_image(vm, bytes.data, bytes.len) != KILN_OK) {
        fprintf(stderr, "bad-images: the closure base does not load: %s\n",
                vm ? kiln_error(vm) : "out of memory");
        kiln_free(vm);
        vm_buf_free(&bytes);
        return 1;
    }
    kiln_free(vm);
    vm_buf_free(&bytes);

    verifier_cases(&g);
    class_cases(&g);
    reader_cases(&g);
    closure_cases(&g);
    if (g.io_error)
        return 2;
    if (g.nfailed) {
        fprintf(stderr, "bad-images: %d of %d cases did not fail as expected\n", g.nfailed,
                g.ncases);
        return 1;
    }
    printf("bad-images: %d cases written to %s\n", g.ncases, g.outdir);
    return 0;
}
