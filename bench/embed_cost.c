/*
 * embed_cost.c — what embedding costs, Kiln beside Lua 5.4's C API, in one
 * run: a guest calling a host function, the host calling a guest function
 * (Kiln by name and through a kiln_fn; Lua with lua_pcall), and the memory
 * of a ready VM (created, its program loaded and run).
 *
 *   make && cc -O2 -Ivm $(pkg-config --cflags lua5.4) -o build/embed_cost \
 *       bench/embed_cost.c build/libkiln.a $(pkg-config --libs lua5.4) -lmimalloc -lffi -luv -lm
 *   build/embed_cost [N]
 *
 * Call costs are nanoseconds per call, the fastest of ROUNDS runs; a guest's
 * call of a native is its loop with the call less the same loop adding
 * the value itself, so the loop's own cost is not counted.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kiln.h"

enum { ROUNDS = 5, VMS = 200 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "embed_cost: %s: %s\n", what, why);
    exit(1);
}

/* ---- Kiln ---- */

static kiln_status k_inc(kiln_vm *vm, const kiln_value *a, int n, kiln_value *r, void *ud)
{
    (void)vm, (void)n, (void)ud;
    *r = kiln_int(a[0].as.i + 1);
    return KILN_OK;
}

static const char KILN_SRC[] = "import host\n"
                               "fn with_native(n: int) -> int {\n"
                               "    var s = 0\n"
                               "    for i in 0..n { s = s + host.inc(i) }\n"
                               "    return s\n"
                               "}\n"
                               "fn without(n: int) -> int {\n"
                               "    var s = 0\n"
                               "    for i in 0..n { s = s + (i + 1) }\n"
                               "    return s\n"
                               "}\n"
                               "fn inc(x: int) -> int { return x + 1 }\n";

static kiln_vm *kiln_ready(int jit)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.jit = jit;
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm)
        die("kiln_new", "out of memory");
    kiln_define_native(vm, "host", "inc", "fn(int) -> int", k_inc, NULL);
    if (kiln_load_source(vm, "cost.kn", KILN_SRC, sizeof KILN_SRC - 1) != KILN_OK ||
        kiln_run(vm) != KILN_OK)
        die("kiln", kiln_error(vm));
    return vm;
}

/* Seconds of one kiln_call of `fn`(n). */
static double kiln_loop(kiln_vm *vm, const char *fn, int64_t n)
{
    kiln_value arg = kiln_int(n), r;
    double t = now();
    if (kiln_call(vm, fn, &arg, 1, &r) != KILN_OK)
        die(fn, kiln_error(vm));
    return now() - t;
}

static double kiln_guest_to_native(int jit, int64_t n)
{
    kiln_vm *vm = kiln_ready(jit);
    double best = 1e9;
    for (int r = 0; r < ROUNDS; r++) {
        double d = kiln_loop(vm, "with_native", n) - kiln_loop(vm, "without", n);
        best = d < best ? d : best;
    }
    kiln_free(vm);
    return best / (double)n * 1e9;
}

static double kiln_host_to_guest(int jit, int64_t n, bool by_name)
{
    kiln_vm *vm = kiln_ready(jit);
    kiln_fn inc;
    if (kiln_find_function(vm, "inc", "fn(int) -> int", &inc) != KILN_OK)
        die("kiln_find_function", kiln_error(vm));
    double best = 1e9;
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        int64_t s = 0;
        for (int64_t i = 0; i < n; i++) {
            kiln_value arg = kiln_int(i), res;
            kiln_status st = by_name ? kiln_call(vm, "inc", &arg, 1, &res)
                                     : kiln_call_fn(vm, inc, &arg, 1, &res);
            if (st != KILN_OK)
                die("kiln_call", kiln_error(vm));
            s += res.as.i;
        }
        double d = now() - t;
        if (s != n * (n + 1) / 2)
            die("kiln_call", "wrong sum");
        best = d < best ? d : best;
    }
    kiln_free(vm);
    return best / (double)n * 1e9;
}

/* ---- Lua ---- */

static int l_inc(lua_State *L)
{
    lua_pushinteger(L, luaL_checkinteger(L, 1) + 1);
    return 1;
}

static const char LUA_SRC[] = "function with_native(n)\n"
                              "  local s = 0\n"
                              "  for i = 0, n - 1 do s = s + inc_host(i) end\n"
                              "  return s\n"
                              "end\n"
                              "function without(n)\n"
                              "  local s = 0\n"
                              "  for i = 0, n - 1 do s = s + (i + 1) end\n"
                              "  return s\n"
                              "end\n"
                              "function inc(x) return x + 1 end\n";

static lua_State *lua_ready(void)
{
    lua_State *L = luaL_newstate();
    if (!L)
        die("luaL_newstate", "out of memory");
    luaL_openlibs(L);
    lua_register(L, "inc_host", l_inc);
    if (luaL_dostring(L, LUA_SRC) != LUA_OK)
        die("lua", lua_tostring(L, -1));
    return L;
}

