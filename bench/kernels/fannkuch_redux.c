/* Fannkuch-redux: the same algorithm as fannkuch_redux.kn.
 * Size: the first argument, n (default 10). */
#include <stdio.h>
#include <stdlib.h>

#include "size_arg.h"

static void fannkuch(int n, long *checksum_out, int *max_flips_out)
{
    /* n + 1 slots: the rotation reads perm1[r] with r up to n - 1. */
    int *perm = calloc(n + 1, sizeof *perm), *perm1 = calloc(n + 1, sizeof *perm1);
    int *count = calloc(n + 1, sizeof *count);
    for (int i = 0; i < n; i++)
        perm1[i] = i;
    int max_flips = 0;
    long checksum = 0, perm_count = 0;
    int r = n;
    for (;;) {
        while (r != 1) {
            count[r - 1] = r;
            r -= 1;
        }
        for (int i = 0; i < n; i++)
            perm[i] = perm1[i];
        int flips = 0;
        int k = perm[0];
        while (k != 0) {
            int i = 0, j = k;
            while (i < j) {
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
                i += 1;
                j -= 1;
            }
            flips += 1;
            k = perm[0];
        }
        if (flips > max_flips)
            max_flips = flips;
        if (perm_count % 2 == 0)
            checksum += flips;
        else
            checksum -= flips;
        for (;;) {
            if (r == n)
                goto done;
            int perm0 = perm1[0];
            for (int i = 0; i < r; i++)
                perm1[i] = perm1[i + 1];
            perm1[r] = perm0;
            count[r] -= 1;
            if (count[r] > 0)
                break;
            r += 1;
        }
        perm_count += 1;
    }
done:
    free(perm);
    free(perm1);
    free(count);
    *checksum_out = checksum;
    *max_flips_out = max_flips;
}

int main(int argc, char **argv)
{
    int n = (int)size_arg(argc, argv, 10), max_flips;
    long checksum;
    fannkuch(n, &checksum, &max_flips);
    printf("%ld\nPfannkuchen(%d) = %d\n", checksum, n, max_flips);
    return 0;
}
