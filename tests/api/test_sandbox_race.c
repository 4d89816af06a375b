/*
 * test_sandbox_race.c — the folder sandbox against a symlink swapped
 * while the guest reads and writes: another thread points a link inside
 * the allowed folder at a file inside, then at one outside, as fast as it
 * can. No read may return the outside file's text and no write may reach
 * it, however the swaps fall between the permission check and the open:
 * through io's functions, and through the fs module's, which open on
 * libuv's threadpool.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../vm/kiln.h"
#include "capture.h"

typedef struct swapper {
    char link[256], tmp[256];
    const char *inside, *outside; /* link targets, relative to the link */
    long pause_ns;                /* between swaps (0: none) */
    atomic_bool stop;
    long swaps;
} swapper;

static void *swap_loop(void *arg)
{
    swapper *s = arg;
    while (!atomic_load(&s->stop)) {
        const char *to = s->swaps % 2 ? s->outside : s->inside;
        unlink(s->tmp);
        if (symlink(to, s->tmp) == 0 && rename(s->tmp, s->link) == 0)
            s->swaps++;
        if (s->pause_ns)
            nanosleep(&(struct timespec){0, s->pause_ns}, NULL);
    }
    return NULL;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* Runs `src`'s probe(path, n) in a VM confined to dir/allowed (read and
 * write) while the swapper runs; its result text into out. */
static void run_probe(const char *dir, const char *src, const char *path, int n, swapper *s,
                      char *result, size_t size)
{
    char allowed[256];
    snprintf(allowed, sizeof allowed, "%s/allowed", dir);
    const char *dirs[] = {allowed, NULL};
    out o;
    kiln_config cfg = out_config(&o);
    cfg.allow = KILN_ALLOW_READ | KILN_ALLOW_WRITE;
    cfg.read_dirs = dirs;
    cfg.write_dirs = dirs;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_eq(kiln_load_source(vm, "probe.kn", src, strlen(src)), KILN_OK, "%s", kiln_error(vm));
    pthread_t t;
    atomic_store(&s->stop, false);
    cr_assert_eq(pthread_create(&t, NULL, swap_loop, s), 0);
    kiln_value args[2] = {kiln_str(vm, path, strlen(path)), kiln_int(n)}, r;
    kiln_status st = kiln_call(vm, "probe", args, 2, &r);
    atomic_store(&s->stop, true);
    pthread_join(t, NULL);
    cr_assert_eq(st, KILN_OK, "%s", kiln_error(vm));
    snprintf(result, size, "%s", kiln_str_bytes(vm, r, NULL));
    kiln_free(vm);
}

static char *make_dirs(char *tmpl)
{
    cr_assert_not_null(mkdtemp(tmpl));
    char p[256];
    snprintf(p, sizeof p, "%s/allowed", tmpl);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/allowed/in.txt", tmpl);
    write_file(p, "inside");
    snprintf(p, sizeof p, "%s/outside.txt", tmpl);
    write_file(p, "SECRET");
    return tmpl;
}

