/*
 * kiln.h — the public C API of the Kiln virtual machine (libkiln).
 *
 * A kiln_vm is one isolated virtual machine: its own heap, stack, globals
 * and loaded program. Nothing is shared between VMs and the library has no
 * mutable global state, so VMs on different threads run in parallel (one
 * thread at a time per VM). The library never exits, aborts or prints on
 * its own: failures come back as a kiln_status, with the text from
 * kiln_error, and guest output goes through the config's write hook.
 *
 * Typical use:
 *     kiln_vm *vm = kiln_new(NULL);
 *     if (kiln_load_file(vm, "app.kn") != KILN_OK || kiln_run(vm) != KILN_OK)
 *         fprintf(stderr, "%s\n", kiln_error(vm));
 *     kiln_free(vm);
 */
#ifndef KILN_H
#define KILN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define KILN_API __attribute__((visibility("default")))
#else
#define KILN_API
#endif

typedef struct kiln_vm kiln_vm;
struct kiln_module;

/* A value crossing the API: scalars by value; strings and other objects
 * (arrays, maps, objects, function values) as handles, which keep their
 * object alive until kiln_release. A null string or object is KILN_NULL. */
typedef enum { KILN_NULL, KILN_INT, KILN_FLOAT, KILN_BOOL, KILN_STR, KILN_REF } kiln_type;
typedef struct {
    kiln_type type;
    union {
        int64_t i;
        double f;
        bool b;
        void *h; /* KILN_STR, KILN_REF: a handle */
    } as;
} kiln_value;

typedef enum {
    KILN_OK = 0,
    KILN_ERR_COMPILE, /* the source has errors: kiln_error lists them */
    KILN_ERR_LOAD,    /* the image is malformed or fails verification */
    KILN_ERR_RUNTIME, /* the guest raised an error it did not catch */
    KILN_ERR_LIMIT,   /* a configured limit stopped the guest: fuel, kiln_interrupt,
                         or the heap limit's OutOfMemoryError left uncaught */
    KILN_ERR_API,     /* the API was misused (NULL VM, nothing loaded...) */
    KILN_EXITED       /* kiln_call: the guest called os.exit, so the function gave no
                         result; kiln_exit_code has the code */
} kiln_status;

/* Bits of kiln_config.flags. */
enum {
    KILN_FLAG_NO_CHECKSUM = 1, /* load images without checking the checksum */
    KILN_FLAG_GC_STRESS = 2,   /* collect garbage at every allocation (testing) */
    KILN_FLAG_GC_VERIFY = 4,   /* check the heap after every collection (testing) */
    KILN_FLAG_TRACE_SYS = 8,   /* report each host access and the decision on stderr */
    KILN_FLAG_PERF_MAP = 16    /* JIT: name compiled functions in /tmp/perf-PID.map */
};

/* Values of kiln_config.jit: how guest code runs. The JIT exists on
 * x86-64 Linux; elsewhere every setting interprets (kiln_jit_stats says
 * whether it is available). */
enum {
    KILN_JIT_DEFAULT = 0, /* the same as KILN_JIT_ON */
    KILN_JIT_ON = 1,      /* interpret first; compile hot functions and loops */
    KILN_JIT_OFF = 2,     /* interpret only */
    KILN_JIT_ALWAYS = 3   /* compile every function when the program loads (testing) */
};

/* Bits of kiln_config.allow: what the guest may do to the host. Every
 * standard-library function that touches the host checks its bit; denied,
 * it throws PermissionError. */
enum {
    KILN_ALLOW_READ = 1,   /* io.read_file, fs reads (and imports from disk, see load_module) */
    KILN_ALLOW_WRITE = 2,  /* io.write_file, fs writes, mkdir, remove, rename */
    KILN_ALLOW_ENV = 4,    /* os.env */
    KILN_ALLOW_NET = 8,    /* the net module: connect and listen (net_hosts) */
    KILN_ALLOW_RUN = 16,   /* the process module: run programs (run_programs) */
    KILN_ALLOW_FFI = 32,   /* extern functions: loading C libraries and calling them */
    KILN_ALLOW_STDIN = 64, /* io.read_line: standard input, or kiln_config.read */
    KILN_ALLOW_ALL = 127
};

