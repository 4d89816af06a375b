/*
 * test_pages.c — the collector's own memory (gc/pages.c): runs of pages
 * are zeroed, aligned and disjoint, free neighbours join, trimming bounds
 * the free memory kept, and small blocks of every class come and go
 * without losing a span.
 */
#include "unit.h"

#include "../../gc/pages.h"

/* A deterministic generator (xorshift), so a failure repeats. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

typedef struct {
    unsigned char *p;
    size_t size;
} piece;

/* Fills p with a byte of its own; checks the byte is still there. */
static void fill(piece *x, unsigned char b)
{
    memset(x->p, b, x->size);
}

static bool holds(const piece *x, unsigned char b)
{
    for (size_t i = 0; i < x->size; i++)
        if (x->p[i] != b)
            return false;
    return true;
}

Test(pages, runs_are_zeroed_aligned_and_disjoint)
{
    gc_pages p = {0};
    uint64_t seed = 42;
    enum { N = 200 };
    static piece xs[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            size_t size = GC_PAGES_MIN + rnd(&seed) % (GC_PAGES_MAX - GC_PAGES_MIN + 1);
            xs[i] = (piece){gc_pages_alloc(&p, size), size};
            cr_assert_not_null(xs[i].p);
            cr_assert_eq((uintptr_t)xs[i].p % GC_PAGE, 0, "page-aligned");
            cr_assert(all_zero(xs[i].p, size), "zeroed (round %d, piece %d)", round, i);
            fill(&xs[i], (unsigned char)(i + 1));
        }
        for (int i = 0; i < N; i++)
            cr_assert(holds(&xs[i], (unsigned char)(i + 1)), "piece %d was overwritten", i);
        size_t used = 0;
        for (int i = 0; i < N; i++)
            used += gc_pages_len(xs[i].size);
        cr_assert_eq(gc_pages_used(&p), used);
        for (int i = 0; i < N; i++) { /* in a shuffled order */
            int j = (int)(rnd(&seed) % N);
            piece t = xs[i];
            xs[i] = xs[j];
            xs[j] = t;
        }
        for (int i = 0; i < N; i++)
            gc_pages_free(&p, xs[i].p, xs[i].size);
        cr_assert_eq(gc_pages_used(&p), 0);
    }
    gc_pages_destroy(&p);
}

Test(pages, free_neighbours_join)
{
    gc_pages p = {0};
    char *a = gc_pages_alloc(&p, 5 * GC_PAGE), *b = gc_pages_alloc(&p, 7 * GC_PAGE),
         *c = gc_pages_alloc(&p, 6 * GC_PAGE);
    cr_assert_eq(b, a + 5 * GC_PAGE, "runs are cut one after the other");
    cr_assert_eq(c, b + 7 * GC_PAGE);
    gc_pages_free(&p, a, 5 * GC_PAGE);
    gc_pages_free(&p, c, 6 * GC_PAGE);
    gc_pages_free(&p, b, 7 * GC_PAGE); /* joins both */
    char *d = gc_pages_alloc(&p, 18 * GC_PAGE);
    cr_assert_eq(d, a, "the three runs are one again");
    cr_assert(all_zero((unsigned char *)d, 18 * GC_PAGE), "reused pages are cleared");
    gc_pages_destroy(&p);
}

