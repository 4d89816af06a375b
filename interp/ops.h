/*
 * ops.h — the instructions both tiers run the same C code for: the ones
 * that allocate, search, or raise a guest error. The interpreter's
 * handlers call these (inlined there); compiled code calls them for the
 * instructions it does not inline and as the slow path of the ones it does
 * (a fault re-checked here raises the same error with the same message).
 *
 * Each is op_NAME(vm, f, R, ins, x): the function whose frame R runs it,
 * the instruction word and its second word x (0 for one-word forms). It
 * returns 0, or -1 after raising (rt_raise). The caller has published the
 * frame when the instruction may allocate (OPF_ALLOC).
 */
#ifndef KILN_OPS_H
#define KILN_OPS_H

#include <math.h>
#include <string.h>

#include "../runtime/rt.h"
#include "../vm/vm.h"

#define OPS_A (R[INS_A(ins)])
#define OPS_B (R[INS_B(ins)])
#define OPS_C (R[INS_C(ins)])

static inline bool ops_is_instance(const vm_inst *o, const vm_rtclass *want)
{
    for (const vm_rtclass *c = o ? o->cls : NULL; c; c = c->super)
        if (c == want)
            return true;
    return false;
}

static inline const char *ops_class_name(const kiln_vm *vm, const vm_rtclass *c)
{
    return vm_image_str(&vm->img, c->def->name);
}

/* NullError for field `field` (or method slot, if `method`) of the null
 * object in register r of f: the message names the static class. */
static inline int ops_null_member(kiln_vm *vm, const vm_rtfunc *f, uint32_t r, uint32_t member,
                                  bool method)
{
    const vm_image *im = &vm->img;
    const vm_class *c = vm_class_of(im, f->def->types[r]);
    if (method)
        rt_raise(vm, RT_ERR_NULL, "method call on a null %s", vm_image_str(im, c->name));
    else
        rt_raise(vm, RT_ERR_NULL, "field '%s' of a null %s",
                 vm_image_str(im, c->field_names[member]), vm_image_str(im, c->name));
    return -1;
}

static inline int ops_bad_index(kiln_vm *vm, const vm_array *a, int64_t i)
{
    if (!a)
        rt_raise(vm, RT_ERR_NULL, "indexing a null array");
    else
        rt_raise(vm, RT_ERR_INDEX, "index %lld out of range for length %u", (long long)i, a->len);
    return -1;
}

static inline bool ops_str_eq(const vm_str *a, const vm_str *b)
{
    return a == b || (a && b && a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
}

static inline int op_DIV_I(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    int64_t b = OPS_B.i, c = OPS_C.i;
    if (c == 0) {
        rt_raise(vm, RT_ERR_ARITH, "division by zero");
        return -1;
    }
    OPS_A.i = c == -1 ? (int64_t)(0 - (uint64_t)b) : b / c;
    return 0;
}

static inline int op_MOD_I(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    int64_t b = OPS_B.i, c = OPS_C.i;
    if (c == 0) {
        rt_raise(vm, RT_ERR_ARITH, "remainder by zero");
        return -1;
    }
    OPS_A.i = c == -1 ? 0 : b % c;
    return 0;
}

static inline int op_EQ_S(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)vm, (void)f, (void)x;
    OPS_A.i = ops_str_eq(OPS_B.s, OPS_C.s) ^ (INS_OP(ins) == OP_NE_S);
    return 0;
}

/* LT_S and LE_S */
static inline int op_LT_S(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    const vm_str *a = OPS_B.s, *b = OPS_C.s;
    if (!a || !b) {
        rt_raise(vm, RT_ERR_NULL, "comparison of a null string");
        return -1;
    }
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->data, b->data, n);
    c = c ? c : (a->len > b->len) - (a->len < b->len);
    OPS_A.i = INS_OP(ins) == OP_LT_S ? c < 0 : c <= 0;
    return 0;
}

static inline int op_F2I(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    double d = OPS_B.f;
    /* Exactly the doubles whose truncation fits in int64_t. */
    if (!(d > -9223372036854777856.0 && d < 9223372036854775808.0)) {
        char buf[32];
        rt_format_float(d, buf);
        rt_raise(vm, RT_ERR_ARITH, "int(%s): not representable as int", buf);
        return -1;
    }
    OPS_A.i = (int64_t)d;
    return 0;
}

static inline int op_CONCAT(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    const vm_str *a = OPS_B.s, *b = OPS_C.s;
    if (!a || !b) {
        rt_raise(vm, RT_ERR_NULL, "concatenation of a null string");
        return -1;
    }
    vm_str *s = vm_str_new(vm, NULL, (size_t)a->len + b->len);
    if (!s || !vm_copy_charged(vm, s->data, a->data, a->len) ||
        !vm_copy_charged(vm, s->data + a->len, b->data, b->len))
        return -1;
    OPS_A.s = s;
    return 0;
}

