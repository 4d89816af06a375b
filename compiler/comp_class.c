/*
 * comp_class.c — classes, before any code is checked: named types are
 * resolved, superclasses linked (no cycles) and ordered before their
 * subclasses, fields laid out (the superclass's first) and vtables built
 * (slot 0 is to_str; an override keeps its slot and its signature).
 *
 * Two kinds of functions are made here rather than written by the user,
 * and the emitter writes their bodies:
 *   Class.to_str    returns "<Class>", for a class with no user to_str in
 *                   its chain (a subclass of such a class gets its own, so
 *                   it prints its own name);
 *   Class.<fields>  runs the field initializers, the superclass's first;
 *                   only for classes with an initialized field in the chain.
 */
#include <stdio.h>
#include <string.h>

#include "comp.h"

static void err_at_class(comp *C, const comp_class *c, const char *fmt, const char *a,
                         uint32_t alen)
{
    comp_error(C, c->line, c->col, fmt, (int)alen, a);
}

/* Array, map, function and cell types are interned by their structure,
 * so two equal types always have one id. A new one that no image id is
 * left for is reported at (line, col) in the current module, once: later
 * ones are CT_ERR without a word, as after any error. */
static int intern_xtype(comp *C, uint8_t kind, int a, int b, const int *params, uint32_t line,
                        uint32_t col)
{
    if (a == CT_ERR || (kind == VM_K_MAP && b == CT_ERR))
        return CT_ERR;
    for (int i = 0; kind == VM_K_FN && i < b; i++)
        if (params[i] == CT_ERR)
            return CT_ERR;
    char key[32 + 12 * KILN_MAX_PARAMS]; /* 11 characters hold any int */
    int n = snprintf(key, sizeof key, "%c%d,%d", "?CAMFX"[kind], a, b);
    for (int i = 0; kind == VM_K_FN && i < b; i++)
        n += snprintf(key + n, sizeof key - (size_t)n, ",%d", params[i]);
    int32_t id = comp_map_get(&C->xtype_map, key, (uint32_t)n);
    if (id >= 0)
        return id;
    id = (int32_t)(VM_T__COUNT + C->ntkinds);
    if (id >= VM_MAX_TYPES) {
        if (!C->types_full)
            comp_error(C, line, col,
                       "too many types in one program (at most %d: type ids are "
                       "16 bits in the image)",
                       VM_MAX_TYPES - VM_T__COUNT);
        C->types_full = true;
        return CT_ERR;
    }
    C->xtypes = comp_grow(C, C->xtypes, &C->xtypes_cap, C->nxtypes + 1, sizeof *C->xtypes);
    struct comp_xtype *x = &C->xtypes[C->nxtypes++];
    x->kind = kind;
    x->a = a;
    x->b = b;
    x->params = NULL;
    if (kind == VM_K_FN) {
        x->params = comp_alloc(C, sizeof(uint16_t) * (b ? (size_t)b : 1));
        for (int i = 0; i < b; i++)
            x->params[i] = (uint16_t)params[i];
    }
    comp_map_put(C, &C->xtype_map, comp_strdup(C, key, (size_t)n), (uint32_t)n, id);
    C->tkinds = comp_grow(C, C->tkinds, &C->tkinds_cap, C->ntkinds + 1, sizeof *C->tkinds);
    C->tkinds[C->ntkinds++] = (struct comp_tkind){false, C->nxtypes - 1};
    return id;
}

int comp_array_type(comp *C, int elem, uint32_t line, uint32_t col)
{
    return intern_xtype(C, VM_K_ARRAY, elem, 0, NULL, line, col);
}
int comp_map_type(comp *C, int key, int val, uint32_t line, uint32_t col)
{
    return intern_xtype(C, VM_K_MAP, key, val, NULL, line, col);
}
int comp_cell_type(comp *C, int content, uint32_t line, uint32_t col)
{
    return intern_xtype(C, VM_K_CELL, content, 0, NULL, line, col);
}
int comp_fn_type(comp *C, int ret, uint32_t nparams, const int *params, uint32_t line, uint32_t col)
{
    return intern_xtype(C, VM_K_FN, ret, (int)nparams, params, line, col);
}

static const struct comp_xtype *xtype(comp *C, int type)
{
    int k = type - VM_T__COUNT;
    return k >= 0 && k < (int)C->ntkinds && !C->tkinds[k].cls ? &C->xtypes[C->tkinds[k].idx] : NULL;
}

int comp_elem_of(comp *C, int type)
{
    const struct comp_xtype *x = xtype(C, type);
    return x && x->kind == VM_K_ARRAY ? x->a : -1;
}

const struct comp_xtype *comp_fn_sig(comp *C, int type)
{
    const struct comp_xtype *x = xtype(C, type);
    return x && x->kind == VM_K_FN ? x : NULL;
}

bool comp_map_types(comp *C, int type, int *key, int *val)
{
    const struct comp_xtype *x = xtype(C, type);
    if (!x || x->kind != VM_K_MAP)
        return false;
    *key = x->a;
    *val = x->b;
    return true;
}

int comp_elem_of_ctx(const void *C, uint32_t type)
{
    return comp_elem_of((comp *)C, (int)type);
}

