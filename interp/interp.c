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
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/rt.h"
#include "../vm/frame.h"
#include "interp.h"

static bool is_instance(const vm_inst *o, const vm_rtclass *want);

/* The innermost catch clause of f covering pc `at` that takes `exc`. */
static const vm_handler *find_handler(const kiln_vm *vm, const vm_func *f, uint32_t at,
                                      const vm_inst *exc)
{
    for (uint32_t i = 0; i < f->nhandlers; i++) {
        const vm_handler *h = &f->handlers[i];
        if (at >= h->start && at < h->end &&
            (h->cls == VM_CATCH_ALL || is_instance(exc, &vm->classes[h->cls])))
            return h;
    }
    return NULL;
}

/* The walk of the frames from R (at pc) out to this entry of the
 * interpreter: step to the caller, or false after the entry frame. */
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

static bool is_instance(const vm_inst *o, const vm_rtclass *want)
{
    for (const vm_rtclass *c = o ? o->cls : NULL; c; c = c->super)
        if (c == want)
            return true;
    return false;
}

static const char *class_name(const kiln_vm *vm, const vm_rtclass *c)
{
    return vm_image_str(&vm->img, c->def->name);
}

/* NullError for field `field` (or method slot, if `method`) of the null
 * object in register r of f: the message names the static class. */
static void raise_null_member(kiln_vm *vm, const vm_rtfunc *f, uint32_t r, uint32_t member,
                              bool method)
{
    const vm_image *im = &vm->img;
    const vm_class *c = vm_class_of(im, f->def->types[r]);
    if (method)
        rt_raise(vm, RT_ERR_NULL, "method call on a null %s", vm_image_str(im, c->name));
    else
        rt_raise(vm, RT_ERR_NULL, "field '%s' of a null %s",
                 vm_image_str(im, c->field_names[member]), vm_image_str(im, c->name));
}

static void raise_index(kiln_vm *vm, const vm_array *a, int64_t i)
{
    if (!a)
        rt_raise(vm, RT_ERR_NULL, "indexing a null array");
    else
        rt_raise(vm, RT_ERR_INDEX, "index %lld out of range for length %u", (long long)i, a->len);
}

