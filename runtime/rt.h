/*
 * rt.h — runtime services shared by the interpreter and the natives: the
 * one function that raises guest errors, stack traces, and value
 * formatting.
 */
#ifndef KILN_RT_H
#define KILN_RT_H

#include <signal.h>
#include <stdio.h>

#include "../vm/vm.h"

/* The built-in error classes (docs/language.md, "Errors"). */
enum {
    RT_ERR_NONE,
    RT_ERR_ERROR,
    RT_ERR_NULL,
    RT_ERR_INDEX,
    RT_ERR_KEY,
    RT_ERR_ARITH,
    RT_ERR_CAST,
    RT_ERR_VALUE,
    RT_ERR_STACK,
    RT_ERR_OOM,
    RT_ERR_IO,
    RT_ERR_PERM,
    RT_ERR_INIT,
    RT_ERR_CHANNEL,
    RT_ERR_DEADLOCK,
    RT_ERR__COUNT
};
const char *rt_error_class(int kind);

/* Not an error: os.exit() unwinds the whole guest with this kind, which no
 * catch clause takes; kiln_run then returns KILN_OK. */
enum { RT_EXIT = 100 };

/* A fault of the VM itself (a --gc-verify failure): reported like an
 * uncaught error, but no catch clause takes it. */
enum { RT_FATAL = 101 };

/* A limit of the embedder (fuel, kiln_interrupt) stopped the guest: no
 * catch clause takes it; kiln_run returns KILN_ERR_LIMIT. */
enum { RT_LIMIT = 102 };

/* A native passes on the error of a kiln_call that failed: the error
 * object is the context's pending one (vm->ctx->pending). */
enum { RT_PENDING = 103 };

/* A fiber still running or blocked when the run ends is resumed with
 * this kind, which no catch clause takes and no trace records: its frames
 * unwind and it ends (rt_fiber.c). */
enum { RT_CANCEL = 104 };

/* rt_raise: records a guest error of `kind` with a printf-style message in
 * the running context (vm->ctx->err_kind, err_msg). The caller then unwinds (the interpreter) or
 * returns -1 (a native). Raising never allocates, so it works when memory is exhausted. */
