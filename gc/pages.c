/*
 * pages.c — the collector's own memory: runs of pages, and spans of
 * small blocks on them (see pages.h).
 */
#include "pages.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define PAGES_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PAGES_ASAN 1
#endif
#endif
#ifdef PAGES_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(a, n) ASAN_POISON_MEMORY_REGION((a), (n))
#define UNPOISON(a, n) ASAN_UNPOISON_MEMORY_REGION((a), (n))
#else
#define POISON(a, n) ((void)(a), (void)(n))
#define UNPOISON(a, n) ((void)(a), (void)(n))
#endif

enum { FREE = 0x8000 }; /* in a tag: the run is free */

/* A span of small blocks: its header is kept in its chunk's header, at
 * its first page's place, so that its blocks fill its pages exactly. */
typedef struct gc_span {
    struct gc_span *next, *prev; /* on its class's list of spans with room */
    void *free;                  /* freed blocks, linked through their first word */
    uint32_t used;               /* blocks handed out */
    uint32_t fresh;              /* blocks never handed out start at this one */
    uint32_t cap;                /* blocks in all */
    uint16_t cls, pages;
    bool listed; /* on the class's list */
} gc_span;
typedef struct gc_chunk {
    struct gc_chunk *next; /* the heap's chunks */
    size_t used;           /* pages in objects */
    /* At the first and the last page of every run (one page: both), the
     * run's length in pages, | FREE when it is free; other pages' tags are
     * stale. */
    uint16_t tag[GC_CHUNK_PAGES];
    uint8_t dirty[GC_CHUNK_PAGES]; /* a free page that holds memory (not zero) */
    uint16_t span[GC_CHUNK_PAGES]; /* a page of a span: the span's first page */
    /* At a free run's first page: the next and the previous run's first
     * page on its list. */
    char *link[GC_CHUNK_PAGES][2];
    gc_span spans[GC_CHUNK_PAGES]; /* a span's header, at its first page */
} gc_chunk;

/* The header's pages, before the first page a run may use. */
enum { HEAD = (sizeof(gc_chunk) + GC_PAGE - 1) / GC_PAGE };
_Static_assert((int)GC_CHUNK_PAGES < (int)FREE, "a run's length fits a tag");
_Static_assert((size_t)GC_PAGES_MAX / GC_PAGE < GC_CHUNK_PAGES - (size_t)HEAD,
               "the longest object fits a chunk");

static gc_chunk *chunk_of(const void *a)
{
    return (gc_chunk *)((uintptr_t)a & ~(uintptr_t)(GC_CHUNK - 1));
}

static size_t page_of(const gc_chunk *c, const void *a)
{
    return (size_t)((const char *)a - (const char *)c) / GC_PAGE;
}

static char *page_addr(gc_chunk *c, size_t i)
{
    return (char *)c + i * GC_PAGE;
}

/* The list for runs of n pages: exact up to the longest object, one list
 * past it (any run there fits any object). */
static size_t list_of(size_t n)
{
    return n < GC_RUN_LISTS - 1 ? n : GC_RUN_LISTS - 1;
}

static void run_insert(gc_pages *p, gc_chunk *c, size_t i, size_t n)
{
    c->tag[i] = c->tag[i + n - 1] = (uint16_t)(n | FREE);
    size_t l = list_of(n);
    char *run = page_addr(c, i), *head = p->lists->free[l];
    c->link[i][0] = head;
    c->link[i][1] = NULL;
    if (head) {
        gc_chunk *hc = chunk_of(head);
        hc->link[page_of(hc, head)][1] = run;
    }
    p->lists->free[l] = run;
    p->lists->nonempty[l / 64] |= (uint64_t)1 << (l % 64);
}

static void run_remove(gc_pages *p, gc_chunk *c, size_t i, size_t n)
{
    size_t l = list_of(n);
    char *next = c->link[i][0], *prev = c->link[i][1];
    if (next) {
        gc_chunk *nc = chunk_of(next);
        nc->link[page_of(nc, next)][1] = prev;
    }
    if (prev) {
        gc_chunk *pc = chunk_of(prev);
        pc->link[page_of(pc, prev)][0] = next;
    } else {
        p->lists->free[l] = next;
        if (!next)
            p->lists->nonempty[l / 64] &= ~((uint64_t)1 << (l % 64));
    }
}

