/*
 * comp_check.c — the type checker: resolves every name to its variable,
 * function or native, gives every expression its type, and reports type
 * errors. After it, the AST is fully typed and the emitter makes no
 * decisions that can fail.
 *
 * Order: function signatures are known from the parser (so calls before
 * definition work); top-level statements are checked in order, declaring
 * the globals as they come; then each function body is checked, seeing
 * every global.
 */
#include <stdio.h>
#include <string.h>

#include "comp.h"

typedef struct checker {
    comp *C;
    comp_fn *fn;
    comp_sym **locals; /* innermost last */
    uint32_t nlocals, locals_cap;
    uint32_t block_start; /* first local of the innermost block */
    int loops;
    bool in_init;  /* checking the module initializer */
    bool no_self;  /* checking a field initializer: no self, no locals */
    bool ran_code; /* the module's top level so far may have called code */
    int block_depth;
    /* The functions being checked, outermost first: a function literal's
     * locals start at its frame's base in `locals`. */
    struct frame {
        comp_fn *fn;
        uint32_t base;
    } frames[KILN_MAX_NESTING + 1];
    uint32_t nframes;
} checker;

#define ERR(n, ...) comp_error(K->C, (n)->line, (n)->col, __VA_ARGS__)

static int expr(checker *K, comp_node *n);

static bool is_numeric(int t)
{
    return t == VM_T_INT || t == VM_T_FLOAT;
}

/* Gives a null literal the reference type its context asks for, and says
 * whether a value of n's type can be stored where `to` is expected: the
 * same type, or a subclass of the expected class. */
static bool coerce_in(comp *C, comp_node *n, int to)
{
    if (n->type == CT_ERR || to == CT_ERR)
        return true;
    if (n->type == CT_VARIANT) { /* Option.None where an Option<int> is expected */
        comp_class *c = comp_class_of(C, to);
        if (!c || c->generic != n->cls)
            return false;
        n->cls = c;
        n->type = to;
        return true;
    }
    int elem = comp_elem_of(C, to), mk, mv;
    bool is_map = comp_map_types(C, to, &mk, &mv);
    if (n->type == CT_EMPTY_MAP && is_map) { /* {} or {k: null, ...} */
        for (uint32_t i = 0; n->kind == N_MAP && i < n->n; i++)
            if (!coerce_in(C, n->list[i], i % 2 ? mv : mk))
                return false;
        n->type = to;
        return true;
    }
    /* A map literal takes the map type its context expects when its keys
     * have the key type and each value fits the value type. */
    int lk, lv;
    if (n->kind == N_MAP && is_map && comp_map_types(C, n->type, &lk, &lv) && lk == mk &&
        n->type != to) {
        for (uint32_t i = 1; i < n->n; i += 2)
            if (!coerce_in(C, n->list[i], mv))
                return false;
        n->type = to;
        return true;
    }
    bool literal = n->kind == N_ARRAY && n->n > 0; /* [a, b] or [v; n] */
    if ((n->type == CT_NULL && VM_T_ISREF(to)) || (n->type == CT_EMPTY && elem >= 0 && !literal)) {
        n->type = to;
        return true;
    }
    if (n->type == to || comp_subclass(C, n->type, to) ||
        (n->type == VM_T_BUFFER && to == VM_T_PTR)) /* a Buffer passes as its bytes */
        return true;
    comp_class *ti = comp_class_of(C, to), *tc = comp_class_of(C, n->type);
    if (ti && ti->is_iface && tc && !tc->is_iface && comp_implements(C, tc, ti)) {
        /* a C where an interface I is expected: wrapped in I$C */
        comp_class *w = comp_wrapper(C, ti, tc);
        comp_node *inner = comp_alloc(C, sizeof *inner), *callee = comp_alloc(C, sizeof *inner);
        *inner = *n;
        *callee = *n;
        callee->kind = N_NAME;
        callee->a = callee->b = callee->c = NULL;
        callee->n = 0;
        n->kind = N_CALL;
        n->a = callee;
        n->b = n->c = NULL;
        n->list = comp_alloc(C, sizeof(comp_node *));
        n->list[0] = inner;
        n->n = 1;
        n->builtin = B_NEW;
        n->cls = w;
        n->fn = w->init;
        n->slot = -1;
        n->i = 0;
        n->type = w->type;
        return true;
    }
    /* An array literal takes the array type its context expects when each
     * element fits it: [Circle(1.0)] where [Shape] is expected, [[]] where
     * [[int]] is. */
    if (literal && elem >= 0 && (n->type == CT_EMPTY || comp_elem_of(C, n->type) >= 0)) {
        for (uint32_t i = 0; i < n->n; i++)
            if (!coerce_in(C, n->list[i], elem))
                return false;
        n->type = to;
        return true;
    }
    return false;
}
#define coerce(n, to) coerce_in(K->C, (n), (to))

static int32_t find_local_at(checker *K, const char *name, uint32_t len, uint32_t from)
{
    for (uint32_t i = K->nlocals; i > from; i--) {
        comp_sym *s = K->locals[i - 1];
        if (s->len == len && memcmp(s->name, name, len) == 0)
            return (int32_t)(i - 1);
    }
    return -1;
}

static comp_sym *find_local(checker *K, const char *name, uint32_t len, uint32_t from)
{
    int32_t i = find_local_at(K, name, len, from);
    return i >= 0 ? K->locals[i] : NULL;
}

/* fn's capture of `outer` (a local or capture of its enclosing function),
 * made on first use. */
static comp_sym *capture(checker *K, comp_fn *fn, comp_sym *outer)
{
    for (uint32_t i = 0; i < fn->ncaps; i++)
        if (fn->caps[i]->outer == outer)
            return fn->caps[i];
    if (fn->ncaps == KILN_MAX_CAPTURES) {
        if (!fn->too_many_caps) /* reported once */
            comp_error(K->C, fn->line, fn->col,
                       "function literal captures more than %d variables; pass some as "
                       "arguments",
                       KILN_MAX_CAPTURES);
        fn->too_many_caps = true;
        return outer; /* nothing is emitted after an error */
    }
    comp_sym *s = comp_alloc(K->C, sizeof *s);
    *s = *outer;
    s->outer = outer;
    s->root = outer->root ? outer->root : outer;
    s->root->captured = true;
    s->konst = NULL;
    fn->caps = comp_grow(K->C, fn->caps, &fn->caps_cap, fn->ncaps + 1, sizeof(comp_sym *));
    fn->caps[fn->ncaps++] = s;
    return s;
}

/* A local of the function being checked, or of an enclosing one: then
 * each function literal in between captures it. */
static comp_sym *lookup(checker *K, const char *name, uint32_t len)
{
    int32_t at = find_local_at(K, name, len, 0);
    if (at >= 0) {
        comp_sym *s = K->locals[at];
        uint32_t owner = K->nframes;
        while (owner > 1 && K->frames[owner - 1].base > (uint32_t)at)
            owner--;
        for (uint32_t i = owner; i < K->nframes; i++)
            s = capture(K, K->frames[i].fn, s);
        return s;
    }
    int32_t g = comp_find_global(K->C, K->C->mod, name, len);
    return g >= 0 ? K->C->globals[g] : NULL;
}

/* The edit distance between a and b (insertions, deletions,
 * substitutions), or more than `max` once it must exceed it. */
static uint32_t distance(const char *a, uint32_t an, const char *b, uint32_t bn, uint32_t max)
{
    if (an > 64 || bn > 64 || (an > bn ? an - bn : bn - an) > max)
        return max + 1;
    uint32_t row[65];
    for (uint32_t j = 0; j <= bn; j++)
        row[j] = j;
    for (uint32_t i = 1; i <= an; i++) {
        uint32_t diag = row[0], best = row[0] = i;
        for (uint32_t j = 1; j <= bn; j++) {
            uint32_t up = row[j], v = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            diag = up;
            row[j] = v;
            if (v < best)
                best = v;
        }
        if (best > max)
            return max + 1;
    }
    return row[bn];
}

static comp_sym *lookup(checker *K, const char *name, uint32_t len);

/* " (did you mean 'count'?)" for an unknown name close to a known one (a
 * local in scope, a global, a function or class of the module, a built-in
 * function), else "". */
static const char *did_you_mean(checker *K, const char *name, uint32_t len)
{
    comp *C = K->C;
    uint32_t max = len < 3 ? 0 : len < 6 ? 1 : 2, best = max + 1;
    const char *pick = NULL;
    uint32_t pick_len = 0;
#define CONSIDER(nm, nl) \
    do { \
        uint32_t d_ = distance(name, len, (nm), (nl), max); \
        if (d_ < best && d_ > 0) { \
            best = d_; \
            pick = (nm); \
            pick_len = (nl); \
        } \
    } while (0)
    for (uint32_t i = 0; i < K->nlocals; i++)
        CONSIDER(K->locals[i]->name, K->locals[i]->len);
    for (uint32_t i = 0; i < C->nglobals; i++)
        if (comp_find_global(C, C->mod, C->globals[i]->name, C->globals[i]->len) == (int32_t)i)
            CONSIDER(C->globals[i]->name, C->globals[i]->len);
    for (uint32_t i = 1; i < C->nfns; i++) {
        const comp_fn *f = C->fns[i];
        if (!f->cls && !f->lambda && !f->generic && f->name && f->name[0] != '_' &&
            (f->mod == C->mod || f->mod == C->mods[1]))
            CONSIDER(f->name, f->len);
    }
    for (uint32_t i = 0; i < C->nclasses; i++)
        if ((C->classes[i]->mod == C->mod || C->classes[i]->mod == C->mods[1]) &&
            C->classes[i]->name[0] != '_')
            CONSIDER(C->classes[i]->name, C->classes[i]->len);
    static const char *const BUILTINS[] = {"print",     "str",         "int", "float",
                                           "parse_int", "parse_float", "chr", "sleep"};
    for (size_t i = 0; i < sizeof BUILTINS / sizeof BUILTINS[0]; i++)
        CONSIDER(BUILTINS[i], (uint32_t)strlen(BUILTINS[i]));
#undef CONSIDER
    if (!pick)
        return "";
    char *out = comp_alloc(C, pick_len + 24);
    snprintf(out, pick_len + 24, " (did you mean '%.*s'?)", (int)pick_len, pick);
    return out;
}

static bool is_builtin_name(const char *name, uint32_t len)
{
    static const char *const NAMES[] = {"print",     "str",         "int", "float",
                                        "parse_int", "parse_float", "chr", "sleep"};
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (strlen(NAMES[i]) == len && memcmp(NAMES[i], name, len) == 0)
            return true;
    return false;
}

static comp_sym *declare(checker *K, comp_node *at, const char *name, uint32_t len, int type,
                         bool mut)
{
    comp *C = K->C;
    comp_sym *s = comp_alloc(C, sizeof *s);
    s->name = name;
    s->len = len;
    s->type = type;
    s->mutable_ = mut;
    s->line = at->line;
    s->col = at->col;
    bool global = K->in_init && K->block_depth == 0;
    /* Each local in scope holds a register: past KILN_MAX_REGS the
     * function cannot compile, and is not searched any more (40,000 locals
     * took seconds to check one by one). */
    uint32_t base = K->nframes ? K->frames[K->nframes - 1].base : 0;
    bool too_many = !global && K->nlocals - base >= KILN_MAX_REGS;
    if (too_many && K->nlocals - base == KILN_MAX_REGS)
        ERR(at, "more than %d variables in scope at once in one function; split it", KILN_MAX_REGS);
    comp_sym *prev = global || too_many ? NULL : find_local(K, name, len, K->block_start);
    if (global) {
        int32_t g = comp_find_global(C, C->mod, name, len);
        prev = g >= 0 ? C->globals[g] : NULL;
    }
    if (prev) {
        ERR(at, "'%.*s' is already declared in this scope (at line %u)", (int)len, name,
            prev->line);
    } else if (global && comp_find_fn(C, C->mod, name, len, true)) {
        ERR(at, "'%.*s' is already declared as a function", (int)len, name);
    } else if (global && comp_find_class(C, C->mod, name, len, true)) {
        ERR(at, "'%.*s' is already declared as a class", (int)len, name);
    }
    if (global && C->nglobals == 65536) /* GETG/SETG's Bx is 16 bits */
        ERR(at, "too many globals (at most 65536)");
    if (global) {
        s->kind = SYM_GLOBAL;
        s->mod = C->mod;
        s->index = (int32_t)C->nglobals;
        C->globals = comp_grow(C, C->globals, &C->globals_cap, C->nglobals + 1, sizeof(comp_sym *));
        C->globals[C->nglobals++] = s;
        if (!prev) {
            uint32_t klen;
            const char *key = comp_key(C, C->mod, name, len, &klen);
            comp_map_put(C, &C->global_map, key, klen, s->index);
        }
    } else {
        s->kind = SYM_LOCAL;
        s->root = s;
        K->locals = comp_grow(C, K->locals, &K->locals_cap, K->nlocals + 1, sizeof(comp_sym *));
        K->locals[K->nlocals++] = s;
    }
    return s;
}

/* ---- Expressions ---- */

static const char *op_text(int op)
{
    const char *t = comp_token_name(op);
    return t; /* already quoted, e.g. "'+'" */
}

/* The result type of `l op r`, or CT_ERR after reporting why not. */
static int binary_type(checker *K, comp_node *at, int op, comp_node *l, comp_node *r)
{
    int lt = l->type, rt = r->type;
    if (lt == CT_ERR || rt == CT_ERR)
        return CT_ERR;
    if (lt == VM_T_VOID || rt == VM_T_VOID) {
        ERR(at, "operator %s: a call without result has no value", op_text(op));
        return CT_ERR;
    }
    switch (op) {
    case T_ANDAND:
    case T_OROR:
        if (lt == VM_T_BOOL && rt == VM_T_BOOL)
            return VM_T_BOOL;
        break;
    case T_EQEQ:
    case T_NE:
        if (lt == CT_NULL && rt == CT_NULL)
            break;
        if (lt == CT_NULL)
            coerce(l, rt);
        if (rt == CT_NULL)
            coerce(r, lt);
        if (l->type == r->type || comp_subclass(K->C, l->type, r->type) ||
            comp_subclass(K->C, r->type, l->type))
            return VM_T_BOOL;
        lt = l->type;
        rt = r->type;
        break;
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE:
        if (lt == rt && (is_numeric(lt) || lt == VM_T_STR))
            return VM_T_BOOL;
        break;
    case T_PLUS:
        if (lt == rt && (is_numeric(lt) || lt == VM_T_STR))
            return lt;
        break;
    case T_MINUS:
    case T_STAR:
    case T_SLASH:
    case T_PERCENT:
        if (lt == rt && is_numeric(lt))
            return lt;
        break;
    case T_AMP:
    case T_PIPE:
    case T_CARET:
    case T_SHL:
    case T_SHR:
        if (lt == VM_T_INT && rt == VM_T_INT)
            return VM_T_INT;
        break;
    }
    if (is_numeric(lt) && is_numeric(rt) && lt != rt)
        ERR(at, "operator %s on %s and %s: no implicit conversion (use float(x) or int(x))",
            op_text(op), comp_type_name(K->C, lt), comp_type_name(K->C, rt));
    else
        ERR(at, "operator %s cannot be applied to %s and %s", op_text(op), comp_type_name(K->C, lt),
            comp_type_name(K->C, rt));
    return CT_ERR;
}

static const struct comp_tparam ORDERED = {.bound = "Ordered", .blen = 7};

/* a < b on objects of an Ordered class (one with compare(other) -> int)
 * becomes a.compare(b) < 0. */
static bool compare_call(checker *K, comp_node *n)
{
    comp *C = K->C;
    if (n->op != T_LT && n->op != T_LE && n->op != T_GT && n->op != T_GE)
        return false;
    comp_class *c = comp_class_of(C, n->a->type);
    if (!c || !comp_satisfies(C, n->a->type, &ORDERED) || !comp_class_of(C, n->b->type))
        return false;
    int slot = comp_find_slot(c, "compare", 7);
    comp_fn *m = c->vtable[slot];
    if (!comp_subclass(C, n->b->type, m->params[1]->type))
        return false;
    comp_node *f = comp_alloc(C, sizeof *f), *call = comp_alloc(C, sizeof *call),
              *zero = comp_alloc(C, sizeof *zero);
    *f = *n;
    f->kind = N_FIELD;
    f->a = n->a;
    f->s = "compare";
    f->len = 7;
    f->type = CT_ERR;
    *call = *f;
    call->kind = N_CALL;
    call->a = f;
    call->list = comp_alloc(C, sizeof(comp_node *));
    call->list[0] = n->b;
    call->n = 1;
    call->slot = slot;
    call->fn = m;
    call->builtin = B_NONE;
    call->i = 0;
    call->type = VM_T_INT;
    *zero = *f;
    zero->kind = N_INT;
    zero->a = NULL;
    zero->i = 0;
    zero->op = 0;
    zero->type = VM_T_INT;
    n->a = call;
    n->b = zero;
    return true;
}

