/*
 * x64.h — a small x86-64 machine code encoder: exactly the instruction
 * forms the JIT emits (jit.c), each a function that appends its bytes to a
 * growing buffer. tests/unit/test_x64.c decodes every form with capstone
 * and compares the text, so an encoding bug fails there, not in a guest.
 *
 * Registers are numbered as the hardware does (RAX = 0 ... R15 = 15, XMM0
 * = 0 ... XMM15 = 15). A memory operand is base + index * scale + disp;
 * X64_NOREG as index means none. Every general-purpose operation is 64-bit
 * unless its name says 32 or 8.
 */
#ifndef KILN_X64_H
#define KILN_X64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Two tables, in the hardware's order. */
/* clang-format off */
enum {
    RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
    R8, R9, R10, R11, R12, R13, R14, R15,
    X64_NOREG = -1, X64_RIP = 16 /* a memory base: rip-relative disp32 */
};

/* Condition codes (the low nibble of Jcc / SETcc). */
typedef enum {
    CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
    CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G
} x64_cc;
/* clang-format on */

/* Arithmetic-logic operations of the 01/03/81 /n families. */
typedef enum {
    ALU_ADD = 0,
    ALU_OR = 1,
    ALU_AND = 4,
    ALU_SUB = 5,
    ALU_XOR = 6,
    ALU_CMP = 7
} x64_alu;

/* Scalar double operations (F2 0F xx). */
typedef enum {
    SSE_SQRT = 0x51,
    SSE_ADD = 0x58,
    SSE_MUL = 0x59,
    SSE_SUB = 0x5C,
    SSE_DIV = 0x5E
} x64_sse;

typedef struct x64_mem {
    int8_t base, index;
    uint8_t scale; /* 1, 2, 4 or 8 */
    int32_t disp;
} x64_mem;

static inline x64_mem x64_m(int base, int32_t disp)
{
    return (x64_mem){(int8_t)base, X64_NOREG, 1, disp};
}
static inline x64_mem x64_mi(int base, int index, int scale, int32_t disp)
{
    return (x64_mem){(int8_t)base, (int8_t)index, (uint8_t)scale, disp};
}

/* The buffer code is written to; `oom` once an append could not grow it
 * (the bytes are then incomplete and must not be used). */
typedef struct x64_buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} x64_buf;

void x64_free(x64_buf *b);
bool x64_reserve(x64_buf *b, size_t n); /* room for n more bytes; false when out of memory */
void x64_byte(x64_buf *b, uint8_t v);
void x64_u32(x64_buf *b, uint32_t v);
void x64_u64(x64_buf *b, uint64_t v);
void x64_append(x64_buf *b, const uint8_t *p, size_t n); /* raw bytes */
/* Rewrites the 32-bit field at `at` (a rel32 or imm32 emitted earlier). */
void x64_patch32(x64_buf *b, size_t at, uint32_t v);

/* ---- Moves ---- */
void x64_mov_rr(x64_buf *b, int dst, int src);          /* mov dst, src */
void x64_mov_rr32(x64_buf *b, int dst, int src);        /* mov dst32, src32 */
void x64_load(x64_buf *b, int dst, x64_mem m);          /* mov dst, [m] */
void x64_store(x64_buf *b, x64_mem m, int src);         /* mov [m], src */
void x64_load32(x64_buf *b, int dst, x64_mem m);        /* mov dst32, [m] (zero-extends) */
void x64_store32(x64_buf *b, x64_mem m, int src);       /* mov [m], src32 */
void x64_load8zx(x64_buf *b, int dst, x64_mem m);       /* movzx dst32, byte [m] */
void x64_load16zx(x64_buf *b, int dst, x64_mem m);      /* movzx dst32, word [m] */
void x64_store_imm(x64_buf *b, x64_mem m, int32_t imm); /* mov qword [m], imm (sign-extended) */
void x64_mov_imm(x64_buf *b, int dst, uint64_t imm);    /* the shortest form for imm */
void x64_mov_imm64(x64_buf *b, int dst, uint64_t imm);  /* movabs: always 10 bytes */
void x64_lea(x64_buf *b, int dst, x64_mem m);           /* lea dst, [m] */

