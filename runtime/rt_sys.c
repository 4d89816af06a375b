/*
 * rt_sys.c — interposition: the one check every host access of the
 * standard library goes through. The embedder's kiln_config.allow bits say
 * what the guest may do; read_dirs / write_dirs confine file access to
 * folders. A path is resolved first (symlinks and `..` followed, by
 * realpath; a file that does not exist yet by its folder, but never a
 * dangling symlink, which opening it would follow), so neither can lead
 * out of an allowed folder. With KILN_FLAG_TRACE_SYS each access and
 * the decision go to the guest's stderr stream (the write hook).
 */
#define _GNU_SOURCE /* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "rt.h"

/* The absolute, symlink-free form of `path` in out (PATH_MAX bytes); for
 * a path whose last names do not exist, the real path of the longest
 * part that does, plus those names (none "." or "..": what is missing
 * cannot be gone through), so "A/new/file" is inside A. Whatever else
 * realpath refuses is refused: a dangling symlink (the name exists, its
 * target does not: creating the file would create the target, wherever
 * it is), a symlink loop, a folder that cannot be read. This is the check
 * before a call; what a call opens is checked again (fd_inside). */
static bool resolve(const char *path, char *out)
{
    if (realpath(path, out))
        return true;
    size_t len = strlen(path);
    if ((errno != ENOENT && errno != ENOTDIR) || len >= PATH_MAX)
        return false;
    char head[PATH_MAX];
    memcpy(head, path, len + 1);
    size_t tail = len; /* the missing names are path[tail..] */
    for (;;) {
        struct stat st;
        if (lstat(head, &st) == 0) /* there, but it does not resolve */
            return false;
        char *slash = strrchr(head, '/');
        const char *base = slash ? slash + 1 : head;
        if (!strcmp(base, ".") || !strcmp(base, "..") || (!*base && (!slash || slash == head)))
            return false;
        if (*base) /* a name; "a//b" has an empty one between */
            tail = (size_t)(base - head);
        if (!slash)
            snprintf(head, sizeof head, ".");
        else if (slash == head)
            head[1] = 0; /* "/" */
        else
            *slash = 0;
        char real[PATH_MAX];
        if (realpath(head, real)) {
            int n =
                snprintf(out, PATH_MAX, "%s%s%s", real, strcmp(real, "/") ? "/" : "", path + tail);
            return n > 0 && n < PATH_MAX;
        }
        if ((errno != ENOENT && errno != ENOTDIR) || !strcmp(head, ".") || !strcmp(head, "/"))
            return false;
    }
}

/* Is the resolved path inside one of the folders of `dirs` (real paths,
 * rt_sys_real_dirs)? They are not resolved again: a folder the guest may
 * rename (a read folder inside a write folder) could be a symlink by now. */
static bool inside(const char *resolved, const char *const *dirs)
{
    for (; *dirs; dirs++) {
        size_t n = strlen(*dirs);
        if (!strcmp(*dirs, "/") ||
            (!strncmp(resolved, *dirs, n) && (resolved[n] == '/' || resolved[n] == 0)))
            return true;
    }
    return false;
}

bool rt_sys_real_dirs(const char *const *dirs, const char *const **out)
{
    *out = NULL;
    if (!dirs)
        return true;
    size_t n = 0, k = 0;
    while (dirs[n])
        n++;
    char **real = calloc(n + 1, sizeof *real);
    if (!real)
        return false;
    for (size_t i = 0; i < n; i++) {
        char buf[PATH_MAX];
        if (!realpath(dirs[i], buf)) /* missing now: allows nothing */
            continue;
        if (!(real[k++] = strdup(buf))) {
            rt_sys_free_dirs((const char *const *)real);
            return false;
        }
    }
    *out = (const char *const *)real;
    return true;
}

void rt_sys_free_dirs(const char *const *dirs)
{
    for (size_t i = 0; dirs && dirs[i]; i++)
        free((char *)dirs[i]);
    free((void *)dirs);
}

