/*
 * std_io.c — the io module: lines from standard input, whole files, and
 * printing to standard error. Failures are IOError with the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/rt.h"
#include "std.h"

/* What a read may gather: it becomes one string in the heap, so no more
 * than the heap limit or the longest string allows. */
static size_t read_cap(const kiln_vm *vm)
{
    size_t cap = UINT32_MAX - 64;
    return vm->cfg.heap_limit && vm->cfg.heap_limit < cap ? vm->cfg.heap_limit : cap;
}

/* A read that ran out of memory or past read_cap: false after raising
 * OutOfMemoryError. */
static bool read_fits(kiln_vm *vm, vm_buf *b, const char *what, const char *path)
{
    size_t cap = read_cap(vm);
    if (!b->oom && b->len <= cap)
        return true;
    vm_buf_free(b);
    if (b->oom)
        rt_raise(vm, RT_ERR_OOM, "%s%s%.300s: out of memory", what, path ? " " : "",
                 path ? path : "");
    else
        rt_raise(vm, RT_ERR_OOM, "%s%s%.300s: more than %zu bytes (%s)", what, path ? " " : "",
                 path ? path : "", cap,
                 cap == vm->cfg.heap_limit ? "the heap limit" : "the longest string");
    return false;
}

/* io.read_line(): the next line of standard input without its newline,
 * or null at the end of input. */
static int i_read_line(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)a;
    if (!rt_sys_check(vm, VM_ALLOW_READ, "io.read_line", NULL))
        return -1;
    vm_buf line = {0};
    size_t cap = read_cap(vm);
    int c = 0;
    while (!line.oom && line.len <= cap && (c = getchar()) != EOF && c != '\n') {
        char ch = (char)c;
        vm_buf_put(&line, &ch, 1);
    }
    if (!read_fits(vm, &line, "io.read_line", NULL))
        return -1;
    if (c == EOF && line.len == 0) {
        r->s = NULL;
        return 0;
    }
    if (line.len && line.data[line.len - 1] == '\r')
        line.len--;
    r->s = vm_str_new(vm, line.data, line.len);
    vm_buf_free(&line);
    return r->s ? 0 : -1;
}

static const char *path_of(kiln_vm *vm, vm_value *a, const char *fn)
{
    if (!a[0].s) {
        rt_raise(vm, RT_ERR_NULL, "%s: the path is null", fn);
        return NULL;
    }
    return a[0].s->data;
}

static int i_read_file(kiln_vm *vm, vm_value *a, vm_value *r)
{
    const char *path = path_of(vm, a, "io.read_file");
    if (!path || !rt_sys_check(vm, VM_ALLOW_READ, "io.read_file", path))
        return -1;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        rt_raise(vm, RT_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    vm_buf data = {0};
    char chunk[65536];
    size_t n, cap = read_cap(vm);
    while (!data.oom && data.len <= cap && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        vm_buf_put(&data, chunk, n);
    int err = ferror(fp) ? errno : 0;
    fclose(fp);
    if (err) {
        vm_buf_free(&data);
        rt_raise(vm, RT_ERR_IO, "cannot read %s: %s", path, strerror(err));
        return -1;
    }
    if (!read_fits(vm, &data, "io.read_file", path))
        return -1;
    r->s = vm_str_new(vm, data.data, data.len);
    vm_buf_free(&data);
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
    if (!rt_sys_check(vm, VM_ALLOW_WRITE, "io.write_file", path))
        return -1;
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(a[1].s->data, 1, a[1].s->len, fp) != a[1].s->len || fclose(fp) != 0) {
        int e = errno;
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