static int unary_type(checker *K, comp_node *n)
{
    int t = expr(K, n->a);
    if (t == CT_ERR)
        return CT_ERR;
    if ((n->op == T_MINUS && is_numeric(t)) || (n->op == T_BANG && t == VM_T_BOOL) ||
        (n->op == T_TILDE && t == VM_T_INT))
        return t;
    ERR(n, "operator %s cannot be applied to %s", op_text(n->op), comp_type_name(K->C, t));
    return CT_ERR;
}

/* The type of function fn used as a value, at node n. */
static int fn_value_type(checker *K, const comp_fn *fn, const comp_node *n)
{
    int params[KILN_MAX_PARAMS];
    if (fn->nparams > KILN_MAX_PARAMS)
        return CT_ERR; /* reported with the function */
    for (uint32_t i = 0; i < fn->nparams; i++)
        params[i] = fn->params[i]->type;
    return comp_fn_type(K->C, fn->ret, fn->nparams, params, n->line, n->col);
}

/* A call of a function value: callee(args), the callee any expression of
 * a function type. */
static int value_call(checker *K, comp_node *n, int t)
{
    comp *C = K->C;
    if (t < 0)
        t = expr(K, n->a);
    if (t == CT_ERR)
        return CT_ERR;
    const struct comp_xtype *sig = comp_fn_sig(C, t);
    if (!sig) {
        ERR(n->a, "a value of type %s cannot be called", comp_type_name(C, t));
        return CT_ERR;
    }
    n->builtin = B_FNCALL;
    n->fn = NULL;
    n->slot = -1;
    const char *shown = comp_type_name(C, t);
    if (n->n != (uint32_t)sig->b) {
        ERR(n, "a %s takes %d argument%s, got %u", shown, sig->b, sig->b == 1 ? "" : "s", n->n);
        return sig->a;
    }
    for (uint32_t i = 0; i < n->n; i++)
        if (!coerce(n->list[i], sig->params[i]))
            ERR(n->list[i], "argument %u of a %s is %s, expected %s", i + 1, shown,
                comp_type_name(C, n->list[i]->type), comp_type_name(C, sig->params[i]));
    return sig->a;
}

static void declare_params(checker *K, comp_fn *fn, uint32_t base);
static bool terminates(const comp_node *n);
static void block(checker *K, comp_node *b);

/* fn(a: A) -> R { ... }: checked where it stands, seeing the locals
 * around it (which it captures). */
/* fn(x) { ... } where a function type `want` is expected: its untyped
 * parameters take want's parameter types, and without -> R its result
 * takes want's. Anything else is left to coerce. */
static void pretype(checker *K, comp_node *n, int want)
{
    /* Box() where a Box<int> is expected: the type arguments from there
     * (not a tuple literal's, whose own are the better message) */
    bool tuple = n->kind == N_CALL && n->a->kind == N_NAME && n->a->len >= 7 &&
                 !memcmp(n->a->s, "__Tuple", 7);
    comp_class *wc = n->kind == N_CALL && !n->ntargs && n->a->kind == N_NAME && !n->a->ntargs &&
                             (!(n->a->len > 2 && n->a->s[0] == '_' && n->a->s[1] == '_') || tuple)
                         ? comp_class_of(K->C, want)
                         : NULL;
    if (wc && wc->generic && wc->subst && wc->generic->len == n->a->len &&
        !memcmp(wc->generic->name, n->a->s, n->a->len) &&
        comp_find_class(K->C, n->a->qual ? n->a->qual : K->C->mod, n->a->s, n->a->len,
                        n->a->qual != NULL) == wc->generic) {
        n->targs = comp_alloc(K->C, sizeof(int32_t) * wc->subst->n);
        memcpy(n->targs, wc->subst->targs, sizeof(int32_t) * wc->subst->n);
        n->ntargs = wc->subst->n;
        for (uint32_t i = 0; tuple && i < n->n && i < wc->subst->n; i++)
            pretype(K, n->list[i], wc->subst->targs[i]); /* ((1, null), []) */
        return;
    }
    comp_class *ec = comp_class_of(K->C, want);
    if (ec && ec->is_enum && ec->laid_out && n->kind == N_CALL && n->a->kind == N_FIELD) {
        for (uint32_t v = 0; v < ec->nvariants; v++) { /* Option.Some((1, null)) */
            const struct comp_variant *var = &ec->variants[v];
            if (var->len != n->a->len || memcmp(var->name, n->a->s, var->len) || var->n != n->n)
                continue;
            for (uint32_t i = 0; i < n->n && var->first + i < ec->nfields; i++)
                pretype(K, n->list[i], ec->fields[var->first + i]->type);
        }
        return;
    }
    int e = comp_elem_of(K->C, want), mk, mv;
    if (n->kind == N_ARRAY && e >= 0) { /* [(1, null)], [v; n] */
        for (uint32_t i = 0; i < n->n; i++)
            pretype(K, n->list[i], e);
        return;
    }
    if (n->kind == N_MAP && comp_map_types(K->C, want, &mk, &mv)) {
        for (uint32_t i = 0; i < n->n; i++)
            pretype(K, n->list[i], i % 2 ? mv : mk);
        return;
    }
    const struct comp_xtype *sig = comp_fn_sig(K->C, want);
    if (!sig || n->kind != N_LAMBDA || (int)n->fn->nparams != sig->b)
        return;
    if (!n->fn->untyped) { /* fn() { return 3 }, fn(x: int) { ... }: only the result */
        for (uint32_t i = 0; i < n->fn->nparams; i++)
            if (n->fn->params[i]->type != sig->params[i])
                return;
        if (n->fn->ret_omitted && n->fn->ret == VM_T_VOID)
            n->fn->ret = sig->a;
        return;
    }
    for (uint32_t i = 0; i < n->fn->nparams; i++)
        if (n->fn->params[i]->type == CT_NULL)
            n->fn->params[i]->type = sig->params[i];
    if (n->fn->ret_omitted)
        n->fn->ret = sig->a;
    n->fn->untyped = false;
}

static int lambda(checker *K, comp_node *n)
{
    comp *C = K->C;
    comp_fn *fn = n->fn;
    for (uint32_t i = 0; i < fn->nparams; i++)
        if (fn->params[i]->type == CT_NULL) {
            comp_node at = *n;
            at.line = fn->params[i]->line;
            at.col = fn->params[i]->col;
            ERR(&at,
                "parameter '%.*s' needs a type: fn(%.*s: T) (it is inferred only where a "
                "function type is expected: a typed variable, a parameter, a result)",
                (int)fn->params[i]->len, fn->params[i]->name, (int)fn->params[i]->len,
                fn->params[i]->name);
            return CT_ERR;
        }
    if (fn->nparams > KILN_MAX_PARAMS) {
        ERR(n, "function literal has %u parameters; at most %d are allowed", fn->nparams,
            KILN_MAX_PARAMS);
        return CT_ERR;
    }
    if (K->nframes > KILN_MAX_NESTING) {
        ERR(n, "function literals nested too deeply");
        return CT_ERR;
    }
    fn->parent = K->fn;
    if (K->fn && K->fn->body) { /* named after the function it is in: f.<fn> */
        const char *outer = K->fn->full ? K->fn->full : comp_strdup(C, K->fn->name, K->fn->len);
        size_t m = strlen(outer);
        char *full = comp_alloc(C, m + 6);
        memcpy(full, outer, m);
        memcpy(full + m, ".<fn>", 6);
        fn->full = full;
    }
    checker saved = *K; /* the scalar state; the locals array is shared */
    K->frames[K->nframes].fn = fn;
    K->frames[K->nframes].base = K->nlocals;
    K->nframes++;
    K->fn = fn;
    K->in_init = false;
    K->loops = 0;
    K->block_depth = 1;
    declare_params(K, fn, K->nlocals);
    block(K, fn->body);
    if (fn->ret != VM_T_VOID && fn->ret != CT_ERR && !terminates(fn->body))
        ERR(n, "function literal returns %s, but control can reach the end without a return",
            comp_type_name(C, fn->ret));
    comp_sym **locals = K->locals;
    uint32_t cap = K->locals_cap;
    *K = saved;
    K->locals = locals; /* it may have grown */
    K->locals_cap = cap;
    return fn_value_type(K, fn, n);
}

/* A call of a native: finds the entry of `name` whose parameters match
 * the argument types (receiver first, for methods). */
static int native_call(checker *K, comp_node *n, const char *name, comp_node **args, uint32_t nargs,
                       const char *unknown)
{
    uint16_t types[KILN_MAX_PARAMS] = {0};
    bool any = false;
    for (uint32_t i = 0; i < nargs && i < KILN_MAX_PARAMS; i++) {
        int t = args[i]->type;
        if (t == CT_ERR)
            return CT_ERR;
        /* vm_natsig_find takes image ids: null may be a str, and no
         * parameter letter takes void, so [] and {} match nothing */
        types[i] = (uint16_t)(t == CT_NULL ? VM_T_STR : t >= VM_MAX_TYPES ? VM_T_VOID : t);
    }
    const vm_natlist *natives = &K->C->env->natives;
    const vm_natsig *nat = nargs <= KILN_MAX_PARAMS
                               ? vm_natsig_find(natives, name, types, (int)nargs, comp_elem_of_ctx,
                                                comp_text_fits, K->C)
                               : NULL;
    if (nat) {
        for (uint32_t i = 0; i < nargs; i++)
            coerce(args[i], types[i]);
        n->native = nat;
        n->builtin = B_NATIVE;
        return comp_native_type(K->C, nat, nargs, n->line, n->col);
    }
    for (size_t i = 0; i < natives->count; i++)
        any |= strcmp(natives->at(natives->ctx, i)->name, name) == 0;
    if (!any) {
        ERR(n, "%s", unknown);
        return CT_ERR;
    }
    char got[256] = "";
    size_t at = 0;
    for (uint32_t i = 0; i < nargs && at < sizeof got - 16; i++)
        at += (size_t)snprintf(got + at, sizeof got - at, "%s%s", i ? ", " : "",
                               comp_type_name(K->C, args[i]->type));
    ERR(n, "%s() cannot be called with (%s)", name, got);
    return CT_ERR;
}

/* An object argument of a printing native becomes its to_str(). */
static void stringify_object(checker *K, comp_node *n, comp_node **arg)
{
    if (!comp_class_of(K->C, (*arg)->type))
        return;
    comp_node *conv = comp_alloc(K->C, sizeof *conv);
    *conv = *n;
    conv->builtin = B_TO_STR;
    conv->type = VM_T_STR;
    conv->list = comp_alloc(K->C, sizeof(comp_node *));
    conv->list[0] = *arg;
    conv->n = 1;
    *arg = conv;
}

/* Code of the library (the prelude) or written by the compiler (an enum's
 * methods): it may call what programs cannot (__repr). */
static bool library_code(checker *K)
{
    return K->C->mod == K->C->mods[1] || (K->fn && K->fn->generated);
}

static comp_fn *library_fn(comp *C, const char *kind, const char *name, uint32_t len);
static int library_call(checker *K, comp_node *n, comp_fn *g, comp_node *recv, comp_node **args,
                        uint32_t nargs, const char *shown);

/* An array or map value *slot becomes its text, as print shows it (the
 * library's __show_array or __show_map): false if it is neither. */
static bool show_container(checker *K, comp_node **slot)
{
    comp *C = K->C;
    int t = (*slot)->type, k, v;
    bool arr = comp_elem_of(C, t) >= 0;
    if (!arr && !comp_map_types(C, t, &k, &v))
        return false;
    comp_node *call = comp_alloc(C, sizeof *call);
    *call = **slot;
    library_call(K, call, library_fn(C, "show", arr ? "array" : "map", arr ? 5 : 3), *slot, NULL, 0,
                 "str()");
    call->type = VM_T_STR;
    *slot = call;
    return true;
}

static int builtin_call(checker *K, comp_node *n, const char *name, uint32_t len)
{
    comp_node **args = n->list;
    char shown[64];
    snprintf(shown, sizeof shown, "%.*s()", (int)len, name);
    if ((len == 3 && memcmp(name, "int", 3) == 0) || (len == 5 && memcmp(name, "float", 5) == 0)) {
        bool to_int = len == 3;
        if (n->n != 1) {
            ERR(n, "%s takes 1 argument, got %u", shown, n->n);
            return CT_ERR;
        }
        int t = args[0]->type;
        if (t == CT_ERR)
            return CT_ERR;
        if (!is_numeric(t)) {
            ERR(n, "%s needs an int or float, got %s%s", shown, comp_type_name(K->C, t),
                t == VM_T_STR ? (to_int ? " (use parse_int)" : " (use parse_float)") : "");
            return CT_ERR;
        }
        int target = to_int ? VM_T_INT : VM_T_FLOAT;
        n->builtin = t == target ? B_IDENTITY : to_int ? B_INT_OF_FLOAT : B_FLOAT_OF_INT;
        return target;
    }
    if (n->n == 1 && args[0]->type == CT_NULL) /* print(null), str(null): "null" */
        coerce(args[0], VM_T_STR);
    bool is_str = len == 3 && memcmp(name, "str", 3) == 0;
    if (n->n == 1 && (is_str || (len == 5 && !memcmp(name, "print", 5))) &&
        show_container(K, &args[0])) {
        if (is_str) { /* str(xs) is the text itself */
            *n = *args[0];
            return VM_T_STR;
        }
    }
    if (n->n == 1 && len == 6 && !memcmp(name, "__repr", 6) && library_code(K)) {
        /* the library's: a str quoted, as inside a printed container */
        if (args[0]->type == VM_T_STR)
            return native_call(K, n, "__quote", args, 1, "no quote");
        if (comp_fn_sig(K->C, args[0]->type) || args[0]->type == VM_T_PTR ||
            args[0]->type == VM_T_BUFFER) { /* no text of their own: <their type> */
            const char *tn = comp_type_name(K->C, args[0]->type);
            size_t tl = strlen(tn);
            char *shown = comp_alloc(K->C, tl + 3);
            shown[0] = '<';
            memcpy(shown + 1, tn, tl);
            memcpy(shown + 1 + tl, ">", 2);
            uint32_t line = n->line, col = n->col;
            memset(n, 0, sizeof *n);
            n->kind = N_STR;
            n->line = line;
            n->col = col;
            n->s = shown;
            n->len = (uint32_t)tl + 2;
            n->type = VM_T_STR;
            return VM_T_STR;
        }
        name = "str";
        len = 3;
        if (comp_class_of(K->C, args[0]->type))
            return (n->builtin = B_TO_STR, VM_T_STR);
        if (show_container(K, &args[0])) {
            *n = *args[0];
            return VM_T_STR;
        }
    }
    if (n->n == 1 && comp_class_of(K->C, args[0]->type)) {
        /* An object prints as its to_str(): str(obj) calls it, print(obj)
         * prints str(obj). */
        if (len == 3 && memcmp(name, "str", 3) == 0)
            return (n->builtin = B_TO_STR, VM_T_STR);
        if (len == 5 && memcmp(name, "print", 5) == 0) /* not the library's __fiber_join(f) */
            stringify_object(K, n, &args[0]);
    }
    char nat[64];
    snprintf(nat, sizeof nat, "%.*s", (int)len, name);
    return native_call(K, n, nat, args, n->n, "unknown function");
}

/* Arguments n->list against fn's parameters from `first` on. */
static void check_args(checker *K, comp_node *n, comp_fn *fn, uint32_t first, const char *shown)
{
    uint32_t want = fn ? fn->nparams - first : 0;
    if (n->n != want) {
        ERR(n, "%s takes %u argument%s, got %u", shown, want, want == 1 ? "" : "s", n->n);
        return;
    }
    for (uint32_t i = 0; i < n->n; i++)
        if (!coerce(n->list[i], fn->params[first + i]->type))
            ERR(n->list[i], "argument %u of %s is %s, expected %s", i + 1, shown,
                comp_type_name(K->C, n->list[i]->type),
                comp_type_name(K->C, fn->params[first + i]->type));
}