/* The first list at or past n with a run, or 0 when none has. */
static size_t list_from(const gc_pages *p, size_t n)
{
    if (!p->lists)
        return 0;
    for (size_t w = n / 64; w < sizeof p->lists->nonempty / sizeof p->lists->nonempty[0]; w++) {
        uint64_t bits = p->lists->nonempty[w];
        if (w == n / 64)
            bits &= ~(uint64_t)0 << (n % 64);
        if (bits)
            return w * 64 + (size_t)__builtin_ctzll(bits);
    }
    return 0;
}

/* A new chunk, aligned to its size, as one free run. Its header is zero
 * as mapped: no tags, no dirty page, no links. */
static bool chunk_new(gc_pages *p)
{
    if (!p->lists && !(p->lists = calloc(1, sizeof *p->lists)))
        return false;
    size_t len = 2 * (size_t)GC_CHUNK;
    char *m =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return false;
    char *a = (char *)(((uintptr_t)m + GC_CHUNK - 1) & ~(uintptr_t)(GC_CHUNK - 1));
    if (a > m)
        munmap(m, (size_t)(a - m));
    if (m + len > a + GC_CHUNK)
        munmap(a + GC_CHUNK, (size_t)(m + len - (a + GC_CHUNK)));
    /* Small pages only: a huge page would make one touched page cost 2 MiB
     * and could not be given back page by page. */
    (void)madvise(a, GC_CHUNK, MADV_NOHUGEPAGE);
    gc_chunk *c = (gc_chunk *)a;
    c->next = p->chunks;
    p->chunks = c;
    p->chunks_mapped++;
    POISON(page_addr(c, HEAD), (size_t)(GC_CHUNK_PAGES - HEAD) * GC_PAGE);
    run_insert(p, c, HEAD, GC_CHUNK_PAGES - HEAD);
    return true;
}

/* A run of n pages, its first `zero` bytes zeroed (the rest may hold
 * anything); NULL when no chunk can be mapped. */
static char *run_alloc(gc_pages *p, size_t n, size_t zero)
{
    size_t l = list_from(p, n);
    if (!l) {
        if (!chunk_new(p))
            return NULL;
        l = list_from(p, n);
    }
    char *run = p->lists->free[l];
    gc_chunk *c = chunk_of(run);
    size_t i = page_of(c, run), len = c->tag[i] & ~FREE;
    run_remove(p, c, i, len);
    if (len > n)
        run_insert(p, c, i + n, len - n);
    c->tag[i] = c->tag[i + n - 1] = (uint16_t)n;
    c->used += n;
    UNPOISON(run, zero ? zero : n * GC_PAGE);
    for (size_t k = 0; k < n; k++) /* a dirty page is cleared; the others are zero */
        if (c->dirty[i + k]) {
            c->dirty[i + k] = 0;
            p->dirty -= GC_PAGE;
            size_t at = k * GC_PAGE;
            if (at < zero)
                memset(run + at, 0, zero - at < GC_PAGE ? zero - at : GC_PAGE);
        }
    return run;
}

void *gc_pages_alloc(gc_pages *p, size_t size)
{
    return run_alloc(p, gc_pages_len(size) / GC_PAGE, size);
}

static void run_free(gc_pages *p, void *o, size_t n)
{
    gc_chunk *c = chunk_of(o);
    size_t i = page_of(c, o);
    c->used -= n;
    memset(c->dirty + i, 1, n);
    p->dirty += n * GC_PAGE;
    POISON(o, n * GC_PAGE);
    if (i > HEAD && (c->tag[i - 1] & FREE)) { /* joined with the free run before */
        size_t left = c->tag[i - 1] & ~FREE;
        run_remove(p, c, i - left, left);
        i -= left;
        n += left;
    }
    if (i + n < GC_CHUNK_PAGES && (c->tag[i + n] & FREE)) { /* and the one after */
        size_t right = c->tag[i + n] & ~FREE;
        run_remove(p, c, i + n, right);
        n += right;
    }
    run_insert(p, c, i, n);
}

void gc_pages_free(gc_pages *p, void *o, size_t size)
{
    run_free(p, o, gc_pages_len(size) / GC_PAGE);
}

/* ---- Small objects: spans of blocks ---- */

