/*
 * gc.h — the object heap of one VM, its garbage collector, the root stack
 * for C code, and the write-barrier contract.
 *
 * Algorithm: precise, non-moving, stop-the-world mark-sweep.
 *
 *   allocate  Every guest object comes from gc_alloc (the VM calls it in
 *             one place, vm_alloc), out of mimalloc's mi_zalloc, starts
 *             with a gc_obj header (the next object, kind, mark, size;
 *             the rest is zeroed), and goes on the VM's own list of its
 *             objects: the heap is the VM's, the memory allocator the
 *             process's. Not a mimalloc heap of its own (mi_heap_t): such
 *             a heap belongs to the thread that made it and dies with
 *             it, and a VM may be made on one thread and run on others
 *             (one at a time), while mi_zalloc and mi_free may be called
 *             from any thread, and a block outlives the thread that
 *             allocated it.
 *   trigger   When the bytes allocated since the last collection pass the
 *             threshold, or the heap limit would be crossed, gc_alloc
 *             collects first. After a collection the threshold becomes
 *             the live bytes plus KILN_GC_GROWTH percent of them (at least
 *             KILN_GC_MIN_HEAP more), so collection work stays
 *             proportional to allocation.
 *   mark      The VM's root callback marks every root precisely: in
 *             every frame of every execution context (through the entry
 *             frames of natives that called back in, to the bottom of the
 *             stack), the reference registers live at the instruction the
 *             frame is stopped in (vm_live: a register never changes
 *             type, and a dead one is no root); the globals of reference
 *             type, the string constants, the embedder's handles, the
 *             preallocated OutOfMemoryError and the pending error object,
 *             the cached function values, and each context's root stack
 *             (gc_roots) where C code keeps the objects it holds across an
 *             allocation.
 *             Marking an object sets its mark and pushes it on the
 *             gray stack; draining the stack calls the VM's trace
 *             callback, which marks the object's children: instance
 *             fields and closure captures of reference type, an array's
 *             buffer and (if of references) its elements, a map's four
 *             buffers and its string keys and reference values, a cell's
 *             value. Strings and buffers have no children of their own
 *             (a buffer's items are traced through the array or map that
 *             owns it, which knows their type). If the gray stack cannot
 *             grow, the object is marked but not pushed, and the marked
 *             objects are traced again until nothing is left out.
 *             A mark is the cycle's epoch (1 to 255, then 1 again), not
 *             a bit: o->mark == h->epoch means reached in this cycle, so
 *             the marks a stopped cycle left (below) are not taken for
 *             the next one's.
 *   sweep     Every object on the list is visited; an unmarked one is
 *             unlinked and freed, a marked one has its mark cleared for
 *             next time.
 *   stop      A collection that gc_alloc or gc_reserve begins may be cut
 *             short, so that kiln_interrupt and the deadline stop the
 *             guest within milliseconds even in a full collection of
 *             millions of objects (tens of milliseconds): every GC_POLL
 *             objects marked, rescanned or swept, the collector asks the
 *             VM's should_stop callback (true: the guest is being
 *             interrupted, or its time is up). A mark phase stopped is
 *             abandoned: the gray stack is emptied, nothing is freed, the
 *             marks it made stay behind with its epoch (stale marks). A
 *             sweep stopped keeps its place (h->sweep, the link to the
 *             next object to visit) and the next collection finishes it
 *             first, then marks anew: the lazy sweep of mark-sweep
 *             collectors, sound because what the mark phase did not reach
 *             was garbage then and stays so (nothing can reach it again);
 *             an object allocated meanwhile is born marked when the sweep
 *             has yet to visit it (only when h->sweep is &h->all: new
 *             objects go to the front of the list, behind the place of a
 *             sweep that has gone past the first survivor). The
 *             allocation that began the collection fails with h->stopped
 *             set, and the VM raises the limit that stopped the guest,
 *             not OutOfMemoryError. gc_collect (kiln_collect, kiln_reset)
 *             always completes, and nothing stops in verify mode.
 *             The collector stays stop-the-world; only its end can come
 *             early.
 *
 * Invariants:
 *   1. Every object the guest can reach was allocated by gc_alloc and is
 *      in this heap, so the sweep sees every object and nothing else.
 *   2. Outside a collection every mark is 0, but for the marks a
 *      stopped mark phase left (its epoch, never the current one until
 *      the epoch comes round: then every mark is cleared first), and
 *      while a sweep is pending, the marks of the objects it has yet to
 *      visit. A complete sweep clears them all. In verify mode no
 *      collection stops, and every mark is 0 outside one.
 *   3. Between two allocations C code may hold references the collector
 *      cannot see. Across an allocation, every object C code still needs
 *      is reachable from a root: a register or global, or pushed on the
 *      root stack by the C code that made it (vm_root_push). A function
 *      roots what it creates; its object arguments are its caller's to
 *      keep reachable (the interpreter's registers are roots already).
 *   4. Collections only happen inside gc_alloc (or gc_collect): objects
 *      never move, so pointers held across an allocation stay valid if
 *      they are rooted.
 *   5. An object is rooted only once it can be traced: an array or a map
 *      as gc_alloc returns it (null buffers, no elements), so it may be
 *      rooted before it is filled; an instance or closure once its
 *      allocator has set its class or function, which it does before
 *      anything else can allocate.
 *
 * Memory: the heap's own pages (pages.h): blocks of size classes for
 * small objects, runs of pages for middle-sized ones; a mapping of its own
 * for a large one; mimalloc's in verify mode. KILN_GC_MALLOC (used by
 * `make asan`) takes large objects and verify mode's from the C library's
 * calloc and free instead, so AddressSanitizer and Valgrind see each one;
 * the code is otherwise the same. `stress` collects at every allocation,
 * proving the root maps; `verify` checks after each collection that everything reachable survived
 * (see gc_collect), and checks and records every gc_barrier call.
 *
 * Barrier: every store of a reference into a heap object calls
 * gc_barrier (the contract, with its exceptions, is stated with it
 * below). This collector needs nothing from it; the generational one
 * planned next (sticky mark bits) will.
 */