static int object_method_call(checker *K, comp_node *n, comp_class *c)
{
    comp_node *f = n->a;
    char shown[160];
    snprintf(shown, sizeof shown, "%.*s.%.*s()", (int)c->len, c->name, (int)f->len, f->s);
    int slot = comp_find_slot(c, f->s, f->len);
    /* Random.shuffle: the library's generic, for the prelude class or a
     * subclass of it */
    for (const comp_class *p = c; slot < 0 && p; p = p->super) {
        if (!p->prelude || p->len >= 30)
            continue;
        char kind[32];
        for (uint32_t i = 0; i <= p->len; i++)
            kind[i] = i < p->len ? (char)(p->name[i] | 0x20) : 0;
        comp_fn *g = library_fn(K->C, kind, f->s, f->len);
        if (g)
            return library_call(K, n, g, f->a, n->list, n->n, shown);
    }
    if (slot < 0) {
        if (f->len == 4 && memcmp(f->s, "init", 4) == 0)
            ERR(f, "init is not called directly: construct with %.*s(...)", (int)c->len, c->name);
        else if (comp_find_field(c, f->s, f->len) >= 0 &&
                 comp_fn_sig(K->C, c->fields[comp_find_field(c, f->s, f->len)]->type)) {
            /* a field holding a function value; the receiver is checked */
            f->field = comp_find_field(c, f->s, f->len);
            f->type = c->fields[f->field]->type;
            return value_call(K, n, f->type);
        } else if (comp_find_field(c, f->s, f->len) >= 0)
            ERR(f, "'%.*s' is a field of %.*s, not a method", (int)f->len, f->s, (int)c->len,
                c->name);
        else
            ERR(f, "%.*s has no method '%.*s'", (int)c->len, c->name, (int)f->len, f->s);
        return CT_ERR;
    }
    n->slot = slot;
    n->fn = c->vtable[slot];
    comp_need_method(K->C, n->fn, c, slot);
    check_args(K, n, n->fn, 1, shown);
    return n->fn->ret;
}

/* super.m(args): m as the superclass of the current method's class has
 * it, called directly (not virtually) on self. */
static int super_call(checker *K, comp_node *n)
{
    comp_node *sp = n->a;
    if (K->fn && K->fn->lambda) {
        ERR(sp, "super cannot be used inside a function literal (call a method that uses it)");
        return CT_ERR;
    }
    comp_class *c = K->fn && !K->no_self ? K->fn->cls : NULL;
    if (!c || !c->super) {
        ERR(sp, c ? "%.*s has no superclass" : "super outside a method", (int)(c ? c->len : 0),
            c ? c->name : "");
        return CT_ERR;
    }
    comp_class *s = c->super;
    char shown[160];
    snprintf(shown, sizeof shown, "super.%.*s()", (int)sp->len, sp->s);
    if (sp->len == 4 && memcmp(sp->s, "init", 4) == 0) {
        n->fn = s->init;
        if (!s->init && n->n == 0)
            return VM_T_VOID; /* nothing to call */
    } else {
        int slot = comp_find_slot(s, sp->s, sp->len);
        if (slot < 0) {
            ERR(sp, "%.*s has no method '%.*s'", (int)s->len, s->name, (int)sp->len, sp->s);
            return CT_ERR;
        }
        n->fn = s->vtable[slot];
        comp_need_method(K->C, n->fn, NULL, slot);
    }
    check_args(K, n, n->fn, 1, shown);
    return n->fn ? n->fn->ret : VM_T_VOID;
}

static int construct(checker *K, comp_node *n, comp_class *c)
{
    char shown[96];
    snprintf(shown, sizeof shown, "%.*s()", (int)c->len, c->name);
    n->builtin = B_NEW;
    n->cls = c;
    n->fn = c->init;
    if (c->tuple && c->init && n->n + 1 == c->init->nparams) { /* (1, null) as (int, int) */
        for (uint32_t i = 0; i < n->n; i++)
            if (!coerce(n->list[i], c->init->params[i + 1]->type))
                ERR(n->list[i], "tuple element .%u is %s, expected %s", i,
                    comp_type_name(K->C, n->list[i]->type),
                    comp_type_name(K->C, c->init->params[i + 1]->type));
        return c->type;
    }
    check_args(K, n, c->init, 1, shown);
    return c->type;
}

static bool method_is(const comp_node *f, const char *name)
{
    return f->len == strlen(name) && memcmp(f->s, name, f->len) == 0;
}

/* The library's generic function __<kind>_<name> in the prelude, or NULL. */
static comp_fn *library_fn(comp *C, const char *kind, const char *name, uint32_t len)
{
    char key[96];
    int k = snprintf(key, sizeof key, "#__%s_%.*s", kind, (int)(len > 60 ? 60 : len), name);
    int32_t i = comp_map_get(&C->fn_map, key, (uint32_t)k);
    return i >= 0 ? C->fns[i] : NULL;
}

/* n, a call `recv.name(args)` (or the operands of an operator, recv and
 * args[0]), becomes a call of the library's generic g(recv, args...).
 * `shown` names the method in messages. */
/* Argument `arg` (number i) for a parameter written as an array type:
 * false after reporting one that is not an array, or [] (whose element
 * type nothing gives). */
static bool array_arg(checker *K, int written, const comp_node *arg, uint32_t i, const char *shown)
{
    comp *C = K->C;
    if (written < CT_NAMED || written >= CT_NAMED + (int)C->ntnames ||
        C->tnames[written - CT_NAMED].name || C->tnames[written - CT_NAMED].val != -1)
        return true;
    if (arg->type == CT_EMPTY)
        ERR(arg, "argument %u of %s is [], which has no element type: give it one", i, shown);
    else if (comp_elem_of(C, arg->type) < 0 && arg->type != CT_ERR)
        ERR(arg, "argument %u of %s is %s, expected an array", i, shown,
            comp_type_name(C, arg->type));
    else
        return true;
    return false;
}

static int library_call(checker *K, comp_node *n, comp_fn *g, comp_node *recv, comp_node **args,
                        uint32_t nargs, const char *shown)
{
    comp *C = K->C;
    if (nargs + 1 != g->nparams) {
        ERR(n, "%s takes %u argument%s, got %u", shown, g->nparams - 1, g->nparams == 2 ? "" : "s",
            nargs);
        return CT_ERR;
    }
    comp_node **all = comp_alloc(C, sizeof(comp_node *) * (nargs + 1));
    all[0] = recv;
    for (uint32_t i = 0; i < nargs; i++) {
        if (args[i]->type == CT_ERR)
            return CT_ERR;
        all[i + 1] = args[i];
        int pt = g->params[i + 1]->type; /* as written: a function type wants a function */
        if (pt >= CT_NAMED && pt < CT_NAMED + (int)C->ntnames && !C->tnames[pt - CT_NAMED].name &&
            C->tnames[pt - CT_NAMED].val == -2 && !comp_fn_sig(C, args[i]->type)) {
            ERR(args[i], "argument %u of %s is %s, expected a function", i + 1, shown,
                comp_type_name(C, args[i]->type));
            return CT_ERR;
        }
        if (!array_arg(K, pt, args[i], i + 1, shown))
            return CT_ERR;
    }
    C->lib_shown = shown;
    comp_fn *inst = comp_instantiate(C, g, n, all, nargs + 1, NULL, 0);
    C->lib_shown = NULL;
    if (!inst)
        return CT_ERR;
    if (!inst->full) { /* traces name the method: at [int].remove_at (<prelude>:95) */
        size_t k = strlen(shown);
        inst->full = comp_strdup(C, shown, k > 2 && shown[k - 1] == ')' ? k - 2 : k);
    }
    for (uint32_t i = 0; i < nargs; i++)
        if (!coerce(all[i + 1], inst->params[i + 1]->type))
            ERR(all[i + 1], "argument %u of %s is %s, expected %s", i + 1, shown,
                comp_type_name(C, all[i + 1]->type), comp_type_name(C, inst->params[i + 1]->type));
    comp_node *callee = comp_alloc(C, sizeof *callee);
    *callee = *n;
    callee->kind = N_NAME;
    callee->a = callee->b = callee->c = NULL;
    callee->list = NULL;
    callee->n = 0;
    callee->fn = inst;
    n->kind = N_CALL;
    n->a = callee;
    n->list = all;
    n->n = nargs + 1;
    n->fn = inst;
    n->builtin = B_NONE;
    n->slot = -1;
    n->i = 0;
    return inst->ret;
}

/* The v1 array methods that are not instructions: sort() and join() of
 * [int], [float], [str] in C, the others Kiln in the prelude. */
static int array_library_call(checker *K, comp_node *n, int at, int elem)
{
    comp *C = K->C;
    comp_node *f = n->a;
    char shown[128];
    snprintf(shown, sizeof shown, "%s.%.*s()", comp_type_name(C, at),
             (int)(f->len > 40 ? 40 : f->len), f->s);
    if (method_is(f, "sort") && n->n == 0 &&
        (elem == VM_T_INT || elem == VM_T_FLOAT || elem == VM_T_STR)) {
        comp_node **all = comp_alloc(C, sizeof(comp_node *));
        all[0] = f->a;
        return native_call(K, n, "array.sort", all, 1, "no sort");
    }
    if (method_is(f, "sort") && !comp_satisfies(C, elem, &ORDERED)) {
        ERR(f,
            "%s needs elements that are Ordered (int, float, str, or a class : Ordered), "
            "not %s; use sort_by",
            shown, comp_type_name(C, elem));
        return CT_ERR;
    }
    if (method_is(f, "join")) {
        if (elem != VM_T_STR) {
            ERR(f, "%s needs a [str], not %s", shown, comp_type_name(C, at));
            return CT_ERR;
        }
        if (n->n != 1) {
            ERR(n, "%s takes 1 argument, got %u", shown, n->n);
            return CT_ERR;
        }
        comp_node **all = comp_alloc(C, sizeof(comp_node *) * 2);
        all[0] = n->list[0]; /* sep.join(parts) */
        all[1] = f->a;
        n->list = all;
        n->n = 2;
        n->i = 1; /* the arguments are the native's: no receiver */
        return native_call(K, n, "str.join", all, 2, "no join");
    }
    comp_fn *g = library_fn(C, "array", f->s, f->len);
    if (!g) {
        ERR(f, "%s has no method '%.*s'", comp_type_name(C, at), (int)f->len, f->s);
        return CT_ERR;
    }
    return library_call(K, n, g, f->a, n->list, n->n, shown);
}

/* a.len(), a.push(v), a.pop(), a.slice(from, to) */
static int array_method_call(checker *K, comp_node *n, int at, int elem)
{
    comp_node *f = n->a;
    static const struct {
        const char *name;
        uint32_t nargs;
        int builtin;
    } M[] = {{"len", 0, B_ALEN}, {"push", 1, B_APUSH}, {"pop", 0, B_APOP}, {"slice", 2, B_ASLICE}};
    for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
        if (!method_is(f, M[i].name))
            continue;
        n->builtin = M[i].builtin;
        if (n->n != M[i].nargs) {
            ERR(n, "%s.%s() takes %u argument%s, got %u", comp_type_name(K->C, at), M[i].name,
                M[i].nargs, M[i].nargs == 1 ? "" : "s", n->n);
            return CT_ERR;
        }
        for (uint32_t j = 0; j < n->n; j++) {
            int want = M[i].builtin == B_APUSH ? elem : VM_T_INT;
            if (!coerce(n->list[j], want))
                ERR(n->list[j], "argument %u of %s() is %s, expected %s", j + 1, M[i].name,
                    comp_type_name(K->C, n->list[j]->type), comp_type_name(K->C, want));
        }
        return M[i].builtin == B_ALEN    ? VM_T_INT
               : M[i].builtin == B_APUSH ? VM_T_VOID
               : M[i].builtin == B_APOP  ? elem
                                         : at;
    }
    return array_library_call(K, n, at, elem);
}

/* An imported module's name, not hidden by a variable of that name. */
static bool is_module(checker *K, const comp_node *n)
{
    return n->kind == N_NAME && !n->qual && comp_is_import(K->C->mod, n->s, n->len) &&
           !lookup(K, n->s, n->len);
}

/* util.name, util an imported Kiln module (not hidden by a local): the
 * node becomes the name `name` looked up in util. Returns whether n was
 * such a name (on an error, n stays an N_FIELD). */
static bool qualify(checker *K, comp_node *n)
{
    if (n->kind != N_FIELD || !is_module(K, n->a) ||
        !comp_imported(K->C, K->C->mod, n->a->s, n->a->len))
        return false;
    comp_module *m =
        comp_qualifier(K->C, K->C->mod, n->a->s, n->a->len, n->s, n->len, n->line, n->col);
    if (m) {
        n->kind = N_NAME;
        n->qual = m;
        n->a = NULL;
    }
    return true;
}

/* The global `n->s` of module n->qual, or NULL. */
static comp_sym *qual_global(checker *K, comp_node *n)
{
    int32_t g = comp_find_global(K->C, n->qual, n->s, n->len);
    return g >= 0 ? K->C->globals[g] : NULL;
}

static int module_call(checker *K, comp_node *n)
{
    comp_node *f = n->a, *m = f->a; /* the arguments were checked by call() */
    if (m->len == 2 && !memcmp(m->s, "io", 2) && f->len == 6 && !memcmp(f->s, "eprint", 6) &&
        n->n == 1)
        stringify_object(K, n, &n->list[0]);
    char name[128], unknown[200];
    snprintf(name, sizeof name, "%.*s.%.*s", (int)(m->len > 40 ? 40 : m->len), m->s,
             (int)(f->len > 60 ? 60 : f->len), f->s);
    snprintf(unknown, sizeof unknown, "module %.*s has no function '%.*s'",
             (int)(m->len > 40 ? 40 : m->len), m->s, (int)(f->len > 60 ? 60 : f->len), f->s);
    /* random.shuffle(xs): a generic function of the library, its first
     * argument as the receiver */
    char kind[48];
    snprintf(kind, sizeof kind, "mod_%.*s", (int)(m->len > 40 ? 40 : m->len), m->s);
    comp_fn *g = library_fn(K->C, kind, f->s, f->len);
    if (g) {
        char shown[136];
        snprintf(shown, sizeof shown, "%s()", name);
        if (n->n != g->nparams) {
            ERR(n, "%s takes %u argument%s, got %u", shown, g->nparams, g->nparams == 1 ? "" : "s",
                n->n);
            return CT_ERR;
        }
        if (!array_arg(K, g->params[0]->type, n->list[0], 1, shown))
            return CT_ERR;
        return library_call(K, n, g, n->list[0], n->list + 1, n->n - 1, shown);
    }
    n->i = 1; /* no receiver: the arguments are the native's */
    return native_call(K, n, name, n->list, n->n, unknown);
}

/* m.get(k, default), m.has(k), m.remove(k), m.len(), m.keys(), m.reserve(n) */
static int map_method_call(checker *K, comp_node *n, int mt, int key, int val)
{
    comp_node *f = n->a;
    static const struct {
        const char *name;
        uint32_t nargs;
        int builtin;
    } M[] = {{"get", 2, B_MGETD}, {"has", 1, B_MHAS},   {"remove", 1, B_MDEL},
             {"len", 0, B_MLEN},  {"keys", 0, B_MKEYS}, {"reserve", 1, B_MRESERVE}};
    for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
        if (!method_is(f, M[i].name))
            continue;
        n->builtin = M[i].builtin;
        if (n->n != M[i].nargs) {
            ERR(n, "%s.%s() takes %u argument%s, got %u", comp_type_name(K->C, mt), M[i].name,
                M[i].nargs, M[i].nargs == 1 ? "" : "s", n->n);
            return CT_ERR;
        }
        for (uint32_t j = 0; j < n->n; j++) {
            int want = M[i].builtin == B_MRESERVE ? VM_T_INT : j == 0 ? key : val;
            if (!coerce(n->list[j], want))
                ERR(n->list[j], "argument %u of %s() is %s, expected %s", j + 1, M[i].name,
                    comp_type_name(K->C, n->list[j]->type), comp_type_name(K->C, want));
        }
        switch (M[i].builtin) {
        case B_MGETD: return val;
        case B_MHAS: return VM_T_BOOL;
        case B_MDEL:
        case B_MRESERVE: return VM_T_VOID;
        case B_MLEN: return VM_T_INT;
        default: return comp_array_type(K->C, key, n->line, n->col);
        }
    }
    comp_fn *g = library_fn(K->C, "map", f->s, f->len);
    if (!g) {
        ERR(f, "%s has no method '%.*s'", comp_type_name(K->C, mt), (int)f->len, f->s);
        return CT_ERR;
    }
    char shown[128];
    snprintf(shown, sizeof shown, "%s.%.*s()", comp_type_name(K->C, mt),
             (int)(f->len > 40 ? 40 : f->len), f->s);
    return library_call(K, n, g, f->a, n->list, n->n, shown);
}

/* Name n (unqualified, not a variable) names an enum: the enum, else NULL. */
static comp_class *enum_named(checker *K, const comp_node *n)
{
    if (n->kind == N_FIELD && is_module(K, n->a)) { /* util.Color, of an imported module */
        comp_module *m = comp_imported(K->C, K->C->mod, n->a->s, n->a->len);
        comp_class *c =
            m && n->len && n->s[0] != '_' ? comp_find_class(K->C, m, n->s, n->len, true) : NULL;
        return c && c->is_enum ? c : NULL;
    }
    if (n->kind != N_NAME || n->qual || lookup(K, n->s, n->len))
        return NULL;
    comp_class *c = comp_find_class(K->C, K->C->mod, n->s, n->len, false);
    return c && c->is_enum ? c : NULL;
}

