/*
 * std_core.c — the built-in functions (print, str, parse_int, ...) and the
 * str methods that are not single instructions.
 *
 * Each native gets its arguments already type-checked by the verifier, so
 * it only checks what types cannot say: null strings, ranges, text syntax.
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/rt.h"
#include "std.h"

#define arg_str std_arg_str

vm_str *std_arg_str(kiln_vm *vm, vm_value *args, int i, const char *fn)
{
    vm_str *s = args[i].s;
    if (!s)
        rt_raise(vm, RT_ERR_NULL, "%s: argument %d is null", fn, i + 1);
    return s;
}

static int ret_str(kiln_vm *vm, vm_value *result, const char *p, size_t n)
{
    if (vm_charge(vm, n / VM_BYTES_PER_TICK))
        return -1;
    result->s = vm_str_new(vm, p, n);
    return result->s ? 0 : -1;
}

/* ---- print and str ---- */

void std_print(kiln_vm *vm, int stream, char type, vm_value v)
{
    char buf[32];
    const char *p = buf;
    size_t n;
    switch (type) {
    case 'i': n = rt_format_int(v.i, buf); break;
    case 'f': n = rt_format_float(v.f, buf); break;
    case 'b':
        p = v.i ? "true" : "false";
        n = v.i ? 4 : 5;
        break;
    default: p = v.s ? v.s->data : "null"; n = v.s ? v.s->len : 4;
    }
    vm_write(vm, stream, p, n);
    vm_write(vm, stream, "\n", 1);
}

static int print_i(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, std_print(vm, 1, 'i', a[0]), 0;
}
static int print_f(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, std_print(vm, 1, 'f', a[0]), 0;
}
static int print_b(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, std_print(vm, 1, 'b', a[0]), 0;
}
static int print_s(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, std_print(vm, 1, 's', a[0]), 0;
}

static int str_i(kiln_vm *vm, vm_value *a, vm_value *r)
{
    char b[24];
    return ret_str(vm, r, b, rt_format_int(a[0].i, b));
}
static int str_f(kiln_vm *vm, vm_value *a, vm_value *r)
{
    char b[32];
    return ret_str(vm, r, b, rt_format_float(a[0].f, b));
}
static int str_b(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return ret_str(vm, r, a[0].i ? "true" : "false", a[0].i ? 4 : 5);
}
static int str_s(kiln_vm *vm, vm_value *a, vm_value *r)
{
    if (a[0].s) {
        r->s = a[0].s;
        return 0;
    }
    return ret_str(vm, r, "null", 4);
}

/* The name of an error's class, for Error.to_str ("Name: message"): one
 * method every error class shares, not one made for each. */
static int error_name(kiln_vm *vm, vm_value *a, vm_value *r)
{
    const vm_inst *e = a[0].p;
    if (!e) {
        rt_raise(vm, RT_ERR_NULL, "the error is null");
        return -1;
    }
    const char *name = vm_image_str(&vm->img, e->cls->def->name);
    return ret_str(vm, r, name, strlen(name));
}

/* ---- parsing ---- */

static void raise_bad_text(kiln_vm *vm, const char *what, const vm_str *s)
{
    rt_raise(vm, RT_ERR_VALUE, "invalid %s: \"%.*s\"%s", what, s->len > 60 ? 60 : (int)s->len,
             s->data, s->len > 60 ? "..." : "");
}

static int parse_int(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "parse_int");
    if (!s)
        return -1;
    const char *p = s->data, *end = s->data + s->len;
    bool neg = false;
    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    if (p == end) {
        raise_bad_text(vm, "integer", s);
        return -1;
    }
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || v > (limit - (uint64_t)(*p - '0')) / 10) {
            raise_bad_text(vm, "integer", s);
            return -1;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    r->i = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int parse_float(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "parse_float");
    if (!s)
        return -1;
    char *end = NULL;
    /* strtod skips leading space and reads hex floats; the language's float
     * syntax has neither, so both are rejected. */
    bool bad = s->len == 0 || isspace((unsigned char)s->data[0]) || memchr(s->data, 'x', s->len) ||
               memchr(s->data, 'X', s->len);
    double d = bad ? 0 : strtod(s->data, &end);
    if (bad || end != s->data + s->len) {
        raise_bad_text(vm, "float", s);
        return -1;
    }
    r->f = d;
    return 0;
}

