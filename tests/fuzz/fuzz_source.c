/*
 * fuzz_source.c — libFuzzer target: arbitrary bytes as Kiln source.
 * Compiles; a program that compiles must also pass the verifier (the
 * compiler never emits bytecode the verifier rejects), so KILN_ERR_LOAD
 * after a successful compile is a bug and traps. What compiles then runs
 * under fuel (so `while true {}` ends), a heap limit, and no host access:
 * any guest fault must come back as a status, never a crash. Inputs of odd
 * length run with every function compiled first (KILN_JIT_ALWAYS), even
 * ones with the default tier-up, so both tiers and their mix see it.
 */
#include <stddef.h>
#include <stdint.h>

#include "../../vm/kiln.h"

static void discard(void *ud, int stream, const char *p, size_t n)
{
    (void)ud, (void)stream, (void)p, (void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.write = discard;
    cfg.fuel = 200000;
    cfg.heap_limit = 16 << 20;
    cfg.jit = size % 2 ? KILN_JIT_ALWAYS : KILN_JIT_ON;
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm)
        return 0;
    kiln_status st = kiln_load_source(vm, "fuzz.kn", (const char *)data, size);
    if (st == KILN_ERR_LOAD)
        __builtin_trap();
    if (st == KILN_OK)
        (void)kiln_run(vm);
    kiln_free(vm);
    return 0;
}
