/*
 * vm_embed.c — the embedding half of the public API: values and handles,
 * calling guest functions (kiln_call), the embedder's natives
 * (kiln_define_native, kiln_throw) and the bridge through which the
 * interpreter calls them (host_bridge, vm_native.bridge).
 *
 * Handles: a string or object given to the host is kept alive by a slot of
 * the VM's handle table (a GC root) until kiln_release. kiln_value.as.h
 * packs the slot's number + 1 (bits 0-23), the slot's generation (bits
 * 24-47, bumped at each release, so a handle used after its release is
 * recognised, not taken for the slot's next object) and the VM's tag
 * (bits 48-63, random at kiln_new, never 0, so a handle of another VM,
 * or of a freed VM whose memory a new one took, is almost always
 * recognised too: two VMs share a tag with odds of 1 in 65,535, and a
 * handle then must also name a live slot of the same generation to
 * pass). A slot also remembers the object's static type, so
 * kiln_call can check a handle passed back as an argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../runtime/rt.h"
#include "api.h"
#include "frame.h"

kiln_value kiln_int(int64_t i)
{
    return (kiln_value){.type = KILN_INT, .as.i = i};
}
kiln_value kiln_float(double f)
{
    return (kiln_value){.type = KILN_FLOAT, .as.f = f};
}
kiln_value kiln_bool(bool b)
{
    return (kiln_value){.type = KILN_BOOL, .as.b = b};
}
kiln_value kiln_null(void)
{
    return (kiln_value){.type = KILN_NULL, .as.h = NULL};
}

kiln_status vm_api_fail(kiln_vm *vm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->error, sizeof vm->error, fmt, ap);
    va_end(ap);
    return KILN_ERR_API;
}

/* ---- Handles ---- */

enum { HANDLE_SLOTS = 1 << 24 };

uint16_t vm_handle_tag(const kiln_vm *vm)
{
    /* Random, not the address alone: a VM made where a freed one was must
     * not take the freed one's handles for its own. */
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32;
    }
    uint64_t x = ((uint64_t)(uintptr_t)vm ^ r) * 0x9e3779b97f4a7c15ull;
    uint16_t t = (uint16_t)(x >> 48);
    return t ? t : 1;
}

/* A handle for object `obj` of static type `type` (a string: KILN_STR);
 * KILN_NULL for a null object or when memory runs out. */
kiln_value vm_handle_new(kiln_vm *vm, void *obj, uint32_t type)
{
    if (!obj)
        return kiln_null();
    uint32_t i;
    if (vm->free_handle) {
        i = vm->free_handle - 1;
        vm->free_handle = vm->handles[i].next;
    } else {
        if (vm->nhandles == HANDLE_SLOTS - 1)
            return kiln_null(); /* 16 million live handles: the host leaks them */
        if (vm->nhandles == vm->handles_cap) {
            uint32_t cap = vm->handles_cap ? vm->handles_cap * 2 : 16;
            struct vm_handle *h = realloc(vm->handles, cap * sizeof *h);
            if (!h)
                return kiln_null();
            vm->handles = h;
            vm->handles_cap = cap;
        }
        i = vm->nhandles++;
        vm->handles[i].gen = 0;
    }
    vm->handles[i].obj = obj;
    vm->handles[i].type = (uint16_t)type;
    vm->handles[i].next = 0;
    kiln_value v = {.type = type == VM_T_STR ? KILN_STR : KILN_REF};
    v.as.h = (void *)(uintptr_t)((uint64_t)vm->handle_tag << 48 |
                                 (uint64_t)(vm->handles[i].gen & 0xffffff) << 24 | (i + 1));
    return v;
}

/* The live slot of handle value v, or NULL. */
/* The live slot handle v names, or NULL with why it names none. */
struct vm_handle *vm_handle_check(const kiln_vm *vm, kiln_value v, const char **why)
{
    *why = "not a string or object (no handle)";
    if (v.type != KILN_STR && v.type != KILN_REF)
        return NULL;
    *why = "no handle is used while a finalizer runs";
    if (vm->finalizing)
        return NULL;
    uint64_t bits = (uint64_t)(uintptr_t)v.as.h;
    uint32_t i = (uint32_t)(bits & 0xffffff);
    *why = "a handle of another VM, or not a handle";
    if ((bits >> 48) != vm->handle_tag || i == 0 || i > vm->nhandles)
        return NULL;
    struct vm_handle *h = &vm->handles[i - 1];
    *why = "a released handle";
    if (!h->obj || (h->gen & 0xffffff) != ((bits >> 24) & 0xffffff))
        return NULL;
    return h;
}

static struct vm_handle *vm_handle_of(const kiln_vm *vm, kiln_value v)
{
    const char *why;
    return vm_handle_check(vm, v, &why);
}

