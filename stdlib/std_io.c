/*
 * std_io.c — the io module: lines from standard input (read on libuv's
 * threadpool, so that only the calling fiber waits), whole files, and
 * printing to standard error. Failures are IOError with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/rt.h"
#include "std.h"

/* A read gathers its bytes in blocks of 64 KiB (never moved, so growing
 * costs no copy), each charged to the heap before it is allocated
 * (gc_reserve): a line or a pipe read under --heap-limit stops with
 * OutOfMemoryError when the blocks and the string they become would not
 * fit, instead of growing outside the limit. */
enum { READ_BLOCK = 65536, READ_MAX = UINT32_MAX - 64 }; /* READ_MAX: the longest string */

typedef struct {
    char **blocks;
    size_t nblocks, cap, len; /* len: bytes gathered; the last block holds len % READ_BLOCK */
    bool stopped; /* gc_reserve's collection was stopped: an interrupt or the deadline */
} read_buf;

static bool read_put(kiln_vm *vm, read_buf *rb, const char *p, size_t n)
{
    if (rb->len + n > READ_MAX)
        return false;
    while (n) {
        size_t at = rb->len % READ_BLOCK;
        if (at == 0 && rb->len / READ_BLOCK == rb->nblocks) { /* a new block */
            if (rb->nblocks == rb->cap) {
                size_t cap = rb->cap ? rb->cap * 2 : 16;
                char **more = realloc(rb->blocks, cap * sizeof *more);
                if (!more)
                    return false;
                rb->blocks = more;
                rb->cap = cap;
            }
            if (!gc_reserve(&vm->heap, READ_BLOCK)) {
                rb->stopped = vm->heap.stopped;
                return false;
            }
            char *blk = malloc(READ_BLOCK);
            if (!blk) {
                gc_release(&vm->heap, READ_BLOCK);
                return false;
            }
            rb->blocks[rb->nblocks++] = blk;
        }
        size_t k = READ_BLOCK - at < n ? READ_BLOCK - at : n;
        memcpy(rb->blocks[rb->len / READ_BLOCK] + at, p, k);
        rb->len += k;
        p += k;
        n -= k;
    }
    return true;
}

static char read_last(const read_buf *rb)
{
    return rb->len ? rb->blocks[(rb->len - 1) / READ_BLOCK][(rb->len - 1) % READ_BLOCK] : 0;
}

static void read_free(kiln_vm *vm, read_buf *rb)
{
    for (size_t i = 0; i < rb->nblocks; i++)
        free(rb->blocks[i]);
    free(rb->blocks);
    gc_release(&vm->heap, rb->nblocks * (size_t)READ_BLOCK);
    *rb = (read_buf){0};
}

/* The string of what rb gathered (its blocks freed), or NULL after
 * raising: OutOfMemoryError when `full` (read_put refused more), or the
 * limit that stopped the collection gc_reserve began. */
static vm_str *read_done(kiln_vm *vm, read_buf *rb, bool full, const char *what, const char *path)
{
    if (full && rb->stopped) {
        read_free(vm, rb);
        vm_gc_stopped(vm);
        return NULL;
    }
    if (full) {
        bool longest = rb->len + READ_BLOCK > READ_MAX;
        read_free(vm, rb);
        rt_raise(vm, RT_ERR_OOM, "%s%s%.300s: out of memory (%s)", what, path ? " " : "",
                 path ? path : "",
                 longest          ? "longer than the longest string"
                 : vm->heap.limit ? "it does not fit in the heap limit"
                                  : "the system has no more");
        return NULL;
    }
    vm_str *s = vm_str_new(vm, NULL, rb->len);
    for (size_t i = 0, done = 0; s && done < rb->len; i++) {
        size_t k = rb->len - done < READ_BLOCK ? rb->len - done : READ_BLOCK;
        memcpy(s->data + done, rb->blocks[i], k);
        done += k;
    }
    read_free(vm, rb);
    return s;
}

enum { IN_BLOCK = 4096 }; /* bytes asked of the read hook at once */

typedef struct {
    int fd;
    char *buf;
    size_t n;    /* bytes to read, or to write from buf */
    ssize_t got; /* bytes read (written: n), or -errno */
    size_t done; /* bytes written */
} fd_job;

/* On a worker of the threadpool: the next bytes of fd (stdin, a pipe, a
 * FIFO, a device), waited for in polls that look at the stop flag, so
 * that a limit stops a guest blocked on a terminal or a pipe that stays
 * open and silent (#16 finding 11) and other fibers run meanwhile. */
static void w_read(void *arg, const atomic_bool *stop)
{
    fd_job *j = arg;
    j->got = std_read_fd(j->fd, j->buf, j->n, stop);
}