/* ---- Integer arithmetic ---- */
void x64_alu_rr(x64_buf *b, x64_alu op, int dst, int src);     /* op dst, src */
void x64_alu_rm(x64_buf *b, x64_alu op, int dst, x64_mem m);   /* op dst, [m] */
void x64_alu_rm32(x64_buf *b, x64_alu op, int dst, x64_mem m); /* op dst32, dword [m] */
void x64_alu_ri(x64_buf *b, x64_alu op, int dst, int32_t imm);
void x64_alu_mi(x64_buf *b, x64_alu op, x64_mem m, int32_t imm);   /* op qword [m], imm */
void x64_alu_mi32(x64_buf *b, x64_alu op, x64_mem m, int32_t imm); /* op dword [m], imm */
void x64_test_rr(x64_buf *b, int a, int c);                        /* test a, c */
void x64_test_rr32(x64_buf *b, int a, int c);                      /* test a32, c32 */
void x64_imul_rr(x64_buf *b, int dst, int src);                    /* imul dst, src */
void x64_imul_rm(x64_buf *b, int dst, x64_mem m);                  /* imul dst, [m] */
void x64_neg(x64_buf *b, int r);
void x64_not(x64_buf *b, int r);
void x64_cqo(x64_buf *b);
void x64_idiv(x64_buf *b, int r); /* rdx:rax / r */
void x64_shl_cl(x64_buf *b, int r);
void x64_sar_cl(x64_buf *b, int r);
void x64_shl_ri(x64_buf *b, int r, uint8_t n); /* shl r, n */
void x64_shr_ri(x64_buf *b, int r, uint8_t n); /* shr r, n (logical) */
void x64_sar_ri(x64_buf *b, int r, uint8_t n); /* sar r, n */
void x64_setcc(x64_buf *b, x64_cc cc, int r);  /* setcc r8 */
void x64_movzx8(x64_buf *b, int dst, int src); /* movzx dst32, src8 */
void x64_inc_m(x64_buf *b, x64_mem m);         /* inc qword [m] */
void x64_dec_m(x64_buf *b, x64_mem m);         /* dec qword [m] */

/* ---- Scalar doubles ---- */
void x64_movsd_load(x64_buf *b, int xdst, x64_mem m);  /* movsd xdst, [m] */
void x64_movsd_store(x64_buf *b, x64_mem m, int xsrc); /* movsd [m], xsrc */
void x64_movsd_rr(x64_buf *b, int xdst, int xsrc);     /* movsd xdst, xsrc */
void x64_movapd(x64_buf *b, int xdst, int xsrc);       /* movapd xdst, xsrc */
void x64_sse_rr(x64_buf *b, x64_sse op, int xdst, int xsrc);
void x64_sse_rm(x64_buf *b, x64_sse op, int xdst, x64_mem m);
void x64_ucomisd(x64_buf *b, int xa, int xb);      /* ucomisd xa, xb */
void x64_ucomisd_m(x64_buf *b, int xa, x64_mem m); /* ucomisd xa, [m] */
void x64_xorpd(x64_buf *b, int xdst, int xsrc);
void x64_cvtsi2sd(x64_buf *b, int xdst, int src);  /* xdst = (double)src64 */
void x64_cvttsd2si(x64_buf *b, int dst, int xsrc); /* dst64 = trunc(xsrc) */
void x64_movq_xr(x64_buf *b, int xdst, int src);   /* movq xdst, src64 */
void x64_movq_rx(x64_buf *b, int dst, int xsrc);   /* movq dst64, xsrc */

/* ---- Control ---- */
/* Jumps with a 32-bit displacement: they return the offset of the rel32,
 * to patch once the target is known (x64_patch_rel). */
size_t x64_jcc(x64_buf *b, x64_cc cc);
size_t x64_jmp(x64_buf *b);
void x64_patch_rel(x64_buf *b, size_t at, size_t target); /* target: an offset in b */
void x64_jcc_to(x64_buf *b, x64_cc cc, size_t target);    /* a backward jump */
void x64_jmp_to(x64_buf *b, size_t target);
size_t x64_call(x64_buf *b);            /* call rel32, patched as a jump is */
void x64_call_r(x64_buf *b, int r);     /* call r */
void x64_jmp_r(x64_buf *b, int r);      /* jmp r */
void x64_call_m(x64_buf *b, x64_mem m); /* call [m] */
void x64_push(x64_buf *b, int r);
void x64_pop(x64_buf *b, int r);
void x64_ret(x64_buf *b);
void x64_int3(x64_buf *b);
void x64_rep_stosq(x64_buf *b); /* rep stosq: rcx qwords of rax at [rdi] */

#endif
