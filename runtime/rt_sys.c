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
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt.h"

/* The absolute, symlink-free form of `path` in out (PATH_MAX bytes); for
 * a file that does not exist, its folder's, plus its name. Whatever else
 * realpath refuses is refused: a dangling symlink (the name exists, its
 * target does not: creating the file would create the target, wherever it
 * is), a symlink loop, a folder that cannot be read. */
static bool resolve(const char *path, char *out)
{
    if (realpath(path, out))
        return true;
    struct stat st;
    if (errno != ENOENT || lstat(path, &st) == 0)
        return false;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[PATH_MAX];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    char real[PATH_MAX];
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || !realpath(dir, real))
        return false;
    int n = snprintf(out, PATH_MAX, "%s%s%s", real, strcmp(real, "/") ? "/" : "", base);
    return n > 0 && n < PATH_MAX;
}

/* Is the resolved path inside one of the folders of `dirs`? */
static bool inside(const char *resolved, const char *const *dirs)
{
    for (; *dirs; dirs++) {
        char real[PATH_MAX];
        if (!realpath(*dirs, real))
            continue;
        size_t n = strlen(real);
        if (!strcmp(real, "/") ||
            (!strncmp(resolved, real, n) && (resolved[n] == '/' || resolved[n] == 0)))
            return true;
    }
    return false;
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

bool rt_sys_allowed(kiln_vm *vm, unsigned bit, const char *op, const char *path, char *why,
                    size_t whylen)
{
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
        if (!resolve(path, resolved) || !inside(resolved, dirs)) {
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