int comp_letter_type(comp *C, char c, uint32_t line, uint32_t col)
{
    switch (c) {
    case 'i': return VM_T_INT;
    case 'f': return VM_T_FLOAT;
    case 'b': return VM_T_BOOL;
    case 's': return VM_T_STR;
    case 'p': return VM_T_PTR;
    case 'y': return VM_T_BUFFER;
    case 'S': return comp_array_type(C, VM_T_STR, line, col);
    case 'I': return comp_array_type(C, VM_T_INT, line, col);
    case 'F': return comp_array_type(C, VM_T_FLOAT, line, col);
    default: return VM_T_VOID;
    }
}

/* ---- Types written as text (the embedder's natives) ---- */

static void skip_blanks(const char **p)
{
    while (**p == ' ')
        (*p)++;
}

static bool take(const char **p, const char *s)
{
    skip_blanks(p);
    size_t n = strlen(s);
    if (strncmp(*p, s, n))
        return false;
    *p += n;
    return true;
}

static uint32_t ident_len(const char *p)
{
    uint32_t n = 0;
    while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || p[n] == '_' ||
           (n && p[n] >= '0' && p[n] <= '9'))
        n++;
    return n;
}

/* A class named `name` (len) in module `qs` (qlen; NULL: as the root
 * module sees it), or NULL. */
static comp_class *text_class(comp *C, const char *qs, uint32_t qlen, const char *name,
                              uint32_t len)
{
    comp_class *lib = !qs && C->library_text ? comp_find_library_class(C, name, len) : NULL;
    if (lib)
        return lib;
    if (!qs) { /* the root module's (or the prelude's), else the only module's */
        comp_class *c = comp_find_class(C, C->mods[0], name, len, false), *only = NULL;
        for (uint32_t m = 2; !c && m < C->nmods; m++) {
            comp_class *k = comp_find_class(C, C->mods[m], name, len, true);
            if (k && only)
                return NULL; /* two: the text must say which */
            only = k ? k : only;
        }
        return c ? c : only;
    }
    for (uint32_t m = 2; m < C->nmods; m++)
        if (C->mods[m]->len == qlen && !memcmp(C->mods[m]->name, qs, qlen))
            return comp_find_class(C, C->mods[m], name, len, true);
    return NULL;
}

static int text_type(comp *C, const char **p, int depth, uint32_t line, uint32_t col);

/* Types separated by commas up to `close`, into ts (at most max); their
 * number, or -1. */
static int text_types(comp *C, const char **p, const char *close, int *ts, int max, int depth,
                      uint32_t line, uint32_t col)
{
    int n = 0;
    if (take(p, close))
        return 0;
    do {
        if (n == max)
            return -1;
        if ((ts[n++] = text_type(C, p, depth + 1, line, col)) == CT_ERR)
            return -1;
    } while (take(p, ","));
    return take(p, close) ? n : -1;
}

static int text_type(comp *C, const char **p, int depth, uint32_t line, uint32_t col)
{
    int ts[KILN_MAX_PARAMS];
    skip_blanks(p);
    if (depth > 32)
        return CT_ERR;
    if (take(p, "[")) {
        int e = text_type(C, p, depth + 1, line, col);
        return e != CT_ERR && take(p, "]") ? comp_array_type(C, e, line, col) : CT_ERR;
    }
    if (take(p, "{")) {
        int k = text_type(C, p, depth + 1, line, col);
        if (k == CT_ERR || !take(p, ":"))
            return CT_ERR;
        int v = text_type(C, p, depth + 1, line, col);
        if (v == CT_ERR || !take(p, "}") || !comp_hashable(C, k))
            return CT_ERR;
        return comp_map_type(C, k, v, line, col);
    }
    if (!strncmp(*p, "fn", 2) && !ident_len(*p + 2) && (*p)[2] != '_') {
        *p += 2;
        if (!take(p, "("))
            return CT_ERR;
        int n = text_types(C, p, ")", ts, KILN_MAX_PARAMS, depth, line, col);
        if (n < 0)
            return CT_ERR;
        int ret = VM_T_VOID;
        if (take(p, "->") && (ret = text_type(C, p, depth + 1, line, col)) == CT_ERR)
            return CT_ERR;
        return comp_fn_type(C, ret, (uint32_t)n, ts, line, col);
    }
    const char *qs = NULL, *name = *p;
    uint32_t qlen = 0, len = ident_len(name);
    if (take(p, "(")) { /* a tuple */
        int n = text_types(C, p, ")", ts, 6, depth, line, col);
        if (n < 2)
            return CT_ERR;
        char tuple[] = "__Tuple0";
        tuple[7] = (char)('0' + n);
        comp_class *c = text_class(C, NULL, 0, tuple, 8);
        return c ? comp_instantiate_class(C, c, line, col, NULL, 0, ts, (uint32_t)n) : CT_ERR;
    }
    if (!len)
        return CT_ERR;
    *p += len;
    if (**p == '.') { /* util.Shape */
        qs = name;
        qlen = len;
        name = ++*p;
        if (!(len = ident_len(name)))
            return CT_ERR;
        *p += len;
    }
    for (int f = VM_T_INT; !qs && f <= VM_T_BUFFER; f++) /* int float bool str ptr Buffer */
        if (len == strlen(vm_type_name(f)) && !memcmp(name, vm_type_name(f), len))
            return f;
    if (len > 1 && name[0] == '_' && name[1] == '_')
        return CT_ERR; /* the library's own classes */
    comp_class *c = text_class(C, qs, qlen, name, len);
    if (!c)
        return CT_ERR;
    int n = 0;
    if (take(p, "<") && (n = text_types(C, p, ">", ts, KILN_MAX_PARAMS, depth, line, col)) <= 0)
        return CT_ERR;
    if (c->lazy && !n)
        return comp_instantiate_class(C, c, line, col, NULL, 0, NULL, 0);
    if ((uint32_t)n != c->ntparams)
        return CT_ERR;
    return n ? comp_instantiate_class(C, c, line, col, NULL, 0, ts, (uint32_t)n) : c->type;
}

