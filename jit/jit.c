/*
 * jit.c — the baseline compiler: verified bytecode to x86-64, one function
 * at a time, one template per instruction, on the interpreter's frames.
 *
 * Machine state of compiled code (System V, Linux):
 *   rbx  R, the frame's registers      r12  the VM       r13  its context
 *   r14, r15  scratch kept across the C calls of one call sequence
 * Every bytecode register lives in its frame slot, so the collector, the
 * unwinder, stack traces and a catch clause see compiled frames exactly as
 * interpreted ones (frame.h); a compiled call writes the callee's record as
 * the interpreter does, with the bytecode pc it returns to.
 *
 * Machine stack: C enters compiled code through a trampoline (generated at
 * start-up) that saves the callee-saved registers and loads the three
 * above; a compiled function keeps 8 bytes of its own (the result slot of
 * a native call) and calls compiled callees with `call`, so a compiled
 * frame costs 16 bytes of machine stack. A compiled function returns
 * rax = 0 and rdx = its result, or rax = 1 when an error left it.
 *
 * Errors: whatever raises goes to the function's landing pad, which asks
 * jit_unwind for the machine address of the catch clause in this frame (the
 * search, interp_throw, runs once, where the error was raised) or returns
 * 1 to its caller, which does the same. The slow paths of inlined
 * instructions call the instruction's C code in interp/ops.h, which
 * re-checks and raises the interpreter's error, message for message.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../interp/interp.h"
#include "../interp/ops.h"
#include "../runtime/rt.h"
#include "../vm/frame.h"
#include "jit.h"
#include "jit_int.h"

/* ---- Helpers that compiled code calls ---- */

typedef int (*jit_opfn)(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x);

static int op_TRAP(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)R, (void)ins, (void)x;
    return ops_trap(vm);
}

/* The instructions compiled code runs in C: ops.h's functions. */
static const jit_opfn jit_ops[OP__COUNT] = {
    [OP_DIV_I] = op_DIV_I,     [OP_MOD_I] = op_MOD_I,     [OP_EQ_S] = op_EQ_S,
    [OP_NE_S] = op_EQ_S,       [OP_LT_S] = op_LT_S,       [OP_LE_S] = op_LT_S,
    [OP_F2I] = op_F2I,         [OP_CONCAT] = op_CONCAT,   [OP_STRLEN] = op_STRLEN,
    [OP_STRIDX] = op_STRIDX,   [OP_NEW] = op_NEW,         [OP_GETF] = op_GETF,
    [OP_SETF] = op_SETF,       [OP_IS] = op_IS,           [OP_AS] = op_AS,
    [OP_NEWA] = op_NEWA,       [OP_APUSH] = op_APUSH,     [OP_AFILL] = op_AFILL,
    [OP_AGET] = op_AGET,       [OP_ASET] = op_ASET,       [OP_ALEN] = op_ALEN,
    [OP_APOP] = op_APOP,       [OP_ASLICE] = op_ASLICE,   [OP_NEWM] = op_NEWM,
    [OP_MGET] = op_MGET,       [OP_MGETD] = op_MGET,      [OP_MSET] = op_MSET,
    [OP_MHAS] = op_MHAS,       [OP_MDEL] = op_MHAS,       [OP_MLEN] = op_MLEN,
    [OP_MKEYS] = op_MKEYS,     [OP_MNEXT] = op_MNEXT,     [OP_MKEYAT] = op_MKEYAT,
    [OP_MVALAT] = op_MKEYAT,   [OP_FNEW] = op_FNEW,       [OP_NEWCELL] = op_NEWCELL,
    [OP_GETCELL] = op_GETCELL, [OP_SETCELL] = op_SETCELL, [OP_TRAP] = op_TRAP,
    [OP_GETGC] = op_GETGC,     [OP_INITG] = op_INITG,     [OP_MRESERVE] = op_MRESERVE,
};

/* Publishes frame R at pc (the collector's and the unwinder's walks start
 * there), as the interpreter's PROTECT does. */
static vm_rtfunc *publish(kiln_vm *vm, vm_value *R, const uint32_t *pc)
{
    vm->ctx->frame = R;
    vm->ctx->pc = pc;
    return vm_frame_of(R)->fn;
}

/* Runs instruction `at` of R's function in C: a slow path, or an
 * instruction compiled code leaves to ops.h. */
static int64_t jit_op(kiln_vm *vm, vm_value *R, uint32_t at)
{
    const vm_rtfunc *f = vm_frame_of(R)->fn;
    const uint32_t *pc = f->code + at;
    publish(vm, R, pc + 1);
    uint32_t ins = pc[0];
    uint32_t x = VM_INS_WORDS(INS_OP(ins)) == 2 ? pc[1] : 0;
    return jit_ops[INS_OP(ins)](vm, f, R, ins, x);
}

/* A poll (fuel, kiln_interrupt) at a back-edge or a call: the frame is at
 * pc word `at` (past the instruction, as in the interpreter). */
static int64_t jit_poll(kiln_vm *vm, vm_value *R, uint32_t at)
{
    const vm_rtfunc *f = vm_frame_of(R)->fn;
    publish(vm, R, f->code + at);
    return vm_poll(vm);
}

/* A call at instruction `at` fails before the callee starts: a null
 * receiver or function value (overflow false), or no room (true). */
static int64_t jit_call_error(kiln_vm *vm, vm_value *R, uint32_t at, uint32_t overflow)
{
    const vm_rtfunc *f = vm_frame_of(R)->fn;
    publish(vm, R, f->code + at + 1 + overflow);
    return overflow ? ops_call_overflow(vm) : ops_call_null(vm, f, f->code[at]);
}

static int64_t jit_throw(kiln_vm *vm, vm_value *R, uint32_t at)
{
    const vm_rtfunc *f = vm_frame_of(R)->fn;
    const uint32_t *pc = f->code + at + 1;
    publish(vm, R, pc);
    vm_inst *exc = R[INS_A(f->code[at])].p;
    if (!exc)
        rt_raise(vm, RT_ERR_NULL, "throw of a null error");
    else
        interp_throw(vm, R, pc, exc);
    return 1;
}

/* Two strings of the same length > 0: the same bytes? */
static int64_t jit_str_eq(const vm_str *a, const vm_str *b)
{
    return memcmp(a->data, b->data, a->len) == 0;
}

/* The captured values of a function value, after the call's arguments. */
static void jit_copy_caps(vm_value *N, const vm_closure *c)
{
    const vm_rtfunc *g = c->fn;
    for (uint32_t i = 0; i < g->ncaps; i++)
        N[g->nparams + i] = c->caps[i];
}

/* A callee without machine code, its frame at N (record written,
 * arguments copied): it may get hot now; else the interpreter runs it. */
static jit_ret jit_call_slow(kiln_vm *vm, vm_value *N)
{
    const vm_frame *fr = vm_frame_of(N);
    vm_rtfunc *g = fr->fn;
    publish(vm, N - fr->back, fr->ret_pc);
    /* compiled (not when the machine stack runs low: interp_run takes
     * one activation, then none per call) */
    if (g->jcode ? !jit_c_stack_low(vm) : --g->calls < 0 && jit_hot(vm, g) && !jit_c_stack_low(vm))
        return jit_call(vm, N);
    uint32_t from = (uint32_t)g->nparams + g->ncaps;
    memset(N + from, 0, sizeof(vm_value) * (g->nregs - from));
    jit_ret r = {0, {0}};
    r.st = interp_run(vm, N, &r.v);
    return r;
}

/* The landing pad's question: where in frame R's machine code does the
 * error go on? The catch clause's, or NULL: it leaves R. */
static void *jit_unwind(kiln_vm *vm, vm_value *R)
{
    vm_ctx *X = vm->ctx;
    if (!X->unwinding) {
        if (X->err_kind == RT_EXIT)
            return NULL;
        interp_throw(vm, X->frame, X->pc, rt_error_object(vm));
    }
    if (X->catch_R != R)
        return NULL;
    const vm_rtfunc *f = vm_frame_of(R)->fn;
    X->catch_R = NULL;
    X->unwinding = false;
    const vm_func *d = f->def;
    for (uint32_t i = 0; i < d->nhandlers; i++)
        if (f->code + d->handlers[i].handler == X->catch_pc)
            return f->jinfo->code + f->jinfo->hentry[i];
    return NULL; /* cannot happen: catch_pc is one of its clauses */
}

/* ---- The compiler ---- */

/* Where a bytecode register is kept: a general register (0..15), an XMM
 * register (XMM(n)), or nowhere (-1: its frame slot only). A kept register
 * lives in its machine register; its slot is written only at safepoints —
 * before anything that may collect, throw, call or read the frame (calls,
 * C code, the out-of-line paths) — so the frame is whole whenever the
 * collector, the unwinder, a catch clause or ops.h looks at it. After such
 * a call the kept registers are loaded again (the pools are caller-saved).
 * r15 holds the tick counter in compiled code (stored to the context
 * around the calls that read it). */
#define XMM(n) (16 + (n))
#ifndef JIT_KEEP_REGS /* 0: every register in its slot only (for measuring) */
#define JIT_KEEP_REGS 1
#endif
#ifndef JIT_KEEP_FACTOR /* a register is kept if used more than this times the calls */
#define JIT_KEEP_FACTOR 1
#endif
static const int8_t gpr_pool[] = {RBP, R14, RSI, RDI, R8, R9, R10, R11};
enum { XMM_FIRST = 2, XMM_POOL = 14 }; /* xmm2..xmm15; xmm0, xmm1 are scratch */
#define TICK R15

/* Jump targets that are not bytecode: the landing pad, and the function's
 * subroutines that store and load its kept registers. */
enum { LANDING = UINT32_MAX, SPILL = UINT32_MAX - 1, FILL = UINT32_MAX - 2 };
/* With this many kept registers or more, storing and loading them is a
 * call to the function's subroutine rather than inline code. */
enum { KEPT_INLINE = 4 };
/* Out-of-line paths, emitted after the body. */
/* S_CALLPOLL: the poll of a call, whose sequence flushed the kept
 * registers already and may have clobbered them since (jit_copy_caps). */
/* S_INLINE: a call compiled inline that has to be a real call after all
 * (arg 0: the frame would not fit; arg 1: the tick ran out). */
enum { S_OP, S_POLL, S_CALLPOLL, S_CALLERR, S_CALLSLOW, S_INLINE };
typedef struct jit_slow {
    uint8_t kind;
    uint32_t at;     /* the instruction */
    uint32_t arg;    /* S_POLL: the pc word; S_CALLERR: overflow; S_CALLSLOW: frame offset */
    size_t from;     /* the rel32 that jumps here */
    size_t resume;   /* where to go on (an offset in the code), or SIZE_MAX */
    uint32_t target; /* or a bytecode instruction to go on at (S_POLL of a branch) */
} jit_slow;

