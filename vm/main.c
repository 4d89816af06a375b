/*
 * main.c — the `kiln` command. It uses only the public API (kiln.h), as
 * any embedder would; it is the one place that prints and exits.
 *
 * Exit codes: 0 success, 1 the guest raised an uncaught error, 2 usage,
 * compile, load or verification error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kiln.h"
#ifdef KILN_OPSTATS
#include "../interp/interp.h" /* interp_opstats: `make opstats` builds */
#endif

enum { EXIT_GUEST = 1, EXIT_USAGE = 2 };

static const char USAGE[] =
    "usage: kiln <command> [options] FILE [args...]\n"
    "\n"
    "commands:\n"
    "  run FILE [args...]    compile (if FILE is source) and run a program\n"
    "  build FILE -o OUT     compile FILE to a verified bytecode image OUT\n"
    "  dis [--jit] FILE      print the bytecode of FILE (source or image); with\n"
    "                        --jit, each function's machine code beside it\n"
    "  verify FILE           check that FILE is a valid bytecode image; list the C\n"
    "                        functions (extern) it may call\n"
    "\n"
    "options:\n"
    "  --no-checksum         (run, verify) skip the image checksum, still verify\n"
    "  --heap-limit=SIZE     (run) cap the guest heap at SIZE bytes (suffix K, M\n"
    "                        or G); past it the guest gets OutOfMemoryError\n"
    "  --gc-stress           (run) collect garbage at every allocation\n"
    "  --gc-verify           (run) check the heap after every collection\n"
    "  --fuel=N              (run) stop the guest after N instructions (counted\n"
    "                        at loop back-edges and calls; while every fiber\n"
    "                        waits, a million a second); exit status 1\n"
    "  --timeout=SECONDS     (run) stop the guest after SECONDS of wall time\n"
    "  --sandbox             (run) allow the guest no host access (by default it\n"
    "                        may read and write files, read stdin and the\n"
    "                        environment and call C libraries); modules beside\n"
    "                        FILE are still imported\n"
    "  --allow-read=DIR      (run) allow reading files under DIR (repeatable);\n"
    "                        like each --allow-*, denies what is not granted\n"
    "  --allow-stdin         (run) allow reading standard input (io.read_line)\n"
    "  --allow-write=DIR     (run) allow writing files under DIR (repeatable)\n"
    "  --allow-env           (run) allow reading environment variables\n"
    "  --allow-ffi[=LIB]     (run) allow extern functions to load the C library\n"
    "                        LIB, as the program names it (repeatable); bare:\n"
    "                        any library\n"
    "  --allow-net[=HOST:PORT] (run) allow connecting to and listening on\n"
    "                        HOST:PORT (repeatable; HOST:* for any port, [::1]:80\n"
    "                        for IPv6); bare: any host and port\n"
    "  --allow-run[=PROGRAM] (run) allow running PROGRAM, as the guest names it\n"
    "                        (repeatable); bare: any program\n"
    "  --trace-sys           (run) print each host access and the decision\n"
    "  --jit=MODE            (run) on: interpret, compile hot functions and loops\n"
    "                        to machine code (the default); off: interpret only;\n"
    "                        always: compile every function first (testing).\n"
    "                        The JIT exists on x86-64 Linux; elsewhere `on`\n"
    "                        interprets and `always` is an error\n"
    "  --jit-stats           (run) print the JIT's counters on stderr at exit\n"
    "  --fiber-stack=SIZE    (run) each fiber's machine stack (default 256K, at\n"
    "                        least 64K); deep recursion of compiled code and of\n"
    "                        natives calling back needs more\n"
    "  --jit-code-limit=SIZE (run) machine code kept at most (default 64M); past\n"
    "                        it functions stay interpreted\n"
    "  --perf-map            (run) write /tmp/perf-PID.map so perf names compiled\n"
    "                        functions\n"
    "  -h, --help            show this help\n"
    "  --version             show the version\n"
    "\n"
    "FILE is an image when it starts with the image magic, else Kiln source;\n"
    "the name does not matter. Exit status: 0 success (or the guest's os.exit\n"
    "code), 1 uncaught guest error or a limit reached, 2 usage, compile, load or\n"
    "verification error.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "kiln: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'kiln --help'.\n");
    return EXIT_USAGE;
}

