/* Spectral norm: the same algorithm as spectral_norm.kn.
 * Size: the first argument, n (default 700). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "size_arg.h"

static double a(long i, long j)
{
    return 1.0 / (double)((i + j) * (i + j + 1) / 2 + i + 1);
}

static void mul_av(long n, const double *v, double *av)
{
    for (long i = 0; i < n; i++) {
        double sum = 0.0;
        for (long j = 0; j < n; j++)
            sum += a(i, j) * v[j];
        av[i] = sum;
    }
}

static void mul_atv(long n, const double *v, double *atv)
{
    for (long i = 0; i < n; i++) {
        double sum = 0.0;
        for (long j = 0; j < n; j++)
            sum += a(j, i) * v[j];
        atv[i] = sum;
    }
}

static void mul_atav(long n, const double *v, double *out, double *tmp)
{
    mul_av(n, v, tmp);
    mul_atv(n, tmp, out);
}

static double spectral_norm(long n)
{
    double *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v), *tmp = malloc(n * sizeof *tmp);
    if (!u || !v || !tmp) {
        perror("malloc");
        exit(1);
    }
    for (long i = 0; i < n; i++) {
        u[i] = 1.0;
        v[i] = 0.0;
        tmp[i] = 0.0;
    }
    for (int i = 0; i < 10; i++) {
        mul_atav(n, u, v, tmp);
        mul_atav(n, v, u, tmp);
    }
    double vbv = 0.0, vv = 0.0;
    for (long i = 0; i < n; i++) {
        vbv += u[i] * v[i];
        vv += v[i] * v[i];
    }
    free(u);
    free(v);
    free(tmp);
    return sqrt(vbv / vv);
}

int main(int argc, char **argv)
{
    printf("%lld\n", (long long)(spectral_norm(size_arg(argc, argv, 700)) * 1000000000.0));
    return 0;
}