#ifndef KILN_GC_H
#define KILN_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pages.h"

typedef struct gc_obj {
    struct gc_obj *next; /* all objects of the heap, newest first */
    uint8_t kind;        /* what the object is (VM_OBJ_*) */
    uint8_t mark;        /* the epoch of the mark phase that reached it, or 0 */
    uint8_t live;        /* gc_verify: survived the last sweep */
    uint8_t big;         /* where its memory is from: GC_FROM_* (gc.c) */
    uint32_t size;       /* bytes, header included */
} gc_obj;

enum { GC_SMALL = 1024 }; /* objects up to this size have their charge in a table */
/* Objects marked, rescanned or swept between two questions to
 * should_stop: 20 to 100 microseconds of collecting (cache misses of 5 to
 * 25 ns each), against the callback's atomic load and clock read (tens of
 * nanoseconds): the poll costs well under 1%, a stop comes within a
 * fraction of a millisecond. */
enum { GC_POLL = 4096 };

typedef struct gc_heap gc_heap;
/* The gray stack grows by segments of GC_GRAY_SEG entries (32 KiB with
 * the link), so growing never copies it: a copy of a stack of millions of
 * entries took milliseconds that no stop could cut short. */
enum { GC_GRAY_SEG = 4095 };
typedef struct gc_gray {
    struct gc_gray *below; /* the segment under it, NULL at the bottom */
    gc_obj *items[GC_GRAY_SEG];
} gc_gray;
/* gc_barrier calls remembered in verify mode: enough for the most one
 * store site makes (a map's growth: two buffer swaps, a key, a value). */
enum { GC_BARRIER_LOG = 16 };
/* Roots and children are reported with gc_mark. */
typedef void (*gc_roots_fn)(gc_heap *h, void *ctx);
typedef void (*gc_trace_fn)(gc_heap *h, gc_obj *o, void *ctx);

