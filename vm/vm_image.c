/*
 * vm_image.c — the bytecode image format: writer and reader.
 *
 * Layout (all integers little-endian):
 *
 *   header   magic "\x7fKILN\r\n\x1a" (8)  version u32  sections u32
 *            checksum u64 (FNV-1a 64 of every byte after the header)
 *   sections in this order, each  tag u32  size u32  body[size]
 *     STRS  count u32, then per string: len u32, bytes
 *     TYPE  count u32, then per type-table entry: kind u8, a u32 (a map's a
 *           packs key type | value type << 16, a function type's result
 *           type | nparams << 16, followed by its types u16[nparams])
 *           (type ids 0-6 are void int float bool str ptr Buffer; entry i
 *           is id 7 + i)
 *     CNST  count u32, then per constant: type u8, bits u64
 *     GLOB  count u32, then per global: name u32, type u16, flags u8 (1: var)
 *     NATV  count u32, then per native: name u32, ret u16, nparams u8, types u16[nparams]
 *     CLAS  count u32, then per class: name u32, module u32, super i32,
 *           type u16, nfields u16, (type u16, name u32)[nfields], nslots u16,
 *           function u32[nslots], nvariants u16 (0 unless an enum),
 *           (name u32, first field u16, payload count u16)[nvariants]
 *     FUNC  count u32, then per function: name u32, module u32, nparams u8,
 *           ncaps u8, ret u16, nregs u16, types u16[nregs], ncode u32, code u32[ncode],
 *           nlines u32, (pc u32, line u32)[nlines],
 *           nhandlers u32, (start u32, end u32, handler u32, class u32, reg u16)[nhandlers]
 *     EXTN  the FFI's tables (C types are u32s, image.h):
 *           count u32, then per C struct: class u32, nfields u16, ctype u32[nfields];
 *           count u32, then per C signature: ret u32, nparams u8, nfixed u8,
 *           ctype u32[nparams];
 *           count u32, then per extern function: native u32, library u32
 *           (a string), signature u32, parameter name u32[its nparams]
 *     MODS  count u32, then per module: name u32, file u32, init u32
 *     ENTR  entry module u32, main function i32 (-1: none)
 *
 * The magic's CR LF and ^Z catch transfers that mangle line endings, as
 * PNG's does. The reader checks structure and every cross-reference index;
 * the verifier (vm_verify.c) checks the code itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

static const uint8_t MAGIC[8] = {0x7f, 'K', 'I', 'L', 'N', '\r', '\n', 0x1a};
enum { HEADER_SIZE = 24, NSECTIONS = 10 };
static const char SECTION_TAGS[NSECTIONS][5] = {"STRS", "TYPE", "CNST", "GLOB", "NATV",
                                                "CLAS", "FUNC", "EXTN", "MODS", "ENTR"};

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

bool vm_image_is(const void *buf, size_t len)
{
    return len >= sizeof MAGIC && memcmp(buf, MAGIC, sizeof MAGIC) == 0;
}

const char *vm_image_str(const vm_image *im, uint32_t idx)
{
    return idx < im->nstrs ? im->str_data + im->str_off[idx] : "?";
}

/* ---- Writer ---- */

static void put_u8(vm_buf *b, uint8_t v)
{
    vm_buf_put(b, &v, 1);
}
static void put_u16(vm_buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    vm_buf_put(b, p, 2);
}
static void put_u32(vm_buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    vm_buf_put(b, p, 4);
}
static void put_u64(vm_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}
static void patch_u32(vm_buf *b, size_t at, uint32_t v)
{
    if (b->oom)
        return;
    for (int i = 0; i < 4; i++)
        b->data[at + i] = (char)(v >> (8 * i));
}

static size_t begin_section(vm_buf *b, int i)
{
    vm_buf_put(b, SECTION_TAGS[i], 4);
    put_u32(b, 0);
    return b->len;
}
static void end_section(vm_buf *b, size_t start)
{
    patch_u32(b, start - 4, (uint32_t)(b->len - start));
}

