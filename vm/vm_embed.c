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
 * (bits 48-63, from the VM's address, never 0, so a handle of another VM
 * is almost always recognised too: two live VMs share a tag with odds of
 * 1 in 65,535, and a handle then must also name a live slot of the same
 * generation to pass). A slot also remembers the object's static type, so
 * kiln_call can check a handle passed back as an argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/rt.h"
#include "api.h"

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

static kiln_status api_fail(kiln_vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static kiln_status api_fail(kiln_vm *vm, const char *fmt, ...)
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
    uint64_t x = (uint64_t)(uintptr_t)vm * 0x9e3779b97f4a7c15ull; /* spread the address */
    uint16_t t = (uint16_t)(x >> 48);
    return t ? t : 1;
}

/* A handle for object `obj` of static type `type` (a string: KILN_STR);
 * KILN_NULL for a null object or when memory runs out. */
static kiln_value handle_new(kiln_vm *vm, void *obj, uint32_t type)
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
static struct vm_handle *handle_check(const kiln_vm *vm, kiln_value v, const char **why)
{
    *why = "not a string or object (no handle)";
    if (v.type != KILN_STR && v.type != KILN_REF)
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

static struct vm_handle *handle_of(const kiln_vm *vm, kiln_value v)
{
    const char *why;
    return handle_check(vm, v, &why);
}

kiln_value kiln_str(kiln_vm *vm, const char *bytes, size_t len)
{
    if (!vm || (!bytes && len))
        return kiln_null();
    int kind = vm->ctx->err_kind; /* a failure here is the host's to see, not the guest's */
    vm_str *s = vm_str_new(vm, bytes, len);
    if (!s)
        api_fail(vm, "kiln_str: %s", vm->ctx->err_msg);
    vm->ctx->err_kind = kind;
    kiln_value v = s ? handle_new(vm, s, VM_T_STR) : kiln_null();
    if (s && v.type == KILN_NULL)
        api_fail(vm, "kiln_str: no memory for the handle");
    return v;
}

const char *kiln_str_bytes(kiln_vm *vm, kiln_value v, size_t *len)
{
    if (!vm)
        return NULL;
    const char *why;
    struct vm_handle *h = handle_check(vm, v, &why);
    if (!h || h->type != VM_T_STR) {
        api_fail(vm, "kiln_str_bytes: %s", h ? "not a string" : why);
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
    struct vm_handle *h = handle_check(vm, v, &why);
    if (!h)
        return api_fail(vm, "kiln_release: %s", why);
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
        free((char *)vm->hosts[i].sig.name);
        free((char *)vm->hosts[i].sig.params);
    }
    free(vm->hosts);
    free(vm->handles);
}

/* ---- Calling the guest ---- */

static const char *const TYPE_NAMES[] = {"null", "int", "float", "bool", "str", "reference"};

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
static bool from_host(kiln_vm *vm, kiln_value a, uint32_t t, vm_value *out)
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
    struct vm_handle *h = handle_of(vm, a);
    if (!h || !vm_assignable(&vm->img, h->type, t))
        return false;
    out->p = h->obj;
    return true;
}

/* Guest value v of type t as a host value (a new handle for an object). */
static kiln_value to_host(kiln_vm *vm, vm_value v, uint32_t t)
{
    switch (t) {
    case VM_T_VOID: return kiln_null();
    case VM_T_INT: return kiln_int(v.i);
    case VM_T_FLOAT: return kiln_float(v.f);
    case VM_T_BOOL: return kiln_bool(v.i != 0);
    default: return handle_new(vm, v.p, t);
    }
}