static int report(kiln_vm *vm, kiln_status st)
{
    fflush(stdout);
    fprintf(stderr, "%s\n", kiln_error(vm));
    return st == KILN_ERR_RUNTIME || st == KILN_ERR_LIMIT ? EXIT_GUEST : EXIT_USAGE;
}

/* Loads `path` into a new VM; on failure prints the error and returns NULL
 * with *code set. */
/* "64M" -> 67108864; 0 on a malformed size. */
static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *s == '-' || errno == ERANGE)
        return 0;
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1ull << 10;
    else if (*end == 'M' || *end == 'm')
        mul = 1ull << 20;
    else if (*end == 'G' || *end == 'g')
        mul = 1ull << 30;
    if (mul > 1)
        end++;
    if (*end || v > SIZE_MAX / mul)
        return 0;
    return (size_t)(v * mul);
}

static kiln_vm *load(const char *path, const kiln_config *cfg, int *code)
{
    kiln_vm *vm = kiln_new(cfg);
    if (!vm) {
        fprintf(stderr, "kiln: out of memory\n");
        *code = EXIT_USAGE;
        return NULL;
    }
    kiln_status st = kiln_load_file(vm, path);
    if (st != KILN_OK) {
        *code = report(vm, st);
        kiln_free(vm);
        return NULL;
    }
    return vm;
}

static int is_image_file(const char *path)
{
    static const unsigned char MAGIC[8] = {0x7f, 'K', 'I', 'L', 'N', '\r', '\n', 0x1a};
    unsigned char head[8];
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    size_t n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    return n == sizeof head && memcmp(head, MAGIC, sizeof head) == 0;
}

/* --timeout: the VM's own deadline (cfg.timeout: "out of time"), and a
 * watchdog thread that interrupts the guest a little after it, should
 * anything keep the VM from looking at its deadline. */
struct watchdog {
    kiln_vm *vm;
    double seconds;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool done;
};

