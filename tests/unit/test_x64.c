/*
 * test_x64.c — the x86-64 encoder (jit/x64.h): every function's bytes are
 * decoded with capstone and must be exactly one instruction, consume the
 * whole buffer, and read as the expected Intel-syntax text. Table-driven:
 * each form is tried with all 16 registers (or xmm0..xmm15) in each
 * position, and each memory form with every base (RSP and R12 need a SIB
 * byte, RBP and R13 a displacement even when it is 0), displacements 0,
 * disp8 and disp32 on both sides of the boundaries, and every index
 * register but RSP with scales 1, 2, 4 and 8. Immediates sit at the edges
 * of their short and long forms (alu: -128/127/128/-129; x64_mov_imm: 0,
 * 32-bit zero-extended, sign-extended simm32, movabs).
 *
 * Where the encoder chooses between forms, the length is checked too, so
 * a correct but longer encoding (disp32 where disp8 fits, imm32 where imm8
 * fits) fails: the expected length is computed from the operands as the
 * manual describes the shortest form (mem_len, rex).
 *
 * The expected text follows capstone's printing: numbers above 9 in hex,
 * negative ones as -0x..; but and/or/xor immediates, and 32-bit memory
 * operands' imm32, as unsigned hex of the operand size (the tables spell
 * these out). Jumps are decoded at their offset in the buffer, so the
 * printed target is the offset they were patched to.
 */
#include <capstone/capstone.h>
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../jit/x64.h"

static csh cs;

static void cs_setup(void)
{
    cr_assert_eq(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK, "cs_open failed");
}

static void cs_teardown(void)
{
    cs_close(&cs);
}

TestSuite(x64, .init = cs_setup, .fini = cs_teardown);

/* ---- Decoding and comparing ---- */

/* Decodes p[0..len) at address addr and asserts that it is one instruction
 * of exactly len bytes reading `want` ("mnemonic op_str"), and, unless
 * want_len is 0, that len is want_len. */
static void check_bytes(const uint8_t *p, size_t len, uint64_t addr, size_t want_len,
                        const char *want)
{
    cs_insn *insn = NULL;
    size_t n = cs_disasm(cs, p, len, addr, 0, &insn);
    char got[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && strlen(got) + 1 < sizeof got; i++) {
        size_t at = strlen(got);
        snprintf(got + at, sizeof got - at, "%s%s%s%s", i ? " ; " : "", insn[i].mnemonic,
                 insn[i].op_str[0] ? " " : "", insn[i].op_str);
        used += insn[i].size;
    }
    bool ok = n == 1 && used == len && !strcmp(got, want) && (!want_len || len == want_len);
    cs_free(insn, n);
    if (ok)
        return;
    char hex[3 * 64 + 4] = "", wl[32] = "any length";
    if (want_len)
        snprintf(wl, sizeof wl, "%zu bytes", want_len);
    for (size_t i = 0; i < len && i < 64; i++)
        snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02x ", p[i]);
    cr_assert_fail("encoding mismatch\n"
                   "  bytes:    %s(%zu)\n"
                   "  decoded:  %s (%zu instruction(s), %zu bytes decoded)\n"
                   "  expected: %s (%s)",
                   hex, len, n ? got : "(nothing)", n, used, want, wl);
}

/* Checks b's whole content (decoded at address 0) against the text built
 * from fmt, then empties b for the next case. */