static double lua_loop(lua_State *L, const char *fn, int64_t n)
{
    double t = now();
    lua_getglobal(L, fn);
    lua_pushinteger(L, n);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        die(fn, lua_tostring(L, -1));
    lua_pop(L, 1);
    return now() - t;
}

static double lua_guest_to_native(int64_t n)
{
    lua_State *L = lua_ready();
    double best = 1e9;
    for (int r = 0; r < ROUNDS; r++) {
        double d = lua_loop(L, "with_native", n) - lua_loop(L, "without", n);
        best = d < best ? d : best;
    }
    lua_close(L);
    return best / (double)n * 1e9;
}

static double lua_host_to_guest(int64_t n)
{
    lua_State *L = lua_ready();
    double best = 1e9;
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        int64_t s = 0;
        for (int64_t i = 0; i < n; i++) {
            lua_getglobal(L, "inc");
            lua_pushinteger(L, i);
            if (lua_pcall(L, 1, 1, 0) != LUA_OK)
                die("lua_pcall", lua_tostring(L, -1));
            s += lua_tointeger(L, -1);
            lua_pop(L, 1);
        }
        double d = now() - t;
        if (s != n * (n + 1) / 2)
            die("lua_pcall", "wrong sum");
        best = d < best ? d : best;
    }
    lua_close(L);
    return best / (double)n * 1e9;
}

/* ---- Memory of a ready VM ---- */

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2)
        die("/proc/self/statm", "unreadable");
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

/* Bytes of resident memory per ready VM, over VMS of them; measured in a
 * child process forked before anything else ran, so no memory an earlier
 * measurement freed is reused. */
static double kiln_vm_bytes(void)
{
    static kiln_vm *vms[VMS];
    kiln_free(kiln_ready(KILN_JIT_ON)); /* the allocator's first pages */
    long before = rss_bytes();
    for (int i = 0; i < VMS; i++)
        vms[i] = kiln_ready(KILN_JIT_ON);
    double per = (double)(rss_bytes() - before) / VMS;
    for (int i = 0; i < VMS; i++)
        kiln_free(vms[i]);
    return per;
}

static double lua_vm_bytes(void)
{
    static lua_State *ls[VMS];
    lua_close(lua_ready());
    long before = rss_bytes();
    for (int i = 0; i < VMS; i++)
        ls[i] = lua_ready();
    double per = (double)(rss_bytes() - before) / VMS;
    for (int i = 0; i < VMS; i++)
        lua_close(ls[i]);
    return per;
}

/* f() in a child process, its result back through a pipe. */
static double in_child(double (*f)(void))
{
    int fd[2];
    if (pipe(fd) != 0)
        die("pipe", "failed");
    pid_t pid = fork();
    if (pid < 0)
        die("fork", "failed");
    if (pid == 0) {
        double v = f();
        _exit(write(fd[1], &v, sizeof v) == sizeof v ? 0 : 1);
    }
    double v = 0;
    int status;
    if (read(fd[0], &v, sizeof v) != sizeof v || waitpid(pid, &status, 0) != pid || status != 0)
        die("child", "no measurement");
    close(fd[0]);
    close(fd[1]);
    return v;
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? atoll(argv[1]) : 2000000;
    if (n < 1000)
        die("N", "at least 1000");
    double lua_mem = in_child(lua_vm_bytes), kiln_mem = in_child(kiln_vm_bytes);
    double lua_g2n = lua_guest_to_native(n), lua_h2g = lua_host_to_guest(n);
    double ki_g2n = kiln_guest_to_native(KILN_JIT_OFF, n);
    double kj_g2n = kiln_guest_to_native(KILN_JIT_ON, n);
    double ki_h2g = kiln_host_to_guest(KILN_JIT_OFF, n, false);
    double kj_h2g = kiln_host_to_guest(KILN_JIT_ON, n, false);
    double kn_h2g = kiln_host_to_guest(KILN_JIT_ON, n, true);
    printf("| cost | Lua 5.4 | Kiln interpreter | Kiln JIT | Kiln ÷ Lua (best) |\n");
    printf("|---|---:|---:|---:|---:|\n");
    double best = ki_g2n < kj_g2n ? ki_g2n : kj_g2n;
    printf("| guest → native call (ns) | %.1f | %.1f | %.1f | %.2f |\n", lua_g2n, ki_g2n, kj_g2n,
           best / lua_g2n);
    best = ki_h2g < kj_h2g ? ki_h2g : kj_h2g;
    printf("| host → guest call, kiln_call_fn / lua_pcall (ns) | %.1f | %.1f | %.1f | %.2f |\n",
           lua_h2g, ki_h2g, kj_h2g, best / lua_h2g);
    printf("| host → guest call by name, kiln_call (ns) | | | %.1f | %.2f |\n", kn_h2g,
           kn_h2g / lua_h2g);
    printf("| ready VM (KiB resident, mean of %d) | %.1f | %.1f | | %.2f |\n", VMS, lua_mem / 1024,
           kiln_mem / 1024, kiln_mem / lua_mem);
    return 0;
}
