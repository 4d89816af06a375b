/* VMs on threads, under ThreadSanitizer (make test builds this file and
 * libkiln with -fsanitize=thread; see the Makefile's TSAN target).
 *
 * Eight threads each create, run and free VMs one after another, in every
 * JIT mode, over a program that compiles (calls, inlined methods,
 * closures, maps, exceptions); a ninth thread interrupts a VM spinning on
 * another, and one collecting a heap of 600,000 objects over and over
 * (the collection stops: gc.h, "stop"), and one whose fibers all sleep
 * in its event loop; each worker also runs fibers over channels. Then VMs
 * move between threads
 * (tests/api/mobility.h): made on threads that exit, handed among eight
 * threads round after round, freed on others. Every VM must print the
 * same, and ThreadSanitizer must report nothing (halt_on_error: a report
 * fails the run). Exit status 0 when all holds. An argument sets the
 * rounds of the hand-over (make test: 100; the record: 1,000). */
#include "../../vm/kiln.h"
#include "../api/mixed_program.h"
#include "../api/mobility.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { THREADS = 8, ROUNDS = 3, MOBILE_ROUNDS = 100 };

typedef struct worker {
    int id;
    char out[256];
    size_t len;
    int failed;
} worker;

static void capture(void *ud, int stream, const char *s, size_t n)
{
    worker *w = ud;
    (void)stream;
    if (w->len + n < sizeof w->out) {
        memcpy(w->out + w->len, s, n);
        w->len += n;
        w->out[w->len] = 0;
    }
}

static void *work(void *arg)
{
    static const int modes[] = {KILN_JIT_ALWAYS, KILN_JIT_ON, KILN_JIT_OFF};
    worker *w = arg;
    char first[256] = "";
    for (int round = 0; round < ROUNDS; round++) {
        w->len = 0;
        w->out[0] = 0;
        kiln_config cfg;
        kiln_config_init(&cfg);
        cfg.write = capture;
        cfg.userdata = w;
        cfg.jit = modes[(w->id + round) % 3];
        kiln_vm *vm = kiln_new(&cfg);
        if (!vm || kiln_load_source(vm, "threads.kn", mixed_src, sizeof mixed_src - 1) != KILN_OK ||
            kiln_run(vm) != KILN_OK)
            w->failed = 1;
        kiln_free(vm);
        /* fibers and channels, each VM's loop its own */
        static const char fibers[] =
            "let c = chan[int]()\n"
            "let f = spawn fn() { var t = 0\n for v in c { t += v }\n"
            "    if t != 500500 { throw Error(\"sum\") } }\n"
            "for i in 1..=1000 { c.send(i) }\nc.close()\nf.join()\nsleep(1)\n";
        kiln_vm *fv = kiln_new(&cfg);
        if (!fv || kiln_load_source(fv, "fibers.kn", fibers, sizeof fibers - 1) != KILN_OK ||
            kiln_run(fv) != KILN_OK)
            w->failed = 1;
        kiln_free(fv);
        if (round == 0)
            memcpy(first, w->out, sizeof first);
        else if (strcmp(first, w->out))
            w->failed = 1;
    }
    return NULL;
}

/* A guest spinning in compiled code, stopped from another thread. */
typedef struct spinner {
    kiln_vm *vm;
    atomic_int started;
    kiln_status st;
} spinner;

static kiln_status started(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                           void *userdata)
{
    spinner *s = userdata;
    (void)vm, (void)args, (void)nargs, (void)result;
    atomic_store(&s->started, 1);
    return KILN_OK;
}

static void *spin(void *arg)
{
    spinner *s = arg;
    const char src[] = "import host\nhost.started()\nvar i = 0\nwhile true { i += 1 }\n";
    s->st = kiln_load_source(s->vm, "spin.kn", src, sizeof src - 1);
    if (s->st == KILN_OK)
        s->st = kiln_run(s->vm);
    return NULL;
}