kiln_status kiln_call(kiln_vm *vm, const char *function, const kiln_value *args, int nargs,
                      kiln_value *result)
{
    if (!vm)
        return KILN_ERR_API;
    if (result)
        *result = kiln_null();
    if (!function)
        return api_fail(vm, "kiln_call: NULL function name");
    if (!vm->loaded)
        return api_fail(vm, "kiln_call: no program loaded");
    if (nargs < 0 || (nargs > 0 && !args))
        return api_fail(vm, "kiln_call: bad argument list (%d arguments at %p)", nargs,
                        (const void *)args);
    const vm_image *im = &vm->img;
    int fi = find_function(im, function);
    if (fi < 0)
        return api_fail(vm, "kiln_call: the program has no function '%.200s'", function);
    const vm_func *f = &im->funcs[fi];
    if (nargs != f->nparams)
        return api_fail(vm, "kiln_call: %.200s() takes %u argument%s, got %d", function, f->nparams,
                        f->nparams == 1 ? "" : "s", nargs);
    vm_value vals[KILN_MAX_PARAMS];
    for (int i = 0; i < nargs; i++)
        if (!from_host(vm, args[i], f->types[i], &vals[i]))
            return api_fail(vm, "kiln_call: argument %d of %.200s() is %s, expected %s", i + 1,
                            function,
                            args[i].type <= KILN_REF ? TYPE_NAMES[args[i].type] : "invalid",
                            vm_type_str(im, f->types[i]));
    bool nested = vm->running; /* from a native: the run's limits go on */
    if (!nested) {
        if (!vm_ctx_ready(vm))
            return KILN_ERR_RUNTIME;
        vm->running = true;
        vm->exited = false;
        vm->exit_code = 0;
        atomic_store(&vm->interrupt, false);
        vm_limits_reset(vm);
    }
    vm->error[0] = 0;
    vm->ctx->err_kind = RT_ERR_NONE;
    vm->ctx->pending = NULL;
    vm_value res;
    int rc = vm_run_function(vm, (uint32_t)fi, vals, &res);
    if (!nested)
        vm->running = false;
    if (rc == -1)
        return vm_failure_status(vm);
    if (rc == -2) {
        vm->exited = true;  /* from a native: host_bridge ends the run */
        return KILN_EXITED; /* os.exit: the guest is done; no result */
    }
    if (result) {
        *result = to_host(vm, res, f->ret);
        if (VM_T_ISREF(f->ret) && res.p && result->type == KILN_NULL)
            return api_fail(vm, "kiln_call: out of memory for the result's handle");
    }
    return KILN_OK;
}

/* ---- The embedder's natives ---- */

/* One type of a signature at *p: its letter (i f b s), or 0. */
static char sig_type(const char **p)
{
    static const struct {
        const char *name;
        char letter;
    } T[] = {{"int", 'i'}, {"float", 'f'}, {"bool", 'b'}, {"str", 's'}};
    while (**p == ' ')
        (*p)++;
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        size_t n = strlen(T[i].name);
        if (!strncmp(*p, T[i].name, n) && !((*p)[n] >= 'a' && (*p)[n] <= 'z')) {
            *p += n;
            while (**p == ' ')
                (*p)++;
            return T[i].letter;
        }
    }
    return 0;
}

