/*
 * comp_emit.c — bytecode emitter and register allocator: typed AST to a
 * vm_image.
 *
 * Registers: each has one type for the whole function (docs/architecture.md,
 * "Typed registers"). A freed register is reused only for a value of the same
 * type, so the verifier's per-function register types hold by
 * construction. Locals own their register until their block ends;
 * temporaries are freed as soon as they are consumed.
 *
 * Calls copy their arguments from consecutive registers, so a call asks
 * for a block of registers whose types match the callee's parameters.
 *
 * Conditions compile to fused compare-and-branch instructions where the
 * operands allow (int/float comparisons, with a 16-bit immediate when one
 * side is a small literal), else to a bool value and JT/JF. Loops are
 * inverted so each iteration runs one branch.
 */
#include <stdio.h>
#include <string.h>

#include "comp.h"

enum { R_FREE, R_TEMP, R_LOCAL };

typedef struct jlist { /* code positions of jumps to one label */
    uint32_t *pos;
    uint32_t n, cap;
} jlist;

/* A try with a finally clause being emitted: its block runs wherever
 * control leaves the try. A return, break or continue inside emits a copy
 * first; those copies are holes in the try's handler ranges (an error in
 * them is not the try's to catch). */
typedef struct fin {
    comp_node *block; /* NULL for a try without finally: it only takes holes */
    struct fin *outer;
    struct {
        uint32_t from, to;
    } * holes;
    uint32_t nholes, holes_cap;
} fin;

typedef struct loop {
    jlist breaks, continues;
    fin *fin; /* the innermost finally around the loop */
} loop;

typedef struct emitter {
    comp *C;
    vm_image *im;
    /* image tables */
    comp_map strs, consts, natives, csigs;
    char *str_data; /* the image's strings, each NUL-terminated, in the arena */
    uint32_t str_len, str_cap;
    uint32_t strs_cap, consts_cap, natives_cap;
    uint32_t cstructs_cap, csigs_cap, externs_cap;
    /* the function being emitted */
    comp_fn *fn;
    uint32_t *code;
    uint32_t ncode, code_cap;
    vm_line *lines;
    uint32_t nlines, lines_cap;
    uint32_t line;
    uint32_t label_at; /* position of the last bound label */
    uint32_t last_op;  /* opcode of the last instruction emitted */
    uint16_t types[KILN_MAX_REGS];
    uint8_t owner[KILN_MAX_REGS];
    uint32_t nregs;
    bool too_many_regs;
    vm_handler *handlers; /* catch clauses, innermost first */
    uint32_t nhandlers, handlers_cap;
    comp_sym **scope; /* locals in scope, innermost last */
    uint32_t nscope, scope_cap;
    loop *loop;
    fin *fin; /* the innermost finally being emitted around the code */
} emitter;

/* ---- Image tables ---- */

/* A type id as the image holds it, a uint16_t. A checked program gives
 * the emitter only image ids (below VM_MAX_TYPES); any other would be a
 * compiler bug, reported rather than cut to 16 bits (which could make a
 * valid-looking wrong type). After errors, such as "too many types", ids
 * may be CT_ERR and no image is written. */
static uint16_t image_type(emitter *E, int t)
{
    if (t >= 0 && t < VM_MAX_TYPES)
        return (uint16_t)t;
    if (E->C->nerrors == 0)
        comp_error(E->C, E->line, 1, "internal error: type %s in the image",
                   comp_type_name(E->C, t));
    return VM_T_VOID;
}

static uint32_t intern(emitter *E, const char *s, uint32_t len)
{
    comp *C = E->C;
    int32_t i = comp_map_get(&E->strs, s, len);
    if (i >= 0)
        return (uint32_t)i;
    vm_image *im = E->im;
    uint32_t idx = im->nstrs, cap = E->strs_cap;
    im->str_off = comp_grow(C, im->str_off, &cap, idx + 1, sizeof(uint32_t));
    cap = E->strs_cap;
    im->str_len = comp_grow(C, im->str_len, &cap, idx + 1, sizeof(uint32_t));
    E->strs_cap = cap;
    if (len >= UINT32_MAX / 2 - E->str_len) /* comp_grow doubles a uint32_t */
        longjmp(C->oom, 1);
    E->str_data = comp_grow(C, E->str_data, &E->str_cap, E->str_len + len + 1, 1);
    im->str_off[idx] = E->str_len;
    im->str_len[idx] = len;
    memcpy(E->str_data + E->str_len, s, len);
    E->str_data[E->str_len + len] = 0;
    E->str_len += len + 1;
    im->nstrs++;
    comp_map_put(C, &E->strs, comp_strdup(C, s, len), len, (int32_t)idx);
    return idx;
}

static uint32_t constant(emitter *E, uint8_t type, uint64_t bits)
{
    comp *C = E->C;
    char key[9];
    key[0] = (char)type;
    memcpy(key + 1, &bits, 8);
    int32_t i = comp_map_get(&E->consts, key, 9);
    if (i >= 0)
        return (uint32_t)i;
    vm_image *im = E->im;
    if (im->nconsts == 65536) { /* LOADK's Bx is 16 bits */
        comp_error(C, E->line, 1, "too many constants in one program (at most 65536)");
        return 0;
    }
    im->consts = comp_grow(C, im->consts, &E->consts_cap, im->nconsts + 1, sizeof(vm_const));
    im->consts[im->nconsts].type = type;
    im->consts[im->nconsts].bits = bits;
    comp_map_put(C, &E->consts, comp_strdup(C, key, 9), 9, (int32_t)im->nconsts);
    return im->nconsts++;
}

static uint32_t native_ref(emitter *E, const vm_natsig *nat)
{
    comp *C = E->C;
    char key[128];
    int n = snprintf(key, sizeof key, "%s:%s", nat->name, nat->params);
    int32_t i = comp_map_get(&E->natives, key, (uint32_t)n);
    if (i >= 0)
        return (uint32_t)i;
    vm_image *im = E->im;
    im->natives =
        comp_grow(C, im->natives, &E->natives_cap, im->nnatives + 1, sizeof(vm_nativeref));
    vm_nativeref *r = &im->natives[im->nnatives];
    r->name = intern(E, nat->name, (uint32_t)strlen(nat->name));
    r->nparams = (uint8_t)strlen(nat->params);
    r->ret = image_type(E, comp_native_type(C, nat, r->nparams, E->line, 1));
    for (uint32_t k = 0; k < r->nparams; k++)
        r->params[k] = image_type(E, comp_native_type(C, nat, k, E->line, 1));
    comp_map_put(C, &E->natives, comp_strdup(C, key, (size_t)n), (uint32_t)n,
                 (int32_t)im->nnatives);
    return im->nnatives++;
}

/* ---- The FFI's tables ---- */

/* The image's C struct of extern struct c (made on first use). */
static uint32_t cstruct_ref(emitter *E, comp_class *c)
{
    if (c->cstruct)
        return c->cstruct - 1;
    comp *C = E->C;
    vm_image *im = E->im;
    im->cstructs =
        comp_grow(C, im->cstructs, &E->cstructs_cap, im->ncstructs + 1, sizeof(vm_cstruct));
    vm_cstruct *cs = &im->cstructs[im->ncstructs];
    cs->cls = c->index;
    cs->nfields = (uint16_t)c->nown;
    cs->ctypes = comp_alloc(C, sizeof(uint32_t) * (c->nown ? c->nown : 1));
    for (uint32_t j = 0; j < c->nown; j++)
        cs->ctypes[j] = c->cfields[j].kind;
    c->cstruct = ++im->ncstructs;
    return c->cstruct - 1;
}

/* The image's C signature (ret, params; the first nfixed declared). */
static uint32_t csig_ref(emitter *E, uint32_t ret, const uint32_t *params, uint32_t n,
                         uint32_t nfixed)
{
    comp *C = E->C;
    uint32_t key[KILN_MAX_PARAMS + 3] = {ret, n, nfixed};
    memcpy(key + 3, params, sizeof(uint32_t) * n);
    uint32_t klen = (uint32_t)sizeof(uint32_t) * (n + 3);
    int32_t i = comp_map_get(&E->csigs, (const char *)key, klen);
    if (i >= 0)
        return (uint32_t)i;
    vm_image *im = E->im;
    im->csigs = comp_grow(C, im->csigs, &E->csigs_cap, im->ncsigs + 1, sizeof(vm_csig));
    vm_csig *g = &im->csigs[im->ncsigs];
    g->ret = ret;
    g->nparams = (uint8_t)n;
    g->nfixed = (uint8_t)nfixed;
    g->params = comp_alloc(C, sizeof(uint32_t) * (n ? n : 1));
    memcpy(g->params, params, sizeof(uint32_t) * n);
    comp_map_put(C, &E->csigs, comp_strdup(C, (const char *)key, klen), klen, (int32_t)im->ncsigs);
    return im->ncsigs++;
}

/* C type ct, whose Kiln type (resolved) is t, as the image writes it. */
static uint32_t ctype_ref(emitter *E, const comp_ctype *ct, int t)
{
    if (ct->kind == VM_C_STRUCT || ct->kind == VM_C_STRUCTP)
        return VM_CTYPE(ct->kind, cstruct_ref(E, comp_class_of(E->C, t)));
    if (ct->kind != VM_C_FN)
        return ct->kind;
    uint32_t params[KILN_MAX_PARAMS];
    for (uint32_t j = 0; j < ct->nparams; j++)
        params[j] = ct->params[j].kind; /* a callback's are scalars */
    return VM_CTYPE(VM_C_FN, csig_ref(E, ct->ret->kind, params, ct->nparams, ct->nparams));
}

/* The C type a variadic argument of Kiln type t is passed as: C's
 * promoted types (int as long, float as double). */
static uint32_t variadic_ctype(int t)
{
    return t == VM_T_INT     ? VM_C_LONG
           : t == VM_T_FLOAT ? VM_C_DOUBLE
           : t == VM_T_STR   ? VM_C_CSTR
                             : VM_C_PTR;
}

/* The native that calls extern function fn: with a variadic one, its
 * extra arguments have the types `vtypes` (nargs in all). */
