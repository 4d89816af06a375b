/*
 * x64.c — the encoder of x64.h. Every instruction goes through one routine,
 * emit(), which writes the legacy prefix, the REX prefix, the opcode and
 * the ModRM (+ SIB + displacement) of a register or memory operand.
 */
#include "x64.h"

#include <stdlib.h>
#include <string.h>

void x64_free(x64_buf *b)
{
    free(b->p);
    *b = (x64_buf){0};
}

bool x64_reserve(x64_buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return true;
    if (b->oom)
        return false;
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void x64_byte(x64_buf *b, uint8_t v)
{
    if (x64_reserve(b, 1))
        b->p[b->len++] = v;
}

void x64_u32(x64_buf *b, uint32_t v)
{
    if (x64_reserve(b, 4)) {
        memcpy(b->p + b->len, &v, 4);
        b->len += 4;
    }
}

void x64_u64(x64_buf *b, uint64_t v)
{
    if (x64_reserve(b, 8)) {
        memcpy(b->p + b->len, &v, 8);
        b->len += 8;
    }
}

void x64_append(x64_buf *b, const uint8_t *p, size_t n)
{
    if (n && x64_reserve(b, n)) {
        memcpy(b->p + b->len, p, n);
        b->len += n;
    }
}

void x64_patch32(x64_buf *b, size_t at, uint32_t v)
{
    if (!b->oom && at + 4 <= b->len)
        memcpy(b->p + at, &v, 4);
}

/* An operand in ModRM's r/m field: a register (m == NULL) or memory. */
enum { W = 1, BYTEREG = 2 }; /* emit() flags: REX.W; a byte register (needs REX for 4-7) */

static void emit(x64_buf *b, uint8_t pfx, int flags, uint32_t op, int oplen, int reg, int rm,
                 const x64_mem *m)
{
    if (pfx)
        x64_byte(b, pfx);
    int rex = (flags & W) ? 8 : 0;
    rex |= (reg & 8) ? 4 : 0;
    if (m) {
        rex |= (m->index != X64_NOREG && (m->index & 8)) ? 2 : 0;
        rex |= (m->base != X64_RIP && (m->base & 8)) ? 1 : 0;
    } else {
        rex |= (rm & 8) ? 1 : 0;
    }
    bool force = (flags & BYTEREG) && ((!m && rm >= 4 && rm < 8) || (reg >= 4 && reg < 8));
    if (rex || force)
        x64_byte(b, (uint8_t)(0x40 | rex));
    for (int i = oplen - 1; i >= 0; i--)
        x64_byte(b, (uint8_t)(op >> (8 * i)));
    if (!m) {
        x64_byte(b, (uint8_t)(0xC0 | ((reg & 7) << 3) | (rm & 7)));
        return;
    }
    if (m->base == X64_RIP) { /* mod 00, r/m 101: [rip + disp32] */
        x64_byte(b, (uint8_t)(((reg & 7) << 3) | 5));
        x64_u32(b, (uint32_t)m->disp);
        return;
    }
    int base = m->base & 7;
    int mod = m->disp == 0 && base != 5 ? 0 : (m->disp >= -128 && m->disp <= 127 ? 1 : 2);
    bool sib = m->index != X64_NOREG || base == 4;
    x64_byte(b, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (sib ? 4 : base)));
    if (sib) {
        int ss = m->scale == 8 ? 3 : m->scale == 4 ? 2 : m->scale == 2 ? 1 : 0;
        int idx = m->index == X64_NOREG ? 4 : (m->index & 7);
        x64_byte(b, (uint8_t)((ss << 6) | (idx << 3) | base));
    }
    if (mod == 1)
        x64_byte(b, (uint8_t)(int8_t)m->disp);
    else if (mod == 2)
        x64_u32(b, (uint32_t)m->disp);
}