int comp_native_type(comp *C, const vm_natsig *nat, uint32_t i, uint32_t line, uint32_t col)
{
    uint32_t np = (uint32_t)strlen(nat->params);
    char letter = i < np ? nat->params[i] : nat->ret;
    if (letter != 'T')
        return comp_letter_type(C, letter, line, col);
    const char *text = nat->types[i], *p = text;
    C->library_text = nat->library; /* "File" is the library's, whatever the program has */
    int t = text_type(C, &p, 0, line, col);
    C->library_text = false;
    skip_blanks(&p);
    if (t == CT_ERR || *p) {
        comp_error(C, line, col, "native %s: the program has no type '%s'", nat->name, text);
        return CT_ERR;
    }
    return t;
}

bool comp_text_fits(const void *ctx, const char *text, uint32_t t)
{
    comp *C = (comp *)ctx;
    for (int lib = 1; lib >= 0; lib--) { /* the library's class of the name, then the program's */
        const char *p = text;
        C->library_text = lib;
        int want = text_type(C, &p, 0, 0, 0);
        C->library_text = false;
        skip_blanks(&p);
        if (want != CT_ERR && !*p && ((int)t == want || comp_subclass(C, (int)t, want)))
            return true;
    }
    return false;
}

static int resolve_type(comp *C, const struct comp_tname *tn);

int comp_resolve_type(comp *C, int t)
{
    if (t < CT_NAMED || t >= CT_NAMED + (int)C->ntnames)
        return t;
    const struct comp_tname *tn = &C->tnames[t - CT_NAMED];
    comp_module *prev = comp_enter(C, tn->mod); /* errors name the file it is written in */
    t = resolve_type(C, tn);
    comp_enter(C, prev);
    return t;
}

static int resolve_type(comp *C, const struct comp_tname *tn)
{
    if (!tn->name && tn->val == -2) { /* fn(A, B) -> R */
        int params[KILN_MAX_PARAMS];
        for (uint32_t i = 0; i < tn->nparams; i++)
            params[i] = comp_resolve_type(C, tn->params[i]);
        return comp_fn_type(C, comp_resolve_type(C, tn->elem), tn->nparams, params, tn->line,
                            tn->col);
    }
    if (!tn->name && tn->val < 0) /* [T] */
        return comp_array_type(C, comp_resolve_type(C, tn->elem), tn->line, tn->col);
    if (!tn->name) { /* {K: V} */
        int k = comp_resolve_type(C, tn->elem), v = comp_resolve_type(C, tn->val);
        const comp_class *kc = comp_class_of(C, k);
        if (kc && (kc->tuple || kc->is_enum)) { /* Hash if its fields are: checked later */
            C->keychecks = comp_grow(C, C->keychecks, &C->keychecks_cap, C->nkeychecks + 1,
                                     sizeof *C->keychecks);
            C->keychecks[C->nkeychecks++] = (struct comp_keycheck){k, tn->line, tn->col, C->mod};
        } else if (k != VM_T_INT && k != VM_T_STR && k != VM_T_BOOL && k != CT_ERR) {
            comp_error(C, tn->line, tn->col,
                       "map keys must be int, str, bool, or tuples and enums of them, not %s",
                       comp_type_name(C, k));
            return CT_ERR;
        }
        return comp_map_type(C, k, v, tn->line, tn->col);
    }
    int sub = tn->qs ? -1 : comp_subst_lookup(C, tn->name, tn->len);
    if (sub >= 0) {
        if (tn->ntargs)
            comp_error(C, tn->line, tn->col, "type parameter '%.*s' takes no type arguments",
                       (int)tn->len, tn->name);
        return sub;
    }
    comp_class *c =
        comp_class_ref(C, tn->mod, tn->qs, tn->qlen, tn->name, tn->len, tn->line, tn->col, "type");
    if (!c)
        return CT_ERR;
    if (c->lazy && !tn->ntargs)
        return comp_instantiate_class(C, c, tn->line, tn->col, NULL, 0, NULL, 0);
    if (c->ntparams && !tn->ntargs) {
        comp_error(C, tn->line, tn->col, "generic class %.*s needs type arguments: %.*s<...>",
                   (int)c->len, c->name, (int)c->len, c->name);
        return CT_ERR;
    }
    if (c->ntparams)
        return comp_instantiate_class(C, c, tn->line, tn->col, NULL, 0, tn->targs, tn->ntargs);
    if (tn->ntargs) {
        comp_error(C, tn->line, tn->col, "class %.*s is not generic: it takes no type arguments",
                   (int)c->len, c->name);
        return CT_ERR;
    }
    return c->type;
}

