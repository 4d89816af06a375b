/*
 * vm_core.c — the public API (kiln.h): VM lifecycle, loading, linking and
 * running a program.
 *
 * Loading always goes bytes -> vm_image_read -> vm_verify -> link: source
 * is first compiled to image bytes, so a program behaves the same whether
 * it came from a .kn or a .kbc file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../compiler/comp.h"
#include "../interp/interp.h"
#include "../runtime/rt.h"
#include "../stdlib/std.h"
#include "vm.h"

const char *kiln_version(void) { return KILN_VERSION; }

void kiln_config_init(kiln_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

kiln_vm *kiln_new(const kiln_config *cfg)
{
    kiln_vm *vm = calloc(1, sizeof *vm);
    if (!vm)
        return NULL;
    if (cfg)
        vm->cfg = *cfg;
    else
        kiln_config_init(&vm->cfg);
    if (!gc_init(&vm->heap, vm->cfg.heap_limit, vm_gc_roots, vm_gc_trace, vm)) {
        free(vm);
        return NULL;
    }
    gc_roots_init(&vm->roots, KILN_MAX_ROOTS);
    vm->heap.stress = vm->cfg.flags & KILN_FLAG_GC_STRESS;
    vm->heap.verify = vm->cfg.flags & KILN_FLAG_GC_VERIFY;
#ifdef KILN_OPSTATS
    vm->opstats = calloc((size_t)OP__COUNT * OP__COUNT, sizeof *vm->opstats);
    if (!vm->opstats) {
        gc_destroy(&vm->heap);
        free(vm);
        return NULL;
    }
#endif
    return vm; /* the stack comes with the first run: loading needs none */
}

void kiln_free(kiln_vm *vm)
{
    if (!vm)
        return;
    gc_destroy(&vm->heap);
    gc_roots_free(&vm->roots);
    /* The runtime classes first: their count is the image's. */
    for (uint32_t i = 0; vm->classes && i < vm->img.nclasses; i++) {
        free((void *)vm->classes[i].vtable);
        free(vm->classes[i].refs);
    }
    free(vm->classes);
    vm_image_free(&vm->img);
    vm_buf_free(&vm->image_bytes);
    vm_buf_free(&vm->listing);
    free(vm->kvals);
    free(vm->globals);
    free(vm->natives);
    if (vm->refmaps)
        free(vm->refmaps[0].regs);
    free(vm->refmaps);
    free(vm->fnvals);
    free(vm->stack);
    vm_embed_free(vm);
#ifdef KILN_OPSTATS
    free(vm->opstats);
#endif
    free(vm);
}

const char *kiln_error(const kiln_vm *vm)
{
    return vm ? vm->error : "kiln: no VM (NULL)";
}

static kiln_status fail(kiln_vm *vm, kiln_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static kiln_status fail(kiln_vm *vm, kiln_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->error, sizeof vm->error, fmt, ap);
    va_end(ap);
    return st;
}

void vm_write(kiln_vm *vm, int stream, const char *p, size_t n)
{
    if (vm->cfg.write)
        vm->cfg.write(vm->cfg.userdata, stream, p, n);
    else
        fwrite(p, 1, n, stream == 2 ? stderr : stdout);
}

/* Every object comes from here: the allocation, the verify-mode check,
 * and OutOfMemoryError naming `what`. */
gc_obj *vm_alloc(kiln_vm *vm, size_t size, uint8_t kind, const char *what)
{
    gc_obj *o = gc_alloc(&vm->heap, size, kind);
    if (vm->heap.verify_error) {
        rt_raise(vm, RT_FATAL, "heap verification failed: %s", vm->heap.verify_error);
        return NULL;
    }
    if (!o)
        rt_raise(vm, RT_ERR_OOM, "out of memory allocating %s of %zu bytes", what, size);
    return o;
}

vm_str *vm_str_new(kiln_vm *vm, const char *p, size_t len)
{
    if (len > UINT32_MAX - 64) {
        rt_raise(vm, RT_ERR_OOM, "string of %zu bytes is too long", len);
        return NULL;
    }
    vm_str *s = (vm_str *)vm_alloc(vm, sizeof(vm_str) + len + 1, VM_OBJ_STR, "a string");
    if (!s)
        return NULL;
    s->len = (uint32_t)len;
    if (len && p)
        memcpy(s->data, p, len);
    s->data[len] = 0;
    return s;
}