/* "fn(int, str) -> float" into params "is" and ret 'f'; false if malformed. */
static bool parse_signature(const char *type, char *params, char *ret)
{
    const char *p = type;
    while (*p == ' ')
        p++;
    if (strncmp(p, "fn", 2))
        return false;
    p += 2;
    while (*p == ' ')
        p++;
    if (*p++ != '(')
        return false;
    int n = 0;
    while (*p == ' ')
        p++;
    if (*p != ')') {
        for (;;) {
            char c = sig_type(&p);
            if (!c || n == KILN_MAX_PARAMS)
                return false;
            params[n++] = c;
            if (*p == ')')
                break;
            if (*p++ != ',')
                return false;
        }
    }
    params[n] = 0;
    p++; /* ')' */
    while (*p == ' ')
        p++;
    *ret = 'v';
    if (!strncmp(p, "->", 2)) {
        p += 2;
        if (!(*ret = sig_type(&p)))
            return false;
    }
    return *p == 0;
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
    if (vm->loaded)
        return api_fail(vm, "kiln_define_native: define natives before loading the program");
    if (!is_ident(module) || !is_ident(name) || !fn)
        return api_fail(vm, "kiln_define_native: module and name must be identifiers, fn "
                            "not NULL");
    char params[KILN_MAX_PARAMS + 1], ret;
    if (!type || !parse_signature(type, params, &ret))
        return api_fail(vm,
                        "kiln_define_native: bad type '%.100s' (e.g. \"fn(int, str) -> "
                        "float\"; types int, float, bool, str)",
                        type ? type : "(null)");
    size_t len = strlen(module) + strlen(name) + 2;
    char *full = malloc(len), *ps = strdup(params);
    if (!full || !ps) {
        free(full);
        free(ps);
        return api_fail(vm, "kiln_define_native: out of memory");
    }
    snprintf(full, len, "%s.%s", module, name);
    for (uint32_t i = 0; i < vm->nhosts; i++)
        if (!strcmp(vm->hosts[i].sig.name, full)) {
            free(full);
            free(ps);
            return api_fail(vm, "kiln_define_native: %s.%s is already defined", module, name);
        }
    if (vm->nhosts == vm->hosts_cap) {
        uint32_t cap = vm->hosts_cap ? vm->hosts_cap * 2 : 8;
        vm_native *h = realloc(vm->hosts, cap * sizeof *h);
        if (!h) {
            free(full);
            free(ps);
            return api_fail(vm, "kiln_define_native: out of memory");
        }
        vm->hosts = h;
        vm->hosts_cap = cap;
    }
    vm->hosts[vm->nhosts++] = (vm_native){.sig = {full, ps, ret},
                                          .bridge = host_bridge,
                                          .host = (void (*)(void))fn,
                                          .userdata = userdata};
    return KILN_OK;
}

kiln_status kiln_throw(kiln_vm *vm, const char *error_class, const char *message)
{
    if (!vm)
        return KILN_ERR_API;
    for (int k = RT_ERR_ERROR; error_class && k < RT_ERR__COUNT; k++)
        if (!strcmp(rt_error_class(k), error_class)) {
            rt_raise(vm, k, "%s", message ? message : "");
            return KILN_ERR_RUNTIME;
        }
    return api_fail(vm, "kiln_throw: '%.100s' is not a built-in error class",
                    error_class ? error_class : "(null)");
}

static uint32_t letter_type(char c)
{
    return c == 'i'   ? VM_T_INT
           : c == 'f' ? VM_T_FLOAT
           : c == 'b' ? VM_T_BOOL
           : c == 's' ? VM_T_STR
                      : VM_T_VOID;
}

/* The interpreter's call of an embedder's native n (vm_native.bridge):
 * the guest's arguments as kiln_values, the result back; 0, or -1 after
 * raising (as a vm_native_fn). */
static int host_bridge(kiln_vm *vm, const vm_native *n, vm_value *args, vm_value *result)
{
    vm_ctx *X = vm->ctx;
    const vm_natsig *sig = &n->sig;
    int nargs = (int)strlen(sig->params);
    kiln_value kargs[KILN_MAX_PARAMS + 1] = {{0}};
    for (int i = 0; i < nargs; i++) {
        kargs[i] = to_host(vm, args[i], letter_type(sig->params[i]));
        if (sig->params[i] == 's' && args[i].s && kargs[i].type == KILN_NULL) {
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
    kiln_status st = ((kiln_native_fn)n->host)(vm, kargs, nargs, &kres, n->userdata);
    /* The result may be one of the arguments (a native returning what it
     * got): read it, then let each handle go once. */
    uint32_t t = letter_type(sig->ret);
    vm_value v;
    bool ok = st == KILN_OK && (t == VM_T_VOID || from_host(vm, kres, t, &v));
    bool own = kres.type == KILN_STR || kres.type == KILN_REF;
    for (int i = 0; i < nargs; i++) {
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
                     kres.type <= KILN_REF ? TYPE_NAMES[kres.type] : "an invalid value",
                     vm_type_name((int)t));
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
