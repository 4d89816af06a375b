/*
 * interp.h — the interpreter: the execution layer's first tier, over the
 * VM layer (vm/vm.h, vm/frame.h) and the runtime's errors (runtime/rt.h).
 */
#ifndef KILN_INTERP_H
#define KILN_INTERP_H

#include "../vm/vm.h"

/* interp_call: the interpreter's entry (a vm_entry_fn, what vm_rtfunc.entry
 * holds until a JIT replaces it): runs `f` in the VM's current context with
 * `args` (its parameters, or NULL when it has none) until it returns,
 * storing its result in *result. A native calling back in pushes the new
 * frames above the one it interrupted. Returns 0, -1 when a guest error
 * escaped (with the error and its stack trace in vm->error), or -2 when
 * the guest called os.exit (the code is in vm->exit_code). */
int interp_call(kiln_vm *vm, const vm_rtfunc *f, const vm_value *args, vm_value *result);

/* interp_run: interprets the frame at R — its record written, its
 * registers set — from its first instruction until it returns (its result
 * in *result: 0) or an error leaves it (-1, or -2 for os.exit). Compiled
 * code calls a callee that is not compiled through this; frames above R
 * return to R, and a catch below R is left to the caller (vm_ctx.catch_R). */
int interp_run(kiln_vm *vm, vm_value *R, vm_value *result);

/* interp_throw: the error object `exc` (NULL: no error class to make one
 * of) is being raised at frame R, at pc. Finds the catch clause that takes
 * it, from R out to the entry frame: its frame in vm_ctx.catch_R and its
 * handler in catch_pc, the error already stored in the clause's register;
 * or, uncaught, builds the stack trace (catch_R NULL). Either way sets
 * vm_ctx.unwinding: every frame above the catching one is left. */
void interp_throw(kiln_vm *vm, vm_value *R, const uint32_t *pc, struct vm_inst *exc);

#ifdef KILN_OPSTATS
#include <stdio.h>
/* interp_opstats (`make opstats` builds only): writes the instructions
 * executed so far, the most frequent opcodes and opcode pairs, to out. */
void interp_opstats(const kiln_vm *vm, FILE *out);
#endif

#endif