__attribute__((format(printf, 3, 4))) static void check(x64_buf *b, size_t want_len,
                                                        const char *fmt, ...)
{
    char want[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    cr_assert(!b->oom, "out of memory emitting %s", want);
    cr_assert_gt(b->len, 0, "nothing emitted for %s", want);
    check_bytes(b->p, b->len, 0, want_len, want);
    b->len = 0;
}

/* ---- Operands as capstone prints them ---- */

static const char *const r64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
static const char *const r32[16] = {"eax", "ecx", "edx",  "ebx",  "esp",  "ebp",  "esi",  "edi",
                                    "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};
static const char *const r8[16] = {"al",  "cl",  "dl",   "bl",   "spl",  "bpl",  "sil",  "dil",
                                   "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"};
static const char *const xmm[16] = {"xmm0",  "xmm1",  "xmm2",  "xmm3", "xmm4",  "xmm5",
                                    "xmm6",  "xmm7",  "xmm8",  "xmm9", "xmm10", "xmm11",
                                    "xmm12", "xmm13", "xmm14", "xmm15"};
static const char *const cc_name[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                        "s", "ns", "p", "np", "l", "ge", "le", "g"};

typedef enum { K64, K32, K8, KX } reg_kind;

static const char *reg_name(reg_kind k, int r)
{
    return k == K64 ? r64[r] : k == K32 ? r32[r] : k == K8 ? r8[r] : xmm[r];
}

/* "[base + index*scale ± disp]" */
static const char *mem_text(char *out, size_t n, x64_mem m)
{
    int at = snprintf(out, n, "[%s", r64[m.base]);
    if (m.index != X64_NOREG) {
        at += snprintf(out + at, n - (size_t)at, " + %s", r64[m.index]);
        if (m.scale != 1)
            at += snprintf(out + at, n - (size_t)at, "*%d", m.scale);
    }
    if (m.disp) {
        int64_t d = m.disp;
        uint64_t mag = (uint64_t)(d < 0 ? -d : d);
        at += snprintf(out + at, n - (size_t)at, mag > 9 ? " %c 0x%" PRIx64 : " %c %" PRIu64,
                       d < 0 ? '-' : '+', mag);
    }
    snprintf(out + at, n - (size_t)at, "]");
    return out;
}

/* Bytes of ModRM + SIB + displacement in the shortest encoding of m. */
static size_t mem_len(x64_mem m)
{
    bool sib = m.index != X64_NOREG || (m.base & 7) == 4;
    size_t disp = m.disp == 0 && (m.base & 7) != 5 ? 0 : m.disp >= -128 && m.disp <= 127 ? 1 : 4;
    return 1 + sib + disp;
}

/* 1 if a REX prefix is needed: REX.W, or a register number above 7 in
 * ModRM.reg (reg), SIB.index or ModRM.rm / SIB.base. */
static size_t rex(bool w, int reg, const x64_mem *m, int rm)
{
    bool ext =
        (reg & 8) || (m ? (m->base & 8) || (m->index != X64_NOREG && (m->index & 8)) : (rm & 8));
    return w || ext;
}

/* The memory operands every memory form is tried with. */
enum { MAX_MEMS = 2048 };
static size_t mem_cases(x64_mem *out)
{
    static const int32_t disps[] = {0,    8,      -8,      127,       -128,     128,
                                    -129, 0x1000, -0x1000, INT32_MAX, INT32_MIN};
    static const int32_t idisps[] = {0, 127, -129};
    static const int ibases[] = {RAX, RSP, RBP, R9, R12, R13};
    static const int scales[] = {1, 2, 4, 8};
    size_t n = 0;
    for (int base = 0; base < 16; base++)
        for (size_t d = 0; d < sizeof disps / sizeof *disps; d++)
            out[n++] = x64_m(base, disps[d]);
    for (int index = 0; index < 16; index++) {
        if (index == RSP) /* not encodable as an index */
            continue;
        for (size_t s = 0; s < 4; s++) {
            /* every base with this index somewhere, the SIB/disp special
             * bases with every disp size */
            out[n++] = x64_mi((index * 5 + (int)s) & 15, index, scales[s], -8);
            for (size_t b = 0; b < sizeof ibases / sizeof *ibases; b++)
                for (size_t d = 0; d < sizeof idisps / sizeof *idisps; d++)
                    out[n++] = x64_mi(ibases[b], index, scales[s], idisps[d]);
        }
    }
    cr_assert_leq(n, MAX_MEMS);
    return n;
}

/* ---- Register to register ---- */

typedef struct rr_form {
    const char *mnem;
    void (*emit)(x64_buf *b, int op, int dst, int src);
    int op;
    reg_kind dk, sk;
    bool w;
    size_t base_len; /* prefix + opcode + ModRM, without REX; 0: not checked */
} rr_form;

static void e_mov_rr(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_mov_rr(b, d, s);
}
static void e_mov_rr32(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_mov_rr32(b, d, s);
}
static void e_alu_rr(x64_buf *b, int op, int d, int s)
{
    x64_alu_rr(b, (x64_alu)op, d, s);
}
static void e_test_rr(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_test_rr(b, d, s);
}
static void e_test_rr32(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_test_rr32(b, d, s);
}
static void e_imul_rr(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_imul_rr(b, d, s);
}
static void e_movzx8(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_movzx8(b, d, s);
}
static void e_movsd_rr(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_movsd_rr(b, d, s);
}
static void e_movapd(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_movapd(b, d, s);
}
static void e_sse_rr(x64_buf *b, int op, int d, int s)
{
    x64_sse_rr(b, (x64_sse)op, d, s);
}
static void e_ucomisd(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_ucomisd(b, d, s);
}
static void e_xorpd(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_xorpd(b, d, s);
}
static void e_cvtsi2sd(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_cvtsi2sd(b, d, s);
}
static void e_cvttsd2si(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_cvttsd2si(b, d, s);
}
static void e_movq_xr(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_movq_xr(b, d, s);
}
static void e_movq_rx(x64_buf *b, int op, int d, int s)
{
    (void)op;
    x64_movq_rx(b, d, s);
}

/* movzx8's length is not checked: the encoder may add a REX prefix that is
 * not needed (destination ESP..EDI), which is harmless. */
static const rr_form rr_forms[] = {
    {"mov", e_mov_rr, 0, K64, K64, true, 2},
    {"mov", e_mov_rr32, 0, K32, K32, false, 2},
    {"add", e_alu_rr, ALU_ADD, K64, K64, true, 2},
    {"or", e_alu_rr, ALU_OR, K64, K64, true, 2},
    {"and", e_alu_rr, ALU_AND, K64, K64, true, 2},
    {"sub", e_alu_rr, ALU_SUB, K64, K64, true, 2},
    {"xor", e_alu_rr, ALU_XOR, K64, K64, true, 2},
    {"cmp", e_alu_rr, ALU_CMP, K64, K64, true, 2},
    {"test", e_test_rr, 0, K64, K64, true, 2},
    {"test", e_test_rr32, 0, K32, K32, false, 2},
    {"imul", e_imul_rr, 0, K64, K64, true, 3},
    {"movzx", e_movzx8, 0, K32, K8, false, 0},
    {"movsd", e_movsd_rr, 0, KX, KX, false, 4},
    {"addsd", e_sse_rr, SSE_ADD, KX, KX, false, 4},
    {"mulsd", e_sse_rr, SSE_MUL, KX, KX, false, 4},
    {"subsd", e_sse_rr, SSE_SUB, KX, KX, false, 4},
    {"divsd", e_sse_rr, SSE_DIV, KX, KX, false, 4},
    {"sqrtsd", e_sse_rr, SSE_SQRT, KX, KX, false, 4},
    {"ucomisd", e_ucomisd, 0, KX, KX, false, 4},
    {"xorpd", e_xorpd, 0, KX, KX, false, 4},
    {"cvtsi2sd", e_cvtsi2sd, 0, KX, K64, true, 4},
    {"cvttsd2si", e_cvttsd2si, 0, K64, KX, true, 4},
    {"movq", e_movq_xr, 0, KX, K64, true, 4},
    {"movq", e_movq_rx, 0, K64, KX, true, 4},
    {"movapd", e_movapd, 0, KX, KX, false, 4},
};

Test(x64, reg_reg)
{
    x64_buf b = {0};
    for (size_t f = 0; f < sizeof rr_forms / sizeof *rr_forms; f++) {
        const rr_form *F = &rr_forms[f];
        for (int d = 0; d < 16; d++)
            for (int s = 0; s < 16; s++) {
                F->emit(&b, F->op, d, s);
                /* REX for either register above 7, whichever field it is in */
                size_t len = F->base_len ? F->base_len + rex(F->w, d, NULL, s) : 0;
                check(&b, len, "%s %s, %s", F->mnem, reg_name(F->dk, d), reg_name(F->sk, s));
            }
    }
    x64_free(&b);
}

/* ---- One register ---- */

typedef struct r_form {
    const char *fmt; /* with one %s: the register */
    void (*emit)(x64_buf *b, int r);
    bool w;
    size_t base_len; /* without REX */
} r_form;

static const r_form r_forms[] = {
    {"neg %s", x64_neg, true, 2},        {"not %s", x64_not, true, 2},
    {"idiv %s", x64_idiv, true, 2},      {"shl %s, cl", x64_shl_cl, true, 2},
    {"sar %s, cl", x64_sar_cl, true, 2}, {"call %s", x64_call_r, false, 2},
    {"jmp %s", x64_jmp_r, false, 2},     {"push %s", x64_push, false, 1},
    {"pop %s", x64_pop, false, 1},
};

Test(x64, one_reg)
{
    x64_buf b = {0};
    for (size_t f = 0; f < sizeof r_forms / sizeof *r_forms; f++)
        for (int r = 0; r < 16; r++) {
            r_forms[f].emit(&b, r);
            check(&b, r_forms[f].base_len + rex(r_forms[f].w, 0, NULL, r), r_forms[f].fmt, r64[r]);
        }
    x64_free(&b);
}

Test(x64, setcc)
{
    x64_buf b = {0};
    for (int cc = 0; cc < 16; cc++)
        for (int r = 0; r < 16; r++) {
            x64_setcc(&b, (x64_cc)cc, r);
            /* SPL..DIL need a REX prefix (without one they are AH..BH) */
            check(&b, 3 + (r >= 4), "set%s %s", cc_name[cc], r8[r]);
        }
    x64_free(&b);
}

Test(x64, no_operands)
{
    x64_buf b = {0};
    x64_cqo(&b);
    check(&b, 2, "cqo");
    x64_ret(&b);
    check(&b, 1, "ret");
    x64_int3(&b);
    check(&b, 1, "int3");
    x64_rep_stosq(&b);
    check(&b, 3, "rep stosq qword ptr [rdi], rax");
    x64_free(&b);
}

/* ---- Register and memory ---- */

typedef struct rm_form {
    const char *mnem;
    void (*emit)(x64_buf *b, int op, int reg, x64_mem m);
    int op;
    reg_kind k;
    const char *size; /* "qword ptr " ... */
    bool mem_first;   /* the memory operand is the destination */
    bool w;
    size_t base_len; /* prefix + opcode, without REX and ModRM */
} rm_form;

static void e_load(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_load(b, r, m);
}
static void e_store(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_store(b, m, r);
}
static void e_load32(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_load32(b, r, m);
}
static void e_store32(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_store32(b, m, r);
}
static void e_load8zx(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_load8zx(b, r, m);
}
static void e_load16zx(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_load16zx(b, r, m);
}
static void e_lea(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_lea(b, r, m);
}
static void e_alu_rm(x64_buf *b, int op, int r, x64_mem m)
{
    x64_alu_rm(b, (x64_alu)op, r, m);
}
static void e_alu_rm32(x64_buf *b, int op, int r, x64_mem m)
{
    x64_alu_rm32(b, (x64_alu)op, r, m);
}
static void e_imul_rm(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_imul_rm(b, r, m);
}
static void e_movsd_load(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_movsd_load(b, r, m);
}
static void e_movsd_store(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_movsd_store(b, m, r);
}
static void e_sse_rm(x64_buf *b, int op, int r, x64_mem m)
{
    x64_sse_rm(b, (x64_sse)op, r, m);
}
static void e_ucomisd_m(x64_buf *b, int op, int r, x64_mem m)
{
    (void)op;
    x64_ucomisd_m(b, r, m);
}

static const rm_form rm_forms[] = {
    {"mov", e_load, 0, K64, "qword ptr ", false, true, 1},
    {"mov", e_store, 0, K64, "qword ptr ", true, true, 1},
    {"mov", e_load32, 0, K32, "dword ptr ", false, false, 1},
    {"mov", e_store32, 0, K32, "dword ptr ", true, false, 1},
    {"movzx", e_load8zx, 0, K32, "byte ptr ", false, false, 2},
    {"movzx", e_load16zx, 0, K32, "word ptr ", false, false, 2},
    {"lea", e_lea, 0, K64, "", false, true, 1},
    {"add", e_alu_rm, ALU_ADD, K64, "qword ptr ", false, true, 1},
    {"or", e_alu_rm, ALU_OR, K64, "qword ptr ", false, true, 1},
    {"and", e_alu_rm, ALU_AND, K64, "qword ptr ", false, true, 1},
    {"sub", e_alu_rm, ALU_SUB, K64, "qword ptr ", false, true, 1},
    {"xor", e_alu_rm, ALU_XOR, K64, "qword ptr ", false, true, 1},
    {"cmp", e_alu_rm, ALU_CMP, K64, "qword ptr ", false, true, 1},
    {"cmp", e_alu_rm32, ALU_CMP, K32, "dword ptr ", false, false, 1},
    {"add", e_alu_rm32, ALU_ADD, K32, "dword ptr ", false, false, 1},
    {"imul", e_imul_rm, 0, K64, "qword ptr ", false, true, 2},
    {"movsd", e_movsd_load, 0, KX, "qword ptr ", false, false, 3},
    {"movsd", e_movsd_store, 0, KX, "qword ptr ", true, false, 3},
    {"addsd", e_sse_rm, SSE_ADD, KX, "qword ptr ", false, false, 3},
    {"mulsd", e_sse_rm, SSE_MUL, KX, "qword ptr ", false, false, 3},
    {"subsd", e_sse_rm, SSE_SUB, KX, "qword ptr ", false, false, 3},
    {"divsd", e_sse_rm, SSE_DIV, KX, "qword ptr ", false, false, 3},
    {"ucomisd", e_ucomisd_m, 0, KX, "qword ptr ", false, false, 3},
};

Test(x64, reg_mem)
{
    static x64_mem mems[MAX_MEMS];
    size_t nm = mem_cases(mems);
    x64_buf b = {0};
    char mt[64];
    for (size_t f = 0; f < sizeof rm_forms / sizeof *rm_forms; f++) {
        const rm_form *F = &rm_forms[f];
        for (size_t i = 0; i < nm; i++) {
            mem_text(mt, sizeof mt, mems[i]);
            for (int r = 0; r < 16; r++) {
                F->emit(&b, F->op, r, mems[i]);
                size_t len = F->base_len + rex(F->w, r, &mems[i], 0) + mem_len(mems[i]);
                const char *rn = reg_name(F->k, r);
                if (F->mem_first)
                    check(&b, len, "%s %s%s, %s", F->mnem, F->size, mt, rn);
                else
                    check(&b, len, "%s %s, %s%s", F->mnem, rn, F->size, mt);
            }
        }
    }
    x64_free(&b);
}

/* The forms with a memory operand and no register: inc, dec, call. */
Test(x64, mem_only)
{
    static x64_mem mems[MAX_MEMS];
    size_t nm = mem_cases(mems);
    x64_buf b = {0};
    char mt[64];
    for (size_t i = 0; i < nm; i++) {
        x64_mem m = mems[i];
        mem_text(mt, sizeof mt, m);
        size_t ml = mem_len(m);
        x64_inc_m(&b, m);
        check(&b, 2 + ml, "inc qword ptr %s", mt);
        x64_dec_m(&b, m);
        check(&b, 2 + ml, "dec qword ptr %s", mt);
        x64_call_m(&b, m);
        check(&b, 1 + rex(false, 0, &m, 0) + ml, "call qword ptr %s", mt);
    }
    x64_free(&b);
}

/* ---- Immediates ---- */

static const struct alu_op {
    x64_alu op;
    const char *mnem;
    bool logic; /* and/or/xor: capstone prints the immediate unsigned */
} alu_ops[] = {
    {ALU_ADD, "add", false}, {ALU_OR, "or", true},   {ALU_AND, "and", true},
    {ALU_SUB, "sub", false}, {ALU_XOR, "xor", true}, {ALU_CMP, "cmp", false},
};

/* An immediate as capstone prints it: in a 64-bit arithmetic (and mov)
 * operation, a 64-bit logic one, a 32-bit arithmetic and a 32-bit logic
 * one (memory operands: alu_mi32). */
static const struct imm_case {
    int32_t imm;
    bool small; /* fits the sign-extended imm8 form */
    const char *a64, *l64, *a32, *l32;
} imms[] = {
    {0, true, "0", "0", "0", "0"},
    {1, true, "1", "1", "1", "1"},
    {-1, true, "-1", "0xffffffffffffffff", "-1", "0xffffffff"},
    {127, true, "0x7f", "0x7f", "0x7f", "0x7f"},
    {-128, true, "-0x80", "0xffffffffffffff80", "-0x80", "0xffffff80"},
    {128, false, "0x80", "0x80", "0x80", "0x80"},
    {-129, false, "-0x81", "0xffffffffffffff7f", "0xffffff7f", "0xffffff7f"},
    {0x12345678, false, "0x12345678", "0x12345678", "0x12345678", "0x12345678"},
    {INT32_MAX, false, "0x7fffffff", "0x7fffffff", "0x7fffffff", "0x7fffffff"},
    {INT32_MIN, false, "-0x80000000", "0xffffffff80000000", "0x80000000", "0x80000000"},
};
enum { NIMMS = sizeof imms / sizeof *imms };

Test(x64, alu_ri)
{
    x64_buf b = {0};
    for (size_t o = 0; o < 6; o++)
        for (size_t i = 0; i < NIMMS; i++)
            for (int r = 0; r < 16; r++) {
                x64_alu_ri(&b, alu_ops[o].op, r, imms[i].imm);
                check(&b, imms[i].small ? 4 : 7, "%s %s, %s", alu_ops[o].mnem, r64[r],
                      alu_ops[o].logic ? imms[i].l64 : imms[i].a64);
            }
    x64_free(&b);
}

Test(x64, alu_mi)
{
    static x64_mem mems[MAX_MEMS];
    size_t nm = mem_cases(mems);
    x64_buf b = {0};
    char mt[64];
    for (size_t k = 0; k < nm; k++) {
        x64_mem m = mems[k];
        mem_text(mt, sizeof mt, m);
        for (size_t o = 0; o < 6; o++)
            for (size_t i = 0; i < NIMMS; i++) {
                const struct imm_case *I = &imms[i];
                size_t imm_len = I->small ? 1 : 4;
                bool logic = alu_ops[o].logic;
                x64_alu_mi(&b, alu_ops[o].op, m, I->imm);
                check(&b, 2 + mem_len(m) + imm_len, "%s qword ptr %s, %s", alu_ops[o].mnem, mt,
                      logic ? I->l64 : I->a64);
                x64_alu_mi32(&b, alu_ops[o].op, m, I->imm);
                /* capstone prints a 32-bit imm32 unsigned, an imm8 signed */
                const char *t32 = logic ? I->l32 : I->a32;
                check(&b, 1 + rex(false, 0, &m, 0) + mem_len(m) + imm_len, "%s dword ptr %s, %s",
                      alu_ops[o].mnem, mt, t32);
            }
    }
    x64_free(&b);
}

Test(x64, store_imm)
{
    static x64_mem mems[MAX_MEMS];
    size_t nm = mem_cases(mems);
    x64_buf b = {0};
    char mt[64];
    for (size_t k = 0; k < nm; k++) {
        mem_text(mt, sizeof mt, mems[k]);
        for (size_t i = 0; i < NIMMS; i++) {
            x64_store_imm(&b, mems[k], imms[i].imm);
            /* always imm32, sign-extended to 64 bits */
            check(&b, 2 + mem_len(mems[k]) + 4, "mov qword ptr %s, %s", mt, imms[i].a64);
        }
    }
    x64_free(&b);
}

/* x64_mov_imm picks: xor r32, r32 (0); mov r32, imm32 (zero-extended, up
 * to UINT32_MAX); mov r64, simm32 (negative values down to INT32_MIN);
 * movabs otherwise. */
Test(x64, mov_imm)
{
    enum { XOR, MOV32, MOVS, ABS };
    static const struct {
        uint64_t imm;
        int form;
        const char *text;
    } cases[] = {
        {0, XOR, NULL},
        {1, MOV32, "1"},
        {127, MOV32, "0x7f"},
        {0x7fffffff, MOV32, "0x7fffffff"},
        {0x80000000, MOV32, "0x80000000"},
        {UINT32_MAX, MOV32, "0xffffffff"},
        {(uint64_t)-1, MOVS, "-1"},
        {(uint64_t)-5, MOVS, "-5"},
        {(uint64_t)-129, MOVS, "-0x81"},
        {(uint64_t)(int64_t)INT32_MIN, MOVS, "-0x80000000"},
        {(uint64_t)(int64_t)INT32_MIN - 1, ABS, "0xffffffff7fffffff"},
        {(uint64_t)UINT32_MAX + 1, ABS, "0x100000000"},
        {0x123456789abcdef0, ABS, "0x123456789abcdef0"},
        {0x7fffffffffffffff, ABS, "0x7fffffffffffffff"},
        {0x8000000000000000, ABS, "0x8000000000000000"},
    };
    x64_buf b = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int r = 0; r < 16; r++) {
            x64_mov_imm(&b, r, cases[i].imm);
            size_t ext = (r & 8) != 0;
            switch (cases[i].form) {
            case XOR: check(&b, 2 + ext, "xor %s, %s", r32[r], r32[r]); break;
            case MOV32: check(&b, 5 + ext, "mov %s, %s", r32[r], cases[i].text); break;
            case MOVS: check(&b, 7, "mov %s, %s", r64[r], cases[i].text); break;
            default: check(&b, 10, "movabs %s, %s", r64[r], cases[i].text); break;
            }
        }
    x64_free(&b);
}

Test(x64, mov_imm64)
{
    static const struct {
        uint64_t imm;
        const char *text;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {UINT32_MAX, "0xffffffff"},
        {(uint64_t)-1, "0xffffffffffffffff"},
        {(uint64_t)-5, "0xfffffffffffffffb"},
        {0x123456789abcdef0, "0x123456789abcdef0"},
    };
    x64_buf b = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int r = 0; r < 16; r++) {
            x64_mov_imm64(&b, r, cases[i].imm);
            check(&b, 10, "movabs %s, %s", r64[r], cases[i].text);
        }
    x64_free(&b);
}

