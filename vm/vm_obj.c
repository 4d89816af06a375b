/*
 * vm_obj.c — making guest objects: strings, instances, arrays, function
 * values and cells, all through the one allocation path (vm_alloc), which
 * raises OutOfMemoryError naming what could not be made. Maps are in
 * vm_map.c.
 */
#include <string.h>

#include "../runtime/rt.h"
#include "vm.h"

/* Every object comes from here: the allocation, the verify-mode check,
 * and OutOfMemoryError naming `what` (or the limit that stopped the
 * collection the allocation began: vm_gc_stopped). */
gc_obj *vm_alloc(kiln_vm *vm, size_t size, uint8_t kind, const char *what)
{
    /* A large object costs work in proportion to its size (zeroing it,
     * filling it): charged while the guest runs, so that fuel counts it
     * and an interrupt or the deadline stops a loop of builtins that make
     * large strings or arrays and charge nothing else (to_upper, slice). */
    if (size >= 4096 && vm->running && vm_charge(vm, size / VM_BYTES_PER_TICK))
        return NULL;
    if (vm->finalizing) {
        rt_raise(vm, RT_ERR_OOM, "no object is made while a finalizer runs (%s)", what);
        return NULL;
    }
    gc_obj *o = gc_alloc(&vm->heap, size, kind);
    if (vm->heap.verify_error) {
        rt_raise(vm, RT_FATAL, "heap verification failed: %s", vm->heap.verify_error);
        return NULL;
    }
    if (!o && vm->heap.stopped) /* an interrupt or the deadline cut the collection short */
        vm_gc_stopped(vm);
    else if (!o && vm->heap.limit) /* the limit (its reserve included), nearly always */
        rt_raise(vm, RT_ERR_OOM,
                 "out of memory allocating %s of %zu bytes: the heap limit is %zu bytes, %zu in "
                 "use",
                 what, size, vm->heap.limit, vm->heap.bytes);
    else if (!o)
        rt_raise(vm, RT_ERR_OOM, "out of memory allocating %s of %zu bytes", what, size);
    return o;
}

vm_str *vm_str_new(kiln_vm *vm, const char *p, size_t len)
{
    if (len > UINT32_MAX - 64) {
        rt_raise(vm, RT_ERR_OOM, "string of %zu bytes is too long", len);
        return NULL;
    }
    vm_str *s = (vm_str *)vm_alloc(vm, sizeof(vm_str) + len + 1, VM_OBJ_STR, "a string");
    if (!s)
        return NULL;
    s->len = (uint32_t)len;
    if (len && p)
        memcpy(s->data, p, len);
    s->data[len] = 0;
    return s;
}

vm_str *vm_str_cstr(kiln_vm *vm, const char *s)
{
    return vm_str_new(vm, s, strlen(s));
}

vm_closure *vm_closure_new(kiln_vm *vm, vm_rtfunc *fn, const vm_value *caps)
{
    vm_closure *c = (vm_closure *)vm_alloc(vm, sizeof(vm_closure) + sizeof(vm_value) * fn->ncaps,
                                           VM_OBJ_FN, "a function value");
    if (!c)
        return NULL;
    c->fn = fn;
    if (fn->ncaps)
        memcpy(c->caps, caps, sizeof(vm_value) * fn->ncaps);
    return c;
}

vm_cell *vm_cell_new(kiln_vm *vm, bool ref, vm_value v)
{
    vm_cell *c = (vm_cell *)vm_alloc(vm, sizeof(vm_cell), VM_OBJ_CELL, "a cell");
    if (!c)
        return NULL;
    c->ref = ref;
    c->v = v;
    return c;
}

/* Arrays keep their elements in a buffer object of `cap` slots. */
static vm_buffer *buffer_new(kiln_vm *vm, uint32_t cap)
{
    return (vm_buffer *)vm_alloc(vm, sizeof(vm_buffer) + sizeof(vm_value) * (size_t)cap, VM_OBJ_BUF,
                                 "an array");
}

