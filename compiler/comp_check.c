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

#include "../stdlib/std.h"
#include "comp.h"

typedef struct checker {
    comp *C;
    comp_fn *fn;
    comp_sym **locals; /* innermost last */
    uint32_t nlocals, locals_cap;
    uint32_t block_start; /* first local of the innermost block */
    int loops;
    bool in_init; /* checking the module initializer */
    int block_depth;
} checker;

#define ERR(n, ...) comp_error(K->C, (n)->line, (n)->col, __VA_ARGS__)

static int expr(checker *K, comp_node *n);

static bool is_numeric(int t) { return t == VM_T_INT || t == VM_T_FLOAT; }

/* Gives a null literal the reference type its context asks for, and says
 * whether a value of n's type can be stored where `to` is expected. */
static bool coerce(comp_node *n, int to)
{
    if (n->type == CT_ERR || to == CT_ERR)
        return true;
    if (n->type == CT_NULL && VM_T_ISREF(to)) {
        n->type = (int16_t)to;
        return true;
    }
    return n->type == to;
}

static comp_sym *find_local(checker *K, const char *name, uint32_t len, uint32_t from)
{
    for (uint32_t i = K->nlocals; i > from; i--) {
        comp_sym *s = K->locals[i - 1];
        if (s->len == len && memcmp(s->name, name, len) == 0)
            return s;
    }
    return NULL;
}

static comp_sym *lookup(checker *K, const char *name, uint32_t len)
{
    comp_sym *s = find_local(K, name, len, 0);
    if (s)
        return s;
    int32_t g = comp_map_get(&K->C->global_map, name, len);
    return g >= 0 ? K->C->globals[g] : NULL;
}

static bool is_builtin_name(const char *name, uint32_t len)
{
    static const char *const NAMES[] = {"print", "str", "int", "float", "parse_int",
                                        "parse_float", "chr"};
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
    s->type = (int16_t)type;
    s->mutable_ = mut;
    s->line = at->line;
    s->col = at->col;
    bool global = K->in_init && K->block_depth == 0;
    comp_sym *prev = global ? NULL : find_local(K, name, len, K->block_start);
    if (global) {
        int32_t g = comp_map_get(&C->global_map, name, len);
        prev = g >= 0 ? C->globals[g] : NULL;
    }
    if (prev) {
        ERR(at, "'%.*s' is already declared in this scope (at line %u)", (int)len, name,
            prev->line);
    } else if (global && comp_map_get(&C->fn_map, name, len) >= 0) {
        ERR(at, "'%.*s' is already declared as a function", (int)len, name);
    }
    if (global && C->nglobals == 65536) /* GETG/SETG's Bx is 16 bits */
        ERR(at, "too many globals (at most 65536)");
    if (global) {
        s->kind = SYM_GLOBAL;
        s->index = (int32_t)C->nglobals;
        C->globals = comp_grow(C, C->globals, &C->globals_cap, C->nglobals + 1, sizeof(comp_sym *));
        C->globals[C->nglobals++] = s;
        if (!prev)
            comp_map_put(C, &C->global_map, name, len, s->index);
    } else {
        s->kind = SYM_LOCAL;
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
        if (coerce(l, rt) || coerce(r, lt))
            if (l->type == r->type)
                return VM_T_BOOL;
        break;
    case T_LT: case T_LE: case T_GT: case T_GE:
        if (lt == rt && (is_numeric(lt) || lt == VM_T_STR))
            return VM_T_BOOL;
        break;
    case T_PLUS:
        if (lt == rt && (is_numeric(lt) || lt == VM_T_STR))
            return lt;
        break;
    case T_MINUS: case T_STAR: case T_SLASH: case T_PERCENT:
        if (lt == rt && is_numeric(lt))
            return lt;
        break;
    case T_AMP: case T_PIPE: case T_CARET: case T_SHL: case T_SHR:
        if (lt == VM_T_INT && rt == VM_T_INT)
            return VM_T_INT;
        break;
    }
    if (is_numeric(lt) && is_numeric(rt) && lt != rt)
        ERR(at, "operator %s on %s and %s: no implicit conversion (use float(x) or int(x))",
            op_text(op), comp_type_name(lt), comp_type_name(rt));
    else
        ERR(at, "operator %s cannot be applied to %s and %s", op_text(op), comp_type_name(lt),
            comp_type_name(rt));
    return CT_ERR;
}

static int unary_type(checker *K, comp_node *n)
{
    int t = expr(K, n->a);
    if (t == CT_ERR)
        return CT_ERR;
    if ((n->op == T_MINUS && is_numeric(t)) || (n->op == T_BANG && t == VM_T_BOOL) ||
        (n->op == T_TILDE && t == VM_T_INT))
        return t;
    ERR(n, "operator %s cannot be applied to %s", op_text(n->op), comp_type_name(t));
    return CT_ERR;
}

