/*
 * vm_core.c — the public API (kiln.h): VM lifecycle, loading, linking and
 * running a program. The top layer: the only code (with vm_embed.c and the
 * CLI) that calls both the compiler and the interpreter.
 *
 * Loading always goes bytes -> vm_image_read -> vm_verify -> link: source
 * is first compiled to image bytes, so a program behaves the same whether
 * it came from a .kn or a .kbc file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../compiler/comp.h"
#include "../interp/interp.h"
#include "../jit/jit.h"
#include "../runtime/rt.h"
#include "../stdlib/std.h"
#include "api.h"

/* The VM's configuration keeps kiln.h's permission bits as they are. */
_Static_assert((int)VM_ALLOW_READ == KILN_ALLOW_READ && (int)VM_ALLOW_WRITE == KILN_ALLOW_WRITE &&
                   (int)VM_ALLOW_ENV == KILN_ALLOW_ENV && (int)VM_ALLOW_NET == KILN_ALLOW_NET &&
                   (int)VM_ALLOW_RUN == KILN_ALLOW_RUN && (int)VM_ALLOW_FFI == KILN_ALLOW_FFI &&
                   (int)VM_ALLOW_STDIN == KILN_ALLOW_STDIN,
               "VM_ALLOW_* and KILN_ALLOW_* differ");