typedef struct jit_fix {
    size_t at;       /* a rel32 */
    uint32_t target; /* a bytecode instruction, or LANDING */
} jit_fix;

/* A call compiled inline (plan_inline). */
typedef struct jit_site {
    const vm_rtfunc *g;  /* the callee */
    uint32_t *map;       /* its registers to ours */
    uint32_t first, end; /* the registers of its own, not aliased to ours */
    uint32_t ngpr, nxmm; /* how many of them are kept in GPRs, XMMs */
    bool self;           /* its first argument is checked not null first */
    bool mem;            /* some of those live in slots past the frame */
} jit_site;

typedef struct jc {
    kiln_vm *vm;
    vm_rtfunc *f;
    const vm_func *d;
    x64_buf b;
    uint32_t *pcmap;
    int8_t *home;   /* per register: where it is kept */
    uint32_t *kept; /* the registers kept in machine registers */
    uint32_t nkept;
    /* Kept registers whose slot may differ from the machine register
     * (written since the last write-back or load); at a jump target all
     * may, as the paths into it are not followed. */
    bool *dirty; /* per register */
    uint32_t ndirty;
    bool *handler; /* per code word: a catch clause starts here */
    bool *target;  /* per code word: a jump lands here */
    /* Registers known to hold an int constant in this block (set by LOADI,
     * forgotten when written or where a block starts): kgen[r] == gen. */
    int64_t *kval;
    uint32_t *kgen, gen;
    /* Reference registers known not to be null in this block (checked
     * already; a null check raises, so code after it sees non-null):
     * nngen[r] == gen, forgotten like kgen. */
    uint32_t *nngen;
    /* Calls compiled inline: per code word, the call's site index + 1 or
     * 0. Registers nreal.. (to nvirt) are the inlined callees'. */
    uint32_t *site_of;
    uint32_t *site_at; /* per inlined body's register (from nreal): its site */
    jit_site *sites;
    uint32_t nsites, nreal, nvirt;
    size_t capsites;
    uint16_t *types; /* per register, the callees' too */
    /* While an inlined body is emitted: its registers to ours, its code. */
    const uint32_t *map, *icode;
    jit_fix *fix;
    size_t nfix, capfix;
    jit_slow *slow;
    size_t nslow, capslow;
    jit_fix *kfix; /* rip-relative uses of float constants: target = constant index */
    size_t nkfix, capkfix;
    bool oom;
} jc;

#define B (&c->b)

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 64;
    void *q = realloc(*p, nc * size);
    if (!q)
        return false;
    *p = q;
    *cap = nc;
    return true;
}

static void fix(jc *c, size_t at, uint32_t target)
{
    if (!grow((void **)&c->fix, &c->capfix, c->nfix, sizeof *c->fix)) {
        c->oom = true;
        return;
    }
    c->fix[c->nfix++] = (jit_fix){at, target};
}

static void slow(jc *c, int kind, uint32_t at, uint32_t arg, size_t from, uint32_t target)
{
    if (!grow((void **)&c->slow, &c->capslow, c->nslow, sizeof *c->slow)) {
        c->oom = true;
        return;
    }
    c->slow[c->nslow++] = (jit_slow){(uint8_t)kind, at, arg, from, SIZE_MAX, target};
}

static x64_mem REG(uint32_t r)
{
    return x64_m(RBX, (int32_t)(8 * r));
}
#define CTX(field) x64_m(R13, (int32_t)offsetof(vm_ctx, field))

/* ---- Registers: in their slots, and kept ---- */

static bool in_gpr(int h)
{
    return h >= 0 && h < 16;
}
static bool in_xmm(int h)
{
    return h >= 16;
}

/* GPR r = the 64 bits of v. */
static void get(jc *c, int r, uint32_t v)
{
    int h = c->home[v];
    if (in_gpr(h)) {
        if (h != r)
            x64_mov_rr(B, r, h);
    } else if (in_xmm(h)) {
        x64_movq_rx(B, r, h - 16);
    } else {
        x64_load(B, r, REG(v));
    }
}
/* A GPR holding v, to read: its own, or r loaded. */
static int use(jc *c, int r, uint32_t v)
{
    int h = c->home[v];
    if (in_gpr(h))
        return h;
    get(c, r, v);
    return r;
}
static void mark_dirty(jc *c, uint32_t v)
{
    if (v < c->nreal && !c->dirty[v]) { /* an inlined callee's register dies with its body */
        c->dirty[v] = true;
        c->ndirty++;
    }
}
static void all_dirty(jc *c)
{
    for (uint32_t i = 0; i < c->nkept; i++)
        c->dirty[c->kept[i]] = true;
    c->ndirty = c->nkept;
}
static void all_clean(jc *c)
{
    for (uint32_t i = 0; i < c->nkept; i++)
        c->dirty[c->kept[i]] = false;
    c->ndirty = 0;
}

/* v = the 64 bits of GPR r. */
static void put(jc *c, uint32_t v, int r)
{
    int h = c->home[v];
    if (h >= 0)
        mark_dirty(c, v);
    if (in_gpr(h)) {
        if (h != r)
            x64_mov_rr(B, h, r);
    } else if (in_xmm(h)) {
        x64_movq_xr(B, h - 16, r);
    } else {
        x64_store(B, REG(v), r);
    }
}
static void put_imm(jc *c, uint32_t v, int32_t imm)
{
    int h = c->home[v];
    if (h >= 0)
        mark_dirty(c, v);
    if (in_gpr(h)) {
        x64_mov_imm(B, h, (uint64_t)(int64_t)imm);
    } else if (in_xmm(h)) {
        x64_mov_imm(B, RAX, (uint64_t)(int64_t)imm);
        x64_movq_xr(B, h - 16, RAX);
    } else {
        x64_store_imm(B, REG(v), imm);
    }
}
/* op r, v (an int, bool or reference register) */
static void alu_v(jc *c, x64_alu op, int r, uint32_t v)
{
    int h = c->home[v];
    if (in_gpr(h))
        x64_alu_rr(B, op, r, h);
    else
        x64_alu_rm(B, op, r, REG(v));
}
/* xmm x = float register v */
static void fget(jc *c, int x, uint32_t v)
{
    int h = c->home[v];
    if (in_xmm(h)) {
        if (h - 16 != x)
            x64_movapd(B, x, h - 16);
    } else {
        x64_movsd_load(B, x, REG(v));
    }
}
static int fuse(jc *c, int x, uint32_t v)
{
    int h = c->home[v];
    if (in_xmm(h))
        return h - 16;
    fget(c, x, v);
    return x;
}
static void fput(jc *c, uint32_t v, int x)
{
    int h = c->home[v];
    if (h >= 0)
        mark_dirty(c, v);
    if (!in_xmm(h))
        x64_movsd_store(B, REG(v), x);
    else if (h - 16 != x)
        x64_movapd(B, h - 16, x);
}
/* Where to compute a value for v: its own register, or the scratch. */
static int gdst(jc *c, uint32_t v, int scratch)
{
    return in_gpr(c->home[v]) ? c->home[v] : scratch;
}
static int fdst(jc *c, uint32_t v, int scratch)
{
    return in_xmm(c->home[v]) ? c->home[v] - 16 : scratch;
}
static void sse_v(jc *c, x64_sse op, int x, uint32_t v)
{
    int h = c->home[v];
    if (in_xmm(h))
        x64_sse_rr(B, op, x, h - 16);
    else
        x64_sse_rm(B, op, x, REG(v));
}
static void ucom_v(jc *c, int x, uint32_t v)
{
    int h = c->home[v];
    if (in_xmm(h))
        x64_ucomisd(B, x, h - 16);
    else
        x64_ucomisd_m(B, x, REG(v));
}
/* Before a safepoint: the kept registers to their slots. */
static void flush_inline(jc *c, bool only_dirty)
{
    for (uint32_t i = 0; i < c->nkept; i++) {
        uint32_t v = c->kept[i];
        int h = c->home[v];
        if (only_dirty && !c->dirty[v])
            continue;
        if (in_xmm(h))
            x64_movsd_store(B, REG(v), h - 16);
        else
            x64_store(B, REG(v), h);
    }
}
/* After a call: the kept registers again from their slots. */
static void reload_inline(jc *c)
{
    for (uint32_t i = 0; i < c->nkept; i++) {
        uint32_t v = c->kept[i];
        int h = c->home[v];
        if (in_xmm(h))
            x64_movsd_load(B, h - 16, REG(v));
        else
            x64_load(B, h, REG(v));
    }
}
/* Writes back the kept registers that may differ from their slots. */
static void flush(jc *c)
{
    if (c->ndirty < KEPT_INLINE)
        flush_inline(c, true);
    else
        fix(c, x64_call(B), SPILL);
    all_clean(c);
}
/* Writes back every kept register (an out-of-line path: where it is
 * entered from, any may be dirty). */
static void flush_all(jc *c)
{
    if (c->nkept < KEPT_INLINE)
        flush_inline(c, false);
    else
        fix(c, x64_call(B), SPILL);
}
static void reload(jc *c)
{
    if (c->nkept < KEPT_INLINE)
        reload_inline(c);
    else
        fix(c, x64_call(B), FILL);
    all_clean(c);
}
static void tick_out(jc *c)
{
    x64_store(B, CTX(tick), TICK);
}
static void tick_in(jc *c)
{
    x64_load(B, TICK, CTX(tick));
}

/* Does instruction op write the kept registers back and load them again
 * (a call, or an instruction compiled code leaves to C)? */
static bool spills_at(const jc *c, uint32_t op)
{
    switch (op) {
    case OP_CALL:
    case OP_CALLP:
    case OP_CALLV:
    case OP_CALLVP:
    case OP_CALLF:
    case OP_CALLN: /* math.sqrt is an instruction, a cheap exception */
    case OP_THROW:
    case OP_MOD_F:
    case OP_CONCAT:
    case OP_LT_S:
    case OP_LE_S: return true;
    default: /* what emit_ins leaves to via_c */
        (void)c;
        return !(vm_ops[op].flags & OPF_BRANCH) && op != OP_NOP && op != OP_MOV &&
               !(op >= OP_LOADI && op <= OP_SETG) && !(op >= OP_ADD_I && op <= OP_STRIDX) &&
               op != OP_GETF && op != OP_SETF && op != OP_AGET && op != OP_ASET && op != OP_ALEN &&
               op != OP_GETCELL && op != OP_SETCELL && op != OP_GETGC && op != OP_RET &&
               op != OP_RET0;
    }
}

/* ---- Calls compiled inline ---- */

/* Callee limits: code words, registers; registers of all inlined bodies
 * of one function. */
enum { INLINE_WORDS = 40, INLINE_REGS = 32, INLINE_TEMPS = 512 };

