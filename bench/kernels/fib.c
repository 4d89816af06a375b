/* Recursive Fibonacci: the same algorithm as fib.kn.
 * Size: the first argument, n (default 36). */
#include <stdio.h>
#include <stdlib.h>

static long fib(long n)
{
    if (n < 2) return n;
    return fib(n - 1) + fib(n - 2);
}

/* The size: the first argument, else fallback. */
static long size_arg(int argc, char **argv, long fallback)
{
    if (argc < 2) return fallback;
    char *end;
    long n = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0') {
        fprintf(stderr, "the size must be an integer, not '%s'\n", argv[1]);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv)
{
    printf("%ld\n", fib(size_arg(argc, argv, 36)));
    return 0;
}
