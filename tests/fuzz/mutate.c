/*
 * mutate.c — the image mutation test: corrupts valid images at random and
 * checks that `kiln run --no-checksum` never dies by a signal.
 *
 *   mutate KILN COUNT SEED OUTDIR IMAGE...
 *
 * Each mutant is one of the seed images with 1 to 4 random bytes flipped,
 * set, or the file truncated at a random length. The checksum is skipped so
 * that corruption reaches the structure checks and the verifier instead of
 * stopping at the checksum. A mutant passes when kiln exits normally (0 or
 * 1: it ran, 2: it was rejected). A mutant still running after the time
 * limit is counted apart (a corrupted jump can make a valid infinite loop;
 * fuel limits will bound those) and killed; a mutant killed by any other
 * signal is a failure, and its file is kept in OUTDIR for reproduction.
 * The generator is a fixed xorshift, so a seed always makes the same
 * mutants.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && fread(p, 1, (size_t)n, fp) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(fp);
    *len = (size_t)n;
    return p;
}

/* Runs kiln on `path`, sandboxed (a mutant of a program that was denied a
 * write could otherwise perform it); returns the wait status, or -1 on a
 * time-out. */
static int run(const char *kiln, const char *path, double limit)
{
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(kiln, kiln, "run", "--sandbox", "--no-checksum", path, (char *)NULL);
        _exit(127);
    }
    struct timespec step = {0, 2000000};
    for (double waited = 0; waited < limit; waited += 0.002) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        nanosleep(&step, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: mutate KILN COUNT SEED OUTDIR IMAGE...\n");
        return 2;
    }
    const char *kiln = argv[1], *outdir = argv[4];
    int count = atoi(argv[2]);
    rng_state = strtoull(argv[3], NULL, 10) | 1;
    int nimages = argc - 5;
    unsigned char **images = calloc((size_t)nimages, sizeof *images);
    size_t *lens = calloc((size_t)nimages, sizeof *lens);
    for (int i = 0; i < nimages; i++) {
        images[i] = read_file(argv[5 + i], &lens[i]);
        if (!images[i] || lens[i] == 0) {
            fprintf(stderr, "mutate: cannot read %s\n", argv[5 + i]);
            return 2;
        }
    }
    int rejected = 0, ran = 0, timeouts = 0, crashed = 0;
    char path[4096];
    for (int m = 0; m < count; m++) {
        int k = (int)(rng() % (uint64_t)nimages);
        size_t len = lens[k];
        unsigned char *buf = malloc(len);
        memcpy(buf, images[k], len);
        int kind = (int)(rng() % 4);
        if (kind == 0) {
            len = (size_t)(rng() % len); /* truncate */
        } else {
            int flips = 1 + (int)(rng() % 4);
            for (int f = 0; f < flips; f++) {
                size_t at = (size_t)(rng() % len);
                if (kind == 1)
                    buf[at] ^= (unsigned char)(1u << (rng() % 8));
                else if (kind == 2)
                    buf[at] = (unsigned char)rng();
                else /* small integers are the likeliest to pass the reader */
                    buf[at] = (unsigned char)(rng() % 4);
            }
        }
        snprintf(path, sizeof path, "%s/mutant-%d.kbc", outdir, m);
        FILE *fp = fopen(path, "wb");
        if (!fp || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
            fprintf(stderr, "mutate: cannot write %s\n", path);
            return 2;
        }
        free(buf);
        int st = run(kiln, path, 2.0);
        if (st == -1) {
            timeouts++;
        } else if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) > 2)) {
            crashed++;
            fprintf(stderr, "mutate: %s: %s %d\n", path,
                    WIFSIGNALED(st) ? "killed by signal" : "exit code",
                    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            continue; /* keep the file */
        } else if (WEXITSTATUS(st) == 2) {
            rejected++;
        } else {
            ran++;
        }
        unlink(path);
    }
    printf("mutants: %d, rejected %d, ran to a normal exit %d, timed out %d, crashed %d\n", count,
           rejected, ran, timeouts, crashed);
    for (int i = 0; i < nimages; i++)
        free(images[i]);
    free(images);
    free(lens);
    return crashed ? 1 : 0;
}