static uint32_t extern_ref(emitter *E, const comp_fn *fn, const uint16_t *vtypes, uint32_t nargs)
{
    comp *C = E->C;
    vm_image *im = E->im;
    uint32_t params[KILN_MAX_PARAMS];
    for (uint32_t j = 0; j < nargs; j++)
        params[j] = j < fn->nparams ? ctype_ref(E, &fn->cparams[j], fn->params[j]->type)
                                    : variadic_ctype(vtypes[j]);
    uint32_t sig = csig_ref(E, ctype_ref(E, &fn->cret, fn->ret), params, nargs,
                            fn->variadic ? fn->nparams : nargs);
    size_t room = (size_t)fn->liblen + fn->len + 16; /* a library name may be long */
    char *key = comp_alloc(C, room);
    int kn = snprintf(key, room, "\x01%.*s\x01%.*s\x01%u", (int)fn->liblen, fn->lib, (int)fn->len,
                      fn->name, sig);
    int32_t i = comp_map_get(&E->natives, key, (uint32_t)kn);
    if (i >= 0)
        return (uint32_t)i;
    im->natives =
        comp_grow(C, im->natives, &E->natives_cap, im->nnatives + 1, sizeof(vm_nativeref));
    vm_nativeref *r = &im->natives[im->nnatives];
    r->name = intern(E, fn->name, fn->len);
    r->ret = image_type(E, fn->ret);
    r->nparams = (uint8_t)nargs;
    for (uint32_t j = 0; j < nargs; j++)
        r->params[j] = j < fn->nparams ? image_type(E, fn->params[j]->type)
                                       : (uint16_t)vm_ctype_kiln(params[j]);
    im->externs = comp_grow(C, im->externs, &E->externs_cap, im->nexterns + 1, sizeof(vm_extern));
    vm_extern *x = &im->externs[im->nexterns++];
    x->native = im->nnatives;
    x->lib = intern(E, fn->lib, fn->liblen);
    x->sig = sig;
    x->pnames = comp_alloc(C, sizeof(uint32_t) * (nargs ? nargs : 1));
    for (uint32_t j = 0; j < nargs; j++)
        x->pnames[j] = j < fn->nparams ? intern(E, fn->params[j]->name, fn->params[j]->len)
                                       : intern(E, "...", 3);
    comp_map_put(C, &E->natives, key, (uint32_t)kn, (int32_t)im->nnatives);
    return im->nnatives++;
}

/* ---- Code ---- */

static uint32_t emit(emitter *E, uint32_t word)
{
    comp *C = E->C;
    E->code = comp_grow(C, E->code, &E->code_cap, E->ncode + 1, sizeof(uint32_t));
    if (!E->nlines || E->lines[E->nlines - 1].line != E->line) {
        E->lines = comp_grow(C, E->lines, &E->lines_cap, E->nlines + 1, sizeof(vm_line));
        E->lines[E->nlines].pc = E->ncode;
        E->lines[E->nlines].line = E->line;
        E->nlines++;
    }
    E->code[E->ncode] = word;
    E->last_op = INS_OP(word);
    return E->ncode++;
}

static uint32_t emit_x(emitter *E, uint32_t word, uint32_t x)
{
    uint32_t at = emit(E, word);
    E->code = comp_grow(E->C, E->code, &E->code_cap, E->ncode + 1, sizeof(uint32_t));
    E->code[E->ncode++] = x;
    return at;
}

static void jadd(emitter *E, jlist *j, uint32_t pos)
{
    j->pos = comp_grow(E->C, j->pos, &j->cap, j->n + 1, sizeof(uint32_t));
    j->pos[j->n++] = pos;
}

/* Points the jump instruction at `pos` to `target`. */
static void patch(emitter *E, uint32_t pos, uint32_t target)
{
    uint32_t op = INS_OP(E->code[pos]);
    int64_t off = (int64_t)target - (int64_t)(pos + VM_INS_WORDS(op));
    if (op == OP_JMP) {
        if (off > VM_SJ_MAX || off < -VM_SJ_MAX - 1) {
            comp_error(E->C, E->line, 1, "function too large: jump out of range");
            return;
        }
        E->code[pos] = MK_sJ(OP_JMP, (uint32_t)off & 0xffffffu);
    } else {
        E->code[pos + 1] = (uint32_t)(int32_t)off;
    }
}

static void bind_to(emitter *E, jlist *j, uint32_t target)
{
    for (uint32_t i = 0; i < j->n; i++)
        patch(E, j->pos[i], target);
    j->n = 0;
}

static void bind(emitter *E, jlist *j)
{
    E->label_at = E->ncode;
    bind_to(E, j, E->ncode);
}

static void jump(emitter *E, jlist *j)
{
    jadd(E, j, emit(E, MK_sJ(OP_JMP, 0)));
}

/* ---- Registers ---- */

static int reg_new(emitter *E, int type)
{
    if (E->nregs >= KILN_MAX_REGS) {
        if (!E->too_many_regs)
            comp_error(E->C, E->line, 1, "function '%.*s' needs more than %d registers; split it",
                       (int)E->fn->len, E->fn->name, KILN_MAX_REGS);
        E->too_many_regs = true;
        return 0;
    }
    E->types[E->nregs] = image_type(E, type);
    E->owner[E->nregs] = R_TEMP;
    return (int)E->nregs++;
}

static int reg_alloc(emitter *E, int type)
{
    for (uint32_t r = 0; r < E->nregs; r++)
        if (E->owner[r] == R_FREE && E->types[r] == type) {
            E->owner[r] = R_TEMP;
            return (int)r;
        }
    return reg_new(E, type);
}

static void reg_free(emitter *E, int r)
{
    if (r >= 0 && E->owner[r] == R_TEMP)
        E->owner[r] = R_FREE;
}

/* `n` consecutive temporaries with these types. */
static int reg_block(emitter *E, const uint16_t *types, uint32_t n)
{
    uint32_t p;
    for (p = 0; p < E->nregs; p++) {
        uint32_t i = 0;
        while (i < n &&
               (p + i >= E->nregs || (E->owner[p + i] == R_FREE && E->types[p + i] == types[i])))
            i++;
        if (i == n)
            break;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (p + i < E->nregs)
            E->owner[p + i] = R_TEMP;
        else if (reg_new(E, types[i]) != (int)(p + i))
            return 0; /* out of registers: reported */
    }
    return (int)p;
}

static int target(emitter *E, int want, int type)
{
    return want >= 0 ? want : reg_alloc(E, type);
}

/* ---- Expressions ---- */

static int ex(emitter *E, comp_node *n, int want);
static int ex_array_method(emitter *E, comp_node *n, int want);
static int ex_map_method(emitter *E, comp_node *n, int want);
static int ex_lambda(emitter *E, comp_node *n, int want);
static void cond_jump(emitter *E, comp_node *n, bool when, jlist *to);
static int ex_variant(emitter *E, comp_node *n, int want);
static int local_reg(emitter *E, comp_sym *s);
static void end_scope(emitter *E, uint32_t mark);
static void block(emitter *E, comp_node *b);

static void load_int(emitter *E, int r, int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX)
        emit(E, MK_ABx(OP_LOADI, r, (uint16_t)(int16_t)v));
    else
        emit(E, MK_ABx(OP_LOADK, r, constant(E, VM_T_INT, (uint64_t)v)));
}

static void load_str(emitter *E, int r, const char *s, uint32_t len)
{
    emit(E, MK_ABx(OP_LOADK, r, constant(E, VM_T_STR, intern(E, s, len))));
}

static void load_zero(emitter *E, int r, int type)
{
    double zero = 0.0;
    uint64_t bits;
    memcpy(&bits, &zero, sizeof bits);
    switch (type) {
    case VM_T_INT: emit(E, MK_ABx(OP_LOADI, r, 0)); break;
    case VM_T_FLOAT: emit(E, MK_ABx(OP_LOADK, r, constant(E, VM_T_FLOAT, bits))); break;
    case VM_T_BOOL: emit(E, MK_ABC(OP_LOADB, r, 0, 0)); break;
    default: emit(E, MK_ABC(OP_LOADNULL, r, 0, 0)); break;
    }
}

/* The opcode of `l op r` for operands of type t, and whether the operands
 * swap (a > b is b < a). */
static int binary_op(int op, int t, bool *swap)
{
    *swap = op == T_GT || op == T_GE;
    bool I = t == VM_T_INT, F = t == VM_T_FLOAT, S = t == VM_T_STR, B = t == VM_T_BOOL;
    switch (op) {
    case T_PLUS: return I ? OP_ADD_I : F ? OP_ADD_F : OP_CONCAT;
    case T_MINUS: return I ? OP_SUB_I : OP_SUB_F;
    case T_STAR: return I ? OP_MUL_I : OP_MUL_F;
    case T_SLASH: return I ? OP_DIV_I : OP_DIV_F;
    case T_PERCENT: return I ? OP_MOD_I : OP_MOD_F;
    case T_AMP: return OP_BAND;
    case T_PIPE: return OP_BOR;
    case T_CARET: return OP_BXOR;
    case T_SHL: return OP_SHL;
    case T_SHR: return OP_SHR;
    case T_EQEQ: return I ? OP_EQ_I : F ? OP_EQ_F : B ? OP_EQ_B : S ? OP_EQ_S : OP_EQ_R;
    case T_NE: return I ? OP_NE_I : F ? OP_NE_F : B ? OP_NE_B : S ? OP_NE_S : OP_NE_R;
    case T_LT:
    case T_GT: return I ? OP_LT_I : F ? OP_LT_F : OP_LT_S;
    case T_LE:
    case T_GE: return I ? OP_LE_I : F ? OP_LE_F : OP_LE_S;
    }
    return OP_NOP;
}

/* r = a op b for operands of type t. */
static void emit_binop(emitter *E, int op, int t, int r, int a, int b)
{
    bool swap;
    int opc = binary_op(op, t, &swap);
    emit(E, swap ? MK_ABC(opc, r, b, a) : MK_ABC(opc, r, a, b));
}

static bool small_int(const comp_node *n, int64_t lo, int64_t hi)
{
    return n->kind == N_INT && n->i >= lo && n->i <= hi;
}

/* A result that is built in several steps must not land in a variable's
 * register before its last step: `b = c || !b` reads b after the first. */
static int staged_target(emitter *E, int want, int type)
{
    return want >= 0 && E->owner[want] == R_LOCAL ? reg_alloc(E, type) : target(E, want, type);
}

static int finish_staged(emitter *E, int r, int want)
{
    if (want >= 0 && r != want) {
        emit(E, MK_ABC(OP_MOV, want, r, 0));
        reg_free(E, r);
        return want;
    }
    return r;
}