/* ---- Control ---- */

static void fill(x64_buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x64_byte(b, 0x90);
}

static void check_jump(x64_buf *b, size_t start, size_t len, const char *mnem, size_t target)
{
    char want[64];
    snprintf(want, sizeof want, target > 9 ? "%s 0x%zx" : "%s %zu", mnem, target);
    cr_assert(!b->oom);
    cr_assert_leq(start + len, b->len);
    check_bytes(b->p + start, len, start, len, want);
}

/* x64_jcc / x64_jmp leave a rel32 to patch, at the offset they return;
 * x64_patch_rel points it at a later offset: near, past the 8-bit range,
 * and far. */
Test(x64, jumps_forward)
{
    static const size_t gaps[] = {0, 1, 127, 128, 0x10000};
    x64_buf b = {0};
    char mnem[8];
    for (size_t g = 0; g < sizeof gaps / sizeof *gaps; g++) {
        for (int cc = 0; cc <= 17; cc++) { /* 16: jmp, 17: call */
            b.len = 0;
            fill(&b, 3); /* the jump does not start at 0 */
            size_t at = cc < 16 ? x64_jcc(&b, (x64_cc)cc) : cc == 16 ? x64_jmp(&b) : x64_call(&b);
            size_t ilen = cc < 16 ? 6 : 5;
            cr_assert_eq(at, 3 + ilen - 4, "the rel32 is the jump's last 4 bytes");
            fill(&b, gaps[g]);
            size_t target = b.len;
            x64_int3(&b);
            x64_patch_rel(&b, at, target);
            snprintf(mnem, sizeof mnem,
                     cc < 16    ? "j%s"
                     : cc == 16 ? "jmp"
                                : "call",
                     cc < 16 ? cc_name[cc] : "");
            check_jump(&b, 3, ilen, mnem, target);
            cr_assert_eq(b.p[target], 0xCC, "patching wrote past the rel32");
        }
    }
    x64_free(&b);
}