/* Size classes: 16-byte steps up to 128 bytes (classes 1 .. 8), then four
 * to each power of two (a class's blocks waste at most a fifth). */
static size_t class_of(size_t size)
{
    if (size <= 128)
        return (size + 15) >> 4;
    size_t k = 63 - (size_t)__builtin_clzll(size - 1); /* 2^k < size <= 2^(k+1) */
    return 8 + (k - 7) * 4 + ((size - 1 - ((size_t)1 << k)) >> (k - 2)) + 1;
}

static size_t class_len(size_t cls)
{
    if (cls <= 8)
        return cls << 4;
    size_t m = cls - 9, k = 7 + m / 4;
    return ((size_t)1 << k) + (m % 4 + 1) * ((size_t)1 << (k - 2));
}

/* The class of an object of `size` bytes. Under AddressSanitizer with
 * REDZONE bytes more, poisoned, so that reading or writing past an
 * object's end is caught even where the next block begins. */
#ifdef PAGES_ASAN
enum { REDZONE = 16 };
#else
enum { REDZONE = 0 };
#endif
static size_t block_class(size_t size)
{
    return class_of(size + REDZONE <= GC_SMALL_MAX ? size + REDZONE : GC_SMALL_MAX);
}

size_t gc_small_len(size_t size)
{
    return class_len(block_class(size));
}

/* A span's pages: 4 for blocks up to 1 KiB; past that, the fewest that
 * whole blocks fill exactly (the blocks' and the page's least common
 * multiple: 1 to 7 pages, 1 to 16 blocks). Few blocks: a block kept alive
 * holds its span's free ones, which only its class can use and which
 * count against the heap limit (held_cap, gc.c); with 8 blocks and the
 * header in the span, 13 live strings of 1 to 16 KiB held half a MiB, and
 * spans of 1792-byte blocks wasted an eighth of their pages. */
static size_t span_pages(size_t len)
{
    if (len <= 1024)
        return 4;
    size_t g = GC_PAGE, l = len;
    while (l) { /* gcd(len, GC_PAGE) */
        size_t t = g % l;
        g = l;
        l = t;
    }
    return len / g;
}

static char *span_base(gc_span *s)
{
    gc_chunk *c = chunk_of(s);
    return page_addr(c, (size_t)(s - c->spans));
}

static void span_list(gc_pages *p, gc_span *s)
{
    s->prev = NULL;
    s->next = p->lists->room[s->cls];
    if (s->next)
        s->next->prev = s;
    p->lists->room[s->cls] = s;
    s->listed = true;
}

static void span_unlist(gc_pages *p, gc_span *s)
{
    if (s->next)
        s->next->prev = s->prev;
    if (s->prev)
        s->prev->next = s->next;
    else
        p->lists->room[s->cls] = s->next;
    s->listed = false;
}

static gc_span *span_new(gc_pages *p, size_t cls)
{
    size_t len = class_len(cls), n = span_pages(len);
    char *base = run_alloc(p, n, n * GC_PAGE); /* zeroed: its blocks are */
    if (!base)
        return NULL;
    gc_chunk *c = chunk_of(base);
    size_t first = page_of(c, base);
    gc_span *s = &c->spans[first];
    for (size_t k = 0; k < n; k++)
        c->span[first + k] = (uint16_t)first;
    *s =
        (gc_span){.cap = (uint32_t)(n * GC_PAGE / len), .cls = (uint16_t)cls, .pages = (uint16_t)n};
    POISON(base, n * GC_PAGE);
    p->span_bytes += n * GC_PAGE;
    span_list(p, s);
    return s;
}

/* Zeroes a block handed out again: its whole class's length (a multiple
 * of 16), with stores the compiler makes inline for the common lengths
 * (a call of memset for 32 bytes cost as much as the allocation).
 * Under AddressSanitizer only the object's bytes: the rest is poisoned. */
static void block_zero(char *b, size_t size, size_t len)
{
#ifdef PAGES_ASAN
    (void)len;
    memset(b, 0, size);
#else
    (void)size;
    switch (len) {
    case 16: memset(b, 0, 16); break;
    case 32: memset(b, 0, 32); break;
    case 48: memset(b, 0, 48); break;
    case 64: memset(b, 0, 64); break;
    case 80: memset(b, 0, 80); break;
    case 96: memset(b, 0, 96); break;
    case 112: memset(b, 0, 112); break;
    case 128: memset(b, 0, 128); break;
    default: memset(b, 0, len); break;
    }
#endif
}

