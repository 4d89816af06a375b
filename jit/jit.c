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
    if (jit_c_stack_low(vm))
        return (jit_ret){ops_call_overflow(vm), {0}};
    if (--g->calls < 0 && jit_hot(vm, g))
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
    return f->jinfo->code + f->jinfo->pcmap[X->catch_pc - f->code];
}

/* ---- The compiler ---- */

enum { LANDING = UINT32_MAX };
/* Out-of-line paths, emitted after the body. */
enum { S_OP, S_POLL, S_CALLERR, S_CALLSLOW };
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

typedef struct jc {
    kiln_vm *vm;
    vm_rtfunc *f;
    const vm_func *d;
    x64_buf b;
    uint32_t *pcmap;
    jit_fix *fix;
    size_t nfix, capfix;
    jit_slow *slow;
    size_t nslow, capslow;
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

static void slow(jc *c, int kind, uint32_t at, uint32_t arg, size_t from, size_t resume,
                 uint32_t target)
{
    if (!grow((void **)&c->slow, &c->capslow, c->nslow, sizeof *c->slow)) {
        c->oom = true;
        return;
    }
    c->slow[c->nslow++] = (jit_slow){(uint8_t)kind, at, arg, from, resume, target};
}

static x64_mem REG(uint32_t r)
{
    return x64_m(RBX, (int32_t)(8 * r));
}
#define CTX(field) x64_m(R13, (int32_t)offsetof(vm_ctx, field))

static void ld(jc *c, int r, uint32_t v)
{
    x64_load(B, r, REG(v));
}
static void st(jc *c, uint32_t v, int r)
{
    x64_store(B, REG(v), r);
}
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

/* A slow path at `at` taken on cc: ops.h runs the instruction, then on. */
static void slow_op(jc *c, x64_cc cc, uint32_t at, size_t resume_later)
{
    (void)resume_later;
    slow(c, S_OP, at, 0, x64_jcc(B, cc), SIZE_MAX, UINT32_MAX);
}
/* The resume point of the slow paths opened since `first`. */
static void resume_here(jc *c, size_t first)
{
    for (size_t i = first; i < c->nslow; i++)
        if (c->slow[i].resume == SIZE_MAX && c->slow[i].target == UINT32_MAX)
            c->slow[i].resume = c->b.len;
}

/* The whole instruction in C. */
static void via_c(jc *c, uint32_t at)
{
    x64_mov_rr(B, RDI, R12);
    x64_mov_rr(B, RSI, RBX);
    x64_mov_imm(B, RDX, at);
    CALL_C(jit_op);
    check(c);
}

/* A back-edge to bytecode `target` charges the loop's length (-off) to the
 * tick counter, polling when it runs out, as the interpreter does. */
static void back_edge(jc *c, uint32_t at, uint32_t next, uint32_t target, int32_t off)
{
    x64_alu_mi(B, ALU_ADD, CTX(tick), off);
    slow(c, S_POLL, at, next, x64_jcc(B, CC_S), SIZE_MAX, target);
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
/* eax = (xmm0 rel xmm1), NaN-correct. */
static void fcmp_bool(jc *c, int rel)
{
    switch (rel) {
    case FC_LT:
    case FC_LE:
        x64_ucomisd(B, 1, 0);
        set_bool(c, rel == FC_LT ? CC_A : CC_AE);
        break;
    case FC_GT:
    case FC_GE:
        x64_ucomisd(B, 0, 1);
        set_bool(c, rel == FC_GT ? CC_A : CC_AE);
        break;
    default:
        x64_ucomisd(B, 0, 1);
        x64_setcc(B, rel == FC_EQ ? CC_E : CC_NE, RAX);
        x64_setcc(B, rel == FC_EQ ? CC_NP : CC_P, RCX);
        x64_movzx8(B, RAX, RAX);
        x64_movzx8(B, RCX, RCX);
        x64_alu_rr(B, rel == FC_EQ ? ALU_AND : ALU_OR, RAX, RCX);
        break;
    }
}

static void load_kf(jc *c, int x, uint32_t k)
{
    x64_mov_imm(B, RAX, c->vm->kvals[k].u);
    x64_movq_xr(B, x, RAX);
}

static const x64_cc int_cc[] = {
    [OP_EQ_I] = CC_E, [OP_NE_I] = CC_NE, [OP_LT_I] = CC_L, [OP_LE_I] = CC_LE,
    [OP_EQ_B] = CC_E, [OP_NE_B] = CC_NE, [OP_EQ_R] = CC_E, [OP_NE_R] = CC_NE};

/* The frame record of a callee, `off` bytes above R. */
static x64_mem NREC(int32_t off, int slot)
{
    return x64_m(RBX, off - 8 * (VM_FRAME_SLOTS - slot));
}

/* CALL, CALLP, CALLV, CALLVP, CALLF: the interpreter's call path (null
 * check, room, arguments, a tick, the record), then the callee's machine
 * code, or jit_call_slow when it has none. r14 holds the callee. */
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
    switch (op) {
    case OP_CALL:
    case OP_CALLP:
        g = &vm->funcs[x];
        known = true;
        x64_mov_imm64(B, R14, (uint64_t)(uintptr_t)g);
        break;
    case OP_CALLV:
    case OP_CALLVP: {
        uint32_t slot = op == OP_CALLV ? x : INS_C(ins);
        const vm_class *k = vm_class_of(im, c->d->types[Bv]);
        g = vm->classes[k - im->classes].vtable[slot];
        ld(c, RAX, Bv);
        x64_test_rr(B, RAX, RAX);
        slow(c, S_CALLERR, at, 0, x64_jcc(B, CC_E), SIZE_MAX, UINT32_MAX);
        x64_load(B, RAX, x64_m(RAX, offsetof(vm_inst, cls)));
        x64_load(B, RAX, x64_m(RAX, offsetof(vm_rtclass, vtable)));
        x64_load(B, R14, x64_m(RAX, (int32_t)(8 * slot)));
        break;
    }
    default: { /* CALLF */
        const vm_type *t = vm_fn_type(im, x);
        np = VM_FN_NPARAMS(t->a);
        res = VM_FN_RET(t->a) != VM_T_VOID;
        ld(c, R15, Bv);
        x64_test_rr(B, R15, R15);
        slow(c, S_CALLERR, at, 0, x64_jcc(B, CC_E), SIZE_MAX, UINT32_MAX);
        x64_load(B, R14, x64_m(R15, offsetof(vm_closure, fn)));
        break;
    }
    }
    if (g) {
        np = g->nparams;
        res = g->result;
    }
    /* Room on the slot stack and on the machine stack. */
    if (known) {
        x64_lea(B, RAX, x64_m(RBX, off + 8 * g->nregs));
    } else {
        x64_load16zx(B, RAX, x64_m(R14, offsetof(vm_rtfunc, nregs)));
        x64_lea(B, RAX, x64_mi(RBX, RAX, 8, off));
    }
    x64_alu_rm(B, ALU_CMP, RAX, CTX(stack_end));
    slow(c, S_CALLERR, at, 1, x64_jcc(B, CC_A), SIZE_MAX, UINT32_MAX);
    x64_alu_rm(B, ALU_CMP, RSP, CTX(c_limit));
    slow(c, S_CALLERR, at, 1, x64_jcc(B, CC_B), SIZE_MAX, UINT32_MAX);
    /* The arguments. */
    switch (op) {
    case OP_CALLP:
        ld(c, RAX, Bv);
        x64_store(B, x64_m(RBX, off), RAX);
        ld(c, RAX, INS_C(ins));
        x64_store(B, x64_m(RBX, off + 8), RAX);
        break;
    case OP_CALLVP:
        ld(c, RAX, Bv);
        x64_store(B, x64_m(RBX, off), RAX);
        for (int k = 0; k < 4; k++) {
            ld(c, RAX, (x >> (8 * k)) & 0xffu);
            x64_store(B, x64_m(RBX, off + 8 * (k + 1)), RAX);
        }
        break;
    default: {
        uint32_t first = op == OP_CALLF ? Bv + 1 : Bv;
        for (uint32_t k = 0; k < np; k++) {
            ld(c, RAX, first + k);
            x64_store(B, x64_m(RBX, off + (int32_t)(8 * k)), RAX);
        }
        if (op == OP_CALLF) {
            x64_lea(B, RDI, x64_m(RBX, off));
            x64_mov_rr(B, RSI, R15);
            CALL_C(jit_copy_caps);
        }
    }
    }
    /* A call charges one tick: recursion polls too. */
    x64_dec_m(B, CTX(tick));
    slow(c, S_POLL, at, next, x64_jcc(B, CC_S), SIZE_MAX, UINT32_MAX);
    resume_here(c, c->nslow - 1);
    /* The callee's record: function, return pc, result register and link. */
    x64_store(B, NREC(off, 0), R14);
    x64_mov_imm64(B, RAX, (uint64_t)(uintptr_t)(f->code + next));
    x64_store(B, NREC(off, 1), RAX);
    x64_mov_imm(B, RAX, A | (uint64_t)(f->nregs + VM_FRAME_SLOTS) << 32);
    x64_store(B, NREC(off, 2), RAX);
    x64_load(B, RAX, x64_m(R14, offsetof(vm_rtfunc, jcode)));
    x64_test_rr(B, RAX, RAX);
    slow(c, S_CALLSLOW, at, (uint32_t)off, x64_jcc(B, CC_E), SIZE_MAX, UINT32_MAX);
    size_t callslow = c->nslow - 1;
    x64_lea(B, RBX, x64_m(RBX, off));
    x64_call_r(B, RAX);
    x64_lea(B, RBX, x64_m(RBX, -off));
    c->slow[callslow].resume = c->b.len;
    check(c);
    if (res)
        x64_store(B, REG(A), RDX);
}

static void emit_native(jc *c, uint32_t at, uint32_t ins, uint32_t x)
{
    const vm_native *n = c->vm->natives[x];
    x64_store(B, CTX(frame), RBX);
    x64_mov_imm64(B, RAX, (uint64_t)(uintptr_t)(c->f->code + at + 2));
    x64_store(B, CTX(pc), RAX);
    ld(c, RAX, INS_A(ins)); /* a native without result leaves R[A] as it was */
    x64_store(B, x64_m(RSP, 0), RAX);
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
    check(c);
    x64_load(B, RAX, x64_m(RSP, 0));
    st(c, INS_A(ins), RAX);
}

/* Emits instruction `at`. */
static void emit_ins(jc *c, uint32_t at)
{
    kiln_vm *vm = c->vm;
    const uint32_t *pc = c->f->code + at;
    uint32_t ins = pc[0], op = INS_OP(ins);
    uint32_t x = VM_INS_WORDS(op) == 2 ? pc[1] : 0, next = at + VM_INS_WORDS(op);
    uint32_t A = INS_A(ins), Bv = INS_B(ins), Cv = INS_C(ins);
    bool verify = vm->heap.verify; /* barriers go through ops.h, which checks them */
    size_t first = c->nslow;
    switch (op) {
    case OP_NOP: break;
    case OP_MOV:
        ld(c, RAX, Bv);
        st(c, A, RAX);
        break;
    case OP_LOADI: x64_store_imm(B, REG(A), INS_sBx(ins)); break;
    case OP_LOADK:
        x64_mov_imm(B, RAX, vm->kvals[INS_Bx(ins)].u);
        st(c, A, RAX);
        break;
    case OP_LOADB: x64_store_imm(B, REG(A), (int32_t)Bv); break;
    case OP_LOADNULL: x64_store_imm(B, REG(A), 0); break;
    case OP_GETG:
        x64_mov_imm64(B, RCX, (uint64_t)(uintptr_t)&vm->globals[INS_Bx(ins)]);
        x64_load(B, RAX, x64_m(RCX, 0));
        st(c, A, RAX);
        break;
    case OP_SETG:
        x64_mov_imm64(B, RCX, (uint64_t)(uintptr_t)&vm->globals[INS_Bx(ins)]);
        ld(c, RAX, A);
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
        ld(c, RAX, Bv);
        x64_alu_rm(B, alu, RAX, REG(Cv));
        st(c, A, RAX);
        break;
    }
    case OP_MUL_I:
        ld(c, RAX, Bv);
        x64_imul_rm(B, RAX, REG(Cv));
        st(c, A, RAX);
        break;
    case OP_DIV_I:
    case OP_MOD_I:
        /* 0 (an error) and -1 (INT64_MIN / -1 traps in idiv) in C */
        ld(c, RCX, Cv);
        x64_lea(B, RAX, x64_m(RCX, 1));
        x64_alu_ri(B, ALU_CMP, RAX, 1);
        slow_op(c, CC_BE, at, 0);
        ld(c, RAX, Bv);
        x64_cqo(B);
        x64_idiv(B, RCX);
        st(c, A, op == OP_DIV_I ? RAX : RDX);
        break;
    case OP_ADDI_I:
        ld(c, RAX, Bv);
        x64_alu_ri(B, ALU_ADD, RAX, (int8_t)Cv);
        st(c, A, RAX);
        break;
    case OP_SHL:
    case OP_SHR:
        ld(c, RCX, Cv);
        ld(c, RAX, Bv);
        if (op == OP_SHL)
            x64_shl_cl(B, RAX);
        else
            x64_sar_cl(B, RAX);
        st(c, A, RAX);
        break;
    case OP_NEG_I:
    case OP_BNOT:
        ld(c, RAX, Bv);
        if (op == OP_NEG_I)
            x64_neg(B, RAX);
        else
            x64_not(B, RAX);
        st(c, A, RAX);
        break;

    case OP_ADD_F:
    case OP_SUB_F:
    case OP_MUL_F:
    case OP_DIV_F: {
        x64_sse sse = op == OP_ADD_F   ? SSE_ADD
                      : op == OP_SUB_F ? SSE_SUB
                      : op == OP_MUL_F ? SSE_MUL
                                       : SSE_DIV;
        x64_movsd_load(B, 0, REG(Bv));
        x64_sse_rm(B, sse, 0, REG(Cv));
        x64_movsd_store(B, REG(A), 0);
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
        load_kf(c, 1, Cv);
        x64_movsd_load(B, 0, REG(Bv));
        x64_sse_rr(B, sse, 0, 1);
        x64_movsd_store(B, REG(A), 0);
        break;
    }
    case OP_MOD_F:
        x64_movsd_load(B, 0, REG(Bv));
        x64_movsd_load(B, 1, REG(Cv));
        CALL_C(fmod);
        x64_movsd_store(B, REG(A), 0);
        break;
    case OP_NEG_F:
        ld(c, RAX, Bv);
        x64_mov_imm(B, RCX, UINT64_C(1) << 63);
        x64_alu_rr(B, ALU_XOR, RAX, RCX);
        st(c, A, RAX);
        break;
    case OP_NOT:
        ld(c, RAX, Bv);
        x64_alu_ri(B, ALU_XOR, RAX, 1);
        st(c, A, RAX);
        break;

    case OP_EQ_I:
    case OP_NE_I:
    case OP_LT_I:
    case OP_LE_I:
    case OP_EQ_B:
    case OP_NE_B:
    case OP_EQ_R:
    case OP_NE_R:
        ld(c, RCX, Bv);
        x64_alu_rm(B, ALU_CMP, RCX, REG(Cv));
        set_bool(c, int_cc[op]);
        st(c, A, RAX);
        break;
    case OP_EQ_F:
    case OP_NE_F:
    case OP_LT_F:
    case OP_LE_F:
        x64_movsd_load(B, 0, REG(Bv));
        x64_movsd_load(B, 1, REG(Cv));
        fcmp_bool(c, op == OP_EQ_F ? FC_EQ : op == OP_NE_F ? FC_NE : op == OP_LT_F ? FC_LT : FC_LE);
        st(c, A, RAX);
        break;

    case OP_I2F:
        ld(c, RAX, Bv);
        x64_cvtsi2sd(B, 0, RAX);
        x64_movsd_store(B, REG(A), 0);
        break;
    case OP_F2I:
        /* cvttsd2si gives INT64_MIN for NaN and out of range: C decides */
        x64_movsd_load(B, 0, REG(Bv));
        x64_cvttsd2si(B, RAX, 0);
        x64_alu_ri(B, ALU_CMP, RAX, 1);
        slow_op(c, CC_O, at, 0);
        st(c, A, RAX);
        break;
    case OP_STRLEN:
        ld(c, RAX, Bv);
        x64_test_rr(B, RAX, RAX);
        slow_op(c, CC_E, at, 0);
        x64_load32(B, RAX, x64_m(RAX, offsetof(vm_str, len)));
        st(c, A, RAX);
        break;
    case OP_STRIDX:
        ld(c, RAX, Bv);
        ld(c, RCX, Cv);
        x64_test_rr(B, RAX, RAX);
        slow_op(c, CC_E, at, 0);
        x64_load32(B, RDX, x64_m(RAX, offsetof(vm_str, len)));
        x64_alu_rr(B, ALU_CMP, RCX, RDX);
        slow_op(c, CC_AE, at, 0);
        x64_load8zx(B, RAX, x64_mi(RAX, RCX, 1, offsetof(vm_str, data)));
        st(c, A, RAX);
        break;

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
    case OP_JNNULL:
        ld(c, RAX, A);
        x64_test_rr(B, RAX, RAX);
        branch(c, op == OP_JT || op == OP_JNNULL ? CC_NE : CC_E, at, next, (int32_t)x);
        break;
    case OP_JLT_I:
    case OP_JLE_I:
    case OP_JEQ_I:
    case OP_JNE_I:
    case OP_JEQ_R:
    case OP_JNE_R: {
        static const x64_cc cc[] = {[OP_JLT_I] = CC_L,  [OP_JLE_I] = CC_LE, [OP_JEQ_I] = CC_E,
                                    [OP_JNE_I] = CC_NE, [OP_JEQ_R] = CC_E,  [OP_JNE_R] = CC_NE};
        ld(c, RAX, A);
        x64_alu_rm(B, ALU_CMP, RAX, REG(Bv));
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
        x64_alu_mi(B, ALU_CMP, REG(A), INS_sBx(ins));
        branch(c, cc[op], at, next, (int32_t)x);
        break;
    }
    case OP_JLT_F:
    case OP_JLE_F:
    case OP_JNLT_F:
    case OP_JNLE_F:
        /* B compared with A: "A < B" is B above A; the negations take NaN */
        x64_movsd_load(B, 0, REG(Bv));
        x64_ucomisd_m(B, 0, REG(A));
        branch(c,
               op == OP_JLT_F    ? CC_A
               : op == OP_JLE_F  ? CC_AE
               : op == OP_JNLT_F ? CC_BE
                                 : CC_B,
               at, next, (int32_t)x);
        break;
    case OP_JEQ_F:
    case OP_JNE_F:
        x64_movsd_load(B, 0, REG(A));
        x64_movsd_load(B, 1, REG(Bv));
        fcmp_bool(c, op == OP_JEQ_F ? FC_EQ : FC_NE);
        x64_test_rr(B, RAX, RAX);
        branch(c, CC_NE, at, next, (int32_t)x);
        break;
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
        x64_movsd_load(B, 0, REG(A));
        load_kf(c, 1, Bv);
        fcmp_bool(c, rel[op]);
        x64_test_rr(B, RAX, RAX);
        branch(c, Cv ? CC_E : CC_NE, at, next, (int32_t)x); /* C = 1: jump when false */
        break;
    }
    case OP_FORLT:
        ld(c, RAX, A);
        x64_alu_ri(B, ALU_ADD, RAX, 1);
        st(c, A, RAX);
        x64_alu_rm(B, ALU_CMP, RAX, REG(Bv));
        branch(c, CC_L, at, next, (int32_t)x);
        break;
    case OP_FORLE: {
        ld(c, RAX, A);
        x64_alu_rm(B, ALU_CMP, RAX, REG(Bv));
        size_t skip = x64_jcc(B, CC_GE);
        x64_alu_ri(B, ALU_ADD, RAX, 1);
        st(c, A, RAX);
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
        ld(c, RAX, Bv);
        x64_test_rr(B, RAX, RAX);
        slow_op(c, CC_E, at, 0);
        x64_load(B, RAX, x64_m(RAX, (int32_t)(offsetof(vm_inst, fields) + 8 * Cv)));
        st(c, A, RAX);
        break;
    case OP_SETF:
        if (verify) {
            via_c(c, at);
            break;
        }
        ld(c, RAX, Bv);
        x64_test_rr(B, RAX, RAX);
        slow_op(c, CC_E, at, 0);
        ld(c, RCX, A);
        x64_store(B, x64_m(RAX, (int32_t)(offsetof(vm_inst, fields) + 8 * Cv)), RCX);
        break;
    case OP_AGET:
    case OP_ASET:
        if (op == OP_ASET && verify) {
            via_c(c, at);
            break;
        }
        ld(c, RAX, Bv);
        ld(c, RCX, Cv);
        x64_test_rr(B, RAX, RAX);
        slow_op(c, CC_E, at, 0);
        x64_load32(B, RDX, x64_m(RAX, offsetof(vm_array, len)));
        x64_alu_rr(B, ALU_CMP, RCX, RDX);
        slow_op(c, CC_AE, at, 0);
        x64_load(B, RAX, x64_m(RAX, offsetof(vm_array, buf)));
        if (op == OP_AGET) {
            x64_load(B, RAX, x64_mi(RAX, RCX, 8, offsetof(vm_buffer, items)));
            st(c, A, RAX);
        } else {
            ld(c, RDX, A);
            x64_store(B, x64_mi(RAX, RCX, 8, offsetof(vm_buffer, items)), RDX);
        }
        break;
    case OP_ALEN:
        ld(c, RAX, Bv);
        x64_test_rr(B, RAX, RAX);
        slow_op(c, CC_E, at, 0);
        x64_load32(B, RAX, x64_m(RAX, offsetof(vm_array, len)));
        st(c, A, RAX);
        break;
    case OP_GETCELL:
        ld(c, RAX, Bv);
        x64_test_rr(B, RAX, RAX);
        slow_op(c, CC_E, at, 0);
        x64_load(B, RAX, x64_m(RAX, offsetof(vm_cell, v)));
        st(c, A, RAX);
        break;
    case OP_SETCELL:
        if (verify) {
            via_c(c, at);
            break;
        }
        ld(c, RAX, Bv);
        x64_test_rr(B, RAX, RAX);
        slow_op(c, CC_E, at, 0);
        ld(c, RCX, A);
        x64_store(B, x64_m(RAX, offsetof(vm_cell, v)), RCX);
        break;

    case OP_CALL:
    case OP_CALLP:
    case OP_CALLV:
    case OP_CALLVP:
    case OP_CALLF: emit_call(c, at, op, ins, x); break;
    case OP_CALLN: emit_native(c, at, ins, x); break;
    case OP_RET:
        ld(c, RDX, A);
        x64_mov_imm(B, RAX, 0);
        x64_alu_ri(B, ALU_ADD, RSP, 8);
        x64_ret(B);
        break;
    case OP_RET0:
        x64_mov_imm(B, RAX, 0);
        x64_mov_imm(B, RDX, 0);
        x64_alu_ri(B, ALU_ADD, RSP, 8);
        x64_ret(B);
        break;
    case OP_THROW:
        x64_mov_rr(B, RDI, R12);
        x64_mov_rr(B, RSI, RBX);
        x64_mov_imm(B, RDX, at);
        CALL_C(jit_throw);
        fix(c, x64_jmp(B), LANDING);
        break;
    default: /* in C, all of it: ops.h */ via_c(c, at); break;
    }
    resume_here(c, first);
}