static const struct comp_variant *find_variant(const comp_class *c, const char *name, uint32_t len,
                                               uint32_t *tag)
{
    for (uint32_t i = 0; i < c->nvariants; i++)
        if (c->variants[i].len == len && !memcmp(c->variants[i].name, name, len)) {
            *tag = i;
            return &c->variants[i];
        }
    return NULL;
}

/* Enum.Variant(args) (n a call) or Enum.Variant (n the field node f): a new
 * value. A generic enum's type arguments come from the payload, or, for a
 * variant without one, from the context (CT_VARIANT). */
static int variant(checker *K, comp_node *n, comp_class *en, comp_node *f, comp_node **args,
                   uint32_t nargs, bool call)
{
    comp *C = K->C;
    uint32_t tag;
    const struct comp_variant *v = find_variant(en, f->s, f->len, &tag);
    if (!v) {
        ERR(f, "enum %.*s has no variant '%.*s'", (int)en->len, en->name, (int)f->len, f->s);
        return CT_ERR;
    }
    if (nargs != v->n || (!call && v->n)) {
        ERR(n, "%.*s.%.*s takes %u value%s, got %u", (int)en->len, en->name, (int)v->len, v->name,
            v->n, v->n == 1 ? "" : "s", call ? nargs : 0);
        return CT_ERR;
    }
    for (uint32_t i = 0; i < nargs; i++)
        if (args[i]->type == CT_ERR)
            return CT_ERR;
    comp_class *c = en;
    const int32_t *targs = f->a->targs;
    uint32_t ntargs = f->a->ntargs;
    if (en->ntparams && !nargs && !ntargs) {
        n->kind = N_CALL; /* made with its type once the context gives one */
        n->builtin = B_VARIANT;
        n->cls = en;
        n->i = tag;
        n->field = (int32_t)v->first;
        n->n = 0;
        n->a = f;
        return CT_VARIANT;
    }
    if (en->ntparams) {
        int ptypes[KILN_MAX_PARAMS];
        for (uint32_t i = 0; i < nargs && i < KILN_MAX_PARAMS; i++)
            ptypes[i] = en->own[v->first + i].type;
        c = comp_class_of(C, comp_instantiate_class_with(C, en, f->line, f->col, args, ptypes,
                                                         nargs < KILN_MAX_PARAMS ? nargs : 0, targs,
                                                         ntargs));
        if (!c)
            return CT_ERR;
    } else if (ntargs) {
        ERR(f->a, "enum %.*s is not generic: it takes no type arguments", (int)en->len, en->name);
        return CT_ERR;
    }
    for (uint32_t i = 0; i < nargs; i++)
        if (!coerce(args[i], c->fields[v->first + i]->type))
            ERR(args[i], "value %u of %.*s.%.*s is %s, expected %s", i + 1, (int)en->len, en->name,
                (int)v->len, v->name, comp_type_name(C, args[i]->type),
                comp_type_name(C, c->fields[v->first + i]->type));
    n->kind = N_CALL;
    n->a = f;
    n->list = args;
    n->n = nargs;
    n->builtin = B_VARIANT;
    n->cls = c;
    n->i = tag;
    n->field = (int32_t)v->first;
    return c->type;
}

/* a == b on enum values (neither the null literal) compares them by
 * value: the library's __enum_eq(a, b), which calls a.__eq(b). */
static bool enum_equality(checker *K, comp_node *n)
{
    comp *C = K->C;
    comp_node *l = n->a, *r = n->b;
    if (l->type == CT_VARIANT)
        coerce(l, r->type);
    if (r->type == CT_VARIANT)
        coerce(r, l->type);
    comp_class *c = comp_class_of(C, l->type);
    if (!c || !(c->is_enum || c->tuple) || l->type != r->type)
        return false;
    comp_node *call = comp_alloc(C, sizeof *call);
    *call = *n;
    comp_node *b = r;
    if (library_call(K, call, library_fn(C, "enum", "eq", 2), l, &b, 1, "==") == CT_ERR)
        return false;
    call->type = VM_T_BOOL;
    if (n->op == T_EQEQ) {
        *n = *call;
    } else { /* a != b: !(a == b) */
        n->kind = N_UNARY;
        n->op = T_BANG;
        n->a = call;
        n->b = NULL;
    }
    n->type = VM_T_BOOL;
    return true;
}

/* recv.m(args); rt: the receiver's type when call() checked it already
 * (to type the arguments' function literals), else -1 */
static int method_call(checker *K, comp_node *n, int rt)
{
    comp *C = K->C;
    comp_node *f = n->a;
    if (rt == -1 && is_module(K, f->a))
        return module_call(K, n);
    comp_class *en = rt == -1 ? enum_named(K, f->a) : NULL;
    if (en)
        return variant(K, n, en, f, n->list, n->n, true);
    if (rt == -1)
        rt = expr(K, f->a);
    if (rt == CT_ERR)
        return CT_ERR;
    comp_class *cls = comp_class_of(C, rt);
    if (cls)
        return object_method_call(K, n, cls);
    int elem = comp_elem_of(C, rt), mk, mv;
    if (elem >= 0)
        return array_method_call(K, n, rt, elem);
    if (comp_map_types(C, rt, &mk, &mv))
        return map_method_call(K, n, rt, mk, mv);
    if (rt != VM_T_STR && rt != VM_T_BUFFER && rt != VM_T_PTR) {
        ERR(f, "%s has no method '%.*s'", comp_type_name(K->C, rt), (int)f->len, f->s);
        return CT_ERR;
    }
    if (rt == VM_T_STR && f->len == 3 && memcmp(f->s, "len", 3) == 0) {
        if (n->n != 0) {
            ERR(n, "str.len() takes no arguments");
            return CT_ERR;
        }
        n->builtin = B_STRLEN;
        return VM_T_INT;
    }
    comp_fn *lib = rt == VM_T_STR ? library_fn(C, "str", f->s, f->len) : NULL;
    if (lib) { /* a str method written in Kiln (to_int) */
        char shown[96];
        snprintf(shown, sizeof shown, "str.%.*s()", (int)(f->len > 60 ? 60 : f->len), f->s);
        return library_call(K, n, lib, f->a, n->list, n->n, shown);
    }
    /* Receiver first, then the arguments, as the native takes them. */
    comp_node **all = comp_alloc(C, sizeof(comp_node *) * (n->n + 1));
    all[0] = f->a;
    if (n->n)
        memcpy(all + 1, n->list, sizeof(comp_node *) * n->n);
    char name[80], shown[96];
    const char *tn = vm_type_name(rt);
    snprintf(name, sizeof name, "%s.%.*s", tn, (int)(f->len > 60 ? 60 : f->len), f->s);
    snprintf(shown, sizeof shown, "%s has no method '%.*s'", tn, (int)(f->len > 60 ? 60 : f->len),
             f->s);
    return native_call(K, n, name, all, n->n + 1, shown);
}

/* "${x:SPEC}": the parser made __format(x, "SPEC") (op 2); the spec is
 * checked here, against x's type, and x becomes text first if it is an
 * object, an array or a map. */
static int format_call(checker *K, comp_node *n)
{
    comp *C = K->C;
    comp_node *spec = n->list[1];
    int t = n->list[0]->type;
    if (t == CT_ERR)
        return CT_ERR;
    vm_fmtspec f;
    const char *bad = vm_fmtspec_parse(spec->s, spec->len, &f);
    if (bad) {
        ERR(spec, "bad format spec '%.*s': %s", (int)(spec->len > 40 ? 40 : spec->len), spec->s,
            bad);
        return CT_ERR;
    }
    if (t == CT_NULL)
        coerce(n->list[0], VM_T_STR);
    if (comp_class_of(C, t))
        stringify_object(K, n, &n->list[0]);
    else
        show_container(K, &n->list[0]);
    t = n->list[0]->type;
    char kind = t == VM_T_INT     ? 'i'
                : t == VM_T_FLOAT ? 'f'
                : t == VM_T_BOOL  ? 'b'
                : t == VM_T_STR   ? 's'
                                  : 0;
    if (!kind) {
        ERR(n->list[0], "a value of type %s cannot be formatted", comp_type_name(C, t));
        return CT_ERR;
    }
    if ((bad = vm_fmtspec_fits(&f, kind))) {
        ERR(spec, "format spec '%.*s' does not fit type %s: %s",
            (int)(spec->len > 40 ? 40 : spec->len), spec->s, comp_type_name(C, t), bad);
        return CT_ERR;
    }
    n->i = 1; /* no receiver: the arguments are the native's */
    return native_call(K, n, "__format", n->list, 2, "no format");
}

/* f(xs, fn(x) { ... }) for a generic f: the other arguments are checked
 * first, and the literals take the types they bind (comp_literal_want);
 * the literals are then checked in order as usual. */
static bool wants_context(const comp_node *a)
{
    return a->kind == N_LAMBDA && (a->fn->untyped || a->fn->ret_omitted);
}

/* Did one of call n's arguments fail to check (already reported)? */
static bool any_error_in(const comp_node *n)
{
    for (uint32_t i = 0; i < n->n; i++)
        if (!wants_context(n->list[i]) && n->list[i]->type == CT_ERR)
            return true;
    return false;
}

static void generic_literals(checker *K, comp_node *n, const comp_fn *f)
{
    bool any = false;
    for (uint32_t i = 0; i < n->n && i < f->nparams; i++)
        any |= wants_context(n->list[i]);
    if (!any)
        return;
    bool *done = comp_alloc(K->C, n->n);
    for (uint32_t i = 0; i < n->n; i++)
        if (!wants_context(n->list[i]) || i >= f->nparams) {
            expr(K, n->list[i]);
            done[i] = true;
        }
    /* A literal typed by the others may type the next: two(fn(s) { ... },
     * fn() { return "a" }) binds T from the second. */
    for (bool progress = true; progress;) {
        progress = false;
        for (uint32_t i = 0; i < n->n; i++) {
            comp_node *lit = n->list[i];
            bool infer = false;
            int want =
                done[i] ? -1
                        : comp_literal_want(K->C, f, n->list, n->n, i, n->targs, n->ntargs, &infer);
            if (want < 0)
                continue;
            const struct comp_xtype *sig = comp_fn_sig(K->C, want);
            if (sig->b != (int)lit->fn->nparams) {
                ERR(lit,
                    "argument %u of %.*s() is a function literal with %u parameter%s, "
                    "expected %d",
                    i + 1, (int)f->len, f->name, lit->fn->nparams, lit->fn->nparams == 1 ? "" : "s",
                    sig->b);
                lit->type = CT_ERR;
                done[i] = progress = true;
                continue;
            }
            bool omitted = lit->fn->ret_omitted;
            pretype(K, lit, want);
            lit->fn->infer_ret = infer && omitted;
            expr(K, lit);
            done[i] = progress = true;
        }
    }
    for (uint32_t i = 0; i < n->n; i++) {
        comp_node *lit = n->list[i];
        if (done[i])
            continue;
        if (lit->fn->untyped && lit->fn->nparams) {
            comp_node at = *lit;
            at.line = lit->fn->params[0]->line;
            at.col = lit->fn->params[0]->col;
            if (!any_error_in(n))
                ERR(&at,
                    "the literal's parameter types do not follow from the other arguments of "
                    "%.*s(): write them (fn(%.*s: T))",
                    (int)f->len, f->name, (int)lit->fn->params[0]->len, lit->fn->params[0]->name);
            lit->type = CT_ERR;
            continue;
        }
        expr(K, lit);
    }
    n->checked_args = true;
}

/* The class the prelude names `name`, as a type (CT_ERR if none). */
static int prelude_class_type(checker *K, const char *name)
{
    comp *C = K->C;
    comp_class *c = comp_find_class(C, C->mods[0], name, (uint32_t)strlen(name), false);
    if (!c)
        return CT_ERR;
    return c->lazy ? comp_instantiate_class(C, c, 0, 0, NULL, 0, NULL, 0) : c->type;
}

/* spawn f(a, b): the literal the parser wrote around f's call takes its
 * parameter types from the arguments (checked), and returns a Fiber. */
static bool spawn_types(checker *K, comp_node *n)
{
    comp_fn *fn = n->a->fn;
    for (uint32_t i = 0; i < n->n && i < fn->nparams; i++) {
        int t = n->list[i]->type;
        if (t == CT_ERR)
            return false;
        if (t == CT_NULL || t == CT_EMPTY || t == CT_EMPTY_MAP) {
            ERR(n->list[i],
                "spawn: argument %u has no type of its own (null or an empty literal): pass a "
                "variable of the parameter's type",
                i + 1);
            return false;
        }
        fn->params[i]->type = t;
    }
    fn->untyped = false;
    fn->ret = prelude_class_type(K, "Fiber");
    return fn->ret != CT_ERR;
}

static int call(checker *K, comp_node *n)
{
    comp *C = K->C;
    comp_node *cal = n->a;
    if (cal->kind == N_NAME && !cal->qual && !lookup(K, cal->s, cal->len)) {
        /* f(fn(x) { ... }): literals take f's parameter types */
        comp_fn *f = comp_find_fn(C, C->mod, cal->s, cal->len, false);
        for (uint32_t i = 0; f && !f->ntparams && i < n->n && i < f->nparams; i++)
            pretype(K, n->list[i], f->params[i]->type);
        if (f && f->ntparams)
            generic_literals(K, n, f);
    }
    /* xs.filter(fn(x) { ... }), xs.sort_by(fn(a, b) { ... }), xs.map(fn(x)
     * { ... }), xs.reduce(init, fn(acc, x) { ... }): the receiver is checked
     * first, and the literal takes its types from the array's element type
     * (map's result from its first return, reduce's accumulator from init) */
    int rt = -1, elem = -1;
    bool by_elem = n->n == 1 &&
                   (method_is(cal, "filter") || method_is(cal, "sort_by") || method_is(cal, "map")),
         by_init = n->n == 2 && method_is(cal, "reduce");
    if (cal->kind == N_FIELD && (by_elem || by_init) && !is_module(K, cal->a) &&
        !enum_named(K, cal->a)) {
        rt = expr(K, cal->a);
        elem = comp_elem_of(C, rt);
    }
    for (uint32_t i = 0; i < n->n; i++) {
        comp_node *lit = n->list[i];
        if (elem >= 0 && i == n->n - 1 && lit->kind == N_LAMBDA && lit->fn->untyped) {
            int acc = by_init ? n->list[0]->type : elem, ps[2] = {by_init ? acc : elem, elem};
            bool is_map = method_is(cal, "map");
            int ret = method_is(cal, "sort_by") || method_is(cal, "filter") ? VM_T_BOOL
                      : is_map                                              ? VM_T_VOID
                                                                            : acc;
            uint32_t np = method_is(cal, "sort_by") || by_init ? 2 : 1;
            if (acc >= 0 && acc != CT_ERR && acc != CT_NULL && acc != CT_EMPTY &&
                acc != CT_EMPTY_MAP) {
                bool omitted = lit->fn->ret_omitted;
                pretype(K, lit, comp_fn_type(C, ret, np, ps, n->line, n->col));
                lit->fn->infer_ret = is_map && omitted;
            }
        }
        if (!n->checked_args)
            expr(K, lit);
    }
    if (n->spawn && n->a->kind == N_LAMBDA && !spawn_types(K, n))
        return CT_ERR;
    if (n->op == 2)
        return format_call(K, n);
    comp_node *callee = n->a;
    if (qualify(K, callee) && callee->kind == N_FIELD)
        return CT_ERR; /* reported */
    if (callee->kind == N_FIELD)
        return method_call(K, n, rt);
    if (callee->kind == N_SUPER)
        return super_call(K, n);
    if (callee->kind != N_NAME)
        return value_call(K, n, -1);
    const char *name = callee->s;
    uint32_t len = callee->len;
    if (!callee->qual && library_code(K) && len == 6 && !memcmp(name, "__repr", 6))
        return builtin_call(K, n, name, len); /* the library's, whatever the program defines */
    comp_module *in = callee->qual ? callee->qual : C->mod;
    comp_sym *var = callee->qual ? qual_global(K, callee) : lookup(K, name, len);
    if (var && !comp_fn_sig(C, var->type) && var->type != CT_ERR) {
        ERR(callee, "'%.*s' is a variable of type %s, not a function", (int)len, name,
            comp_type_name(C, var->type));
        return CT_ERR;
    }
    if (var)
        return value_call(K, n, -1);
    comp_fn *fn = comp_find_fn(C, in, name, len, callee->qual != NULL);
    comp_class *cls = comp_find_class(C, in, name, len, callee->qual != NULL);
    if (!fn && cls && COMP_TEMPLATE_CLASS(cls)) { /* Name<A>(...), or Name(...) inferring A */
        for (uint32_t i = 0; i < n->n; i++)
            if (n->list[i]->type == CT_ERR)
                return CT_ERR;
        cls = comp_class_of(C, comp_instantiate_class(C, cls, callee->line, callee->col, n->list,
                                                      n->n, n->targs, n->ntargs));
        if (!cls)
            return CT_ERR;
        return construct(K, n, cls);
    }
    if (!fn && cls && n->ntargs) {
        ERR(n, "class %.*s is not generic: it takes no type arguments", (int)len, name);
        return CT_ERR;
    }
    if (!fn && cls)
        return construct(K, n, cls);
    if (!fn) {
        if ((is_builtin_name(name, len) ||
             ((library_code(K) || n->spawn) && len > 2 && name[0] == '_' && name[1] == '_')) &&
            !callee->qual) /* the library's own natives: __repr, __random_int */
            return builtin_call(K, n, name, len);
        if (callee->qual)
            ERR(callee, "module %.*s has no function '%.*s'", (int)callee->qual->len,
                callee->qual->name, (int)len, name);
        else
            ERR(callee, "unknown function '%.*s'%s", (int)len, name, did_you_mean(K, name, len));
        return CT_ERR;
    }
    n->fn = fn;
    if (n->ntargs && !fn->ntparams) {
        ERR(n, "%.*s() is not generic: it takes no type arguments", (int)len, name);
        return CT_ERR;
    }
    if (fn->variadic ? n->n < fn->nparams : n->n != fn->nparams) {
        ERR(n, "%.*s() takes %s%u argument%s, got %u", (int)len, name,
            fn->variadic ? "at least " : "", fn->nparams, fn->nparams == 1 ? "" : "s", n->n);
        return fn->ntparams ? CT_ERR : fn->ret;
    }
    if (fn->ntparams || fn->lazy) {
        for (uint32_t i = 0; i < n->n; i++)
            if (n->list[i]->type == CT_ERR)
                return CT_ERR;
        fn = comp_instantiate(C, fn, n, n->list, n->n, n->targs, n->ntargs);
        if (!fn)
            return CT_ERR;
        n->fn = fn;
    }
    if (n->n > KILN_MAX_PARAMS) {
        ERR(n, "%.*s() gets more than %s arguments", (int)len, name, KILN_STR(KILN_MAX_PARAMS));
        return fn->ret;
    }
    for (uint32_t i = fn->nparams; i < n->n; i++) { /* a variadic C function's extra arguments */
        int t = n->list[i]->type;
        if (t == CT_NULL)
            coerce(n->list[i], VM_T_PTR);
        else if (t != CT_ERR && t != VM_T_INT && t != VM_T_FLOAT && t != VM_T_STR &&
                 t != VM_T_PTR && t != VM_T_BUFFER)
            ERR(n->list[i],
                "argument %u of %.*s() is %s: a variadic C argument must be int, "
                "float, str, ptr or Buffer",
                i + 1, (int)len, name, comp_type_name(K->C, t));
    }
    for (uint32_t i = 0; i < fn->nparams; i++)
        if (!coerce(n->list[i], fn->params[i]->type))
            ERR(n->list[i], "argument %u of %.*s() is %s, expected %s", i + 1, (int)len, name,
                comp_type_name(K->C, n->list[i]->type), comp_type_name(K->C, fn->params[i]->type));
    return fn->ret;
}

