/*
 * interrupt_latency.c — how long kiln_interrupt takes to stop a guest, and
 * whether fuel stops a loop of large copies: the table of the embedding
 * issue (#15). Each scenario runs ROUNDS times: the guest starts on a
 * thread of its own, the main thread waits 50 ms, calls kiln_interrupt and
 * measures the time until kiln_call returns (KILN_ERR_LIMIT).
 *
 *   make && cc -O2 -pthread -Ivm -o build/interrupt_latency \
 *       bench/interrupt_latency.c build/libkiln.a -lmimalloc -lffi -lm
 *   build/interrupt_latency
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiln.h"

enum { ROUNDS = 20 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static kiln_status slow(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                        void *userdata)
{
    (void)vm, (void)args, (void)nargs, (void)result, (void)userdata;
    nanosleep(&(struct timespec){0, 50 * 1000}, NULL); /* 50 µs */
    return KILN_OK;
}

/* The guest says when it runs: an interrupt sent before kiln_call
 * starts is dropped (docs/embedding.md). */
static atomic_int started;
static kiln_status go(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                      void *userdata)
{
    (void)vm, (void)args, (void)nargs, (void)result, (void)userdata;
    atomic_store(&started, 1);
    return KILN_OK;
}

static const char SRC[] = "import host\n"
                          "fn plain() { host.go(); var i = 0; while true { i += 1 } }\n"
                          "fn natives() { host.go(); while true { host.slow() } }\n"
                          "fn copies() {\n"
                          "    let a = [0; 2097152]\n" /* 16 MB */
                          "    host.go()\n"
                          "    while true { let b = a.slice(0, a.len()) }\n"
                          "}\n";

typedef struct run {
    kiln_vm *vm;
    const char *fn;
    kiln_status st;
    atomic_int done;
} run;

static void *guest(void *arg)
{
    run *r = arg;
    kiln_value res;
    r->st = kiln_call(r->vm, r->fn, NULL, 0, &res);
    atomic_store(&r->done, 1);
    return NULL;
}

static kiln_vm *make_vm(int jit, uint64_t fuel)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.jit = jit;
    cfg.fuel = fuel;
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm || kiln_define_native(vm, "host", "slow", "fn()", slow, NULL) != KILN_OK ||
        kiln_define_native(vm, "host", "go", "fn()", go, NULL) != KILN_OK ||
        kiln_load_source(vm, "latency.kn", SRC, sizeof SRC - 1) != KILN_OK) {
        fprintf(stderr, "latency: %s\n", vm ? kiln_error(vm) : "kiln_new failed");
        return NULL;
    }
    return vm;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    static const char *const FNS[] = {"plain", "natives", "copies"};
    static const char *const WHAT[] = {"plain loop", "loop calling a 50 us native",
                                       "loop copying 16 MB arrays"};
    static const int JITS[] = {KILN_JIT_OFF, KILN_JIT_ON};
    printf("| guest | tier | median ms | max ms |\n|---|---|---:|---:|\n");
    for (int f = 0; f < 3; f++)
        for (int j = 0; j < 2; j++) {
            double ms[ROUNDS];
            for (int i = 0; i < ROUNDS; i++) {
                kiln_vm *vm = make_vm(JITS[j], 0);
                if (!vm)
                    return 1;
                run r = {vm, FNS[f], KILN_OK, 0};
                pthread_t t;
                atomic_store(&started, 0);
                pthread_create(&t, NULL, guest, &r);
                while (!atomic_load(&started))
                    nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
                nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
                double sent = now();
                kiln_interrupt(vm);
                while (!atomic_load(&r.done))
                    ;
                ms[i] = (now() - sent) * 1e3;
                pthread_join(t, NULL);
                if (r.st != KILN_ERR_LIMIT)
                    printf("%s: status %d: %s\n", FNS[f], (int)r.st, kiln_error(vm));
                kiln_free(vm);
            }
            qsort(ms, ROUNDS, sizeof ms[0], by_value);
            printf("| %s | %s | %.3f | %.3f |\n", WHAT[f], j ? "JIT" : "interpreter",
                   ms[ROUNDS / 2], ms[ROUNDS - 1]);
        }
    kiln_vm *vm = make_vm(KILN_JIT_ON, 100000);
    if (!vm)
        return 1;
    kiln_value res;
    double t0 = now();
    kiln_status st = kiln_call(vm, "copies", NULL, 0, &res);
    printf("\nfuel 100000, the copying loop: status %d (%s) after %.1f ms: %s\n", (int)st,
           st == KILN_ERR_LIMIT ? "KILN_ERR_LIMIT" : "not stopped by fuel", (now() - t0) * 1e3,
           kiln_error(vm));
    kiln_free(vm);
    return 0;
}
