/*
 * jit.h — the baseline JIT: the execution layer's second tier. It compiles
 * a verified function's bytecode to x86-64 machine code that runs on the
 * same frames as the interpreter (vm/frame.h): compiled and interpreted
 * frames call each other, the collector and the unwinder walk both alike.
 *
 * Tiering: a function is compiled when the interpreter finds it hot
 * (vm_rtfunc.calls run out, or its loops take JIT_HOT_LOOPS back-edges,
 * seen at a poll); a frame already running a hot loop continues in the
 * machine code from the loop's header (on-stack replacement). With
 * --jit=always every function is compiled when the program is loaded.
 *
 * On a machine other than x86-64 Linux the JIT is absent: jit_available()
 * is false, jit_hot never compiles and everything is interpreted.
 */
#ifndef KILN_JIT_H
#define KILN_JIT_H

#include "../vm/vm.h"

/* What compiled code returns to C: st 0 and the frame's result v, or st
 * nonzero when an error left the frame (vm_ctx.unwinding: searched). */
typedef struct jit_ret {
    int64_t st;
    vm_value v;
} jit_ret;

/* Tier-up thresholds (chosen by measurement: docs/jit.md; a build may
 * set others, e.g. EXTRA=-DJIT_HOT_CALLS=50, to measure them). */
#ifndef JIT_HOT_CALLS
#define JIT_HOT_CALLS 200
#endif
#ifndef JIT_HOT_LOOPS
#define JIT_HOT_LOOPS 500
#endif

/* jit_available: this build can compile (x86-64 Linux). */
bool jit_available(void);

/* jit_init: the JIT's state for vm->cfg.jit (nothing when off or not
 * available); false when memory runs out. jit_free releases the code. */
bool jit_init(kiln_vm *vm);
void jit_free(kiln_vm *vm);

/* jit_hot: f is hot (its call count ran out, or its loops): compiles it
 * if the JIT is on and it can be. True when f has machine code. */
bool jit_hot(kiln_vm *vm, vm_rtfunc *f);

/* jit_compile_all: --jit=always: compiles every function of the program. */
void jit_compile_all(kiln_vm *vm);

/* jit_call: runs compiled f in the frame at R (record and registers set,
 * f == R's function) until it returns. jit_osr: the frame at R, running
 * in the interpreter at a loop header `at`, continues in f's machine code
 * there until it returns. */
jit_ret jit_call(kiln_vm *vm, vm_value *R);
jit_ret jit_osr(kiln_vm *vm, vm_value *R, const uint32_t *at);

/* jit_thread_enter: at the outermost entry into guest code: finds the
 * machine stack of the calling thread, for jit_c_stack_low. */
void jit_thread_enter(kiln_vm *vm);

/* jit_c_stack_low: the machine stack is nearly used up: a call that would
 * nest another activation must raise a stack overflow instead. */
static inline bool jit_c_stack_low(const kiln_vm *vm)
{
    return (uintptr_t)__builtin_frame_address(0) < vm->ctx->c_limit;
}

/* The JIT's counters (--jit-stats, kiln_jit_stats). */
typedef struct jit_stats {
    uint64_t functions, instructions, bytes, osr_entries, failed, ns, inlined;
    bool cache_full;
} jit_stats;
void jit_get_stats(const kiln_vm *vm, jit_stats *out);

/* jit_disassemble: appends to `out` each compiled function's machine code
 * beside its bytecode (kiln dis --jit); false when capstone is missing. */
bool jit_disassemble(kiln_vm *vm, vm_buf *out);

#endif
