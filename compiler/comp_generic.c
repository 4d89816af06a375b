/*
 * comp_generic.c — generic functions, by monomorphization.
 *
 * A generic function `fn f<T, U: Ordered>(...)` is a template. Each call
 * infers the type arguments from the argument types (or takes the ones
 * written, f<int>(...)), and the first call with a set of type arguments
 * makes an instance: a copy of the template's parameters and body, with
 * the function literals inside it copied too, registered as an ordinary
 * function. The checker then checks the instance like any other function,
 * with C->subst set to it, so a name `T` in it resolves to its type
 * argument; the emitter sees only instances, so the bytecode stays
 * monomorphic and the verifier needs nothing new.
 */
#include <stdio.h>
#include <string.h>

#include "comp.h"

/* Instances of one template, at most: a function that calls itself with
 * a type that grows (f<T> calling f<[T]>) would make them without end. */
#define MAX_INSTANCES 512

static int tparam_index(const struct comp_tparam *tp, uint32_t n, const char *name, uint32_t len)
{
    for (uint32_t i = 0; i < n; i++)
        if (tp[i].len == len && !memcmp(tp[i].name, name, len))
            return (int)i;
    return -1;
}

int comp_subst_lookup(const comp *C, const char *name, uint32_t len)
{
    const comp_subst *s = C->subst;
    int i = s ? tparam_index(s->tparams, s->n, name, len) : -1;
    return i < 0 ? -1 : s->targs[i];
}

/* ---- Copies ---- */

static comp_sym *clone_sym(comp *C, const comp_sym *s)
{
    comp_sym *c = comp_alloc(C, sizeof *c);
    *c = *s;
    return c;
}

static comp_node *clone_node(comp *C, const comp_node *n, comp_fn ***lits, uint32_t *nlits,
                             uint32_t *cap)
{
    if (!n)
        return NULL;
    comp_node *c = comp_alloc(C, sizeof *c);
    *c = *n;
    c->a = clone_node(C, n->a, lits, nlits, cap);
    c->b = clone_node(C, n->b, lits, nlits, cap);
    c->c = clone_node(C, n->c, lits, nlits, cap);
    if (n->n) {
        c->list = comp_alloc(C, sizeof(comp_node *) * n->n);
        for (uint32_t i = 0; i < n->n; i++)
            c->list[i] = clone_node(C, n->list[i], lits, nlits, cap);
    }
    if (n->kind == N_LAMBDA && n->fn)
        c->fn = comp_clone_fn(C, n->fn, lits, nlits, cap);
    return c;
}

static void add_fn(comp *C, comp_fn *fn)
{
    fn->index = C->nfns;
    C->fns = comp_grow(C, C->fns, &C->fns_cap, C->nfns + 1, sizeof(comp_fn *));
    C->fns[C->nfns++] = fn;
}

/* A copy of function f (a template or a literal inside one): its own
 * parameters and body. Function literals copied are added to *lits, for
 * their types to be resolved. */
static comp_fn *clone_fn(comp *C, const comp_fn *f, bool body, comp_fn ***lits, uint32_t *nlits,
                         uint32_t *cap)
{
    comp_fn *c = comp_alloc(C, sizeof *c);
    *c = *f;
    c->in_template = false;
    c->params = comp_alloc(C, sizeof(comp_sym *) * (f->nparams ? f->nparams : 1));
    for (uint32_t i = 0; i < f->nparams; i++)
        c->params[i] = clone_sym(C, f->params[i]);
    c->body = body ? clone_node(C, f->body, lits, nlits, cap) : NULL;
    c->body_from = body ? NULL : f;
    c->caps = NULL;
    c->ncaps = c->caps_cap = 0;
    add_fn(C, c);
    if (f->lambda) {
        *lits = comp_grow(C, *lits, cap, *nlits + 1, sizeof(comp_fn *));
        (*lits)[(*nlits)++] = c;
    }
    return c;
}

comp_fn *comp_clone_fn(comp *C, const comp_fn *f, comp_fn ***lits, uint32_t *nlits, uint32_t *cap)
{
    return clone_fn(C, f, true, lits, nlits, cap);
}

/* ---- Inference ---- */

