/*
 * jit_mem.c — the JIT's state, its code cache, and the machine stack.
 *
 * The code cache is a list of mappings that are never writable and
 * executable at once (W^X): a new function is copied in while its pages
 * are read-write, then they become read-execute again. A VM runs on one
 * thread at a time and compiles synchronously, so no code of this VM runs
 * while its pages are writable; each VM has its own cache, freed with it.
 * Past vm_config.jit_code_limit bytes, functions stay interpreted.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <stdlib.h>
#include <string.h>

#include "../vm/frame.h"
#include "jit_int.h"

#if defined(__x86_64__) && defined(__linux__)
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#define JIT_HOST 1
#else
#define JIT_HOST 0
#endif

enum { CHUNK = 1 << 20 };                   /* bytes per mapping, at least */
#define DEFAULT_LIMIT ((size_t)64 << 20)    /* the cache's default size */
#define STACK_MARGIN ((uintptr_t)256 << 10) /* machine stack kept for C */
#define UNKNOWN_STACK ((uintptr_t)64 << 10) /* used of a stack of unknown size */

bool jit_available(void)
{
    return JIT_HOST;
}

#if JIT_HOST

/* Copies n bytes into the cache: the pages they land on are writable for
 * the copy only. */
static uint8_t *cache_put(jit_state *J, const uint8_t *bytes, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (J->used + need > J->limit) {
        J->stats.cache_full = true;
        return NULL;
    }
    jit_chunk *c = J->chunks;
    if (!c || c->used + need > c->size) {
        size_t size = need > CHUNK ? (need + J->page - 1) & ~(J->page - 1) : CHUNK;
        void *p = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        c = malloc(sizeof *c);
        if (!c) {
            munmap(p, size);
            return NULL;
        }
        *c = (jit_chunk){J->chunks, p, size, 0};
        J->chunks = c;
    }
    uint8_t *dst = c->base + c->used;
    uintptr_t lo = (uintptr_t)dst & ~(uintptr_t)(J->page - 1);
    uintptr_t hi = ((uintptr_t)dst + need + J->page - 1) & ~(uintptr_t)(J->page - 1);
    if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE) != 0)
        return NULL;
    memcpy(dst, bytes, n);
    if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_EXEC) != 0)
        return NULL; /* left writable, not executable: still W^X, never run */
    c->used += need;
    J->used += need;
    return dst;
}

/* The trampoline from C into compiled code (J->enter), made with the
 * first code: a VM that compiles nothing maps no code memory. It is not
 * counted against the limit. */
static bool make_trampoline(jit_state *J)
{
    if (J->enter)
        return true;
    x64_buf b = {0};
    jit_emit_trampoline(&b);
    size_t used = J->used, limit = J->limit;
    J->limit = used + b.len + 16; /* room for it, whatever the limit */
    uint8_t *t = b.oom ? NULL : cache_put(J, b.p, b.len);
    x64_free(&b);
    J->used = used;
    J->limit = limit;
    if (!t)
        return false;
    /* A data pointer to a function pointer: POSIX guarantees the cast. */
    memcpy(&J->enter, &t, sizeof t);
    return true;
}

/* A function whose code is in the cache: it runs from here on. */
static void go_live(kiln_vm *vm, jit_code *jc)
{
    jit_state *J = vm->jit;
    vm_rtfunc *f = jc->f;
    jc->next = J->codes;
    J->codes = jc;
    f->jinfo = jc;
    f->jcode = jc->code;
    f->calls = 0;
    J->stats.functions++;
    J->stats.bytes += jc->size;
    if (J->perf) {
        fprintf(J->perf, "%lx %zx kiln:%s\n", (unsigned long)(uintptr_t)jc->code, jc->size,
                vm_image_str(&vm->img, f->def->name));
        fflush(J->perf);
    }
}

bool jit_install(kiln_vm *vm, vm_rtfunc *f, const uint8_t *code, size_t len, uint32_t *pcmap,
                 size_t osr)
{
    jit_state *J = vm->jit;
    jit_code *jc = malloc(sizeof *jc);
    if (!jc)
        return false;
    *jc = (jit_code){NULL, f, NULL, len, pcmap, pcmap + f->def->ncode + 1, osr};
    if (J->staging) {
        while (J->stage.len % 16)
            x64_byte(&J->stage, 0xCC);
        size_t off = J->stage.len;
        x64_append(&J->stage, code, len);
        if (J->stage.oom) {
            free(jc);
            return false;
        }
        jc->code = (uint8_t *)(uintptr_t)off;
        jc->next = J->staged;
        J->staged = jc;
        return true;
    }
    jc->code = make_trampoline(J) ? cache_put(J, code, len) : NULL;
    if (!jc->code) {
        free(jc);
        return false;
    }
    go_live(vm, jc);
    return true;
}

