/*
 * gc.c — allocation over the VM's own heap. See gc.h for the algorithm.
 */
#include "gc.h"

#include <stdlib.h>
#include <string.h>

#ifndef KILN_GC_MALLOC
#include <mimalloc.h>
#endif

bool gc_init(gc_heap *h, size_t limit)
{
    memset(h, 0, sizeof *h);
    h->limit = limit;
#ifndef KILN_GC_MALLOC
    h->mh = mi_heap_new();
    if (!h->mh)
        return false;
#endif
    return true;
}

void gc_destroy(gc_heap *h)
{
#ifdef KILN_GC_MALLOC
    gc_obj *o = h->all;
    while (o) {
        gc_obj *next = o->next;
        free(o);
        o = next;
    }
#else
    if (h->mh)
        mi_heap_destroy(h->mh);
#endif
    memset(h, 0, sizeof *h);
}

gc_obj *gc_alloc(gc_heap *h, size_t size, uint32_t kind)
{
    if (h->limit && (size > h->limit || h->bytes > h->limit - size))
        return NULL;
#ifdef KILN_GC_MALLOC
    gc_obj *o = calloc(1, size);
    if (!o)
        return NULL;
    o->next = h->all;
    h->all = o;
#else
    gc_obj *o = mi_heap_zalloc(h->mh, size);
    if (!o)
        return NULL;
#endif
    h->bytes += size;
    o->kind = kind;
    return o;
}
