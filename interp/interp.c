/*
 * interp.c — the bytecode interpreter: one dispatch function.
 *
 * Frames live on the context's slot stack, never on the C stack, so guest
 * recursion depth is bounded only by KILN_STACK_SLOTS. Their layout is the
 * contract of vm/frame.h: a call writes the callee's record (function,
 * caller, return pc, result register) below its registers, and a return
 * reads it back; the unwinder and stack traces walk the same records with
 * frame.h's iterator, as the collector does.
 *
 * The verifier has proven every operand's type, index and jump target, so
 * the handlers check only what types cannot: null strings, division by
 * zero, bounds, stack depth.
 */
#include <stdlib.h>

#include "../jit/jit.h"
#include "../runtime/rt.h"
#include "../vm/frame.h"
#include "interp.h"
#include "ops.h"

/* The innermost catch clause of f covering pc `at` that takes `exc`. */
static const vm_handler *find_handler(const kiln_vm *vm, const vm_func *f, uint32_t at,
                                      const vm_inst *exc)
{
    for (uint32_t i = 0; i < f->nhandlers; i++) {
        const vm_handler *h = &f->handlers[i];
        if (at >= h->start && at < h->end &&
            (h->cls == VM_CATCH_ALL || ops_is_instance(exc, &vm->classes[h->cls])))
            return h;
    }
    return NULL;
}

/* The walk of the frames from R (at pc) out to the entry frame: step to
 * the caller, or false after the entry frame. */
static bool step_to_entry(vm_frame_iter *it)
{
    if (it->entry)
        return false;
    vm_frames_step(it);
    return true;
}

/* Builds the trace of the error being raised, walking from the frame that
 * raised it (R at pc) out to the entry frame. */
static void build_trace(kiln_vm *vm, vm_value *R, const uint32_t *pc, const vm_inst *exc)
{
    /* First walk: count the frames, so the trace can elide the middle. */
    uint32_t depth = 1;
    for (vm_frame_iter it = vm_frames_from(R, pc); step_to_entry(&it);)
        depth++;
    rt_trace_begin(vm, exc);
    vm_frame_iter it = vm_frames_from(R, pc);
    uint32_t i = 0;
    do
        rt_trace_frame(vm, it.fn->def, vm_frame_at(it.fn, it.pc), i++, depth);
    while (step_to_entry(&it));
}

void interp_throw(kiln_vm *vm, vm_value *R, const uint32_t *pc, vm_inst *exc)
{
    vm_ctx *X = vm->ctx;
    X->unwinding = true;
    X->catch_R = NULL;
    /* Frame by frame from the thrower out to the entry frame, the
     * innermost catch clause that covers the pc and takes the error's
     * class. The search pops nothing, so an uncaught error's trace starts
     * at the throw. */
    vm_frame_iter it = vm_frames_from(R, pc);
    do {
        const vm_handler *h =
            exc ? find_handler(vm, it.fn->def, vm_frame_at(it.fn, it.pc), exc) : NULL;
        if (h) {
            X->catch_R = it.R;
            X->catch_pc = it.fn->code + h->handler;
            it.R[h->reg].p = exc;
            X->err_kind = RT_ERR_NONE;
            return;
        }
    } while (exc && step_to_entry(&it));
    build_trace(vm, R, pc, exc);
    X->pending = exc; /* for a native that called in: it may pass the error on */
}

/*
 * Dispatch: computed goto when the compiler has it (one indirect branch per
 * handler predicts far better than a shared switch), else a switch. These
 * three macros are the only place the choice shows.
 */
#ifdef KILN_OPSTATS
#define OPSTAT() (vm->opstats[prev_op * OP__COUNT + INS_OP(ins)]++, prev_op = INS_OP(ins))
#else
#define OPSTAT() ((void)0)
#endif
#if KILN_COMPUTED_GOTO
#define VM_CASE(name) L_##name
#define VM_DISPATCH() \
    do { \
        ins = *pc++; \
        OPSTAT(); \
        goto *labels[INS_OP(ins)]; \
    } while (0)
#define VM_LOOP VM_DISPATCH();
#else
#define VM_CASE(name) case OP_##name
#define VM_DISPATCH() goto dispatch
#define VM_LOOP \
    dispatch: \
    ins = *pc++; \
    OPSTAT(); \
    switch (INS_OP(ins))
#endif