static int chr_i(kiln_vm *vm, vm_value *a, vm_value *r)
{
    if (a[0].i < 0 || a[0].i > 255) {
        rt_raise(vm, RT_ERR_VALUE, "chr: %lld is not a byte (0..255)", (long long)a[0].i);
        return -1;
    }
    char c = (char)a[0].i;
    return ret_str(vm, r, &c, 1);
}

/* ---- str methods ---- */

static int s_slice(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "str.slice");
    if (!s)
        return -1;
    int64_t from = a[1].i, to = a[2].i;
    if (from < 0 || to < from || to > (int64_t)s->len) {
        rt_raise(vm, RT_ERR_INDEX, "slice %lld..%lld out of range for length %u", (long long)from,
                 (long long)to, s->len);
        return -1;
    }
    return ret_str(vm, r, s->data + from, (size_t)(to - from));
}

static int s_find(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "str.find"), *t = s ? arg_str(vm, a, 1, "str.find") : NULL;
    if (!t)
        return -1;
    /* memmem is linear (glibc's two-way search): a naive search of a
     * 2 MB needle in 4 MB ran for minutes past --timeout */
    if (vm_charge(vm, ((uint64_t)s->len + t->len) / VM_BYTES_PER_TICK))
        return -1;
    const char *at = memmem(s->data, s->len, t->data, t->len);
    r->i = at ? at - s->data : -1;
    return 0;
}

static int s_trim(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "str.trim");
    if (!s)
        return -1;
    uint32_t b = 0, e = s->len;
    while (b < e && isspace((unsigned char)s->data[b]))
        b++;
    while (e > b && isspace((unsigned char)s->data[e - 1]))
        e--;
    if (b == 0 && e == s->len) {
        r->s = s;
        return 0;
    }
    return ret_str(vm, r, s->data + b, e - b);
}

static int s_starts_with(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "str.starts_with");
    vm_str *t = s ? arg_str(vm, a, 1, "str.starts_with") : NULL;
    if (!t)
        return -1;
    r->i = t->len <= s->len && memcmp(s->data, t->data, t->len) == 0;
    return 0;
}

static int s_ends_with(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "str.ends_with");
    vm_str *t = s ? arg_str(vm, a, 1, "str.ends_with") : NULL;
    if (!t)
        return -1;
    r->i = t->len <= s->len && memcmp(s->data + s->len - t->len, t->data, t->len) == 0;
    return 0;
}

static int map_case(kiln_vm *vm, vm_value *a, vm_value *r, int (*conv)(int), const char *fn)
{
    vm_str *s = arg_str(vm, a, 0, fn);
    if (!s)
        return -1;
    vm_str *o = vm_str_new(vm, s->data, s->len); /* charged for its size */
    if (!o)
        return -1;
    bool up = conv == toupper;
    enum { CHUNK = 1 << 20 }; /* an interrupt is looked at every MB */
    for (uint32_t at = 0; at < o->len; at += CHUNK) {
        if (at && vm_limit_reached(vm) && vm_poll(vm))
            return -1;
        uint32_t end = o->len - at < CHUNK ? o->len : at + CHUNK;
        for (uint32_t i = at; i < end; i++) { /* ASCII letters only, as the C locale's */
            unsigned char c = (unsigned char)o->data[i];
            if ((unsigned)(c - (up ? 'a' : 'A')) < 26u)
                o->data[i] = (char)(c ^ 0x20);
        }
    }
    r->s = o;
    return 0;
}
static int s_to_upper(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return map_case(vm, a, r, toupper, "str.to_upper");
}
static int s_to_lower(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return map_case(vm, a, r, tolower, "str.to_lower");
}

