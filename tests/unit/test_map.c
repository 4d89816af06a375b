/*
 * test_map.c — the map object (vm/vm_map.c) through its internal API:
 * vm_map_new / vm_map_set / vm_map_find / vm_map_remove on a linked VM,
 * with collections (gc_collect) between the steps. Checks growth through
 * many sizes, holes left by removals and their compaction on growth,
 * insertion order, string keys compared by bytes, int keys over the whole
 * range (including one whose hash is the hole marker), and that a
 * collection keeps everything a rooted map reaches and frees the rest.
 *
 * Objects the test holds across an allocation are kept reachable on the
 * root stack (vm_root_push), as natives do: vm_map_set and vm_str_new may
 * collect.
 */
#include <stdint.h>

#include "unit.h"

#include "../../gc/gc.h"
#include "../../runtime/rt.h"

static vm_value I(int64_t i)
{
    vm_value v;
    v.i = i;
    return v;
}

static vm_value S(vm_str *s)
{
    vm_value v;
    v.s = s;
    return v;
}

/* A new string, asserting success. */
static vm_str *str_of(kiln_vm *vm, const char *p, size_t len)
{
    vm_str *s = vm_str_new(vm, p, len);
    cr_assert_not_null(s, "vm_str_new failed: %s", vm->ctx->err_msg);
    return s;
}

static vm_str *strf(kiln_vm *vm, const char *fmt, long long n)
{
    char buf[64];
    int len = snprintf(buf, sizeof buf, fmt, n);
    return str_of(vm, buf, (size_t)len);
}

/* m[k] = v with k and v kept reachable while the map may grow (and
 * collect). */
static void set_rooted(kiln_vm *vm, vm_map *m, vm_value k, vm_value v)
{
    unit_root(vm, k.p && m->keys != VM_MAP_WORDS ? k.p : NULL);
    unit_root(vm, v.p && m->val_ref ? v.p : NULL);
    cr_assert(vm_map_set(vm, m, k, v), "vm_map_set failed: %s", vm->ctx->err_msg);
    vm_root_pop(vm, 1);
    vm_root_pop(vm, 1);
}

static void set_int(kiln_vm *vm, vm_map *m, int64_t k, int64_t v)
{
    cr_assert(vm_map_set(vm, m, I(k), I(v)), "vm_map_set failed: %s", vm->ctx->err_msg);
}

static bool is_hole(const vm_map *m, uint32_t e)
{
    return !VM_MAPENT_LIVE(m, e);
}

/* The map's structural invariants: dense (int keys 0..used-1 at their own
 * entries, no holes, no index) or indexed (every live entry found from
 * the index, every used slot naming an entry in use, once). */
static void check_shape(const vm_map *m)
{
    cr_assert_leq(m->count, m->used);
    cr_assert_leq(m->used, m->cap);
    cr_assert_geq(m->cap, 8);
    uint32_t live = 0;
    for (uint32_t e = 0; e < m->used; e++)
        live += !is_hole(m, e);
    cr_assert_eq(live, m->count, "%u live entries, count %u", live, m->count);
    if (!m->index) {
        cr_assert_eq(m->keys, VM_MAP_WORDS, "string and object keys are always indexed");
        for (uint32_t e = 0; e < m->used; e++)
            if (!is_hole(m, e))
                cr_assert_eq(VM_MAPENT_KEY(m, e).i, (int64_t)e, "dense entry %u", e);
        cr_assert(m->used == 0 || !is_hole(m, m->used - 1), "a dense map ends in a live entry");
        return;
    }
    uint64_t nslots = (uint64_t)m->mask + 1;
    cr_assert_geq(nslots, 2 * (uint64_t)m->cap, "slots %llu, cap %u", (unsigned long long)nslots,
                  m->cap);
    cr_assert_eq(nslots & (nslots - 1), 0, "%llu slots is not a power of two",
                 (unsigned long long)nslots);
    uint32_t filled = 0;
    for (uint64_t i = 0; i < nslots; i++) {
        uint64_t slot = m->index->slots[i];
        if (slot) {
            uint32_t e = (uint32_t)slot - 1;
            cr_assert_lt(e, m->used, "index slot %llu -> entry %u of %u", (unsigned long long)i, e,
                         m->used);
            if (!is_hole(m, e)) /* its tag is its hash's high half */
                cr_assert_eq(slot >> 32, m->ents->items[(size_t)e * 3 + 2].u >> 32);
            filled++;
        }
    }
    cr_assert_eq(filled, m->used);
}

/* The live keys of an int-keyed map, in entry order, into out (n of them). */
static uint32_t int_keys(const vm_map *m, int64_t *out)
{
    uint32_t n = 0;
    for (uint32_t e = 0; e < m->used; e++)
        if (!is_hole(m, e))
            out[n++] = VM_MAPENT_KEY(m, e).i;
    return n;
}

