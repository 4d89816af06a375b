/*
 * vm_values.c — structured values at the embedding boundary: the host
 * reads and builds the guest's arrays, maps and objects (class instances,
 * tuples, enum values) through their handles, and calls function values.
 *
 * Every accessor checks the handle (live, of this VM, of the right kind)
 * and every value stored (of the element's, the key's, the field's type),
 * as kiln_call checks arguments: the host can make no value the verifier
 * would not have let the guest make. Stores of references go through the
 * write barrier (gc.h). An allocation may collect: what the host passes in
 * is held by its handles, and what an accessor makes is rooted until its
 * handle exists. A failure the guest's code would have raised (no memory,
 * a null key) is the host's here: the guest's error state is left as it
 * was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/rt.h"
#include "../stdlib/std.h"
#include "api.h"

/* The object of handle v, if it is one of `kind` (VM_OBJ_*), with its
 * static type in *type; NULL after failing with `who`'s message. */
static void *object_of(kiln_vm *vm, kiln_value v, int kind, uint32_t *type, const char *who)
{
    const char *why;
    struct vm_handle *h = vm_handle_check(vm, v, &why);
    if (!h) {
        vm_api_fail(vm, "%s: %s", who, v.type == KILN_NULL ? "null" : why);
        return NULL;
    }
    const gc_obj *o = h->obj;
    if (o->kind != kind) {
        static const char *const KINDS[] = {"?",        "a string", "an object",    "an array",
                                            "a buffer", "a map",    "a function",   "a cell",
                                            "a ptr",    "a Buffer", "a host object"};
        enum { NKINDS = sizeof KINDS / sizeof KINDS[0] };
        vm_api_fail(vm, "%s: %s, not %s", who, o->kind < NKINDS ? KINDS[o->kind] : "?",
                    kind < NKINDS ? KINDS[kind] : "?");
        return NULL;
    }
    *type = h->type;
    return h->obj;
}

/* The guest's error state, kept across what may raise on the host's
 * behalf (an allocation: OutOfMemoryError; a null key: NullError). */
typedef struct guest_err {
    int kind;
    char msg[sizeof(((vm_ctx *)0)->err_msg)];
    /* Work the host does while no guest runs is its own: no fuel or time
     * is charged for it, and the last run's count (kiln_fuel_used) stays.
     * From a native, it is the run's. */
    bool idle;
    int64_t tick, tick_len;
    uint64_t ticks_used, fuel_left;
    double deadline;
} guest_err;

static void guest_save(kiln_vm *vm, guest_err *g)
{
    vm_ctx *X = vm->ctx;
    g->kind = X->err_kind;
    memcpy(g->msg, X->err_msg, sizeof g->msg);
    g->idle = !vm->running;
    if (g->idle) {
        g->tick = X->tick;
        g->tick_len = X->tick_len;
        g->ticks_used = vm->ticks_used;
        g->fuel_left = vm->fuel_left;
        g->deadline = vm->deadline;
        vm->fuel_left = UINT64_MAX;
        vm->deadline = 0;
        X->tick = X->tick_len = INT64_MAX / 4;
    }
}

/* The limits as guest_save found them; returns st. */
static kiln_status guest_done(kiln_vm *vm, const guest_err *g, kiln_status st)
{
    if (g->idle) {
        vm->ctx->tick = g->tick;
        vm->ctx->tick_len = g->tick_len;
        vm->ticks_used = g->ticks_used;
        vm->fuel_left = g->fuel_left;
        vm->deadline = g->deadline;
    }
    return st;
}

/* What the guest's code raised, as the host's failure: its message into
 * kiln_error (KILN_ERR_LIMIT for no memory or a limit, else KILN_ERR_API),
 * the guest's error state as it was. */
static kiln_status guest_failed(kiln_vm *vm, const char *who, const guest_err *g)
{
    vm_api_fail(vm, "%s: %s", who, vm->ctx->err_msg);
    int k = vm->ctx->err_kind;
    if (k == RT_LIMIT && !g->idle) /* fuel or time ran out in a native: the run stops */
        return KILN_ERR_LIMIT;
    vm->ctx->err_kind = g->kind;
    memcpy(vm->ctx->err_msg, g->msg, sizeof g->msg);
    return guest_done(vm, g, k == RT_ERR_OOM || k == RT_LIMIT ? KILN_ERR_LIMIT : KILN_ERR_API);
}

