/*
 * kilntest.c — a small C library the FFI's language tests (tests/lang/ffi)
 * call: one identity function per C type (to pass each at its limits and
 * back), structs by value and by pointer, callbacks, variadic arguments,
 * strings and pointers. tests/run.sh builds it as build/ffi/libkilntest.so.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ID(name, T) \
    T kt_##name(T x) \
    { \
        return x; \
    }
ID(char, char)
ID(short, short)
ID(int, int)
ID(long, long)
ID(longlong, long long)
ID(uchar, unsigned char)
ID(ushort, unsigned short)
ID(uint, unsigned int)
ID(ulong, unsigned long)
ID(ulonglong, unsigned long long)
ID(i8, int8_t)
ID(i16, int16_t)
ID(i32, int32_t)
ID(i64, int64_t)
ID(u8, uint8_t)
ID(u16, uint16_t)
ID(u32, uint32_t)
ID(u64, uint64_t)
ID(size, size_t)
ID(float, float)
ID(double, double)
ID(bool, bool)
#undef ID

/* Several parameters of mixed types, to check each lands where C expects. */
double kt_mix(int8_t a, double b, uint16_t c, float d, int64_t e, bool f)
{
    return a + b + c + d + (double)e + (f ? 1000 : 0);
}

uint64_t kt_u64_max(void)
{
    return UINT64_MAX;
}

struct kt_pair {
    int32_t a;
    double b;
};
struct kt_pair kt_pair_make(int32_t a, double b)
{
    struct kt_pair p = {a, b};
    return p;
}
double kt_pair_sum(struct kt_pair p)
{
    return p.a + p.b;
}
void kt_pair_double(struct kt_pair *p)
{
    p->a *= 2;
    p->b *= 2;
}

/* Every field kind a struct may have, with padding between them. */
struct kt_mixed {
    int8_t c;
    int64_t l;
    float f;
    bool flag;
    void *p;
    uint16_t u;
};
struct kt_mixed kt_mixed_make(int8_t c, int64_t l, float f, bool flag, void *p, uint16_t u)
{
    struct kt_mixed m = {c, l, f, flag, p, u};
    return m;
}
int64_t kt_mixed_check(struct kt_mixed m)
{
    return m.c + m.l + (int64_t)m.f + (m.flag ? 1 : 0) + (m.p ? 1 : 0) + m.u;
}
void kt_mixed_bump(struct kt_mixed *m)
{
    m->c++;
    m->l++;
    m->f += 1;
    m->flag = !m->flag;
    m->p = m->p ? NULL : (void *)m;
    m->u++;
}

/* Callbacks */
int kt_call_n(int (*cb)(int), int n)
{
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += cb(i);
    return sum;
}
double kt_apply(double (*f)(double, double), double a, double b)
{
    return f(a, b);
}
int kt_words(void (*cb)(const char *, int))
{
    static const char *const W[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++)
        cb(W[i], i);
    return 3;
}
bool kt_test(bool (*pred)(int64_t), int64_t v)
{
    return pred(v);
}
uint8_t kt_small(uint8_t (*f)(uint8_t), uint8_t v)
{
    return f(v);
}

static void *thread_main(void *arg)
{
    int (*cb)(int) = (int (*)(int))arg;
    cb(1);
    return NULL;
}
/* Calls cb from a thread of its own: the guest must not run there. */
int kt_call_in_thread(int (*cb)(int))
{
    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, (void *)cb))
        return -1;
    pthread_join(t, NULL);
    return 0;
}

/* Strings and pointers */
const char *kt_hello(void)
{
    return "hello from C";
}
const char *kt_null_str(void)
{
    return NULL;
}
void *kt_null_ptr(void)
{
    return NULL;
}
static int anchor;
void *kt_anchor(void)
{
    return &anchor;
}
bool kt_is_anchor(void *p)
{
    return p == &anchor;
}
bool kt_is_null(const void *p)
{
    return p == NULL;
}
long kt_len(const char *s)
{
    return s ? (long)strlen(s) : -1;
}
int kt_sum_bytes(const unsigned char *p, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)
        s += p[i];
    return s;
}
void kt_fill(unsigned char *p, int n, int v)
{
    memset(p, v, (size_t)n);
}
/* p + off: a pointer into memory the caller gave. */
void *kt_offset(void *p, long off)
{
    return (char *)p + off;
}

/* Variadic: n longs. */
long kt_vsum(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    long s = 0;
    for (int i = 0; i < n; i++)
        s += va_arg(ap, long);
    va_end(ap);
    return s;
}
/* Variadic of mixed kinds, described by fmt: l long, d double, s string, p pointer. */
double kt_vmix(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    double s = 0;
    for (; *fmt; fmt++) {
        switch (*fmt) {
        case 'l': s += (double)va_arg(ap, long); break;
        case 'd': s += va_arg(ap, double); break;
        case 's': s += (double)strlen(va_arg(ap, const char *)); break;
        case 'i': s += va_arg(ap, int); break;
        default: s += va_arg(ap, void *) ? 1 : 0; break;
        }
    }
    va_end(ap);
    return s;
}

/* A callback kept for the length of a call, called back by another call
 * made inside it (kt_save_and_call(f, g): g runs and may call
 * kt_call_saved, which calls f). */
static int (*saved)(int);
int kt_save_and_call(int (*f)(int), int (*g)(int))
{
    saved = f;
    int r = g(1);
    saved = NULL;
    return r;
}
int kt_call_saved(int x)
{
    return saved ? saved(x) : -1;
}

/* A struct C takes by pointer and changes only in part. */
struct kt_sp {
    void *p;
    long n;
};
void kt_sp_touch(struct kt_sp *s)
{
    s->n++;
}
