/*
 * std_fs.c — the fs module: files and folders through the VM's libuv loop.
 * Each call that touches the disk runs on libuv's threadpool (std_work)
 * while only the calling fiber waits; the others run meanwhile.
 *
 *   native (VM thread)              worker (threadpool)
 *   ──────────────────              ───────────────────
 *   rt_sys_check (traced) ──────▶  open, then check what was opened
 *   park the fiber                  (rt_sys_open_fd, rt_sys_parent_fd),
 *   ◀────────── wake ────────────  read / write / stat / mkdirat ...
 *   the result, or the OS's error as an IOError subclass (rt_raise_errno)
 *
 * A wait stopped by a limit or the end of the run (--timeout,
 * kiln_interrupt) sets the job's stop flag, cancels it if it has not
 * started, and waits until the worker has returned (a worker polls pipes
 * and terminals every 10 ms, and never blocks longer on them); then what
 * it opened is closed. An open file is a File, a resource object closed
 * by close() or when it is collected: no fd outlives its object.
 */
#define _GNU_SOURCE /* O_PATH through rt.h's callers, fdopendir */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "../runtime/rt.h"
#include "std.h"

/* ---- Work on the threadpool ---- */

typedef struct {
    rt_io w;
    uv_work_t req;
    atomic_bool stop;
    void (*fn)(void *arg, const atomic_bool *stop);
    void *arg;
} work;

static void work_run(uv_work_t *req)
{
    work *k = req->data;
    k->fn(k->arg, &k->stop);
}

static void work_after(uv_work_t *req, int status)
{
    (void)status; /* UV_ECANCELED: fn never ran, and the caller sees that */
    work *k = req->data;
    rt_io_done(&k->w);
}

int std_work(kiln_vm *vm, void (*fn)(void *arg, const atomic_bool *stop), void *arg)
{
    uv_loop_t *loop = rt_io_loop(vm);
    if (!loop)
        return -1;
    work k = {.fn = fn, .arg = arg};
    atomic_init(&k.stop, false);
    k.req.data = &k;
    rt_io_begin(vm, &k.w);
    int e = uv_queue_work(loop, &k.req, work_run, work_after);
    if (e) {
        rt_raise(vm, RT_ERR_IO, "cannot queue work on the event loop: %s", uv_strerror(e));
        return -1;
    }
    /* Done: a source that never makes it wait (/dev/zero, a line without
     * end on stdin) wakes it at each turn of the loop, where a limit is
     * seen only when no fiber is runnable, so the caller's loop of jobs
     * would never stop: the limits are looked at here. fn has returned. */
    if (rt_io_wait(vm, &k.w) == 0)
        return vm_poll_after_native(vm) ? -1 : 0;
    atomic_store(&k.stop, true);
    uv_cancel((uv_req_t *)&k.req); /* fails when it runs already: then it sees stop */
    rt_io_drain(vm, &k.w);
    return -1;
}

/* How long a worker waits on a pipe or terminal between looks at stop. */
enum { STOP_POLL_MS = 10 };

/* Waits until fd is ready for `events` (poll), or stop: 0, or -ECANCELED.
 * A regular file is always ready. */
static int ready(int fd, short events, const atomic_bool *stop)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        if (atomic_load(stop))
            return -ECANCELED;
        int n = poll(&p, 1, STOP_POLL_MS);
        if (n > 0 || (n < 0 && errno != EINTR))
            return 0; /* ready, its end, or an error the read reports */
    }
}

ssize_t std_read_fd(int fd, void *buf, size_t n, const atomic_bool *stop)
{
    for (;;) {
        int r = ready(fd, POLLIN, stop);
        if (r)
            return r;
        ssize_t k = read(fd, buf, n);
        if (k >= 0)
            return k;
        if (errno != EINTR && errno != EAGAIN)
            return -errno;
    }
}