static void remove_dirs(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static const char READS[] = "import io\n"
                            "fn probe(path: str, n: int) -> str {\n"
                            "    var secret = 0\n"
                            "    var inside = 0\n"
                            "    var denied = 0\n"
                            "    for i in 0..n {\n"
                            "        try {\n"
                            "            let s = io.read_file(path)\n"
                            "            if s == \"SECRET\" { secret += 1 } else { inside += 1 }\n"
                            "        } catch e: PermissionError { denied += 1 }"
                            " catch e: IOError { denied += 1 }\n"
                            "    }\n"
                            "    return \"${secret} ${inside} ${denied}\"\n"
                            "}\n";

/* The same through the fs module, whose opens run on libuv's threadpool
 * (fs.read_file, and fs.open with read_all). */
static const char FS_READS[] =
    "import fs\n"
    "fn probe(path: str, n: int) -> str {\n"
    "    var secret = 0\n"
    "    var inside = 0\n"
    "    var denied = 0\n"
    "    for i in 0..n {\n"
    "        try {\n"
    "            var s = fs.read_file(path)\n"
    "            if s == \"SECRET\" { secret += 1 } else { inside += 1 }\n"
    "            let f = fs.open(path, \"r\")\n"
    "            s = f.read_all()\n"
    "            f.close()\n"
    "            if s == \"SECRET\" { secret += 1 } else { inside += 1 }\n"
    "        } catch e: IOError { denied += 1 }\n"
    "    }\n"
    "    return \"${secret} ${inside} ${denied}\"\n"
    "}\n";

static void read_race(const char *src, int n)
{
    char tmpl[] = "/tmp/kiln_race_XXXXXX";
    char *dir = make_dirs(tmpl);
    swapper s = {.inside = "in.txt", .outside = "../outside.txt"};
    snprintf(s.link, sizeof s.link, "%s/allowed/link", dir);
    snprintf(s.tmp, sizeof s.tmp, "%s/allowed/.link.tmp", dir);
    cr_assert_eq(symlink("in.txt", s.link), 0);
    char result[128];
    run_probe(dir, src, s.link, n, &s, result, sizeof result);
    long secret, inside, denied;
    cr_assert_eq(sscanf(result, "%ld %ld %ld", &secret, &inside, &denied), 3, "%s", result);
    cr_assert_eq(secret, 0, "%ld of %d reads escaped (%s)", secret, n, result);
    /* The race was run: both targets were met. */
    cr_assert_gt(inside, 0, "%s, %ld swaps", result, s.swaps);
    cr_assert_gt(denied, 0, "%s, %ld swaps", result, s.swaps);
    remove_dirs(dir);
}

Test(sandbox_race, no_read_escapes_through_a_swapped_symlink, .timeout = 120)
{
    read_race(READS, 20000);
}

Test(sandbox_race, no_fs_read_escapes_through_a_swapped_symlink, .timeout = 120)
{
    read_race(FS_READS, 5000);
}

static const char WRITES[] = "import io\n"
                             "fn probe(path: str, n: int) -> str {\n"
                             "    var done = 0\n"
                             "    var denied = 0\n"

                             "    for i in 0..n {\n"
                             "        try {\n"
                             "            io.write_file(path, \"pwned\")\n"
                             "            done += 1\n"
                             "        } catch e: PermissionError { denied += 1 }"
                             " catch e: IOError { denied += 1 }\n"
                             "    }\n"
                             "    return \"${done} ${denied}\"\n"
                             "}\n";

static const char FS_WRITES[] = "import fs\n"
                                "fn probe(path: str, n: int) -> str {\n"
                                "    var done = 0\n"
                                "    var denied = 0\n"
                                "    for i in 0..n {\n"
                                "        try {\n"
                                "            if i % 2 == 0 {\n"
                                "                fs.write_file(path, \"pwned\")\n"
                                "            } else {\n"
                                "                fs.append_file(path, \"pwned\")\n"
                                "            }\n"
                                "            done += 1\n"
                                "        } catch e: IOError { denied += 1 }\n"
                                "    }\n"
                                "    return \"${done} ${denied}\"\n"
                                "}\n";

static void write_race(const char *src, int n)
{
    char tmpl[] = "/tmp/kiln_race_XXXXXX";
    char *dir = make_dirs(tmpl);
    /* Swapped between a file inside and one outside, then between the
     * file inside and a name outside that does not exist (a dangling
     * link: writing through it would create the file outside). */
    const char *outside[] = {"../outside.txt", "../created.txt"};
    const char *inside[] = {"in.txt", "in.txt"};
    for (int k = 0; k < 2; k++) {
        /* Paced, so that each target stays long enough to be written
         * through too, not only checked. */
        swapper s = {.inside = inside[k], .outside = outside[k], .pause_ns = 20000};
        snprintf(s.link, sizeof s.link, "%s/allowed/wlink", dir);
        snprintf(s.tmp, sizeof s.tmp, "%s/allowed/.wlink.tmp", dir);
        unlink(s.link);
        cr_assert_eq(symlink(inside[k], s.link), 0);
        char result[128];
        run_probe(dir, src, s.link, n, &s, result, sizeof result);
        long done, denied;
        cr_assert_eq(sscanf(result, "%ld %ld", &done, &denied), 2, "%s", result);
        cr_assert_gt(done, 0, "%s", result);
        cr_assert_gt(denied, 0, "%s", result);
        char p[300], text[16] = "";
        snprintf(p, sizeof p, "%s/outside.txt", dir);
        FILE *f = fopen(p, "r");
        cr_assert_not_null(f);
        cr_assert_not_null(fgets(text, sizeof text, f));
        fclose(f);
        cr_assert_str_eq(text, "SECRET", "the outside file was written");
        snprintf(p, sizeof p, "%s/created.txt", dir);
        cr_assert_neq(access(p, F_OK), 0, "a file was created outside");
    }
    remove_dirs(dir);
}

Test(sandbox_race, no_write_escapes_through_a_swapped_symlink, .timeout = 120)
{
    write_race(WRITES, 5000);
}

Test(sandbox_race, no_fs_write_escapes_through_a_swapped_symlink, .timeout = 120)
{
    write_race(FS_WRITES, 3000);
}

/* A read folder inside the write folder, and a relative symlink in the
 * write folder that leads inside it where it is (allowed/a/up -> ".."):
 * the guest renames the read folder away and the link in its place, where
 * ".." leads out. The folders were resolved again at each check, so the
 * read folder became the one above and the file outside was read. */
static const char MOVE_READ_DIR[] =
    "import fs\n"
    "fn probe(dir: str, n: int) -> str {\n"
    "    fs.rename(\"${dir}/allowed/r\", \"${dir}/allowed/r_old\")\n"
    "    fs.rename(\"${dir}/allowed/a/up\", \"${dir}/allowed/r\")\n"
    "    try {\n"
    "        return fs.read_file(\"${dir}/outside.txt\")\n"
    "    } catch e: PermissionError { return \"denied\" }\n"
    "}\n";

Test(sandbox_race, a_read_folder_cannot_be_swapped_for_a_link)
{
    char tmpl[] = "/tmp/kiln_race_XXXXXX";
    char *dir = make_dirs(tmpl), r[300], a[300], up[300];
    snprintf(r, sizeof r, "%s/allowed/r", dir);
    snprintf(a, sizeof a, "%s/allowed/a", dir);
    snprintf(up, sizeof up, "%s/allowed/a/up", dir);
    cr_assert_eq(mkdir(r, 0700), 0);
    cr_assert_eq(mkdir(a, 0700), 0);
    cr_assert_eq(symlink("..", up), 0);
    char allowed[256];
    snprintf(allowed, sizeof allowed, "%s/allowed", dir);
    const char *rdirs[] = {r, NULL}, *wdirs[] = {allowed, NULL};
    out o;
    kiln_config cfg = out_config(&o);
    cfg.allow = KILN_ALLOW_READ | KILN_ALLOW_WRITE;
    cfg.read_dirs = rdirs;
    cfg.write_dirs = wdirs;
    kiln_vm *vm = kiln_new(&cfg);
    cr_assert_eq(kiln_load_source(vm, "probe.kn", MOVE_READ_DIR, strlen(MOVE_READ_DIR)), KILN_OK,
                 "%s", kiln_error(vm));
    kiln_value args[2] = {kiln_str(vm, dir, strlen(dir)), kiln_int(0)}, res;
    cr_assert_eq(kiln_call(vm, "probe", args, 2, &res), KILN_OK, "%s", kiln_error(vm));
    cr_assert_str_eq(kiln_str_bytes(vm, res, NULL), "denied");
    kiln_free(vm);
    remove_dirs(dir);
}
