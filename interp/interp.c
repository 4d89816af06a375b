/*
 * interp.c — the bytecode interpreter: one dispatch function.
 *
 * Frames live on the VM's slot stack, never on the C stack, so guest
 * recursion depth is bounded only by KILN_STACK_SLOTS. A frame is
 *
 *     R[0 .. nregs-1]   the function's registers (parameters first)
 *     R[nregs + 0]      caller's R, or NULL in the entry frame
 *     R[nregs + 1]      return pc: the instruction after the caller's CALL
 *     R[nregs + 2]      caller's vm_func
 *
 * and a callee's frame starts right after its caller's call info. The
 * caller's CALL instruction (two words before the return pc) names the
 * register that receives the result, so the return path needs nothing
 * else. Walking R -> info -> caller is how stack traces (and, later, the
 * GC's root scan and the exception unwinder) visit every frame.
 *
 * The verifier has proven every operand's type, index and jump target, so
 * the handlers check only what types cannot: null strings, division by
 * zero, bounds, stack depth.
 */
#include <math.h>
#include <string.h>

#include "../runtime/rt.h"
#include "interp.h"

enum { FRAME_INFO = 3 };

/* Builds the trace of the error being raised, walking from the frame that
 * raised it (R, f, at pc) out to the entry frame. */
static void build_trace(kiln_vm *vm, vm_value *R, const vm_func *f, const uint32_t *pc)
{
    /* First walk: count the frames, so the trace can elide the middle. */
    uint32_t depth = 0;
    vm_value *r = R;
    const vm_func *g = f;
    while (r) {
        depth++;
        vm_value *info = r + g->nregs;
        r = info[0].p;
        g = info[2].p;
    }
    rt_trace_begin(vm);
    r = R;
    g = f;
    const uint32_t *p = pc;
    for (uint32_t i = 0; r; i++) {
        rt_trace_frame(vm, g, (uint32_t)(p - 1 - g->code), i, depth);
        vm_value *info = r + g->nregs;
        r = info[0].p;
        p = info[1].p;
        g = info[2].p;
    }
}