/* Before anything that may allocate (and so collect) or throw: publish
 * the frame and its pc, so the collector's and the unwinder's walks start
 * at the innermost frame, at the right instruction. */
#define PROTECT() (X->frame = R, X->pc = pc)

/* An instruction of ops.h: its C code, then on to the next or to unwind. */
#define OP_CALL(name, x) \
    do { \
        if (op_##name(vm, f, R, ins, (x)) != 0) \
            goto unwind; \
    } while (0)

#define RA (R[INS_A(ins)])
#define RB (R[INS_B(ins)])
#define RC (R[INS_C(ins)])
/* A back-edge of `off` instructions: charged to the tick counter, whose
 * running out polls the limits; the loop's JIT_HOT_LOOPS-th turn goes to
 * the poll too, where on-stack replacement is looked at (a loop whose
 * ticks run out in compiled callees would never see it otherwise). */
#define HOT_OR_POLL(off) ((X->tick += (off)) < 0 || ++f->loops == JIT_HOT_LOOPS)
/* A taken jump; a backward one (a loop's back-edge) charges the loop's
 * length to the tick counter, whose running out polls the limits: at the
 * poll the frame stays at the branch (pc past its X word, frame.h), and
 * goes on at `resume`. */
#define JUMP_X() \
    do { \
        int32_t off_ = (int32_t)pc[0]; \
        if (off_ < 0 && HOT_OR_POLL(off_)) { \
            resume = pc + 1 + off_; \
            pc += 1; \
            goto poll; \
        } \
        pc += 1 + off_; \
    } while (0)
#define SKIP_X() (pc += 1)

/* GCC would turn the call path's short zeroing loop back into a call to
 * memset, which costs more than the few stores it replaces. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static int
interp_exec(kiln_vm *vm, vm_value *const base, vm_value *result)
{
#if KILN_COMPUTED_GOTO
    static const void *const labels[OP__COUNT] = {
#define OP(name, ...) &&L_##name,
#include "../vm/opcodes.h"
#undef OP
    };
#endif
    vm_ctx *const X = vm->ctx;
    vm_value *R = base;
    vm_rtfunc *f = vm_frame_of(R)->fn, *g; /* records are the VM's, mutable (counters) */
    const vm_value *argv, *capv = NULL;    /* a call's arguments and captured values */
    vm_value *N;                           /* a callee's frame */
    vm_rtfunc *const funcs = vm->funcs;
    const vm_value *const K = vm->kvals;
    vm_value *const G = vm->globals;
    const vm_native **const natives = vm->natives;
    const uint32_t *pc = f->code, *resume = NULL; /* resume: where a polled back-edge goes */
    uint32_t ins = 0;
    jit_ret jr; /* what a compiled callee (or a frame entered by OSR) returned */
#ifdef KILN_OPSTATS
    uint32_t prev_op = OP_NOP;
#endif
    vm_inst *exc;

    /* The handlers as a table: one line each where it fits. */
    /* clang-format off */
    VM_LOOP
    {
        VM_CASE(NOP) : VM_DISPATCH();
        VM_CASE(MOV) : RA = RB; VM_DISPATCH();
        VM_CASE(LOADI) : RA.i = INS_sBx(ins); VM_DISPATCH();
        VM_CASE(LOADK) : RA = K[INS_Bx(ins)]; VM_DISPATCH();
        VM_CASE(LOADB) : RA.i = INS_B(ins); VM_DISPATCH();
        VM_CASE(LOADNULL) : RA.p = NULL; VM_DISPATCH();
        VM_CASE(GETG) : RA = G[INS_Bx(ins)]; VM_DISPATCH();
        VM_CASE(GETGC) : OP_CALL(GETGC, 0); VM_DISPATCH();
        VM_CASE(INITG) : vm->ginit[INS_Bx(ins)] = 1; VM_DISPATCH();
        VM_CASE(SETG) : G[INS_Bx(ins)] = RA; VM_DISPATCH();

        /* Integer arithmetic wraps: compute in uint64_t, where C defines it. */
        VM_CASE(ADD_I) : RA.u = RB.u + RC.u; VM_DISPATCH();
        VM_CASE(SUB_I) : RA.u = RB.u - RC.u; VM_DISPATCH();
        VM_CASE(MUL_I) : RA.u = RB.u * RC.u; VM_DISPATCH();
        VM_CASE(DIV_I) : OP_CALL(DIV_I, 0); VM_DISPATCH();
        VM_CASE(MOD_I) : OP_CALL(MOD_I, 0); VM_DISPATCH();
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
        VM_CASE(EQ_S) :
        VM_CASE(NE_S) : op_EQ_S(vm, f, R, ins, 0); VM_DISPATCH(); /* never raises */
        VM_CASE(LT_S) :
        VM_CASE(LE_S) : OP_CALL(LT_S, 0); VM_DISPATCH();
        VM_CASE(EQ_R) : RA.i = RB.p == RC.p; VM_DISPATCH();
        VM_CASE(NE_R) : RA.i = RB.p != RC.p; VM_DISPATCH();

        VM_CASE(I2F) : RA.f = (double)RB.i; VM_DISPATCH();
        VM_CASE(F2I) : OP_CALL(F2I, 0); VM_DISPATCH();
        VM_CASE(CONCAT) : PROTECT(); OP_CALL(CONCAT, 0); VM_DISPATCH();
        VM_CASE(STRLEN) : OP_CALL(STRLEN, 0); VM_DISPATCH();
        VM_CASE(STRIDX) : OP_CALL(STRIDX, 0); VM_DISPATCH();
        VM_CASE(JMP) : {
            int32_t off = INS_sJ(ins);
            if (off < 0 && HOT_OR_POLL(off)) {
                resume = pc + off;
                goto poll;
            }
            pc += off;
            VM_DISPATCH();
        }
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
        /* C = 1 negates: "not <" is taken for NaN, which "<" never is. */
        VM_CASE(JLTK_F) : if ((uint32_t)(RA.f < K[INS_B(ins)].f) != INS_C(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JLEK_F) : if ((uint32_t)(RA.f <= K[INS_B(ins)].f) != INS_C(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JGTK_F) : if ((uint32_t)(RA.f > K[INS_B(ins)].f) != INS_C(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JGEK_F) : if ((uint32_t)(RA.f >= K[INS_B(ins)].f) != INS_C(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JEQK_F) : if ((uint32_t)(RA.f == K[INS_B(ins)].f) != INS_C(ins)) JUMP_X(); else SKIP_X(); VM_DISPATCH();
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

        VM_CASE(JNULL) : if (!RA.p) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JNNULL) : if (RA.p) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JEQ_R) : if (RA.p == RB.p) JUMP_X(); else SKIP_X(); VM_DISPATCH();
        VM_CASE(JNE_R) : if (RA.p != RB.p) JUMP_X(); else SKIP_X(); VM_DISPATCH();

        VM_CASE(NEW) : PROTECT(); OP_CALL(NEW, 0); VM_DISPATCH();
        VM_CASE(GETF) : OP_CALL(GETF, 0); VM_DISPATCH();
        VM_CASE(SETF) : OP_CALL(SETF, 0); VM_DISPATCH();
        VM_CASE(IS) : op_IS(vm, f, R, ins, pc[0]); SKIP_X(); VM_DISPATCH(); /* never raises */
        VM_CASE(AS) : OP_CALL(AS, pc[0]); SKIP_X(); VM_DISPATCH();
        VM_CASE(NEWA) : PROTECT(); OP_CALL(NEWA, pc[0]); SKIP_X(); VM_DISPATCH();
        VM_CASE(APUSH) : PROTECT(); OP_CALL(APUSH, 0); VM_DISPATCH();
        /* raises when its work runs out of fuel or meets an interrupt */
        VM_CASE(AFILL) : OP_CALL(AFILL, 0); VM_DISPATCH();
        VM_CASE(AGET) : {
            vm_array *a = RB.p;
            int64_t i = RC.i;
            if (!a || (uint64_t)i >= a->len)
                { ops_bad_index(vm, a, i); goto unwind; }
            RA = a->buf->items[i];
            VM_DISPATCH();
        }
        VM_CASE(ASET) : {
            vm_array *a = RB.p;
            int64_t i = RC.i;
            if (!a || (uint64_t)i >= a->len)
                { ops_bad_index(vm, a, i); goto unwind; }
            a->buf->items[i] = RA;
            gc_barrier(&vm->heap, &a->obj, a->refs ? RA.p : NULL);
            VM_DISPATCH();
        }
        VM_CASE(ALEN) : OP_CALL(ALEN, 0); VM_DISPATCH();
        VM_CASE(APOP) : OP_CALL(APOP, 0); VM_DISPATCH();
        VM_CASE(ASLICE) : PROTECT(); OP_CALL(ASLICE, pc[0]); SKIP_X(); VM_DISPATCH();
        VM_CASE(NEWM) : PROTECT(); OP_CALL(NEWM, pc[0]); SKIP_X(); VM_DISPATCH();
        VM_CASE(MGET) : OP_CALL(MGET, 0); VM_DISPATCH();
        VM_CASE(MGETD) : OP_CALL(MGET, pc[0]); SKIP_X(); VM_DISPATCH();
        VM_CASE(MSET) : PROTECT(); OP_CALL(MSET, 0); VM_DISPATCH();
        VM_CASE(MHAS) :
        VM_CASE(MDEL) : OP_CALL(MHAS, 0); VM_DISPATCH();
        VM_CASE(MLEN) : OP_CALL(MLEN, 0); VM_DISPATCH();
        VM_CASE(MKEYS) : PROTECT(); OP_CALL(MKEYS, 0); VM_DISPATCH();
        VM_CASE(MRESERVE) : PROTECT(); OP_CALL(MRESERVE, 0); VM_DISPATCH();
        VM_CASE(MNEXT) : OP_CALL(MNEXT, 0); VM_DISPATCH();
        VM_CASE(MKEYAT) :
        VM_CASE(MVALAT) : OP_CALL(MKEYAT, 0); VM_DISPATCH();
        VM_CASE(FNEW) : PROTECT(); OP_CALL(FNEW, pc[0]); SKIP_X(); VM_DISPATCH();
        VM_CASE(NEWCELL) : PROTECT(); OP_CALL(NEWCELL, 0); VM_DISPATCH();
        VM_CASE(GETCELL) : OP_CALL(GETCELL, 0); VM_DISPATCH();
        VM_CASE(SETCELL) : OP_CALL(SETCELL, 0); VM_DISPATCH();
        VM_CASE(CALLVP) : {
            vm_inst *o = RB.p;
            if (!o) {
                ops_call_null(vm, f, ins);
                goto unwind;
            }
            g = o->cls->vtable[INS_C(ins)];
            N = vm_frame_next(R, f);
            if (N + g->nregs > X->stack_end)
                goto call_overflow;
            uint32_t x = pc[0];
            N[0] = RB;
            N[1] = R[x & 0xffu];
            N[2] = R[(x >> 8) & 0xffu];
            N[3] = R[(x >> 16) & 0xffu];
            N[4] = R[x >> 24];
            goto enter;
        }
        VM_CASE(CALLP) : {
            g = &funcs[pc[0]];
            N = vm_frame_next(R, f);
            if (N + g->nregs > X->stack_end)
                goto call_overflow;
            N[0] = RB; /* R[0] when unused */
            N[1] = RC;
            goto enter;
        }
        /* Calls: the callee g, its arguments at `args` (and for a function
         * value, the values it captured, copied after the parameters). */
        VM_CASE(CALLF) : {
            const vm_closure *c = RB.p;
            if (!c) {
                ops_call_null(vm, f, ins);
                goto unwind;
            }
            g = c->fn;
            argv = R + INS_B(ins) + 1;
            capv = c->caps;
            goto call;
        }
        VM_CASE(CALLV) : {
            vm_inst *o = RB.p;
            if (!o) {
                ops_call_null(vm, f, ins);
                goto unwind;
            }
            g = o->cls->vtable[pc[0]];
            argv = R + INS_B(ins);
            goto call;
        }
        VM_CASE(CALL) : {
            g = &funcs[pc[0]];
            argv = R + INS_B(ins);
        call:;
            N = vm_frame_next(R, f);
            if (N + g->nregs > X->stack_end)
                goto call_overflow;
            for (uint32_t i = 0; i < g->nparams; i++)
                N[i] = argv[i];
            for (uint32_t i = 0; i < g->ncaps; i++) /* none unless CALLF */
                N[g->nparams + i] = capv[i];
        enter:
            pc++;
            if (--X->tick < 0) { /* a call charges one: recursion polls too */
                PROTECT();
                if (vm_poll(vm))
                    goto unwind;
            }
            /* The other registers start zero (the GC scans the reference
             * ones): four stores whatever the count (any past the frame
             * land in dead stack above it, at worst in the stack's slack),
             * then a loop for more. */
            vm_value *z = N + g->nparams + g->ncaps, *end = N + g->nregs;
            z[0].u = z[1].u = z[2].u = z[3].u = 0;
            for (z += 4; z < end; z++)
                z->u = 0;
            *vm_frame_of(N) = (vm_frame){g, pc, INS_A(ins), (uint32_t)(N - R)};
            /* Hot, or compiled already: the callee runs as machine code
             * (jit.h), which returns here when its frame does — unless
             * the machine stack runs low: then it is interpreted here,
             * which takes none. */
            if (--g->calls < 0 && jit_hot(vm, g) && !jit_c_stack_low(vm)) {
                PROTECT();
                jr = jit_call(vm, N);
                if (jr.st)
                    goto propagate;
                if (g->result)
                    RA = jr.v;
                VM_DISPATCH();
            }
            R = N;
            f = g;
            pc = g->code;
            VM_DISPATCH();
        call_overflow:
            pc++;
            ops_call_overflow(vm);
            goto unwind;
        }
        VM_CASE(CALLN) : {
            const vm_native *n = natives[pc[0]];
            pc++;
            vm_value res = RA; /* a native without result leaves R[A] as it was */
            PROTECT();
            if ((n->fn ? n->fn(vm, R + INS_B(ins), &res) : n->bridge(vm, n, R + INS_B(ins), &res)) != 0)
                goto unwind;
            RA = res;
            VM_DISPATCH();
        }
        VM_CASE(RET) : {
            vm_value v = RA;
            const vm_frame *fr = vm_frame_of(R);
            if (R == base) {
                *result = v;
                return 0;
            }
            R = vm_frame_return_to(R);
            pc = fr->ret_pc;
            R[fr->dest] = v;
            f = vm_frame_of(R)->fn;
            VM_DISPATCH();
        }
        VM_CASE(RET0) : {
            const vm_frame *fr = vm_frame_of(R);
            if (R == base) {
                result->u = 0;
                return 0;
            }
            R = vm_frame_return_to(R);
            pc = fr->ret_pc;
            f = vm_frame_of(R)->fn;
            VM_DISPATCH();
        }
        VM_CASE(THROW) : {
            exc = RA.p;
            if (!exc) {
                rt_raise(vm, RT_ERR_NULL, "throw of a null error");
                goto unwind;
            }
            goto throw_exc;
        }
        VM_CASE(TRAP) : {
            ops_trap(vm);
            goto unwind;
        }
    }

    /* clang-format on */
poll: /* at a back-edge: fuel, interrupts, and on-stack replacement */
    PROTECT();
    if (vm_poll(vm))
        goto unwind;
    /* A hot loop: the rest of this frame runs as machine code, entered
     * at the loop's header; it comes back when the frame returns. */
    if (f->loops >= JIT_HOT_LOOPS && jit_hot(vm, f) && !jit_c_stack_low(vm)) {
        jr = jit_osr(vm, R, resume);
        if (jr.st)
            goto propagate;
        if (R == base) {
            *result = jr.v;
            return 0;
        }
        const vm_frame *fr = vm_frame_of(R);
        R = vm_frame_return_to(R);
        pc = fr->ret_pc;
        if (f->result)
            R[fr->dest] = jr.v;
        f = vm_frame_of(R)->fn;
        VM_DISPATCH();
    }
    pc = resume;
    VM_DISPATCH();
propagate: /* a compiled callee failed: its error may be searched already */
    if (X->unwinding)
        goto caught;
unwind:
    if (X->err_kind == RT_EXIT) /* the guest called os.exit: it ends here */
        return -2;
    /* A fault raised with rt_raise becomes an object of its built-in
     * class (allocating: the frames are published first). */
    PROTECT();
    exc = rt_error_object(vm);
throw_exc:
    interp_throw(vm, R, pc, exc);
caught:
    /* Caught in a frame of this activation: on at its handler; else the
     * error leaves it (to compiled code, or back to C at the entry). */
    if (X->catch_R && X->catch_R >= base) {
        R = X->catch_R;
        pc = X->catch_pc;
        f = vm_frame_of(R)->fn;
        X->catch_R = NULL;
        X->unwinding = false;
        /* Entering a catch clause charges a tick, as a jump back does: an
         * image can loop through a clause that covers its own throw. */
        if (--X->tick < 0) {
            PROTECT();
            if (vm_poll(vm))
                goto unwind;
        }
        VM_DISPATCH();
    }
    return -1;
}

int interp_run(kiln_vm *vm, vm_value *R, vm_value *result)
{
    vm_ctx *X = vm->ctx;
    int st = interp_exec(vm, R, result);
    X->frame = vm_frame_return_to(R);
    X->pc = vm_frame_of(R)->ret_pc;
    return st;
}

int interp_call(kiln_vm *vm, const vm_rtfunc *entry, const vm_value *args, vm_value *result)
{
    vm_ctx *const X = vm->ctx;
    vm_rtfunc *f = (vm_rtfunc *)entry;
    /* Called from a native (kiln_call inside a CALLN): the new frames go
     * above the interrupted one, which the entry frame's record links to. */
    vm_value *const outer_R = X->frame;
    const uint32_t *const outer_pc = X->pc;
    vm_value *R =
        outer_R ? vm_frame_next(outer_R, vm_frame_of(outer_R)->fn) : X->stack + VM_FRAME_SLOTS;
    if (!outer_R)
        jit_thread_enter(vm);
    if (R + f->nregs > X->stack_end || X->depth == KILN_MAX_REENTRY) {
        rt_raise(vm, RT_ERR_STACK, "stack overflow");
        rt_trace_begin(vm, NULL);
        return -1;
    }
    if (outer_R)
        X->depth++;
    memset(R, 0, sizeof(vm_value) * f->nregs);
    for (uint32_t i = 0; args && i < (uint32_t)f->nparams + f->ncaps; i++)
        R[i] = args[i]; /* a function value's captures follow its arguments */
    *vm_frame_of(R) =
        (vm_frame){f, outer_pc, VM_FRAME_ENTRY, outer_R ? (uint32_t)(R - outer_R) : 0};
    int st;
    if ((f->jcode || (--f->calls < 0 && jit_hot(vm, f))) && !jit_c_stack_low(vm)) {
        jit_ret r = jit_call(vm, R);
        *result = r.v;
        st = r.st == 0 ? 0 : X->err_kind == RT_EXIT ? -2 : -1;
    } else {
        st = interp_exec(vm, R, result);
    }
    /* Leaving: the frame a native called in from (if any) is the
     * innermost again, at its CALLN. */
    X->frame = outer_R;
    X->pc = outer_pc;
    X->catch_R = NULL;
    X->unwinding = false;
    if (outer_R)
        X->depth--;
    return st;
}

#ifdef KILN_OPSTATS
struct opcount {
    uint64_t n;
    uint32_t key;
};

static int by_count(const void *a, const void *b)
{
    const struct opcount *x = a, *y = b;
    return (x->n < y->n) - (x->n > y->n);
}

void interp_opstats(const kiln_vm *vm, FILE *out)
{
    enum { N = OP__COUNT, TOP = 40 };
    struct opcount ops[N], *pairs = malloc(sizeof *pairs * N * N);
    uint64_t total = 0;
    if (!pairs)
        return;
    for (uint32_t op = 0; op < N; op++)
        ops[op] = (struct opcount){0, op};
    for (uint32_t k = 0; k < N * N; k++) {
        pairs[k] = (struct opcount){vm->opstats[k], k};
        ops[k % N].n += vm->opstats[k];
        total += vm->opstats[k];
    }
    qsort(ops, N, sizeof ops[0], by_count);
    qsort(pairs, (size_t)N * N, sizeof pairs[0], by_count);
    fprintf(out, "opstats: %llu instructions\n", (unsigned long long)total);
    for (uint32_t i = 0; i < TOP && ops[i].n; i++)
        fprintf(out, "  %6.2f%%  %s\n", 100.0 * (double)ops[i].n / (double)total,
                vm_ops[ops[i].key].name);
    fprintf(out, "opstats: pairs (previous, next)\n");
    for (uint32_t i = 0; i < TOP && pairs[i].n; i++)
        fprintf(out, "  %6.2f%%  %s %s\n", 100.0 * (double)pairs[i].n / (double)total,
                vm_ops[pairs[i].key / N].name, vm_ops[pairs[i].key % N].name);
    free(pairs);
}
#endif

#undef OPSTAT
#undef VM_CASE
#undef VM_DISPATCH
#undef VM_LOOP
#undef RA
#undef RB
#undef RC
#undef PROTECT
#undef OP_CALL
#undef JUMP_X
#undef SKIP_X