void jit_commit(kiln_vm *vm)
{
    jit_state *J = vm->jit;
    J->staging = false;
    bool ready = make_trampoline(J);
    uint8_t *base = ready && J->stage.len ? cache_put(J, J->stage.p, J->stage.len) : NULL;
    for (jit_code *jc = J->staged, *n; jc; jc = n) {
        n = jc->next;
        size_t off = (size_t)(uintptr_t)jc->code;
        /* all at once, or (past the limit) one by one while they fit */
        jc->code = base ? base + off : ready ? cache_put(J, J->stage.p + off, jc->size) : NULL;
        if (jc->code) {
            go_live(vm, jc);
        } else {
            jc->f->jit_failed = true;
            J->stats.failed++;
            free(jc->pcmap);
            free(jc);
        }
    }
    J->staged = NULL;
    x64_free(&J->stage);
}

bool jit_init(kiln_vm *vm)
{
    if (vm->cfg.jit == VM_JIT_OFF)
        return true;
    jit_state *J = calloc(1, sizeof *J);
    if (!J)
        return false;
    long page = sysconf(_SC_PAGESIZE);
    J->page = page > 0 ? (size_t)page : 4096;
    J->limit = vm->cfg.jit_code_limit ? vm->cfg.jit_code_limit : DEFAULT_LIMIT;
    if (J->limit > SIZE_MAX / 4) /* "no limit" asked for: what sums cannot overflow */
        J->limit = SIZE_MAX / 4;
    vm->jit = J;
    if (vm->cfg.perf_map) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)getpid());
        J->perf = fopen(path, "a"); /* NULL: no map, nothing else changes */
    }
    return true;
}

void jit_free(kiln_vm *vm)
{
    jit_state *J = vm->jit;
    if (!J)
        return;
    for (uint32_t i = 0; vm->funcs && i < vm->img.nfuncs; i++) {
        vm->funcs[i].jcode = NULL;
        vm->funcs[i].jinfo = NULL;
    }
    for (jit_code *c = J->codes, *n; c; c = n) {
        n = c->next;
        free(c->pcmap);
        free(c);
    }
    for (jit_chunk *c = J->chunks, *n; c; c = n) {
        n = c->next;
        munmap(c->base, c->size);
        free(c);
    }
    if (J->perf)
        fclose(J->perf);
    x64_free(&J->scratch);
    x64_free(&J->stage);
    free(J);
    vm->jit = NULL;
}

void jit_thread_enter(kiln_vm *vm)
{
    vm_ctx *X = vm->ctx;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    unsigned long self = (unsigned long)pthread_self();
    if (X->c_thread == self && sp > X->c_lo && sp <= X->c_hi)
        return;
    pthread_attr_t a;
    void *lo = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        if (pthread_attr_getstack(&a, &lo, &size) != 0)
            lo = NULL;
        pthread_attr_destroy(&a);
    }
    if (!lo || sp <= (uintptr_t)lo || sp > (uintptr_t)lo + size) {
        /* not the thread's stack (a coroutine's, say): its size is
         * unknown, so compiled code gets little of it (past the limit,
         * calls are interpreted, which takes no machine stack) */
        lo = (void *)(sp - UNKNOWN_STACK);
        size = UNKNOWN_STACK;
    }
    X->c_thread = self;
    X->c_lo = (uintptr_t)lo;
    X->c_hi = (uintptr_t)lo + size;
    uintptr_t margin = size / 4 < STACK_MARGIN ? size / 4 : STACK_MARGIN;
    X->c_limit = X->c_lo + margin;
}

#else /* no JIT on this machine: everything is interpreted */

bool jit_install(kiln_vm *vm, vm_rtfunc *f, const uint8_t *code, size_t len, uint32_t *pcmap,
                 size_t osr)
{
    (void)vm, (void)f, (void)code, (void)len, (void)pcmap, (void)osr;
    return false;
}
void jit_commit(kiln_vm *vm)
{
    (void)vm;
}
bool jit_init(kiln_vm *vm)
{
    (void)vm;
    return true;
}
void jit_free(kiln_vm *vm)
{
    (void)vm;
}
void jit_thread_enter(kiln_vm *vm)
{
    vm->ctx->c_limit = 0;
}

#endif

void jit_get_stats(const kiln_vm *vm, jit_stats *out)
{
    *out = vm->jit ? vm->jit->stats : (jit_stats){0};
}