typedef struct {
    /* Bytes the guest's objects may occupy, 0 = none. Past it, after a full
     * collection, the guest gets an OutOfMemoryError. */
    size_t heap_limit;
    /* Instructions one kiln_run (or kiln_call) may execute, 0 = no limit;
     * then it stops with KILN_ERR_LIMIT. Counted where loops jump back
     * (a loop's length each iteration), at calls and at the entry of a
     * catch clause (one each), so it is exact for loops and calls and
     * bounds everything else; builtins that copy, fill or search count
     * one per 64 bytes of the work, and so does making an object of 4 KiB
     * or more. While every fiber waits (sleep, I/O), the wait counts a
     * million a second. */
    uint64_t fuel;
    unsigned allow; /* KILN_ALLOW_* bits; kiln_config_init sets 0: nothing */
    /* With KILN_ALLOW_READ / KILN_ALLOW_WRITE: the folders whose files
     * (and subfolders') the guest may read / write, a NULL-terminated list
     * that must stay valid while the VM lives; NULL: anywhere. The folders
     * are resolved once, by kiln_new (one missing then allows nothing), so
     * that one the guest can rename cannot become a symlink leading out.
     * Paths are resolved (symlinks, `..`) before the check, and what is
     * opened is checked again (a symlink swapped in between cannot lead
     * out). */
    const char *const *read_dirs;
    const char *const *write_dirs;
    unsigned flags; /* KILN_FLAG_* bits */
    /* Guest output: stream 1 is stdout, 2 is stderr. NULL writes to the
     * process's stdout and stderr. */
    void (*write)(void *userdata, int stream, const char *bytes, size_t len);
    void *userdata;
    int jit;               /* KILN_JIT_* */
    size_t jit_code_limit; /* bytes of machine code the JIT may keep, 0 = 64 MiB; past
                              it, functions stay interpreted */
    /* With KILN_ALLOW_FFI: the C libraries extern functions may load, as
     * a program names them ("libm.so.6"), a NULL-terminated list that must
     * stay valid while the VM lives; NULL: any. */
    const char *const *ffi_libs;
    /* With KILN_ALLOW_NET: the "HOST:PORT" pairs the guest may connect to
     * or listen on ("127.0.0.1:8080", "[::1]:0", "localhost:*" for any
     * port of a host), a NULL-terminated list that must stay valid while
     * the VM lives; NULL: any. With KILN_ALLOW_RUN: the programs the
     * guest may run, as it names them ("ls", "/bin/echo"), each found as
     * the host would (in its PATH, from its folder; not the guest's env or
     * cwd); NULL: any. */
    const char *const *net_hosts;
    const char *const *run_programs;
    /* The machine stack of each fiber (spawn), in bytes, below a guard
     * page: 0 = 256 KiB; at least 64 KiB, rounded up to whole pages. Only
     * the pages a fiber touches are memory. Natives of the host a fiber
     * calls run on it. */
    size_t fiber_stack;
    /* The host's libuv loop (a uv_loop_t *) for the guest's fibers, timers
     * and sockets, NULL for one of the VM's own (made at the first spawn,
     * sleep or socket). The VM runs it while every fiber waits, inside
     * kiln_run and kiln_call, so the host's handles on it are served
     * meanwhile; so kiln_run and kiln_call must not be called from one of
     * its callbacks (libuv's loop is not reentrant: they, kiln_reset and
     * kiln_free are refused there while the VM turns it), and with handles of
     * the host's alive a guest whose fibers all wait waits for them rather
     * than getting DeadlockError. kiln_free closes the VM's handles and
     * runs the loop once, without waiting, for their callbacks. */
    void *loop;
    /* Wall-clock seconds each kiln_run or kiln_call may take, 0 = no
     * limit; then it stops with KILN_ERR_LIMIT, "stopped: out of time".
     * Checked where fuel is counted and when a native returns. */
    double timeout;

    /* ---- Loader, reset, I/O (kiln_reset below kiln_run) ---- */
    /* Guest input (KILN_ALLOW_STDIN): with it, io.read_line reads what
     * `read` gives instead of the process's stdin. It stores up to `cap`
     * bytes at `buf` and returns how many (1..cap), 0 at the end of the
     * input, or a negative number for a failure (the guest gets IOError).
     * Called with `userdata` (the write hook's), on the thread running the
     * guest; an interrupt or the timeout is looked at when it returns.
     * NULL: the process's stdin (polled, so kiln_interrupt stops a guest
     * waiting on it). */
    long (*read)(void *userdata, char *buf, size_t cap);
    /* Imports: called with `loader_userdata` for each `import NAME` of a
     * program compiled by kiln_load_source or kiln_load_file, before the
     * disk is looked at (see kiln_module); NULL: the disk alone. */
    kiln_status (*load_module)(void *loader_userdata, const char *name, struct kiln_module *out);
    void *loader_userdata;
} kiln_config;

