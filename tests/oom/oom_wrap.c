/*
 * oom_wrap.c — failure injection for `make oomtest` (tests/oom/README.md).
 *
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,... (OOM_WRAP in the
 * Makefile), so every call that libkiln's own object files make to these
 * functions comes here first; the C library's and other libraries' own
 * calls do not. Each allocation (malloc, calloc, realloc, strdup, mmap) is
 * numbered from 1; the one numbered `at` fails (returns NULL or
 * MAP_FAILED with errno ENOMEM), and with `from` set every one after it
 * too. Blocks and mapped pages alive are counted, so a driver can tell a leak
 * right after kiln_free. This state is the test's, not the library's.
 *
 * Set in-process with oom_arm, or for a whole process (build/oom/kiln-oom)
 * by the environment: KILN_OOM_AT=N, and KILN_OOM_FROM=1 for "from N on".
 * KILN_OOM_REPORT=FILE: at exit, writes "ALLOCS INJECTED" there (how many
 * allocations were numbered, how many were made to fail).
 */
#define _GNU_SOURCE
#include "oom_wrap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_munmap(void *addr, size_t len);

/* Atomics: the JIT's and the FFI's threads are the VM's own, but a host
 * (the CLI's watchdog) may have threads of its own. */
static long long at, count, injected, blocks, maps;
static int from;

void oom_arm(long long n, int fail_from)
{
    __atomic_store_n(&count, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&injected, 0, __ATOMIC_SEQ_CST);
    from = fail_from;
    __atomic_store_n(&at, n, __ATOMIC_SEQ_CST);
}

long long oom_count(void)
{
    return __atomic_load_n(&count, __ATOMIC_SEQ_CST);
}

long long oom_injected(void)
{
    return __atomic_load_n(&injected, __ATOMIC_SEQ_CST);
}

long long oom_live_blocks(void)
{
    return __atomic_load_n(&blocks, __ATOMIC_SEQ_CST);
}

long long oom_live_maps(void)
{
    return __atomic_load_n(&maps, __ATOMIC_SEQ_CST);
}

/* Should this allocation fail? Numbers it either way. */
static int fail_now(void)
{
    long long n = __atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST);
    long long a = __atomic_load_n(&at, __ATOMIC_SEQ_CST);
    if (!a || n < a || (n > a && !from))
        return 0;
    __atomic_add_fetch(&injected, 1, __ATOMIC_SEQ_CST);
    errno = ENOMEM;
    return 1;
}

static void *counted(void *p)
{
    if (p)
        __atomic_add_fetch(&blocks, 1, __ATOMIC_SEQ_CST);
    return p;
}

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : counted(__real_malloc(n));
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : counted(__real_calloc(n, size));
}

void *__wrap_realloc(void *p, size_t n)
{
    if (fail_now())
        return NULL;
    void *q = __real_realloc(p, n);
    if (!p)
        return counted(q);
    if (!q && !n) /* realloc(p, 0) freed p */
        __atomic_sub_fetch(&blocks, 1, __ATOMIC_SEQ_CST);
    return q;
}

void __wrap_free(void *p)
{
    if (p)
        __atomic_sub_fetch(&blocks, 1, __ATOMIC_SEQ_CST);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = __wrap_malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

/* Mappings are counted in pages: a mapping may be given back in parts
 * (the collector maps twice a chunk's size and unmaps what is not
 * aligned), so calls do not pair. */
static size_t pages_of(size_t len)
{
    return (len + 4095) / 4096;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (fail_now())
        return MAP_FAILED;
    void *p = __real_mmap(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED)
        __atomic_add_fetch(&maps, (long long)pages_of(len), __ATOMIC_SEQ_CST);
    return p;
}

int __wrap_munmap(void *addr, size_t len)
{
    int rc = __real_munmap(addr, len);
    if (rc == 0)
        __atomic_sub_fetch(&maps, (long long)pages_of(len), __ATOMIC_SEQ_CST);
    return rc;
}

static const char *report_path;

static void report(void)
{
    FILE *fp = fopen(report_path, "w");
    if (fp) {
        fprintf(fp, "%lld %lld\n", oom_count(), oom_injected());
        fclose(fp);
    }
}

/* A whole process under injection: from the environment, before main. */
__attribute__((constructor)) static void from_env(void)
{
    const char *n = getenv("KILN_OOM_AT"), *f = getenv("KILN_OOM_FROM");
    report_path = getenv("KILN_OOM_REPORT");
    if (report_path && *report_path)
        atexit(report);
    if (n && *n)
        oom_arm(strtoll(n, NULL, 10), f && *f == '1');
}
