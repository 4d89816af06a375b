/*
 * interrupt_latency.c — how long kiln_interrupt takes to stop a guest, and
 * whether fuel stops a loop of large copies: the table of the embedding
 * issue (#15). Each scenario runs ROUNDS times: the guest starts on a
 * thread of its own, the main thread waits 50 to 149 ms, calls
 * kiln_interrupt and measures the time until kiln_call returns
 * (KILN_ERR_LIMIT).
 *
 *   make && cc -O2 -pthread -Ivm -o build/interrupt_latency \
 *       bench/interrupt_latency.c build/libkiln.a -lmimalloc -lffi -luv -lm
 *   build/interrupt_latency
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiln.h"

enum { MAX_ROUNDS = 20 }; /* LATENCY_ROUNDS (default 20) rounds a row */

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

static const char SRC[] =
    "import host\n"
    "fn plain() { host.go(); var i = 0; while true { i += 1 } }\n"
    "fn natives() { host.go(); while true { host.slow() } }\n"
    "fn copies() {\n"
    "    let a = [0; 2097152]\n" /* 16 MB */
    "    host.go()\n"
    "    while true { let b = a.slice(0, a.len()) }\n"
    "}\n"
    /* One builtin a loop turn, each on 4-16 MB: how long one runs between polls. */
    "fn ints(n: int) -> [int] { var a = [0; n]\n for i in 0..n { a[i] = (i * 7919) % n }\n"
    "    return a }\n"
    "fn words(n: int) -> [str] { var a: [str] = []\n for i in 0..n { a.push(str(i * 7919 % n)) }\n"
    "    return a }\n"
    "fn sort_ints() { let a = ints(2000000)\n host.go()\n"
    "    while true { let b = a.slice(0, a.len())\n b.sort() } }\n"
    "fn sort_strs() { let a = words(500000)\n host.go()\n"
    "    while true { let b = a.slice(0, a.len())\n b.sort() } }\n"
    "fn joins() { let a = words(2000000)\n host.go()\n while true { let s = \",\".join(a) } }\n"
    "fn splits() { let s = \",\".join(words(2000000))\n host.go()\n"
    "    while true { let p = s.split(\",\") } }\n"
    "fn replaces() { let s = \"ab\".repeat(8000000)\n host.go()\n"
    "    while true { let t = s.replace(\"a\", \"xy\") } }\n"
    "fn repeats() { host.go()\n while true { let t = \"ab\".repeat(8000000) } }\n"
    "fn uppers() { let s = \"ab\".repeat(8000000)\n host.go()\n"
    "    while true { let t = s.to_upper() } }\n"
    "fn lines() { let s = \"ab\\n\".repeat(4000000)\n host.go()\n"
    "    while true { let t = s.lines() } }\n"
    "fn fills() { host.go()\n while true { let a = [1; 2000000] } }\n"
    "fn keys() { var m: {int: int} = {}\n for i in 0..1000000 { m[i * 7] = i }\n host.go()\n"
    "    while true { let k = m.keys() } }\n"
    "fn grows() { host.go()\n while true { var m: {int: int} = {}\n"
    "    for i in 0..2000000 { m[i * 7] = i } } }\n"
    "fn concats() { let s = \"ab\".repeat(4000000)\n host.go()\n"
    "    while true { let t = s + s } }\n"
    "fn formats() { let s = \"ab\".repeat(4000000)\n host.go()\n"
    "    while true { let t = \"<${s}>\" } }\n"
    /* 3M small live objects (1.5M one-element arrays and their buffers),
     * and garbage made cheaply (a 512 KB string a turn, two copies): more
     * than half of the time goes to full collections of the 3M objects
     * (`keep` is read at each turn: live, a root). */
    "fn heap() { var keep: [[int]] = []\n for i in 0..1500000 { keep.push([i]) }\n"
    "    let s = \"ab\".repeat(131072)\n host.go()\n while keep.len() > 0 { let g = s + s } }\n";

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
    static const char *const FNS[] = {"plain",   "natives", "copies",   "sort_ints", "sort_strs",
                                      "joins",   "splits",  "replaces", "repeats",   "uppers",
                                      "lines",   "fills",   "keys",     "grows",     "concats",
                                      "formats", "heap"};
    static const char *const WHAT[] = {"plain loop",
                                       "loop calling a 50 us native",
                                       "loop copying 16 MB arrays",
                                       "sorting 2M ints",
                                       "sorting 500k strings",
                                       "joining 2M strings",
                                       "splitting a 15 MB string",
                                       "replacing in a 16 MB string",
                                       "repeating to 16 MB",
                                       "to_upper of 16 MB",
                                       "lines of 12 MB",
                                       "filling 2M slots",
                                       "keys of a 1M map",
                                       "a map growing to 2M keys",
                                       "concatenating 8 MB strings",
                                       "formatting an 8 MB string",
                                       "collecting 3M live objects"};
    enum { NFNS = sizeof FNS / sizeof FNS[0] };
    int only = getenv("LATENCY_ROWS") ? atoi(getenv("LATENCY_ROWS")) : NFNS;
    int rounds = getenv("LATENCY_ROUNDS") ? atoi(getenv("LATENCY_ROUNDS")) : MAX_ROUNDS;
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = MAX_ROUNDS;
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const int JITS[] = {KILN_JIT_OFF, KILN_JIT_ON};
    printf("| guest | tier | median ms | max ms |\n|---|---|---:|---:|\n");
    const char *pick = getenv("LATENCY_ONLY"); /* the rows whose function names contain it */
    for (int f = 0; f < NFNS && f < only; f++)
        if (!pick || strstr(FNS[f], pick))
            for (int j = 0; j < 2; j++) {
                double ms[MAX_ROUNDS];
                for (int i = 0; i < rounds; i++) {
                    kiln_vm *vm = make_vm(JITS[j], 0);
                    if (!vm)
                        return 1;
                    run r = {vm, FNS[f], KILN_OK, 0};
                    pthread_t t;
                    atomic_store(&started, 0);
                    pthread_create(&t, NULL, guest, &r);
                    while (!atomic_load(&started))
                        nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
                    /* 50 to 149 ms, spread over the rounds: a loop that
                     * alternates phases (allocating, then collecting for
                     * tens of ms) is met in each of them. */
                    long wait_ms = 50 + i * 37 % 100;
                    nanosleep(&(struct timespec){0, wait_ms * 1000 * 1000}, NULL);
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
                qsort(ms, (size_t)rounds, sizeof ms[0], by_value);
                printf("| %s | %s | %.3f | %.3f |\n", WHAT[f], j ? "JIT" : "interpreter",
                       ms[rounds / 2], ms[rounds - 1]);
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
