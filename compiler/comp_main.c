/*
 * comp_main.c — the compiler's driver and its shared services: the arena,
 * diagnostics, and a small hash map for names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "comp.h"

struct comp_arena_block {
    comp_arena_block *next;
    size_t used, cap, mapped; /* mapped: the block's length if it came from mmap, else 0 */
    _Alignas(16) char data[];
};

/* The arena's blocks come from mmap, populated in one call: their pages
 * arrive zeroed and without a page fault each, which is a third of the
 * start-up time of a large program otherwise. They grow from 256 KiB to
 * 4 MiB, so a small program maps little; a request larger than a quarter
 * of the next block gets a block of its own, kept behind the current one,
 * which goes on serving small requests. Should mmap fail, malloc and
 * memset serve. NULL when memory runs out. */
static comp_arena_block *arena_block(comp *C, size_t n)
{
    enum { FIRST = 256 << 10, LAST = 4 << 20 };
    if (n > ((size_t)1 << 40))
        return NULL;
    size_t step = C->arena_step ? C->arena_step : FIRST;
    bool own = n > step / 4;
    size_t cap = own ? n : step;
    size_t len = (sizeof(comp_arena_block) + cap + 4095) & ~(size_t)4095;
    comp_arena_block *b =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (b != MAP_FAILED) {
        b->mapped = len;
        cap = len - sizeof *b;
    } else {
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        memset(b->data, 0, cap);
        b->mapped = 0;
    }
    if (!own)
        C->arena_step = step < LAST ? step * 2 : LAST;
    b->used = 0;
    b->cap = cap;
    if (own && C->arena) { /* behind the current block */
        b->next = C->arena->next;
        C->arena->next = b;
    } else {
        b->next = C->arena;
        C->arena = b;
    }
    return b;
}