kiln_value kiln_str(kiln_vm *vm, const char *bytes, size_t len)
{
    if (!vm || (!bytes && len))
        return kiln_null();
    int kind = vm->ctx->err_kind; /* a failure here is the host's to see, not the guest's */
    vm_str *s = vm_str_new(vm, bytes, len);
    if (!s)
        vm_api_fail(vm, "kiln_str: %s", vm->ctx->err_msg);
    if (s || vm->ctx->err_kind != RT_LIMIT) /* a limit's stop stays: the run ends (host_bridge) */
        vm->ctx->err_kind = kind;
    kiln_value v = s ? vm_handle_new(vm, s, VM_T_STR) : kiln_null();
    if (s && v.type == KILN_NULL)
        vm_api_fail(vm, "kiln_str: no memory for the handle");
    return v;
}

const char *kiln_str_bytes(kiln_vm *vm, kiln_value v, size_t *len)
{
    if (!vm)
        return NULL;
    const char *why;
    struct vm_handle *h = vm_handle_check(vm, v, &why);
    if (!h || h->type != VM_T_STR) {
        vm_api_fail(vm, "kiln_str_bytes: %s", h ? "not a string" : why);
        return NULL;
    }
    const vm_str *s = h->obj;
    if (len)
        *len = s->len;
    return s->data;
}

kiln_status kiln_release(kiln_vm *vm, kiln_value v)
{
    if (!vm)
        return KILN_ERR_API;
    if (v.type != KILN_STR && v.type != KILN_REF)
        return KILN_OK; /* nothing to let go */
    const char *why;
    struct vm_handle *h = vm_handle_check(vm, v, &why);
    if (!h)
        return vm_api_fail(vm, "kiln_release: %s", why);
    h->obj = NULL;
    h->gen++;
    h->next = vm->free_handle;
    vm->free_handle = (uint32_t)(h - vm->handles) + 1;
    return KILN_OK;
}

void vm_handles_release_all(kiln_vm *vm)
{
    for (uint32_t i = 0; i < vm->nhandles; i++) {
        struct vm_handle *h = &vm->handles[i];
        if (!h->obj)
            continue; /* free already, on the free list */
        h->obj = NULL;
        h->gen++;
        h->next = vm->free_handle;
        vm->free_handle = i + 1;
    }
}

void vm_embed_free(kiln_vm *vm)
{
    for (uint32_t i = 0; i < vm->nhosts; i++) {
        const vm_natsig *sig = &vm->hosts[i].n.sig;
        for (size_t k = 0; sig->types && k <= vm->hosts[i].nparams; k++)
            free((char *)sig->types[k]);
        free((void *)sig->types);
        free((char *)sig->name);
        free((char *)sig->params);
    }
    free(vm->hosts);
    free(vm->handles);
    free(vm->found);
    for (uint32_t i = 0; i < vm->nhtypes; i++)
        free(vm->htypes[i].name);
    free(vm->htypes);
    free(vm->host_prelude);
    free(vm->errinfo.message);
}

/* ---- Calling the guest ---- */

const char *vm_kind_name(kiln_value v)
{
    static const char *const NAMES[] = {"null", "int", "float", "bool", "str", "reference"};
    return v.type <= KILN_REF ? NAMES[v.type] : "invalid";
}

const char *vm_value_type(kiln_vm *vm, kiln_value v, char *buf, size_t n)
{
    if ((v.type == KILN_STR || v.type == KILN_REF) && kiln_type_of(vm, v, buf, n) == KILN_OK)
        return buf;
    return vm_kind_name(v);
}

const char *vm_type_text(const vm_image *im, uint32_t t, char *buf, size_t n)
{
    vm_buf b = {0};
    vm_type_write(im, t, &b);
    snprintf(buf, n, "%s", b.oom || !b.data ? vm_type_str(im, t) : b.data);
    vm_buf_free(&b);
    return buf;
}

/* The top-level function `name` of the program: "f" in the root module,
 * "util.f" in module util. -1 if none. */
static int find_function(const vm_image *im, const char *name)
{
    const char *dot = strchr(name, '.');
    if (strchr(name, '<') || (dot && strchr(dot + 1, '.')))
        return -1; /* a literal, a module's code, or a method */
    if (dot) {
        bool module = false;
        for (uint32_t m = 2; m < im->nmodules && !module; m++) {
            const char *mn = vm_image_str(im, im->modules[m].name);
            module = strlen(mn) == (size_t)(dot - name) && !strncmp(mn, name, (size_t)(dot - name));
        }
        if (!module)
            return -1; /* Class.method */
    }
    for (uint32_t i = 0; i < im->nfuncs; i++)
        if (!strcmp(vm_image_str(im, im->funcs[i].name), name) && !im->funcs[i].ncaps &&
            (dot || im->funcs[i].module == im->entry))
            return (int)i;
    return -1;
}

