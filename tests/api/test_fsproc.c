/*
 * test_fsproc.c — the fs and process modules and io.read_line seen from
 * the embedding API: no file descriptor outlives a VM (files and pipes
 * closed by the guest, left to the collector, or to kiln_free), a call
 * whose fibers all wait in fs or process calls is stopped by
 * kiln_interrupt from another thread and the VM goes on, and
 * io.read_line on the process's stdin suspends only its fiber.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../vm/kiln.h"
#include "capture.h"

/* The guest's output, and whether `mark` has been printed (for a thread
 * that waits until the guest got somewhere). */
typedef struct {
    out o;
    const char *mark;
    atomic_bool seen;
} watched;

static void watch(void *ud, int stream, const char *p, size_t n)
{
    watched *w = ud;
    capture(&w->o, stream, p, n);
    if (w->mark && strstr(w->o.text, w->mark))
        atomic_store(&w->seen, true);
}

static kiln_vm *vm_with(const char *src, int jit, watched *w, const char *mark)
{
    kiln_config cfg = out_config(&w->o);
    cfg.write = watch;
    cfg.userdata = w;
    cfg.jit = jit;
    cfg.allow = KILN_ALLOW_ALL;
    w->mark = mark;
    atomic_init(&w->seen, false);
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_not_null(vm);
    cr_assert_eq(kiln_load_source(vm, "app.kn", src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    return vm;
}

/* Open file descriptors of this process (the listing's own included,
 * the same each time). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static const char *const BUSY =
    "import fs\n"
    "import process\n"
    "fn work(rounds: int) -> int {\n"
    "    let d = fs.temp_dir(\"/tmp/kiln-api-fd-\")\n"
    "    var n = 0\n"
    "    for i in 0..rounds {\n"
    "        let p = \"${d}/f${i}.txt\"\n"
    "        fs.write_file(p, \"x${i}\\n\")\n"
    "        let f = fs.open(p, \"r\")\n"
    "        n += f.read_all().len()\n"
    "        f.close()\n"
    "        let g = fs.open(p, \"a\")  // left open: the collector or kiln_free closes it\n"
    "        g.write(\"y\")\n"
    "        try { fs.read_file(\"${d}/missing\") } catch e: NotFoundError { n += 1 }\n"
    "        try { fs.open(d, \"r\") } catch e: IsADirectoryError { n += 1 }\n"
    "        n += fs.list_dir(d).len() - i - 1\n"
    "        n += fs.stat(p).size - 3\n"
    "        n += process.run(\"/bin/echo\", [\"hi\"]).stdout.len()\n"
    "        let c = process.spawn(\"/bin/cat\")\n"
    "        c.write_stdin(\"abc\")\n"
    "        c.close_stdin()\n"
    "        n += c.read_stdout().unwrap().len()\n"
    "        c.wait()\n"
    "        if i % 2 == 0 { c.close() }  // the others: the collector's or kiln_free's\n"
    "        try { process.spawn(\"/no/such/program\") } catch e: NotFoundError { n += 1 }\n"
    "    }\n"
    "    for name in fs.list_dir(d) { fs.remove(\"${d}/${name}\") }\n"
    "    fs.remove(d)\n"
    "    return n\n"
    "}\n";

/* work(rounds): per round, the file's bytes ("x7\n" 3, "x12\n" 4, and
 * the appended "y" in stat's size) and 1 + 1 + 0 + 1 + 3 + 3 + 1. */
static int64_t busy_result(int rounds)
{
    int64_t n = 0;
    for (int i = 0; i < rounds; i++)
        n += (i < 10 ? 3 : 4) + (i < 10 ? 1 : 2) + 9;
    return n;
}

static void run_busy(int jit, int rounds, bool collect)
{
    watched w;
    kiln_vm *vm = vm_with(BUSY, jit, &w, NULL);
    kiln_value arg = kiln_int(rounds), r;
    cr_assert_eq(kiln_call(vm, "work", &arg, 1, &r), KILN_OK, "%s", kiln_error(vm));
    cr_assert_eq(r.as.i, busy_result(rounds), "%lld", (long long)r.as.i);
    if (collect)
        cr_assert_eq(kiln_collect(vm), KILN_OK);
    cr_assert_eq(kiln_call(vm, "work", &arg, 1, &r), KILN_OK, "%s", kiln_error(vm));
    kiln_free(vm);
}

/* The first child process makes libuv set up what it keeps for the
 * whole process (the pipe its SIGCHLD handler writes to): fds are
 * counted from there. */
static void warm_up(void)
{
    run_busy(KILN_JIT_OFF, 1, false);
}

Test(fsproc, no_fd_outlives_the_vm)
{
    warm_up();
    int before = count_fds();
    run_busy(KILN_JIT_OFF, 20, true);
    cr_assert_eq(count_fds(), before, "after a run collected");
    run_busy(KILN_JIT_ALWAYS, 20, false);
    cr_assert_eq(count_fds(), before, "after kiln_free alone");
}

static const char *const BLOCKS =
    "import fs\n"
    "import process\n"
    "fn block(fifo: str) -> int {\n"
    "    spawn fn() { fs.open(fifo, \"r\").read_line() }\n"
    "    spawn fn() { process.spawn(\"/bin/sleep\", [\"2\"]).wait() }\n"
    "    spawn fn() { process.run(\"/bin/sleep\", [\"2\"]) }\n"
    "    spawn fn() { process.spawn(\"/bin/cat\").read_stdout() }\n"
    "    spawn fn() { process.spawn(\"/bin/cat\").write_stdin(\"x\".repeat(1000000)) }\n"
    "    spawn fn() { fs.read_file(fifo) }\n"
    "    sleep(0)\n"
    "    print(\"blocked\")\n"
    "    return fs.open(fifo, \"r\").read_all().len()\n"
    "}\n"
    "fn after() -> int { return 42 }\n";

struct later {
    kiln_vm *vm;
    watched *w;
};

/* Interrupts the VM once the guest said all its fibers wait. */
static void *interrupt_when_blocked(void *arg)
{
    struct later *l = arg;
    while (!atomic_load(&l->w->seen))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    nanosleep(&(struct timespec){0, 20000000}, NULL); /* into their waits */
    kiln_interrupt(l->vm);
    return NULL;
}

Test(fsproc, interrupt_stops_fibers_waiting_on_files_and_programs)
{
    char fifo[64];
    snprintf(fifo, sizeof fifo, "/tmp/kiln-api-fifo-%d", (int)getpid());
    unlink(fifo);
    warm_up();
    int before = count_fds();
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    int keep = open(fifo, O_RDWR); /* a writer that never writes: readers wait */
    cr_assert_geq(keep, 0);
    int modes[2] = {KILN_JIT_OFF, KILN_JIT_ALWAYS};
    for (int m = 0; m < 2; m++) {
        watched w;
        kiln_vm *vm = vm_with(BLOCKS, modes[m], &w, "blocked");
        struct later l = {vm, &w};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, interrupt_when_blocked, &l), 0);
        kiln_value arg = kiln_str(vm, fifo, strlen(fifo)), r;
        cr_assert_eq(kiln_call(vm, "block", &arg, 1, &r), KILN_ERR_LIMIT, "%s", kiln_error(vm));
        pthread_join(t, NULL);
        cr_assert(strstr(kiln_error(vm), "interrupted"), "%s", kiln_error(vm));
        /* The VM goes on. */
        cr_assert_eq(kiln_call(vm, "after", NULL, 0, &r), KILN_OK, "%s", kiln_error(vm));
        cr_assert_eq(r.as.i, 42);
        cr_assert_eq(kiln_collect(vm), KILN_OK);
        kiln_free(vm);
    }
    close(keep);
    unlink(fifo);
    cr_assert_eq(count_fds(), before, "%d fds, %d before", count_fds(), before);
}

