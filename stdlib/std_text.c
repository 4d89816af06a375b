/*
 * std_text.c — the str methods of v1 (rfind, contains, replace, repeat,
 * lines, split on whitespace, bytes, chars, is_digit/is_alpha/is_space,
 * pad_left/pad_right, find with a start) and sort() of [int], [float] and
 * [str] arrays, which are C for speed; the other array methods are Kiln,
 * in the prelude.
 *
 * Work proportional to the data is charged (vm_charge) in pieces, so fuel,
 * --timeout and kiln_interrupt hold inside them.
 */
#define _GNU_SOURCE /* memmem */
#include <string.h>

#include "../runtime/rt.h"
#include "std.h"

/* The longest string vm_str_new makes. */
#define MAX_STR ((uint64_t)UINT32_MAX - 64)

/* The bytes of the UTF-8 code point at p (n > 0 bytes left): 1 for a byte
 * that does not start a well-formed sequence, which then counts alone. */
static uint32_t utf8_next(const char *p, size_t n)
{
    unsigned char c = (unsigned char)p[0];
    uint32_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (len > n)
        return 1;
    for (uint32_t i = 1; i < len; i++)
        if (((unsigned char)p[i] >> 6) != 2)
            return 1;
    return len;
}

static uint32_t utf8_count(const char *p, size_t n)
{
    uint32_t count = 0;
    for (size_t i = 0; i < n; count++)
        i += utf8_next(p + i, n - i);
    return count;
}

#define arg_str std_arg_str

/* Both string arguments, or NULL after raising. */
static vm_str *two_strs(kiln_vm *vm, vm_value *a, const char *fn, vm_str **t)
{
    vm_str *s = arg_str(vm, a, 0, fn);
    *t = s ? arg_str(vm, a, 1, fn) : NULL;
    return *t ? s : NULL;
}

/* ---- searching ---- */

static int s_find_from(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *t, *s = two_strs(vm, a, "str.find", &t);
    if (!s)
        return -1;
    int64_t from = a[2].i;
    if (from < 0) {
        rt_raise(vm, RT_ERR_INDEX, "find: start %lld is negative", (long long)from);
        return -1;
    }
    if (vm_charge(vm, ((uint64_t)s->len + t->len) / VM_BYTES_PER_TICK))
        return -1;
    const char *at = from > (int64_t)s->len
                         ? NULL
                         : memmem(s->data + from, s->len - (size_t)from, t->data, t->len);
    r->i = at ? at - s->data : -1;
    return 0;
}

/* The last place t occurs in s, or -1. */
static int64_t last_of(const vm_str *s, const vm_str *t)
{
    if (t->len > s->len)
        return -1;
    for (int64_t i = (int64_t)(s->len - t->len); i >= 0; i--)
        if (s->data[i] == (t->len ? t->data[0] : s->data[i]) &&
            memcmp(s->data + i, t->data, t->len) == 0)
            return i;
    return -1;
}

static int s_rfind(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *t, *s = two_strs(vm, a, "str.rfind", &t);
    if (!s)
        return -1;
    /* worst case s->len * t->len byte comparisons: charged as such */
    if (vm_charge(vm, ((uint64_t)s->len * (t->len ? t->len : 1)) / VM_BYTES_PER_TICK))
        return -1;
    r->i = last_of(s, t);
    return 0;
}

static int s_contains(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *t, *s = two_strs(vm, a, "str.contains", &t);
    if (!s)
        return -1;
    if (vm_charge(vm, ((uint64_t)s->len + t->len) / VM_BYTES_PER_TICK))
        return -1;
    r->i = memmem(s->data, s->len, t->data, t->len) != NULL;
    return 0;
}

/* ---- building ---- */