/* Value a (the host's) as a guest value of type t into *out, or fail. */
static bool value_in(kiln_vm *vm, kiln_value a, uint32_t t, vm_value *out, const char *who,
                     const char *what)
{
    if (vm_from_host(vm, a, t, out))
        return true;
    char have[128], want[128];
    vm_api_fail(vm, "%s: the %s is %s, expected %s", who, what,
                vm_value_type(vm, a, have, sizeof have),
                vm_type_text(&vm->img, t, want, sizeof want));
    return false;
}

/* Guest value v of type t for the host into *out, or fail. */
static kiln_status value_out(kiln_vm *vm, vm_value v, uint32_t t, kiln_value *out, const char *who)
{
    *out = vm_to_host(vm, v, t);
    if (VM_T_ISREF(t) && v.p && out->type == KILN_NULL)
        return vm_api_fail(vm, "%s: no memory for the handle", who);
    return KILN_OK;
}

int64_t vm_api_type(kiln_vm *vm, const char *text, const char *who)
{
    if (!vm->loaded) {
        vm_api_fail(vm, "%s: no program loaded", who);
        return -1;
    }
    if (!text) {
        vm_api_fail(vm, "%s: NULL type", who);
        return -1;
    }
    uint32_t a = 0, b = 0;
    int64_t found = vm_type_named(&vm->img, text, &a, &b);
    char ta[128], tb[128];
    if (found == -4)
        vm_api_fail(vm, "%s: out of memory reading the type '%.200s'", who, text);
    if (found == -1)
        vm_api_fail(vm, "%s: the program has no type '%.200s' (only types its code uses)", who,
                    text);
    if (found == -2)
        vm_api_fail(vm, "%s: '%.200s' may name two types of the program: write '%s' or '%s'", who,
                    text, vm_type_text(&vm->img, a, ta, sizeof ta),
                    vm_type_text(&vm->img, b, tb, sizeof tb));
    if (found == -3)
        vm_api_fail(vm,
                    "%s: the program has no type '%.200s' (a bare name is the root module's "
                    "class): write '%s'",
                    who, text, vm_type_text(&vm->img, a, ta, sizeof ta));
    return found < 0 ? (found == -2 ? -2 : -1) : found;
}

kiln_status kiln_type_of(kiln_vm *vm, kiln_value v, char *buf, size_t size)
{
    if (!vm)
        return KILN_ERR_API;
    if (!buf || !size)
        return vm_api_fail(vm, "kiln_type_of: NULL buf or size 0");
    buf[0] = 0;
    if (v.type != KILN_STR && v.type != KILN_REF) {
        snprintf(buf, size, "%s", vm_kind_name(v));
        return v.type <= KILN_REF ? KILN_OK : vm_api_fail(vm, "kiln_type_of: an invalid value");
    }
    const char *why;
    struct vm_handle *h = vm_handle_check(vm, v, &why);
    if (!h)
        return vm_api_fail(vm, "kiln_type_of: %s", why);
    const gc_obj *o = h->obj;
    uint32_t t = o->kind == VM_OBJ_INST || o->kind == VM_OBJ_HOST || o->kind == VM_OBJ_FIBER ||
                         o->kind == VM_OBJ_RES
                     ? ((const vm_inst *)o)->cls->def->type
                     : h->type;
    vm_buf b = {0};
    vm_type_write(&vm->img, t, &b);
    kiln_status st = b.oom ? vm_api_fail(vm, "kiln_type_of: out of memory") : KILN_OK;
    if (!b.oom)
        snprintf(buf, size, "%s", b.data);
    vm_buf_free(&b);
    return st;
}

/* ---- Arrays ---- */

kiln_status kiln_array_new(kiln_vm *vm, const char *type, kiln_value *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_array_new: NULL out");
    *out = kiln_null();
    int64_t t = vm_api_type(vm, type, "kiln_array_new");
    if (t < 0)
        return KILN_ERR_API;
    int elem = vm_elem_of(&vm->img, (uint32_t)t);
    if (elem < 0)
        return vm_api_fail(vm, "kiln_array_new: '%.200s' is not an array type", type);
    guest_err g;
    guest_save(vm, &g);
    vm_array *a = vm_array_new(vm, 0, 0, VM_T_ISREF((uint32_t)elem));
    if (!a)
        return guest_failed(vm, "kiln_array_new", &g);
    return guest_done(vm, &g,
                      value_out(vm, (vm_value){.p = a}, (uint32_t)t, out, "kiln_array_new"));
}