static int ex_binary(emitter *E, comp_node *n, int want)
{
    int t = n->a->type;
    if (n->op == T_ANDAND || n->op == T_OROR) {
        int r = staged_target(E, want, VM_T_BOOL);
        jlist end = {0};
        ex(E, n->a, r);
        jadd(E, &end, emit_x(E, MK_ABC(n->op == T_ANDAND ? OP_JF : OP_JT, r, 0, 0), 0));
        ex(E, n->b, r);
        bind(E, &end);
        return finish_staged(E, r, want);
    }
    /* x + k and x - k with a small literal k: one instruction, no constant. */
    if ((n->op == T_PLUS && t == VM_T_INT && small_int(n->b, -128, 127)) ||
        (n->op == T_MINUS && t == VM_T_INT && small_int(n->b, -127, 128))) {
        int a = ex(E, n->a, -1);
        reg_free(E, a);
        int r = target(E, want, VM_T_INT);
        int64_t k = n->op == T_PLUS ? n->b->i : -n->b->i;
        emit(E, MK_ABC(OP_ADDI_I, r, a, (uint8_t)(int8_t)k));
        return r;
    }
    /* Float arithmetic with a literal operand reads the constant directly
     * (K operand), sparing a LOADK in every loop iteration. */
    if (t == VM_T_FLOAT &&
        (n->op == T_PLUS || n->op == T_MINUS || n->op == T_STAR || n->op == T_SLASH)) {
        comp_node *var = n->a, *lit = n->b;
        if (lit->kind != N_FLOAT && var->kind == N_FLOAT &&
            (n->op == T_PLUS || n->op == T_STAR)) { /* commutative: k * x is x * k */
            var = n->b;
            lit = n->a;
        }
        uint64_t bits;
        memcpy(&bits, &lit->f, sizeof bits);
        uint32_t k = lit->kind == N_FLOAT ? constant(E, VM_T_FLOAT, bits) : 256;
        if (k < 256) {
            int a = ex(E, var, -1);
            reg_free(E, a);
            int r = target(E, want, VM_T_FLOAT);
            int op = n->op == T_PLUS    ? OP_ADDK_F
                     : n->op == T_MINUS ? OP_SUBK_F
                     : n->op == T_STAR  ? OP_MULK_F
                                        : OP_DIVK_F;
            emit(E, MK_ABC(op, r, a, k));
            return r;
        }
    }
    int a = ex(E, n->a, -1);
    int b = ex(E, n->b, -1);
    reg_free(E, a);
    reg_free(E, b);
    int r = target(E, want, n->type);
    emit_binop(E, n->op, t, r, a, b);
    return r;
}

/* str(obj): "null" for null, else obj.to_str() (vtable slot 0). */
static int ex_obj_to_str(emitter *E, comp_node *n, int want)
{
    int v = ex(E, n, -1);
    int r = staged_target(E, want, VM_T_STR);
    jlist not_null = {0}, end = {0};
    jadd(E, &not_null, emit_x(E, MK_ABC(OP_JNNULL, v, 0, 0), 0));
    load_str(E, r, "null", 4);
    jump(E, &end);
    bind(E, &not_null);
    uint16_t t = image_type(E, n->type);
    int blk = reg_block(E, &t, 1);
    if (blk != v)
        emit(E, MK_ABC(OP_MOV, blk, v, 0));
    emit_x(E, MK_ABC(OP_CALLV, r, blk, 0), 0);
    reg_free(E, blk);
    reg_free(E, v);
    /* a to_str() that returns null converts as str(null) does */
    jadd(E, &end, emit_x(E, MK_ABC(OP_JNNULL, r, 0, 0), 0));
    load_str(E, r, "null", 4);
    bind(E, &end);
    return finish_staged(E, r, want);
}

/* Converts the value of n to a str register, as str() would. */
static int ex_to_str(emitter *E, comp_node *n)
{
    if (n->type >= VM_T__COUNT)
        return ex_obj_to_str(E, n, -1);
    if (n->kind == N_STR) {
        int r = reg_alloc(E, VM_T_STR);
        load_str(E, r, n->s, n->len);
        return r;
    }
    uint16_t t = image_type(E, n->type);
    int arg = reg_block(E, &t, 1);
    ex(E, n, arg);
    const vm_natsig *nat =
        vm_natsig_find(&E->C->env->natives, "str", &t, 1, comp_elem_of_ctx, NULL, E->C);
    reg_free(E, arg);
    int r = reg_alloc(E, VM_T_STR);
    emit_x(E, MK_ABC(OP_CALLN, r, arg, 0), native_ref(E, nat));
    return r;
}

static int ex_interp(emitter *E, comp_node *n, int want)
{
    int acc = -1;
    for (uint32_t i = 0; i < n->n; i++) {
        comp_node *part = n->list[i];
        if (part->kind == N_STR && part->len == 0)
            continue;
        int p = ex_to_str(E, part);
        if (acc < 0) {
            acc = p;
            continue;
        }
        emit(E, MK_ABC(OP_CONCAT, acc, acc, p));
        reg_free(E, p);
    }
    if (acc < 0) {
        acc = reg_alloc(E, VM_T_STR);
        load_str(E, acc, "", 0);
    }
    return finish_staged(E, acc, want);
}

/* Class(args): NEW into the first register of init's argument block, the
 * field initializers, then init on it; the block's first register is the
 * result. Built in a temporary so `p = P(p.x)` reads the old p. */
static int ex_new(emitter *E, comp_node *n, int want)
{
    comp_class *c = n->cls;
    uint32_t nargs = 1 + n->n;
    uint16_t types[KILN_MAX_PARAMS + 1];
    types[0] = image_type(E, c->type);
    for (uint32_t i = 1; i < nargs; i++)
        types[i] = image_type(E, n->fn->params[i]->type);
    int b = reg_block(E, types, nargs);
    uint32_t save = E->line;
    E->line = n->line;
    emit(E, MK_ABx(OP_NEW, b, c->index));
    if (c->field_init)
        emit_x(E, MK_ABC(OP_CALL, 0, b, 0), c->field_init->index);
    for (uint32_t i = 1; i < nargs; i++)
        ex(E, n->list[i - 1], b + (int)i);
    if (n->fn) {
        E->line = n->line;
        emit_x(E, MK_ABC(OP_CALL, 0, b, 0), n->fn->index);
    }
    E->line = save;
    for (uint32_t i = 1; i < nargs; i++)
        reg_free(E, b + (int)i);
    if (want >= 0 && want != b) {
        emit(E, MK_ABC(OP_MOV, want, b, 0));
        reg_free(E, b);
        return want;
    }
    return b;
}

/* callee(args) of a function value: the value, then the arguments, in
 * one block of registers. */
static int ex_value_call(emitter *E, comp_node *n, int want)
{
    const struct comp_xtype *sig = comp_fn_sig(E->C, n->a->type);
    uint16_t types[KILN_MAX_PARAMS + 1];
    types[0] = image_type(E, n->a->type);
    for (uint32_t i = 0; i < n->n; i++)
        types[i + 1] = sig->params[i];
    int b = reg_block(E, types, n->n + 1);
    ex(E, n->a, b);
    for (uint32_t i = 0; i < n->n; i++)
        ex(E, n->list[i], b + 1 + (int)i);
    for (uint32_t i = 0; i <= n->n; i++)
        reg_free(E, b + (int)i);
    int r = sig->a == VM_T_VOID ? 0 : target(E, want, sig->a);
    uint32_t save = E->line;
    E->line = n->line;
    emit_x(E, MK_ABC(OP_CALLF, r, b, 0), (uint32_t)n->a->type);
    E->line = save;
    return sig->a == VM_T_VOID ? -1 : r;
}

/* The register type of a local or capture: a cell when it is boxed. */
static int sym_reg_type(emitter *E, const comp_sym *s)
{
    return SYM_BOXED(s) ? comp_cell_type(E->C, s->type, E->line, 1) : s->type;
}

/* fn(...) { ... }: a function value capturing, in order, what the
 * literal's captures copy: a value, or the cell of a boxed variable. */
static int ex_lambda(emitter *E, comp_node *n, int want)
{
    comp_fn *fn = n->fn;
    int b = 0;
    if (fn->ncaps) {
        uint16_t types[KILN_MAX_REGS];
        for (uint32_t i = 0; i < fn->ncaps; i++)
            types[i] = image_type(E, sym_reg_type(E, fn->caps[i]));
        b = reg_block(E, types, fn->ncaps);
        for (uint32_t i = 0; i < fn->ncaps; i++)
            emit(E, MK_ABC(OP_MOV, b + (int)i, fn->caps[i]->outer->index, 0));
        for (uint32_t i = 0; i < fn->ncaps; i++)
            reg_free(E, b + (int)i);
    }
    int r = target(E, want, n->type);
    emit_x(E, MK_ABC(OP_FNEW, r, b, 0), fn->index);
    return r;
}

/* A call whose arguments are named one by one (CALLP: a function of at
 * most two parameters; CALLVP: a method with up to four besides the
 * receiver): each argument is evaluated where it is cheapest, so a local
 * or self is passed from its own register without a MOV. */
static int ex_packed_call(emitter *E, comp_node *n, comp_node **args, uint32_t nargs, int want)
{
    int regs[5];
    for (uint32_t i = 0; i < nargs; i++) /* a null literal has the parameter's type */
        regs[i] = ex(E, args[i], -1);
    for (uint32_t i = 0; i < nargs; i++)
        reg_free(E, regs[i]);
    int ret = n->fn->ret;
    int r = ret == VM_T_VOID ? 0 : target(E, want, ret);
    uint32_t save = E->line;
    E->line = n->line;
    if (n->slot >= 0) {
        uint32_t x = 0;
        for (uint32_t i = nargs - 1; i >= 1; i--)
            x = x << 8 | (uint32_t)regs[i];
        emit_x(E, MK_ABC(OP_CALLVP, r, regs[0], n->slot), x);
    } else {
        emit_x(E, MK_ABC(OP_CALLP, r, nargs > 0 ? regs[0] : 0, nargs > 1 ? regs[1] : 0),
               n->fn->index);
    }
    E->line = save;
    return ret == VM_T_VOID ? -1 : r;
}

