/*
 * std_process.c — the process module: programs run through uv_spawn on
 * the VM's loop, only the calling fiber waiting for them.
 *
 * A Process (a resource object) holds the libuv process handle and the
 * two pipes the child writes its stdout and stderr to, read on the loop
 * as the guest asks (one piece at a time; process.run reads both to the
 * end while it waits), and the child's stdin as a plain pipe written by a
 * worker of the threadpool (std_work) with SIGPIPE blocked on that
 * thread, so that a child that stopped reading is an IOError (EPIPE), not
 * the death of the host. Closing it (close(), or its collection) closes
 * the pipes and the handles, and kills nothing: a child still running
 * goes on. Its memory goes once libuv has closed the handles (their
 * callbacks run in the loop, at the latest in rt_fiber_free at
 * kiln_free).
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "../runtime/rt.h"
#include "std.h"

enum { CHUNK = 65536, OUT_MAX = UINT32_MAX - 64 }; /* OUT_MAX: the longest string */
typedef struct {
    char *buf;
    size_t len, cap, limit;
    bool eof, collect; /* collect: read to the end (process.run) */
    int err;           /* a uv error that ended it */
} stream;

typedef struct {
    uv_process_t h;
    uv_pipe_t out[2]; /* the child's stdout and stderr, our ends */
    stream s[2];
    rt_io *waiter[3]; /* the fibers waiting: for its exit (wait, run), stdout, stderr */
    int in_fd;        /* our end of the child's stdin, -1 once closed */
    kiln_vm *vm;
    rt_kept kept; /* released while the child runs: its handle, open until it ends */
    int handles;  /* libuv handles not yet closed */
    bool released, exited, in_busy;
    int64_t status;
    int sig;
} proc;

static void on_closed(uv_handle_t *h)
{
    proc *p = h->data;
    if (--p->handles == 0 && p->released) {
        free(p->s[0].buf);
        free(p->s[1].buf);
        free(p);
    }
}

static void wake(proc *p)
{
    for (int i = 0; i < 3; i++)
        if (p->waiter[i])
            rt_io_done(p->waiter[i]);
}

static void proc_exited(uv_process_t *h, int64_t status, int sig)
{
    proc *p = h->data;
    p->exited = true;
    p->status = status;
    p->sig = sig;
    if (p->released) { /* reaped now: what kept it open is over */
        rt_io_unkeep(p->vm, &p->kept);
        uv_close((uv_handle_t *)h, on_closed);
        return;
    }
    wake(p);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    proc *p = h->data;
    stream *s = &p->s[(uv_pipe_t *)h == &p->out[1]];
    *buf = uv_buf_init(NULL, 0); /* refused: read gets UV_ENOBUFS */
    if (s->cap - s->len < CHUNK) {
        size_t cap = s->cap ? s->cap * 2 : CHUNK;
        if (cap > s->limit + CHUNK)
            return;
        char *more = realloc(s->buf, cap);
        if (!more)
            return;
        s->buf = more;
        s->cap = cap;
    }
    *buf = uv_buf_init(s->buf + s->len, (unsigned)(s->cap - s->len));
}

static void on_read(uv_stream_t *h, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    proc *p = h->data;
    stream *s = &p->s[(uv_pipe_t *)h == &p->out[1]];
    if (n == 0)
        return; /* nothing now (EAGAIN) */
    if (n > 0) {
        s->len += (size_t)n;
        if (s->len > s->limit) {
            s->err = UV_ENOBUFS;
            s->eof = true;
        }
    } else {
        s->eof = true;
        if (n != UV_EOF)
            s->err = (int)n;
    }
    /* process.run's waiter waits for the ends: woken for each piece, it
     * would never let the loop see a limit while the output flows */
    if (!s->collect || s->eof) {
        uv_read_stop(h);
        wake(p);
    }
}