struct gc_heap {
    gc_obj *all;      /* every object, newest first */
    size_t bytes;     /* the footprint of all objects now allocated (size class or pages) */
    size_t threshold; /* collect when bytes passes this */
    size_t limit;     /* 0 = none */
    bool in_reserve;  /* an allocation failed: the last 1/16 of the limit may be used */
    bool stress;      /* collect at every allocation */
    bool verify;      /* check reachability after each collection */
    bool collecting;
    gc_roots_fn roots;
    gc_trace_fn trace;
    void *ctx;
    gc_gray *gray;      /* the mark stack's top segment (NULL: none yet) */
    size_t ngray;       /* entries in the top segment */
    size_t gray_segs;   /* segments in the stack */
    gc_gray *gray_free; /* emptied segments kept for the next pushes (by `below`) */
    /* Bit k set: objects of kind k have nothing to trace (strings,
     * buffers), so marking one only sets its bit and the gray stack stays
     * small (a million strings in a map took 8 MB of it). Not while
     * verifying, which checks every object it reaches. */
    uint32_t leaf_kinds;
    /* Bit k set: an object of kind k is passed to `finalize` (with ctx)
     * just before it is freed, by a collection or by gc_destroy. The
     * callback must not allocate or collect. */
    uint32_t final_kinds;
    void (*finalize)(gc_obj *o, void *ctx);
    /* gc_charge of the sizes up to GC_SMALL, by size / 8 rounded up. */
    uint32_t small_charge[GC_SMALL / 8 + 1];
    gc_pages pages; /* middle-sized objects' pages (pages.h) */
    bool verifying;
    bool gray_overflow; /* the mark stack could not grow: rescan needed */
    /* Stopping (see "stop" above). should_stop(ctx), NULL for never, is
     * asked every GC_POLL objects of a collection gc_alloc or gc_reserve
     * began; it must not allocate or collect. */
    bool (*should_stop)(void *ctx);
    int64_t poll_left; /* objects before the next question (INT64_MAX: none) */
    /* The collection under way is stopping: gc_mark marks nothing more,
     * and a trace callback may end a long loop early. After gc_alloc
     * returned NULL or gc_reserve false: the collection it began was
     * stopped (the failure is not for want of memory). */
    bool stopped;
    bool stale;     /* a mark phase was stopped since the last complete sweep */
    uint8_t epoch;  /* the mark of this (or the pending sweep's) cycle, 1..255 */
    gc_obj **sweep; /* a pending sweep's place: the link to its next object; or NULL */
    /* statistics */
    uint64_t collections;     /* completed */
    uint64_t stops;           /* collections stopped (each finished or abandoned later) */
    size_t freed_last;        /* bytes the last collection's sweeps freed */
    const char *verify_error; /* set when verification found a problem */
    /* verify mode: every gc_barrier call, counted, the last GC_BARRIER_LOG
     * kept (call i at barrier_log[i % GC_BARRIER_LOG]), for the tests */
    uint64_t barriers;
    struct gc_barrier_rec {
        gc_obj *o, *v;
    } barrier_log[GC_BARRIER_LOG];
};

/* gc_init: prepares an empty heap; `limit` bytes (0 = none) bound the
 * total allocated. `roots` and `trace` (with `ctx`) are the VM's callbacks.
 * Returns false when memory runs out. */
bool gc_init(gc_heap *h, size_t limit, gc_roots_fn roots, gc_trace_fn trace, void *ctx);

/* gc_destroy: frees every object of the heap at once. */
void gc_destroy(gc_heap *h);

/* What the heap is charged for object o (its allocator size class, or
 * its pages for a large one), and what gc_alloc would charge for an
 * object of `size` bytes. */
size_t gc_footprint(const gc_heap *h, const gc_obj *o);
/* Native memory the guest causes outside objects (a file being read, a
 * line being gathered) is charged to the heap while it lives: gc_reserve
 * charges n bytes (collecting first if the limit needs it; false if they
 * do not fit, h->stopped telling whether should_stop cut the collection
 * short), gc_release gives them back. */
bool gc_reserve(gc_heap *h, size_t n);
/* gc_in_use: what the heap holds against its limit: the objects'
 * footprints, reserved bytes, and the free blocks of its spans (memory
 * held, usable only by objects of their size classes). */
size_t gc_in_use(const gc_heap *h);
void gc_release(gc_heap *h, size_t n);
size_t gc_charge(const gc_heap *h, size_t size);

/* gc_alloc: `size` bytes (header included) for an object of `kind`, the
 * header filled in, the rest zeroed. May collect first. Returns NULL when
 * memory or the limit runs out even after a collection (the caller raises
 * OutOfMemoryError), or with h->stopped set when should_stop cut that
 * collection short (the caller raises what stops the guest). */
gc_obj *gc_alloc(gc_heap *h, size_t size, uint8_t kind);

/* gc_collect: a full collection now (a pending sweep finished first),
 * never stopped. */
void gc_collect(gc_heap *h);

/* gc_mark: marks `o` (NULL is ignored) as reachable; its children are
 * traced later. Only called from the roots and trace callbacks. */
void gc_mark(gc_heap *h, gc_obj *o);

/* ---- The root stack ----
 *
 * Where C code keeps the objects it holds across an allocation
 * (invariant 3): push each object once it exists, pop as many when done.
 * It grows as needed (realloc) up to `max` entries; a push that cannot
 * grow it fails and pushes nothing, so a root is never silently dropped.
 * The VM's root callback marks it (gc_roots_mark). */