/* Host value `a` as guest value of type t, into *out; false if it has
 * another type. */
bool vm_from_host(kiln_vm *vm, kiln_value a, uint32_t t, vm_value *out)
{
    out->u = 0;
    switch (t) {
    case VM_T_INT: out->i = a.as.i; return a.type == KILN_INT;
    case VM_T_FLOAT: out->f = a.as.f; return a.type == KILN_FLOAT;
    case VM_T_BOOL: out->i = a.as.b; return a.type == KILN_BOOL;
    default: break;
    }
    if (a.type == KILN_NULL)
        return true;
    struct vm_handle *h = vm_handle_of(vm, a);
    if (!h || !vm_assignable(&vm->img, h->type, t))
        return false;
    out->p = h->obj;
    return true;
}

/* Guest value v of type t as a host value (a new handle for an object). */
kiln_value vm_to_host(kiln_vm *vm, vm_value v, uint32_t t)
{
    switch (t) {
    case VM_T_VOID: return kiln_null();
    case VM_T_INT: return kiln_int(v.i);
    case VM_T_FLOAT: return kiln_float(v.f);
    case VM_T_BOOL: return kiln_bool(v.i != 0);
    default: return vm_handle_new(vm, v.p, t);
    }
}

/* kiln_fn ids: the VM's tag (bits 48-63) and, + 1, the slot of the
 * function in the VM's table of functions kiln_find_function found: an id
 * made up names one of those or none, never another function (a
 * function literal's code, whose captures would be missing). */
static kiln_fn fn_handle(kiln_vm *vm, int fi)
{
    uint32_t i = 0;
    while (i < vm->nfound && vm->found[i] != (uint32_t)fi)
        i++;
    if (i == vm->nfound) {
        if (vm->nfound == vm->found_cap) {
            uint32_t cap = vm->found_cap ? vm->found_cap * 2 : 8;
            uint32_t *f = realloc(vm->found, cap * sizeof *f);
            if (!f)
                return (kiln_fn){0};
            vm->found = f;
            vm->found_cap = cap;
        }
        vm->found[vm->nfound++] = (uint32_t)fi;
    }
    return (kiln_fn){(uint64_t)vm->handle_tag << 48 | (uint64_t)(i + 1)};
}

/* Calls function fi of the program (a top-level one, or a function
 * value's, whose captured values `caps` follow the arguments). */
static kiln_status call_function(kiln_vm *vm, int fi, const vm_value *caps, const kiln_value *args,
                                 int nargs, kiln_value *result)
{
    const vm_image *im = &vm->img;
    const vm_func *f = &im->funcs[fi];
    const char *name = vm_image_str(im, f->name);
    if (nargs < 0 || (nargs > 0 && !args))
        return vm_api_fail(vm, "kiln_call: bad argument list (%d arguments at %p)", nargs,
                           (const void *)args);
    if (f->ncaps && !caps) /* a function literal's code: only through its value */
        return vm_api_fail(vm, "kiln_call: %.200s is not a top-level function", name);
    if (nargs != f->nparams)
        return vm_api_fail(vm, "kiln_call: %.200s() takes %u argument%s, got %d", name, f->nparams,
                           f->nparams == 1 ? "" : "s", nargs);
    vm_value vals[KILN_MAX_PARAMS + 256]; /* ncaps is 8 bits */
    for (int i = 0; caps && i < f->ncaps; i++)
        vals[nargs + i] = caps[i];
    char have[128], want[128];
    for (int i = 0; i < nargs; i++)
        if (!vm_from_host(vm, args[i], f->types[i], &vals[i]))
            return vm_api_fail(vm, "kiln_call: argument %d of %.200s() is %s, expected %s", i + 1,
                               name, vm_value_type(vm, args[i], have, sizeof have),
                               vm_type_text(im, f->types[i], want, sizeof want));
    if (vm->finalizing)
        return vm_api_fail(vm, "kiln_call: not from a finalizer");
    if (vm->in_loop) /* a callback of the host's loop, which the guest's wait turns */
        return vm_api_fail(vm, "kiln_call: not from a callback of the VM's event loop");
    bool nested = vm->running;              /* from a native: the run's limits go on */
    if (nested && rt_fiber_cancelled(vm)) { /* its fiber is being stopped: no guest code */
        vm_api_fail(vm, "kiln_call: %.200s: the run has ended (its fiber is stopped)", name);
        vm->ctx->err_kind = RT_CANCEL;
        return KILN_ERR_RUNTIME;
    }
    if (!nested) {
        if (!vm_ctx_ready(vm))
            return KILN_ERR_RUNTIME;
        vm->running = true;
        vm->exited = false;
        vm->exit_code = 0;
        atomic_store_explicit(&vm->interrupt, false, memory_order_relaxed);
        vm_limits_reset(vm);
    }
    vm->error[0] = 0;
    vm->errinfo.set = false;
    vm->ctx->err_kind = RT_ERR_NONE;
    vm->ctx->pending = NULL;
    vm_value res;
    bool in_native = vm->in_native; /* the guest code below is not the native */
    vm->in_native = false;
    int rc = vm_run_function(vm, (uint32_t)fi, vals, &res);
    vm->in_native = in_native;
    if (!nested) {
        rc = vm_fibers_end(vm, rc, VM_T_ISREF(f->ret) && rc == 0 ? &res : NULL);
        vm->running = false;
        vm->errinfo.set &= rc == -1; /* one a native's kiln_call met, and the guest caught */
    }
    if (rc == -1)
        return vm_failure_status(vm);
    if (rc == -2) {
        vm->exited = true;  /* from a native: host_bridge ends the run */
        return KILN_EXITED; /* os.exit: the guest is done; no result */
    }
    if (result) {
        *result = vm_to_host(vm, res, f->ret);
        if (VM_T_ISREF(f->ret) && res.p && result->type == KILN_NULL)
            return vm_api_fail(vm, "kiln_call: out of memory for the result's handle");
    }
    return KILN_OK;
}