static void write_func(vm_buf *b, const vm_func *f)
{
    put_u32(b, f->name);
    put_u32(b, f->module);
    put_u8(b, f->nparams);
    put_u8(b, f->ncaps);
    put_u16(b, f->ret);
    put_u16(b, f->nregs);
    for (uint32_t i = 0; i < f->nregs; i++)
        put_u16(b, f->types[i]);
    put_u32(b, f->ncode);
    for (uint32_t i = 0; i < f->ncode; i++)
        put_u32(b, f->code[i]);
    put_u32(b, f->nlines);
    for (uint32_t i = 0; i < f->nlines; i++) {
        put_u32(b, f->lines[i].pc);
        put_u32(b, f->lines[i].line);
    }
    put_u32(b, f->nhandlers);
    for (uint32_t i = 0; i < f->nhandlers; i++) {
        const vm_handler *h = &f->handlers[i];
        put_u32(b, h->start);
        put_u32(b, h->end);
        put_u32(b, h->handler);
        put_u32(b, h->cls);
        put_u16(b, h->reg);
    }
}

bool vm_image_write(const vm_image *im, vm_buf *b)
{
    size_t base = b->len;
    vm_buf_put(b, MAGIC, sizeof MAGIC);
    put_u32(b, KILN_IMAGE_VERSION);
    put_u32(b, NSECTIONS);
    put_u64(b, 0);

    int sec = 0;
    size_t s = begin_section(b, sec++);
    put_u32(b, im->nstrs);
    for (uint32_t i = 0; i < im->nstrs; i++) {
        put_u32(b, im->str_len[i]);
        vm_buf_put(b, im->str_data + im->str_off[i], im->str_len[i]);
    }
    end_section(b, s);

    s = begin_section(b, sec++);
    put_u32(b, im->ntypes);
    for (uint32_t i = 0; i < im->ntypes; i++) {
        const vm_type *t = &im->types[i];
        put_u8(b, t->kind);
        put_u32(b, t->a);
        for (uint32_t j = 0; t->kind == VM_K_FN && j < VM_FN_NPARAMS(t->a); j++)
            put_u16(b, t->params[j]);
    }
    end_section(b, s);

    s = begin_section(b, sec++);
    put_u32(b, im->nconsts);
    for (uint32_t i = 0; i < im->nconsts; i++) {
        put_u8(b, im->consts[i].type);
        put_u64(b, im->consts[i].bits);
    }
    end_section(b, s);

    s = begin_section(b, sec++);
    put_u32(b, im->nglobals);
    for (uint32_t i = 0; i < im->nglobals; i++) {
        put_u32(b, im->globals[i].name);
        put_u16(b, im->globals[i].type);
        put_u8(b, im->globals[i].flags);
    }
    end_section(b, s);

    s = begin_section(b, sec++);
    put_u32(b, im->nnatives);
    for (uint32_t i = 0; i < im->nnatives; i++) {
        const vm_nativeref *n = &im->natives[i];
        put_u32(b, n->name);
        put_u16(b, n->ret);
        put_u8(b, n->nparams);
        for (uint32_t j = 0; j < n->nparams; j++)
            put_u16(b, n->params[j]);
    }
    end_section(b, s);

    s = begin_section(b, sec++);
    put_u32(b, im->nclasses);
    for (uint32_t i = 0; i < im->nclasses; i++) {
        const vm_class *c = &im->classes[i];
        put_u32(b, c->name);
        put_u32(b, c->module);
        put_u32(b, (uint32_t)c->super);
        put_u16(b, c->type);
        put_u16(b, c->nfields);
        for (uint32_t j = 0; j < c->nfields; j++) {
            put_u16(b, c->field_types[j]);
            put_u32(b, c->field_names[j]);
        }
        put_u16(b, c->nslots);
        for (uint32_t j = 0; j < c->nslots; j++)
            put_u32(b, c->slots[j]);
        put_u16(b, c->nvariants);
        for (uint32_t j = 0; j < c->nvariants; j++) {
            put_u32(b, c->variants[j].name);
            put_u16(b, c->variants[j].first);
            put_u16(b, c->variants[j].n);
        }
    }
    end_section(b, s);

    s = begin_section(b, sec++);
    put_u32(b, im->nfuncs);
    for (uint32_t i = 0; i < im->nfuncs; i++)
        write_func(b, &im->funcs[i]);
    end_section(b, s);

    s = begin_section(b, sec++);
    put_u32(b, im->ncstructs);
    for (uint32_t i = 0; i < im->ncstructs; i++) {
        put_u32(b, im->cstructs[i].cls);
        put_u16(b, im->cstructs[i].nfields);
        for (uint32_t j = 0; j < im->cstructs[i].nfields; j++)
            put_u32(b, im->cstructs[i].ctypes[j]);
    }
    put_u32(b, im->ncsigs);
    for (uint32_t i = 0; i < im->ncsigs; i++) {
        put_u32(b, im->csigs[i].ret);
        put_u8(b, im->csigs[i].nparams);
        put_u8(b, im->csigs[i].nfixed);
        for (uint32_t j = 0; j < im->csigs[i].nparams; j++)
            put_u32(b, im->csigs[i].params[j]);
    }
    put_u32(b, im->nexterns);
    for (uint32_t i = 0; i < im->nexterns; i++) {
        put_u32(b, im->externs[i].native);
        put_u32(b, im->externs[i].lib);
        put_u32(b, im->externs[i].sig);
        for (uint32_t j = 0;
             im->externs[i].sig < im->ncsigs && j < im->csigs[im->externs[i].sig].nparams; j++)
            put_u32(b, im->externs[i].pnames[j]);
    }
    end_section(b, s);

    s = begin_section(b, sec++);
    put_u32(b, im->nmodules);
    for (uint32_t i = 0; i < im->nmodules; i++) {
        put_u32(b, im->modules[i].name);
        put_u32(b, im->modules[i].file);
        put_u32(b, im->modules[i].init);
    }
    end_section(b, s);

    s = begin_section(b, sec++);
    put_u32(b, im->entry);
    put_u32(b, (uint32_t)im->main);
    end_section(b, s);

    if (b->oom)
        return false;
    uint64_t sum =
        fnv1a64((const uint8_t *)b->data + base + HEADER_SIZE, b->len - base - HEADER_SIZE);
    patch_u32(b, base + 16, (uint32_t)sum);
    patch_u32(b, base + 20, (uint32_t)(sum >> 32));
    return true;
}

