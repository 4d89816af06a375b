/* Recursive Fibonacci: the same algorithm as fib.kn.
 * Size: the first argument, n (default 36). */
#include <stdio.h>
#include <stdlib.h>

#include "size_arg.h"

static long fib(long n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
    printf("%ld\n", fib(size_arg(argc, argv, 36)));
    return 0;
}