kiln_status kiln_call(kiln_vm *vm, const char *function, const kiln_value *args, int nargs,
                      kiln_value *result)
{
    if (!vm)
        return KILN_ERR_API;
    if (result)
        *result = kiln_null();
    if (!function)
        return vm_api_fail(vm, "kiln_call: NULL function name");
    if (!vm->loaded)
        return vm_api_fail(vm, "kiln_call: no program loaded");
    int fi = find_function(&vm->img, function);
    if (fi < 0)
        return vm_api_fail(vm, "kiln_call: the program has no function '%.200s'", function);
    return call_function(vm, fi, NULL, args, nargs, result);
}

kiln_status vm_call_closure(kiln_vm *vm, const vm_closure *c, const kiln_value *args, int nargs,
                            kiln_value *result)
{
    return call_function(vm, (int)(c->fn - vm->funcs), c->caps, args, nargs, result);
}

kiln_status kiln_call_fn(kiln_vm *vm, kiln_fn fn, const kiln_value *args, int nargs,
                         kiln_value *result)
{
    if (!vm)
        return KILN_ERR_API;
    if (result)
        *result = kiln_null();
    uint64_t i = fn.id & 0xffffffffffffull;
    if ((fn.id >> 48) != vm->handle_tag || i == 0 || !vm->loaded || i > vm->nfound)
        return vm_api_fail(vm, "kiln_call_fn: not a function of this VM (kiln_find_function)");
    return call_function(vm, (int)vm->found[i - 1], NULL, args, nargs, result);
}

kiln_status kiln_find_function(kiln_vm *vm, const char *name, const char *type, kiln_fn *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_find_function: NULL out");
    *out = (kiln_fn){0};
    if (!name)
        return vm_api_fail(vm, "kiln_find_function: NULL name");
    if (!vm->loaded)
        return vm_api_fail(vm, "kiln_find_function: no program loaded");
    const vm_image *im = &vm->img;
    int fi = find_function(im, name);
    if (fi < 0)
        return vm_api_fail(vm, "kiln_find_function: the program has no function '%.200s'", name);
    if (type) {
        const vm_func *f = &im->funcs[fi];
        vm_buf b = {0};
        vm_buf_printf(&b, "fn(");
        for (uint32_t i = 0; i < f->nparams; i++) {
            if (i)
                vm_buf_printf(&b, ", ");
            vm_type_write(im, f->types[i], &b);
        }
        vm_buf_printf(&b, ")");
        if (f->ret != VM_T_VOID) {
            vm_buf_printf(&b, " -> ");
            vm_type_write(im, f->ret, &b);
        }
        kiln_status st = KILN_OK;
        if (b.oom)
            st = vm_api_fail(vm, "kiln_find_function: out of memory");
        else if (!vm_text_same(im, type, b.data))
            st = vm_api_fail(vm, "kiln_find_function: %.200s has type %.300s, not %.300s", name,
                             b.data, type);
        vm_buf_free(&b);
        if (st != KILN_OK)
            return st;
    }
    *out = fn_handle(vm, fi);
    return out->id ? KILN_OK : vm_api_fail(vm, "kiln_find_function: out of memory");
}

/* ---- Globals ---- */

/* The index of global `name`, or -1 after setting the error. */
static int find_global(kiln_vm *vm, const char *name, const char *who)
{
    if (!name) {
        vm_api_fail(vm, "%s: NULL name", who);
        return -1;
    }
    if (!vm->loaded) {
        vm_api_fail(vm, "%s: no program loaded", who);
        return -1;
    }
    const vm_image *im = &vm->img;
    for (uint32_t i = 0; i < im->nglobals; i++)
        if (!strcmp(vm_image_str(im, im->globals[i].name), name))
            return (int)i;
    vm_api_fail(vm, "%s: the program has no global '%.200s'", who, name);
    return -1;
}

