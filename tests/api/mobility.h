/*
 * mobility.h — VMs that move between threads, one thread at a time: made
 * (and their program loaded and run) on threads that then exit, used by
 * a pool of threads that hand them round every round, and freed on yet
 * other threads. Shared by the API's Criterion test (tests/api/
 * test_embed.c) and the ThreadSanitizer test (tests/tsan/threads.c).
 *
 * mobility_run(nvms, nthreads, rounds, err, errlen): 0 when every call
 * gave the right result and every VM counted its calls; else -1 with the
 * first problem in err.
 */
#ifndef KILN_TEST_MOBILITY_H
#define KILN_TEST_MOBILITY_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../vm/kiln.h"

static const char mobility_src[] = "var count = 0\n"
                                   "fn step(k: int) -> int {\n"
                                   "    count += 1\n"
                                   "    var parts: [str] = []\n"
                                   "    for i in 0..50 { parts.push(\"x${i + k}\") }\n"
                                   "    var m: {str: int} = {}\n"
                                   "    for p in parts { m[p] = p.len() }\n"
                                   "    var s = 0\n"
                                   "    for p in parts { s += m[p] }\n"
                                   "    return s\n"
                                   "}\n"
                                   "fn total() -> int { return count }\n";

/* What step(k) returns: the lengths of "x0+k" .. "x49+k". */
static int64_t mobility_want(int64_t k)
{
    int64_t s = 0;
    for (int64_t i = 0; i < 50; i++) {
        char buf[32];
        s += snprintf(buf, sizeof buf, "x%lld", (long long)(i + k));
    }
    return s;
}

enum { MOBILITY_MAX = 16 };

typedef struct mobility {
    kiln_vm *vms[MOBILITY_MAX];
    int nvms, nthreads, rounds;
    pthread_barrier_t barrier;
    pthread_mutex_t lock;
    char err[256];
} mobility;

typedef struct mobility_arg {
    mobility *m;
    int id;
} mobility_arg;

static void mobility_fail(mobility *m, const char *what, int id, const char *detail)
{
    pthread_mutex_lock(&m->lock);
    if (!m->err[0])
        snprintf(m->err, sizeof m->err, "%s (%d): %.200s", what, id, detail ? detail : "");
    pthread_mutex_unlock(&m->lock);
}

/* Makes VM id on a thread of its own, which then exits. */
static void *mobility_make(void *arg)
{
    mobility_arg *a = arg;
    mobility *m = a->m;
    static const int modes[] = {KILN_JIT_ON, KILN_JIT_OFF, KILN_JIT_ALWAYS};
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.jit = modes[a->id % 3];
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm ||
        kiln_load_source(vm, "mobile.kn", mobility_src, sizeof mobility_src - 1) != KILN_OK ||
        kiln_run(vm) != KILN_OK)
        mobility_fail(m, "make", a->id, vm ? kiln_error(vm) : "kiln_new");
    m->vms[a->id] = vm;
    return NULL;
}

/* Round r: thread t calls VM (t + r) % nvms; then all wait for the round. */
static void *mobility_use(void *arg)
{
    mobility_arg *a = arg;
    mobility *m = a->m;
    for (int r = 0; r < m->rounds; r++) {
        int v = (a->id + r) % m->nvms;
        kiln_vm *vm = m->vms[v];
        if (a->id < m->nvms && vm) {
            kiln_value k = kiln_int(r), res;
            if (kiln_call(vm, "step", &k, 1, &res) != KILN_OK)
                mobility_fail(m, "step", v, kiln_error(vm));
            else if (res.type != KILN_INT || res.as.i != mobility_want(r))
                mobility_fail(m, "step result", v, "wrong");
        }
        pthread_barrier_wait(&m->barrier);
    }
    return NULL;
}

/* Frees VM id on a thread of its own, after checking its count. */
static void *mobility_free(void *arg)
{
    mobility_arg *a = arg;
    mobility *m = a->m;
    kiln_vm *vm = m->vms[a->id];
    kiln_value res;
    if (vm && (kiln_call(vm, "total", NULL, 0, &res) != KILN_OK || res.as.i != m->rounds))
        mobility_fail(m, "count", a->id, kiln_error(vm));
    kiln_free(vm);
    return NULL;
}

/* Runs fn(arg i) on a new thread for each i < n, one after another
 * (each thread exits before the next starts) or all at once. */
static int mobility_threads(mobility *m, void *(*fn)(void *), int n, int at_once)
{
    pthread_t t[MOBILITY_MAX];
    mobility_arg a[MOBILITY_MAX];
    for (int i = 0; i < n; i++) {
        a[i] = (mobility_arg){m, i};
        if (pthread_create(&t[i], NULL, fn, &a[i]))
            return -1;
        if (!at_once)
            pthread_join(t[i], NULL);
    }
    for (int i = 0; at_once && i < n; i++)
        pthread_join(t[i], NULL);
    return 0;
}

static int mobility_run(int nvms, int nthreads, int rounds, char *err, size_t errlen)
{
    static mobility m; /* one run at a time */
    memset(&m, 0, sizeof m);
    m.nvms = nvms < MOBILITY_MAX ? nvms : MOBILITY_MAX;
    m.nthreads = nthreads < MOBILITY_MAX ? nthreads : MOBILITY_MAX;
    m.rounds = rounds;
    pthread_mutex_init(&m.lock, NULL);
    pthread_barrier_init(&m.barrier, NULL, (unsigned)m.nthreads);
    int st = mobility_threads(&m, mobility_make, m.nvms, 0);
    if (!st && !m.err[0])
        st = mobility_threads(&m, mobility_use, m.nthreads, 1);
    if (!st)
        st = mobility_threads(&m, mobility_free, m.nvms, 0);
    pthread_barrier_destroy(&m.barrier);
    pthread_mutex_destroy(&m.lock);
    if (st)
        snprintf(m.err, sizeof m.err, "pthread_create failed");
    snprintf(err, errlen, "%s", m.err);
    return m.err[0] ? -1 : 0;
}

#endif
