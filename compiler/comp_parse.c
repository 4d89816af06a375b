/*
 * comp_parse.c — recursive-descent parser: tokens to AST.
 *
 * Children of each node kind:
 *   N_UNARY  op a            N_BINARY op a b (also && and ||)
 *   N_CALL   a(list)         N_INDEX  a[b]          N_FIELD a.s
 *   N_INTERP list of N_STR and expressions
 *   N_LET    s, op=1 for var, decl_type, a = initializer or NULL
 *   N_ASSIGN op (T_EQ or a compound), a = target, b = value
 *   N_EXPR a   N_IF a b [c]   N_WHILE a b   N_FOR s a b c, i=1 for ..=
 *   N_RETURN [a]   N_BLOCK list   N_FN fn   N_THROW a
 *   N_TRY b = block, list = N_CATCH clauses (s = variable, a = N_NAME of the
 *         class or NULL for a catch-all, c = block)
 *
 * Precedence follows docs/language.md (Go's table), high to low:
 *   unary - ! ~ ;  * / % << >> & ;  + - | ^ ;  comparisons ;  && ;  ||
 *
 * Errors: the first error in a statement is reported; the parser then
 * skips to the end of the statement and goes on, so one run reports
 * several independent mistakes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp.h"

typedef struct parser {
    comp *C;
    bool panic;
    bool in_template;            /* inside a generic function */
    bool spec_fail;              /* an expect failed (looking ahead at `name<types>(`) */
    const comp_token *bad_tuple; /* ... or a tuple type of 1 or 7+ values: where */
} parser;

static comp_token *peek(parser *P)
{
    return &P->C->toks[P->C->pos];
}
static comp_token *peek2(parser *P)
{
    comp *C = P->C;
    return &C->toks[C->pos + 1 < C->ntoks ? C->pos + 1 : C->pos];
}
static bool check(parser *P, int t)
{
    return peek(P)->type == t;
}
static comp_token *advance(parser *P)
{
    comp_token *t = peek(P);
    if (t->type != T_EOF)
        P->C->pos++;
    return t;
}
static bool match(parser *P, int t)
{
    if (!check(P, t))
        return false;
    advance(P);
    return true;
}

static void error_at(parser *P, const comp_token *t, const char *fmt, const char *arg)
{
    if (P->panic)
        return;
    P->panic = true;
    comp_error(P->C, t->line, t->col, fmt, arg);
}

static const char *describe(const comp_token *t)
{
    if (t->type == T_SEMI && t->auto_semi)
        return "newline";
    return comp_token_name(t->type);
}

static bool expect(parser *P, int type, const char *what)
{
    if (match(P, type))
        return true;
    P->spec_fail = true;
    comp_token *t = peek(P);
    if (!P->panic) {
        P->panic = true;
        comp_error(P->C, t->line, t->col, "expected %s, found %s", what, describe(t));
    }
    return false;
}

static comp_node *node(parser *P, int kind, const comp_token *at)
{
    return comp_node_new(P->C, kind, at->line, at->col);
}

static void add_child(parser *P, comp_node *list_owner, comp_node *child, uint32_t *cap)
{
    list_owner->list =
        comp_grow(P->C, list_owner->list, cap, list_owner->n + 1, sizeof(comp_node *));
    list_owner->list[list_owner->n++] = child;
}

static bool enter(parser *P)
{
    if (++P->C->depth > KILN_MAX_NESTING) {
        error_at(P, peek(P), "program nested too deeply (more than %s levels)",
                 KILN_STR(KILN_MAX_NESTING));
        return false;
    }
    return true;
}
static void leave(parser *P)
{
    P->C->depth--;
}

/* ---- Types ---- */

/* The built-in types a program names, in VM_T_INT .. VM_T_BUFFER order. */
static const char *const KILN_TYPE_NAMES[] = {"int", "float", "bool", "str", "ptr", "Buffer"};

/* After a name *t: `. name` makes it qualified, util.Name. Then *t is the
 * second name, the first is the qualifier (*qs, *qlen), and the result
 * is true. */
static bool qualified_name(parser *P, comp_token **t, const char **qs, uint32_t *qlen)
{
    if (!check(P, T_DOT) || peek2(P)->type != T_IDENT)
        return false;
    *qs = (*t)->s;
    *qlen = (*t)->len;
    advance(P);
    *t = advance(P);
    return true;
}

/* A type written by name: resolved by the checker once classes are known.
 * Each use gets its own entry, which keeps the place diagnostics about it
 * point to; the image's limit applies to the types they resolve to
 * (intern_xtype), and CT_MAX_TNAMES only keeps the ids in an int32_t. */
static int named_type(parser *P, const comp_token *t)
{
    comp *C = P->C;
    if (C->ntnames >= CT_MAX_TNAMES) {
        error_at(P, t, "too many type names%s", "");
        return CT_ERR;
    }
    C->tnames = comp_grow(C, C->tnames, &C->tnames_cap, C->ntnames + 1, sizeof *C->tnames);
    struct comp_tname *tn = &C->tnames[C->ntnames];
    tn->name = t->s;
    tn->len = t->len;
    tn->line = t->line;
    tn->col = t->col;
    tn->qs = NULL;
    tn->targs = NULL;
    tn->ntargs = 0;
    tn->mod = C->mod;
    return CT_NAMED + (int)C->ntnames++;
}

/* The function type fn(params) -> ret written at t. */
static int named_fn_type(parser *P, const comp_token *t, int ret, const int *params, uint32_t n)
{
    comp *C = P->C;
    int at = named_type(P, t);
    if (at != CT_ERR) {
        struct comp_tname *tn = &C->tnames[at - CT_NAMED];
        tn->name = NULL;
        tn->elem = ret;
        tn->val = -2;
        tn->nparams = n;
        tn->params = comp_alloc(C, sizeof(int) * (n ? n : 1));
        memcpy(tn->params, params, sizeof(int) * n);
    }
    return at;
}

static int parse_type_in(parser *P);
static bool is_word(const comp_token *t, const char *w);
static int parse_type(parser *P);
static void type_params(parser *P, struct comp_tparam **tparams, uint32_t *ntparams);

/* The '>' closing a list of type arguments; a '>>' closes two lists, and
 * the second '>' stays for the outer one. */
static bool close_angle(parser *P)
{
    comp_token *t = peek(P);
    if (t->type == T_SHR) {
        t->type = T_GT;
        t->col++;
        return true;
    }
    return expect(P, T_GT, "'>' after the type arguments");
}

/* <A, B> after a type's name, from after the '<'. */
static void type_arg_list(parser *P, int32_t **targs, uint32_t *ntargs)
{
    int args[KILN_MAX_PARAMS];
    uint32_t k = 0;
    do {
        if (k == KILN_MAX_PARAMS) {
            error_at(P, peek(P), "more than %s type arguments", KILN_STR(KILN_MAX_PARAMS));
            return;
        }
        args[k++] = parse_type(P);
    } while (match(P, T_COMMA)); /* not stopped by panic: type_args looks ahead quietly */
    close_angle(P);
    *targs = comp_alloc(P->C, sizeof(int32_t) * k);
    memcpy(*targs, args, sizeof(int32_t) * k);
    *ntargs = k;
}

static int parse_type(parser *P)
{
    if (!enter(P))
        return CT_ERR;
    int t = parse_type_in(P);
    leave(P);
    return t;
}

/* The prelude's class for tuples of n values: "__Tuple<n>". */
static const char *tuple_class(uint32_t n, uint32_t *len)
{
    static const char *const NAMES[] = {"__Tuple2", "__Tuple3", "__Tuple4", "__Tuple5", "__Tuple6"};
    *len = 8;
    return n >= 2 && n <= 6 ? NAMES[n - 2] : NULL;
}

/* chan[T] after `chan`: the prelude's class __Chan<T>, the one type of
 * every channel of T (named chan[T] in messages). */
static int chan_type(parser *P, const comp_token *t)
{
    advance(P); /* chan */
    advance(P); /* [ */
    int32_t *targs = comp_alloc(P->C, sizeof(int32_t));
    targs[0] = parse_type(P);
    expect(P, T_RBRACKET, "']' after the channel's element type");
    int at = named_type(P, t);
    if (at != CT_ERR) {
        struct comp_tname *tn = &P->C->tnames[at - CT_NAMED];
        tn->name = "__Chan";
        tn->len = 6;
        tn->targs = targs;
        tn->ntargs = 1;
    }
    return at;
}

