/*
 * test_fibers.c — fibers seen from the embedding API: a call that spawns
 * fibers and returns leaves none behind, a fiber's error reaches the host
 * as data, kiln_interrupt stops a guest whose fibers all sleep, a native
 * that calls back into Kiln may be suspended there, and a VM with fibers
 * moves between threads from run to run.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../vm/kiln.h"

struct out {
    char text[4096];
    size_t len;
};

static void capture(void *ud, int stream, const char *p, size_t n)
{
    struct out *o = ud;
    (void)stream;
    if (o->len + n < sizeof o->text) {
        memcpy(o->text + o->len, p, n);
        o->len += n;
        o->text[o->len] = 0;
    }
}

/* A VM running `jit` (KILN_JIT_*) with the KILN_ALLOW_* bits `allow`, its
 * output into o, src loaded. */
static kiln_vm *vm_allowed(const char *src, int jit, unsigned allow, struct out *o)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = capture;
    cfg.userdata = o;
    cfg.jit = jit;
    cfg.allow = allow;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    cr_assert_eq(kiln_load_source(vm, "program.kn", src, strlen(src)), KILN_OK, "%s",
                 kiln_error(vm));
    return vm;
}

static kiln_vm *vm_with(const char *src, int jit, struct out *o)
{
    return vm_allowed(src, jit, 0, o);
}

static const char *const WORKERS =
    "fn square_all(n: int) -> int {\n"
    "    let out = chan[int](n)\n"
    "    for i in 0..n { spawn fn() { sleep(0); out.send(i * i) } }\n"
    "    var sum = 0\n"
    "    for i in 0..n { sum += out.recv().unwrap() }\n"
    "    return sum\n"
    "}\n"
    "fn leave_waiting(n: int) -> int {\n"
    "    let c = chan[int]()\n"
    "    for i in 0..n { spawn fn() { c.recv(); print(\"never\") } }\n"
    "    spawn fn() { sleep(100000) }\n"
    "    sleep(0)\n"
    "    return n\n"
    "}\n"
    "fn fail_in_fiber() { spawn fn() { throw ValueError(\"lost\") }\n sleep(0) }\n"
    "fn sleep_forever() { spawn fn() { sleep(100000) }\n sleep(100000) }\n";

Test(fibers, calls_spawn_and_leave_nothing_behind)
{
    int modes[2] = {KILN_JIT_OFF, KILN_JIT_ALWAYS};
    for (int m = 0; m < 2; m++) {
        struct out o = {0};
        kiln_vm *vm = vm_with(WORKERS, modes[m], &o);
        for (int round = 0; round < 50; round++) {
            kiln_value arg = kiln_int(20), r;
            cr_assert_eq(kiln_call(vm, "square_all", &arg, 1, &r), KILN_OK, "%s", kiln_error(vm));
            cr_assert_eq(r.as.i, 2470); /* 0 + 1 + 4 + ... + 361 */
            /* Fibers still waiting when the call returns are ended with it. */
            cr_assert_eq(kiln_call(vm, "leave_waiting", &arg, 1, &r), KILN_OK, "%s",
                         kiln_error(vm));
            cr_assert_eq(r.as.i, 20);
        }
        cr_assert_eq(o.len, 0, "a stopped fiber ran on: %s", o.text);
        cr_assert_eq(kiln_collect(vm), KILN_OK);
        kiln_free(vm);
    }
}

Test(fibers, an_unjoined_error_is_the_calls)
{
    struct out o = {0};
    kiln_vm *vm = vm_with(WORKERS, KILN_JIT_OFF, &o);
    cr_assert_eq(kiln_call(vm, "fail_in_fiber", NULL, 0, NULL), KILN_ERR_RUNTIME);
    cr_assert_str_eq(kiln_error_class(vm), "ValueError");
    cr_assert_str_eq(kiln_error_message(vm), "lost");
    cr_assert(strstr(kiln_error(vm), "in fiber"), "%s", kiln_error(vm));
    /* The next call starts clean. */
    kiln_value arg = kiln_int(3), r;
    cr_assert_eq(kiln_call(vm, "square_all", &arg, 1, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, 5);
    kiln_free(vm);
}

struct later {
    kiln_vm *vm;
    double ms;
};

static void *interrupt_later(void *p)
{
    struct later *l = p;
    nanosleep(&(struct timespec){0, (long)(l->ms * 1e6)}, NULL);
    kiln_interrupt(l->vm);
    return NULL;
}

Test(fibers, interrupt_stops_sleeping_fibers)
{
    struct out o = {0};
    kiln_vm *vm = vm_with(WORKERS, KILN_JIT_OFF, &o);
    struct later l = {vm, 30};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, interrupt_later, &l), 0);
    cr_assert_eq(kiln_call(vm, "sleep_forever", NULL, 0, NULL), KILN_ERR_LIMIT, "%s",
                 kiln_error(vm));
    pthread_join(t, NULL);
    cr_assert(strstr(kiln_error(vm), "interrupted"), "%s", kiln_error(vm));
    /* The VM is usable afterwards, its fibers gone. */
    kiln_value arg = kiln_int(4), r;
    cr_assert_eq(kiln_call(vm, "square_all", &arg, 1, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, 14);
    kiln_free(vm);
}