kiln_status kiln_array_len(kiln_vm *vm, kiln_value a, int64_t *len)
{
    if (!vm)
        return KILN_ERR_API;
    if (!len)
        return vm_api_fail(vm, "kiln_array_len: NULL len");
    uint32_t t;
    const vm_array *arr = object_of(vm, a, VM_OBJ_ARRAY, &t, "kiln_array_len");
    *len = arr ? arr->len : 0;
    return arr ? KILN_OK : KILN_ERR_API;
}

/* Array a and its element type, and index i within it; NULL after failing. */
static vm_array *array_at(kiln_vm *vm, kiln_value a, int64_t i, uint32_t *elem, const char *who)
{
    uint32_t t;
    vm_array *arr = object_of(vm, a, VM_OBJ_ARRAY, &t, who);
    if (!arr)
        return NULL;
    if (i < 0 || (uint64_t)i >= arr->len) {
        vm_api_fail(vm, "%s: index %lld out of range (length %u)", who, (long long)i, arr->len);
        return NULL;
    }
    *elem = (uint32_t)vm_elem_of(&vm->img, t);
    return arr;
}

kiln_status kiln_array_get(kiln_vm *vm, kiln_value a, int64_t i, kiln_value *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_array_get: NULL out");
    *out = kiln_null();
    uint32_t elem;
    vm_array *arr = array_at(vm, a, i, &elem, "kiln_array_get");
    if (!arr)
        return KILN_ERR_API;
    return value_out(vm, arr->buf->items[i], elem, out, "kiln_array_get");
}

kiln_status kiln_array_set(kiln_vm *vm, kiln_value a, int64_t i, kiln_value v)
{
    if (!vm)
        return KILN_ERR_API;
    uint32_t elem;
    vm_array *arr = array_at(vm, a, i, &elem, "kiln_array_set");
    vm_value x;
    if (!arr || !value_in(vm, v, elem, &x, "kiln_array_set", "element"))
        return KILN_ERR_API;
    arr->buf->items[i] = x;
    gc_barrier(&vm->heap, &arr->obj, arr->refs ? x.p : NULL);
    return KILN_OK;
}

kiln_status kiln_array_push(kiln_vm *vm, kiln_value a, kiln_value v)
{
    if (!vm)
        return KILN_ERR_API;
    uint32_t t;
    vm_array *arr = object_of(vm, a, VM_OBJ_ARRAY, &t, "kiln_array_push");
    vm_value x;
    if (!arr ||
        !value_in(vm, v, (uint32_t)vm_elem_of(&vm->img, t), &x, "kiln_array_push", "element"))
        return KILN_ERR_API;
    guest_err g;
    guest_save(vm, &g);
    if (!vm_array_push(vm, arr, x)) /* x is held by v's handle meanwhile */
        return guest_failed(vm, "kiln_array_push", &g);
    return guest_done(vm, &g, KILN_OK);
}

/* ---- Maps ---- */

/* How a map with keys of type k compares them (as NEWM decides). */
static int key_kind(const vm_image *im, uint32_t k)
{
    return k == VM_T_STR ? VM_MAP_STRS : vm_class_of(im, k) ? VM_MAP_OBJS : VM_MAP_WORDS;
}

kiln_status kiln_map_new(kiln_vm *vm, const char *type, kiln_value *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_map_new: NULL out");
    *out = kiln_null();
    int64_t t = vm_api_type(vm, type, "kiln_map_new");
    uint32_t k, v;
    if (t < 0)
        return KILN_ERR_API;
    if (!vm_map_types(&vm->img, (uint32_t)t, &k, &v))
        return vm_api_fail(vm, "kiln_map_new: '%.200s' is not a map type", type);
    guest_err g;
    guest_save(vm, &g);
    vm_map *m = vm_map_new(vm, key_kind(&vm->img, k), VM_T_ISREF(v));
    if (!m)
        return guest_failed(vm, "kiln_map_new", &g);
    return guest_done(vm, &g, value_out(vm, (vm_value){.p = m}, (uint32_t)t, out, "kiln_map_new"));
}

/* Map m with its key and value types; NULL after failing. */
static vm_map *map_of(kiln_vm *vm, kiln_value m, uint32_t *k, uint32_t *v, const char *who)
{
    uint32_t t;
    vm_map *map = object_of(vm, m, VM_OBJ_MAP, &t, who);
    if (map)
        vm_map_types(&vm->img, t, k, v);
    return map;
}