/* A call of a native: finds the entry of `name` whose parameters match
 * the argument types (receiver first, for methods). */
static int native_call(checker *K, comp_node *n, const char *name, comp_node **args,
                       uint32_t nargs, const char *unknown)
{
    uint8_t types[KILN_MAX_PARAMS] = {0};
    bool any = false;
    for (uint32_t i = 0; i < nargs && i < KILN_MAX_PARAMS; i++) {
        if (args[i]->type == CT_ERR)
            return CT_ERR;
        types[i] = (uint8_t)(args[i]->type == CT_NULL ? VM_T_STR : args[i]->type);
    }
    const vm_native *nat = nargs <= KILN_MAX_PARAMS ? vm_native_find(name, types, (int)nargs) : NULL;
    if (nat) {
        for (uint32_t i = 0; i < nargs; i++)
            coerce(args[i], types[i]);
        n->native = nat;
        n->builtin = B_NATIVE;
        return vm_type_of_letter(nat->ret);
    }
    for (size_t i = 0; i < std_natives_count; i++)
        any |= strcmp(std_natives[i].name, name) == 0;
    if (!any) {
        ERR(n, "%s", unknown);
        return CT_ERR;
    }
    char got[256] = "";
    size_t at = 0;
    for (uint32_t i = 0; i < nargs && at < sizeof got - 16; i++)
        at += (size_t)snprintf(got + at, sizeof got - at, "%s%s", i ? ", " : "",
                               comp_type_name(args[i]->type));
    ERR(n, "%s() cannot be called with (%s)", name, got);
    return CT_ERR;
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
            ERR(n, "%s needs an int or float, got %s%s", shown, comp_type_name(t),
                t == VM_T_STR ? (to_int ? " (use parse_int)" : " (use parse_float)") : "");
            return CT_ERR;
        }
        int target = to_int ? VM_T_INT : VM_T_FLOAT;
        n->builtin = t == target ? B_IDENTITY : to_int ? B_INT_OF_FLOAT : B_FLOAT_OF_INT;
        return target;
    }
    if (n->n == 1 && args[0]->type == CT_NULL) /* print(null), str(null): "null" */
        coerce(args[0], VM_T_STR);
    char nat[64];
    snprintf(nat, sizeof nat, "%.*s", (int)len, name);
    return native_call(K, n, nat, args, n->n, "unknown function");
}

static int method_call(checker *K, comp_node *n)
{
    comp *C = K->C;
    comp_node *f = n->a;
    int rt = expr(K, f->a);
    if (rt == CT_ERR)
        return CT_ERR;
    if (rt != VM_T_STR) {
        ERR(f, "%s has no method '%.*s'", comp_type_name(rt), (int)f->len, f->s);
        return CT_ERR;
    }
    if (f->len == 3 && memcmp(f->s, "len", 3) == 0) {
        if (n->n != 0) {
            ERR(n, "str.len() takes no arguments");
            return CT_ERR;
        }
        n->builtin = B_STRLEN;
        return VM_T_INT;
    }
    /* Receiver first, then the arguments, as the native takes them. */
    comp_node **all = comp_alloc(C, sizeof(comp_node *) * (n->n + 1));
    all[0] = f->a;
    if (n->n)
        memcpy(all + 1, n->list, sizeof(comp_node *) * n->n);
    char name[80], shown[96];
    snprintf(name, sizeof name, "str.%.*s", (int)(f->len > 60 ? 60 : f->len), f->s);
    snprintf(shown, sizeof shown, "str has no method '%.*s'", (int)(f->len > 60 ? 60 : f->len),
             f->s);
    return native_call(K, n, name, all, n->n + 1, shown);
}

