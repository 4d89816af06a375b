/*
 * api.h — internals of the public API layer (vm_core.c, vm_embed.c), the
 * top of the house: the only code that sees kiln.h's types together with
 * the compiler, the VM and the interpreter.
 */
#ifndef KILN_API_H
#define KILN_API_H

#include "../compiler/comp.h"
#include "kiln.h"
#include "vm.h"

/* The status of a run that ended in an uncaught error: KILN_ERR_LIMIT when
 * a limit (fuel, interrupt, the heap limit) stopped it, else
 * KILN_ERR_RUNTIME. */
kiln_status vm_failure_status(const kiln_vm *vm);

/* vm_handle_tag: the mark kiln_new gives the VM's handles (vm_embed.c). */
uint16_t vm_handle_tag(const kiln_vm *vm);

/* vm_handles_release_all: releases every live handle (kiln_reset): each
 * is then stale, refused as "a released handle". */
void vm_handles_release_all(kiln_vm *vm);

/* vm_embed_free: frees the embedder's natives and the handle table. */
void vm_embed_free(kiln_vm *vm);

/* vm_run_function: runs function `fi` of the loaded program from C through
 * its entry pointer, with `args` (NULL when it has none); the result in
 * *result. 0, -1 (uncaught error) or -2 (os.exit), as vm_entry_fn. */
int vm_run_function(kiln_vm *vm, uint32_t fi, const vm_value *args, vm_value *result);

/* vm_ctx_ready: makes the current context's stack on first use (loading
 * needs none); false with the error in vm->error when memory runs out. */
bool vm_ctx_ready(kiln_vm *vm);

/* vm_compile_env: what the compiler is given for `vm`: its natives (the
 * embedder's, then the standard library's), the prelude, the standard
 * modules, and reading imported files. With vm NULL: the standard library
 * alone, and no files (for tests of the compiler). */
comp_env vm_compile_env(const kiln_vm *vm);

#endif
