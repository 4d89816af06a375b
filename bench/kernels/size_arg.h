/* size_arg.h: the C kernels' size argument (each kernel includes it). */
#ifndef KERNEL_SIZE_ARG_H
#define KERNEL_SIZE_ARG_H
#include <stdio.h>
#include <stdlib.h>

/* The size: the first argument, else fallback. */
static long size_arg(int argc, char **argv, long fallback)
{
    if (argc < 2)
        return fallback;
    char *end;
    long n = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0') {
        fprintf(stderr, "the size must be an integer, not '%s'\n", argv[1]);
        exit(2);
    }
    return n;
}
#endif
