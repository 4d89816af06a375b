/*
 * test_gc_stop.c — collections cut short (gc.h, "stop"): a mark phase
 * stopped and then completed, a sweep stopped with allocations before it
 * resumes (at the front of the list and past it), hundreds of stops in a
 * row past the mark epoch's wrap, finalizers run once, gc_destroy with a
 * sweep pending, gc_reserve; then through the API, a guest interrupted by
 * another thread while it collects a heap of millions of objects.
 *
 * The collector tests run a heap of their own: nodes with two children
 * (kind NODE), finalized objects (kind FINAL), roots in an array, and a
 * should_stop callback that stops at a chosen question.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "unit.h"

#include "../../gc/gc.h"

enum { NODE = 1, FINAL = 2 };

typedef struct node {
    gc_obj obj;
    struct node *kid[2];
    uint32_t id;
} node;

enum { MAX_ROOTS = 64, MAX_IDS = 1 << 18 };

/* The test heap's world: roots, what was finalized, when to stop. */
typedef struct world {
    gc_heap h;
    node *roots[MAX_ROOTS];
    uint32_t next_id;
    uint8_t finalized[MAX_IDS]; /* by id: how many times */
    /* should_stop: stop at question number `stop_at` (1 = the first) of
     * the collection, counted in `asked`; 0 = never. With `in_sweep`, the
     * questions count only while a sweep runs (h.sweep set); with
     * `in_mark`, only while none does. */
    int stop_at, asked;
    bool in_sweep, in_mark;
    /* The object the last complete alloc_collect allocated: garbage the
     * collection could not see (UINT32_MAX: none). */
    uint32_t fresh;
} world;

static void w_roots(gc_heap *h, void *ctx)
{
    world *w = ctx;
    for (int i = 0; i < MAX_ROOTS; i++)
        gc_mark(h, w->roots[i] ? &w->roots[i]->obj : NULL);
}

static void w_trace(gc_heap *h, gc_obj *o, void *ctx)
{
    (void)ctx;
    node *n = (node *)o;
    for (int i = 0; i < 2; i++)
        gc_mark(h, n->kid[i] ? &n->kid[i]->obj : NULL);
}

static void w_finalize(gc_obj *o, void *ctx)
{
    world *w = ctx;
    w->finalized[((node *)o)->id]++;
}

static bool w_should_stop(void *ctx)
{
    world *w = ctx;
    if (!w->stop_at || (w->in_sweep && !w->h.sweep) || (w->in_mark && w->h.sweep))
        return false;
    return ++w->asked >= w->stop_at;
}

static world *world_new(void)
{
    world *w = calloc(1, sizeof *w);
    cr_assert_not_null(w);
    cr_assert(gc_init(&w->h, 0, w_roots, w_trace, w));
    w->h.final_kinds = 1u << FINAL;
    w->h.finalize = w_finalize;
    w->h.should_stop = w_should_stop;
    w->h.threshold = SIZE_MAX; /* collections only when a test asks */
    w->fresh = UINT32_MAX;
    return w;
}

static void world_free(world *w)
{
    gc_destroy(&w->h);
    free(w);
}

/* A node (kind NODE or FINAL) with the next id, its children set. */
static node *mk(world *w, uint8_t kind, node *a, node *b)
{
    cr_assert_lt(w->next_id, MAX_IDS);
    node *n = (node *)gc_alloc(&w->h, sizeof(node), kind);
    cr_assert_not_null(n);
    n->id = w->next_id++;
    n->kid[0] = a;
    n->kid[1] = b;
    return n;
}

/* A chain of `len` nodes, every `final`-th one of kind FINAL (0: none),
 * each also pointing back to the chain's head (a cycle). */
static node *chain(world *w, int len, int final)
{
    node *head = mk(w, NODE, NULL, NULL), *last = head;
    for (int i = 1; i < len; i++) {
        node *n = mk(w, final && i % final == 0 ? FINAL : NODE, NULL, head);
        last->kid[0] = n;
        last = n;
    }
    return head;
}

/* A collection as gc_alloc begins it (the threshold reached), stopping as
 * w says; true when it completed. The object allocated is garbage. */
static bool alloc_collect(world *w)
{
    w->asked = 0;
    w->h.threshold = 0;
    gc_obj *o = gc_alloc(&w->h, sizeof(node), NODE);
    if (o)
        w->fresh = ((node *)o)->id = w->next_id++;
    else
        cr_assert(w->h.stopped, "a NULL from gc_alloc without a limit is a stop");
    w->h.threshold = SIZE_MAX;
    return o != NULL;
}