/* comp_alloc's memory, or NULL when it runs out. */
static void *arena_try(comp *C, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    comp_arena_block *b = C->arena;
    if (!b || b->cap - b->used < n)
        b = arena_block(C, n);
    if (!b)
        return NULL;
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

/* Memory that is never reused until comp_free, so it is zero as it
 * comes. */
void *comp_alloc(comp *C, size_t n)
{
    void *p = arena_try(C, n);
    if (!p)
        longjmp(C->oom, 1);
    return p;
}

/* Grows an arena array to hold `need` elements; the old block is left in
 * the arena (doubling keeps the waste below the array's size). */
void *comp_grow(comp *C, void *p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    uint32_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *q = comp_alloc(C, (size_t)n * elem);
    if (p)
        memcpy(q, p, (size_t)*cap * elem);
    *cap = n;
    return q;
}

char *comp_strdup(comp *C, const char *s, size_t n)
{
    char *p = comp_alloc(C, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* b's bytes copied into the arena (NUL-terminated), or NULL when memory
 * runs out (b's own memory ran out too); b is freed either way. */
static char *buf_copy(comp *C, vm_buf *b)
{
    char *p = b->oom ? NULL : arena_try(C, b->len + 1);
    if (p && b->len)
        memcpy(p, b->data, b->len);
    vm_buf_free(b);
    return p;
}

char *comp_take(comp *C, vm_buf *b)
{
    char *p = buf_copy(C, b);
    if (!p)
        longjmp(C->oom, 1);
    return p;
}

void comp_take_all(comp *C, vm_buf *bufs, char **out, int n)
{
    bool ok = true;
    for (int i = 0; i < n; i++) { /* each freed before any longjmp */
        out[i] = bufs[i].data ? buf_copy(C, &bufs[i]) : NULL;
        ok &= out[i] != NULL || !bufs[i].data;
    }
    if (!ok)
        longjmp(C->oom, 1);
}

/* "file:line:col: error: message", then the source line and a caret under
 * the column. */
void comp_error(comp *C, uint32_t line, uint32_t col, const char *fmt, ...)
{
    if (C->nerrors >= KILN_MAX_DIAGS)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const comp_subst *in = C->subst; /* an error in a generic's body: which instance */
    if (in && in->what && n >= 0 && (size_t)n < sizeof msg)
        snprintf(msg + n, sizeof msg - (size_t)n, " (in %s, used at line %u)", in->what, in->line);
    vm_buf d = {0};
    vm_buf_printf(&d, "%s:%u:%u: error: %s\n", C->file, line, col, msg);
    const char *p = C->src, *end = C->src + C->srclen;
    for (uint32_t l = 1; l < line && p < end; p++)
        if (*p == '\n')
            l++;
    const char *e = p;
    while (e < end && *e != '\n' && *e != '\r')
        e++;
    if (p < end || line <= 1) { /* an error at end of input has no line to show */
        /* A long line is shown as a window of 120 bytes around the column. */
        const char *from = p, *to = e, *at = p + (col ? col - 1 : 0);
        if (at > e) /* a column past a '\r' the line is shown up to */
            at = e;
        if (to - from > 120) {
            from = at - p > 60 ? at - 60 : p;
            to = e - from > 120 ? from + 120 : e;
        }
        vm_buf_put(&d, from > p ? "... " : "    ", 4);
        vm_buf_put(&d, from, (size_t)(to - from));
        vm_buf_put(&d, to < e ? " ...\n    " : "\n    ", to < e ? 9 : 5);
        for (const char *q = from; q < at && q < to; q++)
            vm_buf_put(&d, *q == '\t' ? "\t" : " ", 1);
        vm_buf_put(&d, "^\n", 2);
    }
    /* Callers may hold memory of their own: no longjmp from here. */
    struct comp_diag *g = &C->diag[C->nerrors];
    g->mod = C->mod ? C->mod->index : 0;
    g->line = line;
    g->col = col;
    g->seq = (uint32_t)C->nerrors++;
    g->text = buf_copy(C, &d); /* NULL: flush_diags says out of memory */
}

static int diag_order(const void *a, const void *b)
{
    const struct comp_diag *x = a, *y = b;
    if (x->mod != y->mod) /* the root first, then the imported modules */
        return x->mod < y->mod ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Diagnostics go out in source order, whichever pass found them. */
static void flush_diags(comp *C)
{
    qsort(C->diag, (size_t)C->nerrors, sizeof C->diag[0], diag_order);
    for (int i = 0; i < C->nerrors; i++)
        if (C->diag[i].text)
            vm_buf_put(C->diags, C->diag[i].text, strlen(C->diag[i].text));
        else
            vm_buf_printf(C->diags, "%s: error: out of memory while compiling\n", C->file);
    if (C->nerrors == KILN_MAX_DIAGS)
        vm_buf_printf(C->diags, "%s: too many errors, stopping\n", C->file);
}

static uint32_t hash_bytes(const char *s, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

int32_t comp_map_get(const comp_map *m, const char *key, uint32_t len)
{
    if (!m->cap)
        return -1;
    for (uint32_t i = hash_bytes(key, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const struct comp_map_slot *s = &m->slots[i];
        if (!s->key)
            return -1;
        if (s->len == len && memcmp(s->key, key, len) == 0)
            return s->val;
    }
}

void comp_map_put(comp *C, comp_map *m, const char *key, uint32_t len, int32_t val)
{
    if ((m->count + 1) * 2 > m->cap) { /* keep the load under 1/2 */
        comp_map old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->slots = comp_alloc(C, m->cap * sizeof *m->slots);
        m->count = 0;
        for (uint32_t i = 0; i < old.cap; i++)
            if (old.slots[i].key)
                comp_map_put(C, m, old.slots[i].key, old.slots[i].len, old.slots[i].val);
    }
    uint32_t i = hash_bytes(key, len) & (m->cap - 1);
    while (m->slots[i].key && !(m->slots[i].len == len && memcmp(m->slots[i].key, key, len) == 0))
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->count++;
    m->slots[i].key = key;
    m->slots[i].len = len;
    m->slots[i].val = val;
}

static const char *type_name(comp *C, int t);

/* Names are made once a type (they are interned) and kept short: a type
 * nested deep in itself (fn(fn(...)) from a generic's instances) would
 * double its name at each level. */
comp_node *comp_node_new(comp *C, int kind, uint32_t line, uint32_t col)
{
    comp_node *n = comp_alloc(C, sizeof *n);
    n->kind = (uint8_t)kind;
    n->line = line;
    n->col = col;
    n->type = CT_ERR;
    n->decl_type = -1;
    n->slot = -1;
    n->field = -1;
    return n;
}

const char *comp_type_name(comp *C, int t)
{
    int k = t - VM_T__COUNT;
    if (k < 0 || k >= (int)C->ntkinds)
        return type_name(C, t);
    if (k >= (int)C->tname_cache_len) {
        uint32_t cap = C->tname_cache_len;
        C->tname_cache = comp_grow(C, C->tname_cache, &cap, C->ntkinds, sizeof(char *));
        memset(C->tname_cache + C->tname_cache_len, 0, sizeof(char *) * (cap - C->tname_cache_len));
        C->tname_cache_len = cap;
    }
    if (!C->tname_cache[k]) {
        const char *name = type_name(C, t);
        size_t n = strlen(name);
        if (n > 400) {
            char *s = comp_alloc(C, 404);
            memcpy(s, name, 397);
            memcpy(s + 397, "...", 4);
            name = s;
        }
        C->tname_cache[k] = name;
    }
    return C->tname_cache[k];
}

static const char *type_name(comp *C, int t)
{
    if (t == CT_NULL)
        return "null";
    if (t == CT_ERR)
        return "<error>";
    if (t == CT_EMPTY)
        return "[]";
    if (t == CT_VARIANT)
        return "a variant of a generic enum (whose type arguments its context gives)";
    if (t < VM_T__COUNT)
        return vm_type_name(t);
    comp_class *c = comp_class_of(C, t);
    if (c && c->mod && c->mod->index >= 2) { /* as the root module names it: util.Point */
        size_t n = c->mod->len + 1 + c->len;
        char *s = comp_alloc(C, n + 1);
        snprintf(s, n + 1, "%.*s.%.*s", (int)c->mod->len, c->mod->name, (int)c->len, c->name);
        return s;
    }
    if (c)
        return comp_strdup(C, c->name, c->len);
    if (t == CT_EMPTY_MAP)
        return "{}";
    int e = comp_elem_of(C, t), k, v;
    if (e >= 0) {
        const char *inner = comp_type_name(C, e);
        size_t n = strlen(inner);
        char *s = comp_alloc(C, n + 3);
        s[0] = '[';
        memcpy(s + 1, inner, n);
        s[n + 1] = ']';
        return s;
    }
    if (comp_map_types(C, t, &k, &v)) {
        const char *ks = comp_type_name(C, k), *vs = comp_type_name(C, v);
        size_t kn = strlen(ks), vn = strlen(vs);
        char *s = comp_alloc(C, kn + vn + 5);
        s[0] = '{';
        memcpy(s + 1, ks, kn);
        memcpy(s + 1 + kn, ": ", 2);
        memcpy(s + 3 + kn, vs, vn);
        s[3 + kn + vn] = '}';
        return s;
    }
    const struct comp_xtype *x = comp_fn_sig(C, t);
    if (x) { /* fn(A, B) -> R */
        /* The types' names first: the buffer then holds memory while
         * nothing can longjmp. */
        const char **names = comp_alloc(C, sizeof *names * (size_t)(x->b + 1));
        for (int i = 0; i < x->b; i++)
            names[i] = comp_type_name(C, x->params[i]);
        names[x->b] = x->a != VM_T_VOID ? comp_type_name(C, x->a) : NULL;
        vm_buf b = {0};
        vm_buf_put(&b, "fn(", 3);
        for (int i = 0; i < x->b; i++)
            vm_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
        vm_buf_put(&b, ")", 1);
        if (names[x->b])
            vm_buf_printf(&b, " -> %s", names[x->b]);
        return comp_take(C, &b);
    }
    return "?";
}

void comp_free(comp *C)
{
    if (!C)
        return;
    while (C->arena) {
        comp_arena_block *next = C->arena->next;
        if (C->arena->mapped)
            munmap(C->arena, C->arena->mapped);
        else
            free(C->arena);
        C->arena = next;
    }
    free(C->toks);
    free(C->held_toks);
    free(C);
}

/* The module name is the file's base name without ".kn". */
static void module_name(const char *file, const char **name, uint32_t *len)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".kn") == 0)
        n -= 3;
    *name = base;
    *len = (uint32_t)n;
}

/* Lexes and parses module m into the program. */
static void parse_module(comp *C, comp_module *m)
{
    comp_enter(C, m);
    comp_lex(C);
    if (C->nerrors == 0)
        comp_parse(C);
    free(C->toks);
    C->toks = NULL;
    C->ntoks = C->tok_cap = 0;
}

bool comp_compile(const char *name, const char *src, size_t len, const comp_env *env, vm_buf *image,
                  vm_buf *diags)
{
    comp *C = calloc(1, sizeof *C);
    if (!C) {
        diags->oom = true;
        return false;
    }
    C->file = name;
    C->src = src;
    C->srclen = len;
    C->diags = diags;
    C->env = env;
    volatile bool ok = false;
    if (setjmp(C->oom)) {
        vm_buf_printf(diags, "%s: error: out of memory while compiling\n", name);
        goto done;
    }
    /* The root module, the prelude (the built-in error classes) parsed
     * first, then the root, then every module imported, as found. */
    const char *mname;
    uint32_t mlen;
    module_name(name, &mname, &mlen);
    comp_module_new(C, mname, mlen, name, src, len);
    comp_module *prelude =
        comp_module_new(C, "prelude", 7, "<prelude>", env->prelude, strlen(env->prelude));
    C->in_prelude = true;
    parse_module(C, prelude);
    C->in_prelude = false;
    C->nprelude_classes = C->nclasses;
    for (uint32_t i = 0; i < C->nmods && C->nerrors == 0; i++)
        if (i != 1)
            parse_module(C, C->mods[i]);
    comp_enter(C, C->mods[0]);
    if (C->nerrors == 0)
        comp_check(C);
    if (C->nerrors == 0) {
        vm_image im;
        memset(&im, 0, sizeof im);
        comp_emit(C, &im);
        if (C->nerrors == 0) {
            ok = vm_image_write(&im, image);
            if (!ok)
                vm_buf_printf(diags, "%s: error: out of memory writing the image\n", name);
        }
    }
done:
    flush_diags(C);
    comp_free(C);
    return ok;
}