/* ... and writing all of buf to fd, likewise. */
static void w_write(void *arg, const atomic_bool *stop)
{
    fd_job *j = arg;
    j->got = std_write_fd(j->fd, j->buf, j->n, stop, &j->done);
}

/* Reads the next block of input into vm->in_buf: the bytes read (0 at
 * the end), or -2 after raising. */
static long in_fill(kiln_vm *vm)
{
    if (vm->cfg.read) {
        long n = vm->cfg.read(vm->cfg.userdata, vm->in_buf, IN_BLOCK);
        if (vm_poll_after_native(vm))
            return -2;
        if (n < 0 || n > IN_BLOCK) {
            rt_raise(vm, RT_ERR_IO,
                     "io.read_line: cannot read the input (the read hook returned %ld)", n);
            return -2;
        }
        return n;
    }
    fd_job j = {.fd = 0, .buf = vm->in_buf, .n = IN_BLOCK};
    if (std_work(vm, w_read, &j))
        return -2;
    if (j.got < 0) {
        rt_raise_errno(vm, (int)-j.got, "io.read_line: cannot read stdin");
        return -2;
    }
    return (long)j.got;
}

/* The next byte of the guest's input, through vm->in_buf: from the
 * embedder's read hook (kiln_config.read), else from the process's
 * stdin. EOF at the end of input; -2 after raising (a limit stopped the
 * guest while it waited, the hook or the read failed, or no memory for
 * the buffer). */
static int in_byte(kiln_vm *vm)
{
    if (vm->in_pos < vm->in_len)
        return (unsigned char)vm->in_buf[vm->in_pos++];
    if (vm->in_end)
        return EOF;
    if (!vm->in_buf && !(vm->in_buf = malloc(IN_BLOCK))) {
        rt_raise(vm, RT_ERR_OOM, "io.read_line: out of memory (the input buffer)");
        return -2;
    }
    long n = in_fill(vm);
    if (n < 0)
        return -2;
    vm->in_pos = 0;
    vm->in_len = (size_t)n;
    if (n == 0) {
        vm->in_end = true; /* the end stays the end: the hook is not asked again */
        return EOF;
    }
    return (unsigned char)vm->in_buf[vm->in_pos++];
}

/* io.read_line(): the next line of the guest's input (KILN_ALLOW_STDIN)
 * without its newline, or null at the end of input. */
static int i_read_line(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)a;
    if (!rt_sys_check(vm, VM_ALLOW_STDIN, "io.read_line", NULL))
        return -1;
    if (vm->in_busy) {
        rt_raise(vm, RT_ERR_IO, "io.read_line: another fiber is reading the input");
        return -1;
    }
    read_buf rb = {0};
    int c = 0;
    bool full = false;
    vm->in_busy = true;
    while (!full && (c = in_byte(vm)) >= 0 && c != '\n') {
        char ch = (char)c;
        full = !read_put(vm, &rb, &ch, 1);
    }
    vm->in_busy = false;
    if (c == -2) { /* raised */
        read_free(vm, &rb);
        return -1;
    }
    if (!full && c == EOF && rb.len == 0) {
        read_free(vm, &rb);
        r->s = NULL;
        return 0;
    }
    if (!full && read_last(&rb) == '\r')
        rb.len--;
    r->s = read_done(vm, &rb, full, "io.read_line", NULL);
    return r->s ? 0 : -1;
}

static const char *path_of(kiln_vm *vm, vm_value *a, const char *fn)
{
    if (!a[0].s) {
        rt_raise(vm, RT_ERR_NULL, "%s: the path is null", fn);
        return NULL;
    }
    if (memchr(a[0].s->data, 0, a[0].s->len)) { /* the system would read less */
        rt_raise(vm, RT_ERR_VALUE, "%s: the path holds a NUL byte", fn);
        return NULL;
    }
    return a[0].s->data;
}

