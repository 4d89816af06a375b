/*
 * gc.c — allocation and mark-sweep collection over the VM's own heap, the
 * root stack, and the verify-mode write barrier. See gc.h for the
 * algorithm, its invariants and the barrier's contract.
 */
#include "gc.h"

#include <stdlib.h>
#include <string.h>

#include "../vm/config.h"

#ifdef KILN_GC_MALLOC
#define GC_ZALLOC(n) calloc(1, (n))
#define GC_FREE free
#else
#include <mimalloc.h>
#ifdef __SANITIZE_THREAD__
/* mimalloc is not instrumented: a block one thread frees and another
 * reuses is handed over through its atomics, which ThreadSanitizer cannot
 * see. Say so, exactly there, so the hand-over orders the two threads'
 * accesses to the memory as it really does. The memory, not the block: a
 * new block may cover several old ones (a 512 KB string where another
 * thread's small objects were, once that thread's pages were freed), so
 * the hand-over is said once per 64 KiB of address space the block
 * touches, on the first address of each (a mimalloc page's size: an old
 * and a new block that overlap share one). Nothing else is hidden: only a
 * free and a later allocation of the same memory are ordered. */
#include <sanitizer/tsan_interface.h>
enum { TSAN_GRAIN = 1 << 16 };
static void tsan_grains(void *p, size_t n, void (*say)(void *))
{
    uintptr_t end = (uintptr_t)p + n;
    for (uintptr_t a = (uintptr_t)p & ~(uintptr_t)(TSAN_GRAIN - 1); a < end; a += TSAN_GRAIN)
        say((void *)a);
}
static void *tsan_zalloc(size_t n)
{
    void *p = mi_zalloc(n);
    if (p)
        tsan_grains(p, n, __tsan_acquire);
    return p;
}
static void tsan_free(void *p)
{
    tsan_grains(p, mi_usable_size(p), __tsan_release);
    mi_free(p);
}
#define GC_ZALLOC tsan_zalloc
#define GC_FREE tsan_free
#else
#define GC_ZALLOC mi_zalloc
#define GC_FREE mi_free
#endif
#endif

/* Where an object's memory is from (gc_obj.big), by its size: a block of
 * the heap's spans (small objects) or a run of its pages (middle-sized
 * ones), pages.h; a mapping of its own (large ones). In verify mode, whose
 * checks ask mimalloc which memory is an object's, every object is
 * mimalloc's. In the KILN_GC_MALLOC build (make asan) large objects and
 * verify mode's are the C library's, each with its own bounds and freed
 * memory held back by AddressSanitizer; spans and runs poison what is not
 * handed out (pages.c), so the build tests the heap's own memory too. */
enum { GC_FROM_ALLOCATOR, GC_FROM_SPAN, GC_FROM_PAGES, GC_FROM_MAPPING };

#ifndef KILN_GC_MALLOC
#include <sys/mman.h>
/* A large object (a big array's or map's buffer) gets pages of its own
 * from the OS, as the large-object spaces of other VMs do: they come
 * zeroed (no memset of memory the kernel has just cleared), may be huge
 * pages (one page fault per 2 MiB instead of 512: growing a million-entry
 * map spent most of its time in page faults), and go back to the OS when
 * the object dies. In the KILN_GC_MALLOC build it is calloc's, for
 * AddressSanitizer to see its bounds. */
enum { GC_HUGE = 2 << 20 };