static int parse_type_in(parser *P)
{
    comp_token *t = peek(P);
    if (t->type == T_LPAREN) { /* (A, B): a tuple type */
        advance(P);
        int args[6];
        uint32_t k = 0;
        do {
            int a = parse_type(P);
            if (k < 6)
                args[k] = a;
            k++;
        } while (match(P, T_COMMA)); /* each round takes a comma: it ends (panic or not,
                                        which is also how type_args looks ahead quietly) */
        expect(P, T_RPAREN, "')' after the tuple's types");
        uint32_t len;
        const char *cls = tuple_class(k, &len);
        if (!cls) {
            if (P->panic && !P->bad_tuple) /* looking ahead (type_args): it says so */
                P->bad_tuple = t;
            error_at(P, t, "a tuple has 2 to 6 values%s", "");
            return CT_ERR;
        }
        int at = named_type(P, t);
        if (at != CT_ERR) {
            struct comp_tname *tn = &P->C->tnames[at - CT_NAMED];
            tn->name = cls;
            tn->len = len;
            tn->targs = comp_alloc(P->C, sizeof(int32_t) * k);
            memcpy(tn->targs, args, sizeof(int32_t) * k);
            tn->ntargs = k;
        }
        return at;
    }
    if (t->type == T_LBRACKET) { /* [T] */
        advance(P);
        int elem = parse_type(P);
        expect(P, T_RBRACKET, "']' after the element type");
        int at = named_type(P, t);
        if (at != CT_ERR) {
            P->C->tnames[at - CT_NAMED].name = NULL;
            P->C->tnames[at - CT_NAMED].elem = elem;
            P->C->tnames[at - CT_NAMED].val = -1;
        }
        return at;
    }
    if (t->type == T_LBRACE) { /* {K: V} */
        advance(P);
        int key = parse_type(P);
        expect(P, T_COLON, "':' between the key and value types");
        int val = parse_type(P);
        expect(P, T_RBRACE, "'}' after the value type");
        int at = named_type(P, t);
        if (at != CT_ERR) {
            P->C->tnames[at - CT_NAMED].name = NULL;
            P->C->tnames[at - CT_NAMED].elem = key;
            P->C->tnames[at - CT_NAMED].val = val;
        }
        return at;
    }
    if (t->type == T_FN) { /* fn(A, B) -> R, or fn(A) without result */
        advance(P);
        int params[KILN_MAX_PARAMS];
        uint32_t n = 0;
        expect(P, T_LPAREN, "'(' after fn in a function type");
        if (!check(P, T_RPAREN)) {
            do {
                int pt = parse_type(P);
                if (n == KILN_MAX_PARAMS) {
                    error_at(P, t, "function type has more than %s parameters",
                             KILN_STR(KILN_MAX_PARAMS));
                    return CT_ERR;
                }
                params[n++] = pt;
            } while (match(P, T_COMMA)); /* each round takes a comma: it ends */
        }
        expect(P, T_RPAREN, "')' after the parameter types");
        int ret = match(P, T_ARROW) ? parse_type(P) : VM_T_VOID;
        return named_fn_type(P, t, ret, params, n);
    }
    if (is_word(t, "chan") && peek2(P)->type == T_LBRACKET) /* chan[T] */
        return chan_type(P, t);
    if (!expect(P, T_IDENT, "a type"))
        return CT_ERR;
    const char *qs = NULL;
    uint32_t qlen = 0;
    bool qualified = qualified_name(P, &t, &qs, &qlen); /* util.Name */
    if (!qualified && !check(P, T_LT)) {
        static const int TYPES[] = {VM_T_INT, VM_T_FLOAT, VM_T_BOOL,
                                    VM_T_STR, VM_T_PTR,   VM_T_BUFFER};
        for (int i = 0; i < 6; i++)
            if (t->len == strlen(KILN_TYPE_NAMES[i]) &&
                memcmp(t->s, KILN_TYPE_NAMES[i], t->len) == 0)
                return TYPES[i];
    }
    int at = named_type(P, t);
    int32_t *targs = NULL;
    uint32_t ntargs = 0;
    if (match(P, T_LT)) /* Name<A, B> */
        type_arg_list(P, &targs, &ntargs);
    if (at != CT_ERR) {
        P->C->tnames[at - CT_NAMED].qs = qs;
        P->C->tnames[at - CT_NAMED].qlen = qlen;
        P->C->tnames[at - CT_NAMED].targs = targs;
        P->C->tnames[at - CT_NAMED].ntargs = ntargs;
    }
    return at;
}

/* ---- Expressions ---- */

static comp_node *expression(parser *P);
static bool qualified_name(parser *P, comp_token **t, const char **qs, uint32_t *qlen);
static comp_node *if_statement(parser *P, comp_token *kw);
static comp_node *block(parser *P);
static comp_node *primary(parser *P);
static comp_node *postfix(parser *P);
static comp_sym *param(parser *P, const comp_token *at, const char *name, uint32_t len);
static bool is_word(const comp_token *t, const char *w);
static comp_fn *fn_signature(parser *P, const comp_token *at, comp_class *cls, bool named);
static void add_fn(comp *C, comp_fn *fn);

static comp_node *interpolation(parser *P)
{
    comp_token *first = peek(P);
    comp_node *n = node(P, N_INTERP, first);
    uint32_t cap = 0;
    while (check(P, T_INTERP)) {
        comp_token *t = advance(P);
        comp_node *s = node(P, N_STR, t);
        s->s = t->s;
        s->len = t->len;
        add_child(P, n, s, &cap);
        comp_node *part = expression(P);
        comp_token *spec = peek(P);
        if (match(P, T_FMTSPEC)) { /* ${x:SPEC}: __format(x, "SPEC"), checked by the checker */
            comp_node *call = node(P, N_CALL, spec), *callee = node(P, N_NAME, spec),
                      *text = node(P, N_STR, spec);
            callee->s = "__format";
            callee->len = 8;
            text->s = spec->s;
            text->len = spec->len;
            call->a = callee;
            call->op = 2; /* a format: no program can write this call */
            uint32_t c2 = 0;
            add_child(P, call, part, &c2);
            add_child(P, call, text, &c2);
            part = call;
        }
        add_child(P, n, part, &cap);
        if (P->panic)
            return n;
    }
    comp_token *t = peek(P);
    if (!expect(P, T_STRING, "end of string after interpolation"))
        return n;
    comp_node *s = node(P, N_STR, t);
    s->s = t->s;
    s->len = t->len;
    add_child(P, n, s, &cap);
    return n;
}

/* `match` is a keyword only before what can start its subject (and not
 * '(': match(x) calls a function of that name). */
static bool starts_subject(int t)
{
    return t == T_IDENT || t == T_INT || t == T_FLOAT || t == T_STRING || t == T_INTERP ||
           t == T_TRUE || t == T_FALSE || t == T_SELF || t == T_LBRACKET || t == T_MINUS ||
           t == T_BANG;
}

/* A pattern: _, a literal (a negative number too), Enum.Variant, or
 * Enum.Variant(a, b) binding the payload (each a name or _). */
static comp_node *pattern(parser *P)
{
    comp_token *t = peek(P);
    if (t->type == T_MINUS) {
        advance(P);
        comp_node *n = node(P, N_UNARY, t);
        n->op = T_MINUS;
        n->a = primary(P);
        return n;
    }
    if (t->type != T_IDENT)
        return primary(P); /* a literal; the checker says what is not a pattern */
    advance(P);
    comp_node *n = node(P, N_NAME, t);
    n->s = t->s;
    n->len = t->len;
    comp_node *f = n; /* Enum.Variant, or module.Enum.Variant */
    for (int dots = 0; dots < 2 && match(P, T_DOT); dots++) {
        comp_token *v = peek(P);
        comp_node *g = node(P, N_FIELD, v);
        g->a = f;
        if (expect(P, T_IDENT, "a variant's name")) {
            g->s = v->s;
            g->len = v->len;
        }
        f = g;
    }
    if (f == n)
        return n;
    if (!check(P, T_LPAREN))
        return f;
    comp_node *call = node(P, N_CALL, advance(P));
    call->a = f;
    uint32_t cap = 0;
    if (!check(P, T_RPAREN))
        do {
            comp_token *b = peek(P);
            if (!expect(P, T_IDENT, "a name to bind (or _)"))
                break;
            comp_node *bn = node(P, N_NAME, b);
            bn->s = b->s;
            bn->len = b->len;
            add_child(P, call, bn, &cap);
        } while (match(P, T_COMMA));
    expect(P, T_RPAREN, "')' after the bound names");
    return call;
}

/* An arm `=> return e`, `=> throw e`, `=> break`, `=> continue`: a block
 * of that one statement (its value, if any, ends at the arm's ','); NULL
 * (nothing consumed) for any other arm. */
static comp_node *jump_arm(parser *P)
{
    comp_token *t = peek(P);
    if (t->type != T_RETURN && t->type != T_THROW && t->type != T_BREAK && t->type != T_CONTINUE)
        return NULL;
    advance(P);
    comp_node *s = node(P,
                        t->type == T_RETURN  ? N_RETURN
                        : t->type == T_THROW ? N_THROW
                        : t->type == T_BREAK ? N_BREAK
                                             : N_CONTINUE,
                        t);
    if (t->type == T_THROW ||
        (t->type == T_RETURN && !check(P, T_COMMA) && !check(P, T_SEMI) && !check(P, T_RBRACE)))
        s->a = expression(P);
    comp_node *b = node(P, N_BLOCK, t);
    uint32_t cap = 0;
    add_child(P, b, s, &cap);
    return b;
}

/* match subject { p1, p2 => body, ... }: each body one expression, a
 * block, or a jump (return, throw, break, continue); arms end with ',' or
 * a newline. */
static comp_node *match_expression(parser *P, comp_token *kw)
{
    comp_node *n = node(P, N_MATCH, kw);
    n->a = expression(P);
    if (!expect(P, T_LBRACE, "'{' to open the match"))
        return n;
    uint32_t cap = 0;
    while (!check(P, T_RBRACE) && !check(P, T_EOF) && !P->panic) {
        if (match(P, T_SEMI) || match(P, T_COMMA))
            continue;
        comp_node *arm = node(P, N_ARM, peek(P));
        uint32_t pcap = 0;
        do
            add_child(P, arm, pattern(P), &pcap);
        while (match(P, T_COMMA) && !P->panic);
        if (!expect(P, T_FATARROW, "'=>' after the pattern"))
            break;
        if (check(P, T_LBRACE))
            arm->b = block(P);
        else if (!(arm->b = jump_arm(P)))
            arm->b = expression(P);
        add_child(P, n, arm, &cap);
        if (!check(P, T_RBRACE) && !match(P, T_COMMA) && !match(P, T_SEMI))
            expect(P, T_COMMA, "',' or a newline after a match arm");
    }
    expect(P, T_RBRACE, "'}' to close the match");
    return n;
}

/* chan[T](n) and chan[T](): a new __Chan<T> of capacity n (0: unbuffered);
 * NULL, having read nothing, when what follows `chan[` is not a type, a
 * ']' and a '(' (chan[i] indexes a variable named chan). */
static comp_node *chan_expression(parser *P, comp_token *t)
{
    comp *C = P->C;
    uint32_t pos = C->pos, ntnames = C->ntnames;
    bool panic = P->panic, fail = P->spec_fail;
    P->panic = true; /* quiet while looking ahead */
    P->spec_fail = false;
    advance(P);
    advance(P);
    int elem = parse_type(P);
    bool ok = !P->spec_fail && check(P, T_RBRACKET) && peek2(P)->type == T_LPAREN;
    P->panic = panic;
    P->spec_fail = fail;
    if (!ok) {
        C->pos = pos;
        C->ntnames = ntnames;
        return NULL;
    }
    advance(P); /* ] */
    comp_token *open = advance(P);
    comp_node *callee = node(P, N_NAME, t), *call = node(P, N_CALL, t);
    callee->s = "__Chan";
    callee->len = 6;
    callee->targs = comp_alloc(C, sizeof(int32_t));
    callee->targs[0] = elem;
    callee->ntargs = 1;
    call->a = callee;
    call->targs = callee->targs;
    call->ntargs = 1;
    uint32_t cap = 0;
    if (!check(P, T_RPAREN))
        add_child(P, call, expression(P), &cap);
    else
        add_child(P, call, node(P, N_INT, open), &cap); /* 0: unbuffered */
    expect(P, T_RPAREN, "')' after the channel's capacity");
    return call;
}

/* A function without a name or result yet, written at `at`. */
static comp_fn *new_fn(parser *P, const comp_token *at)
{
    comp_fn *fn = comp_alloc(P->C, sizeof *fn);
    fn->ret = VM_T_VOID;
    fn->name = "<fn>";
    fn->len = 4;
    fn->line = at->line;
    fn->col = at->col;
    return fn;
}