/* x64_jcc_to / x64_jmp_to jump back to an offset already emitted, or to
 * the jump itself. */
Test(x64, jumps_backward)
{
    static const size_t gaps[] = {0, 1, 122, 123, 0x10000};
    x64_buf b = {0};
    char mnem[8];
    for (size_t g = 0; g < sizeof gaps / sizeof *gaps; g++) {
        for (int cc = 0; cc <= 16; cc++) {
            for (int self = 0; self < 2; self++) {
                b.len = 0;
                fill(&b, 5);
                size_t target = self ? 5 + gaps[g] : 5;
                fill(&b, gaps[g]);
                size_t start = b.len;
                if (cc < 16)
                    x64_jcc_to(&b, (x64_cc)cc, target);
                else
                    x64_jmp_to(&b, target);
                size_t ilen = cc < 16 ? 6 : 5;
                cr_assert_eq(b.len, start + ilen);
                snprintf(mnem, sizeof mnem,
                         cc < 16    ? "j%s"
                         : cc == 16 ? "jmp"
                                    : "call",
                         cc < 16 ? cc_name[cc] : "");
                check_jump(&b, start, ilen, mnem, target);
            }
        }
    }
    x64_free(&b);
}

/* x64_jcc / x64_jmp patched backward with x64_patch_rel, as x64_jcc_to
 * does. */