/* The one type of an array literal's elements: their common type, where
 * objects of related classes meet at their nearest common superclass. */
static int common_type(checker *K, int a, int b)
{
    if (a == b || b == CT_NULL)
        return a;
    if (a == CT_NULL)
        return b;
    /* [] fits any array type: [[1], []] is [[int]] */
    if (b == CT_EMPTY && comp_elem_of(K->C, a) >= 0)
        return a;
    if (a == CT_EMPTY && comp_elem_of(K->C, b) >= 0)
        return b;
    for (comp_class *c = comp_class_of(K->C, a); c; c = c->super)
        if (comp_subclass(K->C, b, c->type))
            return c->type;
    return CT_ERR;
}

static int array_literal(checker *K, comp_node *n)
{
    if (n->op) { /* [v; n] */
        int t = expr(K, n->list[0]), ct = expr(K, n->b);
        if (ct != VM_T_INT && ct != CT_ERR)
            ERR(n->b, "array length must be int, got %s", comp_type_name(K->C, ct));
        if (t == VM_T_VOID) {
            ERR(n->list[0], "a call without result has no value to repeat");
            return CT_ERR;
        }
        if (t == CT_NULL || t == CT_EMPTY || t == CT_EMPTY_MAP)
            return CT_EMPTY; /* [null; n], [[]; n]: typed by the context */
        return t == CT_ERR ? CT_ERR : comp_array_type(K->C, t, n->line, n->col);
    }
    if (n->n == 0)
        return CT_EMPTY;
    int t = CT_NULL;
    for (uint32_t i = 0; i < n->n; i++) {
        int et = expr(K, n->list[i]);
        if (et == CT_ERR)
            return CT_ERR;
        int c = common_type(K, t, et);
        if (c == CT_ERR && comp_class_of(K->C, t) && comp_class_of(K->C, et)) {
            /* unrelated classes: the context may give an interface (the
             * other elements are checked all the same) */
            for (uint32_t j = i + 1; j < n->n; j++) {
                int jt = expr(K, n->list[j]);
                if (jt == CT_ERR)
                    return CT_ERR;
                if (jt != CT_NULL && !comp_class_of(K->C, jt)) {
                    ERR(n->list[j], "array elements must have one type: %s and %s",
                        comp_type_name(K->C, et), comp_type_name(K->C, jt));
                    return CT_ERR;
                }
            }
            return CT_EMPTY;
        }
        if (c == CT_ERR || et == VM_T_VOID) {
            ERR(n->list[i], "array elements must have one type: %s and %s", comp_type_name(K->C, t),
                comp_type_name(K->C, et));
            return CT_ERR;
        }
        t = c;
    }
    /* only nulls, [] or {}: typed by the context, as [null; n] is */
    if (t == CT_NULL || t == CT_EMPTY || t == CT_EMPTY_MAP)
        return CT_EMPTY;
    for (uint32_t i = 0; i < n->n; i++)
        coerce(n->list[i], t);
    return comp_array_type(K->C, t, n->line, n->col);
}

static int map_literal(checker *K, comp_node *n)
{
    if (n->n == 0)
        return CT_EMPTY_MAP;
    int kt = CT_NULL, vt = CT_NULL;
    for (uint32_t i = 0; i < n->n; i += 2) {
        int k = expr(K, n->list[i]), v = expr(K, n->list[i + 1]);
        if (k == CT_ERR || v == CT_ERR)
            return CT_ERR;
        if (!comp_hashable(K->C, k)) {
            ERR(n->list[i], "map keys must be int, str, bool, or tuples and enums of them, not %s",
                comp_type_name(K->C, k));
            return CT_ERR;
        }
        if (kt != CT_NULL && k != kt) {
            ERR(n->list[i], "map keys must have one type: %s and %s", comp_type_name(K->C, kt),
                comp_type_name(K->C, k));
            return CT_ERR;
        }
        kt = k;
        int c = common_type(K, vt, v);
        if (c == CT_ERR || v == VM_T_VOID) {
            ERR(n->list[i + 1], "map values must have one type: %s and %s",
                comp_type_name(K->C, vt), comp_type_name(K->C, v));
            return CT_ERR;
        }
        vt = c;
    }
    if (vt == CT_NULL || vt == CT_EMPTY || vt == CT_EMPTY_MAP)
        return CT_EMPTY_MAP; /* values typed by the context, like {} */
    for (uint32_t i = 1; i < n->n; i += 2)
        coerce(n->list[i], vt);
    return comp_map_type(K->C, kt, vt, n->line, n->col);
}

static void cond(checker *K, comp_node *c, const char *what);

/* The one type several values (an if's or a match's arms) have in common,
 * or CT_ERR after reporting at `at`. */
static int arms_type(checker *K, comp_node **vals, uint32_t n, comp_node *at, const char *what)
{
    int t = -1;
    for (uint32_t i = 0; i < n; i++) {
        int v = vals[i]->type;
        if (v == CT_ERR)
            return CT_ERR;
        if (v == VM_T_VOID) {
            ERR(vals[i], "this arm of %s has no value (a call without result)", what);
            return CT_ERR;
        }
        if (t < 0 || t == CT_NULL || t == CT_VARIANT) {
            t = t == CT_NULL && v != CT_NULL && VM_T_ISREF(v) ? v
                : t == CT_VARIANT && v != CT_VARIANT          ? v
                : t < 0                                       ? v
                                                              : t;
            continue;
        }
        int c = v == CT_NULL || v == CT_VARIANT ? t : common_type(K, t, v);
        if (c == CT_ERR) {
            ERR(at, "the arms of %s have different types: %s and %s", what, comp_type_name(K->C, t),
                comp_type_name(K->C, v));
            return CT_ERR;
        }
        t = c;
    }
    for (uint32_t i = 0; i < n; i++)
        if (!coerce(vals[i], t)) {
            ERR(vals[i], "this arm of %s is %s, expected %s", what,
                comp_type_name(K->C, vals[i]->type), comp_type_name(K->C, t));
            return CT_ERR;
        }
    return t;
}

/* The expression of an arm written as a block of one expression: { e }. */
static comp_node *arm_value(checker *K, comp_node *b, const char *what)
{
    if (b && b->kind == N_BLOCK && b->n == 1 && b->list[0]->kind == N_EXPR)
        return b->list[0]->a;
    ERR(b ? b : (comp_node *)NULL, "%s %s used as a value needs one expression in each arm",
        what[0] == 'i' ? "an" : "a", what);
    return NULL;
}

/* if c { a } else { b } as a value. */
static int if_expr(checker *K, comp_node *n)
{
    cond(K, n->a, "if");
    if (!n->c) {
        ERR(n, "an if used as a value needs an else");
        return CT_ERR;
    }
    comp_node *a = arm_value(K, n->b, "if");
    comp_node *b = n->c->kind == N_IF ? n->c : arm_value(K, n->c, "if");
    if (!a || !b)
        return CT_ERR;
    if (n->c->kind == N_IF)
        n->c->op = 1;
    expr(K, a);
    expr(K, b);
    comp_node *vals[2] = {a, b};
    return arms_type(K, vals, 2, n, "an if");
}

static bool is_wildcard(const comp_node *p)
{
    return p->kind == N_NAME && p->len == 1 && p->s[0] == '_';
}

/* A literal pattern's value (an int, a str, a bool), or false. */
static bool literal_pattern(comp_node *p)
{
    if (p->kind == N_UNARY && p->op == T_MINUS && p->a->kind == N_INT) {
        p->kind = N_INT;
        p->i = -p->a->i;
        p->op = 0;
        return true;
    }
    if (p->kind == N_INT)
        p->op = 0; /* 9223372036854775808 negated was folded above */
    return p->kind == N_INT || p->kind == N_STR || p->kind == N_BOOL;
}

/* match subject { arms }: each pattern fits the subject's type, enum
 * arms bind their payload, and every value is covered (else a _ arm).
 * As a value, every arm is one expression and they share a type. */
static int match_check(checker *K, comp_node *n, bool value)
{
    comp *C = K->C;
    int t = expr(K, n->a);
    comp_class *ec = comp_class_of(C, t);
    if (ec && !ec->is_enum)
        ec = NULL;
    const comp_class *tmpl = ec && ec->generic ? ec->generic : ec;
    bool wild = false, bad = t == CT_ERR, seen_true = false, seen_false = false;
    bool covered[256] = {0};
    if (!bad && !ec && t != VM_T_INT && t != VM_T_STR && t != VM_T_BOOL) {
        ERR(n->a, "match needs an enum, an int, a str or a bool, not %s", comp_type_name(C, t));
        bad = true;
    }
    comp_node **vals = comp_alloc(C, sizeof(comp_node *) * (n->n ? n->n : 1));
    uint32_t nvals = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        comp_node *arm = n->list[i];
        uint32_t saved_n = K->nlocals, saved_start = K->block_start;
        K->block_start = K->nlocals;
        K->block_depth++;
        if (wild)
            ERR(arm, "this arm is never reached: the _ arm before it takes every value");
        for (uint32_t j = 0; j < arm->n && !bad; j++) {
            comp_node *p = arm->list[j];
            if (is_wildcard(p)) {
                wild = true;
                continue;
            }
            if (ec) {
                comp_node *f = p->kind == N_CALL ? p->a : p;
                uint32_t tag;
                const struct comp_variant *v = NULL;
                if (f->kind == N_FIELD &&
                    ((f->a->kind == N_NAME && f->a->len == tmpl->len &&
                      !memcmp(f->a->s, tmpl->name, tmpl->len)) ||
                     enum_named(K, f->a) == tmpl)) /* Color.Red, util.Color.Red */
                    v = find_variant(tmpl, f->s, f->len, &tag);
                if (!v) {
                    ERR(p, "a pattern on %s is %.*s.Variant or _", comp_type_name(C, t),
                        (int)tmpl->len, tmpl->name);
                    continue;
                }
                p->i = tag;
                p->field = (int32_t)v->first;
                covered[tag] = true;
                uint32_t got = p->kind == N_CALL ? p->n : 0;
                if (got != v->n) {
                    ERR(p, "%.*s.%.*s has %u value%s, the pattern names %u", (int)tmpl->len,
                        tmpl->name, (int)v->len, v->name, v->n, v->n == 1 ? "" : "s", got);
                    continue;
                }
                if (got && arm->n > 1) {
                    ERR(p, "a pattern that binds names must be alone in its arm");
                    continue;
                }
                for (uint32_t k = 0; k < got; k++) {
                    comp_node *b = p->list[k];
                    if (is_wildcard(b))
                        continue;
                    b->sym = declare(K, b, b->s, b->len, ec->fields[v->first + k]->type, false);
                }
                continue;
            }
            if (!literal_pattern(p)) {
                ERR(p, "a pattern is a literal (a number, a string, true, false) or _");
                continue;
            }
            int pt = p->kind == N_INT ? VM_T_INT : p->kind == N_STR ? VM_T_STR : VM_T_BOOL;
            p->type = pt;
            if (pt != t)
                ERR(p, "pattern of type %s on a match of %s", comp_type_name(C, pt),
                    comp_type_name(C, t));
            if (pt == VM_T_BOOL && p->i)
                seen_true = true;
            else if (pt == VM_T_BOOL)
                seen_false = true;
        }
        if (!value && arm->b->kind == N_IF) { /* `_ => if c { f() } else { g() }`: a statement */
            comp_node *stmt_if = arm->b;
            stmt_if->op = 0;
            arm->b = comp_node_new(C, N_BLOCK, stmt_if->line, stmt_if->col);
            arm->b->list = comp_alloc(C, sizeof(comp_node *));
            arm->b->list[0] = stmt_if;
            arm->b->n = 1;
        }
        if (arm->b->kind == N_BLOCK && (!value || terminates(arm->b))) {
            block(K, arm->b); /* in a match used as a value: an arm that never ends */
            arm->op = value;
        } else {
            comp_node *e = arm->b->kind == N_BLOCK ? arm_value(K, arm->b, "match") : arm->b;
            if (e) {
                expr(K, e);
                vals[nvals++] = e;
                if (!value && e->kind != N_CALL && e->type != CT_ERR)
                    ERR(e, "expression result is not used");
            }
        }
        K->block_depth--;
        K->nlocals = saved_n;
        K->block_start = saved_start;
    }
    if (bad)
        return CT_ERR;
    if (!wild && ec) {
        char missing[256] = "";
        size_t m = 0;
        for (uint32_t i = 0; i < tmpl->nvariants && m < sizeof missing - 80; i++)
            if (!covered[i])
                m +=
                    (size_t)snprintf(missing + m, sizeof missing - m, "%s%.*s.%.*s", m ? ", " : "",
                                     (int)(tmpl->len > 30 ? 30 : tmpl->len), tmpl->name,
                                     (int)(tmpl->variants[i].len > 30 ? 30 : tmpl->variants[i].len),
                                     tmpl->variants[i].name);
        if (m) {
            ERR(n, "match is not exhaustive: missing %s (add them, or a _ arm)", missing);
            return CT_ERR;
        }
    } else if (!wild && t == VM_T_BOOL && !(seen_true && seen_false)) {
        ERR(n, "match is not exhaustive: missing %s (add it, or a _ arm)",
            seen_true ? "false" : "true");
        return CT_ERR;
    } else if (!wild && t != VM_T_BOOL && !ec) {
        ERR(n, "match on %s needs a _ arm (it cannot list every value)", comp_type_name(C, t));
        return CT_ERR;
    }
    if (!value)
        return VM_T_VOID;
    uint32_t ending = 0; /* arms that return, throw, break or continue */
    for (uint32_t i = 0; i < n->n; i++)
        ending += n->list[i]->op;
    if (nvals + ending != n->n)
        return CT_ERR;
    if (!nvals) {
        ERR(n, "a match used as a value needs an arm that gives one");
        return CT_ERR;
    }
    return arms_type(K, vals, nvals, n, "a match");
}