kiln_status kiln_get_global(kiln_vm *vm, const char *name, kiln_value *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_get_global: NULL out");
    *out = kiln_null();
    int g = find_global(vm, name, "kiln_get_global");
    if (g < 0)
        return KILN_ERR_API;
    uint32_t t = vm->img.globals[g].type;
    *out = vm_to_host(vm, vm->globals[g], t);
    if (VM_T_ISREF(t) && vm->globals[g].p && out->type == KILN_NULL)
        return vm_api_fail(vm, "kiln_get_global: out of memory for the handle");
    return KILN_OK;
}

kiln_status kiln_set_global(kiln_vm *vm, const char *name, kiln_value v)
{
    if (!vm)
        return KILN_ERR_API;
    int g = find_global(vm, name, "kiln_set_global");
    if (g < 0)
        return KILN_ERR_API;
    const vm_global *gl = &vm->img.globals[g];
    if (!(gl->flags & VM_GLOBAL_VAR))
        return vm_api_fail(vm, "kiln_set_global: %.200s is a let, not a var", name);
    vm_value val;
    char have[128], want[128];
    if (!vm_from_host(vm, v, gl->type, &val))
        return vm_api_fail(vm, "kiln_set_global: %.200s is %s, the value is %s", name,
                           vm_type_text(&vm->img, gl->type, want, sizeof want),
                           vm_value_type(vm, v, have, sizeof have));
    vm->globals[g] = val; /* globals are roots: no barrier (gc.h) */
    vm->ginit[g] = 1;
    return KILN_OK;
}

/* ---- Errors as data ---- */

const char *kiln_error_class(const kiln_vm *vm)
{
    return vm && vm->errinfo.set ? vm->errinfo.cls : NULL;
}

const char *kiln_error_message(const kiln_vm *vm)
{
    return vm && vm->errinfo.set && vm->errinfo.message ? vm->errinfo.message : "";
}

int kiln_error_frames(const kiln_vm *vm, uint32_t *depth)
{
    bool set = vm && vm->errinfo.set;
    if (depth)
        *depth = set ? vm->errinfo.depth : 0;
    return set ? (int)vm->errinfo.nframes : 0;
}

/* Frame of function fi at line `line` as the host sees it. */
static kiln_frame frame_of(const vm_image *im, uint32_t fi, uint32_t line)
{
    const vm_func *f = &im->funcs[fi];
    return (kiln_frame){vm_image_str(im, f->name), vm_image_str(im, im->modules[f->module].file),
                        line};
}

kiln_status kiln_error_frame(const kiln_vm *vm, int i, kiln_frame *out)
{
    if (!vm || !out) /* a question about the last error: its text stays */
        return KILN_ERR_API;
    const struct vm_errinfo *e = &vm->errinfo;
    if (!e->set || i < 0 || (uint32_t)i >= e->nframes)
        return KILN_ERR_API;
    *out = frame_of(&vm->img, e->frames[i].func, e->frames[i].line);
    return KILN_OK;
}

kiln_status kiln_stack_frame(kiln_vm *vm, int level, kiln_frame *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_stack_frame: NULL out");
    if (!vm->running || level < 0)
        return vm_api_fail(vm, "kiln_stack_frame: %s",
                           level < 0 ? "negative level" : "no guest code runs");
    int n = 0;
    for (vm_frame_iter it = vm_frames(vm->ctx); it.R; vm_frames_step(&it))
        if (n++ == level) {
            uint32_t fi = (uint32_t)(it.fn->def - vm->img.funcs);
            *out = frame_of(&vm->img, fi, vm_func_line(it.fn->def, vm_frame_at(it.fn, it.pc)));
            return KILN_OK;
        }
    return vm_api_fail(vm, "kiln_stack_frame: the stack has %d frames", n);
}

void kiln_set_user(kiln_vm *vm, void *user)
{
    if (vm)
        vm->user = user;
}

void *kiln_user(const kiln_vm *vm)
{
    return vm ? vm->user : NULL;
}

/* ---- The embedder's natives ---- */

static void blanks(const char **p)
{
    while (**p == ' ')
        (*p)++;
}

static size_t word_len(const char *p)
{
    size_t n = 0;
    while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || p[n] == '_' ||
           (n && p[n] >= '0' && p[n] <= '9'))
        n++;
    return n;
}

static bool type_form(const char **p, int depth);