static inline int op_STRLEN(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    if (!OPS_B.s) {
        rt_raise(vm, RT_ERR_NULL, "len() of a null string");
        return -1;
    }
    OPS_A.i = OPS_B.s->len;
    return 0;
}

static inline int op_STRIDX(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    const vm_str *s = OPS_B.s;
    int64_t i = OPS_C.i;
    if (!s) {
        rt_raise(vm, RT_ERR_NULL, "indexing a null string");
        return -1;
    }
    if ((uint64_t)i >= s->len) {
        rt_raise(vm, RT_ERR_INDEX, "index %lld out of range for length %u", (long long)i, s->len);
        return -1;
    }
    OPS_A.i = (unsigned char)s->data[i];
    return 0;
}

static inline int op_NEW(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_inst *o = vm_inst_new(vm, &vm->classes[INS_Bx(ins)]);
    if (!o)
        return -1;
    OPS_A.p = o;
    return 0;
}

static inline int op_GETF(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)x;
    vm_inst *o = OPS_B.p;
    if (!o)
        return ops_null_member(vm, f, INS_B(ins), INS_C(ins), false);
    OPS_A = o->fields[INS_C(ins)];
    return 0;
}

static inline int op_SETF(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)x;
    vm_inst *o = OPS_B.p;
    if (!o)
        return ops_null_member(vm, f, INS_B(ins), INS_C(ins), false);
    o->fields[INS_C(ins)] = OPS_A;
    gc_barrier(&vm->heap, &o->obj, VM_T_ISREF(f->def->types[INS_A(ins)]) ? OPS_A.p : NULL);
    return 0;
}

static inline int op_IS(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f;
    OPS_A.i = ops_is_instance(OPS_B.p, &vm->classes[x]);
    return 0;
}

static inline int op_AS(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f;
    const vm_rtclass *want = &vm->classes[x];
    vm_inst *o = OPS_B.p;
    if (o && !ops_is_instance(o, want)) {
        rt_raise(vm, RT_ERR_CAST, "cannot cast %s to %s", ops_class_name(vm, o->cls),
                 ops_class_name(vm, want));
        return -1;
    }
    OPS_A.p = o;
    return 0;
}

static inline int op_NEWA(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f;
    int64_t n = OPS_B.i;
    if (n < 0 || n > UINT32_MAX / 2) {
        rt_raise(vm, n < 0 ? RT_ERR_VALUE : RT_ERR_OOM, "array length %lld %s", (long long)n,
                 n < 0 ? "is negative" : "is too large");
        return -1;
    }
    /* the zeroing, in proportion (the elements come zeroed) */
    if (vm_charge(vm, (uint64_t)n * sizeof(vm_value) / VM_BYTES_PER_TICK))
        return -1;
    vm_array *a = vm_array_new(vm, (uint32_t)n, (uint32_t)n, VM_T_ISREF(vm_elem_of(&vm->img, x)));
    if (!a)
        return -1;
    OPS_A.p = a;
    return 0;
}

static inline int op_APUSH(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_array *a = OPS_A.p;
    if (!a) {
        rt_raise(vm, RT_ERR_NULL, "push on a null array");
        return -1;
    }
    return vm_array_push(vm, a, OPS_B) ? 0 : -1;
}

static inline int op_AFILL(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_array *a = OPS_A.p;
    if (!a) /* only a hand-made image gets here */
        return 0;
    enum { CHUNK = 1 << 17 }; /* elements (1 MB) filled between charges */
    for (uint32_t at = 0; at < a->len; at += CHUNK) {
        uint32_t end = a->len - at < CHUNK ? a->len : at + CHUNK;
        if (vm_charge(vm, (uint64_t)(end - at) * sizeof(vm_value) / VM_BYTES_PER_TICK))
            return -1;
        for (uint32_t i = at; i < end; i++)
            a->buf->items[i] = OPS_B;
    }
    gc_barrier(&vm->heap, &a->obj, a->refs ? OPS_B.p : NULL); /* one for all: gc.h */
    return 0;
}

static inline int op_AGET(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_array *a = OPS_B.p;
    int64_t i = OPS_C.i;
    if (!a || (uint64_t)i >= a->len)
        return ops_bad_index(vm, a, i);
    OPS_A = a->buf->items[i];
    return 0;
}

static inline int op_ASET(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_array *a = OPS_B.p;
    int64_t i = OPS_C.i;
    if (!a || (uint64_t)i >= a->len)
        return ops_bad_index(vm, a, i);
    a->buf->items[i] = OPS_A;
    gc_barrier(&vm->heap, &a->obj, a->refs ? OPS_A.p : NULL);
    return 0;
}