/* ---- Moves ---- */
void x64_mov_rr(x64_buf *b, int dst, int src)
{
    emit(b, 0, W, 0x89, 1, src, dst, NULL);
}
void x64_mov_rr32(x64_buf *b, int dst, int src)
{
    emit(b, 0, 0, 0x89, 1, src, dst, NULL);
}
void x64_load(x64_buf *b, int dst, x64_mem m)
{
    emit(b, 0, W, 0x8B, 1, dst, 0, &m);
}
void x64_store(x64_buf *b, x64_mem m, int src)
{
    emit(b, 0, W, 0x89, 1, src, 0, &m);
}
void x64_load32(x64_buf *b, int dst, x64_mem m)
{
    emit(b, 0, 0, 0x8B, 1, dst, 0, &m);
}
void x64_store32(x64_buf *b, x64_mem m, int src)
{
    emit(b, 0, 0, 0x89, 1, src, 0, &m);
}
void x64_load8zx(x64_buf *b, int dst, x64_mem m)
{
    emit(b, 0, 0, 0x0FB6, 2, dst, 0, &m);
}
void x64_load16zx(x64_buf *b, int dst, x64_mem m)
{
    emit(b, 0, 0, 0x0FB7, 2, dst, 0, &m);
}
void x64_store_imm(x64_buf *b, x64_mem m, int32_t imm)
{
    emit(b, 0, W, 0xC7, 1, 0, 0, &m);
    x64_u32(b, (uint32_t)imm);
}
void x64_mov_imm64(x64_buf *b, int dst, uint64_t imm)
{
    x64_byte(b, (uint8_t)(0x48 | ((dst & 8) ? 1 : 0)));
    x64_byte(b, (uint8_t)(0xB8 + (dst & 7)));
    x64_u64(b, imm);
}
void x64_mov_imm(x64_buf *b, int dst, uint64_t imm)
{
    if (imm == 0) {
        emit(b, 0, 0, 0x31, 1, dst, dst, NULL); /* xor dst32, dst32 */
    } else if (imm <= UINT32_MAX) {
        if (dst & 8)
            x64_byte(b, 0x41);
        x64_byte(b, (uint8_t)(0xB8 + (dst & 7))); /* mov dst32, imm32: zero-extends */
        x64_u32(b, (uint32_t)imm);
    } else if ((int64_t)imm >= INT32_MIN && (int64_t)imm < 0) {
        emit(b, 0, W, 0xC7, 1, 0, dst, NULL); /* mov dst, simm32 */
        x64_u32(b, (uint32_t)imm);
    } else {
        x64_mov_imm64(b, dst, imm);
    }
}
void x64_lea(x64_buf *b, int dst, x64_mem m)
{
    emit(b, 0, W, 0x8D, 1, dst, 0, &m);
}

