/*
 * fuzz_struct.c — libFuzzer target with a structure-aware image mutator:
 * an input that reads as an image is mutated field by field (an
 * instruction's opcode or operand, a jump, a register's type, a catch
 * clause, a class's superclass, module, field types, vtable and enum
 * variants, a global's or a native reference's types, a function's
 * signature), then written back
 * with a valid layout, so that mutants reach the verifier's checks rather
 * than stopping at the reader's. Every image that loads is then run, with
 * fuel and a heap limit (a mutated jump makes valid infinite loops), by
 * the interpreter or, for inputs of odd length, with every function
 * compiled first (KILN_JIT_ALWAYS). Inputs that do not read as an image
 * get libFuzzer's own byte mutations.
 *
 *   make fuzz && build/fuzz/fuzz_struct -timeout=10 CORPUS SEED_IMAGES
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../vm/image.h"
#include "../../vm/kiln.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A value near v, or anywhere below `bound` (+ a little past it). */
static uint32_t near(uint64_t *s, uint32_t v, uint32_t bound)
{
    switch (next(s) % 4) {
    case 0: return v + 1;
    case 1: return v ? v - 1 : 0;
    case 2: return (uint32_t)(next(s) % (bound + 2));
    default: return (uint32_t)next(s);
    }
}

static uint32_t any_type(uint64_t *s, const vm_image *im)
{
    return (uint32_t)(next(s) % (VM_T__COUNT + im->ntypes + 1));
}

static void mutate_code(vm_image *im, uint64_t *s)
{
    vm_func *f = &im->funcs[next(s) % im->nfuncs];
    if (!f->ncode)
        return;
    uint32_t *w = &f->code[next(s) % f->ncode];
    switch (next(s) % 6) {
    case 0: *w = (*w & ~0xffu) | (uint32_t)(next(s) % (OP__COUNT + 1)); break;
    case 1: *w = (*w & ~(0xffu << 8)) | near(s, INS_A(*w), f->nregs) << 8; break;
    case 2: *w = (*w & ~(0xffu << 16)) | (near(s, INS_B(*w), f->nregs) & 0xff) << 16; break;
    case 3: *w = (*w & 0x00ffffffu) | (near(s, INS_C(*w), f->nregs) & 0xff) << 24; break;
    case 4: *w = (*w & 0xffffu) | (near(s, INS_Bx(*w), f->ncode) & 0xffff) << 16; break;
    default: *w = (uint32_t)next(s); break;
    }
}

static void mutate_image(vm_image *im, uint64_t *s)
{
    switch (next(s) % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
        if (im->nfuncs)
            mutate_code(im, s);
        break;
    case 4: {
        vm_func *f = im->nfuncs ? &im->funcs[next(s) % im->nfuncs] : NULL;
        if (f && f->nregs)
            f->types[next(s) % f->nregs] = (uint16_t)any_type(s, im);
        break;
    }
    case 5: {
        vm_func *f = im->nfuncs ? &im->funcs[next(s) % im->nfuncs] : NULL;
        if (!f || !f->nhandlers)
            break;
        vm_handler *h = &f->handlers[next(s) % f->nhandlers];
        switch (next(s) % 5) {
        case 0: h->start = near(s, h->start, f->ncode); break;
        case 1: h->end = near(s, h->end, f->ncode); break;
        case 2: h->handler = near(s, h->handler, f->ncode); break;
        case 3: h->reg = (uint16_t)near(s, h->reg, f->nregs); break;
        default: h->cls = next(s) % 3 ? near(s, h->cls, im->nclasses) : VM_CATCH_ALL; break;
        }
        break;
    }
    case 6: {
        vm_class *c = im->nclasses ? &im->classes[next(s) % im->nclasses] : NULL;
        if (!c)
            break;
        switch (next(s) % 6) {
        case 0: c->super = (int32_t)near(s, (uint32_t)(c->super + 1), im->nclasses) - 1; break;
        case 4: c->module = near(s, c->module, im->nmodules); break;
        case 5: { /* an enum's variant: its payload's place or size, or one fewer */
            vm_variant *v = c->nvariants ? &c->variants[next(s) % c->nvariants] : NULL;
            uint32_t k = next(s) % 3;
            if (v && k == 0)
                v->first = (uint16_t)near(s, v->first, c->nfields);
            else if (v && k == 1)
                v->n = (uint16_t)near(s, v->n, c->nfields);
            else if (v)
                c->nvariants--;
            break;
        }
        case 1:
            if (c->nfields)
                c->field_types[next(s) % c->nfields] = (uint16_t)any_type(s, im);
            break;
        case 2:
            if (c->nslots)
                c->slots[next(s) % c->nslots] = near(s, 0, im->nfuncs);
            break;
        default:
            if (c->nfields)
                c->nfields--; /* fewer fields than its superclass, or than code uses */
            break;
        }
        break;
    }
    case 7:
        if (im->nglobals)
            im->globals[next(s) % im->nglobals].type = (uint16_t)any_type(s, im);
        break;
    case 8: {
        vm_nativeref *n = im->nnatives ? &im->natives[next(s) % im->nnatives] : NULL;
        if (n && n->nparams && next(s) % 2)
            n->params[next(s) % n->nparams] = (uint16_t)any_type(s, im);
        else if (n)
            n->ret = (uint16_t)any_type(s, im);
        break;
    }
    default: {
        vm_func *f = im->nfuncs ? &im->funcs[next(s) % im->nfuncs] : NULL;
        if (!f)
            break;
        switch (next(s) % 3) {
        case 0: f->ret = (uint16_t)any_type(s, im); break;
        case 1: f->nparams = (uint8_t)(next(s) % (f->nregs + 1u)); break;
        default: f->ncaps = (uint8_t)(next(s) % (f->nregs + 1u)); break;
        }
        break;
    }
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint64_t s = (uint64_t)seed * 0x9e3779b97f4a7c15ull | 1;
    if (next(&s) % 4 == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    vm_image im;
    char err[256];
    if (!vm_image_read(data, size, false, &im, err, sizeof err)) {
        vm_image_free(&im);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    for (uint64_t k = 1 + next(&s) % 3; k > 0; k--)
        mutate_image(&im, &s);
    vm_buf out = {0};
    bool ok = vm_image_write(&im, &out) && !out.oom && out.len <= max_size;
    if (ok)
        memcpy(data, out.data, out.len);
    size_t n = ok ? out.len : LLVMFuzzerMutate(data, size, max_size);
    vm_buf_free(&out);
    vm_image_free(&im);
    return n;
}

static void discard(void *userdata, int stream, const char *bytes, size_t len)
{
    (void)userdata, (void)stream, (void)bytes, (void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kiln_config cfg;
    kiln_config_init(&cfg); /* nothing allowed on the host */
    cfg.flags = KILN_FLAG_NO_CHECKSUM;
    cfg.fuel = 20000;
    cfg.heap_limit = 16 << 20;
    cfg.jit = size % 2 ? KILN_JIT_ALWAYS : KILN_JIT_OFF;
    cfg.write = discard;
    kiln_vm *vm = kiln_new(&cfg);
    if (!vm)
        return 0;
    if (kiln_load_image(vm, data, size) == KILN_OK)
        kiln_run(vm);
    kiln_free(vm);
    return 0;
}
