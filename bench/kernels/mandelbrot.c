/* Mandelbrot escape counts: the same algorithm as mandelbrot.kn.
 * Size: the first argument, the grid's side (default 1500). */
#include <stdio.h>
#include <stdlib.h>

#include "size_arg.h"

static const int max_iter = 50;

static long mandelbrot(long size)
{
    long inside = 0;
    for (long y = 0; y < size; y++) {
        double ci = 2.0 * (double)y / (double)size - 1.0;
        for (long x = 0; x < size; x++) {
            double cr = 2.0 * (double)x / (double)size - 1.5;
            double zr = 0.0, zi = 0.0;
            int i = 0;
            while (i < max_iter && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                i += 1;
            }
            if (i == max_iter)
                inside += 1;
        }
    }
    return inside;
}

int main(int argc, char **argv)
{
    printf("%ld\n", mandelbrot(size_arg(argc, argv, 1500)));
    return 0;
}