static int call(checker *K, comp_node *n)
{
    comp *C = K->C;
    for (uint32_t i = 0; i < n->n; i++)
        expr(K, n->list[i]);
    comp_node *callee = n->a;
    if (callee->kind == N_FIELD)
        return method_call(K, n);
    if (callee->kind != N_NAME) {
        ERR(callee, "only named functions can be called (function values come later)");
        return CT_ERR;
    }
    const char *name = callee->s;
    uint32_t len = callee->len;
    if (lookup(K, name, len)) {
        ERR(callee, "'%.*s' is a variable, not a function", (int)len, name);
        return CT_ERR;
    }
    int32_t fi = comp_map_get(&C->fn_map, name, len);
    if (fi < 0) {
        if (is_builtin_name(name, len))
            return builtin_call(K, n, name, len);
        ERR(callee, "unknown function '%.*s'", (int)len, name);
        return CT_ERR;
    }
    comp_fn *fn = C->fns[fi];
    n->fn = fn;
    if (n->n != fn->nparams) {
        ERR(n, "%.*s() takes %u argument%s, got %u", (int)len, name, fn->nparams,
            fn->nparams == 1 ? "" : "s", n->n);
        return fn->ret;
    }
    for (uint32_t i = 0; i < n->n; i++)
        if (!coerce(n->list[i], fn->params[i]->type))
            ERR(n->list[i], "argument %u of %.*s() is %s, expected %s", i + 1, (int)len, name,
                comp_type_name(n->list[i]->type), comp_type_name(fn->params[i]->type));
    return fn->ret;
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
        }
        return VM_T_STR;
    case N_NAME: {
        comp_sym *s = lookup(K, n->s, n->len);
        if (s && s->konst) { /* a constant: the use becomes the literal */
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
        if (comp_map_get(&K->C->fn_map, n->s, n->len) >= 0 || is_builtin_name(n->s, n->len))
            ERR(n, "function '%.*s' used as a value (function values come later)", (int)n->len,
                n->s);
        else
            ERR(n, "unknown name '%.*s'", (int)n->len, n->s);
        return CT_ERR;
    }
    case N_UNARY: return unary_type(K, n);
    case N_BINARY:
        expr(K, n->a);
        expr(K, n->b);
        return binary_type(K, n, n->op, n->a, n->b);
    case N_CALL: return call(K, n);
    case N_INDEX: {
        int t = expr(K, n->a), it = expr(K, n->b);
        if (t == CT_ERR || it == CT_ERR)
            return CT_ERR;
        if (t != VM_T_STR) {
            ERR(n, "%s cannot be indexed", comp_type_name(t));
            return CT_ERR;
        }
        if (it != VM_T_INT) {
            ERR(n->b, "index must be int, got %s", comp_type_name(it));
            return CT_ERR;
        }
        return VM_T_INT;
    }
    case N_FIELD: {
        int t = expr(K, n->a);
        if (t != CT_ERR)
            ERR(n, "%s has no field '%.*s'%s", comp_type_name(t), (int)n->len, n->s,
                t == VM_T_STR ? " (methods are called: s.len())" : "");
        return CT_ERR;
    }
    }
    return CT_ERR;
}

