/*
 * std.h — the standard library's natives, as one table the linker (vm/)
 * resolves image references against and the compiler type-checks calls
 * against. A native is found by its name and parameter types, so builtins
 * such as print and str have one entry per parameter type.
 */
#ifndef KILN_STD_H
#define KILN_STD_H

#include "../vm/vm.h"

/* Kiln source of the built-in classes, compiled before every program
 * (std_prelude.c). */
extern const char std_prelude[];

/* A row of a module's table: a native's signature and its function. */
#define STD_NATIVE(name, params, ret, fn) \
    { \
        {name, params, ret, NULL}, fn, NULL, NULL, NULL \
    }

/* ... and one whose parameters or result (letter T) are types of the
 * prelude written as text: types[i] for parameter i, types[nparams] for
 * the result. */
#define STD_TYPED(name, params, ret, types, fn) \
    { \
        {name, params, ret, types}, fn, NULL, NULL, NULL \
    }

/* Every native, module by module: std_native(i) for i < std_natives_count(). */
const vm_native *std_native(size_t i);
size_t std_natives_count(void);

/* The modules `import` knows: each has natives named "module.name" and
 * may have constants (std_module_const). */
bool std_module_exists(const char *name, uint32_t len);
/* A module constant: 'f' with a float in *value (math.PI), 'i' with an
 * int in *ivalue (math.INT_MAX), 0 when there is none. */
char std_module_const(const char *module, uint32_t mlen, const char *name, uint32_t len,
                      double *value, int64_t *ivalue);

/* The tables of each file. */
extern const vm_native std_core_natives[], std_math_natives[], std_os_natives[], std_io_natives[],
    std_ffi_natives[], std_text_natives[], std_random_natives[], std_fiber_natives[],
    std_time_natives[], std_net_natives[];
extern const size_t std_core_count, std_math_count, std_os_count, std_io_count, std_ffi_count,
    std_text_count, std_random_count, std_fiber_count, std_time_count, std_net_count;

/* std_arg_str: the str argument args[i] of native `fn`, or NULL after
 * raising NullError when it is null. */
vm_str *std_arg_str(kiln_vm *vm, vm_value *args, int i, const char *fn);

/* std_print: v (of signature letter type i f b s) as print shows it, and a
 * newline, to stream 1 (stdout) or 2 (stderr). */
void std_print(kiln_vm *vm, int stream, char type, vm_value v);

/* std_push_str: appends a new string of the `n` bytes at `p` to `out`
 * (which the caller keeps reachable: natives that allocate more than once
 * hold what they made on the root stack, vm_root_push). False after
 * raising. */
bool std_push_str(kiln_vm *vm, vm_array *out, const char *p, size_t n);

#endif