/* Types separated by commas, then `close`: at least `min` of them. */
static bool type_list(const char **p, char close, int min, int depth)
{
    int n = 0;
    blanks(p);
    if (**p != close) {
        do {
            if (!type_form(p, depth + 1) || ++n > KILN_MAX_PARAMS)
                return false;
            blanks(p);
        } while (**p == ',' && (*p)++);
    }
    return n >= min && *(*p)++ == close;
}

/* Is *p a type as the language writes it (its form only: the compiler
 * resolves its names)? *p moves past it. */
static bool type_form(const char **p, int depth)
{
    blanks(p);
    if (depth > 32)
        return false;
    char c = **p;
    if (c == '[') {
        (*p)++;
        if (!type_form(p, depth + 1))
            return false;
        blanks(p);
        return *(*p)++ == ']';
    }
    if (c == '{') {
        (*p)++;
        if (!type_form(p, depth + 1))
            return false;
        blanks(p);
        if (*(*p)++ != ':' || !type_form(p, depth + 1))
            return false;
        blanks(p);
        return *(*p)++ == '}';
    }
    if (c == '(') {
        (*p)++;
        return type_list(p, ')', 2, depth);
    }
    size_t n = word_len(*p);
    if (n == 2 && !strncmp(*p, "fn", 2)) {
        *p += 2;
        blanks(p);
        if (*(*p)++ != '(' || !type_list(p, ')', 0, depth))
            return false;
        blanks(p);
        return strncmp(*p, "->", 2) || ((*p += 2), type_form(p, depth + 1));
    }
    if (!n)
        return false;
    *p += n;
    if (**p == '.') { /* util.Name */
        if (!(n = word_len(++*p)))
            return false;
        *p += n;
    }
    blanks(p);
    return **p != '<' || ((*p)++, type_list(p, '>', 1, depth));
}

/* One type of a signature at *p, *p past it: its letter (i f b s), or T
 * for another type (its text, from *text, in *len), or 0 if malformed. */
static char sig_type(const char **p, const char **text, size_t *len)
{
    static const struct {
        const char *name;
        char letter;
    } T[] = {{"int", 'i'}, {"float", 'f'}, {"bool", 'b'}, {"str", 's'}};
    blanks(p);
    *text = *p;
    if (!type_form(p, 0))
        return 0;
    *len = (size_t)(*p - *text);
    while (*len && (*text)[*len - 1] == ' ')
        (*len)--;
    blanks(p);
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (*len == strlen(T[i].name) && !strncmp(*text, T[i].name, *len))
            return T[i].letter;
    return 'T';
}

/* "fn(int, [str]) -> float" into params "iT", ret 'f' and, for each T,
 * its text in types[i] (malloc'd; the result's at types[nparams]); false
 * if malformed or out of memory (types then freed). */
static bool parse_signature(const char *type, char *params, char *ret, char **types)
{
    const char *p = type, *text;
    size_t len;
    int n = 0;
    bool ok = false;
    memset(types, 0, sizeof(char *) * (KILN_MAX_PARAMS + 1));
    blanks(&p);
    if (strncmp(p, "fn", 2) || word_len(p) != 2)
        return false;
    p += 2;
    blanks(&p);
    if (*p++ != '(')
        return false;
    blanks(&p);
    if (*p != ')') {
        for (;;) {
            char c = n < KILN_MAX_PARAMS ? sig_type(&p, &text, &len) : 0;
            if (!c || (c == 'T' && !(types[n] = strndup(text, len))))
                goto out;
            params[n++] = c;
            if (*p == ')')
                break;
            if (*p++ != ',')
                goto out;
        }
    }
    params[n] = 0;
    p++; /* ')' */
    blanks(&p);
    *ret = 'v';
    if (!strncmp(p, "->", 2)) {
        p += 2;
        if (!(*ret = sig_type(&p, &text, &len)) ||
            (*ret == 'T' && !(types[n] = strndup(text, len))))
            goto out;
    }
    ok = *p == 0;
out:
    if (!ok)
        for (int i = 0; i <= KILN_MAX_PARAMS; i++)
            free(types[i]);
    return ok;
}