/* The out-of-line paths, the landing pad, and the jumps' targets. */
static void emit_tail(jc *c)
{
    for (size_t i = 0; i < c->nslow; i++) {
        const jit_slow *s = &c->slow[i];
        x64_patch_rel(B, s->from, c->b.len);
        x64_mov_rr(B, RDI, R12);
        if (s->kind == S_CALLSLOW) {
            x64_lea(B, RSI, x64_m(RBX, (int32_t)s->arg));
            CALL_C(jit_call_slow);
            x64_jmp_to(B, s->resume);
            continue;
        }
        x64_mov_rr(B, RSI, RBX);
        x64_mov_imm(B, RDX, s->kind == S_POLL ? s->arg : s->at);
        if (s->kind == S_CALLERR) {
            x64_mov_imm(B, RCX, s->arg);
            CALL_C(jit_call_error);
            fix(c, x64_jmp(B), LANDING);
            continue;
        }
        CALL_C(s->kind == S_POLL ? (const void *)(uintptr_t)jit_poll
                                 : (const void *)(uintptr_t)jit_op);
        check(c);
        if (s->target != UINT32_MAX)
            fix(c, x64_jmp(B), s->target);
        else
            x64_jmp_to(B, s->resume);
    }
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
    for (size_t i = 0; i < c->nfix; i++) {
        uint32_t t = c->fix[i].target;
        x64_patch_rel(B, c->fix[i].at, t == LANDING ? landing : c->pcmap[t]);
    }
}