static int s_replace(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *old, *s = two_strs(vm, a, "str.replace", &old);
    vm_str *rep = s ? arg_str(vm, a, 2, "str.replace") : NULL;
    if (!rep)
        return -1;
    if (old->len == 0) {
        rt_raise(vm, RT_ERR_VALUE, "replace: the text to replace is empty");
        return -1;
    }
    if (vm_charge(vm, ((uint64_t)s->len + old->len) / VM_BYTES_PER_TICK))
        return -1;
    uint64_t count = 0;
    for (const char *p = s->data, *end = s->data + s->len, *at;
         (at = memmem(p, (size_t)(end - p), old->data, old->len)); p = at + old->len)
        if ((++count & 0x3ffff) == 0 && vm_poll_after_native(vm))
            return -1;
    if (count == 0) {
        r->s = s;
        return 0;
    }
    uint64_t total = s->len - count * old->len + count * rep->len;
    if (total > MAX_STR) {
        rt_raise(vm, RT_ERR_OOM, "replace: the result would be %llu bytes",
                 (unsigned long long)total);
        return -1;
    }
    vm_str *out = vm_str_new(vm, NULL, (size_t)total);
    if (!out)
        return -1;
    char *w = out->data;
    const char *p = s->data, *end = s->data + s->len;
    uint64_t done = 0;
    for (const char *at; (at = memmem(p, (size_t)(end - p), old->data, old->len));
         p = at + old->len) {
        if ((++done & 0x3ffff) == 0 && vm_poll_after_native(vm))
            return -1;
        memcpy(w, p, (size_t)(at - p));
        w += at - p;
        memcpy(w, rep->data, rep->len);
        w += rep->len;
    }
    memcpy(w, p, (size_t)(end - p));
    if (vm_charge(vm, total / VM_BYTES_PER_TICK))
        return -1;
    r->s = out;
    return 0;
}

static int s_repeat(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "str.repeat");
    if (!s)
        return -1;
    int64_t n = a[1].i;
    if (n < 0) {
        rt_raise(vm, RT_ERR_VALUE, "repeat: count %lld is negative", (long long)n);
        return -1;
    }
    if (s->len && (uint64_t)n > MAX_STR / s->len) {
        rt_raise(vm, RT_ERR_OOM, "repeat: %lld copies of %u bytes are too long", (long long)n,
                 s->len);
        return -1;
    }
    size_t total = (size_t)n * s->len;
    vm_str *out = vm_str_new(vm, NULL, total);
    if (!out)
        return -1;
    for (size_t i = 0; i < total; i += s->len) {
        memcpy(out->data + i, s->data, s->len);
        if ((i & ((1u << 20) - 1)) < s->len && i && vm_charge(vm, (1u << 20) / VM_BYTES_PER_TICK))
            return -1;
    }
    r->s = out;
    return 0;
}

/* Pads s to `width` code points with `fill` (one code point) on the left
 * or the right. */
static int pad(kiln_vm *vm, vm_value *a, vm_value *r, bool left, const char *fn)
{
    vm_str *s = arg_str(vm, a, 0, fn), *fill = s ? arg_str(vm, a, 2, fn) : NULL;
    if (!fill)
        return -1;
    uint32_t flen = utf8_count(fill->data, fill->len);
    if (flen != 1) {
        rt_raise(vm, RT_ERR_VALUE, "%s: the fill must be one character, not \"%.*s\"", fn,
                 fill->len > 20 ? 20 : (int)fill->len, fill->data);
        return -1;
    }
    int64_t width = a[1].i;
    uint32_t have = utf8_count(s->data, s->len);
    if (width <= (int64_t)have) {
        r->s = s;
        return 0;
    }
    uint64_t n = (uint64_t)(width - have);
    if (n > MAX_STR / fill->len) { /* n * fill->len must not wrap */
        rt_raise(vm, RT_ERR_OOM, "%s: width %lld is too large", fn, (long long)width);
        return -1;
    }
    uint64_t total = s->len + n * fill->len;
    if (total > MAX_STR) {
        rt_raise(vm, RT_ERR_OOM, "%s: width %lld is too large", fn, (long long)width);
        return -1;
    }
    if (vm_charge(vm, total / VM_BYTES_PER_TICK))
        return -1;
    vm_str *out = vm_str_new(vm, NULL, (size_t)total);
    if (!out)
        return -1;
    char *w = out->data;
    if (!left) {
        memcpy(w, s->data, s->len);
        w += s->len;
    }
    for (uint64_t i = 0; i < n; i++, w += fill->len) {
        memcpy(w, fill->data, fill->len);
        if ((i & 0xfffff) == 0xfffff && vm_charge(vm, (1u << 20) / VM_BYTES_PER_TICK))
            return -1; /* a piece at a time: --timeout holds */
    }
    if (left)
        memcpy(w, s->data, s->len);
    r->s = out;
    return 0;
}
static int s_pad_left(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return pad(vm, a, r, true, "pad_left");
}
static int s_pad_right(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return pad(vm, a, r, false, "pad_right");
}