/* Can a call to g be compiled inline? Its body has to be straight-line
 * code that never raises, allocates, calls or polls, ending in its one
 * return, and read no register (but a parameter) before writing it: then
 * nothing can tell it had no frame of its own. A method called on a
 * receiver checked before the body (self: its register 0, never written)
 * may also read and write self's fields, which cannot raise then (but
 * under --gc-verify stores go to C, which checks the barrier). written[k]:
 * it writes register k. */
static bool inline_ok(const vm_rtfunc *g, bool *written, bool self, bool verify)
{
    const vm_func *d = g->def;
    if (!d || g->ncaps || d->nhandlers || !d->ncode || d->ncode > INLINE_WORDS ||
        g->nregs > INLINE_REGS || g->nparams > g->nregs || (self && !g->nparams))
        return false;
    bool def[INLINE_REGS] = {false}, known[INLINE_REGS] = {false};
    int64_t kv[INLINE_REGS] = {0};
    for (uint32_t k = 0; k < g->nparams; k++)
        def[k] = true;
    memset(written, 0, INLINE_REGS);
    for (uint32_t at = 0; at < d->ncode;) {
        uint32_t ins = d->code[at], op = INS_OP(ins), next = at + VM_INS_WORDS(op);
        uint32_t A = INS_A(ins), v[3] = {A, INS_B(ins), INS_C(ins)};
        if (next == d->ncode && (op == OP_RET || op == OP_RET0))
            return op == OP_RET0 || (A < g->nregs && def[A]);
        uint16_t fl = vm_ops[op].flags;
        bool plain =
            (fl & OPF_SETA) &&
            !(fl & (OPF_THROW | OPF_ALLOC | OPF_CALL | OPF_SAFEPOINT | OPF_BRANCH | OPF_TERM)) &&
            ((op >= OP_MOV && op <= OP_GETG) || (op >= OP_ADD_I && op <= OP_I2F)) &&
            op != OP_MOD_F && op != OP_EQ_S && op != OP_NE_S;
        /* by a power of two it set itself: shifts, no error */
        bool pow2 = (op == OP_DIV_I || op == OP_MOD_I) && v[2] < g->nregs && known[v[2]] &&
                    kv[v[2]] >= 2 && !(kv[v[2]] & (kv[v[2]] - 1));
        bool field = self && v[1] == 0 && (op == OP_GETF || (op == OP_SETF && !verify));
        if ((!plain && !pow2 && !field) || A >= g->nregs)
            return false;
        for (int i = 0; i < 3; i++)
            if (vm_roles[vm_ops[op].role[i]].kind == VM_OPND_REG && (i > 0 || !(fl & OPF_SETA)) &&
                (v[i] >= g->nregs || !def[v[i]]))
                return false;
        if (fl & OPF_SETA) {
            if (self && A == 0)
                return false;
            def[A] = written[A] = true;
            known[A] = op == OP_LOADI;
            kv[A] = INS_sBx(ins);
        }
        at = next;
    }
    return false;
}

/* The argument register of parameter k of the call `ins` (x: its second
 * word). */
static uint32_t call_arg(uint32_t ins, uint32_t x, uint32_t k)
{
    switch (INS_OP(ins)) {
    case OP_CALLP: return k ? INS_C(ins) : INS_B(ins);
    case OP_CALLVP: return k ? (x >> (8 * (k - 1))) & 0xffu : INS_B(ins);
    default: return INS_B(ins) + k; /* CALL, CALLV */
    }
}

/* The one method that slot `slot` of a receiver of static class index k
 * can call (no subclass overrides it), or NULL. */
static const vm_rtfunc *devirtualize(const kiln_vm *vm, uint32_t k, uint32_t slot)
{
    const vm_image *im = &vm->img;
    const vm_rtfunc *g = vm->classes[k].vtable[slot];
    for (uint32_t i = k + 1; i < im->nclasses; i++) { /* subclasses come after */
        int32_t s = im->classes[i].super;
        while (s > (int32_t)k)
            s = im->classes[s].super;
        if (s == (int32_t)k && vm->classes[i].vtable[slot] != g)
            return NULL;
    }
    return g;
}

/* Chooses the calls to compile inline: direct calls of small leaf
 * functions. A callee's parameter it never writes is the caller's argument
 * register itself; its other registers are new ones, past the function's. */
static bool plan_inline(jc *c)
{
    const vm_func *d = c->d;
    c->nreal = c->nvirt = d->nregs;
    c->site_of = calloc(d->ncode + 1, sizeof *c->site_of);
    if (!c->site_of)
        return false;
    for (uint32_t at = 0; at < d->ncode; at += VM_INS_WORDS(INS_OP(d->code[at]))) {
        uint32_t ins = d->code[at], op = INS_OP(ins),
                 x = VM_INS_WORDS(op) == 2 ? d->code[at + 1] : 0;
        const vm_rtfunc *g = NULL;
        if (op == OP_CALL || op == OP_CALLP) {
            g = &c->vm->funcs[x];
        } else if (op == OP_CALLV || op == OP_CALLVP) {
            const vm_class *k = vm_class_of(&c->vm->img, d->types[INS_B(ins)]);
            if (k)
                g = devirtualize(c->vm, (uint32_t)(k - c->vm->img.classes),
                                 op == OP_CALLV ? x : INS_C(ins));
        }
        /* self: a body that reads or writes the fields of its register 0
         * is compiled after a null check of that argument (a virtual call
         * makes it anyway) */
        bool written[INLINE_REGS], verify = c->vm->heap.verify;
        bool self = op == OP_CALLV || op == OP_CALLVP;
        if (!g || c->nvirt - c->nreal + g->nregs > INLINE_TEMPS)
            continue;
        if (!inline_ok(g, written, self, verify) &&
            (self || !(self = inline_ok(g, written, true, verify))))
            continue;
        if (!grow((void **)&c->sites, &c->capsites, c->nsites, sizeof *c->sites))
            return false;
        jit_site *s = &c->sites[c->nsites];
        *s = (jit_site){
            .g = g, .self = self, .map = malloc(sizeof(uint32_t) * (g->nregs ? g->nregs : 1u))};
        if (!s->map)
            return false;
        s->first = c->nvirt;
        for (uint32_t k = 0; k < g->nregs; k++)
            s->map[k] = k < g->nparams && !written[k] ? call_arg(ins, x, k) : c->nvirt++;
        s->end = c->nvirt;
        c->site_of[at] = ++c->nsites;
    }
    c->types = malloc(sizeof *c->types * (c->nvirt ? c->nvirt : 1u));
    c->site_at = malloc(sizeof *c->site_at * (c->nvirt - c->nreal + 1u));
    if (!c->types || !c->site_at)
        return false;
    memcpy(c->types, d->types, sizeof *c->types * d->nregs);
    for (uint32_t i = 0; i < c->nsites; i++) {
        const jit_site *s = &c->sites[i];
        for (uint32_t k = 0; k < s->g->nregs; k++)
            if (s->map[k] >= s->first) {
                c->types[s->map[k]] = s->g->def->types[k];
                c->site_at[s->map[k] - c->nreal] = i;
            }
    }
    return true;
}

/* The registers to keep: the most used, each use weighted by 8 to the
 * depth of the loops around it (a loop: a backward jump's range). */
static bool choose_homes(jc *c)
{
    const vm_func *d = c->d;
    uint32_t n = c->nreal, nv = c->nvirt;
    c->home = malloc(nv ? nv : 1);
    c->kept = malloc(sizeof(uint32_t) * (n ? n : 1));
    uint64_t *w = calloc(nv ? nv : 1, sizeof *w);
    int32_t *depth = calloc(d->ncode + 1, sizeof *depth);
    bool ok = c->home && c->kept && w && depth;
    if (ok) {
        memset(c->home, -1, nv);
        for (uint32_t at = 0; at < d->ncode; at += VM_INS_WORDS(INS_OP(d->code[at]))) {
            uint32_t op = INS_OP(d->code[at]), vals[4], next = at + VM_INS_WORDS(op);
            vm_ins_operands(op, &d->code[at], vals);
            for (int i = 0; i < 4; i++)
                if (vm_roles[vm_ops[op].role[i]].kind == VM_OPND_JUMP) {
                    int64_t t = (int64_t)next + (int32_t)vals[i];
                    if (t >= 0 && t < d->ncode)
                        c->target[t] = true;
                    if (t <= at) { /* a loop: [t, next) */
                        depth[t]++;
                        depth[next]--;
                    }
                }
        }
        int32_t dep = 0;
        uint64_t wcalls = 0; /* the calls, weighted as the uses are */
        for (uint32_t at = 0; at < d->ncode; at += VM_INS_WORDS(INS_OP(d->code[at]))) {
            for (uint32_t k = at; k < at + VM_INS_WORDS(INS_OP(d->code[at])); k++)
                dep += depth[k];
            uint32_t op = INS_OP(d->code[at]), vals[4];
            vm_ins_operands(op, &d->code[at], vals);
            uint64_t weight = (uint64_t)1 << (3 * (dep < 0 ? 0 : dep > 6 ? 6 : dep));
            if (c->site_of[at]) { /* an inlined body's uses, at the call's weight */
                const jit_site *s = &c->sites[c->site_of[at] - 1];
                const vm_func *gd = s->g->def;
                for (uint32_t i = 0; i < gd->ncode; i += VM_INS_WORDS(INS_OP(gd->code[i]))) {
                    uint32_t gop = INS_OP(gd->code[i]),
                             gv[3] = {INS_A(gd->code[i]), INS_B(gd->code[i]), INS_C(gd->code[i])};
                    for (int k = 0; k < 3; k++)
                        if (vm_roles[vm_ops[gop].role[k]].kind == VM_OPND_REG)
                            w[s->map[gv[k]]] += weight;
                }
            } else if (spills_at(c, op)) {
                wcalls += weight;
            }
            for (int i = 0; i < 4; i++)
                if (vm_roles[vm_ops[op].role[i]].kind == VM_OPND_REG && vals[i] < n)
                    w[vals[i]] += weight;
        }
        /* The heaviest left, until the pools run out. An inlined body's
         * registers compete with ours, but not with another body's (no two
         * run at once, and none is live at a call, so none is written
         * back): ours take the pools from the front, each body's from the
         * back, and ours have to fit beside every body's. */
        uint32_t ngpr = 0, nxmm = 0, mg = 0, mx = 0; /* mg, mx: the most a body took */
        c->nkept = 0;
        for (;;) {
            uint32_t best = nv;
            for (uint32_t v = 0; v < nv; v++) {
                if (!w[v] || c->home[v] >= 0)
                    continue;
                const jit_site *s = v < n ? NULL : &c->sites[c->site_at[v - n]];
                bool fl = c->types[v] == VM_T_FLOAT;
                uint32_t taken = fl ? nxmm + (s ? s->nxmm : mx) : ngpr + (s ? s->ngpr : mg);
                if (taken >= (fl ? XMM_POOL : sizeof gpr_pool))
                    continue;
                /* each of ours costs a store and a load at each call:
                 * keep only those used more often than calls happen */
                if (!s && w[v] <= wcalls * JIT_KEEP_FACTOR)
                    continue;
                if (best == nv || w[v] > w[best])
                    best = v;
            }
            if (best == nv || !JIT_KEEP_REGS)
                break;
            bool fl = c->types[best] == VM_T_FLOAT;
            if (best < n) {
                c->home[best] = (int8_t)(fl ? XMM(XMM_FIRST + (int)nxmm++) : gpr_pool[ngpr++]);
                c->kept[c->nkept++] = best;
            } else {
                jit_site *s = &c->sites[c->site_at[best - n]];
                uint32_t k = fl ? s->nxmm++ : s->ngpr++;
                c->home[best] = (int8_t)(fl ? XMM(XMM_FIRST + XMM_POOL - 1 - (int)k)
                                            : gpr_pool[sizeof gpr_pool - 1 - k]);
                mg = s->ngpr > mg ? s->ngpr : mg;
                mx = s->nxmm > mx ? s->nxmm : mx;
            }
        }
        for (uint32_t i = 0; i < c->nsites; i++) {
            jit_site *s = &c->sites[i];
            for (uint32_t v = s->first; v < s->end; v++)
                s->mem |= c->home[v] < 0 && w[v] > 0;
        }
    }
    free(w);
    free(depth);
    return ok;
}