/* Parameter type `pt` as written in a template (a CT_NAMED id, or a
 * built-in type's) meets argument type `at`: binds the template's type
 * parameters (g; targs) that it mentions and that are still free. */
static void unify(comp *C, const comp_subst *g, int pt, int at, int32_t *targs, int depth)
{
    if (at < 0 || at >= VM_MAX_TYPES || pt < CT_NAMED || pt >= CT_NAMED + (int)C->ntnames ||
        depth > 64)
        return; /* no information: null, [], {}, an error */
    const struct comp_tname *tn = &C->tnames[pt - CT_NAMED];
    if (tn->name && tn->ntargs) { /* Box<T> meets an instance of Box: its type arguments */
        const comp_class *c = comp_class_of(C, at);
        const comp_class *g2 = c ? c->generic : NULL;
        if (g2 && g2->len == tn->len && !memcmp(g2->name, tn->name, tn->len) &&
            c->subst->n == tn->ntargs)
            for (uint32_t i = 0; i < tn->ntargs; i++)
                unify(C, g, tn->targs[i], c->subst->targs[i], targs, depth + 1);
        return;
    }
    if (tn->name) {
        int i = tn->qs ? -1 : tparam_index(g->tparams, g->n, tn->name, tn->len);
        if (i >= 0 && targs[i] < 0)
            targs[i] = at;
        return;
    }
    if (tn->val == -1) { /* [E] */
        int e = comp_elem_of(C, at);
        if (e >= 0)
            unify(C, g, tn->elem, e, targs, depth + 1);
    } else if (tn->val == -2) { /* fn(A) -> R */
        const struct comp_xtype *sig = comp_fn_sig(C, at);
        if (!sig || (uint32_t)sig->b != tn->nparams)
            return;
        for (uint32_t i = 0; i < tn->nparams; i++)
            unify(C, g, tn->params[i], sig->params[i], targs, depth + 1);
        unify(C, g, tn->elem, sig->a, targs, depth + 1);
    } else { /* {K: V} */
        int k, v;
        if (comp_map_types(C, at, &k, &v)) {
            unify(C, g, tn->elem, k, targs, depth + 1);
            unify(C, g, tn->val, v, targs, depth + 1);
        }
    }
}

/* Does type `t` as written in template g mention only type parameters
 * bound in targs? */
static bool bound_in(comp *C, const comp_subst *g, int t, const int32_t *targs, int depth)
{
    if (t < CT_NAMED || t >= CT_NAMED + (int)C->ntnames)
        return true;
    if (depth > 64)
        return false;
    const struct comp_tname *tn = &C->tnames[t - CT_NAMED];
    if (tn->name && !tn->ntargs) {
        int i = tn->qs ? -1 : tparam_index(g->tparams, g->n, tn->name, tn->len);
        return i < 0 || targs[i] >= 0;
    }
    for (uint32_t i = 0; tn->name && i < tn->ntargs; i++)
        if (!bound_in(C, g, tn->targs[i], targs, depth + 1))
            return false;
    if (tn->name)
        return true;
    for (uint32_t i = 0; tn->val == -2 && i < tn->nparams; i++)
        if (!bound_in(C, g, tn->params[i], targs, depth + 1))
            return false;
    return bound_in(C, g, tn->elem, targs, depth + 1) &&
           (tn->val < 0 || bound_in(C, g, tn->val, targs, depth + 1));
}