static comp_node *new_node(checker *K, int kind, const comp_node *at)
{
    return comp_node_new(K->C, kind, at->line, at->col);
}

/* `a || b` of two checked bool tests (a NULL: just b). */
static comp_node *or_else(checker *K, comp_node *a, comp_node *b, const comp_node *at)
{
    if (!a)
        return b;
    comp_node *o = new_node(K, N_BINARY, at);
    o->op = T_OROR;
    o->a = a;
    o->b = b;
    o->type = VM_T_BOOL;
    return o;
}

/* Can n be evaluated twice with the same result and nothing else done?
 * A variable, self, a literal, and fields and indexes of those. */
static bool plain(const comp_node *n)
{
    switch (n->kind) {
    case N_NAME:
    case N_SELF:
    case N_INT:
    case N_STR: return true;
    case N_FIELD: return n->field >= 0 && plain(n->a);
    case N_INDEX: return plain(n->a) && plain(n->b);
    default: return false;
    }
}

/* `x is T` / `x as T` where x's type `from` or T is an interface: an
 * interface value is a wrapper (comp_wrapper), so
 *   s is C    (s: I)  tests each wrapper of I around a class related to C,
 *   s as C    (s: I)  is the first such wrapper's object as C, or CastError,
 *   x is I    (x: D)  tests each class related to D that implements I.
 * The subject is read more than once, so it must be plain(). */
static int iface_test(checker *K, comp_node *n, comp_class *from)
{
    comp *C = K->C;
    comp_node *x = n->a;
    comp_class *to = n->cls;
    if (!plain(x)) {
        ERR(x, "'%s' with an interface needs a variable on its left (let v = ...; v %s %.*s)",
            n->kind == N_IS ? "is" : "as", n->kind == N_IS ? "is" : "as", (int)to->len, to->name);
        return CT_ERR;
    }
    if (to->is_iface && (n->kind == N_AS || from->is_iface)) {
        ERR(n, "'%s %.*s': convert to an interface by assignment (let v: %.*s = x)",
            n->kind == N_IS ? "is" : "as", (int)to->len, to->name, (int)to->len, to->name);
        return CT_ERR;
    }
    comp_node *result = NULL; /* is: an || chain; as: an if-else chain */
    comp_node **tail = &result;
    if (to->is_iface) { /* x is I */
        for (uint32_t i = 0; i < C->nsorted; i++) {
            comp_class *k = C->sorted[i];
            if (k->is_iface || k->wrapped || !comp_implements(C, k, to) ||
                !(comp_subclass(C, k->type, from->type) || comp_subclass(C, from->type, k->type)))
                continue;
            comp_node *t = new_node(K, N_IS, n);
            *t = *n;
            t->cls = k;
            t->s = k->name;
            t->len = k->len;
            t->qs = NULL;
            t->type = VM_T_BOOL;
            result = or_else(K, result, t, n);
        }
        if (!result) { /* nothing can be one: false */
            result = new_node(K, N_BOOL, n);
            result->i = 0;
        }
        *n = *result;
        return VM_T_BOOL;
    }
    for (uint32_t i = 0; i < from->nwrappers; i++) {
        comp_class *w = from->wrappers[i];
        if (!comp_subclass(C, w->wrapped->type, to->type) &&
            !comp_subclass(C, to->type, w->wrapped->type))
            continue;
        /* x is W && (x as W)._obj is C */
        comp_node *is_w = new_node(K, N_IS, n), *as_w = new_node(K, N_AS, n),
                  *obj = new_node(K, N_FIELD, n), *inner = new_node(K, n->kind, n);
        is_w->a = as_w->a = x;
        is_w->cls = as_w->cls = w;
        is_w->type = VM_T_BOOL;
        as_w->type = w->type;
        obj->a = as_w;
        obj->s = "_obj";
        obj->len = 4;
        obj->field = 0;
        obj->type = w->wrapped->type;
        inner->a = obj;
        inner->cls = to;
        inner->type = n->kind == N_IS ? VM_T_BOOL : to->type;
        comp_node *step = new_node(K, n->kind == N_IS ? N_BINARY : N_IF, n);
        if (n->kind == N_IS) {
            step->op = T_ANDAND;
            step->a = is_w;
            step->b = inner;
            step->type = VM_T_BOOL;
            result = or_else(K, result, step, n);
        } else { /* if x is W { (x as W)._obj as C } else { <the rest> } */
            comp_node *b = new_node(K, N_BLOCK, n), *e = new_node(K, N_EXPR, n);
            e->a = inner;
            b->list = comp_alloc(C, sizeof(comp_node *));
            b->list[0] = e;
            b->n = 1;
            step->op = 1;
            step->a = is_w;
            step->b = b;
            step->type = to->type;
            *tail = step;
            tail = &step->c;
        }
    }
    if (n->kind == N_IS) {
        if (!result) {
            result = new_node(K, N_BOOL, n);
            result->i = 0;
            result->type = VM_T_BOOL;
        }
        *n = *result;
        return VM_T_BOOL;
    }
    /* as: a null stays null; anything else left is a CastError */
    comp_node *fail = new_node(K, N_CALL, n), *callee = new_node(K, N_NAME, n),
              *msg = new_node(K, N_STR, n);
    char *text = comp_alloc(C, 200);
    msg->len = (uint32_t)snprintf(text, 200, "%.*s value is not a %.*s",
                                  (int)(from->len > 80 ? 80 : from->len), from->name,
                                  (int)(to->len > 80 ? 80 : to->len), to->name);
    msg->s = text;
    msg->type = VM_T_STR;
    comp_node *isnull = new_node(K, N_BINARY, n), *null = new_node(K, N_NULL, n);
    isnull->op = T_EQEQ;
    isnull->a = x;
    isnull->b = null;
    null->type = x->type;
    isnull->type = VM_T_BOOL;
    comp_node *null_to = new_node(K, N_NULL, n), *nb = new_node(K, N_BLOCK, n),
              *ne = new_node(K, N_EXPR, n), *fb = new_node(K, N_BLOCK, n),
              *fe = new_node(K, N_EXPR, n), *last = new_node(K, N_IF, n);
    null_to->type = to->type;
    ne->a = null_to;
    nb->list = comp_alloc(C, sizeof(comp_node *));
    nb->list[0] = ne;
    nb->n = 1;
    fail->a = callee;
    fail->list = comp_alloc(C, sizeof(comp_node *));
    fail->list[0] = msg;
    fail->n = 1;
    fail->targs = comp_alloc(C, sizeof(int32_t));
    fail->targs[0] = to->type; /* a resolved type: resolving it again keeps it */
    fail->ntargs = 1;
    callee->s = "__cast_fail";
    callee->len = 11;
    fe->a = fail;
    fb->list = comp_alloc(C, sizeof(comp_node *));
    fb->list[0] = fe;
    fb->n = 1;
    last->op = 1;
    last->a = isnull;
    last->b = nb;
    last->c = fb;
    *tail = last;
    comp_fn *g = library_fn(C, "cast", "fail", 4);
    comp_fn *inst = g ? comp_instantiate(C, g, n, fail->list, 1, fail->targs, 1) : NULL;
    if (!inst)
        return CT_ERR;
    fail->fn = inst;
    fail->type = to->type;
    callee->fn = inst;
    *n = *result;
    return to->type;
}

/* l op r, both checked: comparisons of Ordered objects, == on enums and
 * tuples, array + array and str * int become calls; the rest are
 * instructions. */
static int binary_expr(checker *K, comp_node *n)
{
    if (compare_call(K, n))
        return VM_T_BOOL;
    if ((n->op == T_EQEQ || n->op == T_NE) && enum_equality(K, n))
        return VM_T_BOOL;
    if (n->op == T_PLUS && n->a->type == n->b->type && comp_elem_of(K->C, n->a->type) >= 0) {
        comp_node *b = n->b; /* a + b: a new array */
        return library_call(K, n, library_fn(K->C, "array", "concat", 6), n->a, &b, 1, "array +");
    }
    if (n->op == T_STAR && n->a->type == VM_T_STR && n->b->type == VM_T_INT) {
        comp_node **all = comp_alloc(K->C, sizeof(comp_node *) * 2); /* s * n */
        all[0] = n->a;
        all[1] = n->b;
        comp_node *callee = comp_alloc(K->C, sizeof *callee);
        *callee = *n;
        callee->kind = N_NAME;
        callee->a = callee->b = NULL;
        callee->s = "repeat";
        callee->len = 6;
        n->kind = N_CALL;
        n->list = all;
        n->n = 2;
        n->i = 1;
        n->a = callee;
        return native_call(K, n, "str.repeat", all, 2, "no repeat");
    }
    return binary_type(K, n, n->op, n->a, n->b);
}

static int expr_kind(checker *K, comp_node *n)
{
    switch (n->kind) {
    case N_INT:
        if (n->op) {
            ERR(n, "integer literal out of range");
            return CT_ERR;
        }
        return VM_T_INT;
    case N_FLOAT: return VM_T_FLOAT;
    case N_BOOL: return VM_T_BOOL;
    case N_NULL: return CT_NULL;
    case N_STR: return VM_T_STR;
    case N_INTERP:
        for (uint32_t i = 0; i < n->n; i++) {
            int t = expr(K, n->list[i]);
            if (t == VM_T_VOID)
                ERR(n->list[i], "a call without result cannot be interpolated");
            else if (t == CT_NULL)
                n->list[i]->type = VM_T_STR;
            else if (comp_fn_sig(K->C, t))
                ERR(n->list[i], "a function value cannot be interpolated");
            else if (t == VM_T_PTR || t == VM_T_BUFFER)
                ERR(n->list[i], "a %s cannot be interpolated", vm_type_name(t));
            else if (show_container(K, &n->list[i]))
                ; /* [1, 2] and {"a": 1} as print shows them */
            else if (t == CT_EMPTY || t == CT_EMPTY_MAP)
                ERR(n->list[i], "an empty literal has no type to interpolate (give it one)");
            /* an object part is converted by the emitter, with its to_str */
        }
        return VM_T_STR;
    case N_NAME: {
        comp_sym *s = n->qual ? qual_global(K, n) : lookup(K, n->s, n->len);
        /* a constant: the use becomes the literal, unless a function may
         * read it before its declaration ran (InitError) */
        if (s && s->konst && (K->in_init || !s->late)) {
            uint32_t line = n->line, col = n->col;
            *n = *s->konst;
            n->line = line;
            n->col = col;
            return expr_kind(K, n);
        }
        if (s) {
            n->sym = s;
            return s->type;
        }
        comp_module *in = n->qual ? n->qual : K->C->mod;
        bool own = n->qual != NULL;
        comp_fn *fn = comp_find_fn(K->C, in, n->s, n->len, own);
        if (!n->qual && comp_is_import(K->C->mod, n->s, n->len))
            ERR(n, "module '%.*s' used as a value (use %.*s.name)", (int)n->len, n->s, (int)n->len,
                n->s);
        else if (!fn && comp_find_class(K->C, in, n->s, n->len, own))
            ERR(n, "class '%.*s' used as a value (construct one with %.*s(...))", (int)n->len, n->s,
                (int)n->len, n->s);
        else if (fn && fn->variadic)
            ERR(n, "variadic extern function '%.*s' cannot be used as a value (call it)",
                (int)n->len, n->s);
        else if (fn && fn->ntparams)
            ERR(n,
                "generic function '%.*s' cannot be used as a value (wrap a call in a function "
                "literal)",
                (int)n->len, n->s);
        else if (fn) {
            n->fn = fn;
            return fn_value_type(K, fn, n);
        } else if (n->qual)
            ERR(n, "module %.*s has no '%.*s'", (int)n->qual->len, n->qual->name, (int)n->len,
                n->s);
        else if (is_builtin_name(n->s, n->len))
            ERR(n,
                "built-in function '%.*s' cannot be used as a value (wrap it in a function "
                "literal)",
                (int)n->len, n->s);
        else
            ERR(n, "unknown name '%.*s'%s", (int)n->len, n->s, did_you_mean(K, n->s, n->len));
        return CT_ERR;
    }
    case N_UNARY: return unary_type(K, n);
    case N_BINARY:
        expr(K, n->a);
        expr(K, n->b);
        return binary_expr(K, n);
    case N_CALL: return call(K, n);
    case N_INDEX: {
        int t = expr(K, n->a), it = expr(K, n->b), mk, mv;
        if (t == CT_ERR || it == CT_ERR)
            return CT_ERR;
        if (comp_map_types(K->C, t, &mk, &mv)) {
            if (!coerce(n->b, mk)) {
                ERR(n->b, "key must be %s, got %s", comp_type_name(K->C, mk),
                    comp_type_name(K->C, it));
                return CT_ERR;
            }
            return mv;
        }
        int elem = comp_elem_of(K->C, t);
        if (t != VM_T_STR && elem < 0) {
            ERR(n, "%s cannot be indexed", comp_type_name(K->C, t));
            return CT_ERR;
        }
        if (it != VM_T_INT) {
            ERR(n->b, "index must be int, got %s", comp_type_name(K->C, it));
            return CT_ERR;
        }
        return elem >= 0 ? elem : VM_T_INT;
    }
    case N_ARRAY: return array_literal(K, n);
    case N_MAP: return map_literal(K, n);
    case N_FIELD: {
        double value;
        comp_node *x = n->a;
        comp_class *en = enum_named(K, x);
        if (en) { /* Enum.Variant, a variant without payload */
            comp_node *f = comp_alloc(K->C, sizeof *f);
            *f = *n;
            n->a = f; /* the call keeps the field node, for messages */
            return variant(K, n, en, f, NULL, 0, false);
        }
        if ((x->kind == N_IS || x->kind == N_AS) && !x->qs &&
            comp_imported(K->C, K->C->mod, x->s, x->len) &&
            !comp_find_class(K->C, K->C->mod, x->s, x->len, false)) {
            /* x as util.C, parsed as (x as util).C */
            x->qs = x->s;
            x->qlen = x->len;
            x->s = n->s;
            x->len = n->len;
            *n = *x;
            return expr_kind(K, n);
        }
        if (qualify(K, n))
            return n->kind == N_NAME ? expr_kind(K, n) : CT_ERR;
        if (is_module(K, n->a)) { /* a module constant: becomes its literal */
            int64_t ivalue = 0;
            char kind = K->C->env->module_const(n->a->s, n->a->len, n->s, n->len, &value, &ivalue);
            if (kind == 'i') {
                n->kind = N_INT;
                n->i = ivalue;
                n->op = 0;
                return VM_T_INT;
            }
            if (kind) {
                n->kind = N_FLOAT;
                n->f = value;
                return VM_T_FLOAT;
            }
            ERR(n, "module %.*s has no constant '%.*s'", (int)n->a->len, n->a->s, (int)n->len,
                n->s);
            return CT_ERR;
        }
        int t = expr(K, n->a);
        comp_class *c = comp_class_of(K->C, t);
        int fi = c ? comp_find_field(c, n->s, n->len) : -1;
        if (fi >= 0) {
            n->field = fi;
            return c->fields[fi]->type;
        }
        if (c && comp_find_slot(c, n->s, n->len) >= 0)
            ERR(n, "method '%.*s' must be called: %.*s(...)", (int)n->len, n->s, (int)n->len, n->s);
        else if (t != CT_ERR)
            ERR(n, "%s has no field '%.*s'%s", comp_type_name(K->C, t), (int)n->len, n->s,
                t == VM_T_STR ? " (methods are called: s.len())" : "");
        return CT_ERR;
    }
    case N_SELF: {
        comp_fn *outer = K->nframes ? K->frames[0].fn : K->fn;
        if (!outer || !outer->cls || K->no_self) {
            ERR(n, "self outside a method");
            return CT_ERR;
        }
        n->sym = lookup(K, "self", 4); /* in a function literal: its capture */
        return n->sym->type;
    }
    case N_LAMBDA: return lambda(K, n);
    case N_SUPER:
        ERR(n, "super must be followed by a method call: super.%.*s(...)", (int)n->len, n->s);
        return CT_ERR;
    case N_IF: return if_expr(K, n);
    case N_MATCH: return match_check(K, n, true);
    case N_IS:
    case N_AS: {
        int t = expr(K, n->a);
        comp_class *g =
            comp_class_ref(K->C, K->C->mod, n->qs, n->qlen, n->s, n->len, n->line, n->col, "class");
        if (g && n->ntargs && !g->ntparams) {
            ERR(n, "class %.*s is not generic: it takes no type arguments", (int)g->len, g->name);
            return CT_ERR;
        }
        n->cls = g && n->ntargs
                     ? comp_class_of(K->C, comp_instantiate_class(K->C, g, n->line, n->col, NULL, 0,
                                                                  n->targs, n->ntargs))
                     : comp_class_use(K->C, g, n->line, n->col);
        if (!n->cls)
            return CT_ERR;
        if (t == CT_ERR)
            return CT_ERR;
        if (!comp_class_of(K->C, t)) {
            ERR(n->a, "'%s' needs an object, got %s", n->kind == N_IS ? "is" : "as",
                comp_type_name(K->C, t));
            return CT_ERR;
        }
        if (comp_class_of(K->C, t)->is_iface || n->cls->is_iface)
            return iface_test(K, n, comp_class_of(K->C, t));
        return n->kind == N_IS ? VM_T_BOOL : n->cls->type;
    }
    }
    return CT_ERR;
}