kiln_status kiln_map_len(kiln_vm *vm, kiln_value m, int64_t *len)
{
    if (!vm)
        return KILN_ERR_API;
    if (!len)
        return vm_api_fail(vm, "kiln_map_len: NULL len");
    uint32_t k, v;
    const vm_map *map = map_of(vm, m, &k, &v, "kiln_map_len");
    *len = map ? map->count : 0;
    return map ? KILN_OK : KILN_ERR_API;
}

kiln_status kiln_map_get(kiln_vm *vm, kiln_value m, kiln_value key, kiln_value *out, bool *found)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out || !found)
        return vm_api_fail(vm, "kiln_map_get: NULL out or found");
    *out = kiln_null();
    *found = false;
    uint32_t k, v;
    vm_map *map = map_of(vm, m, &k, &v, "kiln_map_get");
    vm_value kv;
    if (!map || !value_in(vm, key, k, &kv, "kiln_map_get", "key"))
        return KILN_ERR_API;
    guest_err g;
    guest_save(vm, &g);
    int64_t e = vm_map_find(vm, map, kv);
    if (e == -2)
        return guest_failed(vm, "kiln_map_get", &g); /* a null key */
    if (e < 0)
        return guest_done(vm, &g, KILN_OK);
    *found = true;
    return guest_done(vm, &g, value_out(vm, VM_MAPENT_VAL(map, e), v, out, "kiln_map_get"));
}

kiln_status kiln_map_set(kiln_vm *vm, kiln_value m, kiln_value key, kiln_value val)
{
    if (!vm)
        return KILN_ERR_API;
    uint32_t k, v;
    vm_map *map = map_of(vm, m, &k, &v, "kiln_map_set");
    vm_value kv, vv;
    if (!map || !value_in(vm, key, k, &kv, "kiln_map_set", "key") ||
        !value_in(vm, val, v, &vv, "kiln_map_set", "value"))
        return KILN_ERR_API;
    guest_err g;
    guest_save(vm, &g);
    if (!vm_map_set(vm, map, kv, vv)) /* key and value are held by their handles */
        return guest_failed(vm, "kiln_map_set", &g);
    return guest_done(vm, &g, KILN_OK);
}

kiln_status kiln_map_remove(kiln_vm *vm, kiln_value m, kiln_value key)
{
    if (!vm)
        return KILN_ERR_API;
    uint32_t k, v;
    vm_map *map = map_of(vm, m, &k, &v, "kiln_map_remove");
    vm_value kv;
    if (!map || !value_in(vm, key, k, &kv, "kiln_map_remove", "key"))
        return KILN_ERR_API;
    guest_err g;
    guest_save(vm, &g);
    if (!vm_map_remove(vm, map, kv))
        return guest_failed(vm, "kiln_map_remove", &g);
    return guest_done(vm, &g, KILN_OK);
}

int kiln_map_next(kiln_vm *vm, kiln_value m, uint64_t *pos, kiln_value *key, kiln_value *val)
{
    if (!vm || !pos || !key || !val)
        return -1;
    *key = *val = kiln_null();
    uint32_t k, v;
    vm_map *map = map_of(vm, m, &k, &v, "kiln_map_next");
    if (!map)
        return -1;
    for (; *pos < map->used; ++*pos) {
        uint64_t e = *pos;
        if (!VM_MAPENT_LIVE(map, e))
            continue;
        ++*pos;
        if (value_out(vm, VM_MAPENT_KEY(map, e), k, key, "kiln_map_next") != KILN_OK)
            return -1;
        if (value_out(vm, VM_MAPENT_VAL(map, e), v, val, "kiln_map_next") != KILN_OK) {
            kiln_release(vm, *key);
            *key = kiln_null();
            return -1;
        }
        return 1;
    }
    return 0;
}

/* ---- Objects: class instances, tuples, enum values ---- */

/* What the compiler makes of a class besides the program's own: a tuple
 * ("(int, str)"), an enum (its first field the variant's tag), an
 * interface's wrapper ("Shape$Circle"), a library class ("__Tuple2").
 * The host may read their fields but set none (a tuple is immutable, a
 * tag out of range is no variant) and make none. */
static bool compiler_made(const vm_image *im, const vm_class *c)
{
    const char *n = vm_image_str(im, c->name);
    return n[0] == '(' || strchr(n, '$') || (n[0] == '_' && n[1] == '_') || c->nvariants ||
           (c->nfields && !strcmp(vm_image_str(im, c->field_names[0]), "_tag"));
}

