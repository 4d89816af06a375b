/*
 * vm_verify.c — the bytecode verifier.
 *
 * One linear pass per function, driven by the operand roles of opcodes.h:
 * every register operand exists and has the type its role demands, every
 * constant, global, function and native index exists and matches, every
 * call passes arguments of the callee's parameter types and takes a result
 * of its result type, every return matches the function's result type, and
 * every jump lands on the start of an instruction of the same function.
 * Jump targets are checked after the pass, once all instruction starts are
 * known. Code must end in an instruction that does not fall through.
 *
 * Because registers never change type (docs/architecture.md, "Typed registers"), these
 * checks are all the interpreter needs: a verified program cannot read a
 * register as the wrong type, so the interpreter checks no types at run time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

typedef struct verifier {
    const vm_image *im;
    const vm_func *f;
    uint32_t pc;
    char *err;
    size_t errlen;
    bool failed;
} verifier;

static void vfail(verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vfail(verifier *v, const char *fmt, ...)
{
    if (v->failed)
        return;
    v->failed = true;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (v->f)
        snprintf(v->err, v->errlen, "invalid image: %s at %s:%u", what,
                 vm_image_str(v->im, v->f->name), v->pc);
    else /* the image's tables, before any code */
        snprintf(v->err, v->errlen, "invalid image: %s", what);
}

static bool reg_ok(verifier *v, uint32_t r, const char *which)
{
    if (r >= v->f->nregs) {
        vfail(v, "operand %s register %u out of range (function has %u)", which, r, v->f->nregs);
        return false;
    }
    return true;
}

static void reg_type(verifier *v, uint32_t r, int type, const char *which)
{
    if (reg_ok(v, r, which) && v->f->types[r] != type)
        vfail(v, "operand %s register %u is %s, expected %s", which, r,
              vm_type_str(v->im, v->f->types[r]), vm_type_str(v->im, type));
}

/* Register r must accept (direction 0) or provide (1) a value of `type`. */
static void reg_flow(verifier *v, uint32_t r, uint32_t type, bool provides, const char *which)
{
    if (!reg_ok(v, r, which))
        return;
    uint32_t rt = v->f->types[r];
    if (provides ? !vm_assignable(v->im, rt, type) : !vm_assignable(v->im, type, rt))
        vfail(v, "operand %s register %u is %s, %s %s", which, r, vm_type_str(v->im, rt),
              provides ? "cannot be stored as" : "cannot hold", vm_type_str(v->im, type));
}

/* The class of register r's type, or NULL after failing. */
static const vm_class *reg_class(verifier *v, uint32_t r, const char *which)
{
    if (!reg_ok(v, r, which))
        return NULL;
    const vm_class *c = vm_class_of(v->im, v->f->types[r]);
    if (!c)
        vfail(v, "operand %s register %u is %s, expected an object", which, r,
              vm_type_str(v->im, v->f->types[r]));
    return c;
}

/* The call at v->pc passes registers args.. (or, for a packed call, the
 * registers regs[0..]) to a callee with these parameters (param(ctx, i))
 * and result, and stores the result in dest. */
static void check_call_regs(verifier *v, uint32_t dest, uint32_t args, const uint32_t *regs,
                            uint32_t (*param)(const void *, uint32_t), const void *ctx,
                            uint32_t nparams, uint32_t ret)
{
    for (uint32_t i = 0; i < nparams && !v->failed; i++) {
        uint32_t r = regs ? regs[i] : args + i;
        if (r >= v->f->nregs) {
            vfail(v, "call argument %u register %u out of range", i + 1, r);
            return;
        }
        uint32_t want = param(ctx, i);
        if (!vm_assignable(v->im, v->f->types[r], want))
            vfail(v, "call argument %u is %s, expected %s", i + 1,
                  vm_type_str(v->im, v->f->types[r]), vm_type_str(v->im, want));
    }
    if (ret == VM_T_VOID) {
        if (dest != 0)
            vfail(v, "call of a function without result names result register %u", dest);
    } else {
        reg_flow(v, dest, ret, false, "result");
    }
}

static void check_call(verifier *v, uint32_t dest, uint32_t args,
                       uint32_t (*param)(const void *, uint32_t), const void *ctx, uint32_t nparams,
                       uint32_t ret)
{
    check_call_regs(v, dest, args, NULL, param, ctx, nparams, ret);
}

static uint32_t func_param(const void *f, uint32_t i)
{
    return ((const vm_func *)f)->types[i];
}
static uint32_t type_param(const void *t, uint32_t i)
{
    return ((const vm_type *)t)->params[i];
}