/* ---- splitting ---- */

/* A new [str] (refs) or [int] array, held on the root stack: the caller
 * pops it. NULL after raising. */
static vm_array *new_held(kiln_vm *vm, bool refs, uint32_t cap)
{
    vm_array *out = vm_array_new(vm, 0, cap, refs);
    if (!out)
        return NULL;
    if (!vm_root_push(vm, out))
        return NULL;
    return out;
}

static int done_held(kiln_vm *vm, vm_array *out, vm_value *r, bool ok)
{
    vm_root_pop(vm, 1);
    if (!ok)
        return -1;
    r->p = out;
    return 0;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The next piece of s from *i: a word between runs of whitespace, or a
 * line (without its \n or \r\n). False when none is left. */
static bool next_piece(const vm_str *s, uint32_t *i, bool lines, uint32_t *from, uint32_t *to)
{
    if (lines) {
        if (*i >= s->len)
            return false;
        const char *nl = memchr(s->data + *i, '\n', s->len - *i);
        uint32_t end = nl ? (uint32_t)(nl - s->data) : s->len;
        *from = *i;
        *i = nl ? end + 1 : end;
        *to = end > *from && s->data[end - 1] == '\r' ? end - 1 : end;
        return true;
    }
    while (*i < s->len && is_ws(s->data[*i]))
        (*i)++;
    *from = *i;
    while (*i < s->len && !is_ws(s->data[*i]))
        (*i)++;
    *to = *i;
    return *to > *from;
}

/* s.split() (words) or s.lines(): a new [str]. */
static int pieces(kiln_vm *vm, vm_value *a, vm_value *r, bool lines, const char *fn)
{
    vm_str *s = arg_str(vm, a, 0, fn);
    if (!s)
        return -1;
    vm_array *out = new_held(vm, true, 4);
    if (!out)
        return -1;
    bool ok = !vm_charge(vm, s->len / VM_BYTES_PER_TICK);
    uint32_t i = 0, from, to;
    while (ok && next_piece(s, &i, lines, &from, &to))
        ok = std_push_str(vm, out, s->data + from, to - from);
    return done_held(vm, out, r, ok);
}
static int s_split_ws(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return pieces(vm, a, r, false, "str.split");
}
static int s_lines(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return pieces(vm, a, r, true, "str.lines");
}

static int s_bytes(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "str.bytes");
    if (!s)
        return -1;
    if (vm_charge(vm, ((uint64_t)s->len * sizeof(vm_value)) / VM_BYTES_PER_TICK))
        return -1;
    vm_array *out = vm_array_new(vm, s->len, s->len, false);
    if (!out)
        return -1;
    for (uint32_t i = 0; i < s->len; i++)
        out->buf->items[i].i = (unsigned char)s->data[i];
    r->p = out;
    return 0;
}