static kiln_status fail(kiln_vm *vm, kiln_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *kiln_version(void)
{
    return KILN_VERSION;
}

void kiln_config_init(kiln_config *cfg)
{
    if (cfg) /* NULL: nothing to fill */
        memset(cfg, 0, sizeof *cfg);
}

/* kiln_config.fiber_stack as used: the default for 0, else at least
 * 64 KiB (at most 1 GiB), in whole pages. */
static size_t fiber_stack_size(size_t want)
{
    enum { DEFAULT = 256 << 10, LEAST = 64 << 10 };
    size_t n = want == 0 ? DEFAULT : want < LEAST ? LEAST : want > (1u << 30) ? (1u << 30) : want;
    return (n + 4095) & ~(size_t)4095;
}

kiln_vm *kiln_new(const kiln_config *cfg)
{
    kiln_vm *vm = malloc(sizeof *vm);
    if (!vm)
        return NULL;
    memset(vm, 0, offsetof(kiln_vm, error) + 1); /* error is the tail: "" */
    kiln_config c;
    if (cfg)
        c = *cfg;
    else
        kiln_config_init(&c);
    vm->cfg = (vm_config){.heap_limit = c.heap_limit,
                          .fuel = c.fuel,
                          .timeout = c.timeout > 0 && c.timeout < 1e9 ? c.timeout : 0,
                          .allow = c.allow,
                          .ffi_libs = c.ffi_libs,
                          .net_hosts = c.net_hosts,
                          .run_programs = c.run_programs,
                          .trace_sys = c.flags & KILN_FLAG_TRACE_SYS,
                          .no_checksum = c.flags & KILN_FLAG_NO_CHECKSUM,
                          .write = c.write,
                          .userdata = c.userdata,
                          .jit = c.jit == KILN_JIT_OFF      ? VM_JIT_OFF
                                 : c.jit == KILN_JIT_ALWAYS ? VM_JIT_ALWAYS
                                                            : VM_JIT_ON,
                          .jit_code_limit = c.jit_code_limit,
                          .fiber_stack = fiber_stack_size(c.fiber_stack),
                          .loop = c.loop,
                          .perf_map = c.flags & KILN_FLAG_PERF_MAP,
                          .read = c.read,
                          .load_module = (void (*)(void))c.load_module,
                          .loader_userdata = c.loader_userdata};
    vm->ctx = &vm->main;
    vm->handle_tag = vm_handle_tag(vm);
    /* the folders' real paths, fixed now (rt_sys_real_dirs) */
    if (!rt_sys_real_dirs(c.read_dirs, &vm->cfg.read_dirs) ||
        !rt_sys_real_dirs(c.write_dirs, &vm->cfg.write_dirs) ||
        !gc_init(&vm->heap, vm->cfg.heap_limit, vm_gc_roots, vm_gc_trace, vm)) {
        rt_sys_free_dirs(vm->cfg.read_dirs);
        rt_sys_free_dirs(vm->cfg.write_dirs);
        free(vm);
        return NULL;
    }
    gc_roots_init(&vm->main.roots, KILN_MAX_ROOTS);
    vm->heap.stress = c.flags & KILN_FLAG_GC_STRESS;
    vm->heap.verify = c.flags & KILN_FLAG_GC_VERIFY;
    vm->heap.leaf_kinds =
        1u << VM_OBJ_STR | 1u << VM_OBJ_BUF | 1u << VM_OBJ_HOST | 1u << VM_OBJ_RES;
    vm->heap.final_kinds = 1u << VM_OBJ_HOST | 1u << VM_OBJ_FIBER | 1u << VM_OBJ_RES;
    vm->heap.finalize = vm_gc_finalize;
    vm->heap.should_stop = vm_gc_should_stop;
    if (!jit_init(vm)) {
        gc_roots_free(&vm->main.roots);
        gc_destroy(&vm->heap);
        rt_sys_free_dirs(vm->cfg.read_dirs);
        rt_sys_free_dirs(vm->cfg.write_dirs);
        free(vm);
        return NULL;
    }
#ifdef KILN_OPSTATS
    vm->opstats = calloc((size_t)OP__COUNT * OP__COUNT, sizeof *vm->opstats);
    if (!vm->opstats) {
        gc_destroy(&vm->heap);
        rt_sys_free_dirs(vm->cfg.read_dirs);
        rt_sys_free_dirs(vm->cfg.write_dirs);
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
    /* From a hook, a native or a finalizer of its own, the VM is in use
     * below: refused (nothing freed) rather than freed under the caller. */
    if (vm->running || vm->finalizing || vm->loading || vm->heap.collecting || vm->in_loop) {
        fail(vm, KILN_ERR_API,
             "kiln_free: not while the VM is in use (from its native, hook or finalizer): "
             "nothing was freed");
        return;
    }
    jit_free(vm);
    gc_destroy(&vm->heap);
    rt_fiber_free(vm);
    rt_ffi_free(vm);
    gc_roots_free(&vm->main.roots);
    /* The runtime records first: their counts are the image's. */
    for (uint32_t i = 0; vm->funcs && i < vm->img.nfuncs; i++)
        vm_live_free(&vm->funcs[i].live);
    free(vm->funcs);
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
    free(vm->ginit);
    free(vm->natives);
    free(vm->in_buf);
    vm_ctx_free(&vm->main);
    vm_embed_free(vm);
    rt_sys_free_dirs(vm->cfg.read_dirs);
    rt_sys_free_dirs(vm->cfg.write_dirs);
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
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->error, sizeof vm->error, fmt, ap);
    va_end(ap);
    return st;
}

/* Type text as the compiler resolved it (comp_native_type): the type it
 * names in the image, exactly that one. `oom` says memory ran out. */
struct text_fit {
    const vm_image *im;
    bool oom;
};
static bool image_text_fits(const void *ctx, const char *text, uint32_t t)
{
    struct text_fit *f = (struct text_fit *)ctx;
    uint32_t a, b;
    int64_t named = vm_type_named(f->im, text, &a, &b);
    f->oom |= named == -4;
    if (named == (int64_t)t)
        return true;
    /* Two classes of the name, the program's and the prelude's ("File"): a
     * library native's is the prelude's. */
    const vm_class *c = vm_class_of(f->im, t);
    return named == -2 && (t == a || t == b) && c && c->module == VM_PRELUDE_MODULE;
}

static int image_elem_of(const void *ctx, uint32_t t)
{
    return vm_elem_of(((const struct text_fit *)ctx)->im, t);
}

/* The embedder's native of signature `sig`, or NULL (the library's). */
static struct vm_host *host_of(kiln_vm *vm, const vm_natsig *sig)
{
    for (uint32_t i = 0; i < vm->nhosts; i++)
        if (&vm->hosts[i].n.sig == sig)
            return &vm->hosts[i];
    return NULL;
}

/* The natives a program links against: the embedder's, then the standard
 * library's (for the compiler and the linker alike). */
static const vm_natsig *native_at(const void *ctx, size_t i)
{
    const kiln_vm *vm = ctx;
    uint32_t nhosts = vm ? vm->nhosts : 0;
    return i < nhosts ? &vm->hosts[i].n.sig : &std_native(i - nhosts)->sig;
}

static const vm_native *native_impl(const vm_natsig *sig)
{
    /* sig is the first member of its vm_native */
    return (const vm_native *)((const char *)sig - offsetof(vm_native, sig));
}

static vm_natlist natives_of(const kiln_vm *vm)
{
    return (vm_natlist){native_at, (vm ? vm->nhosts : 0) + std_natives_count(), vm};
}

/* The runtime record of each function: its entry is the interpreter's. */
static bool link_funcs(kiln_vm *vm)
{
    const vm_image *im = &vm->img;
    vm->funcs = calloc(im->nfuncs ? im->nfuncs : 1, sizeof(vm_rtfunc));
    if (!vm->funcs)
        return false;
    for (uint32_t i = 0; i < im->nfuncs; i++) {
        const vm_func *d = &im->funcs[i];
        vm->funcs[i] = (vm_rtfunc){.code = d->code,
                                   .nregs = d->nregs,
                                   .nparams = d->nparams,
                                   .ncaps = d->ncaps,
                                   .index = i,
                                   .def = d,
                                   .entry = interp_call,
                                   .calls = vm->jit ? JIT_HOT_CALLS : INT32_MAX,
                                   .result = d->ret != VM_T_VOID};
    }
    return vm_gc_link(vm);
}

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
        c->vtable = calloc(d->nslots ? d->nslots : 1, sizeof(vm_rtfunc *));
        c->refs = calloc(d->nfields ? d->nfields : 1, sizeof(uint16_t));
        if (!c->vtable || !c->refs)
            return false;
        for (uint32_t j = 0; j < d->nslots; j++)
            c->vtable[j] = &vm->funcs[d->slots[j]];
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
    vm->ginit = calloc(im->nglobals ? im->nglobals : 1, 1);
    vm->natives = calloc(im->nnatives ? im->nnatives : 1, sizeof(vm_native *));
    if (!vm->kvals || !vm->globals || !vm->ginit || !vm->natives || !link_funcs(vm) ||
        !link_classes(vm))
        return fail(vm, KILN_ERR_LOAD, "out of memory loading the program");
    for (uint32_t i = 0; i < im->nconsts; i++) {
        const vm_const *k = &im->consts[i];
        if (k->type == VM_T_STR) {
            vm->kvals[i].s =
                vm_str_new(vm, vm_image_str(im, (uint32_t)k->bits), im->str_len[k->bits]);
            if (!vm->kvals[i].s)
                return fail(vm, KILN_ERR_LOAD, "out of memory loading the program");
        } else {
            vm->kvals[i].u = k->bits;
        }
    }
    if (!rt_ffi_link(vm))
        return fail(vm, KILN_ERR_LOAD, "out of memory loading the program");
    for (uint32_t i = 0; i < im->nnatives; i++) {
        const vm_nativeref *n = &im->natives[i];
        if (n->ext >= 0)
            continue; /* an extern function: rt_ffi_link's */
        vm_natlist all = natives_of(vm);
        struct text_fit fit = {im, false};
        const vm_natsig *nat = vm_natsig_find(&all, vm_image_str(im, n->name), n->params,
                                              n->nparams, image_elem_of, image_text_fits, &fit);
        bool fits =
            nat && (nat->ret == 'T' ? image_text_fits(&fit, nat->types[n->nparams], n->ret)
                                    : vm_letter_fits(nat->ret, n->ret, vm_elem_of(im, n->ret)));
        if (!fits && fit.oom)
            return fail(vm, KILN_ERR_LOAD, "out of memory loading the program");
        if (!fits)
            return fail(vm, KILN_ERR_LOAD,
                        "invalid image: unknown native %s with this signature at native %u",
                        vm_image_str(im, n->name), i);
        struct vm_host *h = host_of(vm, nat);
        if (h && h->typed) { /* its handles take the image's types: one set of them */
            uint16_t ts[KILN_MAX_PARAMS + 1];
            memcpy(ts, n->params, n->nparams * sizeof ts[0]);
            ts[n->nparams] = n->ret;
            if (h->linked && memcmp(h->itypes, ts, (n->nparams + 1u) * sizeof ts[0]))
                return fail(vm, KILN_ERR_LOAD,
                            "invalid image: native %s is used with two sets of types (types of "
                            "two modules with one name?) at native %u",
                            vm_image_str(im, n->name), i);
            memcpy(h->itypes, ts, (n->nparams + 1u) * sizeof ts[0]);
            h->linked = true;
        }
        vm->natives[i] = native_impl(nat);
    }
    if (!rt_error_link(vm))
        return fail(vm, KILN_ERR_LOAD, "out of memory loading the program");
    if (!vm_htypes_link(vm))
        return KILN_ERR_LOAD;
    if (vm->cfg.jit == VM_JIT_ALWAYS)
        jit_compile_all(vm);
    vm->loaded = true;
    return KILN_OK;
}