static bool str_eq(const vm_str *a, const vm_str *b)
{
    return a == b || (a && b && a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
}

static int str_cmp(const vm_str *a, const vm_str *b)
{
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->data, b->data, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static vm_str *str_concat(kiln_vm *vm, const vm_str *a, const vm_str *b)
{
    vm_str *s = vm_str_new(vm, NULL, (size_t)a->len + b->len);
    if (s) {
        memcpy(s->data, a->data, a->len);
        memcpy(s->data + a->len, b->data, b->len);
    }
    return s;
}

/*
 * Dispatch: computed goto when the compiler has it (one indirect branch per
 * handler predicts far better than a shared switch), else a switch. These
 * three macros are the only place the choice shows.
 */
#if KILN_COMPUTED_GOTO
#define VM_CASE(name) L_##name
#define VM_DISPATCH() \
    do { \
        ins = *pc++; \
        goto *labels[INS_OP(ins)]; \
    } while (0)
#define VM_LOOP VM_DISPATCH();
#else
#define VM_CASE(name) case OP_##name
#define VM_DISPATCH() goto dispatch
#define VM_LOOP \
    dispatch: \
    ins = *pc++; \
    switch (INS_OP(ins))
#endif

/* Before anything that can allocate (and so collect): publish the frame,
 * so the collector's walk starts at the innermost frame. */
#define PROTECT() (vm->frame_R = R, vm->frame_f = f)

#define RA (R[INS_A(ins)])
#define RB (R[INS_B(ins)])
#define RC (R[INS_C(ins)])
#define JUMP_X() (pc += 1 + (int32_t)pc[0])
#define SKIP_X() (pc += 1)

int interp_call(kiln_vm *vm, uint32_t fi, const vm_value *args, vm_value *result)
{
#if KILN_COMPUTED_GOTO
    static const void *const labels[OP__COUNT] = {
#define OP(name, ...) &&L_##name,
#include "../vm/opcodes.h"
#undef OP
    };
#endif
    const vm_func *f = &vm->img.funcs[fi];
    vm_func *const funcs = vm->img.funcs;
    const vm_value *const K = vm->kvals;
    vm_value *const G = vm->globals;
    const vm_native **const natives = vm->natives;
    vm_value *R = vm->stack;
    const uint32_t *pc = f->code;
    uint32_t ins = 0;

    if (R + f->nregs + FRAME_INFO > vm->stack_end) {
        rt_raise(vm, RT_ERR_STACK, "stack overflow");
        rt_trace_begin(vm);
        return -1;
    }
    memset(R, 0, sizeof(vm_value) * f->nregs);
    for (uint32_t i = 0; args && i < f->nparams; i++)
        R[i] = args[i];
    R[f->nregs].p = NULL;
    R[f->nregs + 1].p = NULL;
    R[f->nregs + 2].p = NULL;

    VM_LOOP
    {
        VM_CASE(NOP) : VM_DISPATCH();
        VM_CASE(MOV) : RA = RB; VM_DISPATCH();
        VM_CASE(LOADI) : RA.i = INS_sBx(ins); VM_DISPATCH();
        VM_CASE(LOADK) : RA = K[INS_Bx(ins)]; VM_DISPATCH();
        VM_CASE(LOADB) : RA.i = INS_B(ins); VM_DISPATCH();
        VM_CASE(LOADNULL) : RA.p = NULL; VM_DISPATCH();
        VM_CASE(GETG) : RA = G[INS_Bx(ins)]; VM_DISPATCH();
        VM_CASE(SETG) : G[INS_Bx(ins)] = RA; VM_DISPATCH();

        /* Integer arithmetic wraps: compute in uint64_t, where C defines it. */
        VM_CASE(ADD_I) : RA.u = RB.u + RC.u; VM_DISPATCH();
        VM_CASE(SUB_I) : RA.u = RB.u - RC.u; VM_DISPATCH();
        VM_CASE(MUL_I) : RA.u = RB.u * RC.u; VM_DISPATCH();
        VM_CASE(DIV_I) : {
            int64_t b = RB.i, c = RC.i;
            if (c == 0) {
                rt_raise(vm, RT_ERR_ARITH, "division by zero");
                goto unwind;
            }
            RA.i = c == -1 ? (int64_t)(0 - (uint64_t)b) : b / c;
            VM_DISPATCH();
        }
        VM_CASE(MOD_I) : {
            int64_t b = RB.i, c = RC.i;
            if (c == 0) {
                rt_raise(vm, RT_ERR_ARITH, "remainder by zero");
                goto unwind;
            }
            RA.i = c == -1 ? 0 : b % c;
            VM_DISPATCH();
        }
        VM_CASE(ADDI_I) : RA.u = RB.u + (uint64_t)(int64_t)(int8_t)INS_C(ins); VM_DISPATCH();
        VM_CASE(BAND) : RA.u = RB.u & RC.u; VM_DISPATCH();
        VM_CASE(BOR) : RA.u = RB.u | RC.u; VM_DISPATCH();
        VM_CASE(BXOR) : RA.u = RB.u ^ RC.u; VM_DISPATCH();
        VM_CASE(SHL) : RA.u = RB.u << (RC.u & 63); VM_DISPATCH();
        VM_CASE(SHR) : RA.i = RB.i >> (RC.u & 63); VM_DISPATCH();
        VM_CASE(NEG_I) : RA.u = 0 - RB.u; VM_DISPATCH();
        VM_CASE(BNOT) : RA.u = ~RB.u; VM_DISPATCH();

        VM_CASE(ADD_F) : RA.f = RB.f + RC.f; VM_DISPATCH();
        VM_CASE(SUB_F) : RA.f = RB.f - RC.f; VM_DISPATCH();
        VM_CASE(MUL_F) : RA.f = RB.f * RC.f; VM_DISPATCH();
        VM_CASE(DIV_F) : RA.f = RB.f / RC.f; VM_DISPATCH();
        VM_CASE(MOD_F) : RA.f = fmod(RB.f, RC.f); VM_DISPATCH();
        VM_CASE(ADDK_F) : RA.f = RB.f + K[INS_C(ins)].f; VM_DISPATCH();
        VM_CASE(SUBK_F) : RA.f = RB.f - K[INS_C(ins)].f; VM_DISPATCH();
        VM_CASE(MULK_F) : RA.f = RB.f * K[INS_C(ins)].f; VM_DISPATCH();
        VM_CASE(DIVK_F) : RA.f = RB.f / K[INS_C(ins)].f; VM_DISPATCH();
        VM_CASE(NEG_F) : RA.f = -RB.f; VM_DISPATCH();
        VM_CASE(NOT) : RA.i = !RB.i; VM_DISPATCH();

        VM_CASE(EQ_I) : RA.i = RB.i == RC.i; VM_DISPATCH();
        VM_CASE(NE_I) : RA.i = RB.i != RC.i; VM_DISPATCH();
        VM_CASE(LT_I) : RA.i = RB.i < RC.i; VM_DISPATCH();
        VM_CASE(LE_I) : RA.i = RB.i <= RC.i; VM_DISPATCH();
        VM_CASE(EQ_F) : RA.i = RB.f == RC.f; VM_DISPATCH();
        VM_CASE(NE_F) : RA.i = RB.f != RC.f; VM_DISPATCH();
        VM_CASE(LT_F) : RA.i = RB.f < RC.f; VM_DISPATCH();
        VM_CASE(LE_F) : RA.i = RB.f <= RC.f; VM_DISPATCH();
        VM_CASE(EQ_B) : RA.i = RB.i == RC.i; VM_DISPATCH();
        VM_CASE(NE_B) : RA.i = RB.i != RC.i; VM_DISPATCH();
        VM_CASE(EQ_S) : RA.i = str_eq(RB.s, RC.s); VM_DISPATCH();
        VM_CASE(NE_S) : RA.i = !str_eq(RB.s, RC.s); VM_DISPATCH();
        VM_CASE(LT_S) :
        VM_CASE(LE_S) : {
            if (!RB.s || !RC.s) {
                rt_raise(vm, RT_ERR_NULL, "comparison of a null string");
                goto unwind;
            }
            int c = str_cmp(RB.s, RC.s);
            RA.i = INS_OP(ins) == OP_LT_S ? c < 0 : c <= 0;
            VM_DISPATCH();
        }
        VM_CASE(EQ_R) : RA.i = RB.p == RC.p; VM_DISPATCH();
        VM_CASE(NE_R) : RA.i = RB.p != RC.p; VM_DISPATCH();

        VM_CASE(I2F) : RA.f = (double)RB.i; VM_DISPATCH();
        VM_CASE(F2I) : {
            double d = RB.f;
            /* Exactly the doubles whose truncation fits in int64_t. */
            if (!(d > -9223372036854777856.0 && d < 9223372036854775808.0)) {
                char buf[32];
                rt_format_float(d, buf);
                rt_raise(vm, RT_ERR_ARITH, "int(%s): not representable as int", buf);
                goto unwind;
            }
            RA.i = (int64_t)d;
            VM_DISPATCH();
        }
        VM_CASE(CONCAT) : {
            if (!RB.s || !RC.s) {
                rt_raise(vm, RT_ERR_NULL, "concatenation of a null string");
                goto unwind;
            }
            PROTECT();
            vm_str *s = str_concat(vm, RB.s, RC.s);
            if (!s)
                goto unwind;
            RA.s = s;
            VM_DISPATCH();
        }
        VM_CASE(STRLEN) : {
            if (!RB.s) {
                rt_raise(vm, RT_ERR_NULL, "len() of a null string");
                goto unwind;
            }
            RA.i = RB.s->len;
            VM_DISPATCH();
        }
        VM_CASE(STRIDX) : {
            const vm_str *s = RB.s;
            int64_t i = RC.i;
            if (!s) {
                rt_raise(vm, RT_ERR_NULL, "indexing a null string");
                goto unwind;
            }
            if ((uint64_t)i >= s->len) {
                rt_raise(vm, RT_ERR_INDEX, "index %lld out of range for length %u",
                         (long long)i, s->len);
                goto unwind;
            }
            RA.i = (unsigned char)s->data[i];
            VM_DISPATCH();
        }

        VM_CASE(JMP) : pc += INS_sJ(ins); VM_DISPATCH();
        VM_CASE(JT) : if (RA.i) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JF) : if (!RA.i) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JLT_I) : if (RA.i < RB.i) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JLE_I) : if (RA.i <= RB.i) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JEQ_I) : if (RA.i == RB.i) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JNE_I) : if (RA.i != RB.i) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JLTK_I) : if (RA.i < INS_sBx(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JLEK_I) : if (RA.i <= INS_sBx(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JGTK_I) : if (RA.i > INS_sBx(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JGEK_I) : if (RA.i >= INS_sBx(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JEQK_I) : if (RA.i == INS_sBx(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JNEK_I) : if (RA.i != INS_sBx(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JLT_F) : if (RA.f < RB.f) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JLE_F) : if (RA.f <= RB.f) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JEQ_F) : if (RA.f == RB.f) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JNE_F) : if (RA.f != RB.f) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JNLT_F) : if (!(RA.f < RB.f)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JNLE_F) : if (!(RA.f <= RB.f)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(FORLT) : {
            RA.u++; /* wraps (no UB) if a hand-made image starts at INT64_MAX */
            if (RA.i < RB.i) JUMP_X(); else SKIP_X();
            VM_DISPATCH();
        }
        VM_CASE(FORLE) : {
            if (RA.i < RB.i) {
                RA.i++;
                JUMP_X();
            } else {
                SKIP_X();
            }
            VM_DISPATCH();
        }

        VM_CASE(CALL) : {
            const vm_func *g = &funcs[pc[0]];
            vm_value *N = R + f->nregs + FRAME_INFO;
            pc++;
            if (N + g->nregs + FRAME_INFO > vm->stack_end) {
                rt_raise(vm, RT_ERR_STACK, "stack overflow (call depth limit reached)");
                goto unwind;
            }
            const vm_value *a = R + INS_B(ins);
            for (uint32_t i = 0; i < g->nparams; i++)
                N[i] = a[i];
            memset(N + g->nparams, 0, sizeof(vm_value) * (g->nregs - g->nparams));
            N[g->nregs].p = R;
            N[g->nregs + 1].p = (void *)pc;
            N[g->nregs + 2].p = (void *)f;
            R = N;
            f = g;
            pc = g->code;
            VM_DISPATCH();
        }
        VM_CASE(CALLN) : {
            const vm_native *n = natives[pc[0]];
            pc++;
            vm_value res = RA; /* a native without result leaves R[A] as it was */
            PROTECT();
            if (n->fn(vm, R + INS_B(ins), &res) != 0)
                goto unwind;
            RA = res;
            VM_DISPATCH();
        }
        VM_CASE(RET) : {
            vm_value v = RA;
            vm_value *info = R + f->nregs;
            if (!info[0].p) {
                *result = v;
                vm->frame_R = NULL;
                return 0;
            }
            R = info[0].p;
            pc = info[1].p;
            f = info[2].p;
            R[INS_A(pc[-2])] = v;
            VM_DISPATCH();
        }
        VM_CASE(RET0) : {
            vm_value *info = R + f->nregs;
            if (!info[0].p) {
                result->u = 0;
                vm->frame_R = NULL;
                return 0;
            }
            R = info[0].p;
            pc = info[1].p;
            f = info[2].p;
            VM_DISPATCH();
        }
        VM_CASE(TRAP) : {
            rt_raise(vm, RT_ERR_ERROR, "internal error: reached unreachable code");
            goto unwind;
        }
    }

unwind:
    /* No handlers exist yet (try/catch comes with the next language
     * issue); when they do, this is where each frame's exception table is
     * searched before the frame is popped. */
    build_trace(vm, R, f, pc);
    vm->frame_R = NULL;
    return -1;
}

void interp_mark_frames(kiln_vm *vm, gc_heap *h)
{
    vm_value *R = vm->frame_R;
    const vm_func *f = vm->frame_f;
    while (R) {
        const struct vm_refmap *m = &vm->refmaps[f - vm->img.funcs];
        for (uint32_t i = 0; i < m->n; i++)
            gc_mark(h, R[m->regs[i]].p);
        vm_value *info = R + f->nregs;
        R = info[0].p;
        f = info[2].p;
    }
}

#undef VM_CASE
#undef VM_DISPATCH
#undef VM_LOOP
#undef RA
#undef RB
#undef RC
#undef PROTECT
#undef JUMP_X
#undef SKIP_X