/* What a load_module hook answers for module `name` (out is zeroed
 * before the call):
 *   - KILN_OK with `src` set: the module's source, `len` bytes. `file`
 *     names it in diagnostics and stack traces (NULL: "NAME.kn"); the
 *     module's own imports go to the hook too.
 *   - KILN_OK with `src` NULL: not the hook's; the default loader reads
 *     NAME.kn beside the importing file, then the standard and native
 *     modules are looked at.
 *   - any other status: the import fails, a compile error naming the
 *     module and, when set, the hook's `error` text.
 * libkiln copies src, file and error at once, then calls `release` when
 * it is set (to free what the hook allocated: out->src of a generated
 * source), so a hook may serve static strings (release NULL) and
 * malloc'd ones alike without leaking. The default loader reads from
 * disk through the permission checks (KILN_ALLOW_READ and read_dirs;
 * traced by KILN_FLAG_TRACE_SYS as "import PATH"), except the modules
 * beside a file the host loaded with kiln_load_file: choosing the file
 * chose its folder. While the hook runs, the VM refuses what would change
 * the load under way (KILN_ERR_API): kiln_load_*, kiln_define_native,
 * kiln_define_type, kiln_free. */
typedef struct kiln_module {
    const char *src;
    size_t len;
    const char *file;
    const char *error;
    void (*release)(void *loader_userdata, struct kiln_module *m);
    void *data; /* the hook's own, for release (libkiln never reads it) */
} kiln_module;

/* kiln_config_init: fills `cfg` with the defaults (no limits, nothing
 * allowed, no flags, output to the process's streams). */
KILN_API void kiln_config_init(kiln_config *cfg);

/* kiln_new: a new VM configured by `cfg` (copied; NULL for the defaults).
 * Returns NULL only when memory runs out. */
KILN_API kiln_vm *kiln_new(const kiln_config *cfg);

/* kiln_free: releases `vm` and everything it allocated. NULL is ignored.
 * From inside `vm` (its native, a hook of its config, a finalizer of its
 * host types) it is refused: nothing is freed, and kiln_error says so. */
KILN_API void kiln_free(kiln_vm *vm);

/* kiln_load_source: compiles `len` bytes of Kiln source at `src` as the
 * program's root module; `name` is the file name used in diagnostics and
 * stack traces. A VM holds one program: loading into a VM that already has
 * one fails with KILN_ERR_API. */
KILN_API kiln_status kiln_load_source(kiln_vm *vm, const char *name, const char *src, size_t len);

/* kiln_load_image: loads and verifies a bytecode image of `len` bytes. */
KILN_API kiln_status kiln_load_image(kiln_vm *vm, const void *bytes, size_t len);

/* kiln_load_file: reads `path` and loads it as an image when it starts with
 * the image magic, else compiles it as source. Errors name the path. */
KILN_API kiln_status kiln_load_file(kiln_vm *vm, const char *path);

/* kiln_run: runs the loaded program: the root module's top-level
 * statements, then main() if it defines one. Each kiln_run starts the
 * globals as kiln_reset leaves them (zero values, declarations not yet
 * run), so a second run computes what the first did; unlike kiln_reset it
 * keeps the handles, the objects they hold and the random generator's
 * state. */
KILN_API kiln_status kiln_run(kiln_vm *vm);

/* ---- Loader, reset, I/O ---- */