void *gc_small_alloc(gc_pages *p, size_t size)
{
    size_t cls = block_class(size), len = class_len(cls);
    gc_span *s = p->lists ? p->lists->room[cls] : NULL;
    if (!s && !(s = span_new(p, cls)))
        return NULL;
    char *b;
    if (s->free) { /* a block freed before: cleared */
        b = s->free;
        UNPOISON(b, size);
        s->free = *(void **)b;
        block_zero(b, size, len);
    } else { /* a block never handed out: zero since its span was made */
        b = span_base(s) + (size_t)s->fresh++ * len;
        UNPOISON(b, size);
    }
    p->block_bytes += len;
    if (++s->used == s->cap)
        span_unlist(p, s);
    return b;
}

void gc_small_free(gc_pages *p, void *o)
{
    gc_chunk *c = chunk_of(o);
    gc_span *s = &c->spans[c->span[page_of(c, o)]];
    POISON(o, class_len(s->cls));
    UNPOISON(o, sizeof(void *)); /* the link */
    *(void **)o = s->free;
    s->free = o;
    s->used--;
    p->block_bytes -= class_len(s->cls);
    if (!s->listed)
        span_list(p, s);
    if (s->used == 0) { /* empty: its pages serve any size again */
        span_unlist(p, s);
        p->span_bytes -= (size_t)s->pages * GC_PAGE;
        run_free(p, span_base(s), s->pages);
    }
}

/* The dirty pages of pages i .. i+n-1. */
static size_t dirty_in(const gc_chunk *c, size_t i, size_t n)
{
    size_t d = 0;
    for (size_t k = i; k < i + n; k++)
        d += c->dirty[k];
    return d;
}

/* Gives back no more than it must: a wholly free chunk is unmapped only
 * when all its memory is to go, and of a run only the pages at its end
 * that make up what is left to give (giving back a whole chunk to save a
 * few pages made the next cycle map and fault it in again). */
void gc_pages_trim(gc_pages *p, size_t keep)
{
    if (!p->lists)
        return;
    for (gc_chunk **at = &p->chunks; *at && p->dirty > keep;) {
        gc_chunk *c = *at;
        size_t d = c->used ? 0 : dirty_in(c, HEAD, GC_CHUNK_PAGES - HEAD) * GC_PAGE;
        if (!d || d > p->dirty - keep) {
            at = &c->next;
            continue;
        }
        run_remove(p, c, HEAD, GC_CHUNK_PAGES - HEAD);
        p->dirty -= d;
        *at = c->next;
        UNPOISON(c, GC_CHUNK); /* the addresses may be mapped again, by anyone */
        munmap(c, GC_CHUNK);
        p->chunks_mapped--;
    }
    for (size_t l = GC_RUN_LISTS - 1; l > 0 && p->dirty > keep; l--)
        for (char *run = p->lists->free[l]; run && p->dirty > keep;) {
            gc_chunk *c = chunk_of(run);
            size_t i = page_of(c, run), end = i + (c->tag[i] & ~FREE);
            size_t want = (p->dirty - keep + GC_PAGE - 1) / GC_PAGE, got = 0, from = end;
            while (from > i && got < want)
                got += c->dirty[--from];
            if (got) {
                /* zero when touched again */
                (void)madvise(page_addr(c, from), (end - from) * GC_PAGE, MADV_DONTNEED);
                memset(c->dirty + from, 0, end - from);
                p->dirty -= got * GC_PAGE;
            }
            run = c->link[i][0];
        }
}

size_t gc_pages_used(const gc_pages *p)
{
    size_t n = 0;
    for (const gc_chunk *c = p->chunks; c; c = c->next)
        n += c->used;
    return n * GC_PAGE;
}

void gc_pages_destroy(gc_pages *p)
{
    while (p->chunks) {
        gc_chunk *c = p->chunks;
        p->chunks = c->next;
        UNPOISON(c, GC_CHUNK);
        munmap(c, GC_CHUNK);
    }
    free(p->lists);
    memset(p, 0, sizeof *p);
}