static inline int op_ALEN(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_array *a = OPS_B.p;
    if (!a) {
        rt_raise(vm, RT_ERR_NULL, "len() of a null array");
        return -1;
    }
    OPS_A.i = a->len;
    return 0;
}

static inline int op_APOP(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_array *a = OPS_B.p;
    if (!a || a->len == 0) {
        rt_raise(vm, a ? RT_ERR_INDEX : RT_ERR_NULL, "pop from %s array",
                 a ? "an empty" : "a null");
        return -1;
    }
    OPS_A = a->buf->items[--a->len];
    a->buf->items[a->len].u = 0; /* drop the reference for the GC */
    return 0;
}

static inline int op_ASLICE(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f;
    vm_array *a = OPS_B.p;
    int64_t from = OPS_C.i, to = R[x].i;
    if (!a) {
        rt_raise(vm, RT_ERR_NULL, "slice of a null array");
        return -1;
    }
    if (from < 0 || to < from || to > (int64_t)a->len) {
        rt_raise(vm, RT_ERR_INDEX, "slice %lld..%lld out of range for length %u", (long long)from,
                 (long long)to, a->len);
        return -1;
    }
    vm_array *b = vm_array_new(vm, (uint32_t)(to - from), (uint32_t)(to - from), a->refs);
    if (!b)
        return -1;
    /* b is new: initializing stores, no barrier (gc.h) */
    if (!vm_copy_charged(vm, b->buf->items, a->buf->items + from,
                         sizeof(vm_value) * (size_t)(to - from)))
        return -1;
    OPS_A.p = b;
    return 0;
}

static inline int op_NEWM(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f;
    uint32_t key = 0, val = 0;
    vm_map_types(&vm->img, x, &key, &val);
    vm_map *m = vm_map_new(vm,
                           key == VM_T_STR              ? VM_MAP_STRS
                           : vm_class_of(&vm->img, key) ? VM_MAP_OBJS
                                                        : VM_MAP_WORDS,
                           VM_T_ISREF(val));
    if (!m)
        return -1;
    OPS_A.p = m;
    return 0;
}

/* MGET and MGETD (whose default is R[x]) */
static inline int op_MGET(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    vm_map *m = OPS_B.p;
    if (!m) {
        rt_raise(vm, RT_ERR_NULL, "indexing a null map");
        return -1;
    }
    vm_value k = OPS_C;
    int64_t e = vm_map_find(vm, m, k);
    if (e == -2)
        return -1;
    if (e >= 0) {
        OPS_A = VM_MAPENT_VAL(m, e);
        return 0;
    }
    if (INS_OP(ins) == OP_MGETD) {
        OPS_A = R[x];
        return 0;
    }
    /* KeyError naming the key */
    uint32_t kt = 0, vt = 0;
    vm_map_types(&vm->img, f->def->types[INS_B(ins)], &kt, &vt);
    if (kt == VM_T_STR)
        rt_raise(vm, RT_ERR_KEY, "key \"%.*s\" not found", k.s->len > 60 ? 60 : (int)k.s->len,
                 k.s->data);
    else if (kt == VM_T_BOOL)
        rt_raise(vm, RT_ERR_KEY, "key %s not found", k.i ? "true" : "false");
    else if (vm_class_of(&vm->img, kt))
        rt_raise(vm, RT_ERR_KEY, "key not found");
    else
        rt_raise(vm, RT_ERR_KEY, "key %lld not found", (long long)k.i);
    return -1;
}

static inline int op_MSET(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_map *m = OPS_B.p;
    if (!m) {
        rt_raise(vm, RT_ERR_NULL, "indexing a null map");
        return -1;
    }
    return vm_map_set(vm, m, OPS_C, OPS_A) ? 0 : -1;
}

/* MHAS and MDEL */
static inline int op_MHAS(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_map *m = OPS_B.p;
    if (!m) {
        rt_raise(vm, RT_ERR_NULL, "%s on a null map", INS_OP(ins) == OP_MHAS ? "has" : "remove");
        return -1;
    }
    if (INS_OP(ins) == OP_MDEL)
        return vm_map_remove(vm, m, OPS_C) ? 0 : -1;
    int64_t e = vm_map_find(vm, m, OPS_C);
    if (e == -2)
        return -1;
    OPS_A.i = e >= 0;
    return 0;
}

static inline int op_MRESERVE(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins,
                              uint32_t x)
{
    (void)f, (void)x;
    vm_map *m = OPS_B.p;
    if (!m) {
        rt_raise(vm, RT_ERR_NULL, "reserve() on a null map");
        return -1;
    }
    if (OPS_C.i < 0) {
        rt_raise(vm, RT_ERR_VALUE, "reserve(%lld): a negative size", (long long)OPS_C.i);
        return -1;
    }
    return vm_map_reserve(vm, m, OPS_C.i) ? 0 : -1;
}

