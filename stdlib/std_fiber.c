/*
 * std_fiber.c — the natives under fibers and channels: spawn, the Fiber
 * methods, sleep, and the two a channel (the prelude's __Chan, written in
 * Kiln) waits and wakes with. The scheduler is runtime/rt_fiber.c.
 */
#include "../runtime/rt.h"
#include "std.h"

/* The Fiber argument: an object the runtime made (a subclass of Fiber
 * the program made itself has no fiber behind it). */
static vm_fiberobj *fiber_arg(kiln_vm *vm, vm_value v, const char *fn)
{
    gc_obj *o = v.p;
    if (!o) {
        rt_raise(vm, RT_ERR_NULL, "%s of a null Fiber", fn);
        return NULL;
    }
    if (o->kind != VM_OBJ_FIBER || !((vm_fiberobj *)o)->f) {
        rt_raise(vm, RT_ERR_VALUE, "%s: not a fiber that spawn made", fn);
        return NULL;
    }
    return (vm_fiberobj *)o;
}

static int f_spawn(kiln_vm *vm, vm_value *a, vm_value *r)
{
    if (!a[0].p) {
        rt_raise(vm, RT_ERR_NULL, "spawn of a null function");
        return -1;
    }
    return rt_fiber_spawn(vm, (vm_closure *)a[0].p, r);
}

static int f_current(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)a;
    vm_fiberobj *o = rt_fiber_current(vm);
    if (!o)
        return -1;
    r->p = &o->obj;
    return 0;
}

static int f_park(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)a, (void)r;
    return rt_fiber_park(vm);
}

static int f_wake(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    vm_fiberobj *o = fiber_arg(vm, a[0], "wake");
    if (!o)
        return -1;
    rt_fiber_wake(vm, o);
    return 0;
}

static int f_ended(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_fiberobj *o = fiber_arg(vm, a[0], "ended");
    if (!o)
        return -1;
    r->i = rt_fiber_ended(o);
    return 0;
}

static int f_join(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    vm_fiberobj *o = fiber_arg(vm, a[0], "join");
    return o ? rt_fiber_join(vm, o) : -1;
}

static int f_sleep(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    return rt_fiber_sleep(vm, a[0].i);
}

static const char *const FN_FIBER[] = {"fn()", "Fiber"};
static const char *const FIBER[] = {"Fiber", NULL};
static const char *const NO_FIBER[] = {"Fiber"};

const vm_native std_fiber_natives[] = {
    STD_TYPED("__fiber_spawn", "T", 'T', FN_FIBER, f_spawn),
    STD_TYPED("__fiber_current", "", 'T', NO_FIBER, f_current),
    STD_NATIVE("__fiber_park", "", 'v', f_park),
    STD_TYPED("__fiber_wake", "T", 'v', FIBER, f_wake),
    STD_TYPED("__fiber_join", "T", 'v', FIBER, f_join),
    STD_TYPED("__fiber_ended", "T", 'b', FIBER, f_ended),
    STD_NATIVE("sleep", "i", 'v', f_sleep),
};
const size_t std_fiber_count = sizeof std_fiber_natives / sizeof std_fiber_natives[0];