/* The function type of register r, or NULL after failing. */
static const vm_type *reg_fn(verifier *v, uint32_t r, const char *which)
{
    if (!reg_ok(v, r, which))
        return NULL;
    const vm_type *t = vm_fn_type(v->im, v->f->types[r]);
    if (!t)
        vfail(v, "operand %s register %u is %s, expected a function", which, r,
              vm_type_str(v->im, v->f->types[r]));
    return t;
}

/* The content type of register r's cell type, or -1 after failing. */
static int reg_cell(verifier *v, uint32_t r, const char *which)
{
    if (!reg_ok(v, r, which))
        return -1;
    int c = vm_cell_of(v->im, v->f->types[r]);
    if (c < 0)
        vfail(v, "operand %s register %u is %s, expected a cell", which, r,
              vm_type_str(v->im, v->f->types[r]));
    return c;
}

/* FNEW: function g becomes a value of A's function type (the same
 * parameter and result types), capturing R[B], R[B+1], ... */
static void check_fnew(verifier *v, uint32_t fi, uint32_t ins_a, uint32_t ins_b)
{
    const vm_image *im = v->im;
    if (fi >= im->nfuncs) {
        vfail(v, "function index %u out of range (image has %u)", fi, im->nfuncs);
        return;
    }
    const vm_func *g = &im->funcs[fi];
    const vm_type *t = ins_a < v->f->nregs ? vm_fn_type(im, v->f->types[ins_a]) : NULL;
    if (!t)
        return; /* A's own check fails */
    bool same = VM_FN_NPARAMS(t->a) == g->nparams && VM_FN_RET(t->a) == g->ret;
    for (uint32_t i = 0; same && i < g->nparams; i++)
        same = t->params[i] == g->types[i];
    if (!same) {
        vfail(v, "function %u does not have the signature of register %u's type", fi, ins_a);
        return;
    }
    if (g->ncaps == 0 && ins_b != 0)
        vfail(v, "unused operand B is %u, expected 0 (function %u captures nothing)", ins_b, fi);
    for (uint32_t i = 0; i < g->ncaps && !v->failed; i++) {
        if (ins_b + i >= v->f->nregs) {
            vfail(v, "capture %u register %u out of range", i + 1, ins_b + i);
            return;
        }
        uint32_t want = g->types[g->nparams + i];
        if (!vm_assignable(im, v->f->types[ins_b + i], want))
            vfail(v, "capture %u is %s, expected %s", i + 1,
                  vm_type_str(im, v->f->types[ins_b + i]), vm_type_str(im, want));
    }
}
static uint32_t native_param(const void *n, uint32_t i)
{
    return ((const vm_nativeref *)n)->params[i];
}

/* The map roles: B is the map register (RP); the others relate A, C or X
 * to its key and value types. */
static void check_map_operand(verifier *v, int role, uint32_t val, uint32_t ins_a, uint32_t ins_b,
                              const char *which)
{
    const vm_image *im = v->im;
    const vm_func *f = v->f;
    uint32_t key, mval;
    uint32_t map = role == ROLE_RP ? val : ins_b;
    if (!reg_ok(v, map, role == ROLE_RP ? which : "B"))
        return;
    if (!vm_map_types(im, f->types[map], &key, &mval)) {
        if (role == ROLE_RP)
            vfail(v, "operand %s register %u is %s, expected a map", which, val,
                  vm_type_str(im, f->types[val]));
        return; /* B's own check reports it */
    }
    switch (role) {
    case ROLE_KY: reg_type(v, val, key, which); break;
    case ROLE_MK:
        reg_type(v, val, key, which);
        reg_flow(v, ins_a, mval, false, "A");
        break;
    case ROLE_MW:
        reg_type(v, val, key, which);
        reg_flow(v, ins_a, mval, true, "A");
        break;
    case ROLE_MV: reg_flow(v, val, mval, true, which); break;
    case ROLE_KR: reg_flow(v, val, key, false, which); break;
    case ROLE_VR: reg_flow(v, val, mval, false, which); break;
    case ROLE_KS:
        if (reg_ok(v, val, which) && vm_elem_of(im, f->types[val]) != (int)key)
            vfail(v, "operand %s register %u is %s, expected an array of the map's keys", which,
                  val, vm_type_str(im, f->types[val]));
        break;
    default: break;
    }
}

/* CALLP: function fi takes at most two parameters, from registers B and C;
 * an operand past the last parameter is 0. */