static int ex_call(emitter *E, comp_node *n, int want)
{
    comp_node *recv = n->a->kind == N_FIELD && !n->i ? n->a->a : NULL; /* n->i: module call */
    if (n->a->kind == N_SUPER)
        recv = n->a; /* self, as the superclass's method takes it */
    switch (n->builtin) {
    case B_NEW: return ex_new(E, n, want);
    case B_ALEN:
    case B_APUSH:
    case B_APOP:
    case B_ASLICE: return ex_array_method(E, n, want);
    case B_MGETD:
    case B_MHAS:
    case B_MDEL:
    case B_MLEN:
    case B_MKEYS:
    case B_MRESERVE: return ex_map_method(E, n, want);
    case B_TO_STR: return ex_obj_to_str(E, n->list[0], want);
    case B_FNCALL: return ex_value_call(E, n, want);
    case B_VARIANT: return ex_variant(E, n, want);
    case B_IDENTITY: return ex(E, n->list[0], want);
    case B_INT_OF_FLOAT:
    case B_FLOAT_OF_INT: {
        int a = ex(E, n->list[0], -1);
        reg_free(E, a);
        int r = target(E, want, n->type);
        emit(E, MK_ABC(n->builtin == B_INT_OF_FLOAT ? OP_F2I : OP_I2F, r, a, 0));
        return r;
    }
    case B_STRLEN: {
        int a = ex(E, recv, -1);
        reg_free(E, a);
        int r = target(E, want, VM_T_INT);
        emit(E, MK_ABC(OP_STRLEN, r, a, 0));
        return r;
    }
    default: break;
    }
    /* A call: arguments (the receiver first, for methods) in a block. */
    uint32_t nargs = n->n + (recv ? 1 : 0);
    uint16_t types[KILN_MAX_PARAMS + 1];
    comp_node *args[KILN_MAX_PARAMS + 1];
    if (recv && !n->fn && n->a->kind == N_SUPER)
        return -1; /* super.init() of a class without init: nothing to do */
    for (uint32_t i = 0; i < nargs; i++) {
        args[i] = recv ? (i == 0 ? recv : n->list[i - 1]) : n->list[i];
        int t = n->fn && i < n->fn->nparams ? n->fn->params[i]->type : args[i]->type;
        types[i] = image_type(E, t == CT_NULL ? VM_T_PTR : t); /* null: a variadic C argument */
    }
    if (recv && n->fn && recv->kind != N_SUPER) /* the receiver keeps its (sub)class type */
        types[0] = image_type(E, recv->type);
    bool ext = n->fn && n->fn->synth == SYNTH_EXTERN;
    if (n->fn && !ext && (n->slot >= 0 ? nargs >= 1 && nargs <= 5 && n->slot < 256 : nargs <= 2))
        return ex_packed_call(E, n, args, nargs, want);
    int b = nargs ? reg_block(E, types, nargs) : 0;
    for (uint32_t i = 0; i < nargs; i++)
        ex(E, args[i], b + (int)i);
    for (uint32_t i = 0; i < nargs; i++)
        reg_free(E, b + (int)i);
    int ret = n->fn ? n->fn->ret
                    : comp_native_type(E->C, n->native, (uint32_t)strlen(n->native->params),
                                       n->line, n->col);
    int r = ret == VM_T_VOID ? 0 : target(E, want, ret);
    uint32_t save = E->line;
    E->line = n->line;
    if (n->slot >= 0)
        emit_x(E, MK_ABC(OP_CALLV, r, b, 0), (uint32_t)n->slot);
    else if (ext)
        emit_x(E, MK_ABC(OP_CALLN, r, b, 0), extern_ref(E, n->fn, types, nargs));
    else if (n->fn)
        emit_x(E, MK_ABC(OP_CALL, r, b, 0), n->fn->index);
    else
        emit_x(E, MK_ABC(OP_CALLN, r, b, 0), native_ref(E, n->native));
    E->line = save;
    return ret == VM_T_VOID ? -1 : r;
}

static bool is_map(emitter *E, int type)
{
    int k, v;
    return comp_map_types(E->C, type, &k, &v);
}

/* Can [e; n] evaluate e once and fill? Only when every evaluation would
 * give the same value and do nothing else: a literal, or a variable
 * (which the loop cannot change). */
static bool fill_once(const comp_node *e)
{
    return e->kind == N_INT || e->kind == N_FLOAT || e->kind == N_BOOL || e->kind == N_NULL ||
           e->kind == N_STR || (e->kind == N_NAME && e->sym);
}

/* [a, b, c]: an empty array of the literal's type, then a push each;
 * [e; n]: n zero elements, then each set to e (evaluated per element). */
static int ex_array(emitter *E, comp_node *n, int want)
{
    int r = staged_target(E, want, n->type);
    if (n->op && fill_once(n->list[0])) {
        int v = ex(E, n->list[0], -1);
        int len = ex(E, n->b, -1);
        emit_x(E, MK_ABC(OP_NEWA, r, len, 0), (uint32_t)n->type);
        emit(E, MK_ABC(OP_AFILL, r, v, 0));
        reg_free(E, len);
        reg_free(E, v);
        return finish_staged(E, r, want);
    }
    if (n->op) { /* [e; n] with e evaluated once per element (v1) */
        int len = reg_alloc(E, VM_T_INT), i = reg_alloc(E, VM_T_INT);
        E->owner[len] = E->owner[i] = R_LOCAL;
        ex(E, n->b, len);
        emit_x(E, MK_ABC(OP_NEWA, r, len, 0), (uint32_t)n->type);
        load_int(E, i, 0);
        jlist to_cond = {0}, to_top = {0};
        jump(E, &to_cond);
        uint32_t top = E->ncode;
        E->label_at = top;
        int v = ex(E, n->list[0], -1);
        emit(E, MK_ABC(OP_ASET, v, r, i));
        reg_free(E, v);
        emit(E, MK_ABC(OP_ADDI_I, i, i, 1));
        bind(E, &to_cond);
        jadd(E, &to_top, emit_x(E, MK_ABC(OP_JLT_I, i, len, 0), 0));
        bind_to(E, &to_top, top);
        E->owner[len] = E->owner[i] = R_FREE;
        return finish_staged(E, r, want);
    }
    int zero = reg_alloc(E, VM_T_INT);
    load_int(E, zero, 0);
    emit_x(E, MK_ABC(OP_NEWA, r, zero, 0), (uint32_t)n->type);
    reg_free(E, zero);
    for (uint32_t i = 0; i < n->n; i++) {
        int v = ex(E, n->list[i], -1);
        emit(E, MK_ABC(OP_APUSH, r, v, 0));
        reg_free(E, v);
    }
    return finish_staged(E, r, want);
}

/* {k: v, ...}: an empty map of the literal's type, then each entry. */
static int ex_map(emitter *E, comp_node *n, int want)
{
    int r = staged_target(E, want, n->type);
    emit_x(E, MK_ABC(OP_NEWM, r, 0, 0), (uint32_t)n->type);
    for (uint32_t i = 0; i < n->n; i += 2) {
        int k = ex(E, n->list[i], -1), v = ex(E, n->list[i + 1], -1);
        emit(E, MK_ABC(OP_MSET, v, r, k));
        reg_free(E, v);
        reg_free(E, k);
    }
    return finish_staged(E, r, want);
}

/* m.get(k, default), m.has(k), m.remove(k), m.len(), m.keys(), m.reserve(n) */
static int ex_map_method(emitter *E, comp_node *n, int want)
{
    int m = ex(E, n->a->a, -1);
    int k = n->n ? ex(E, n->list[0], -1) : -1;
    int d = n->n > 1 ? ex(E, n->list[1], -1) : -1;
    reg_free(E, d);
    reg_free(E, k);
    reg_free(E, m);
    int r = n->builtin == B_MDEL || n->builtin == B_MRESERVE ? -1 : target(E, want, n->type);
    switch (n->builtin) {
    case B_MGETD: emit_x(E, MK_ABC(OP_MGETD, r, m, k), (uint32_t)d); break;
    case B_MHAS: emit(E, MK_ABC(OP_MHAS, r, m, k)); break;
    case B_MDEL: emit(E, MK_ABC(OP_MDEL, 0, m, k)); break;
    case B_MRESERVE: emit(E, MK_ABC(OP_MRESERVE, 0, m, k)); break;
    case B_MLEN: emit(E, MK_ABC(OP_MLEN, r, m, 0)); break;
    default: emit(E, MK_ABC(OP_MKEYS, r, m, 0)); break;
    }
    return r;
}

/* a.len(), a.push(v), a.pop(), a.slice(from, to) */
static int ex_array_method(emitter *E, comp_node *n, int want)
{
    int a = ex(E, n->a->a, -1);
    int r = -1;
    switch (n->builtin) {
    case B_ALEN:
        reg_free(E, a);
        r = target(E, want, VM_T_INT);
        emit(E, MK_ABC(OP_ALEN, r, a, 0));
        return r;
    case B_APUSH: {
        int v = ex(E, n->list[0], -1);
        emit(E, MK_ABC(OP_APUSH, a, v, 0));
        reg_free(E, v);
        reg_free(E, a);
        return -1;
    }
    case B_APOP:
        reg_free(E, a);
        r = target(E, want, n->type);
        emit(E, MK_ABC(OP_APOP, r, a, 0));
        return r;
    default: { /* B_ASLICE */
        int from = ex(E, n->list[0], -1), to = ex(E, n->list[1], -1);
        reg_free(E, a);
        reg_free(E, from);
        reg_free(E, to);
        r = target(E, want, n->type);
        emit_x(E, MK_ABC(OP_ASLICE, r, a, from), (uint32_t)to);
        return r;
    }
    }
}

/* Enum.Variant(payload): a new object, its _tag and payload set. */
static int ex_variant(emitter *E, comp_node *n, int want)
{
    comp_class *c = n->cls;
    int r = staged_target(E, want, c->type);
    E->owner[r] = E->owner[r] == R_FREE ? R_TEMP : E->owner[r];
    emit(E, MK_ABx(OP_NEW, r, c->index));
    int tag = reg_alloc(E, VM_T_INT);
    load_int(E, tag, n->i);
    emit(E, MK_ABC(OP_SETF, tag, r, 0));
    reg_free(E, tag);
    for (uint32_t i = 0; i < n->n; i++) {
        int v = ex(E, n->list[i], -1);
        emit(E, MK_ABC(OP_SETF, v, r, (uint32_t)n->field + i));
        reg_free(E, v);
    }
    return finish_staged(E, r, want);
}

/* if c { a } else { b } as a value, into one register. */
static int ex_if(emitter *E, comp_node *n, int want)
{
    int r = staged_target(E, want, n->type);
    jlist otherwise = {0}, end = {0};
    cond_jump(E, n->a, false, &otherwise);
    ex(E, n->b->list[0]->a, r);
    jump(E, &end);
    bind(E, &otherwise);
    ex(E, n->c->kind == N_IF ? n->c : n->c->list[0]->a, r);
    bind(E, &end);
    return finish_staged(E, r, want);
}

/* match: the subject (and an enum's _tag) held in registers, then each arm
 * tests its patterns in order; the last arm takes what is left (the
 * checker proved the match exhaustive). */
