/*
 * rt_error.c — raising guest errors and formatting stack traces.
 */
#include <stdio.h>
#include <string.h>

#include "rt.h"

const char *rt_error_class(int kind)
{
    static const char *const NAMES[RT_ERR__COUNT] = {
        "?", "Error", "NullError", "IndexError", "KeyError", "ArithmeticError",
        "CastError", "ValueError", "StackOverflowError", "OutOfMemoryError", "IOError",
        "PermissionError"};
    return kind > 0 && kind < RT_ERR__COUNT ? NAMES[kind] : "Error";
}

void rt_raise(kiln_vm *vm, int kind, const char *fmt, ...)
{
    vm->err_kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->err_msg, sizeof vm->err_msg, fmt, ap);
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

void rt_trace_begin(kiln_vm *vm)
{
    vm->error[0] = 0;
    append(vm, "error: %s: %s", rt_error_class(vm->err_kind), vm->err_msg);
}

void rt_trace_frame(kiln_vm *vm, const vm_func *f, uint32_t pc, uint32_t index,
                    uint32_t depth)
{
    const vm_image *im = &vm->img;
    if (index >= KILN_TRACE_HEAD && index + KILN_TRACE_TAIL < depth) {
        if (index == KILN_TRACE_HEAD)
            append(vm, "\n  ... %u more frames ...",
                   depth - KILN_TRACE_HEAD - KILN_TRACE_TAIL);
        return;
    }
    append(vm, "\n  at %s (%s:%u)", vm_image_str(im, f->name),
           vm_image_str(im, im->modules[f->module].file), vm_func_line(f, pc));
}