/* A function literal fn() { body } the parser writes (its parameters, if
 * any, added by the caller), declared after those inside it. */
static comp_fn *made_lambda(parser *P, const comp_token *at, comp_node *body, comp_sym **params,
                            uint32_t nparams)
{
    comp_fn *fn = new_fn(P, at);
    fn->ret_omitted = nparams == 0;
    fn->params = params;
    fn->nparams = nparams;
    fn->untyped = nparams > 0; /* typed by the checker (spawn_types) */
    fn->lambda = true;
    fn->in_template = P->in_template;
    fn->body = body;
    add_fn(P->C, fn);
    return fn;
}

static comp_node *lambda_node(parser *P, const comp_token *at, comp_fn *fn)
{
    comp_node *n = node(P, N_LAMBDA, at);
    n->fn = fn;
    return n;
}

/* spawn fn() { ... } is __fiber_spawn(fn() { ... }). spawn f(a, b)
 * evaluates f's arguments here, in the spawning fiber, and calls f in the
 * new one: (fn(x0, x1) { return __fiber_spawn(fn() { f(x0, x1) }) })(a, b),
 * the literal's parameters typed by the checker from the arguments. */
static comp_node *spawn_expression(parser *P, comp_token *kw)
{
    comp *C = P->C;
    advance(P); /* spawn */
    comp_token *at = peek(P);
    comp_node *what = postfix(P);
    comp_node *start = node(P, N_CALL, kw), *callee = node(P, N_NAME, kw);
    callee->s = "__fiber_spawn";
    callee->len = 13;
    start->a = callee;
    start->spawn = true; /* may name the library's native */
    uint32_t cap = 0;
    if (what->kind == N_LAMBDA) {
        add_child(P, start, what, &cap);
        return start;
    }
    if (what->kind != N_CALL || what->op == 2) {
        if (!P->panic)
            error_at(P, at, "spawn takes a call, f(...), or a function literal, fn() { ... }%s",
                     "");
        return node(P, N_NULL, kw);
    }
    /* the call, in the new fiber, of the arguments the outer literal took */
    comp_sym **params = NULL;
    uint32_t nparams = 0;
    comp_node *inner_call = node(P, N_CALL, at);
    inner_call->a = what->a;
    inner_call->targs = what->targs;
    inner_call->ntargs = what->ntargs;
    uint32_t pcap = 0, icap = 0;
    for (uint32_t i = 0; i < what->n; i++) {
        char *name = comp_alloc(C, 24);
        uint32_t len = (uint32_t)snprintf(name, 24, "(spawn %u)", i); /* no program can say it */
        params = comp_grow(C, params, &pcap, nparams + 1, sizeof(comp_sym *));
        comp_sym *p = param(P, at, name, len);
        p->type = CT_NULL;
        params[nparams++] = p;
        comp_node *ref = node(P, N_NAME, at);
        ref->s = name;
        ref->len = len;
        add_child(P, inner_call, ref, &icap);
    }
    comp_node *stmt = node(P, N_EXPR, at), *inner_body = node(P, N_BLOCK, at);
    stmt->a = inner_call;
    uint32_t bcap = 0;
    add_child(P, inner_body, stmt, &bcap);
    comp_node *ret = node(P, N_RETURN, kw), *outer_body = node(P, N_BLOCK, kw);
    ret->a = start;
    bcap = 0;
    add_child(P, outer_body, ret, &bcap);
    add_child(P, start, lambda_node(P, at, made_lambda(P, at, inner_body, NULL, 0)), &cap);
    comp_fn *outer = made_lambda(P, kw, outer_body, params, nparams);
    outer->ret_omitted = false; /* -> Fiber: spawn_types */
    comp_node *call = node(P, N_CALL, kw);
    call->a = lambda_node(P, kw, outer);
    call->list = what->list;
    call->n = what->n;
    call->spawn = true;
    return call;
}

static comp_node *primary(parser *P)
{
    comp_token *t = peek(P);
    comp_node *n;
    switch (t->type) {
    case T_INT:
        advance(P);
        n = node(P, N_INT, t);
        n->i = (int64_t)t->v.i;
        /* 9223372036854775808 is valid only negated: unary() clears this. */
        n->op = !t->hex && t->v.i > (uint64_t)INT64_MAX;
        return n;
    case T_FLOAT:
        advance(P);
        n = node(P, N_FLOAT, t);
        n->f = t->v.f;
        return n;
    case T_TRUE:
    case T_FALSE:
        advance(P);
        n = node(P, N_BOOL, t);
        n->i = t->type == T_TRUE;
        return n;
    case T_NULL: advance(P); return node(P, N_NULL, t);
    case T_STRING:
        advance(P);
        n = node(P, N_STR, t);
        n->s = t->s;
        n->len = t->len;
        return n;
    case T_INTERP: return interpolation(P);
    case T_IDENT:
        if (is_word(t, "spawn") &&
            (peek2(P)->type == T_IDENT || peek2(P)->type == T_FN || peek2(P)->type == T_SELF))
            return spawn_expression(P, t);
        if (is_word(t, "chan") && peek2(P)->type == T_LBRACKET && (n = chan_expression(P, t)))
            return n;
        if (is_word(t, "match") && starts_subject(peek2(P)->type)) {
            advance(P);
            if (!enter(P))
                return node(P, N_NULL, t);
            n = match_expression(P, t);
            leave(P);
            return n;
        }
        advance(P);
        n = node(P, N_NAME, t);
        n->s = t->s;
        n->len = t->len;
        return n;
    case T_LPAREN: {
        advance(P);
        n = expression(P);
        if (check(P, T_COMMA)) { /* (a, b): a tuple, made by its prelude class */
            comp_node *call = node(P, N_CALL, t), *callee = node(P, N_NAME, t);
            uint32_t cap = 0;
            add_child(P, call, n, &cap);
            while (match(P, T_COMMA) && !P->panic)
                add_child(P, call, expression(P), &cap);
            uint32_t len;
            const char *cls = tuple_class(call->n, &len);
            if (!cls && !P->panic) {
                P->panic = true;
                comp_error(P->C, t->line, t->col, "a tuple has 2 to 6 values");
            }
            callee->s = cls ? cls : "__Tuple2";
            callee->len = 8;
            call->a = callee;
            n = call;
        }
        expect(P, T_RPAREN, "')'");
        return n;
    }
    case T_SELF: advance(P); return node(P, N_SELF, t);
    case T_SUPER: {
        advance(P);
        n = node(P, N_SUPER, t);
        expect(P, T_DOT, "'.' after super");
        comp_token *name = peek(P);
        if (expect(P, T_IDENT, "a method name after 'super.'")) {
            n->s = name->s;
            n->len = name->len;
        }
        if (!check(P, T_LPAREN))
            error_at(P, peek(P), "super.%s must be called", "method");
        return n;
    }
    case T_LBRACKET: { /* [a, b, c]  [v; n]  [] */
        advance(P);
        n = node(P, N_ARRAY, t);
        uint32_t cap = 0;
        if (!check(P, T_RBRACKET)) {
            add_child(P, n, expression(P), &cap);
            if (check(P, T_SEMI) && !peek(P)->auto_semi) {
                advance(P);
                n->op = 1; /* repeat: list[0] copies, count in b */
                n->b = expression(P);
            } else {
                while (match(P, T_COMMA) && !check(P, T_RBRACKET) && !P->panic)
                    add_child(P, n, expression(P), &cap);
            }
        }
        expect(P, T_RBRACKET, "']' to close the array");
        return n;
    }
    case T_LBRACE: { /* {k: v, ...}  {} */
        advance(P);
        n = node(P, N_MAP, t);
        uint32_t cap = 0;
        while (!check(P, T_RBRACE) && !P->panic) {
            add_child(P, n, expression(P), &cap);
            expect(P, T_COLON, "':' between a key and its value");
            add_child(P, n, expression(P), &cap);
            if (!match(P, T_COMMA))
                break;
        }
        expect(P, T_RBRACE, "'}' to close the map");
        return n;
    }
    case T_IF: /* if c { a } else { b }: an expression when each arm is one */
        advance(P);
        if (!enter(P))
            return node(P, N_NULL, t);
        n = if_statement(P, t);
        leave(P);
        n->op = 1;
        return n;
    case T_FN: { /* fn(a: A) -> R { ... }: a function literal */
        advance(P);
        n = node(P, N_LAMBDA, t);
        n->fn = fn_signature(P, t, NULL, false);
        n->fn->lambda = true;
        n->fn->in_template = P->in_template;
        if (!P->panic)
            add_fn(P->C, n->fn);
        return n;
    }
    default:
        if (!P->panic) {
            P->panic = true;
            const comp_token *prev = P->C->pos ? &P->C->toks[P->C->pos - 1] : NULL;
            if (t->type == T_ELSE)
                comp_error(P->C, t->line, t->col,
                           "'else' must be on the line of the '}' before it (a newline ends "
                           "the if statement)");
            else if (t->type == T_DOT && prev && prev->type == T_SEMI && prev->auto_semi)
                comp_error(P->C, t->line, t->col,
                           "a line cannot start with '.': a newline ends the statement before "
                           "it, so end that line with the '.' instead");
            else if ((t->type == T_PLUS || t->type == T_MINUS) && prev && prev->type == t->type)
                comp_error(P->C, prev->line, prev->col, "Kiln has no %s operator: write x %s= 1",
                           t->type == T_PLUS ? "++" : "--", t->type == T_PLUS ? "+" : "-");
            else
                comp_error(P->C, t->line, t->col, "expected an expression, found %s", describe(t));
        }
        return node(P, N_NULL, t);
    }
}

/* name<T, U>( : explicit type arguments of a generic call, if what
 * follows the '<' at the current token reads as types, a '>' and a '('
 * (or a '.': Option<int>.None; or anything, after `is` and `as`: x as
 * Box<int>); else it is a comparison, and nothing is consumed. */