/* ---- Integer arithmetic ---- */
void x64_alu_rr(x64_buf *b, x64_alu op, int dst, int src)
{
    emit(b, 0, W, (uint32_t)(op << 3 | 1), 1, src, dst, NULL);
}
void x64_alu_rm(x64_buf *b, x64_alu op, int dst, x64_mem m)
{
    emit(b, 0, W, (uint32_t)(op << 3 | 3), 1, dst, 0, &m);
}
void x64_alu_rm32(x64_buf *b, x64_alu op, int dst, x64_mem m)
{
    emit(b, 0, 0, (uint32_t)(op << 3 | 3), 1, dst, 0, &m);
}
static void alu_imm(x64_buf *b, int flags, x64_alu op, int rm, const x64_mem *m, int32_t imm)
{
    bool small = imm >= -128 && imm <= 127;
    emit(b, 0, flags, small ? 0x83 : 0x81, 1, op, rm, m);
    if (small)
        x64_byte(b, (uint8_t)(int8_t)imm);
    else
        x64_u32(b, (uint32_t)imm);
}
void x64_alu_ri(x64_buf *b, x64_alu op, int dst, int32_t imm)
{
    alu_imm(b, W, op, dst, NULL, imm);
}
void x64_alu_mi(x64_buf *b, x64_alu op, x64_mem m, int32_t imm)
{
    alu_imm(b, W, op, 0, &m, imm);
}
void x64_alu_mi32(x64_buf *b, x64_alu op, x64_mem m, int32_t imm)
{
    alu_imm(b, 0, op, 0, &m, imm);
}
void x64_test_rr(x64_buf *b, int a, int c)
{
    emit(b, 0, W, 0x85, 1, c, a, NULL);
}
void x64_test_rr32(x64_buf *b, int a, int c)
{
    emit(b, 0, 0, 0x85, 1, c, a, NULL);
}
void x64_imul_rr(x64_buf *b, int dst, int src)
{
    emit(b, 0, W, 0x0FAF, 2, dst, src, NULL);
}
void x64_imul_rm(x64_buf *b, int dst, x64_mem m)
{
    emit(b, 0, W, 0x0FAF, 2, dst, 0, &m);
}
void x64_neg(x64_buf *b, int r)
{
    emit(b, 0, W, 0xF7, 1, 3, r, NULL);
}
void x64_not(x64_buf *b, int r)
{
    emit(b, 0, W, 0xF7, 1, 2, r, NULL);
}
void x64_cqo(x64_buf *b)
{
    x64_byte(b, 0x48);
    x64_byte(b, 0x99);
}
void x64_idiv(x64_buf *b, int r)
{
    emit(b, 0, W, 0xF7, 1, 7, r, NULL);
}
void x64_shl_cl(x64_buf *b, int r)
{
    emit(b, 0, W, 0xD3, 1, 4, r, NULL);
}
void x64_sar_cl(x64_buf *b, int r)
{
    emit(b, 0, W, 0xD3, 1, 7, r, NULL);
}
static void shift_ri(x64_buf *b, int ext, int r, uint8_t n)
{
    emit(b, 0, W, 0xC1, 1, ext, r, NULL);
    x64_byte(b, n);
}
void x64_shl_ri(x64_buf *b, int r, uint8_t n)
{
    shift_ri(b, 4, r, n);
}
void x64_shr_ri(x64_buf *b, int r, uint8_t n)
{
    shift_ri(b, 5, r, n);
}
void x64_sar_ri(x64_buf *b, int r, uint8_t n)
{
    shift_ri(b, 7, r, n);
}
void x64_setcc(x64_buf *b, x64_cc cc, int r)
{
    emit(b, 0, BYTEREG, 0x0F90u | cc, 2, 0, r, NULL);
}
void x64_movzx8(x64_buf *b, int dst, int src)
{
    emit(b, 0, BYTEREG, 0x0FB6, 2, dst, src, NULL);
}
void x64_inc_m(x64_buf *b, x64_mem m)
{
    emit(b, 0, W, 0xFF, 1, 0, 0, &m);
}
void x64_dec_m(x64_buf *b, x64_mem m)
{
    emit(b, 0, W, 0xFF, 1, 1, 0, &m);
}