int comp_literal_want(comp *C, const comp_fn *g, comp_node **args, uint32_t nargs, uint32_t i,
                      const int32_t *explicit, uint32_t nexplicit, bool *infer)
{
    int32_t targs[KILN_MAX_PARAMS + 1];
    comp_subst gs = {g->tparams, g->ntparams, targs, NULL, 0};
    int pt = i < g->nparams ? g->params[i]->type : CT_ERR;
    if (g->ntparams > KILN_MAX_PARAMS + 1 || pt < CT_NAMED || pt >= CT_NAMED + (int)C->ntnames)
        return -1;
    const struct comp_tname *tn = &C->tnames[pt - CT_NAMED];
    if (tn->name || tn->val != -2 || tn->nparams > KILN_MAX_PARAMS)
        return -1;                             /* not a function type */
    for (uint32_t k = 0; k < g->ntparams; k++) /* apply<int>(...): as written */
        targs[k] = nexplicit == g->ntparams ? comp_resolve_type(C, explicit[k]) : -1;
    for (uint32_t k = 0; k < g->ntparams; k++)
        if (targs[k] == CT_ERR)
            return -1;
    for (uint32_t j = 0; j < nargs && j < g->nparams; j++)
        if (j != i && args[j]->type != CT_ERR)
            unify(C, &gs, g->params[j]->type, args[j]->type, targs, 0);
    for (uint32_t k = 0; k < tn->nparams; k++)
        if (!bound_in(C, &gs, tn->params[k], targs, 0))
            return -1;
    *infer = !bound_in(C, &gs, tn->elem, targs, 0);
    int ps[KILN_MAX_PARAMS], ret = VM_T_VOID;
    const comp_subst *saved = C->subst;
    C->subst = &gs;
    for (uint32_t k = 0; k < tn->nparams; k++)
        ps[k] = comp_resolve_type(C, tn->params[k]);
    if (!*infer)
        ret = comp_resolve_type(C, tn->elem);
    C->subst = saved;
    for (uint32_t k = 0; k < tn->nparams; k++)
        if (ps[k] == CT_ERR)
            return -1;
    if (ret == CT_ERR)
        return -1;
    return comp_fn_type(C, ret, tn->nparams, ps, args[i]->line, args[i]->col);
}

/* ---- Bounds ---- */

static bool is_bound(const struct comp_tparam *tp, const char *name)
{
    return tp->blen == strlen(name) && !memcmp(tp->bound, name, tp->blen);
}

/* Does class c (or a superclass) declare the built-in interface `name`? */
bool comp_declares(const comp_class *c, const char *name)
{
    for (; c; c = c->super)
        for (uint32_t i = 0; i < c->nifaces; i++)
            if (c->ifaces[i].len == strlen(name) &&
                !memcmp(c->ifaces[i].name, name, c->ifaces[i].len))
                return true;
    return false;
}

/* A class is Ordered when it says so, with `compare(other: C) -> int`
 * (the checker makes sure it has one). */
static bool ordered_class(comp *C, int t)
{
    comp_class *c = comp_class_of(C, t);
    if (c && !c->laid_out) /* a signature naming Tree<Key> before Key is laid out: its
                              compare is checked when it is (check_ifaces) */
        return comp_declares(c, "Ordered");
    int slot = c && comp_declares(c, "Ordered") ? comp_find_slot(c, "compare", 7) : -1;
    if (slot < 0)
        return false;
    const comp_fn *m = c->vtable[slot];
    return m->nparams == 2 && m->ret == VM_T_INT && comp_subclass(C, t, m->params[1]->type);
}

comp_class *comp_bound_iface(comp *C, const struct comp_tparam *tp, bool report)
{
    comp_module *m = tp->mod ? tp->mod : C->mod;
    if (!tp->bound || (!tp->bqs && comp_known_bound(tp->bound, tp->blen)))
        return NULL;
    comp_class *i = NULL;
    if (report) {
        comp_module *prev = comp_enter(C, m);
        i = comp_class_ref(C, m, tp->bqs, tp->bqlen, tp->bound, tp->blen, tp->bline, tp->bcol,
                           "interface");
        if (i && !i->is_iface)
            comp_error(C, tp->bline, tp->bcol, "'%.*s' is a class, not an interface", (int)tp->blen,
                       tp->bound);
        comp_enter(C, prev);
    } else {
        if (tp->bqs)
            m = comp_imported(C, m, tp->bqs, tp->bqlen);
        i = m ? comp_find_class(C, m, tp->bound, tp->blen, tp->bqs != NULL) : NULL;
    }
    return i && i->is_iface ? i : NULL;
}

