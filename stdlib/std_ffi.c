/*
 * std_ffi.c — the ffi module and the Buffer methods: memory a program
 * shares with C safely. A Buffer is bytes in the GC heap; every read and
 * write is bounds-checked; it is passed to C wherever C takes a `ptr`.
 * Nothing here turns an int into an address: the only addresses a program
 * holds are those C gave it (ptr) and its own Buffers.
 *
 * Multi-byte values are read and written in the host's byte order, as C
 * on the same machine sees them.
 */
#include <string.h>

#include "../runtime/rt.h"
#include "std.h"

static vm_bytes *bytes_new(kiln_vm *vm, int64_t n)
{
    if (n < 0 || (uint64_t)n > VM_BYTES_MAX) {
        rt_raise(vm, RT_ERR_VALUE, "Buffer length %lld out of range (0 to %u)", (long long)n,
                 VM_BYTES_MAX);
        return NULL;
    }
    vm_bytes *b = (vm_bytes *)vm_alloc(vm, sizeof(vm_bytes) + (size_t)n, VM_OBJ_BYTES, "a Buffer");
    if (b)
        b->len = (uint32_t)n;
    return b;
}

/* ffi.buffer(n): n zero bytes. */
static int f_buffer(kiln_vm *vm, vm_value *a, vm_value *r)
{
    r->p = bytes_new(vm, a[0].i);
    return r->p ? 0 : -1;
}

/* ffi.buffer_of(s): the bytes of s and a NUL, so C can read it as a string. */
static int f_buffer_of(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = a[0].s;
    if (!s) {
        rt_raise(vm, RT_ERR_NULL, "ffi.buffer_of: the string is null");
        return -1;
    }
    vm_bytes *b = bytes_new(vm, (int64_t)s->len + 1);
    if (!b)
        return -1;
    memcpy(b->data, s->data, s->len); /* the last byte stays 0 */
    r->p = b;
    return 0;
}

/* The receiver, not null, and the `w` bytes at offset off inside it;
 * NULL after raising. */
static unsigned char *at(kiln_vm *vm, vm_value *a, int64_t off, uint64_t w, const char *what)
{
    vm_bytes *b = a[0].p;
    if (!b) {
        rt_raise(vm, RT_ERR_NULL, "Buffer.%s on null", what);
        return NULL;
    }
    if (off < 0 || (uint64_t)off + w > b->len) {
        rt_raise(vm, RT_ERR_INDEX,
                 "Buffer.%s: %llu byte%s at offset %lld out of range for length %u", what,
                 (unsigned long long)w, w == 1 ? "" : "s", (long long)off, b->len);
        return NULL;
    }
    return b->data + off;
}

static int b_len(kiln_vm *vm, vm_value *a, vm_value *r)
{
    if (!at(vm, a, 0, 0, "len"))
        return -1;
    r->i = ((vm_bytes *)a[0].p)->len;
    return 0;
}

/* get_T(off) and set_T(off, v) for each C integer width: set checks that v
 * fits T, as passing it to C would. */
