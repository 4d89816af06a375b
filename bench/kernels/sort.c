/* Sorting: the same data and checks as sort.kn, with qsort.
 * Size: the first argument, n (default 1000000). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "size_arg.h"

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long n = size_arg(argc, argv, 1000000);
    int64_t *xs = malloc(sizeof *xs * (size_t)(n ? n : 1));
    if (!xs) {
        perror("malloc");
        return 1;
    }
    uint64_t x = 42;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        xs[i] = (int64_t)((x >> 33) & 0x7fffffff);
    }
    qsort(xs, (size_t)n, sizeof *xs, cmp);
    int64_t check = 0;
    for (long i = 0; i < n; i++) {
        if (i > 0 && xs[i - 1] > xs[i]) {
            fprintf(stderr, "not sorted at %ld\n", i);
            return 1;
        }
        check = (check * 31 + xs[i]) & 0xffffffff;
    }
    printf("%lld %lld %lld %lld\n", (long long)xs[0], (long long)xs[n / 2], (long long)xs[n - 1],
           (long long)check);
    free(xs);
    return 0;
}
