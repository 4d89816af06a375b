/*
 * embed.c — a small C application that embeds Kiln through libkiln:
 * it defines natives (one taking and returning structured values), serves
 * a module from memory through a loader, loads a script, calls guest
 * functions by name and through a resolved handle, passes an array in and
 * walks the map that comes back, reads and sets a global, stops a runaway
 * call with per-call limits and reads its error as data, resets the VM,
 * and runs two VMs on two threads at once.
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

/* host.lengths(words: [str]) -> {int: int}: how many words of each
 * length; structured values both ways. */
static kiln_status host_lengths(kiln_vm *vm, const kiln_value *args, int nargs, kiln_value *result,
                                void *userdata)
{
    (void)nargs, (void)userdata;
    int64_t n;
    kiln_status st = kiln_array_len(vm, args[0], &n);
    if (st == KILN_OK)
        st = kiln_map_new(vm, "{int: int}", result);
    for (int64_t i = 0; st == KILN_OK && i < n; i++) {
        kiln_value w, count;
        size_t len;
        bool found;
        st = kiln_array_get(vm, args[0], i, &w);
        if (st != KILN_OK || !kiln_str_bytes(vm, w, &len))
            return st != KILN_OK ? st : kiln_throw(vm, "NullError", "a null word");
        kiln_release(vm, w);
        kiln_value key = kiln_int((int64_t)len);
        st = kiln_map_get(vm, *result, key, &count, &found);
        if (st == KILN_OK)
            st = kiln_map_set(vm, *result, key, kiln_int(found ? count.as.i + 1 : 1));
    }
    return st;
}

/* The loader: module `letters` comes from memory, not from disk; any
 * other import is not the host's (the default loader looks for it). */
static const char LETTERS[] = "// served by the host's loader\n"
                              "let vowels = \"aeiou\"\n"
                              "fn is_vowel(c: str) -> bool { return vowels.contains(c) }\n";

static kiln_status load_module(void *userdata, const char *name, kiln_module *out)
{
    (void)userdata;
    if (!strcmp(name, "letters")) {
        out->src = LETTERS;
        out->len = sizeof LETTERS - 1;
        out->file = "<host>/letters.kn";
    }
    return KILN_OK;
}

/* A VM with the natives defined and the script loaded and run. */
static kiln_vm *start(const char *path, struct log *log)
{
    kiln_config cfg;
    kiln_config_init(&cfg);      /* nothing allowed: the script needs no files */
    cfg.fuel = 10 * 1000 * 1000; /* per run or call: no runaway script */
    cfg.heap_limit = 16 << 20;
    cfg.load_module = load_module;
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm)
        return NULL;
    if (kiln_define_native(vm, "host", "log", "fn(str)", host_log, log) != KILN_OK ||
        kiln_define_native(vm, "host", "weight", "fn(int) -> int", host_weight, NULL) != KILN_OK ||
        kiln_define_native(vm, "host", "lengths", "fn([str]) -> {int: int}", host_lengths, NULL) !=
            KILN_OK ||
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

    /* A function found once, its type checked once, then called by handle. */
    kiln_fn score;
    if (kiln_find_function(vm, "score", "fn(str) -> int", &score) == KILN_OK) {
        const char *words[] = {"ant", "bee", "cat"};
        for (int i = 0; i < 3; i++) {
            kiln_value w = kiln_str(vm, words[i], strlen(words[i]));
            if (kiln_call_fn(vm, score, &w, 1, &result) == KILN_OK)
                printf("score(\"%s\") = %lld\n", words[i], (long long)result.as.i);
            kiln_release(vm, w);
        }
    }

    /* An array built by the host goes in; a map comes back and is walked. */
    kiln_value list, stats, key, val;
    if (kiln_array_new(vm, "[str]", &list) == KILN_OK) {
        const char *words[] = {"kiln", "fire", "clay", "glaze", "ash"};
        for (int i = 0; i < 5; i++) {
            kiln_value w = kiln_str(vm, words[i], strlen(words[i]));
            kiln_array_push(vm, list, w);
            kiln_release(vm, w);
        }
        if (kiln_call(vm, "vowel_counts", &list, 1, &stats) == KILN_OK) {
            uint64_t pos = 0;
            while (kiln_map_next(vm, stats, &pos, &key, &val) == 1) {
                printf("vowels in %s: %lld\n", kiln_str_bytes(vm, key, NULL), (long long)val.as.i);
                kiln_release(vm, key);
            }
            kiln_release(vm, stats);
        }
        kiln_release(vm, list);
    }

    /* Globals: read what the script counted, set what it reads. */
    kiln_value calls;
    if (kiln_get_global(vm, "calls", &calls) == KILN_OK)
        printf("the script counted %lld calls of score\n", (long long)calls.as.i);
    kiln_set_global(vm, "bonus", kiln_int(100));
    n = kiln_int(2);
    if (kiln_call(vm, "checked", &n, 1, &result) == KILN_OK)
        printf("checked(2) with a bonus of 100 = %lld\n", (long long)result.as.i);

    /* Per-call limits: a runaway call stops; its error is data too. */
    kiln_set_limits(vm, 50000, 1.0);
    if (kiln_call(vm, "spin", NULL, 0, &result) == KILN_ERR_LIMIT) {
        kiln_frame f;
        kiln_error_frame(vm, 0, &f);
        printf("spin() stopped: %s, in %s at line %u\n", kiln_error_message(vm), f.function,
               f.line);
    }
    kiln_set_limits(vm, 10 * 1000 * 1000, 0);
    if (kiln_call(vm, "checked", &(kiln_value){KILN_INT, .as.i = -1}, 1, &result) ==
        KILN_ERR_RUNTIME)
        printf("checked(-1): class %s, message \"%s\", %d frame(s)\n", kiln_error_class(vm),
               kiln_error_message(vm), kiln_error_frames(vm, NULL));

    /* A reset puts the VM back as it was loaded: globals start again. */
    kiln_reset(vm);
    if (kiln_run(vm) == KILN_OK && kiln_get_global(vm, "calls", &calls) == KILN_OK)
        printf("after a reset and a run: %lld calls\n", (long long)calls.as.i);
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
