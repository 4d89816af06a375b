/*
 * std_math.c — the math module: PI, E, INF, NAN, INT_MAX and INT_MIN
 * (constants, std_core.c), and
 * the functions of docs/language.md over C's libm. min, max and abs exist for
 * int and for float (fabs is the float abs of C).
 */
#include <math.h>

#include "std.h"

#define F1(name, expr) \
    static int name(kiln_vm *vm, vm_value *a, vm_value *r) \
    { \
        (void)vm; \
        r->f = (expr); \
        return 0; \
    }

F1(m_sqrt, sqrt(a[0].f))
F1(m_sin, sin(a[0].f))
F1(m_cos, cos(a[0].f))
F1(m_tan, tan(a[0].f))
F1(m_atan2, atan2(a[0].f, a[1].f))
F1(m_exp, exp(a[0].f))
F1(m_log, log(a[0].f))
F1(m_pow, pow(a[0].f, a[1].f))
F1(m_floor, floor(a[0].f))
F1(m_ceil, ceil(a[0].f))
F1(m_fabs, fabs(a[0].f))
F1(m_fmin, a[0].f < a[1].f ? a[0].f : a[1].f)
F1(m_fmax, a[0].f > a[1].f ? a[0].f : a[1].f)
F1(m_round, round(a[0].f)) /* halves away from zero, as C */
F1(m_trunc, trunc(a[0].f))
F1(m_log2, log2(a[0].f))
F1(m_log10, log10(a[0].f))
F1(m_hypot, hypot(a[0].f, a[1].f))
F1(m_asin, asin(a[0].f))
F1(m_acos, acos(a[0].f))
F1(m_atan, atan(a[0].f))
F1(m_sinh, sinh(a[0].f))
F1(m_cosh, cosh(a[0].f))
F1(m_tanh, tanh(a[0].f))
#undef F1

static int m_is_nan(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)vm;
    r->i = isnan(a[0].f) != 0;
    return 0;
}
static int m_is_inf(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)vm;
    r->i = isinf(a[0].f) != 0;
    return 0;
}

static int m_abs(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)vm;
    r->u = a[0].i < 0 ? 0 - a[0].u : a[0].u; /* abs(INT64_MIN) wraps, as - does */
    return 0;
}
static int m_min(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)vm;
    r->i = a[0].i < a[1].i ? a[0].i : a[1].i;
    return 0;
}
static int m_max(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)vm;
    r->i = a[0].i > a[1].i ? a[0].i : a[1].i;
    return 0;
}

const vm_native std_math_natives[] = {
    STD_NATIVE("math.sqrt", "f", 'f', m_sqrt),     STD_NATIVE("math.sin", "f", 'f', m_sin),
    STD_NATIVE("math.cos", "f", 'f', m_cos),       STD_NATIVE("math.tan", "f", 'f', m_tan),
    STD_NATIVE("math.atan2", "ff", 'f', m_atan2),  STD_NATIVE("math.exp", "f", 'f', m_exp),
    STD_NATIVE("math.log", "f", 'f', m_log),       STD_NATIVE("math.pow", "ff", 'f', m_pow),
    STD_NATIVE("math.floor", "f", 'f', m_floor),   STD_NATIVE("math.ceil", "f", 'f', m_ceil),
    STD_NATIVE("math.abs", "i", 'i', m_abs),       STD_NATIVE("math.fabs", "f", 'f', m_fabs),
    STD_NATIVE("math.min", "ii", 'i', m_min),      STD_NATIVE("math.max", "ii", 'i', m_max),
    STD_NATIVE("math.min", "ff", 'f', m_fmin),     STD_NATIVE("math.max", "ff", 'f', m_fmax),
    STD_NATIVE("math.round", "f", 'f', m_round),   STD_NATIVE("math.trunc", "f", 'f', m_trunc),
    STD_NATIVE("math.log2", "f", 'f', m_log2),     STD_NATIVE("math.log10", "f", 'f', m_log10),
    STD_NATIVE("math.hypot", "ff", 'f', m_hypot),  STD_NATIVE("math.asin", "f", 'f', m_asin),
    STD_NATIVE("math.acos", "f", 'f', m_acos),     STD_NATIVE("math.atan", "f", 'f', m_atan),
    STD_NATIVE("math.sinh", "f", 'f', m_sinh),     STD_NATIVE("math.cosh", "f", 'f', m_cosh),
    STD_NATIVE("math.tanh", "f", 'f', m_tanh),     STD_NATIVE("math.is_nan", "f", 'b', m_is_nan),
    STD_NATIVE("math.is_inf", "f", 'b', m_is_inf),
};
const size_t std_math_count = sizeof std_math_natives / sizeof std_math_natives[0];