static int ex_match(emitter *E, comp_node *n, int want, bool value)
{
    int subj = reg_alloc(E, n->a->type);
    E->owner[subj] = R_LOCAL;
    ex(E, n->a, subj);
    comp_class *ec = comp_class_of(E->C, n->a->type);
    bool is_enum = ec && ec->is_enum;
    int tag = -1;
    if (is_enum) {
        tag = reg_alloc(E, VM_T_INT);
        E->owner[tag] = R_LOCAL;
        emit(E, MK_ABC(OP_GETF, tag, subj, 0));
    }
    int r = value ? staged_target(E, want, n->type) : -1;
    if (r >= 0 && E->owner[r] == R_FREE)
        E->owner[r] = R_TEMP;
    jlist end = {0};
    for (uint32_t i = 0; i < n->n; i++) {
        comp_node *arm = n->list[i];
        bool last = i + 1 == n->n, wild = false;
        for (uint32_t j = 0; j < arm->n; j++)
            wild |=
                arm->list[j]->kind == N_NAME && arm->list[j]->len == 1 && arm->list[j]->s[0] == '_';
        jlist body = {0}, next = {0};
        for (uint32_t j = 0; !wild && !last && j < arm->n; j++) {
            comp_node *p = arm->list[j];
            if (is_enum) {
                jadd(E, &body, emit_x(E, MK_ABx(OP_JEQK_I, tag, (uint16_t)(int16_t)p->i), 0));
            } else if (p->kind == N_BOOL) {
                jadd(E, &body, emit_x(E, MK_ABC(p->i ? OP_JT : OP_JF, subj, 0, 0), 0));
            } else if (p->kind == N_INT && p->i >= INT16_MIN && p->i <= INT16_MAX) {
                jadd(E, &body, emit_x(E, MK_ABx(OP_JEQK_I, subj, (uint16_t)(int16_t)p->i), 0));
            } else {
                int k = ex(E, p, -1);
                if (p->kind == N_INT) {
                    jadd(E, &body, emit_x(E, MK_ABC(OP_JEQ_I, subj, k, 0), 0));
                } else {
                    int b = reg_alloc(E, VM_T_BOOL);
                    emit(E, MK_ABC(OP_EQ_S, b, subj, k));
                    jadd(E, &body, emit_x(E, MK_ABC(OP_JT, b, 0, 0), 0));
                    reg_free(E, b);
                }
                reg_free(E, k);
            }
        }
        if (!wild && !last)
            jump(E, &next);
        bind(E, &body);
        uint32_t mark = E->nscope;
        comp_node *p = arm->list[0];
        for (uint32_t k = 0; is_enum && p->kind == N_CALL && k < p->n; k++)
            if (p->list[k]->sym) /* a bound payload value */
                emit(E,
                     MK_ABC(OP_GETF, local_reg(E, p->list[k]->sym), subj, (uint32_t)p->field + k));
        if (value && !arm->op)
            ex(E, arm->b->kind == N_BLOCK ? arm->b->list[0]->a : arm->b, r);
        else if (arm->b->kind == N_BLOCK)
            block(E, arm->b);
        else
            reg_free(E, ex(E, arm->b, -1));
        end_scope(E, mark);
        if (!last)
            jump(E, &end);
        bind(E, &next);
    }
    bind(E, &end);
    E->owner[subj] = R_FREE;
    if (tag >= 0)
        E->owner[tag] = R_FREE;
    if (!value)
        return -1;
    return finish_staged(E, r, want);
}

static int ex_kind(emitter *E, comp_node *n, int want)
{
    int r;
    switch (n->kind) {
    case N_IF: return ex_if(E, n, want);
    case N_MATCH: return ex_match(E, n, want, true);
    case N_INT:
        r = target(E, want, VM_T_INT);
        load_int(E, r, n->i);
        return r;
    case N_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &n->f, sizeof bits);
        r = target(E, want, VM_T_FLOAT);
        emit(E, MK_ABx(OP_LOADK, r, constant(E, VM_T_FLOAT, bits)));
        return r;
    }
    case N_BOOL:
        r = target(E, want, VM_T_BOOL);
        emit(E, MK_ABC(OP_LOADB, r, n->i ? 1 : 0, 0));
        return r;
    case N_NULL:
        r = target(E, want, n->type);
        emit(E, MK_ABC(OP_LOADNULL, r, 0, 0));
        return r;
    case N_STR:
        r = target(E, want, VM_T_STR);
        load_str(E, r, n->s, n->len);
        return r;
    case N_INTERP: return ex_interp(E, n, want);
    case N_SUPER: /* as the receiver of super.m(): self (never in a function literal) */
        if (want < 0 || want == 0)
            return 0;
        emit(E, MK_ABC(OP_MOV, want, 0, 0));
        return want;
    case N_LAMBDA: return ex_lambda(E, n, want);
    case N_FIELD: {
        int o = ex(E, n->a, -1);
        reg_free(E, o);
        r = target(E, want, n->type);
        emit(E, MK_ABC(OP_GETF, r, o, n->field));
        return r;
    }
    case N_IS:
    case N_AS: {
        int a = ex(E, n->a, -1);
        reg_free(E, a);
        r = target(E, want, n->type);
        emit_x(E, MK_ABC(n->kind == N_IS ? OP_IS : OP_AS, r, a, 0), n->cls->index);
        return r;
    }
    case N_SELF: /* self is a local: parameter 0, or a capture */
    case N_NAME: {
        comp_sym *s = n->sym;
        if (!s) { /* a top-level function as a value */
            r = target(E, want, n->type);
            emit_x(E, MK_ABC(OP_FNEW, r, 0, 0), n->fn->index);
            return r;
        }
        if (s->kind == SYM_LOCAL && SYM_BOXED(s)) {
            r = target(E, want, s->type);
            emit(E, MK_ABC(OP_GETCELL, r, s->index, 0));
            return r;
        }
        if (s->kind == SYM_LOCAL) {
            if (want < 0 || want == s->index)
                return s->index;
            emit(E, MK_ABC(OP_MOV, want, s->index, 0));
            return want;
        }
        /* a function may run before a late global's declaration */
        r = target(E, want, s->type);
        emit(E, MK_ABx(s->late && E->fn != E->fn->mod->init ? OP_GETGC : OP_GETG, r,
                       (uint32_t)s->index));
        return r;
    }
    case N_UNARY: {
        int a = ex(E, n->a, -1);
        reg_free(E, a);
        r = target(E, want, n->type);
        int op = n->op == T_BANG       ? OP_NOT
                 : n->op == T_TILDE    ? OP_BNOT
                 : n->type == VM_T_INT ? OP_NEG_I
                                       : OP_NEG_F;
        emit(E, MK_ABC(op, r, a, 0));
        return r;
    }
    case N_BINARY: return ex_binary(E, n, want);
    case N_CALL: return ex_call(E, n, want);
    case N_INDEX: {
        int a = ex(E, n->a, -1);
        int b = ex(E, n->b, -1);
        reg_free(E, a);
        reg_free(E, b);
        r = target(E, want, n->type);
        emit(E, MK_ABC(n->a->type == VM_T_STR  ? OP_STRIDX
                       : is_map(E, n->a->type) ? OP_MGET
                                               : OP_AGET,
                       r, a, b));
        return r;
    }
    case N_ARRAY: return ex_array(E, n, want);
    case N_MAP: return ex_map(E, n, want);
    }
    return 0;
}

static int ex(emitter *E, comp_node *n, int want)
{
    uint32_t save = E->line;
    E->line = n->line;
    int r = ex_kind(E, n, want);
    E->line = save;
    return r;
}

/* ---- Conditions ---- */

static bool is_comparison(int op)
{
    return op == T_EQEQ || op == T_NE || op == T_LT || op == T_LE || op == T_GT || op == T_GE;
}

static int negate(int op)
{
    switch (op) {
    case T_EQEQ: return T_NE;
    case T_NE: return T_EQEQ;
    case T_LT: return T_GE;
    case T_LE: return T_GT;
    case T_GT: return T_LE;
    default: return T_LT; /* T_GE */
    }
}

static int mirror(int op) /* k op x  ==  x mirror(op) k */
{
    switch (op) {
    case T_LT: return T_GT;
    case T_LE: return T_GE;
    case T_GT: return T_LT;
    case T_GE: return T_LE;
    default: return op;
    }
}

/* Int comparison branch, taken when `a op b`. */
static void int_branch(emitter *E, comp_node *l, comp_node *rnode, int op, jlist *to)
{
    if (small_int(l, INT16_MIN, INT16_MAX) && !small_int(rnode, INT16_MIN, INT16_MAX)) {
        comp_node *t = l;
        l = rnode;
        rnode = t;
        op = mirror(op);
    }
    if (small_int(rnode, INT16_MIN, INT16_MAX)) {
        static const int KOP[] = {OP_JEQK_I, OP_JNEK_I, OP_JLTK_I, OP_JLEK_I, OP_JGTK_I, OP_JGEK_I};
        int idx = op == T_EQEQ ? 0
                  : op == T_NE ? 1
                  : op == T_LT ? 2
                  : op == T_LE ? 3
                  : op == T_GT ? 4
                               : 5;
        int a = ex(E, l, -1);
        reg_free(E, a);
        jadd(E, to, emit_x(E, MK_ABx(KOP[idx], a, (uint16_t)(int16_t)rnode->i), 0));
        return;
    }
    int a = ex(E, l, -1), b = ex(E, rnode, -1);
    reg_free(E, a);
    reg_free(E, b);
    int opc;
    switch (op) {
    case T_EQEQ: opc = OP_JEQ_I; break;
    case T_NE: opc = OP_JNE_I; break;
    case T_LT: opc = OP_JLT_I; break;
    case T_LE: opc = OP_JLE_I; break;
    case T_GT:
        opc = OP_JLT_I;
        {
            int t = a;
            a = b;
            b = t;
        }
        break;
    default:
        opc = OP_JLE_I;
        {
            int t = a;
            a = b;
            b = t;
        }
        break;
    }
    jadd(E, to, emit_x(E, MK_ABC(opc, a, b, 0), 0));
}

/* Float comparison branch, taken when `(a op b) == when`; NaN makes every
 * ordered comparison false, so "not <" is its own instruction. */
static void float_branch(emitter *E, comp_node *l, comp_node *rnode, int op, bool when, jlist *to)
{
    if (l->kind == N_FLOAT && rnode->kind != N_FLOAT) {
        comp_node *t = l;
        l = rnode;
        rnode = t;
        op = mirror(op);
    }
    if (rnode->kind == N_FLOAT) { /* against a literal: K operand, C negates */
        uint64_t bits;
        memcpy(&bits, &rnode->f, sizeof bits);
        uint32_t k = constant(E, VM_T_FLOAT, bits);
        if (k < 256) {
            int opc = op == T_LT   ? OP_JLTK_F
                      : op == T_LE ? OP_JLEK_F
                      : op == T_GT ? OP_JGTK_F
                      : op == T_GE ? OP_JGEK_F
                                   : OP_JEQK_F;
            bool taken_if = op == T_NE ? !when : when; /* JEQK_F's jump for a != k */
            int a = ex(E, l, -1);
            reg_free(E, a);
            jadd(E, to, emit_x(E, MK_ABC(opc, a, k, !taken_if), 0));
            return;
        }
    }
    int a = ex(E, l, -1), b = ex(E, rnode, -1);
    reg_free(E, a);
    reg_free(E, b);
    if (op == T_GT || op == T_GE) {
        int t = a;
        a = b;
        b = t;
        op = op == T_GT ? T_LT : T_LE;
    }
    int opc;
    if (op == T_EQEQ || op == T_NE)
        opc = (op == T_EQEQ) == when ? OP_JEQ_F : OP_JNE_F;
    else if (op == T_LT)
        opc = when ? OP_JLT_F : OP_JNLT_F;
    else
        opc = when ? OP_JLE_F : OP_JNLE_F;
    jadd(E, to, emit_x(E, MK_ABC(opc, a, b, 0), 0));
}

/* Emits jumps to `to` taken when n evaluates to `when`; falls through
 * otherwise. */
