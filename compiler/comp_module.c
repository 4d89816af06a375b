/*
 * comp_module.c — modules: finding and loading imported files, the names
 * each module declares and sees, and the order modules are initialized in.
 *
 * Every module is compiled into the one program (and image). A top-level
 * name of module m is found in the compiler's maps under comp_key(m, name):
 * the name itself in the root module and the prelude, "m.name" in an
 * imported module. Unqualified, a module sees its own names and the
 * prelude's; qualified, `util.name`, the names of a module it imported,
 * except those that begin with '_'.
 *
 * Initialization: the modules form a graph by their imports, which must
 * have no cycle; each is initialized once, imports first, in the order the
 * imports are written (a depth-first post-order from the root).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "comp.h"

comp_module *comp_module_new(comp *C, const char *name, uint32_t len, const char *file,
                             const char *src, size_t srclen)
{
    comp_module *m = comp_alloc(C, sizeof *m);
    m->name = name;
    m->len = len;
    m->file = file;
    m->src = src;
    m->srclen = srclen;
    m->index = C->nmods;
    C->mods = comp_grow(C, C->mods, &C->mods_cap, C->nmods + 1, sizeof(comp_module *));
    C->mods[C->nmods++] = m;
    return m;
}

comp_module *comp_enter(comp *C, comp_module *m)
{
    comp_module *prev = C->mod;
    if (m) {
        C->mod = m;
        C->file = m->file;
        C->src = m->src;
        C->srclen = m->srclen;
    }
    return prev;
}

/* The root (index 0) and the prelude (index 1) share the plain names. */
static bool plain(const comp_module *m)
{
    return !m || m->index < 2;
}

const char *comp_key(comp *C, const comp_module *m, const char *name, uint32_t len, uint32_t *klen)
{
    if (plain(m)) {
        *klen = len;
        return name;
    }
    char *k = comp_alloc(C, (size_t)m->len + len + 2);
    memcpy(k, m->name, m->len);
    k[m->len] = '.';
    memcpy(k + m->len + 1, name, len);
    *klen = m->len + 1 + len;
    return k;
}

/* Looks `name` up in `map` as module m sees it: its own, else (unless
 * `own`) the prelude's when m is an imported module; is_prelude(C, v)
 * says whether entry v comes from the prelude. */
static int32_t find(comp *C, const comp_map *map, const comp_module *m, const char *name,
                    uint32_t len, bool own, bool (*is_prelude)(comp *, int32_t))
{
    uint32_t klen;
    const char *k = comp_key(C, m, name, len, &klen);
    int32_t v = comp_map_get(map, k, klen);
    if (v >= 0 || own || plain(m))
        return v;
    v = comp_map_get(map, name, len);
    return v >= 0 && is_prelude(C, v) ? v : -1;
}

static bool fn_prelude(comp *C, int32_t v)
{
    return C->fns[v]->prelude;
}
static bool class_prelude(comp *C, int32_t v)
{
    return C->classes[v]->prelude;
}
static bool never(comp *C, int32_t v)
{
    (void)C;
    (void)v;
    return false;
}

comp_fn *comp_find_fn(comp *C, const comp_module *m, const char *name, uint32_t len, bool own)
{
    int32_t v = -1;
    if (m && m->index == 1 && len > 2 && len < 64 && name[0] == '_' && name[1] == '_') {
        char key[65]; /* the prelude's own library functions (comp_parse.c, declare_fn),
                         before any of the program's of the same name */
        key[0] = '#';
        memcpy(key + 1, name, len);
        v = comp_map_get(&C->fn_map, key, len + 1);
    }
    if (v < 0)
        v = find(C, &C->fn_map, m, name, len, own, fn_prelude);
    return v >= 0 ? C->fns[v] : NULL;
}