static void check_packed_call(verifier *v, uint32_t fi, uint32_t ins_a, uint32_t ins_b,
                              uint32_t ins_c)
{
    const vm_image *im = v->im;
    if (fi >= im->nfuncs) {
        vfail(v, "function index %u out of range (image has %u)", fi, im->nfuncs);
        return;
    }
    const vm_func *g = &im->funcs[fi];
    uint32_t regs[2] = {ins_b, ins_c};
    if (g->ncaps)
        vfail(v, "direct call of function %u, which captures values", fi);
    else if (g->nparams > 2)
        vfail(v, "packed call of function %u, which has %u parameters (at most 2)", fi, g->nparams);
    else if (g->nparams < 2 && regs[1])
        vfail(v, "unused operand C is %u, expected 0", regs[1]);
    else if (g->nparams < 1 && regs[0])
        vfail(v, "unused operand B is %u, expected 0", regs[0]);
    else
        check_call_regs(v, ins_a, 0, regs, func_param, g, g->nparams, g->ret);
}

/* CALLVP: method slot `slot` of B's class, receiving R[B] and the
 * registers packed in x, a byte each; the bytes past the last are 0. */
static void check_packed_method_call(verifier *v, uint32_t x, uint32_t ins_a, uint32_t ins_b,
                                     uint32_t slot)
{
    const vm_image *im = v->im;
    const vm_class *c = reg_class(v, ins_b, "B");
    if (!c)
        return;
    if (slot >= c->nslots) {
        vfail(v, "method slot %u out of range (class %s has %u)", slot, vm_image_str(im, c->name),
              c->nslots);
        return;
    }
    const vm_func *g = &im->funcs[c->slots[slot]];                  /* checked by check_classes */
    uint32_t regs[5] = {ins_b, 0, 0, 0, 0}, more = g->nparams - 1u; /* besides the receiver */
    if (g->nparams < 1 || more > 4) {
        vfail(v, "packed method call of a method with %u parameters (1 to 5)", g->nparams);
        return;
    }
    for (uint32_t i = 0; i < more; i++)
        regs[i + 1] = (x >> (8 * i)) & 0xffu;
    if (more < 4 && x >> (8 * more))
        vfail(v,
              "packed arguments 0x%08x name more than the %u the method takes besides the receiver",
              x, more);
    else
        check_call_regs(v, ins_a, 0, regs, func_param, g, g->nparams, g->ret);
}