/* Releases p (the resource's close): the pipes closed, the child left
 * running. Its handle stays open (unref'd, kept) until the child ends,
 * so that libuv reaps it rather than leaving a zombie; rt_fiber_free
 * closes it if the VM ends first. */
static void proc_close(kiln_vm *vm, void *ptr)
{
    proc *p = ptr;
    p->released = true;
    if (p->in_fd >= 0)
        close(p->in_fd);
    p->in_fd = -1;
    for (int i = 0; i < 2; i++)
        if (!uv_is_closing((uv_handle_t *)&p->out[i]))
            uv_close((uv_handle_t *)&p->out[i], on_closed);
    if (!p->exited && p->h.pid > 0)
        rt_io_keep(vm, &p->kept, (uv_handle_t *)&p->h, on_closed);
    else if (!uv_is_closing((uv_handle_t *)&p->h))
        uv_close((uv_handle_t *)&p->h, on_closed);
}

/* ---- Starting ---- */

/* The args array as argv (program first, then each argument), NULL after
 * raising; free with free(). */
static char **argv_of(kiln_vm *vm, const char *prog, vm_array *args, const char *op,
                      const char *what)
{
    uint32_t n = args ? args->len : 0;
    char **argv = calloc((size_t)n + 2, sizeof *argv);
    if (!argv) {
        rt_raise(vm, RT_ERR_OOM, "%s: out of memory", op);
        return NULL;
    }
    argv[0] = (char *)prog;
    for (uint32_t i = 0; i < n; i++) {
        vm_str *s = args->buf->items[i].s;
        if (!s || memchr(s->data, 0, s->len)) { /* the program would get less */
            free(argv);
            rt_raise(vm, s ? RT_ERR_VALUE : RT_ERR_NULL, "%s: %s %u %s", op, what, i + 1,
                     s ? "holds a NUL byte" : "is null");
            return NULL;
        }
        argv[i + 1] = s->data;
    }
    return argv;
}

/* With a list of allowed programs, the one the guest names is the one
 * this process would run by that name: a name without '/' found in our
 * PATH (not env's), a relative path taken from our folder (not cwd's),
 * so that neither env nor cwd leads to another program of the name. Its
 * path in out (PATH_MAX bytes): 0, or an errno. */
static int allowed_program(const char *prog, char *out)
{
    char here[PATH_MAX];
    if (prog[0] == '/') {
        int n = snprintf(out, PATH_MAX, "%s", prog);
        return n < PATH_MAX ? 0 : ENAMETOOLONG;
    }
    if (!getcwd(here, sizeof here))
        return errno;
    if (strchr(prog, '/')) {
        int n = snprintf(out, PATH_MAX, "%s/%s", here, prog);
        return n < PATH_MAX ? 0 : ENAMETOOLONG;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *dir = path;; dir++) {
        size_t len = strcspn(dir, ":");
        int n = len == 0        ? snprintf(out, PATH_MAX, "%s/%s", here, prog)
                : dir[0] == '/' ? snprintf(out, PATH_MAX, "%.*s/%s", (int)len, dir, prog)
                                : snprintf(out, PATH_MAX, "%s/%.*s/%s", here, (int)len, dir, prog);
        struct stat st;
        if (n < PATH_MAX && access(out, X_OK) == 0 && stat(out, &st) == 0 && S_ISREG(st.st_mode))
            return 0;
        dir += len;
        if (!*dir)
            return ENOENT;
    }
}

/* The arguments of process.run and process.spawn: (program), (program,
 * args) or (program, args, env, cwd), by their count. */
enum { ARGS_NONE = 1, ARGS = 2, ARGS_ENV = 4 };

/* Starts the program: a new proc (stdin a pipe when `input`, else
 * /dev/null), or NULL after raising. A null env or cwd is ours. */