static void *watch(void *arg)
{
    struct watchdog *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double whole = (double)(long long)w->seconds;
    until.tv_sec += (time_t)whole;
    until.tv_nsec += (long)((w->seconds - whole) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    while (!w->done && rc == 0)
        rc = pthread_cond_timedwait(&w->done_cond, &w->lock, &until);
    if (!w->done)
        kiln_interrupt(w->vm);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* --jit-stats: the JIT's counters, on stderr. */
static void print_jit_stats(kiln_vm *vm)
{
    kiln_jitstats s;
    if (kiln_jit_stats(vm, &s) != KILN_OK)
        return;
    if (!s.available) {
        fprintf(stderr, "jit: not available on this machine (x86-64 Linux only): "
                        "everything was interpreted\n");
        return;
    }
    if (!s.enabled) {
        fprintf(stderr, "jit: off (--jit=off): everything was interpreted\n");
        return;
    }
    fprintf(stderr,
            "jit: %llu functions compiled, %llu bytecode instructions, %llu bytes of "
            "machine code\n"
            "jit: compile time %.3f ms (%.1f ns per instruction)\n"
            "jit: %llu OSR entries, %llu functions left interpreted\n"
            "jit: %llu calls compiled inline\n",
            (unsigned long long)s.functions, (unsigned long long)s.instructions,
            (unsigned long long)s.code_bytes, (double)s.compile_ns / 1e6,
            s.instructions ? (double)s.compile_ns / (double)s.instructions : 0.0,
            (unsigned long long)s.osr_entries, (unsigned long long)s.failed,
            (unsigned long long)s.inlined);
}

static int cmd_run(const char *path, const kiln_config *cfg, double timeout, int argc, char **argv,
                   bool jit_stats)
{
    int code = 0;
    kiln_vm *vm = load(path, cfg, &code);
    if (!vm)
        return code;
    kiln_set_args(vm, argc, argv);
    struct watchdog w = {vm, timeout + 0.25, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                         false};
    pthread_t thread;
    bool watching = timeout > 0 && pthread_create(&thread, NULL, watch, &w) == 0;
    kiln_status st = kiln_run(vm);
    if (watching) {
        pthread_mutex_lock(&w.lock);
        w.done = true;
        pthread_cond_signal(&w.done_cond);
        pthread_mutex_unlock(&w.lock);
        pthread_join(thread, NULL);
    }
    code = st == KILN_OK ? kiln_exit_code(vm) : report(vm, st);
    if (jit_stats)
        print_jit_stats(vm);
#ifdef KILN_OPSTATS
    interp_opstats(vm, stderr);
#endif
    kiln_free(vm);
    return code;
}

static int cmd_build(const char *path, const char *out)
{
    struct stat a, b;
    if (stat(path, &a) == 0 && stat(out, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
        fprintf(stderr, "kiln: build: the output %s is the source file itself\n", out);
        return EXIT_USAGE;
    }
    int code = 0;
    kiln_vm *vm = load(path, NULL, &code);
    if (!vm)
        return code;
    const void *bytes;
    size_t len;
    if (kiln_image(vm, &bytes, &len) != KILN_OK) {
        fprintf(stderr, "kiln: build: %s\n", kiln_error(vm));
        kiln_free(vm);
        return EXIT_FAILURE;
    }
    FILE *fp = fopen(out, "wb");
    if (!fp || fwrite(bytes, 1, len, fp) != len || fclose(fp) != 0) {
        fprintf(stderr, "kiln: cannot write %s\n", out);
        code = EXIT_USAGE;
    }
    kiln_free(vm);
    return code;
}

static int cmd_dis(const char *path, bool jit)
{
    int code = 0;
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.jit = jit ? KILN_JIT_ALWAYS : KILN_JIT_OFF;
    kiln_vm *vm = load(path, &cfg, &code);
    if (!vm)
        return code;
    const char *text;
    if ((jit ? kiln_disassemble_jit(vm, &text) : kiln_disassemble(vm, &text)) == KILN_OK)
        fputs(text, stdout);
    else
        code = report(vm, KILN_ERR_API);
    kiln_free(vm);
    return code;
}

static int cmd_verify(const char *path, unsigned flags)
{
    int img = is_image_file(path);
    if (img == 0) {
        fprintf(stderr, "%s: not a bytecode image (no image magic)\n", path);
        return EXIT_USAGE;
    }
    int code = 0;
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.flags = flags;
    kiln_vm *vm = load(path, &cfg, &code);
    if (!vm)
        return code;
    printf("%s: ok\n", path);
    /* The C functions it may call, as the disassembler lists them. */
    const char *text;
    if (kiln_disassemble(vm, &text) == KILN_OK)
        for (const char *line = text; *line;) {
            const char *end = strchr(line, '\n');
            size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
            if (!strncmp(line, "extern \"", 8))
                fwrite(line, 1, n, stdout);
            line += n;
        }
    kiln_free(vm);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "no command given");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("kiln %s\n", kiln_version());
        return 0;
    }
    bool run = !strcmp(cmd, "run"), build = !strcmp(cmd, "build"), dis = !strcmp(cmd, "dis"),
         verify = !strcmp(cmd, "verify");
    if (!run && !build && !dis && !verify)
        return usage_error("unknown command '%s'", cmd);
    unsigned flags = 0;
    size_t heap_limit = 0;
    uint64_t fuel = 0;
    double timeout = 0;
    int jit = KILN_JIT_ON;
    size_t jit_limit = 0, fiber_stack = 0;
    bool jit_stats = false, dis_jit = false;
    unsigned allow = KILN_ALLOW_ALL; /* the command line's user owns the machine */
    bool confined = false;
    enum { MAX_DIRS = 64 }; /* the messages say 64 */
    static const char *read_dirs[MAX_DIRS + 1], *write_dirs[MAX_DIRS + 1], *ffi_libs[MAX_DIRS + 1],
        *net_hosts[MAX_DIRS + 1], *run_programs[MAX_DIRS + 1];
    int nread = 0, nwrite = 0, nffi = 0, nnet = 0, nrun = 0;
    bool ffi_any = false, want_stdin = false, net_any = false, run_any = false;
    const char *file = NULL, *out = NULL;
    int i = 2;
    /* Options come before FILE; everything after FILE belongs to the guest. */
    for (; i < argc && !file; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(a, "--no-checksum") && (run || verify)) {
            flags |= KILN_FLAG_NO_CHECKSUM;
        } else if (!strcmp(a, "--gc-stress") && run) {
            flags |= KILN_FLAG_GC_STRESS;
        } else if (!strcmp(a, "--gc-verify") && run) {
            flags |= KILN_FLAG_GC_VERIFY;
        } else if (!strncmp(a, "--heap-limit=", 13) && run) {
            heap_limit = parse_size(a + 13);
            if (!heap_limit)
                return usage_error("bad size in '%s' (e.g. --heap-limit=64M)", a);
        } else if (!strncmp(a, "--fuel=", 7) && run) {
            char *end;
            errno = 0;
            fuel = strtoull(a + 7, &end, 10);
            if (end == a + 7 || *end || a[7] == '-' || !fuel || errno == ERANGE)
                return usage_error("bad count in '%s' (e.g. --fuel=1000000)", a);
        } else if (!strncmp(a, "--timeout=", 10) && run) {
            char *end;
            timeout = strtod(a + 10, &end);
            if (end == a + 10 || *end || !(timeout > 0 && timeout < 1e9))
                return usage_error("bad time in '%s' (seconds, e.g. --timeout=2.5)", a);
        } else if (!strcmp(a, "--sandbox") && run) {
            confined = true;
        } else if (run && (!strncmp(a, "--allow-read=", 13) || !strncmp(a, "--allow-write=", 14) ||
                           !strncmp(a, "--allow-ffi=", 12))) {
            const char *val = strchr(a, '=') + 1;
            bool rd = a[8] == 'r', wr = a[8] == 'w';
            int *n = rd ? &nread : wr ? &nwrite : &nffi;
            char msg[160];
            if (!*val || *n == MAX_DIRS) {
                if (!*val)
                    snprintf(msg, sizeof msg, "'%s' needs a %s after '='", a,
                             rd || wr ? "folder" : "library");
                else
                    snprintf(msg, sizeof msg, "too many %.*s options (at most %d)",
                             (int)(val - a - 1), a, MAX_DIRS);
                return usage_error("%s", msg);
            }
            confined = true;
            (rd ? read_dirs : wr ? write_dirs : ffi_libs)[(*n)++] = val;
        } else if (!strcmp(a, "--allow-ffi") && run) {
            confined = true;
            ffi_any = true;
        } else if (run && (!strncmp(a, "--allow-net=", 12) || !strncmp(a, "--allow-run=", 12))) {
            const char *val = a + 12;
            bool net = a[8] == 'n';
            int *n = net ? &nnet : &nrun;
            if (!*val)
                return usage_error(
                    net ? "'%s' needs a HOST:PORT after '='" : "'%s' needs a program after '='", a);
            if (*n == MAX_DIRS)
                return usage_error("too many %.11s options (at most 64)", a);
            if (net && (!strrchr(val, ':') || !strrchr(val, ':')[1]))
                return usage_error("bad '%s': HOST:PORT is needed (HOST:* for any port)", a);
            confined = true;
            (net ? net_hosts : run_programs)[(*n)++] = val;
        } else if ((!strcmp(a, "--allow-net") || !strcmp(a, "--allow-run")) && run) {
            confined = true;
            *(a[8] == 'n' ? &net_any : &run_any) = true;
        } else if (!strcmp(a, "--allow-env") && run) {
            confined = true;
            allow |= KILN_ALLOW_ENV; /* kept below */
        } else if (!strcmp(a, "--allow-stdin") && run) {
            confined = true;
            want_stdin = true;
        } else if (!strcmp(a, "--trace-sys") && run) {
            flags |= KILN_FLAG_TRACE_SYS;
        } else if (!strncmp(a, "--jit=", 6) && run) {
            if (!strcmp(a + 6, "on"))
                jit = KILN_JIT_ON;
            else if (!strcmp(a + 6, "off"))
                jit = KILN_JIT_OFF;
            else if (!strcmp(a + 6, "always"))
                jit = KILN_JIT_ALWAYS;
            else
                return usage_error("bad mode in '%s' (--jit=on, off or always)", a);
        } else if (!strcmp(a, "--jit-stats") && run) {
            jit_stats = true;
        } else if (!strncmp(a, "--fiber-stack=", 14) && run) {
            fiber_stack = parse_size(a + 14);
            if (!fiber_stack)
                return usage_error("bad size in '%s' (e.g. --fiber-stack=1M)", a);
        } else if (!strncmp(a, "--jit-code-limit=", 17) && run) {
            jit_limit = parse_size(a + 17);
            if (!jit_limit)
                return usage_error("bad size in '%s' (e.g. --jit-code-limit=16M)", a);
        } else if (!strcmp(a, "--perf-map") && run) {
            flags |= KILN_FLAG_PERF_MAP;
        } else if (!strcmp(a, "--jit") && dis) {
            dis_jit = true;
        } else if (!strcmp(a, "-o") && build) {
            if (++i == argc)
                return usage_error("%s", "-o needs a file name");
            out = argv[i];
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else {
            file = a;
        }
    }
    if (!file)
        return usage_error("%s: no FILE given", cmd);
    if (build) {
        for (; i < argc; i++) {
            if (!strcmp(argv[i], "-o") && i + 1 < argc)
                out = argv[++i];
            else
                return usage_error("unexpected argument '%s'", argv[i]);
        }
        if (!out)
            return usage_error("%s", "build: no output given (-o OUT)");
        return cmd_build(file, out);
    }
    if (i < argc && !run)
        return usage_error("unexpected argument '%s'", argv[i]);
    if ((jit == KILN_JIT_ALWAYS || dis_jit) && !kiln_jit_available())
        return usage_error("%s: there is no JIT on this machine (x86-64 Linux only)",
                           dis_jit ? "dis --jit" : "--jit=always");
    if (dis)
        return cmd_dis(file, dis_jit);
    if (verify)
        return cmd_verify(file, flags);
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.flags = flags;
    cfg.heap_limit = heap_limit;
    cfg.fuel = fuel;
    cfg.jit = jit;
    cfg.jit_code_limit = jit_limit;
    cfg.fiber_stack = fiber_stack;
    if (confined) { /* only what the options grant */
        bool env = false;
        for (int k = 2; k < i; k++)
            env |= !strcmp(argv[k], "--allow-env");
        allow = (nread ? KILN_ALLOW_READ : 0) | (nwrite ? KILN_ALLOW_WRITE : 0) |
                (env ? KILN_ALLOW_ENV : 0) | (ffi_any || nffi ? KILN_ALLOW_FFI : 0) |
                (want_stdin ? KILN_ALLOW_STDIN : 0) | (net_any || nnet ? KILN_ALLOW_NET : 0) |
                (run_any || nrun ? KILN_ALLOW_RUN : 0);
        cfg.ffi_libs = ffi_any ? NULL : ffi_libs;
        cfg.net_hosts = net_any ? NULL : net_hosts;
        cfg.run_programs = run_any ? NULL : run_programs;
        cfg.read_dirs = read_dirs;
        cfg.write_dirs = write_dirs;
    }
    cfg.allow = allow;
    cfg.timeout = timeout;
    return cmd_run(file, &cfg, timeout, argc - i, argv + i, jit_stats);
}