/* ---- Code ---- */

static void call_c(jc *c, const void *fn)
{
    x64_mov_imm64(B, RAX, (uint64_t)(uintptr_t)fn);
    x64_call_r(B, RAX);
}
#define CALL_C(fn) call_c(c, (const void *)(uintptr_t)(fn))

/* rax nonzero: the error path. */
static void check(jc *c)
{
    x64_test_rr(B, RAX, RAX);
    fix(c, x64_jcc(B, CC_NE), LANDING);
}

/* A slow path at `at` taken on cc: ops.h runs the instruction, then on
 * after it. */
static void slow_op(jc *c, x64_cc cc, uint32_t at)
{
    slow(c, S_OP, at, 0, x64_jcc(B, cc), UINT32_MAX);
}
/* The resume point of the slow paths opened since `first`. */
static void resume_here(jc *c, size_t first)
{
    for (size_t i = first; i < c->nslow; i++)
        if (c->slow[i].resume == SIZE_MAX && c->slow[i].target == UINT32_MAX)
            c->slow[i].resume = c->b.len;
}

/* The whole instruction in C: its ops.h function, called as jit_op
 * would, with the frame published and the operands known here. */
static void via_c(jc *c, uint32_t at)
{
    const uint32_t *pc = c->f->code + at;
    uint32_t op = INS_OP(pc[0]);
    flush(c);
    x64_store(B, CTX(frame), RBX);
    x64_mov_imm64(B, RAX, (uint64_t)(uintptr_t)(pc + 1));
    x64_store(B, CTX(pc), RAX);
    x64_mov_rr(B, RDI, R12);
    x64_mov_imm64(B, RSI, (uint64_t)(uintptr_t)c->f);
    x64_mov_rr(B, RDX, RBX);
    x64_mov_imm(B, RCX, pc[0]);
    x64_mov_imm(B, R8, VM_INS_WORDS(op) == 2 ? pc[1] : 0);
    tick_out(c); /* the instruction may charge its work (vm_charge) */
    CALL_C(jit_ops[op]);
    tick_in(c);
    reload(c);
    x64_test_rr32(B, RAX, RAX); /* an int: the upper half is not defined */
    fix(c, x64_jcc(B, CC_NE), LANDING);
}

/* A back-edge to bytecode `target` charges the loop's length (-off) to the
 * tick counter, polling when it runs out, as the interpreter does. */
static void back_edge(jc *c, uint32_t at, uint32_t next, uint32_t target, int32_t off)
{
    x64_alu_ri(B, ALU_ADD, TICK, off);
    slow(c, S_POLL, at, next, x64_jcc(B, CC_S), target);
    fix(c, x64_jmp(B), target);
}

/* Jump to pc `next + off` on cc (instruction `at` ends at word `next`). */
static void branch(jc *c, x64_cc cc, uint32_t at, uint32_t next, int32_t off)
{
    uint32_t target = (uint32_t)((int64_t)next + off);
    if (off >= 0) {
        fix(c, x64_jcc(B, cc), target);
        return;
    }
    size_t skip = x64_jcc(B, (x64_cc)(cc ^ 1));
    back_edge(c, at, next, target, off);
    x64_patch_rel(B, skip, c->b.len);
}

/* eax = cc (0 or 1). */
static void set_bool(jc *c, x64_cc cc)
{
    x64_setcc(B, cc, RAX);
    x64_movzx8(B, RAX, RAX);
}

/* Float comparisons. ucomisd sets CF for below or unordered, ZF for equal
 * or unordered, PF for unordered: "a < b" is b above a, false for NaN. */
enum { FC_LT, FC_LE, FC_GT, FC_GE, FC_EQ, FC_NE };
/* eax = (xa rel xb), NaN-correct. */
static void fcmp_bool(jc *c, int rel, int xa, int xb)
{
    switch (rel) {
    case FC_LT:
    case FC_LE:
        x64_ucomisd(B, xb, xa);
        set_bool(c, rel == FC_LT ? CC_A : CC_AE);
        break;
    case FC_GT:
    case FC_GE:
        x64_ucomisd(B, xa, xb);
        set_bool(c, rel == FC_GT ? CC_A : CC_AE);
        break;
    default:
        x64_ucomisd(B, xa, xb);
        x64_setcc(B, rel == FC_EQ ? CC_E : CC_NE, RAX);
        x64_setcc(B, rel == FC_EQ ? CC_NP : CC_P, RCX);
        x64_movzx8(B, RAX, RAX);
        x64_movzx8(B, RCX, RCX);
        x64_alu_rr(B, rel == FC_EQ ? ALU_AND : ALU_OR, RAX, RCX);
        break;
    }
}

/* Float constants are read rip-relative from a pool after the code: the
 * instruction just emitted ends with the displacement to patch. */
static void kref(jc *c, uint32_t k)
{
    if (!grow((void **)&c->kfix, &c->capkfix, c->nkfix, sizeof *c->kfix)) {
        c->oom = true;
        return;
    }
    c->kfix[c->nkfix++] = (jit_fix){c->b.len, k};
}
static const x64_mem KMEM = {X64_RIP, X64_NOREG, 1, 0};
static void load_kf(jc *c, int x, uint32_t k)
{
    x64_movsd_load(B, x, KMEM);
    kref(c, k);
}
static void sse_k(jc *c, x64_sse op, int x, uint32_t k)
{
    x64_sse_rm(B, op, x, KMEM);
    kref(c, k);
}

/* The frame record of a callee, `off` bytes above R. */
static x64_mem NREC(int32_t off, int slot)
{
    return x64_m(RBX, off - 8 * (VM_FRAME_SLOTS - slot));
}

/* CALL, CALLP, CALLV, CALLVP, CALLF: the interpreter's call path (null
 * check, room, arguments, a tick, the record), then the callee's machine
 * code, or jit_call_slow when it has none. The callee is stored in its
 * record first, so it survives the poll. */
static void emit_call(jc *c, uint32_t at, uint32_t op, uint32_t ins, uint32_t x)
{
    kiln_vm *vm = c->vm;
    const vm_image *im = &vm->img;
    const vm_rtfunc *f = c->f;
    uint32_t A = INS_A(ins), Bv = INS_B(ins), next = at + 2;
    int32_t off = 8 * (f->nregs + VM_FRAME_SLOTS);
    const vm_rtfunc *g = NULL; /* the callee, or one with its signature */
    uint32_t np = 0;
    bool res = false, known = false;
    flush(c);
    switch (op) {
    case OP_CALL:
    case OP_CALLP:
        g = &vm->funcs[x];
        known = true;
        x64_mov_imm64(B, RAX, (uint64_t)(uintptr_t)g);
        break;
    case OP_CALLV:
    case OP_CALLVP: {
        uint32_t slot = op == OP_CALLV ? x : INS_C(ins);
        const vm_class *k = vm_class_of(im, c->d->types[Bv]);
        g = vm->classes[k - im->classes].vtable[slot];
        int r = use(c, RAX, Bv);
        x64_test_rr(B, r, r);
        slow(c, S_CALLERR, at, 0, x64_jcc(B, CC_E), UINT32_MAX);
        x64_load(B, RAX, x64_m(r, offsetof(vm_inst, cls)));
        x64_load(B, RAX, x64_m(RAX, offsetof(vm_rtclass, vtable)));
        x64_load(B, RAX, x64_m(RAX, (int32_t)(8 * slot)));
        break;
    }
    default: { /* CALLF */
        const vm_type *t = vm_fn_type(im, x);
        np = VM_FN_NPARAMS(t->a);
        res = VM_FN_RET(t->a) != VM_T_VOID;
        int r = use(c, RCX, Bv);
        x64_test_rr(B, r, r);
        slow(c, S_CALLERR, at, 0, x64_jcc(B, CC_E), UINT32_MAX);
        x64_load(B, RAX, x64_m(r, offsetof(vm_closure, fn)));
        break;
    }
    }
    x64_store(B, NREC(off, 0), RAX);
    if (g) {
        np = g->nparams;
        res = g->result;
    }
    /* Room on the slot stack and on the machine stack. */
    if (known) {
        x64_lea(B, RAX, x64_m(RBX, off + 8 * g->nregs));
    } else {
        x64_load16zx(B, RAX, x64_m(RAX, offsetof(vm_rtfunc, nregs)));
        x64_lea(B, RAX, x64_mi(RBX, RAX, 8, off));
    }
    x64_alu_rm(B, ALU_CMP, RAX, CTX(stack_end));
    slow(c, S_CALLERR, at, 1, x64_jcc(B, CC_A), UINT32_MAX);
    /* The arguments. */
    switch (op) {
    case OP_CALLP:
        get(c, RAX, Bv);
        x64_store(B, x64_m(RBX, off), RAX);
        get(c, RAX, INS_C(ins));
        x64_store(B, x64_m(RBX, off + 8), RAX);
        break;
    case OP_CALLVP:
        get(c, RAX, Bv);
        x64_store(B, x64_m(RBX, off), RAX);
        for (int k = 0; k < 4; k++) {
            get(c, RAX, (x >> (8 * k)) & 0xffu);
            x64_store(B, x64_m(RBX, off + 8 * (k + 1)), RAX);
        }
        break;
    default: {
        uint32_t first = op == OP_CALLF ? Bv + 1 : Bv;
        for (uint32_t k = 0; k < np; k++) {
            get(c, RAX, first + k);
            x64_store(B, x64_m(RBX, off + (int32_t)(8 * k)), RAX);
        }
        if (op == OP_CALLF) { /* rsi first: it may be read from rdi */
            get(c, RSI, Bv);
            x64_lea(B, RDI, x64_m(RBX, off));
            CALL_C(jit_copy_caps);
        }
    }
    }
    /* A call charges one tick: recursion polls too. */
    x64_alu_ri(B, ALU_SUB, TICK, 1);
    slow(c, S_CALLPOLL, at, next, x64_jcc(B, CC_S), UINT32_MAX);
    resume_here(c, c->nslow - 1);
    /* The rest of the record: return pc, result register and link. */
    x64_mov_imm64(B, RAX, (uint64_t)(uintptr_t)(f->code + next));
    x64_store(B, NREC(off, 1), RAX);
    x64_mov_imm(B, RAX, A | (uint64_t)(f->nregs + VM_FRAME_SLOTS) << 32);
    x64_store(B, NREC(off, 2), RAX);
    x64_load(B, RAX, NREC(off, 0));
    x64_load(B, RAX, x64_m(RAX, offsetof(vm_rtfunc, jcode)));
    /* not compiled, or the machine stack runs low: jit_call_slow */
    x64_test_rr(B, RAX, RAX);
    slow(c, S_CALLSLOW, at, (uint32_t)off, x64_jcc(B, CC_E), UINT32_MAX);
    x64_alu_rm(B, ALU_CMP, RSP, CTX(c_limit));
    slow(c, S_CALLSLOW, at, (uint32_t)off, x64_jcc(B, CC_B), UINT32_MAX);
    size_t callslow = c->nslow - 2;
    x64_lea(B, RBX, x64_m(RBX, off));
    x64_call_r(B, RAX);
    x64_lea(B, RBX, x64_m(RBX, -off));
    c->slow[callslow].resume = c->slow[callslow + 1].resume = c->b.len;
    reload(c);
    check(c);
    if (res)
        put(c, A, RDX);
}

