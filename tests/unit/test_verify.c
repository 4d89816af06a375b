/*
 * test_verify.c — vm_verify: compiled programs pass; hand-built functions
 * that break one rule fail with the expected message. (tests/bad/ holds
 * the full corpus, one case per rule, checked through `kiln verify`.)
 */
#include "unit.h"

/* A one-module image: f0 "<init>" () -> void { RET0 }, f1 "f" whose
 * signature, registers and code each test sets, and f2 "g" (int, float)
 * -> int for calls. Constants k0 = 7 (int), k1 = "s" (str); global g0:
 * float; native n0 print(int) -> void. */
typedef struct mini {
    vm_image im;
    uint32_t off[6], len[6];
    char data[64];
    vm_const k[2];
    vm_global g[1];
    vm_nativeref n[1];
    vm_func f[3];
    uint16_t types[3][8];
    uint32_t code[3][16];
    vm_module m[1];
} mini;

static const char *const STRS[] = {"m", "m.kn", "<init>", "f", "g", "print"};

static void mini_init(mini *x, uint16_t ret, const uint16_t *types, uint16_t nregs, uint8_t nparams)
{
    memset(x, 0, sizeof *x);
    size_t at = 0;
    for (int i = 0; i < 6; i++) {
        size_t n = strlen(STRS[i]);
        x->off[i] = (uint32_t)at;
        x->len[i] = (uint32_t)n;
        memcpy(x->data + at, STRS[i], n + 1);
        at += n + 1;
    }
    x->k[0] = (vm_const){VM_T_INT, 7};
    x->k[1] = (vm_const){VM_T_STR, 3};
    x->g[0] = (vm_global){4, VM_T_FLOAT, 0};
    x->n[0] = (vm_nativeref){.name = 5, .nparams = 1, .ret = VM_T_VOID, .params = {VM_T_INT}};

    x->f[0] = (vm_func){
        .name = 2, .ret = VM_T_VOID, .ncode = 1, .code = x->code[0], .types = x->types[0]};
    x->code[0][0] = MK_ABC(OP_RET0, 0, 0, 0);

    memcpy(x->types[1], types, nregs * sizeof *types);
    x->f[1] = (vm_func){.name = 3,
                        .nparams = nparams,
                        .ret = ret,
                        .nregs = nregs,
                        .types = x->types[1],
                        .code = x->code[1]};

    static const uint16_t G[] = {VM_T_INT, VM_T_FLOAT, VM_T_INT};
    memcpy(x->types[2], G, sizeof G);
    x->f[2] = (vm_func){.name = 4,
                        .nparams = 2,
                        .ret = VM_T_INT,
                        .nregs = 3,
                        .types = x->types[2],
                        .code = x->code[2],
                        .ncode = 1};
    x->code[2][0] = MK_ABC(OP_RET, 0, 0, 0);

    x->m[0] = (vm_module){0, 1, 0};
    x->im = (vm_image){.nstrs = 6,
                       .str_off = x->off,
                       .str_len = x->len,
                       .str_data = x->data,
                       .nconsts = 2,
                       .consts = x->k,
                       .nglobals = 1,
                       .globals = x->g,
                       .nnatives = 1,
                       .natives = x->n,
                       .nfuncs = 3,
                       .funcs = x->f,
                       .nmodules = 1,
                       .modules = x->m,
                       .entry = 0,
                       .main = -1};
}

static void mini_code(mini *x, const uint32_t *code, uint32_t n)
{
    memcpy(x->code[1], code, n * sizeof *code);
    x->f[1].ncode = n;
}

/* Registers of f in most tests: r0 int, r1 float, r2 bool, r3 str. */
static const uint16_t IFBS[] = {VM_T_INT, VM_T_FLOAT, VM_T_BOOL, VM_T_STR};

/* f () -> ret with registers IFBS runs `code`; vm_verify must give `want`
 * (NULL: must pass). */
static void check(uint16_t ret, const uint32_t *code, uint32_t n, const char *want)
{
    mini x;
    mini_init(&x, ret, IFBS, 4, 0);
    mini_code(&x, code, n);
    char err[256] = "";
    bool ok = vm_verify(&x.im, err, sizeof err);
    if (!want) {
        cr_assert(ok, "rejected: %s", err);
    } else {
        cr_assert_not(ok, "accepted, expected: %s", want);
        cr_assert_str_eq(err, want);
    }
}
#define CHECK(ret, want, ...) \
    do { \
        const uint32_t code_[] = {__VA_ARGS__}; \
        check(ret, code_, sizeof code_ / sizeof code_[0], want); \
    } while (0)