/* Does the program's code make instances of class ci (NEW), or the
 * runtime (an error class)? An interface, which nothing makes, no. */
static bool made_by_program(const kiln_vm *vm, uint32_t ci)
{
    const vm_image *im = &vm->img;
    for (int k = 0; k < 16; k++)
        if (vm->error_classes[k] && vm->error_classes[k]->index == ci)
            return true;
    for (uint32_t f = 0; f < im->nfuncs; f++) {
        const vm_func *fn = &im->funcs[f];
        for (uint32_t pc = 0; pc < fn->ncode; pc += VM_INS_WORDS(INS_OP(fn->code[pc])))
            if (INS_OP(fn->code[pc]) == OP_NEW && INS_Bx(fn->code[pc]) == ci)
                return true;
    }
    return false;
}

kiln_status kiln_object_new(kiln_vm *vm, const char *cls, kiln_value *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_object_new: NULL out");
    *out = kiln_null();
    int64_t t = vm_api_type(vm, cls, "kiln_object_new");
    if (t < 0)
        return KILN_ERR_API;
    const vm_class *c = vm_class_of(&vm->img, (uint32_t)t);
    if (!c)
        return vm_api_fail(vm, "kiln_object_new: '%.200s' is not a class", cls);
    uint32_t ci = (uint32_t)(c - vm->img.classes);
    if (compiler_made(&vm->img, c) || !made_by_program(vm, ci))
        return vm_api_fail(vm,
                           "kiln_object_new: '%.200s' is not a class the program makes "
                           "objects of (an interface, a tuple, an enum...)",
                           cls);
    guest_err g;
    guest_save(vm, &g);
    vm_inst *o = vm_inst_new(vm, &vm->classes[ci]);
    if (!o)
        return guest_failed(vm, "kiln_object_new", &g);
    return guest_done(vm, &g,
                      value_out(vm, (vm_value){.p = o}, (uint32_t)t, out, "kiln_object_new"));
}

kiln_status kiln_tuple_new(kiln_vm *vm, const char *type, const kiln_value *items, int n,
                           kiln_value *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_tuple_new: NULL out");
    *out = kiln_null();
    int64_t t = vm_api_type(vm, type, "kiln_tuple_new");
    if (t < 0)
        return KILN_ERR_API;
    const vm_class *c = vm_class_of(&vm->img, (uint32_t)t);
    if (!c || vm_image_str(&vm->img, c->name)[0] != '(' || c->nfields > 6) /* 2 to 6 */
        return vm_api_fail(vm, "kiln_tuple_new: '%.200s' is not a tuple type", type);
    if (n != c->nfields || (n && !items))
        return vm_api_fail(vm, "kiln_tuple_new: %.200s has %u values, got %d%s", type, c->nfields,
                           n, items ? "" : " (items NULL)");
    vm_value vals[6];
    for (int i = 0; i < n; i++)
        if (!value_in(vm, items[i], c->field_types[i], &vals[i], "kiln_tuple_new", "value"))
            return KILN_ERR_API;
    guest_err g;
    guest_save(vm, &g);
    vm_inst *o = vm_inst_new(vm, &vm->classes[c - vm->img.classes]); /* the values: handles */
    if (!o)
        return guest_failed(vm, "kiln_tuple_new", &g);
    memcpy(o->fields, vals, sizeof vals[0] * (size_t)n); /* initializing: no barrier */
    return guest_done(vm, &g,
                      value_out(vm, (vm_value){.p = o}, (uint32_t)t, out, "kiln_tuple_new"));
}

/* ---- Enum values ---- */