Test(x64, patch_rel_backward)
{
    x64_buf b = {0};
    fill(&b, 0x40);
    size_t at = x64_jmp(&b);
    x64_patch_rel(&b, at, 0x10);
    check_jump(&b, 0x40, 5, "jmp", 0x10);
    at = x64_jcc(&b, CC_LE);
    x64_patch_rel(&b, at, 0);
    check_jump(&b, 0x45, 6, "jle", 0);
    x64_free(&b);
}

/* ---- The buffer ---- */

Test(x64, raw_bytes)
{
    x64_buf b = {0};
    x64_byte(&b, 0x90);
    check(&b, 1, "nop");
    x64_byte(&b, 0x05); /* add eax, imm32 */
    x64_u32(&b, 0x12345678);
    cr_assert_eq(memcmp(b.p, "\x05\x78\x56\x34\x12", 5), 0, "x64_u32 is little-endian");
    check(&b, 5, "add eax, 0x12345678");
    x64_byte(&b, 0x49); /* REX.W+B */
    x64_byte(&b, 0xBA); /* mov r10, imm64 */
    x64_u64(&b, 0x1122334455667788);
    cr_assert_eq(memcmp(b.p + 2, "\x88\x77\x66\x55\x44\x33\x22\x11", 8), 0,
                 "x64_u64 is little-endian");
    check(&b, 10, "movabs r10, 0x1122334455667788");
    x64_free(&b);
    cr_assert(b.p == NULL && b.len == 0 && b.cap == 0 && !b.oom, "x64_free resets the buffer");
}