vm_str *vm_str_cstr(kiln_vm *vm, const char *s) { return vm_str_new(vm, s, strlen(s)); }

vm_closure *vm_closure_new(kiln_vm *vm, const vm_func *fn, const vm_value *caps)
{
    vm_closure *c = (vm_closure *)vm_alloc(
        vm, sizeof(vm_closure) + sizeof(vm_value) * fn->ncaps, VM_OBJ_FN, "a function value");
    if (!c)
        return NULL;
    c->fn = fn;
    if (fn->ncaps)
        memcpy(c->caps, caps, sizeof(vm_value) * fn->ncaps);
    return c;
}

vm_cell *vm_cell_new(kiln_vm *vm, bool ref, vm_value v)
{
    vm_cell *c = (vm_cell *)vm_alloc(vm, sizeof(vm_cell), VM_OBJ_CELL, "a cell");
    if (!c)
        return NULL;
    c->ref = ref;
    c->v = v;
    return c;
}

/* Arrays keep their elements in a buffer object of `cap` slots. */
static vm_buffer *buffer_new(kiln_vm *vm, uint32_t cap)
{
    return (vm_buffer *)vm_alloc(vm, sizeof(vm_buffer) + sizeof(vm_value) * (size_t)cap,
                                 VM_OBJ_BUF, "an array");
}

vm_array *vm_array_new(kiln_vm *vm, uint32_t len, uint32_t cap, bool refs)
{
    if (cap < len)
        cap = len;
    if (!cap)
        cap = 1;
    /* The buffer first, so that storing it in the new array is an
     * initializing store (gc.h: no barrier); it is a root meanwhile. */
    vm_buffer *b = buffer_new(vm, cap);
    if (!b || !vm_root_push(vm, b))
        return NULL;
    vm_array *a = (vm_array *)vm_alloc(vm, sizeof(vm_array), VM_OBJ_ARRAY, "an array");
    vm_root_pop(vm, 1);
    if (!a)
        return NULL;
    a->refs = refs;
    a->buf = b;
    a->len = len;
    a->cap = cap;
    return a;
}

bool vm_array_push(kiln_vm *vm, vm_array *a, vm_value v)
{
    if (a->len == a->cap) {
        if (a->cap >= UINT32_MAX / 2) {
            rt_raise(vm, RT_ERR_OOM, "array too long");
            return false;
        }
        /* The array and the value are the caller's to keep reachable
         * (registers, or its root stack entries). */
        vm_buffer *b = buffer_new(vm, a->cap * 2);
        if (!b)
            return false;
        memcpy(b->items, a->buf->items, sizeof(vm_value) * a->len);
        a->buf = b;
        gc_barrier(&vm->heap, &a->obj, &b->obj);
        a->cap *= 2;
    }
    a->buf->items[a->len++] = v;
    gc_barrier(&vm->heap, &a->obj, a->refs ? v.p : NULL);
    return true;
}

vm_inst *vm_inst_new(kiln_vm *vm, const vm_rtclass *c)
{
    size_t size = sizeof(vm_inst) + sizeof(vm_value) * c->def->nfields;
    vm_inst *o = (vm_inst *)vm_alloc(vm, size, VM_OBJ_INST, "an object");
    if (o)
        o->cls = c;
    return o;
}

bool vm_letter_fits(char c, uint32_t t, int elem)
{
    switch (c) {
    case 'v': return t == VM_T_VOID;
    case 'i': return t == VM_T_INT;
    case 'f': return t == VM_T_FLOAT;
    case 'b': return t == VM_T_BOOL;
    case 's': return t == VM_T_STR;
    case 'S': return elem == VM_T_STR;
    default: return false;
    }
}

const vm_native *vm_native_find(const vm_native *extra, uint32_t nextra, const char *name,
                                const uint16_t *params, int nparams,
                                int (*elem_of)(const void *ctx, uint32_t t), const void *ctx)
{
    size_t nstd = std_natives_count();
    for (size_t i = 0; i < nextra + nstd; i++) {
        const vm_native *n = i < nextra ? &extra[i] : std_native(i - nextra);
        if (strcmp(n->name, name) != 0 || (int)strlen(n->params) != nparams)
            continue;
        int j = 0;
        while (j < nparams && vm_letter_fits(n->params[j], params[j], elem_of(ctx, params[j])))
            j++;
        if (j == nparams)
            return n;
    }
    return NULL;
}

