/*
 * vm_ctx.c — execution contexts and the limits they poll (fuel,
 * kiln_interrupt), and the guest's output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../runtime/rt.h"
#include "vm.h"

void vm_write(kiln_vm *vm, int stream, const char *p, size_t n)
{
    if (vm->cfg.write)
        vm->cfg.write(vm->cfg.userdata, stream, p, n);
    else
        fwrite(p, 1, n, stream == 2 ? stderr : stdout);
}

void vm_flush(kiln_vm *vm)
{
    if (!vm->cfg.write) {
        fflush(stdout);
        fflush(stderr);
    }
}

/* Instructions between two checks of kiln_interrupt's flag when no fuel
 * runs out sooner: a few microseconds of guest time. */
enum { POLL_INTERVAL = 1 << 16 };

static double monotonic(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void vm_limits_reset(kiln_vm *vm)
{
    vm->ticks_used = 0;
    vm->deadline = vm->cfg.timeout > 0 ? monotonic() + vm->cfg.timeout : 0;
    vm->fuel_left = vm->cfg.fuel ? vm->cfg.fuel : UINT64_MAX;
    vm->ctx->tick_len = vm->fuel_left < POLL_INTERVAL ? (int64_t)vm->fuel_left : POLL_INTERVAL;
    vm->ctx->tick = vm->ctx->tick_len;
}

bool vm_poll(kiln_vm *vm)
{
    uint64_t used = (uint64_t)(vm->ctx->tick_len - vm->ctx->tick);
    vm->ticks_used += used;
    vm->ctx->tick_len = vm->ctx->tick; /* counted: kiln_fuel_used must not count it twice */
    if (vm->fuel_left != UINT64_MAX) {
        if (used >= vm->fuel_left) {
            vm->ticks_used -= used - vm->fuel_left; /* the instruction refused is not used */
            vm->fuel_left = 0;
            rt_raise(vm, RT_LIMIT, "out of fuel (%llu instructions)",
                     (unsigned long long)vm->cfg.fuel);
            return true;
        }
        vm->fuel_left -= used;
    }
    if (atomic_exchange(&vm->interrupt, false)) {
        rt_raise(vm, RT_LIMIT, "interrupted");
        return true;
    }
    if (vm->deadline > 0 && monotonic() >= vm->deadline) {
        rt_raise(vm, RT_LIMIT, "out of time (%g seconds)", vm->cfg.timeout);
        return true;
    }
    vm->ctx->tick_len = vm->fuel_left < POLL_INTERVAL ? (int64_t)vm->fuel_left : POLL_INTERVAL;
    vm->ctx->tick = vm->ctx->tick_len;
    return false;
}

void vm_ticks_leave(kiln_vm *vm)
{
    vm_ctx *X = vm->ctx;
    uint64_t used = (uint64_t)(X->tick_len - X->tick);
    vm->ticks_used += used;
    if (vm->fuel_left != UINT64_MAX)
        vm->fuel_left = used >= vm->fuel_left ? 0 : vm->fuel_left - used;
    X->tick_len = X->tick = 0;
}

void vm_ticks_enter(kiln_vm *vm)
{
    vm_ctx *X = vm->ctx;
    X->tick_len = vm->fuel_left < POLL_INTERVAL ? (int64_t)vm->fuel_left : POLL_INTERVAL;
    X->tick = X->tick_len;
}

bool vm_limit_reached(kiln_vm *vm)
{
    return atomic_load_explicit(&vm->interrupt, memory_order_relaxed) || vm->fuel_left == 0 ||
           (vm->deadline > 0 && monotonic() >= vm->deadline);
}

void vm_limit_text(const kiln_vm *vm, char *buf, size_t size)
{
    if (atomic_load_explicit(&vm->interrupt, memory_order_relaxed))
        snprintf(buf, size, "interrupted");
    else if (vm->fuel_left == 0)
        snprintf(buf, size, "out of fuel (%llu instructions)", (unsigned long long)vm->cfg.fuel);
    else
        snprintf(buf, size, "out of time (%g seconds)", vm->cfg.timeout);
}

bool vm_fuel_waited(kiln_vm *vm, double seconds)
{
    if (vm->fuel_left != UINT64_MAX && seconds > 0) {
        double t = seconds * VM_WAIT_TICKS;
        uint64_t units = t >= (double)vm->fuel_left ? vm->fuel_left : (uint64_t)t;
        vm->fuel_left -= units;
        vm->ticks_used += units;
    }
    return vm->fuel_left == 0;
}

bool vm_poll_after_native(kiln_vm *vm)
{
    return vm_limit_reached(vm) && vm_poll(vm);
}

bool vm_gc_should_stop(void *ctx)
{
    kiln_vm *vm = ctx;
    return vm->running && !vm->finalizing && vm_limit_reached(vm);
}

void vm_gc_stopped(kiln_vm *vm)
{
    if (atomic_load_explicit(&vm->interrupt, memory_order_relaxed))
        rt_raise(vm, RT_LIMIT, "interrupted");
    else
        rt_raise(vm, RT_LIMIT, "out of time (%g seconds)", vm->cfg.timeout);
}

bool vm_charge(kiln_vm *vm, uint64_t units)
{
    vm_ctx *X = vm->ctx;
    X->tick -= units < (1ull << 40) ? (int64_t)units : (int64_t)1 << 40;
    /* the interrupt flag too: a piece of work may be long (a load) */
    return (X->tick < 0 || atomic_load_explicit(&vm->interrupt, memory_order_relaxed)) &&
           vm_poll(vm);
}

bool vm_copy_charged(kiln_vm *vm, void *dst, const void *src, size_t n)
{
    enum { CHUNK = 1 << 20 }; /* well under a millisecond of copying */
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t k = n - at < CHUNK ? n - at : CHUNK;
        if (vm_charge(vm, k / VM_BYTES_PER_TICK))
            return false;
        memcpy((char *)dst + at, (const char *)src + at, k);
    }
    return true;
}

bool vm_ctx_init(vm_ctx *ctx)
{
    /* Not zeroed: the interpreter writes every slot of a frame before use,
     * and untouched pages of a large allocation cost nothing. */
    void *p = mmap(NULL, KILN_STACK_SLOTS * sizeof(vm_value), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return false;
    ctx->stack = p;
    /* The call path writes a few slots past a new frame unconditionally
     * (cheaper than a loop): they stay inside the slack. */
    ctx->stack_end = ctx->stack + KILN_STACK_SLOTS - VM_STACK_SLACK;
    return true;
}

void vm_ctx_free(vm_ctx *ctx)
{
    if (ctx->stack)
        munmap(ctx->stack, KILN_STACK_SLOTS * sizeof(vm_value));
    ctx->stack = ctx->stack_end = NULL;
}