static void check_operand(verifier *v, int role, uint32_t val, uint32_t prev, uint32_t ins_a,
                          uint32_t ins_b, uint32_t ins_c, const char *which)
{
    const vm_image *im = v->im;
    const vm_func *f = v->f;
    switch (role) {
    case ROLE___:
        if (val != 0)
            vfail(v, "unused operand %s is %u, expected 0", which, val);
        break;
    case ROLE_RI: reg_type(v, val, VM_T_INT, which); break;
    case ROLE_RF: reg_type(v, val, VM_T_FLOAT, which); break;
    case ROLE_RB: reg_type(v, val, VM_T_BOOL, which); break;
    case ROLE_RS: reg_type(v, val, VM_T_STR, which); break;
    case ROLE_RR:
        if (reg_ok(v, val, which) && !VM_T_ISREF(f->types[val]))
            vfail(v, "operand %s register %u is %s, expected a reference", which, val,
                  vm_type_str(im, f->types[val]));
        break;
    case ROLE_RA: reg_ok(v, val, which); break;
    case ROLE_RM: /* its value may be stored in the operand before it */
        if (prev < f->nregs)
            reg_flow(v, val, f->types[prev], true, which);
        break;
    case ROLE_RO: reg_class(v, val, which); break;
    case ROLE_RX: {
        int e = vm_error_class(im);
        if (e < 0)
            vfail(v, "throw in an image without the class Error");
        else
            reg_flow(v, val, im->classes[e].type, true, which);
        break;
    }
    case ROLE_RY:
        if (reg_ok(v, val, which) && vm_elem_of(im, f->types[val]) < 0)
            vfail(v, "operand %s register %u is %s, expected an array", which, val,
                  vm_type_str(im, f->types[val]));
        break;
    case ROLE_AT:
        if (vm_elem_of(im, val) < 0)
            vfail(v, "type %u is not an array type", val);
        else
            reg_type(v, ins_a, val, "A");
        break;
    case ROLE_EG:
    case ROLE_ES:
    case ROLE_EP: { /* A is the value, B the array, C the index (APOP: none) */
        int e = ins_b < f->nregs ? vm_elem_of(im, f->types[ins_b]) : -1;
        if (e >= 0)
            reg_flow(v, ins_a, (uint32_t)e, role == ROLE_ES, "A");
        if (role != ROLE_EP)
            reg_type(v, val, VM_T_INT, which);
        else if (val != 0)
            vfail(v, "unused operand %s is %u, expected 0", which, val);
        break;
    }
    case ROLE_RP:
    case ROLE_KY:
    case ROLE_MK:
    case ROLE_MW:
    case ROLE_MV:
    case ROLE_KR:
    case ROLE_VR:
    case ROLE_KS: check_map_operand(v, role, val, ins_a, ins_b, which); break;
    case ROLE_MT: {
        uint32_t k, mv;
        if (!vm_map_types(im, val, &k, &mv))
            vfail(v, "type %u is not a map type", val);
        else
            reg_type(v, ins_a, val, "A");
        break;
    }
    case ROLE_EV: { /* A is the array, B the value */
        int e = ins_a < f->nregs ? vm_elem_of(im, f->types[ins_a]) : -1;
        if (e >= 0)
            reg_flow(v, val, (uint32_t)e, true, which);
        break;
    }
    case ROLE_IM: break;
    case ROLE_IB:
        if (val > 1)
            vfail(v, "bool immediate %u is not 0 or 1", val);
        break;
    case ROLE_JO: break; /* checked once all instruction starts are known */
    case ROLE_KA:
        if (val >= im->nconsts)
            vfail(v, "constant index %u out of range (image has %u)", val, im->nconsts);
        else if (ins_a < f->nregs && im->consts[val].type != f->types[ins_a])
            vfail(v, "constant %u is %s, register %u is %s", val,
                  vm_type_name(im->consts[val].type), ins_a, vm_type_str(im, f->types[ins_a]));
        break;
    case ROLE_KF:
        if (val >= im->nconsts)
            vfail(v, "constant index %u out of range (image has %u)", val, im->nconsts);
        else if (im->consts[val].type != VM_T_FLOAT)
            vfail(v, "constant %u is %s, expected float", val, vm_type_name(im->consts[val].type));
        break;
    case ROLE_GR:
    case ROLE_GW:
    case ROLE_GI:
        if (val >= im->nglobals)
            vfail(v, "global index %u out of range (image has %u)", val, im->nglobals);
        else if (role != ROLE_GI && ins_a < f->nregs)
            reg_flow(v, ins_a, im->globals[val].type, role == ROLE_GW, "A");
        break;
    case ROLE_CA:
    case ROLE_CL:
        if (val >= im->nclasses)
            vfail(v, "class index %u out of range (image has %u)", val, im->nclasses);
        else if (role == ROLE_CA)
            reg_type(v, ins_a, im->classes[val].type, "A");
        break;
    case ROLE_FG:
    case ROLE_FS: {
        const vm_class *c = ins_b < f->nregs ? vm_class_of(im, f->types[ins_b]) : NULL;
        if (!c)
            break; /* B's own check fails */
        if (val >= c->nfields)
            vfail(v, "field %u out of range (class %s has %u)", val, vm_image_str(im, c->name),
                  c->nfields);
        else
            reg_flow(v, ins_a, c->field_types[val], role == ROLE_FS, "A");
        break;
    }
    case ROLE_SL: {
        const vm_class *c = reg_class(v, ins_b, "B");
        if (!c)
            break;
        if (val >= c->nslots) {
            vfail(v, "method slot %u out of range (class %s has %u)", val,
                  vm_image_str(im, c->name), c->nslots);
            break;
        }
        const vm_func *g = &im->funcs[c->slots[val]]; /* checked by check_classes */
        check_call(v, ins_a, ins_b, func_param, g, g->nparams, g->ret);
        break;
    }
    case ROLE_FN:
        if (val >= im->nfuncs) {
            vfail(v, "function index %u out of range (image has %u)", val, im->nfuncs);
        } else {
            const vm_func *g = &im->funcs[val];
            if (g->ncaps)
                vfail(v, "direct call of function %u, which captures values", val);
            else
                check_call(v, ins_a, ins_b, func_param, g, g->nparams, g->ret);
        }
        break;
    case ROLE_NT:
        if (val >= im->nnatives) {
            vfail(v, "native index %u out of range (image has %u)", val, im->nnatives);
        } else {
            const vm_nativeref *n = &im->natives[val];
            check_call(v, ins_a, ins_b, native_param, n, n->nparams, n->ret);
        }
        break;
    case ROLE_RT:
        if (f->ret == VM_T_VOID)
            vfail(v, "return of a value from a function without result");
        else
            reg_flow(v, val, f->ret, true, which);
        break;
    case ROLE_RV:
        if (f->ret != VM_T_VOID)
            vfail(v, "return without a value from a function returning %s",
                  vm_type_str(im, f->ret));
        else if (val != 0)
            vfail(v, "unused operand %s is %u, expected 0", which, val);
        break;
    case ROLE_RD:
    case ROLE_AR:
    case ROLE_CP:
    case ROLE_PR:
    case ROLE_SV: break; /* checked with FN / NT / FC / FP / VP */
    case ROLE_FP: check_packed_call(v, val, ins_a, ins_b, ins_c); break;
    case ROLE_VP: check_packed_method_call(v, val, ins_a, ins_b, ins_c); break;
    case ROLE_RN: reg_fn(v, val, which); break;
    case ROLE_FC: check_fnew(v, val, ins_a, ins_b); break;
    case ROLE_FV: {
        const vm_type *t = reg_fn(v, val, which);
        if (t)
            check_call(v, ins_a, val + 1, type_param, t, VM_FN_NPARAMS(t->a), VM_FN_RET(t->a));
        break;
    }
    case ROLE_FT:
        if (!vm_fn_type(im, val))
            vfail(v, "type %u is not a function type", val);
        else
            reg_type(v, ins_b, val, "B");
        break;
    case ROLE_CE: reg_cell(v, val, which); break;
    case ROLE_CV: { /* A is the cell, B the value */
        int c = ins_a < f->nregs ? vm_cell_of(im, f->types[ins_a]) : -1;
        if (c >= 0)
            reg_flow(v, val, (uint32_t)c, true, which);
        break;
    }
    case ROLE_CG:
    case ROLE_CS: { /* A is the value, B the cell */
        int c = reg_cell(v, val, which);
        if (c >= 0)
            reg_flow(v, ins_a, (uint32_t)c, role == ROLE_CS, "A");
        break;
    }
    default: vfail(v, "internal: unknown operand role %d", role);
    }
}

