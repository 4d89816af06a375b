/*
 * vm.h — the VM layer: values and objects, the runtime records of classes
 * and functions, natives, execution contexts, and the state a VM shares
 * between them. Above the image layer (image.h) and the collector (gc/);
 * below execution (interp/, later jit/) and the public API (kiln.h).
 *
 * A VM is split as Lua splits global_State from lua_State:
 *   struct kiln_vm  what every execution shares: the loaded image, its
 *                   runtime classes and functions, the heap, globals,
 *                   natives, handles, limits and configuration;
 *   vm_ctx          one execution context: a slot stack of frames (see
 *                   frame.h), the saved pc of the innermost one, the pending
 *                   error, the poll counter and the root stack of C code. A VM has
 *                   one today (vm->ctx); fibers will each own one.
 */
#ifndef KILN_VM_H
#define KILN_VM_H

#include <stdatomic.h>

#include "../gc/gc.h"
#include "image.h"
#include "vm_live.h"

typedef struct kiln_vm kiln_vm; /* the same opaque type as kiln.h's */

/* A 64-bit register slot. Which member is live is known statically from the
 * register's type, so there is no tag. */
typedef union vm_value {
    int64_t i;
    uint64_t u;
    double f;
    void *p;
    struct vm_str *s;
} vm_value;

/* Immutable byte string, allocated in the GC heap. `data` is NUL-terminated
 * for the convenience of C callers; `len` is authoritative. */
typedef struct vm_str {
    gc_obj obj;
    uint32_t len;
    uint32_t hash;
    char data[];
} vm_str;

enum {
    VM_OBJ_STR = 1,
    VM_OBJ_INST,
    VM_OBJ_ARRAY,
    VM_OBJ_BUF,
    VM_OBJ_MAP,
    VM_OBJ_FN,
    VM_OBJ_CELL,
    VM_OBJ_PTR,
    VM_OBJ_BYTES,
    VM_OBJ_HOST,
    VM_OBJ_FIBER,
    VM_OBJ_RES
};

/* A Fiber (spawn): to the guest an instance of the prelude's class Fiber,
 * laid out as a vm_inst up to its class; what it runs and where it stands
 * is the runtime's (runtime/rt_fiber.c), freed with the object. */
/* A host resource the runtime holds for the guest (a socket, a file, a
 * child process): to the guest an instance of a prelude class without
 * fields, laid out as a vm_inst up to its class. `close` is called once:
 * when the guest closes it (vm_res_close) or when the object is freed. */
typedef struct vm_resobj {
    gc_obj obj;
    const struct vm_rtclass *cls;
    void *ptr; /* NULL once closed */
    void (*close)(kiln_vm *vm, void *ptr);
} vm_resobj;

typedef struct vm_fiberobj {
    gc_obj obj;
    const struct vm_rtclass *cls;
    struct rt_fiber *f;
} vm_fiberobj;

/* An object of a host type (kiln_define_type): an instance, to the guest,
 * of a class without fields (a subclass of the prelude's HostObject),
 * carrying the host's pointer; the type's finalizer gets it back when the
 * object is collected. Laid out as a vm_inst up to its class. */
typedef struct vm_hostobj {
    gc_obj obj;
    const struct vm_rtclass *cls;
    void *ptr;
    uint32_t type; /* its kiln_vm.htypes index */
} vm_hostobj;

/* A C pointer the FFI gave the guest (type ptr): boxed, so a program can
 * hold and pass it but never make one from an int. NULL is never boxed:
 * it is the guest's null. */
typedef struct vm_ptr {
    gc_obj obj;
    void *addr;
} vm_ptr;

/* A Buffer: `len` bytes in the GC heap that C may read and write while
 * a call it is passed to runs (the collector never moves objects). */
typedef struct vm_bytes {
    gc_obj obj;
    uint32_t len;
    uint32_t pad_; /* keeps data 8-aligned after the 12-byte header */
    unsigned char data[];
} vm_bytes;
/* The longest Buffer: lengths and offsets stay in 31 bits. */
#define VM_BYTES_MAX 0x7fffffffu