bool comp_satisfies(comp *C, int t, const struct comp_tparam *tp)
{
    if (tp->bqs || !comp_known_bound(tp->bound, tp->blen)) { /* an interface of the program */
        comp_class *i = comp_bound_iface(C, tp, false);
        comp_class *c = comp_class_of(C, t);
        return !i || (c && (c == i || comp_implements(C, c, i))); /* unknown: reported */
    }
    if (is_bound(tp, "Eq"))
        return true;
    if (is_bound(tp, "Ordered"))
        return t == VM_T_INT || t == VM_T_FLOAT || t == VM_T_STR || ordered_class(C, t);
    if (is_bound(tp, "Hash"))
        return comp_hashable(C, t);
    return false;
}

/* A recursive enum (List = Nil | Cons(int, List)) is Hash when the rest
 * of it is: the classes being looked at count as Hash. */
static bool hashable_in(comp *C, int t, const comp_class **seen, uint32_t nseen)
{
    if (t == VM_T_INT || t == VM_T_STR || t == VM_T_BOOL)
        return true;
    const comp_class *c = comp_class_of(C, t);
    if (!c || !(c->tuple || c->is_enum))
        return false;
    for (uint32_t i = 0; i < nseen; i++)
        if (seen[i] == c)
            return true;
    if (nseen == 32) /* deeper than any program nests its types: say no */
        return false;
    seen[nseen] = c;
    for (uint32_t i = 0; i < c->nfields; i++)
        if (!hashable_in(C, c->fields[i]->type, seen, nseen + 1))
            return false;
    return true;
}

bool comp_hashable(comp *C, int t)
{
    const comp_class *seen[32];
    return hashable_in(C, t, seen, 0);
}

bool comp_known_bound(const char *bound, uint32_t blen)
{
    static const char *const B[] = {"Eq", "Ordered", "Hash"};
    for (size_t i = 0; i < sizeof B / sizeof B[0]; i++)
        if (strlen(B[i]) == blen && !memcmp(B[i], bound, blen))
            return true;
    return false;
}

/* ---- Instances ---- */

/* The type arguments of template `name` (its parameters g) used at
 * (line, col): the ones written (nexplicit CT_NAMED ids), or inferred
 * from the arguments `args` against the parameter types `ptypes` as
 * written. False after reporting. */
static bool bind(comp *C, const char *name, uint32_t len, const comp_subst *g, uint32_t line,
                 uint32_t col, comp_node **args, const int *ptypes, uint32_t nargs,
                 const int *explicit, uint32_t nexplicit, int32_t *targs)
{
    for (uint32_t i = 0; i < g->n; i++)
        targs[i] = -1;
    if (nexplicit) {
        if (nexplicit != g->n) {
            comp_error(C, line, col, "%s takes %u type argument%s, got %u", name, g->n,
                       g->n == 1 ? "" : "s", nexplicit);
            return false;
        }
        for (uint32_t i = 0; i < nexplicit; i++)
            if ((targs[i] = comp_resolve_type(C, explicit[i])) == CT_ERR)
                return false;
    } else {
        for (uint32_t i = 0; i < nargs; i++)
            unify(C, g, ptypes[i], args[i]->type, targs, 0);
    }
    for (uint32_t i = 0; i < g->n; i++) {
        const struct comp_tparam *tp = &g->tparams[i];
        if (targs[i] < 0) {
            if (len >= 7 && !memcmp(name, "__Tuple", 7)) /* (3, null) */
                comp_error(C, line, col,
                           "the type of the tuple's element %u cannot be inferred from null, [] or "
                           "{}: give the tuple's type (let t: (int, str) = ...)",
                           i);
            else if (!len) /* a library method: no type arguments to write */
                comp_error(C, line, col,
                           "cannot infer the type parameter '%.*s' of %s from the arguments",
                           (int)tp->len, tp->name, name);
            else
                comp_error(C, line, col,
                           "cannot infer the type parameter '%.*s' of %s from the arguments; "
                           "give it: %.*s<...>%s",
                           (int)tp->len, tp->name, name, (int)len, name, name[len] ? "(...)" : "");
            return false;
        }
        if (targs[i] == VM_T_VOID) {
            comp_error(C, line, col, "a call without result has no type for '%.*s'", (int)tp->len,
                       tp->name);
            return false;
        }
        if (tp->bound && !comp_satisfies(C, targs[i], tp)) {
            comp_error(C, line, col,
                       "%s needs '%.*s' to be %.*s, and %s is not (type parameter '%.*s: %.*s')",
                       name, (int)tp->len, tp->name, (int)tp->blen, tp->bound,
                       comp_type_name(C, targs[i]), (int)tp->len, tp->name, (int)tp->blen,
                       tp->bound);
            return false;
        }
    }
    return true;
}