comp_class *comp_class_of(comp *C, int type)
{
    int k = type - VM_T__COUNT;
    return k >= 0 && k < (int)C->ntkinds && C->tkinds[k].cls ? C->sorted[C->tkinds[k].idx] : NULL;
}

bool comp_subclass(comp *C, int from, int to)
{
    comp_class *c = comp_class_of(C, from), *want = comp_class_of(C, to);
    for (; c && want; c = c->super)
        if (c == want)
            return true;
    return false;
}

static bool is_named(const comp_fn *f, const char *name)
{
    return f->len == strlen(name) && memcmp(f->name, name, f->len) == 0;
}

static char *qualified(comp *C, const comp_class *c, const char *name, uint32_t len)
{
    char *s = comp_alloc(C, c->len + len + 2);
    memcpy(s, c->name, c->len);
    s[c->len] = '.';
    memcpy(s + c->len + 1, name, len);
    return s;
}

static comp_fn *synth_fn(comp *C, comp_class *c, int kind, const char *name, int ret)
{
    comp_fn *fn = comp_alloc(C, sizeof *fn);
    fn->name = name;
    fn->len = (uint32_t)strlen(name);
    fn->cls = c;
    fn->synth = (uint8_t)kind;
    fn->prelude = c->prelude;
    fn->mod = c->mod;
    fn->full = qualified(C, c, name, fn->len);
    fn->ret = ret;
    fn->line = c->line;
    fn->col = c->col;
    fn->params = comp_alloc(C, sizeof(comp_sym *));
    comp_sym *self = comp_alloc(C, sizeof *self);
    self->name = "self";
    self->len = 4;
    self->kind = SYM_LOCAL;
    self->role = SYM_ROLE_PARAM;
    self->type = c->type;
    fn->params[0] = self;
    fn->nparams = 1;
    fn->index = C->nfns;
    C->fns = comp_grow(C, C->fns, &C->fns_cap, C->nfns + 1, sizeof(comp_fn *));
    C->fns[C->nfns++] = fn;
    return fn;
}

/* Depth-first: a class is placed after its superclass. Returns false when
 * c closes an inheritance cycle; the class that found it then drops its
 * superclass, so every class in the cycle is still placed (and checked)
 * with a superclass that is already placed. */
static bool order(comp *C, comp_class *c, uint32_t *n)
{
    if (c->state == 2)
        return true;
    if (c->state == 1) {
        comp_module *prev = comp_enter(C, c->mod);
        err_at_class(C, c, "class '%.*s' inherits from itself", c->name, c->len);
        comp_enter(C, prev);
        return false;
    }
    c->state = 1;
    if (c->super_name) {
        comp_module *prev = comp_enter(C, c->mod);
        comp_class *sup = comp_class_ref(C, c->mod, c->super_qs, c->super_qlen, c->super_name,
                                         c->super_len, c->super_line, c->super_col, "class");
        if (sup && sup->is_iface && !c->nsuper_targs) { /* class C : Shape: an interface */
            struct comp_iface_ref *refs = comp_alloc(C, sizeof *refs * (c->nifaces + 1));
            refs[0] =
                (struct comp_iface_ref){c->super_name, c->super_len, c->super_line, c->super_col,
                                        NULL,          c->super_qs,  c->super_qlen};
            if (c->nifaces)
                memcpy(refs + 1, c->ifaces, sizeof *refs * c->nifaces);
            c->ifaces = refs;
            c->nifaces++;
            c->super_name = NULL;
            sup = NULL;
        }
        if (sup && (sup->ntparams || c->nsuper_targs || sup->lazy)) {
            /* a generic superclass: its instance is made once types exist */
            if (sup->lazy && !c->nsuper_targs)
                ; /* made below, once types exist */
            else if (!sup->ntparams)
                comp_error(C, c->super_line, c->super_col,
                           "class %.*s is not generic: it takes no type arguments", (int)sup->len,
                           sup->name);
            else if (!c->nsuper_targs)
                comp_error(C, c->super_line, c->super_col,
                           "generic class %.*s needs type arguments: %.*s<...>", (int)sup->len,
                           sup->name, (int)sup->len, sup->name);
            sup = NULL;
        }
        comp_enter(C, prev);
        if (sup && order(C, sup, n))
            c->super = sup;
    }
    c->state = 2;
    c->index = (*n)++;
    C->sorted[c->index] = c;
    return true;
}

/* Class c declares interface r (not a built-in one): it must be one, and
 * c must have each of its methods, with the same parameters and result. */
