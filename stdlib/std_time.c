/*
 * std_time.c — the time module: the wall clock (as seconds since the Unix
 * epoch, and as ISO 8601 text), a monotonic clock, and sleep.
 */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "../runtime/rt.h"
#include "std.h"

static double clock_seconds(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* time.now(): seconds since 1970-01-01T00:00:00Z, with the clock's
 * fraction. */
static int t_now(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)vm, (void)a;
    r->f = clock_seconds(CLOCK_REALTIME);
    return 0;
}

/* time.monotonic(): seconds of a clock that never goes back (intervals). */
static int t_monotonic(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)vm, (void)a;
    r->f = clock_seconds(CLOCK_MONOTONIC);
    return 0;
}

/* time.iso(t): t (seconds since the epoch) as UTC ISO 8601 text with
 * milliseconds, "2026-12-05T15:26:09.123Z". */
static int t_iso(kiln_vm *vm, vm_value *a, vm_value *r)
{
    double t = a[0].f;
    /* years 0 to 9999: what the format writes with four digits */
    if (!(t >= -62167219200.0 && t < 253402300800.0)) {
        rt_raise(vm, RT_ERR_VALUE, "time.iso: %g seconds is outside the years 0 to 9999", t);
        return -1;
    }
    double whole = floor(t);
    int ms = (int)((t - whole) * 1000.0);
    time_t secs = (time_t)whole;
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        rt_raise(vm, RT_ERR_VALUE, "time.iso: %g seconds cannot be written as a date", t);
        return -1;
    }
    char buf[40];
    int n =
        snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms > 999 ? 999 : ms);
    r->s = vm_str_new(vm, buf, (size_t)n);
    return r->s ? 0 : -1;
}

/* time.sleep(ms): sleep(ms) under the module's name. */
static int t_sleep(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    return rt_fiber_sleep(vm, a[0].i);
}

const vm_native std_time_natives[] = {
    STD_NATIVE("time.now", "", 'f', t_now),
    STD_NATIVE("time.monotonic", "", 'f', t_monotonic),
    STD_NATIVE("time.iso", "f", 's', t_iso),
    STD_NATIVE("time.sleep", "i", 'v', t_sleep),
};
const size_t std_time_count = sizeof std_time_natives / sizeof std_time_natives[0];