Test(map, new_map_is_empty)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, false, false);
    cr_assert_not_null(m);
    unit_root(vm, m);
    cr_assert_eq(m->obj.kind, VM_OBJ_MAP);
    cr_assert_eq(m->count, 0);
    cr_assert_eq(m->used, 0);
    cr_assert_eq(m->cap, 8);
    cr_assert_eq(m->keys, VM_MAP_WORDS);
    cr_assert_not(m->val_ref);
    check_shape(m);
    cr_assert_eq(vm_map_find(vm, m, I(0)), -1);
    cr_assert_eq(vm_map_find(vm, m, I(-1)), -1);
    cr_assert(vm_map_remove(vm, m, I(3)), "removing an absent key is no error");
    cr_assert_eq(m->count, 0);
    cr_assert_eq(vm->ctx->err_kind, RT_ERR_NONE);
    gc_collect(&vm->heap);
    cr_assert_eq(m->obj.kind, VM_OBJ_MAP, "a rooted map survives");
    check_shape(m);
    kiln_free(vm);
}

Test(map, growth_through_many_sizes)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, false, false);
    cr_assert_not_null(m);
    unit_root(vm, m);
    enum { N = 20000 };
    uint32_t last_cap = m->cap, growths = 0;
    for (int64_t i = 0; i < N; i++) {
        int64_t k = i * 2654435761 - 7; /* spread, some negative */
        set_int(vm, m, k, i * 3);
        cr_assert_eq(m->count, (uint32_t)i + 1);
        if (m->cap != last_cap) {
            cr_assert_gt(m->cap, last_cap, "without holes, a map only grows");
            last_cap = m->cap;
            growths++;
            check_shape(m);
            /* right after a growth, every key is still found where it was
             * put: entries keep their insertion order */
            for (int64_t j = 0; j <= i; j++) {
                int64_t e = vm_map_find(vm, m, I(j * 2654435761 - 7));
                cr_assert_eq(e, j, "key %lld at entry %lld", (long long)j, (long long)e);
                cr_assert_eq(VM_MAPENT_VAL(m, e).i, j * 3);
            }
        }
        if (i % 1000 == 999)
            gc_collect(&vm->heap);
    }
    cr_assert_geq(growths, 10, "%u growths", growths);
    check_shape(m);
    for (int64_t j = 0; j < N; j++) {
        int64_t e = vm_map_find(vm, m, I(j * 2654435761 - 7));
        cr_assert_eq(e, j);
        cr_assert_eq(VM_MAPENT_VAL(m, e).i, j * 3);
    }
    /* keys never inserted are absent */
    for (int64_t j = 0; j < 1000; j++)
        cr_assert_eq(vm_map_find(vm, m, I(j * 2654435761 - 6)), -1);
    /* replacing keeps the count and the place */
    set_int(vm, m, 5 * 2654435761 - 7, -1);
    cr_assert_eq(m->count, N);
    cr_assert_eq(VM_MAPENT_VAL(m, 5).i, -1);
    kiln_free(vm);
}

Test(map, every_small_size)
{
    /* Fresh maps filled to each size from 0 to 200: all keys found, none
     * extra, the shape right at every step. */
    kiln_vm *vm = unit_linked_vm(0);
    for (int n = 0; n <= 200; n++) {
        vm_map *m = vm_map_new(vm, false, false);
        cr_assert_not_null(m);
        unit_root(vm, m);
        for (int i = 0; i < n; i++)
            set_int(vm, m, i, i + 1);
        check_shape(m);
        cr_assert_eq(m->count, (uint32_t)n);
        for (int i = 0; i < n; i++)
            cr_assert_eq(vm_map_find(vm, m, I(i)), i);
        cr_assert_eq(vm_map_find(vm, m, I(n)), -1);
        cr_assert_eq(vm_map_find(vm, m, I(-1)), -1);
        vm_root_pop(vm, 1);
    }
    kiln_free(vm);
}

Test(map, removal_leaves_holes_then_growth_compacts)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, false, false);
    cr_assert_not_null(m);
    unit_root(vm, m);
    for (int i = 0; i < 8; i++)
        set_int(vm, m, 100 + i, i);
    cr_assert_eq(m->used, 8);
    cr_assert_eq(m->cap, 8, "8 entries fit the first buffers");
    vm_buffer *ents_before = m->ents;
    /* remove three: holes, nothing moves */
    cr_assert(vm_map_remove(vm, m, I(101)));
    cr_assert(vm_map_remove(vm, m, I(104)));
    cr_assert(vm_map_remove(vm, m, I(107)));
    cr_assert(vm_map_remove(vm, m, I(104)), "removing twice is no error");
    cr_assert_eq(m->count, 5);
    cr_assert_eq(m->used, 8, "removal does not compact");
    cr_assert_eq(m->ents, ents_before);
    cr_assert(is_hole(m, 1) && is_hole(m, 4) && is_hole(m, 7));
    cr_assert_eq(VM_MAPENT_KEY(m, 1).u, 0, "a hole's key is cleared");
    cr_assert_eq(VM_MAPENT_VAL(m, 4).u, 0, "a hole's value is cleared");
    check_shape(m);
    int64_t kept[] = {100, 102, 103, 105, 106};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(vm_map_find(vm, m, I(kept[i])), kept[i] - 100, "entries stay in place");
    cr_assert_eq(vm_map_find(vm, m, I(101)), -1);
    cr_assert_eq(vm_map_find(vm, m, I(104)), -1);
    cr_assert_eq(vm_map_find(vm, m, I(107)), -1);
    gc_collect(&vm->heap);
    check_shape(m);
    /* the entries are full: the next insertion squeezes the holes out */
    set_int(vm, m, 200, 99);
    cr_assert_neq(m->ents, ents_before, "a new buffer");
    cr_assert_eq(m->count, 6);
    cr_assert_eq(m->used, 6, "no holes left");
    cr_assert_eq(m->cap, 10, "room for twice the live entries");
    check_shape(m);
    int64_t order[] = {100, 102, 103, 105, 106, 200};
    int64_t got[16];
    cr_assert_eq(int_keys(m, got), 6);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(got[i], order[i], "entry %d: %lld", i, (long long)got[i]);
        cr_assert_eq(vm_map_find(vm, m, I(order[i])), i);
    }
    cr_assert_eq(VM_MAPENT_VAL(m, 5).i, 99);
    cr_assert_eq(VM_MAPENT_VAL(m, 3).i, 5);
    /* a removed key can come back: at the end */
    set_int(vm, m, 104, 44);
    cr_assert_eq(vm_map_find(vm, m, I(104)), 6);
    cr_assert_eq(m->count, 7);
    kiln_free(vm);
}