static int s_chars(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = arg_str(vm, a, 0, "str.chars");
    if (!s)
        return -1;
    vm_array *out = new_held(vm, true, 4);
    if (!out)
        return -1;
    bool ok = !vm_charge(vm, ((uint64_t)s->len * 32) / VM_BYTES_PER_TICK);
    for (uint32_t i = 0; ok && i < s->len;) {
        uint32_t n = utf8_next(s->data + i, s->len - i);
        ok = std_push_str(vm, out, s->data + i, n);
        i += n;
    }
    return done_held(vm, out, r, ok);
}

/* ---- classes of characters (the whole string, ASCII; false if empty) ---- */

static int all_of(kiln_vm *vm, vm_value *a, vm_value *r, int kind, const char *fn)
{
    vm_str *s = arg_str(vm, a, 0, fn);
    if (!s)
        return -1;
    bool all = s->len > 0;
    for (uint32_t i = 0; all && i < s->len; i++) {
        char c = s->data[i];
        all = kind == 0   ? c >= '0' && c <= '9'
              : kind == 1 ? (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                          : is_ws(c);
    }
    r->i = all;
    return 0;
}
static int s_is_digit(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return all_of(vm, a, r, 0, "is_digit");
}
static int s_is_alpha(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return all_of(vm, a, r, 1, "is_alpha");
}
static int s_is_space(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return all_of(vm, a, r, 2, "is_space");
}

/* ---- quoting: a str inside a printed container ---- */

static int quote(kiln_vm *vm, vm_value *a, vm_value *r)
{
    vm_str *s = a[0].s;
    if (!s) {
        r->s = vm_str_new(vm, "null", 4);
        return r->s ? 0 : -1;
    }
    uint64_t n = 2;
    for (uint32_t i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->data[i];
        n += c == '"' || c == '\\' || c == '\n' || c == '\t' || c == '\r' ? 2 : c < 0x20 ? 6 : 1;
    }
    if (n > MAX_STR) {
        rt_raise(vm, RT_ERR_OOM, "str: a string of %llu bytes is too long", (unsigned long long)n);
        return -1;
    }
    if (vm_charge(vm, n / VM_BYTES_PER_TICK))
        return -1;
    vm_str *out = vm_str_new(vm, NULL, (size_t)n);
    if (!out)
        return -1;
    char *w = out->data;
    *w++ = '"';
    for (uint32_t i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->data[i];
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\n' ? "\\n"
                          : c == '\t' ? "\\t"
                          : c == '\r' ? "\\r"
                                      : NULL;
        if (esc) {
            memcpy(w, esc, 2);
            w += 2;
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            memcpy(w, "\\u{", 3);
            w[3] = hex[c >> 4];
            w[4] = hex[c & 15];
            w[5] = '}';
            w += 6;
        } else {
            *w++ = (char)c;
        }
    }
    *w = '"';
    r->s = out;
    return 0;
}

/* ---- sort() of [int], [float] and [str] ---- */

/* An introsort-free quicksort: median of three, insertion sort below 16
 * elements, recursion on the smaller side (so the stack stays O(log n)).
 * LESS(x, y) compares two vm_values. n log n was charged before; the
 * work partitioning does is charged again as it goes (one per 8), in
 * pieces of 2^14, so an input crafted to make the sort quadratic pays for
 * it in fuel, and an interrupt or the deadline stops it (*stop true),
 * leaving the elements permuted. FINE sorts (strings, whose comparisons
 * are slow: one partition of 500k takes tens of milliseconds) count
 * every comparison; the others count each partition's length before it
 * and each exchange in it (a count per comparison cost 8% of sorting
 * ints; a run without exchange is sequential and fast). */
typedef struct sort_poll {
    kiln_vm *vm;
    bool stop;
} sort_poll;
enum { SORT_PIECE = 1 << 14 };
static bool sort_polls(sort_poll *p, uint64_t work)
{
    p->stop = p->stop || vm_charge(p->vm, work / 8) || vm_poll_after_native(p->vm);
    return p->stop;
}
/* n more comparisons counted in k (a local: no store per comparison);
 * true when the sort must stop */
#define SORT_COUNT(k, n, p) (((k) += (n)) >= SORT_PIECE && (sort_polls(p, k) || ((k) = 0, false)))
#define DEFINE_SORT(name, LESS, FINE) \
    static void name(vm_value *v, size_t n, sort_poll *p) \
    { \
        uint64_t k = 0; \
        while (n > 16 && !p->stop && !(!FINE && SORT_COUNT(k, n, p))) { \
            size_t m = n / 2; \
            if (LESS(v[m], v[0])) { \
                vm_value t = v[m]; \
                v[m] = v[0]; \
                v[0] = t; \
            } \
            if (LESS(v[n - 1], v[m])) { \
                vm_value t = v[m]; \
                v[m] = v[n - 1]; \
                v[n - 1] = t; \
                if (LESS(v[m], v[0])) { \
                    t = v[m]; \
                    v[m] = v[0]; \
                    v[0] = t; \
                } \
            } \
            vm_value pivot = v[m]; \
            size_t i = 0, j = n - 1; \
            for (;;) { \
                while (LESS(v[i], pivot)) \
                    if (i++, FINE && SORT_COUNT(k, 1, p)) \
                        return; \
                while (LESS(pivot, v[j])) \
                    if (j--, FINE && SORT_COUNT(k, 1, p)) \
                        return; \
                if (i >= j) \
                    break; \
                vm_value t = v[i]; \
                v[i] = v[j]; \
                v[j] = t; \
                i++; \
                j--; \
                if (!FINE && SORT_COUNT(k, 1, p)) \
                    return; \
            } \
            size_t left = j + 1; /* v[0..j] <= pivot <= v[j+1..] */ \
            if (left < n - left) { \
                name(v, left, p); \
                v += left; \
                n -= left; \
            } else { \
                name(v + left, n - left, p); \
                n = left; \
            } \
        } \
        for (size_t i = 1; !p->stop && i < n; i++) { \
            vm_value x = v[i]; \
            size_t j = i; \
            for (; j > 0 && LESS(x, v[j - 1]); j--) \
                v[j] = v[j - 1]; \
            v[j] = x; \
        } \
    }

#define LESS_INT(x, y) ((x).i < (y).i)
/* NaN sorts after every number, so the order is total */
#define LESS_FLOAT(x, y) ((x).f < (y).f || ((y).f != (y).f && (x).f == (x).f))
static int str_cmp(const vm_str *a, const vm_str *b)
{
    int c = memcmp(a->data, b->data, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}
#define LESS_STR(x, y) (str_cmp((x).s, (y).s) < 0)
DEFINE_SORT(sort_ints, LESS_INT, 0)
DEFINE_SORT(sort_floats, LESS_FLOAT, 0)
DEFINE_SORT(sort_strs, LESS_STR, 1)

/* n log2 n comparisons, charged before sorting. */
static bool charge_sort(kiln_vm *vm, vm_array *xs, const char *fn)
{
    if (!xs) {
        rt_raise(vm, RT_ERR_NULL, "%s: the array is null", fn);
        return false;
    }
    uint64_t n = xs->len, lg = 1;
    while ((1ull << lg) < n)
        lg++;
    return !vm_charge(vm, n * lg / 8);
}

/* xs.sort() with `sort`; strings must not be null. */
static int sort_with(kiln_vm *vm, vm_value *a, void (*sort)(vm_value *, size_t, sort_poll *),
                     bool strs)
{
    vm_array *xs = a[0].p;
    if (!charge_sort(vm, xs, "sort"))
        return -1;
    for (uint32_t i = 0; strs && i < xs->len; i++)
        if (!xs->buf->items[i].s) {
            rt_raise(vm, RT_ERR_NULL, "sort: element %u is null", i);
            return -1;
        }
    sort_poll p = {vm, false};
    sort(xs->buf ? xs->buf->items : NULL, xs->len, &p);
    return p.stop ? -1 : 0;
}
static int a_sort_i(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, sort_with(vm, a, sort_ints, false);
}
static int a_sort_f(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, sort_with(vm, a, sort_floats, false);
}
static int a_sort_s(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, sort_with(vm, a, sort_strs, true);
}

/* ---- "${x:SPEC}": __format(x, spec), spec a constant the compiler checked ---- */

static int format_as(kiln_vm *vm, vm_value *a, vm_value *r, char kind)
{
    vm_str *spec = std_arg_str(vm, a, 1, "format");
    if (!spec)
        return -1;
    vm_fmtspec f;
    const char *bad = vm_fmtspec_parse(spec->data, spec->len, &f);
    if (!bad)
        bad = vm_fmtspec_fits(&f, kind);
    if (bad) { /* only a hand-made image gets here */
        rt_raise(vm, RT_ERR_VALUE, "format spec \"%.*s\": %s", spec->len > 40 ? 40 : (int)spec->len,
                 spec->data, bad);
        return -1;
    }
    r->s = rt_format_spec(vm, &f, kind, a[0]);
    return r->s ? 0 : -1;
}
static int format_i(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return format_as(vm, a, r, 'i');
}
static int format_f(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return format_as(vm, a, r, 'f');
}
static int format_s(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return format_as(vm, a, r, 's');
}
static int format_b(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return format_as(vm, a, r, 'b');
}

/* The steps of a for loop over (a..b).step(s) or (a..=b).step(s): how
 * many values a, a+s, ... lie before b (or up to b); s must not be 0. */
static int range_count(kiln_vm *vm, vm_value *a, vm_value *r)
{
    int64_t from = a[0].i, to = a[1].i, st = a[2].i;
    bool incl = a[3].i != 0;
    if (st == 0) {
        rt_raise(vm, RT_ERR_VALUE, "a range's step must not be 0");
        return -1;
    }
    __int128 span = st > 0 ? (__int128)to - from : (__int128)from - to;
    __int128 step = st > 0 ? st : -(__int128)st, n;
    if (span < 0 || (span == 0 && !incl))
        n = 0;
    else
        n = incl ? span / step + 1 : (span + step - 1) / step;
    r->i = n > INT64_MAX ? INT64_MAX : (int64_t)n;
    return 0;
}

const vm_native std_text_natives[] = {
    STD_NATIVE("__range_count", "iiib", 'i', range_count),
    STD_NATIVE("__format", "is", 's', format_i),
    STD_NATIVE("__format", "fs", 's', format_f),
    STD_NATIVE("__format", "ss", 's', format_s),
    STD_NATIVE("__format", "bs", 's', format_b),
    STD_NATIVE("str.find", "ssi", 'i', s_find_from),
    STD_NATIVE("str.rfind", "ss", 'i', s_rfind),
    STD_NATIVE("str.contains", "ss", 'b', s_contains),
    STD_NATIVE("str.replace", "sss", 's', s_replace),
    STD_NATIVE("str.repeat", "si", 's', s_repeat),
    STD_NATIVE("str.pad_left", "sis", 's', s_pad_left),
    STD_NATIVE("str.pad_right", "sis", 's', s_pad_right),
    STD_NATIVE("str.split", "s", 'S', s_split_ws),
    STD_NATIVE("str.lines", "s", 'S', s_lines),
    STD_NATIVE("str.bytes", "s", 'I', s_bytes),
    STD_NATIVE("str.chars", "s", 'S', s_chars),
    STD_NATIVE("str.is_digit", "s", 'b', s_is_digit),
    STD_NATIVE("str.is_alpha", "s", 'b', s_is_alpha),
    STD_NATIVE("str.is_space", "s", 'b', s_is_space),
    STD_NATIVE("__quote", "s", 's', quote),
    STD_NATIVE("array.sort", "I", 'v', a_sort_i),
    STD_NATIVE("array.sort", "F", 'v', a_sort_f),
    STD_NATIVE("array.sort", "S", 'v', a_sort_s),
};
const size_t std_text_count = sizeof std_text_natives / sizeof std_text_natives[0];