static int image_elem_of(const void *im, uint32_t t) { return vm_elem_of(im, t); }

/* The classes as the interpreter uses them: superclass pointers, vtables
 * of function pointers, and each class's reference fields for the GC. */
static bool link_classes(kiln_vm *vm)
{
    const vm_image *im = &vm->img;
    vm->classes = calloc(im->nclasses ? im->nclasses : 1, sizeof(vm_rtclass));
    if (!vm->classes)
        return false;
    for (uint32_t i = 0; i < im->nclasses; i++) {
        const vm_class *d = &im->classes[i];
        vm_rtclass *c = &vm->classes[i];
        c->def = d;
        c->index = i;
        c->super = d->super >= 0 ? &vm->classes[d->super] : NULL;
        c->vtable = calloc(d->nslots ? d->nslots : 1, sizeof(vm_func *));
        c->refs = calloc(d->nfields ? d->nfields : 1, sizeof(uint16_t));
        if (!c->vtable || !c->refs)
            return false;
        for (uint32_t j = 0; j < d->nslots; j++)
            c->vtable[j] = &im->funcs[d->slots[j]];
        for (uint32_t j = 0; j < d->nfields; j++)
            if (VM_T_ISREF(d->field_types[j]))
                c->refs[c->nrefs++] = (uint16_t)j;
    }
    return true;
}

/* Makes a verified image runnable: string constants become heap strings,
 * native references become function pointers, globals get zero values. */
static kiln_status link(kiln_vm *vm)
{
    vm_image *im = &vm->img;
    vm->kvals = calloc(im->nconsts ? im->nconsts : 1, sizeof(vm_value));
    vm->globals = calloc(im->nglobals ? im->nglobals : 1, sizeof(vm_value));
    vm->natives = calloc(im->nnatives ? im->nnatives : 1, sizeof(vm_native *));
    if (!vm->kvals || !vm->globals || !vm->natives || !vm_gc_link(vm) || !link_classes(vm))
        return fail(vm, KILN_ERR_LOAD, "out of memory loading the program");
    for (uint32_t i = 0; i < im->nconsts; i++) {
        const vm_const *k = &im->consts[i];
        if (k->type == VM_T_STR) {
            vm->kvals[i].s = vm_str_new(vm, vm_image_str(im, (uint32_t)k->bits),
                                        im->str_len[k->bits]);
            if (!vm->kvals[i].s)
                return fail(vm, KILN_ERR_LOAD, "out of memory loading the program");
        } else {
            vm->kvals[i].u = k->bits;
        }
    }
    for (uint32_t i = 0; i < im->nnatives; i++) {
        const vm_nativeref *n = &im->natives[i];
        const vm_native *nat = vm_native_find(vm->hosts, vm->nhosts, vm_image_str(im, n->name),
                                              n->params, n->nparams,
                                              image_elem_of, im);
        if (!nat || !vm_letter_fits(nat->ret, n->ret, vm_elem_of(im, n->ret)))
            return fail(vm, KILN_ERR_LOAD,
                        "invalid image: unknown native %s with this signature at native %u",
                        vm_image_str(im, n->name), i);
        vm->natives[i] = nat;
    }
    if (!rt_error_link(vm))
        return fail(vm, KILN_ERR_LOAD, "out of memory loading the program");
    vm->loaded = true;
    return KILN_OK;
}

kiln_status kiln_load_image(kiln_vm *vm, const void *bytes, size_t len)
{
    if (!vm)
        return KILN_ERR_API;
    if (vm->loaded || vm->image_bytes.len)
        return fail(vm, KILN_ERR_API, "kiln_load: this VM already has a program");
    if (!bytes && len)
        return fail(vm, KILN_ERR_API, "kiln_load_image: NULL bytes");
    vm->error[0] = 0;
    bool sum = !(vm->cfg.flags & KILN_FLAG_NO_CHECKSUM);
    if (!vm_image_read(bytes, len, sum, &vm->img, vm->error, sizeof vm->error) ||
        !vm_verify(&vm->img, vm->error, sizeof vm->error)) {
        vm_image_free(&vm->img);
        return KILN_ERR_LOAD;
    }
    vm_buf_put(&vm->image_bytes, bytes, len);
    if (vm->image_bytes.oom)
        return fail(vm, KILN_ERR_LOAD, "out of memory loading the program");
    return link(vm);
}

/* The bytes of file `path` (malloc'd, *len set), or NULL with the reason
 * in *why. */