vm_array *vm_array_new(kiln_vm *vm, uint32_t len, uint32_t cap, bool refs)
{
    if (cap < len)
        cap = len;
    if (!cap)
        cap = 1;
    /* The buffer first, so that storing it in the new array is an
     * initializing store (gc.h: no barrier); it is a root meanwhile. */
    vm_buffer *b = buffer_new(vm, cap);
    if (!b || !vm_root_push(vm, b))
        return NULL;
    vm_array *a = (vm_array *)vm_alloc(vm, sizeof(vm_array), VM_OBJ_ARRAY, "an array");
    vm_root_pop(vm, 1);
    if (!a)
        return NULL;
    a->refs = refs;
    a->buf = b;
    a->len = len;
    a->cap = cap;
    return a;
}

bool vm_array_push(kiln_vm *vm, vm_array *a, vm_value v)
{
    if (a->len == a->cap) {
        if (a->cap >= UINT32_MAX / 2) {
            rt_raise(vm, RT_ERR_OOM, "array too long");
            return false;
        }
        /* The array and the value are the caller's to keep reachable
         * (registers, or its root stack entries). The copy is charged as
         * it goes; stopped halfway, the new buffer is dropped. */
        vm_buffer *b = buffer_new(vm, a->cap * 2);
        if (!b || !vm_copy_charged(vm, b->items, a->buf->items, sizeof(vm_value) * a->len))
            return false;
        a->buf = b;
        gc_barrier(&vm->heap, &a->obj, &b->obj);
        a->cap *= 2;
    }
    a->buf->items[a->len++] = v;
    gc_barrier(&vm->heap, &a->obj, a->refs ? v.p : NULL);
    return true;
}

vm_resobj *vm_res_new(kiln_vm *vm, const char *cls, void *ptr,
                      void (*close)(kiln_vm *vm, void *ptr))
{
    const vm_image *im = &vm->img;
    const vm_rtclass *c = NULL;
    for (uint32_t i = 0; i < im->nclasses && !c; i++)     /* the prelude's: the first of the name */
        if (im->classes[i].module == VM_PRELUDE_MODULE && /* never a program's of the name */
            !strcmp(vm_image_str(im, im->classes[i].name), cls))
            c = im->classes[i].nfields == 0 ? &vm->classes[i] : NULL;
    if (!c) {
        rt_raise(vm, RT_ERR_ERROR, "this program has no class %s without fields", cls);
        return NULL;
    }
    vm_resobj *o = (vm_resobj *)vm_alloc(vm, sizeof *o, VM_OBJ_RES, "a host resource");
    if (!o)
        return NULL;
    o->cls = c;
    o->ptr = ptr;
    o->close = close;
    return o;
}

vm_resobj *vm_res_of(kiln_vm *vm, vm_value v, const char *what)
{
    gc_obj *o = v.p;
    if (!o) {
        rt_raise(vm, RT_ERR_NULL, "%s of null", what);
        return NULL;
    }
    vm_resobj *r = (vm_resobj *)o;
    if (o->kind != VM_OBJ_RES) {
        rt_raise(vm, RT_ERR_VALUE, "%s: not an object the runtime made", what);
        return NULL;
    }
    if (!r->ptr) {
        rt_raise(vm, RT_ERR_IO, "%s: it is closed", what);
        return NULL;
    }
    return r;
}

void vm_res_close(kiln_vm *vm, vm_resobj *o)
{
    void *p = o->ptr;
    o->ptr = NULL;
    if (p && o->close)
        o->close(vm, p);
}

vm_inst *vm_inst_new(kiln_vm *vm, const vm_rtclass *c)
{
    size_t size = sizeof(vm_inst) + sizeof(vm_value) * c->def->nfields;
    vm_inst *o = (vm_inst *)vm_alloc(vm, size, VM_OBJ_INST, "an object");
    if (o)
        o->cls = c;
    return o;
}