/* An array: `len` elements of 64 bits (ints, floats and bools unboxed) in
 * a separate buffer object, so that growing replaces only the buffer. */
typedef struct vm_buffer {
    gc_obj obj;
    vm_value items[];
} vm_buffer;
typedef struct vm_array {
    gc_obj obj;
    uint32_t len, cap;
    bool refs; /* elements are references: the GC traces them */
    vm_buffer *buf;
} vm_array;

/* A class as the running VM sees it: resolved from the image at link. */
typedef struct vm_rtclass {
    const vm_class *def;
    const struct vm_rtclass *super;
    uint32_t index;
    uint16_t nrefs;
    uint16_t *refs;            /* fields holding references: the GC's map */
    struct vm_rtfunc **vtable; /* def->nslots functions */
} vm_rtclass;

/* A class instance: the fields follow the header. */
typedef struct vm_inst {
    gc_obj obj;
    const vm_rtclass *cls;
    vm_value fields[];
} vm_inst;

/* A function value: a function and the values it captured, which a call
 * copies into the registers after the parameters (vm_rtfunc.ncaps). A
 * top-level function as a value captures nothing. */
typedef struct vm_closure {
    gc_obj obj;
    struct vm_rtfunc *fn;
    vm_value caps[];
} vm_closure;

/* A captured variable that is assigned lives in a cell, shared by the
 * frame that declared it and every closure that captured it. */
typedef struct vm_cell {
    gc_obj obj;
    bool ref; /* holds a reference: the GC traces it */
    vm_value v;
} vm_cell;

/* ---- Functions as the running VM sees them ---- */
struct vm_rtfunc;

/* vm_entry_fn: runs function f with `args` (its parameters; NULL when it
 * has none) from C, in the VM's current context, until it returns, storing
 * its result in *result. 0, -1 when a guest error escaped (its trace in
 * vm->error), -2 when the guest called os.exit. */
typedef int (*vm_entry_fn)(kiln_vm *vm, const struct vm_rtfunc *f, const vm_value *args,
                           vm_value *result);

/* The per-function runtime record, made at link time: what calls read
 * (copied from the image's vm_func so a call touches one record), the
 * entry pointer (the interpreter's today; a JIT swaps in compiled code, so
 * tier-up is a pointer swap), hotness counters for tiering, the collector's
 * maps, and the function's one value. Frames point at these (frame.h). */
typedef struct vm_rtfunc {
    const uint32_t *code;
    uint16_t nregs;
    uint8_t nparams, ncaps;
    uint32_t index;     /* in the image's function table */
    const vm_func *def; /* the image's function: types, lines, handlers */
    vm_entry_fn entry;
    /* Hotness, for tier-up (jit.h): the calls left before the function is
     * compiled, counted down by the interpreter at each call (negative:
     * ask the JIT), and the loop back-edges taken in it, counted up. */
    int32_t calls;
    uint32_t loops;
    bool result;     /* it returns a value (calls store it in their A) */
    bool jit_failed; /* the JIT could not compile it: it stays interpreted */
    /* Compiled: the machine code's entry, NULL while interpreted; the
     * JIT's record of it (jit.c). */
    void *jcode;
    struct jit_code *jinfo;
    /* The GC's root map of its frames: its reference registers, and which
     * of them are live at each instruction (a dead one is never a root). */
    vm_live live;
    /* Without captures: the function as a value, made on first use, so
     * every use of `f` as a value is the same object. */
    struct vm_closure *fnval;
} vm_rtfunc;

/* ---- Natives: C functions the guest calls with CALLN ---- */
/* A native reads its arguments from args[0..n-1] and stores its result in
 * *result. It returns 0, or -1 after raising a guest error with rt_raise. */
typedef int (*vm_native_fn)(kiln_vm *vm, vm_value *args, vm_value *result);
typedef struct vm_native {
    vm_natsig sig;
    vm_native_fn fn; /* NULL for an embedder's native, called through `bridge` */
    int (*bridge)(kiln_vm *vm, const struct vm_native *n, vm_value *args, vm_value *result);
    void (*host)(void); /* the embedder's function, for the bridge to call */
    void *userdata;
} vm_native;