static gc_obj *big_alloc(size_t size)
{
    void *p =
        mmap(NULL, gc_pages_len(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (size >= GC_HUGE)
        (void)madvise(p, gc_pages_len(size), MADV_HUGEPAGE); /* a hint: without, small pages */
    gc_obj *o = p;
    o->big = GC_FROM_MAPPING;
    return o;
}
#endif

/* What the heap may hold, the free blocks of its spans included: a
 * sixteenth and 512 KiB more than the limit on objects. The process stays
 * within the limit, a tenth and a few MiB; free blocks up to that never
 * stop a program sooner than its objects would (a small heap's first
 * spans, 16 KiB a class, are more than a 512 KiB limit's sixteenth). */
static size_t held_cap(const gc_heap *h)
{
    return h->limit + h->limit / 16 + ((size_t)512 << 10);
}

/* Free pages holding memory count as the heap's near its limit, so the
 * process stays within it: trimmed before `len` more bytes are held. For
 * small objects too (len 0: a span's pages are counted as held once it is
 * made): a new span may take fresh pages while free runs too short for
 * any span or object (a page or two between live runs) keep their memory
 * (red-team finding: 85 MB under --heap-limit=64M). */
static inline void trim_for(gc_heap *h, size_t len)
{
    if (!h->limit) /* the common case: one test on the allocation path */
        return;
    size_t held = gc_in_use(h) + len;
    if (held + h->pages.dirty > held_cap(h))
        gc_pages_trim(&h->pages, held_cap(h) > held ? held_cap(h) - held : 0);
}

/* A heap's small objects are the allocator's until it holds GC_OWN_FROM
 * bytes or makes a middle-sized object, when it maps its first chunk: a
 * ready VM makes a few objects of many classes, and a span each (a page
 * each, and the chunk's header) took 39 KiB of memory per VM where
 * mimalloc, sharing its pages among the VMs of a process, took 18. What
 * the allocator holds then is bounded by GC_OWN_FROM. */
enum { GC_OWN_FROM = 256 << 10 };

/* Zeroed memory for an object of `size` bytes, from where its size says. */
static gc_obj *obj_alloc(gc_heap *h, size_t size)
{
    gc_obj *o;
    if (h->verify) {
        o = GC_ZALLOC(size);
    } else if (size <= GC_SMALL_MAX && !h->pages.chunks && h->bytes < GC_OWN_FROM) {
        /* A small heap's objects are the allocator's (below). */
        o = GC_ZALLOC(size);
    } else if (size <= GC_SMALL_MAX) {
        trim_for(h, 0);
        if ((o = gc_small_alloc(&h->pages, size)))
            o->big = GC_FROM_SPAN;
    } else if (size <= GC_PAGES_MAX) {
        trim_for(h, gc_pages_len(size));
        if ((o = gc_pages_alloc(&h->pages, size)))
            o->big = GC_FROM_PAGES;
    } else {
#ifdef KILN_GC_MALLOC
        o = GC_ZALLOC(size);
#else
        o = big_alloc(size);
#endif
    }
    return o;
}

static void gc_free(gc_heap *h, gc_obj *o)
{
    if (o->big == GC_FROM_SPAN)
        gc_small_free(&h->pages, o);
    else if (o->big == GC_FROM_PAGES)
        gc_pages_free(&h->pages, o, o->size);
#ifndef KILN_GC_MALLOC
    else if (o->big == GC_FROM_MAPPING)
        munmap(o, gc_pages_len(o->size));
#endif
    else
        GC_FREE(o);
}

/* ---- The gray stack (segments: gc.h) ---- */

/* Frees the stack's segments down to `keep` (0 or 1: the bottom one, for
 * the next collection), and the spare ones; the stack is left empty. */
static void gray_trim(gc_heap *h, size_t keep)
{
    while (h->gray_segs > keep) {
        gc_gray *s = h->gray;
        h->gray = s->below;
        h->gray_segs--;
        free(s);
    }
    while (h->gray_free) {
        gc_gray *s = h->gray_free;
        h->gray_free = s->below;
        free(s);
    }
    h->ngray = 0;
}

/* Empties the stack of a stopped mark phase without freeing anything:
 * its segments become spares. Freeing hundreds of them (mimalloc giving
 * pages back with madvise) took milliseconds after the stop; the next
 * collection reuses them, and the next complete mark phase frees them. */
static void gray_drop(gc_heap *h)
{
    while (h->gray) {
        gc_gray *s = h->gray;
        h->gray = s->below;
        s->below = h->gray_free;
        h->gray_free = s;
    }
    h->gray_segs = 0;
    h->ngray = 0;
}

/* A new top segment for a push onto a full one. Under a heap limit the
 * stack holds at most limit / 64 bytes of pointers (it is memory outside
 * the limit), one segment at least; past that, or when memory runs out,
 * false. */
static bool gray_grow(gc_heap *h)
{
    size_t entries = (h->gray_segs + 1) * (size_t)GC_GRAY_SEG;
    if (h->gray_segs && h->limit && entries * sizeof(gc_obj *) > h->limit / 64)
        return false;
    gc_gray *s = h->gray_free ? h->gray_free : malloc(sizeof *s);
    if (!s)
        return false;
    if (s == h->gray_free)
        h->gray_free = s->below;
    s->below = h->gray;
    h->gray = s;
    h->gray_segs++;
    h->ngray = 0;
    return true;
}

/* The next object to trace, or NULL when the stack is empty. An emptied
 * segment is kept as a spare if there is none, else freed (the stack's
 * size swings by a segment at its top: a free and a malloc at every swing
 * are saved). */
static gc_obj *gray_pop(gc_heap *h)
{
    if (h->ngray == 0) {
        gc_gray *s = h->gray;
        if (!s || !s->below)
            return NULL;
        h->gray = s->below;
        h->gray_segs--;
        h->ngray = GC_GRAY_SEG;
        if (h->gray_free) {
            free(s);
        } else {
            s->below = NULL;
            h->gray_free = s;
        }
    }
    return h->gray->items[--h->ngray];
}

bool gc_init(gc_heap *h, size_t limit, gc_roots_fn roots, gc_trace_fn trace, void *ctx)
{
    memset(h, 0, sizeof *h);
    h->limit = limit;
    h->threshold = KILN_GC_MIN_HEAP;
    for (size_t i = 0; i <= GC_SMALL >> 3; i++) /* a small request's block */
        h->small_charge[i] = (uint32_t)gc_small_len(i ? i << 3 : 1);
    h->roots = roots;
    h->trace = trace;
    h->ctx = ctx;
    h->poll_left = INT64_MAX; /* asked only in a collection that may stop */
    return true;
}

void gc_destroy(gc_heap *h)
{
    h->collecting = true; /* a finalizer's kiln_collect must not walk freed objects */
    gc_obj *o = h->all;
    while (o) {
        gc_obj *next = o->next;
        if (h->final_kinds >> o->kind & 1)
            h->finalize(o, h->ctx);
        gc_free(h, o);
        o = next;
    }
    gc_pages_destroy(&h->pages);
    gray_trim(h, 0);
    memset(h, 0, sizeof *h);
}

/* ---- What an object costs the heap ---- */

/* The memory an object takes, so the heap limit bounds the real
 * footprint: its pages (the heap's or its own mapping's), or its size
 * class's block. The same in every mode: under --gc-verify an object is
 * mimalloc's (or the C library's) but charged as it would be otherwise,
 * so that a program's objects reach the limit at the same point. */
size_t gc_charge(const gc_heap *h, size_t size)
{
    if (size <= GC_SMALL) /* the common case, from a table */
        return h->small_charge[(size + 7) >> 3];
    return size <= GC_SMALL_MAX ? gc_small_len(size) : gc_pages_len(size);
}

size_t gc_footprint(const gc_heap *h, const gc_obj *o)
{
    return o->big >= GC_FROM_PAGES ? gc_pages_len(o->size) : gc_charge(h, o->size);
}

/* Clears every mark (verification, the epoch's wrap). */
static void unmark_all(gc_heap *h)
{
    for (gc_obj *o = h->all; o; o = o->next)
        o->mark = 0;
}

/* ---- Stopping ---- */

/* The question every GC_POLL objects (h->poll_left ran out): true when
 * the collection is to stop, and from then on at every call, so that
 * gc_mark marks nothing more and the loops end. */
static __attribute__((noinline)) bool poll_stop(gc_heap *h)
{
    if (!h->stopped && h->should_stop && h->should_stop(h->ctx)) {
        h->stopped = true;
        h->stops++;
    }
    h->poll_left = h->stopped ? 0 : GC_POLL;
    return h->stopped;
}

/* ---- Marking ---- */

void gc_mark(gc_heap *h, gc_obj *o)
{
    /* Every call counts, a child already marked too: its header is a
     * cache miss all the same (an array of a million references to
     * marked objects is as long to trace as to mark). */
    if (!o || (--h->poll_left < 0 && poll_stop(h)) || o->mark == h->epoch)
        return;
    o->mark = h->epoch;
    if ((h->leaf_kinds >> o->kind & 1) && !h->verifying) /* nothing to trace: no push */
        return;
    /* When the stack cannot grow (gray_grow), the object is marked but
     * not pushed: the overflow rescan traces every marked object, so its
     * children are found (a root's too: nothing marks the roots again). */
    if ((!h->gray || h->ngray == GC_GRAY_SEG) && !gray_grow(h)) {
        h->gray_overflow = true;
        return;
    }
    h->gray->items[h->ngray++] = o;
}

static void drain(gc_heap *h)
{
    for (gc_obj *o; !h->stopped && (o = gray_pop(h));)
        h->trace(h, o, h->ctx);
}

/* The overflow rescan: every marked object traced again. */
static void rescan(gc_heap *h)
{
    for (gc_obj *o = h->all; o && !(--h->poll_left < 0 && poll_stop(h)); o = o->next)
        if (o->mark == h->epoch) {
            h->trace(h, o, h->ctx);
            drain(h);
        }
}

/* The mark phase, with a new epoch: true when every reachable object is
 * marked. Stopped, it leaves its marks (stale: h->stale) and an empty
 * gray stack. When the epoch comes round to 1 again after a stopped
 * phase, an object may still carry that 1: every mark is cleared first
 * (255 stopped phases without a complete sweep between them: rare, and
 * O(heap) then). Otherwise every mark is 0 or stale here, since a pending
 * sweep is finished before a mark phase begins. */
static bool mark(gc_heap *h)
{
    if (h->epoch == 255) {
        if (h->stale)
            unmark_all(h);
        h->stale = false;
        h->epoch = 0;
    }
    h->epoch++;
    if (h->verify)
        for (gc_obj *o = h->all; o; o = o->next)
            o->live = 0;
    h->roots(h, h->ctx);
    drain(h);
    while (h->gray_overflow && !h->stopped) {
        h->gray_overflow = false;
        rescan(h);
    }
    if (h->stopped) {
        gray_drop(h);
        h->gray_overflow = false;
        h->stale = true;
        return false;
    }
    gray_trim(h, 1); /* empty already: the spares are given back */
    h->sweep = &h->all;
    return true;
}

/* ---- Sweeping ---- */

/* Sweeps on from h->sweep: an object the mark phase did not reach is
 * unlinked, finalized if its kind asks, and freed; one it reached has its
 * mark cleared. True when done (no sweep pending, no stale mark left);
 * stopped, h->sweep keeps the place. */
static bool sweep(gc_heap *h)
{
    gc_obj **link = h->sweep;
    for (gc_obj *o; (o = *link);) {
        if (--h->poll_left < 0 && poll_stop(h)) {
            h->sweep = link;
            return false;
        }
        if (o->mark == h->epoch) {
            o->mark = 0;
            o->live = 1;
            link = &o->next;
            continue;
        }
        *link = o->next;
        size_t n = gc_footprint(h, o);
        h->bytes -= n;
        h->freed_last += n;
        if (h->final_kinds >> o->kind & 1)
            h->finalize(o, h->ctx);
        gc_free(h, o);
    }
    h->sweep = NULL;
    h->stale = false;
    return true;
}

/* ---- Verification (gc_verify mode) ---- */

/* Marks again from the roots after the sweep: every object reached must
 * have survived it (its `live` flag was set by the sweep). A dangling
 * reference in a root or a child shows up here instead of as a crash
 * later. The marks are then cleared again (invariant 2). */
static void verify(gc_heap *h)
{
    h->verifying = true; /* every object through the gray stack, to be checked */
    h->roots(h, h->ctx);
    for (gc_obj *o; (o = gray_pop(h));) {
        if (!o->live && !h->verify_error)
            h->verify_error = "a reachable object was freed by the last collection";
        h->trace(h, o, h->ctx);
    }
    gray_trim(h, 1);
    unmark_all(h);
    h->verifying = false;
    h->gray_overflow = false; /* what did not fit went unchecked */
}

/* ---- Collecting ---- */

enum { GC_KEEP = 4 * KILN_GC_MIN_HEAP };

/* A pending sweep finished, then a whole cycle (mark, sweep). When
 * `may_stop`, should_stop is asked as it goes (never in verify mode,
 * whose check needs a whole collection and every mark clear after it).
 * True when the cycle completed; false with h->stopped set. */
static bool collect(gc_heap *h, bool may_stop)
{
    if (h->collecting)
        return true;
    h->collecting = true;
    h->stopped = false;
    h->poll_left = may_stop && h->should_stop && !h->verify ? GC_POLL : INT64_MAX;
    h->freed_last = 0;
    bool done = (!h->sweep || sweep(h)) && mark(h) && sweep(h);
    if (done) {
        if (h->verify)
            verify(h);
        size_t next = h->bytes / 100 * KILN_GC_GROWTH;
        h->threshold = h->bytes + (next > KILN_GC_MIN_HEAP ? next : KILN_GC_MIN_HEAP);
        /* Free pages keep their memory for twice what the heap may take
         * before the next collection, GC_KEEP at least (what the next
         * cycles take again costs page faults when given back: a cycle's
         * garbage varies), within the limit; the rest goes back to the OS. */
        size_t keep = 2 * (h->threshold - h->bytes);
        keep = keep > GC_KEEP ? keep : GC_KEEP;
        size_t held = gc_in_use(h), cap = held_cap(h);
        if (h->limit)
            keep = cap > held + keep ? keep : cap > held ? cap - held : 0;
        gc_pages_trim(&h->pages, keep);
        h->collections++;
    }
    h->collecting = false;
    return done;
}

void gc_collect(gc_heap *h)
{
    (void)collect(h, false);
}

/* ---- Allocation ---- */

/* The limit, less a reserve of 1/16 of it (at most 1 MiB) until an
 * allocation has failed: the handler of that OutOfMemoryError, which may
 * allocate a little before it lets go of anything (a message, a new empty
 * map), then has room. The reserve is kept again once a collection
 * brings the heap back under it. */
static size_t reserve_of(const gc_heap *h)
{
    size_t r = h->limit / 16;
    return r > ((size_t)1 << 20) ? (size_t)1 << 20 : r;
}

size_t gc_in_use(const gc_heap *h)
{
    return h->bytes + gc_pages_holes(&h->pages);
}

/* Whether `size` more bytes would pass the limit less `reserve`. The
 * objects' footprints count (h->bytes: the same in every mode), and what
 * the heap holds, free blocks in spans included (gc_in_use), may not pass
 * held_cap: the process stays within the limit (a sixteenth and 512 KiB
 * more) however fragmented the heap is. Only a heap whose free blocks
 * pass that slack runs out at a point that depends on where its objects
 * were placed, which --gc-stress and --gc-verify change. */
static inline bool over_cap(const gc_heap *h, size_t size, size_t reserve)
{
    size_t cap = h->limit - reserve, held = held_cap(h) - reserve;
    return h->limit && (size > cap || h->bytes > cap - size || gc_in_use(h) > held - size);
}

/* The reserve is kept under both caps, so that a failure for want of held
 * memory leaves the handler room too (red-team finding: its first
 * allocation failed again). */
static inline bool over_limit(const gc_heap *h, size_t size)
{
    return over_cap(h, size, h->in_reserve ? 0 : reserve_of(h));
}

/* gc_alloc's failure for want of memory (h->stopped says not stopped). */
static gc_obj *no_memory(gc_heap *h)
{
    h->stopped = false;
    return NULL;
}

gc_obj *gc_alloc(gc_heap *h, size_t size, uint8_t kind)
{
    if (size > UINT32_MAX)
        return no_memory(h);
    size_t need = gc_charge(h, size);
    if (!h->collecting && (h->stress || h->bytes + need > h->threshold || over_limit(h, need)) &&
        !collect(h, true))
        return NULL; /* stopped: h->stopped */
    if (h->in_reserve && !over_cap(h, need, reserve_of(h)))
        h->in_reserve = false; /* back under: the reserve is kept again */
    if (over_limit(h, need)) {
        bool first = !h->in_reserve;
        h->in_reserve = true; /* the handler may use the reserve */
        if (first || over_limit(h, need))
            return no_memory(h);
    }
    gc_obj *o = obj_alloc(h, size);
    if (!o)
        return no_memory(h);
    o->kind = kind;
    o->size = (uint32_t)size; /* gc_footprint(h, o) == need from here on */
    o->next = h->all;         /* on the list only once it is kept */
    h->all = o;
    if (h->sweep == &h->all) /* the pending sweep will visit it: it must survive */
        o->mark = h->epoch;
    h->bytes += need;
    return o;
}

bool gc_reserve(gc_heap *h, size_t n)
{
    h->stopped = false;
    if (!h->collecting && over_limit(h, n) && !collect(h, true))
        return false;
    if (over_limit(h, n))
        return false;
    h->bytes += n;
    return true;
}

void gc_release(gc_heap *h, size_t n)
{
    h->bytes -= n < h->bytes ? n : h->bytes;
}

/* ---- The root stack ---- */

void gc_roots_init(gc_roots *r, size_t max)
{
    memset(r, 0, sizeof *r);
    r->max = max;
}

void gc_roots_free(gc_roots *r)
{
    free(r->items);
    gc_roots_init(r, r->max);
}

bool gc_roots_grow(gc_roots *r)
{
    size_t cap = r->cap ? r->cap * 2 : 16;
    if (cap > r->max)
        cap = r->max;
    if (cap <= r->n)
        return false;
    gc_obj **items = realloc(r->items, cap * sizeof *items);
    if (!items)
        return false;
    r->items = items;
    r->cap = cap;
    return true;
}

void gc_roots_mark(gc_heap *h, const gc_roots *r)
{
    for (size_t i = 0; i < r->n; i++)
        gc_mark(h, r->items[i]);
}

/* ---- The write barrier (verify mode) ---- */

/* Is `o` an object of this heap, with a header gc_alloc could have
 * written, outside a collection (invariant 2: no mark, in verify mode)? */
static bool is_heap_object(gc_heap *h, const gc_obj *o)
{
#ifndef KILN_GC_MALLOC
    if (!mi_is_in_heap_region(o)) /* not mimalloc's memory at all */
        return false;
#endif
    (void)h; /* reading a freed header below is an AddressSanitizer error */
    return o->kind != 0 && !o->mark && o->size >= sizeof(gc_obj);
}

void gc_barrier_verify(gc_heap *h, gc_obj *o, gc_obj *v)
{
    h->barrier_log[h->barriers++ % GC_BARRIER_LOG] = (struct gc_barrier_rec){o, v};
    if (h->verify_error)
        return;
    if (!o || !is_heap_object(h, o))
        h->verify_error = "gc_barrier: the object stored into is not a heap object";
    else if (v && !is_heap_object(h, v))
        h->verify_error = "gc_barrier: the stored reference is not a heap object";
}