static void emit_native(jc *c, uint32_t at, uint32_t ins, uint32_t x)
{
    const vm_native *n = c->vm->natives[x];
    const vm_nativeref *ref = &c->vm->img.natives[x];
    if (ref->ext < 0 && !strcmp(vm_image_str(&c->vm->img, ref->name), "math.sqrt")) {
        /* an instruction: no call, nothing to write back */
        int t = fdst(c, INS_A(ins), 0);
        x64_sse_rr(B, SSE_SQRT, t, fuse(c, 1, INS_B(ins)));
        fput(c, INS_A(ins), t);
        return;
    }
    flush(c);
    get(c, RAX, INS_A(ins)); /* a native without result leaves R[A] as it was */
    x64_store(B, x64_m(RSP, 0), RAX);
    tick_out(c); /* it may call back in */
    x64_store(B, CTX(frame), RBX);
    x64_mov_imm64(B, RAX, (uint64_t)(uintptr_t)(c->f->code + at + 2));
    x64_store(B, CTX(pc), RAX);
    x64_mov_rr(B, RDI, R12);
    if (n->fn) {
        x64_lea(B, RSI, REG(INS_B(ins)));
        x64_mov_rr(B, RDX, RSP);
        CALL_C(n->fn);
    } else {
        x64_mov_imm64(B, RSI, (uint64_t)(uintptr_t)n);
        x64_lea(B, RDX, REG(INS_B(ins)));
        x64_mov_rr(B, RCX, RSP);
        CALL_C(n->bridge);
    }
    x64_mov_rr32(B, RAX, RAX); /* an int result: the upper half is not defined */
    tick_in(c);
    reload(c);
    check(c);
    x64_load(B, RAX, x64_m(RSP, 0));
    put(c, INS_A(ins), RAX);
}

static const x64_cc int_cc[] = {
    [OP_EQ_I] = CC_E, [OP_NE_I] = CC_NE, [OP_LT_I] = CC_L, [OP_LE_I] = CC_LE,
    [OP_EQ_B] = CC_E, [OP_NE_B] = CC_NE, [OP_EQ_R] = CC_E, [OP_NE_R] = CC_NE};

/* The power of two k (1 <= k <= 62) that int register v is known to hold
 * 2^k of, or 0. */
static int known_pow2(jc *c, uint32_t v)
{
    if (c->kgen[v] != c->gen)
        return 0;
    int64_t d = c->kval[v];
    if (d < 2 || (d & (d - 1)))
        return 0;
    return __builtin_ctzll((unsigned long long)d);
}

/* Reference v (in GPR r) null: to ops.h, which raises the instruction's
 * error; not checked again in the block once checked. */
static void null_check(jc *c, int r, uint32_t v, uint32_t at)
{
    if (c->nngen[v] == c->gen)
        return;
    x64_test_rr(B, r, r);
    slow_op(c, CC_E, at);
    c->nngen[v] = c->gen;
}

/* R[A] = the 64 (or 32, zero-extended) bits at offset `off` of the object
 * in R[B]; a null goes to ops.h, which raises the instruction's error. */
static void load_field(jc *c, uint32_t at, uint32_t A, uint32_t Bv, int32_t off, bool bits32)
{
    int r = use(c, RAX, Bv);
    null_check(c, r, Bv, at);
    if (in_xmm(c->home[A])) { /* a float field straight to its register */
        mark_dirty(c, A);
        x64_movsd_load(B, c->home[A] - 16, x64_m(r, off));
        return;
    }
    if (bits32)
        x64_load32(B, RAX, x64_m(r, off));
    else
        x64_load(B, RAX, x64_m(r, off));
    put(c, A, RAX);
}
/* The 64 bits at offset `off` of the object in R[B] = R[A]; a null to ops.h. */
static void store_field(jc *c, uint32_t at, uint32_t A, uint32_t Bv, int32_t off)
{
    int r = use(c, RAX, Bv);
    null_check(c, r, Bv, at);
    if (in_xmm(c->home[A])) {
        x64_movsd_store(B, x64_m(r, off), c->home[A] - 16);
        return;
    }
    get(c, RCX, A);
    x64_store(B, x64_m(r, off), RCX);
}

/* v = w */
static void move(jc *c, uint32_t v, uint32_t w)
{
    if (in_xmm(c->home[v])) { /* floats: no trip through a GPR */
        mark_dirty(c, v);
        fget(c, c->home[v] - 16, w);
    } else if (in_xmm(c->home[w])) {
        x64_movsd_store(B, REG(v), c->home[w] - 16);
    } else if (in_gpr(c->home[v])) {
        mark_dirty(c, v);
        get(c, c->home[v], w);
    } else {
        get(c, RAX, w);
        put(c, v, RAX);
    }
}

static void emit_ins(jc *c, uint32_t at);

/* A call compiled inline: the callee's body on our registers, after the
 * checks the call would make (a method's receiver not null, room for its
 * frame, a tick); when one fails, the real call, out of line, which makes
 * them again and acts on them. */
static void emit_inline(jc *c, uint32_t at, const jit_site *s)
{
    const vm_func *gd = s->g->def;
    uint32_t ins = c->f->code[at], x = c->f->code[at + 1], self = call_arg(ins, x, 0);
    if (s->self && c->nngen[self] != c->gen) { /* self's fields need no check then */
        int r = use(c, RAX, self);
        x64_test_rr(B, r, r);
        slow(c, S_INLINE, at, 0, x64_jcc(B, CC_E), UINT32_MAX);
        c->nngen[self] = c->gen;
    }
    int32_t ext = 8 * (int32_t)(c->nreal + VM_FRAME_SLOTS + s->g->nregs);
    if (s->mem && 8 * (int32_t)s->end > ext)
        ext = 8 * (int32_t)s->end;
    x64_lea(B, RAX, x64_m(RBX, ext));
    x64_alu_rm(B, ALU_CMP, RAX, CTX(stack_end));
    slow(c, S_INLINE, at, 0, x64_jcc(B, CC_A), UINT32_MAX);
    x64_alu_ri(B, ALU_SUB, TICK, 1);
    slow(c, S_INLINE, at, 1, x64_jcc(B, CC_S), UINT32_MAX);
    size_t nslow = c->nslow;
    for (uint32_t k = 0; k < s->g->nparams; k++)
        if (s->map[k] >= s->first)
            move(c, s->map[k], call_arg(ins, x, k));
    uint32_t last = 0;
    c->map = s->map;
    c->icode = gd->code;
    for (uint32_t i = 0; i < gd->ncode; i += VM_INS_WORDS(INS_OP(gd->code[i])))
        if (i + VM_INS_WORDS(INS_OP(gd->code[i])) < gd->ncode)
            emit_ins(c, i);
        else
            last = i;
    c->map = c->icode = NULL;
    if (INS_OP(gd->code[last]) == OP_RET)
        move(c, INS_A(ins), s->map[INS_A(gd->code[last])]);
    if (c->nslow != nslow) /* inline_ok let through what can fail: not compiled */
        c->oom = true;
}