/* Every object of the heap, by id (1 = on the list); their number. */
static size_t on_list(world *w, uint8_t *seen)
{
    memset(seen, 0, MAX_IDS);
    size_t n = 0;
    for (gc_obj *o = w->h.all; o; o = o->next, n++) {
        uint32_t id = ((node *)o)->id;
        cr_assert_lt(id, MAX_IDS);
        cr_assert_eq(seen[id], 0, "object %u twice on the list", id);
        seen[id] = 1;
    }
    return n;
}

/* What the roots reach, by id (1 = reached); its number. */
static size_t reached(world *w, uint8_t *seen)
{
    static node *stack[2 * MAX_IDS + MAX_ROOTS]; /* a push per edge at most */
    memset(seen, 0, MAX_IDS);
    size_t n = 0, sp = 0;
    for (int i = 0; i < MAX_ROOTS; i++)
        if (w->roots[i])
            stack[sp++] = w->roots[i];
    while (sp) {
        node *x = stack[--sp];
        if (seen[x->id])
            continue;
        seen[x->id] = 1;
        n++;
        for (int k = 0; k < 2; k++)
            if (x->kid[k] && !seen[x->kid[k]->id])
                stack[sp++] = x->kid[k];
    }
    return n;
}

/* After a complete collection: the heap holds exactly what the roots
 * reach (and w->fresh, allocated after it), every mark is 0, no live
 * object was finalized, and the bytes are the objects'. */
static void check_exact(world *w)
{
    static uint8_t live[MAX_IDS], listed[MAX_IDS];
    cr_assert_null(w->h.sweep, "no sweep pending");
    cr_assert_not(w->h.stale);
    size_t nlive = reached(w, live), nlisted = on_list(w, listed);
    if (w->fresh != UINT32_MAX && listed[w->fresh] && !live[w->fresh])
        nlive++, live[w->fresh] = 1;
    cr_assert_eq(nlisted, nlive, "%zu objects on the heap, %zu reachable", nlisted, nlive);
    for (uint32_t id = 0; id < w->next_id; id++) {
        cr_assert_eq(listed[id], live[id], "object %u: listed %d, reachable %d", id, listed[id],
                     live[id]);
        if (live[id])
            cr_assert_eq(w->finalized[id], 0, "object %u is live but was finalized", id);
    }
    for (gc_obj *o = w->h.all; o; o = o->next)
        cr_assert_eq(o->mark, 0, "invariant 2 after a complete collection");
    cr_assert_eq(w->h.bytes, nlive * gc_charge(&w->h, sizeof(node)));
}

/* Is object `id` of kind FINAL: the nodes of populate(w, every, ...) (ids
 * below `first`: chains of 4,000 from id 0), then a chain of a test's
 * own from `first`? */
static bool is_final(uint32_t id, uint32_t first, int every)
{
    uint32_t i = id < first ? id % 4000 : id - first;
    return i && i % (uint32_t)every == 0;
}

/* 20 chains of 4,000 in roots 0-19 (80,000 objects: about 20 questions
 * a phase); with `drop`, the even ones dropped again (garbage). */
static void populate(world *w, int final, bool drop)
{
    for (int i = 0; i < 20; i++)
        w->roots[i] = chain(w, 4000, final);
    for (int i = 0; drop && i < 20; i += 2)
        w->roots[i] = NULL;
}

/* Each object below id `upto` finalized once if of kind FINAL (is_final),
 * else never. */
static void finalized_once(world *w, uint32_t upto, uint32_t first, int every)
{
    for (uint32_t id = 0; id < upto; id++)
        cr_assert_eq(w->finalized[id], is_final(id, first, every), "object %u finalized %d times",
                     id, w->finalized[id]);
}

Test(gc_stop, stopped_in_the_mark_phase_then_completed)
{
    world *w = world_new();
    populate(w, 0, true);
    size_t bytes = w->h.bytes, objects = w->next_id;
    w->stop_at = 3; /* in the mark phase: 80,000 objects need about 20 questions */
    cr_assert_not(alloc_collect(w));
    cr_assert(w->h.stopped);
    cr_assert_null(w->h.sweep, "stopped before its sweep");
    cr_assert(w->h.stale, "the marks made are stale");
    cr_assert_eq(w->h.stops, 1);
    cr_assert_eq(w->h.collections, 0);
    cr_assert_eq(w->h.bytes, bytes, "nothing was freed");
    static uint8_t listed[MAX_IDS];
    cr_assert_eq(on_list(w, listed), objects);
    /* the marks left are not the next cycle's: it frees the garbage,
     * including what the stopped phase had marked */
    w->stop_at = 0;
    cr_assert(alloc_collect(w));
    cr_assert_not(w->h.stopped);
    cr_assert_eq(w->h.collections, 1);
    check_exact(w);
    world_free(w);
}