static int i_read_file(kiln_vm *vm, vm_value *a, vm_value *r)
{
    const char *path = path_of(vm, a, "io.read_file");
    FILE *fp = path ? rt_sys_open(vm, VM_ALLOW_READ, "io.read_file", path, false) : NULL;
    if (!fp)
        return -1;
    /* A regular file of known size is read straight into its string (the
     * heap limit applies to that one allocation); anything else (a pipe,
     * a device, a file that grew) through a charged buffer. */
    struct stat st = {0};
    vm_str *s = NULL;
    size_t got = 0;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= READ_MAX) {
        s = vm_str_new(vm, NULL, (size_t)st.st_size);
        if (!s) {
            fclose(fp);
            return -1;
        }
        got = fread(s->data, 1, s->len, fp);
        if (got < s->len && !ferror(fp)) { /* it shrank: the part there is */
            s->len = (uint32_t)got;
            s->data[got] = 0;
        }
    }
    read_buf rb = {0};
    bool full = false;
    if (s && got == s->len && !ferror(fp)) {
        int c = fgetc(fp); /* grew since fstat: the rest through the buffer */
        if (c != EOF) {
            vm_root_push(vm, &s->obj);
            char ch = (char)c;
            full = !read_put(vm, &rb, s->data, s->len) || !read_put(vm, &rb, &ch, 1);
            vm_root_pop(vm, 1);
            s = NULL;
        }
    }
    char chunk[65536];
    size_t n;
    bool stopped = false; /* a device without end (/dev/zero) stops at a limit */
    int err = 0;
    if (!s && !S_ISREG(st.st_mode)) { /* a pipe, a FIFO, a device: it may wait */
        int fd = fileno(fp), fl = fcntl(fd, F_GETFL);
        if (fl != -1)
            fcntl(fd, F_SETFL, fl | O_NONBLOCK); /* the file is this call's own open */
        fd_job j = {.fd = fd, .buf = chunk, .n = sizeof chunk, .got = 1};
        while (!full && j.got > 0 && !(stopped = vm_poll_after_native(vm))) {
            j.got = read(fd, chunk,
                         sizeof chunk); /* what is there (a FIFO without a writer: its end) */
            if (j.got < 0 && (errno == EAGAIN || errno == EINTR)) {
                if ((stopped = std_work(vm, w_read, &j) != 0)) /* on a worker, the fiber parked */
                    break;
            } else if (j.got < 0) {
                j.got = -errno;
            }
            if (j.got > 0)
                full = !read_put(vm, &rb, chunk, (size_t)j.got);
        }
        err = !stopped && j.got < 0 ? (int)-j.got : 0;
    } else {
        while (!s && !full && !(stopped = vm_poll_after_native(vm)) &&
               (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
            full = !read_put(vm, &rb, chunk, n);
        err = ferror(fp) ? errno : 0;
    }
    fclose(fp);
    if (stopped) {
        read_free(vm, &rb);
        return -1;
    }
    if (err) {
        read_free(vm, &rb);
        rt_raise(vm, RT_ERR_IO, "cannot read %s: %s", path, strerror(err));
        return -1;
    }
    r->s = s ? s : read_done(vm, &rb, full, "io.read_file", path);
    return r->s ? 0 : -1;
}

static int i_write_file(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    const char *path = path_of(vm, a, "io.write_file");
    if (!path)
        return -1;
    if (!a[1].s) {
        rt_raise(vm, RT_ERR_NULL, "io.write_file: the text is null");
        return -1;
    }
    FILE *fp = rt_sys_open(vm, VM_ALLOW_WRITE, "io.write_file", path, true);
    if (!fp)
        return -1;
    struct stat st;
    bool ok;
    int e = 0;
    if (fstat(fileno(fp), &st) == 0 && !S_ISREG(st.st_mode)) { /* a pipe may fill: wait */
        int fd = fileno(fp), fl = fcntl(fd, F_GETFL);
        if (fl != -1)
            fcntl(fd, F_SETFL, fl | O_NONBLOCK); /* a worker writes what fits, then waits */
        fd_job j = {.fd = fd, .buf = a[1].s->data, .n = a[1].s->len};
        if (std_work(vm, w_write, &j)) { /* a limit stopped it */
            fclose(fp);
            return -1;
        }
        ok = j.got >= 0;
        e = ok ? 0 : (int)-j.got;
    } else {
        ok = fwrite(a[1].s->data, 1, a[1].s->len, fp) == a[1].s->len;
        e = errno;
    }
    if (fclose(fp) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        rt_raise(vm, RT_ERR_IO, "cannot write %s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

/* io.eprint(v): like print, to standard error. */
static int i_eprint_i(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, std_print(vm, 2, 'i', a[0]), 0;
}
static int i_eprint_f(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, std_print(vm, 2, 'f', a[0]), 0;
}
static int i_eprint_b(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, std_print(vm, 2, 'b', a[0]), 0;
}
static int i_eprint_s(kiln_vm *vm, vm_value *a, vm_value *r)
{
    return (void)r, std_print(vm, 2, 's', a[0]), 0;
}

const vm_native std_io_natives[] = {
    STD_NATIVE("io.read_line", "", 's', i_read_line),
    STD_NATIVE("io.read_file", "s", 's', i_read_file),
    STD_NATIVE("io.write_file", "ss", 'v', i_write_file),
    STD_NATIVE("io.eprint", "i", 'v', i_eprint_i),
    STD_NATIVE("io.eprint", "f", 'v', i_eprint_f),
    STD_NATIVE("io.eprint", "b", 'v', i_eprint_b),
    STD_NATIVE("io.eprint", "s", 'v', i_eprint_s),
};
const size_t std_io_count = sizeof std_io_natives / sizeof std_io_natives[0];