/* The prelude's own class of that name ("#name"), or -1. */
static int32_t prelude_class(comp *C, const char *name, uint32_t len)
{
    char key[65];
    if (len >= 64)
        return -1;
    key[0] = '#';
    memcpy(key + 1, name, len);
    return comp_map_get(&C->class_map, key, len + 1);
}

bool comp_class_hideable(comp *C, const comp_class *c)
{
    /* the language's own (docs/language.md) stay the language's */
    static const char *const CORE[] = {"Error",
                                       "NullError",
                                       "IndexError",
                                       "KeyError",
                                       "ArithmeticError",
                                       "CastError",
                                       "ValueError",
                                       "IOError",
                                       "PermissionError",
                                       "InitError",
                                       "StackOverflowError",
                                       "OutOfMemoryError",
                                       "ChannelError",
                                       "DeadlockError",
                                       "Option",
                                       "Fiber",
                                       "HostObject"};
    (void)C;
    if (!c->prelude || (c->len >= 2 && c->name[0] == '_' && c->name[1] == '_'))
        return false;
    for (size_t i = 0; i < sizeof CORE / sizeof CORE[0]; i++)
        if (strlen(CORE[i]) == c->len && !memcmp(CORE[i], c->name, c->len))
            return false;
    return true;
}

comp_class *comp_find_class(comp *C, const comp_module *m, const char *name, uint32_t len, bool own)
{
    int32_t v = m && m->index == 1 ? prelude_class(C, name, len) : -1; /* the prelude's code */
    if (v < 0)
        v = find(C, &C->class_map, m, name, len, own, class_prelude);
    if (v < 0 && !own && m && m->index >= 2) /* a module whose root program hid it */
        v = prelude_class(C, name, len);
    return v >= 0 ? C->classes[v] : NULL;
}

comp_class *comp_find_library_class(comp *C, const char *name, uint32_t len)
{
    int32_t v = prelude_class(C, name, len);
    return v >= 0 ? C->classes[v] : NULL;
}

int32_t comp_find_global(comp *C, const comp_module *m, const char *name, uint32_t len)
{
    return find(C, &C->global_map, m, name, len, true, never);
}

bool comp_is_import(const comp_module *from, const char *name, uint32_t len)
{
    return from && comp_map_get(&from->imports, name, len) != -1; /* -2: a native module */
}

comp_module *comp_imported(comp *C, const comp_module *from, const char *name, uint32_t len)
{
    int32_t v = from ? comp_map_get(&from->imports, name, len) : -1;
    return v >= 0 ? C->mods[v] : NULL;
}

comp_module *comp_qualifier(comp *C, const comp_module *from, const char *qs, uint32_t qlen,
                            const char *name, uint32_t len, uint32_t line, uint32_t col)
{
    comp_module *m = comp_imported(C, from, qs, qlen);
    if (!m) {
        comp_error(C, line, col, "unknown module '%.*s' (import it first)", (int)qlen, qs);
        return NULL;
    }
    if (len && name[0] == '_') {
        comp_error(C, line, col, "'%.*s' is private to module %.*s", (int)len, name, (int)qlen, qs);
        return NULL;
    }
    return m;
}

comp_class *comp_class_ref(comp *C, const comp_module *from, const char *qs, uint32_t qlen,
                           const char *name, uint32_t len, uint32_t line, uint32_t col,
                           const char *what)
{
    const comp_module *in = from;
    if (qs) {
        in = comp_qualifier(C, from, qs, qlen, name, len, line, col);
        if (!in)
            return NULL;
    }
    comp_class *c = comp_find_class(C, in, name, len, qs != NULL);
    if (!c) {
        if (qs)
            comp_error(C, line, col, "module %.*s has no class '%.*s'", (int)qlen, qs, (int)len,
                       name);
        else
            comp_error(C, line, col, "unknown %s '%.*s'", what, (int)len, name);
    }
    return c;
}