static int expr(checker *K, comp_node *n)
{
    if (n->prechecked) /* moved into code the checker wrote (chan_loop) */
        return n->type;
    n->type = expr_kind(K, n);
    return n->type;
}

/* ---- Statements ---- */

static void stmt(checker *K, comp_node *n);

static void block(checker *K, comp_node *b)
{
    uint32_t saved_n = K->nlocals, saved_start = K->block_start;
    K->block_start = K->nlocals;
    K->block_depth++;
    for (uint32_t i = 0; i < b->n; i++)
        stmt(K, b->list[i]);
    K->block_depth--;
    K->nlocals = saved_n;
    K->block_start = saved_start;
}

/* Can this checked top-level statement not call any function (of the
 * program or the library, which may call back)? Literals, names, function
 * literals, arithmetic and comparisons of primitives, array and map
 * literals of such, declarations initialized so: what programs write
 * before their code starts. A global declared after anything else may be
 * read by a function before its declaration ran. */
static bool is_primitive(int t)
{
    return t == VM_T_INT || t == VM_T_FLOAT || t == VM_T_BOOL || t == VM_T_STR;
}
static bool runs_no_code(const comp_node *n)
{
    if (!n)
        return true;
    switch (n->kind) {
    case N_INT:
    case N_FLOAT:
    case N_BOOL:
    case N_NULL:
    case N_STR:
    case N_NAME:
    case N_LAMBDA: return true;
    case N_UNARY:
    case N_BINARY:
        if (!is_primitive(n->a->type) || (n->b && !is_primitive(n->b->type)))
            return false;
        break;
    case N_INTERP:
        for (uint32_t i = 0; i < n->n; i++)
            if (!is_primitive(n->list[i]->type))
                return false;
        break;
    case N_ARRAY:
    case N_MAP:
    case N_LET:
    case N_EXPR: break;
    default: return false;
    }
    if (!runs_no_code(n->a) || !runs_no_code(n->b) || !runs_no_code(n->c))
        return false;
    for (uint32_t i = 0; i < n->n; i++)
        if (!runs_no_code(n->list[i]))
            return false;
    return true;
}

static void let_stmt(checker *K, comp_node *n)
{
    int t = n->decl_type >= 0 ? comp_resolve_type(K->C, n->decl_type) : -1;
    n->decl_type = t;
    if (n->a && t >= 0)
        pretype(K, n->a, t);
    if (n->a) {
        int it = expr(K, n->a);
        if (t < 0) {
            if (it == CT_EMPTY && n->a->kind == N_ARRAY && !n->a->op && n->a->n > 1 &&
                comp_class_of(K->C, n->a->list[0]->type)) {
                ERR(n->a,
                    "the elements' classes (%s, %s%s) have no common superclass; annotate "
                    "the variable with one or with an interface they implement (let x: [I] = "
                    "...)",
                    comp_type_name(K->C, n->a->list[0]->type),
                    comp_type_name(K->C, n->a->list[1]->type), n->a->n > 2 ? ", ..." : "");
                it = CT_ERR;
            } else if (it == CT_NULL || it == CT_EMPTY || it == CT_EMPTY_MAP) {
                static const char *const WHAT[3][2] = {
                    {"null", "str"}, {"[]", "[int]"}, {"{}", "{str: int}"}};
                int w = it == CT_NULL ? 0 : it == CT_EMPTY ? 1 : 2;
                ERR(n->a, "cannot infer a type from %s; annotate the variable (let x: %s = %s)",
                    WHAT[w][0], WHAT[w][1], WHAT[w][0]);
                it = CT_ERR;
            } else if (it == VM_T_VOID) {
                ERR(n->a, "a call without result has no value to store");
                it = CT_ERR;
            } else if (it == CT_VARIANT) {
                const comp_class *en = n->a->cls;
                ERR(n->a,
                    "cannot infer %.*s's type arguments here; annotate the variable (let x: "
                    "%.*s<...> = ...) or write them (%.*s<...>.Variant)",
                    (int)en->len, en->name, (int)en->len, en->name, (int)en->len, en->name);
                it = CT_ERR;
            }
            t = it;
        } else if (!coerce(n->a, t)) {
            ERR(n->a, "cannot initialize '%.*s' of type %s with %s", (int)n->len, n->s,
                comp_type_name(K->C, t), comp_type_name(K->C, it));
        }
    } else if (!n->op) {
        ERR(n, "'let %.*s' needs an initial value (use var for a variable set later)", (int)n->len,
            n->s);
    } else if (t < 0) {
        ERR(n, "'var %.*s' needs a type or an initial value", (int)n->len, n->s);
        t = CT_ERR;
    }
    n->sym = declare(K, n, n->s, n->len, t, n->op);
    comp_node *init = n->a;
    if (n->sym->kind == SYM_GLOBAL)
        n->sym->late = K->ran_code || !runs_no_code(n);
    if (n->sym->kind == SYM_GLOBAL && !n->op && init && init->type == t &&
        ((init->kind == N_INT && !init->op) || init->kind == N_FLOAT || init->kind == N_BOOL ||
         init->kind == N_STR))
        n->sym->konst = init;
}

static void assign_stmt(checker *K, comp_node *n)
{
    comp_node *target = n->a;
    comp_sym *known = target->kind == N_NAME && n->op == T_EQ && !target->qual
                          ? lookup(K, target->s, target->len)
                          : NULL;
    if (known)
        pretype(K, n->b, known->type);
    int vt = expr(K, n->b);
    if (target->kind == N_INDEX) {
        int tt = expr(K, target);
        if (tt == CT_ERR || vt == CT_ERR)
            return;
        if (target->a->type == VM_T_STR) {
            ERR(target, "strings are immutable; build a new one instead");
            return;
        }
        if (n->op == T_EQ) {
            if (!coerce(n->b, tt))
                ERR(n->b, "cannot store %s in %s", comp_type_name(K->C, vt),
                    comp_type_name(K->C, target->a->type));
            return;
        }
        int op = n->op - T_PLUS_EQ + T_PLUS;
        int rt = binary_type(K, n, op, target, n->b);
        if (rt != CT_ERR && rt != tt)
            ERR(n, "operator %s gives %s, cannot store it in an element of %s", op_text(op),
                comp_type_name(K->C, rt), comp_type_name(K->C, target->a->type));
        return;
    }
    if (target->kind == N_FIELD && is_module(K, target->a)) {
        ERR(target, "cannot assign to '%.*s' of module %.*s (assign it inside its module)",
            (int)target->len, target->s, (int)target->a->len, target->a->s);
        return;
    }
    if (target->kind == N_FIELD) {
        int tt = expr(K, target);
        if (tt == CT_ERR || vt == CT_ERR)
            return;
        const comp_class *tc = comp_class_of(K->C, target->a->type);
        if (tc && tc->tuple && target->a->kind != N_SELF) {
            ERR(target, "a tuple is a value: its fields cannot be assigned (make a new tuple)");
            return;
        }
        if (n->op == T_EQ) {
            if (!coerce(n->b, tt))
                ERR(n->b, "cannot assign %s to field '%.*s' of type %s", comp_type_name(K->C, vt),
                    (int)target->len, target->s, comp_type_name(K->C, tt));
            return;
        }
        int op = n->op - T_PLUS_EQ + T_PLUS;
        int rt = binary_type(K, n, op, target, n->b);
        if (rt != CT_ERR && rt != tt)
            ERR(n, "operator %s gives %s, cannot store in field '%.*s' of type %s", op_text(op),
                comp_type_name(K->C, rt), (int)target->len, target->s, comp_type_name(K->C, tt));
        return;
    }
    if (target->kind != N_NAME) {
        ERR(target, "cannot assign to this expression");
        return;
    }
    /* Resolved here rather than by expr(), which would turn a constant
     * into its literal. */
    comp_sym *s = lookup(K, target->s, target->len);
    if (!s && comp_find_fn(K->C, K->C->mod, target->s, target->len, false)) {
        ERR(target, "cannot assign to '%.*s': it is a function", (int)target->len, target->s);
        return;
    }
    if (!s) {
        expr(K, target); /* reports the unknown name */
        return;
    }
    target->sym = s;
    if (s->root)
        s->root->assigned = true; /* captured too: it lives in a cell */
    int tt = target->type = s->type;
    if (!s->mutable_) {
        static const char *const WHY[] = {"it is declared with let (use var)",
                                          "it is a parameter (copy it into a var)",
                                          "it is a loop variable", "it is the caught error"};
        ERR(target, "cannot assign to '%.*s': %s", (int)s->len, s->name, WHY[s->role]);
        return;
    }
    if (n->op == T_EQ) {
        if (!coerce(n->b, tt))
            ERR(n->b, "cannot assign %s to '%.*s' of type %s", comp_type_name(K->C, vt),
                (int)s->len, s->name, comp_type_name(K->C, tt));
        return;
    }
    int op = n->op - T_PLUS_EQ + T_PLUS;
    if ((op == T_PLUS && comp_elem_of(K->C, tt) >= 0) || (op == T_STAR && tt == VM_T_STR)) {
        /* xs += ys, s *= n: calls, as xs + ys and s * n are: x = x op v */
        comp_node *bin = comp_alloc(K->C, sizeof *bin), *ref = comp_alloc(K->C, sizeof *ref);
        *bin = *n;
        *ref = *target;
        bin->kind = N_BINARY;
        bin->op = (uint8_t)op;
        bin->a = ref;
        bin->type = binary_expr(K, bin);
        n->op = T_EQ;
        n->b = bin;
        if (bin->type != CT_ERR && !coerce(bin, tt))
            ERR(n, "operator %s gives %s, cannot store in '%.*s' of type %s", op_text(op),
                comp_type_name(K->C, bin->type), (int)s->len, s->name, comp_type_name(K->C, tt));
        return;
    }
    int rt = binary_type(K, n, op, target, n->b);
    if (rt != CT_ERR && rt != tt)
        ERR(n, "operator %s gives %s, cannot store in '%.*s' of type %s", op_text(op),
            comp_type_name(K->C, rt), (int)s->len, s->name, comp_type_name(K->C, tt));
}

static void cond(checker *K, comp_node *c, const char *what)
{
    int t = expr(K, c);
    if (t != VM_T_BOOL && t != CT_ERR)
        ERR(c, "%s condition must be bool, got %s", what, comp_type_name(K->C, t));
}

static comp_node *synth(checker *K, int kind, const comp_node *at)
{
    return comp_node_new(K->C, kind, at->line, at->col);
}

static comp_node *synth_name(checker *K, const comp_node *at, const char *s, uint32_t len)
{
    comp_node *n = synth(K, N_NAME, at);
    n->s = s;
    n->len = len;
    return n;
}

/* v.method() */
static comp_node *synth_method(checker *K, const comp_node *at, comp_node *v, const char *m)
{
    comp_node *f = synth(K, N_FIELD, at), *call = synth(K, N_CALL, at);
    f->a = v;
    f->s = m;
    f->len = (uint32_t)strlen(m);
    call->a = f;
    return call;
}

static comp_node *synth_let(checker *K, const comp_node *at, const char *s, uint32_t len,
                            comp_node *init)
{
    comp_node *n = synth(K, N_LET, at);
    n->s = s;
    n->len = len;
    n->a = init;
    n->decl_type = -1;
    return n;
}

static void synth_add(checker *K, comp_node *blk, comp_node *child)
{
    uint32_t cap = blk->n; /* a few statements: grown a step at a time */
    blk->list = comp_grow(K->C, blk->list, &cap, blk->n + 1, sizeof(comp_node *));
    blk->list[blk->n++] = child;
}

static void stmt(checker *K, comp_node *n);

/* for v in ch, over a channel (checked, of type a): rewritten in place as
 *   { let (chan N) = ch
 *     while (chan N).__next() { let v = (chan N).__got
 *                               BODY } }
 * (__next takes the next value, waiting for one, or is false once the
 * channel is closed and drained) and that is checked. False when a is
 * not a channel. */
static bool chan_loop(checker *K, comp_node *n, int a)
{
    comp *C = K->C;
    comp_class *c = a >= 0 && a != CT_ERR ? comp_class_of(C, a) : NULL;
    if (!c || !c->generic || c->generic->len != 6 || memcmp(c->generic->name, "__Chan", 6))
        return false;
    char *ch = comp_alloc(C, 24);
    uint32_t chl = (uint32_t)snprintf(ch, 24, "(chan %u)", C->ntemps++);
    n->a->prechecked = true;
    comp_node *outer = synth(K, N_BLOCK, n), *wh = synth(K, N_WHILE, n),
              *body = synth(K, N_BLOCK, n), *got = synth(K, N_FIELD, n);
    synth_add(K, outer, synth_let(K, n, ch, chl, n->a));
    got->a = synth_name(K, n, ch, chl);
    got->s = "__got";
    got->len = 5;
    synth_add(K, body, synth_let(K, n, n->s, n->len, got));
    synth_add(K, body, n->c);
    wh->a = synth_method(K, n, synth_name(K, n, ch, chl), "__next");
    wh->b = body;
    synth_add(K, outer, wh);
    *n = *outer;
    stmt(K, n);
    return true;
}

static void for_stmt(checker *K, comp_node *n)
{
    int a = expr(K, n->a), var_type = VM_T_INT, val_type = CT_ERR, mk, mv;
    if (!n->op && !n->n && !n->b && chan_loop(K, n, a))
        return;
    if (n->op) { /* for i in (a..b).step(s): a native counts the steps (s must not be 0) */
        int b = expr(K, n->b), st = expr(K, n->list[0]);
        if (a != VM_T_INT && a != CT_ERR)
            ERR(n->a, "range start must be int, got %s", comp_type_name(K->C, a));
        if (b != VM_T_INT && b != CT_ERR)
            ERR(n->b, "range end must be int, got %s", comp_type_name(K->C, b));
        if (st != VM_T_INT && st != CT_ERR)
            ERR(n->list[0], "range step must be int, got %s", comp_type_name(K->C, st));
        uint16_t types[4] = {VM_T_INT, VM_T_INT, VM_T_INT, VM_T_BOOL};
        n->native = vm_natsig_find(&K->C->env->natives, "__range_count", types, 4, comp_elem_of_ctx,
                                   NULL, K->C);
    } else if (n->n) { /* for k, v in map; for i, x in array */
        if (comp_map_types(K->C, a, &mk, &mv)) {
            var_type = mk;
            val_type = mv;
        } else if (comp_elem_of(K->C, a) >= 0 && !n->b) {
            var_type = VM_T_INT;
            val_type = comp_elem_of(K->C, a);
        } else {
            if (a != CT_ERR)
                ERR(n->a, "for a, b in ... needs a map or an array, not %s",
                    comp_type_name(K->C, a));
            var_type = CT_ERR;
        }
    } else if (!n->b) { /* for x in array */
        var_type = comp_elem_of(K->C, a);
        if (var_type < 0) {
            if (a != CT_ERR)
                ERR(n->a,
                    comp_map_types(K->C, a, &mk, &mv)
                        ? "iterate over a map with for k, v in m (or m.keys())"
                        : "cannot iterate over %s (a range a..b or an array is needed)",
                    comp_type_name(K->C, a));
            var_type = CT_ERR;
        }
    } else {
        int b = expr(K, n->b);
        if (a != VM_T_INT && a != CT_ERR)
            ERR(n->a, "range start must be int, got %s", comp_type_name(K->C, a));
        if (b != VM_T_INT && b != CT_ERR)
            ERR(n->b, "range end must be int, got %s", comp_type_name(K->C, b));
    }
    uint32_t saved_n = K->nlocals, saved_start = K->block_start;
    K->block_start = K->nlocals;
    K->block_depth++;
    n->sym = declare(K, n, n->s, n->len, var_type, false);
    n->sym->role = SYM_ROLE_LOOP;
    if (n->n && !n->op) {
        comp_node *v = n->list[0];
        v->sym = declare(K, v, v->s, v->len, val_type, false);
        v->sym->role = SYM_ROLE_LOOP;
    }
    K->loops++;
    block(K, n->c);
    K->loops--;
    K->block_depth--;
    K->nlocals = saved_n;
    K->block_start = saved_start;
}