static int expr(checker *K, comp_node *n)
{
    n->type = (int16_t)expr_kind(K, n);
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

static void let_stmt(checker *K, comp_node *n)
{
    int t = n->decl_type;
    if (n->a) {
        int it = expr(K, n->a);
        if (t < 0) {
            if (it == CT_NULL) {
                ERR(n->a, "cannot infer a type from null; annotate the variable (let x: str = null)");
                it = CT_ERR;
            } else if (it == VM_T_VOID) {
                ERR(n->a, "a call without result has no value to store");
                it = CT_ERR;
            }
            t = it;
        } else if (!coerce(n->a, t)) {
            ERR(n->a, "cannot initialize '%.*s' of type %s with %s", (int)n->len, n->s,
                comp_type_name(t), comp_type_name(it));
        }
    } else if (!n->op) {
        ERR(n, "'let %.*s' needs an initial value (use var for a variable set later)",
            (int)n->len, n->s);
    } else if (t < 0) {
        ERR(n, "'var %.*s' needs a type or an initial value", (int)n->len, n->s);
        t = CT_ERR;
    }
    n->sym = declare(K, n, n->s, n->len, t, n->op);
    comp_node *init = n->a;
    if (n->sym->kind == SYM_GLOBAL && !n->op && init && init->type == t &&
        ((init->kind == N_INT && !init->op) || init->kind == N_FLOAT || init->kind == N_BOOL ||
         init->kind == N_STR))
        n->sym->konst = init;
}

static void assign_stmt(checker *K, comp_node *n)
{
    comp_node *target = n->a;
    int vt = expr(K, n->b);
    if (target->kind == N_INDEX) {
        expr(K, target);
        ERR(target, "strings are immutable; build a new one instead");
        return;
    }
    if (target->kind != N_NAME) {
        ERR(target, "cannot assign to this expression");
        return;
    }
    /* Resolved here rather than by expr(), which would turn a constant
     * into its literal. */
    comp_sym *s = lookup(K, target->s, target->len);
    if (!s) {
        expr(K, target); /* reports the unknown name */
        return;
    }
    target->sym = s;
    int tt = target->type = s->type;
    if (!s->mutable_) {
        static const char *const WHY[] = {"it is declared with let (use var)",
                                          "it is a parameter (copy it into a var)",
                                          "it is a loop variable"};
        ERR(target, "cannot assign to '%.*s': %s", (int)s->len, s->name, WHY[s->role]);
        return;
    }
    if (n->op == T_EQ) {
        if (!coerce(n->b, tt))
            ERR(n->b, "cannot assign %s to '%.*s' of type %s", comp_type_name(vt), (int)s->len,
                s->name, comp_type_name(tt));
        return;
    }
    int op = n->op - T_PLUS_EQ + T_PLUS;
    int rt = binary_type(K, n, op, target, n->b);
    if (rt != CT_ERR && rt != tt)
        ERR(n, "operator %s gives %s, cannot store in '%.*s' of type %s", op_text(op),
            comp_type_name(rt), (int)s->len, s->name, comp_type_name(tt));
}

static void cond(checker *K, comp_node *c, const char *what)
{
    int t = expr(K, c);
    if (t != VM_T_BOOL && t != CT_ERR)
        ERR(c, "%s condition must be bool, got %s", what, comp_type_name(t));
}

static void for_stmt(checker *K, comp_node *n)
{
    int a = expr(K, n->a), b = expr(K, n->b);
    if (a != VM_T_INT && a != CT_ERR)
        ERR(n->a, "range start must be int, got %s", comp_type_name(a));
    if (b != VM_T_INT && b != CT_ERR)
        ERR(n->b, "range end must be int, got %s", comp_type_name(b));
    uint32_t saved_n = K->nlocals, saved_start = K->block_start;
    K->block_start = K->nlocals;
    K->block_depth++;
    n->sym = declare(K, n, n->s, n->len, VM_T_INT, false);
    n->sym->role = SYM_ROLE_LOOP;
    K->loops++;
    block(K, n->c);
    K->loops--;
    K->block_depth--;
    K->nlocals = saved_n;
    K->block_start = saved_start;
}

static void stmt(checker *K, comp_node *n)
{
    switch (n->kind) {
    case N_LET: let_stmt(K, n); break;
    case N_ASSIGN: assign_stmt(K, n); break;
    case N_EXPR:
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
        int want = K->fn->ret;
        if (!n->a) {
            if (want != VM_T_VOID && want != CT_ERR)
                ERR(n, "missing return value: %.*s() returns %s", (int)K->fn->len,
                    K->fn->name, comp_type_name(want));
            break;
        }
        int t = expr(K, n->a);
        if (want == VM_T_VOID)
            ERR(n->a, "%.*s() has no result type, but returns a value", (int)K->fn->len,
                K->fn->name);
        else if (!coerce(n->a, want))
            ERR(n->a, "%.*s() returns %s, not %s", (int)K->fn->len, K->fn->name,
                comp_type_name(want), comp_type_name(t));
        break;
    }
    case N_BLOCK: block(K, n); break;
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
    case N_RETURN: return true;
    case N_BLOCK: return n->n > 0 && terminates(n->list[n->n - 1]);
    case N_IF: return n->c && terminates(n->b) && terminates(n->c);
    case N_WHILE: return n->a->kind == N_BOOL && n->a->i && !has_break(n->b);
    default: return false;
    }
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
    K->block_start = 0;
    K->block_depth = 1;
    comp_node at = {0};
    for (uint32_t i = 0; i < fn->nparams; i++) {
        comp_sym *p = fn->params[i];
        at.line = p->line;
        at.col = p->col;
        if (find_local(K, p->name, p->len, 0))
            ERR(&at, "parameter '%.*s' is declared twice", (int)p->len, p->name);
        K->locals = comp_grow(K->C, K->locals, &K->locals_cap, K->nlocals + 1, sizeof(comp_sym *));
        K->locals[K->nlocals++] = p;
    }
    K->block_start = K->nlocals;
    block(K, fn->body);
    if (fn->ret != VM_T_VOID && fn->ret != CT_ERR && !terminates(fn->body)) {
        at.line = fn->line;
        at.col = fn->col;
        ERR(&at, "%.*s() returns %s, but control can reach the end without a return",
            (int)fn->len, fn->name, comp_type_name(fn->ret));
    }
}

void comp_check(comp *C)
{
    checker state = {0}, *K = &state;
    K->C = C;
    K->fn = C->fns[0];
    K->in_init = true;
    for (uint32_t i = 0; i < C->ntop; i++)
        stmt(K, C->top[i]);
    for (uint32_t i = 1; i < C->nfns; i++) {
        comp_fn *fn = C->fns[i];
        if (fn->len == 4 && memcmp(fn->name, "main", 4) == 0 &&
            (fn->nparams != 0 || fn->ret != VM_T_VOID)) {
            comp_node at = {0};
            at.line = fn->line;
            at.col = fn->col;
            ERR(&at, "main() must take no parameters and return nothing");
        }
        if (is_builtin_name(fn->name, fn->len)) {
            comp_node at = {0};
            at.line = fn->line;
            at.col = fn->col;
            ERR(&at, "'%.*s' is a built-in function and cannot be redefined", (int)fn->len,
                fn->name);
        }
        check_fn(K, fn);
    }
}
