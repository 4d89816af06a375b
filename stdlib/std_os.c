/*
 * std_os.c — the os module: the program's arguments, exit, environment
 * variables and a monotonic clock.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../runtime/rt.h"
#include "std.h"

/* os.args(): the arguments after the program's file name, as a new array
 * each call (the guest may change it). */
static int o_args(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)a;
    vm_array *out = vm_array_new(vm, 0, (uint32_t)(vm->argc > 0 ? vm->argc : 1), true);
    if (!out || !vm_root_push(vm, out))
        return -1;
    for (int i = 0; i < vm->argc; i++) {
        if (!std_push_str(vm, out, vm->argv[i], strlen(vm->argv[i]))) {
            vm_root_pop(vm, 1);
            return -1;
        }
    }
    vm_root_pop(vm, 1);
    r->p = out;
    return 0;
}

/* os.exit with a code: ends the program (not an error: nothing can catch it);
 * kiln_run returns and kiln_exit_code gives the code. */
static int o_exit(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    vm->exit_code = (int)(a[0].i & 0xff);
    vm->ctx->err_kind = RT_EXIT;
    vm->ctx->err_msg[0] = 0;
    return -1;
}

/* os.env(name): the variable's value, or null when it is not set. */
static int o_env(kiln_vm *vm, vm_value *a, vm_value *r)
{
    if (!a[0].s) {
        rt_raise(vm, RT_ERR_NULL, "os.env: the name is null");
        return -1;
    }
    if (memchr(a[0].s->data, 0, a[0].s->len)) {
        rt_raise(vm, RT_ERR_VALUE, "os.env: the name holds a NUL byte");
        return -1;
    }
    if (!rt_sys_check(vm, VM_ALLOW_ENV, "os.env", a[0].s->data))
        return -1;
    const char *v = getenv(a[0].s->data);
    r->s = v ? vm_str_cstr(vm, v) : NULL;
    return v && !r->s ? -1 : 0;
}

/* os.clock(): seconds of a monotonic clock, for measuring intervals. */
static int o_clock(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)vm, (void)a;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r->f = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    return 0;
}

const vm_native std_os_natives[] = {
    STD_NATIVE("os.args", "", 'S', o_args),
    STD_NATIVE("os.exit", "i", 'v', o_exit),
    STD_NATIVE("os.env", "s", 's', o_env),
    STD_NATIVE("os.clock", "", 'f', o_clock),
};
const size_t std_os_count = sizeof std_os_natives / sizeof std_os_natives[0];