static void cond_jump(emitter *E, comp_node *n, bool when, jlist *to)
{
    uint32_t save = E->line;
    E->line = n->line;
    if (n->kind == N_BOOL) {
        if ((n->i != 0) == when)
            jump(E, to);
    } else if (n->kind == N_UNARY && n->op == T_BANG) {
        cond_jump(E, n->a, !when, to);
    } else if (n->kind == N_BINARY && (n->op == T_ANDAND || n->op == T_OROR)) {
        bool and_ = n->op == T_ANDAND;
        if (and_ != when) { /* either operand decides: && false, || true */
            cond_jump(E, n->a, when, to);
            cond_jump(E, n->b, when, to);
        } else {
            jlist skip = {0};
            cond_jump(E, n->a, !when, &skip);
            cond_jump(E, n->b, when, to);
            bind(E, &skip);
        }
    } else if (n->kind == N_BINARY && (n->op == T_EQEQ || n->op == T_NE) &&
               (n->a->kind == N_NULL || n->b->kind == N_NULL)) {
        bool is_null = (n->op == T_EQEQ) == when; /* jump when the operand is null */
        int r =
            ex(E, n->a->kind == N_NULL ? n->b : n->a, -1); /* the checker refuses null == null */
        reg_free(E, r);
        jadd(E, to, emit_x(E, MK_ABC(is_null ? OP_JNULL : OP_JNNULL, r, 0, 0), 0));
    } else if (n->kind == N_BINARY && (n->op == T_EQEQ || n->op == T_NE) &&
               VM_T_ISREF(n->a->type) && n->a->type != VM_T_STR) { /* identity */
        int a = ex(E, n->a, -1), b = ex(E, n->b, -1);
        reg_free(E, a);
        reg_free(E, b);
        bool same = (n->op == T_EQEQ) == when;
        jadd(E, to, emit_x(E, MK_ABC(same ? OP_JEQ_R : OP_JNE_R, a, b, 0), 0));
    } else if (n->kind == N_BINARY && is_comparison(n->op) && n->a->type == VM_T_INT) {
        int_branch(E, n->a, n->b, when ? n->op : negate(n->op), to);
    } else if (n->kind == N_BINARY && is_comparison(n->op) && n->a->type == VM_T_FLOAT) {
        float_branch(E, n->a, n->b, n->op, when, to);
    } else {
        int r = ex(E, n, -1);
        reg_free(E, r);
        jadd(E, to, emit_x(E, MK_ABC(when ? OP_JT : OP_JF, r, 0, 0), 0));
    }
    E->line = save;
}

/* ---- Statements ---- */

static void stmt(emitter *E, comp_node *n);

static int local_reg(emitter *E, comp_sym *s)
{
    int r = reg_alloc(E, sym_reg_type(E, s));
    E->owner[r] = R_LOCAL;
    s->index = r;
    E->scope = comp_grow(E->C, E->scope, &E->scope_cap, E->nscope + 1, sizeof(comp_sym *));
    E->scope[E->nscope++] = s;
    return r;
}

static void end_scope(emitter *E, uint32_t mark)
{
    while (E->nscope > mark) {
        comp_sym *s = E->scope[--E->nscope];
        E->owner[s->index] = R_FREE;
    }
}

static void block(emitter *E, comp_node *b)
{
    uint32_t mark = E->nscope;
    for (uint32_t i = 0; i < b->n; i++)
        stmt(E, b->list[i]);
    end_scope(E, mark);
}

static void let_stmt(emitter *E, comp_node *n)
{
    comp_sym *s = n->sym;
    if (s->kind == SYM_GLOBAL) { /* globals start as zero values */
        if (n->a) {
            int r = ex(E, n->a, -1);
            emit(E, MK_ABx(OP_SETG, r, (uint32_t)s->index));
            reg_free(E, r);
        }
        if (s->late)
            emit(E, MK_ABx(OP_INITG, 0, (uint32_t)s->index));
        return;
    }
    /* The initializer is evaluated before the name is in scope, so
     * `let x = x + 1` in an inner block reads the outer x. A temporary
     * holding the value simply becomes the variable's register. */
    int r = n->a ? ex(E, n->a, -1) : -1;
    if (SYM_BOXED(s)) { /* a new cell each time the declaration runs */
        if (r < 0) {
            r = reg_alloc(E, s->type);
            load_zero(E, r, s->type);
        }
        reg_free(E, r);
        emit(E, MK_ABC(OP_NEWCELL, local_reg(E, s), r, 0));
        return;
    }
    if (r >= 0 && E->owner[r] == R_TEMP) {
        E->owner[r] = R_FREE;
        int reg = local_reg(E, s); /* takes r back: same type, now free */
        if (reg != r)
            emit(E, MK_ABC(OP_MOV, reg, r, 0));
        return;
    }
    int reg = local_reg(E, s);
    if (r < 0)
        load_zero(E, reg, s->type);
    else
        emit(E, MK_ABC(OP_MOV, reg, r, 0));
}

/* obj.f = v and obj.f op= v: the object is evaluated once. */
static void assign_field(emitter *E, comp_node *n)
{
    comp_node *t = n->a;
    int o = ex(E, t->a, -1);
    int v;
    if (n->op == T_EQ) {
        v = ex(E, n->b, -1);
    } else {
        v = reg_alloc(E, t->type);
        emit(E, MK_ABC(OP_GETF, v, o, t->field));
        int b = ex(E, n->b, -1);
        emit_binop(E, n->op - T_PLUS_EQ + T_PLUS, t->type, v, v, b);
        reg_free(E, b);
    }
    emit(E, MK_ABC(OP_SETF, v, o, t->field));
    reg_free(E, v);
    reg_free(E, o);
}

/* a[i] = v and a[i] op= v: array and index are evaluated once. */
static void assign_index(emitter *E, comp_node *n)
{
    comp_node *t = n->a;
    bool map = is_map(E, t->a->type);
    int a = ex(E, t->a, -1), i = ex(E, t->b, -1), v;
    if (n->op == T_EQ) {
        v = ex(E, n->b, -1);
    } else {
        v = reg_alloc(E, t->type);
        emit(E, MK_ABC(map ? OP_MGET : OP_AGET, v, a, i));
        int b = ex(E, n->b, -1);
        emit_binop(E, n->op - T_PLUS_EQ + T_PLUS, t->type, v, v, b);
        reg_free(E, b);
    }
    emit(E, MK_ABC(map ? OP_MSET : OP_ASET, v, a, i));
    reg_free(E, v);
    reg_free(E, i);
    reg_free(E, a);
}

static void assign_stmt(emitter *E, comp_node *n)
{
    if (n->a->kind == N_FIELD) {
        assign_field(E, n);
        return;
    }
    if (n->a->kind == N_INDEX) {
        assign_index(E, n);
        return;
    }
    comp_sym *s = n->a->sym;
    comp_node *value = n->b, synthetic;
    if (n->op != T_EQ) { /* x op= v is x = x op v */
        synthetic = *n;
        synthetic.kind = N_BINARY;
        synthetic.op = (uint8_t)(n->op - T_PLUS_EQ + T_PLUS);
        synthetic.type = s->type;
        value = &synthetic;
    }
    if (s->kind == SYM_LOCAL && SYM_BOXED(s)) {
        int r = ex(E, value, -1);
        emit(E, MK_ABC(OP_SETCELL, r, s->index, 0));
        reg_free(E, r);
        return;
    }
    if (s->kind == SYM_LOCAL) {
        ex(E, value, s->index);
        return;
    }
    int r = ex(E, value, -1);
    emit(E, MK_ABx(OP_SETG, r, (uint32_t)s->index));
    reg_free(E, r);
}

/* for x in a / for k, v in m: a cursor counts up from 0. For an array it
 * runs while below the length, read each time round (the body may push or
 * pop); for a map, MNEXT moves it past removed entries and says whether
 * an entry is left. The collection and the cursor are held in registers
 * of their own for the whole loop. */
static void for_collection(emitter *E, comp_node *n)
{
    bool map = is_map(E, n->a->type), indexed = n->n > 0 && !map; /* for i, x in xs */
    uint32_t mark = E->nscope;
    int coll = reg_alloc(E, n->a->type);
    E->owner[coll] = R_LOCAL;
    ex(E, n->a, coll);
    int cur = reg_alloc(E, VM_T_INT), test = reg_alloc(E, map ? VM_T_BOOL : VM_T_INT);
    E->owner[cur] = E->owner[test] = R_LOCAL;
    load_int(E, cur, 0);
    int x = local_reg(E, n->sym), v = n->n ? local_reg(E, n->list[0]->sym) : -1;
    loop lp = {{0}, {0}, E->fin}, *outer = E->loop;
    E->loop = &lp;
    jlist to_cond = {0}, to_top = {0};
    jump(E, &to_cond);
    uint32_t top = E->ncode;
    E->label_at = top;
    if (map) {
        emit(E, MK_ABC(OP_MKEYAT, x, coll, cur));
        emit(E, MK_ABC(OP_MVALAT, v, coll, cur));
    } else if (indexed) {
        emit(E, MK_ABC(OP_MOV, x, cur, 0));
        emit(E, MK_ABC(OP_AGET, v, coll, cur));
    } else {
        emit(E, MK_ABC(OP_AGET, x, coll, cur));
    }
    block(E, n->c);
    bind(E, &lp.continues);
    emit(E, MK_ABC(OP_ADDI_I, cur, cur, 1));
    bind(E, &to_cond);
    if (map) {
        emit(E, MK_ABC(OP_MNEXT, test, coll, cur));
        jadd(E, &to_top, emit_x(E, MK_ABC(OP_JT, test, 0, 0), 0));
    } else {
        emit(E, MK_ABC(OP_ALEN, test, coll, 0));
        jadd(E, &to_top, emit_x(E, MK_ABC(OP_JLT_I, cur, test, 0), 0));
    }
    bind_to(E, &to_top, top);
    bind(E, &lp.breaks);
    E->loop = outer;
    E->owner[coll] = E->owner[cur] = E->owner[test] = R_FREE;
    end_scope(E, mark);
}

/* for i in (a..b).step(s): __range_count(a, b, s, inclusive) says how
 * many steps there are (ValueError if s is 0), so i never steps past b
 * and the loop ends even where i + s would wrap. */