Test(x64, patch32)
{
    x64_buf b = {0};
    x64_mov_imm(&b, RAX, 1); /* b8 01 00 00 00 */
    x64_patch32(&b, 1, 0x12345678);
    check(&b, 5, "mov eax, 0x12345678");

    x64_store_imm(&b, x64_m(RBX, 8), 0);
    x64_patch32(&b, b.len - 4, (uint32_t)-2);
    check(&b, 8, "mov qword ptr [rbx + 8], -2");

    /* a field that would end past the buffer is left alone */
    x64_mov_imm(&b, RAX, 1);
    x64_patch32(&b, 2, 0xFFFFFFFF);
    check(&b, 5, "mov eax, 1");

    /* a rel32 */
    size_t at = x64_jmp(&b);
    x64_patch32(&b, at, 0x100);
    check(&b, 5, "jmp 0x105");
    x64_free(&b);
}

/* The buffer grows from empty through many reallocations and keeps every
 * byte: a long sequence decodes back instruction by instruction. */
Test(x64, growth)
{
    enum { N = 20000 };
    x64_buf b = {0};
    for (int i = 0; i < N; i++)
        x64_load(&b, i & 15, x64_m(R13, (i & 1) ? -8 : 0x1000));
    cr_assert(!b.oom);
    cr_assert_geq(b.cap, b.len);
    cs_insn *insn = cs_malloc(cs);
    const uint8_t *p = b.p;
    size_t left = b.len;
    uint64_t addr = 0;
    char want[64];
    int n = 0;
    while (cs_disasm_iter(cs, &p, &left, &addr, insn)) {
        snprintf(want, sizeof want, "%s, qword ptr [r13 %s]", r64[n & 15],
                 (n & 1) ? "- 8" : "+ 0x1000");
        cr_assert_str_eq(insn->mnemonic, "mov", "instruction %d", n);
        cr_assert_str_eq(insn->op_str, want, "instruction %d", n);
        n++;
    }
    cs_free(insn, 1);
    cr_assert_eq(left, 0, "undecodable bytes at offset %zu", b.len - left);
    cr_assert_eq(n, N);
    x64_free(&b);
}