static void add_dep(comp *C, comp_module *from, uint32_t mod, const comp_token *at)
{
    from->deps = comp_grow(C, from->deps, &from->deps_cap, from->ndeps + 1, sizeof *from->deps);
    from->deps[from->ndeps].mod = mod;
    from->deps[from->ndeps].line = at->line;
    from->deps[from->ndeps].col = at->col;
    from->ndeps++;
}

/* `import name` in the current module: what the environment loads for it
 * (the embedder's loader, else name.kn from the importing file's folder),
 * else the standard or native module of that name. A module is loaded
 * once, however many modules import it; the parser goes through the new
 * ones after the root (comp_compile). */
void comp_import(comp *C, const comp_token *name)
{
    comp_module *from = C->mod;
    if (comp_is_import(from, name->s, name->len))
        return; /* imported twice: once is enough */
    if (name->len == from->len && memcmp(name->s, from->name, name->len) == 0) {
        comp_error(C, name->line, name->col, "module %.*s imports itself", (int)name->len, name->s);
        return;
    }
    for (uint32_t i = 0; i < C->nmods; i++) {
        comp_module *m = C->mods[i];
        if (i != 1 && m->len == name->len && memcmp(m->name, name->s, name->len) == 0) {
            comp_map_put(C, &from->imports, name->s, name->len, (int32_t)i);
            add_dep(C, from, i, name);
            return;
        }
    }
    comp_source got = {0};
    int found =
        C->env->load ? C->env->load(C->env->load_ctx, name->s, name->len, from->file, &got) : 0;
    /* Into the arena (tokens point into the source); what the loader gave
     * is freed even when that fails (comp_take). */
    if (found != 1) {
        free(got.src);
        got.src = NULL;
    }
    vm_buf bufs[2] = {{.data = got.file, .len = got.file ? strlen(got.file) : 0},
                      {.data = got.src, .len = got.src ? got.len : 0}};
    bufs[0].cap = bufs[0].len;
    bufs[1].cap = bufs[1].len;
    char *taken[2];
    comp_take_all(C, bufs, taken, 2);
    char *file = taken[0], *kept = taken[1];
    if (found == 1) {
        if (!file)
            file = comp_strdup(C, name->s, name->len);
        comp_module *m =
            comp_module_new(C, comp_strdup(C, name->s, name->len), name->len, file, kept, got.len);
        comp_map_put(C, &from->imports, name->s, name->len, (int32_t)m->index);
        add_dep(C, from, m->index, name);
        return;
    }
    if (found < 0) {
        comp_error(C, name->line, name->col, "cannot import module '%.*s': %s", (int)name->len,
                   name->s, got.why);
        return;
    }
    if (C->env->module_exists(C->env->module_ctx, name->s, name->len)) {
        comp_map_put(C, &from->imports, name->s, name->len, -2); /* a native module */
        return;
    }
    comp_error(C, name->line, name->col,
               "unknown module '%.*s' (no file %s, and no standard module of that name: "
               "math, os, io, random, ffi)",
               (int)name->len, name->s, file ? file : "to load");
}

/* Depth-first from m: its imports first, in the order written. */
static void visit(comp *C, comp_module *m)
{
    m->state = 1;
    for (uint32_t i = 0; i < m->ndeps; i++) {
        comp_module *d = C->mods[m->deps[i].mod];
        if (d->state == 1) {
            comp_module *prev = comp_enter(C, m);
            comp_error(C, m->deps[i].line, m->deps[i].col,
                       "import cycle: %.*s imports %.*s, which imports %.*s again", (int)m->len,
                       m->name, (int)d->len, d->name, (int)m->len, m->name);
            comp_enter(C, prev);
        } else if (d->state == 0) {
            visit(C, d);
        }
    }
    m->state = 2;
    C->order[C->norder++] = m;
}

void comp_order_modules(comp *C)
{
    C->order = comp_alloc(C, sizeof(comp_module *) * (C->nmods ? C->nmods : 1));
    C->norder = 0;
    if (C->nmods)
        visit(C, C->mods[0]);
}
