/*
 * pages.h — the collector's own memory: spans of blocks for small
 * objects, runs of pages for middle-sized ones.
 *
 * Why not mimalloc's size classes: memory a class's pages hold serves only
 * that class until a page is wholly free, and a wholly free page gives its
 * memory back to the OS only after a delay (mimalloc 2.0's decommit
 * delay). So a program that made strings of every length (`s = s + "x"` in
 * a loop) left free memory behind in each class, and one that filled the
 * heap with small objects, dropped them and filled it with arrays had
 * both in memory: under --heap-limit=64M the process grew to 100 and 117
 * MB. Here all of a heap's memory is one pool of pages that any size can
 * use again at once, and what the pool keeps free is bounded.
 *
 * Chunks: GC_CHUNK bytes mapped by the heap, aligned to their size (an
 * address's chunk is the address rounded down). A chunk's first pages are
 * its header (gc_chunk in pages.c): at the first and the last page of
 * each run of pages, the run's length and whether it is free; a dirty flag
 * per page; a small-object span's first page for each of its pages, and
 * the span's header at its first page's place; the links of the free list
 * a free run is on. Free runs are on lists by
 * length (exact up to GC_PAGES_MAX, one list for longer ones) with a
 * bitmap of the lists that are not empty, so an allocation takes the
 * shortest run that fits without a search. A run is split to fit and
 * joined with its free neighbours when freed.
 *
 * Middle-sized objects (GC_PAGES_MIN to GC_PAGES_MAX bytes: long strings,
 * arrays' and maps' buffers) take a run of their own.
 *
 * Small objects (up to GC_SMALL_MAX bytes) take a block of their size
 * class (16-byte steps to 128 bytes, then four classes per power of two)
 * from a span: a run of a few pages cut into blocks of one class, which
 * fill its pages exactly (its header, its free blocks and how many are in
 * use, is in the chunk's). A span whose blocks are all free goes back to
 * the pool at once; a small heap's objects are the allocator's (gc.c). The free blocks of
 * spans in use ("holes", gc_pages_holes) are memory held that only their
 * class can use: the collector counts them against the heap limit.
 *
 * Free pages that still hold memory ("dirty") are counted, and
 * gc_pages_trim gives them back to the OS (MADV_DONTNEED of the pages at
 * a run's end, or a wholly free chunk unmapped), no more than it is asked
 * to: the collector keeps what the next cycles are likely to take again,
 * within the heap limit. Memory handed out is zeroed: a fresh or given-back page is
 * zero already; a dirty page is cleared as a run reuses it, a block as it
 * is handed out. Under AddressSanitizer free runs and the end of an
 * object's last page are poisoned.
 */
#ifndef KILN_GC_PAGES_H
#define KILN_GC_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    GC_PAGE = 4096,
    GC_CHUNK = 4 << 20,
    GC_CHUNK_PAGES = GC_CHUNK / GC_PAGE,
    GC_SMALL_MAX = 16 << 10,                   /* small objects: a span's blocks */
    GC_SMALL_CLASSES = 37,                     /* size classes 1 .. 36 */
    GC_PAGES_MIN = GC_SMALL_MAX + 1,           /* middle-sized objects: a run of pages */
    GC_PAGES_MAX = 1 << 20,                    /* larger ones: a mapping of their own (gc.c) */
    GC_RUN_LISTS = GC_PAGES_MAX / GC_PAGE + 2, /* lengths 1 .. 256 pages, and longer */
};

/* The lists of free runs and of spans with room: made with the heap's
 * first chunk (a small heap has none: its objects are the allocator's). */
typedef struct gc_lists {
    void *free[GC_RUN_LISTS];                    /* free runs by length (first pages) */
    uint64_t nonempty[(GC_RUN_LISTS + 63) / 64]; /* bit n: free[n] has a run */
    struct gc_span *room[GC_SMALL_CLASSES];      /* spans with a free block, by class */
} gc_lists;

typedef struct gc_pages {
    struct gc_chunk *chunks;        /* every chunk mapped, a list */
    gc_lists *lists;                /* NULL until the first chunk */
    size_t dirty;                   /* bytes of free pages holding memory */
    size_t span_bytes, block_bytes; /* spans' pages, and the blocks handed out */
    size_t chunks_mapped;
} gc_pages;

/* The bytes an object of `size` takes: its pages. */
static inline size_t gc_pages_len(size_t size)
{
    return (size + GC_PAGE - 1) & ~(size_t)(GC_PAGE - 1);
}

/* The bytes a small object of `size` (1 .. GC_SMALL_MAX) takes: its
 * class's block. */
size_t gc_small_len(size_t size);

/* gc_small_alloc: a zeroed block of gc_small_len(size) bytes, 16-byte
 * aligned; NULL when no chunk can be mapped. gc_small_free gives it back. */
void *gc_small_alloc(gc_pages *p, size_t size);
void gc_small_free(gc_pages *p, void *o);

/* gc_pages_alloc: gc_pages_len(size) bytes, zeroed, page-aligned, for
 * GC_PAGES_MIN <= size <= GC_PAGES_MAX; NULL when no chunk can be mapped. */
void *gc_pages_alloc(gc_pages *p, size_t size);

/* gc_pages_free: gives back what gc_pages_alloc(p, size) returned. */
void gc_pages_free(gc_pages *p, void *o, size_t size);

/* gc_pages_trim: gives free pages back to the OS until at most `keep`
 * bytes of them hold memory: wholly free chunks first (unmapped), then
 * the longest free runs. */
void gc_pages_trim(gc_pages *p, size_t keep);

/* The bytes of spans' blocks not handed out: memory the heap holds that
 * only objects of those blocks' classes can use. */
static inline size_t gc_pages_holes(const gc_pages *p)
{
    return p->span_bytes - p->block_bytes;
}

/* gc_pages_used: the bytes of pages in objects and spans. */
size_t gc_pages_used(const gc_pages *p);

/* gc_pages_destroy: unmaps every chunk. */
void gc_pages_destroy(gc_pages *p);

#endif
