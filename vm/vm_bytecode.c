/*
 * vm_bytecode.c — the opcode and role tables expanded into data, the
 * instruction decoder, and the disassembler that prints an image in a
 * form a person can read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

const vm_opinfo vm_ops[OP__COUNT] = {
#define OP(name, fmt, a, b, c, x, flags, doc) \
    {#name, FMT_##fmt, {ROLE_##a, ROLE_##b, ROLE_##c, ROLE_##x}, flags, doc},
#include "opcodes.h"
#undef OP
};

const vm_roleinfo vm_roles[ROLE__COUNT] = {
#define ROLE(name, kind, doc) {#name, VM_OPND_##kind, doc},
#include "roles.h"
#undef ROLE
};

void vm_ins_operands(uint32_t op, const uint32_t *code, uint32_t vals[4])
{
    uint32_t w = code[0];
    memset(vals, 0, 4 * sizeof vals[0]);
    vals[0] = INS_A(w);
    switch (vm_ops[op].format) {
    case FMT_ABC:
        vals[1] = INS_B(w);
        vals[2] = INS_C(w);
        break;
    case FMT_ABx:
    case FMT_AsBx: vals[1] = INS_Bx(w); break;
    case FMT_sJ: vals[0] = (uint32_t)INS_sJ(w); break;
    case FMT_ABCX:
        vals[1] = INS_B(w);
        vals[2] = INS_C(w);
        vals[3] = code[1];
        break;
    case FMT_AsBxX:
        vals[1] = INS_Bx(w);
        vals[3] = code[1];
        break;
    }
}

const char *vm_type_name(int t)
{
    static const char *const NAMES[VM_T__COUNT] = {"void", "int", "float", "bool",
                                                   "str",  "ptr", "Buffer"};
    return t >= 0 && t < VM_T__COUNT ? NAMES[t] : "?";
}

static const char *const CTYPE_NAMES[VM_C__COUNT] = {
    "void",     "c_char", "c_short", "c_int",       "c_long", "c_longlong", "c_uchar",
    "c_ushort", "c_uint", "c_ulong", "c_ulonglong", "i8",     "i16",        "i32",
    "i64",      "u8",     "u16",     "u32",         "u64",    "c_size",     "c_float",
    "c_double", "c_bool", "cstr",    "ptr",         "struct", "*struct",    "fn"};

const char *vm_ctype_name(uint32_t k)
{
    return k < VM_C__COUNT ? CTYPE_NAMES[k] : "?";
}

int vm_ctype_named(const char *name, size_t len)
{
    for (int k = VM_C_CHAR; k <= VM_C_PTR; k++)
        if (strlen(CTYPE_NAMES[k]) == len && !memcmp(CTYPE_NAMES[k], name, len))
            return k;
    return -1;
}

uint32_t vm_ctype_kiln(uint32_t k)
{
    return k == VM_C_VOID                        ? VM_T_VOID
           : VM_C_ISINT(k)                       ? VM_T_INT
           : k == VM_C_FLOAT || k == VM_C_DOUBLE ? VM_T_FLOAT
           : k == VM_C_BOOL                      ? VM_T_BOOL
           : k == VM_C_CSTR                      ? VM_T_STR
                                                 : VM_T_PTR;
}

const vm_class *vm_class_of(const vm_image *im, uint32_t t)
{
    if (t < VM_T__COUNT || t - VM_T__COUNT >= im->ntypes)
        return NULL;
    const vm_type *ty = &im->types[t - VM_T__COUNT];
    return ty->kind == VM_K_CLASS && ty->a < im->nclasses ? &im->classes[ty->a] : NULL;
}

int vm_error_class(const vm_image *im)
{
    for (uint32_t i = 0; i < im->nclasses; i++)
        if (im->classes[i].super == -1 &&
            strcmp(vm_image_str(im, im->classes[i].name), "Error") == 0)
            return (int)i;
    return -1;
}

bool vm_map_types(const vm_image *im, uint32_t t, uint32_t *key, uint32_t *val)
{
    if (t < VM_T__COUNT || t - VM_T__COUNT >= im->ntypes)
        return false;
    const vm_type *ty = &im->types[t - VM_T__COUNT];
    if (ty->kind != VM_K_MAP)
        return false;
    *key = VM_MAP_KEY(ty->a);
    *val = VM_MAP_VAL(ty->a);
    return true;
}

int vm_elem_of(const vm_image *im, uint32_t t)
{
    if (t < VM_T__COUNT || t - VM_T__COUNT >= im->ntypes)
        return -1;
    const vm_type *ty = &im->types[t - VM_T__COUNT];
    return ty->kind == VM_K_ARRAY ? (int)ty->a : -1;
}

const vm_type *vm_fn_type(const vm_image *im, uint32_t t)
{
    if (t < VM_T__COUNT || t - VM_T__COUNT >= im->ntypes)
        return NULL;
    const vm_type *ty = &im->types[t - VM_T__COUNT];
    return ty->kind == VM_K_FN ? ty : NULL;
}

int vm_cell_of(const vm_image *im, uint32_t t)
{
    if (t < VM_T__COUNT || t - VM_T__COUNT >= im->ntypes)
        return -1;
    const vm_type *ty = &im->types[t - VM_T__COUNT];
    return ty->kind == VM_K_CELL ? (int)ty->a : -1;
}

const char *vm_type_str(const vm_image *im, uint32_t t)
{
    if (t < VM_T__COUNT)
        return vm_type_name((int)t);
    const vm_class *c = vm_class_of(im, t);
    if (c)
        return vm_image_str(im, c->name);
    uint32_t k, v;
    return vm_elem_of(im, t) >= 0        ? "array"
           : vm_map_types(im, t, &k, &v) ? "map"
           : vm_fn_type(im, t)           ? "function"
           : vm_cell_of(im, t) >= 0      ? "cell"
                                         : "?";
}

const char *vm_class_module(const vm_image *im, const vm_class *c)
{
    if (c->module >= im->nmodules || c->module == im->entry || c->module == VM_PRELUDE_MODULE)
        return NULL;
    return vm_image_str(im, im->modules[c->module].name);
}

static void type_write(const vm_image *im, uint32_t t, vm_buf *b, int depth)
{
    const vm_class *c = vm_class_of(im, t);
    const char *mod = c ? vm_class_module(im, c) : NULL;
    uint32_t k, v;
    const vm_type *fn = vm_fn_type(im, t);
    int elem = vm_elem_of(im, t), cell = vm_cell_of(im, t);
    if (depth > 16) { /* types nest through earlier entries only, but bound it */
        vm_buf_printf(b, "...");
    } else if (elem >= 0) {
        vm_buf_printf(b, "[");
        type_write(im, (uint32_t)elem, b, depth + 1);
        vm_buf_printf(b, "]");
    } else if (vm_map_types(im, t, &k, &v)) {
        vm_buf_printf(b, "{");
        type_write(im, k, b, depth + 1);
        vm_buf_printf(b, ": ");
        type_write(im, v, b, depth + 1);
        vm_buf_printf(b, "}");
    } else if (fn) {
        vm_buf_printf(b, "fn(");
        for (uint32_t i = 0; i < VM_FN_NPARAMS(fn->a); i++) {
            if (i)
                vm_buf_printf(b, ", ");
            type_write(im, fn->params[i], b, depth + 1);
        }
        vm_buf_printf(b, ")");
        if (VM_FN_RET(fn->a) != VM_T_VOID) {
            vm_buf_printf(b, " -> ");
            type_write(im, VM_FN_RET(fn->a), b, depth + 1);
        }
    } else if (cell >= 0) {
        type_write(im, (uint32_t)cell, b, depth + 1);
    } else {
        vm_buf_printf(b, "%s%s%s", mod ? mod : "", mod ? "." : "", vm_type_str(im, t));
    }
}