Test(fibers, a_timeout_stops_sleeping_fibers)
{
    struct out o = {0};
    kiln_vm *vm = vm_with(WORKERS, KILN_JIT_OFF, &o);
    cr_assert_eq(kiln_set_limits(vm, 0, 0.05), KILN_OK);
    cr_assert_eq(kiln_call(vm, "sleep_forever", NULL, 0, NULL), KILN_ERR_LIMIT, "%s",
                 kiln_error(vm));
    cr_assert(strstr(kiln_error(vm), "out of time"), "%s", kiln_error(vm));
    kiln_free(vm);
}

/* A native that calls back into Kiln, where the guest sleeps: the fiber
 * is suspended inside the native, and others run meanwhile. */
static kiln_status call_back(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                             void *userdata)
{
    (void)nargs, (void)userdata;
    return kiln_call(vm, "step", args, 1, result);
}

Test(fibers, suspended_inside_a_native)
{
    static const char src[] = "import host\n"
                              "fn step(n: int) -> int { sleep(1); return n + 1 }\n"
                              "fn main() {\n"
                              "    let a = spawn fn() { print(\"a ${host.back(1)}\") }\n"
                              "    let b = spawn fn() { print(\"b ${host.back(10)}\") }\n"
                              "    print(\"main waits\")\n"
                              "    a.join()\n"
                              "    b.join()\n"
                              "}\n";
    int modes[2] = {KILN_JIT_OFF, KILN_JIT_ALWAYS};
    for (int m = 0; m < 2; m++) {
        struct out o = {0};
        kiln_config cfg;
        kiln_config_init(&cfg);
        cfg.write = capture;
        cfg.userdata = &o;
        cfg.jit = modes[m];
        kiln_vm *vm = kiln_new(&cfg);
        cr_assert_not_null(vm);
        cr_assert_eq(kiln_define_native(vm, "host", "back", "fn(int) -> int", call_back, NULL),
                     KILN_OK);
        cr_assert_eq(kiln_load_source(vm, "app.kn", src, sizeof src - 1), KILN_OK, "%s",
                     kiln_error(vm));
        cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
        cr_assert_str_eq(o.text, "main waits\na 2\nb 11\n");
        kiln_free(vm);
    }
}

/* Runs by turns on new threads: the loop and the fibers of a run belong
 * to no thread. */
static void *run_once(void *p)
{
    kiln_vm *vm = p;
    kiln_value arg = kiln_int(10), r;
    kiln_status st = kiln_call(vm, "square_all", &arg, 1, &r);
    return (void *)(intptr_t)(st == KILN_OK && r.as.i == 285);
}

Test(fibers, runs_move_between_threads)
{
    struct out o = {0};
    kiln_vm *vm = vm_with(WORKERS, KILN_JIT_ON, &o);
    for (int i = 0; i < 20; i++) {
        pthread_t t;
        void *ok;
        cr_assert_eq(pthread_create(&t, NULL, run_once, vm), 0);
        pthread_join(t, &ok);
        cr_assert(ok, "round %d: %s", i, kiln_error(vm));
    }
    kiln_free(vm);
}

/* ---- The net module ---- */

#include <dirent.h>

/* The descriptors open now. libuv opens one pipe for the whole process
 * at its first loop (its signal lock, never closed), so a VM with a loop
 * runs once before the first count. */