static bool type_args_of(parser *P, comp_node *n, bool any_after)
{
    comp *C = P->C;
    uint32_t pos = C->pos, ntnames = C->ntnames;
    bool panic = P->panic, fail = P->spec_fail;
    P->panic = true; /* quiet while looking ahead */
    P->spec_fail = false;
    P->bad_tuple = NULL;
    advance(P);
    int args[KILN_MAX_PARAMS];
    uint32_t k = 0;
    do {
        if (k == KILN_MAX_PARAMS) {
            P->spec_fail = true;
            break;
        }
        args[k++] = parse_type(P);
    } while (!P->spec_fail && match(P, T_COMMA));
    bool ok =
        !P->spec_fail && check(P, T_GT) &&
        (any_after || peek2(P)->type == T_LPAREN || peek2(P)->type == T_DOT); /* Option<int>.None */
    P->panic = panic;
    P->spec_fail = fail;
    const comp_token *bad = P->bad_tuple;
    P->bad_tuple = NULL;
    if (!ok) {
        C->pos = pos;
        C->ntnames = ntnames;
        return false;
    }
    if (bad) /* quiet while looking ahead: said now that they are types */
        error_at(P, bad, "a tuple has 2 to 6 values%s", "");
    advance(P);
    n->targs = comp_alloc(C, sizeof(int) * k);
    memcpy(n->targs, args, sizeof(int) * k);
    n->ntargs = k;
    return true;
}

static bool type_args(parser *P, comp_node *n)
{
    return type_args_of(P, n, false);
}

/* A float token d.d (single digits below 6): t.0.1 lexes so. The two
 * digits, from its value. */
static bool is_pair_index(const comp_token *t, char *a, char *b)
{
    double tenths = t->v.f * 10;
    if (!(tenths >= 0 && tenths <= 55.5)) /* NaN, huge: no pair (and no cast of it) */
        return false;
    int k = (int)(tenths + 0.5);
    if (k < 0 || k > 55 || tenths - k > 1e-9 || k - tenths > 1e-9 || k / 10 > 5 || k % 10 > 5)
        return false;
    *a = (char)('0' + k / 10);
    *b = (char)('0' + k % 10);
    return true;
}

static comp_node *postfix(parser *P)
{
    comp_node *n = primary(P);
    int entered = 0;
    for (;; entered++) {
        comp_token *t = peek(P);
        if (t->type == T_LPAREN || t->type == T_LBRACKET || t->type == T_DOT || t->type == T_IS ||
            t->type == T_AS) {
            if (!enter(P))
                break;
        }
        if (t->type == T_LT && (n->kind == N_NAME || n->kind == N_FIELD) && type_args(P, n)) {
            entered--;
            continue;
        } else if (match(P, T_LPAREN)) {
            comp_node *call = node(P, N_CALL, t);
            call->a = n;
            call->targs = n->targs;
            call->ntargs = n->ntargs;
            uint32_t cap = 0;
            if (!check(P, T_RPAREN)) {
                do {
                    add_child(P, call, expression(P), &cap);
                } while (match(P, T_COMMA) && !P->panic);
            }
            expect(P, T_RPAREN, "')' after arguments");
            call->line = n->line; /* a call is reported where its callee starts */
            call->col = n->col;
            n = call;
        } else if (match(P, T_LBRACKET)) {
            comp_node *ix = node(P, N_INDEX, t);
            ix->a = n;
            ix->b = expression(P);
            expect(P, T_RBRACKET, "']'");
            n = ix;
        } else if (match(P, T_DOT)) {
            comp_token *name = peek(P);
            char d1, d2;
            comp_node *f = node(P, N_FIELD, name);
            f->a = n;
            if (name->type == T_INT && !name->hex && name->v.i < 6) { /* t.0: field _0 */
                advance(P);
                char *fname = comp_alloc(P->C, 3);
                fname[0] = '_';
                fname[1] = (char)('0' + name->v.i);
                f->s = fname;
                f->len = 2;
            } else if (name->type == T_FLOAT && is_pair_index(name, &d1, &d2)) { /* t.0.1 */
                advance(P);
                char *a = comp_alloc(P->C, 3), *b = comp_alloc(P->C, 3);
                a[0] = b[0] = '_';
                a[1] = d1;
                b[1] = d2;
                f->s = a;
                f->len = 2;
                comp_node *g = node(P, N_FIELD, name);
                g->a = f;
                g->s = b;
                g->len = 2;
                f = g;
            } else if (expect(P, T_IDENT, "a name after '.'")) {
                f->s = name->s;
                f->len = name->len;
            }
            n = f;
        } else if (t->type == T_IS || t->type == T_AS) {
            advance(P);
            comp_node *x = node(P, t->type == T_IS ? N_IS : N_AS, t);
            x->a = n;
            comp_token *name = peek(P);
            if (expect(P, T_IDENT, "a class name")) {
                /* x as util.C is told from (x as C).f by the checker */
                x->s = name->s;
                x->len = name->len;
                if (check(P, T_LT)) /* x as Box<int> */
                    type_args_of(P, x, true);
            }
            n = x;
        } else {
            break;
        }
        if (P->panic) {
            entered++;
            break;
        }
    }
    P->C->depth -= entered;
    return n;
}

static comp_node *unary(parser *P)
{
    comp_token *t = peek(P);
    if (t->type == T_MINUS || t->type == T_BANG || t->type == T_TILDE) {
        advance(P);
        if (!enter(P))
            return node(P, N_NULL, t);
        comp_node *operand = unary(P);
        leave(P);
        /* -9223372036854775808 is a literal, not the negation of one that
         * does not fit. */
        if (t->type == T_MINUS && (operand->kind == N_INT || operand->kind == N_FLOAT)) {
            operand->i = (int64_t)(0 - (uint64_t)operand->i);
            operand->f = -operand->f;
            operand->op = 0;
            operand->line = t->line;
            operand->col = t->col;
            return operand;
        }
        comp_node *n = node(P, N_UNARY, t);
        n->op = t->type;
        n->a = operand;
        return n;
    }
    return postfix(P);
}

static int precedence(int t)
{
    switch (t) {
    case T_STAR:
    case T_SLASH:
    case T_PERCENT:
    case T_SHL:
    case T_SHR:
    case T_AMP: return 5;
    case T_PLUS:
    case T_MINUS:
    case T_PIPE:
    case T_CARET: return 4;
    case T_EQEQ:
    case T_NE:
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE: return 3;
    case T_ANDAND: return 2;
    case T_OROR: return 1;
    default: return 0;
    }
}

/* Each operator of a chain (a + b + c ...) makes the tree one level
 * deeper, and the passes after the parser recurse once per level, so every
 * level counts against KILN_MAX_NESTING, not just brackets. */
static comp_node *binary(parser *P, int min_prec)
{
    int entered = 1;
    if (!enter(P))
        return node(P, N_NULL, peek(P));
    comp_node *left = unary(P);
    for (;;) {
        comp_token *t = peek(P);
        int prec = precedence(t->type);
        if (prec == 0 || prec < min_prec || P->panic)
            break;
        if (!enter(P))
            break;
        entered++;
        advance(P);
        comp_node *n = node(P, N_BINARY, t);
        n->op = t->type;
        n->a = left;
        n->b = binary(P, prec + 1);
        left = n;
    }
    P->C->depth -= entered;
    return left;
}

static comp_node *expression(parser *P)
{
    return binary(P, 1);
}

/* ---- Statements ---- */

static comp_node *statement(parser *P);

static void end_statement(parser *P)
{
    /* After an error the caller resynchronizes at the next ';': consuming
     * it here would make the resync skip the following statement. */
    if (P->panic || check(P, T_RBRACE) || check(P, T_EOF))
        return;
    /* A type's '>' ends a line without a ';' inserted (the lexer cannot
     * tell it from a comparison's): var b: Box<int> then a newline. */
    const comp_token *prev = P->C->pos ? &P->C->toks[P->C->pos - 1] : NULL;
    if (prev && prev->type == T_GT && peek(P)->line > prev->line)
        return;
    expect(P, T_SEMI, "newline or ';' after statement");
}

static comp_node *block(parser *P)
{
    comp_token *t = peek(P);
    comp_node *b = node(P, N_BLOCK, t);
    if (!expect(P, T_LBRACE, "'{'"))
        return b;
    if (!enter(P))
        return b;
    uint32_t cap = 0;
    while (!check(P, T_RBRACE) && !check(P, T_EOF)) {
        if (match(P, T_SEMI))
            continue;
        add_child(P, b, statement(P), &cap);
        if (P->panic) { /* resynchronize at the end of the statement */
            while (!check(P, T_SEMI) && !check(P, T_RBRACE) && !check(P, T_EOF))
                advance(P);
            match(P, T_SEMI);
            P->panic = false;
        }
    }
    leave(P);
    expect(P, T_RBRACE, "'}'");
    return b;
}

/* let (a, b) = e: a statement sequence (N_BLOCK, op 2: no scope of its
 * own) of `let <tmp> = e` and `let a = <tmp>._0`, `let b = <tmp>._1`. */
static comp_node *destructure(parser *P, comp_token *kw)
{
    comp *C = P->C;
    comp_node *seq = node(P, N_BLOCK, kw);
    seq->op = 2;
    comp_token *open = advance(P);
    comp_node *tmp = node(P, N_LET, open);
    char *tname = comp_alloc(C, 24);
    tmp->len = (uint32_t)snprintf(tname, 24, "(tuple %u)", C->ntemps++); /* no name can say it */
    tmp->s = tname;
    uint32_t cap = 0;
    add_child(P, seq, tmp, &cap);
    uint32_t k = 0;
    do {
        comp_token *name = peek(P);
        if (!expect(P, T_IDENT, "a variable name"))
            return seq;
        comp_node *v = node(P, N_LET, name);
        v->op = kw->type == T_VAR;
        v->s = name->s;
        v->len = name->len;
        comp_node *ref = node(P, N_NAME, name), *f = node(P, N_FIELD, name);
        ref->s = tmp->s;
        ref->len = tmp->len;
        char *fname = comp_alloc(C, 4);
        snprintf(fname, 4, "_%u", k < 9 ? k : 9);
        f->a = ref;
        f->s = fname;
        f->len = 2;
        v->a = f;
        add_child(P, seq, v, &cap);
        k++;
    } while (match(P, T_COMMA) && !P->panic);
    expect(P, T_RPAREN, "')' after the names");
    expect(P, T_EQ, "'=' and a tuple");
    tmp->a = expression(P);
    tmp->i = k; /* the checker wants a tuple of k values */
    return seq;
}

static comp_node *let_statement(parser *P, comp_token *kw)
{
    if (check(P, T_LPAREN))
        return destructure(P, kw);
    comp_node *n = node(P, N_LET, kw);
    n->op = kw->type == T_VAR;
    comp_token *name = peek(P);
    if (!expect(P, T_IDENT, "a variable name"))
        return n;
    n->s = name->s;
    n->len = name->len;
    n->line = name->line;
    n->col = name->col;
    if (match(P, T_COLON))
        n->decl_type = parse_type(P);
    if (match(P, T_EQ))
        n->a = expression(P);
    return n;
}