/* ---- split and join ---- */

bool std_push_str(kiln_vm *vm, vm_array *out, const char *p, size_t n)
{
    /* A split into millions of pieces takes long: every 16,384 pieces an
     * interrupt or the deadline is looked at (the work was charged). */
    if ((out->len & 0x3fff) == 0x3fff && vm_poll_after_native(vm))
        return false;
    vm_value part = {.s = vm_str_new(vm, p, n)};
    if (!part.s || !vm_root_push(vm, part.s))
        return false;
    bool ok = vm_array_push(vm, out, part);
    vm_root_pop(vm, 1);
    return ok;
}

static int s_split(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "str.split"), *sep = s ? arg_str(vm, a, 1, "str.split") : NULL;
    if (!sep)
        return -1;
    if (sep->len == 0) {
        rt_raise(vm, RT_ERR_VALUE, "split: empty separator");
        return -1;
    }
    vm_array *out = vm_array_new(vm, 0, 4, true);
    if (!out || !vm_root_push(vm, out))
        return -1;
    if (vm_charge(vm, ((uint64_t)s->len + sep->len) / VM_BYTES_PER_TICK))
        goto fail;
    uint32_t from = 0;
    for (const char *at; (at = memmem(s->data + from, s->len - from, sep->data, sep->len));) {
        uint32_t i = (uint32_t)(at - s->data);
        if (!std_push_str(vm, out, s->data + from, i - from))
            goto fail;
        from = i + sep->len;
    }
    if (!std_push_str(vm, out, s->data + from, s->len - from))
        goto fail;
    vm_root_pop(vm, 1);
    r->p = out;
    return 0;
fail:
    vm_root_pop(vm, 1);
    return -1;
}

static int s_join(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *sep = arg_str(vm, a, 0, "str.join");
    vm_array *parts = a[1].p;
    if (!sep)
        return -1;
    if (!parts) {
        rt_raise(vm, RT_ERR_NULL, "join: the array is null");
        return -1;
    }
    size_t total = 0;
    for (uint32_t i = 0; i < parts->len; i++) {
        vm_str *p = parts->buf->items[i].s;
        if (!p) {
            rt_raise(vm, RT_ERR_NULL, "join: element %u is null", i);
            return -1;
        }
        total += (size_t)p->len + (i ? sep->len : 0); /* two 2 GiB lengths overflow 32 bits */
    }
    vm_str *out = vm_str_new(vm, NULL, total);
    if (!out)
        return -1;
    char *w = out->data;
    size_t copied = 0; /* since the last charge */
    for (uint32_t i = 0; i < parts->len; i++) {
        vm_str *p = parts->buf->items[i].s;
        if (i) {
            memcpy(w, sep->data, sep->len);
            w += sep->len;
        }
        memcpy(w, p->data, p->len);
        w += p->len;
        copied += (size_t)p->len + sep->len + sizeof(vm_value);
        if (copied >= (1u << 20)) { /* a piece: well under a millisecond */
            if (vm_charge(vm, copied / VM_BYTES_PER_TICK))
                return -1;
            copied = 0;
        }
    }
    if (vm_charge(vm, copied / VM_BYTES_PER_TICK))
        return -1;
    r->s = out;
    return 0;
}

static const char *const AN_ERROR[] = {"Error", NULL};

