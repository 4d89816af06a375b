/*
 * test_sys.c — the host-access layer's opens (runtime/rt_sys.c) as the fs
 * module calls them, past the permission check by name: what a path
 * names is checked before it is opened for real, so a file outside the
 * allowed folders is never opened, not even for a moment (a FIFO's other
 * end would see a reader or writer come and go, a device would act).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#include "../../runtime/rt.h"

typedef struct peer {
    char fifo[256];
    int flags; /* how it opens the FIFO: it waits for the other end */
    atomic_bool connected;
} peer;

static void *peer_open(void *arg)
{
    peer *p = arg;
    int fd = open(p->fifo, p->flags);
    atomic_store(&p->connected, true);
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* A symlink inside the allowed folder to a FIFO outside, whose other end
 * a thread waits at: opening the link to write (`how` RT_FD_WRITE, the
 * thread reads) or to read (RT_FD_READ, the thread writes) is refused as
 * outside, and the thread stays unconnected. */
static void fifo_outside(int how)
{
    char dir[] = "/tmp/kiln-sys-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char in[300], link[320];
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(link, sizeof link, "%s/pipe", in);
    cr_assert_eq(mkdir(in, 0700), 0);
    peer p = {.flags = how == RT_FD_WRITE ? O_RDONLY : O_WRONLY};
    snprintf(p.fifo, sizeof p.fifo, "%s/outside.fifo", dir);
    cr_assert_eq(mkfifo(p.fifo, 0600), 0);
    cr_assert_eq(symlink("../outside.fifo", link), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, peer_open, &p), 0);
    nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL); /* it waits in open */
    const char *dirs[] = {in, NULL};
    int fd = rt_sys_open_fd(dirs, link, how);
    cr_assert_eq(fd, RT_SYS_OUTSIDE, "got %d", fd);
    nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    cr_assert_not(atomic_load(&p.connected), "the FIFO outside was opened");
    /* let the thread go: its other end, without waiting */
    int other = open(p.fifo, (how == RT_FD_WRITE ? O_WRONLY : O_RDONLY) | O_NONBLOCK);
    cr_assert_geq(other, 0);
    pthread_join(t, NULL);
    close(other);
    unlink(link);
    unlink(p.fifo);
    rmdir(in);
    rmdir(dir);
}

Test(sys, a_fifo_outside_is_not_opened_to_write)
{
    fifo_outside(RT_FD_WRITE);
}

Test(sys, a_fifo_outside_is_not_opened_to_read)
{
    fifo_outside(RT_FD_READ);
}

/* A name without a folder is in the current folder: its folder was
 * opened as "" (ENOENT), so fs.mkdir("x") and fs.remove("x") failed. */
Test(sys, a_bare_name_is_in_the_current_folder)
{
    char base[64];
    int fd = rt_sys_parent_fd(NULL, "name", base, sizeof base);
    cr_assert_geq(fd, 0, "got %d", fd);
    cr_assert_str_eq(base, "name");
    close(fd);
}

typedef struct toggler {
    char link[320], tmp[320], a[64], b[320];
    atomic_bool stop;
} toggler;

static void *toggle(void *arg)
{
    toggler *t = arg;
    for (long i = 0; !atomic_load(&t->stop); i++) {
        unlink(t->tmp);
        if (symlink(i % 2 ? t->b : t->a, t->tmp) == 0)
            rename(t->tmp, t->link);
    }
    return NULL;
}

static void *peer_loop(void *arg)
{
    peer *p = arg;
    while (!atomic_load(&p->connected)) {
        int fd = open(p->fifo, p->flags);
        if (fd < 0)
            break;
        close(fd);
        if (!atomic_load(&p->connected))
            atomic_store(&p->connected, true);
    }
    return NULL;
}

/* A symlink inside swapped between a pipe (/proc/self/fd/N: no path, so
 * it was opened again by path, as where /proc is missing) and a FIFO
 * outside: the second open could land on the FIFO, whose writer then
 * connected before the refusal. */
Test(sys, a_pipe_is_not_opened_again_by_path, .timeout = 60)
{
    char dir[] = "/tmp/kiln-sys-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char in[300];
    snprintf(in, sizeof in, "%s/in", dir);
    cr_assert_eq(mkdir(in, 0700), 0);
    int pipefd[2];
    cr_assert_eq(pipe(pipefd), 0);
    toggler t = {.stop = false};
    snprintf(t.link, sizeof t.link, "%s/l", in);
    snprintf(t.tmp, sizeof t.tmp, "%s/t", in);
    snprintf(t.a, sizeof t.a, "/proc/self/fd/%d", pipefd[0]);
    snprintf(t.b, sizeof t.b, "%s/outside.fifo", dir);
    peer p = {.flags = O_WRONLY};
    snprintf(p.fifo, sizeof p.fifo, "%s/outside.fifo", dir);
    cr_assert_eq(mkfifo(p.fifo, 0600), 0);
    pthread_t tt, pt;
    cr_assert_eq(pthread_create(&pt, NULL, peer_loop, &p), 0);
    cr_assert_eq(pthread_create(&tt, NULL, toggle, &t), 0);
    const char *dirs[] = {in, NULL};
    for (int i = 0; i < 20000 && !atomic_load(&p.connected); i++) {
        int fd = rt_sys_open_fd(dirs, t.link, RT_FD_READ);
        if (fd >= 0)
            close(fd);
    }
    atomic_store(&t.stop, true);
    pthread_join(tt, NULL);
    bool connected = atomic_load(&p.connected);
    atomic_store(&p.connected, true); /* let the peer go */
    int other = open(p.fifo, O_RDONLY | O_NONBLOCK);
    pthread_join(pt, NULL);
    close(other);
    close(pipefd[0]);
    close(pipefd[1]);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_not(connected, "the FIFO outside was opened");
}