static void trace(kiln_vm *vm, const char *op, const char *arg, const char *decision)
{
    if (!(vm->cfg.trace_sys))
        return;
    char line[PATH_MAX + 512];
    int n = snprintf(line, sizeof line, "[sys] %s%s%s: %s\n", op, arg ? " " : "", arg ? arg : "",
                     decision);
    if (n > 0)
        vm_write(vm, 2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

bool rt_sys_check_ffi(kiln_vm *vm, const char *op, const char *lib, const char *sym)
{
    char what[PATH_MAX + 256]; /* whole: a trace must show what was loaded */
    snprintf(what, sizeof what, "%s%s%s", lib, sym ? " " : "", sym ? sym : "");
    if (!(vm->cfg.allow & VM_ALLOW_FFI))
        return rt_sys_check(vm, VM_ALLOW_FFI, op, what);
    const char *const *libs = vm->cfg.ffi_libs;
    while (libs && *libs && strcmp(*libs, lib))
        libs++;
    if (libs && !*libs) {
        trace(vm, op, what, "denied (not an allowed library)");
        rt_raise(vm, RT_ERR_PERM, "%s %.400s%s: not an allowed library", op, what,
                 strlen(what) > 400 ? "..." : "");
        return false;
    }
    trace(vm, op, what, "allowed");
    return true;
}

/* Is `what` in the embedder's list (NULL: anything)? `match` compares
 * one entry. Traced and raised for `op` like rt_sys_check. */
static bool listed(kiln_vm *vm, unsigned bit, const char *op, const char *what,
                   const char *const *list, bool (*match)(const char *entry, const char *what),
                   const char *denied)
{
    if (!(vm->cfg.allow & bit))
        return rt_sys_check(vm, bit, op, what);
    while (list && *list && !match(*list, what))
        list++;
    if (list && !*list) {
        char why[64];
        snprintf(why, sizeof why, "denied (%s)", denied);
        trace(vm, op, what, why);
        rt_raise(vm, RT_ERR_PERM, "%s %.400s%s: %s", op, what, strlen(what) > 400 ? "..." : "",
                 denied);
        return false;
    }
    trace(vm, op, what, "allowed");
    return true;
}

/* "host:port" against an entry "host:port" or "host:*". */
static bool host_matches(const char *entry, const char *what)
{
    const char *colon = strrchr(entry, ':');
    if (colon && !strcmp(colon, ":*"))
        return !strncmp(entry, what, (size_t)(colon - entry + 1)) &&
               strrchr(what, ':') == what + (colon - entry);
    return !strcmp(entry, what);
}

static bool same(const char *entry, const char *what)
{
    return !strcmp(entry, what);
}

bool rt_sys_check_net(kiln_vm *vm, const char *op, const char *host, int port)
{
    char what[320];
    snprintf(what, sizeof what, strchr(host, ':') ? "[%.256s]:%d" : "%.256s:%d", host, port);
    return listed(vm, VM_ALLOW_NET, op, what, vm->cfg.net_hosts, host_matches,
                  "not an allowed host and port");
}

bool rt_sys_check_run(kiln_vm *vm, const char *op, const char *program)
{
    return listed(vm, VM_ALLOW_RUN, op, program, vm->cfg.run_programs, same,
                  "not an allowed program");
}

/* resolve() for the path's folder, plus its last name as it is (not
 * followed); a path ending in "/", "." or ".." is resolved whole. */
static bool resolve_name(const char *path, char *out)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return resolve(path, out);
    char dir[PATH_MAX], real[PATH_MAX];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return false;
    if (!resolve(dir, real))
        return false;
    int n = snprintf(out, PATH_MAX, "%s%s%s", real, strcmp(real, "/") ? "/" : "", base);
    return n > 0 && n < PATH_MAX;
}

bool rt_sys_allowed(kiln_vm *vm, unsigned bit, const char *op, const char *path, char *why,
                    size_t whylen)
{
    bool name = bit & RT_SYS_NAME;
    bit &= ~(unsigned)RT_SYS_NAME;
    if (!(vm->cfg.allow & bit)) {
        trace(vm, op, path, "denied");
        snprintf(why, whylen, "%s%s%.300s%s: not allowed", op, path ? " " : "", path ? path : "",
                 path && strlen(path) > 300 ? "..." : "");
        return false;
    }
    const char *const *dirs = bit == VM_ALLOW_READ    ? vm->cfg.read_dirs
                              : bit == VM_ALLOW_WRITE ? vm->cfg.write_dirs
                                                      : NULL;
    if (path && dirs) {
        char resolved[PATH_MAX];
        if (!(name ? resolve_name(path, resolved) : resolve(path, resolved)) ||
            !inside(resolved, dirs)) {
            trace(vm, op, path, "denied (outside the allowed folders)");
            snprintf(why, whylen, "%s %.300s: outside the allowed folders", op, path);
            return false;
        }
    }
    trace(vm, op, path, "allowed");
    return true;
}

bool rt_sys_check(kiln_vm *vm, unsigned bit, const char *op, const char *path)
{
    char why[400];
    if (rt_sys_allowed(vm, bit, op, path, why, sizeof why))
        return true;
    rt_raise(vm, RT_ERR_PERM, "%s", why);
    return false;
}

/* The real path of what fd is open on (/proc/self/fd), or false: errno
 * ENOENT where /proc is missing, else what fd is open on has no path in
 * a folder (a pipe or socket: "pipe:[N]") or one too long. */
static bool fd_path(int fd, char *out)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, PATH_MAX - 1);
    if (n < 0)
        return false;
    if (n == 0 || n >= PATH_MAX - 1 || out[0] != '/') {
        errno = EINVAL;
        return false;
    }
    out[n] = 0;
    return true;
}

