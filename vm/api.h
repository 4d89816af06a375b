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

/* vm_fibers_end: at the end of a run or an outermost call that ended with
 * `rc` (0, -1, -2), the fibers still alive are ended (rt_fiber_end);
 * returns -1 when a fiber's error no join took becomes the outcome (rc
 * was 0), else rc. `keep` (a result, or NULL) is held meanwhile. */
int vm_fibers_end(kiln_vm *vm, int rc, vm_value *keep);

/* vm_handle_tag: the mark kiln_new gives the VM's handles (vm_embed.c). */
uint16_t vm_handle_tag(const kiln_vm *vm);

/* The embedding layer's own helpers (vm_embed.c), for vm_values.c:
 * vm_api_fail: the message into kiln_error; KILN_ERR_API.
 * vm_handle_new: a handle for object obj of static type `type` (KILN_NULL
 *   for a null object, or when memory runs out).
 * vm_handle_check: the live slot handle v names, or NULL with why not.
 * vm_from_host: host value `a` as a guest value of type t; false if it is
 *   of another type.
 * vm_to_host: guest value v of type t for the host (a new handle for an
 *   object).
 * vm_kind_name: "int", "str", "reference" ... for messages. */
kiln_status vm_api_fail(kiln_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
kiln_value vm_handle_new(kiln_vm *vm, void *obj, uint32_t type);
struct vm_handle *vm_handle_check(const kiln_vm *vm, kiln_value v, const char **why);
bool vm_from_host(kiln_vm *vm, kiln_value a, uint32_t t, vm_value *out);
kiln_value vm_to_host(kiln_vm *vm, vm_value v, uint32_t t);
const char *vm_kind_name(kiln_value v);
/* vm_value_type: v's type for messages: a handle's as the language
 * writes it ("[int]", "Point"), else its kind; vm_type_text: type t so
 * (both into buf, which they return, or a constant). */
const char *vm_value_type(kiln_vm *vm, kiln_value v, char *buf, size_t n);
const char *vm_type_text(const vm_image *im, uint32_t t, char *buf, size_t n);
/* vm_api_type: the type of the loaded program that type text `text`
 * names (vm_type_named: "util.Point" exactly, "Point" the entry module's
 * or else the only one); after failing with `who`'s message, -1 when it
 * names none, -2 when it may name two (the message says what to write). */
int64_t vm_api_type(kiln_vm *vm, const char *text, const char *who);
/* vm_call_closure: kiln_call of function value c. */
kiln_status vm_call_closure(kiln_vm *vm, const vm_closure *c, const kiln_value *args, int nargs,
                            kiln_value *result);
/* vm_handles_release_all: releases every live handle (kiln_reset): each
 * is then stale, refused as "a released handle". */
void vm_handles_release_all(kiln_vm *vm);

/* vm_htypes_link: finds the class of each host type the program uses
 * (vm_values.c); false, with the reason in kiln_error, for an image whose
 * class of that name is not a HostObject without fields. */
bool vm_htypes_link(kiln_vm *vm);

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
