/* Recursive Fibonacci: the same algorithm as fib.kn. */
#include <stdio.h>

static long fib(long n)
{
    if (n < 2) return n;
    return fib(n - 1) + fib(n - 2);
}

int main(void)
{
    printf("%ld\n", fib(36));
    return 0;
}
