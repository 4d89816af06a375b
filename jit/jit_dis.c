/*
 * jit_dis.c — kiln dis --jit: each compiled function's machine code
 * beside its bytecode, decoded with capstone.
 */
#include <capstone/capstone.h>
#include <stdlib.h>

#include "jit_int.h"

struct dis {
    kiln_vm *vm;
    csh cs;
};

/* The machine code of instruction words from..to of function fi (the
 * first one with the prologue); after the last (to == UINT32_MAX), the
 * out-of-line paths: pcmap[ncode] is where they start. */
static void hook(void *ud, uint32_t fi, uint32_t from, uint32_t to, vm_buf *out)
{
    struct dis *d = ud;
    const vm_rtfunc *f = &d->vm->funcs[fi];
    const jit_code *jc = f->jinfo;
    uint32_t n = f->def->ncode;
    if (!jc) {
        if (to == UINT32_MAX)
            vm_buf_printf(out, "         (not compiled)\n");
        return;
    }
    size_t lo = from == 0 ? 0 : jc->pcmap[from], hi = to == UINT32_MAX ? jc->size : jc->pcmap[to];
    if (to == UINT32_MAX)
        vm_buf_printf(out, "         ; out of line: slow paths, landing pad\n");
    cs_insn *insn;
    size_t count = cs_disasm(d->cs, jc->code + lo, hi - lo, lo, 0, &insn);
    for (size_t i = 0; i < count; i++)
        vm_buf_printf(out, "         %6llx  %s %s\n", (unsigned long long)insn[i].address,
                      insn[i].mnemonic, insn[i].op_str);
    if (count)
        cs_free(insn, count);
    (void)n;
}

bool jit_disassemble(kiln_vm *vm, vm_buf *out)
{
    struct dis d = {vm, 0};
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &d.cs) != CS_ERR_OK)
        return false;
    vm_disasm_with(&vm->img, out, hook, &d);
    cs_close(&d.cs);
    return true;
}