ssize_t std_write_fd(int fd, const char *p, size_t n, const atomic_bool *stop, size_t *done)
{
    rt_nopipe np; /* a reader gone away (a FIFO's, a child's stdin): EPIPE */
    rt_nopipe_begin(&np);
    ssize_t result = (ssize_t)n;
    *done = 0;
    while (*done < n) {
        int r = ready(fd, POLLOUT, stop);
        if (r) {
            result = r;
            break;
        }
        ssize_t k = write(fd, p + *done, n - *done);
        if (k < 0 && errno != EINTR && errno != EAGAIN) {
            result = -errno;
            break;
        }
        if (k > 0)
            *done += (size_t)k;
    }
    rt_nopipe_end(&np);
    return result;
}

/* ---- One job's arguments and result ---- */

enum { NOT_RUN = INT32_MIN };

typedef struct {
    const char *const *dirs, *const *dirs2;
    const char *path, *path2;
    int how, fd;
    char *buf;
    const char *data;
    size_t n, done;
    int64_t result; /* NOT_RUN, >= 0, -errno, or RT_SYS_OUTSIDE */
    struct stat st;
    char **names; /* list_dir: malloc'd, count in n */
    char made[PATH_MAX];
} job;

static void w_open(void *arg, const atomic_bool *stop)
{
    (void)stop;
    job *j = arg;
    int fd = rt_sys_open_fd(j->dirs, j->path, j->how);
    struct stat st;
    if (fd >= 0 && j->how == RT_FD_READ && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        fd = -EISDIR; /* a folder opens, but cannot be read as a file */
    }
    j->result = fd;
}

static void w_read(void *arg, const atomic_bool *stop)
{
    job *j = arg;
    j->result = std_read_fd(j->fd, j->buf, j->n, stop);
}

static void w_write(void *arg, const atomic_bool *stop)
{
    job *j = arg;
    j->result = std_write_fd(j->fd, j->data, j->n, stop, &j->done);
}