static void implement(comp *C, comp_class *c, struct comp_iface_ref *r)
{
    comp_class *i = r->qs ? comp_class_ref(C, c->mod, r->qs, r->qlen, r->name, r->len, r->line,
                                           r->col, "interface")
                          : comp_find_class(C, c->mod, r->name, r->len, false);
    if (!i && r->qs)
        return; /* reported */
    if (!i || !i->is_iface) {
        comp_error(C, r->line, r->col,
                   i ? "'%.*s' is a class: a class has one superclass, the others are interfaces"
                     : "unknown interface '%.*s'",
                   (int)r->len, r->name);
        return;
    }
    r->cls = i;
    for (uint32_t k = 0; k < i->nmethods; k++) {
        const comp_fn *m = i->methods[k];
        int slot = comp_find_slot(c, m->name, m->len);
        const comp_fn *have = slot >= 0 ? c->vtable[slot] : NULL;
        bool same = have && have->nparams == m->nparams && have->ret == m->ret;
        for (uint32_t j = 1; same && j < m->nparams; j++)
            same = have->params[j]->type == m->params[j]->type;
        if (!same)
            comp_error(C, r->line, r->col, "%.*s does not implement %.*s.%.*s(%s)%s", (int)c->len,
                       c->name, (int)i->len, i->name, (int)m->len, m->name,
                       m->nparams > 1 ? "..." : "",
                       have ? ": its parameters or result differ" : ": it has no such method");
    }
}

bool comp_implements(comp *C, const comp_class *c, const comp_class *i)
{
    (void)C;
    for (; c; c = c->super)
        for (uint32_t k = 0; k < c->nifaces; k++)
            if (c->ifaces[k].cls == i)
                return true;
    return false;
}

bool comp_inherits_itself(comp *C, const comp_class *c)
{
    uint32_t steps = 0;
    for (const comp_class *k = c->super; k; k = k->super)
        if (k == c || ++steps > C->nsorted) {
            comp_error(C, c->line, c->col, "class '%.*s' inherits from itself", (int)c->len,
                       c->name);
            return true;
        }
    return false;
}

/* The interfaces class c declares: Ordered needs compare(other: C) -> int;
 * a class cannot be a map key (Hash); the program's own (implement). */
static void check_ifaces(comp *C, comp_class *c)
{
    for (uint32_t i = 0; i < c->nifaces; i++) {
        const struct comp_iface_ref *r = &c->ifaces[i];
        for (uint32_t j = 0; j < i; j++)
            if (c->ifaces[j].len == r->len && !memcmp(c->ifaces[j].name, r->name, r->len) &&
                c->ifaces[j].qlen == r->qlen &&
                (!r->qs || !memcmp(c->ifaces[j].qs, r->qs, r->qlen)))
                comp_error(C, r->line, r->col, "interface %.*s is listed twice", (int)r->len,
                           r->name);
        if (r->len == 4 && !memcmp(r->name, "Hash", 4))
            comp_error(C, r->line, r->col,
                       "a class cannot be Hash (map keys are int, str, bool, and tuples "
                       "and enums of them)");
        if (r->qs || !comp_known_bound(r->name, r->len)) {
            implement(C, c, (struct comp_iface_ref *)r);
            continue;
        }
        if (r->len != 7 || memcmp(r->name, "Ordered", 7))
            continue;
        int slot = comp_find_slot(c, "compare", 7);
        const comp_fn *m = slot >= 0 ? c->vtable[slot] : NULL;
        if (!m || m->nparams != 2 || m->ret != VM_T_INT ||
            !comp_subclass(C, c->type, m->params[1]->type))
            comp_error(C, r->line, r->col,
                       "%.*s is Ordered, so it needs a method compare(other: %.*s) -> int",
                       (int)c->len, c->name, (int)c->len, c->name);
    }
}

static void lay_out(comp *C, comp_class *c);
static void lay_out_chain(comp *C, comp_class *c)
{
    if (!c || c->laid_out)
        return;
    lay_out_chain(C, c->super);
    lay_out(C, c);
}

void comp_place_class(comp *C, comp_class *c)
{
    C->sorted = comp_grow(C, C->sorted, &C->sorted_cap, C->nsorted + 1, sizeof(comp_class *));
    c->index = C->nsorted;
    C->sorted[C->nsorted++] = c;
    c->state = 2;
    c->type = (int32_t)(VM_T__COUNT + C->ntkinds);
    if (c->type >= VM_MAX_TYPES) {
        if (!C->types_full)
            comp_error(C, c->line, c->col,
                       "too many types in one program (at most %d: type ids are 16 bits in "
                       "the image)",
                       VM_MAX_TYPES - VM_T__COUNT);
        C->types_full = true;
        c->type = CT_ERR;
        return;
    }
    C->tkinds = comp_grow(C, C->tkinds, &C->tkinds_cap, C->ntkinds + 1, sizeof *C->tkinds);
    C->tkinds[C->ntkinds++] = (struct comp_tkind){true, c->index};
}

/* An instance made while another class is being laid out (a field of
 * Expr<int> of type Lit<int>, which extends Expr<int>) waits until that
 * layout is done: its superclass may be the half-built one. */
void comp_class_ready(comp *C, comp_class *c)
{
    if (!C->layout_done)
        return;
    if (C->layout_depth) {
        C->layout_wait =
            comp_grow(C, C->layout_wait, &C->layout_wait_cap, C->nlayout_wait + 1, sizeof(c));
        C->layout_wait[C->nlayout_wait++] = c;
        return;
    }
    lay_out_chain(C, c);
    while (C->nlayout_wait)
        lay_out_chain(C, C->layout_wait[--C->nlayout_wait]);
}

