/*
 * embed.c — a small C application that embeds Kiln through libkiln:
 * it defines natives, loads a script, calls guest functions, handles a
 * guest error, and runs two VMs on two threads at once.
 *
 *   make embed-example && build/embed examples/embed/script.kn
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kiln.h"

/* host.log(msg: str): the guest's log lines, collected per VM (userdata)
 * and printed by the host when it chooses: VMs on threads do not
 * interleave their lines. */
struct log {
    const char *tag;
    char text[1024];
    size_t len;
};

static kiln_status host_log(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                            void *userdata)
{
    (void)nargs, (void)result;
    struct log *log = userdata;
    size_t len;
    const char *msg = kiln_str_bytes(vm, args[0], &len);
    int n = snprintf(log->text + log->len, sizeof log->text - log->len, "[%s] %.*s\n", log->tag,
                     (int)len, msg ? msg : "null");
    if (n > 0 && log->len + (size_t)n < sizeof log->text)
        log->len += (size_t)n;
    return KILN_OK;
}

/* host.weight(byte: int) -> int: letters weigh by their position. */
static kiln_status host_weight(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                               void *userdata)
{
    (void)nargs, (void)userdata;
    int64_t c = args[0].as.i;
    if (c < 0 || c > 255)
        return kiln_throw(vm, "ValueError", "not a byte");
    *result = kiln_int(c >= 'a' && c <= 'z' ? c - 'a' + 1 : 0);
    return KILN_OK;
}

/* A VM with the natives defined and the script loaded and run. */
static kiln_vm *start(const char *path, struct log *log)
{
    kiln_config cfg;
    kiln_config_init(&cfg);      /* nothing allowed: the script needs no files */
    cfg.fuel = 10 * 1000 * 1000; /* per run or call: no runaway script */
    cfg.heap_limit = 16 << 20;
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm)
        return NULL;
    if (kiln_define_native(vm, "host", "log", "fn(str)", host_log, log) != KILN_OK ||
        kiln_define_native(vm, "host", "weight", "fn(int) -> int", host_weight, NULL) != KILN_OK ||
        kiln_load_file(vm, path) != KILN_OK || kiln_run(vm) != KILN_OK) {
        fprintf(stderr, "%s\n", kiln_error(vm));
        kiln_free(vm);
        return NULL;
    }
    return vm;
}

struct job {
    const char *path, *words;
    struct log log;
    char best[64];
    kiln_status st;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    kiln_vm *vm = start(j->path, &j->log);
    if (!vm) {
        j->st = KILN_ERR_LOAD;
        return NULL;
    }
    kiln_value words = kiln_str(vm, j->words, strlen(j->words)), best;
    j->st = kiln_call(vm, "best", &words, 1, &best);
    if (j->st == KILN_OK)
        snprintf(j->best, sizeof j->best, "%s", kiln_str_bytes(vm, best, NULL));
    kiln_release(vm, words);
    kiln_release(vm, best);
    kiln_free(vm);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "examples/embed/script.kn";
    struct log log = {.tag = "main"};
    kiln_vm *vm = start(path, &log);
    if (!vm)
        return 1;
    fputs(log.text, stdout);

    /* Call a guest function with a string; the result is a handle. */
    kiln_value arg = kiln_str(vm, "zebra", 5), result;
    if (kiln_call(vm, "score", &arg, 1, &result) == KILN_OK)
        printf("score(\"zebra\") = %lld\n", (long long)result.as.i);
    kiln_release(vm, arg);

    /* A guest error comes back as KILN_ERR_RUNTIME with its trace; the
     * VM stays usable. */
    kiln_value n = kiln_int(-3);
    if (kiln_call(vm, "checked", &n, 1, &result) == KILN_ERR_RUNTIME)
        printf("checked(-3) failed:\n%s\n", kiln_error(vm));
    n = kiln_int(12);
    if (kiln_call(vm, "checked", &n, 1, &result) == KILN_OK)
        printf("checked(12) = %lld\n", (long long)result.as.i);
    kiln_free(vm);

    /* Two VMs, two threads, at once: nothing is shared. */
    struct job jobs[2] = {{.path = path, .words = "apple kiwi banana", .log.tag = "left"},
                          {.path = path, .words = "sky moon zzz", .log.tag = "right"}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, run_job, &jobs[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < 2; i++)
        printf("%s%s: best of \"%s\" is %s\n", jobs[i].log.text, jobs[i].log.tag, jobs[i].words,
               jobs[i].st == KILN_OK ? jobs[i].best : "(failed)");
    return 0;
}