/* ---- Configuration: what kiln_new was given, as the VM uses it ---- */
/* What the guest may do on the host: the same bits as kiln.h's
 * KILN_ALLOW_* (vm_core.c checks that they agree). */
enum {
    VM_ALLOW_READ = 1,
    VM_ALLOW_WRITE = 2,
    VM_ALLOW_ENV = 4,
    VM_ALLOW_NET = 8,
    VM_ALLOW_RUN = 16,
    VM_ALLOW_FFI = 32,
    VM_ALLOW_STDIN = 64
};
/* vm_config.jit: the execution tiers (kiln.h's KILN_JIT_*). */
enum { VM_JIT_ON, VM_JIT_OFF, VM_JIT_ALWAYS };
typedef struct vm_config {
    size_t heap_limit;                                  /* bytes, 0 = none */
    uint64_t fuel;                                      /* instructions per run or call, 0 = none */
    double timeout;                                     /* seconds per run or call, 0 = none */
    unsigned allow;                                     /* VM_ALLOW_* */
    const char *const *read_dirs, *const *write_dirs;   /* NULL-terminated, NULL = anywhere */
    const char *const *net_hosts, *const *run_programs; /* NULL-terminated, NULL = any */
    const char *const *ffi_libs; /* the libraries the FFI may load (NULL-terminated,
                                    NULL = any) */
    bool trace_sys;              /* report each host access on stderr */
    bool no_checksum;            /* load images without checking their checksum */
    void (*write)(void *userdata, int stream, const char *bytes, size_t len);
    void *userdata;
    int jit;               /* VM_JIT_* */
    size_t jit_code_limit; /* bytes of machine code at most, 0 = the default */
    size_t fiber_stack;    /* bytes of each fiber's machine stack (a multiple of pages) */
    void *loop;            /* the host's uv_loop_t, or NULL */
    bool perf_map;         /* write /tmp/perf-PID.map for perf */
    /* Guest input instead of the process's stdin (kiln_config.read). */
    long (*read)(void *userdata, char *buf, size_t cap);
    /* The embedder's module loader (kiln_config.load_module), kept as a
     * generic function pointer: only the API layer (vm_core.c), which
     * sees its type, calls it. */
    void (*load_module)(void);
    void *loader_userdata;
} vm_config;

/* ---- An execution context ---- */
/* Everything that belongs to one thread of guest execution. The frames
 * on its stack follow the contract of frame.h. */
typedef struct vm_ctx {
    vm_value *stack, *stack_end; /* slots; stack_end leaves VM_STACK_SLACK */
    /* The innermost frame (its registers) and its pc, published by the
     * interpreter before anything that may collect or throw, so the
     * collector and the unwinder can walk the frames; NULL when idle. */
    vm_value *frame;
    const uint32_t *pc;
    uint32_t depth; /* interpreter entries below the innermost (natives calling back in) */
    /* An error on its way out (interp_throw): the frame whose catch clause
     * takes it and the handler's pc, or catch_R NULL when uncaught;
     * `unwinding` from the search until the catch (or the exit to C). */
    vm_value *catch_R;
    const uint32_t *catch_pc;
    bool unwinding;
    /* Machine stack: compiled code and nested activations stop with a
     * stack overflow below c_limit (jit.c, at the outermost entry). */
    uintptr_t c_limit, c_lo, c_hi;
    unsigned long c_thread;
    /* Limits are polled when `tick` runs out: at back-edges (which charge
     * the loop's length in instructions) and calls (one each). */
    int64_t tick, tick_len;
    /* The error being raised (kind != 0) and its message. */
    int err_kind;
    char err_msg[512];
    /* The error object of the last uncaught guest error, until the native
     * that called in passes it on (KILN_ERR_RUNTIME) or another call. */
    struct vm_inst *pending;
    /* Objects C code holds across an allocation (vm_root_push). */
    gc_roots roots;
} vm_ctx;
/* Slots past stack_end that the call path may write (never read). */
enum { VM_STACK_SLACK = 8 };

