/*
 * vm_map.c — the map object {K: V}: insertion-ordered entries (key, value
 * and hash side by side, so a lookup touches the index and one entry),
 * found through an open-addressing index of 32-bit entry numbers (linear
 * probing, load at most 1/2).
 *
 * A map with int keys starts dense: while its keys are 0, 1, 2, ... added
 * in that order, key k is entry k (or a hole once removed) and there is no
 * index at all: a lookup is a bounds check. The first other key (or a
 * removed one coming back, which goes to the end) builds the index, and
 * the map stays indexed. Removal never allocates.
 *
 * Removing an entry leaves a hole (its hash becomes VM_MAP_HOLE), so the
 * order of the others never changes and probe chains stay intact; the
 * holes are squeezed out when the entries are full, in place when twice
 * the live entries fit in the room there is, else into a new buffer of
 * that size. Every buffer is a GC object; new ones
 * are on the root stack until the map holds them, since each allocation
 * may collect.
 */
#include <stdlib.h>
#include <string.h>

#include "../runtime/rt.h"
#include "vm.h"

enum { MIN_CAP = 8, STRIDE = 3 };
/* An index slot: the entry number + 1 in the low half, the hash's high
 * half above it, so a probe passes other keys without reading their
 * entries (each a likely cache miss). */
#define TAG_MASK 0xffffffff00000000ull

static uint64_t mix(uint64_t x) /* splitmix64's finalizer */
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t str_hash(const vm_str *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; s && i < s->len; i++)
        h = (h ^ (unsigned char)s->data[i]) * 0x100000001b3ull;
    return h;
}