Test(map, emptied_map_compacts_to_the_minimum)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, false, false);
    cr_assert_not_null(m);
    unit_root(vm, m);
    for (int i = 0; i < 1000; i++) /* indexed: not keys counting up from 0 */
        set_int(vm, m, i * 3 + 1, i);
    uint32_t big = m->cap;
    cr_assert_geq(big, 1000);
    for (int i = 0; i < 1000; i++)
        cr_assert(vm_map_remove(vm, m, I(i * 3 + 1)));
    cr_assert_eq(m->count, 0);
    cr_assert_eq(m->used, 1000, "holes");
    check_shape(m);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(vm_map_find(vm, m, I(i * 3 + 1)), -1);
    /* holes fill the buffers only once used reaches cap */
    for (uint32_t i = 0; m->used < m->cap; i++)
        set_int(vm, m, -1 - (int64_t)i, 0);
    uint32_t live = m->count;
    set_int(vm, m, 5000, 1);
    cr_assert_eq(m->used, live + 1);
    cr_assert_lt(m->cap, big, "a map of few live entries shrinks when it compacts");
    check_shape(m);
    kiln_free(vm);
}

Test(map, emptied_dense_map_reuses_its_room_at_once)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, false, false);
    cr_assert_not_null(m);
    unit_root(vm, m);
    for (int i = 0; i < 1000; i++)
        set_int(vm, m, i, i);
    vm_buffer *ents = m->ents;
    for (int i = 0; i < 1000; i++) /* from the front: holes, then all free */
        cr_assert(vm_map_remove(vm, m, I(i)));
    cr_assert_eq(m->count, 0);
    cr_assert_eq(m->used, 0, "the holes at the end are free again");
    cr_assert_null(m->index);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++)
            set_int(vm, m, i, round);
        for (int i = 999; i >= 0; i--)
            cr_assert(vm_map_remove(vm, m, I(i)));
    }
    cr_assert_eq(m->ents, ents, "the same room, no growth");
    check_shape(m);
    kiln_free(vm);
}

Test(map, insertion_order_after_removals)
{
    /* A reference model (an array of keys in order) against the map, over
     * rounds of removals, re-insertions and replacements, across many
     * compactions. */
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, false, false);
    cr_assert_not_null(m);
    unit_root(vm, m);
    enum { MAX = 4000 };
    static int64_t model[MAX * 4], got[MAX * 4];
    uint32_t n = 0;
    uint64_t rng = 12345;
    for (int round = 0; round < 20000; round++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int64_t k = (int64_t)(rng >> 33) % 600 - 300;
        int op = (int)((rng >> 20) % 3);
        uint32_t at = 0;
        while (at < n && model[at] != k)
            at++;
        if (op < 2) { /* set: new keys go to the end, old ones stay */
            set_int(vm, m, k, round);
            if (at == n)
                model[n++] = k;
        } else {
            cr_assert(vm_map_remove(vm, m, I(k)));
            if (at < n) {
                memmove(model + at, model + at + 1, (n - at - 1) * sizeof *model);
                n--;
            }
        }
        if (round % 97 == 0 || round > 19900) {
            cr_assert_eq(m->count, n);
            cr_assert_eq(int_keys(m, got), n);
            for (uint32_t i = 0; i < n; i++)
                cr_assert_eq(got[i], model[i], "round %d, position %u: %lld, expected %lld", round,
                             i, (long long)got[i], (long long)model[i]);
            check_shape(m);
        }
        if (round % 1000 == 0)
            gc_collect(&vm->heap);
    }
    kiln_free(vm);
}