/* ---- The VM: what its contexts share ---- */
struct kiln_vm {
    vm_config cfg;
    gc_heap heap;
    uint64_t rng[4]; /* the random module's default generator (std_random.c) */
    bool rng_seeded;
    bool loaded;
    bool running; /* inside kiln_run: re-entry from a hook is refused */
    vm_image img;
    vm_buf image_bytes; /* the loaded program as an image, made by kiln_image */
    bool image_read;    /* an image was read and verified: loading again is refused */
    bool loading;       /* compiling: the loader hook may run (no define, load or free) */
    vm_value *kvals;    /* constants, strings materialized */
    vm_value *globals;
    uint8_t *ginit; /* per global: its declaration has run (INITG, GETGC) */
    const vm_native **natives;
    vm_rtfunc *funcs; /* one per image function */
    vm_rtclass *classes;
    vm_ctx *ctx;           /* the running context */
    struct jit_state *jit; /* the compiler's state and code cache, NULL when off */
    struct rt_ffi *ffi;    /* the FFI's libraries and prepared calls (rt_ffi.c), or NULL */
    /* The fibers, their scheduler and event loop (rt_fiber.c), made at the
     * first spawn or sleep; NULL before. The prelude's class Fiber. */
    struct rt_sched *sched;
    const struct vm_rtclass *fiber_class;
    vm_ctx main; /* the one context of today */
    /* The built-in error classes (prelude), by RT_ERR_* kind, and the
     * error thrown when there is no memory left to make one. */
    const vm_rtclass *error_classes[16];
    struct vm_inst *oom_error;
    struct vm_inst *last_oom; /* the last OutOfMemoryError the VM raised (a root), so an
                                 uncaught one is known from one the guest threw */
    /* The embedder's natives (kiln_define_native) and handles. */
    struct vm_host {
        vm_native n;     /* first: host_bridge finds the rest from it */
        uint8_t nparams; /* strlen(n.sig.params) */
        bool strs;       /* a parameter is a handle to release (a string, a T) */
        bool typed;      /* a parameter or the result is a T (n.sig.types) */
        bool linked;     /* itypes is set */
        /* The image's types of its parameters and result, set at link. */
        uint16_t itypes[KILN_MAX_PARAMS + 1];
    } * hosts;
    uint32_t nhosts, hosts_cap;
    /* The host's types (kiln_define_type), their class once linked (-1:
     * the program does not use it), and the prelude with their classes
     * appended (NULL: none defined). */
    struct vm_htype {
        char *name;
        void (*finalize)(void *userdata, void *ptr);
        void *userdata;
        int32_t cls;
    } * htypes;
    uint32_t nhtypes, htypes_cap;
    char *host_prelude;
    struct vm_handle {
        void *obj;     /* the object, or NULL for a free slot */
        uint16_t type; /* its static type */
        uint32_t gen;  /* bumped at each release: a stale handle names an old one */
        uint32_t next; /* free slots: the next free one + 1, 0 = none */
    } * handles;
    uint32_t nhandles, handles_cap, free_handle;
    uint16_t handle_tag; /* this VM's mark in its handles (vm_embed.c) */
    uint32_t *found;     /* the functions kiln_find_function found: kiln_fn slots */
    uint32_t nfound, found_cap;
    /* The fuel left for this run (UINT64_MAX: no limit), shared by every
     * context, and kiln_interrupt's flag, set from any thread. */
    uint64_t fuel_left;
    _Atomic bool interrupt;
    /* The instructions counted in this run or call before the current
     * poll interval (kiln_fuel_used), and its deadline on the monotonic
     * clock (0: none), from cfg.timeout at each start. */
    uint64_t ticks_used;
    double deadline;
    /* os.args() and os.exit() */
    int argc;
    char **argv;
    int exit_code;
    bool exited;
    bool thrown;      /* kiln_throw was called by the native running now */
    bool in_native;   /* an embedder's native runs, not guest code it called: kiln_throw may */
    bool finalizing;  /* a host type's finalizer runs: no object is made, no guest code runs */
    uint32_t in_loop; /* the event loop turns (rt_fiber.c): its callbacks run no guest code */
    /* The uncaught error that ended the last run or call, as data
     * (kiln_error_class ...), recorded with the trace's text (rt_error.c);
     * `set` is cleared when a run or call starts. */
    struct vm_errinfo {
        bool set;
        const char *cls; /* the class's name, or NULL for a limit's stop */
        char *message;   /* malloc'd, NUL-terminated */
        uint32_t nframes, depth;
        struct vm_errframe {
            uint32_t func, line;
        } frames[KILN_TRACE_HEAD + KILN_TRACE_TAIL];
    } errinfo;
    void *user;     /* kiln_set_user's */
    vm_buf listing; /* kiln_disassemble output */
    /* What the read hook gave and io.read_line has not taken yet. */
    char *in_buf;
    size_t in_pos, in_len;
    bool in_end;  /* the hook said end of input */
    bool in_busy; /* a fiber waits in io.read_line */
    /* While kiln_load_file compiles: the file's path, whose folder (the
     * first trusted_len bytes, with the '/') holds modules the host chose;
     * NULL otherwise. */
    const char *trusted_dir;
    size_t trusted_len;
#ifdef KILN_OPSTATS
    /* `make opstats` only: executed instructions, by opcode pair
     * [previous * OP__COUNT + current], reported by interp_opstats. */
    uint64_t *opstats;
#endif
    /* The last failure's text. Last, and not zeroed by kiln_new: the pages
     * of a long message are touched only when one is written. */
    char error[KILN_ERRBUF];
};