static inline int op_MLEN(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_map *m = OPS_B.p;
    if (!m) {
        rt_raise(vm, RT_ERR_NULL, "len() of a null map");
        return -1;
    }
    OPS_A.i = m->count;
    return 0;
}

static inline int op_MKEYS(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_map *m = OPS_B.p;
    if (!m) {
        rt_raise(vm, RT_ERR_NULL, "keys() of a null map");
        return -1;
    }
    vm_array *a = vm_array_new(vm, 0, m->count, m->keys != VM_MAP_WORDS);
    if (!a)
        return -1;
    /* a is new: initializing stores, no barrier (gc.h) */
    for (uint32_t e = 0; e < m->used; e++)
        if (VM_MAPENT_LIVE(m, e))
            a->buf->items[a->len++] = VM_MAPENT_KEY(m, e);
    OPS_A.p = a;
    return 0;
}

static inline int op_MNEXT(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_map *m = OPS_B.p;
    if (!m) {
        rt_raise(vm, RT_ERR_NULL, "iterating a null map");
        return -1;
    }
    int64_t e = OPS_C.i < 0 ? 0 : OPS_C.i;
    while (e < m->used && !VM_MAPENT_LIVE(m, e))
        e++;
    OPS_C.i = e;
    OPS_A.i = e < m->used;
    return 0;
}

/* MKEYAT and MVALAT */
static inline int op_MKEYAT(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_map *m = OPS_B.p;
    int64_t e = OPS_C.i;
    if (!m || e < 0 || e >= m->used) { /* only a hand-made image gets here */
        rt_raise(vm, RT_ERR_INDEX, "map entry %lld out of range", (long long)e);
        return -1;
    }
    OPS_A = INS_OP(ins) == OP_MKEYAT ? VM_MAPENT_KEY(m, e) : VM_MAPENT_VAL(m, e);
    return 0;
}

static inline int op_FNEW(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f;
    vm_rtfunc *g = &vm->funcs[x];
    vm_closure **cached = g->ncaps ? NULL : &g->fnval;
    if (cached && *cached) {
        OPS_A.p = *cached;
        return 0;
    }
    vm_closure *c = vm_closure_new(vm, g, R + INS_B(ins));
    if (!c)
        return -1;
    if (cached)
        *cached = c;
    OPS_A.p = c;
    return 0;
}

static inline int op_NEWCELL(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)x;
    vm_cell *c = vm_cell_new(vm, VM_T_ISREF(f->def->types[INS_B(ins)]), OPS_B);
    if (!c)
        return -1;
    OPS_A.p = c;
    return 0;
}

/* A global read where its declaration may not have run yet (the
 * compiler proves the other reads safe). */
static inline int op_GETGC(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    uint32_t g = INS_Bx(ins);
    if (!vm->ginit[g]) {
        rt_raise(vm, RT_ERR_INIT, "'%s' read before its declaration ran",
                 vm_image_str(&vm->img, vm->img.globals[g].name));
        return -1;
    }
    OPS_A = vm->globals[g];
    return 0;
}

static inline int op_INITG(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)R, (void)x;
    vm->ginit[INS_Bx(ins)] = 1;
    return 0;
}

static inline int op_GETCELL(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_cell *c = OPS_B.p;
    if (!c) { /* only a hand-made image gets here */
        rt_raise(vm, RT_ERR_NULL, "reading an uninitialized cell");
        return -1;
    }
    OPS_A = c->v;
    return 0;
}

static inline int op_SETCELL(kiln_vm *vm, const vm_rtfunc *f, vm_value *R, uint32_t ins, uint32_t x)
{
    (void)f, (void)x;
    vm_cell *c = OPS_B.p;
    if (!c) {
        rt_raise(vm, RT_ERR_NULL, "writing an uninitialized cell");
        return -1;
    }
    c->v = OPS_A;
    gc_barrier(&vm->heap, &c->obj, c->ref ? OPS_A.p : NULL);
    return 0;
}

/* The errors of calls: a null receiver or function value (CALLV, CALLVP,
 * CALLF), and a stack with no room for the callee. */
static inline int ops_call_null(kiln_vm *vm, const vm_rtfunc *f, uint32_t ins)
{
    if (INS_OP(ins) == OP_CALLF) {
        rt_raise(vm, RT_ERR_NULL, "calling a null function value");
        return -1;
    }
    return ops_null_member(vm, f, INS_B(ins), 0, true);
}

static inline int ops_call_overflow(kiln_vm *vm)
{
    rt_raise(vm, RT_ERR_STACK, "stack overflow (call depth limit reached)");
    return -1;
}

static inline int ops_trap(kiln_vm *vm)
{
    rt_raise(vm, RT_ERR_ERROR, "internal error: reached unreachable code");
    return -1;
}

#undef OPS_A
#undef OPS_B
#undef OPS_C

#endif