const vm_native std_core_natives[] = {
    STD_TYPED("__error_name", "T", 's', AN_ERROR, error_name),
    STD_NATIVE("print", "i", 'v', print_i),
    STD_NATIVE("print", "f", 'v', print_f),
    STD_NATIVE("print", "b", 'v', print_b),
    STD_NATIVE("print", "s", 'v', print_s),
    STD_NATIVE("str", "i", 's', str_i),
    STD_NATIVE("str", "f", 's', str_f),
    STD_NATIVE("str", "b", 's', str_b),
    STD_NATIVE("str", "s", 's', str_s),
    STD_NATIVE("parse_int", "s", 'i', parse_int),
    STD_NATIVE("parse_float", "s", 'f', parse_float),
    STD_NATIVE("chr", "i", 's', chr_i),
    STD_NATIVE("str.slice", "sii", 's', s_slice),
    STD_NATIVE("str.find", "ss", 'i', s_find),
    STD_NATIVE("str.trim", "s", 's', s_trim),
    STD_NATIVE("str.starts_with", "ss", 'b', s_starts_with),
    STD_NATIVE("str.ends_with", "ss", 'b', s_ends_with),
    STD_NATIVE("str.to_upper", "s", 's', s_to_upper),
    STD_NATIVE("str.to_lower", "s", 's', s_to_lower),
    STD_NATIVE("str.split", "ss", 'S', s_split),
    STD_NATIVE("str.join", "sS", 's', s_join),
};
const size_t std_core_count = sizeof std_core_natives / sizeof std_core_natives[0];

/* ---- The tables together ---- */

static const struct {
    const vm_native *natives;
    const size_t *count;
} TABLES[] = {{std_core_natives, &std_core_count},     {std_math_natives, &std_math_count},
              {std_os_natives, &std_os_count},         {std_io_natives, &std_io_count},
              {std_ffi_natives, &std_ffi_count},       {std_text_natives, &std_text_count},
              {std_random_natives, &std_random_count}, {std_fiber_natives, &std_fiber_count},
              {std_time_natives, &std_time_count},     {std_net_natives, &std_net_count},
              {std_fs_natives, &std_fs_count},         {std_process_natives, &std_process_count}};

size_t std_natives_count(void)
{
    size_t n = 0;
    for (size_t t = 0; t < sizeof TABLES / sizeof TABLES[0]; t++)
        n += *TABLES[t].count;
    return n;
}

const vm_native *std_native(size_t i)
{
    for (size_t t = 0; t < sizeof TABLES / sizeof TABLES[0]; t++) {
        if (i < *TABLES[t].count)
            return &TABLES[t].natives[i];
        i -= *TABLES[t].count;
    }
    return NULL;
}

bool std_module_exists(const char *name, uint32_t len)
{
    static const char *const MODULES[] = {"math", "os",  "io", "ffi",    "random",
                                          "time", "net", "fs", "process"};
    for (size_t i = 0; i < sizeof MODULES / sizeof MODULES[0]; i++)
        if (strlen(MODULES[i]) == len && memcmp(MODULES[i], name, len) == 0)
            return true;
    return false;
}

char std_module_const(const char *module, uint32_t mlen, const char *name, uint32_t len,
                      double *value, int64_t *ivalue)
{
    static const struct {
        const char *module, *name;
        char kind;
        double value;
        int64_t ivalue;
    } CONSTS[] = {
        {"math", "PI", 'f', 3.141592653589793, 0}, {"math", "E", 'f', 2.718281828459045, 0},
        {"math", "INF", 'f', HUGE_VAL, 0},         {"math", "NAN", 'f', NAN, 0},
        {"math", "INT_MAX", 'i', 0, INT64_MAX},    {"math", "INT_MIN", 'i', 0, INT64_MIN}};
    for (size_t i = 0; i < sizeof CONSTS / sizeof CONSTS[0]; i++)
        if (strlen(CONSTS[i].module) == mlen && !memcmp(CONSTS[i].module, module, mlen) &&
            strlen(CONSTS[i].name) == len && !memcmp(CONSTS[i].name, name, len)) {
            *value = CONSTS[i].value;
            *ivalue = CONSTS[i].ivalue;
            return CONSTS[i].kind;
        }
    return 0;
}
