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
    uint8_t types[3][8];
    uint32_t code[3][16];
    vm_module m[1];
} mini;

static const char *const STRS[] = {"m", "m.kn", "<init>", "f", "g", "print"};

static void mini_init(mini *x, uint8_t ret, const uint8_t *types, uint16_t nregs,
                      uint8_t nparams)
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
    x->g[0] = (vm_global){4, VM_T_FLOAT};
    x->n[0] = (vm_nativeref){.name = 5, .nparams = 1, .ret = VM_T_VOID, .params = {VM_T_INT}};

    x->f[0] = (vm_func){.name = 2, .ret = VM_T_VOID, .ncode = 1, .code = x->code[0],
                        .types = x->types[0]};
    x->code[0][0] = MK_ABC(OP_RET0, 0, 0, 0);

    memcpy(x->types[1], types, nregs);
    x->f[1] = (vm_func){.name = 3, .nparams = nparams, .ret = ret, .nregs = nregs,
                        .types = x->types[1], .code = x->code[1]};

    static const uint8_t G[] = {VM_T_INT, VM_T_FLOAT, VM_T_INT};
    memcpy(x->types[2], G, sizeof G);
    x->f[2] = (vm_func){.name = 4, .nparams = 2, .ret = VM_T_INT, .nregs = 3,
                        .types = x->types[2], .code = x->code[2], .ncode = 1};
    x->code[2][0] = MK_ABC(OP_RET, 0, 0, 0);

    x->m[0] = (vm_module){0, 1, 0};
    x->im = (vm_image){.nstrs = 6, .str_off = x->off, .str_len = x->len, .str_data = x->data,
                       .nconsts = 2, .consts = x->k, .nglobals = 1, .globals = x->g,
                       .nnatives = 1, .natives = x->n, .nfuncs = 3, .funcs = x->f,
                       .nmodules = 1, .modules = x->m, .entry = 0, .main = -1};
}

static void mini_code(mini *x, const uint32_t *code, uint32_t n)
{
    memcpy(x->code[1], code, n * sizeof *code);
    x->f[1].ncode = n;
}

/* Registers of f in most tests: r0 int, r1 float, r2 bool, r3 str. */
static const uint8_t IFBS[] = {VM_T_INT, VM_T_FLOAT, VM_T_BOOL, VM_T_STR};

/* f () -> ret with registers IFBS runs `code`; vm_verify must give `want`
 * (NULL: must pass). */
static void check(uint8_t ret, const uint32_t *code, uint32_t n, const char *want)
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
#define CHECK(ret, want, ...)                                  \
    do {                                                       \
        const uint32_t code_[] = {__VA_ARGS__};                \
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
        cr_assert(vm_image_read((const uint8_t *)a.data, a.len, true, &im, err, sizeof err), "%s", err);
        cr_assert(vm_verify(&im, err, sizeof err), "program %zu: %s", i, err);
        vm_image_free(&im);
        vm_buf_free(&a);
    }
}

Test(verify, handmade_valid_function_passes)
{
    CHECK(VM_T_INT, NULL,
          MK_ABx(OP_LOADK, 0, 0),                       /* r0 = 7 */
          MK_ABC(OP_I2F, 1, 0, 0),                      /* r1 = float(r0) */
          MK_ABx(OP_SETG, 1, 0),                        /* g0 = r1 */
          MK_ABx(OP_LOADK, 3, 1),                       /* r3 = "s" */
          MK_ABC(OP_STRLEN, 0, 3, 0),                   /* r0 = len(r3) */
          MK_ABC(OP_CALLN, 0, 0, 0), 0,                 /* print(r0) */
          MK_ABC(OP_CALL, 0, 0, 0), 2,                  /* r0 = g(r0, r1) */
          MK_ABC(OP_LOADB, 2, 1, 0),                    /* r2 = true */
          MK_ABC(OP_JF, 2, 0, 0), (uint32_t)-9,         /* back to pc 3 */
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
    CHECK(VM_T_INT, "invalid image: operand B register 3 is str, expected int at f:0",
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
    CHECK(VM_T_INT, "invalid image: global 0 is float, register 0 is int at f:0",
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
    CHECK(VM_T_INT, "invalid image: operand result register 1 is float, expected int at f:0",
          MK_ABC(OP_CALL, 1, 0, 0), 2, MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: call of a function without result names result register 2 at f:0",
          MK_ABC(OP_CALLN, 2, 0, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
    CHECK(VM_T_INT, "invalid image: call argument 1 is bool, expected int at f:0",
          MK_ABC(OP_CALLN, 0, 2, 0), 0, MK_ABC(OP_RET, 0, 0, 0));
}

Test(verify, calls_argument_order)
{
    /* With r3 an int, arguments r3, r4: the second is out of range. */
    mini x;
    static const uint8_t T[] = {VM_T_INT, VM_T_FLOAT, VM_T_BOOL, VM_T_INT};
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
    CHECK(VM_T_STR, "invalid image: operand A register 0 is int, expected str at f:0",
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
    cr_assert_str_eq(err, "invalid image: main must take no parameters and return nothing at f:0");
    x.im.main = 2; /* g returns an int */
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(err, "invalid image: main must take no parameters and return nothing at g:0");
    x.im.main = -1;
    x.m[0].init = 1;
    cr_assert_not(vm_verify(&x.im, err, sizeof err));
    cr_assert_str_eq(err,
                     "invalid image: module initializer must take no parameters and return nothing at f:0");
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
    cr_assert_str_eq(err, "invalid image: operand A register 1 is float, expected int at g:0");
}

/* Regression: RM once meant "register of A's type", so EQ_R (bool A,
 * reference B, C) could never verify; RM is now "of the previous
 * operand's type". */
Test(verify, identity_comparison_of_references)
{
    CHECK(VM_T_INT, NULL, MK_ABC(OP_EQ_R, 2, 3, 3), MK_ABC(OP_NE_R, 2, 3, 3),
          MK_ABC(OP_RET, 0, 0, 0));
}

Test(verify, opcode_table_is_consistent)
{
    for (int op = 0; op < OP__COUNT; op++) {
        const vm_opinfo *o = &vm_ops[op];
        cr_assert_not_null(o->name);
        cr_assert_not_null(o->doc);
        cr_assert_leq(o->format, FMT_AsBxX, "%s", o->name);
        bool two = VM_INS_WORDS(op) == 2;
        /* the second word is always used: a jump, or the callee of a call */
        cr_assert_eq(two, o->role[3] != ROLE___, "%s: X role vs format", o->name);
        if (o->format == FMT_sJ)
            cr_assert_eq(o->role[0], ROLE_JO, "%s", o->name);
        for (int p = 0; p < op; p++)
            cr_assert_str_neq(vm_ops[p].name, o->name, "opcode name twice");
    }
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
            uint32_t a = (uint32_t)(s >> 8) % 6, b = (uint32_t)(s >> 16) % 6, c = (uint32_t)(s >> 24) % 6;
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