/* kiln_reset: returns a loaded VM to the state right after its load,
 * much cheaper than kiln_free + kiln_new + load (no compiling, verifying
 * or linking; compiled machine code is kept): every global back to its
 * zero value with its declaration not yet run, every handle released
 * (a handle from before is then KILN_ERR_API, "a released handle"),
 * the random module's default generator unseeded, input the read hook
 * gave and the guest did not read dropped (an end of input forgotten),
 * the exit code and the error text cleared, and a full collection, which
 * frees everything the guest made. What the host set stays: the config,
 * kiln_set_limits, kiln_set_args, the natives. kiln_run then runs the
 * program as the first time. KILN_ERR_API with nothing loaded, or from a native (while
 * the guest runs). */
KILN_API kiln_status kiln_reset(kiln_vm *vm);

/* kiln_set_args: what os.args() returns: `argc` strings at `argv`, which
 * must stay valid while the VM runs. */
KILN_API kiln_status kiln_set_args(kiln_vm *vm, int argc, char **argv);

/* kiln_exit_code: the code the guest passed to os.exit() in the last
 * kiln_run (which then returned KILN_OK: the program ended as it chose)
 * or kiln_call (which then returned KILN_EXITED), else 0. Each kiln_run
 * and kiln_call from the host starts it at 0 again. */
KILN_API int kiln_exit_code(const kiln_vm *vm);

/* kiln_error: the text of the last failure (compile diagnostics, load error,
 * or guest error with its stack trace); "" when there was none. The pointer
 * stays valid until the next call on `vm`. */
KILN_API const char *kiln_error(const kiln_vm *vm);

/* kiln_image: the loaded program as image bytes (what `kiln build` writes).
 * The bytes belong to `vm`. */
KILN_API kiln_status kiln_image(kiln_vm *vm, const void **bytes, size_t *len);

/* kiln_disassemble: a text listing of the loaded program's bytecode,
 * NUL-terminated; it belongs to `vm`. */
KILN_API kiln_status kiln_disassemble(kiln_vm *vm, const char **text);

KILN_API kiln_value kiln_int(int64_t i);
KILN_API kiln_value kiln_float(double f);
KILN_API kiln_value kiln_bool(bool b);
KILN_API kiln_value kiln_null(void);

/* kiln_str: a new guest string of `len` bytes copied from `bytes`, as a
 * handle; KILN_NULL, with the reason in kiln_error, when memory runs out
 * (past the heap limit too), or, from a native, when making it (4 KiB or
 * more is charged as work) met the run's fuel, deadline or an interrupt:
 * the run then stops when the native returns, whatever it returns.
 * Release it with kiln_release. */
KILN_API kiln_value kiln_str(kiln_vm *vm, const char *bytes, size_t len);

/* kiln_str_bytes: the bytes of string handle `v` (NUL-terminated, *len set
 * when len is not NULL), valid while the handle lives; NULL (and a
 * message in kiln_error) if `v` is not a live string handle of `vm`. */
KILN_API const char *kiln_str_bytes(kiln_vm *vm, kiln_value v, size_t *len);

/* kiln_release: lets the object of handle `v` go (values without a
 * handle are ignored: KILN_OK). A native's arguments are released for it
 * when it returns; a result handed to the guest is taken over by the
 * guest. A handle already released, or one of another VM, is
 * KILN_ERR_API with a message, and nothing else happens: handles carry a
 * generation and their VM's mark, so a stale one never reaches the
 * object that now has its slot. */
KILN_API kiln_status kiln_release(kiln_vm *vm, kiln_value v);

/* kiln_call: calls the loaded program's top-level function `function`
 * ("f" in the root module, "util.f" in module util) with `nargs`
 * arguments of its parameter types, and stores its result (KILN_NULL for
 * none) in *result, a new handle for a string or object. Runs nothing
 * else: call kiln_run first when the function needs the globals set up.
 * Fuel counts per call. May be called from a native (re-entrantly).
 * KILN_ERR_API (with a message) for an unknown function or arguments of
 * the wrong number or type; KILN_ERR_RUNTIME for an uncaught guest error
 * (a StackOverflowError too: it is a guest error the guest may catch);
 * KILN_ERR_LIMIT when fuel or kiln_interrupt stop it; KILN_EXITED when
 * the guest calls os.exit (no result). From a native, an os.exit in the
 * call ends the whole run when the native returns, whatever it returns. */
KILN_API kiln_status kiln_call(kiln_vm *vm, const char *function, const kiln_value *args, int nargs,
                               kiln_value *result);