static void verify_func(verifier *v)
{
    const vm_func *f = v->f;
    static const char *const WHICH[4] = {"A", "B", "C", "X"};
    v->pc = 0;
    if (f->ncode == 0) {
        vfail(v, "function has no code");
        return;
    }
    uint8_t *start = calloc(f->ncode, 1);
    uint32_t *jumps = calloc(f->ncode, sizeof(uint32_t)); /* pc of each jump */
    int64_t *targets = calloc(f->ncode, sizeof(int64_t));
    uint32_t njumps = 0, last_op = OP_NOP;
    if (!start || !jumps || !targets) {
        vfail(v, "out of memory");
        goto done;
    }
    for (uint32_t pc = 0; pc < f->ncode && !v->failed;) {
        v->pc = pc;
        uint32_t op = INS_OP(f->code[pc]);
        if (op >= OP__COUNT) {
            vfail(v, "unknown opcode %u", op);
            break;
        }
        uint32_t words = VM_INS_WORDS(op);
        if (pc + words > f->ncode) {
            vfail(v, "instruction %s runs past the end of the code", vm_ops[op].name);
            break;
        }
        start[pc] = 1;
        uint32_t vals[4];
        vm_ins_operands(op, &f->code[pc], vals);
        for (int i = 0; i < 4 && !v->failed; i++) {
            int role = vm_ops[op].role[i];
            check_operand(v, role, vals[i], i ? vals[i - 1] : 0, vals[0], vals[1], vals[2],
                          WHICH[i]);
            if (role == ROLE_JO) {
                jumps[njumps] = pc;
                targets[njumps++] = (int64_t)pc + words + (int32_t)vals[i];
            }
        }
        last_op = op;
        pc += words;
    }
    for (uint32_t i = 0; i < njumps && !v->failed; i++) {
        int64_t t = targets[i];
        v->pc = jumps[i];
        if (t < 0 || t >= f->ncode || !start[t])
            vfail(v, "jump target %lld is not an instruction of the function", (long long)t);
    }
    /* Catch clauses: ranges inside the code, handlers at instruction
     * starts, and a register that can hold what the clause catches. */
    int err_class = vm_error_class(v->im);
    for (uint32_t i = 0; i < f->nhandlers && !v->failed; i++) {
        const vm_handler *h = &f->handlers[i];
        v->pc = h->handler < f->ncode ? h->handler : 0;
        if (h->start > h->end || h->end > f->ncode || h->handler >= f->ncode || !start[h->handler])
            vfail(v, "catch clause %u has a bad range or handler", i);
        else if (h->cls != VM_CATCH_ALL && h->cls >= v->im->nclasses)
            vfail(v, "catch clause %u names class %u, out of range", i, h->cls);
        else if (err_class < 0)
            vfail(v, "catch clause in an image without the class Error");
        else
            reg_flow(v, h->reg,
                     v->im->classes[h->cls == VM_CATCH_ALL ? (uint32_t)err_class : h->cls].type,
                     false, "catch");
    }
    if (!v->failed && !(vm_ops[last_op].flags & OPF_TERM)) {
        v->pc = f->ncode - VM_INS_WORDS(last_op);
        vfail(v, "code falls off the end of the function");
    }
done:
    free(start);
    free(jumps);
    free(targets);
}

/* The type table and the classes, before any code: the code's checks
 * rely on them (slots name real functions, supers come first). Errors
 * name the class as "class NAME". */