Test(map, string_keys_compare_by_bytes)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, true, false);
    cr_assert_not_null(m);
    cr_assert_eq(m->keys, VM_MAP_STRS);
    unit_root(vm, m);
    vm_str *a = str_of(vm, "hello", 5);
    set_rooted(vm, m, S(a), I(1));
    /* another object with the same bytes is the same key */
    vm_str *b = str_of(vm, "hello", 5);
    cr_assert_neq(a, b);
    cr_assert_eq(vm_map_find(vm, m, S(b)), 0);
    set_rooted(vm, m, S(b), I(2));
    cr_assert_eq(m->count, 1, "same bytes: replaced, not added");
    cr_assert_eq(VM_MAPENT_VAL(m, 0).i, 2);
    cr_assert_eq(VM_MAPENT_KEY(m, 0).s, a, "the first key object stays");
    /* keys that differ: a prefix, a longer string, one byte, case, bytes
     * after a NUL, the empty string */
    static const struct {
        const char *p;
        size_t len;
    } others[] = {{"hell", 4}, {"hello!", 6}, {"hellp", 5}, {"Hello", 5}, {"", 0},
                  {"a\0b", 3}, {"a\0c", 3},   {"a", 1},     {"a\0", 2},   {"\xff\xfe", 2}};
    size_t nothers = sizeof others / sizeof others[0];
    for (size_t i = 0; i < nothers; i++) {
        vm_str *s = str_of(vm, others[i].p, others[i].len);
        cr_assert_eq(vm_map_find(vm, m, S(s)), -1, "key %zu is new", i);
        set_rooted(vm, m, S(s), I(10 + (int64_t)i));
    }
    cr_assert_eq(m->count, 1 + nothers);
    gc_collect(&vm->heap);
    for (size_t i = 0; i < nothers; i++) {
        vm_str *s = str_of(vm, others[i].p, others[i].len);
        int64_t e = vm_map_find(vm, m, S(s));
        cr_assert_eq(e, (int64_t)i + 1, "key %zu at %lld", i, (long long)e);
        cr_assert_eq(VM_MAPENT_VAL(m, e).i, 10 + (int64_t)i);
        cr_assert_eq(VM_MAPENT_KEY(m, e).s->len, others[i].len);
        cr_assert(memcmp(VM_MAPENT_KEY(m, e).s->data, others[i].p, others[i].len) == 0);
    }
    /* removing by an equal string removes */
    vm_str *h = str_of(vm, "hello", 5);
    cr_assert(vm_map_remove(vm, m, S(h)));
    cr_assert_eq(vm_map_find(vm, m, S(a)), -1);
    cr_assert_eq(m->count, nothers);
    kiln_free(vm);
}

Test(map, null_string_key_is_a_null_error)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, true, true);
    cr_assert_not_null(m);
    unit_root(vm, m);
    vm->ctx->err_kind = RT_ERR_NONE;
    cr_assert_eq(vm_map_find(vm, m, S(NULL)), -2);
    cr_assert_eq(vm->ctx->err_kind, RT_ERR_NULL);
    vm->ctx->err_kind = RT_ERR_NONE;
    cr_assert_not(vm_map_set(vm, m, S(NULL), S(NULL)));
    cr_assert_eq(vm->ctx->err_kind, RT_ERR_NULL);
    vm->ctx->err_kind = RT_ERR_NONE;
    cr_assert_not(vm_map_remove(vm, m, S(NULL)));
    cr_assert_eq(vm->ctx->err_kind, RT_ERR_NULL);
    cr_assert_eq(m->count, 0);
    /* a null value is fine */
    vm->ctx->err_kind = RT_ERR_NONE;
    vm_str *k = str_of(vm, "k", 1);
    set_rooted(vm, m, S(k), S(NULL));
    cr_assert_eq(m->count, 1);
    cr_assert_null(VM_MAPENT_VAL(m, vm_map_find(vm, m, S(k))).p);
    gc_collect(&vm->heap);
    cr_assert_eq(m->count, 1);
    kiln_free(vm);
}

/* The map's int hash (splitmix64's finalizer, as in vm_map.c) and its
 * inverse, to build keys with chosen hashes. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t unshift(uint64_t y, int s) /* inverse of x ^= x >> s */
{
    uint64_t x = y;
    for (int i = 0; i < 64 / s + 1; i++)
        x = y ^ (x >> s);
    return x;
}

static uint64_t inverse(uint64_t a) /* of an odd number, mod 2^64 */
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

static uint64_t unmix(uint64_t h)
{
    h = unshift(h, 31);
    h *= inverse(0x94d049bb133111ebull);
    h = unshift(h, 27);
    h *= inverse(0xbf58476d1ce4e5b9ull);
    return unshift(h, 30);
}