/* The key of an instance: the template (kind and number) and the type
 * arguments. */
static uint32_t inst_key(char *key, size_t size, char kind, uint32_t index, const int32_t *targs,
                         uint32_t n)
{
    int k = snprintf(key, size, "%c%u", kind, index);
    for (uint32_t i = 0; i < n; i++)
        k += snprintf(key + k, size - (size_t)k, ",%d", targs[i]);
    return (uint32_t)k;
}

/* "name<A, B>": an instance as messages and the image show it. */
static char *instance_name(comp *C, const char *name, uint32_t len, uint32_t n,
                           const int32_t *targs)
{
    if (n == 0) /* a lazy library class: its own name */
        return comp_strdup(C, name, len);
    char buf[512];
    size_t k = (size_t)snprintf(buf, sizeof buf, "%.*s<", (int)(len > 200 ? 200 : len), name);
    for (uint32_t i = 0; i < n && k < sizeof buf; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", i ? ", " : "",
                              comp_type_name(C, targs[i]));
    if (k < sizeof buf)
        k += (size_t)snprintf(buf + k, sizeof buf - k, ">");
    return comp_strdup(C, buf, k < sizeof buf ? k : sizeof buf - 1);
}

static comp_subst *new_subst(comp *C, const char *name, uint32_t len, const struct comp_tparam *tp,
                             uint32_t n, const int32_t *targs, uint32_t line)
{
    comp_subst *s = comp_alloc(C, sizeof *s);
    int32_t *t = comp_alloc(C, sizeof(int32_t) * (n ? n : 1));
    memcpy(t, targs, sizeof(int32_t) * n);
    *s = (comp_subst){tp, n, t, instance_name(C, name, len, n, targs), line};
    return s;
}

/* Resolves the signatures of the function literals copied into an
 * instance, in its type arguments. */
static void resolve_lits(comp *C, const comp_subst *sub, comp_fn **lits, uint32_t nlits)
{
    const comp_subst *saved = C->subst;
    C->subst = sub;
    for (uint32_t i = 0; i < nlits; i++)
        comp_resolve_sig(C, lits[i]);
    C->subst = saved;
}

comp_fn *comp_instantiate(comp *C, comp_fn *g, comp_node *at, comp_node **args, uint32_t nargs,
                          const int *explicit, uint32_t nexplicit)
{
    int32_t targs[KILN_MAX_PARAMS + 1];
    int ptypes[KILN_MAX_PARAMS];
    for (uint32_t i = 0; i < nargs && i < g->nparams && i < KILN_MAX_PARAMS; i++)
        ptypes[i] = g->params[i]->type;
    char shown[80];
    if (C->lib_shown) /* a method of the library: as the program wrote it, xs.map() */
        snprintf(shown, sizeof shown, "%s", C->lib_shown);
    else
        snprintf(shown, sizeof shown, "%.*s()", (int)(g->len > 60 ? 60 : g->len), g->name);
    comp_subst gs = {g->tparams, g->ntparams, NULL, NULL, 0};
    if (!bind(C, shown, C->lib_shown ? 0 : (uint32_t)strlen(shown) - 2, &gs, at->line, at->col,
              args, ptypes, nargs < g->nparams ? nargs : g->nparams, explicit, nexplicit, targs))
        return NULL;
    char key[24 + 12 * (KILN_MAX_PARAMS + 1)];
    uint32_t klen = inst_key(key, sizeof key, 'f', g->index, targs, g->ntparams);
    int32_t found = comp_map_get(&C->inst_map, key, klen);
    if (found >= 0)
        return C->fns[found];
    uint32_t made = 0;
    for (uint32_t i = 0; i < C->nfns; i++)
        made += C->fns[i]->generic == g;
    if (made >= MAX_INSTANCES) {
        comp_error(C, at->line, at->col,
                   "more than %d instances of %s (does it call itself with a growing type?)",
                   MAX_INSTANCES, shown);
        return NULL;
    }
    comp_fn **lits = NULL;
    uint32_t nlits = 0, cap = 0;
    comp_fn *inst = comp_clone_fn(C, g, &lits, &nlits, &cap);
    comp_map_put(C, &C->inst_map, comp_strdup(C, key, klen), klen, (int32_t)inst->index);
    inst->generic = g;
    inst->tparams = NULL;
    inst->ntparams = 0;
    inst->lazy = false;
    inst->subst = new_subst(C, g->name, g->len, g->tparams, g->ntparams, targs, at->line);
    const comp_subst *saved = C->subst;
    C->subst = inst->subst;
    comp_resolve_sig(C, inst);
    C->subst = saved;
    resolve_lits(C, inst->subst, lits, nlits);
    return inst;
}