static bool is_ident(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static int host_bridge(kiln_vm *vm, const vm_native *n, vm_value *args, vm_value *result);

kiln_status kiln_define_native(kiln_vm *vm, const char *module, const char *name, const char *type,
                               kiln_native_fn fn, void *userdata)
{
    if (!vm)
        return KILN_ERR_API;
    if (vm->loaded || vm->loading)
        return vm_api_fail(vm, "kiln_define_native: define natives before loading the program");
    if (!is_ident(module) || !is_ident(name) || !fn)
        return vm_api_fail(vm, "kiln_define_native: module and name must be identifiers, fn "
                               "not NULL");
    char params[KILN_MAX_PARAMS + 1], ret, *texts[KILN_MAX_PARAMS + 1];
    if (!type || !parse_signature(type, params, &ret, texts))
        return vm_api_fail(vm,
                           "kiln_define_native: bad type '%.100s' (e.g. \"fn(int, [str]) -> "
                           "{str: Point}\")",
                           type ? type : "(null)");
    size_t len = strlen(module) + strlen(name) + 2, np = strlen(params);
    bool typed = ret == 'T' || strchr(params, 'T');
    char *full = malloc(len), *ps = strdup(params);
    char **types = typed ? malloc(sizeof(char *) * (np + 1)) : NULL;
    kiln_status st = KILN_OK;
    if (!full || !ps || (typed && !types))
        st = vm_api_fail(vm, "kiln_define_native: out of memory");
    else
        snprintf(full, len, "%s.%s", module, name);
    for (uint32_t i = 0; st == KILN_OK && i < vm->nhosts; i++)
        if (!strcmp(vm->hosts[i].n.sig.name, full))
            st = vm_api_fail(vm, "kiln_define_native: %s.%s is already defined", module, name);
    if (st == KILN_OK && vm->nhosts == vm->hosts_cap) {
        uint32_t cap = vm->hosts_cap ? vm->hosts_cap * 2 : 8;
        struct vm_host *h = realloc(vm->hosts, cap * sizeof *h);
        if (h) {
            vm->hosts = h;
            vm->hosts_cap = cap;
        } else {
            st = vm_api_fail(vm, "kiln_define_native: out of memory");
        }
    }
    if (st != KILN_OK) {
        free(full);
        free(ps);
        free(types);
        for (size_t i = 0; i <= np; i++)
            free(texts[i]);
        return st;
    }
    if (types)
        memcpy(types, texts, sizeof(char *) * (np + 1));
    vm->hosts[vm->nhosts++] =
        (struct vm_host){.n = {.sig = {full, ps, ret, (const char *const *)types},
                               .bridge = host_bridge,
                               .host = (void (*)(void))fn,
                               .userdata = userdata},
                         .nparams = (uint8_t)np,
                         .strs = strchr(ps, 's') || strchr(ps, 'T'),
                         .typed = typed};
    return KILN_OK;
}

/* The program's class named `name` (as a type: "util.ParseError", or
 * bare) that extends Error (its message field first), or -1 after
 * failing with the reason. */
static int error_class_named(kiln_vm *vm, const char *name)
{
    const vm_image *im = &vm->img;
    int64_t t = vm_api_type(vm, name, "kiln_throw");
    const vm_class *c = t < 0 ? NULL : vm_class_of(im, (uint32_t)t);
    int err = vm_error_class(im);
    if (t == -1 ||
        (t >= 0 && (!c || err < 0 || !vm_assignable(im, c->type, im->classes[err].type) ||
                    c->nfields < 1 || c->field_types[0] != VM_T_STR)))
        vm_api_fail(vm, "kiln_throw: the program has no error class '%.100s'", name);
    else if (c)
        return (int)(c - im->classes);
    return -1;
}

kiln_status kiln_throw(kiln_vm *vm, const char *error_class, const char *message)
{
    if (!vm)
        return KILN_ERR_API;
    if (!error_class)
        return vm_api_fail(vm, "kiln_throw: NULL error class");
    if (!vm->running || !vm->in_native) /* a hook or finalizer: nothing would catch it */
        return vm_api_fail(vm, "kiln_throw: only a native may throw (%s)",
                           vm->running ? "a hook or callback is no native" : "no guest code runs");
    if (vm->ctx->err_kind == RT_LIMIT) /* fuel, time or an interrupt stopped the run meanwhile */
        return KILN_ERR_LIMIT;
    if (!message)
        message = "";
    for (int k = RT_ERR_ERROR; k < RT_ERR__COUNT; k++)
        if (!strcmp(rt_error_class(k), error_class)) {
            rt_raise(vm, k, "%s", message);
            vm->thrown = true;
            return KILN_ERR_RUNTIME;
        }
    int ci = error_class_named(vm, error_class);
    if (ci < 0)
        return KILN_ERR_API;
    vm_ctx *X = vm->ctx;
    vm_str *s = vm_str_cstr(vm, message);
    vm_inst *e = NULL;
    if (s && vm_root_push(vm, s)) {
        e = vm_inst_new(vm, &vm->classes[ci]);
        vm_root_pop(vm, 1);
    }
    if (!e) /* OutOfMemoryError, raised by the allocation */
        return KILN_ERR_RUNTIME;
    e->fields[0].s = s; /* initializing: no barrier (gc.h) */
    X->pending = e;
    X->err_kind = RT_PENDING;
    vm->thrown = true;
    return KILN_ERR_RUNTIME;
}

/* The type of parameter i of host native h (i == its count: the result). */
static uint32_t host_type(const struct vm_host *h, int i)
{
    char c = i < h->nparams ? h->n.sig.params[i] : h->n.sig.ret;
    return c == 'i'   ? VM_T_INT
           : c == 'f' ? VM_T_FLOAT
           : c == 'b' ? VM_T_BOOL
           : c == 's' ? VM_T_STR
           : c == 'T' ? h->itypes[i]
                      : VM_T_VOID;
}

/* The interpreter's call of an embedder's native n (vm_native.bridge):
 * the guest's arguments as kiln_values, the result back; 0, or -1 after
 * raising (as a vm_native_fn). */
static int host_bridge(kiln_vm *vm, const vm_native *n, vm_value *args, vm_value *result)
{
    vm_ctx *X = vm->ctx;
    const vm_natsig *sig = &n->sig;
    const struct vm_host *host = (const struct vm_host *)n; /* its first member */
    int nargs = host->nparams;
    kiln_value kargs[KILN_MAX_PARAMS + 1];
    for (int i = 0; i < nargs; i++) {
        uint32_t pt = host_type(host, i);
        kargs[i] = vm_to_host(vm, args[i], pt);
        if (VM_T_ISREF(pt) && args[i].p && kargs[i].type == KILN_NULL) {
            for (int j = 0; j < i; j++)
                kiln_release(vm, kargs[j]);
            rt_raise(vm, RT_ERR_OOM, "out of memory passing arguments to %s", sig->name);
            return -1;
        }
    }
    kiln_value kres = kiln_null();
    X->err_kind = RT_ERR_NONE;
    X->pending = NULL;
    vm->exited = false;
    vm->thrown = false;
    bool outer = vm->in_native; /* false: guest code called this native */
    vm->in_native = true;
    kiln_status st = ((kiln_native_fn)n->host)(vm, kargs, nargs, &kres, n->userdata);
    vm->in_native = outer;
    if (st == KILN_OK && vm->thrown) /* it threw, then said OK: the throw stands */
        st = KILN_ERR_RUNTIME;
    if (rt_fiber_cancelled(vm)) /* the run's end stops its fiber, whatever it said */
        st = KILN_ERR_RUNTIME;
    if (X->err_kind == RT_LIMIT) /* a limit stopped the run inside (a kiln_str charged) */
        st = KILN_ERR_LIMIT;
    vm->thrown = false;
    /* The result may be one of the arguments (a native returning what it
     * got): read it, then let each handle go once. */
    uint32_t t = host_type(host, nargs);
    vm_value v;
    bool ok = st == KILN_OK && (t == VM_T_VOID || vm_from_host(vm, kres, t, &v));
    char have[128] = "", want[128] = "";
    if (st == KILN_OK && !ok) { /* named while the result's handle lives */
        vm_value_type(vm, kres, have, sizeof have);
        vm_type_text(&vm->img, t, want, sizeof want);
    }
    bool own = kres.type == KILN_STR || kres.type == KILN_REF;
    for (int i = 0; host->strs && i < nargs; i++) {
        own &= kargs[i].as.h != kres.as.h || kargs[i].type != kres.type;
        kiln_release(vm, kargs[i]);
    }
    if (own)
        kiln_release(vm, kres); /* the guest has it now */
    if (vm->exited) {           /* a kiln_call of the native's met os.exit: the run ends */
        X->err_kind = RT_EXIT;
        return -1;
    }
    /* A native may take long: an interrupt or the deadline meanwhile stops the guest
     * now, not some 65,536 instructions later. */
    if (st == KILN_OK && vm_poll_after_native(vm))
        return -1;
    if (st == KILN_OK) {
        if (!ok) {
            rt_raise(vm, RT_ERR_ERROR, "native %s returned %s, expected %s", sig->name,
                     have[0] ? have : vm_kind_name(kres), want);
            return -1;
        }
        if (t != VM_T_VOID)
            *result = v;
        return 0;
    }
    if (st == KILN_ERR_LIMIT || X->err_kind == RT_LIMIT) {
        char msg[sizeof X->err_msg]; /* rt_raise writes err_msg: not from itself */
        snprintf(msg, sizeof msg, "%s",
                 X->err_kind == RT_LIMIT ? X->err_msg : "stopped by a native");
        rt_raise(vm, RT_LIMIT, "%s", msg);
        return -1;
    }
    if (rt_fiber_cancelled(vm)) {
        X->err_kind = RT_CANCEL;
        return -1;
    }
    if (X->err_kind > RT_ERR_NONE && X->err_kind < RT_ERR__COUNT)
        return -1;    /* kiln_throw */
    if (X->pending) { /* a kiln_call that failed: its error goes on */
        X->err_kind = RT_PENDING;
        return -1;
    }
    rt_raise(vm, RT_ERR_ERROR, "native %s failed (status %d)%s%.300s", sig->name, (int)st,
             vm->error[0] ? ": " : "", vm->error);
    return -1;
}
