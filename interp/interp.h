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

#ifdef KILN_OPSTATS
#include <stdio.h>
/* interp_opstats (`make opstats` builds only): writes the instructions
 * executed so far, the most frequent opcodes and opcode pairs, to out. */
void interp_opstats(const kiln_vm *vm, FILE *out);
#endif

#endif