/* ---- Instance methods, copied when a call reaches them ---- */

/* A generic class's instance copies a method's body only once some
 * checked call may run it: a call of it, or a virtual call through the
 * same slot of a superclass (an interface's wrapper calls it by name,
 * which is such a call too). A program that uses three methods of
 * som.Vector<int> compiles three. The methods that the compiler or the
 * runtime call on their own are made at once. */
static bool always_needed(const comp_fn *m)
{
    static const char *const NAMES[] = {"init", "to_str", "compare"};
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (m->len == strlen(NAMES[i]) && !memcmp(m->name, NAMES[i], m->len))
            return true;
    return m->len >= 2 && m->name[0] == '_' && m->name[1] == '_';
}

static uint32_t call_key(char *key, int32_t type, int slot)
{
    int32_t k[2] = {type, slot};
    memcpy(key, k, sizeof k);
    return sizeof k;
}

static bool descends(const comp_class *c, const comp_class *from)
{
    for (uint32_t depth = 0; c && depth < 4096; c = c->super, depth++)
        if (c == from)
            return true;
    return false;
}

/* Copies the bodies of methods now[0..n) (off the deferred list). */
static void give_bodies(comp *C, comp_fn **now, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        comp_fn *m = now[i], **lits = NULL;
        uint32_t nlits = 0, cap = 0;
        m->body = clone_node(C, m->body_from->body, &lits, &nlits, &cap);
        m->body_from = NULL;
        resolve_lits(C, m->subst, lits, nlits);
        if (m->index < C->check_next) { /* the checker's loop has passed it */
            C->late = comp_grow(C, C->late, &C->late_cap, C->nlate + 1, sizeof(comp_fn *));
            C->late[C->nlate++] = m;
        }
    }
}

/* Takes the deferred methods that `reached` says a call reaches off the
 * list, then gives them bodies (which may make instances, whose methods
 * join the list). */
static void take_deferred(comp *C, bool (*reached)(comp *, const comp_fn *, const void *),
                          const void *arg)
{
    comp_fn **now = NULL;
    uint32_t nnow = 0, cap = 0, k = 0;
    for (uint32_t i = 0; i < C->ndeferred; i++) {
        comp_fn *m = C->deferred[i];
        if (m->body_from && reached(C, m, arg)) {
            now = comp_grow(C, now, &cap, nnow + 1, sizeof(comp_fn *));
            now[nnow++] = m;
        } else if (m->body_from) {
            C->deferred[k++] = m;
        }
    }
    C->ndeferred = k;
    give_bodies(C, now, nnow);
}

struct slot_call {
    const comp_class *recv;
    int slot;
    const comp_fn *target;
};

static bool reached_by_call(comp *C, const comp_fn *m, const void *arg)
{
    (void)C;
    const struct slot_call *sc = arg;
    const comp_class *c = m->cls;
    if (m == sc->target)
        return true;
    return sc->recv && c->laid_out && sc->slot < (int)c->nslots && c->vtable[sc->slot] == m &&
           descends(c, sc->recv);
}