void rt_raise(kiln_vm *vm, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* rt_error_object: the error being raised (vm->ctx->err_kind, err_msg) as
 * an instance of its built-in class, for catch clauses to match. When
 * there is no memory for it, the VM's preallocated OutOfMemoryError; NULL
 * only for an image without the built-in classes (nothing can catch it). */
vm_inst *rt_error_object(kiln_vm *vm);

/* rt_error_link: finds the built-in error classes of the loaded image and
 * preallocates the OutOfMemoryError. Returns false when memory runs out. */
bool rt_error_link(kiln_vm *vm);

/* rt_trace_*: build the text of an uncaught error in vm->error: the
 * "error: Class: message" line for `exc` (or, when NULL, for the raised
 * vm->ctx->err_kind), then one "  at fn (file:line)" line per frame, innermost
 * first. Frames between the first KILN_TRACE_HEAD and the last
 * KILN_TRACE_TAIL are elided with a count. */
void rt_trace_begin(kiln_vm *vm, const vm_inst *exc);
/* rt_trace_fiber: the trace of error `exc` that ended a fiber no join
 * waited for, `where` its frames ("fiber 2\n  at worker (a.kn:3)"). */
void rt_trace_fiber(kiln_vm *vm, const vm_inst *exc, const char *where);
void rt_trace_frame(kiln_vm *vm, const vm_func *f, uint32_t pc, uint32_t index, uint32_t depth);

/* rt_sys_check: may the guest do `op` (a VM_ALLOW_* bit; `path` the
 * file concerned, or NULL)? Every host access of the standard library
 * asks first. Traced with KILN_FLAG_TRACE_SYS; false after raising
 * PermissionError. */
bool rt_sys_check(kiln_vm *vm, unsigned bit, const char *op, const char *path);
/* RT_SYS_NAME, or'd into the bit: the call acts on the path's last name
 * itself (removing or renaming it), not on what a symlink there leads to,
 * so its folder must be inside the allowed folders, not the link's
 * target (the call then works through that folder's fd: rt_sys_parent_fd). */
enum { RT_SYS_NAME = 1u << 30 };

/* rt_sys_allowed: the same decision, traced the same way, without raising
 * (for the compiler's reading of imports, when no guest runs): false with
 * the reason in why. */
bool rt_sys_allowed(kiln_vm *vm, unsigned bit, const char *op, const char *path, char *why,
                    size_t whylen);

/* rt_sys_open: rt_sys_check for file `path`, then opens it (to read;
 * `write`: to write, created or emptied) with the check made again on
 * what was opened, so that a symlink swapped in after the check cannot
 * lead out of the allowed folders: the real path of the file opened must
 * be inside them; a file is created only by name in a folder opened and
 * checked first, never through a symlink. The FILE, or NULL after raising
 * PermissionError or IOError. */
FILE *rt_sys_open(kiln_vm *vm, unsigned bit, const char *op, const char *path, bool write);
/* rt_sys_fopen: the same without raising: NULL with the reason in why,
 * *denied true when the permission layer refused. */
FILE *rt_sys_fopen(kiln_vm *vm, unsigned bit, const char *op, const char *path, bool write,
                   char *why, size_t whylen, bool *denied);

/* rt_sys_check_ffi: may the guest load library `lib` (sym NULL: `op` is
 * "ffi.load") or look up its symbol `sym` ("ffi.symbol")? The FFI bit,
 * and the embedder's list of libraries (vm_config.ffi_libs) when it has
 * one. Traced and raised like rt_sys_check. */
bool rt_sys_check_ffi(kiln_vm *vm, const char *op, const char *lib, const char *sym);
/* rt_sys_check_net: may the guest connect to or listen on host:port
 * (op "net.connect", "net.listen")? The NET bit and the embedder's
 * net_hosts. rt_sys_check_run: may it run `program` (op "process.run")?
 * The RUN bit and run_programs. Traced and raised like rt_sys_check. */
bool rt_sys_check_net(kiln_vm *vm, const char *op, const char *host, int port);
bool rt_sys_check_run(kiln_vm *vm, const char *op, const char *program);

/* rt_sys_real_dirs: the real paths of the folders of `dirs` (NULL: NULL)
 * into *out, to free with rt_sys_free_dirs; false when out of memory. The
 * VM resolves its read_dirs and write_dirs once, when it is made, and
 * checks against these: a folder the guest can rename (a read folder
 * inside a write folder) cannot become a symlink leading out afterwards.
 * A folder that does not resolve then allows nothing. */
bool rt_sys_real_dirs(const char *const *dirs, const char *const **out);
void rt_sys_free_dirs(const char *const *dirs);

/* For the fs module (stdlib/std_fs.c), what opens a file on libuv's
 * threadpool after rt_sys_check on the VM's thread: no VM state is read
 * but `dirs` (vm->cfg.read_dirs or write_dirs: real paths, NULL: anywhere), nothing
 * traced or raised. rt_sys_open_fd: opens `path` to read, write (created
 * or emptied), append (created), stat (O_PATH) or list (a folder), then
 * checks what was opened (as rt_sys_open does); the fd (O_CLOEXEC, and
 * O_NONBLOCK to read or write), -errno, or RT_SYS_OUTSIDE.
 * rt_sys_parent_fd: the folder holding `path`'s last name (an O_PATH fd
 * for the *at calls, checked), that name in base (baselen bytes); -EINVAL
 * for "/", "." and "..". rt_sys_outside: traces `op path` as denied
 * because of what was opened, and raises PermissionError. */
enum { RT_FD_READ, RT_FD_WRITE, RT_FD_APPEND, RT_FD_STAT, RT_FD_DIR };
enum { RT_SYS_OUTSIDE = -100000 };
int rt_sys_open_fd(const char *const *dirs, const char *path, int how);
int rt_sys_parent_fd(const char *const *dirs, const char *path, char *base, size_t baselen);
void rt_sys_outside(kiln_vm *vm, const char *op, const char *path);
/* rt_nopipe_begin / rt_nopipe_end: SIGPIPE blocked on this thread while
 * it writes to a socket or pipe whose reader may have gone (the loop's
 * turns, a socket's write, a worker's write): the write fails with EPIPE
 * (the guest's IOError) and the signal it raises is taken at the end,
 * never delivered, whatever the host's disposition (by default it would
 * end the process). */
typedef struct rt_nopipe {
    sigset_t old;
} rt_nopipe;
void rt_nopipe_begin(rt_nopipe *p);
void rt_nopipe_end(rt_nopipe *p);
/* rt_raise_errno: raises the OS's error `err` (an errno) with the
 * printf-style message, to which ": ENAME: what it means" is added, as
 * the prelude's IOError subclass for it (NotFoundError for ENOENT,
 * FileExistsError, IsADirectoryError, NotADirectoryError, NotEmptyError,
 * PermissionError for EACCES and EPERM), else as IOError. */
void rt_raise_errno(kiln_vm *vm, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* rt_ffi_link: makes the image's extern functions natives of the VM
 * (vm->natives[], vm->ffi); nothing is loaded before the first call.
 * False when memory runs out. rt_ffi_free: closes the libraries. */
bool rt_ffi_link(kiln_vm *vm);
void rt_ffi_free(kiln_vm *vm);
/* rt_ffi_mark: marks what extern calls in progress hold (a callback's
 * error, until C returns); from the collector's roots callback. */
void rt_ffi_mark(kiln_vm *vm);

/* rt_format_float: writes `d` as docs/language.md specifies (Python's repr: the
 * shortest digits that read back to the same double) to buf, which must
 * hold 32 bytes. Returns the length. */
size_t rt_format_float(double d, char *buf);

/* rt_format_int: writes `v` in decimal to buf (24 bytes); returns the length. */
size_t rt_format_int(int64_t v, char *buf);

/* rt_format_spec: value v of kind 'i' 'f' 's' 'b' (int, float, str, bool)
 * as format spec f (parsed and fitting, vm_fmtspec_fits) says: a new str,
 * or NULL after raising. */
vm_str *rt_format_spec(kiln_vm *vm, const vm_fmtspec *f, char kind, vm_value v);

/* ---- Fibers (rt_fiber.c) ----
 * Each fiber has an execution context and a machine stack of its own, so
 * it can be suspended anywhere, a native that called back into Kiln
 * included; one fiber of a VM runs at a time, until it blocks. The main
 * program is the VM's own context, on the caller's stack. A blocked fiber
 * waits for rt_fiber_wake; when none can run, the VM's libuv loop runs
 * until one can (timers); when nothing is pending there either, the main
 * program gets DeadlockError. */
struct rt_fiber;
/* rt_fiber_spawn: a new fiber that will call `fn` (no parameters), queued
 * to run after those already runnable; its Fiber in *out. -1 after
 * raising (out of memory). */
int rt_fiber_spawn(kiln_vm *vm, vm_closure *fn, vm_value *out);
/* rt_fiber_current: the running fiber's Fiber object (NULL after raising). */
vm_fiberobj *rt_fiber_current(kiln_vm *vm);
/* rt_fiber_park: the running fiber waits until rt_fiber_wake names it
 * (it may be woken for nothing: callers wait in a loop). -1 after raising:
 * DeadlockError, a limit (interrupt, time), or the end of the run. */
int rt_fiber_park(kiln_vm *vm);
/* rt_fiber_wake: makes the fiber of `o` runnable if it waits (else nothing). */
void rt_fiber_wake(kiln_vm *vm, vm_fiberobj *o);
/* rt_fiber_cancelled: the running fiber is being stopped by the end of
 * the run: a native it is in gets no more guest code run (kiln_call
 * fails) and fails itself whatever it returns. */
bool rt_fiber_cancelled(kiln_vm *vm);
/* rt_fiber_ended: the fiber of `o` has ended (a channel skips what such
 * a fiber left waiting: one a run's end stopped). */
bool rt_fiber_ended(vm_fiberobj *o);
/* rt_fiber_join: waits until the fiber of `o` ends; -1 after raising its
 * uncaught error again (or DeadlockError, or a limit). */
int rt_fiber_join(kiln_vm *vm, vm_fiberobj *o);
/* rt_fiber_sleep: the running fiber waits `ms` milliseconds (0: lets the
 * others that can run go first). -1 after raising. */
int rt_fiber_sleep(kiln_vm *vm, int64_t ms);
/* rt_fiber_end: at the end of a run (and at kiln_free): every fiber still
 * alive is resumed to unwind (RT_CANCEL) and ends; returns the error of a
 * fiber that ended with one no join took (the run's error when the main
 * program succeeded), else NULL. Only from the main program's context. */
struct rt_fiber *rt_fiber_end(kiln_vm *vm);
/* rt_fiber_report: makes that fiber's error the run's (vm->error,
 * kiln_error_class...), as an uncaught error of the main program is. */
void rt_fiber_report(kiln_vm *vm, struct rt_fiber *f);
/* The collector's view: every fiber's context and objects are roots
 * (rt_fiber_mark); a Fiber holds its error (rt_fiber_trace); a Fiber
 * freed releases its fiber (rt_fiber_release). */
void rt_fiber_mark(gc_heap *h, kiln_vm *vm);
void rt_fiber_trace(gc_heap *h, vm_fiberobj *o);
void rt_fiber_release(kiln_vm *vm, vm_fiberobj *o);
/* rt_fiber_trace_of: the trace of the fiber that ended with `exc`
 * uncaught ("fiber 2\n    at worker (a.kn:3)..."), or NULL. */
const char *rt_fiber_trace_of(kiln_vm *vm, const vm_inst *exc);
/* ---- Host I/O on the event loop (the standard modules) ----
 * A native that waits for the host starts a libuv request or handle
 * operation on rt_io_loop(vm), whose callback calls rt_io_done(w); then
 * rt_io_wait(vm, w) parks the calling fiber until it has (others run
 * meanwhile). `w` (with whatever the callback writes) must outlive the
 * callback: when rt_io_wait fails (a limit, the end of the run), the native
 * cancels or closes what it started and calls rt_io_drain(vm, w), which
 * runs the loop until the callback has run, before it returns -1. */
typedef struct rt_io {
    struct rt_fiber *fiber;
    bool done;
    int status; /* the callback's result, for the native */
} rt_io;
/* rt_io_loop: the VM's loop (made at its first use); NULL after raising. */
struct uv_loop_s *rt_io_loop(kiln_vm *vm);
void rt_io_begin(kiln_vm *vm, rt_io *w);
void rt_io_done(rt_io *w);
int rt_io_wait(kiln_vm *vm, rt_io *w);
void rt_io_drain(kiln_vm *vm, rt_io *w);

/* rt_io_keep: a handle that stays open after the object that had it is
 * freed (a child process not ended yet: the loop reaps it when it ends),
 * until rt_io_unkeep; rt_fiber_free closes one still kept with `closed`,
 * on the VM's own loop and on the host's. */
typedef struct rt_kept {
    struct uv_handle_s *h;
    void (*closed)(struct uv_handle_s *h);
    struct rt_kept *prev, *next;
} rt_kept;
void rt_io_keep(kiln_vm *vm, rt_kept *k, struct uv_handle_s *h,
                void (*closed)(struct uv_handle_s *h));
void rt_io_unkeep(kiln_vm *vm, rt_kept *k);

/* rt_fiber_free: the scheduler and its loop, at kiln_free. */
void rt_fiber_free(kiln_vm *vm);

#endif
