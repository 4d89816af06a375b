/*
 * fuzz_image.c — libFuzzer target: arbitrary bytes as a bytecode image,
 * loaded without the checksum so that mutations reach the reader's
 * structure checks and the verifier. Verified images are not run (a
 * mutated jump makes valid infinite loops); the mutation test in
 * tests/run.sh runs them.
 */
#include <stddef.h>
#include <stdint.h>

#include "../../vm/kiln.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kiln_config cfg;
    kiln_config_init(&cfg);
    cfg.flags = KILN_FLAG_NO_CHECKSUM;
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm)
        return 0;
    if (kiln_load_image(vm, data, size) == KILN_OK) {
        const char *text;
        kiln_disassemble(vm, &text);
    }
    kiln_free(vm);
    return 0;
}
