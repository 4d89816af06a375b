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

typedef enum {
    KILN_OK = 0,
    KILN_ERR_COMPILE, /* the source has errors: kiln_error lists them */
    KILN_ERR_LOAD,    /* the image is malformed or fails verification */
    KILN_ERR_RUNTIME, /* the guest raised an error it did not catch */
    KILN_ERR_LIMIT,   /* a configured limit stopped the guest */
    KILN_ERR_API      /* the API was misused (NULL VM, nothing loaded...) */
} kiln_status;

/* Bits of kiln_config.flags. */
enum {
    KILN_FLAG_NO_CHECKSUM = 1, /* load images without checking the checksum */
    KILN_FLAG_GC_STRESS = 2,   /* collect garbage at every allocation (testing) */
    KILN_FLAG_GC_VERIFY = 4    /* check the heap after every collection (testing) */
};

typedef struct {
    /* Bytes the guest's objects may occupy, 0 = none. Past it, after a full
     * collection, the guest gets an OutOfMemoryError. */
    size_t heap_limit;
    unsigned flags;    /* KILN_FLAG_* bits */
    /* Guest output: stream 1 is stdout, 2 is stderr. NULL writes to the
     * process's stdout and stderr. */
    void (*write)(void *userdata, int stream, const char *bytes, size_t len);
    void *userdata;
} kiln_config;

/* kiln_config_init: fills `cfg` with the defaults (no limits, no flags,
 * output to the process's streams). */
KILN_API void kiln_config_init(kiln_config *cfg);

/* kiln_new: a new VM configured by `cfg` (copied; NULL for the defaults).
 * Returns NULL only when memory runs out. */
KILN_API kiln_vm *kiln_new(const kiln_config *cfg);

/* kiln_free: releases `vm` and everything it allocated. NULL is ignored. */
KILN_API void kiln_free(kiln_vm *vm);

/* kiln_load_source: compiles `len` bytes of Kiln source at `src` as the
 * program's root module; `name` is the file name used in diagnostics and
 * stack traces. A VM holds one program: loading into a VM that already has
 * one fails with KILN_ERR_API. */
KILN_API kiln_status kiln_load_source(kiln_vm *vm, const char *name, const char *src,
                                      size_t len);

/* kiln_load_image: loads and verifies a bytecode image of `len` bytes. */
KILN_API kiln_status kiln_load_image(kiln_vm *vm, const void *bytes, size_t len);

/* kiln_load_file: reads `path` and loads it as an image when it starts with
 * the image magic, else compiles it as source. Errors name the path. */
KILN_API kiln_status kiln_load_file(kiln_vm *vm, const char *path);

/* kiln_run: runs the loaded program: the root module's top-level
 * statements, then main() if it defines one. */
KILN_API kiln_status kiln_run(kiln_vm *vm);

/* kiln_set_args: what os.args() returns: `argc` strings at `argv`, which
 * must stay valid while the VM runs. */
KILN_API kiln_status kiln_set_args(kiln_vm *vm, int argc, char **argv);

/* kiln_exit_code: the code the guest passed to os.exit() in the last
 * kiln_run (which then returned KILN_OK), else 0. */
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

/* kiln_version: the library's version, e.g. "0.1.0". */
KILN_API const char *kiln_version(void);

#ifdef __cplusplus
}
#endif
#endif