static bool str_eq(const vm_str *a, const vm_str *b)
{
    return a == b || (a && b && a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
}

/* ---- Object keys: tuples and enums, compared field by field ----
 *
 * A map whose key type is a class (the compiler allows tuples and enums
 * of hashable values) compares keys as `==` compares them: the same class,
 * then each field: ints and bools by value, floats as numbers (0.0 equals
 * -0.0, NaN nothing), strings by bytes, objects field by field again,
 * anything else (arrays, maps, functions) by identity. An image can make
 * any class a key type, with cycles and shared parts: the hash looks at a
 * bounded number of objects, the comparison keeps an explicit stack (no
 * recursion in C), charges its work, and gives up with an error after
 * EQ_MAX_STEPS pairs. */

enum { HASH_DEPTH = 8, HASH_OBJECTS = 64, EQ_MAX_STEPS = 1 << 24 };

static bool field_is_object(const kiln_vm *vm, uint32_t t)
{
    return vm_class_of(&vm->img, t) != NULL;
}

static uint64_t float_bits(double d)
{
    if (d == 0)
        d = 0; /* -0.0 hashes as 0.0, which it equals */
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Equal values hash alike: the objects below HASH_DEPTH levels, and past
 * the first HASH_OBJECTS (*budget), count as one. */
static uint64_t obj_hash(const kiln_vm *vm, const vm_inst *o, int depth, int *budget)
{
    if (!o)
        return 0x9e3779b97f4a7c15ull;
    if (depth >= HASH_DEPTH || --*budget < 0)
        return 0;
    uint64_t h = mix((uint64_t)(uintptr_t)o->cls);
    const vm_class *d = o->cls->def;
    for (uint32_t i = 0; i < d->nfields; i++) {
        uint32_t t = d->field_types[i];
        vm_value v = o->fields[i];
        uint64_t f;
        if (t == VM_T_FLOAT)
            f = mix(float_bits(v.f));
        else if (t == VM_T_STR)
            f = str_hash(v.s);
        else if (field_is_object(vm, t))
            f = obj_hash(vm, v.p, depth + 1, budget);
        else
            f = mix(v.u);
        h = (h ^ f) * 0x100000001b3ull + (uint64_t)i;
    }
    return h;
}

/* a == b, or -1 after raising (a chain of objects too long to compare) */
static int obj_eq(kiln_vm *vm, const vm_inst *a, const vm_inst *b)
{
    struct pair {
        const vm_inst *a, *b;
    } small[32], *stack = small;
    size_t n = 0, cap = 32, steps = 0;
    int result = 1;
    stack[n++] = (struct pair){a, b};
    while (n && result == 1) {
        struct pair p = stack[--n];
        if ((++steps & 4095) == 0 && vm_charge(vm, 4096)) { /* a pair a tick */
            result = -1;
            break;
        }
        if (steps > EQ_MAX_STEPS) {
            rt_raise(vm, RT_ERR_VALUE, "map key too large to compare (or cyclic)");
            result = -1;
            break;
        }
        if (p.a == p.b)
            continue;
        if (!p.a || !p.b || p.a->cls != p.b->cls) {
            result = 0;
            break;
        }
        const vm_class *d = p.a->cls->def;
        for (uint32_t i = 0; i < d->nfields && result == 1; i++) {
            uint32_t t = d->field_types[i];
            vm_value x = p.a->fields[i], y = p.b->fields[i];
            if (t == VM_T_FLOAT) {
                result = x.f == y.f;
            } else if (t == VM_T_STR) {
                result = str_eq(x.s, y.s);
            } else if (field_is_object(vm, t) && x.p != y.p) {
                if (n == cap) {
                    if (cap >= EQ_MAX_STEPS) { /* more than would ever be compared */
                        rt_raise(vm, RT_ERR_VALUE, "map key too large to compare (or cyclic)");
                        result = -1;
                        break;
                    }
                    struct pair *more = malloc(sizeof *more * cap * 2);
                    if (!more) {
                        rt_raise(vm, RT_ERR_OOM, "out of memory comparing map keys");
                        result = -1;
                        break;
                    }
                    memcpy(more, stack, sizeof *more * n);
                    if (stack != small)
                        free(stack);
                    stack = more;
                    cap *= 2;
                }
                stack[n++] = (struct pair){x.p, y.p};
            } else if (!field_is_object(vm, t)) {
                result = x.u == y.u;
            }
        }
    }
    if (stack != small)
        free(stack);
    return result;
}

static uint64_t key_hash(const kiln_vm *vm, const vm_map *m, vm_value k)
{
    uint64_t h = m->keys == VM_MAP_STRS   ? str_hash(k.s)
                 : m->keys == VM_MAP_OBJS ? obj_hash(vm, k.p, 0, &(int){HASH_OBJECTS})
                                          : mix(k.u);
    return h == VM_MAP_HOLE ? h - 1 : h;
}

/* Where the search for key k (hash h) starts. An int key's is the key
 * modulo the odd number of slots - 1, as Lua's tables do: keys in an
 * arithmetic sequence (i * 7) land in neighbouring slots, which the
 * processor fetches ahead, where the mixed hash scatters them over the
 * whole index (a cache miss each); an odd modulus still spreads strides
 * that are powers of two. A string key's is its hash's low bits. */
static uint32_t home(int keys, uint32_t mask, vm_value k, uint64_t h)
{
    return keys != VM_MAP_WORDS ? (uint32_t)h & mask : (uint32_t)(k.u % mask);
}

/* The slot after i on the way of a key whose hash is *perturb at first:
 * the next LINEAR slots (the same cache line, likely), then slots its
 * hash's bits scatter, as CPython's dicts do, so a search leaves a run of
 * neighbouring keys (0..n-1 fill one) instead of walking it, and keys
 * sharing a home (multiples of the modulus) part ways. Once perturb is 0,
 * i * 5 + 1 visits every slot. */
enum { LINEAR = 3 };
static uint32_t probe_next(uint32_t mask, uint32_t i, uint64_t *perturb, uint32_t *n)
{
    if (++*n <= LINEAR)
        return (i + 1) & mask;
    *perturb >>= 5;
    return (uint32_t)(((uint64_t)i * 5 + 1 + *perturb) & mask);
}

/* The entry of k (hash h) in an indexed map, or -1 (-2 after raising).
 * A hole's hash never equals a key's, so holes never match. */
static int64_t find_indexed(kiln_vm *vm, const vm_map *m, vm_value k, uint64_t h)
{
    const uint64_t *slots = m->index->slots;
    uint64_t tag = h & TAG_MASK, perturb = h;
    uint32_t n = 0;
    for (uint32_t i = home(m->keys, m->mask, k, h);; i = probe_next(m->mask, i, &perturb, &n)) {
        uint64_t s = slots[i];
        if (s == 0)
            return -1;
        if ((s & TAG_MASK) != tag) /* another key: its entry stays unread */
            continue;
        uint32_t e = (uint32_t)s - 1;
        const vm_value *en = &m->ents->items[(size_t)e * STRIDE];
        if (en[2].u != h)
            continue;
        if (m->keys == VM_MAP_OBJS) {
            int eq = obj_eq(vm, en[0].p, k.p);
            if (eq)
                return eq < 0 ? -2 : (int64_t)e;
        } else if (m->keys == VM_MAP_STRS ? str_eq(en[0].s, k.s) : en[0].u == k.u) {
            return e;
        }
    }
}

/* Enters entry e (key k, hash h) into an index of mask + 1 slots for keys
 * of kind `keys`. */
static void index_put(vm_map_index *ix, uint32_t mask, int keys, vm_value k, uint64_t h, uint32_t e)
{
    uint32_t i = home(keys, mask, k, h);
    uint64_t perturb = h;
    uint32_t n = 0;
    while (ix->slots[i] != 0)
        i = probe_next(mask, i, &perturb, &n);
    ix->slots[i] = (h & TAG_MASK) | (e + 1);
}

/* m's *slot becomes the new buffer b: a reference store into m (gc.h). */
static void swap_in(kiln_vm *vm, vm_map *m, void **slot, gc_obj *b)
{
    *slot = b;
    gc_barrier(&vm->heap, &m->obj, b);
}

/* Makes the entries hold `cap` (keeping the `used` there are, holes too),
 * in a new buffer unless cap is the current room. */
static bool resize_ents(kiln_vm *vm, vm_map *m, uint32_t cap)
{
    if (cap == m->cap)
        return true;
    vm_buffer *b =
        (vm_buffer *)vm_alloc(vm, sizeof(vm_buffer) + (uint64_t)cap * STRIDE * sizeof(vm_value),
                              VM_OBJ_BUF, "a map's entries");
    /* charged as it goes; stopped halfway, the new buffer is dropped */
    if (!b || (m->used && !vm_copy_charged(vm, b->items, m->ents->items,
                                           (size_t)m->used * STRIDE * sizeof(vm_value))))
        return false;
    swap_in(vm, m, (void **)&m->ents, &b->obj);
    m->cap = cap;
    return true;
}

/* A map of this many entries or more is rebuilt in pieces of PIECE, each
 * charged before it is done (so the interrupt flag and fuel are looked at
 * every few hundred microseconds), into new buffers swapped in only at the
 * end: a rebuild stopped halfway leaves the map as it was. */
enum { PIECE = 1 << 15 };

/* Gives the map room for `cap` entries (a new buffer unless that is the
 * room it has) holding its live entries in order, and an index for that
 * room (computing a dense map's hashes). Everything is allocated before
 * anything changes, so a failure leaves the map as it was. Squeezing the
 * holes out of a small map in place moves references within the buffer
 * the map holds: no new edge, no barrier. */
static bool reindex(kiln_vm *vm, vm_map *m, uint32_t cap)
{
    uint64_t nslots = 1;
    while (nslots < 2 * (uint64_t)cap)
        nslots *= 2;
    bool big = m->used >= PIECE;
    uint64_t per = STRIDE * sizeof(vm_value) + 2 * 8; /* bytes touched per entry */
    if (!big && vm_charge(vm, ((uint64_t)m->used * per + nslots * 8) / VM_BYTES_PER_TICK))
        return false;
    vm_map_index *ix = m->index;
    vm_buffer *b = m->ents;
    bool ok = true, pushed = false;
    if (big || !ix || (uint64_t)m->mask + 1 != nslots) {
        ix = (vm_map_index *)vm_alloc(vm, sizeof(vm_map_index) + nslots * 8, VM_OBJ_BUF,
                                      "a map's index");
        ok = pushed = ix && vm_root_push(vm, ix);
    }
    if (ok && (big || cap != m->cap)) {
        b = (vm_buffer *)vm_alloc(vm, sizeof(vm_buffer) + (uint64_t)cap * STRIDE * sizeof(vm_value),
                                  VM_OBJ_BUF, "a map's entries");
        ok = b != NULL;
    }
    if (pushed)
        vm_root_pop(vm, 1);
    if (!ok)
        return false;
    /* From here nothing allocates until a charge raises, after which the
     * new buffers are dropped unused. */
    bool dense = !m->index;
    uint32_t n = 0;
    for (uint32_t e = 0; e < m->used; e++) {
        if (big && e % PIECE == 0 && vm_charge(vm, PIECE * per / VM_BYTES_PER_TICK))
            return false;
        const vm_value *src = &m->ents->items[(size_t)e * STRIDE];
        if (src[2].u == VM_MAP_HOLE)
            continue;
        vm_value *dst = &b->items[(size_t)n * STRIDE];
        uint64_t h = dense ? key_hash(vm, m, src[0]) : src[2].u;
        dst[0] = src[0];
        dst[1] = src[1];
        dst[2].u = h;
        n++;
    }
    if (ix == m->index)
        memset(ix->slots, 0, (size_t)nslots * 8);
    uint32_t mask = (uint32_t)(nslots - 1);
    for (uint32_t e = 0; e < n; e++) {
        if (big && e % PIECE == 0 && vm_charge(vm, PIECE * 8 / VM_BYTES_PER_TICK))
            return false;
        index_put(ix, mask, m->keys, b->items[(size_t)e * STRIDE],
                  b->items[(size_t)e * STRIDE + 2].u, e);
    }
    if (b == m->ents && n < m->used) /* no stale copies past the end */
        memset(&b->items[(size_t)n * STRIDE], 0, (size_t)(m->used - n) * STRIDE * sizeof(vm_value));
    if (b != m->ents) {
        swap_in(vm, m, (void **)&m->ents, &b->obj);
        m->cap = cap;
    }
    if (ix != m->index)
        swap_in(vm, m, (void **)&m->index, &ix->obj);
    m->mask = mask;
    m->used = n;
    return true;
}

vm_map *vm_map_new(kiln_vm *vm, int keys, bool val_ref)
{
    vm_map *m = (vm_map *)vm_alloc(vm, sizeof(vm_map), VM_OBJ_MAP, "a map");
    if (!m || !vm_root_push(vm, m)) /* traceable with null buffers (gc.h invariant 5) */
        return NULL;
    m->keys = (uint8_t)keys;
    m->val_ref = val_ref;
    bool ok = keys != VM_MAP_WORDS ? reindex(vm, m, MIN_CAP) : resize_ents(vm, m, MIN_CAP);
    vm_root_pop(vm, 1);
    return ok ? m : NULL;
}

int64_t vm_map_find(kiln_vm *vm, vm_map *m, vm_value k)
{
    if (!m->index)
        return k.u < m->used && VM_MAPENT_LIVE(m, k.u) ? (int64_t)k.u : -1;
    if (m->keys != VM_MAP_WORDS && !k.p) {
        rt_raise(vm, RT_ERR_NULL, "map key is null");
        return -2;
    }
    return find_indexed(vm, m, k, key_hash(vm, m, k));
}

bool vm_map_set(kiln_vm *vm, vm_map *m, vm_value k, vm_value v)
{
    int64_t e = vm_map_find(vm, m, k);
    if (e == -2)
        return false;
    if (e >= 0) {
        VM_MAPENT_VAL(m, e) = v;
        gc_barrier(&vm->heap, &m->obj, m->val_ref ? v.p : NULL);
        return true;
    }
    if (m->count >= UINT32_MAX / 4) {
        rt_raise(vm, RT_ERR_OOM, "map too large");
        return false;
    }
    /* A dense map takes the next key at the end; another key, or a full
     * map that is mostly holes (which only an index can squeeze out),
     * ends it. */
    bool dense =
        !m->index && k.u == m->used && !(m->used == m->cap && (uint64_t)m->count * 2 < m->used);
    if (!m->index && !dense && !reindex(vm, m, m->cap))
        return false;
    if (m->used == m->cap) { /* double when mostly live, else squeeze out the holes */
        uint32_t cap = dense ? m->cap * 2 : m->count * 2 > MIN_CAP ? m->count * 2 : MIN_CAP;
        if (!(dense ? resize_ents(vm, m, cap) : reindex(vm, m, cap)))
            return false;
    }
    uint32_t n = m->used++;
    vm_value *en = &m->ents->items[(size_t)n * STRIDE];
    en[0] = k;
    gc_barrier(&vm->heap, &m->obj, m->keys != VM_MAP_WORDS ? k.p : NULL);
    en[1] = v;
    gc_barrier(&vm->heap, &m->obj, m->val_ref ? v.p : NULL);
    m->count++;
    if (dense) {
        en[2].u = 0;
    } else {
        en[2].u = key_hash(vm, m, k);
        index_put(m->index, m->mask, m->keys, k, en[2].u, n);
    }
    return true;
}

bool vm_map_remove(kiln_vm *vm, vm_map *m, vm_value k)
{
    int64_t e = vm_map_find(vm, m, k);
    if (e < 0)
        return e != -2;
    vm_value *en = &m->ents->items[(size_t)e * STRIDE];
    en[0].u = 0; /* let the collector have them */
    en[1].u = 0;
    en[2].u = VM_MAP_HOLE;
    m->count--;
    if (!m->index) /* a dense map's holes at the end are free again */
        while (m->used && !VM_MAPENT_LIVE(m, m->used - 1))
            m->used--;
    return true;
}

bool vm_map_reserve(kiln_vm *vm, vm_map *m, int64_t n)
{
    if (n <= m->cap)
        return true;
    if (n >= UINT32_MAX / 4) {
        rt_raise(vm, RT_ERR_OOM, "map too large: reserve(%lld)", (long long)n);
        return false;
    }
    return m->index ? reindex(vm, m, (uint32_t)n) : resize_ents(vm, m, (uint32_t)n);
}