static int open_fds(void)
{
    static bool warm;
    if (!warm) {
        warm = true;
        kiln_vm *vm = kiln_new(NULL);
        cr_assert_not_null(vm);
        static const char src[] = "sleep(1)\n";
        cr_assert_eq(kiln_load_source(vm, "warm.kn", src, sizeof src - 1), KILN_OK);
        cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
        kiln_free(vm);
    }
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static kiln_vm *net_vm(const char *src, int jit, struct out *o)
{
    return vm_allowed(src, jit, KILN_ALLOW_NET, o);
}

static const char *const NET =
    "import net\n"
    "fn pairs(n: int) -> int {\n"
    "    let l = net.listen(\"127.0.0.1\", 0)\n"
    "    let port = l.port()\n"
    "    var kept: [TcpConn] = []\n"
    "    spawn fn() { while true { kept.push(l.accept()) } }\n"
    "    var bytes = 0\n"
    "    for i in 0..n {\n"
    "        let c = net.connect(\"127.0.0.1\", port)\n"
    "        c.write(\"ping\")\n"
    "        if i % 2 == 0 { c.close() }\n" /* the others: left to the end */
    "        bytes += 4\n"
    "    }\n"
    "    sleep(1)\n"
    "    return bytes + kept.len()\n"
    "}\n"
    "fn serve_forever() {\n"
    "    let l = net.listen(\"127.0.0.1\", 0)\n"
    "    let port = l.port()\n"
    "    spawn fn() { let c = net.connect(\"127.0.0.1\", port)\n c.read(10) }\n"
    "    let c = l.accept()\n"
    "    c.read(10)\n" /* nothing comes */
    "}\n"
    "fn loopback6() -> str {\n"
    "    let l = net.listen(\"::1\", 0)\n"
    "    let f = spawn fn() { let c = l.accept()\n c.write(c.read(10).to_upper())\n c.close() }\n"
    "    let c = net.connect(\"::1\", l.port())\n"
    "    c.write(\"six\")\n"
    "    let s = c.read(10)\n"
    "    f.join()\n"
    "    return s\n"
    "}\n";

Test(fibers, no_descriptor_outlives_the_vm)
{
    int before = open_fds();
    for (int round = 0; round < 3; round++) {
        struct out o = {0};
        kiln_vm *vm = net_vm(NET, round == 1 ? KILN_JIT_ALWAYS : KILN_JIT_OFF, &o);
        kiln_value arg = kiln_int(40), r;
        cr_assert_eq(kiln_call(vm, "pairs", &arg, 1, &r), KILN_OK, "%s", kiln_error(vm));
        cr_assert_eq(r.as.i, 200);
        cr_assert_eq(kiln_call(vm, "pairs", &arg, 1, &r), KILN_OK, "%s", kiln_error(vm));
        kiln_free(vm);
    }
    cr_assert_eq(open_fds(), before, "descriptors left open: %d before, %d after", before,
                 open_fds());
}

Test(fibers, interrupt_stops_fibers_waiting_on_sockets)
{
    int before = open_fds();
    struct out o = {0};
    kiln_vm *vm = net_vm(NET, KILN_JIT_OFF, &o);
    struct later l = {vm, 30};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, interrupt_later, &l), 0);
    cr_assert_eq(kiln_call(vm, "serve_forever", NULL, 0, NULL), KILN_ERR_LIMIT, "%s",
                 kiln_error(vm));
    pthread_join(t, NULL);
    kiln_value arg = kiln_int(4), r;
    cr_assert_eq(kiln_call(vm, "pairs", &arg, 1, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, 20);
    kiln_free(vm);
    cr_assert_eq(open_fds(), before);
}

Test(fibers, ipv6_loopback)
{
    struct out o = {0};
    kiln_vm *vm = net_vm(NET, KILN_JIT_OFF, &o);
    kiln_value r;
    kiln_status st = kiln_call(vm, "loopback6", NULL, 0, &r);
    if (st != KILN_OK && strstr(kiln_error(vm), "EADDRNOTAVAIL")) {
        kiln_free(vm);
        cr_skip_test("this machine has no IPv6 loopback");
    }
    cr_assert_eq(st, KILN_OK, "%s", kiln_error(vm));
    size_t n = 0;
    const char *s = kiln_str_bytes(vm, r, &n);
    cr_assert_not_null(s, "%s", kiln_error(vm));
    cr_assert_eq(n, 3);
    cr_assert(!memcmp(s, "SIX", 3));
    kiln_free(vm);
}

/* ---- What the end of a call leaves behind ---- */

/* A fiber stopped by the end of one call while it waited on a channel is
 * not a receiver in the next: a send there waits (here: deadlocks). */
Test(fibers, a_stopped_fiber_receives_nothing_later)
{
    static const char src[] =
        "let ch = chan[int]()\n"
        "fn first() { spawn fn() { ch.recv()\n print(\"never\") }\n sleep(0) }\n"
        "fn second() -> int { ch.send(42)\n return 1 }\n";
    struct out o = {0};
    kiln_vm *vm = vm_with(src, KILN_JIT_OFF, &o);
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(kiln_call(vm, "first", NULL, 0, NULL), KILN_OK, "%s", kiln_error(vm));
    kiln_value r;
    cr_assert_eq(kiln_call(vm, "second", NULL, 0, &r), KILN_ERR_RUNTIME);
    cr_assert_str_eq(kiln_error_class(vm), "DeadlockError");
    cr_assert_eq(o.len, 0, "%s", o.text);
    kiln_free(vm);
}

/* A native that ignores the failure of its kiln_call while the end of the
 * run stops its fiber: no more guest code runs in that fiber. */