static comp_node *if_statement(parser *P, comp_token *kw)
{
    comp_node *n = node(P, N_IF, kw);
    n->a = expression(P);
    n->b = block(P);
    if (match(P, T_ELSE)) {
        comp_token *t = peek(P);
        if (match(P, T_IF)) {
            if (!enter(P)) /* an else-if chain nests like brackets */
                return n;
            n->c = if_statement(P, t);
            leave(P);
        } else {
            n->c = block(P);
        }
    }
    return n;
}

/* At a '(' after `in`: is it (a..b) or (a..=b), a range in parentheses
 * (to take .step)? Looks at the tokens only, up to the matching ')'. */
static bool stepped_range(parser *P)
{
    comp *C = P->C;
    int depth = 0;
    for (uint32_t i = C->pos; i < C->ntoks; i++) {
        int t = C->toks[i].type;
        if (t == T_LPAREN || t == T_LBRACKET || t == T_LBRACE)
            depth++;
        else if (t == T_RPAREN || t == T_RBRACKET || t == T_RBRACE)
            depth--;
        else if (depth == 1 && (t == T_DOTDOT || t == T_DOTDOTEQ))
            return true;
        if (depth <= 0 || t == T_EOF)
            return false;
    }
    return false;
}

static comp_node *for_statement(parser *P, comp_token *kw)
{
    comp_node *n = node(P, N_FOR, kw);
    comp_token *name = peek(P);
    if (!expect(P, T_IDENT, "a loop variable name"))
        return n;
    n->s = name->s;
    n->len = name->len;
    if (match(P, T_COMMA)) { /* for k, v in map: the value variable in list[0] */
        comp_token *vn = peek(P);
        if (!expect(P, T_IDENT, "the value variable's name"))
            return n;
        uint32_t cap = 0;
        comp_node *v = node(P, N_NAME, vn);
        v->s = vn->s;
        v->len = vn->len;
        add_child(P, n, v, &cap);
    }
    expect(P, T_IN, "'in'");
    if (check(P, T_LPAREN) && stepped_range(P)) { /* (a..b).step(s) */
        advance(P);
        n->a = expression(P);
        n->i = match(P, T_DOTDOTEQ);
        if (!n->i)
            expect(P, T_DOTDOT, "'..' or '..='");
        n->b = expression(P);
        expect(P, T_RPAREN, "')' after the range");
        expect(P, T_DOT, "'.step(...)' after a range in parentheses");
        comp_token *st = peek(P);
        if (expect(P, T_IDENT, "step") && (st->len != 4 || memcmp(st->s, "step", 4)) && !P->panic) {
            P->panic = true;
            comp_error(P->C, st->line, st->col, "a range in parentheses takes .step(n), not .%.*s",
                       (int)(st->len > 40 ? 40 : st->len), st->s);
        }
        expect(P, T_LPAREN, "'(' after step");
        if (n->n && !P->panic) { /* for a, b in (...).step(s) */
            P->panic = true;
            comp_error(P->C, n->list[0]->line, n->list[0]->col,
                       "a range gives one loop variable, not two");
        }
        n->n = 0;
        uint32_t cap = 0;
        add_child(P, n, expression(P), &cap); /* the step, in list[0] */
        expect(P, T_RPAREN, "')' after the step");
        n->op = 1;
        n->c = block(P);
        return n;
    }
    n->a = expression(P);
    if (match(P, T_DOTDOTEQ)) {
        n->i = 1;
        n->b = expression(P);
    } else if (match(P, T_DOTDOT)) {
        n->b = expression(P);
    } /* else: for x in array, n->b stays NULL */
    n->c = block(P);
    return n;
}

/* try { } catch e: Class { } ... catch e { } */
static bool is_word(const comp_token *t, const char *w);

static comp_node *try_statement(parser *P, comp_token *kw)
{
    comp_node *n = node(P, N_TRY, kw);
    n->b = block(P);
    uint32_t cap = 0;
    while (check(P, T_CATCH) && !P->panic) {
        comp_token *t = advance(P);
        comp_node *c = node(P, N_CATCH, t);
        comp_token *name = peek(P);
        if (!expect(P, T_IDENT, "the caught error's variable name"))
            break;
        c->s = name->s;
        c->len = name->len;
        if (match(P, T_COLON)) {
            comp_token *cls = peek(P);
            if (!expect(P, T_IDENT, "an error class name"))
                break;
            const char *qs = NULL;
            uint32_t qlen = 0;
            qualified_name(P, &cls, &qs, &qlen);
            c->a = node(P, N_NAME, cls);
            c->a->qs = qs;
            c->a->qlen = qlen;
            c->a->s = cls->s;
            c->a->len = cls->len;
        }
        c->c = block(P);
        add_child(P, n, c, &cap);
    }
    comp_token *fin = peek(P);
    if (!P->panic && is_word(fin, "finally") && peek2(P)->type == T_LBRACE) {
        advance(P);
        n->c = block(P); /* runs however the try is left */
    }
    if (n->n == 0 && !n->c && !P->panic)
        error_at(P, peek(P), "try needs a catch or a finally clause%s", "");
    return n;
}

static bool is_assign_op(int t)
{
    return t == T_EQ || (t >= T_PLUS_EQ && t <= T_SHR_EQ);
}

static comp_node *fn_declaration(parser *P, comp_token *kw, comp_class *cls);

static comp_node *statement(parser *P)
{
    comp_token *t = peek(P);
    comp_node *n;
    switch (t->type) {
    case T_LET:
    case T_VAR:
        advance(P);
        n = let_statement(P, t);
        end_statement(P);
        return n;
    case T_IF:
        advance(P);
        n = if_statement(P, t);
        end_statement(P);
        return n;
    case T_WHILE:
        advance(P);
        n = node(P, N_WHILE, t);
        n->a = expression(P);
        n->b = block(P);
        end_statement(P);
        return n;
    case T_FOR:
        advance(P);
        n = for_statement(P, t);
        end_statement(P);
        return n;
    case T_BREAK:
    case T_CONTINUE:
        advance(P);
        n = node(P, t->type == T_BREAK ? N_BREAK : N_CONTINUE, t);
        end_statement(P);
        return n;
    case T_RETURN:
        advance(P);
        n = node(P, N_RETURN, t);
        if (!check(P, T_SEMI) && !check(P, T_RBRACE) && !check(P, T_EOF))
            n->a = expression(P);
        end_statement(P);
        return n;
    case T_LBRACE:
        n = block(P);
        end_statement(P);
        return n;
    case T_FN:
        if (peek2(P)->type == T_IDENT) {
            advance(P);
            n = fn_declaration(P, t, NULL);
            error_at(P, t, "functions can only be declared at top level%s", "");
            return n;
        }
        break;
    case T_CLASS: {
        error_at(P, t, "classes can only be declared at top level%s", "");
        /* Skip the whole declaration, body included, so that its inside
         * does not read as statements and raise errors of its own. */
        advance(P);
        while (!check(P, T_LBRACE) && !check(P, T_SEMI) && !check(P, T_RBRACE) && !check(P, T_EOF))
            advance(P);
        for (int depth = 0; !check(P, T_EOF);) {
            comp_token *k = advance(P);
            depth += k->type == T_LBRACE ? 1 : k->type == T_RBRACE ? -1 : 0;
            if (depth <= 0)
                break;
        }
        return node(P, N_BLOCK, t);
    }
    case T_THROW:
        advance(P);
        n = node(P, N_THROW, t);
        n->a = expression(P);
        end_statement(P);
        return n;
    case T_TRY:
        advance(P);
        n = try_statement(P, t);
        end_statement(P);
        return n;
    case T_IMPORT:
        error_at(P, t, "import must be at the top level of a file%s", "");
        advance(P);
        return node(P, N_BLOCK, t);
    default: break;
    }
    comp_node *e = expression(P);
    comp_token *op = peek(P);
    if (is_assign_op(op->type)) {
        advance(P);
        n = node(P, N_ASSIGN, op);
        n->op = op->type;
        n->a = e;
        n->b = expression(P);
    } else {
        n = node(P, N_EXPR, t);
        n->a = e;
    }
    end_statement(P);
    return n;
}

static comp_sym *param(parser *P, const comp_token *at, const char *name, uint32_t len)
{
    comp_sym *s = comp_alloc(P->C, sizeof *s);
    s->name = name;
    s->len = len;
    s->line = at->line;
    s->col = at->col;
    s->kind = SYM_LOCAL;
    s->role = SYM_ROLE_PARAM;
    return s;
}

/* <T, U: Bound> after a function's name, from after the '<'. */
static void type_params(parser *P, struct comp_tparam **tparams, uint32_t *ntparams)
{
    comp *C = P->C;
    uint32_t cap = 0;
    do {
        comp_token *t = peek(P);
        if (!expect(P, T_IDENT, "a type parameter's name"))
            return;
        *tparams = comp_grow(C, *tparams, &cap, *ntparams + 1, sizeof **tparams);
        struct comp_tparam *tp = &(*tparams)[(*ntparams)++];
        memset(tp, 0, sizeof *tp);
        tp->name = t->s;
        tp->len = t->len;
        for (size_t i = 0; i < sizeof KILN_TYPE_NAMES / sizeof KILN_TYPE_NAMES[0]; i++)
            if (t->len == strlen(KILN_TYPE_NAMES[i]) && !memcmp(t->s, KILN_TYPE_NAMES[i], t->len))
                comp_error(C, t->line, t->col, "a type parameter cannot be named %.*s (a type)",
                           (int)t->len, t->s);
        tp->line = t->line;
        tp->col = t->col;
        for (uint32_t i = 0; i + 1 < *ntparams; i++)
            if ((*tparams)[i].len == t->len && !memcmp((*tparams)[i].name, t->s, t->len))
                comp_error(C, t->line, t->col, "type parameter '%.*s' is declared twice",
                           (int)t->len, t->s);
        tp->mod = C->mod;
        if (match(P, T_COLON)) {
            comp_token *b = peek(P);
            if (!expect(P, T_IDENT, "an interface after ':'"))
                return;
            qualified_name(P, &b, &tp->bqs, &tp->bqlen); /* T: util.Shape */
            tp->bound = b->s;
            tp->blen = b->len;
            tp->bline = b->line;
            tp->bcol = b->col;
        }
        if (*ntparams > KILN_MAX_PARAMS) {
            error_at(P, t, "more than %s type parameters", KILN_STR(KILN_MAX_PARAMS));
            return;
        }
    } while (match(P, T_COMMA));
    expect(P, T_GT, "'>' after the type parameters");
}