void comp_need_method(comp *C, comp_fn *target, const comp_class *recv, int slot)
{
    bool fresh = false;
    if (recv) {
        char key[8];
        uint32_t klen = call_key(key, recv->type, slot);
        fresh = comp_map_get(&C->called, key, klen) < 0;
        if (fresh)
            comp_map_put(C, &C->called, comp_strdup(C, key, klen), klen, 1);
    }
    if (!fresh && !(target && target->body_from))
        return;
    struct slot_call sc = {fresh ? recv : NULL, slot, target};
    take_deferred(C, reached_by_call, &sc);
}

static bool reached_before(comp *C, const comp_fn *m, const void *arg)
{
    const comp_class *c = arg;
    if (m->cls != c)
        return false;
    int slot = -1;
    for (uint32_t s = 0; s < c->nslots && slot < 0; s++)
        if (c->vtable[s] == m)
            slot = (int)s;
    char key[8];
    for (const comp_class *a = c; slot >= 0 && a && a->laid_out; a = a->super) {
        if ((uint32_t)slot >= a->nslots)
            break;
        if (comp_map_get(&C->called, key, call_key(key, a->type, slot)) >= 0)
            return true;
    }
    return false;
}

void comp_methods_laid_out(comp *C, comp_class *c)
{
    if (c->generic && C->called.count)
        take_deferred(C, reached_before, c);
}

static comp_fn *own_init(const comp_class *c)
{
    for (uint32_t i = 0; i < c->nmethods; i++)
        if (c->methods[i]->len == 4 && !memcmp(c->methods[i]->name, "init", 4))
            return c->methods[i];
    return NULL;
}

int comp_instantiate_class(comp *C, comp_class *g, uint32_t line, uint32_t col, comp_node **args,
                           uint32_t nargs, const int *explicit, uint32_t nexplicit)
{
    int ptypes[KILN_MAX_PARAMS];
    comp_fn *init = own_init(g);
    uint32_t np = init && init->nparams > 1 ? init->nparams - 1 : 0;
    if (np > nargs)
        np = nargs;
    if (np > KILN_MAX_PARAMS)
        np = KILN_MAX_PARAMS;
    for (uint32_t i = 0; i < np; i++)
        ptypes[i] = init->params[i + 1]->type;
    return comp_instantiate_class_with(C, g, line, col, args, ptypes, np, explicit, nexplicit);
}