static kiln_status swallow(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                           void *userdata)
{
    (void)args, (void)nargs, (void)userdata;
    kiln_value arg = kiln_int(1);
    (void)kiln_call(vm, "step", &arg, 1, result);
    *result = kiln_int(0);
    return KILN_OK; /* as if nothing had failed */
}

Test(fibers, a_native_cannot_keep_a_stopped_fiber_running)
{
    static const char src[] = "import host\n"
                              "var count = 0\n"
                              "fn step(n: int) -> int { sleep(10)\n return n }\n"
                              "fn main() {\n"
                              "    spawn fn() { while true { host.swallow()\n count += 1\n"
                              "        print(\"again ${count}\") } }\n"
                              "    sleep(1)\n"
                              "}\n";
    struct out o = {0};
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = capture;
    cfg.userdata = &o;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    cr_assert_eq(kiln_define_native(vm, "host", "swallow", "fn() -> int", swallow, NULL), KILN_OK);
    cr_assert_eq(kiln_load_source(vm, "app.kn", src, sizeof src - 1), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(o.len, 0, "the stopped fiber ran on: %s", o.text);
    kiln_free(vm);
}

/* ---- The host's own loop ---- */

#include <uv.h>

static void host_tick(uv_timer_t *t)
{
    (*(int *)t->data)++;
}

/* With kiln_config.loop, the guest's timers and sockets are on the host's
 * loop: a timer of the host fires while the guest sleeps, and after
 * kiln_free the loop has nothing of the VM's left (it closes). */
Test(fibers, the_hosts_loop)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    int ticks = 0;
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &ticks;
    uv_timer_start(&t, host_tick, 5, 5);
    static const char src[] = "import net\n"
                              "fn main() {\n"
                              "    let l = net.listen(\"127.0.0.1\", 0)\n"
                              "    let f = spawn fn() { let c = l.accept()\n c.write(\"hi\")\n"
                              "        c.close() }\n"
                              "    let c = net.connect(\"127.0.0.1\", l.port())\n"
                              "    print(c.read(10))\n"
                              "    f.join()\n"
                              "    sleep(60)\n"
                              "}\n";
    struct out o = {0};
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = capture;
    cfg.userdata = &o;
    cfg.allow = KILN_ALLOW_NET;
    cfg.loop = &loop;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    cr_assert_eq(kiln_load_source(vm, "app.kn", src, sizeof src - 1), KILN_OK, "%s",
                 kiln_error(vm));
    cr_assert_eq(kiln_run(vm), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(o.text, "hi\n");
    cr_assert_geq(ticks, 1, "the host's timer never fired while the guest slept");
    kiln_free(vm);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0, "a handle of the VM's is left on the host's loop");
}

/* A callback of the host's loop that calls into the VM while the guest
 * waits on that loop: libuv's loop is not reentrant, so running guest
 * code there (a guest that sleeps again waited forever), or resetting or
 * freeing the VM, is refused; the run goes on. */
typedef struct reenter {
    kiln_vm *vm;
    kiln_status call, run, reset;
    char free_error[128];
} reenter;

static void host_reenters(uv_timer_t *t)
{
    reenter *r = t->data;
    kiln_value v;
    r->call = kiln_call(r->vm, "nap", NULL, 0, &v);
    r->run = kiln_run(r->vm);
    r->reset = kiln_reset(r->vm);
    kiln_free(r->vm);
    snprintf(r->free_error, sizeof r->free_error, "%s", kiln_error(r->vm));
    uv_close((uv_handle_t *)t, NULL);
}

Test(fibers, the_hosts_loop_callbacks_cannot_reenter, .timeout = 20)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    static const char src[] = "fn nap() -> int { sleep(10)\n return 4 }\n"
                              "fn main() { sleep(100)\n print(\"woke\") }\n";
    struct out o = {0};
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = capture;
    cfg.userdata = &o;
    cfg.loop = &loop;
    reenter r = {.vm = kiln_new(&cfg), .call = KILN_OK, .run = KILN_OK, .reset = KILN_OK};
    cr_assert_eq(kiln_load_source(r.vm, "app.kn", src, sizeof src - 1), KILN_OK, "%s",
                 kiln_error(r.vm));
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &r;
    uv_timer_start(&t, host_reenters, 10, 0);
    cr_assert_eq(kiln_run(r.vm), KILN_OK, "%s", kiln_error(r.vm));
    cr_assert_str_eq(o.text, "woke\n");
    cr_assert_eq(r.call, KILN_ERR_API);
    cr_assert_eq(r.run, KILN_ERR_API);
    cr_assert_eq(r.reset, KILN_ERR_API);
    cr_assert(strstr(r.free_error, "kiln_free: not while the VM is in use"), "%s", r.free_error);
    kiln_free(r.vm);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