Test(pages, trim_bounds_the_free_memory_kept)
{
    gc_pages p = {0};
    char *xs[12];
    for (int i = 0; i < 12; i++) {
        xs[i] = gc_pages_alloc(&p, 256 << 10);
        memset(xs[i], 0x5a, 256 << 10);
    }
    char *keep = gc_pages_alloc(&p, 64 << 10); /* keeps its chunk mapped */
    for (int i = 0; i < 12; i += 2)            /* every other one: no two join */
        gc_pages_free(&p, xs[i], 256 << 10);
    cr_assert_eq(p.dirty, (size_t)6 * (256 << 10));
    gc_pages_trim(&p, 1 << 20);
    cr_assert_leq(p.dirty, (size_t)1 << 20, "%zu bytes kept", p.dirty);
    cr_assert_gt(p.dirty, 0, "not more than asked");
    gc_pages_trim(&p, 0);
    cr_assert_eq(p.dirty, 0);
    for (int i = 1; i < 12; i += 2)
        cr_assert_eq(xs[i][12345], 0x5a, "pieces in use are untouched");
    for (int i = 0; i < 6; i++) { /* the pages given back come back zeroed */
        unsigned char *x = gc_pages_alloc(&p, 256 << 10);
        cr_assert(all_zero(x, 256 << 10));
    }
    size_t chunks = p.chunks_mapped;
    cr_assert_geq(chunks, 1);
    gc_pages_free(&p, keep, 64 << 10);
    gc_pages_destroy(&p);
    cr_assert_eq(p.chunks_mapped, 0);
}

Test(pages, a_wholly_free_chunk_is_unmapped_first)
{
    gc_pages p = {0};
    char *x = gc_pages_alloc(&p, GC_PAGES_MAX);
    memset(x, 1, GC_PAGES_MAX);
    cr_assert_eq(p.chunks_mapped, 1);
    gc_pages_free(&p, x, GC_PAGES_MAX);
    gc_pages_trim(&p, 0);
    cr_assert_eq(p.chunks_mapped, 0);
    cr_assert_eq(p.dirty, 0);
    x = gc_pages_alloc(&p, GC_PAGES_MAX); /* a new chunk */
    cr_assert_not_null(x);
    cr_assert(all_zero((unsigned char *)x, GC_PAGES_MAX));
    gc_pages_destroy(&p);
}

Test(pages, size_classes)
{
    size_t last = 0;
    for (size_t size = 1; size <= GC_SMALL_MAX; size++) {
        size_t len = gc_small_len(size);
        cr_assert_geq(len, size, "size %zu: block %zu", size, len);
        cr_assert_eq(len % 16, 0, "size %zu: block %zu", size, len);
        /* A fifth of waste at most, and 16 bytes of red zone under ASan. */
        cr_assert_leq(len, size + 32 + size / 4, "size %zu: block %zu", size, len);
        cr_assert_geq(len, last, "blocks grow with sizes");
        last = len;
    }
    cr_assert_eq(gc_small_len(GC_SMALL_MAX), GC_SMALL_MAX);
}

Test(pages, small_blocks_come_and_go)
{
    gc_pages p = {0};
    uint64_t seed = 7;
    enum { N = 20000 };
    piece *xs = calloc(N, sizeof *xs);
    cr_assert_not_null(xs);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            size_t size = rnd(&seed) % 8 ? 24 + rnd(&seed) % 200 : 24 + rnd(&seed) % GC_SMALL_MAX;
            if (size > GC_SMALL_MAX)
                size = GC_SMALL_MAX;
            xs[i] = (piece){gc_small_alloc(&p, size), size};
            cr_assert_not_null(xs[i].p);
            cr_assert_eq((uintptr_t)xs[i].p % 16, 0);
            cr_assert(all_zero(xs[i].p, size), "zeroed (round %d, block %d)", round, i);
            fill(&xs[i], (unsigned char)(i * 7 + 1));
        }
        for (int i = 0; i < N; i++)
            cr_assert(holds(&xs[i], (unsigned char)(i * 7 + 1)), "block %d was overwritten", i);
        for (int i = 0; i < N; i += 2) /* half, then the rest: spans half full in between */
            gc_small_free(&p, xs[i].p);
        for (int i = 1; i < N; i += 2)
            cr_assert(holds(&xs[i], (unsigned char)(i * 7 + 1)), "block %d was overwritten", i);
        for (int i = 1; i < N; i += 2)
            gc_small_free(&p, xs[i].p);
        /* Empty spans went back, but each class's last one with room. */
        cr_assert_leq(gc_pages_used(&p), (size_t)GC_SMALL_CLASSES * 33 * GC_PAGE,
                      "%zu bytes still in spans", gc_pages_used(&p));
    }
    free(xs);
    gc_pages_destroy(&p);
}
