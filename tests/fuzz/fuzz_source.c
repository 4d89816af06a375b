/*
 * fuzz_source.c — libFuzzer target: arbitrary bytes as Kiln source.
 * Compiles; a program that compiles must also pass the verifier (the
 * compiler never emits bytecode the verifier rejects), so KILN_ERR_LOAD
 * after a successful compile is a bug and traps. Programs are not run:
 * `while true {}` is valid and would read as a time-out.
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
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm)
        return 0;
    if (kiln_load_source(vm, "fuzz.kn", (const char *)data, size) == KILN_ERR_LOAD)
        __builtin_trap();
    kiln_free(vm);
    return 0;
}
