/*
 * vm_map.c — the map object {K: V}: insertion-ordered entries in parallel
 * buffers (keys, values, hashes), found through an open-addressing index
 * of entry numbers (linear probing, load below 1/2).
 *
 * Removing an entry leaves a hole (its hash becomes VM_MAP_HOLE), so the
 * order of the others never changes and probe chains stay intact; holes
 * are squeezed out when the entries are full and get copied to new
 * buffers. Every buffer is a GC object; new ones are on the root stack
 * until the map holds them, since each allocation may collect.
 */
#include <string.h>

#include "../runtime/rt.h"
#include "vm.h"

enum { MIN_CAP = 8 };

static uint64_t mix(uint64_t x) /* splitmix64's finalizer */
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t key_hash(const vm_map *m, vm_value k)
{
    uint64_t h;
    if (m->key_str) {
        h = 0xcbf29ce484222325ull;
        for (uint32_t i = 0; i < k.s->len; i++)
            h = (h ^ (unsigned char)k.s->data[i]) * 0x100000001b3ull;
    } else {
        h = mix(k.u);
    }
    return h == VM_MAP_HOLE ? h - 1 : h;
}

static bool key_eq(const vm_map *m, vm_value a, vm_value b)
{
    if (!m->key_str)
        return a.u == b.u;
    return a.s == b.s ||
           (a.s && b.s && a.s->len == b.s->len && memcmp(a.s->data, b.s->data, a.s->len) == 0);
}

static vm_buffer *buffer(kiln_vm *vm, uint32_t n)
{
    return (vm_buffer *)vm_alloc(vm, sizeof(vm_buffer) + sizeof(vm_value) * n, VM_OBJ_BUF,
                                 "a map's buffer");
}

/* m's buffer *slot becomes b: a reference store into m (gc.h). */
static void swap_buffer(kiln_vm *vm, vm_map *m, vm_buffer **slot, vm_buffer *b)
{
    *slot = b;
    gc_barrier(&vm->heap, &m->obj, &b->obj);
}

static void index_insert(vm_map *m, uint64_t h, uint32_t e)
{
    uint32_t mask = m->nslots - 1;
    uint32_t i = (uint32_t)h & mask;
    while (m->index->items[i].u != 0)
        i = (i + 1) & mask;
    m->index->items[i].u = (uint64_t)e + 1;
}

/* New buffers of `cap` entries holding the live entries in order. */
static bool rebuild(kiln_vm *vm, vm_map *m, uint32_t cap)
{
    uint32_t nslots = 1;
    while (nslots <= 2 * cap)
        nslots *= 2;
    /* the copy of each entry and the new index, charged as work */
    if (vm_charge(vm, ((uint64_t)m->used * 3 + nslots) * sizeof(vm_value) / VM_BYTES_PER_TICK))
        return false;
    vm_buffer *b[4];
    uint32_t sizes[4] = {cap, cap, cap, nslots};
    int made = 0; /* allocated and on the root stack */
    while (made < 4 && (b[made] = buffer(vm, sizes[made])) && vm_root_push(vm, b[made]))
        made++;
    vm_root_pop(vm, (size_t)made);
    if (made < 4)
        return false;
    uint32_t n = 0;
    for (uint32_t e = 0; e < m->used; e++) {
        if (m->hashes->items[e].u == VM_MAP_HOLE)
            continue;
        b[0]->items[n] = m->keys->items[e];
        b[1]->items[n] = m->vals->items[e];
        b[2]->items[n] = m->hashes->items[e];
        n++;
    }
    swap_buffer(vm, m, &m->keys, b[0]);
    swap_buffer(vm, m, &m->vals, b[1]);
    swap_buffer(vm, m, &m->hashes, b[2]);
    swap_buffer(vm, m, &m->index, b[3]);
    m->cap = cap;
    m->used = n;
    m->nslots = nslots;
    for (uint32_t e = 0; e < n; e++)
        index_insert(m, m->hashes->items[e].u, e);
    return true;
}

vm_map *vm_map_new(kiln_vm *vm, bool key_str, bool val_ref)
{
    vm_map *m = (vm_map *)vm_alloc(vm, sizeof(vm_map), VM_OBJ_MAP, "a map");
    if (!m || !vm_root_push(vm, m)) /* traceable with null buffers (gc.h invariant 5) */
        return NULL;
    m->key_str = key_str;
    m->val_ref = val_ref;
    bool ok = rebuild(vm, m, MIN_CAP);
    vm_root_pop(vm, 1);
    return ok ? m : NULL;
}

int64_t vm_map_find(kiln_vm *vm, vm_map *m, vm_value k)
{
    if (m->key_str && !k.s) {
        rt_raise(vm, RT_ERR_NULL, "map key is null");
        return -2;
    }
    uint64_t h = key_hash(m, k);
    uint32_t mask = m->nslots - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        uint64_t slot = m->index->items[i].u;
        if (slot == 0)
            return -1;
        uint32_t e = (uint32_t)(slot - 1);
        if (m->hashes->items[e].u == h && key_eq(m, m->keys->items[e], k))
            return e;
    }
}

bool vm_map_set(kiln_vm *vm, vm_map *m, vm_value k, vm_value v)
{
    int64_t e = vm_map_find(vm, m, k);
    if (e == -2)
        return false;
    if (e >= 0) {
        m->vals->items[e] = v;
        gc_barrier(&vm->heap, &m->obj, m->val_ref ? v.p : NULL);
        return true;
    }
    if (m->used == m->cap) { /* squeeze out holes; double when mostly live */
        uint32_t cap = m->count * 2 > MIN_CAP ? m->count * 2 : MIN_CAP;
        if (m->count >= UINT32_MAX / 4) {
            rt_raise(vm, RT_ERR_OOM, "map too large");
            return false;
        }
        if (!rebuild(vm, m, cap))
            return false;
    }
    uint32_t n = m->used++;
    uint64_t h = key_hash(m, k);
    m->keys->items[n] = k;
    gc_barrier(&vm->heap, &m->obj, m->key_str ? k.p : NULL);
    m->vals->items[n] = v;
    gc_barrier(&vm->heap, &m->obj, m->val_ref ? v.p : NULL);
    m->hashes->items[n].u = h;
    m->count++;
    index_insert(m, h, n);
    return true;
}

bool vm_map_remove(kiln_vm *vm, vm_map *m, vm_value k)
{
    int64_t e = vm_map_find(vm, m, k);
    if (e < 0)
        return e != -2;
    m->hashes->items[e].u = VM_MAP_HOLE;
    m->keys->items[e].u = 0; /* let the collector have them */
    m->vals->items[e].u = 0;
    m->count--;
    return true;
}
