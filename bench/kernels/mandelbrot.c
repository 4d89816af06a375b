/* Mandelbrot escape counts: the same algorithm as mandelbrot.kn. */
#include <stdio.h>

int main(void)
{
    const int size = 1500, max_iter = 50;
    long inside = 0;
    for (int y = 0; y < size; y++) {
        double ci = 2.0 * (double)y / (double)size - 1.0;
        for (int x = 0; x < size; x++) {
            double cr = 2.0 * (double)x / (double)size - 1.5;
            double zr = 0.0, zi = 0.0;
            int i = 0;
            while (i < max_iter && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                i += 1;
            }
            if (i == max_iter) inside += 1;
        }
    }
    printf("%ld\n", inside);
    return 0;
}