static void for_stepped(emitter *E, comp_node *n)
{
    uint32_t mark = E->nscope;
    int i = local_reg(E, n->sym);
    ex(E, n->a, i);
    int lim = reg_alloc(E, VM_T_INT), st = reg_alloc(E, VM_T_INT), cnt = reg_alloc(E, VM_T_INT),
        k = reg_alloc(E, VM_T_INT);
    E->owner[lim] = E->owner[st] = E->owner[cnt] = E->owner[k] = R_LOCAL;
    ex(E, n->b, lim);
    ex(E, n->list[0], st);
    uint16_t types[4] = {VM_T_INT, VM_T_INT, VM_T_INT, VM_T_BOOL};
    int b = reg_block(E, types, 4);
    emit(E, MK_ABC(OP_MOV, b, i, 0));
    emit(E, MK_ABC(OP_MOV, b + 1, lim, 0));
    emit(E, MK_ABC(OP_MOV, b + 2, st, 0));
    emit(E, MK_ABC(OP_LOADB, b + 3, n->i ? 1 : 0, 0));
    emit_x(E, MK_ABC(OP_CALLN, cnt, b, 0), native_ref(E, n->native));
    for (int j = 0; j < 4; j++)
        reg_free(E, b + j);
    load_int(E, k, 0);
    loop lp = {{0}, {0}, E->fin}, *outer = E->loop;
    E->loop = &lp;
    jlist exit = {0}, top = {0};
    jadd(E, &exit, emit_x(E, MK_ABC(OP_JLE_I, cnt, k, 0), 0));
    uint32_t start = E->ncode;
    E->label_at = start;
    block(E, n->c);
    bind(E, &lp.continues);
    emit(E, MK_ABC(OP_ADD_I, i, i, st));
    jadd(E, &top, emit_x(E, MK_ABC(OP_FORLT, k, cnt, 0), 0));
    bind_to(E, &top, start);
    bind(E, &exit);
    bind(E, &lp.breaks);
    E->loop = outer;
    E->owner[lim] = E->owner[st] = E->owner[cnt] = E->owner[k] = R_FREE;
    end_scope(E, mark);
}

static void for_stmt(emitter *E, comp_node *n)
{
    if (n->op) {
        for_stepped(E, n);
        return;
    }
    if (n->n || !n->b) { /* a map or an array */
        for_collection(E, n);
        return;
    }
    uint32_t mark = E->nscope;
    /* The bounds were resolved before the variable was declared, so
     * writing the counter first cannot change what they read. */
    int i = local_reg(E, n->sym);
    ex(E, n->a, i);
    int lim = reg_alloc(E, VM_T_INT);
    E->owner[lim] = R_LOCAL; /* held for the loop, freed below */
    ex(E, n->b, lim);
    loop lp = {{0}, {0}, E->fin}, *outer = E->loop;
    E->loop = &lp;
    jlist exit = {0}, top = {0};
    /* Skip the loop when empty: i >= lim (exclusive), i > lim (inclusive). */
    jadd(E, &exit, emit_x(E, MK_ABC(n->i ? OP_JLT_I : OP_JLE_I, lim, i, 0), 0));
    uint32_t start = E->ncode;
    E->label_at = start;
    block(E, n->c);
    bind(E, &lp.continues);
    jadd(E, &top, emit_x(E, MK_ABC(n->i ? OP_FORLE : OP_FORLT, i, lim, 0), 0));
    bind_to(E, &top, start);
    bind(E, &exit);
    bind(E, &lp.breaks);
    E->loop = outer;
    E->owner[lim] = R_FREE;
    end_scope(E, mark);
}

static void while_stmt(emitter *E, comp_node *n)
{
    loop lp = {{0}, {0}, E->fin}, *outer = E->loop;
    E->loop = &lp;
    jlist to_cond = {0}, to_top = {0};
    jump(E, &to_cond);
    uint32_t top = E->ncode;
    E->label_at = top;
    block(E, n->b);
    bind(E, &lp.continues);
    bind(E, &to_cond);
    cond_jump(E, n->a, true, &to_top);
    bind_to(E, &to_top, top);
    bind(E, &lp.breaks);
    E->loop = outer;
}

static void if_stmt(emitter *E, comp_node *n)
{
    jlist otherwise = {0}, end = {0};
    cond_jump(E, n->a, false, &otherwise);
    block(E, n->b);
    if (n->c) {
        jump(E, &end);
        bind(E, &otherwise);
        if (n->c->kind == N_IF)
            stmt(E, n->c);
        else
            block(E, n->c);
        bind(E, &end);
    } else {
        bind(E, &otherwise);
    }
}

/* try: the body's code range gets one catch clause a catch, in order;
 * each handler finds the error in its variable's register (the
 * interpreter stores it there). */
/* The finally blocks from the innermost out to (not including) `upto`, as
 * copies where control leaves them (return, break, continue). */
static void run_finally(emitter *E, fin *upto)
{
    fin *saved = E->fin;
    for (fin *f = E->fin; f && f != upto; f = f->outer) {
        if (!f->block)
            continue;
        E->fin = f->outer; /* a return in the copy runs only the outer ones */
        uint32_t from = E->ncode;
        block(E, f->block);
        /* The copy runs as control leaves f's try and every try inside it:
         * none of them may catch an error thrown in it. */
        for (fin *g = saved; from < E->ncode; g = g->outer) {
            g->holes = comp_grow(E->C, g->holes, &g->holes_cap, g->nholes + 1, sizeof *g->holes);
            g->holes[g->nholes].from = from;
            g->holes[g->nholes++].to = E->ncode;
            if (g == f)
                break;
        }
    }
    E->fin = saved;
}

/* Handler entries for [start, end) less the holes of f (NULL: none): one
 * entry a piece, each going to `handler` for class `cls` in `reg`. */
static void add_handler(emitter *E, uint32_t start, uint32_t end, const fin *f, uint32_t handler,
                        uint32_t cls, int reg)
{
    uint32_t at = start;
    for (uint32_t k = 0; at < end; k++) {
        uint32_t stop = end, next = end;
        for (uint32_t j = 0; f && j < f->nholes; j++) /* the first hole at or after `at` */
            if (f->holes[j].from >= at && f->holes[j].from < stop) {
                stop = f->holes[j].from;
                next = f->holes[j].to;
            }
        if (next <= at)
            next = at + 1; /* an empty hole: step over it */
        if (stop > at) {
            E->handlers = comp_grow(E->C, E->handlers, &E->handlers_cap, E->nhandlers + 1,
                                    sizeof(vm_handler));
            vm_handler *h = &E->handlers[E->nhandlers++];
            h->start = at;
            h->end = stop;
            h->handler = handler;
            h->cls = cls;
            h->reg = (uint16_t)reg;
        }
        at = next;
        (void)k;
    }
}

/* try: the body's code range gets one catch clause a catch, in order;
 * each handler finds the error in its variable's register (the
 * interpreter stores it there). With finally, its block follows the body
 * and each clause, and a catch-all over the body and the clauses runs it
 * and throws the error again. */
static void try_stmt(emitter *E, comp_node *n)
{
    jlist after = {0};
    fin f = {n->c, E->fin, NULL, 0, 0};
    E->fin = &f;
    uint32_t start = E->ncode;
    block(E, n->b);
    uint32_t end = E->ncode;
    jump(E, &after);
    for (uint32_t i = 0; i < n->n; i++) {
        comp_node *c = n->list[i];
        uint32_t mark = E->nscope;
        E->label_at = E->ncode;
        int reg = local_reg(E, c->sym);
        add_handler(E, start, end, &f, E->ncode, c->cls ? c->cls->index : VM_CATCH_ALL, reg);
        block(E, c->c);
        end_scope(E, mark);
        if (i + 1 < n->n || n->c)
            jump(E, &after);
    }
    E->fin = f.outer;
    if (!n->c) {
        bind(E, &after);
        return;
    }
    uint32_t clauses_end = E->ncode;
    bind(E, &after); /* normal exits: the body's, each clause's */
    block(E, n->c);
    jlist done = {0};
    jump(E, &done);
    E->label_at = E->ncode; /* an error in the body or a clause */
    int32_t ei = comp_map_get(&E->C->class_map, "Error", 5);
    int err = reg_alloc(E, ei >= 0 ? E->C->classes[ei]->type : VM_T_STR);
    E->owner[err] = R_LOCAL;
    add_handler(E, start, clauses_end, &f, E->ncode, VM_CATCH_ALL, err);
    block(E, n->c);
    emit(E, MK_ABC(OP_THROW, err, 0, 0));
    E->owner[err] = R_FREE;
    bind(E, &done);
}

static void stmt(emitter *E, comp_node *n)
{
    uint32_t save = E->line;
    E->line = n->line;
    switch (n->kind) {
    case N_LET: let_stmt(E, n); break;
    case N_ASSIGN: assign_stmt(E, n); break;
    case N_EXPR:
        if (n->a->kind == N_MATCH)
            ex_match(E, n->a, -1, false);
        else
            reg_free(E, ex(E, n->a, -1));
        break;
    case N_IF: if_stmt(E, n); break;
    case N_WHILE: while_stmt(E, n); break;
    case N_FOR: for_stmt(E, n); break;
    case N_BREAK:
        run_finally(E, E->loop->fin);
        jump(E, &E->loop->breaks);
        break;
    case N_CONTINUE:
        run_finally(E, E->loop->fin);
        jump(E, &E->loop->continues);
        break;
    case N_RETURN:
        if (n->a) {
            int r = ex(E, n->a, -1);
            bool fins = false;
            for (fin *f = E->fin; f; f = f->outer)
                fins |= f->block != NULL;
            if (fins) { /* the value is kept while the finally blocks run */
                int held = reg_alloc(E, n->a->type);
                E->owner[held] = R_LOCAL;
                emit(E, MK_ABC(OP_MOV, held, r, 0));
                reg_free(E, r);
                r = held;
                run_finally(E, NULL);
                E->owner[held] = R_FREE;
            }
            emit(E, MK_ABC(OP_RET, r, 0, 0));
            reg_free(E, r);
        } else {
            run_finally(E, NULL);
            emit(E, MK_ABC(OP_RET0, 0, 0, 0));
        }
        break;
    case N_BLOCK:
        if (n->op == 2) /* let (a, b) = e: in the enclosing scope */
            for (uint32_t i = 0; i < n->n; i++)
                stmt(E, n->list[i]);
        else
            block(E, n);
        break;
    case N_THROW: {
        int r = ex(E, n->a, -1);
        emit(E, MK_ABC(OP_THROW, r, 0, 0));
        reg_free(E, r);
        break;
    }
    case N_TRY: try_stmt(E, n); break;
    default: break;
    }
    E->line = save;
}

/* ---- Functions and the image ---- */

/* The bodies comp_class.c asks for: the default to_str, and the field
 * initializers (the superclass's first). */