/* ---- Resolved entry points and globals ----
 *
 * kiln_find_function finds a top-level function once; kiln_call_fn then
 * calls it with no lookup by name:
 *
 *     kiln_fn step;
 *     if (kiln_find_function(vm, "step", "fn(int) -> int", &step) != KILN_OK)
 *         return fail(kiln_error(vm));
 *     for (int i = 0; i < n; i++)
 *         if (kiln_call_fn(vm, step, &(kiln_value){KILN_INT, .as.i = i}, 1, &r) != KILN_OK)
 *             ...
 */
typedef struct {
    uint64_t id; /* 0: none */
} kiln_fn;

/* kiln_find_function: the top-level function `name` of the loaded program
 * ("f" in the root module, "util.f" in module util) into *out. With
 * `type` not NULL, the function's type must be it, as the language writes
 * it ("fn(int, [str]) -> {str: int}", "fn()" for none; spaces are
 * ignored), else KILN_ERR_API naming the actual type. The handle stays
 * valid while the VM lives; it names a function of this VM only. */
KILN_API kiln_status kiln_find_function(kiln_vm *vm, const char *name, const char *type,
                                        kiln_fn *out);

/* kiln_call_fn: kiln_call of a function found by kiln_find_function
 * (the same arguments, results and statuses); a handle of another VM or
 * of none is KILN_ERR_API. */
KILN_API kiln_status kiln_call_fn(kiln_vm *vm, kiln_fn fn, const kiln_value *args, int nargs,
                                  kiln_value *result);

/* kiln_get_global: the value of the program's top-level variable `name`
 * ("count" in the root module, "util.count" in module util) into *out,
 * a new handle for a string or object. Before kiln_run, or before its
 * declaration has run, it holds 0, 0.0, false or null. */
KILN_API kiln_status kiln_get_global(kiln_vm *vm, const char *name, kiln_value *out);

/* kiln_set_global: sets the top-level `var` `name` to `v`, which must
 * have its type (a handle's object is then also held by the global).
 * A `let` is KILN_ERR_API: the program may have used its value where it
 * was written. kiln_run runs the declarations again, so a value set
 * before kiln_run is overwritten by the declaration's own. */
KILN_API kiln_status kiln_set_global(kiln_vm *vm, const char *name, kiln_value v);

/* ---- Structured values ----
 *
 * Arrays, maps, objects (class instances, tuples, enum values) and
 * function values cross the boundary as KILN_REF handles: as arguments
 * and results of kiln_call, natives, globals and the accessors below. A
 * native's type may name any type of the program (kiln_define_native).
 * Each accessor checks the handle and the type of every value stored, as
 * kiln_call checks arguments; a value read is a new handle for a string
 * or object. Types are written as the language writes them ("[int]",
 * "{str: Point}", "(int, str)", "util.Shape"), and a type made by the
 * host must be one the program's code uses. A failure is KILN_ERR_API
 * with a message (a wrong type, an index out of range, a null key...),
 * or KILN_ERR_LIMIT when memory or the heap limit refuse an allocation. */

/* kiln_type_of: the type of `v` into buf (size bytes, NUL-terminated, cut
 * to fit): "int", "str", "[int]", "Point" (an object's own class), ...,
 * as the root module writes it: a class of another module with the
 * module's name ("util.Point", "[util.Point]", "Option<util.Point>").
 *
 * Where a function takes a type as text ("[util.Point]"), a class is
 * named with its module ("util.Point": exactly that module's class) or
 * bare ("Point": the root module's class of that name, or the prelude's
 * (Error, Option), else the one class of that name in all the modules);
 * when two modules other than the root have a Point and the root has
 * none, "Point" is refused, and the message says what to write
 * ("write 'util.Point' or 'geo.Point'"). */
KILN_API kiln_status kiln_type_of(kiln_vm *vm, kiln_value v, char *buf, size_t size);

/* Arrays: a new empty one of type `type` ("[int]"); length; element i
 * (0 <= i < length) read and set; push at the end. */
KILN_API kiln_status kiln_array_new(kiln_vm *vm, const char *type, kiln_value *out);
KILN_API kiln_status kiln_array_len(kiln_vm *vm, kiln_value a, int64_t *len);
KILN_API kiln_status kiln_array_get(kiln_vm *vm, kiln_value a, int64_t i, kiln_value *out);
KILN_API kiln_status kiln_array_set(kiln_vm *vm, kiln_value a, int64_t i, kiln_value v);
KILN_API kiln_status kiln_array_push(kiln_vm *vm, kiln_value a, kiln_value v);