/* ---- Scalar doubles ---- */
void x64_movsd_load(x64_buf *b, int xdst, x64_mem m)
{
    emit(b, 0xF2, 0, 0x0F10, 2, xdst, 0, &m);
}
void x64_movsd_store(x64_buf *b, x64_mem m, int xsrc)
{
    emit(b, 0xF2, 0, 0x0F11, 2, xsrc, 0, &m);
}
void x64_movsd_rr(x64_buf *b, int xdst, int xsrc)
{
    emit(b, 0xF2, 0, 0x0F10, 2, xdst, xsrc, NULL);
}
void x64_movapd(x64_buf *b, int xdst, int xsrc)
{
    emit(b, 0x66, 0, 0x0F28, 2, xdst, xsrc, NULL);
}
void x64_sse_rr(x64_buf *b, x64_sse op, int xdst, int xsrc)
{
    emit(b, 0xF2, 0, 0x0F00u | op, 2, xdst, xsrc, NULL);
}
void x64_sse_rm(x64_buf *b, x64_sse op, int xdst, x64_mem m)
{
    emit(b, 0xF2, 0, 0x0F00u | op, 2, xdst, 0, &m);
}
void x64_ucomisd(x64_buf *b, int xa, int xb)
{
    emit(b, 0x66, 0, 0x0F2E, 2, xa, xb, NULL);
}
void x64_ucomisd_m(x64_buf *b, int xa, x64_mem m)
{
    emit(b, 0x66, 0, 0x0F2E, 2, xa, 0, &m);
}
void x64_xorpd(x64_buf *b, int xdst, int xsrc)
{
    emit(b, 0x66, 0, 0x0F57, 2, xdst, xsrc, NULL);
}
void x64_cvtsi2sd(x64_buf *b, int xdst, int src)
{
    emit(b, 0xF2, W, 0x0F2A, 2, xdst, src, NULL);
}
void x64_cvttsd2si(x64_buf *b, int dst, int xsrc)
{
    emit(b, 0xF2, W, 0x0F2C, 2, dst, xsrc, NULL);
}
void x64_movq_xr(x64_buf *b, int xdst, int src)
{
    emit(b, 0x66, W, 0x0F6E, 2, xdst, src, NULL);
}
void x64_movq_rx(x64_buf *b, int dst, int xsrc)
{
    emit(b, 0x66, W, 0x0F7E, 2, xsrc, dst, NULL);
}

/* ---- Control ---- */
size_t x64_jcc(x64_buf *b, x64_cc cc)
{
    x64_byte(b, 0x0F);
    x64_byte(b, (uint8_t)(0x80 | cc));
    size_t at = b->len;
    x64_u32(b, 0);
    return at;
}
size_t x64_jmp(x64_buf *b)
{
    x64_byte(b, 0xE9);
    size_t at = b->len;
    x64_u32(b, 0);
    return at;
}
void x64_patch_rel(x64_buf *b, size_t at, size_t target)
{
    x64_patch32(b, at, (uint32_t)(int32_t)((int64_t)target - (int64_t)(at + 4)));
}
void x64_jcc_to(x64_buf *b, x64_cc cc, size_t target)
{
    x64_patch_rel(b, x64_jcc(b, cc), target);
}
void x64_jmp_to(x64_buf *b, size_t target)
{
    x64_patch_rel(b, x64_jmp(b), target);
}
size_t x64_call(x64_buf *b)
{
    x64_byte(b, 0xE8);
    size_t at = b->len;
    x64_u32(b, 0);
    return at;
}
void x64_call_r(x64_buf *b, int r)
{
    emit(b, 0, 0, 0xFF, 1, 2, r, NULL);
}
void x64_jmp_r(x64_buf *b, int r)
{
    emit(b, 0, 0, 0xFF, 1, 4, r, NULL);
}
void x64_call_m(x64_buf *b, x64_mem m)
{
    emit(b, 0, 0, 0xFF, 1, 2, 0, &m);
}
void x64_push(x64_buf *b, int r)
{
    if (r & 8)
        x64_byte(b, 0x41);
    x64_byte(b, (uint8_t)(0x50 + (r & 7)));
}
void x64_pop(x64_buf *b, int r)
{
    if (r & 8)
        x64_byte(b, 0x41);
    x64_byte(b, (uint8_t)(0x58 + (r & 7)));
}
void x64_ret(x64_buf *b)
{
    x64_byte(b, 0xC3);
}
void x64_int3(x64_buf *b)
{
    x64_byte(b, 0xCC);
}
void x64_rep_stosq(x64_buf *b)
{
    x64_byte(b, 0xF3);
    x64_byte(b, 0x48);
    x64_byte(b, 0xAB);
}
