/*
 * jit_int.h — what the JIT's files share: its state, the record of a
 * compiled function, and the code cache (jit_mem.c).
 */
#ifndef KILN_JIT_INT_H
#define KILN_JIT_INT_H

#include <stdio.h>

#include "jit.h"
#include "x64.h"

/* A compiled function: its machine code in the cache and where each
 * bytecode instruction starts in it. */
typedef struct jit_code {
    struct jit_code *next;
    vm_rtfunc *f;
    uint8_t *code;
    size_t size;
    /* Per code word: the offset of the instruction's machine code
     * (UINT32_MAX for a second word); pcmap[ncode]: the out-of-line code. */
    uint32_t *pcmap;
    /* Per catch clause of the function (vm_func.handlers): where the
     * unwinder enters it — the kept registers loaded, then a jump to the
     * clause's code (reached by an ordinary jump, a clause must not load
     * them: a hand-made image may do that). In the pcmap allocation. */
    uint32_t *hentry;
    size_t osr; /* the OSR entry: loads the kept registers, jumps to rcx */
} jit_code;

/* A mapping of the code cache: written only while not executable. */
typedef struct jit_chunk {
    struct jit_chunk *next;
    uint8_t *base;
    size_t size, used;
} jit_chunk;

typedef struct jit_state {
    jit_ret (*enter)(kiln_vm *vm, vm_value *R, const void *code, const void *target);
    jit_chunk *chunks;
    size_t used, limit; /* bytes of the cache in use, at most */
    size_t page;
    jit_code *codes; /* newest first */
    /* --jit=always: the functions compiled at load are staged here and
     * copied into the cache at once (jit_commit), one pair of mprotect
     * calls for them all. */
    bool staging;
    x64_buf stage;
    x64_buf scratch;  /* where functions are compiled, reused */
    jit_code *staged; /* their code field: the offset in `stage` */
    jit_stats stats;
    FILE *perf; /* /tmp/perf-PID.map, with --perf-map */
} jit_state;

/* jit_compile: compiles f; false (f stays interpreted, marked failed) when
 * memory or the cache runs out. */
bool jit_compile(kiln_vm *vm, vm_rtfunc *f);

/* jit_install: copies `len` bytes of f's code into the cache and makes f
 * run it (taking over `pcmap`); false when the cache is full. */
bool jit_install(kiln_vm *vm, vm_rtfunc *f, const uint8_t *code, size_t len, uint32_t *pcmap,
                 size_t osr);

/* jit_commit: the staged functions into the cache: they run from now on. */
void jit_commit(kiln_vm *vm);

/* jit_emit_trampoline: the entry from C into compiled code. */
void jit_emit_trampoline(x64_buf *b);

#endif