static void w_stat(void *arg, const atomic_bool *stop)
{
    (void)stop;
    job *j = arg;
    int fd = rt_sys_open_fd(j->dirs, j->path, RT_FD_STAT);
    if (fd >= 0) {
        j->result = fstat(fd, &j->st) == 0 ? 0 : -errno;
        close(fd);
    } else {
        j->result = fd;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void w_list(void *arg, const atomic_bool *stop)
{
    job *j = arg;
    int fd = rt_sys_open_fd(j->dirs, j->path, RT_FD_DIR);
    if (fd < 0) {
        j->result = fd;
        return;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        j->result = -errno;
        close(fd);
        return;
    }
    size_t cap = 0;
    struct dirent *e;
    j->result = 0;
    errno = 0;
    while (!atomic_load(stop) && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (j->n == cap) {
            cap = cap ? cap * 2 : 32;
            char **more = realloc(j->names, cap * sizeof *more);
            if (!more) {
                j->result = -ENOMEM;
                break;
            }
            j->names = more;
        }
        if (!(j->names[j->n] = strdup(e->d_name))) {
            j->result = -ENOMEM;
            break;
        }
        j->n++;
    }
    if (j->result == 0 && errno)
        j->result = -errno;
    closedir(d);
    if (j->n)
        qsort(j->names, j->n, sizeof *j->names, by_name);
}

static void free_names(job *j)
{
    for (size_t i = 0; i < j->n; i++)
        free(j->names[i]);
    free(j->names);
    j->names = NULL;
    j->n = 0;
}

enum { OP_MKDIR, OP_REMOVE, OP_TEMP };

static void w_change(void *arg, const atomic_bool *stop)
{
    (void)stop;
    job *j = arg;
    char base[NAME_MAX + 1], named[PATH_MAX];
    const char *path = j->path;
    size_t plen = strlen(path);
    bool in_dir = j->how == OP_TEMP && plen && path[plen - 1] == '/'; /* "dir/": a name in dir */
    if (in_dir) { /* a name for rt_sys_parent_fd to find the folder of, dropped below */
        if (plen + 2 > sizeof named) {
            j->result = -ENAMETOOLONG;
            return;
        }
        snprintf(named, sizeof named, "%s_", path);
        path = named;
    }
    int dfd = rt_sys_parent_fd(j->dirs, path, base, sizeof base - 6);
    if (dfd < 0) {
        j->result = dfd;
        return;
    }
    int r = 0;
    if (j->how == OP_MKDIR) {
        r = mkdirat(dfd, base, 0777);
    } else if (j->how == OP_REMOVE) {
        r = unlinkat(dfd, base, 0);
        if (r != 0 && (errno == EISDIR || errno == EPERM))
            r = unlinkat(dfd, base, AT_REMOVEDIR);
    } else { /* OP_TEMP: the name and 6 random characters, made new */
        static const char ALNUM[] =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        size_t len = in_dir ? 0 : strlen(base);
        r = -1;
        errno = EEXIST;
        for (int tries = 0; tries < 100 && r != 0 && errno == EEXIST; tries++) {
            unsigned char rnd[6];
            if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
                break;
            for (int i = 0; i < 6; i++)
                base[len + (size_t)i] = ALNUM[rnd[i] % 62];
            base[len + 6] = 0;
            r = mkdirat(dfd, base, 0700);
        }
        if (r == 0)
            snprintf(j->made, sizeof j->made, "%s%s", j->path, base + len);
    }
    j->result = r == 0 ? 0 : -errno;
    close(dfd);
}

static void w_rename(void *arg, const atomic_bool *stop)
{
    (void)stop;
    job *j = arg;
    char b1[NAME_MAX + 1], b2[NAME_MAX + 1];
    int d1 = rt_sys_parent_fd(j->dirs, j->path, b1, sizeof b1);
    if (d1 < 0) {
        j->result = d1;
        return;
    }
    int d2 = rt_sys_parent_fd(j->dirs2, j->path2, b2, sizeof b2);
    if (d2 < 0) {
        j->result = d2;
        j->done = 1; /* the second path's */
        close(d1);
        return;
    }
    j->result = renameat(d1, b1, d2, b2) == 0 ? 0 : -errno;
    close(d1);
    close(d2);
}

/* Runs job j with fn; 0, or -1 after raising (a limit; or the result
 * was an error: the OS's, as an IOError subclass, or what was opened
 * was outside the allowed folders). */
static int run(kiln_vm *vm, void (*fn)(void *, const atomic_bool *), job *j, const char *op)
{
    j->result = NOT_RUN;
    if (std_work(vm, fn, j))
        return -1;
    const char *path = j->path2 && j->done ? j->path2 : j->path; /* rename's to: its fault */
    if (j->result == RT_SYS_OUTSIDE) {
        rt_sys_outside(vm, op, path);
        return -1;
    }
    if (j->result < 0) {
        if (j->path2 && !j->done)
            rt_raise_errno(vm, (int)-j->result, "%s %.300s %.300s", op, j->path, j->path2);
        else
            rt_raise_errno(vm, (int)-j->result, "%s %.300s", op, path);
        return -1;
    }
    return 0;
}

/* ---- Paths and permissions ---- */

static const char *path_arg(kiln_vm *vm, vm_value *a, int i, const char *op)
{
    if (!a[i].s) {
        rt_raise(vm, RT_ERR_NULL, "%s: the path is null", op);
        return NULL;
    }
    if (memchr(a[i].s->data, 0, a[i].s->len)) { /* the system would read less */
        rt_raise(vm, RT_ERR_VALUE, "%s: the path holds a NUL byte", op);
        return NULL;
    }
    return a[i].s->data;
}

static const char *const *dirs_of(kiln_vm *vm, unsigned bit)
{
    return bit == VM_ALLOW_READ ? vm->cfg.read_dirs : vm->cfg.write_dirs;
}

/* The path argument a[0], checked for `bit`: NULL after raising. */
static const char *checked(kiln_vm *vm, vm_value *a, unsigned bit, const char *op)
{
    const char *path = path_arg(vm, a, 0, op);
    return path && rt_sys_check(vm, bit, op, path) ? path : NULL;
}

/* ---- Open files ---- */

/* An open file. Reads go through buf (bytes start..end unread), which
 * read_line needs and which is charged to the heap. `busy` while a
 * fiber waits in a call on it: another fiber's call is refused. */
typedef struct {
    int fd;
    char mode; /* 'r', 'w', 'a' */
    bool busy, eof;
    char *buf;
    size_t start, end, cap;
} fs_file;

enum { FILE_BUF = 65536, READ_MAX = UINT32_MAX - 64 }; /* READ_MAX: the longest string */

static void file_free(kiln_vm *vm, fs_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->buf);
    gc_release(&vm->heap, f->cap);
    free(f);
}

static void file_close(kiln_vm *vm, void *ptr)
{
    file_free(vm, ptr);
}

/* Opens path (how: RT_FD_READ, WRITE or APPEND) into a new fs_file, or
 * NULL after raising. */
static fs_file *file_open(kiln_vm *vm, const char *path, int how, const char *op)
{
    unsigned bit = how == RT_FD_READ ? VM_ALLOW_READ : VM_ALLOW_WRITE;
    if (!rt_sys_check(vm, bit, op, path))
        return NULL;
    fs_file *f = calloc(1, sizeof *f);
    if (!f) {
        rt_raise(vm, RT_ERR_OOM, "%s: out of memory", op);
        return NULL;
    }
    job j = {.dirs = dirs_of(vm, bit), .path = path, .how = how};
    int rc = run(vm, w_open, &j, op);
    if (rc) {
        if (j.result >= 0 && j.result != NOT_RUN)
            close((int)j.result); /* opened, but the wait was stopped */
        free(f);
        return NULL;
    }
    f->fd = (int)j.result;
    f->mode = how == RT_FD_READ ? 'r' : how == RT_FD_WRITE ? 'w' : 'a';
    return f;
}

/* Reads more into f's buffer (growing it when full): bytes read (0 at
 * the end), or -1 after raising. */
static int64_t fill(kiln_vm *vm, fs_file *f, const char *op)
{
    if (f->start > 0 && f->start == f->end)
        f->start = f->end = 0;
    if (f->cap - f->end < FILE_BUF / 4 && f->start > 0) { /* room at the front */
        memmove(f->buf, f->buf + f->start, f->end - f->start);
        f->end -= f->start;
        f->start = 0;
    }
    if (f->cap - f->end < FILE_BUF / 4) {
        size_t cap = f->cap ? f->cap * 2 : FILE_BUF;
        if (cap > (size_t)READ_MAX + FILE_BUF || !gc_reserve(&vm->heap, cap - f->cap)) {
            rt_raise(vm, RT_ERR_OOM, "%s: out of memory (%s)", op,
                     vm->heap.limit ? "it does not fit in the heap limit"
                                    : "longer than the longest string");
            return -1;
        }
        char *more = realloc(f->buf, cap);
        if (!more) {
            gc_release(&vm->heap, cap - f->cap);
            rt_raise(vm, RT_ERR_OOM, "%s: out of memory", op);
            return -1;
        }
        f->buf = more;
        f->cap = cap;
    }
    job j = {.fd = f->fd, .buf = f->buf + f->end, .n = f->cap - f->end, .path = "(file)"};
    j.result = NOT_RUN;
    if (std_work(vm, w_read, &j))
        return -1;
    if (j.result < 0) {
        rt_raise_errno(vm, (int)-j.result, "%s", op);
        return -1;
    }
    f->end += (size_t)j.result;
    if (j.result == 0)
        f->eof = true;
    return j.result;
}

/* The File argument a[0], ready for a call of `op` needing `mode` ('r',
 * or 'w' for a file opened to write or append): NULL after raising. The
 * caller sets busy around its waits. */
static fs_file *file_arg(kiln_vm *vm, vm_value *a, char mode, const char *op)
{
    vm_resobj *o = vm_res_of(vm, a[0], op);
    if (!o)
        return NULL;
    fs_file *f = o->ptr;
    if (f->busy) {
        rt_raise(vm, RT_ERR_IO, "%s: another fiber is using this File", op);
        return NULL;
    }
    if ((mode == 'r') != (f->mode == 'r')) {
        rt_raise(vm, RT_ERR_IO, "%s: the File is open to %s", op,
                 f->mode == 'r' ? "read" : "write");
        return NULL;
    }
    return f;
}

/* The string of f's buffered bytes start..start+n, taken off the buffer. */
static vm_str *take(kiln_vm *vm, fs_file *f, size_t n, size_t skip)
{
    vm_str *s = vm_str_new(vm, n ? f->buf + f->start : "", n);
    if (s)
        f->start += n + skip;
    return s;
}

/* Reads until `want` bytes are buffered or the end: 0, or -1 after raising. */
static int fill_to(kiln_vm *vm, fs_file *f, size_t want, const char *op)
{
    while (f->end - f->start < want && !f->eof)
        if (fill(vm, f, op) < 0)
            return -1;
    return 0;
}

static int f_read(kiln_vm *vm, vm_value *a, vm_value *r)
{
    fs_file *f = file_arg(vm, a, 'r', "File.read");
    if (!f)
        return -1;
    if (a[1].i < 0) {
        rt_raise(vm, RT_ERR_VALUE, "File.read: %lld bytes is negative", (long long)a[1].i);
        return -1;
    }
    size_t want = (uint64_t)a[1].i > READ_MAX ? READ_MAX : (size_t)a[1].i;
    f->busy = true;
    int rc = fill_to(vm, f, want, "File.read");
    f->busy = false;
    if (rc)
        return -1;
    size_t have = f->end - f->start;
    r->s = take(vm, f, have < want ? have : want, 0);
    return r->s ? 0 : -1;
}

static int f_read_all(kiln_vm *vm, vm_value *a, vm_value *r)
{
    fs_file *f = file_arg(vm, a, 'r', "File.read_all");
    if (!f)
        return -1;
    f->busy = true;
    int rc = fill_to(vm, f, (size_t)READ_MAX + 1, "File.read_all");
    f->busy = false;
    if (rc)
        return -1;
    r->s = take(vm, f, f->end - f->start, 0);
    return r->s ? 0 : -1;
}

/* The first "\n" of f's buffered bytes past the first `from`, or NULL. */
static char *newline(const fs_file *f, size_t from)
{
    size_t n = f->end - f->start;
    return n > from ? memchr(f->buf + f->start + from, '\n', n - from) : NULL;
}

/* The next line without its "\n" (and a "\r" before it), or null at the
 * end. */
static int f_read_line(kiln_vm *vm, vm_value *a, vm_value *r)
{
    fs_file *f = file_arg(vm, a, 'r', "File.read_line");
    if (!f)
        return -1;
    size_t scanned = 0;
    char *nl;
    f->busy = true;
    while (!(nl = newline(f, scanned)) && !f->eof) {
        scanned = f->end - f->start;
        if (scanned > READ_MAX || fill(vm, f, "File.read_line") < 0) {
            f->busy = false;
            if (scanned > READ_MAX)
                rt_raise(vm, RT_ERR_OOM,
                         "File.read_line: out of memory (a line longer than the "
                         "longest string)");
            return -1;
        }
    }
    f->busy = false;
    size_t n = nl ? (size_t)(nl - (f->buf + f->start)) : f->end - f->start;
    if (!nl && n == 0) {
        r->s = NULL;
        return 0;
    }
    size_t cr = n > 0 && f->buf[f->start + n - 1] == '\r';
    r->s = take(vm, f, n - cr, cr + (nl != NULL));
    return r->s ? 0 : -1;
}

/* Writes s whole to fd: 0, or -1 after raising. */
static int write_all(kiln_vm *vm, int fd, const vm_str *s, const char *op, const char *path)
{
    job j = {.fd = fd, .data = s->data, .n = s->len, .path = path};
    j.result = NOT_RUN;
    if (std_work(vm, w_write, &j))
        return -1;
    if (j.result < 0) {
        rt_raise_errno(vm, (int)-j.result, "%s %.300s", op, path);
        return -1;
    }
    return 0;
}

static int f_write(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    fs_file *f = file_arg(vm, a, 'w', "File.write");
    if (!f)
        return -1;
    if (!a[1].s) {
        rt_raise(vm, RT_ERR_NULL, "File.write: the text is null");
        return -1;
    }
    f->busy = true;
    int rc = write_all(vm, f->fd, a[1].s, "File.write", "(file)");
    f->busy = false;
    return rc;
}

int std_res_closing(kiln_vm *vm, vm_value v, const char *what, vm_resobj **out)
{
    vm_resobj *o = v.p;
    *out = NULL;
    if (!o) {
        rt_raise(vm, RT_ERR_NULL, "%s of null", what);
        return -1;
    }
    if (o->obj.kind != VM_OBJ_RES) {
        rt_raise(vm, RT_ERR_VALUE, "%s: not an object the runtime made", what);
        return -1;
    }
    *out = o->ptr ? o : NULL;
    return 0;
}

static int f_close(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    vm_resobj *o;
    if (std_res_closing(vm, a[0], "File.close", &o))
        return -1;
    if (!o)
        return 0; /* closed already: nothing */
    if (((fs_file *)o->ptr)->busy) {
        rt_raise(vm, RT_ERR_IO, "File.close: another fiber is using this File");
        return -1;
    }
    vm_res_close(vm, o);
    return 0;
}

/* fs.open(path, mode): "r" to read, "w" to write (created or emptied),
 * "a" to append (created). */
static int f_open(kiln_vm *vm, vm_value *a, vm_value *r)
{
    const char *path = path_arg(vm, a, 0, "fs.open");
    if (!path)
        return -1;
    if (!a[1].s) {
        rt_raise(vm, RT_ERR_NULL, "fs.open: the mode is null");
        return -1;
    }
    const char *m = a[1].s->data;
    int how = !strcmp(m, "r")   ? RT_FD_READ
              : !strcmp(m, "w") ? RT_FD_WRITE
              : !strcmp(m, "a") ? RT_FD_APPEND
                                : -1;
    if (how < 0 || a[1].s->len != 1) {
        rt_raise(vm, RT_ERR_VALUE, "fs.open: the mode is \"r\", \"w\" or \"a\", not \"%.40s\"", m);
        return -1;
    }
    fs_file *f = file_open(vm, path, how, "fs.open");
    if (!f)
        return -1;
    vm_resobj *o = vm_res_new(vm, "File", f, file_close);
    if (!o) {
        file_free(vm, f);
        return -1;
    }
    r->p = &o->obj;
    return 0;
}

/* ---- Whole files ---- */

static int f_read_file(kiln_vm *vm, vm_value *a, vm_value *r)
{
    const char *path = path_arg(vm, a, 0, "fs.read_file");
    fs_file *f = path ? file_open(vm, path, RT_FD_READ, "fs.read_file") : NULL;
    if (!f)
        return -1;
    int rc = fill_to(vm, f, (size_t)READ_MAX + 1, "fs.read_file");
    r->s = rc ? NULL : take(vm, f, f->end - f->start, 0);
    file_free(vm, f);
    return r->s ? 0 : -1;
}

static int write_file(kiln_vm *vm, vm_value *a, int how, const char *op)
{
    const char *path = path_arg(vm, a, 0, op);
    if (!path)
        return -1;
    if (!a[1].s) {
        rt_raise(vm, RT_ERR_NULL, "%s: the text is null", op);
        return -1;
    }
    fs_file *f = file_open(vm, path, how, op);
    if (!f)
        return -1;
    int rc = write_all(vm, f->fd, a[1].s, op, path);
    file_free(vm, f);
    return rc;
}

static int f_write_file(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    return write_file(vm, a, RT_FD_WRITE, "fs.write_file");
}

static int f_append_file(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    return write_file(vm, a, RT_FD_APPEND, "fs.append_file");
}

/* ---- Folders and names ---- */

/* A field of the prelude class c by name, or -1. */
static int field_of(const vm_image *im, const vm_class *c, const char *name, uint16_t type)
{
    for (uint16_t i = 0; i < c->nfields; i++)
        if (!strcmp(vm_image_str(im, c->field_names[i]), name) && c->field_types[i] == type)
            return i;
    return -1;
}

/* A new FileInfo for st: NULL after raising. */
static vm_inst *file_info(kiln_vm *vm, const struct stat *st)
{
    const vm_image *im = &vm->img;
    for (uint32_t i = 0; i < im->nclasses; i++) {
        const vm_class *c = &im->classes[i];
        if (strcmp(vm_image_str(im, c->name), "FileInfo"))
            continue;
        int size = field_of(im, c, "size", VM_T_INT), dir = field_of(im, c, "is_dir", VM_T_BOOL),
            file = field_of(im, c, "is_file", VM_T_BOOL),
            mtime = field_of(im, c, "mtime", VM_T_FLOAT);
        if (size < 0 || dir < 0 || file < 0 || mtime < 0)
            break;
        vm_inst *o = vm_inst_new(vm, &vm->classes[i]);
        if (!o)
            return NULL;
        o->fields[size].i = (int64_t)st->st_size;
        o->fields[dir].i = S_ISDIR(st->st_mode);
        o->fields[file].i = S_ISREG(st->st_mode);
        o->fields[mtime].f = (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9;
        return o;
    }
    rt_raise(vm, RT_ERR_ERROR, "this program has no class FileInfo");
    return NULL;
}

static int f_stat(kiln_vm *vm, vm_value *a, vm_value *r)
{
    const char *path = checked(vm, a, VM_ALLOW_READ, "fs.stat");
    if (!path)
        return -1;
    job j = {.dirs = vm->cfg.read_dirs, .path = path};
    if (run(vm, w_stat, &j, "fs.stat"))
        return -1;
    vm_inst *o = file_info(vm, &j.st);
    r->p = o ? &o->obj : NULL;
    return o ? 0 : -1;
}

/* fs.exists(path): false when a name of the path is missing (ENOENT, or
 * ENOTDIR: a file where a folder should be); other faults raise. */
static int f_exists(kiln_vm *vm, vm_value *a, vm_value *r)
{
    const char *path = checked(vm, a, VM_ALLOW_READ, "fs.exists");
    if (!path)
        return -1;
    job j = {.dirs = vm->cfg.read_dirs, .path = path, .result = NOT_RUN};
    if (std_work(vm, w_stat, &j))
        return -1;
    if (j.result == -ENOENT || j.result == -ENOTDIR) {
        r->i = 0;
        return 0;
    }
    if (j.result == RT_SYS_OUTSIDE) {
        rt_sys_outside(vm, "fs.exists", path);
        return -1;
    }
    if (j.result < 0) {
        rt_raise_errno(vm, (int)-j.result, "fs.exists %.300s", path);
        return -1;
    }
    r->i = 1;
    return 0;
}

static int f_list_dir(kiln_vm *vm, vm_value *a, vm_value *r)
{
    const char *path = checked(vm, a, VM_ALLOW_READ, "fs.list_dir");
    if (!path)
        return -1;
    job j = {.dirs = vm->cfg.read_dirs, .path = path};
    int rc = run(vm, w_list, &j, "fs.list_dir");
    vm_array *out = rc ? NULL : vm_array_new(vm, 0, 0, true);
    if (out && vm_root_push(vm, out)) {
        for (size_t i = 0; i < j.n && out; i++)
            if (!std_push_str(vm, out, j.names[i], strlen(j.names[i])))
                out = NULL;
        vm_root_pop(vm, 1);
    }
    free_names(&j);
    r->p = out ? &out->obj : NULL;
    return out ? 0 : -1;
}

static int change(kiln_vm *vm, vm_value *a, int how, const char *op)
{
    /* removing a symlink removes it, wherever it leads */
    const char *path = checked(vm, a, VM_ALLOW_WRITE | (how == OP_REMOVE ? RT_SYS_NAME : 0), op);
    if (!path)
        return -1;
    job j = {.dirs = vm->cfg.write_dirs, .path = path, .how = how};
    return run(vm, w_change, &j, op);
}

static int f_mkdir(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    return change(vm, a, OP_MKDIR, "fs.mkdir");
}

static int f_remove(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    return change(vm, a, OP_REMOVE, "fs.remove");
}

/* fs.temp_dir(prefix): a new folder named prefix and 6 random characters
 * ("/tmp/app-" gives "/tmp/app-x3Fq9Z"), its path. */
static int f_temp_dir(kiln_vm *vm, vm_value *a, vm_value *r)
{
    const char *path = checked(vm, a, VM_ALLOW_WRITE, "fs.temp_dir");
    if (!path)
        return -1;
    job j = {.dirs = vm->cfg.write_dirs, .path = path, .how = OP_TEMP};
    if (run(vm, w_change, &j, "fs.temp_dir"))
        return -1;
    r->s = vm_str_cstr(vm, j.made);
    return r->s ? 0 : -1;
}

static int f_rename(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    const char *from = path_arg(vm, a, 0, "fs.rename"), *to = path_arg(vm, a, 1, "fs.rename");
    if (!from || !to || !rt_sys_check(vm, VM_ALLOW_WRITE | RT_SYS_NAME, "fs.rename", from) ||
        !rt_sys_check(vm, VM_ALLOW_WRITE | RT_SYS_NAME, "fs.rename", to))
        return -1;
    job j = {.dirs = vm->cfg.write_dirs, .dirs2 = vm->cfg.write_dirs, .path = from, .path2 = to};
    return run(vm, w_rename, &j, "fs.rename");
}

static const char *const FILE_R[] = {"File", NULL};
static const char *const FILE_V[] = {"File", NULL, NULL};
static const char *const OPEN[] = {NULL, NULL, "File"};
static const char *const INFO[] = {NULL, "FileInfo"};

const vm_native std_fs_natives[] = {
    STD_TYPED("fs.open", "ss", 'T', OPEN, f_open),
    STD_TYPED("__fs_read", "Ti", 's', FILE_V, f_read),
    STD_TYPED("__fs_read_all", "T", 's', FILE_R, f_read_all),
    STD_TYPED("__fs_read_line", "T", 's', FILE_R, f_read_line),
    STD_TYPED("__fs_write", "Ts", 'v', FILE_V, f_write),
    STD_TYPED("__fs_close", "T", 'v', FILE_R, f_close),
    STD_NATIVE("fs.read_file", "s", 's', f_read_file),
    STD_NATIVE("fs.write_file", "ss", 'v', f_write_file),
    STD_NATIVE("fs.append_file", "ss", 'v', f_append_file),
    STD_TYPED("fs.stat", "s", 'T', INFO, f_stat),
    STD_NATIVE("fs.exists", "s", 'b', f_exists),
    STD_NATIVE("fs.list_dir", "s", 'S', f_list_dir),
    STD_NATIVE("fs.mkdir", "s", 'v', f_mkdir),
    STD_NATIVE("fs.remove", "s", 'v', f_remove),
    STD_NATIVE("fs.rename", "ss", 'v', f_rename),
    STD_NATIVE("fs.temp_dir", "s", 's', f_temp_dir),
};
const size_t std_fs_count = sizeof std_fs_natives / sizeof std_fs_natives[0];
