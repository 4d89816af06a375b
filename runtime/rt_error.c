/*
 * rt_error.c — raising guest errors and formatting stack traces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

const char *rt_error_class(int kind)
{
    static const char *const NAMES[RT_ERR__COUNT] = {"?",
                                                     "Error",
                                                     "NullError",
                                                     "IndexError",
                                                     "KeyError",
                                                     "ArithmeticError",
                                                     "CastError",
                                                     "ValueError",
                                                     "StackOverflowError",
                                                     "OutOfMemoryError",
                                                     "IOError",
                                                     "PermissionError",
                                                     "InitError",
                                                     "ChannelError",
                                                     "DeadlockError"};
    if (kind == RT_FATAL)
        return "InternalError";
    if (kind == RT_LIMIT)
        return "stopped";
    return kind > 0 && kind < RT_ERR__COUNT ? NAMES[kind] : "Error";
}

void rt_raise(kiln_vm *vm, int kind, const char *fmt, ...)
{
    vm->ctx->err_kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->ctx->err_msg, sizeof vm->ctx->err_msg, fmt, ap);
    va_end(ap);
}

static void append(kiln_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(kiln_vm *vm, const char *fmt, ...)
{
    size_t used = strlen(vm->error);
    if (used + 1 >= sizeof vm->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->error + used, sizeof vm->error - used, fmt, ap);
    va_end(ap);
}

/* Records the uncaught error's class and message for kiln_error_class and
 * kiln_error_message (a copy: the object may be collected). */
static void info_begin(kiln_vm *vm, const char *cls, const char *msg, size_t len)
{
    struct vm_errinfo *e = &vm->errinfo;
    free(e->message);
    e->message = malloc(len + 1);
    if (e->message) {
        memcpy(e->message, msg, len);
        e->message[len] = 0;
    }
    e->cls = cls;
    e->nframes = e->depth = 0;
    e->set = true;
}

void rt_trace_begin(kiln_vm *vm, const vm_inst *exc)
{
    int kind = vm->ctx->err_kind;
    if (kind == RT_CANCEL) /* a fiber the end of the run stops: no error */
        return;
    vm->error[0] = 0;
    if (!exc || (exc == vm->oom_error && kind == RT_ERR_OOM)) {
        append(vm, "error: %s: %s", rt_error_class(kind), vm->ctx->err_msg);
        info_begin(vm, kind == RT_LIMIT ? NULL : rt_error_class(kind), vm->ctx->err_msg,
                   strlen(vm->ctx->err_msg));
        return;
    }
    const vm_str *m = exc->fields[0].s; /* Error.message */
    const char *cls = vm_image_str(&vm->img, exc->cls->def->name);
    append(vm, "error: %s: %.*s", cls, m ? (int)m->len : 4, m ? m->data : "null");
    info_begin(vm, cls, m ? m->data : "", m ? m->len : 0);
    /* Thrown in another fiber, passed on by join: where it was thrown. */
    const char *where = rt_fiber_trace_of(vm, exc);
    if (where)
        append(vm, "\n  thrown in %s\n  passed on by join", where);
}

void rt_trace_fiber(kiln_vm *vm, const vm_inst *exc, const char *where)
{
    vm->ctx->err_kind = RT_PENDING;
    vm->error[0] = 0;
    const vm_str *m = exc->fields[0].s;
    const char *cls = vm_image_str(&vm->img, exc->cls->def->name);
    append(vm, "error: %s: %.*s\n  in %s", cls, m ? (int)m->len : 4, m ? m->data : "null", where);
    info_begin(vm, cls, m ? m->data : "", m ? m->len : 0);
    append(vm, "\n  (no join waited for this fiber)");
}