/* KeyError naming the key: map register r of f holds the map. */
static void raise_missing_key(kiln_vm *vm, const vm_rtfunc *f, uint32_t r, vm_value k)
{
    uint32_t kt = 0, vt = 0;
    vm_map_types(&vm->img, f->def->types[r], &kt, &vt);
    if (kt == VM_T_STR)
        rt_raise(vm, RT_ERR_KEY, "key \"%.*s\" not found", k.s->len > 60 ? 60 : (int)k.s->len,
                 k.s->data);
    else if (kt == VM_T_BOOL)
        rt_raise(vm, RT_ERR_KEY, "key %s not found", k.i ? "true" : "false");
    else
        rt_raise(vm, RT_ERR_KEY, "key %lld not found", (long long)k.i);
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

/* Leaving interp_call: the frame a native called in from (if any) is the
 * innermost again, at its CALLN. */
#define LEAVE() \
    do { \
        X->frame = outer_R; \
        X->pc = outer_pc; \
        if (outer_R) \
            X->depth--; \
    } while (0)

#define RA (R[INS_A(ins)])
#define RB (R[INS_B(ins)])
#define RC (R[INS_C(ins)])
/* A taken jump; a backward one (a loop's back-edge) charges the loop's
 * length to the tick counter, whose running out polls the limits: at the
 * poll the frame stays at the branch (pc past its X word, frame.h), and
 * goes on at `resume`. */
#define JUMP_X() \
    do { \
        int32_t off_ = (int32_t)pc[0]; \
        if (off_ < 0 && (f->loops++, (X->tick += off_) < 0)) { \
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
int interp_call(kiln_vm *vm, const vm_rtfunc *entry, const vm_value *args, vm_value *result)
{
#if KILN_COMPUTED_GOTO
    static const void *const labels[OP__COUNT] = {
#define OP(name, ...) &&L_##name,
#include "../vm/opcodes.h"
#undef OP
    };
#endif
    vm_ctx *const X = vm->ctx;
    vm_rtfunc *f = (vm_rtfunc *)entry, *g; /* records are the VM's, mutable (counters) */
    const vm_value *argv, *capv = NULL;    /* a call's arguments and captured values */
    vm_value *N;                           /* a callee's frame */
    vm_rtfunc *const funcs = vm->funcs;
    const vm_value *const K = vm->kvals;
    vm_value *const G = vm->globals;
    const vm_native **const natives = vm->natives;
    /* Called from a native (kiln_call inside a CALLN): the new frames go
     * above the interrupted one, which the entry frame's record links to. */
    vm_value *const outer_R = X->frame;
    const uint32_t *const outer_pc = X->pc;
    vm_value *R =
        outer_R ? vm_frame_next(outer_R, vm_frame_of(outer_R)->fn) : X->stack + VM_FRAME_SLOTS;
    const uint32_t *pc = f->code, *resume = NULL; /* resume: where a polled back-edge goes */
    uint32_t ins = 0;
#ifdef KILN_OPSTATS
    uint32_t prev_op = OP_NOP;
#endif

    if (R + f->nregs > X->stack_end || X->depth == KILN_MAX_REENTRY) {
        rt_raise(vm, RT_ERR_STACK, "stack overflow");
        rt_trace_begin(vm, NULL);
        return -1;
    }
    if (outer_R)
        X->depth++;
    vm_inst *exc;
    memset(R, 0, sizeof(vm_value) * f->nregs);
    for (uint32_t i = 0; args && i < f->nparams; i++)
        R[i] = args[i];
    *vm_frame_of(R) =
        (vm_frame){f, outer_pc, VM_FRAME_ENTRY, outer_R ? (uint32_t)(R - outer_R) : 0};

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

        VM_CASE(JMP) : {
            int32_t off = INS_sJ(ins);
            if (off < 0 && (f->loops++, (X->tick += off) < 0)) {
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

        VM_CASE(NEW) : {
            PROTECT();
            vm_inst *o = vm_inst_new(vm, &vm->classes[INS_Bx(ins)]);
            if (!o)
                goto unwind;
            RA.p = o;
            VM_DISPATCH();
        }
        VM_CASE(GETF) : {
            vm_inst *o = RB.p;
            if (!o) {
                raise_null_member(vm, f, INS_B(ins), INS_C(ins), false);
                goto unwind;
            }
            RA = o->fields[INS_C(ins)];
            VM_DISPATCH();
        }
        VM_CASE(SETF) : {
            vm_inst *o = RB.p;
            if (!o) {
                raise_null_member(vm, f, INS_B(ins), INS_C(ins), false);
                goto unwind;
            }
            o->fields[INS_C(ins)] = RA;
            gc_barrier(&vm->heap, &o->obj, VM_T_ISREF(f->def->types[INS_A(ins)]) ? RA.p : NULL);
            VM_DISPATCH();
        }
        VM_CASE(IS) : {
            RA.i = is_instance(RB.p, &vm->classes[pc[0]]);
            SKIP_X();
            VM_DISPATCH();
        }
        VM_CASE(AS) : {
            const vm_rtclass *want = &vm->classes[pc[0]];
            vm_inst *o = RB.p;
            if (o && !is_instance(o, want)) {
                rt_raise(vm, RT_ERR_CAST, "cannot cast %s to %s", class_name(vm, o->cls),
                         class_name(vm, want));
                goto unwind;
            }
            RA.p = o;
            SKIP_X();
            VM_DISPATCH();
        }

        VM_CASE(NEWA) : {
            int64_t n = RB.i;
            if (n < 0 || n > UINT32_MAX / 2) {
                rt_raise(vm, n < 0 ? RT_ERR_VALUE : RT_ERR_OOM, "array length %lld %s",
                         (long long)n, n < 0 ? "is negative" : "is too large");
                goto unwind;
            }
            PROTECT();
            vm_array *a = vm_array_new(vm, (uint32_t)n, (uint32_t)n,
                                       VM_T_ISREF(vm_elem_of(&vm->img, pc[0])));
            if (!a)
                goto unwind;
            RA.p = a;
            SKIP_X();
            VM_DISPATCH();
        }
        VM_CASE(APUSH) : {
            vm_array *a = RA.p;
            if (!a) {
                rt_raise(vm, RT_ERR_NULL, "push on a null array");
                goto unwind;
            }
            PROTECT();
            if (!vm_array_push(vm, a, RB))
                goto unwind;
            VM_DISPATCH();
        }
        VM_CASE(AFILL) : {
            vm_array *a = RA.p;
            if (!a) /* only a hand-made image gets here */
                VM_DISPATCH();
            for (uint32_t i = 0; i < a->len; i++)
                a->buf->items[i] = RB;
            gc_barrier(&vm->heap, &a->obj, a->refs ? RB.p : NULL); /* one for all: gc.h */
            VM_DISPATCH();
        }
        VM_CASE(AGET) : {
            vm_array *a = RB.p;
            int64_t i = RC.i;
            if (!a || (uint64_t)i >= a->len) {
                raise_index(vm, a, i);
                goto unwind;
            }
            RA = a->buf->items[i];
            VM_DISPATCH();
        }
        VM_CASE(ASET) : {
            vm_array *a = RB.p;
            int64_t i = RC.i;
            if (!a || (uint64_t)i >= a->len) {
                raise_index(vm, a, i);
                goto unwind;
            }
            a->buf->items[i] = RA;
            gc_barrier(&vm->heap, &a->obj, a->refs ? RA.p : NULL);
            VM_DISPATCH();
        }
        VM_CASE(ALEN) : {
            vm_array *a = RB.p;
            if (!a) {
                rt_raise(vm, RT_ERR_NULL, "len() of a null array");
                goto unwind;
            }
            RA.i = a->len;
            VM_DISPATCH();
        }
        VM_CASE(APOP) : {
            vm_array *a = RB.p;
            if (!a || a->len == 0) {
                rt_raise(vm, a ? RT_ERR_INDEX : RT_ERR_NULL, "pop from %s array",
                         a ? "an empty" : "a null");
                goto unwind;
            }
            RA = a->buf->items[--a->len];
            a->buf->items[a->len].u = 0; /* drop the reference for the GC */
            VM_DISPATCH();
        }
        VM_CASE(ASLICE) : {
            vm_array *a = RB.p;
            int64_t from = RC.i, to = R[pc[0]].i;
            if (!a) {
                rt_raise(vm, RT_ERR_NULL, "slice of a null array");
                goto unwind;
            }
            if (from < 0 || to < from || to > (int64_t)a->len) {
                rt_raise(vm, RT_ERR_INDEX, "slice %lld..%lld out of range for length %u",
                         (long long)from, (long long)to, a->len);
                goto unwind;
            }
            PROTECT();
            vm_array *b = vm_array_new(vm, (uint32_t)(to - from), (uint32_t)(to - from), a->refs);
            if (!b)
                goto unwind;
            /* b is new: initializing stores, no barrier (gc.h) */
            memcpy(b->buf->items, a->buf->items + from, sizeof(vm_value) * (size_t)(to - from));
            RA.p = b;
            SKIP_X();
            VM_DISPATCH();
        }

        VM_CASE(NEWM) : {
            uint32_t key = 0, val = 0;
            vm_map_types(&vm->img, pc[0], &key, &val);
            PROTECT();
            vm_map *m = vm_map_new(vm, key == VM_T_STR, VM_T_ISREF(val));
            if (!m)
                goto unwind;
            RA.p = m;
            SKIP_X();
            VM_DISPATCH();
        }
        VM_CASE(MGET) :
        VM_CASE(MGETD) : {
            vm_map *m = RB.p;
            if (!m) {
                rt_raise(vm, RT_ERR_NULL, "indexing a null map");
                goto unwind;
            }
            int64_t e = vm_map_find(vm, m, RC);
            if (e == -2)
                goto unwind;
            if (e >= 0) {
                RA = m->vals->items[e];
            } else if (INS_OP(ins) == OP_MGETD) {
                RA = R[pc[0]];
            } else {
                raise_missing_key(vm, f, INS_B(ins), RC);
                goto unwind;
            }
            if (INS_OP(ins) == OP_MGETD)
                SKIP_X();
            VM_DISPATCH();
        }
        VM_CASE(MSET) : {
            vm_map *m = RB.p;
            if (!m) {
                rt_raise(vm, RT_ERR_NULL, "indexing a null map");
                goto unwind;
            }
            PROTECT();
            if (!vm_map_set(vm, m, RC, RA))
                goto unwind;
            VM_DISPATCH();
        }
        VM_CASE(MHAS) :
        VM_CASE(MDEL) : {
            vm_map *m = RB.p;
            if (!m) {
                rt_raise(vm, RT_ERR_NULL, "%s on a null map", INS_OP(ins) == OP_MHAS ? "has" : "remove");
                goto unwind;
            }
            if (INS_OP(ins) == OP_MDEL) {
                if (!vm_map_remove(vm, m, RC))
                    goto unwind;
            } else {
                int64_t e = vm_map_find(vm, m, RC);
                if (e == -2)
                    goto unwind;
                RA.i = e >= 0;
            }
            VM_DISPATCH();
        }
        VM_CASE(MLEN) : {
            vm_map *m = RB.p;
            if (!m) {
                rt_raise(vm, RT_ERR_NULL, "len() of a null map");
                goto unwind;
            }
            RA.i = m->count;
            VM_DISPATCH();
        }
        VM_CASE(MKEYS) : {
            vm_map *m = RB.p;
            if (!m) {
                rt_raise(vm, RT_ERR_NULL, "keys() of a null map");
                goto unwind;
            }
            PROTECT();
            vm_array *a = vm_array_new(vm, 0, m->count, m->key_str);
            if (!a)
                goto unwind;
            /* a is new: initializing stores, no barrier (gc.h) */
            for (uint32_t e = 0; e < m->used; e++)
                if (m->hashes->items[e].u != VM_MAP_HOLE)
                    a->buf->items[a->len++] = m->keys->items[e];
            RA.p = a;
            VM_DISPATCH();
        }
        VM_CASE(MNEXT) : {
            vm_map *m = RB.p;
            if (!m) {
                rt_raise(vm, RT_ERR_NULL, "iterating a null map");
                goto unwind;
            }
            int64_t e = RC.i < 0 ? 0 : RC.i;
            while (e < m->used && m->hashes->items[e].u == VM_MAP_HOLE)
                e++;
            RC.i = e;
            RA.i = e < m->used;
            VM_DISPATCH();
        }
        VM_CASE(MKEYAT) :
        VM_CASE(MVALAT) : {
            vm_map *m = RB.p;
            int64_t e = RC.i;
            if (!m || e < 0 || e >= m->used) { /* only a hand-made image gets here */
                rt_raise(vm, RT_ERR_INDEX, "map entry %lld out of range", (long long)e);
                goto unwind;
            }
            RA = INS_OP(ins) == OP_MKEYAT ? m->keys->items[e] : m->vals->items[e];
            VM_DISPATCH();
        }

        VM_CASE(FNEW) : {
            g = &funcs[pc[0]];
            pc++;
            vm_closure **cached = g->ncaps ? NULL : &g->fnval;
            if (cached && *cached) {
                RA.p = *cached;
                VM_DISPATCH();
            }
            PROTECT();
            vm_closure *c = vm_closure_new(vm, g, R + INS_B(ins));
            if (!c)
                goto unwind;
            if (cached)
                *cached = c;
            RA.p = c;
            VM_DISPATCH();
        }
        VM_CASE(NEWCELL) : {
            PROTECT();
            vm_cell *c = vm_cell_new(vm, VM_T_ISREF(f->def->types[INS_B(ins)]), RB);
            if (!c)
                goto unwind;
            RA.p = c;
            VM_DISPATCH();
        }
        VM_CASE(GETCELL) : {
            vm_cell *c = RB.p;
            if (!c) { /* only a hand-made image gets here */
                rt_raise(vm, RT_ERR_NULL, "reading an uninitialized cell");
                goto unwind;
            }
            RA = c->v;
            VM_DISPATCH();
        }
        VM_CASE(SETCELL) : {
            vm_cell *c = RB.p;
            if (!c) {
                rt_raise(vm, RT_ERR_NULL, "writing an uninitialized cell");
                goto unwind;
            }
            c->v = RA;
            gc_barrier(&vm->heap, &c->obj, c->ref ? RA.p : NULL);
            VM_DISPATCH();
        }
        /* Packed calls name each argument's register, so arguments
         * already in registers (locals, self) need no MOV into a block;
         * they are copied with straight-line stores, the unused ones
         * landing in registers that `enter` zeroes (or in the stack's
         * slack). */
        VM_CASE(CALLVP) : {
            vm_inst *o = RB.p;
            if (!o) {
                raise_null_member(vm, f, INS_B(ins), 0, true);
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
                rt_raise(vm, RT_ERR_NULL, "calling a null function value");
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
                raise_null_member(vm, f, INS_B(ins), 0, true);
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
            g->calls++;
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
            R = N;
            f = g;
            pc = g->code;
            VM_DISPATCH();
        call_overflow:
            pc++;
            rt_raise(vm, RT_ERR_STACK, "stack overflow (call depth limit reached)");
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
            if (fr->dest == VM_FRAME_ENTRY) {
                *result = v;
                LEAVE();
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
            if (fr->dest == VM_FRAME_ENTRY) {
                result->u = 0;
                LEAVE();
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
            rt_raise(vm, RT_ERR_ERROR, "internal error: reached unreachable code");
            goto unwind;
        }
    }

    /* clang-format on */
poll: /* at a back-edge: fuel, interrupts */
    PROTECT();
    if (!vm_poll(vm)) {
        pc = resume;
        VM_DISPATCH();
    }
unwind:
    if (X->err_kind == RT_EXIT) { /* the guest called os.exit: it ends here */
        LEAVE();
        return -2;
    }
    /* A fault raised with rt_raise becomes an object of its built-in
     * class (allocating: the frames are published first). */
    PROTECT();
    exc = rt_error_object(vm);
throw_exc : {
    /* Frame by frame from the thrower out to the entry frame, the
     * innermost catch clause that covers the pc and takes the error's
     * class. The search pops nothing, so an uncaught error's trace starts
     * at the throw. */
    vm_frame_iter it = vm_frames_from(R, pc);
    do {
        const vm_handler *h =
            exc ? find_handler(vm, it.fn->def, vm_frame_at(it.fn, it.pc), exc) : NULL;
        if (h) {
            R = it.R;
            f = it.fn;
            pc = f->code + h->handler;
            R[h->reg].p = exc;
            X->err_kind = RT_ERR_NONE;
            VM_DISPATCH();
        }
    } while (exc && step_to_entry(&it));
    build_trace(vm, R, pc, exc);
    X->pending = exc; /* for a native that called in: it may pass the error on */
    LEAVE();
    return -1;
}
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
#undef LEAVE
#undef JUMP_X
#undef SKIP_X