kiln_status kiln_enum_new(kiln_vm *vm, const char *type, const char *variant,
                          const kiln_value *payload, int n, kiln_value *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_enum_new: NULL out");
    *out = kiln_null();
    int64_t t = vm_api_type(vm, type, "kiln_enum_new");
    if (t < 0)
        return KILN_ERR_API;
    const vm_image *im = &vm->img;
    const vm_class *c = vm_class_of(im, (uint32_t)t);
    if (!c || !c->nvariants)
        return vm_api_fail(vm, "kiln_enum_new: '%.200s' is not an enum type", type);
    uint32_t j = 0;
    while (variant && j < c->nvariants && strcmp(vm_image_str(im, c->variants[j].name), variant))
        j++;
    if (!variant || j == c->nvariants) {
        vm_buf b = {0};
        for (uint32_t k = 0; k < c->nvariants && b.len < 200; k++)
            vm_buf_printf(&b, "%s%s", k ? ", " : "", vm_image_str(im, c->variants[k].name));
        vm_api_fail(vm, "kiln_enum_new: %.200s has no variant '%.100s' (it has %.250s)", type,
                    variant ? variant : "(null)", b.data && !b.oom ? b.data : "...");
        vm_buf_free(&b);
        return KILN_ERR_API;
    }
    const vm_variant *v = &c->variants[j];
    if (n != v->n || (n && !payload))
        return vm_api_fail(vm, "kiln_enum_new: %.200s.%.100s has %u payload values, got %d%s", type,
                           variant, v->n, n, payload ? "" : " (payload NULL)");
    vm_value x;
    for (int i = 0; i < n; i++) /* all checked before anything is made */
        if (!value_in(vm, payload[i], c->field_types[v->first + i], &x, "kiln_enum_new",
                      "payload value"))
            return KILN_ERR_API;
    guest_err g;
    guest_save(vm, &g);
    vm_inst *o = vm_inst_new(vm, &vm->classes[c - im->classes]); /* the payload: handles */
    if (!o)
        return guest_failed(vm, "kiln_enum_new", &g);
    o->fields[0].i = j;
    for (int i = 0; i < n; i++) /* initializing: no barrier (gc.h) */
        vm_from_host(vm, payload[i], c->field_types[v->first + i], &o->fields[v->first + i]);
    return guest_done(vm, &g, value_out(vm, (vm_value){.p = o}, (uint32_t)t, out, "kiln_enum_new"));
}

/* Enum value e and its variant; NULL after failing. */
static vm_inst *variant_of(kiln_vm *vm, kiln_value e, const vm_variant **var, const char *who)
{
    uint32_t t;
    vm_inst *obj = object_of(vm, e, VM_OBJ_INST, &t, who);
    if (!obj)
        return NULL;
    const vm_class *c = obj->cls->def;
    if (!c->nvariants) {
        char cn[128];
        vm_api_fail(vm, "%s: a %s, not an enum value", who,
                    vm_type_text(&vm->img, c->type, cn, sizeof cn));
        return NULL;
    }
    int64_t tag = obj->fields[0].i; /* an int (vm_verify): in range unless the code wrote it */
    if (tag < 0 || tag >= c->nvariants) {
        vm_api_fail(vm, "%s: a %s whose tag %lld is no variant", who,
                    vm_image_str(&vm->img, c->name), (long long)tag);
        return NULL;
    }
    *var = &c->variants[tag];
    return obj;
}

kiln_status kiln_enum_variant(kiln_vm *vm, kiln_value e, const char **name, int *npayload)
{
    if (!vm)
        return KILN_ERR_API;
    if (!name)
        return vm_api_fail(vm, "kiln_enum_variant: NULL name");
    *name = NULL;
    if (npayload)
        *npayload = 0;
    const vm_variant *v;
    if (!variant_of(vm, e, &v, "kiln_enum_variant"))
        return KILN_ERR_API;
    *name = vm_image_str(&vm->img, v->name);
    if (npayload)
        *npayload = v->n;
    return KILN_OK;
}

kiln_status kiln_enum_payload(kiln_vm *vm, kiln_value e, int i, kiln_value *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_enum_payload: NULL out");
    *out = kiln_null();
    const vm_variant *v;
    vm_inst *obj = variant_of(vm, e, &v, "kiln_enum_payload");
    if (!obj)
        return KILN_ERR_API;
    if (i < 0 || i >= v->n)
        return vm_api_fail(vm, "kiln_enum_payload: index %d out of range (%s has %u)", i,
                           vm_image_str(&vm->img, v->name), v->n);
    uint32_t f = v->first + (uint32_t)i;
    return value_out(vm, obj->fields[f], obj->cls->def->field_types[f], out, "kiln_enum_payload");
}

/* Field `name` of object o ("x"; a tuple's "0", "1"...): its index and
 * type; NULL after failing. */