static proc *start(kiln_vm *vm, vm_value *a, int nargs, bool input, const char *op)
{
    bool with_env = nargs == ARGS_ENV;
    const char *prog = a[0].s ? a[0].s->data : NULL;
    if (!prog) {
        rt_raise(vm, RT_ERR_NULL, "%s: the program is null", op);
        return NULL;
    }
    const vm_str *cwd = with_env ? a[3].s : NULL;
    if (memchr(prog, 0, a[0].s->len) || (cwd && memchr(cwd->data, 0, cwd->len))) {
        rt_raise(vm, RT_ERR_VALUE, "%s: the %s holds a NUL byte", op,
                 memchr(prog, 0, a[0].s->len) ? "program" : "folder");
        return NULL;
    }
    if (!rt_sys_check_run(vm, op, prog))
        return NULL;
    char file[PATH_MAX];
    int err = vm->cfg.run_programs ? allowed_program(prog, file) : 0;
    if (err) {
        rt_raise_errno(vm, err, "%s %.300s", op, prog);
        return NULL;
    }
    uv_loop_t *loop = rt_io_loop(vm);
    if (!loop)
        return NULL;
    char **argv = argv_of(vm, prog, nargs > 1 ? (vm_array *)a[1].p : NULL, op, "argument");
    char **env = NULL;
    if (!argv)
        return NULL;
    if (with_env && a[2].p &&
        !(env = argv_of(vm, "", (vm_array *)a[2].p, op, "environment entry"))) {
        free(argv);
        return NULL;
    }
    proc *p = calloc(1, sizeof *p);
    int fds[2] = {-1, -1};
    if (!p || (input && pipe2(fds, O_CLOEXEC) != 0)) {
        int e = errno;
        free(p);
        free(argv);
        free(env);
        rt_raise_errno(vm, p ? e : ENOMEM, "%s %.300s", op, prog);
        return NULL;
    }
    p->in_fd = fds[1];
    if (input) /* our end only: a worker polls it, to stop when told */
        fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    for (int i = 0; i < 2; i++) {
        uv_pipe_init(loop, &p->out[i], 0);
        p->out[i].data = p;
        p->s[i].limit = OUT_MAX;
    }
    uv_stdio_container_t io[3] = {
        {.flags = input ? UV_INHERIT_FD : UV_IGNORE, .data.fd = fds[0]},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->out[0]},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->out[1]},
    };
    uv_process_options_t o = {
        .exit_cb = proc_exited,
        .file = vm->cfg.run_programs ? file : prog,
        .args = argv,
        .env = env ? env + 1 : NULL,
        .cwd = cwd ? cwd->data : NULL,
        .stdio_count = 3,
        .stdio = io,
    };
    p->h.data = p;
    p->vm = vm;
    p->handles = 3;
    int e = uv_spawn(loop, &p->h, &o); /* the handle is closed even when it fails */
    if (fds[0] >= 0)
        close(fds[0]);
    free(argv);
    free(env);
    if (e) {
        p->exited = true;
        proc_close(vm, p);
        rt_raise_errno(vm, -e, "%s %.300s", op, prog);
        return NULL;
    }
    /* A child no fiber waits for keeps nothing waiting: not the end of a
     * run (rt_fiber_end), nor a deadlock's detection. */
    uv_unref((uv_handle_t *)&p->h);
    return p;
}

/* ---- Waiting ---- */

/* Waits until done(p) holds, in waiter slot `slot` (0: the exit, 1:
 * stdout, 2: stderr): 0, or -1 after raising (a limit, the end of the
 * run). Nothing of libuv holds the wait when it returns. */
static int wait_for(kiln_vm *vm, proc *p, int slot, bool (*done)(const proc *p))
{
    while (!done(p)) {
        rt_io w;
        rt_io_begin(vm, &w);
        p->waiter[slot] = &w;
        if (slot == 0) /* the child keeps the loop alive while a fiber waits for it */
            uv_ref((uv_handle_t *)&p->h);
        int rc = rt_io_wait(vm, &w);
        p->waiter[slot] = NULL;
        if (slot == 0)
            uv_unref((uv_handle_t *)&p->h);
        if (rc)
            return -1;
    }
    return 0;
}