/* ---- Reader ---- */

typedef struct reader {
    const uint8_t *p, *start, *end;
    char *err;
    size_t errlen;
    bool failed;
} reader;

static void rfail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rfail(reader *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    int n = snprintf(r->err, r->errlen, "invalid image: ");
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < r->errlen)
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static size_t roff(const reader *r)
{
    return (size_t)(r->p - r->start);
}

static bool need(reader *r, size_t n)
{
    if (r->failed)
        return false;
    if ((size_t)(r->end - r->p) < n) {
        rfail(r, "truncated data at offset %zu", roff(r));
        return false;
    }
    return true;
}
static uint8_t get_u8(reader *r)
{
    if (!need(r, 1))
        return 0;
    return *r->p++;
}
static uint16_t get_u16(reader *r)
{
    if (!need(r, 2))
        return 0;
    uint16_t v = (uint16_t)(r->p[0] | r->p[1] << 8);
    r->p += 2;
    return v;
}
static uint32_t get_u32(reader *r)
{
    if (!need(r, 4))
        return 0;
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}
static uint64_t get_u64(reader *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

/* A count followed by `min_each` bytes per element at least: refusing counts
 * the remaining bytes cannot hold bounds every allocation by the input size. */
static uint32_t get_count(reader *r, size_t min_each, const char *what)
{
    size_t at = roff(r);
    uint32_t n = get_u32(r);
    if (r->failed)
        return 0;
    if (n > KILN_IMAGE_MAX_COUNT || (min_each && n > (size_t)(r->end - r->p) / min_each)) {
        rfail(r, "%s count %u too large at offset %zu", what, n, at);
        return 0;
    }
    return n;
}

static void *rcalloc(reader *r, size_t n, size_t size)
{
    if (r->failed)
        return NULL;
    void *p = calloc(n ? n : 1, size);
    if (!p)
        rfail(r, "out of memory at offset %zu", roff(r));
    return p;
}

static void check_str(reader *r, const vm_image *im, uint32_t idx, const char *what)
{
    if (!r->failed && idx >= im->nstrs)
        rfail(r, "%s string index %u out of range at offset %zu", what, idx, roff(r));
}

static void check_type(reader *r, const vm_image *im, uint32_t t, bool allow_void, const char *what)
{
    if (!r->failed && (t >= VM_T__COUNT + im->ntypes || (!allow_void && t == VM_T_VOID)))
        rfail(r, "bad %s type %u at offset %zu", what, t, roff(r));
}

static void read_types(reader *r, vm_image *im)
{
    im->ntypes = get_count(r, 5, "type");
    if (!r->failed && im->ntypes > VM_MAX_TYPES - VM_T__COUNT)
        rfail(r, "%u types, at most %u", im->ntypes, VM_MAX_TYPES - VM_T__COUNT);
    im->types = rcalloc(r, im->ntypes, sizeof(vm_type));
    for (uint32_t i = 0; i < im->ntypes && !r->failed; i++) {
        vm_type *t = &im->types[i];
        t->kind = get_u8(r);
        t->a = get_u32(r);
        if (!r->failed && (t->kind < VM_K_CLASS || t->kind > VM_K_CELL))
            rfail(r, "bad kind %u of type %u at offset %zu", t->kind, i + VM_T__COUNT, roff(r));
        if (r->failed || t->kind != VM_K_FN)
            continue;
        uint32_t n = VM_FN_NPARAMS(t->a);
        if (n > KILN_MAX_PARAMS) {
            rfail(r, "function type %u has %u parameters at offset %zu", i + VM_T__COUNT, n,
                  roff(r));
            break;
        }
        t->params = rcalloc(r, n, sizeof(uint16_t));
        for (uint32_t j = 0; j < n && !r->failed; j++)
            t->params[j] = get_u16(r);
    }
}

static void read_classes(reader *r, vm_image *im)
{
    im->nclasses = get_count(r, 20, "class");
    im->classes = rcalloc(r, im->nclasses, sizeof(vm_class));
    for (uint32_t i = 0; i < im->nclasses && !r->failed; i++) {
        vm_class *c = &im->classes[i];
        c->name = get_u32(r);
        check_str(r, im, c->name, "class name");
        c->module = get_u32(r); /* checked with the modules, which come later */
        c->super = (int32_t)get_u32(r);
        c->type = get_u16(r);
        check_type(r, im, c->type, false, "class");
        c->nfields = get_u16(r);
        if (!need(r, (size_t)c->nfields * 6))
            return;
        c->field_types = rcalloc(r, c->nfields, sizeof(uint16_t));
        c->field_names = rcalloc(r, c->nfields, sizeof(uint32_t));
        for (uint32_t j = 0; j < c->nfields && !r->failed; j++) {
            c->field_types[j] = get_u16(r);
            check_type(r, im, c->field_types[j], false, "field");
            c->field_names[j] = get_u32(r);
            check_str(r, im, c->field_names[j], "field name");
        }
        c->nslots = get_u16(r);
        if (!need(r, (size_t)c->nslots * 4))
            return;
        c->slots = rcalloc(r, c->nslots, sizeof(uint32_t));
        for (uint32_t j = 0; j < c->nslots && !r->failed; j++)
            c->slots[j] = get_u32(r);
        c->nvariants = get_u16(r);
        if (!need(r, (size_t)c->nvariants * 8))
            return;
        c->variants = rcalloc(r, c->nvariants, sizeof(vm_variant));
        for (uint32_t j = 0; j < c->nvariants && !r->failed; j++) {
            c->variants[j].name = get_u32(r);
            check_str(r, im, c->variants[j].name, "variant name");
            c->variants[j].first = get_u16(r);
            c->variants[j].n = get_u16(r);
        }
    }
}

static void read_strs(reader *r, vm_image *im)
{
    im->nstrs = get_count(r, 4, "string");
    im->str_off = rcalloc(r, im->nstrs, sizeof(uint32_t));
    im->str_len = rcalloc(r, im->nstrs, sizeof(uint32_t));
    /* Each string gets a NUL after it; the bytes cannot exceed the input. */
    im->str_data = rcalloc(r, (size_t)(r->end - r->p) + im->nstrs + 1, 1);
    size_t at = 0;
    for (uint32_t i = 0; i < im->nstrs && !r->failed; i++) {
        uint32_t n = get_u32(r);
        if (!need(r, n))
            return;
        im->str_off[i] = (uint32_t)at;
        im->str_len[i] = n;
        memcpy(im->str_data + at, r->p, n);
        r->p += n;
        at += n + 1;
    }
}

static void read_consts(reader *r, vm_image *im)
{
    im->nconsts = get_count(r, 9, "constant");
    im->consts = rcalloc(r, im->nconsts, sizeof(vm_const));
    for (uint32_t i = 0; i < im->nconsts && !r->failed; i++) {
        vm_const *k = &im->consts[i];
        k->type = get_u8(r);
        k->bits = get_u64(r);
        if (k->type != VM_T_INT && k->type != VM_T_FLOAT && k->type != VM_T_STR)
            rfail(r, "bad constant type %u at offset %zu", k->type, roff(r));
        if (k->type == VM_T_STR && (k->bits >= im->nstrs))
            rfail(r, "constant %u string index out of range at offset %zu", i, roff(r));
    }
}

static void read_globals(reader *r, vm_image *im)
{
    im->nglobals = get_count(r, 7, "global");
    im->globals = rcalloc(r, im->nglobals, sizeof(vm_global));
    for (uint32_t i = 0; i < im->nglobals && !r->failed; i++) {
        im->globals[i].name = get_u32(r);
        check_str(r, im, im->globals[i].name, "global name");
        im->globals[i].type = get_u16(r);
        check_type(r, im, im->globals[i].type, false, "global");
        im->globals[i].flags = get_u8(r);
        if (im->globals[i].flags & ~VM_GLOBAL_VAR)
            rfail(r, "global %u has unknown flags 0x%x at offset %zu", i, im->globals[i].flags,
                  roff(r));
    }
}

static void read_natives(reader *r, vm_image *im)
{
    im->nnatives = get_count(r, 7, "native");
    im->natives = rcalloc(r, im->nnatives, sizeof(vm_nativeref));
    for (uint32_t i = 0; i < im->nnatives && !r->failed; i++) {
        vm_nativeref *n = &im->natives[i];
        n->ext = -1;
        n->name = get_u32(r);
        check_str(r, im, n->name, "native name");
        n->ret = get_u16(r);
        check_type(r, im, n->ret, true, "native result");
        n->nparams = get_u8(r);
        if (n->nparams > KILN_MAX_PARAMS)
            rfail(r, "native has %u parameters at offset %zu", n->nparams, roff(r));
        for (uint32_t j = 0; j < n->nparams && !r->failed; j++) {
            n->params[j] = get_u16(r);
            check_type(r, im, n->params[j], false, "native parameter");
        }
    }
}

static void read_func(reader *r, vm_image *im, vm_func *f)
{
    f->name = get_u32(r);
    check_str(r, im, f->name, "function name");
    f->module = get_u32(r);
    f->nparams = get_u8(r);
    f->ncaps = get_u8(r);
    f->ret = get_u16(r);
    check_type(r, im, f->ret, true, "function result");
    f->nregs = get_u16(r);
    if (!r->failed && (f->nregs > KILN_MAX_REGS || f->nparams + f->ncaps > f->nregs ||
                       f->nparams > KILN_MAX_PARAMS)) {
        rfail(r, "bad register count %u (%u parameters, %u captures) at offset %zu", f->nregs,
              f->nparams, f->ncaps, roff(r));
        return;
    }
    if (!need(r, (size_t)f->nregs * 2))
        return;
    f->types = rcalloc(r, f->nregs, sizeof(uint16_t));
    for (uint32_t j = 0; j < f->nregs && !r->failed; j++) {
        f->types[j] = get_u16(r);
        check_type(r, im, f->types[j], false, "register");
    }
    f->ncode = get_count(r, 4, "code word");
    f->code = rcalloc(r, f->ncode, sizeof(uint32_t));
    for (uint32_t j = 0; j < f->ncode && !r->failed; j++)
        f->code[j] = get_u32(r);
    f->nlines = get_count(r, 8, "line");
    f->lines = rcalloc(r, f->nlines, sizeof(vm_line));
    for (uint32_t j = 0; j < f->nlines && !r->failed; j++) {
        f->lines[j].pc = get_u32(r);
        f->lines[j].line = get_u32(r);
        if (f->lines[j].pc >= f->ncode || (j && f->lines[j].pc <= f->lines[j - 1].pc))
            rfail(r, "line table out of order at offset %zu", roff(r));
    }
    f->nhandlers = get_count(r, 18, "handler");
    f->handlers = rcalloc(r, f->nhandlers, sizeof(vm_handler));
    for (uint32_t j = 0; j < f->nhandlers && !r->failed; j++) {
        vm_handler *h = &f->handlers[j];
        h->start = get_u32(r);
        h->end = get_u32(r);
        h->handler = get_u32(r);
        h->cls = get_u32(r);
        h->reg = get_u16(r);
    }
}

static void read_funcs(reader *r, vm_image *im)
{
    im->nfuncs = get_count(r, 26, "function");
    im->funcs = rcalloc(r, im->nfuncs, sizeof(vm_func));
    for (uint32_t i = 0; i < im->nfuncs && !r->failed; i++)
        read_func(r, im, &im->funcs[i]);
}

static void read_modules(reader *r, vm_image *im)
{
    im->nmodules = get_count(r, 12, "module");
    im->modules = rcalloc(r, im->nmodules, sizeof(vm_module));
    for (uint32_t i = 0; i < im->nmodules && !r->failed; i++) {
        vm_module *m = &im->modules[i];
        m->name = get_u32(r);
        check_str(r, im, m->name, "module name");
        m->file = get_u32(r);
        check_str(r, im, m->file, "module file");
        m->init = get_u32(r);
        if (!r->failed && m->init >= im->nfuncs)
            rfail(r, "module init function %u out of range at offset %zu", m->init, roff(r));
    }
    for (uint32_t i = 0; i < im->nfuncs && !r->failed; i++)
        if (im->funcs[i].module >= im->nmodules)
            rfail(r, "function %u names module %u, out of range", i, im->funcs[i].module);
    for (uint32_t i = 0; i < im->nclasses && !r->failed; i++)
        if (im->classes[i].module >= im->nmodules)
            rfail(r, "class %u names module %u, out of range", i, im->classes[i].module);
}

/* The FFI's tables. Here only their structure and indexes are checked;
 * the verifier checks that the C types agree with the Kiln ones. */
static void read_externs(reader *r, vm_image *im)
{
    im->ncstructs = get_count(r, 6, "C struct");
    im->cstructs = rcalloc(r, im->ncstructs, sizeof(vm_cstruct));
    for (uint32_t i = 0; i < im->ncstructs && !r->failed; i++) {
        vm_cstruct *s = &im->cstructs[i];
        s->cls = get_u32(r);
        s->nfields = get_u16(r);
        if (!r->failed && (s->cls >= im->nclasses || s->nfields > VM_MAX_CFIELDS))
            rfail(r, "bad C struct %u (class %u, %u fields) at offset %zu", i, s->cls, s->nfields,
                  roff(r));
        if (!need(r, (size_t)s->nfields * 4))
            return;
        s->ctypes = rcalloc(r, s->nfields, sizeof(uint32_t));
        for (uint32_t j = 0; j < s->nfields && !r->failed; j++)
            s->ctypes[j] = get_u32(r);
    }
    im->ncsigs = get_count(r, 6, "C signature");
    im->csigs = rcalloc(r, im->ncsigs, sizeof(vm_csig));
    for (uint32_t i = 0; i < im->ncsigs && !r->failed; i++) {
        vm_csig *g = &im->csigs[i];
        g->ret = get_u32(r);
        g->nparams = get_u8(r);
        g->nfixed = get_u8(r);
        if (!r->failed && (g->nparams > KILN_MAX_PARAMS || g->nfixed > g->nparams))
            rfail(r, "bad C signature %u (%u parameters, %u fixed) at offset %zu", i, g->nparams,
                  g->nfixed, roff(r));
        if (!need(r, (size_t)g->nparams * 4))
            return;
        g->params = rcalloc(r, g->nparams, sizeof(uint32_t));
        for (uint32_t j = 0; j < g->nparams && !r->failed; j++)
            g->params[j] = get_u32(r);
    }
    im->nexterns = get_count(r, 12, "extern function");
    im->externs = rcalloc(r, im->nexterns, sizeof(vm_extern));
    for (uint32_t i = 0; i < im->nexterns && !r->failed; i++) {
        vm_extern *e = &im->externs[i];
        e->native = get_u32(r);
        e->lib = get_u32(r);
        e->sig = get_u32(r);
        if (r->failed)
            return;
        check_str(r, im, e->lib, "extern library");
        if (e->native >= im->nnatives || e->sig >= im->ncsigs)
            rfail(r,
                  "extern function %u names native %u, signature %u: out of range at offset "
                  "%zu",
                  i, e->native, e->sig, roff(r));
        else if (im->natives[e->native].ext >= 0)
            rfail(r, "native %u is extern twice at offset %zu", e->native, roff(r));
        else
            im->natives[e->native].ext = (int32_t)i;
        uint32_t np = r->failed ? 0 : im->csigs[e->sig].nparams;
        if (!need(r, (size_t)np * 4))
            return;
        e->pnames = rcalloc(r, np, sizeof(uint32_t));
        for (uint32_t j = 0; j < np && !r->failed; j++) {
            e->pnames[j] = get_u32(r);
            check_str(r, im, e->pnames[j], "extern parameter name");
        }
    }
}

static void read_entry(reader *r, vm_image *im)
{
    im->entry = get_u32(r);
    im->main = (int32_t)get_u32(r);
    if (r->failed)
        return;
    if (im->entry >= im->nmodules)
        rfail(r, "entry module %u out of range", im->entry);
    else if (im->main < -1 || im->main >= (int32_t)im->nfuncs)
        rfail(r, "main function %d out of range", im->main);
}

typedef void (*section_reader)(reader *, vm_image *);
static const section_reader SECTION_READERS[NSECTIONS] = {
    read_strs,    read_types, read_consts,  read_globals, read_natives,
    read_classes, read_funcs, read_externs, read_modules, read_entry};

bool vm_image_read(const uint8_t *buf, size_t len, bool check_sum, vm_image *im, char *err,
                   size_t errlen)
{
    memset(im, 0, sizeof *im);
    reader r = {buf, buf, buf + len, err, errlen, false};
    if (!vm_image_is(buf, len)) {
        rfail(&r, "bad magic at offset 0");
        return false;
    }
    r.p += sizeof MAGIC;
    uint32_t version = get_u32(&r);
    uint32_t nsections = get_u32(&r);
    uint64_t sum = get_u64(&r);
    if (r.failed)
        return false;
    if (version != KILN_IMAGE_VERSION) {
        rfail(&r, "format version %u, this kiln reads version %u at offset 8", version,
              KILN_IMAGE_VERSION);
        return false;
    }
    if (nsections != NSECTIONS) {
        rfail(&r, "%u sections, expected %d at offset 12", nsections, NSECTIONS);
        return false;
    }
    if (check_sum && sum != fnv1a64(r.p, (size_t)(r.end - r.p))) {
        rfail(&r, "checksum mismatch at offset 16");
        return false;
    }
    for (int i = 0; i < NSECTIONS && !r.failed; i++) {
        size_t at = roff(&r);
        if (!need(&r, 8))
            break;
        if (memcmp(r.p, SECTION_TAGS[i], 4) != 0) {
            rfail(&r, "expected section %s at offset %zu", SECTION_TAGS[i], at);
            break;
        }
        r.p += 4;
        uint32_t size = get_u32(&r);
        if (!need(&r, size))
            break;
        const uint8_t *section_end = r.p + size, *outer_end = r.end;
        r.end = section_end;
        SECTION_READERS[i](&r, im);
        if (!r.failed && r.p != section_end)
            rfail(&r, "section %s has %zu stray bytes at offset %zu", SECTION_TAGS[i],
                  (size_t)(section_end - r.p), roff(&r));
        r.end = outer_end;
    }
    if (!r.failed && r.p != r.end)
        rfail(&r, "%zu stray bytes after the last section at offset %zu", (size_t)(r.end - r.p),
              roff(&r));
    return !r.failed;
}

void vm_image_free(vm_image *im)
{
    free(im->str_off);
    free(im->str_len);
    free(im->str_data);
    free(im->consts);
    free(im->globals);
    free(im->natives);
    for (uint32_t i = 0; im->funcs && i < im->nfuncs; i++) {
        free(im->funcs[i].types);
        free(im->funcs[i].code);
        free(im->funcs[i].lines);
        free(im->funcs[i].handlers);
    }
    free(im->funcs);
    free(im->modules);
    for (uint32_t i = 0; im->types && i < im->ntypes; i++)
        free(im->types[i].params);
    free(im->types);
    for (uint32_t i = 0; im->classes && i < im->nclasses; i++) {
        free(im->classes[i].field_types);
        free(im->classes[i].field_names);
        free(im->classes[i].slots);
        free(im->classes[i].variants);
    }
    free(im->classes);
    for (uint32_t i = 0; im->cstructs && i < im->ncstructs; i++)
        free(im->cstructs[i].ctypes);
    free(im->cstructs);
    for (uint32_t i = 0; im->csigs && i < im->ncsigs; i++)
        free(im->csigs[i].params);
    free(im->csigs);
    for (uint32_t i = 0; im->externs && i < im->nexterns; i++)
        free(im->externs[i].pnames);
    free(im->externs);
    memset(im, 0, sizeof *im);
}

uint32_t vm_func_line(const vm_func *f, uint32_t pc)
{
    uint32_t lo = 0, hi = f->nlines, line = 0;
    while (lo < hi) { /* last run starting at or before pc */
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->lines[mid].pc <= pc) {
            line = f->lines[mid].line;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return line;
}

/* ---- Native signatures ---- */

bool vm_letter_fits(char c, uint32_t t, int elem)
{
    switch (c) {
    case 'v': return t == VM_T_VOID;
    case 'i': return t == VM_T_INT;
    case 'f': return t == VM_T_FLOAT;
    case 'b': return t == VM_T_BOOL;
    case 's': return t == VM_T_STR;
    case 'S': return elem == VM_T_STR;
    case 'I': return elem == VM_T_INT;
    case 'F': return elem == VM_T_FLOAT;
    case 'p': return t == VM_T_PTR;
    case 'y': return t == VM_T_BUFFER;
    default: return false;
    }
}

const vm_natsig *vm_natsig_find(const vm_natlist *list, const char *name, const uint16_t *params,
                                int nparams, int (*elem_of)(const void *ctx, uint32_t t),
                                bool (*text_fits)(const void *ctx, const char *text, uint32_t t),
                                const void *ctx)
{
    for (size_t i = 0; i < list->count; i++) {
        const vm_natsig *n = list->at(list->ctx, i);
        if (strcmp(n->name, name) != 0 || (int)strlen(n->params) != nparams)
            continue;
        int j = 0;
        while (j < nparams &&
               (n->params[j] == 'T'
                    ? text_fits && text_fits(ctx, n->types[j], params[j])
                    : vm_letter_fits(n->params[j], params[j], elem_of(ctx, params[j]))))
            j++;
        if (j == nparams)
            return n;
    }
    return NULL;
}