/* A sweep stopped, objects allocated (some kept, some garbage) while it
 * is pending, then the sweep resumed. `garbage_first`: the newest objects
 * are garbage, so the sweep stops still at the front of the list
 * (h.sweep == &h.all) and what is allocated meanwhile is ahead of it;
 * otherwise it stops past a survivor, and new objects are behind it. */
static void sweep_resumed(bool garbage_first)
{
    world *w = world_new();
    if (garbage_first) {
        populate(w, 0, false);
        for (int i = 0; i < 3; i++)
            (void)chain(w, 4000, 0); /* 12,000 at the front, unreachable */
    } else {
        for (int i = 0; i < 10; i++)
            (void)chain(w, 4000, 0);
        populate(w, 0, false);
    }
    w->stop_at = 1; /* at the sweep's first question */
    w->in_sweep = true;
    cr_assert_not(alloc_collect(w));
    cr_assert_not_null(w->h.sweep, "a sweep is pending");
    cr_assert_not(w->h.stale, "its mark phase completed");
    if (garbage_first)
        cr_assert_eq(w->h.sweep, &w->h.all, "nothing survived ahead of the stop");
    else
        cr_assert_neq(w->h.sweep, &w->h.all);
    /* Meanwhile: new objects, some reachable (hung under a root and a
     * kept node), some not; a root dropped. */
    w->roots[30] = chain(w, 100, 0);
    node *kept = w->roots[1]->kid[0];
    kept->kid[0] = mk(w, NODE, NULL, NULL);
    kept->kid[0]->kid[1] = w->roots[2];
    (void)chain(w, 100, 0);
    w->roots[3] = NULL;
    size_t pending = w->h.bytes;
    /* The sweep resumes; the mark phase after it is stopped at once. */
    w->in_sweep = false;
    w->in_mark = true;
    cr_assert_not(alloc_collect(w));
    cr_assert_null(w->h.sweep, "the pending sweep finished");
    cr_assert(w->h.stale, "the mark phase after it stopped");
    cr_assert_lt(w->h.bytes, pending, "it freed the rest of the garbage");
    static uint8_t live[MAX_IDS], listed[MAX_IDS];
    reached(w, live);
    on_list(w, listed);
    for (uint32_t id = 0; id < w->next_id; id++)
        if (live[id])
            cr_assert(listed[id], "reachable object %u was freed by the resumed sweep", id);
    /* Then whole collections: exactly the reachable objects stay (the
     * dropped root's chain and the new garbage too go). */
    w->in_mark = false;
    w->stop_at = 0;
    cr_assert(alloc_collect(w));
    check_exact(w);
    gc_collect(&w->h);
    check_exact(w);
    world_free(w);
}

Test(gc_stop, sweep_stopped_at_the_front_allocations_then_resumed)
{
    sweep_resumed(true);
}

Test(gc_stop, sweep_stopped_past_a_survivor_allocations_then_resumed)
{
    sweep_resumed(false);
}

/* Hundreds of collections stopped in a row, past the mark epoch's wrap
 * (255), with the roots changing between them. Object x, marked by the
 * first stopped phase (epoch 1) and dropped at once, would look marked
 * to the complete collection that comes when the epoch is 1 again, if
 * the stale marks were not cleared at the wrap. */
Test(gc_stop, stops_past_the_epoch_wrap)
{
    world *w = world_new();
    populate(w, 0, false);
    node *x = mk(w, FINAL, NULL, NULL);
    uint32_t xid = x->id; /* x is freed below */
    w->roots[20] = x;
    w->stop_at = 1; /* after GC_POLL marks: the roots are marked first */
    cr_assert_not(alloc_collect(w));
    cr_assert_eq(w->h.epoch, 1);
    cr_assert_eq(x->obj.mark, 1, "x was marked before the stop");
    w->roots[20] = NULL;
    for (int i = 2; i <= 255; i++) {
        cr_assert_not(alloc_collect(w));
        cr_assert_eq(w->h.epoch, i);
    }
    cr_assert_eq(x->obj.mark, 1, "x is unreachable: no later phase marked it");
    cr_assert_eq(w->finalized[xid], 0);
    w->stop_at = 0;
    cr_assert(alloc_collect(w));
    cr_assert_eq(w->h.epoch, 1, "the epoch came round");
    cr_assert_eq(w->finalized[xid], 1, "x was freed: its stale mark was cleared");
    check_exact(w);
    /* 600 more, stopped in marks and sweeps, the roots changing between
     * them; a complete collection every 50 checks the heap. */
    for (int i = 0; i < 600; i++) {
        int slot = 21 + i % 40;
        w->roots[slot] = i % 3 ? chain(w, 50, 10) : NULL;
        w->stop_at = 1 + i % 5;
        w->in_sweep = i % 7 == 0;
        if (i % 50 == 49) {
            w->stop_at = 0;
            cr_assert(alloc_collect(w));
            check_exact(w);
        } else {
            (void)alloc_collect(w); /* a small heap may complete */
        }
    }
    cr_assert_gt(w->h.stops, 255 + 400);
    gc_collect(&w->h);
    check_exact(w);
    world_free(w);
}