static bool has_exited(const proc *p)
{
    return p->exited;
}

/* process.run is done when the program has ended and both streams are
 * read to their ends, or when one is over its limit (the program may
 * then wait forever on a full pipe: left to the SIGPIPE of its next
 * write once the pipe is closed). */
static bool all_done(const proc *p)
{
    return (p->exited && p->s[0].eof && p->s[1].eof) || p->s[0].err == UV_ENOBUFS ||
           p->s[1].err == UV_ENOBUFS;
}

static int64_t exit_code(const proc *p)
{
    return p->sig ? 128 + p->sig : p->status;
}

/* The prelude's ProcessResult of a finished run: NULL after raising. */
static vm_inst *result_of(kiln_vm *vm, proc *p)
{
    const vm_image *im = &vm->img;
    for (uint32_t i = 0; i < im->nclasses; i++) {
        const vm_class *c = &im->classes[i];
        if (strcmp(vm_image_str(im, c->name), "ProcessResult") || c->nfields != 4 ||
            c->field_types[0] != VM_T_INT || c->field_types[1] != VM_T_INT ||
            c->field_types[2] != VM_T_STR || c->field_types[3] != VM_T_STR)
            continue;
        vm_inst *o = vm_inst_new(vm, &vm->classes[i]);
        if (!o || !vm_root_push(vm, o))
            return NULL;
        o->fields[0].i = exit_code(p);
        o->fields[1].i = p->sig;
        for (int k = 0; k < 2; k++) {
            vm_str *s = vm_str_new(vm, p->s[k].buf, p->s[k].len);
            if (!s) {
                vm_root_pop(vm, 1);
                return NULL;
            }
            o->fields[2 + k].s = s;
            gc_barrier(&vm->heap, &o->obj, &s->obj);
        }
        vm_root_pop(vm, 1);
        return o;
    }
    rt_raise(vm, RT_ERR_ERROR, "this program has no class ProcessResult");
    return NULL;
}

/* process.run(program, args[, env, cwd]): runs it to its end with no
 * input, its output and exit status collected. */
static int run_program(kiln_vm *vm, vm_value *a, vm_value *r, int nargs)
{
    proc *p = start(vm, a, nargs, false, "process.run");
    if (!p)
        return -1;
    size_t held = gc_in_use(&vm->heap), room = vm->heap.limit > held ? vm->heap.limit - held : 0;
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        p->s[i].collect = true;
        if (vm->heap.limit)
            p->s[i].limit = room / 2;
        int e = uv_read_start((uv_stream_t *)&p->out[i], on_alloc, on_read);
        if (e) {
            p->s[i].eof = true;
            p->s[i].err = e;
        }
    }
    rc = wait_for(vm, p, 0, all_done);
    vm_inst *o = NULL;
    for (int i = 0; i < 2 && !rc; i++)
        if (p->s[i].err == UV_ENOBUFS) {
            rt_raise(vm, RT_ERR_OOM, "process.run %.300s: out of memory (its output %s)",
                     a[0].s->data,
                     vm->heap.limit ? "does not fit in the heap limit" : "is too long");
            rc = -1;
        } else if (p->s[i].err) {
            rt_raise_errno(vm, -p->s[i].err, "process.run %.300s", a[0].s->data);
            rc = -1;
        }
    if (!rc)
        o = result_of(vm, p);
    proc_close(vm, p);
    r->p = o ? &o->obj : NULL;
    return o ? 0 : -1;
}

static int p_run0(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return run_program(vm, a, r, ARGS_NONE);
}

static int p_run(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return run_program(vm, a, r, ARGS);
}

static int p_run_env(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return run_program(vm, a, r, ARGS_ENV);
}

static int spawn(kiln_vm *vm, vm_value *a, vm_value *r, int nargs)
{
    proc *p = start(vm, a, nargs, true, "process.spawn");
    if (!p)
        return -1;
    vm_resobj *o = vm_res_new(vm, "Process", p, proc_close);
    if (!o) {
        proc_close(vm, p);
        return -1;
    }
    r->p = &o->obj;
    return 0;
}

