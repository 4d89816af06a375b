/*
 * std.h — the standard library's natives, as one table the linker (vm/)
 * resolves image references against and the compiler type-checks calls
 * against. A native is found by its name and parameter types, so builtins
 * such as print and str have one entry per parameter type.
 */
#ifndef KILN_STD_H
#define KILN_STD_H

#include <stdatomic.h>
#include <sys/types.h>

#include "../vm/vm.h"

/* Kiln source of the built-in classes, compiled before every program
 * (std_prelude.c). */
extern const char std_prelude[];

/* A row of a module's table: a native's signature and its function. */
#define STD_NATIVE(name, params, ret, fn) \
    { \
        {name, params, ret, NULL, true}, fn, NULL, NULL, NULL \
    }

/* ... and one whose parameters or result (letter T) are types of the
 * prelude written as text: types[i] for parameter i, types[nparams] for
 * the result. */
#define STD_TYPED(name, params, ret, types, fn) \
    { \
        {name, params, ret, types, true}, fn, NULL, NULL, NULL \
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
    std_time_natives[], std_net_natives[], std_fs_natives[], std_process_natives[];
extern const size_t std_core_count, std_math_count, std_os_count, std_io_count, std_ffi_count,
    std_text_count, std_random_count, std_fiber_count, std_time_count, std_net_count, std_fs_count,
    std_process_count;

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

/* std_work: runs fn(arg, stop) on libuv's threadpool while the calling
 * fiber waits (others run). 0 when fn has returned; -1 after raising
 * when a limit or the end of the run stopped the wait: *stop was set
 * (fn must then return within about 10 ms: std_read_fd does) and fn has
 * returned or never ran; what fn did is the caller's to undo, seen in
 * what fn wrote to arg (std_fs.c). */
int std_work(kiln_vm *vm, void (*fn)(void *arg, const atomic_bool *stop), void *arg);
/* std_read_fd: on a worker, reads up to n bytes of fd (a file, a pipe or
 * a terminal, blocking or not), waiting for them in polls of 10 ms while
 * *stop is false: the bytes read (0 at the end), or -errno (-ECANCELED
 * once stopped). */
ssize_t std_read_fd(int fd, void *buf, size_t n, const atomic_bool *stop);
/* std_write_fd: on a worker, writes all n bytes of p to fd, waiting as
 * std_read_fd does: n, or -errno (-ECANCELED once stopped), with *done
 * the bytes written. */
ssize_t std_write_fd(int fd, const char *p, size_t n, const atomic_bool *stop, size_t *done);
/* std_res_closing: the resource object v for its close() (`what`,
 * "File.close"): 0 with *out the object, or NULL when it is closed
 * already (closing again does nothing); -1 after raising (null, or not an
 * object the runtime made). */
int std_res_closing(kiln_vm *vm, vm_value v, const char *what, vm_resobj **out);

#endif