kiln_status kiln_load_image(kiln_vm *vm, const void *bytes, size_t len)
{
    if (!vm)
        return KILN_ERR_API;
    if (vm->loaded || vm->image_read)
        return fail(vm, KILN_ERR_API, "kiln_load: this VM already has a program");
    if (vm->loading)
        return fail(vm, KILN_ERR_API,
                    "kiln_load: not from the module loader (a load is under way)");
    if (!bytes && len)
        return fail(vm, KILN_ERR_API, "kiln_load_image: NULL bytes");
    vm->error[0] = 0;
    bool sum = !vm->cfg.no_checksum;
    if (!vm_image_read(bytes, len, sum, &vm->img, vm->error, sizeof vm->error) ||
        !vm_verify(&vm->img, vm->error, sizeof vm->error)) {
        vm_image_free(&vm->img);
        return KILN_ERR_LOAD;
    }
    vm->image_read = true; /* a failed link leaves it half made: no second load */
    return link(vm);
}

/* The bytes of open file fp, closed after (malloc'd, *len set), or NULL
 * with the reason in *why and errno set (ENOMEM: out of memory). */
static char *read_stream(FILE *fp, size_t *len, char *why, size_t whylen)
{
    vm_buf data = {0};
    char chunk[65536];
    size_t n;
    enum { MAX_FILE = 256 << 20 }; /* a program or image larger is no program (/dev/zero) */
    while (!data.oom && data.len + sizeof chunk < MAX_FILE &&
           (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        vm_buf_put(&data, chunk, n);
    bool more = data.len + sizeof chunk >= MAX_FILE && fgetc(fp) != EOF;
    int read_errno = ferror(fp) ? errno : 0;
    bool oom = data.oom;
    fclose(fp);
    if (!read_errno && !oom && more) {
        vm_buf_free(&data);
        snprintf(why, whylen, "cannot read: larger than 256 MiB");
        errno = EFBIG;
        return NULL;
    }
    if (read_errno || oom) {
        vm_buf_free(&data);
        snprintf(why, whylen, "cannot read: %s",
                 oom ? "out of memory" : strerror(read_errno)); /* "Is a directory" */
        errno = oom ? ENOMEM : read_errno;
        return NULL;
    }
    if (!data.data) /* an empty file */
        data.data = calloc(1, 1);
    *len = data.len;
    if (!data.data) {
        snprintf(why, whylen, "cannot read: out of memory");
        errno = ENOMEM;
    }
    return data.data;
}

/* The bytes of file `path`, as read_stream. */
static char *read_file(const char *path, size_t *len, char *why, size_t whylen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(why, whylen, "cannot open: %s", strerror(errno));
        return NULL;
    }
    return read_stream(fp, len, why, whylen);
}

typedef kiln_status (*loader_fn)(void *userdata, const char *name, kiln_module *out);

static char *dup_str(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* Module `name` from the embedder's loader: 1, 0 (not its) or -1, as
 * comp_env.load. */
static int load_hooked(kiln_vm *vm, const char *name, comp_source *out)
{
    kiln_module m = {0};
    kiln_status st = ((loader_fn)vm->cfg.load_module)(vm->cfg.loader_userdata, name, &m);
    int found = st != KILN_OK ? -1 : m.src ? 1 : 0;
    if (found < 0)
        snprintf(out->why, sizeof out->why, "%s",
                 m.error && *m.error ? m.error : "the module loader failed");
    if (found > 0) {
        out->src = dup_str(m.src, m.len);
        out->len = m.len;
        out->file = m.file ? dup_str(m.file, strlen(m.file)) : NULL;
        if (!out->file) {
            size_t n = strlen(name);
            if ((out->file = malloc(n + 4)))
                snprintf(out->file, n + 4, "%s.kn", name);
        }
        if (!out->src || !out->file) {
            free(out->src);
            free(out->file);
            *out = (comp_source){0};
            snprintf(out->why, sizeof out->why, "out of memory");
            found = -1;
        }
    }
    if (m.release)
        m.release(vm->cfg.loader_userdata, &m);
    return found;
}

/* The compiler's loader for imported modules: the embedder's loader
 * first, then name.kn beside the importing file, read through the
 * permission check unless it is in the folder of the file kiln_load_file
 * was given (vm->trusted_dir). */
static int load_module(void *ctx, const char *name, uint32_t len, const char *importer,
                       comp_source *out)
{
    kiln_vm *vm = ctx;
    char mod[256];
    if (len >= sizeof mod) {
        snprintf(out->why, sizeof out->why, "the name is too long");
        return -1;
    }
    memcpy(mod, name, len);
    mod[len] = 0;
    if (vm->cfg.load_module) {
        int found = load_hooked(vm, mod, out);
        if (found)
            return found;
    }
    const char *slash = strrchr(importer, '/');
    size_t d = slash ? (size_t)(slash - importer + 1) : 0;
    out->file = malloc(d + len + 4);
    if (!out->file) {
        snprintf(out->why, sizeof out->why, "out of memory");
        return -1;
    }
    memcpy(out->file, importer, d);
    snprintf(out->file + d, len + 4, "%s.kn", mod);
    struct stat st;
    if (stat(out->file, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0; /* no such file: a standard module? */
        snprintf(out->why, sizeof out->why, "%s: %s", out->file, strerror(errno));
        return -1;
    }
    bool trusted =
        vm->trusted_dir && vm->trusted_len == d && !strncmp(vm->trusted_dir, importer, d);
    char why[128];
    if (trusted) {
        out->src = read_file(out->file, &out->len, why, sizeof why);
    } else { /* checked on what is opened (rt_sys_fopen) */
        bool denied;
        FILE *fp = rt_sys_fopen(vm, VM_ALLOW_READ, "import", out->file, false, out->why,
                                sizeof out->why, &denied);
        if (!fp)
            return -1;
        out->src = read_stream(fp, &out->len, why, sizeof why);
    }
    if (!out->src) {
        snprintf(out->why, sizeof out->why, "%s: %s", out->file, why);
        return -1;
    }
    return 1;
}

/* The compiler's test for `import name` without a file: a standard
 * module, or a module of the embedder's natives ("name.f"). */
static bool module_exists(const void *ctx, const char *name, uint32_t len)
{
    const kiln_vm *vm = ctx;
    for (uint32_t i = 0; vm && i < vm->nhosts; i++)
        if (!strncmp(vm->hosts[i].n.sig.name, name, len) && vm->hosts[i].n.sig.name[len] == '.')
            return true;
    return std_module_exists(name, len);
}

comp_env vm_compile_env(const kiln_vm *vm)
{
    return (comp_env){.load = vm ? load_module : NULL,
                      .load_ctx = (void *)vm,
                      .natives = natives_of(vm),
                      .prelude = vm && vm->host_prelude ? vm->host_prelude : std_prelude,
                      .module_exists = module_exists,
                      .module_ctx = vm,
                      .module_const = std_module_const};
}

kiln_status kiln_load_source(kiln_vm *vm, const char *name, const char *src, size_t len)
{
    if (!vm)
        return KILN_ERR_API;
    if (!src && len)
        return fail(vm, KILN_ERR_API, "kiln_load_source: NULL source");
    if (vm->loaded)
        return fail(vm, KILN_ERR_API, "kiln_load: this VM already has a program");
    if (vm->loading)
        return fail(vm, KILN_ERR_API,
                    "kiln_load: not from the module loader (a load is under way)");
    vm_buf image = {0}, diags = {0};
    comp_env env = vm_compile_env(vm);
    vm->loading = true; /* the hook may call back: what the compiler holds stays */
    bool ok = comp_compile(name ? name : "<source>", src ? src : "", len, &env, &image, &diags);
    vm->loading = false;
    kiln_status st;
    if (!ok) {
        snprintf(vm->error, sizeof vm->error, "%s",
                 diags.oom    ? "out of memory compiling"
                 : diags.data ? diags.data
                              : "");
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
    if (vm->loading)
        return fail(vm, KILN_ERR_API,
                    "kiln_load: not from the module loader (a load is under way)");
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
        const char *slash = strrchr(path, '/');
        vm->trusted_dir = path; /* the host chose this folder's modules */
        vm->trusted_len = slash ? (size_t)(slash - path + 1) : 0;
        st = kiln_load_source(vm, path, data.data ? data.data : "", data.len);
        vm->trusted_dir = NULL;
    }
    vm_buf_free(&data);
    return st;
}

void kiln_interrupt(kiln_vm *vm)
{
    if (vm)
        atomic_store(&vm->interrupt, true);
}

kiln_status kiln_set_limits(kiln_vm *vm, uint64_t fuel, double seconds)
{
    if (!vm)
        return KILN_ERR_API;
    if (!(seconds >= 0 && seconds < 1e9))
        return fail(vm, KILN_ERR_API, "kiln_set_limits: %g seconds is not a time limit", seconds);
    if (vm->running) /* from a native: the run in progress keeps its limits */
        return fail(vm, KILN_ERR_API, "kiln_set_limits: not while the guest runs");
    vm->cfg.fuel = fuel;
    vm->cfg.timeout = seconds;
    return KILN_OK;
}

uint64_t kiln_fuel_used(const kiln_vm *vm)
{
    if (!vm)
        return 0;
    return vm->ticks_used + (uint64_t)(vm->ctx->tick_len - vm->ctx->tick);
}

size_t kiln_heap_used(const kiln_vm *vm)
{
    return vm ? gc_in_use(&vm->heap) : 0;
}

kiln_status kiln_collect(kiln_vm *vm)
{
    if (!vm)
        return KILN_ERR_API;
    if (vm->finalizing)
        return fail(vm, KILN_ERR_API, "kiln_collect: not from a finalizer");
    gc_collect(&vm->heap);
    return KILN_OK;
}

int vm_run_function(kiln_vm *vm, uint32_t fi, const vm_value *args, vm_value *result)
{
    const vm_rtfunc *f = &vm->funcs[fi];
    return f->entry(vm, f, args, result);
}

/* The context's stack, made on first use: loading needs none. */
bool vm_ctx_ready(kiln_vm *vm)
{
    if (vm->ctx->stack || vm_ctx_init(vm->ctx))
        return true;
    fail(vm, KILN_ERR_RUNTIME, "error: OutOfMemoryError: no memory for the stack");
    return false;
}

static kiln_status run_function(kiln_vm *vm, uint32_t fi)
{
    if (!vm_ctx_ready(vm))
        return KILN_ERR_RUNTIME;
    vm_value result;
    vm->ctx->err_kind = RT_ERR_NONE;
    int rc = vm_run_function(vm, fi, NULL, &result);
    if (rc == -2)
        vm->exited = true;
    if (rc == -1)
        return vm_failure_status(vm);
    return KILN_OK;
}

int vm_fibers_end(kiln_vm *vm, int rc, vm_value *keep)
{
    if (!vm->sched)
        return rc;
    /* The result is held while the fibers unwind (which may collect). */
    bool held = keep && keep->p && vm_root_push(vm, keep->p);
    vm_ctx *X = &vm->main;
    int kind = X->err_kind;
    char msg[sizeof X->err_msg];
    memcpy(msg, X->err_msg, sizeof msg);
    vm_inst *pending = X->pending;
    struct rt_fiber *failed = rt_fiber_end(vm);
    X->err_kind = kind; /* the run's own outcome stands */
    memcpy(X->err_msg, msg, sizeof msg);
    X->pending = pending;
    if (held)
        vm_root_pop(vm, 1);
    if (failed && rc == 0) {
        rt_fiber_report(vm, failed);
        return -1;
    }
    return rc;
}

kiln_status vm_failure_status(const kiln_vm *vm)
{
    /* An OutOfMemoryError the VM raised (the preallocated one, or the last
     * it made with its reason) past the heap limit, uncaught: the limit
     * stopped the guest. */
    const vm_ctx *X = vm->ctx;
    if (X->err_kind == RT_LIMIT || (vm->cfg.heap_limit && X->pending &&
                                    (X->pending == vm->oom_error || X->pending == vm->last_oom)))
        return KILN_ERR_LIMIT;
    return KILN_ERR_RUNTIME;
}

/* The globals as link left them: zero values (null, 0, false), no
 * declaration run. */
static void reset_globals(kiln_vm *vm)
{
    size_t n = vm->img.nglobals ? vm->img.nglobals : 1;
    memset(vm->globals, 0, n * sizeof *vm->globals);
    memset(vm->ginit, 0, n);
}

kiln_status kiln_reset(kiln_vm *vm)
{
    if (!vm)
        return KILN_ERR_API;
    if (!vm->loaded)
        return fail(vm, KILN_ERR_API, "kiln_reset: no program loaded");
    if (vm->finalizing)
        return fail(vm, KILN_ERR_API, "kiln_reset: not from a finalizer");
    if (vm->running || vm->in_loop)
        return fail(vm, KILN_ERR_API, "kiln_reset: not while the guest runs");
    reset_globals(vm);
    vm_handles_release_all(vm);
    vm->rng_seeded = false;
    vm->exited = false;
    vm->exit_code = 0;
    vm->ctx->pending = NULL;
    vm->last_oom = NULL;
    vm->in_pos = vm->in_len = 0;
    vm->in_end = false;
    vm->error[0] = 0;
    vm->errinfo.set = false;
    gc_collect(&vm->heap);
    return KILN_OK;
}

kiln_status kiln_run(kiln_vm *vm)
{
    if (!vm)
        return KILN_ERR_API;
    if (!vm->loaded)
        return fail(vm, KILN_ERR_API, "kiln_run: no program loaded");
    if (vm->finalizing)
        return fail(vm, KILN_ERR_API, "kiln_run: not from a finalizer");
    if (vm->running || vm->in_loop)
        return fail(vm, KILN_ERR_API,
                    "kiln_run: the VM is already running (called from "
                    "inside its own output hook?)");
    vm->error[0] = 0;
    vm->errinfo.set = false;
    vm->running = true;
    const vm_image *im = &vm->img;
    vm->exited = false;
    vm->exit_code = 0;
    atomic_store_explicit(&vm->interrupt, false,
                          memory_order_relaxed); /* one sent before is void */
    vm_limits_reset(vm);
    vm->ctx->pending = NULL;
    reset_globals(vm); /* the declarations run again, from the zero values */
    kiln_status st = run_function(vm, im->modules[im->entry].init);
    if (st == KILN_OK && !vm->exited && im->main >= 0)
        st = run_function(vm, (uint32_t)im->main);
    if (vm_fibers_end(vm, st == KILN_OK ? 0 : -1, NULL) && st == KILN_OK)
        st = KILN_ERR_RUNTIME; /* a fiber's error that no join took */
    vm->running = false;
    vm->errinfo.set &= st != KILN_OK; /* one a native's kiln_call met, and the guest caught */
    return st;
}

int kiln_exit_code(const kiln_vm *vm)
{
    return vm ? vm->exit_code : 0;
}

kiln_status kiln_set_args(kiln_vm *vm, int argc, char **argv)
{
    if (!vm)
        return KILN_ERR_API;
    if (argc < 0 || (argc && !argv))
        return vm_api_fail(vm, "kiln_set_args: argc %d with argv %s", argc, argv ? "set" : "NULL");
    vm->argc = argc;
    vm->argv = argv;
    return KILN_OK;
}

kiln_status kiln_image(kiln_vm *vm, const void **bytes, size_t *len)
{
    if (!vm)
        return KILN_ERR_API;
    if (!bytes || !len)
        return vm_api_fail(vm, "kiln_image: NULL bytes or len");
    if (!vm->loaded)
        return fail(vm, KILN_ERR_API, "kiln_image: no program loaded");
    /* Made when asked for (most VMs never are): the image read gives the
     * same bytes back (tests/unit/test_image.c). */
    if (!vm->image_bytes.len &&
        (!vm_image_write(&vm->img, &vm->image_bytes) || vm->image_bytes.oom)) {
        vm_buf_free(&vm->image_bytes);
        return fail(vm, KILN_ERR_API, "kiln_image: out of memory");
    }
    *bytes = vm->image_bytes.data;
    *len = vm->image_bytes.len;
    return KILN_OK;
}

kiln_status kiln_disassemble(kiln_vm *vm, const char **text)
{
    if (!vm)
        return KILN_ERR_API;
    if (!text)
        return vm_api_fail(vm, "kiln_disassemble: NULL text");
    if (!vm->loaded)
        return fail(vm, KILN_ERR_API, "kiln_disassemble: no program loaded");
    if (!vm->listing.len)
        vm_disasm(&vm->img, &vm->listing);
    if (vm->listing.oom)
        return fail(vm, KILN_ERR_API, "kiln_disassemble: out of memory");
    *text = vm->listing.data ? vm->listing.data : "";
    return KILN_OK;
}

int kiln_jit_available(void)
{
    return jit_available();
}

kiln_status kiln_disassemble_jit(kiln_vm *vm, const char **text)
{
    if (!vm)
        return KILN_ERR_API;
    if (!text)
        return vm_api_fail(vm, "kiln_disassemble_jit: NULL text");
    if (!vm->loaded)
        return fail(vm, KILN_ERR_API, "kiln_disassemble_jit: no program loaded");
    if (!vm->jit)
        return fail(vm, KILN_ERR_API, "kiln_disassemble_jit: the JIT is off or not available");
    jit_compile_all(vm);
    vm_buf_free(&vm->listing);
    if (!jit_disassemble(vm, &vm->listing))
        return fail(vm, KILN_ERR_API,
                    "kiln_disassemble_jit: cannot load capstone (libcapstone.so)");
    if (vm->listing.oom)
        return fail(vm, KILN_ERR_API, "kiln_disassemble_jit: out of memory");
    *text = vm->listing.data ? vm->listing.data : "";
    return KILN_OK;
}

kiln_status kiln_jit_stats(kiln_vm *vm, kiln_jitstats *out)
{
    if (!vm)
        return KILN_ERR_API;
    if (!out)
        return vm_api_fail(vm, "kiln_jit_stats: NULL out");
    jit_stats st;
    jit_get_stats(vm, &st);
    *out = (kiln_jitstats){.available = jit_available(),
                           .enabled = vm->jit != NULL,
                           .functions = st.functions,
                           .instructions = st.instructions,
                           .code_bytes = st.bytes,
                           .compile_ns = st.ns,
                           .osr_entries = st.osr_entries,
                           .failed = st.failed,
                           .inlined = st.inlined};
    return KILN_OK;
}