/* Emits instruction `at` (of an inlined body while c->map is set). */
static void emit_ins(jc *c, uint32_t at)
{
    kiln_vm *vm = c->vm;
    const uint32_t *pc = (c->icode ? c->icode : c->f->code) + at;
    uint32_t ins = pc[0], op = INS_OP(ins);
    uint32_t x = VM_INS_WORDS(op) == 2 ? pc[1] : 0, next = at + VM_INS_WORDS(op);
    uint32_t A = INS_A(ins), Bv = INS_B(ins), Cv = INS_C(ins);
    bool verify = vm->heap.verify; /* barriers go through ops.h, which checks them */
    size_t first = c->nslow;
    if (c->map) { /* the callee's registers are ours */
        const uint8_t *role = vm_ops[op].role;
        A = vm_roles[role[0]].kind == VM_OPND_REG ? c->map[A] : A;
        Bv = vm_roles[role[1]].kind == VM_OPND_REG ? c->map[Bv] : Bv;
        Cv = vm_roles[role[2]].kind == VM_OPND_REG ? c->map[Cv] : Cv;
    } else if (c->handler[at] || c->target[at]) {
        c->gen++; /* a block starts: no constant known */
        all_dirty(c);
    }
    switch (op) {
    case OP_NOP: break;
    case OP_MOV: move(c, A, Bv); break;
    case OP_LOADI: put_imm(c, A, INS_sBx(ins)); break;
    case OP_LOADK:
        x64_mov_imm(B, RAX, vm->kvals[INS_Bx(ins)].u);
        put(c, A, RAX);
        break;
    case OP_LOADB: put_imm(c, A, (int32_t)Bv); break;
    case OP_LOADNULL: put_imm(c, A, 0); break;
    case OP_GETG:
        x64_mov_imm64(B, RCX, (uint64_t)(uintptr_t)&vm->globals[INS_Bx(ins)]);
        x64_load(B, RAX, x64_m(RCX, 0));
        put(c, A, RAX);
        break;
    case OP_GETGC: /* its declaration has run, or InitError in C */
        x64_mov_imm64(B, RCX, (uint64_t)(uintptr_t)&vm->ginit[INS_Bx(ins)]);
        x64_load8zx(B, RAX, x64_m(RCX, 0));
        x64_test_rr32(B, RAX, RAX);
        slow_op(c, CC_E, at);
        x64_mov_imm64(B, RCX, (uint64_t)(uintptr_t)&vm->globals[INS_Bx(ins)]);
        x64_load(B, RAX, x64_m(RCX, 0));
        put(c, A, RAX);
        break;
    case OP_SETG:
        x64_mov_imm64(B, RCX, (uint64_t)(uintptr_t)&vm->globals[INS_Bx(ins)]);
        get(c, RAX, A);
        x64_store(B, x64_m(RCX, 0), RAX);
        break;

    case OP_ADD_I:
    case OP_SUB_I:
    case OP_BAND:
    case OP_BOR:
    case OP_BXOR: {
        x64_alu alu = op == OP_ADD_I   ? ALU_ADD
                      : op == OP_SUB_I ? ALU_SUB
                      : op == OP_BAND  ? ALU_AND
                      : op == OP_BOR   ? ALU_OR
                                       : ALU_XOR;
        if (A == Cv && A != Bv && op != OP_SUB_I) {
            Cv = Bv; /* commutes: into A's own register */
            Bv = A;
        }
        int t = A == Cv && A != Bv ? RAX : gdst(c, A, RAX);
        get(c, t, Bv);
        alu_v(c, alu, t, Cv);
        put(c, A, t);
        break;
    }
    case OP_MUL_I: {
        if (A == Cv && A != Bv) {
            Cv = Bv;
            Bv = A;
        }
        int t = A == Cv && A != Bv ? RAX : gdst(c, A, RAX);
        get(c, t, Bv);
        int h = c->home[Cv];
        if (in_gpr(h))
            x64_imul_rr(B, t, h);
        else
            x64_imul_rm(B, t, REG(Cv));
        put(c, A, t);
        break;
    }
    case OP_DIV_I:
    case OP_MOD_I: {
        int k = known_pow2(c, Cv);
        if (k) { /* by 2^k: shifts, rounding toward zero as idiv does */
            get(c, RAX, Bv);
            x64_mov_rr(B, RDX, RAX);
            x64_sar_ri(B, RDX, 63);
            x64_shr_ri(B, RDX, (uint8_t)(64 - k)); /* 2^k - 1 if negative, else 0 */
            x64_alu_rr(B, ALU_ADD, RDX, RAX);
            x64_sar_ri(B, RDX, (uint8_t)k); /* the quotient */
            if (op == OP_MOD_I) {           /* b - q * 2^k */
                x64_shl_ri(B, RDX, (uint8_t)k);
                x64_alu_rr(B, ALU_SUB, RAX, RDX);
                put(c, A, RAX);
            } else {
                put(c, A, RDX);
            }
            break;
        }
        /* 0 (an error) and -1 (INT64_MIN / -1 traps in idiv) in C */
        get(c, RCX, Cv);
        x64_lea(B, RAX, x64_m(RCX, 1));
        x64_alu_ri(B, ALU_CMP, RAX, 1);
        slow_op(c, CC_BE, at);
        get(c, RAX, Bv);
        x64_cqo(B);
        x64_idiv(B, RCX);
        put(c, A, op == OP_DIV_I ? RAX : RDX);
        break;
    }
    case OP_ADDI_I: {
        int t = gdst(c, A, RAX);
        get(c, t, Bv);
        x64_alu_ri(B, ALU_ADD, t, (int8_t)Cv);
        put(c, A, t);
        break;
    }
    case OP_SHL:
    case OP_SHR:
        get(c, RCX, Cv);
        get(c, RAX, Bv);
        if (op == OP_SHL)
            x64_shl_cl(B, RAX);
        else
            x64_sar_cl(B, RAX);
        put(c, A, RAX);
        break;
    case OP_NEG_I:
    case OP_BNOT:
        get(c, RAX, Bv);
        if (op == OP_NEG_I)
            x64_neg(B, RAX);
        else
            x64_not(B, RAX);
        put(c, A, RAX);
        break;

    case OP_ADD_F:
    case OP_SUB_F:
    case OP_MUL_F:
    case OP_DIV_F: {
        x64_sse sse = op == OP_ADD_F   ? SSE_ADD
                      : op == OP_SUB_F ? SSE_SUB
                      : op == OP_MUL_F ? SSE_MUL
                                       : SSE_DIV;
        if (A == Cv && A != Bv && (op == OP_ADD_F || op == OP_MUL_F)) {
            Cv = Bv; /* commutes: into A's own register */
            Bv = A;
        }
        int t = A == Cv && A != Bv ? 0 : fdst(c, A, 0);
        fget(c, t, Bv);
        sse_v(c, sse, t, Cv);
        fput(c, A, t);
        break;
    }
    case OP_ADDK_F:
    case OP_SUBK_F:
    case OP_MULK_F:
    case OP_DIVK_F: {
        x64_sse sse = op == OP_ADDK_F   ? SSE_ADD
                      : op == OP_SUBK_F ? SSE_SUB
                      : op == OP_MULK_F ? SSE_MUL
                                        : SSE_DIV;
        int t = fdst(c, A, 0);
        fget(c, t, Bv);
        sse_k(c, sse, t, Cv);
        fput(c, A, t);
        break;
    }
    case OP_MOD_F:
        fget(c, 0, Bv);
        fget(c, 1, Cv);
        flush(c); /* fmod takes the XMM registers */
        CALL_C(fmod);
        reload(c);
        fput(c, A, 0);
        break;
    case OP_NEG_F:
        get(c, RAX, Bv);
        x64_mov_imm(B, RCX, UINT64_C(1) << 63);
        x64_alu_rr(B, ALU_XOR, RAX, RCX);
        put(c, A, RAX);
        break;
    case OP_NOT:
        get(c, RAX, Bv);
        x64_alu_ri(B, ALU_XOR, RAX, 1);
        put(c, A, RAX);
        break;

    case OP_EQ_I:
    case OP_NE_I:
    case OP_LT_I:
    case OP_LE_I:
    case OP_EQ_B:
    case OP_NE_B:
    case OP_EQ_R:
    case OP_NE_R: {
        int r = use(c, RCX, Bv);
        alu_v(c, ALU_CMP, r, Cv);
        set_bool(c, int_cc[op]);
        put(c, A, RAX);
        break;
    }
    case OP_EQ_S:
    case OP_NE_S: {
        /* the same string, a null, different lengths: decided here */
        int ra = use(c, RAX, Bv), rc = use(c, RCX, Cv);
        x64_alu_rr(B, ALU_CMP, ra, rc);
        size_t same = x64_jcc(B, CC_E);
        x64_test_rr(B, ra, ra);
        size_t null1 = x64_jcc(B, CC_E);
        x64_test_rr(B, rc, rc);
        size_t null2 = x64_jcc(B, CC_E);
        x64_load32(B, RDX, x64_m(ra, offsetof(vm_str, len)));
        x64_alu_rm32(B, ALU_CMP, RDX, x64_m(rc, offsetof(vm_str, len)));
        size_t differ = x64_jcc(B, CC_NE);
        /* one byte each (characters): compared here */
        x64_alu_ri(B, ALU_CMP, RDX, 1);
        size_t longer = x64_jcc(B, CC_NE);
        x64_load8zx(B, RDX, x64_m(ra, offsetof(vm_str, data)));
        x64_load8zx(B, RAX, x64_m(rc, offsetof(vm_str, data))); /* ra is read: rax is free */
        x64_alu_rr(B, ALU_CMP, RDX, RAX);
        set_bool(c, CC_E);
        size_t done1 = x64_jmp(B);
        x64_patch_rel(B, longer, c->b.len);
        /* only this path writes back: after the merge, what was dirty
         * before still may be (the other paths did not) */
        bool was[XMM_POOL + sizeof gpr_pool];
        for (uint32_t i = 0; i < c->nkept; i++)
            was[i] = c->dirty[c->kept[i]];
        flush(c);
        x64_mov_rr(B, RDX, rc);
        x64_mov_rr(B, RDI, ra);
        x64_mov_rr(B, RSI, RDX);
        CALL_C(jit_str_eq);
        reload(c);
        size_t done = x64_jmp(B);
        x64_patch_rel(B, same, c->b.len);
        x64_mov_imm(B, RAX, 1);
        size_t done2 = x64_jmp(B);
        x64_patch_rel(B, null1, c->b.len);
        x64_patch_rel(B, null2, c->b.len);
        x64_patch_rel(B, differ, c->b.len);
        x64_mov_imm(B, RAX, 0);
        x64_patch_rel(B, done, c->b.len);
        x64_patch_rel(B, done1, c->b.len);
        x64_patch_rel(B, done2, c->b.len);
        for (uint32_t i = 0; i < c->nkept; i++)
            if (was[i])
                mark_dirty(c, c->kept[i]);
        if (op == OP_NE_S)
            x64_alu_ri(B, ALU_XOR, RAX, 1);
        put(c, A, RAX);
        break;
    }
    case OP_EQ_F:
    case OP_NE_F:
    case OP_LT_F:
    case OP_LE_F: {
        int xa = fuse(c, 0, Bv), xb = fuse(c, 1, Cv);
        fcmp_bool(c,
                  op == OP_EQ_F   ? FC_EQ
                  : op == OP_NE_F ? FC_NE
                  : op == OP_LT_F ? FC_LT
                                  : FC_LE,
                  xa, xb);
        put(c, A, RAX);
        break;
    }

    case OP_I2F: {
        int r = use(c, RAX, Bv);
        x64_cvtsi2sd(B, 0, r);
        fput(c, A, 0);
        break;
    }
    case OP_F2I: {
        /* cvttsd2si gives INT64_MIN for NaN and out of range: C decides */
        int xb = fuse(c, 0, Bv);
        x64_cvttsd2si(B, RAX, xb);
        x64_alu_ri(B, ALU_CMP, RAX, 1);
        slow_op(c, CC_O, at);
        put(c, A, RAX);
        break;
    }
    case OP_STRLEN: load_field(c, at, A, Bv, offsetof(vm_str, len), true); break;
    case OP_STRIDX: {
        int r = use(c, RAX, Bv), i = use(c, RCX, Cv);
        null_check(c, r, Bv, at);
        x64_load32(B, RDX, x64_m(r, offsetof(vm_str, len)));
        x64_alu_rr(B, ALU_CMP, i, RDX);
        slow_op(c, CC_AE, at);
        x64_load8zx(B, RAX, x64_mi(r, i, 1, offsetof(vm_str, data)));
        put(c, A, RAX);
        break;
    }

    case OP_JMP: {
        int32_t off = INS_sJ(ins);
        if (off < 0)
            back_edge(c, at, next, (uint32_t)((int64_t)next + off), off);
        else if (off > 0)
            fix(c, x64_jmp(B), next + (uint32_t)off);
        break;
    }
    case OP_JT:
    case OP_JF:
    case OP_JNULL:
    case OP_JNNULL: {
        int r = use(c, RAX, A);
        x64_test_rr(B, r, r);
        branch(c, op == OP_JT || op == OP_JNNULL ? CC_NE : CC_E, at, next, (int32_t)x);
        break;
    }
    case OP_JLT_I:
    case OP_JLE_I:
    case OP_JEQ_I:
    case OP_JNE_I:
    case OP_JEQ_R:
    case OP_JNE_R: {
        static const x64_cc cc[] = {[OP_JLT_I] = CC_L,  [OP_JLE_I] = CC_LE, [OP_JEQ_I] = CC_E,
                                    [OP_JNE_I] = CC_NE, [OP_JEQ_R] = CC_E,  [OP_JNE_R] = CC_NE};
        int r = use(c, RAX, A);
        alu_v(c, ALU_CMP, r, Bv);
        branch(c, cc[op], at, next, (int32_t)x);
        break;
    }
    case OP_JLTK_I:
    case OP_JLEK_I:
    case OP_JGTK_I:
    case OP_JGEK_I:
    case OP_JEQK_I:
    case OP_JNEK_I: {
        static const x64_cc cc[] = {[OP_JLTK_I] = CC_L,  [OP_JLEK_I] = CC_LE, [OP_JGTK_I] = CC_G,
                                    [OP_JGEK_I] = CC_GE, [OP_JEQK_I] = CC_E,  [OP_JNEK_I] = CC_NE};
        int h = c->home[A];
        if (in_gpr(h))
            x64_alu_ri(B, ALU_CMP, h, INS_sBx(ins));
        else
            x64_alu_mi(B, ALU_CMP, REG(A), INS_sBx(ins));
        branch(c, cc[op], at, next, (int32_t)x);
        break;
    }
    case OP_JLT_F:
    case OP_JLE_F:
    case OP_JNLT_F:
    case OP_JNLE_F: {
        /* B compared with A: "A < B" is B above A; the negations take NaN */
        int xb = fuse(c, 0, Bv);
        ucom_v(c, xb, A);
        branch(c,
               op == OP_JLT_F    ? CC_A
               : op == OP_JLE_F  ? CC_AE
               : op == OP_JNLT_F ? CC_BE
                                 : CC_B,
               at, next, (int32_t)x);
        break;
    }
    case OP_JEQ_F:
    case OP_JNE_F: {
        int xa = fuse(c, 0, A), xb = fuse(c, 1, Bv);
        fcmp_bool(c, op == OP_JEQ_F ? FC_EQ : FC_NE, xa, xb);
        x64_test_rr(B, RAX, RAX);
        branch(c, CC_NE, at, next, (int32_t)x);
        break;
    }
    case OP_JLTK_F:
    case OP_JLEK_F:
    case OP_JGTK_F:
    case OP_JGEK_F:
    case OP_JEQK_F: {
        static const int rel[] = {[OP_JLTK_F] = FC_LT,
                                  [OP_JLEK_F] = FC_LE,
                                  [OP_JGTK_F] = FC_GT,
                                  [OP_JGEK_F] = FC_GE,
                                  [OP_JEQK_F] = FC_EQ};
        /* C = 1: jump when the comparison is false (so also for NaN) */
        int xa = fuse(c, 0, A);
        if (rel[op] == FC_EQ) {
            load_kf(c, 1, Bv);
            fcmp_bool(c, FC_EQ, xa, 1);
            x64_test_rr(B, RAX, RAX);
            branch(c, Cv ? CC_E : CC_NE, at, next, (int32_t)x);
        } else if (rel[op] == FC_LT || rel[op] == FC_LE) { /* K above A */
            load_kf(c, 1, Bv);
            x64_ucomisd(B, 1, xa);
            x64_cc cc = rel[op] == FC_LT ? CC_A : CC_AE;
            branch(c, Cv ? (x64_cc)(cc ^ 1) : cc, at, next, (int32_t)x);
        } else { /* A above K */
            x64_ucomisd_m(B, xa, KMEM);
            kref(c, Bv);
            x64_cc cc = rel[op] == FC_GT ? CC_A : CC_AE;
            branch(c, Cv ? (x64_cc)(cc ^ 1) : cc, at, next, (int32_t)x);
        }
        break;
    }
    case OP_FORLT: {
        int t = gdst(c, A, RAX);
        get(c, t, A);
        x64_alu_ri(B, ALU_ADD, t, 1);
        put(c, A, t);
        alu_v(c, ALU_CMP, t, Bv);
        branch(c, CC_L, at, next, (int32_t)x);
        break;
    }
    case OP_FORLE: {
        int t = gdst(c, A, RAX);
        get(c, t, A);
        alu_v(c, ALU_CMP, t, Bv);
        size_t skip = x64_jcc(B, CC_GE);
        x64_alu_ri(B, ALU_ADD, t, 1);
        put(c, A, t);
        int32_t off = (int32_t)x;
        uint32_t target = (uint32_t)((int64_t)next + off);
        if (off < 0)
            back_edge(c, at, next, target, off);
        else
            fix(c, x64_jmp(B), target);
        x64_patch_rel(B, skip, c->b.len);
        break;
    }

    case OP_GETF:
        load_field(c, at, A, Bv, (int32_t)(offsetof(vm_inst, fields) + 8 * Cv), false);
        break;
    case OP_SETF:
        if (verify) /* the barrier, checked in ops.h */
            via_c(c, at);
        else
            store_field(c, at, A, Bv, (int32_t)(offsetof(vm_inst, fields) + 8 * Cv));
        break;
    case OP_AGET:
    case OP_ASET: {
        if (op == OP_ASET && verify) {
            via_c(c, at);
            break;
        }
        int r = use(c, RAX, Bv), i = use(c, RCX, Cv);
        null_check(c, r, Bv, at);
        x64_load32(B, RDX, x64_m(r, offsetof(vm_array, len)));
        x64_alu_rr(B, ALU_CMP, i, RDX);
        slow_op(c, CC_AE, at);
        x64_load(B, RAX, x64_m(r, offsetof(vm_array, buf)));
        x64_mem item = x64_mi(RAX, i, 8, offsetof(vm_buffer, items));
        int h = c->home[A];
        if (op == OP_AGET && in_xmm(h)) { /* floats straight to and from XMM */
            mark_dirty(c, A);
            x64_movsd_load(B, h - 16, item);
        } else if (op == OP_AGET) {
            x64_load(B, RAX, item);
            put(c, A, RAX);
        } else if (in_xmm(h)) {
            x64_movsd_store(B, item, h - 16);
        } else {
            get(c, RDX, A);
            x64_store(B, item, RDX);
        }
        break;
    }
    case OP_ALEN: load_field(c, at, A, Bv, offsetof(vm_array, len), true); break;
    case OP_GETCELL: load_field(c, at, A, Bv, offsetof(vm_cell, v), false); break;
    case OP_SETCELL:
        if (verify)
            via_c(c, at);
        else
            store_field(c, at, A, Bv, offsetof(vm_cell, v));
        break;

    case OP_CALL:
    case OP_CALLP:
    case OP_CALLV:
    case OP_CALLVP:
        if (c->site_of[at])
            emit_inline(c, at, &c->sites[c->site_of[at] - 1]);
        else
            emit_call(c, at, op, ins, x);
        break;
    case OP_CALLF: emit_call(c, at, op, ins, x); break;
    case OP_CALLN: emit_native(c, at, ins, x); break;
    case OP_RET:
    case OP_RET0:
        if (op == OP_RET)
            get(c, RDX, A);
        else
            x64_mov_imm(B, RDX, 0);
        x64_mov_imm(B, RAX, 0);
        x64_alu_ri(B, ALU_ADD, RSP, 8);
        x64_ret(B);
        break;
    case OP_THROW:
        flush(c);
        x64_mov_rr(B, RDI, R12);
        x64_mov_rr(B, RSI, RBX);
        x64_mov_imm(B, RDX, at);
        CALL_C(jit_throw);
        fix(c, x64_jmp(B), LANDING);
        break;
    default: /* in C, all of it: ops.h */ via_c(c, at); break;
    }
    resume_here(c, first);
    /* What it wrote is no longer a known constant, unless it is one. */
    uint16_t fl = vm_ops[op].flags;
    if (fl & (OPF_SETA | OPF_RWA))
        c->kgen[A] = c->nngen[A] = 0;
    if (fl & OPF_RWC)
        c->kgen[Cv] = c->nngen[Cv] = 0;
    if (op == OP_LOADI) {
        c->kval[A] = INS_sBx(ins);
        c->kgen[A] = c->gen;
    }
    if (op == OP_NEW) /* an object, never null */
        c->nngen[A] = c->gen;
}