/* Maps: a new empty one of type `type` ("{str: int}"); entries; the value
 * of `key` (*found false, *out KILN_NULL when absent); add or replace;
 * remove (no error when absent). */
KILN_API kiln_status kiln_map_new(kiln_vm *vm, const char *type, kiln_value *out);
KILN_API kiln_status kiln_map_len(kiln_vm *vm, kiln_value m, int64_t *len);
KILN_API kiln_status kiln_map_get(kiln_vm *vm, kiln_value m, kiln_value key, kiln_value *out,
                                  bool *found);
KILN_API kiln_status kiln_map_set(kiln_vm *vm, kiln_value m, kiln_value key, kiln_value val);
KILN_API kiln_status kiln_map_remove(kiln_vm *vm, kiln_value m, kiln_value key);

/* kiln_map_next: the entries in insertion order, one a call: start with
 * *pos = 0; returns 1 with the next key and value (new handles for
 * objects), 0 after the last, -1 on failure (kiln_error). Adding or
 * removing keys during a walk may make it skip or repeat entries. */
KILN_API int kiln_map_next(kiln_vm *vm, kiln_value m, uint64_t *pos, kiln_value *key,
                           kiln_value *val);

/* Objects: a new instance of class `cls` ("Point", "util.Shape") with
 * every field 0, false or null (its init does not run); a field read and
 * set by name (a tuple's fields are "0", "1", ...). */
KILN_API kiln_status kiln_object_new(kiln_vm *vm, const char *cls, kiln_value *out);
KILN_API kiln_status kiln_get_field(kiln_vm *vm, kiln_value obj, const char *name, kiln_value *out);
KILN_API kiln_status kiln_set_field(kiln_vm *vm, kiln_value obj, const char *name, kiln_value v);

/* kiln_tuple_new: a tuple of type `type` ("(int, str)") of the `n` values
 * at `items`, of its element types (a tuple is made whole: its fields are
 * never set one by one). */
KILN_API kiln_status kiln_tuple_new(kiln_vm *vm, const char *type, const kiln_value *items, int n,
                                    kiln_value *out);

/* Enum values. kiln_enum_new: a value of enum type `type` ("Color",
 * "util.Shape", "Option<int>", "Tree<str>": a generic enum's instance the
 * program uses) that is its variant `variant` ("Circle"), with the `n`
 * payload values at `payload`, of the variant's payload types (an enum
 * value is made whole: kiln_set_field refuses it). The value is the one
 * the guest's `Shape.Circle(2.0)` makes: == in the guest holds between
 * them.
 * kiln_enum_variant: the variant of enum value `e`: its name into *name
 * (the program's string: valid while the VM has this program), its
 * number of payload values into *npayload (NULL: not wanted).
 * kiln_enum_payload: payload value i (0 <= i < that number) of `e`.
 * KILN_ERR_API for a type that is no enum of the program, a variant it
 * does not have (the message lists its variants), a wrong count or type
 * of payload values, or a value that is no enum value. */
KILN_API kiln_status kiln_enum_new(kiln_vm *vm, const char *type, const char *variant,
                                   const kiln_value *payload, int n, kiln_value *out);
KILN_API kiln_status kiln_enum_variant(kiln_vm *vm, kiln_value e, const char **name, int *npayload);
KILN_API kiln_status kiln_enum_payload(kiln_vm *vm, kiln_value e, int i, kiln_value *out);

/* Host objects: a type of the host's (a window, a file, a socket) that the
 * guest holds, stores and passes but cannot make or look into. Before
 * loading, kiln_define_type makes `name` a class of the program (a
 * subclass of the prelude's HostObject, without fields: `Window`, written
 * as is in the guest and in natives' types: "fn(str) -> Window"), with
 * `finalize` (NULL: none) called with `userdata` and the object's pointer
 * when the object is collected, or at kiln_free. A finalizer runs inside a
 * collection: it may free the host's memory; what it calls of the VM is
 * refused (kiln_str gives KILN_NULL, kiln_call, kiln_run, kiln_collect and
 * kiln_reset KILN_ERR_API, a handle is not read). `name` starts with a
 * capital and is no built-in class (Error, Option, StringBuilder, ...).
 * The guest cannot make one (`Window()` throws Error) and a subclass's
 * object is not one. kiln_host_new makes one carrying `ptr` (the program
 * must use the type); kiln_host_ptr gives the pointer back, KILN_ERR_API
 * for anything but an object of that very type. */