static char *read_file(const char *path, size_t *len, char *why, size_t whylen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(why, whylen, "cannot open: %s", strerror(errno));
        return NULL;
    }
    vm_buf data = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        vm_buf_put(&data, chunk, n);
    bool read_error = ferror(fp);
    fclose(fp);
    if (read_error || data.oom) {
        vm_buf_free(&data);
        snprintf(why, whylen, "%s", data.oom ? "cannot read: out of memory" : "cannot read");
        return NULL;
    }
    if (!data.data) /* an empty file */
        data.data = calloc(1, 1);
    *len = data.len;
    if (!data.data)
        snprintf(why, whylen, "cannot read: out of memory");
    return data.data;
}

/* The compiler's loader for imported modules: the file's bytes, or NULL
 * if it cannot be read. */
static char *load_module(void *ctx, const char *path, size_t *len)
{
    (void)ctx;
    char why[128];
    return read_file(path, len, why, sizeof why);
}

kiln_status kiln_load_source(kiln_vm *vm, const char *name, const char *src, size_t len)
{
    if (!vm)
        return KILN_ERR_API;
    if (!src && len)
        return fail(vm, KILN_ERR_API, "kiln_load_source: NULL source");
    if (vm->loaded)
        return fail(vm, KILN_ERR_API, "kiln_load: this VM already has a program");
    vm_buf image = {0}, diags = {0};
    comp_env env = {load_module, vm, vm->hosts, vm->nhosts};
    bool ok = comp_compile(name ? name : "<source>", src ? src : "", len, &env, &image, &diags);
    kiln_status st;
    if (!ok) {
        snprintf(vm->error, sizeof vm->error, "%s",
                 diags.oom ? "out of memory compiling" : diags.data ? diags.data : "");
        /* Drop the final newline: callers print the message as a line. */
        size_t n = strlen(vm->error);
        if (n && vm->error[n - 1] == '\n')
            vm->error[n - 1] = 0;
        st = KILN_ERR_COMPILE;
    } else {
        st = kiln_load_image(vm, image.data, image.len);
    }
    vm_buf_free(&image);
    vm_buf_free(&diags);
    return st;
}

kiln_status kiln_load_file(kiln_vm *vm, const char *path)
{
    if (!vm)
        return KILN_ERR_API;
    if (!path)
        return fail(vm, KILN_ERR_API, "kiln_load_file: NULL path");
    vm_buf data = {0};
    char why[128];
    data.data = read_file(path, &data.len, why, sizeof why);
    if (!data.data)
        return fail(vm, KILN_ERR_LOAD, "%s: %s", path, why);
    kiln_status st;
    if (vm_image_is(data.data, data.len)) {
        st = kiln_load_image(vm, data.data, data.len);
        if (st == KILN_ERR_LOAD) { /* name the file: "app.kbc: invalid image: ..." */
            size_t plen = strlen(path), elen = strlen(vm->error);
            if (plen + 2 + elen >= sizeof vm->error) /* keep the path, cut the message */
                elen = plen + 2 < sizeof vm->error ? sizeof vm->error - plen - 3 : 0;
            if (plen + 2 < sizeof vm->error) {
                memmove(vm->error + plen + 2, vm->error, elen);
                memcpy(vm->error, path, plen);
                memcpy(vm->error + plen, ": ", 2);
                vm->error[plen + 2 + elen] = 0;
            }
        }
    } else {
        st = kiln_load_source(vm, path, data.data ? data.data : "", data.len);
    }
    vm_buf_free(&data);
    return st;
}

/* Instructions between two checks of kiln_interrupt's flag when no fuel
 * runs out sooner: a few microseconds of guest time. */
enum { POLL_INTERVAL = 1 << 16 };

void vm_limits_reset(kiln_vm *vm)
{
    vm->fuel_left = vm->cfg.fuel ? vm->cfg.fuel : UINT64_MAX;
    vm->tick_len = vm->fuel_left < POLL_INTERVAL ? (int64_t)vm->fuel_left : POLL_INTERVAL;
    vm->tick = vm->tick_len;
}