/* A function's parameters, result type and body, from its '(' on; with
 * `cls` a method, which takes self first (typed by the checker). */
static comp_fn *fn_signature(parser *P, const comp_token *at, comp_class *cls, bool named)
{
    comp *C = P->C;
    comp_fn *fn = new_fn(P, at);
    fn->cls = cls;
    if (named) {
        comp_token *name = peek(P);
        if (!expect(P, T_IDENT, "a function name"))
            return fn;
        fn->name = name->s;
        fn->len = name->len;
        fn->line = name->line;
        fn->col = name->col;
        if (match(P, T_LT))
            type_params(P, &fn->tparams, &fn->ntparams);
    }
    bool outer_template = P->in_template;
    P->in_template |= fn->ntparams > 0;
    expect(P, T_LPAREN, "'('");
    uint32_t cap = 0;
    if (cls) {
        fn->params = comp_grow(C, fn->params, &cap, 1, sizeof(comp_sym *));
        fn->params[fn->nparams++] = param(P, at, "self", 4);
    }
    if (!check(P, T_RPAREN)) {
        do {
            comp_token *pn = peek(P);
            if (!expect(P, T_IDENT, "a parameter name"))
                break;
            comp_sym *s = param(P, pn, pn->s, pn->len);
            if (!named && !cls && !check(P, T_COLON)) {
                s->type = CT_NULL; /* fn(x) { ... }: its type comes from the context */
                fn->untyped = true;
            } else {
                expect(P, T_COLON, "':' and the parameter's type");
                s->type = parse_type(P);
            }
            fn->params = comp_grow(C, fn->params, &cap, fn->nparams + 1, sizeof(comp_sym *));
            fn->params[fn->nparams++] = s;
        } while (match(P, T_COMMA) && !P->panic);
    }
    expect(P, T_RPAREN, "')' after parameters");
    if (match(P, T_ARROW))
        fn->ret = parse_type(P);
    else
        fn->ret_omitted = true;
    if (!P->panic)
        fn->body = block(P);
    P->in_template = outer_template;
    return fn;
}

/* A function, or with `cls` a method. */
static comp_node *fn_declaration(parser *P, comp_token *kw, comp_class *cls)
{
    comp_node *n = node(P, N_FN, kw);
    n->fn = fn_signature(P, peek(P), cls, true);
    if (!n->fn->body)
        n->fn->name = NULL; /* no name or no body: not declared */
    return n;
}

static void add_fn(comp *C, comp_fn *fn)
{
    fn->prelude = C->in_prelude;
    fn->mod = C->mod;
    fn->index = C->nfns;
    C->fns = comp_grow(C, C->fns, &C->fns_cap, C->nfns + 1, sizeof(comp_fn *));
    C->fns[C->nfns++] = fn;
}

static void field_declaration(parser *P, comp_class *c, comp_token *name)
{
    comp *C = P->C;
    c->own = comp_grow(C, c->own, &c->own_cap, c->nown + 1, sizeof(comp_field));
    comp_field *f = &c->own[c->nown++];
    memset(f, 0, sizeof *f);
    f->name = name->s;
    f->len = name->len;
    f->line = name->line;
    f->col = name->col;
    expect(P, T_COLON, "':' and the field's type");
    f->type = parse_type(P);
    if (match(P, T_EQ))
        f->init = expression(P);
    end_statement(P);
}

/* Class c, parsed, is a top-level name of the current module. */
static void declare_class(comp *C, comp_class *c)
{
    uint32_t klen;
    const char *key = comp_key(C, C->mod, c->name, c->len, &klen);
    int32_t was = comp_map_get(&C->class_map, key, klen);
    if (was >= 0 && !(!C->in_prelude && comp_class_hideable(C, C->classes[was]))) {
        comp_error(C, c->line, c->col, "class '%.*s' is already defined", (int)c->len, c->name);
        return;
    }
    /* A program's class may take the name of one of the library's (File,
     * TimeoutError...): the program's code sees its own; the prelude's
     * code keeps its own under "#name" (comp_find_class). */
    comp_map_put(C, &C->class_map, key, klen, (int32_t)C->nclasses);
    if (C->in_prelude && c->len < 64) {
        char *k = comp_alloc(C, c->len + 1);
        k[0] = '#';
        memcpy(k + 1, c->name, c->len);
        comp_map_put(C, &C->class_map, k, c->len + 1, (int32_t)C->nclasses);
    }
    C->classes = comp_grow(C, C->classes, &C->classes_cap, C->nclasses + 1, sizeof(comp_class *));
    C->classes[C->nclasses++] = c;
}

/* The name of a class or an enum and its type parameters: a new class,
 * or NULL after reporting. */
static comp_class *class_head(parser *P, const char *what)
{
    comp *C = P->C;
    comp_token *name = peek(P);
    if (!expect(P, T_IDENT, what))
        return NULL;
    comp_class *c = comp_alloc(C, sizeof *c);
    c->name = name->s;
    c->len = name->len;
    c->line = name->line;
    c->col = name->col;
    c->prelude = C->in_prelude;
    c->mod = C->mod;
    c->tuple = C->in_prelude && c->len == 8 && !memcmp(c->name, "__Tuple", 7);
    if (match(P, T_LT))
        type_params(P, &c->tparams, &c->ntparams);
    return c;
}

/* Method fn, parsed, belongs to class c. */
static void add_method(comp *C, comp_class *c, comp_fn *fn)
{
    c->methods = comp_grow(C, c->methods, &c->methods_cap, c->nmethods + 1, sizeof(comp_fn *));
    c->methods[c->nmethods++] = fn;
    add_fn(C, fn);
}

/* class Name [: Super] { fields and methods } */
static void class_declaration(parser *P, comp_token *kw)
{
    comp *C = P->C;
    (void)kw;
    comp_class *c = class_head(P, "a class name");
    if (!c)
        return;
    bool outer_template = P->in_template;
    P->in_template |= c->ntparams > 0;
    if (match(P, T_COLON)) { /* a superclass, then interfaces; or interfaces alone */
        uint32_t cap = 0;
        do {
            comp_token *sup = peek(P);
            if (!expect(P, T_IDENT, "a superclass's or an interface's name"))
                return;
            const char *qs = NULL;
            uint32_t qlen = 0;
            qualified_name(P, &sup, &qs, &qlen);
            if (!qs && comp_known_bound(sup->s, sup->len)) { /* Ordered, Eq, Hash */
                c->ifaces = comp_grow(C, c->ifaces, &cap, c->nifaces + 1, sizeof *c->ifaces);
                c->ifaces[c->nifaces++] =
                    (struct comp_iface_ref){sup->s, sup->len, sup->line, sup->col, NULL, NULL, 0};
                continue;
            }
            if (c->super_name || c->nifaces) { /* an interface: the checker makes sure */
                c->ifaces = comp_grow(C, c->ifaces, &cap, c->nifaces + 1, sizeof *c->ifaces);
                c->ifaces[c->nifaces++] =
                    (struct comp_iface_ref){sup->s, sup->len, sup->line, sup->col, NULL, qs, qlen};
                continue;
            }
            c->super_qs = qs;
            c->super_qlen = qlen;
            c->super_name = sup->s;
            c->super_len = sup->len;
            c->super_line = sup->line;
            c->super_col = sup->col;
            if (match(P, T_LT))
                type_arg_list(P, &c->super_targs, &c->nsuper_targs);
        } while (match(P, T_COMMA));
    }
    c->lazy = C->in_prelude && !c->super_name && !(c->len == 5 && !memcmp(c->name, "Error", 5));
    P->in_template |= c->lazy;
    if (!expect(P, T_LBRACE, "'{' to open the class body"))
        return;
    while (!check(P, T_RBRACE) && !check(P, T_EOF)) {
        comp_token *t = peek(P);
        if (match(P, T_SEMI))
            continue;
        if (match(P, T_FN)) {
            comp_fn *fn = fn_declaration(P, t, c)->fn;
            if (!P->panic)
                end_statement(P);
            if (fn->name)
                add_method(C, c, fn);
        } else if (match(P, T_IDENT)) {
            field_declaration(P, c, t);
        } else {
            if (!P->panic) {
                P->panic = true;
                comp_error(C, t->line, t->col, "expected a field or a method, found %s",
                           describe(t));
            }
        }
        if (P->panic) {
            while (!check(P, T_SEMI) && !check(P, T_RBRACE) && !check(P, T_EOF) && !check(P, T_FN))
                advance(P);
            match(P, T_SEMI);
            P->panic = false;
        }
        C->depth = 0;
    }
    expect(P, T_RBRACE, "'}' to close the class body");
    P->in_template = outer_template;
    declare_class(C, c);
}

/* Parses `text`, Kiln source the compiler wrote, as methods of class c,
 * every token placed at (line, col) (the declaration it was made for). */
static void generated_methods(parser *P, comp_class *c, const char *text, uint32_t line,
                              uint32_t col)
{
    comp *C = P->C;
    comp_token *toks = C->toks;
    uint32_t ntoks = C->ntoks, cap = C->tok_cap, pos = C->pos;
    const char *src = C->src;
    size_t srclen = C->srclen;
    C->src = text;
    C->srclen = strlen(text);
    C->held_toks = toks; /* comp_free's, should memory run out */
    C->toks = NULL;
    C->ntoks = C->tok_cap = 0;
    comp_lex(C);
    for (uint32_t i = 0; i < C->ntoks; i++) {
        C->toks[i].line = line;
        C->toks[i].col = col;
    }
    C->pos = 0;
    while (!check(P, T_EOF) && !P->panic) {
        comp_token *t = peek(P);
        if (match(P, T_SEMI))
            continue;
        if (!expect(P, T_FN, "fn"))
            break;
        comp_fn *fn = fn_declaration(P, t, c)->fn;
        if (fn->name) {
            fn->generated = true;
            add_method(C, c, fn);
        }
    }
    free(C->toks);
    C->toks = toks;
    C->held_toks = NULL;
    C->ntoks = ntoks;
    C->tok_cap = cap;
    C->pos = pos;
    C->src = src;
    C->srclen = srclen;
}

static void add_field(comp *C, comp_class *c, const char *name, uint32_t len, int type,
                      const comp_token *at)
{
    c->own = comp_grow(C, c->own, &c->own_cap, c->nown + 1, sizeof(comp_field));
    comp_field *f = &c->own[c->nown++];
    memset(f, 0, sizeof *f);
    f->name = name;
    f->len = len;
    f->type = type;
    f->line = at->line;
    f->col = at->col;
}