void vm_type_write(const vm_image *im, uint32_t t, vm_buf *b)
{
    type_write(im, t, b, 0);
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Does the bare class name `name` (n bytes: "Point", or "Box" for
 * Box<int>) name module `mod`'s class (m bytes) in im: is it no class's
 * of the entry module or the prelude, and no other module's? */
static bool bare_names(const vm_image *im, const char *mod, size_t m, const char *name, size_t n)
{
    for (uint32_t i = 0; i < im->nclasses; i++) {
        const vm_class *c = &im->classes[i];
        const char *cn = vm_image_str(im, c->name);
        if (strncmp(cn, name, n) != 0 || ident_char(cn[n]))
            continue;
        const char *cm = vm_class_module(im, c);
        if (!cm || strlen(cm) != m || memcmp(cm, mod, m) != 0)
            return false;
    }
    return true;
}

/* Does type text `text` name the type written `written` (as
 * vm_type_write writes it)? Spaces do not count, and `text` may leave out
 * a module's name where `written` has one ("Point" for "util.Point"), but
 * not add or change one; with `im`, only where the bare name names that
 * module's class in im. -1 if it does not, else how many module names it
 * left out. */
static int text_match(const vm_image *im, const char *text, const char *written)
{
    const char *a = text, *w = written;
    int left_out = 0;
    for (;;) {
        while (*a == ' ')
            a++;
        while (*w == ' ')
            w++;
        /* A module's name on a class in `written` ("util.Point"): `text`
         * either writes the same or leaves it out. */
        if (ident_char(*w) && (w == written || !ident_char(w[-1]))) {
            const char *e = w, *n = w;
            while (ident_char(*e))
                e++;
            if (*e == '.' && ident_char(e[1]) && strncmp(a, w, (size_t)(e + 1 - w)) != 0) {
                for (n = e + 1; ident_char(*n); n++)
                    ;
                if (im && !bare_names(im, w, (size_t)(e - w), e + 1, (size_t)(n - e - 1)))
                    return -1;
                w = e + 1;
                left_out++;
            }
        }
        if (*a != *w)
            return -1;
        if (!*a)
            return left_out;
        a++, w++;
    }
}

bool vm_text_same(const vm_image *im, const char *text, const char *written)
{
    return text_match(im, text, written) >= 0;
}

/* The types of im that `text` matches (with im: as vm_text_same does,
 * else leaving out any module's name), the first two in *a and *b: how
 * many, at most 2; -1 when memory ran out. */
static int types_matching(const vm_image *im, const char *text, bool strict, uint32_t *a,
                          uint32_t *b)
{
    int found = 0;
    vm_buf w = {0};
    for (uint32_t t = VM_T_INT; t < VM_T__COUNT + im->ntypes && found < 2 && !w.oom; t++) {
        w.len = 0;
        if (w.data)
            w.data[0] = 0;
        type_write(im, t, &w, 0);
        if (!w.oom && text_match(strict ? im : NULL, text, w.data) >= 0)
            *(found++ ? b : a) = t;
    }
    bool oom = w.oom;
    vm_buf_free(&w);
    return oom ? -1 : found;
}

int64_t vm_type_named(const vm_image *im, const char *text, uint32_t *a, uint32_t *b)
{
    int n = types_matching(im, text, true, a, b);
    if (n == 1)
        return *a;
    if (n == 0) /* what it may have meant */
        n = types_matching(im, text, false, a, b);
    return n < 0 ? -4 : n == 0 ? -1 : n == 1 ? -3 : -2;
}

bool vm_assignable(const vm_image *im, uint32_t from, uint32_t to)
{
    if (from == to || (from == VM_T_BUFFER && to == VM_T_PTR))
        return true;
    const vm_class *c = vm_class_of(im, from), *want = vm_class_of(im, to);
    /* Walk up the superclasses; the count bounds it even before the
     * verifier has checked that supers come first. */
    for (uint32_t n = 0; c && want && n <= im->nclasses; n++) {
        if (c == want)
            return true;
        c = c->super >= 0 && (uint32_t)c->super < im->nclasses ? &im->classes[c->super] : NULL;
    }
    return false;
}

/* ---- Growable buffer ---- */

void vm_buf_put(vm_buf *b, const void *p, size_t n)
{
    if (b->oom)
        return;
    if (n > SIZE_MAX / 4 - b->len) { /* no buffer that large: a bad size is out of memory */
        b->oom = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->oom = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void vm_buf_printf(vm_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        vm_buf_put(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    vm_buf_put(b, big, (size_t)n);
    free(big);
}

void vm_buf_free(vm_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- Disassembler ---- */

static void put_escaped(vm_buf *out, const char *s, uint32_t len)
{
    vm_buf_put(out, "\"", 1);
    for (uint32_t i = 0; i < len && i < 60; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            vm_buf_printf(out, "\\%c", c);
        else if (c >= 32 && c < 127)
            vm_buf_put(out, &s[i], 1);
        else
            vm_buf_printf(out, "\\x%02x", c);
    }
    vm_buf_put(out, len > 60 ? "\"..." : "\"", len > 60 ? 4 : 1);
}

static void put_const(vm_buf *out, const vm_image *im, uint32_t k)
{
    if (k >= im->nconsts)
        return;
    const vm_const *c = &im->consts[k];
    if (c->type == VM_T_INT) {
        vm_buf_printf(out, "  ; %" PRId64, (int64_t)c->bits);
    } else if (c->type == VM_T_FLOAT) {
        double d;
        memcpy(&d, &c->bits, sizeof d);
        vm_buf_printf(out, "  ; %.17g", d);
    } else if (c->bits < im->nstrs) {
        vm_buf_put(out, "  ; ", 4);
        put_escaped(out, vm_image_str(im, (uint32_t)c->bits), im->str_len[c->bits]);
    }
}

/* One operand, shown by its role's kind: registers as rN, jumps as
 * absolute targets, indices with the name they refer to. */
static void put_operand(vm_buf *out, const vm_image *im, int role, uint32_t val, uint32_t next_pc,
                        bool signed16, uint32_t nargs)
{
    int kind = vm_roles[role].kind;
    if (VM_OPND_ISREG(kind)) {
        vm_buf_printf(out, " r%u", val);
        return;
    }
    switch (kind) {
    case VM_OPND_PACKED: /* a byte per argument: nargs of them */
        for (uint32_t i = 0; i < nargs && i < 4; i++, val >>= 8)
            vm_buf_printf(out, " r%u", val & 0xffu);
        break;
    case VM_OPND_JUMP: vm_buf_printf(out, " ->%lld", (long long)next_pc + (int32_t)val); break;
    case VM_OPND_IMM:
        vm_buf_printf(out, " %d", signed16 ? (int32_t)(int16_t)val : (int32_t)(int8_t)val);
        break;
    case VM_OPND_UIMM: vm_buf_printf(out, " %u", val); break;
    case VM_OPND_CONST: vm_buf_printf(out, " k%u", val); break;
    case VM_OPND_CLASS:
        vm_buf_printf(out, " c%u(%s)", val,
                      val < im->nclasses ? vm_image_str(im, im->classes[val].name) : "?");
        break;
    case VM_OPND_FIELD: vm_buf_printf(out, " field%u", val); break;
    case VM_OPND_SLOT: vm_buf_printf(out, " slot%u", val); break;
    case VM_OPND_TYPE: vm_buf_printf(out, " type%u", val); break;
    case VM_OPND_GLOBAL:
        vm_buf_printf(out, " g%u(%s)", val,
                      val < im->nglobals ? vm_image_str(im, im->globals[val].name) : "?");
        break;
    case VM_OPND_FUNC:
        vm_buf_printf(out, " f%u(%s)", val,
                      val < im->nfuncs ? vm_image_str(im, im->funcs[val].name) : "?");
        break;
    case VM_OPND_NATIVE:
        vm_buf_printf(out, " n%u(%s)", val,
                      val < im->nnatives ? vm_image_str(im, im->natives[val].name) : "?");
        break;
    default: break;
    }
}

static void disasm_func(const vm_image *im, uint32_t fi, vm_buf *out, vm_disasm_hook hook, void *ud)
{
    const vm_func *f = &im->funcs[fi];
    vm_buf_printf(out, "fn f%u %s(", fi, vm_image_str(im, f->name));
    for (uint32_t i = 0; i < f->nparams; i++)
        vm_buf_printf(out, "%sr%u: %s", i ? ", " : "", i, vm_type_str(im, f->types[i]));
    vm_buf_printf(out, ") -> %s  ;", vm_type_str(im, f->ret));
    if (f->ncaps)
        vm_buf_printf(out, " captures r%u..r%u;", f->nparams, f->nparams + f->ncaps - 1);
    vm_buf_printf(out, " %u registers:", f->nregs);
    for (uint32_t i = 0; i < f->nregs; i++) /* one letter a register; o for an object */
        vm_buf_printf(out, " %c", f->types[i] < VM_T__COUNT ? vm_type_name(f->types[i])[0] : 'o');
    vm_buf_put(out, "\n", 1);
    uint32_t line = 0;
    for (uint32_t pc = 0; pc < f->ncode;) {
        uint32_t w = f->code[pc], op = INS_OP(w);
        if (op >= OP__COUNT) {
            vm_buf_printf(out, "  %5u  <bad opcode %u>\n", pc, op);
            pc++;
            continue;
        }
        uint32_t words = VM_INS_WORDS(op);
        uint32_t l = vm_func_line(f, pc);
        if (l != line)
            vm_buf_printf(out, "  %5u  %-4u %-9s", pc, l, vm_ops[op].name);
        else
            vm_buf_printf(out, "  %5u       %-9s", pc, vm_ops[op].name);
        line = l;
        if (pc + words > f->ncode) {
            vm_buf_put(out, " <truncated>\n", 13);
            break;
        }
        uint32_t vals[4];
        vm_ins_operands(op, &f->code[pc], vals);
        int fmt = vm_ops[op].format;
        /* A packed method call's X holds as many registers as the method
         * takes besides the receiver (4 if the image is not verifiable). */
        uint32_t nargs = 4;
        if (op == OP_CALLVP && vals[1] < f->nregs) {
            const vm_class *c = vm_class_of(im, f->types[vals[1]]);
            if (c && vals[2] < c->nslots && c->slots[vals[2]] < im->nfuncs)
                nargs = im->funcs[c->slots[vals[2]]].nparams - 1u;
        }
        /* A packed function call shows as many of B, C as it passes. */
        uint32_t npacked = op == OP_CALLP && vals[3] < im->nfuncs ? im->funcs[vals[3]].nparams : 2;
        for (int i = 0; i < 4; i++)
            if (!(vm_roles[vm_ops[op].role[i]].kind == VM_OPND_PARG && (uint32_t)i > npacked))
                put_operand(out, im, vm_ops[op].role[i], vals[i], pc + words,
                            i == 1 && fmt != FMT_ABC && fmt != FMT_ABCX, nargs);
        for (int i = 0; i < 4; i++)
            if (vm_roles[vm_ops[op].role[i]].kind == VM_OPND_CONST)
                put_const(out, im, vals[i]);
        vm_buf_put(out, "\n", 1);
        if (hook)
            hook(ud, fi, pc, pc + words, out);
        pc += words;
    }
    if (hook)
        hook(ud, fi, f->ncode, UINT32_MAX, out);
    for (uint32_t i = 0; i < f->nhandlers; i++) {
        const vm_handler *h = &f->handlers[i];
        vm_buf_printf(out, "  catch %u..%u -> %u r%u %s\n", h->start, h->end, h->handler, h->reg,
                      h->cls == VM_CATCH_ALL  ? "(any)"
                      : h->cls < im->nclasses ? vm_image_str(im, im->classes[h->cls].name)
                                              : "?");
    }
}

void vm_disasm(const vm_image *im, vm_buf *out)
{
    vm_disasm_with(im, out, NULL, NULL);
}

/* C type c as a declaration writes it: c_int, *timeval (a struct by
 * pointer), fn(ptr, ptr) -> c_int (a callback; one level deep, since
 * the disassembler also lists images the verifier refused). */
static void put_csig(const vm_image *im, uint32_t si, const char *name, int depth, vm_buf *out);
static void put_ctype(const vm_image *im, uint32_t c, const char *sep, int depth, vm_buf *out)
{
    uint32_t k = VM_CKIND(c), idx = VM_CIDX(c);
    vm_buf_printf(out, "%s", sep);
    if ((k == VM_C_STRUCT || k == VM_C_STRUCTP) && idx < im->ncstructs &&
        im->cstructs[idx].cls < im->nclasses)
        vm_buf_printf(out, "%s%s", k == VM_C_STRUCTP ? "*" : "",
                      vm_image_str(im, im->classes[im->cstructs[idx].cls].name));
    else if (k == VM_C_FN && depth == 0)
        put_csig(im, idx, "fn", 1, out);
    else
        vm_buf_printf(out, "%s", vm_ctype_name(k));
}

/* Signature si as name(params, ...) -> ret. */
static void put_csig(const vm_image *im, uint32_t si, const char *name, int depth, vm_buf *out)
{
    if (si >= im->ncsigs) {
        vm_buf_printf(out, "%s(?)", name);
        return;
    }
    const vm_csig *g = &im->csigs[si];
    vm_buf_printf(out, "%s(", name);
    for (uint32_t j = 0; j < g->nparams; j++) {
        if (j == g->nfixed)
            vm_buf_printf(out, "%s...", j ? ", " : "");
        put_ctype(im, g->params[j], j ? ", " : "", depth, out);
    }
    vm_buf_put(out, ")", 1);
    if (VM_CKIND(g->ret) != VM_C_VOID)
        put_ctype(im, g->ret, " -> ", depth, out);
}

void vm_disasm_with(const vm_image *im, vm_buf *out, vm_disasm_hook hook, void *ud)
{
    for (uint32_t i = 0; i < im->nmodules; i++) {
        const vm_module *m = &im->modules[i];
        vm_buf_printf(out, "module %s (%s), init f%u\n", vm_image_str(im, m->name),
                      vm_image_str(im, m->file), m->init);
    }
    for (uint32_t i = 0; i < im->nclasses; i++) {
        const vm_class *c = &im->classes[i];
        vm_buf_printf(out, "class c%u %s in %s", i, vm_image_str(im, c->name),
                      c->module < im->nmodules ? vm_image_str(im, im->modules[c->module].name)
                                               : "?");
        if (c->super >= 0 && (uint32_t)c->super < im->nclasses)
            vm_buf_printf(out, " : %s", vm_image_str(im, im->classes[c->super].name));
        vm_buf_put(out, "\n", 1);
        for (uint32_t j = 0; j < c->nvariants; j++) {
            const vm_variant *v = &c->variants[j];
            vm_buf_printf(out, "  variant%u %s", j, vm_image_str(im, v->name));
            for (uint32_t k = 0; k < v->n; k++)
                vm_buf_printf(out, "%sfield%u", k ? ", " : "(", v->first + k);
            vm_buf_put(out, v->n ? ")\n" : "\n", v->n ? 2 : 1);
        }
        for (uint32_t j = 0; j < c->nfields; j++)
            vm_buf_printf(out, "  field%u %s: %s\n", j, vm_image_str(im, c->field_names[j]),
                          vm_type_str(im, c->field_types[j]));
        for (uint32_t j = 0; j < c->nslots; j++)
            vm_buf_printf(out, "  slot%u f%u(%s)\n", j, c->slots[j],
                          c->slots[j] < im->nfuncs ? vm_image_str(im, im->funcs[c->slots[j]].name)
                                                   : "?");
    }
    for (uint32_t i = 0; i < im->nglobals; i++)
        vm_buf_printf(out, "global g%u %s %s: %s\n", i,
                      im->globals[i].flags & VM_GLOBAL_VAR ? "var" : "let",
                      vm_image_str(im, im->globals[i].name), vm_type_str(im, im->globals[i].type));
    for (uint32_t i = 0; i < im->nnatives; i++) {
        const vm_nativeref *n = &im->natives[i];
        vm_buf_printf(out, "native n%u %s(", i, vm_image_str(im, n->name));
        for (uint32_t j = 0; j < n->nparams; j++)
            vm_buf_printf(out, "%s%s", j ? ", " : "", vm_type_str(im, n->params[j]));
        vm_buf_printf(out, ") -> %s\n", vm_type_str(im, n->ret));
    }
    for (uint32_t i = 0; i < im->ncstructs; i++) {
        const vm_cstruct *s = &im->cstructs[i];
        vm_buf_printf(out, "cstruct s%u c%u(", i, s->cls);
        for (uint32_t j = 0; j < s->nfields; j++)
            put_ctype(im, s->ctypes[j], j ? ", " : "", 0, out);
        vm_buf_put(out, ")\n", 2);
    }
    for (uint32_t i = 0; i < im->nexterns; i++) {
        const vm_extern *e = &im->externs[i];
        vm_buf_printf(out, "extern \"%s\" n%u ", vm_image_str(im, e->lib), e->native);
        put_csig(im, e->sig,
                 e->native < im->nnatives ? vm_image_str(im, im->natives[e->native].name) : "?", 0,
                 out);
        vm_buf_put(out, "\n", 1);
    }
    for (uint32_t i = 0; i < im->nfuncs; i++) {
        vm_buf_put(out, "\n", 1);
        disasm_func(im, i, out, hook, ud);
    }
}