/* Every fiber asleep: the VM waits in its event loop. */
static void *fibers_asleep(void *arg)
{
    spinner *s = arg;
    const char src[] = "import host\nfor i in 0..8 { spawn fn() { sleep(100000) } }\n"
                       "host.started()\nsleep(100000)\n";
    s->st = kiln_load_source(s->vm, "asleep.kn", src, sizeof src - 1);
    if (s->st == KILN_OK)
        s->st = kiln_run(s->vm);
    return NULL;
}

/* Most of its time in full collections of 600,000 objects (300,000 small
 * arrays and their buffers), 512 KB of garbage a turn. */
static void *collect_loop(void *arg)
{
    spinner *s = arg;
    const char src[] = "import host\nvar keep: [[int]] = []\n"
                       "for i in 0..300000 { keep.push([i]) }\n"
                       "let s = \"ab\".repeat(131072)\nhost.started()\n"
                       "while keep.len() > 0 { let g = s + s }\n";
    s->st = kiln_load_source(s->vm, "collect.kn", src, sizeof src - 1);
    if (s->st == KILN_OK)
        s->st = kiln_run(s->vm);
    return NULL;
}

/* Runs `body` on a thread over a new VM and interrupts it from this one
 * once it has started (and run `wait_ms` more); true when that stopped
 * it (KILN_ERR_LIMIT). */
static int interrupted(void *(*body)(void *), long wait_ms)
{
    spinner s = {0};
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.jit = KILN_JIT_ON;
    s.vm = kiln_new(&cfg);
    pthread_t st;
    int ok = s.vm && kiln_define_native(s.vm, "host", "started", "fn()", started, &s) == KILN_OK &&
             !pthread_create(&st, NULL, body, &s);
    if (ok) {
        while (!atomic_load(&s.started))
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        nanosleep(&(struct timespec){0, wait_ms * 1000000}, NULL);
        kiln_interrupt(s.vm);
        pthread_join(st, NULL);
    }
    kiln_free(s.vm);
    return ok && s.st == KILN_ERR_LIMIT;
}

int main(int argc, char **argv)
{
    int mobile_rounds = argc > 1 ? atoi(argv[1]) : MOBILE_ROUNDS;
    if (mobile_rounds < 1 || mobile_rounds > 1000000)
        mobile_rounds = MOBILE_ROUNDS;
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        if (pthread_create(&t[i], NULL, work, &w[i])) {
            fprintf(stderr, "threads: pthread_create failed\n");
            return 1;
        }
    }

    int bad = 0;
    if (!interrupted(spin, 50)) { /* compiled by now (OSR) */
        fprintf(stderr, "threads: the spinning VM was not interrupted\n");
        bad = 1;
    }
    if (!interrupted(collect_loop, 200)) {
        fprintf(stderr, "threads: the collecting VM was not interrupted\n");
        bad = 1;
    }
    if (!interrupted(fibers_asleep, 20)) {
        fprintf(stderr, "threads: the VM whose fibers sleep was not interrupted\n");
        bad = 1;
    }

    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        if (w[i].failed || strcmp(w[i].out, w[0].out)) {
            fprintf(stderr, "threads: worker %d failed or printed:\n%s", i, w[i].out);
            bad = 1;
        }
    }
    if (strcmp(w[0].out, MIXED_PROGRAM_OUTPUT)) {
        fprintf(stderr, "threads: unexpected output:\n%s", w[0].out);
        bad = 1;
    }
    char err[256];
    if (mobility_run(THREADS, THREADS, mobile_rounds, err, sizeof err)) {
        fprintf(stderr, "threads: VMs moving between threads: %s\n", err);
        bad = 1;
    }
    if (!bad)
        printf("threads: %d VMs on %d threads, three interrupts, and %d VMs handed among %d "
               "threads for %d rounds, all as expected\n",
               THREADS * ROUNDS, THREADS, THREADS, THREADS, mobile_rounds);
    return bad;
}