/* interface Name { fn m(a: A) -> R; ... }: a class of abstract methods. */
static void interface_declaration(parser *P)
{
    comp *C = P->C;
    comp_class *c = class_head(P, "an interface name");
    if (!c)
        return;
    c->is_iface = true;
    if (c->ntparams) {
        comp_error(C, c->line, c->col, "an interface cannot be generic");
        c->ntparams = 0;
    }
    if (!expect(P, T_LBRACE, "'{' to open the interface"))
        return;
    while (!check(P, T_RBRACE) && !check(P, T_EOF) && !P->panic) {
        comp_token *t = peek(P);
        if (match(P, T_SEMI))
            continue;
        if (!expect(P, T_FN, "fn (an interface lists methods)"))
            break;
        comp_fn *fn = comp_alloc(C, sizeof *fn);
        comp_token *name = peek(P);
        if (!expect(P, T_IDENT, "a method name"))
            break;
        fn->name = name->s;
        fn->len = name->len;
        fn->line = name->line;
        fn->col = name->col;
        fn->cls = c;
        fn->ret = VM_T_VOID;
        fn->synth = SYNTH_ABSTRACT;
        expect(P, T_LPAREN, "'('");
        uint32_t cap = 0;
        fn->params = comp_grow(C, fn->params, &cap, 1, sizeof(comp_sym *));
        fn->params[fn->nparams++] = param(P, t, "self", 4);
        if (!check(P, T_RPAREN)) {
            do {
                comp_token *pn = peek(P);
                if (!expect(P, T_IDENT, "a parameter name"))
                    break;
                comp_sym *ps = param(P, pn, pn->s, pn->len);
                expect(P, T_COLON, "':' and the parameter's type");
                ps->type = parse_type(P);
                fn->params = comp_grow(C, fn->params, &cap, fn->nparams + 1, sizeof(comp_sym *));
                fn->params[fn->nparams++] = ps;
            } while (match(P, T_COMMA) && !P->panic);
        }
        expect(P, T_RPAREN, "')' after parameters");
        if (match(P, T_ARROW))
            fn->ret = parse_type(P);
        if (check(P, T_LBRACE)) {
            error_at(P, peek(P), "an interface's methods have no body%s", "");
            break;
        }
        add_method(C, c, fn);
    }
    expect(P, T_RBRACE, "'}' to close the interface");
    declare_class(C, c);
}

/* enum Name<T> { A, B(T, int), fn method() { ... } }: a class (see
 * comp_class.is_enum) with its to_str() and __eq() written here. */
static void enum_declaration(parser *P)
{
    comp *C = P->C;
    comp_token *name = peek(P);
    comp_class *c = class_head(P, "an enum name");
    if (!c)
        return;
    c->is_enum = true;
    bool outer_template = P->in_template;
    P->in_template |= c->ntparams > 0;
    add_field(C, c, "_tag", 4, VM_T_INT, name);
    if (!expect(P, T_LBRACE, "'{' to open the enum"))
        return;
    uint32_t vcap = 0;
    while (!check(P, T_RBRACE) && !check(P, T_EOF) && !P->panic) {
        comp_token *t = peek(P);
        if (match(P, T_SEMI) || match(P, T_COMMA))
            continue;
        if (match(P, T_FN)) {
            comp_fn *fn = fn_declaration(P, t, c)->fn;
            if (fn->name)
                add_method(C, c, fn);
            continue;
        }
        if (!expect(P, T_IDENT, "a variant's name"))
            break;
        for (uint32_t i = 0; i < c->nvariants; i++)
            if (c->variants[i].len == t->len && !memcmp(c->variants[i].name, t->s, t->len))
                comp_error(C, t->line, t->col, "variant '%.*s' is declared twice", (int)t->len,
                           t->s);
        c->variants = comp_grow(C, c->variants, &vcap, c->nvariants + 1, sizeof *c->variants);
        struct comp_variant *v = &c->variants[c->nvariants++];
        *v = (struct comp_variant){t->s, t->len, t->line, t->col, c->nown, 0};
        if (match(P, T_LPAREN)) {
            do {
                comp_token *at = peek(P);
                int type = parse_type(P);
                char *fname = comp_alloc(C, t->len + 16);
                int k = snprintf(fname, t->len + 16, "_%.*s_%u", (int)t->len, t->s, v->n);
                add_field(C, c, fname, (uint32_t)k, type, at);
                v->n++;
            } while (match(P, T_COMMA) && !P->panic);
            expect(P, T_RPAREN, "')' after the payload's types");
        }
    }
    expect(P, T_RBRACE, "'}' to close the enum");
    if (c->nvariants == 0 && !P->panic)
        comp_error(C, c->line, c->col, "enum %.*s has no variants", (int)c->len, c->name);
    if (c->nvariants > 256 && !P->panic)
        comp_error(C, c->line, c->col, "enum %.*s has more than 256 variants", (int)c->len,
                   c->name);
    /* to_str() and __eq(other), as Kiln source */
    vm_buf b = {0};
    char self[600];
    int sn = snprintf(self, sizeof self, "%.*s", (int)(c->len > 200 ? 200 : c->len), c->name);
    for (uint32_t i = 0; i < c->ntparams && sn < 500; i++)
        sn += snprintf(self + sn, sizeof self - (size_t)sn, "%s%.*s", i ? ", " : "<",
                       (int)(c->tparams[i].len > 40 ? 40 : c->tparams[i].len), c->tparams[i].name);
    if (c->ntparams)
        snprintf(self + sn, sizeof self - (size_t)sn, ">");
    vm_buf_printf(&b, "fn to_str() -> str {\n");
    for (uint32_t i = 0; i < c->nvariants; i++) {
        const struct comp_variant *v = &c->variants[i];
        vm_buf_printf(&b, "if self._tag == %u { return \"%.*s.%.*s%s\"", i, (int)c->len, c->name,
                      (int)v->len, v->name, v->n ? "(" : "");
        for (uint32_t j = 0; j < v->n; j++)
            vm_buf_printf(&b, " + %s__repr(self.%.*s)", j ? "\", \" + " : "",
                          (int)c->own[v->first + j].len, c->own[v->first + j].name);
        vm_buf_printf(&b, "%s }\n", v->n ? " + \")\"" : "");
    }
    vm_buf_printf(&b, "return \"?\"\n}\nfn __eq(o: %s) -> bool {\n", self);
    vm_buf_printf(&b, "if self._tag != o._tag { return false }\n");
    for (uint32_t i = 0; i < c->nvariants; i++) {
        const struct comp_variant *v = &c->variants[i];
        if (!v->n)
            continue;
        vm_buf_printf(&b, "if self._tag == %u { return ", i);
        for (uint32_t j = 0; j < v->n; j++)
            vm_buf_printf(&b, "%sself.%.*s == o.%.*s", j ? " && " : "",
                          (int)c->own[v->first + j].len, c->own[v->first + j].name,
                          (int)c->own[v->first + j].len, c->own[v->first + j].name);
        vm_buf_printf(&b, " }\n");
    }
    vm_buf_printf(&b, "return true\n}\n");
    const char *text = comp_take(C, &b);
    if (!P->panic && C->nerrors == 0)
        generated_methods(P, c, text, c->line, c->col);
    P->in_template = outer_template;
    declare_class(C, c);
}

/* A top-level function fn, parsed, is a name of the current module. */
static void declare_fn(comp *C, comp_fn *fn)
{
    uint32_t klen;
    const char *key = comp_key(C, C->mod, fn->name, fn->len, &klen);
    if (C->in_prelude && fn->len > 2 && fn->name[0] == '_' && fn->name[1] == '_') {
        /* the library's own (array and map methods): no program can name it,
         * and it is made only into programs that use it */
        fn->lazy = !fn->ntparams;
        char *k = comp_alloc(C, fn->len + 1);
        k[0] = '#';
        memcpy(k + 1, fn->name, fn->len);
        key = k;
        klen = fn->len + 1;
    }
    if (comp_map_get(&C->fn_map, key, klen) >= 0) {
        comp_error(C, fn->line, fn->col, "function '%.*s' is already defined", (int)fn->len,
                   fn->name);
        return;
    }
    comp_map_put(C, &C->fn_map, key, klen, (int32_t)C->nfns);
    if (C->mod->index >= 2)
        fn->full = key; /* util.helper, in traces */
    add_fn(C, fn);
}

/* ---- Extern declarations (the FFI) ---- */

/* Like error_at, quoting identifier t's name first. */
static void error_name(parser *P, const comp_token *t, const char *what)
{
    if (P->panic)
        return;
    P->panic = true;
    comp_error(P->C, t->line, t->col, "'%.*s': %s", (int)t->len, t->s, what);
}

static bool is_word(const comp_token *t, const char *w)
{
    return t->type == T_IDENT && t->len == strlen(w) && !memcmp(t->s, w, t->len);
}

/* A C type: a scalar's name (c_int, cstr, ptr ...), a struct's name,
 * *Struct (by pointer), or fn(C types) -> C type (a callback). `scalar`:
 * only the scalars a callback or a struct field may hold. False after
 * reporting. */
static bool ctype(parser *P, comp_ctype *out, bool callback)
{
    comp *C = P->C;
    comp_token *t = peek(P);
    memset(out, 0, sizeof *out);
    out->line = t->line;
    out->col = t->col;
    if (t->type == T_FN && !callback) {
        advance(P);
        out->kind = VM_C_FN;
        expect(P, T_LPAREN, "'(' after fn in a callback type");
        comp_ctype params[KILN_MAX_PARAMS];
        int kt[KILN_MAX_PARAMS];
        uint32_t n = 0;
        if (!check(P, T_RPAREN)) {
            do {
                if (n == KILN_MAX_PARAMS) {
                    error_at(P, t, "callback type has more than %s parameters",
                             KILN_STR(KILN_MAX_PARAMS));
                    return false;
                }
                if (!ctype(P, &params[n], true))
                    return false;
                kt[n] = params[n].type;
                n++;
            } while (match(P, T_COMMA) && !P->panic);
        }
        expect(P, T_RPAREN, "')' after the callback's parameter types");
        out->ret = comp_alloc(C, sizeof *out->ret);
        memset(out->ret, 0, sizeof *out->ret);
        out->ret->kind = VM_C_VOID;
        out->ret->type = VM_T_VOID;
        if (match(P, T_ARROW) && !ctype(P, out->ret, true))
            return false;
        if (out->ret->kind == VM_C_CSTR || out->ret->kind == VM_C_PTR) {
            error_at(P, t, "a callback cannot return %s (only numbers and bools)",
                     vm_ctype_name(out->ret->kind));
            return false;
        }
        out->params = comp_alloc(C, sizeof *params * (n ? n : 1));
        memcpy(out->params, params, sizeof *params * n);
        out->nparams = n;
        out->type = named_fn_type(P, t, out->ret->type, kt, n);
        return out->type != CT_ERR;
    }
    bool star = match(P, T_STAR);
    comp_token *name = peek(P);
    if (!expect(P, T_IDENT, "a C type (c_int, c_double, cstr, ptr, ...)"))
        return false;
    int k = star ? -1 : vm_ctype_named(name->s, name->len);
    if (k >= 0) {
        out->kind = (uint8_t)k;
        out->type = (int32_t)vm_ctype_kiln((uint32_t)k);
        return true;
    }
    for (size_t i = 0; i < sizeof KILN_TYPE_NAMES / sizeof KILN_TYPE_NAMES[0]; i++)
        if (is_word(name, KILN_TYPE_NAMES[i])) {
            error_name(P, name,
                       "a Kiln type, not a C type (c_int, c_long, c_double, cstr, ptr, ...)");
            return false;
        }
    if (callback) {
        error_name(P, name, "not a C scalar type (a callback or a struct field takes only those)");
        return false;
    }
    out->kind = star ? VM_C_STRUCTP : VM_C_STRUCT; /* an extern struct, checked once known */
    out->type = named_type(P, name);
    return out->type != CT_ERR;
}

