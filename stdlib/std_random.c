/*
 * std_random.c — the random module's default generator: xoshiro256**
 * (Blackman and Vigna), its state filled by splitmix64 from a seed, as the
 * prelude's Random class does in Kiln, so Random(seed) and random.seed(seed)
 * give the same sequence on every machine. Until random.seed is called the
 * seed comes from the OS (getrandom). The state is the VM's: VMs do not
 * share it.
 */
#include <sys/random.h>
#include <time.h>

#include "../runtime/rt.h"
#include "std.h"

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void seed_with(kiln_vm *vm, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        vm->rng[i] = splitmix(&seed);
    vm->rng_seeded = true;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next(kiln_vm *vm)
{
    if (!vm->rng_seeded) {
        uint64_t seed;
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
            seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)vm;
        seed_with(vm, seed);
    }
    uint64_t *s = vm->rng, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* lo..hi inclusive, without bias: 63 bits of the generator, rejected when
 * they fall in the last partial span (the prelude's Random does the same,
 * so both give one sequence). */
static int r_next_int(kiln_vm *vm, vm_value *a, vm_value *r)
{
    int64_t lo = a[0].i, hi = a[1].i;
    if (hi < lo) {
        rt_raise(vm, RT_ERR_VALUE, "next_int: %lld > %lld", (long long)lo, (long long)hi);
        return -1;
    }
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    if (span == 0 || span > (uint64_t)INT64_MAX) { /* more than 63 bits wide */
        uint64_t x;
        do
            x = next(vm);
        while ((int64_t)x < lo || (int64_t)x > hi);
        r->i = (int64_t)x;
        return 0;
    }
    int64_t x, m;
    do {
        x = (int64_t)(next(vm) >> 1);
        m = x % (int64_t)span;
    } while (x - m > INT64_MAX - ((int64_t)span - 1));
    r->i = (int64_t)((uint64_t)lo + (uint64_t)m);
    return 0;
}

static int r_next_float(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)a;
    r->f = (double)(next(vm) >> 11) * 0x1.0p-53;
    return 0;
}

static int r_seed(kiln_vm *vm, vm_value *a, vm_value *r)
{
    (void)r;
    seed_with(vm, (uint64_t)a[0].i);
    return 0;
}

const vm_native std_random_natives[] = {
    STD_NATIVE("random.next_int", "ii", 'i', r_next_int),
    STD_NATIVE("random.next_float", "", 'f', r_next_float),
    STD_NATIVE("random.seed", "i", 'v', r_seed),
    /* the same, for the library's random.shuffle and random.choice */
    STD_NATIVE("__random_int", "ii", 'i', r_next_int),
};
const size_t std_random_count = sizeof std_random_natives / sizeof std_random_natives[0];
