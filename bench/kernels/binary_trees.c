/* Binary trees: the same algorithm as binary_trees.kn, with malloc/free.
 * Size: the first argument, the maximum depth (default 16). */
#include <stdio.h>
#include <stdlib.h>

#include "size_arg.h"

struct node {
    struct node *left, *right;
};

static struct node *make(int depth)
{
    struct node *n = malloc(sizeof *n);
    if (!n) {
        perror("malloc");
        exit(1);
    }
    if (depth == 0) {
        n->left = n->right = NULL;
    } else {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    }
    return n;
}

static long check(const struct node *n)
{
    if (n->left == NULL)
        return 1;
    return 1 + check(n->left) + check(n->right);
}

static void release(struct node *n)
{
    if (n->left) {
        release(n->left);
        release(n->right);
    }
    free(n);
}

static void run(int max_depth)
{
    int stretch = max_depth + 1;
    struct node *t = make(stretch);
    printf("stretch tree of depth %d\t check: %ld\n", stretch, check(t));
    release(t);
    struct node *long_lived = make(max_depth);
    for (int depth = 4; depth <= max_depth; depth += 2) {
        long iterations = 1L << (max_depth - depth + 4), sum = 0;
        for (long i = 0; i < iterations; i++) {
            t = make(depth);
            sum += check(t);
            release(t);
        }
        printf("%ld\t trees of depth %d\t check: %ld\n", iterations, depth, sum);
    }
    printf("long lived tree of depth %d\t check: %ld\n", max_depth, check(long_lived));
    release(long_lived);
}

int main(int argc, char **argv)
{
    run((int)size_arg(argc, argv, 16));
    return 0;
}