typedef struct {
    uint32_t id; /* 0: none */
} kiln_htype;
KILN_API kiln_status kiln_define_type(kiln_vm *vm, const char *name,
                                      void (*finalize)(void *userdata, void *ptr), void *userdata,
                                      kiln_htype *out);
KILN_API kiln_status kiln_host_new(kiln_vm *vm, kiln_htype type, void *ptr, kiln_value *out);
KILN_API kiln_status kiln_host_ptr(kiln_vm *vm, kiln_value v, kiln_htype type, void **ptr);

/* kiln_call_value: calls function value `fn` (a closure or a function the
 * guest passed or returned) like kiln_call. */
KILN_API kiln_status kiln_call_value(kiln_vm *vm, kiln_value fn, const kiln_value *args, int nargs,
                                     kiln_value *result);

/* ---- Errors as data ----
 *
 * After kiln_run or kiln_call returned KILN_ERR_RUNTIME or KILN_ERR_LIMIT,
 * the error that ended it, besides the text of kiln_error. The strings
 * belong to `vm` and stay valid until the next kiln_run or kiln_call. */
typedef struct {
    const char *function; /* "main", "util.parse", "Point.norm" */
    const char *file;     /* the source path of its module */
    uint32_t line;        /* 0 when unknown */
} kiln_frame;

/* kiln_error_class: the class of the uncaught error ("ValueError", or a
 * class of the program: "ParseError"); NULL when the last run or call did
 * not end in one, or ended because fuel, time or kiln_interrupt stopped
 * it (then kiln_error_message says which and the frames say where). */
KILN_API const char *kiln_error_class(const kiln_vm *vm);

/* kiln_error_message: its message ("" when there is none). */
KILN_API const char *kiln_error_message(const kiln_vm *vm);

/* kiln_error_frames: how many frames of the error's stack are kept,
 * innermost first: all of them up to 20; of a deeper stack the innermost
 * 12 and the outermost 8. *depth (when not NULL) gets the stack's whole
 * depth. 0 when there is no error. */
KILN_API int kiln_error_frames(const kiln_vm *vm, uint32_t *depth);

/* kiln_error_frame: frame i (0 = where the error was raised) into *out. */
KILN_API kiln_status kiln_error_frame(const kiln_vm *vm, int i, kiln_frame *out);

/* kiln_stack_frame: from inside a native, the guest frame `level` below
 * it (0 = the function that called the native, 1 = its caller, ...,
 * through kiln_calls made by outer natives). KILN_ERR_API past the
 * outermost frame or when no guest code runs: a loop over levels from 0
 * stops at the first status that is not KILN_OK. */
KILN_API kiln_status kiln_stack_frame(kiln_vm *vm, int level, kiln_frame *out);

/* kiln_set_user / kiln_user: a pointer of the host's own, kept by the VM
 * for it (NULL at first), e.g. the game object a script belongs to. */
KILN_API void kiln_set_user(kiln_vm *vm, void *user);
KILN_API void *kiln_user(const kiln_vm *vm);

/* A native function the guest calls: args[0..nargs-1] have the declared
 * parameter types (strings as handles, released after the call); it
 * stores a value of its result type in *result (nothing for no result)
 * and returns KILN_OK, or the status of kiln_throw (the guest gets that
 * error) or of a failed kiln_call (the guest gets that call's error). */
typedef kiln_status (*kiln_native_fn)(kiln_vm *vm, const kiln_value *args, int nargs,
                                      kiln_value *result, void *userdata);

/* kiln_define_native: before loading, makes `module.name` a function of
 * the guest with the type `type`, e.g. "fn(int, int) -> int" (no "-> R"
 * for none). Parameter and result types are any the language writes:
 * int, float, bool, str by value or as string handles, and arrays, maps,
 * classes, tuples and function types ("fn([Point], {str: int}) ->
 * (int, str)") as KILN_REF handles; a class is named as the root module
 * names it, or qualified by its module ("util.Shape"). The guest imports
 * the module by name (`import host`) and calls `host.mul(2, 3)`; the
 * compiler checks the calls against the type, and a type the program does
 * not have is a compile error at the first call. KILN_ERR_API for a
 * malformed type, a name defined twice, or a VM already loaded. */