bool vm_poll(kiln_vm *vm)
{
    uint64_t used = (uint64_t)(vm->tick_len - vm->tick);
    if (vm->fuel_left != UINT64_MAX) {
        if (used >= vm->fuel_left) {
            vm->fuel_left = 0;
            rt_raise(vm, RT_LIMIT, "out of fuel (%llu instructions)",
                     (unsigned long long)vm->cfg.fuel);
            return true;
        }
        vm->fuel_left -= used;
    }
    if (atomic_exchange(&vm->interrupt, false)) {
        rt_raise(vm, RT_LIMIT, "interrupted");
        return true;
    }
    vm->tick_len = vm->fuel_left < POLL_INTERVAL ? (int64_t)vm->fuel_left : POLL_INTERVAL;
    vm->tick = vm->tick_len;
    return false;
}

void kiln_interrupt(kiln_vm *vm)
{
    if (vm)
        atomic_store(&vm->interrupt, true);
}

bool vm_stack_init(kiln_vm *vm)
{
    /* Not zeroed: the interpreter writes every slot of a frame before use,
     * and untouched pages of a large allocation cost nothing. */
    vm->stack = malloc(KILN_STACK_SLOTS * sizeof(vm_value));
    if (!vm->stack) {
        fail(vm, KILN_ERR_RUNTIME, "error: OutOfMemoryError: no memory for the stack");
        return false;
    }
    /* The call path writes a few slots past a new frame unconditionally
     * (cheaper than a loop): they stay inside the slack. */
    vm->stack_end = vm->stack + KILN_STACK_SLOTS - VM_STACK_SLACK;
    return true;
}

static kiln_status run_function(kiln_vm *vm, uint32_t fi)
{
    if (!vm->stack && !vm_stack_init(vm))
        return KILN_ERR_RUNTIME;
    vm_value result;
    vm->err_kind = RT_ERR_NONE;
    int rc = interp_call(vm, fi, NULL, &result);
    if (rc == -2)
        vm->exited = true;
    if (rc == -1)
        return vm_failure_status(vm);
    return KILN_OK;
}

kiln_status vm_failure_status(const kiln_vm *vm)
{
    /* The heap limit's OutOfMemoryError is the preallocated one; uncaught,
     * the limit stopped the guest. */
    if (vm->err_kind == RT_LIMIT || (vm->cfg.heap_limit && vm->pending &&
                                     vm->pending == vm->oom_error))
        return KILN_ERR_LIMIT;
    return KILN_ERR_RUNTIME;
}

kiln_status kiln_run(kiln_vm *vm)
{
    if (!vm)
        return KILN_ERR_API;
    if (!vm->loaded)
        return fail(vm, KILN_ERR_API, "kiln_run: no program loaded");
    if (vm->running)
        return fail(vm, KILN_ERR_API, "kiln_run: the VM is already running (called from "
                                      "inside its own output hook?)");
    vm->error[0] = 0;
    vm->running = true;
    const vm_image *im = &vm->img;
    vm->exited = false;
    vm->exit_code = 0;
    atomic_store(&vm->interrupt, false); /* one sent before the run is void */
    vm_limits_reset(vm);
    vm->pending = NULL;
    kiln_status st = run_function(vm, im->modules[im->entry].init);
    if (st == KILN_OK && !vm->exited && im->main >= 0)
        st = run_function(vm, (uint32_t)im->main);
    vm->running = false;
    return st;
}

int kiln_exit_code(const kiln_vm *vm) { return vm ? vm->exit_code : 0; }

kiln_status kiln_set_args(kiln_vm *vm, int argc, char **argv)
{
    if (!vm || argc < 0 || (argc && !argv))
        return KILN_ERR_API;
    vm->argc = argc;
    vm->argv = argv;
    return KILN_OK;
}

kiln_status kiln_image(kiln_vm *vm, const void **bytes, size_t *len)
{
    if (!vm || !bytes || !len)
        return KILN_ERR_API;
    if (!vm->loaded)
        return fail(vm, KILN_ERR_API, "kiln_image: no program loaded");
    *bytes = vm->image_bytes.data;
    *len = vm->image_bytes.len;
    return KILN_OK;
}

kiln_status kiln_disassemble(kiln_vm *vm, const char **text)
{
    if (!vm || !text)
        return KILN_ERR_API;
    if (!vm->loaded)
        return fail(vm, KILN_ERR_API, "kiln_disassemble: no program loaded");
    if (!vm->listing.len)
        vm_disasm(&vm->img, &vm->listing);
    if (vm->listing.oom)
        return fail(vm, KILN_ERR_API, "kiln_disassemble: out of memory");
    *text = vm->listing.data ? vm->listing.data : "";
    return KILN_OK;
}
