/*
 * interp.h — the interpreter's entry point.
 */
#ifndef KILN_INTERP_H
#define KILN_INTERP_H

#include "../vm/vm.h"

/* interp_call: runs function `fi` of the loaded program with `args` (its
 * parameters, or NULL when it has none) until it returns, storing its
 * result in *result. Returns 0, -1 when a guest error escaped (with the
 * error and its stack trace in vm->error), or -2 when the guest called
 * os.exit (the code is in vm->exit_code). */
int interp_call(kiln_vm *vm, uint32_t fi, const vm_value *args, vm_value *result);

/* interp_mark_frames: marks the references in every active frame, from
 * vm->frame_R outwards, through each function's root map. */
void interp_mark_frames(kiln_vm *vm, gc_heap *h);

#ifdef KILN_OPSTATS
#include <stdio.h>
/* interp_opstats (`make opstats` builds only): writes the instructions
 * executed so far, the most frequent opcodes and opcode pairs, to out. */
void interp_opstats(const kiln_vm *vm, FILE *out);
#endif

#endif