static void synth_body(emitter *E, comp_fn *fn)
{
    comp_class *c = fn->cls;
    if (fn->synth == SYNTH_ABSTRACT) { /* an interface's method: only wrappers' are called */
        emit(E, MK_ABC(OP_TRAP, 0, 0, 0));
        return;
    }
    if (fn->synth == SYNTH_EXTERN) { /* the extern function as a value: a call of it */
        int r = fn->ret == VM_T_VOID ? 0 : reg_alloc(E, fn->ret);
        emit_x(E, MK_ABC(OP_CALLN, r, 0, 0), extern_ref(E, fn, NULL, fn->nparams));
        emit(E, MK_ABC(fn->ret == VM_T_VOID ? OP_RET0 : OP_RET, r, 0, 0));
        return;
    }
    if (fn->synth == SYNTH_TO_STR) {
        /* "<Name>"; an error shows "Name: message" (message is field 0). */
        int32_t ei = comp_map_get(&E->C->class_map, "Error", 5);
        bool error = ei >= 0 && comp_subclass(E->C, c->type, E->C->classes[ei]->type);
        char text[300];
        int n = snprintf(text, sizeof text, error ? "%.*s: " : "<%.*s>",
                         (int)(c->len > 290 ? 290 : c->len), c->name);
        int r = reg_alloc(E, VM_T_STR);
        load_str(E, r, text, (uint32_t)n);
        if (error) {
            int m = reg_alloc(E, VM_T_STR);
            emit(E, MK_ABC(OP_GETF, m, 0, 0));
            uint16_t t = VM_T_STR;
            int b = reg_block(E, &t, 1);
            emit(E, MK_ABC(OP_MOV, b, m, 0));
            emit_x(E, MK_ABC(OP_CALLN, m, b, 0),
                   native_ref(E, vm_natsig_find(&E->C->env->natives, "str", &t, 1, comp_elem_of_ctx,
                                                NULL, E->C)));
            emit(E, MK_ABC(OP_CONCAT, r, r, m));
        }
        emit(E, MK_ABC(OP_RET, r, 0, 0));
        return;
    }
    if (c->super && c->super->field_init)
        emit_x(E, MK_ABC(OP_CALL, 0, 0, 0), c->super->field_init->index);
    for (uint32_t i = 0; i < c->nown; i++) {
        comp_field *f = &c->own[i];
        if (!f->init)
            continue;
        E->line = f->line;
        int v = ex(E, f->init, -1);
        emit(E, MK_ABC(OP_SETF, v, 0, comp_find_field(c, f->name, f->len)));
        reg_free(E, v);
    }
}

/* The type table (one entry a class, in class order, then the array
 * types) and the classes. */
static void emit_classes(emitter *E, vm_image *im)
{
    comp *C = E->C;
    im->nclasses = C->nsorted;
    im->ntypes = C->ntkinds;
    im->types = comp_alloc(C, sizeof(vm_type) * (im->ntypes ? im->ntypes : 1));
    for (uint32_t i = 0; i < C->ntkinds; i++) {
        vm_type *t = &im->types[i];
        if (C->tkinds[i].cls) {
            t->kind = VM_K_CLASS;
            t->a = C->sorted[C->tkinds[i].idx]->index;
            continue;
        }
        const struct comp_xtype *x = &C->xtypes[C->tkinds[i].idx];
        t->kind = x->kind;
        uint32_t hi = x->kind == VM_K_MAP  ? image_type(E, x->b) /* the value type */
                      : x->kind == VM_K_FN ? (uint32_t)x->b      /* nparams */
                                           : 0;
        t->a = image_type(E, x->a) | hi << 16;
        t->params = x->params;
    }
    im->classes = comp_alloc(C, sizeof(vm_class) * (C->nsorted ? C->nsorted : 1));
    for (uint32_t i = 0; i < C->nsorted; i++) {
        comp_class *c = C->sorted[i];
        vm_class *k = &im->classes[c->index];
        k->name = intern(E, c->name, c->len);
        k->module = c->mod ? c->mod->index : 0;
        k->super = c->super ? (int32_t)c->super->index : -1;
        k->type = image_type(E, c->type);
        k->nfields = (uint16_t)c->nfields;
        k->field_types = comp_alloc(C, sizeof(uint16_t) * (c->nfields ? c->nfields : 1));
        k->field_names = comp_alloc(C, sizeof(uint32_t) * (c->nfields ? c->nfields : 1));
        for (uint32_t j = 0; j < c->nfields; j++) {
            k->field_types[j] = image_type(E, c->fields[j]->type);
            k->field_names[j] = intern(E, c->fields[j]->name, c->fields[j]->len);
        }
        k->nslots = (uint16_t)c->nslots;
        k->slots = comp_alloc(C, sizeof(uint32_t) * (c->nslots ? c->nslots : 1));
        for (uint32_t j = 0; j < c->nslots; j++)
            k->slots[j] = c->vtable[j]->index;
        /* An enum's variants, for the embedding API: own field `first`
         * is field first + the inherited ones (none: an enum is a root). */
        k->nvariants = c->is_enum ? (uint16_t)c->nvariants : 0;
        k->variants = comp_alloc(C, sizeof(vm_variant) * (k->nvariants ? k->nvariants : 1));
        for (uint32_t j = 0; j < k->nvariants; j++) {
            const struct comp_variant *v = &c->variants[j];
            k->variants[j] =
                (vm_variant){intern(E, v->name, v->len),
                             (uint16_t)(c->nfields - c->nown + v->first), (uint16_t)v->n};
        }
    }
}

static void function(emitter *E, comp_fn *fn, vm_func *out)
{
    comp *C = E->C;
    E->fn = fn;
    E->fin = NULL;
    E->code = NULL;
    E->ncode = E->code_cap = 0;
    E->lines = NULL;
    E->nlines = E->lines_cap = 0;
    E->handlers = NULL;
    E->nhandlers = E->handlers_cap = 0;
    E->nregs = 0;
    E->nscope = 0;
    E->label_at = UINT32_MAX;
    E->too_many_regs = false;
    E->line = fn->line;
    for (uint32_t i = 0; i < fn->nparams; i++)
        local_reg(E, fn->params[i]);           /* parameters are registers 0..n-1 */
    for (uint32_t i = 0; i < fn->ncaps; i++) { /* then the captures, fresh registers */
        comp_sym *c = fn->caps[i];
        c->index = reg_new(E, sym_reg_type(E, c));
        E->owner[c->index] = R_LOCAL;
    }
    if (fn->synth) {
        synth_body(E, fn);
    } else if (fn->body) {
        block(E, fn->body);
    } else if (fn->body_from) { /* an instance method no call reaches */
        emit(E, MK_ABC(OP_TRAP, 0, 0, 0));
    } else { /* a module's top-level code; the root's first initializes the others */
        for (uint32_t i = 0; fn == C->fns[0] && i < C->norder; i++)
            if (C->order[i]->index >= 2)
                emit_x(E, MK_ABC(OP_CALL, 0, 0, 0), C->order[i]->init->index);
        for (uint32_t i = 0; i < fn->mod->ntop; i++)
            stmt(E, fn->mod->top[i]);
    }
    /* Close the code unless it already ends in a return that no jump
     * passes: a function without result returns, one with a result
     * cannot get here (the checker proved it) and traps. */
    bool closed = E->ncode && E->label_at != E->ncode &&
                  (E->last_op == OP_RET || E->last_op == OP_RET0 || E->last_op == OP_JMP ||
                   E->last_op == OP_THROW || E->last_op == OP_TRAP);
    if (!closed)
        emit(E, MK_ABC(fn->ret == VM_T_VOID ? OP_RET0 : OP_TRAP, 0, 0, 0));
    out->name =
        fn->full ? intern(E, fn->full, (uint32_t)strlen(fn->full)) : intern(E, fn->name, fn->len);
    out->module = fn->mod ? fn->mod->index : 0; /* its file, for traces */
    out->nparams = (uint8_t)fn->nparams;
    out->ncaps = (uint8_t)fn->ncaps;
    out->ret = image_type(E, fn->ret);
    out->nregs = (uint16_t)E->nregs;
    out->types = comp_alloc(C, sizeof(uint16_t) * (E->nregs ? E->nregs : 1));
    memcpy(out->types, E->types, sizeof(uint16_t) * E->nregs);
    out->ncode = E->ncode;
    out->code = E->code;
    out->nlines = E->nlines;
    out->lines = E->lines;
    out->nhandlers = E->nhandlers;
    out->handlers = E->handlers;
}

/* Class indices in the image: a superclass before its subclasses (an
 * instance of a generic class is placed when first used, maybe after a
 * class deriving from it). */
static void number_class(comp_class *c, uint32_t *n)
{
    if (c->state == 3)
        return;
    if (c->super)
        number_class(c->super, n);
    c->state = 3;
    c->index = (*n)++;
}

void comp_emit(comp *C, vm_image *im)
{
    uint32_t ncls = 0;
    for (uint32_t i = 0; i < C->nsorted; i++)
        number_class(C->sorted[i], &ncls);
    emitter E;
    memset(&E, 0, sizeof E);
    E.C = C;
    E.im = im;
    /* Templates are not code: only their instances are. */
    uint32_t nout = 0;
    for (uint32_t i = 0; i < C->nfns; i++)
        if (!COMP_TEMPLATE_FN(C->fns[i]))
            C->fns[i]->index = nout++;
    im->nfuncs = nout;
    im->funcs = comp_alloc(C, sizeof(vm_func) * (nout ? nout : 1));
    im->main = -1;
    for (uint32_t j = 0; j < C->nfns && C->nerrors == 0; j++) {
        comp_fn *fn = C->fns[j];
        if (COMP_TEMPLATE_FN(fn))
            continue;
        uint32_t i = fn->index;
        comp_enter(C, fn->mod);
        function(&E, fn, &im->funcs[i]);
        if (i && !fn->cls && !fn->lambda && fn->mod == C->mods[0] && fn->len == 4 &&
            memcmp(fn->name, "main", 4) == 0)
            im->main = (int32_t)i;
    }
    comp_enter(C, C->mods[0]);
    emit_classes(&E, im);
    im->nglobals = C->nglobals;
    im->globals = comp_alloc(C, sizeof(vm_global) * (C->nglobals ? C->nglobals : 1));
    for (uint32_t i = 0; i < C->nglobals; i++) {
        const comp_sym *g = C->globals[i];
        uint32_t klen;
        const char *key = comp_key(C, g->mod, g->name, g->len, &klen); /* util.count */
        im->globals[i].name = intern(&E, key, klen);
        im->globals[i].type = image_type(&E, g->type);
        im->globals[i].flags = g->mutable_ ? VM_GLOBAL_VAR : 0;
    }
    /* One module a file, for traces; the prelude (module 1) has no
     * top-level code of its own, so its init is the root's, which only
     * the entry runs. */
    im->nmodules = C->nmods;
    im->modules = comp_alloc(C, sizeof(vm_module) * (C->nmods ? C->nmods : 1));
    for (uint32_t i = 0; i < C->nmods; i++) {
        const comp_module *m = C->mods[i];
        im->modules[i].name = intern(&E, m->name, m->len);
        im->modules[i].file = intern(&E, m->file, (uint32_t)strlen(m->file));
        im->modules[i].init = m->init ? m->init->index : 0;
    }
    im->entry = 0;
    im->str_data = E.str_data ? E.str_data : comp_strdup(C, "", 0);
}
