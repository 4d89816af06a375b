/*
 * gc.h — the object heap of one VM.
 *
 * Algorithm (today): every guest object is allocated here, from a mimalloc
 * heap (mi_heap_t) that belongs to one VM, and carries a gc_obj header.
 * Nothing is collected yet: objects live until the VM is destroyed, when
 * the whole heap is released at once (mi_heap_destroy), which is O(pages),
 * not O(objects). The precise mark-sweep collector arrives with the object
 * model; it will mark from the roots (frames through their functions'
 * reference maps, globals, constants, handles) and sweep the heap's blocks
 * with mi_heap_visit_blocks. Its invariants are written here when it lands.
 *
 * Invariant already kept: every object reachable by the guest was
 * allocated by gc_alloc and starts with a gc_obj, so the collector can
 * find and free every object without help from its allocator.
 *
 * With KILN_GC_MALLOC (used by `make asan`), objects come from malloc and
 * are chained on a list, so AddressSanitizer and Valgrind see each one.
 */
#ifndef KILN_GC_H
#define KILN_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gc_obj {
#ifdef KILN_GC_MALLOC
    struct gc_obj *next; /* all objects of the heap, newest first */
#endif
    uint32_t kind;  /* what the object is (VM_OBJ_*) */
    uint32_t flags; /* mark bits, later */
} gc_obj;

typedef struct gc_heap {
    void *mh;     /* mi_heap_t *, or NULL with KILN_GC_MALLOC */
    gc_obj *all;  /* KILN_GC_MALLOC: every object */
    size_t bytes; /* bytes allocated */
    size_t limit; /* 0 = none */
} gc_heap;

/* gc_init: prepares an empty heap; `limit` bytes (0 = none) bound the total
 * allocated. Returns false when memory runs out. */
bool gc_init(gc_heap *h, size_t limit);

/* gc_destroy: frees every object of the heap at once. */
void gc_destroy(gc_heap *h);

/* gc_alloc: `size` bytes (header included) for an object of `kind`, the
 * header filled in, the rest zeroed. NULL when memory or the limit runs
 * out; the caller raises OutOfMemoryError. */
gc_obj *gc_alloc(gc_heap *h, size_t size, uint32_t kind);

#endif