static void cfail(verifier *v, const vm_class *c, const char *what, uint32_t n)
{
    if (v->failed)
        return;
    v->failed = true;
    snprintf(v->err, v->errlen, "invalid image: %s %u at class %s", what, n,
             vm_image_str(v->im, c->name));
}

static bool same_signature(const vm_func *a, const vm_func *b)
{
    if (a->nparams != b->nparams || a->ret != b->ret)
        return false;
    for (uint32_t i = 1; i < a->nparams; i++) /* parameter 0 is self */
        if (a->types[i] != b->types[i])
            return false;
    return true;
}

/* An enum's shape, which the embedding API relies on to make and read
 * its values: a root class whose field 0 is the tag (an int, the
 * variant's number), then each variant's payload in turn, up to the
 * last field. */
static void check_enum(verifier *v, const vm_class *c)
{
    if (c->super != -1)
        return cfail(v, c, "an enum has a superclass: class", (uint32_t)c->super);
    if (c->nfields < 1 || c->field_types[0] != VM_T_INT)
        return cfail(v, c, "an enum's field 0 (its tag) is not an int: fields", c->nfields);
    uint32_t at = 1;
    for (uint32_t j = 0; j < c->nvariants; j++) {
        const vm_variant *var = &c->variants[j];
        if (var->first != at || (uint32_t)var->first + var->n > c->nfields)
            return cfail(v, c,
                         "a variant's payload is not the fields after the last one's: variant", j);
        at += var->n;
    }
    if (at != c->nfields)
        return cfail(v, c, "an enum has fields past its variants' payloads: fields", c->nfields);
}

static void check_class(verifier *v, uint32_t ci)
{
    const vm_image *im = v->im;
    const vm_class *c = &im->classes[ci];
    const vm_class *sup = c->super >= 0 && (uint32_t)c->super < ci ? &im->classes[c->super] : NULL;
    if (c->super != -1 && !sup)
        return cfail(v, c, "superclass index must be below its own, got", (uint32_t)c->super);
    if (vm_class_of(im, c->type) != c)
        return cfail(v, c, "type id does not name this class:", c->type);
    if (sup && c->nfields < sup->nfields)
        return cfail(v, c, "has fewer fields than its superclass:", c->nfields);
    if (sup && c->nslots < sup->nslots)
        return cfail(v, c, "has fewer method slots than its superclass:", c->nslots);
    for (uint32_t j = 0; sup && j < sup->nfields; j++)
        if (c->field_types[j] != sup->field_types[j])
            return cfail(v, c, "field differs from its superclass's: field", j);
    /* The runtime reads an error's message as field 0 of a string type
     * (traces, kiln_error): Error's shape, and so its subclasses'. */
    if ((int)ci == vm_error_class(im) && (c->nfields < 1 || c->field_types[0] != VM_T_STR))
        return cfail(v, c, "the class Error must have message: str as field 0: fields", c->nfields);
    if (c->module >= im->nmodules)
        return cfail(v, c, "module index out of range:", c->module);
    if (c->nvariants)
        check_enum(v, c);
    if (c->nslots == 0)
        return cfail(v, c, "has no to_str slot: slots", 0);
    for (uint32_t j = 0; j < c->nslots; j++) {
        if (c->slots[j] >= im->nfuncs)
            return cfail(v, c, "slot names no function: slot", j);
        const vm_func *m = &im->funcs[c->slots[j]];
        if (m->ncaps)
            return cfail(v, c, "method captures values: slot", j);
        if (m->nparams < 1 || !vm_assignable(im, c->type, m->types[0]))
            return cfail(v, c, "method does not take this class as self: slot", j);
        if (j == 0 && (m->nparams != 1 || m->ret != VM_T_STR))
            return cfail(v, c, "slot 0 is not to_str() -> str: slot", j);
        if (sup && j < sup->nslots && !same_signature(m, &im->funcs[sup->slots[j]]))
            return cfail(v, c, "override changes the signature: slot", j);
    }
}

/* A map's key type: int, bool, str, or a class (keys compared field by
 * field, vm_map.c) whose type comes before the map's (entry i). */
static bool map_key_type(const vm_image *im, uint32_t key, uint32_t i)
{
    if (key == VM_T_INT || key == VM_T_BOOL || key == VM_T_STR)
        return true;
    return key >= VM_T__COUNT && key < i + VM_T__COUNT &&
           im->types[key - VM_T__COUNT].kind == VM_K_CLASS;
}

