/*
 * vm_gc.c — what the collector needs to know about the VM: its roots (the
 * frames, the globals, the constants, the root stack of C code) and how
 * to trace each kind of object. The collector itself (gc/) knows nothing
 * of either.
 */
#include <stdlib.h>

#include "../runtime/rt.h"
#include "frame.h"

/* Root maps: for each function, its reference registers and which of them
 * are live at each instruction, computed once at link time from the
 * verified code (vm_live.c), so a dead temporary is never a root. */
bool vm_gc_link(kiln_vm *vm)
{
    for (uint32_t i = 0; i < vm->img.nfuncs; i++)
        if (!vm_live_build(&vm->img, vm->funcs[i].def, &vm->funcs[i].live))
            return false;
    return true;
}

/* The frames of a context, innermost first, through every entry frame to
 * the bottom of its stack (frame.h): in each, the reference registers live
 * at the instruction it is stopped in. Under --gc-verify the dead ones are
 * cleared as well, so that a liveness map that missed a use shows up as a
 * wrong result or a NullError in the test suite, not as a rare crash. */
static void mark_frames(gc_heap *h, const vm_ctx *ctx)
{
    for (vm_frame_iter it = vm_frames(ctx); it.R; vm_frames_step(&it)) {
        const vm_live *l = &it.fn->live;
        const uint8_t *set = vm_live_at(l, vm_frame_at(it.fn, it.pc));
        for (uint32_t i = 0; i < l->nrefs; i++) {
            if (vm_live_has(set, i))
                gc_mark(h, it.R[l->refs[i]].p);
            else if (h->verify)
                it.R[l->refs[i]].p = NULL;
        }
    }
}

void vm_gc_mark_ctx(gc_heap *h, const vm_ctx *ctx)
{
    if (ctx->pending)
        gc_mark(h, &ctx->pending->obj);
    gc_roots_mark(h, &ctx->roots);
    mark_frames(h, ctx);
}

void vm_gc_roots(gc_heap *h, void *ctx)
{
    kiln_vm *vm = ctx;
    const vm_image *im = &vm->img;
    if (vm->kvals)
        for (uint32_t i = 0; i < im->nconsts; i++)
            if (im->consts[i].type == VM_T_STR)
                gc_mark(h, vm->kvals[i].p);
    if (vm->globals)
        for (uint32_t i = 0; i < im->nglobals; i++)
            if (VM_T_ISREF(im->globals[i].type))
                gc_mark(h, vm->globals[i].p);
    if (vm->oom_error)
        gc_mark(h, &vm->oom_error->obj);
    if (vm->last_oom)
        gc_mark(h, &vm->last_oom->obj);
    for (uint32_t i = 0; i < vm->nhandles; i++)
        gc_mark(h, vm->handles[i].obj);
    for (uint32_t i = 0; vm->funcs && i < im->nfuncs; i++)
        gc_mark(h, (gc_obj *)vm->funcs[i].fnval);
    vm_gc_mark_ctx(h, &vm->main);
    rt_ffi_mark(vm);
    rt_fiber_mark(h, vm);
}

bool vm_root_fail(kiln_vm *vm)
{
    rt_raise(vm, RT_ERR_OOM, "out of memory: no room for a temporary GC root (%zu held)",
             vm->ctx->roots.n);
    return false;
}

void vm_root_underflow(kiln_vm *vm)
{
    if (!vm->heap.verify_error)
        vm->heap.verify_error = "more GC roots popped than pushed";
}

void vm_gc_finalize(gc_obj *o, void *ctx)
{
    kiln_vm *vm = ctx;
    if (o->kind == VM_OBJ_FIBER) {
        rt_fiber_release(vm, (vm_fiberobj *)o);
        return;
    }
    if (o->kind == VM_OBJ_RES) {
        vm_res_close(vm, (vm_resobj *)o);
        return;
    }
    const vm_hostobj *h = (const vm_hostobj *)o;
    const struct vm_htype *t = h->type < vm->nhtypes ? &vm->htypes[h->type] : NULL;
    if (t && t->finalize) {
        /* Inside the collector (or kiln_free): a finalizer that calls back
         * gets refusals (vm_alloc, kiln_call, kiln_run...), never a heap
         * changed under the sweep. */
        bool was = vm->finalizing;
        vm->finalizing = true;
        t->finalize(t->userdata, h->ptr);
        vm->finalizing = was;
    }
}

/* Buffers are marked as (gc_obj *): a map or array just allocated has
 * none yet (gc.h invariant 5). */
void vm_gc_trace(gc_heap *h, gc_obj *o, void *ctx)
{
    (void)ctx;
    switch (o->kind) {
    case VM_OBJ_INST: {
        vm_inst *in = (vm_inst *)o;
        for (uint32_t i = 0; i < in->cls->nrefs; i++)
            gc_mark(h, in->fields[in->cls->refs[i]].p);
        break;
    }
    case VM_OBJ_ARRAY: {
        vm_array *a = (vm_array *)o;
        gc_mark(h, (gc_obj *)a->buf);
        if (a->refs) /* a collection stopped (gc.h) ends a long loop at once */
            for (uint32_t i = 0; i < a->len && !h->stopped; i++)
                gc_mark(h, a->buf->items[i].p);
        break;
    }
    case VM_OBJ_MAP: {
        vm_map *m = (vm_map *)o;
        gc_mark(h, (gc_obj *)m->ents);
        gc_mark(h, (gc_obj *)m->index);
        bool refs = m->keys != VM_MAP_WORDS || m->val_ref; /* else no loop over words */
        for (uint32_t i = 0; refs && i < m->used && !h->stopped; i++) { /* holes hold zero */
            if (m->keys != VM_MAP_WORDS)
                gc_mark(h, VM_MAPENT_KEY(m, i).p);
            if (m->val_ref)
                gc_mark(h, VM_MAPENT_VAL(m, i).p);
        }
        break;
    }
    case VM_OBJ_FN: {
        vm_closure *c = (vm_closure *)o;
        for (uint32_t i = 0; i < c->fn->ncaps; i++)
            if (VM_T_ISREF(c->fn->def->types[c->fn->nparams + i]))
                gc_mark(h, c->caps[i].p);
        break;
    }
    case VM_OBJ_CELL: {
        vm_cell *c = (vm_cell *)o;
        if (c->ref)
            gc_mark(h, c->v.p);
        break;
    }
    case VM_OBJ_FIBER: rt_fiber_trace(h, (vm_fiberobj *)o); break;
    case VM_OBJ_BUF: /* traced through its array or map, which know the types */
    case VM_OBJ_STR: /* bytes only: no references */
    default: break;
    }
}
