/*
 * jit_dis.c — kiln dis --jit: each compiled function's machine code
 * beside its bytecode, decoded with capstone.
 *
 * capstone is loaded when a listing is asked for (dlopen), not linked:
 * its relocations would cost every `kiln run` a few milliseconds of
 * start-up for a tool used now and then.
 */
#include <capstone/capstone.h>
#include <dlfcn.h>
#include <stdlib.h>

#include "jit_int.h"

struct dis {
    kiln_vm *vm;
    csh cs;
    size_t (*disasm)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **);
    void (*free)(cs_insn *, size_t);
};

/* The machine code of instruction words from..to of function fi (the
 * first one with the prologue); after the last (to == UINT32_MAX), the
 * out-of-line paths: pcmap[ncode] is where they start. */
static void hook(void *ud, uint32_t fi, uint32_t from, uint32_t to, vm_buf *out)
{
    struct dis *d = ud;
    const vm_rtfunc *f = &d->vm->funcs[fi];
    const jit_code *jc = f->jinfo;
    if (!jc) {
        if (to == UINT32_MAX)
            vm_buf_printf(out, "         (not compiled)\n");
        return;
    }
    size_t lo = from == 0 ? 0 : jc->pcmap[from], hi = to == UINT32_MAX ? jc->size : jc->pcmap[to];
    if (to == UINT32_MAX)
        vm_buf_printf(out, "         ; out of line: slow paths, OSR entry, landing pad\n");
    cs_insn *insn;
    size_t count = d->disasm(d->cs, jc->code + lo, hi - lo, lo, 0, &insn);
    for (size_t i = 0; i < count; i++)
        vm_buf_printf(out, "         %6llx  %s %s\n", (unsigned long long)insn[i].address,
                      insn[i].mnemonic, insn[i].op_str);
    if (count)
        d->free(insn, count);
}

bool jit_disassemble(kiln_vm *vm, vm_buf *out)
{
    static const char *const names[] = {"libcapstone.so.4", "libcapstone.so.5", "libcapstone.so"};
    void *lib = NULL;
    for (size_t i = 0; !lib && i < sizeof names / sizeof *names; i++)
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return false;
    struct dis d = {vm, 0, NULL, NULL};
    cs_err (*open)(cs_arch, cs_mode, csh *) = NULL;
    cs_err (*close)(csh *) = NULL;
    /* POSIX: a data pointer from dlsym converts to a function pointer. */
    *(void **)&open = dlsym(lib, "cs_open");
    *(void **)&close = dlsym(lib, "cs_close");
    *(void **)&d.disasm = dlsym(lib, "cs_disasm");
    *(void **)&d.free = dlsym(lib, "cs_free");
    bool ok =
        open && close && d.disasm && d.free && open(CS_ARCH_X86, CS_MODE_64, &d.cs) == CS_ERR_OK;
    if (ok) {
        vm_disasm_with(&vm->img, out, hook, &d);
        close(&d.cs);
    }
    dlclose(lib);
    return ok;
}