bool rt_error_link(kiln_vm *vm)
{
    /* The first class of each name that is Error or a subclass: the
     * prelude's, which come first; a module's class of the same name is
     * another class. */
    const vm_image *im = &vm->img;
    int err = vm_error_class(im);
    for (int k = RT_ERR_ERROR; err >= 0 && k < RT_ERR__COUNT; k++)
        for (uint32_t i = 0; i < im->nclasses && !vm->error_classes[k]; i++)
            if (im->classes[i].module == VM_PRELUDE_MODULE &&
                strcmp(vm_image_str(im, im->classes[i].name), rt_error_class(k)) == 0 &&
                vm_assignable(im, im->classes[i].type, im->classes[err].type) &&
                im->classes[i].nfields >= 1 && im->classes[i].field_types[0] == VM_T_STR)
                vm->error_classes[k] = &vm->classes[i];
    for (uint32_t i = 0; i < im->nclasses && !vm->fiber_class; i++) /* a Fiber has no fields */
        if (im->classes[i].module == VM_PRELUDE_MODULE &&
            strcmp(vm_image_str(im, im->classes[i].name), "Fiber") == 0 &&
            im->classes[i].nfields == 0)
            vm->fiber_class = &vm->classes[i];
    const vm_rtclass *oom = vm->error_classes[RT_ERR_OOM];
    if (!oom)
        return true;
    vm_str *msg = vm_str_cstr(vm, "out of memory");
    if (!msg || !vm_root_push(vm, msg)) /* until the error holds it */
        return false;
    vm->oom_error = vm_inst_new(vm, oom);
    vm_root_pop(vm, 1);
    if (!vm->oom_error)
        return false;
    vm->oom_error->fields[0].s = msg; /* initializing: no barrier (gc.h) */
    return true;
}

vm_inst *rt_error_object(kiln_vm *vm)
{
    int kind = vm->ctx->err_kind;
    if (kind == RT_PENDING) {
        vm_inst *e = vm->ctx->pending;
        vm->ctx->pending = NULL;
        return e;
    }
    const vm_rtclass *c = kind > 0 && kind < RT_ERR__COUNT ? vm->error_classes[kind] : NULL;
    if (!c)
        return NULL;
    /* OutOfMemoryError too gets its own object and message when there is
     * room for them (usually: what failed was larger); else the
     * preallocated one, "out of memory". */
    char msg[sizeof vm->ctx->err_msg];
    memcpy(msg, vm->ctx->err_msg, sizeof msg); /* an allocation failure would overwrite it */
    vm_str *s = vm_str_cstr(vm, msg);
    vm_inst *e = NULL;
    if (s && vm_root_push(vm, s)) {
        e = vm_inst_new(vm, c);
        vm_root_pop(vm, 1);
    }
    if (!e) { /* the preallocated one; the trace tells what failed first */
        vm->ctx->err_kind = kind;
        memcpy(vm->ctx->err_msg, msg, sizeof msg);
        return vm->oom_error;
    }
    e->fields[0].s = s; /* initializing: no barrier (gc.h) */
    if (kind == RT_ERR_OOM)
        vm->last_oom = e;
    vm->ctx->err_kind = kind; /* restore what a failed attempt may have changed */
    memcpy(vm->ctx->err_msg, msg, sizeof msg);
    return e;
}

void rt_trace_frame(kiln_vm *vm, const vm_func *f, uint32_t pc, uint32_t index, uint32_t depth)
{
    const vm_image *im = &vm->img;
    if (vm->ctx->err_kind == RT_CANCEL)
        return;
    vm->errinfo.depth = depth;
    if (index >= KILN_TRACE_HEAD && index + KILN_TRACE_TAIL < depth) {
        if (index == KILN_TRACE_HEAD)
            append(vm, "\n  ... %u more frames ...", depth - KILN_TRACE_HEAD - KILN_TRACE_TAIL);
        return;
    }
    uint32_t line = vm_func_line(f, pc);
    append(vm, "\n  at %s (%s:%u)", vm_image_str(im, f->name),
           vm_image_str(im, im->modules[f->module].file), line);
    struct vm_errinfo *e = &vm->errinfo;
    if (e->nframes < sizeof e->frames / sizeof e->frames[0])
        e->frames[e->nframes++] = (struct vm_errframe){(uint32_t)(f - im->funcs), line};
}