/* Objects of kind FINAL: every one finalized exactly once, whether freed
 * by a sweep stopped and resumed (twice), or at gc_destroy. */
Test(gc_stop, finalizers_run_once)
{
    world *w = world_new();
    populate(w, 3, true); /* every third node FINAL */
    uint32_t ids = w->next_id;
    w->in_sweep = true;
    w->stop_at = 2;
    cr_assert_not(alloc_collect(w));
    size_t done_first = 0;
    for (uint32_t id = 0; id < ids; id++)
        done_first += w->finalized[id];
    cr_assert_gt(done_first, 0, "the sweep finalized some before it stopped");
    w->stop_at = 2; /* the pending sweep resumes, and stops again */
    cr_assert_not(alloc_collect(w));
    cr_assert_not_null(w->h.sweep);
    w->stop_at = 0;
    cr_assert(alloc_collect(w));
    static uint8_t live[MAX_IDS];
    reached(w, live);
    for (uint32_t id = 0; id < ids; id++)
        cr_assert_eq(w->finalized[id], is_final(id, ids, 3) && !live[id],
                     "object %u finalized %d times", id, w->finalized[id]);
    gc_destroy(&w->h); /* the live ones now, once */
    finalized_once(w, ids, ids, 3);
    free(w);
}

/* gc_destroy with a sweep pending: every object freed once (the sweep's
 * garbage included; ASan and LeakSanitizer see the rest), each FINAL
 * finalized once. */
Test(gc_stop, destroy_with_a_sweep_pending)
{
    world *w = world_new();
    populate(w, 2, true);
    uint32_t ids = w->next_id;
    w->in_sweep = true;
    w->stop_at = 3;
    cr_assert_not(alloc_collect(w));
    cr_assert_not_null(w->h.sweep);
    (void)chain(w, 10, 2); /* allocated while it is pending */
    gc_destroy(&w->h);
    finalized_once(w, w->next_id, ids, 2);
    free(w);
}

/* gc_reserve's collection (for the limit) stopped: false, h.stopped, no
 * bytes charged; without the stop it fits. */
Test(gc_stop, reserve_stopped)
{
    world *w = world_new();
    gc_destroy(&w->h);
    cr_assert(gc_init(&w->h, 8 << 20, w_roots, w_trace, w));
    w->h.should_stop = w_should_stop;
    w->h.threshold = SIZE_MAX;
    populate(w, 0, true);
    size_t bytes = w->h.bytes, room = (8 << 20) - (8 << 20) / 16 - bytes;
    w->stop_at = 2;
    w->asked = 0;
    cr_assert_not(gc_reserve(&w->h, room + 1024), "over the limit until collected");
    cr_assert(w->h.stopped);
    cr_assert_eq(w->h.bytes, bytes);
    w->stop_at = 0;
    cr_assert(gc_reserve(&w->h, room + 1024), "the collection frees half");
    cr_assert_not(w->h.stopped);
    gc_release(&w->h, room + 1024);
    check_exact(w);
    world_free(w);
}

/* ---- Through the API: kiln_interrupt from another thread ---- */

typedef struct guest {
    kiln_vm *vm;
    atomic_int started;
    kiln_status st;
} guest;

static kiln_status go(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                      void *userdata)
{
    (void)vm, (void)args, (void)nargs, (void)result;
    atomic_store(&((guest *)userdata)->started, 1);
    return KILN_OK;
}

static void *churn(void *arg)
{
    guest *g = arg;
    kiln_value r;
    g->st = kiln_call(g->vm, "churn", NULL, 0, &r);
    return NULL;
}