static vm_inst *field_of(kiln_vm *vm, kiln_value o, const char *name, uint32_t *index,
                         uint32_t *type, const char *who)
{
    uint32_t t;
    vm_inst *obj = object_of(vm, o, VM_OBJ_INST, &t, who);
    if (!obj)
        return NULL;
    if (!name) {
        vm_api_fail(vm, "%s: NULL field name", who);
        return NULL;
    }
    const vm_image *im = &vm->img;
    const vm_class *c = obj->cls->def;
    bool digits = name[0] >= '0' && name[0] <= '9';
    for (uint32_t i = 0; i < c->nfields; i++) {
        const char *f = vm_image_str(im, c->field_names[i]);
        if (!strcmp(f, name) || (digits && f[0] == '_' && !strcmp(f + 1, name))) {
            *index = i;
            *type = c->field_types[i];
            return obj;
        }
    }
    char cn[128];
    vm_api_fail(vm, "%s: %s has no field '%.100s'", who, vm_type_text(im, c->type, cn, sizeof cn),
                name);
    return NULL;
}

kiln_status kiln_get_field(kiln_vm *vm, kiln_value o, const char *name, kiln_value *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_get_field: NULL out");
    *out = kiln_null();
    uint32_t i, t;
    vm_inst *obj = field_of(vm, o, name, &i, &t, "kiln_get_field");
    return obj ? value_out(vm, obj->fields[i], t, out, "kiln_get_field") : KILN_ERR_API;
}

kiln_status kiln_set_field(kiln_vm *vm, kiln_value o, const char *name, kiln_value v)
{
    if (!vm)
        return KILN_ERR_API;
    uint32_t i, t;
    vm_inst *obj = field_of(vm, o, name, &i, &t, "kiln_set_field");
    vm_value x;
    if (!obj || !value_in(vm, v, t, &x, "kiln_set_field", "value"))
        return KILN_ERR_API;
    if (compiler_made(&vm->img, obj->cls->def))
        return vm_api_fail(vm, "kiln_set_field: a %s is not changed field by field",
                           vm_image_str(&vm->img, obj->cls->def->name));
    obj->fields[i] = x;
    gc_barrier(&vm->heap, &obj->obj, VM_T_ISREF(t) ? x.p : NULL);
    return KILN_OK;
}

/* ---- Function values ---- */

kiln_status kiln_call_value(kiln_vm *vm, kiln_value fn, const kiln_value *args, int nargs,
                            kiln_value *result)
{
    if (!vm)
        return KILN_ERR_API;
    if (result)
        *result = kiln_null();
    uint32_t t;
    const vm_closure *c = object_of(vm, fn, VM_OBJ_FN, &t, "kiln_call_value");
    if (!c)
        return KILN_ERR_API;
    return vm_call_closure(vm, c, args, nargs, result);
}

/* ---- Host objects ---- */

/* Is `name` a class, enum or type the language has already (Error,
 * Option, StringBuilder, HostObject, Buffer...)? */
static bool builtin_name(const char *name)
{
    if (!strcmp(name, "Buffer"))
        return true;
    static const char *const KINDS[] = {"class ", "enum "};
    size_t len = strlen(name);
    for (int k = 0; k < 2; k++)
        for (const char *p = std_prelude; (p = strstr(p, KINDS[k])); p++) {
            const char *n = p + strlen(KINDS[k]);
            if ((p == std_prelude || p[-1] == '\n') && !strncmp(n, name, len) &&
                !((n[len] >= 'a' && n[len] <= 'z') || (n[len] >= 'A' && n[len] <= 'Z') ||
                  (n[len] >= '0' && n[len] <= '9') || n[len] == '_'))
                return true;
        }
    return false;
}