/* Is fd, opened for `path`, what `path` resolves to inside `dirs`? By its
 * real path; where /proc is missing, by the resolved path's inode. */
static bool fd_inside(int fd, const char *path, const char *const *dirs)
{
    char real[PATH_MAX];
    if (fd_path(fd, real))
        return inside(real, dirs);
    struct stat a, b;
    return resolve(path, real) && inside(real, dirs) && fstat(fd, &a) == 0 && stat(real, &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Opens `path` with `flags` only once the file it names is known to be
 * inside `dirs`: first without any effect (O_PATH: no device acts on it,
 * no FIFO waits), checked, then opened for real through that very file
 * (/proc/self/fd/N: no path is resolved again). Without /proc, opened by
 * path and checked after; what has no path (a pipe or socket reached
 * through /proc/self/fd) is outside. The fd, -1 with errno, or -2 when outside. */
static int open_checked(const char *path, int flags, const char *const *dirs)
{
    int pfd = open(path, O_PATH | O_CLOEXEC), fd;
    if (pfd < 0)
        return -1;
    char real[PATH_MAX], link[64];
    if (fd_path(pfd, real)) {
        if (!inside(real, dirs)) {
            close(pfd);
            return -2;
        }
        snprintf(link, sizeof link, "/proc/self/fd/%d", pfd);
        fd = open(link, flags);
    } else if (errno != ENOENT) { /* not a file of a folder: opening the path
                                     again could open what it names by then */
        close(pfd);
        return -2;
    } else {
        fd = open(path, flags);
        if (fd >= 0 && !fd_inside(fd, path, dirs)) {
            close(fd);
            fd = -2;
        }
    }
    int e = errno;
    close(pfd);
    errno = e;
    return fd;
}

/* Opens `path` for writing inside `dirs`: an existing file (through
 * symlinks) checked, then emptied; a new one created by name in its folder,
 * opened and checked first, and never through a symlink (O_EXCL |
 * O_NOFOLLOW: a name that appeared meanwhile is tried again). The fd, -1
 * with errno, or -2 when what it would write is outside. */
static int open_write_inside(const char *path, const char *const *dirs, bool append)
{
    int extra = append ? O_APPEND : 0;
    for (int tries = 0; tries < 4; tries++) {
        int fd = open_checked(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | extra, dirs);
        if (fd == -2)
            return -2;
        if (fd >= 0) {
            if (!append && ftruncate(fd, 0) != 0 &&
                errno != EINVAL) { /* EINVAL: not a file (a pipe) */
                int e = errno;
                close(fd);
                errno = e;
                return -1;
            }
            return fd;
        }
        if (errno != ENOENT)
            return -1;
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1,
                 slash ? (slash == path ? "/" : path) : ".");
        if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
            errno = EISDIR;
            return -1;
        }
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return -1;
        char real[PATH_MAX];
        bool ok = fd_path(dfd, real) ? inside(real, dirs) : fd_inside(dfd, dir, dirs);
        if (!ok) {
            close(dfd);
            return -2;
        }
        fd = openat(dfd, base,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | extra, 0666);
        int e = errno;
        close(dfd);
        if (fd >= 0)
            return fd;
        if (e != EEXIST) {
            errno = e;
            return -1;
        }
        /* It exists now: a file made meanwhile (open it as one), or a
         * dangling symlink (refused after the tries). */
    }
    return -2;
}