#define INT_ACCESS(T, ctype, lo, hi) \
    static int b_get_##T(kiln_vm *vm, vm_value *a, vm_value *r) \
    { \
        unsigned char *p = at(vm, a, a[1].i, sizeof(ctype), "get_" #T); \
        if (!p) \
            return -1; \
        ctype v; \
        memcpy(&v, p, sizeof v); \
        r->i = (int64_t)v; \
        return 0; \
    } \
    static int b_set_##T(kiln_vm *vm, vm_value *a, vm_value *r) \
    { \
        (void)r; \
        unsigned char *p = at(vm, a, a[1].i, sizeof(ctype), "set_" #T); \
        if (!p) \
            return -1; \
        if (a[2].i < (lo) || a[2].i > (hi)) { \
            rt_raise(vm, RT_ERR_VALUE, "Buffer.set_" #T ": %lld is out of range", \
                     (long long)a[2].i); \
            return -1; \
        } \
        ctype v = (ctype)a[2].i; \
        memcpy(p, &v, sizeof v); \
        return 0; \
    }
INT_ACCESS(i8, int8_t, INT8_MIN, INT8_MAX)
INT_ACCESS(u8, uint8_t, 0, UINT8_MAX)
INT_ACCESS(i16, int16_t, INT16_MIN, INT16_MAX)
INT_ACCESS(u16, uint16_t, 0, UINT16_MAX)
INT_ACCESS(i32, int32_t, INT32_MIN, INT32_MAX)
INT_ACCESS(u32, uint32_t, 0, UINT32_MAX)
INT_ACCESS(i64, int64_t, INT64_MIN, INT64_MAX)
#undef INT_ACCESS

/* u64: a value past int's range cannot be read as an int. */
static int b_get_u64(kiln_vm *vm, vm_value *a, vm_value *r)
{
    unsigned char *p = at(vm, a, a[1].i, 8, "get_u64");
    if (!p)
        return -1;
    uint64_t v;
    memcpy(&v, p, 8);
    if (v > INT64_MAX) {
        rt_raise(vm, RT_ERR_VALUE, "Buffer.get_u64: %llu is out of int's range",
                 (unsigned long long)v);
        return -1;
    }
    r->i = (int64_t)v;
    return 0;
}
static int b_set_u64(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    unsigned char *p = at(vm, a, a[1].i, 8, "set_u64");
    if (!p)
        return -1;
    if (a[2].i < 0) {
        rt_raise(vm, RT_ERR_VALUE, "Buffer.set_u64: %lld is out of range", (long long)a[2].i);
        return -1;
    }
    uint64_t v = (uint64_t)a[2].i;
    memcpy(p, &v, 8);
    return 0;
}

/* get_f32/f64(off) and set_f32/f64(off, x): a set_f32 rounds to single
 * precision, as passing x to C's float would. */
#define FLOAT_ACCESS(T, ctype) \
    static int b_get_##T(kiln_vm *vm, vm_value *a, vm_value *r) \
    { \
        unsigned char *p = at(vm, a, a[1].i, sizeof(ctype), "get_" #T); \
        if (!p) \
            return -1; \
        ctype v; \
        memcpy(&v, p, sizeof v); \
        r->f = v; \
        return 0; \
    } \
    static int b_set_##T(kiln_vm *vm, vm_value *a, vm_value *r) \
    { \
        (void)r; \
        unsigned char *p = at(vm, a, a[1].i, sizeof(ctype), "set_" #T); \
        if (!p) \
            return -1; \
        ctype v = (ctype)a[2].f; \
        memcpy(p, &v, sizeof v); \
        return 0; \
    }
FLOAT_ACCESS(f32, float)
FLOAT_ACCESS(f64, double)
#undef FLOAT_ACCESS

/* b.str(off, n): a string of the n bytes at off. */
static int b_str(kiln_vm *vm, vm_value *a, vm_value *r)
{
    if (a[2].i < 0) {
        rt_raise(vm, RT_ERR_INDEX, "Buffer.str: negative length %lld", (long long)a[2].i);
        return -1;
    }
    unsigned char *p = at(vm, a, a[1].i, (uint64_t)a[2].i, "str");
    if (!p)
        return -1;
    r->s = vm_str_new(vm, (const char *)p, (size_t)a[2].i);
    return r->s ? 0 : -1;
}

/* b.cstr(off): the bytes from off up to the first NUL (or the end). */
static int b_cstr(kiln_vm *vm, vm_value *a, vm_value *r)
{
    unsigned char *p = at(vm, a, a[1].i, 0, "cstr");
    if (!p)
        return -1;
    size_t room = ((vm_bytes *)a[0].p)->len - (size_t)a[1].i;
    const unsigned char *nul = memchr(p, 0, room);
    r->s = vm_str_new(vm, (const char *)p, nul ? (size_t)(nul - p) : room);
    return r->s ? 0 : -1;
}

/* b.write_str(off, s): the bytes of s at off (no NUL added). */
static int b_write_str(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    vm_str *s = a[2].s;
    if (!s) {
        rt_raise(vm, RT_ERR_NULL, "Buffer.write_str: the string is null");
        return -1;
    }
    unsigned char *p = at(vm, a, a[1].i, s->len, "write_str");
    if (!p)
        return -1;
    memcpy(p, s->data, s->len);
    return 0;
}

/* b.offset_of(p): where ptr p points inside b, for pointers C computed
 * from b's address (qsort's comparator gets such pointers). */
static int b_offset_of(kiln_vm *vm, vm_value *a, vm_value *r)
{
    if (!at(vm, a, 0, 0, "offset_of"))
        return -1;
    const vm_bytes *b = a[0].p;
    const gc_obj *o = a[1].p;
    if (!o) {
        rt_raise(vm, RT_ERR_NULL, "Buffer.offset_of: the ptr is null");
        return -1;
    }
    uintptr_t p = o->kind == VM_OBJ_BYTES ? (uintptr_t)((const vm_bytes *)o)->data
                                          : (uintptr_t)((const vm_ptr *)o)->addr;
    uintptr_t base = (uintptr_t)b->data;
    if (p < base || p - base > b->len) {
        rt_raise(vm, RT_ERR_VALUE, "Buffer.offset_of: the ptr does not point into this Buffer");
        return -1;
    }
    r->i = (int64_t)(p - base);
    return 0;
}

const vm_native std_ffi_natives[] = {
    STD_NATIVE("ffi.buffer", "i", 'y', f_buffer),
    STD_NATIVE("ffi.buffer_of", "s", 'y', f_buffer_of),
    STD_NATIVE("Buffer.len", "y", 'i', b_len),
    STD_NATIVE("Buffer.get_i8", "yi", 'i', b_get_i8),
    STD_NATIVE("Buffer.get_u8", "yi", 'i', b_get_u8),
    STD_NATIVE("Buffer.get_i16", "yi", 'i', b_get_i16),
    STD_NATIVE("Buffer.get_u16", "yi", 'i', b_get_u16),
    STD_NATIVE("Buffer.get_i32", "yi", 'i', b_get_i32),
    STD_NATIVE("Buffer.get_u32", "yi", 'i', b_get_u32),
    STD_NATIVE("Buffer.get_i64", "yi", 'i', b_get_i64),
    STD_NATIVE("Buffer.get_u64", "yi", 'i', b_get_u64),
    STD_NATIVE("Buffer.get_f32", "yi", 'f', b_get_f32),
    STD_NATIVE("Buffer.get_f64", "yi", 'f', b_get_f64),
    STD_NATIVE("Buffer.set_i8", "yii", 'v', b_set_i8),
    STD_NATIVE("Buffer.set_u8", "yii", 'v', b_set_u8),
    STD_NATIVE("Buffer.set_i16", "yii", 'v', b_set_i16),
    STD_NATIVE("Buffer.set_u16", "yii", 'v', b_set_u16),
    STD_NATIVE("Buffer.set_i32", "yii", 'v', b_set_i32),
    STD_NATIVE("Buffer.set_u32", "yii", 'v', b_set_u32),
    STD_NATIVE("Buffer.set_i64", "yii", 'v', b_set_i64),
    STD_NATIVE("Buffer.set_u64", "yii", 'v', b_set_u64),
    STD_NATIVE("Buffer.set_f32", "yif", 'v', b_set_f32),
    STD_NATIVE("Buffer.set_f64", "yif", 'v', b_set_f64),
    STD_NATIVE("Buffer.str", "yii", 's', b_str),
    STD_NATIVE("Buffer.cstr", "yi", 's', b_cstr),
    STD_NATIVE("Buffer.write_str", "yis", 'v', b_write_str),
    STD_NATIVE("Buffer.offset_of", "yp", 'i', b_offset_of),
};
const size_t std_ffi_count = sizeof std_ffi_natives / sizeof std_ffi_natives[0];