static comp_field *find_field(const comp_class *c, const char *name, uint32_t len, uint32_t *idx)
{
    for (uint32_t i = 0; i < c->nfields; i++)
        if (c->fields[i]->len == len && memcmp(c->fields[i]->name, name, len) == 0) {
            if (idx)
                *idx = i;
            return c->fields[i];
        }
    return NULL;
}

int comp_find_slot(const comp_class *c, const char *name, uint32_t len)
{
    for (uint32_t i = 0; i < c->nslots; i++)
        if (c->vtable[i]->len == len && memcmp(c->vtable[i]->name, name, len) == 0)
            return (int)i;
    return -1;
}

int comp_find_field(const comp_class *c, const char *name, uint32_t len)
{
    uint32_t i;
    return find_field(c, name, len, &i) ? (int)i : -1;
}

static void layout_fields(comp *C, comp_class *c)
{
    comp_class *s = c->super;
    uint32_t n = (s ? s->nfields : 0) + c->nown;
    c->fields = comp_alloc(C, sizeof(comp_field *) * (n ? n : 1));
    if (s)
        memcpy(c->fields, s->fields, sizeof(comp_field *) * s->nfields);
    c->nfields = s ? s->nfields : 0;
    for (uint32_t i = 0; i < c->nown; i++) {
        comp_field *f = &c->own[i];
        f->type = comp_resolve_type(C, f->type);
        /* past the limit (reported once) the class cannot compile: no
         * search, which made 40,000 fields take seconds */
        comp_field *prev = c->nfields > VM_MAX_FIELDS ? NULL : find_field(c, f->name, f->len, NULL);
        if (prev) {
            comp_error(C, f->line, f->col, "field '%.*s' is already declared (at line %u)",
                       (int)f->len, f->name, prev->line);
            continue;
        }
        if (c->nfields == VM_MAX_FIELDS) /* the instructions' field operand is 8 bits */
            comp_error(C, f->line, f->col,
                       "too many fields in class %.*s (at most %d, inherited included)",
                       (int)c->len, c->name, VM_MAX_FIELDS);
        c->fields[c->nfields++] = f;
    }
}

static bool same_signature(const comp_fn *a, const comp_fn *b)
{
    if (a->nparams != b->nparams || a->ret != b->ret)
        return false;
    for (uint32_t i = 1; i < a->nparams; i++)
        if (a->params[i]->type != b->params[i]->type)
            return false;
    return true;
}

static void add_method(comp *C, comp_class *c, comp_fn *m)
{
    if (find_field(c, m->name, m->len, NULL)) {
        comp_error(C, m->line, m->col, "'%.*s' is already a field of %.*s", (int)m->len, m->name,
                   (int)c->len, c->name);
        return;
    }
    if (is_named(m, "init")) {
        if (m->ret != VM_T_VOID)
            comp_error(C, m->line, m->col, "init cannot return a value");
        c->init = m;
        return;
    }
    if (is_named(m, "to_str") && (m->nparams != 1 || m->ret != VM_T_STR)) {
        comp_error(C, m->line, m->col, "to_str must take no parameters and return str");
        return;
    }
    int slot = comp_find_slot(c, m->name, m->len);
    if (slot >= 0 && c->vtable[slot]->cls == c && !c->vtable[slot]->synth) {
        comp_error(C, m->line, m->col, "method '%.*s' is already defined in %.*s", (int)m->len,
                   m->name, (int)c->len, c->name);
        return;
    }
    if (slot >= 0) {
        if (!same_signature(m, c->vtable[slot]) && !c->vtable[slot]->synth)
            comp_error(C, m->line, m->col,
                       "'%.*s' overrides %s but changes its parameters or result", (int)m->len,
                       m->name, c->vtable[slot]->full);
        c->vtable[slot] = m;
        return;
    }
    c->vtable[c->nslots++] = m;
}

static void layout_methods(comp *C, comp_class *c)
{
    comp_class *s = c->super;
    uint32_t n = (s ? s->nslots : 1) + c->nmethods;
    c->vtable = comp_alloc(C, sizeof(comp_fn *) * n);
    c->init = s ? s->init : NULL;
    if (s) {
        memcpy(c->vtable, s->vtable, sizeof(comp_fn *) * s->nslots);
        c->nslots = s->nslots;
        if (c->vtable[0]->synth) /* an inherited default prints the wrong name */
            c->vtable[0] = synth_fn(C, c, SYNTH_TO_STR, "to_str", VM_T_STR);
    } else {
        c->vtable[0] = synth_fn(C, c, SYNTH_TO_STR, "to_str", VM_T_STR);
        c->nslots = 1;
    }
    for (uint32_t i = 0; i < c->nmethods; i++) {
        comp_fn *m = c->methods[i];
        m->full = qualified(C, c, m->name, m->len);
        m->params[0]->type = c->type;
        add_method(C, c, m);
    }
    bool inits = false;
    for (uint32_t i = 0; i < c->nown; i++)
        inits |= c->own[i].init != NULL;
    if (inits)
        c->field_init = synth_fn(C, c, SYNTH_FIELDS, "<fields>", VM_T_VOID);
    else
        c->field_init = s ? s->field_init : NULL;
}