int comp_instantiate_class_with(comp *C, comp_class *g, uint32_t line, uint32_t col,
                                comp_node **args, const int *ptypes, uint32_t np,
                                const int *explicit, uint32_t nexplicit)
{
    int32_t targs[KILN_MAX_PARAMS + 1];
    char shown[80];
    snprintf(shown, sizeof shown, "%.*s", (int)(g->len > 60 ? 60 : g->len), g->name);
    comp_subst gs = {g->tparams, g->ntparams, NULL, NULL, 0};
    if (!bind(C, shown, (uint32_t)strlen(shown), &gs, line, col, args, ptypes, np, explicit,
              nexplicit, targs))
        return CT_ERR;
    char key[24 + 12 * (KILN_MAX_PARAMS + 1)];
    uint32_t gi = 0;
    while (gi < C->nclasses && C->classes[gi] != g)
        gi++;
    uint32_t klen = inst_key(key, sizeof key, 'c', gi, targs, g->ntparams);
    int32_t found = comp_map_get(&C->inst_map, key, klen);
    if (found >= 0)
        return found;
    uint32_t made = 0;
    for (uint32_t i = 0; i < C->nsorted; i++)
        made += C->sorted[i]->generic == g;
    if (made >= MAX_INSTANCES) {
        comp_error(C, line, col,
                   "more than %d instances of class %s (does it use itself with a growing "
                   "type?)",
                   MAX_INSTANCES, shown);
        return CT_ERR;
    }
    comp_class *c = comp_alloc(C, sizeof *c);
    *c = *g;
    c->generic = g;
    c->tparams = NULL;
    c->ntparams = 0;
    comp_subst *sub = new_subst(C, g->name, g->len, g->tparams, g->ntparams, targs, line);
    c->name = sub->what;
    if (g->tuple) { /* "__Tuple2<int, str>" is (int, str), as programs write it */
        size_t k = strlen(sub->what);
        char *nm = comp_strdup(C, sub->what + 8, k - 8);
        nm[0] = '(';
        nm[k - 9] = ')';
        c->name = nm;
        sub->what = NULL;
    }
    if (g->len == 6 && !memcmp(g->name, "__Chan", 6) && g->prelude) { /* chan[int] */
        size_t k = strlen(sub->what);
        char *nm = comp_alloc(C, k + 2);
        snprintf(nm, k + 2, "chan[%.*s]", (int)(k - 8), sub->what + 7);
        c->name = nm;
        sub->what = NULL;
    }
    if (g->lazy) /* errors in it are not the program's instance */
        sub->what = NULL;
    c->subst = sub;
    c->lazy = false;
    c->len = (uint32_t)strlen(c->name);
    c->state = 0;
    c->laid_out = false;
    c->super = NULL;
    c->fields = NULL;
    c->vtable = NULL;
    c->nfields = c->nslots = 0;
    c->init = c->field_init = NULL;
    comp_fn **lits = NULL;
    uint32_t nlits = 0, cap = 0;
    c->own = comp_alloc(C, sizeof(comp_field) * (g->nown ? g->nown : 1));
    c->own_cap = g->nown;
    for (uint32_t i = 0; i < g->nown; i++) {
        c->own[i] = g->own[i];
        c->own[i].init = clone_node(C, g->own[i].init, &lits, &nlits, &cap);
    }
    c->methods = comp_alloc(C, sizeof(comp_fn *) * (g->nmethods ? g->nmethods : 1));
    c->methods_cap = g->nmethods;
    for (uint32_t i = 0; i < g->nmethods; i++) {
        const comp_fn *t = g->methods[i];
        bool later = t->body && !t->synth && !always_needed(t);
        comp_fn *m = clone_fn(C, t, !later, &lits, &nlits, &cap);
        m->cls = c;
        m->subst = c->subst;
        c->methods[i] = m;
        if (later) {
            C->deferred =
                comp_grow(C, C->deferred, &C->deferred_cap, C->ndeferred + 1, sizeof(comp_fn *));
            C->deferred[C->ndeferred++] = m;
        }
    }
    resolve_lits(C, c->subst, lits, nlits);
    comp_place_class(C, c);
    if (c->type == CT_ERR)
        return CT_ERR;
    comp_map_put(C, &C->inst_map, comp_strdup(C, key, klen), klen, c->type);
    if (g->super_name) { /* the superclass, in this instance's type arguments */
        comp_module *prev = comp_enter(C, g->mod);
        comp_class *sup = comp_class_ref(C, g->mod, g->super_qs, g->super_qlen, g->super_name,
                                         g->super_len, g->super_line, g->super_col, "class");
        if (sup && sup->ntparams && g->nsuper_targs) {
            const comp_subst *saved = C->subst;
            C->subst = c->subst;
            int st = comp_instantiate_class(C, sup, g->super_line, g->super_col, NULL, 0,
                                            g->super_targs, g->nsuper_targs);
            C->subst = saved;
            c->super = comp_class_of(C, st);
        } else if (sup && !sup->ntparams && !g->nsuper_targs && !sup->is_iface) {
            c->super = sup->lazy ? comp_class_use(C, sup, g->super_line, g->super_col) : sup;
        } else if (sup && sup->is_iface) {
            comp_error(C, g->super_line, g->super_col,
                       "a generic class cannot implement an interface (yet)");
        } else if (sup) {
            comp_error(C, g->super_line, g->super_col,
                       sup->ntparams ? "generic class %.*s needs type arguments"
                                     : "class %.*s is not generic: it takes no type arguments",
                       (int)sup->len, sup->name);
        }
        comp_enter(C, prev);
        if (comp_inherits_itself(C, c))
            c->super = NULL;
    }
    comp_class_ready(C, c);
    return c->type;
}

comp_class *comp_class_use(comp *C, comp_class *c, uint32_t line, uint32_t col)
{
    if (c && c->lazy)
        return comp_class_of(C, comp_instantiate_class(C, c, line, col, NULL, 0, NULL, 0));
    if (c && c->ntparams) {
        comp_error(C, line, col, "generic class %.*s needs type arguments: %.*s<...>", (int)c->len,
                   c->name, (int)c->len, c->name);
        return NULL;
    }
    return c;
}