Test(map, int_keys_negative_extremes_and_the_hole_hash)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, false, true);
    cr_assert_not_null(m);
    unit_root(vm, m);
    /* keys whose hash is the hole marker (the map must change it) and
     * the hash just below it, which the changed one then shares */
    uint64_t hole_key = unmix(VM_MAP_HOLE), below_key = unmix(VM_MAP_HOLE - 1);
    cr_assert_eq(mix(hole_key), VM_MAP_HOLE, "the test's inverse is right");
    cr_assert_eq(mix(below_key), VM_MAP_HOLE - 1);
    const int64_t keys[] = {INT64_MIN,
                            INT64_MAX,
                            -1,
                            0,
                            1,
                            INT64_MIN + 1,
                            INT64_MAX - 1,
                            (int64_t)hole_key,
                            (int64_t)below_key,
                            -4294967296,
                            4294967296};
    const size_t nkeys = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < nkeys; i++) {
        vm_str *v = strf(vm, "value %lld", (long long)i);
        set_rooted(vm, m, I(keys[i]), S(v));
    }
    cr_assert_eq(m->count, nkeys);
    check_shape(m);
    for (size_t i = 0; i < nkeys; i++) {
        int64_t e = vm_map_find(vm, m, I(keys[i]));
        cr_assert_eq(e, (int64_t)i, "key %lld at %lld", (long long)keys[i], (long long)e);
        cr_assert(VM_MAPENT_LIVE(m, e), "a live entry never looks removed");
    }
    gc_collect(&vm->heap);
    char want[32];
    for (size_t i = 0; i < nkeys; i++) {
        int64_t e = vm_map_find(vm, m, I(keys[i]));
        snprintf(want, sizeof want, "value %zu", i);
        cr_assert_str_eq(VM_MAPENT_VAL(m, e).s->data, want);
    }
    /* removing the hole-hash key leaves its neighbour in hash alone */
    cr_assert(vm_map_remove(vm, m, I((int64_t)hole_key)));
    cr_assert_eq(vm_map_find(vm, m, I((int64_t)hole_key)), -1);
    cr_assert_eq(vm_map_find(vm, m, I((int64_t)below_key)), 8);
    cr_assert_eq(m->count, nkeys - 1);
    /* grow through compactions: the extremes keep their values */
    for (int64_t i = 2; i < 3000; i++) {
        vm_str *v = strf(vm, "n%lld", (long long)i);
        set_rooted(vm, m, I(-i * 1000003), S(v));
    }
    check_shape(m);
    cr_assert_str_eq(VM_MAPENT_VAL(m, vm_map_find(vm, m, I(INT64_MIN))).s->data, "value 0");
    cr_assert_str_eq(VM_MAPENT_VAL(m, vm_map_find(vm, m, I(INT64_MAX))).s->data, "value 1");
    cr_assert_str_eq(VM_MAPENT_VAL(m, vm_map_find(vm, m, I(-1))).s->data, "value 2");
    cr_assert_str_eq(VM_MAPENT_VAL(m, vm_map_find(vm, m, I((int64_t)below_key))).s->data,
                     "value 8");
    cr_assert_eq(vm_map_find(vm, m, I((int64_t)hole_key)), -1);
    /* re-inserting the hole-hash key after a compaction */
    set_rooted(vm, m, I((int64_t)hole_key), S(NULL));
    cr_assert_eq(vm_map_find(vm, m, I((int64_t)hole_key)), m->used - 1);
    check_shape(m);
    kiln_free(vm);
}

Test(map, bool_keys)
{
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, false, false);
    cr_assert_not_null(m);
    unit_root(vm, m);
    set_int(vm, m, 1, 10);
    set_int(vm, m, 0, 20);
    set_int(vm, m, 1, 30);
    cr_assert_eq(m->count, 2);
    cr_assert_eq(VM_MAPENT_VAL(m, vm_map_find(vm, m, I(1))).i, 30);
    cr_assert_eq(VM_MAPENT_VAL(m, vm_map_find(vm, m, I(0))).i, 20);
    cr_assert(vm_map_remove(vm, m, I(0)));
    cr_assert_eq(vm_map_find(vm, m, I(0)), -1);
    cr_assert_eq(vm_map_find(vm, m, I(1)), 0);
    kiln_free(vm);
}

Test(map, collection_mid_way_keeps_everything_reachable)
{
    kiln_vm *vm = unit_linked_vm(0);
    gc_collect(&vm->heap);
    size_t base = vm->heap.bytes;
    vm_map *m = vm_map_new(vm, true, true);
    cr_assert_not_null(m);
    unit_root(vm, m);
    /* {str: str} filled with a collection after every insertion: only the
     * map holds the keys and values */
    enum { N = 600 };
    for (int i = 0; i < N; i++) {
        vm_str *k = strf(vm, "key-%d", i);
        unit_root(vm, k);
        vm_str *v = strf(vm, "a value of entry %d", i);
        vm_root_pop(vm, 1);
        set_rooted(vm, m, S(k), S(v));
        gc_collect(&vm->heap);
        if (i % 50 == 0)
            check_shape(m);
    }
    /* garbage strings between the steps, then more collections */
    for (int i = 0; i < 2000; i++)
        strf(vm, "garbage %d", i);
    gc_collect(&vm->heap);
    size_t full = vm->heap.bytes;
    gc_collect(&vm->heap);
    cr_assert_eq(vm->heap.bytes, full, "a second collection frees nothing more");
    char want[64];
    for (int i = 0; i < N; i++) {
        vm_str *k = strf(vm, "key-%d", i);
        int64_t e = vm_map_find(vm, m, S(k));
        cr_assert_eq(e, i);
        snprintf(want, sizeof want, "a value of entry %d", i);
        cr_assert_str_eq(VM_MAPENT_VAL(m, e).s->data, want);
        snprintf(want, sizeof want, "key-%d", i);
        cr_assert_str_eq(VM_MAPENT_KEY(m, e).s->data, want);
    }
    gc_collect(&vm->heap);
    /* removing half: their keys and values become garbage */
    size_t before = vm->heap.bytes;
    size_t removed_bytes = 0;
    for (int i = 0; i < N; i += 2) {
        vm_str *k = strf(vm, "key-%d", i);
        int64_t e = vm_map_find(vm, m, S(k));
        removed_bytes += gc_footprint(&vm->heap, &VM_MAPENT_KEY(m, e).s->obj) +
                         gc_footprint(&vm->heap, &VM_MAPENT_VAL(m, e).s->obj);
        unit_root(vm, k);
        cr_assert(vm_map_remove(vm, m, S(k)));
        vm_root_pop(vm, 1);
    }
    gc_collect(&vm->heap);
    cr_assert_eq(vm->heap.bytes, before - removed_bytes, "%zu bytes, expected %zu - %zu",
                 vm->heap.bytes, before, removed_bytes);
    for (int i = 1; i < N; i += 2) {
        vm_str *k = strf(vm, "key-%d", i);
        int64_t e = vm_map_find(vm, m, S(k));
        cr_assert_geq(e, 0);
        snprintf(want, sizeof want, "a value of entry %d", i);
        cr_assert_str_eq(VM_MAPENT_VAL(m, e).s->data, want);
    }
    /* dropping the map frees it all */
    vm_root_pop(vm, 1);
    cr_assert_eq(vm->ctx->roots.n, 0);
    gc_collect(&vm->heap);
    cr_assert_eq(vm->heap.bytes, base, "%zu bytes left, %zu before the map", vm->heap.bytes, base);
    kiln_free(vm);
}