static void resolve_fn_types(comp *C, comp_fn *fn)
{
    for (uint32_t i = fn->cls ? 1 : 0; i < fn->nparams; i++)
        fn->params[i]->type = comp_resolve_type(C, fn->params[i]->type);
    fn->ret = comp_resolve_type(C, fn->ret);
}

void comp_resolve_sig(comp *C, comp_fn *f)
{
    resolve_fn_types(C, f);
}

/* Fields and vtable of class c, its superclass's done; an instance of a
 * generic class resolves its own types here, in its type arguments. */
static void lay_out(comp *C, comp_class *c)
{
    if (c->laid_out || c->type == CT_ERR)
        return;
    c->laid_out = true;
    C->layout_depth++;
    comp_module *prev = comp_enter(C, c->mod);
    const comp_subst *saved = C->subst;
    if (c->subst) {
        C->subst = c->subst;
        for (uint32_t i = 0; i < c->nmethods; i++)
            resolve_fn_types(C, c->methods[i]);
    }
    layout_fields(C, c);
    layout_methods(C, c);
    check_ifaces(C, c);
    C->subst = saved;
    comp_enter(C, prev);
    C->layout_depth--;
    comp_methods_laid_out(C, c);
}

bool comp_classes(comp *C)
{
    if (C->nclasses > VM_MAX_TYPES - VM_T__COUNT) {                   /* each class is a type */
        const comp_class *c = C->classes[VM_MAX_TYPES - VM_T__COUNT]; /* the first too many */
        comp_module *prev = comp_enter(C, c->mod);
        comp_error(C, c->line, c->col,
                   "too many classes in one program (at most %d: type ids "
                   "are 16 bits in the image)",
                   VM_MAX_TYPES - VM_T__COUNT);
        comp_enter(C, prev);
        return false;
    }
    C->sorted_cap = C->nclasses ? C->nclasses : 1;
    C->sorted = comp_alloc(C, sizeof(comp_class *) * C->sorted_cap);
    uint32_t n = 0;
    for (uint32_t i = 0; i < C->nclasses; i++) {
        comp_class *c = C->classes[i];
        comp_module *prev = comp_enter(C, c->mod);
        if (comp_find_fn(C, c->mod, c->name, c->len, true))
            err_at_class(C, c, "'%.*s' is both a class and a function", c->name, c->len);
        comp_enter(C, prev);
        if (!COMP_TEMPLATE_CLASS(c)) /* a generic class is laid out per instance */
            order(C, C->classes[i], &n);
    }
    C->nsorted = n;
    for (uint32_t i = 0; i < n; i++) {
        C->sorted[i]->type = (int32_t)(VM_T__COUNT + C->ntkinds);
        C->tkinds = comp_grow(C, C->tkinds, &C->tkinds_cap, C->ntkinds + 1, sizeof *C->tkinds);
        C->tkinds[C->ntkinds++] = (struct comp_tkind){true, i};
    }
    /* A class deriving from an instance of a generic class gets it now
     * (the instance is placed after the declared classes, so it is laid
     * out with them, below). */
    for (uint32_t i = 0; i < n; i++) {
        comp_class *c = C->sorted[i];
        if (!c->super && c->super_name) {
            comp_module *prev = comp_enter(C, c->mod);
            comp_class *g = comp_find_class(C, c->mod, c->super_name, c->super_len, false);
            if (c->super_qs || (g && !g->lazy && !c->nsuper_targs))
                g = NULL; /* reported by order(), or a qualified name: looked up again */
            if (c->super_qs && c->nsuper_targs)
                g = comp_class_ref(C, c->mod, c->super_qs, c->super_qlen, c->super_name,
                                   c->super_len, c->super_line, c->super_col, "class");
            if (g && COMP_TEMPLATE_CLASS(g)) {
                int t = comp_instantiate_class(C, g, c->super_line, c->super_col, NULL, 0,
                                               c->super_targs, c->nsuper_targs);
                c->super = comp_class_of(C, t);
                if (comp_inherits_itself(C, c))
                    c->super = NULL;
            }
            comp_enter(C, prev);
        }
    }
    uint32_t nfns = C->nfns; /* synthesized functions need no resolving */
    for (uint32_t i = 1; i < nfns; i++)
        if (!COMP_TEMPLATE_FN(C->fns[i]) && !C->fns[i]->subst) /* templates: per instance */
            resolve_fn_types(C, C->fns[i]);
    /* Superclasses first: a class deriving from an instance comes after it
     * in no particular order, so lay out by following super links. */
    for (uint32_t i = 0; i < C->nsorted; i++)
        lay_out_chain(C, C->sorted[i]);
    C->layout_done = true;
    return true;
}

/* ---- Interface values: the wrapper I$C of a class C that implements I ---- */

static comp_node *mk(comp *C, int kind, const comp_class *at)
{
    return comp_node_new(C, kind, at->line, at->col);
}

static comp_node *field_of_self(comp *C, const comp_class *at, const char *name, uint32_t len)
{
    comp_node *f = mk(C, N_FIELD, at);
    f->a = mk(C, N_SELF, at);
    f->s = name;
    f->len = len;
    return f;
}