/* vm_flush: the guest's output written so far leaves the process's
 * buffers (before the VM waits for the host: a server's output appears
 * when it is printed). Nothing with an embedder's write hook. */
void vm_flush(kiln_vm *vm);

/* vm_poll: checks the limits when the tick counter has run out; true
 * after raising the limit that stops the guest (RT_LIMIT). */
bool vm_poll(kiln_vm *vm);
/* vm_limit_reached: an interrupt came (the flag is read, not consumed),
 * the fuel is spent or the deadline has passed. vm_limit_text: which, as
 * the stop's message says it ("out of fuel (N instructions)"). */
bool vm_limit_reached(kiln_vm *vm);
void vm_limit_text(const kiln_vm *vm, char *buf, size_t size);
/* vm_fuel_waited: the guest waited `seconds` with no fiber to run (every
 * one blocked on a timer, I/O or another fiber): with fuel set, the wait
 * is charged to it, VM_WAIT_TICKS instructions a second, so fuel alone
 * bounds a guest that sleeps or waits forever; true when it is spent. */
bool vm_fuel_waited(kiln_vm *vm, double seconds);
#define VM_WAIT_TICKS 1e6
/* vm_poll_after_native: after a native or a C function returned, stops the
 * guest if an interrupt came or the deadline passed meanwhile (a native
 * counts as one instruction, so the tick counter alone would see neither
 * for up to 65,536 calls); true after raising. */
bool vm_poll_after_native(kiln_vm *vm);
void vm_limits_reset(kiln_vm *vm); /* fuel and polling for a new run or call */
/* vm_ticks_leave / vm_ticks_enter: the running context gives the CPU to
 * another (a fiber switch): what it counted is charged to the run's fuel
 * now; the context that runs next gets a poll interval of what is left. */
void vm_ticks_leave(kiln_vm *vm);
void vm_ticks_enter(kiln_vm *vm);
/* vm_charge: work a native or an instruction does in proportion to its
 * size (copying, filling, searching), charged to the tick counter as
 * `units` instructions, so fuel and kiln_interrupt bound it as they bound
 * loops; true after raising the limit that stops the guest. Work is
 * charged before it is done, in pieces of 1 MB when it is long
 * (vm_copy_charged), each also looking at the interrupt flag, so no
 * builtin runs long between polls. Only
 * while the guest runs: from C code the interpreter or compiled code
 * called (they keep the counter in vm_ctx across such calls). */
bool vm_charge(kiln_vm *vm, uint64_t units);
/* VM_BYTES_PER_TICK: the bytes copied, filled or searched that count as
 * one instruction (a copy of 64 bytes costs about what an interpreted
 * instruction does). */