Test(map, maps_of_maps_survive_through_the_outer_map)
{
    kiln_vm *vm = unit_linked_vm(0);
    gc_collect(&vm->heap);
    size_t base = vm->heap.bytes;
    vm_map *outer = vm_map_new(vm, false, true);
    cr_assert_not_null(outer);
    unit_root(vm, outer);
    for (int i = 0; i < 50; i++) {
        vm_map *inner = vm_map_new(vm, true, false);
        cr_assert_not_null(inner);
        set_rooted(vm, outer, I(i), (vm_value){.p = inner});
        for (int j = 0; j < i; j++) {
            vm_str *k = strf(vm, "k%d", j);
            set_rooted(vm, inner, S(k), I(i * 1000 + j));
        }
        gc_collect(&vm->heap);
    }
    for (int i = 0; i < 50; i++) {
        vm_map *inner = VM_MAPENT_VAL(outer, vm_map_find(vm, outer, I(i))).p;
        cr_assert_eq(inner->obj.kind, VM_OBJ_MAP);
        cr_assert_eq(inner->count, (uint32_t)i);
        check_shape(inner);
        for (int j = 0; j < i; j++) {
            vm_str *k = strf(vm, "k%d", j);
            int64_t e = vm_map_find(vm, inner, S(k));
            cr_assert_eq(e, j);
            cr_assert_eq(VM_MAPENT_VAL(inner, e).i, i * 1000 + j);
        }
    }
    vm_root_pop(vm, 1);
    gc_collect(&vm->heap);
    cr_assert_eq(vm->heap.bytes, base);
    kiln_free(vm);
}

Test(map, every_allocation_collects_under_stress)
{
    /* With --gc-stress --gc-verify, each buffer allocation of a growth
     * collects while the old and new buffers are both in play. */
    kiln_vm *vm = unit_linked_vm(KILN_FLAG_GC_STRESS | KILN_FLAG_GC_VERIFY);
    vm_map *m = vm_map_new(vm, true, true);
    cr_assert_not_null(m);
    unit_root(vm, m);
    uint64_t c0 = vm->heap.collections;
    for (int i = 0; i < 300; i++) {
        vm_str *k = strf(vm, "s%d", i);
        unit_root(vm, k);
        vm_str *v = strf(vm, "v%d", i * 7);
        vm_root_pop(vm, 1);
        set_rooted(vm, m, S(k), S(v));
        if (i % 3 == 0) {
            vm_str *r = strf(vm, "s%d", i / 2);
            unit_root(vm, r);
            cr_assert(vm_map_remove(vm, m, S(r)));
            vm_root_pop(vm, 1);
        }
    }
    cr_assert_gt(vm->heap.collections, c0 + 300);
    cr_assert_null(vm->heap.verify_error, "%s", vm->heap.verify_error);
    check_shape(m);
    char want[32];
    uint32_t live = 0;
    for (uint32_t e = 0; e < m->used; e++) {
        if (is_hole(m, e))
            continue;
        live++;
        int i = atoi(VM_MAPENT_KEY(m, e).s->data + 1);
        snprintf(want, sizeof want, "v%d", i * 7);
        cr_assert_str_eq(VM_MAPENT_VAL(m, e).s->data, want);
        cr_assert_eq(vm_map_find(vm, m, VM_MAPENT_KEY(m, e)), e);
    }
    cr_assert_eq(live, m->count);
    kiln_free(vm);
}