Test(verify, compiled_programs_pass)
{
    static const char *const PROGRAMS[] = {
        "print(1)\n",
        "fn f(a: int, b: float) -> float { return float(a) * b }\nprint(f(2, 1.5))\n",
        "var s = \"\"\nfor i in 0..=5 { if i % 2 == 0 { s = s + str(i) } else { continue } }\n"
        "while s.len() > 2 { s = s.slice(1, s.len()) }\nprint(s)\n",
        "fn main() { let x = 1.5\n if x > 1.0 && !(x >= 2.0) || false { print(\"${x}\") } }\n",
    };
    for (size_t i = 0; i < sizeof PROGRAMS / sizeof PROGRAMS[0]; i++) {
        vm_buf a;
        unit_compile("p.kn", PROGRAMS[i], &a);
        vm_image im;
        char err[256] = "";
        cr_assert(vm_image_read((const uint8_t *)a.data, a.len, true, &im, err, sizeof err), "%s",
                  err);
        cr_assert(vm_verify(&im, err, sizeof err), "program %zu: %s", i, err);
        vm_image_free(&im);
        vm_buf_free(&a);
    }
}

Test(verify, handmade_valid_function_passes)
{
    CHECK(VM_T_INT, NULL, MK_ABx(OP_LOADK, 0, 0), /* r0 = 7 */
          MK_ABC(OP_I2F, 1, 0, 0),                /* r1 = float(r0) */
          MK_ABx(OP_SETG, 1, 0),                  /* g0 = r1 */
          MK_ABx(OP_LOADK, 3, 1),                 /* r3 = "s" */
          MK_ABC(OP_STRLEN, 0, 3, 0),             /* r0 = len(r3) */
          MK_ABC(OP_CALLN, 0, 0, 0), 0,           /* print(r0) */
          MK_ABC(OP_CALL, 0, 0, 0), 2,            /* r0 = g(r0, r1) */
          MK_ABC(OP_LOADB, 2, 1, 0),              /* r2 = true */
          MK_ABC(OP_JF, 2, 0, 0), (uint32_t)-9,   /* back to pc 3 */
          MK_ABC(OP_RET, 0, 0, 0));
}