KILN_API kiln_status kiln_define_native(kiln_vm *vm, const char *module, const char *name,
                                        const char *type, kiln_native_fn fn, void *userdata);

/* kiln_throw: from inside a native, makes the guest throw a new error of
 * class `error_class` with `message`: a built-in class ("Error",
 * "ValueError", "IOError", ...) or one of the program's that extends
 * Error ("ParseError", "util.ParseError", named as kiln_type_of says; its
 * other fields are 0, false or null: its init does not run). The native
 * returns what kiln_throw returns (KILN_ERR_RUNTIME; KILN_ERR_API for a
 * class that is not an error class of the program, or a bare name that
 * may be two modules' classes). Anywhere else, including a write or read
 * hook, a finalizer or a loader while the guest runs, it is KILN_ERR_API
 * and nothing is thrown. */
KILN_API kiln_status kiln_throw(kiln_vm *vm, const char *error_class, const char *message);

/* kiln_interrupt: asks the guest running in `vm` to stop soon (within
 * microseconds: at its next loop back-edge or call, or inside a long
 * builtin; a garbage collection under way stops within about a
 * millisecond, its work taken up by the next one); kiln_run or kiln_call
 * then returns KILN_ERR_LIMIT and the VM stays usable. The one function
 * that may be called from any thread while the VM runs (a watchdog). An
 * interrupt sent while no guest code runs is dropped at the next start. */
KILN_API void kiln_interrupt(kiln_vm *vm);

/* kiln_set_limits: the fuel (instructions, 0 = none) and the time
 * (seconds, 0 = none) each following kiln_run or kiln_call may take, in
 * place of kiln_config's fuel and timeout; KILN_ERR_API while the guest
 * runs (from a native). */
KILN_API kiln_status kiln_set_limits(kiln_vm *vm, uint64_t fuel, double seconds);

/* kiln_fuel_used: the instructions counted (as fuel counts them) by the
 * last or current kiln_run or kiln_call, whether or not it has a fuel
 * limit. */
KILN_API uint64_t kiln_fuel_used(const kiln_vm *vm);

/* kiln_heap_used: the bytes the heap holds against kiln_config.heap_limit:
 * the guest's objects, the garbage not yet collected included, and the
 * free blocks it keeps among them for objects of their sizes. */
KILN_API size_t kiln_heap_used(const kiln_vm *vm);

/* kiln_collect: a full collection now; from a native too. */
KILN_API kiln_status kiln_collect(kiln_vm *vm);

/* kiln_version: the library's version, e.g. "0.1.0". */
KILN_API const char *kiln_version(void);

/* The JIT's counters for a VM (kiln_jit_stats), totals since kiln_new. */
typedef struct {
    int available;         /* 1 where this build compiles (x86-64 Linux) */
    int enabled;           /* 1 when this VM may compile (kiln_config.jit) */
    uint64_t functions;    /* functions compiled */
    uint64_t instructions; /* bytecode instructions compiled */
    uint64_t code_bytes;   /* bytes of machine code made */
    uint64_t compile_ns;   /* time spent compiling, nanoseconds */
    uint64_t osr_entries;  /* running loops moved into compiled code */
    uint64_t failed;       /* functions left interpreted (code limit, no memory) */
    uint64_t inlined;      /* calls compiled inline (small leaf callees) */
} kiln_jitstats;
KILN_API kiln_status kiln_jit_stats(kiln_vm *vm, kiln_jitstats *out);

/* kiln_jit_available: 1 where this build has a JIT (x86-64 Linux), else 0. */
KILN_API int kiln_jit_available(void);

/* kiln_disassemble_jit: like kiln_disassemble, with each compiled
 * function's machine code (decoded with capstone) after its bytecode;
 * functions are compiled as they would be under KILN_JIT_ALWAYS. */
KILN_API kiln_status kiln_disassemble_jit(kiln_vm *vm, const char **text);

#ifdef __cplusplus
}
#endif

#endif