/* The out-of-line paths, the OSR entry, the landing pad, and the jumps'
 * targets. Returns the OSR entry's offset. */
static size_t emit_tail(jc *c)
{
    /* The catch clauses' entries from jit_unwind (jit_int.h): the kept
     * registers loaded, a tick charged as the interpreter charges it. */
    for (uint32_t i = 0; i < c->d->nhandlers; i++) {
        uint32_t h = c->d->handlers[i].handler;
        c->pcmap[c->d->ncode + 1 + i] = (uint32_t)c->b.len;
        reload(c);
        x64_alu_ri(B, ALU_SUB, TICK, 1);
        slow(c, S_POLL, h, h, x64_jcc(B, CC_S), h);
        fix(c, x64_jmp(B), h);
    }
    size_t real_call = 0;          /* the out-of-line real call of an inlined one */
    uint32_t real_at = UINT32_MAX; /* and its instruction */
    for (size_t i = 0; i < c->nslow; i++) {
        const jit_slow *s = &c->slow[i];
        x64_patch_rel(B, s->from, c->b.len);
        if (s->kind == S_INLINE) { /* arg 1: the tick was charged, undone */
            jit_slow si = *s;      /* emit_call may move c->slow */
            if (si.arg)
                x64_alu_ri(B, ALU_ADD, TICK, 1);
            if (si.at == real_at) { /* the call's other checks share it */
                x64_jmp_to(B, real_call);
                continue;
            }
            real_call = c->b.len;
            real_at = si.at;
            all_dirty(c);
            const uint32_t *pc = c->f->code + si.at;
            emit_call(c, si.at, INS_OP(pc[0]), pc[0], pc[1]);
            x64_jmp_to(B, si.resume);
            continue;
        }
        if (s->kind == S_OP || s->kind == S_POLL) /* calls flushed before their stubs */
            flush_all(c);
        if (s->kind == S_CALLSLOW) {
            tick_out(c);
            x64_mov_rr(B, RDI, R12);
            x64_lea(B, RSI, x64_m(RBX, (int32_t)s->arg));
            CALL_C(jit_call_slow);
            tick_in(c);
            x64_jmp_to(B, s->resume);
            continue;
        }
        x64_mov_rr(B, RDI, R12);
        x64_mov_rr(B, RSI, RBX);
        x64_mov_imm(B, RDX, s->kind == S_POLL || s->kind == S_CALLPOLL ? s->arg : s->at);
        if (s->kind == S_CALLERR) {
            x64_mov_imm(B, RCX, s->arg);
            CALL_C(jit_call_error);
            fix(c, x64_jmp(B), LANDING);
            continue;
        }
        if (s->kind == S_POLL || s->kind == S_CALLPOLL) {
            tick_out(c);
            CALL_C(jit_poll);
            tick_in(c);
        } else {
            CALL_C(jit_op);
        }
        check(c);
        if (s->kind != S_CALLPOLL)
            reload(c);
        if (s->target != UINT32_MAX)
            fix(c, x64_jmp(B), s->target);
        else
            x64_jmp_to(B, s->resume);
    }
    /* On-stack replacement: from the trampoline, with the loop header's
     * address in rcx. */
    size_t osr = c->b.len;
    x64_alu_ri(B, ALU_SUB, RSP, 8);
    reload(c);
    x64_jmp_r(B, RCX);
    size_t spill = c->b.len;
    flush_inline(c, false);
    x64_ret(B);
    size_t fill = c->b.len;
    reload_inline(c);
    x64_ret(B);
    size_t landing = c->b.len;
    x64_mov_rr(B, RDI, R12);
    x64_mov_rr(B, RSI, RBX);
    CALL_C(jit_unwind);
    x64_test_rr(B, RAX, RAX);
    size_t out = x64_jcc(B, CC_E);
    x64_jmp_r(B, RAX);
    x64_patch_rel(B, out, c->b.len);
    x64_mov_imm(B, RAX, 1);
    x64_alu_ri(B, ALU_ADD, RSP, 8);
    x64_ret(B);
    /* The float constants, 8-aligned (the code is copied to a 16-aligned
     * address), each constant once: a small hash of constant index to its
     * offset in the pool. */
    while (c->b.len % 8)
        x64_int3(B);
    size_t nslot = 16;
    while (nslot < 2 * c->nkfix)
        nslot *= 2;
    struct kslot {
        uint32_t k;
        uint32_t at; /* 0: empty (no constant sits at offset 0) */
    } *slots = c->nkfix ? calloc(nslot, sizeof *slots) : NULL;
    if (c->nkfix && !slots)
        c->oom = true;
    for (size_t i = 0; slots && i < c->nkfix; i++) {
        uint32_t k = c->kfix[i].target;
        size_t h = (k * 2654435761u) & (nslot - 1);
        while (slots[h].at && slots[h].k != k)
            h = (h + 1) & (nslot - 1);
        if (!slots[h].at) {
            slots[h] = (struct kslot){k, (uint32_t)c->b.len};
            x64_u64(B, c->vm->kvals[k].u);
        }
        x64_patch32(B, c->kfix[i].at - 4,
                    (uint32_t)(int32_t)((int64_t)slots[h].at - (int64_t)c->kfix[i].at));
    }
    free(slots);
    for (size_t i = 0; i < c->nfix; i++) {
        uint32_t t = c->fix[i].target;
        x64_patch_rel(B, c->fix[i].at,
                      t == LANDING ? landing
                      : t == SPILL ? spill
                      : t == FILL  ? fill
                                   : c->pcmap[t]);
    }
    return osr;
}