static int error_type(checker *K)
{
    int32_t ci = comp_map_get(&K->C->class_map, "Error", 5);
    return ci >= 0 ? K->C->classes[ci]->type : CT_ERR;
}

static void try_stmt(checker *K, comp_node *n)
{
    block(K, n->b);
    int err = error_type(K);
    for (uint32_t i = 0; i < n->n; i++) {
        comp_node *c = n->list[i];
        int t = err;
        if (c->a) {
            c->cls = comp_class_use(K->C,
                                    comp_class_ref(K->C, K->C->mod, c->a->qs, c->a->qlen, c->a->s,
                                                   c->a->len, c->a->line, c->a->col, "class"),
                                    c->a->line, c->a->col);
            if (!c->cls) {
                t = CT_ERR;
            } else {
                t = c->cls->type;
                if (!comp_subclass(K->C, t, err))
                    ERR(c->a, "%.*s is not an error class (Error or a subclass)", (int)c->a->len,
                        c->a->s);
            }
        } else if (i + 1 < n->n) {
            ERR(c, "a catch-all clause must come last");
        }
        /* The caught error is a variable of the clause's block. */
        uint32_t saved_n = K->nlocals, saved_start = K->block_start;
        K->block_start = K->nlocals;
        K->block_depth++;
        c->sym = declare(K, c, c->s, c->len, t, false);
        c->sym->role = SYM_ROLE_CATCH;
        block(K, c->c);
        K->block_depth--;
        K->nlocals = saved_n;
        K->block_start = saved_start;
    }
    if (n->c)
        block(K, n->c);
}

static void stmt(checker *K, comp_node *n)
{
    switch (n->kind) {
    case N_LET: let_stmt(K, n); break;
    case N_ASSIGN: assign_stmt(K, n); break;
    case N_EXPR:
        if (n->a->kind == N_MATCH) { /* a match statement: its arms' values are not used */
            n->a->type = match_check(K, n->a, false);
            break;
        }
        expr(K, n->a);
        if (n->a->kind != N_CALL && n->a->type != CT_ERR)
            ERR(n->a, "expression result is not used");
        break;
    case N_IF:
        cond(K, n->a, "if");
        block(K, n->b);
        if (n->c)
            n->c->kind == N_IF ? stmt(K, n->c) : block(K, n->c);
        break;
    case N_WHILE:
        cond(K, n->a, "while");
        K->loops++;
        block(K, n->b);
        K->loops--;
        break;
    case N_FOR: for_stmt(K, n); break;
    case N_BREAK:
    case N_CONTINUE:
        if (!K->loops)
            ERR(n, "%s outside a loop", n->kind == N_BREAK ? "break" : "continue");
        break;
    case N_RETURN: {
        if (K->in_init) {
            ERR(n, "return outside a function");
            break;
        }
        if (K->fn->infer_ret && n->a) { /* xs.map(fn(x) { return e }): the result is e's */
            K->fn->infer_ret = false;
            int t = expr(K, n->a);
            K->fn->ret =
                t == CT_NULL || t == CT_EMPTY || t == CT_EMPTY_MAP || t == CT_VARIANT ? CT_ERR : t;
            if (K->fn->ret == CT_ERR && t != CT_ERR)
                ERR(n->a,
                    "the function literal's result type cannot come from %s: write it "
                    "(fn(x) -> R)",
                    comp_type_name(K->C, t));
            break;
        }
        int want = K->fn->ret;
        char who[96]; /* "f()", or for a literal its description */
        if (K->fn->lambda)
            snprintf(who, sizeof who, "the function literal");
        else
            snprintf(who, sizeof who, "%.*s()", (int)(K->fn->len > 80 ? 80 : K->fn->len),
                     K->fn->name);
        if (!n->a) {
            if (want != VM_T_VOID && want != CT_ERR)
                ERR(n, "missing return value: %s returns %s", who, comp_type_name(K->C, want));
            break;
        }
        pretype(K, n->a, want);
        int t = expr(K, n->a);
        if (want == VM_T_VOID)
            ERR(n->a, "%s has no result type, but returns a value", who);
        else if (!coerce(n->a, want))
            ERR(n->a, "%s returns %s, not %s", who, comp_type_name(K->C, want),
                comp_type_name(K->C, t));
        break;
    }
    case N_BLOCK:
        if (n->op == 2) { /* let (a, b) = e: in the enclosing scope */
            stmt(K, n->list[0]);
            comp_class *c = comp_class_of(K->C, n->list[0]->a->type);
            if (n->list[0]->a->type != CT_ERR && (!c || !c->tuple || c->nfields != n->list[0]->i)) {
                ERR(n->list[0]->a, "let (...) with %lld names needs a tuple of %lld values, not %s",
                    (long long)n->list[0]->i, (long long)n->list[0]->i,
                    comp_type_name(K->C, n->list[0]->a->type));
                break;
            }
            for (uint32_t i = 1; i < n->n; i++)
                stmt(K, n->list[i]);
            break;
        }
        block(K, n);
        break;
    case N_THROW: {
        int t = expr(K, n->a);
        int err = error_type(K);
        if (t != CT_ERR && !comp_subclass(K->C, t, err))
            ERR(n->a, "only errors can be thrown (Error or a subclass), not %s",
                comp_type_name(K->C, t));
        break;
    }
    case N_TRY: try_stmt(K, n); break;
    default: break;
    }
}

/* Go's "terminating statement": control cannot reach the end of n. */
static bool has_break(const comp_node *n)
{
    if (!n)
        return false;
    switch (n->kind) {
    case N_BREAK: return true;
    case N_IF: return has_break(n->b) || has_break(n->c);
    case N_EXPR:
        for (uint32_t i = 0; n->a->kind == N_MATCH && i < n->a->n; i++)
            if (has_break(n->a->list[i]->b))
                return true;
        return false;
    case N_TRY:
        for (uint32_t i = 0; i < n->n; i++)
            if (has_break(n->list[i]->c))
                return true;
        return has_break(n->b) || has_break(n->c);
    case N_BLOCK:
        for (uint32_t i = 0; i < n->n; i++)
            if (has_break(n->list[i]))
                return true;
        return false;
    default: return false; /* a nested loop's break is its own */
    }
}

static bool terminates(const comp_node *n)
{
    if (!n)
        return false;
    switch (n->kind) {
    case N_RETURN:
    case N_THROW: return true;
    case N_BLOCK: return n->n > 0 && terminates(n->list[n->n - 1]);
    case N_TRY:
        if (n->c && terminates(n->c)) /* finally always runs */
            return true;
        for (uint32_t i = 0; i < n->n; i++)
            if (!terminates(n->list[i]->c))
                return false;
        return terminates(n->b);
    case N_IF: return n->c && terminates(n->b) && terminates(n->c);
    case N_EXPR: /* a match (exhaustive, or it would not compile) whose arms all end */
        if (n->a->kind != N_MATCH || !n->a->n)
            return false;
        for (uint32_t i = 0; i < n->a->n; i++)
            if (!terminates(n->a->list[i]->b))
                return false;
        return true;
    case N_WHILE: return n->a->kind == N_BOOL && n->a->i && !has_break(n->b);
    default: return false;
    }
}

/* A function's parameters become its first locals, from `base` on. */
static void declare_params(checker *K, comp_fn *fn, uint32_t base)
{
    comp_node at = {0};
    for (uint32_t i = 0; i < fn->nparams; i++) {
        comp_sym *p = fn->params[i];
        at.line = p->line;
        at.col = p->col;
        p->root = p;
        if (find_local(K, p->name, p->len, base))
            ERR(&at, "parameter '%.*s' is declared twice", (int)p->len, p->name);
        K->locals = comp_grow(K->C, K->locals, &K->locals_cap, K->nlocals + 1, sizeof(comp_sym *));
        K->locals[K->nlocals++] = p;
    }
    K->block_start = K->nlocals;
}

static void check_fn(checker *K, comp_fn *fn)
{
    if (fn->nparams > KILN_MAX_PARAMS) {
        comp_node at = {0};
        at.line = fn->line;
        at.col = fn->col;
        ERR(&at, "%.*s() has %u parameters; at most %d are allowed", (int)fn->len, fn->name,
            fn->nparams, KILN_MAX_PARAMS);
        return;
    }
    K->fn = fn;
    K->in_init = false;
    K->nlocals = 0;
    K->block_depth = 1;
    K->frames[0].fn = fn;
    K->frames[0].base = 0;
    K->nframes = 1;
    declare_params(K, fn, 0);
    block(K, fn->body);
    comp_node at = {0};
    if (fn->ret != VM_T_VOID && fn->ret != CT_ERR && !terminates(fn->body)) {
        at.line = fn->line;
        at.col = fn->col;
        ERR(&at, "%.*s() returns %s, but control can reach the end without a return", (int)fn->len,
            fn->name, comp_type_name(K->C, fn->ret));
    }
}

/* An extern function's structs are extern structs, and its name is not
 * a built-in's. */
static void check_extern(checker *K, comp_fn *fn)
{
    comp *C = K->C;
    for (uint32_t i = 0; i <= fn->nparams; i++) {
        const comp_ctype *ct = i < fn->nparams ? &fn->cparams[i] : &fn->cret;
        int t = i < fn->nparams ? fn->params[i]->type : fn->ret;
        if (ct->kind != VM_C_STRUCT && ct->kind != VM_C_STRUCTP)
            continue;
        comp_class *c = comp_class_of(C, t);
        if (t != CT_ERR && (!c || !c->cfields))
            ERR(ct, "%s is not an extern struct (declare it: extern struct %s { ... })",
                comp_type_name(C, t), comp_type_name(C, t));
    }
    comp_node at = {0};
    for (uint32_t i = 0; i < fn->nparams; i++)
        for (uint32_t j = 0; j < i; j++) {
            const comp_sym *p = fn->params[i], *q = fn->params[j];
            if (p->len == q->len && !memcmp(p->name, q->name, p->len)) {
                at.line = p->line;
                at.col = p->col;
                ERR(&at, "parameter '%.*s' is declared twice", (int)p->len, p->name);
            }
        }
    if (is_builtin_name(fn->name, fn->len)) {
        at.line = fn->line;
        at.col = fn->col;
        ERR(&at, "'%.*s' is a built-in function and cannot be redefined", (int)fn->len, fn->name);
    }
}

static void check_field_inits(checker *K, comp_class *c)
{
    comp *C = K->C;
    const comp_subst *saved = C->subst;
    C->subst = c->subst;
    K->no_self = true;                               /* field initializers: no self, no locals */
    K->fn = c->mod->init ? c->mod->init : C->fns[0]; /* as at its module's top level */
    K->frames[0].fn = K->fn;
    K->frames[0].base = 0;
    K->nframes = 1;
    K->nlocals = 0;
    K->block_start = 0;
    for (uint32_t j = 0; j < c->nown; j++) {
        comp_field *f = &c->own[j];
        if (f->init)
            pretype(K, f->init, f->type);
        if (f->init && expr(K, f->init) != CT_ERR && !coerce(f->init, f->type))
            ERR(f->init, "cannot initialize field '%.*s' of type %s with %s", (int)f->len, f->name,
                comp_type_name(C, f->type), comp_type_name(C, f->init->type));
    }
    K->no_self = false;
    C->subst = saved;
}

/* Each type parameter's bound names a built-in interface or one of the
 * program's (in its module, or the module it names). */
static void check_bounds(checker *K, const struct comp_tparam *tps, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const struct comp_tparam *tp = &tps[i];
        if (!tp->bound || (!tp->bqs && comp_known_bound(tp->bound, tp->blen)))
            continue;
        if (tp->bqs || comp_find_class(K->C, tp->mod, tp->bound, tp->blen, false)) {
            comp_bound_iface(K->C, tp, true); /* reports a class that is no interface */
            continue;
        }
        if (!comp_bound_iface(K->C, tp, false)) {
            comp_module *prev = comp_enter(K->C, tp->mod ? tp->mod : K->C->mod);
            comp_error(K->C, tp->bline, tp->bcol,
                       "unknown interface '%.*s' (the built-in ones are Eq, Ordered and Hash)",
                       (int)tp->blen, tp->bound);
            comp_enter(K->C, prev);
        }
    }
}

/* A generic function's own checks; its body is checked in each instance. */
static void check_template(checker *K, comp_fn *fn)
{
    comp_node at = {0};
    at.line = fn->line;
    at.col = fn->col;
    if (fn->cls)
        ERR(&at, "a method cannot have type parameters (make the class generic)");
    if (is_builtin_name(fn->name, fn->len))
        ERR(&at, "'%.*s' is a built-in function and cannot be redefined", (int)fn->len, fn->name);
    check_bounds(K, fn->tparams, fn->ntparams);
}

/* Function fn's checks, in the main loop of comp_check. */
static void check_one(checker *K, comp_fn *fn)
{
    comp *C = K->C;
    if (fn->ntparams) {
        comp_enter(C, fn->mod);
        check_template(K, fn);
        return;
    }
    if (COMP_TEMPLATE_FN(fn))
        return;
    C->subst = fn->subst;
    if (fn->synth == SYNTH_FIELDS && fn->cls->generic) {
        comp_enter(C, fn->mod);
        check_field_inits(K, fn->cls);
    }
    if (fn->synth == SYNTH_EXTERN) {
        comp_enter(C, fn->mod);
        check_extern(K, fn);
    }
    if (fn->synth || fn->lambda || !fn->body) /* a literal is checked where it stands */
        return;
    comp_enter(C, fn->mod);
    if (fn->cls) {
        check_fn(K, fn);
        return;
    }
    comp_node at = {0};
    at.line = fn->line;
    at.col = fn->col;
    if (fn->mod == C->mods[0] && fn->len == 4 && memcmp(fn->name, "main", 4) == 0 &&
        (fn->nparams != 0 || fn->ret != VM_T_VOID))
        ERR(&at, "main() must take no parameters and return nothing");
    if (is_builtin_name(fn->name, fn->len))
        ERR(&at, "'%.*s' is a built-in function and cannot be redefined", (int)fn->len, fn->name);
    check_fn(K, fn);
}

void comp_check(comp *C)
{
    checker state = {0}, *K = &state;
    K->C = C;
    comp_order_modules(C);
    if (!comp_classes(C))
        return;
    /* Each module's top-level code, imports first: it declares the
     * module's globals, which its importers may use. */
    for (uint32_t m = 0; m < C->norder; m++) {
        comp_module *mod = C->order[m];
        comp_enter(C, mod);
        K->fn = mod->init;
        K->frames[0].fn = mod->init;
        K->frames[0].base = 0;
        K->nframes = 1;
        K->nlocals = 0;
        K->block_start = 0;
        K->block_depth = 0;
        K->in_init = true;
        K->ran_code = false;
        for (uint32_t i = 0; i < mod->ntop; i++) {
            stmt(K, mod->top[i]);
            K->ran_code = K->ran_code || !runs_no_code(mod->top[i]);
        }
    }
    K->in_init = false;
    for (uint32_t i = 0; i < C->nclasses; i++) /* generic classes' bounds */
        if (C->classes[i]->ntparams)
            check_bounds(K, C->classes[i]->tparams, C->classes[i]->ntparams);
    for (uint32_t i = 0; i < C->nclasses; i++) { /* instances: with their <fields> */
        comp_class *c = C->classes[i];
        if (COMP_TEMPLATE_CLASS(c))
            continue;
        comp_enter(C, c->mod);
        check_field_inits(K, c);
    }
    /* Instances are added as calls are checked, and instance methods get
     * their bodies when a call names them (comp_need_method): those the
     * loop has passed come back through C->late. */
    C->check_next = 1;
    for (;;) {
        if (C->nlate)
            check_one(K, C->late[--C->nlate]);
        else if (C->check_next < C->nfns)
            check_one(K, C->fns[C->check_next++]);
        else
            break;
    }
    C->subst = NULL;
    for (uint32_t i = 0; i < C->nkeychecks; i++) { /* every class is laid out by now */
        const struct comp_keycheck *kc = &C->keychecks[i];
        if (comp_hashable(C, kc->type))
            continue;
        comp_enter(C, kc->mod);
        comp_error(C, kc->line, kc->col,
                   "map keys must be int, str, bool, or tuples and enums of them, not %s",
                   comp_type_name(C, kc->type));
    }
    comp_enter(C, C->mods[0]);
}