#define VM_BYTES_PER_TICK 64
/* vm_copy_charged: memcpy of n bytes in charged pieces; false after
 * raising (the copy is then partial). */
bool vm_copy_charged(kiln_vm *vm, void *dst, const void *src, size_t n);
/* vm_ctx_init: the context's slot stack; false when memory runs out. */
bool vm_ctx_init(vm_ctx *ctx);
void vm_ctx_free(vm_ctx *ctx);

/* vm_str_new: a new string of `len` bytes copied from `p`, or NULL after
 * raising OutOfMemoryError. */
vm_str *vm_str_new(kiln_vm *vm, const char *p, size_t len);
vm_str *vm_str_cstr(kiln_vm *vm, const char *s);

/* vm_alloc: the one allocation path of guest objects: `size` bytes (header
 * included, the rest zeroed) of `kind` (VM_OBJ_*). May collect. NULL after
 * raising OutOfMemoryError naming `what` ("a string"), the limit that
 * stopped the guest during the collection (vm_gc_stopped), or an internal
 * error when --gc-verify found the heap broken. */
gc_obj *vm_alloc(kiln_vm *vm, size_t size, uint8_t kind, const char *what);

/* vm_root_push: keeps `obj` (a guest object, or NULL) alive across the
 * allocations that follow, until vm_root_pop; false, pushing nothing,
 * after raising OutOfMemoryError. vm_root_pop: drops the last `n` pushed
 * (popping more than were pushed is a bug, raised as an internal error
 * at the next allocation). See gc.h invariant 3. Inline, since arrays and
 * maps push on every allocation; the rare paths are in vm_gc.c. */
bool vm_root_fail(kiln_vm *vm);
void vm_root_underflow(kiln_vm *vm);
static inline bool vm_root_push(kiln_vm *vm, void *obj)
{
    return gc_roots_push(&vm->ctx->roots, obj) || vm_root_fail(vm);
}
static inline void vm_root_pop(kiln_vm *vm, size_t n)
{
    if (!gc_roots_pop(&vm->ctx->roots, n))
        vm_root_underflow(vm);
}

/* vm_res_new: a resource object of the prelude's class `cls` (a class
 * without fields) holding ptr, closed by `close`; NULL after raising (the
 * caller then closes ptr itself). vm_res_of: the live resource object v
 * of class `cls`, or NULL after raising (NullError, or IOError when it was
 * closed; `what` names the call). vm_res_close: closes it now (again:
 * nothing). */
vm_resobj *vm_res_new(kiln_vm *vm, const char *cls, void *ptr,
                      void (*close)(kiln_vm *vm, void *ptr));
vm_resobj *vm_res_of(kiln_vm *vm, vm_value v, const char *what);
void vm_res_close(kiln_vm *vm, vm_resobj *o);

/* vm_inst_new: a new instance of `c`, fields zero, or NULL after raising
 * OutOfMemoryError. */
vm_inst *vm_inst_new(kiln_vm *vm, const vm_rtclass *c);

/* vm_closure_new: a function value of `fn` capturing fn->ncaps values
 * from `caps`; vm_cell_new: a cell holding `v`. NULL after raising
 * OutOfMemoryError. */
vm_closure *vm_closure_new(kiln_vm *vm, vm_rtfunc *fn, const vm_value *caps);
vm_cell *vm_cell_new(kiln_vm *vm, bool ref, vm_value v);

/* A map: insertion-ordered entries (removed ones become holes until the
 * next growth compacts them), found through an open-addressing index of
 * entry numbers. Keys are ints, bools or strings. */
/* A map's index: open addressing, linear probing, each slot an entry
 * number + 1 (0: empty) under the high half of its key's hash. A
 * VM_OBJ_BUF to the collector: nothing to trace. */