static void check_types(verifier *v)
{
    const vm_image *im = v->im;
    for (uint32_t i = 0; i < im->ntypes && !v->failed; i++) {
        const vm_type *t = &im->types[i];
        if (t->kind == VM_K_CLASS && t->a >= im->nclasses) {
            v->failed = true;
            snprintf(v->err, v->errlen, "invalid image: type %u names class %u, out of range",
                     i + VM_T__COUNT, t->a);
        } else if (t->kind == VM_K_MAP &&
                   (!map_key_type(im, VM_MAP_KEY(t->a), i) || VM_MAP_VAL(t->a) == VM_T_VOID ||
                    VM_MAP_VAL(t->a) >= i + VM_T__COUNT)) {
            v->failed = true;
            snprintf(v->err, v->errlen, "invalid image: map type %u has key %u, value %u",
                     i + VM_T__COUNT, VM_MAP_KEY(t->a), VM_MAP_VAL(t->a));
        } else if (t->kind == VM_K_ARRAY && (t->a == VM_T_VOID || t->a >= i + VM_T__COUNT)) {
            /* an element type comes before its array type: no cycles */
            v->failed = true;
            snprintf(v->err, v->errlen, "invalid image: array type %u has element type %u",
                     i + VM_T__COUNT, t->a);
        } else if (t->kind == VM_K_CELL && (t->a == VM_T_VOID || t->a >= i + VM_T__COUNT)) {
            v->failed = true;
            snprintf(v->err, v->errlen, "invalid image: cell type %u holds type %u",
                     i + VM_T__COUNT, t->a);
        } else if (t->kind == VM_K_FN) {
            /* parameter and result types come before the function type */
            bool ok = VM_FN_RET(t->a) < i + VM_T__COUNT;
            for (uint32_t j = 0; ok && j < VM_FN_NPARAMS(t->a); j++)
                ok = t->params[j] != VM_T_VOID && t->params[j] < i + VM_T__COUNT;
            if (!ok) {
                v->failed = true;
                snprintf(v->err, v->errlen,
                         "invalid image: function type %u has a bad parameter or result type",
                         i + VM_T__COUNT);
            }
        }
    }
    for (uint32_t i = 0; i < im->nclasses && !v->failed; i++)
        check_class(v, i);
}

/* ---- The FFI's tables (image.h) ---- */

/* Where C type c may appear. */
enum { AT_FIELD, AT_PARAM, AT_VARIADIC, AT_RESULT, AT_CB_PARAM, AT_CB_RESULT };

static bool ctype_ok(const vm_image *im, uint32_t c, int at);

/* Is signature g one a callback may have: fixed parameters and result of
 * scalar types (cstr and ptr included), no callbacks or structs in it? */
static bool callback_sig_ok(const vm_image *im, const vm_csig *g)
{
    if (g->nfixed != g->nparams || !ctype_ok(im, g->ret, AT_CB_RESULT))
        return false;
    for (uint32_t j = 0; j < g->nparams; j++)
        if (!ctype_ok(im, g->params[j], AT_CB_PARAM))
            return false;
    return true;
}

static bool ctype_ok(const vm_image *im, uint32_t c, int at)
{
    uint32_t k = VM_CKIND(c), idx = VM_CIDX(c);
    if (k >= VM_C__COUNT || (k < VM_C_STRUCT && idx != 0))
        return false;
    switch (at) {
    case AT_FIELD:
        return VM_C_ISINT(k) || k == VM_C_FLOAT || k == VM_C_DOUBLE || k == VM_C_BOOL ||
               k == VM_C_PTR;
    case AT_VARIADIC: /* what C's default argument promotions leave */
        return k == VM_C_INT || k == VM_C_UINT || k == VM_C_LONG || k == VM_C_ULONG ||
               k == VM_C_LONGLONG || k == VM_C_ULONGLONG || k == VM_C_I32 || k == VM_C_U32 ||
               k == VM_C_I64 || k == VM_C_U64 || k == VM_C_SIZE || k == VM_C_DOUBLE ||
               k == VM_C_CSTR || k == VM_C_PTR;
    case AT_CB_PARAM: return k > VM_C_VOID && k <= VM_C_PTR;
    case AT_CB_RESULT: return k < VM_C_CSTR;
    case AT_RESULT: return k <= VM_C_PTR || (k == VM_C_STRUCT && idx < im->ncstructs);
    default: /* AT_PARAM */
        if (k == VM_C_STRUCT || k == VM_C_STRUCTP)
            return idx < im->ncstructs;
        if (k == VM_C_FN)
            return idx < im->ncsigs && callback_sig_ok(im, &im->csigs[idx]);
        return k != VM_C_VOID;
    }
}