/* A method of wrapper w: `name`'s signature copied from m (or no
 * parameters and `ret`), its body one statement. */
static comp_fn *wrapper_method(comp *C, comp_class *w, const comp_fn *m, const char *name,
                               uint32_t len, int ret, comp_node *stmt)
{
    comp_fn *fn = comp_alloc(C, sizeof *fn);
    fn->name = name;
    fn->len = len;
    fn->cls = w;
    fn->mod = w->mod;
    fn->line = w->line;
    fn->col = w->col;
    fn->generated = true;
    fn->ret = m ? m->ret : ret;
    uint32_t np = m ? m->nparams : 1;
    fn->params = comp_alloc(C, sizeof(comp_sym *) * np);
    for (uint32_t i = 0; i < np; i++) {
        comp_sym *p = comp_alloc(C, sizeof *p);
        if (m)
            *p = *m->params[i];
        else
            *p = (comp_sym){.name = "self", .len = 4, .kind = SYM_LOCAL, .role = SYM_ROLE_PARAM};
        p->root = NULL;
        p->captured = p->assigned = false;
        fn->params[i] = p;
    }
    fn->nparams = np;
    fn->body = mk(C, N_BLOCK, w);
    fn->body->list = comp_alloc(C, sizeof(comp_node *));
    fn->body->list[0] = stmt;
    fn->body->n = 1;
    fn->index = C->nfns;
    C->fns = comp_grow(C, C->fns, &C->fns_cap, C->nfns + 1, sizeof(comp_fn *));
    C->fns[C->nfns++] = fn;
    w->methods = comp_grow(C, w->methods, &w->methods_cap, w->nmethods + 1, sizeof(comp_fn *));
    w->methods[w->nmethods++] = fn;
    return fn;
}

/* `return self._obj.name(params...)` (or without return for no result). */
static comp_node *forward(comp *C, const comp_class *w, const comp_fn *m, const char *name,
                          uint32_t len, int ret)
{
    comp_node *call = mk(C, N_CALL, w), *f = mk(C, N_FIELD, w);
    f->a = field_of_self(C, w, "_obj", 4);
    f->s = name;
    f->len = len;
    call->a = f;
    uint32_t np = m ? m->nparams : 1;
    if (np > 1) {
        call->list = comp_alloc(C, sizeof(comp_node *) * (np - 1));
        for (uint32_t i = 1; i < np; i++) {
            comp_node *a = mk(C, N_NAME, w);
            a->s = m->params[i]->name;
            a->len = m->params[i]->len;
            call->list[call->n++] = a;
        }
    }
    comp_node *st = mk(C, (m ? m->ret : ret) == VM_T_VOID ? N_EXPR : N_RETURN, w);
    st->a = call;
    return st;
}

comp_class *comp_wrapper(comp *C, comp_class *i, comp_class *c)
{
    for (uint32_t k = 0; k < i->nwrappers; k++)
        if (i->wrappers[k]->wrapped == c)
            return i->wrappers[k];
    comp_class *w = comp_alloc(C, sizeof *w);
    size_t n = (size_t)i->len + c->len + 2;
    char *name = comp_alloc(C, n + 1);
    snprintf(name, n + 1, "%.*s$%.*s", (int)i->len, i->name, (int)c->len, c->name);
    w->name = name;
    w->len = (uint32_t)strlen(name);
    w->line = c->line;
    w->col = c->col;
    w->mod = c->mod;
    w->super = i;
    w->wrapped = c;
    w->own = comp_alloc(C, sizeof(comp_field));
    w->own[0] = (comp_field){"_obj", 4, c->type, NULL, c->line, c->col};
    w->nown = w->own_cap = 1;
    /* init(o: C) { self._obj = o } */
    comp_fn init_sig = {0};
    comp_sym self = {.name = "self", .len = 4, .kind = SYM_LOCAL, .role = SYM_ROLE_PARAM},
             o = {
                 .name = "o", .len = 1, .kind = SYM_LOCAL, .role = SYM_ROLE_PARAM, .type = c->type};
    comp_sym *ps[2] = {&self, &o};
    init_sig.params = ps;
    init_sig.nparams = 2;
    init_sig.ret = VM_T_VOID;
    comp_node *set = mk(C, N_ASSIGN, w), *val = mk(C, N_NAME, w);
    set->op = T_EQ;
    set->a = field_of_self(C, w, "_obj", 4);
    val->s = "o";
    val->len = 1;
    set->b = val;
    wrapper_method(C, w, &init_sig, "init", 4, VM_T_VOID, set);
    wrapper_method(C, w, NULL, "to_str", 6, VM_T_STR, forward(C, w, NULL, "to_str", 6, VM_T_STR));
    for (uint32_t k = 0; k < i->nmethods; k++) {
        const comp_fn *m = i->methods[k];
        wrapper_method(C, w, m, m->name, m->len, m->ret, forward(C, w, m, m->name, m->len, m->ret));
    }
    i->wrappers =
        comp_grow(C, i->wrappers, &i->wrappers_cap, i->nwrappers + 1, sizeof *i->wrappers);
    i->wrappers[i->nwrappers++] = w;
    comp_place_class(C, w);
    comp_class_ready(C, w);
    return w;
}