/* Entry: 8 bytes of machine stack, the registers past the parameters and
 * captures zeroed (reference registers start null; the interpreter's
 * callers have zeroed them already, compiled callers have not). */
static void emit_prologue(jc *c)
{
    const vm_rtfunc *f = c->f;
    x64_alu_ri(B, ALU_SUB, RSP, 8);
    uint32_t from = (uint32_t)f->nparams + f->ncaps, n = f->nregs > from ? f->nregs - from : 0;
    if (n == 0)
        return;
    x64_mov_imm(B, RAX, 0);
    if (n <= 8) {
        for (uint32_t i = 0; i < n; i++)
            st(c, from + i, RAX);
        return;
    }
    x64_lea(B, RDI, REG(from));
    x64_mov_imm(B, RCX, n);
    x64_rep_stosq(B);
}

bool jit_compile(kiln_vm *vm, vm_rtfunc *f)
{
    jit_state *J = vm->jit;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const vm_func *d = f->def;
    jc c = {.vm = vm, .f = f, .d = d};
    c.pcmap = malloc(sizeof(uint32_t) * (d->ncode + 1));
    bool ok = false;
    uint64_t count = 0;
    if (c.pcmap) {
        memset(c.pcmap, 0xff, sizeof(uint32_t) * (d->ncode + 1));
        emit_prologue(&c);
        for (uint32_t at = 0; at < d->ncode; at += VM_INS_WORDS(INS_OP(d->code[at])), count++) {
            c.pcmap[at] = (uint32_t)c.b.len;
            emit_ins(&c, at);
        }
        c.pcmap[d->ncode] = (uint32_t)c.b.len; /* where the out-of-line code starts */
        emit_tail(&c);
        ok = !c.oom && !c.b.oom && jit_install(vm, f, c.b.p, c.b.len, c.pcmap);
    }
    free(c.fix);
    free(c.slow);
    x64_free(&c.b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    J->stats.ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec -
                   (uint64_t)t0.tv_nsec;
    if (!ok) {
        free(c.pcmap);
        f->jit_failed = true;
        J->stats.failed++;
        return false;
    }
    J->stats.instructions += count;
    return true;
}

/* ---- Entering compiled code ---- */

jit_ret jit_call(kiln_vm *vm, vm_value *R)
{
    const vm_rtfunc *f = vm_frame_of(R)->fn;
    return vm->jit->enter(vm, R, f->jcode, NULL);
}

jit_ret jit_osr(kiln_vm *vm, vm_value *R, const uint32_t *at)
{
    const vm_rtfunc *f = vm_frame_of(R)->fn;
    vm->jit->stats.osr_entries++;
    return vm->jit->enter(vm, R, vm->jit->osr, f->jinfo->code + f->jinfo->pcmap[at - f->code]);
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
    return jit_compile(vm, f);
}

void jit_compile_all(kiln_vm *vm)
{
    for (uint32_t i = 0; vm->jit && i < vm->img.nfuncs; i++)
        if (!vm->funcs[i].jcode && !vm->funcs[i].jit_failed)
            jit_compile(vm, &vm->funcs[i]);
}

/* The trampoline from C: jit_ret enter(vm, R, code, target) saves the
 * callee-saved registers, loads rbx, r12 and r13, and calls `code`; the
 * OSR stub it may call instead takes the function's 8 bytes of stack and
 * jumps to `target`, a loop header inside the function. */
size_t jit_emit_trampoline(x64_buf *b, size_t *osr)
{
    static const int saved[] = {RBP, RBX, R12, R13, R14, R15};
    for (int i = 0; i < 6; i++)
        x64_push(b, saved[i]);
    x64_alu_ri(b, ALU_SUB, RSP, 8);
    x64_mov_rr(b, R12, RDI);
    x64_load(b, R13, x64_m(RDI, offsetof(kiln_vm, ctx)));
    x64_mov_rr(b, RBX, RSI);
    x64_call_r(b, RDX);
    x64_alu_ri(b, ALU_ADD, RSP, 8);
    for (int i = 5; i >= 0; i--)
        x64_pop(b, saved[i]);
    x64_ret(b);
    *osr = b->len;
    x64_alu_ri(b, ALU_SUB, RSP, 8);
    x64_jmp_r(b, RCX);
    return 0;
}