/* fn name(p: ctype, ..., [...]) [-> ctype], in an extern block. */
static void extern_fn(parser *P, const comp_token *lib)
{
    comp *C = P->C;
    comp_token *name = peek(P);
    if (!expect(P, T_IDENT, "the C function's name"))
        return;
    comp_fn *fn = comp_alloc(C, sizeof *fn);
    memset(fn, 0, sizeof *fn);
    fn->name = name->s;
    fn->len = name->len;
    fn->line = name->line;
    fn->col = name->col;
    fn->lib = lib->s;
    fn->liblen = lib->len;
    fn->synth = SYNTH_EXTERN;
    fn->cret.kind = VM_C_VOID;
    fn->cret.type = VM_T_VOID;
    fn->ret = VM_T_VOID;
    expect(P, T_LPAREN, "'('");
    uint32_t cap = 0, ccap = 0;
    if (!check(P, T_RPAREN)) {
        do {
            comp_token *pn = peek(P);
            if (match(P, T_ELLIPSIS)) {
                fn->variadic = true;
                if (!check(P, T_RPAREN))
                    error_at(P, peek(P), "'...' must be the last parameter, found %s",
                             describe(peek(P)));
                break;
            }
            if (!expect(P, T_IDENT, "a parameter name"))
                return;
            if (fn->nparams == KILN_MAX_PARAMS) {
                error_at(P, pn, "extern function has more than %s parameters",
                         KILN_STR(KILN_MAX_PARAMS));
                return;
            }
            comp_sym *s = param(P, pn, pn->s, pn->len);
            expect(P, T_COLON, "':' and the parameter's C type");
            fn->cparams = comp_grow(C, fn->cparams, &ccap, fn->nparams + 1, sizeof(comp_ctype));
            if (!ctype(P, &fn->cparams[fn->nparams], false))
                return;
            s->type = fn->cparams[fn->nparams].type;
            fn->params = comp_grow(C, fn->params, &cap, fn->nparams + 1, sizeof(comp_sym *));
            fn->params[fn->nparams++] = s;
        } while (match(P, T_COMMA) && !P->panic);
    }
    if (!expect(P, T_RPAREN, "')' after parameters"))
        return;
    if (match(P, T_ARROW)) {
        if (!ctype(P, &fn->cret, false))
            return;
        if (fn->cret.kind == VM_C_STRUCTP || fn->cret.kind == VM_C_FN) {
            error_at(P, name, "an extern function cannot return %s",
                     fn->cret.kind == VM_C_FN ? "a callback" : "a struct pointer (return ptr)");
            return;
        }
        fn->ret = fn->cret.type;
    }
    declare_fn(C, fn);
}

/* extern struct Name { field: ctype, ... }: a class whose fields C sees
 * as a struct of these types, in this order. */
static void extern_struct(parser *P)
{
    comp *C = P->C;
    comp_token *name = peek(P);
    if (!expect(P, T_IDENT, "the struct's name"))
        return;
    for (size_t i = 0; i < sizeof KILN_TYPE_NAMES / sizeof KILN_TYPE_NAMES[0]; i++)
        if (is_word(name, KILN_TYPE_NAMES[i]) || vm_ctype_named(name->s, name->len) >= 0) {
            error_name(P, name, "a built-in type's name: an extern struct needs its own");
            return;
        }
    comp_class *c = comp_alloc(C, sizeof *c);
    memset(c, 0, sizeof *c);
    c->name = name->s;
    c->len = name->len;
    c->line = name->line;
    c->col = name->col;
    c->mod = C->mod;
    if (!expect(P, T_LBRACE, "'{' to open the struct's fields"))
        return;
    uint32_t ccap = 0;
    while (!check(P, T_RBRACE) && !check(P, T_EOF) && !P->panic) {
        if (match(P, T_SEMI) || match(P, T_COMMA))
            continue;
        comp_token *f = peek(P);
        if (!expect(P, T_IDENT, "a field name"))
            return;
        expect(P, T_COLON, "':' and the field's C type");
        comp_ctype ct;
        if (!ctype(P, &ct, true))
            return;
        if (ct.kind == VM_C_CSTR) {
            error_name(P, f, "a struct field cannot be a cstr (use ptr)");
            return;
        }
        if (c->nown == VM_MAX_CFIELDS) {
            error_at(P, f, "extern struct has more than %s fields", KILN_STR(VM_MAX_CFIELDS));
            return;
        }
        c->own = comp_grow(C, c->own, &c->own_cap, c->nown + 1, sizeof(comp_field));
        c->cfields = comp_grow(C, c->cfields, &ccap, c->nown + 1, sizeof(comp_ctype));
        c->cfields[c->nown] = ct;
        comp_field *fd = &c->own[c->nown++];
        memset(fd, 0, sizeof *fd);
        fd->name = f->s;
        fd->len = f->len;
        fd->line = f->line;
        fd->col = f->col;
        fd->type = ct.type;
    }
    expect(P, T_RBRACE, "'}' to close the struct");
    if (!P->panic && c->nown == 0)
        error_name(P, name, "an extern struct needs at least one field");
    else if (!P->panic)
        declare_class(C, c);
}

/* After `extern`: "LIBRARY" { fn ... } or struct Name { ... }. */
static void extern_declaration(parser *P)
{
    if (is_word(peek(P), "struct")) {
        advance(P);
        extern_struct(P);
        if (!P->panic)
            end_statement(P);
        return;
    }
    comp_token *lib = peek(P);
    if (!expect(P, T_STRING, "the C library's name, e.g. extern \"libm.so.6\" { ... }"))
        return;
    if (!lib->len || memchr(lib->s, 0, lib->len)) {
        error_at(P, lib, "%s", "not a library name (empty, or a NUL byte in it)");
        return;
    }
    if (!expect(P, T_LBRACE, "'{' to open the extern block"))
        return;
    while (!check(P, T_RBRACE) && !check(P, T_EOF) && !P->panic) {
        if (match(P, T_SEMI))
            continue;
        if (!expect(P, T_FN, "fn and a C function's declaration"))
            return;
        extern_fn(P, lib);
    }
    expect(P, T_RBRACE, "'}' to close the extern block");
    if (!P->panic)
        end_statement(P);
}

static comp_fn *module_init(comp *C)
{
    comp_fn *init = comp_alloc(C, sizeof *init);
    init->name = "<module>";
    init->len = 8;
    init->ret = VM_T_VOID;
    init->line = 1;
    return init;
}

void comp_parse(comp *C)
{
    parser P = {.C = C};
    C->pos = 0;
    if (!C->mod) /* a lone file (the unit tests' front end): it is the root */
        comp_enter(C, comp_module_new(C, "t", 1, C->file, C->src, C->srclen));
    /* fns[0] is the root module's initializer, made of its top-level
     * statements (made once: the prelude, which has none, is parsed into
     * the same program first); an imported module's comes with it. */
    if (C->nfns == 0) {
        add_fn(C, module_init(C));
        C->fns[0]->mod = C->mods[0];
        C->fns[0]->prelude = false;
        C->mods[0]->init = C->fns[0];
    }
    if (C->mod->index >= 2 && !C->mod->init) {
        comp_fn *init = module_init(C);
        uint32_t klen;
        init->full = comp_key(C, C->mod, "<module>", 8, &klen);
        add_fn(C, init);
        C->mod->init = init;
    }
    while (!check(&P, T_EOF)) {
        if (match(&P, T_SEMI))
            continue;
        comp_token *t = peek(&P);
        if (t->type == T_IMPORT) {
            advance(&P);
            comp_token *name = peek(&P);
            if (expect(&P, T_IDENT, "a module name")) {
                comp_import(C, name);
                end_statement(&P);
            }
        } else if (t->type == T_CLASS) {
            advance(&P);
            class_declaration(&P, t);
            if (!P.panic)
                end_statement(&P);
        } else if (t->type == T_FN && peek2(&P)->type == T_IDENT) {
            advance(&P);
            comp_node *n = fn_declaration(&P, t, NULL);
            if (!P.panic)
                end_statement(&P);
            comp_fn *fn = n->fn;
            if (fn->name && !P.panic)
                declare_fn(C, fn);
        } else if (is_word(t, "interface") && peek2(&P)->type == T_IDENT) {
            advance(&P);
            interface_declaration(&P);
            if (!P.panic)
                end_statement(&P);
        } else if (is_word(t, "enum") && peek2(&P)->type == T_IDENT) {
            advance(&P);
            enum_declaration(&P);
            if (!P.panic)
                end_statement(&P);
        } else if (t->type == T_EXTERN) {
            advance(&P);
            extern_declaration(&P);
        } else {
            comp_node *n = statement(&P);
            comp_module *m = C->mod;
            m->top = comp_grow(C, m->top, &m->top_cap, m->ntop + 1, sizeof(comp_node *));
            m->top[m->ntop++] = n;
        }
        if (P.panic) {
            while (!check(&P, T_SEMI) && !check(&P, T_EOF) &&
                   !((check(&P, T_FN) || check(&P, T_CLASS)) && peek(&P)->col == 1))
                advance(&P);
            match(&P, T_SEMI);
            P.panic = false;
        }
        C->depth = 0;
    }
}