static int64_t call_int(kiln_vm *vm, const char *fn)
{
    kiln_value r;
    cr_assert_eq(kiln_call(vm, fn, NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.type, KILN_INT);
    return r.as.i;
}

/* 2M small objects live (1M one-element arrays and their buffers) and
 * garbage made cheaply, 512 KB a turn: most of the guest's time goes to
 * full collections of the 2M objects (tens of milliseconds each), where
 * the interrupt lands. The guest catches OutOfMemoryError: a stopped
 * collection must not become one. */
static const char churn_src[] = "import host\n"
                                "var keep: [[int]] = []\n"
                                "var caught = 0\n"
                                "fn build(n: int) { keep = []\n"
                                "    for i in 0..n { keep.push([i]) } }\n"
                                "fn churn() { let s = \"ab\".repeat(131072)\n"
                                "    host.go()\n"
                                "    while keep.len() > 0 {\n"
                                "        try { let g = s + s } catch e: OutOfMemoryError {\n"
                                "            caught += 1 } } }\n"
                                "fn total() -> int { var t = 0\n"
                                "    for a in keep { t += a[0] }\n"
                                "    return t }\n"
                                "fn get_caught() -> int { return caught }\n";

static void interrupted_in_a_collection(int jit)
{
    enum { N = 1000000 };
    guest g = {0};
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.jit = jit;
    g.vm = kiln_new(&cfg);
    cr_assert_not_null(g.vm);
    cr_assert_eq(kiln_define_native(g.vm, "host", "go", "fn()", go, &g), KILN_OK);
    cr_assert_eq(kiln_load_source(g.vm, "churn.kn", churn_src, sizeof churn_src - 1), KILN_OK, "%s",
                 kiln_error(g.vm));
    cr_assert_eq(kiln_run(g.vm), KILN_OK, "%s", kiln_error(g.vm));
    kiln_value r, n = {KILN_INT, .as.i = N};
    cr_assert_eq(kiln_call(g.vm, "build", &n, 1, &r), KILN_OK, "%s", kiln_error(g.vm));
    cr_assert_eq(kiln_collect(g.vm), KILN_OK);
    size_t live = kiln_heap_used(g.vm);
    /* Interrupts until one lands in a collection (the first nearly always
     * does); each must stop the guest with the limit. */
    uint64_t stops = g.vm->heap.stops;
    for (int attempt = 0; attempt < 10 && g.vm->heap.stops == stops; attempt++) {
        atomic_store(&g.started, 0);
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, churn, &g), 0);
        while (!atomic_load(&g.started))
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        nanosleep(&(struct timespec){0, (20 + attempt * 17) * 1000000L}, NULL);
        kiln_interrupt(g.vm);
        pthread_join(t, NULL);
        cr_assert_eq(g.st, KILN_ERR_LIMIT, "%s", kiln_error(g.vm));
        cr_assert(strstr(kiln_error(g.vm), "interrupted"), "%s", kiln_error(g.vm));
    }
    cr_assert_gt(g.vm->heap.stops, stops, "no interrupt of 10 stopped a collection");
    cr_assert_eq(call_int(g.vm, "get_caught"), 0, "the stop became an OutOfMemoryError");
    /* The VM goes on: a full collection from the host completes (a sweep
     * left pending is finished), the data is whole, the garbage gone. */
    cr_assert_eq(kiln_collect(g.vm), KILN_OK);
    cr_assert_null(g.vm->heap.sweep);
    cr_assert_not(g.vm->heap.stale);
    cr_assert_eq(call_int(g.vm, "total"), (int64_t)N * (N - 1) / 2);
    cr_assert_eq(kiln_collect(g.vm), KILN_OK);
    cr_assert_leq(kiln_heap_used(g.vm), live + 64 * 1024, "%zu bytes live, %zu before",
                  kiln_heap_used(g.vm), live);
    /* The deadline stops a collection the same way ("out of time"). */
    cr_assert_eq(kiln_set_limits(g.vm, 0, 0.2), KILN_OK);
    cr_assert_eq(kiln_call(g.vm, "churn", NULL, 0, &r), KILN_ERR_LIMIT);
    cr_assert(strstr(kiln_error(g.vm), "out of time"), "%s", kiln_error(g.vm));
    cr_assert_eq(kiln_set_limits(g.vm, 0, 0), KILN_OK);
    cr_assert_eq(call_int(g.vm, "get_caught"), 0);
    cr_assert_eq(call_int(g.vm, "total"), (int64_t)N * (N - 1) / 2);
    kiln_free(g.vm);
}

Test(gc_stop, interrupt_from_a_thread_during_a_collection)
{
    interrupted_in_a_collection(KILN_JIT_OFF);
}

Test(gc_stop, interrupt_from_a_thread_during_a_collection_jit)
{
    interrupted_in_a_collection(KILN_JIT_ON);
}