Test(verify, register_type_mismatch)
{
    CHECK(VM_T_INT, "invalid image: operand B register 1 is float, expected int at f:0",
          MK_ABC(OP_ADD_I, 0, 1, 0), MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: operand C register 2 is bool, expected str at f:1",
          MK_ABC(OP_NOP, 0, 0, 0), MK_ABC(OP_CONCAT, 3, 3, 2), MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: operand A register 0 is int, expected a reference at f:0",
          MK_ABC(OP_LOADNULL, 0, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: operand B register 3 is str, cannot be stored as int at f:0",
          MK_ABC(OP_MOV, 0, 3, 0), MK_ABC(OP_RET, 0, 0, 0));
}

Test(verify, register_out_of_range)
{
    CHECK(VM_T_INT, "invalid image: operand A register 4 out of range (function has 4) at f:0",
          MK_ABC(OP_MOV, 4, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
}

Test(verify, indices)
{
    CHECK(VM_T_INT, "invalid image: constant index 2 out of range (image has 2) at f:0",
          MK_ABx(OP_LOADK, 0, 2), MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: constant 1 is str, register 0 is int at f:0",
          MK_ABx(OP_LOADK, 0, 1), MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: operand A register 0 is int, cannot hold float at f:0",
          MK_ABx(OP_GETG, 0, 0), MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: function index 3 out of range (image has 3) at f:0",
          MK_ABC(OP_CALL, 0, 0, 0), 3, MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: native index 1 out of range (image has 1) at f:0",
          MK_ABC(OP_CALLN, 0, 0, 0), 1, MK_ABC(OP_RET, 0, 0, 0));
}

Test(verify, calls)
{
    CHECK(VM_T_INT, "invalid image: call argument 1 is float, expected int at f:0",
          MK_ABC(OP_CALL, 0, 1, 0), 2, MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: call argument 1 is str, expected int at f:0",
          MK_ABC(OP_CALL, 0, 3, 0), 2, MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: operand result register 1 is float, cannot hold int at f:0",
          MK_ABC(OP_CALL, 1, 0, 0), 2, MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT,
          "invalid image: call of a function without result names result register 2 at f:0",
          MK_ABC(OP_CALLN, 2, 0, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: call argument 1 is bool, expected int at f:0",
          MK_ABC(OP_CALLN, 0, 2, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
}

Test(verify, calls_argument_order)
{
    /* With r3 an int, arguments r3, r4: the second is out of range. */
    mini x;
    static const uint16_t T[] = {VM_T_INT, VM_T_FLOAT, VM_T_BOOL, VM_T_INT};
    mini_init(&x, VM_T_INT, T, 4, 0);
    const uint32_t code[] = {MK_ABC(OP_CALL, 0, 3, 0), 2, MK_ABC(OP_RET, 0, 0, 0)};
    mini_code(&x, code, 3);
    char err[256] = "";
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(err, "invalid image: call argument 2 register 4 out of range at f:0");
}

Test(verify, returns)
{
    CHECK(VM_T_INT, "invalid image: return without a value from a function returning int at f:0",
          MK_ABC(OP_RET0, 0, 0, 0));
    CHECK(VM_T_VOID, "invalid image: return of a value from a function without result at f:0",
          MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_STR, "invalid image: operand A register 0 is int, cannot be stored as str at f:0",
          MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_STR, NULL, MK_ABC(OP_RET, 3, 0, 0));
}

Test(verify, jumps)
{
    CHECK(VM_T_INT, "invalid image: jump target 2 is not an instruction of the function at f:0",
          MK_sJ(OP_JMP, 1), MK_ABC(OP_JT, 2, 0, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: jump target -1 is not an instruction of the function at f:0",
          MK_sJ(OP_JMP, (uint32_t)-2 & 0xffffffu), MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: jump target 4 is not an instruction of the function at f:1",
          MK_ABC(OP_NOP, 0, 0, 0), MK_ABx(OP_JEQK_I, 0, 3), 1, MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, NULL, /* a backward jump to pc 0 */
          MK_ABC(OP_NOP, 0, 0, 0), MK_ABx(OP_JEQK_I, 0, 3), (uint32_t)-3, MK_ABC(OP_RET, 0, 0, 0));
}

Test(verify, code_shape)
{
    CHECK(VM_T_INT, "invalid image: code falls off the end of the function at f:0",
          MK_ABC(OP_ADD_I, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: unknown opcode 250 at f:1", MK_ABC(OP_NOP, 0, 0, 0), 250);
    CHECK(VM_T_INT, "invalid image: instruction CALL runs past the end of the code at f:1",
          MK_ABC(OP_NOP, 0, 0, 0), MK_ABC(OP_CALL, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: unused operand C is 1, expected 0 at f:0",
          MK_ABC(OP_NOT, 2, 2, 1), MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: bool immediate 3 is not 0 or 1 at f:0",
          MK_ABC(OP_LOADB, 2, 3, 0), MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, NULL, MK_ABC(OP_TRAP, 0, 0, 0));

    mini x;
    mini_init(&x, VM_T_INT, IFBS, 4, 0);
    char err[256] = "";
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(err, "invalid image: function has no code at f:0");
}

Test(verify, entry_points)
{
    mini x;
    mini_init(&x, VM_T_VOID, IFBS, 4, 1);
    const uint32_t code[] = {MK_ABC(OP_RET0, 0, 0, 0)};
    mini_code(&x, code, 1);
    char err[256] = "";
    cr_assert(vm_verify(&x.im, err, sizeof err), "%s", err);
    x.im.main = 1; /* f takes an int */
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(
        err,
        "invalid image: main must take no parameters, capture nothing and return nothing at f:0");
    x.im.main = 2; /* g returns an int */
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(
        err,
        "invalid image: main must take no parameters, capture nothing and return nothing at g:0");
    x.im.main = -1;
    x.m[0].init = 1;
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(err, "invalid image: module initializer must take no parameters, capture "
                          "nothing and return nothing at f:0");
}

Test(verify, the_error_names_the_function)
{
    mini x;
    mini_init(&x, VM_T_INT, IFBS, 4, 0);
    const uint32_t code[] = {MK_ABC(OP_RET, 0, 0, 0)};
    mini_code(&x, code, 1);
    x.code[2][0] = MK_ABC(OP_RET, 1, 0, 0); /* g returns its float parameter as int */
    char err[256] = "";
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(
        err, "invalid image: operand A register 1 is float, cannot be stored as int at g:0");
}

/* Regression: RM once meant "register of A's type", so EQ_R (bool A,
 * reference B, C) could never verify; RM is now "of the previous
 * operand's type". */
Test(verify, identity_comparison_of_references)
{
    CHECK(VM_T_INT, NULL, MK_ABC(OP_EQ_R, 2, 3, 3), MK_ABC(OP_NE_R, 2, 3, 3),
          MK_ABC(OP_RET, 0, 0, 0));
}

/* Random code must be rejected with a message (or accepted), never crash
 * the verifier or read outside the function. */
Test(verify, random_code_never_crashes)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int iter = 0; iter < 20000; iter++) {
        mini x;
        mini_init(&x, iter % 3 == 0 ? VM_T_VOID : VM_T_INT, IFBS, 4, 0);
        uint32_t n = 1 + (uint32_t)(iter % 12), code[16];
        for (uint32_t i = 0; i < n; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            uint32_t op = (uint32_t)(s % (OP__COUNT + 4));
            uint32_t a = (uint32_t)(s >> 8) % 6, b = (uint32_t)(s >> 16) % 6,
                     c = (uint32_t)(s >> 24) % 6;
            code[i] = (s >> 40) % 8 == 0 ? (uint32_t)(s >> 32) : MK_ABC(op, a, b, c);
        }
        mini_code(&x, code, n);
        char err[256] = "";
        if (!vm_verify(&x.im, err, sizeof err)) {
            cr_assert(strncmp(err, "invalid image: ", 15) == 0, "%s", err);
            const char *at = strstr(err, " at f:");
            cr_assert_not_null(at, "%s", err);
            cr_assert_lt((uint32_t)strtoul(at + 6, NULL, 10), n, "%s", err);
        }
    }
}

/* ---- Classes ---- */

/* A two-class image, built by hand:
 *   types    5 = Base (class 0), 6 = Derived (class 1)
 *   class 0  Base             fields x: int   slots to_str = f1, get = f2
 *   class 1  Derived : Base   fields x: int   slots to_str = f1 (inherited),
 *                                             get = f3 (overridden)
 *   global   g0 gb: Base
 *   natives  n0 print(int), n1 print(bool), n2 print(str)
 *   f0 <init>() -> void                     RET0
 *   f1 to_str(self: Base) -> str            "obj"
 *   f2 get(self: Base, n: int) -> int       self.x + n
 *   f3 get(self: Derived, n: int) -> int    self.x - n
 *   f4 take(b: Base, n: int) -> int         b.get(n), a virtual call
 *   f5 use() -> void                        main; its code is each test's
 * Registers of use: r0 Derived, r1 int, r2 Base, r3 int, r4 bool, r5 str,
 * r6 Base. */
enum { C_INIT, C_TOSTR, C_BGET, C_DGET, C_TAKE, C_USE, C_NFUNCS };
enum { T_BASE = VM_T__COUNT, T_DERIVED };
static const char *const CSTRS[] = {"m", "m.kn", "<init>", "Base",  "Derived", "to_str", "get",
                                    "x", "take", "use",    "print", "obj",     "gb"};
enum {
    CS_M,
    CS_FILE,
    CS_INIT,
    CS_BASE,
    CS_DERIVED,
    CS_TOSTR,
    CS_GET,
    CS_X,
    CS_TAKE,
    CS_USE,
    CS_PRINT,
    CS_OBJ,
    CS_GB,
    CS_N
};

typedef struct cls {
    vm_image im;
    uint32_t off[CS_N], len[CS_N];
    char data[128];
    vm_type t[2];
    vm_class c[2];
    uint16_t ftypes[2][1];
    uint32_t fnames[2][1];
    uint32_t slots[2][2];
    vm_const k[1];
    vm_global g[1];
    vm_nativeref n[3];
    vm_func f[C_NFUNCS];
    uint16_t types[C_NFUNCS][8];
    uint32_t code[C_NFUNCS][64];
    vm_module m[1];
} cls;

static void cls_func(cls *x, int fi, uint32_t name, uint8_t nparams, uint16_t ret,
                     const uint16_t *types, uint16_t nregs, const uint32_t *code, uint32_t n)
{
    memcpy(x->types[fi], types, nregs * sizeof *types);
    memcpy(x->code[fi], code, n * sizeof *code);
    x->f[fi] = (vm_func){.name = name,
                         .nparams = nparams,
                         .ret = ret,
                         .nregs = nregs,
                         .types = x->types[fi],
                         .ncode = n,
                         .code = x->code[fi]};
}
#define CLS_FUNC(x, fi, name, nparams, ret, types, ...) \
    do { \
        static const uint16_t t_[] = types; \
        static const uint32_t c_[] = {__VA_ARGS__}; \
        cls_func(x, fi, name, nparams, ret, t_, sizeof t_ / sizeof t_[0], c_, \
                 sizeof c_ / sizeof c_[0]); \
    } while (0)
#define REGS(...) \
    { \
        __VA_ARGS__ \
    }

/* The code of use() in the valid image: every class instruction, with a
 * Derived flowing where a Base is expected through CALL, MOV, SETG and a
 * virtual call, then the packed calls. Prints 5 2 7 true false obj true 5 2. */
static const uint32_t USE_CODE[] = {
    MK_ABx(OP_NEW, 0, 1),                 /* 0  r0 = new Derived */
    MK_ABx(OP_LOADI, 1, 7),               /* 1 */
    MK_ABC(OP_SETF, 1, 0, 0),             /* 2  r0.x = 7 */
    MK_ABx(OP_LOADI, 1, 2),               /* 3 */
    MK_ABC(OP_CALL, 3, 0, 0),     C_TAKE, /* 4  r3 = take(r0: Derived as Base, 2) = 7 - 2 */
    MK_ABC(OP_CALLN, 0, 3, 0),    0,      /* 6  print(r3) */
    MK_ABC(OP_MOV, 2, 0, 0),              /* 8  r2: Base = r0: Derived */
    MK_ABC(OP_CALLV, 3, 2, 0),    1,      /* 9  r3 = r2.get(r3) = 7 - 5, Derived's */
    MK_ABC(OP_CALLN, 0, 3, 0),    0,      /* 11 print(r3) */
    MK_ABC(OP_GETF, 3, 2, 0),             /* 13 r3 = r2.x */
    MK_ABC(OP_CALLN, 0, 3, 0),    0,      /* 14 print(r3) */
    MK_ABC(OP_IS, 4, 2, 0),       1,      /* 16 r4 = r2 is Derived */
    MK_ABC(OP_CALLN, 0, 4, 0),    1,      /* 18 print(r4) */
    MK_ABC(OP_LOADNULL, 6, 0, 0),         /* 20 */
    MK_ABC(OP_IS, 4, 6, 0),       0,      /* 21 r4 = null is Base */
    MK_ABC(OP_CALLN, 0, 4, 0),    1,      /* 23 print(r4) */
    MK_ABC(OP_AS, 0, 2, 0),       1,      /* 25 r0 = r2 as Derived */
    MK_ABC(OP_JNNULL, 0, 0, 0),   1,      /* 27 skip the trap */
    MK_ABC(OP_TRAP, 0, 0, 0),             /* 29 */
    MK_ABC(OP_CALLV, 5, 0, 0),    0,      /* 30 r5 = r0.to_str(), inherited */
    MK_ABC(OP_CALLN, 0, 5, 0),    2,      /* 32 print(r5) */
    MK_ABx(OP_SETG, 0, 0),                /* 34 gb: Base = r0: Derived */
    MK_ABx(OP_GETG, 6, 0),                /* 35 r6 = gb */
    MK_ABC(OP_EQ_R, 4, 0, 6),             /* 36 r4 = r0 is r6 */
    MK_ABC(OP_JNULL, 6, 0, 0),    0,      /* 37 a branch to the next instruction */
    MK_ABC(OP_CALLN, 0, 4, 0),    1,      /* 39 print(r4) */
    MK_ABC(OP_CALLP, 3, 0, 1),    C_TAKE, /* 41 r3 = take(r0, r1), packed = 7 - 2 */
    MK_ABC(OP_CALLN, 0, 3, 0),    0,      /* 43 print(r3) */
    MK_ABC(OP_CALLVP, 3, 2, 1),   3,      /* 45 r3 = r2.get(r3), packed = 7 - 5 */
    MK_ABC(OP_CALLN, 0, 3, 0),    0,      /* 47 print(r3) */
    MK_ABC(OP_RET0, 0, 0, 0),             /* 49 */
};

static void cls_init(cls *x)
{
    memset(x, 0, sizeof *x);
    size_t at = 0;
    for (int i = 0; i < CS_N; i++) {
        size_t n = strlen(CSTRS[i]);
        x->off[i] = (uint32_t)at;
        x->len[i] = (uint32_t)n;
        memcpy(x->data + at, CSTRS[i], n + 1);
        at += n + 1;
    }
    x->t[0] = (vm_type){VM_K_CLASS, 0, NULL};
    x->t[1] = (vm_type){VM_K_CLASS, 1, NULL};
    for (int i = 0; i < 2; i++) {
        x->ftypes[i][0] = VM_T_INT;
        x->fnames[i][0] = CS_X;
        x->slots[i][0] = C_TOSTR;
        x->slots[i][1] = i ? C_DGET : C_BGET;
        x->c[i] = (vm_class){.name = i ? CS_DERIVED : CS_BASE,
                             .super = i ? 0 : -1,
                             .type = (uint16_t)(T_BASE + i),
                             .nfields = 1,
                             .field_types = x->ftypes[i],
                             .field_names = x->fnames[i],
                             .nslots = 2,
                             .slots = x->slots[i]};
    }
    x->k[0] = (vm_const){VM_T_STR, CS_OBJ};
    x->g[0] = (vm_global){CS_GB, T_BASE, 0};
    x->n[0] =
        (vm_nativeref){.name = CS_PRINT, .nparams = 1, .ret = VM_T_VOID, .params = {VM_T_INT}};
    x->n[1] =
        (vm_nativeref){.name = CS_PRINT, .nparams = 1, .ret = VM_T_VOID, .params = {VM_T_BOOL}};
    x->n[2] =
        (vm_nativeref){.name = CS_PRINT, .nparams = 1, .ret = VM_T_VOID, .params = {VM_T_STR}};

    CLS_FUNC(x, C_INIT, CS_INIT, 0, VM_T_VOID, REGS(VM_T_INT), MK_ABC(OP_RET0, 0, 0, 0));
    CLS_FUNC(x, C_TOSTR, CS_TOSTR, 1, VM_T_STR, REGS(T_BASE, VM_T_STR), MK_ABx(OP_LOADK, 1, 0),
             MK_ABC(OP_RET, 1, 0, 0));
    CLS_FUNC(x, C_BGET, CS_GET, 2, VM_T_INT, REGS(T_BASE, VM_T_INT, VM_T_INT),
             MK_ABC(OP_GETF, 2, 0, 0), MK_ABC(OP_ADD_I, 2, 2, 1), MK_ABC(OP_RET, 2, 0, 0));
    CLS_FUNC(x, C_DGET, CS_GET, 2, VM_T_INT, REGS(T_DERIVED, VM_T_INT, VM_T_INT),
             MK_ABC(OP_GETF, 2, 0, 0), MK_ABC(OP_SUB_I, 2, 2, 1), MK_ABC(OP_RET, 2, 0, 0));
    CLS_FUNC(x, C_TAKE, CS_TAKE, 2, VM_T_INT, REGS(T_BASE, VM_T_INT, VM_T_INT),
             MK_ABC(OP_CALLV, 2, 0, 0), 1, MK_ABC(OP_RET, 2, 0, 0));
    static const uint16_t USE_TYPES[] = {T_DERIVED, VM_T_INT, T_BASE, VM_T_INT,
                                         VM_T_BOOL, VM_T_STR, T_BASE};
    cls_func(x, C_USE, CS_USE, 0, VM_T_VOID, USE_TYPES, 7, USE_CODE,
             sizeof USE_CODE / sizeof USE_CODE[0]);

    x->m[0] = (vm_module){CS_M, CS_FILE, C_INIT};
    x->im = (vm_image){.ntypes = 2,
                       .types = x->t,
                       .nclasses = 2,
                       .classes = x->c,
                       .nstrs = CS_N,
                       .str_off = x->off,
                       .str_len = x->len,
                       .str_data = x->data,
                       .nconsts = 1,
                       .consts = x->k,
                       .nglobals = 1,
                       .globals = x->g,
                       .nnatives = 3,
                       .natives = x->n,
                       .nfuncs = C_NFUNCS,
                       .funcs = x->f,
                       .nmodules = 1,
                       .modules = x->m,
                       .entry = 0,
                       .main = C_USE};
}

static void cls_use_code(cls *x, const uint32_t *code, uint32_t n)
{
    memcpy(x->code[C_USE], code, n * sizeof *code);
    x->f[C_USE].ncode = n;
}

/* use() runs `code` in the class image; vm_verify must give `want`
 * (NULL: must pass). */
static void check_cls(const uint32_t *code, uint32_t n, const char *want)
{
    cls x;
    cls_init(&x);
    cls_use_code(&x, code, n);
    char err[256] = "";
    bool ok = vm_verify(&x.im, err, sizeof err);
    if (!want) {
        cr_assert(ok, "rejected: %s", err);
    } else {
        cr_assert_not(ok, "accepted, expected: %s", want);
        cr_assert_str_eq(err, want);
    }
}
#define CHECK_CLS(want, ...) \
    do { \
        const uint32_t code_[] = {__VA_ARGS__}; \
        check_cls(code_, sizeof code_ / sizeof code_[0], want); \
    } while (0)

/* Writes x's image to bytes, loads it through the API and runs it;
 * returns the status, with the guest's stdout in *o. */
static kiln_status cls_run(const cls *x, unit_out *o, char *err, size_t errlen)
{
    vm_buf bytes = {0};
    cr_assert(vm_image_write(&x->im, &bytes));
    kiln_vm *vm = unit_vm(o);
    kiln_status st = kiln_load_image(vm, bytes.data, bytes.len);
    if (st == KILN_OK)
        st = kiln_run(vm);
    snprintf(err, errlen, "%s", kiln_error(vm));
    kiln_free(vm);
    vm_buf_free(&bytes);
    return st;
}

Test(verify, two_classes_pass_and_run)
{
    cls x;
    cls_init(&x);
    char err[256] = "";
    cr_assert(vm_verify(&x.im, err, sizeof err), "%s", err);

    /* Through the bytes: the reader keeps the classes, the verifier still
     * accepts them, and the interpreter dispatches on the dynamic class. */
    vm_buf bytes = {0};
    cr_assert(vm_image_write(&x.im, &bytes));
    vm_image r;
    cr_assert(vm_image_read((const uint8_t *)bytes.data, bytes.len, true, &r, err, sizeof err),
              "%s", err);
    cr_assert(vm_verify(&r, err, sizeof err), "%s", err);
    cr_assert_eq(r.nclasses, 2);
    cr_assert_eq(r.classes[1].super, 0);
    cr_assert_eq(r.classes[1].slots[1], C_DGET);
    cr_assert(vm_assignable(&r, T_DERIVED, T_BASE), "Derived is a Base");
    cr_assert_not(vm_assignable(&r, T_BASE, T_DERIVED), "a Base is not a Derived");
    cr_assert_not(vm_assignable(&r, T_BASE, VM_T_STR));
    cr_assert_not(vm_assignable(&r, VM_T_STR, T_BASE));
    cr_assert_str_eq(vm_type_str(&r, T_DERIVED), "Derived");
    cr_assert_eq(vm_class_of(&r, T_BASE), &r.classes[0]);
    cr_assert_null(vm_class_of(&r, VM_T_STR));
    vm_image_free(&r);
    vm_buf_free(&bytes);

    unit_out o;
    kiln_status st = cls_run(&x, &o, err, sizeof err);
    cr_assert_eq(st, KILN_OK, "%s", err);
    cr_assert_str_eq(unit_text(&o.out), "5\n2\n7\ntrue\nfalse\nobj\ntrue\n5\n2\n");
    unit_out_free(&o);
}

Test(verify, subclass_values_flow_only_upward)
{
    /* Derived -> Base passes; Base -> Derived needs AS. */
    CHECK_CLS(NULL, MK_ABC(OP_MOV, 2, 0, 0), MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS("invalid image: operand B register 2 is Base, cannot be stored as Derived at use:0",
              MK_ABC(OP_MOV, 0, 2, 0), MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS("invalid image: call argument 1 is Base, expected Derived at use:0",
              MK_ABC(OP_CALL, 1, 2, 0), C_DGET, MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS("invalid image: operand A register 0 is Derived, cannot hold Base at use:0",
              MK_ABx(OP_GETG, 0, 0), MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS(NULL, MK_ABC(OP_AS, 0, 6, 0), 1, MK_ABC(OP_RET0, 0, 0, 0));
    /* NEW and AS name the register's class exactly. */
    CHECK_CLS("invalid image: operand A register 2 is Base, expected Derived at use:0",
              MK_ABx(OP_NEW, 2, 1), MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS("invalid image: operand A register 0 is Derived, expected Base at use:0",
              MK_ABC(OP_AS, 0, 2, 0), 0, MK_ABC(OP_RET0, 0, 0, 0));
}

Test(verify, class_operands)
{
    CHECK_CLS("invalid image: operand B register 1 is int, expected an object at use:0",
              MK_ABC(OP_GETF, 3, 1, 0), MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS("invalid image: field 1 out of range (class Base has 1) at use:0",
              MK_ABC(OP_GETF, 3, 2, 1), MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS("invalid image: operand A register 5 is str, cannot be stored as int at use:0",
              MK_ABC(OP_SETF, 5, 0, 0), MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS("invalid image: method slot 2 out of range (class Derived has 2) at use:0",
              MK_ABC(OP_CALLV, 3, 0, 0), 2, MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS("invalid image: operand result register 3 is int, cannot hold str at use:0",
              MK_ABC(OP_CALLV, 3, 0, 0), 0, MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS("invalid image: class index 2 out of range (image has 2) at use:0",
              MK_ABC(OP_IS, 4, 2, 0), 2, MK_ABC(OP_RET0, 0, 0, 0));
    CHECK_CLS("invalid image: operand A register 1 is int, expected a reference at use:0",
              MK_ABC(OP_JNULL, 1, 0, 0), 0, MK_ABC(OP_RET0, 0, 0, 0));
}

Test(verify, class_table_rules)
{
    cls x;
    char err[256] = "";
    cls_init(&x);
    x.c[1].super = 1;
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(
        err, "invalid image: superclass index must be below its own, got 1 at class Derived");
    cls_init(&x);
    x.slots[1][1] = C_BGET; /* Derived may keep Base's get: self is a Base */
    cr_assert(vm_verify(&x.im, err, sizeof err), "%s", err);
    x.slots[0][1] = C_DGET; /* but Base cannot use Derived's */
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(
        err, "invalid image: method does not take this class as self: slot 1 at class Base");
    cls_init(&x);
    x.t[1].a = 2;
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(err, "invalid image: type 8 names class 2, out of range");
}

/* Regression (library bug found by this test): IS and AS took any
 * reference register as B (role RR), so the verifier accepted a str there,
 * and the interpreter then read the string's header as a vm_inst's class
 * pointer (is_instance in interp.c): a segfault. Either the verifier must
 * refuse a non-class B (what it does since B became RO), or the test must
 * answer false and the cast raise CastError. */
Test(verify, is_and_as_of_a_string)
{
    cls x;
    cls_init(&x);
    static const uint32_t code[] = {
        MK_ABx(OP_LOADK, 5, 0),       /* r5 = "obj" */
        MK_ABC(OP_IS, 4, 5, 0),    0, /* r4 = r5 is Base */
        MK_ABC(OP_CALLN, 0, 4, 0), 1, /* print(r4) */
        MK_ABC(OP_AS, 6, 5, 0),    0, /* r6: Base = r5 as Base: CastError, if accepted */
        MK_ABC(OP_RET0, 0, 0, 0),
    };
    cls_use_code(&x, code, sizeof code / sizeof code[0]);
    char err[256] = "";
    if (!vm_verify(&x.im, err, sizeof err))
        return; /* refused by the verifier: fine */
    unit_out o;
    kiln_status st = cls_run(&x, &o, err, sizeof err);
    cr_assert_eq(st, KILN_ERR_RUNTIME, "%s", err);
    cr_assert_str_eq(unit_text(&o.out), "false\n");
    cr_assert_not_null(strstr(err, "CastError"), "%s", err);
    unit_out_free(&o);
}

/* Random code over the class image, whose roles (RO, SL, CA, CL, FG, FS)
 * index classes, fields and slots: never a crash. */
Test(verify, random_class_code_never_crashes)
{
    static const uint32_t OPS[] = {OP_NEW,   OP_GETF,  OP_SETF,   OP_IS,   OP_AS,
                                   OP_CALLV, OP_JNULL, OP_JNNULL, OP_EQ_R, OP_MOV,
                                   OP_GETG,  OP_SETG,  OP_CALL,   OP_RET0, OP_LOADNULL};
    uint64_t s = 0x2545f4914f6cdd1dull;
    for (int iter = 0; iter < 20000; iter++) {
        cls x;
        cls_init(&x);
        uint32_t n = 1 + (uint32_t)(iter % 12), code[16];
        for (uint32_t i = 0; i < n; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            uint32_t op = OPS[s % (sizeof OPS / sizeof OPS[0])];
            uint32_t a = (uint32_t)(s >> 8) % 8, b = (uint32_t)(s >> 16) % 8,
                     c = (uint32_t)(s >> 24) % 3;
            code[i] = (s >> 40) % 4 == 0 ? (uint32_t)(s >> 32) % 4 : MK_ABC(op, a, b, c);
        }
        cls_use_code(&x, code, n);
        char err[256] = "";
        if (!vm_verify(&x.im, err, sizeof err)) {
            cr_assert(strncmp(err, "invalid image: ", 15) == 0, "%s", err);
            const char *at = strstr(err, " at use:");
            cr_assert_not_null(at, "%s", err);
            cr_assert_lt((uint32_t)strtoul(at + 8, NULL, 10), n, "%s", err);
        }
    }
}