/* Once an append could not grow the buffer (oom), appends that need more
 * room are dropped without another allocation, and patches are ignored. */
Test(x64, oom_latches)
{
    uint8_t bytes[4] = {1, 2, 3, 4};
    x64_buf b = {bytes, 4, 4, true};
    x64_byte(&b, 0x90);
    x64_u32(&b, 5);
    x64_load(&b, RAX, x64_m(RAX, 0));
    cr_assert_eq(b.len, 4);
    x64_patch32(&b, 0, 0);
    cr_assert_eq(memcmp(bytes, "\x01\x02\x03\x04", 4), 0);
    cr_assert_eq(b.p, bytes);
}

/* rip-relative operands (the JIT's float constants): [rip + disp32],
 * the displacement counted from the end of the instruction. */
Test(x64, rip_relative)
{
    static const struct {
        int x;
        int32_t disp;
    } cases[] = {{0, 0x100}, {3, -8}, {9, 0x12345}, {15, 16}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char want[96];
        const char *sign = cases[i].disp < 0 ? "-" : "+";
        long mag = cases[i].disp < 0 ? -(long)cases[i].disp : cases[i].disp;
        char num[32]; /* capstone writes 0..9 in decimal */
        snprintf(num, sizeof num, mag > 9 ? "0x%lx" : "%ld", mag);
        x64_buf b = {0};
        x64_movsd_load(&b, cases[i].x, x64_m(X64_RIP, cases[i].disp));
        snprintf(want, sizeof want, "movsd xmm%d, qword ptr [rip %s %s]", cases[i].x, sign, num);
        check_bytes(b.p, b.len, 0, cases[i].x >= 8 ? 9 : 8, want);
        b.len = 0;
        x64_sse_rm(&b, SSE_MUL, cases[i].x, x64_m(X64_RIP, cases[i].disp));
        snprintf(want, sizeof want, "mulsd xmm%d, qword ptr [rip %s %s]", cases[i].x, sign, num);
        check_bytes(b.p, b.len, 0, cases[i].x >= 8 ? 9 : 8, want);
        b.len = 0;
        x64_ucomisd_m(&b, cases[i].x, x64_m(X64_RIP, cases[i].disp));
        snprintf(want, sizeof want, "ucomisd xmm%d, qword ptr [rip %s %s]", cases[i].x, sign, num);
        check_bytes(b.p, b.len, 0, cases[i].x >= 8 ? 9 : 8, want);
        x64_free(&b);
    }
}

/* shifts by an immediate (division by a power of two) */
Test(x64, shift_imm)
{
    static const struct {
        const char *mnem;
        void (*fn)(x64_buf *, int, uint8_t);
    } forms[] = {{"shl", x64_shl_ri}, {"shr", x64_shr_ri}, {"sar", x64_sar_ri}};
    static const uint8_t counts[] = {1, 2, 9, 31, 63};
    for (size_t f = 0; f < sizeof forms / sizeof *forms; f++)
        for (int r = 0; r < 16; r++)
            for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
                x64_buf b = {0};
                forms[f].fn(&b, r, counts[k]);
                char want[64];
                if (counts[k] > 9)
                    snprintf(want, sizeof want, "%s %s, 0x%x", forms[f].mnem, r64[r], counts[k]);
                else
                    snprintf(want, sizeof want, "%s %s, %u", forms[f].mnem, r64[r], counts[k]);
                check_bytes(b.p, b.len, 0, 4, want);
                x64_free(&b);
            }
}