Test(map, dense_while_keys_count_up)
{
    /* Int keys 0, 1, 2, ... added in order: no index, key k at entry k;
     * removals leave it dense (holes; those at the end are free again);
     * any other key, or a removed one coming back, builds the index and
     * keeps the order. */
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, false, false);
    cr_assert_not_null(m);
    unit_root(vm, m);
    for (int i = 0; i < 100; i++)
        set_int(vm, m, i, i * 2);
    cr_assert_null(m->index, "keys counting up need no index");
    check_shape(m);
    cr_assert_eq(vm_map_find(vm, m, I(57)), 57);
    cr_assert_eq(vm_map_find(vm, m, I(100)), -1);
    cr_assert_eq(vm_map_find(vm, m, I(-1)), -1);
    cr_assert_eq(vm_map_find(vm, m, I(INT64_MIN)), -1);
    set_int(vm, m, 57, -5); /* replacing: still dense */
    cr_assert_null(m->index);
    cr_assert_eq(VM_MAPENT_VAL(m, 57).i, -5);
    cr_assert(vm_map_remove(vm, m, I(99)));
    cr_assert(vm_map_remove(vm, m, I(98)));
    cr_assert_null(m->index, "the last keys go: still dense");
    cr_assert_eq(m->used, 98);
    set_int(vm, m, 98, 1); /* and come back at the end */
    cr_assert_null(m->index);
    check_shape(m);
    cr_assert(vm_map_remove(vm, m, I(10))); /* a key in the middle: a hole */
    cr_assert(vm_map_remove(vm, m, I(97)));
    cr_assert_null(m->index);
    cr_assert_eq(m->used, 99);
    check_shape(m);
    cr_assert_eq(vm_map_find(vm, m, I(10)), -1);
    cr_assert_eq(vm_map_find(vm, m, I(97)), -1);
    cr_assert_eq(vm_map_find(vm, m, I(11)), 11, "entries stay in place");
    cr_assert(vm_map_remove(vm, m, I(98))); /* the last: 97's hole goes too */
    cr_assert_eq(m->used, 97);
    check_shape(m);
    set_int(vm, m, 10, 7); /* back: indexed from now on, at the end */
    cr_assert_not_null(m->index);
    cr_assert_eq(vm_map_find(vm, m, I(10)), 96);
    cr_assert_eq(vm_map_find(vm, m, I(11)), 10);
    cr_assert_eq(m->count, 97);
    check_shape(m);
    /* a fresh dense map meeting a key out of order */
    vm_map *d = vm_map_new(vm, false, false);
    cr_assert_not_null(d);
    unit_root(vm, d);
    for (int i = 0; i < 8; i++) /* full: the next key needs room and an index */
        set_int(vm, d, i, i);
    set_int(vm, d, 1000, 5);
    cr_assert_not_null(d->index);
    check_shape(d);
    int64_t got[16];
    cr_assert_eq(int_keys(d, got), 9);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(got[i], i);
    cr_assert_eq(got[8], 1000);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(vm_map_find(vm, d, I(i)), i);
    cr_assert_eq(vm_map_find(vm, d, I(1000)), 8);
    kiln_free(vm);
}

Test(map, large_buffers_survive_collections)
{
    /* Entries of more than 1 MiB come from pages of their own (gc.c,
     * GC_BIG): grown, collected, compacted and freed like any others. */
    kiln_vm *vm = unit_linked_vm(0);
    vm_map *m = vm_map_new(vm, false, false);
    cr_assert_not_null(m);
    unit_root(vm, m);
    enum { N = 60000 };
    for (int64_t i = 0; i < N; i++)
        set_int(vm, m, i * 7 - N, i);
    cr_assert_geq((size_t)m->ents->obj.size, (size_t)1 << 20);
#ifndef KILN_GC_MALLOC
    cr_assert(m->ents->obj.big && m->index->obj.big, "pages of their own");
#endif
    gc_collect(&vm->heap);
    check_shape(m);
    for (int64_t i = 0; i < N; i += 3)
        cr_assert(vm_map_remove(vm, m, I(i * 7 - N)));
    for (int64_t i = 0; i < N / 2; i++) /* fills the holes' room: compacts */
        set_int(vm, m, N * 8 + i, i);
    gc_collect(&vm->heap);
    check_shape(m);
    for (int64_t i = 0; i < N; i++)
        cr_assert_eq(vm_map_find(vm, m, I(i * 7 - N)) >= 0, i % 3 != 0, "key %lld", (long long)i);
    kiln_free(vm);
}

/* The class named `name` of the loaded program. */
static const vm_rtclass *class_named(kiln_vm *vm, const char *name)
{
    for (uint32_t i = 0; i < vm->img.nclasses; i++)
        if (!strcmp(vm_image_str(&vm->img, vm->img.classes[i].name), name))
            return &vm->classes[i];
    cr_assert_fail("no class %s", name);
    return NULL;
}