FILE *rt_sys_fopen(kiln_vm *vm, unsigned bit, const char *op, const char *path, bool write,
                   char *why, size_t whylen, bool *denied)
{
    *denied = true;
    if (!rt_sys_allowed(vm, bit, op, path, why, whylen))
        return NULL;
    *denied = false;
    const char *const *dirs = write ? vm->cfg.write_dirs : vm->cfg.read_dirs;
    int fd;
    if (!dirs) { /* O_NONBLOCK: opening a FIFO must not wait for its other end */
        fd = write ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
                          0666)
                   : open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    } else if (write) {
        fd = open_write_inside(path, dirs, false);
    } else {
        /* O_NONBLOCK: opening a FIFO must not wait for its writer */
        fd = open_checked(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, dirs);
    }
    if (fd >= 0) { /* reads and writes block as usual */
        int fl = fcntl(fd, F_GETFL);
        if (fl != -1)
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    FILE *fp = fd >= 0 ? fdopen(fd, write ? "wb" : "rb") : NULL;
    if (fp)
        return fp;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (fd == -2) {
        *denied = true;
        trace(vm, op, path, "denied (what was opened is outside the allowed folders)");
        snprintf(why, whylen, "%s %.300s: outside the allowed folders", op, path);
    } else {
        snprintf(why, whylen, "cannot %s %.300s: %s", write ? "write" : "open", path, strerror(e));
    }
    return NULL;
}

FILE *rt_sys_open(kiln_vm *vm, unsigned bit, const char *op, const char *path, bool write)
{
    char why[PATH_MAX + 128];
    bool denied;
    FILE *fp = rt_sys_fopen(vm, bit, op, path, write, why, sizeof why, &denied);
    if (!fp)
        rt_raise(vm, denied ? RT_ERR_PERM : RT_ERR_IO, "%s", why);
    return fp;
}

/* ---- For the fs and process modules ----
 * The opening functions below run on libuv's threadpool: they read no VM
 * state but the folder lists (the embedder's, constant while the VM
 * lives), and neither trace nor raise; the native does that with their
 * result on the VM's thread. */

int rt_sys_open_fd(const char *const *dirs, const char *path, int how)
{
    /* O_NONBLOCK: opening a FIFO does not wait for the other end, and a
     * worker reading a pipe or a terminal polls it, so that it can stop */
    static const int FLAGS[] = {
        [RT_FD_READ] = O_RDONLY | O_NONBLOCK,
        [RT_FD_WRITE] = O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK,
        [RT_FD_APPEND] = O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK,
        [RT_FD_STAT] = O_PATH,
        [RT_FD_DIR] = O_RDONLY | O_DIRECTORY,
    };
    int fd;
    if (how < 0 || how > RT_FD_DIR)
        return -EINVAL;
    if (dirs && (how == RT_FD_WRITE || how == RT_FD_APPEND)) {
        fd = open_write_inside(path, dirs, how == RT_FD_APPEND);
        if (fd == -2)
            return RT_SYS_OUTSIDE;
    } else if (dirs) { /* a read, stat or list: the file is checked before it is opened */
        fd = open_checked(path, FLAGS[how] | O_CLOEXEC | O_NOCTTY, dirs);
        if (fd == -2)
            return RT_SYS_OUTSIDE;
    } else {
        fd = open(path, FLAGS[how] | O_CLOEXEC | O_NOCTTY, 0666);
    }
    if (fd < 0)
        return errno ? -errno : -EIO;
    int fl = fcntl(fd, F_GETFL); /* open_write_inside's new file is blocking */
    if (how != RT_FD_STAT && how != RT_FD_DIR && fl != -1)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    return fd;
}