typedef struct gc_roots {
    gc_obj **items;
    size_t n, cap;
    size_t max; /* entries it may hold */
} gc_roots;

/* gc_roots_init: an empty stack that will hold at most `max` entries. */
void gc_roots_init(gc_roots *r, size_t max);

/* gc_roots_free: releases the stack's memory (not the objects). */
void gc_roots_free(gc_roots *r);

/* gc_roots_grow: makes room for one more entry; false when the stack
 * holds `max` entries already or memory runs out. */
bool gc_roots_grow(gc_roots *r);

/* gc_roots_push: pushes `o` (NULL is allowed and marks nothing). Returns
 * false, pushing nothing, when the stack is at `max` entries or memory
 * runs out. Inline: natives and allocators push on their fast paths. */
static inline bool gc_roots_push(gc_roots *r, gc_obj *o)
{
    if (r->n == r->cap && !gc_roots_grow(r))
        return false;
    r->items[r->n++] = o;
    return true;
}

/* gc_roots_pop: pops the last `n` entries. Returns false (popping all)
 * if fewer than `n` were pushed: a bug of the caller. */
static inline bool gc_roots_pop(gc_roots *r, size_t n)
{
    bool ok = n <= r->n;
    r->n -= ok ? n : r->n;
    return ok;
}

/* gc_roots_mark: marks every object on the stack; from a roots callback. */
void gc_roots_mark(gc_heap *h, const gc_roots *r);

/* ---- The write barrier ----
 *
 * gc_barrier(h, o, v) follows every store of reference `v` (NULL allowed)
 * into a slot that the collector finds through object `o`. Today's
 * collector needs nothing from it; the generational collector that comes
 * next (sticky mark bits) will remember old objects that were stored into
 * since the last collection, so a missing call will then lose objects.
 *
 * `o` is the object whose trace reaches the slot: the instance for a
 * field, the array for an element (not its buffer, which is traced
 * through the array), the map for a key or a value, the cell for its
 * value, the closure for a capture. The stores that call it:
 *   - instance fields (SETF);
 *   - array elements: ASET, push (vm_array_push), AFILL (one call for the
 *     one value stored into every slot);
 *   - map keys of string type and map values (vm_map_set, one call each);
 *   - cells (SETCELL);
 *   - buffer swaps: an array that grows (vm_array_push) or a map that is
 *     rebuilt (vm_map.c) stores each new buffer with gc_barrier(h, owner,
 *     buffer). Copying the existing elements into the new buffer needs no
 *     call of its own: they were reachable through the owner before and
 *     the owner's barrier for the swap covers the new buffer.
 * A site that stores a value whose type it does not test on the fast path
 * (SETF: the register type; ASET, APUSH: the array's; a map's) passes
 * NULL for a non-reference value, so the test happens only in verify
 * mode. Stores that need no call:
 *   - initializing stores: into an object allocated by the same C code
 *     with no allocation since (closure captures at creation, a new
 *     cell's value, a new error's message, an array or map made and
 *     filled by ASLICE or MKEYS, a new array's first buffer — allocated
 *     before the array for that reason). No collection can have seen the
 *     object, so it is younger than anything stored into it; a later
 *     incremental collector must allocate new objects unscanned (gray)
 *     to keep this rule.
 *   - stores of null and of non-references (APOP and map removal clear
 *     slots: no edge is made; a snapshot-at-the-beginning collector would
 *     need the overwritten value instead, and a new contract);
 *   - stores into roots: registers, globals, handles, the root stack,
 *     which every collection scans whole.
 *
 * In verify mode (h->verify) each call is counted and logged
 * (h->barriers, h->barrier_log) and checked: `o` must be an object of
 * this heap with a sane header, `v` NULL or one; a failure sets
 * h->verify_error, which the next allocation raises as an internal error.
 * (The test reads the headers, after checking that the memory is
 * mimalloc's at all, mi_is_in_heap_region; in the KILN_GC_MALLOC build
 * AddressSanitizer catches a freed object there.) Otherwise the call is
 * one predictable branch. */
void gc_barrier_verify(gc_heap *h, gc_obj *o, gc_obj *v);

/* A macro rather than an inline function so that `o` and `v` (often a
 * type test, a ? RA.p : NULL) are evaluated only in verify mode: GCC
 * evaluates an inline function's arguments before its branch. `h` is
 * evaluated twice and must have no side effects. */
#define gc_barrier(h, o, v) \
    ((void)(__builtin_expect((h)->verify, 0) ? (gc_barrier_verify((h), (o), (v)), 0) : 0))

#endif