static int p_spawn0(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return spawn(vm, a, r, ARGS_NONE);
}

static int p_spawn(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return spawn(vm, a, r, ARGS);
}

static int p_spawn_env(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return spawn(vm, a, r, ARGS_ENV);
}

/* ---- A Process's methods ---- */

static proc *proc_arg(kiln_vm *vm, vm_value *a, const char *op)
{
    vm_resobj *o = vm_res_of(vm, a[0], op);
    return o ? o->ptr : NULL;
}

static int p_pid(kiln_vm *vm, vm_value *a, vm_value *r)
{
    proc *p = proc_arg(vm, a, "Process.pid");
    if (!p)
        return -1;
    r->i = p->h.pid;
    return 0;
}

static int p_wait(kiln_vm *vm, vm_value *a, vm_value *r)
{
    proc *p = proc_arg(vm, a, "Process.wait");
    if (!p)
        return -1;
    if (p->waiter[0]) {
        rt_raise(vm, RT_ERR_IO, "Process.wait: another fiber is waiting on this Process");
        return -1;
    }
    if (wait_for(vm, p, 0, has_exited))
        return -1;
    r->i = exit_code(p);
    return 0;
}

static bool stdout_ready(const proc *p)
{
    return p->s[0].len || p->s[0].eof;
}

static bool stderr_ready(const proc *p)
{
    return p->s[1].len || p->s[1].eof;
}

/* __proc_read(p, which): the next piece of its stdout (1) or stderr (2)
 * as it comes, or null at its end. */
static int p_read(kiln_vm *vm, vm_value *a, vm_value *r)
{
    const char *op = a[1].i == 2 ? "Process.read_stderr" : "Process.read_stdout";
    proc *p = proc_arg(vm, a, op);
    if (!p)
        return -1;
    int which = a[1].i == 2;
    stream *s = &p->s[which];
    if (p->waiter[1 + which]) {
        rt_raise(vm, RT_ERR_IO, "%s: another fiber is reading it", op);
        return -1;
    }
    if (!s->len && !s->eof) {
        uv_stream_t *h = (uv_stream_t *)&p->out[which];
        int e = uv_read_start(h, on_alloc, on_read);
        if (e) {
            s->eof = true;
            s->err = e;
        }
        int rc = wait_for(vm, p, 1 + which, which ? stderr_ready : stdout_ready);
        uv_read_stop(h);
        if (rc)
            return -1;
    }
    if (s->len) {
        r->s = vm_str_new(vm, s->buf, s->len);
        if (!r->s)
            return -1;
        s->len = 0;
        return 0;
    }
    if (s->err && s->err != UV_EOF) {
        int e = s->err;
        s->err = 0;
        rt_raise_errno(vm, -e, "%s", op);
        return -1;
    }
    r->s = NULL;
    return 0;
}

typedef struct {
    int fd;
    const char *data;
    size_t n, done;
    int err; /* -1: not run */
} in_job;

/* On a worker: writes the bytes (std_write_fd: a child that closed its
 * stdin is EPIPE, and its SIGPIPE never delivered). */
static void w_write(void *arg, const atomic_bool *stop)
{
    in_job *j = arg;
    ssize_t r = std_write_fd(j->fd, j->data, j->n, stop, &j->done);
    j->err = r < 0 ? (int)-r : 0;
}