static const char *const READS = "import io\n"
                                 "fn read_in_fiber() {\n"
                                 "    let got = chan[str](1)\n"
                                 "    spawn fn() { got.send(io.read_line()) }\n"
                                 "    sleep(0)\n"
                                 "    print(\"main runs\")\n"
                                 "    print(got.recv().unwrap())\n"
                                 "}\n";

struct feeder {
    watched *w;
    int fd;
};

/* Writes a line to the guest's stdin once its main fiber has run past
 * the fiber that waits for it. */
static void *feed_when_waiting(void *arg)
{
    struct feeder *f = arg;
    while (!atomic_load(&f->w->seen))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    cr_assert_eq(write(f->fd, "hello\n", 6), 6);
    return NULL;
}

Test(fsproc, read_line_waits_in_its_fiber_only)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(dup2(p[0], 0), 0); /* this test's process only */
    close(p[0]);
    watched w;
    kiln_vm *vm = vm_with(READS, KILN_JIT_OFF, &w, "main runs");
    struct feeder f = {&w, p[1]};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, feed_when_waiting, &f), 0);
    cr_assert_eq(kiln_call(vm, "read_in_fiber", NULL, 0, NULL), KILN_OK, "%s", kiln_error(vm));
    pthread_join(t, NULL);
    cr_assert_str_eq(w.o.text, "main runs\nhello\n");
    kiln_free(vm);
    close(p[1]);
}