Test(map, object_keys_of_any_shape_end)
{
    /* Object keys compare field by field. The compiler allows only tuples
     * and enums, but an image may key a map by any class: keys that are
     * cyclic, or share parts exponentially often, must end with an error,
     * not hang or overflow the C stack. */
    kiln_vm *vm = unit_vm_hook(unit_discard, NULL, 0, 0);
    unit_load_run(vm, "m.kn",
                  "class Node {\n    label: str\n    a: Node\n    b: Node\n}\nlet x = 1\n");
    const vm_rtclass *node = class_named(vm, "Node");
    vm_map *m = vm_map_new(vm, VM_MAP_OBJS, false);
    cr_assert_not_null(m);
    unit_root(vm, m);
    /* two equal trees, made apart */
    vm_inst *t[2];
    for (int i = 0; i < 2; i++) {
        t[i] = vm_inst_new(vm, node);
        cr_assert_not_null(t[i]);
        unit_root(vm, t[i]);
        vm_inst *leaf = vm_inst_new(vm, node);
        cr_assert_not_null(leaf);
        leaf->fields[0].s = str_of(vm, "leaf", 4);
        t[i]->fields[1].p = leaf;
    }
    cr_assert(vm_map_set(vm, m, (vm_value){.p = t[0]}, I(7)));
    cr_assert_eq(vm_map_find(vm, m, (vm_value){.p = t[1]}), 0, "equal by value");
    ((vm_inst *)t[1]->fields[1].p)->fields[0].s = str_of(vm, "leaf!", 5);
    cr_assert_eq(vm_map_find(vm, m, (vm_value){.p = t[1]}), -1);
    /* cycles: each node its own child, in two copies */
    vm_inst *c[2];
    for (int i = 0; i < 2; i++) {
        c[i] = vm_inst_new(vm, node);
        cr_assert_not_null(c[i]);
        unit_root(vm, c[i]);
        c[i]->fields[1].p = c[i];
        c[i]->fields[2].p = c[i];
    }
    cr_assert(vm_map_set(vm, m, (vm_value){.p = c[0]}, I(1)));
    cr_assert_eq(vm_map_find(vm, m, (vm_value){.p = c[0]}), 1, "the same object");
    cr_assert_eq(vm_map_find(vm, m, (vm_value){.p = c[1]}), -2, "cyclic: an error");
    cr_assert_eq(vm->ctx->err_kind, RT_ERR_VALUE);
    cr_assert(strstr(vm->ctx->err_msg, "too large to compare"), "%s", vm->ctx->err_msg);
    vm->ctx->err_kind = RT_ERR_NONE;
    /* a chain of 60 nodes each pointing twice at the next: 2^60 paths */
    vm_inst *d[2];
    for (int i = 0; i < 2; i++) {
        vm_inst *next = NULL;
        for (int j = 0; j < 60; j++) {
            if (next)
                unit_root(vm, next);
            vm_inst *o = vm_inst_new(vm, node);
            cr_assert_not_null(o);
            if (next)
                vm_root_pop(vm, 1);
            o->fields[1].p = next;
            o->fields[2].p = next;
            next = o;
        }
        d[i] = next;
        unit_root(vm, d[i]);
    }
    cr_assert(vm_map_set(vm, m, (vm_value){.p = d[0]}, I(2)));
    cr_assert_eq(vm_map_find(vm, m, (vm_value){.p = d[1]}), -2, "too many pairs: an error");
    vm->ctx->err_kind = RT_ERR_NONE;
    cr_assert_eq(vm_map_find(vm, m, (vm_value){.p = NULL}), -2, "a null key: NullError");
    cr_assert_eq(vm->ctx->err_kind, RT_ERR_NULL);
    vm->ctx->err_kind = RT_ERR_NONE;
    check_shape(m);
    kiln_free(vm);
}

/* Fuel that runs out after `units` more counted instructions (vm_charge
 * raises when the tick goes below zero and the fuel is spent). */
static void fuel_for(kiln_vm *vm, uint64_t units)
{
    vm->fuel_left = units;
    vm->ctx->tick = vm->ctx->tick_len = (int64_t)units;
}

/* A large map's rebuild (growth past its room, or a dense map's copy) is
 * charged piece by piece, and stopped at any piece (out of fuel here, an
 * interrupt or the deadline alike) leaves the map exactly as it was: same
 * room, every key there with its value, the index whole. The fuel grows
 * in small steps until the rebuild succeeds, so the stops land at every
 * piece (32,768 entries) of the copy of the entries and of the filling of
 * the index. */
Test(map, rebuild_stopped_halfway_leaves_the_map_whole)
{
    enum { N = 100000 };
    for (int dense = 0; dense < 2; dense++) {
        int stops = 0;
        for (uint64_t fuel = 1;; fuel += 4093) {
            kiln_vm *vm = unit_linked_vm(0);
            vm_map *m = vm_map_new(vm, false, false);
            cr_assert_not_null(m);
            unit_root(vm, m);
            for (int64_t i = 0; i < N; i++)
                set_int(vm, m, dense ? i : i * 7, i + 1);
            cr_assert_eq(m->index == NULL, dense == 1);
            uint32_t cap = m->cap;
            fuel_for(vm, fuel);
            vm->ctx->err_kind = RT_ERR_NONE;
            if (vm_map_reserve(vm, m, (int64_t)cap * 4)) {
                cr_assert_geq(m->cap, cap * 4);
                check_shape(m);
                cr_assert_eq(vm_map_find(vm, m, I(dense ? N - 1 : (N - 1) * 7)), N - 1);
                kiln_free(vm);
                break;
            }
            stops++;
            cr_assert_eq(vm->ctx->err_kind, RT_LIMIT, "%s", vm->ctx->err_msg);
            cr_assert(strstr(vm->ctx->err_msg, "out of fuel"), "%s", vm->ctx->err_msg);
            vm->ctx->err_kind = RT_ERR_NONE;
            cr_assert_eq(m->cap, cap);
            cr_assert_eq(m->count, N);
            check_shape(m);
            for (int64_t i = 0; i < N; i++) {
                int64_t e = vm_map_find(vm, m, I(dense ? i : i * 7));
                cr_assert_geq(e, 0, "key %lld lost (fuel %llu)", (long long)i,
                              (unsigned long long)fuel);
                cr_assert_eq(VM_MAPENT_VAL(m, e).i, i + 1);
            }
            kiln_free(vm);
        }
        /* the copy of 100,000 entries is more than one piece */
        cr_assert_geq(stops, 4, "%s map: %d stops", dense ? "dense" : "indexed", stops);
    }
}