typedef struct vm_map_index {
    gc_obj obj;
    uint64_t slots[];
} vm_map_index;
typedef struct vm_map {
    gc_obj obj;
    uint32_t count;     /* live entries */
    uint32_t used, cap; /* entries used (live and holes), room for */
    uint32_t mask;      /* the index's slots - 1: a power of two >= 2 * cap, minus 1 */
    uint8_t keys;       /* VM_MAP_WORDS, VM_MAP_STRS or VM_MAP_OBJS */
    bool val_ref;       /* values are references */
    /* cap entries of three items each: key, value and the key's hash
     * (VM_MAP_HOLE once removed; 0 in a dense map) */
    vm_buffer *ents;
    /* NULL while the map is dense: int keys 0, 1, ..., used - 1 added in
     * that order, each at its own entry or removed (a hole), so a key is
     * its entry number and no index is needed */
    vm_map_index *index;
} vm_map;
#define VM_MAP_HOLE UINT64_MAX
/* What a map's keys are: ints or bools (compared as words), strings
 * (compared by bytes), objects (tuples, enums: compared field by field). */
enum { VM_MAP_WORDS, VM_MAP_STRS, VM_MAP_OBJS };
#define VM_MAPENT_KEY(m, e) ((m)->ents->items[(size_t)(e)*3])
#define VM_MAPENT_VAL(m, e) ((m)->ents->items[(size_t)(e)*3 + 1])
#define VM_MAPENT_LIVE(m, e) ((m)->ents->items[(size_t)(e)*3 + 2].u != VM_MAP_HOLE)

/* vm_map_new: an empty map, or NULL after raising OutOfMemoryError.
 * vm_map_find: the entry of key k, or -1; raises NullError (returning -2)
 * for a null string key. vm_map_set adds or replaces (false after raising);
 * vm_map_remove removes (no error when absent). */
vm_map *vm_map_new(kiln_vm *vm, int keys, bool val_ref);
int64_t vm_map_find(kiln_vm *vm, vm_map *m, vm_value k);
bool vm_map_set(kiln_vm *vm, vm_map *m, vm_value k, vm_value v);
bool vm_map_remove(kiln_vm *vm, vm_map *m, vm_value k);
/* vm_map_reserve: room for n entries in all, so that adding up to n keys
 * does not grow the map (false after raising OutOfMemoryError). */
bool vm_map_reserve(kiln_vm *vm, vm_map *m, int64_t n);

/* vm_array_new: a new array of `len` zero elements (room for `cap`), or
 * NULL after raising OutOfMemoryError. vm_array_push appends, growing the
 * buffer; it returns false after raising. */
vm_array *vm_array_new(kiln_vm *vm, uint32_t len, uint32_t cap, bool refs);
bool vm_array_push(kiln_vm *vm, vm_array *a, vm_value v);

/* vm_gc_roots / vm_gc_trace: the collector's callbacks (vm_gc.c). */
void vm_gc_roots(gc_heap *h, void *vm);
void vm_gc_trace(gc_heap *h, gc_obj *o, void *vm);
/* vm_gc_mark_ctx: marks what a context holds: its frames' live
 * references, its root stack, its pending error (a fiber's, rt_fiber.c). */
void vm_gc_mark_ctx(gc_heap *h, const vm_ctx *ctx);
/* vm_gc_finalize: a host object's finalizer, or a fiber's release, when
 * the object is freed. */
void vm_gc_finalize(gc_obj *o, void *vm);
/* vm_gc_should_stop: the collector's should_stop (gc.h, "stop";
 * vm_ctx.c): true while the guest runs (not in a finalizer) once
 * kiln_interrupt's flag is set or the deadline has passed, so that a long
 * collection does not hold the guest past them. */
bool vm_gc_should_stop(void *vm);
/* vm_gc_stopped: after gc_alloc or gc_reserve failed with heap.stopped,
 * raises the limit that stopped the collection ("interrupted", "out of
 * time"), never OutOfMemoryError, which the guest could catch. The
 * interrupt flag is left set (vm_poll consumes it): a caller that drops
 * the error (rt_error_object falls back on the preallocated
 * OutOfMemoryError when it cannot make an error object) does not lose the
 * interrupt, which the next poll raises again. */
void vm_gc_stopped(kiln_vm *vm);
/* vm_gc_link: the collector's maps of each function (vm_rtfunc.refs); false
 * when memory runs out. */
bool vm_gc_link(kiln_vm *vm);
void vm_write(kiln_vm *vm, int stream, const char *p, size_t n);

#endif