static int p_write(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    proc *p = proc_arg(vm, a, "Process.write_stdin");
    if (!p)
        return -1;
    if (!a[1].s) {
        rt_raise(vm, RT_ERR_NULL, "Process.write_stdin: the text is null");
        return -1;
    }
    if (p->in_busy) {
        rt_raise(vm, RT_ERR_IO, "Process.write_stdin: another fiber is writing to this Process");
        return -1;
    }
    if (p->in_fd < 0) {
        rt_raise(vm, RT_ERR_IO, "Process.write_stdin: its stdin is closed");
        return -1;
    }
    in_job j = {.fd = p->in_fd, .data = a[1].s->data, .n = a[1].s->len, .err = -1};
    p->in_busy = true;
    int rc = std_work(vm, w_write, &j);
    p->in_busy = false;
    if (rc)
        return -1;
    if (j.err) {
        rt_raise_errno(vm, j.err, "Process.write_stdin");
        return -1;
    }
    return 0;
}

static int p_close_stdin(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    proc *p = proc_arg(vm, a, "Process.close_stdin");
    if (!p)
        return -1;
    if (p->in_busy) {
        rt_raise(vm, RT_ERR_IO, "Process.close_stdin: another fiber is writing to this Process");
        return -1;
    }
    if (p->in_fd >= 0)
        close(p->in_fd);
    p->in_fd = -1;
    return 0;
}

static int p_kill(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    proc *p = proc_arg(vm, a, "Process.kill");
    if (!p)
        return -1;
    if (a[1].i < 1 || a[1].i > 64) {
        rt_raise(vm, RT_ERR_VALUE, "Process.kill: %lld is not a signal", (long long)a[1].i);
        return -1;
    }
    if (p->exited)
        return 0; /* nothing to kill: its pid may be another's by now */
    int e = uv_process_kill(&p->h, (int)a[1].i);
    if (e && e != UV_ESRCH) {
        rt_raise_errno(vm, -e, "Process.kill");
        return -1;
    }
    return 0;
}

static int p_close(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    vm_resobj *o;
    if (std_res_closing(vm, a[0], "Process.close", &o))
        return -1;
    if (!o)
        return 0; /* closed already: nothing */
    proc *p = o->ptr;
    if (p->waiter[0] || p->waiter[1] || p->waiter[2] || p->in_busy) {
        rt_raise(vm, RT_ERR_IO, "Process.close: another fiber is using this Process");
        return -1;
    }
    vm_res_close(vm, o);
    return 0;
}

static const char *const RESULT0[] = {NULL, "ProcessResult"};
static const char *const RESULT[] = {NULL, NULL, "ProcessResult"};
static const char *const RESULT_ENV[] = {NULL, NULL, NULL, NULL, "ProcessResult"};
static const char *const SPAWN0[] = {NULL, "Process"};
static const char *const SPAWN[] = {NULL, NULL, "Process"};
static const char *const SPAWN_ENV[] = {NULL, NULL, NULL, NULL, "Process"};
static const char *const PROC[] = {"Process", NULL};
static const char *const PROC_X[] = {"Process", NULL, NULL};

const vm_native std_process_natives[] = {
    STD_TYPED("process.run", "s", 'T', RESULT0, p_run0),
    STD_TYPED("process.run", "sS", 'T', RESULT, p_run),
    STD_TYPED("process.run", "sSSs", 'T', RESULT_ENV, p_run_env),
    STD_TYPED("process.spawn", "s", 'T', SPAWN0, p_spawn0),
    STD_TYPED("process.spawn", "sS", 'T', SPAWN, p_spawn),
    STD_TYPED("process.spawn", "sSSs", 'T', SPAWN_ENV, p_spawn_env),
    STD_TYPED("__proc_pid", "T", 'i', PROC, p_pid),
    STD_TYPED("__proc_wait", "T", 'i', PROC, p_wait),
    STD_TYPED("__proc_read", "Ti", 's', PROC_X, p_read),
    STD_TYPED("__proc_write", "Ts", 'v', PROC_X, p_write),
    STD_TYPED("__proc_close_stdin", "T", 'v', PROC, p_close_stdin),
    STD_TYPED("__proc_kill", "Ti", 'v', PROC_X, p_kill),
    STD_TYPED("__proc_close", "T", 'v', PROC, p_close),
};
const size_t std_process_count = sizeof std_process_natives / sizeof std_process_natives[0];