/* Entry: 8 bytes of machine stack, the registers past the parameters and
 * captures zeroed (reference registers start null; the interpreter's
 * callers have zeroed them already, compiled callers have not), the kept
 * registers loaded. */
static void emit_prologue(jc *c)
{
    const vm_rtfunc *f = c->f;
    x64_alu_ri(B, ALU_SUB, RSP, 8);
    uint32_t from = (uint32_t)f->nparams + f->ncaps, n = f->nregs > from ? f->nregs - from : 0;
    if (n > 0) {
        x64_mov_imm(B, RAX, 0);
        if (n <= 8) {
            for (uint32_t i = 0; i < n; i++)
                x64_store(B, REG(from + i), RAX);
        } else {
            x64_lea(B, RDI, REG(from));
            x64_mov_imm(B, RCX, n);
            x64_rep_stosq(B);
        }
    }
    /* kept: the parameters and captures loaded, the others zero */
    for (uint32_t i = 0; i < c->nkept; i++) {
        uint32_t v = c->kept[i];
        int h = c->home[v];
        if (v < from)
            in_xmm(h) ? x64_movsd_load(B, h - 16, REG(v)) : x64_load(B, h, REG(v));
        else if (in_xmm(h))
            x64_xorpd(B, h - 16, h - 16);
        else
            x64_mov_imm(B, h, 0);
    }
    all_clean(c);
}

bool jit_compile(kiln_vm *vm, vm_rtfunc *f)
{
    jit_state *J = vm->jit;
    const vm_func *d = f->def;
    jc c = {.vm = vm, .f = f, .d = d, .b = J->scratch}; /* the buffer is reused */
    c.b.len = 0;
    c.pcmap = malloc(sizeof(uint32_t) * (d->ncode + 1 + d->nhandlers));
    c.handler = calloc(d->ncode + 1, sizeof(bool));
    c.target = calloc(d->ncode + 1, sizeof(bool));
    bool planned = plan_inline(&c);
    c.kval = malloc(sizeof(int64_t) * (c.nvirt + 1u));
    c.kgen = calloc(c.nvirt + 1u, sizeof(uint32_t));
    c.nngen = calloc(c.nvirt + 1u, sizeof(uint32_t));
    c.dirty = calloc(c.nvirt + 1u, sizeof(bool));
    c.gen = 1;
    bool ok = false;
    uint64_t count = 0;
    if (planned && c.pcmap && c.handler && c.target && c.kval && c.kgen && c.nngen && c.dirty &&
        choose_homes(&c)) {
        memset(c.pcmap, 0xff, sizeof(uint32_t) * (d->ncode + 1 + d->nhandlers));
        for (uint32_t i = 0; i < d->nhandlers; i++)
            c.handler[d->handlers[i].handler] = true;
        emit_prologue(&c);
        for (uint32_t at = 0; at < d->ncode; at += VM_INS_WORDS(INS_OP(d->code[at])), count++) {
            c.pcmap[at] = (uint32_t)c.b.len;
            emit_ins(&c, at);
        }
        c.pcmap[d->ncode] = (uint32_t)c.b.len; /* where the out-of-line code starts */
        size_t osr = emit_tail(&c);
        ok = !c.oom && !c.b.oom && jit_install(vm, f, c.b.p, c.b.len, c.pcmap, osr);
    }
    free(c.fix);
    free(c.slow);
    free(c.kfix);
    free(c.home);
    free(c.kept);
    free(c.handler);
    free(c.target);
    free(c.kval);
    free(c.kgen);
    free(c.nngen);
    free(c.site_of);
    for (uint32_t i = 0; i < c.nsites; i++)
        free(c.sites[i].map);
    free(c.sites);
    free(c.types);
    free(c.site_at);
    free(c.dirty);
    if (c.b.oom)
        x64_free(&c.b);
    J->scratch = c.b;
    if (!ok) {
        free(c.pcmap);
        f->jit_failed = true;
        J->stats.failed++;
        return false;
    }
    J->stats.instructions += count;
    J->stats.inlined += c.nsites;
    return true;
}

/* ---- Entering compiled code ---- */

/* The compiling thread's CPU time: what compiling costs, whatever else
 * the machine runs. */
static uint64_t cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

jit_ret jit_call(kiln_vm *vm, vm_value *R)
{
    const vm_rtfunc *f = vm_frame_of(R)->fn;
    return vm->jit->enter(vm, R, f->jcode, NULL);
}

jit_ret jit_osr(kiln_vm *vm, vm_value *R, const uint32_t *at)
{
    const vm_rtfunc *f = vm_frame_of(R)->fn;
    const jit_code *jc = f->jinfo;
    vm->jit->stats.osr_entries++;
    return vm->jit->enter(vm, R, jc->code + jc->osr, jc->code + jc->pcmap[at - f->code]);
}

bool jit_hot(kiln_vm *vm, vm_rtfunc *f)
{
    if (f->jcode) {
        f->calls = 0; /* every call from the interpreter comes back here */
        return true;
    }
    f->calls = INT32_MAX;
    f->loops = 0;
    if (!vm->jit || f->jit_failed)
        return false;
    uint64_t t0 = cpu_ns();
    bool ok = jit_compile(vm, f);
    vm->jit->stats.ns += cpu_ns() - t0;
    return ok;
}

void jit_compile_all(kiln_vm *vm)
{
    jit_state *J = vm->jit;
    if (!J)
        return;
    uint64_t t0 = cpu_ns();
    J->staging = true;
    size_t words = 0; /* the staging buffer, sized once: about 64 bytes a word */
    for (uint32_t i = 0; i < vm->img.nfuncs; i++)
        words += vm->funcs[i].def->ncode;
    x64_reserve(&J->stage, words * 64);
    for (uint32_t i = 0; i < vm->img.nfuncs; i++)
        if (!vm->funcs[i].jcode && !vm->funcs[i].jit_failed && !vm->funcs[i].jinfo)
            jit_compile(vm, &vm->funcs[i]);
    jit_commit(vm);
    J->stats.ns += cpu_ns() - t0;
}

/* The trampoline from C: jit_ret enter(vm, R, code, target) saves the
 * callee-saved registers, loads rbx, r12, r13 and the tick into r15, and
 * calls `code` (an OSR entry takes `target` in rcx); the tick goes back to
 * the context when it returns. */
void jit_emit_trampoline(x64_buf *b)
{
    static const int saved[] = {RBP, RBX, R12, R13, R14, R15};
    for (int i = 0; i < 6; i++)
        x64_push(b, saved[i]);
    x64_alu_ri(b, ALU_SUB, RSP, 8);
    x64_mov_rr(b, R12, RDI);
    x64_load(b, R13, x64_m(RDI, offsetof(kiln_vm, ctx)));
    x64_mov_rr(b, RBX, RSI);
    x64_load(b, TICK, x64_m(R13, offsetof(vm_ctx, tick)));
    x64_call_r(b, RDX);
    x64_store(b, x64_m(R13, offsetof(vm_ctx, tick)), TICK);
    x64_alu_ri(b, ALU_ADD, RSP, 8);
    for (int i = 5; i >= 0; i--)
        x64_pop(b, saved[i]);
    x64_ret(b);
}