static bool is_name(const char *s)
{
    if (!s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

kiln_status kiln_define_type(kiln_vm *vm, const char *name,
                             void (*finalize)(void *userdata, void *ptr), void *userdata,
                             kiln_htype *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_define_type: NULL out");
    *out = (kiln_htype){0};
    if (vm->loaded || vm->image_read || vm->loading)
        return vm_api_fail(vm, "kiln_define_type: define types before loading the program");
    if (!is_name(name) || strlen(name) > 64 || name[0] < 'A' || name[0] > 'Z')
        return vm_api_fail(vm,
                           "kiln_define_type: '%.100s' is not a class name (a capital, then "
                           "letters, digits, _)",
                           name ? name : "(null)");
    if (builtin_name(name))
        return vm_api_fail(vm, "kiln_define_type: %s is a built-in class of the language", name);
    for (uint32_t i = 0; i < vm->nhtypes; i++)
        if (!strcmp(vm->htypes[i].name, name))
            return vm_api_fail(vm, "kiln_define_type: %s is already defined", name);
    if (vm->nhtypes == vm->htypes_cap) {
        uint32_t cap = vm->htypes_cap ? vm->htypes_cap * 2 : 4;
        struct vm_htype *t = realloc(vm->htypes, cap * sizeof *t);
        if (!t)
            return vm_api_fail(vm, "kiln_define_type: out of memory");
        vm->htypes = t;
        vm->htypes_cap = cap;
    }
    /* The prelude, then a class of each type. */
    const char *base = vm->host_prelude ? vm->host_prelude : std_prelude;
    size_t blen = strlen(base), need = blen + strlen(name) + 32;
    char *prelude = malloc(need), *copy = strdup(name);
    if (!prelude || !copy) {
        free(prelude);
        free(copy);
        return vm_api_fail(vm, "kiln_define_type: out of memory");
    }
    snprintf(prelude, need, "%sclass %s : HostObject {}\n", base, name);
    free(vm->host_prelude);
    vm->host_prelude = prelude;
    vm->htypes[vm->nhtypes] = (struct vm_htype){copy, finalize, userdata, -1};
    *out = (kiln_htype){(uint32_t)vm->handle_tag << 16 | ++vm->nhtypes}; /* this VM's */
    return KILN_OK;
}

bool vm_htypes_link(kiln_vm *vm)
{
    const vm_image *im = &vm->img;
    for (uint32_t t = 0; t < vm->nhtypes; t++) {
        struct vm_htype *h = &vm->htypes[t];
        h->cls = -1;
        for (uint32_t i = 0; i < im->nclasses && h->cls < 0; i++) {
            const vm_class *c = &im->classes[i];
            if (strcmp(vm_image_str(im, c->name), h->name))
                continue;
            const vm_class *s = c->super >= 0 ? &im->classes[c->super] : NULL;
            if (c->nfields || !s || s->super >= 0 || s->nfields ||
                strcmp(vm_image_str(im, s->name), "HostObject")) {
                snprintf(vm->error, sizeof vm->error,
                         "invalid image: class %s is not the host type %s (a HostObject "
                         "without fields)",
                         h->name, h->name);
                return false;
            }
            h->cls = (int32_t)i;
        }
    }
    return true;
}

/* Host type `type` of vm, or NULL after failing. */
static struct vm_htype *htype_of(kiln_vm *vm, kiln_htype type, const char *who)
{
    uint32_t i = type.id & 0xffff;
    if ((type.id >> 16) != vm->handle_tag || i == 0 || i > vm->nhtypes) {
        vm_api_fail(vm, "%s: not a host type of this VM (kiln_define_type)", who);
        return NULL;
    }
    return &vm->htypes[i - 1];
}

kiln_status kiln_host_new(kiln_vm *vm, kiln_htype type, void *ptr, kiln_value *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_host_new: NULL out");
    *out = kiln_null();
    struct vm_htype *t = htype_of(vm, type, "kiln_host_new");
    if (!t)
        return KILN_ERR_API;
    if (!vm->loaded || t->cls < 0)
        return vm_api_fail(vm, "kiln_host_new: the program does not use type %s", t->name);
    guest_err g;
    guest_save(vm, &g);
    vm_hostobj *o = (vm_hostobj *)vm_alloc(vm, sizeof *o, VM_OBJ_HOST, "a host object");
    if (!o)
        return guest_failed(vm, "kiln_host_new", &g);
    o->cls = &vm->classes[t->cls];
    o->ptr = ptr;
    o->type = (uint32_t)(t - vm->htypes);
    return guest_done(
        vm, &g,
        value_out(vm, (vm_value){.p = o}, vm->img.classes[t->cls].type, out, "kiln_host_new"));
}

kiln_status kiln_host_ptr(kiln_vm *vm, kiln_value v, kiln_htype type, void **ptr)
{
    if (!vm)
        return KILN_ERR_API;
    if (!ptr)
        return vm_api_fail(vm, "kiln_host_ptr: NULL ptr");
    *ptr = NULL;
    struct vm_htype *t = htype_of(vm, type, "kiln_host_ptr");
    uint32_t st;
    const vm_hostobj *o = t ? object_of(vm, v, VM_OBJ_HOST, &st, "kiln_host_ptr") : NULL;
    if (!o)
        return KILN_ERR_API;
    if (o->type != (uint32_t)(t - vm->htypes))
        return vm_api_fail(vm, "kiln_host_ptr: a %s, not a %s", vm->htypes[o->type].name, t->name);
    *ptr = o->ptr;
    return KILN_OK;
}