/* Is t the Kiln type C type c (already ctype_ok) takes and gives? */
static bool ctype_is(const vm_image *im, uint32_t c, uint32_t t)
{
    uint32_t k = VM_CKIND(c), idx = VM_CIDX(c);
    if (k == VM_C_STRUCT || k == VM_C_STRUCTP) {
        const vm_class *cls = vm_class_of(im, t);
        return cls && cls == &im->classes[im->cstructs[idx].cls];
    }
    if (k != VM_C_FN)
        return t == vm_ctype_kiln(k);
    const vm_type *ft = vm_fn_type(im, t);
    const vm_csig *g = &im->csigs[idx];
    if (!ft || VM_FN_NPARAMS(ft->a) != g->nparams || VM_FN_RET(ft->a) != vm_ctype_kiln(g->ret))
        return false;
    for (uint32_t j = 0; j < g->nparams; j++)
        if (ft->params[j] != vm_ctype_kiln(VM_CKIND(g->params[j])))
            return false;
    return true;
}

/* The C structs, signatures and extern functions: every C type is one
 * the FFI can pass where it stands, and agrees with the Kiln type the
 * guest's code sees (the class of a struct, the parameters of the
 * native that calls the function), so the FFI never reads a value as
 * another type. */
static void check_externs(verifier *v)
{
    const vm_image *im = v->im;
    for (uint32_t i = 0; i < im->ncstructs && !v->failed; i++) {
        const vm_cstruct *s = &im->cstructs[i];
        const vm_class *c = &im->classes[s->cls];
        if (c->super != -1 || c->nfields != s->nfields || s->nfields == 0)
            return vfail(v, "C struct %u does not match its class %s (%u fields, C has %u)", i,
                         vm_image_str(im, c->name), c->nfields, s->nfields);
        for (uint32_t j = 0; j < i; j++)
            if (im->cstructs[j].cls == s->cls)
                return vfail(v, "C structs %u and %u have the same class", j, i);
        for (uint32_t j = 0; j < s->nfields; j++)
            if (!ctype_ok(im, s->ctypes[j], AT_FIELD) ||
                !ctype_is(im, s->ctypes[j], c->field_types[j]))
                return vfail(v, "C struct %u field %u: C type %#x does not fit %s", i, j,
                             s->ctypes[j], vm_type_str(im, c->field_types[j]));
    }
    for (uint32_t i = 0; i < im->ncsigs && !v->failed; i++) {
        const vm_csig *g = &im->csigs[i];
        if (!ctype_ok(im, g->ret, AT_RESULT))
            return vfail(v, "C signature %u: bad result type %#x", i, g->ret);
        for (uint32_t j = 0; j < g->nparams; j++)
            if (!ctype_ok(im, g->params[j], j < g->nfixed ? AT_PARAM : AT_VARIADIC))
                return vfail(v, "C signature %u: bad parameter %u type %#x", i, j + 1,
                             g->params[j]);
    }
    for (uint32_t i = 0; i < im->nexterns && !v->failed; i++) {
        const vm_extern *e = &im->externs[i];
        const vm_nativeref *n = &im->natives[e->native];
        const vm_csig *g = &im->csigs[e->sig];
        const char *name = vm_image_str(im, n->name);
        if (n->nparams != g->nparams)
            return vfail(v, "extern %s takes %u arguments, its C signature %u", name, n->nparams,
                         g->nparams);
        for (uint32_t j = 0; j < g->nparams; j++)
            if (!ctype_is(im, g->params[j], n->params[j]))
                return vfail(v, "extern %s parameter %u is %s, C type %s", name, j + 1,
                             vm_type_str(im, n->params[j]), vm_ctype_name(VM_CKIND(g->params[j])));
        if (!ctype_is(im, g->ret, n->ret))
            return vfail(v, "extern %s returns %s, C type %s", name, vm_type_str(im, n->ret),
                         vm_ctype_name(VM_CKIND(g->ret)));
    }
}

static void check_entry_signature(verifier *v, uint32_t fi, const char *what)
{
    const vm_func *f = &v->im->funcs[fi];
    v->f = f;
    v->pc = 0;
    if (f->nparams != 0 || f->ret != VM_T_VOID || f->ncaps != 0)
        vfail(v, "%s must take no parameters, capture nothing and return nothing", what);
}

bool vm_verify(const vm_image *im, char *err, size_t errlen)
{
    verifier v = {im, NULL, 0, err, errlen, false};
    check_types(&v);
    check_externs(&v);
    for (uint32_t i = 0; i < im->nfuncs && !v.failed; i++) {
        v.f = &im->funcs[i];
        verify_func(&v);
    }
    for (uint32_t i = 0; i < im->nmodules && !v.failed; i++)
        check_entry_signature(&v, im->modules[i].init, "module initializer");
    if (!v.failed && im->main >= 0)
        check_entry_signature(&v, (uint32_t)im->main, "main");
    return !v.failed;
}