int rt_sys_parent_fd(const char *const *dirs, const char *path, char *base, size_t baselen)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') /* "dir/" names dir */
        n--;
    const char *end = path + n, *b = end;
    while (b > path && b[-1] != '/')
        b--;
    size_t blen = (size_t)(end - b);
    if (!blen || (blen == 1 && b[0] == '.') || (blen == 2 && b[0] == '.' && b[1] == '.'))
        return -EINVAL; /* "/", ".", "..": no name in a folder */
    if (blen >= baselen)
        return -ENAMETOOLONG;
    memcpy(base, b, blen);
    base[blen] = 0;
    char dir[PATH_MAX];
    size_t dlen = (size_t)(b - path);
    while (dlen > 1 && path[dlen - 1] == '/')
        dlen--;
    if (dlen >= sizeof dir)
        return -ENAMETOOLONG;
    snprintf(dir, sizeof dir, "%.*s", dlen ? (int)dlen : 1, dlen ? path : ".");
    int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return errno ? -errno : -EIO;
    char real[PATH_MAX];
    if (dirs && !(fd_path(dfd, real) ? inside(real, dirs) : fd_inside(dfd, dir, dirs))) {
        close(dfd);
        return RT_SYS_OUTSIDE;
    }
    return dfd;
}

void rt_sys_outside(kiln_vm *vm, const char *op, const char *path)
{
    trace(vm, op, path, "denied (what was opened is outside the allowed folders)");
    rt_raise(vm, RT_ERR_PERM, "%s %.300s: outside the allowed folders", op, path);
}

/* The IOError subclass of the prelude for an errno (docs/language.md,
 * "Built-in error classes"); NULL: IOError itself. */
static const char *errno_class(int err)
{
    switch (err) {
    case ENOENT: return "NotFoundError";
    case EEXIST: return "FileExistsError";
    case EISDIR: return "IsADirectoryError";
    case ENOTDIR: return "NotADirectoryError";
    case ENOTEMPTY: return "NotEmptyError";
    case ECONNREFUSED: return "ConnectionRefusedError";
    case ECONNRESET: return "ConnectionResetError";
    case EPIPE: return "BrokenPipeError";
    case ETIMEDOUT: return "TimeoutError";
    case EADDRINUSE: return "AddressInUseError";
    case EACCES:
    case EPERM: return "PermissionError";
    default: return NULL;
    }
}

void rt_raise_errno(kiln_vm *vm, int err, const char *fmt, ...)
{
    char msg[sizeof vm->ctx->err_msg];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char ename[64], what[128]; /* the _r forms: the others allocate for an unknown error */
    uv_err_name_r(-err, ename, sizeof ename);
    uv_strerror_r(-err, what, sizeof what);
    if ((size_t)n < sizeof msg)
        snprintf(msg + n, sizeof msg - (size_t)n, ": %s: %s", ename, what);
    const char *name = errno_class(err);
    if (name && !strcmp(name, "PermissionError")) {
        rt_raise(vm, RT_ERR_PERM, "%s", msg);
        return;
    }
    rt_raise(vm, RT_ERR_IO, "%s", msg); /* when the subclass cannot be made */
    const vm_image *im = &vm->img;
    const vm_rtclass *c = NULL;
    for (uint32_t i = 0; name && i < im->nclasses && !c; i++) /* the prelude's: the first */
        if (im->classes[i].module == VM_PRELUDE_MODULE &&
            !strcmp(vm_image_str(im, im->classes[i].name), name) && im->classes[i].nfields >= 1 &&
            im->classes[i].field_types[0] == VM_T_STR)
            c = &vm->classes[i];
    if (!c)
        return;
    vm_str *s = vm_str_cstr(vm, msg);
    vm_inst *e = NULL;
    if (s && vm_root_push(vm, s)) {
        e = vm_inst_new(vm, c);
        vm_root_pop(vm, 1);
    }
    if (!e) { /* no memory for it: IOError, from its preallocated path */
        rt_raise(vm, RT_ERR_IO, "%s", msg);
        return;
    }
    e->fields[0].s = s; /* initializing: no barrier (gc.h) */
    vm->ctx->pending = e;
    rt_raise(vm, RT_PENDING, "%s", msg);
}

void rt_nopipe_begin(rt_nopipe *p)
{
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &p->old);
}

void rt_nopipe_end(rt_nopipe *p)
{
    sigset_t pending, pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    /* the write's SIGPIPE is this thread's: taken here (a process-wide
     * one, pending for the process, is left to whichever thread takes it) */
    if (!sigismember(&p->old, SIGPIPE) && sigpending(&pending) == 0 &&
        sigismember(&pending, SIGPIPE))
        while (sigtimedwait(&pipe_only, NULL, &(struct timespec){0, 0}) == SIGPIPE) {
        }
    pthread_sigmask(SIG_SETMASK, &p->old, NULL);
}
