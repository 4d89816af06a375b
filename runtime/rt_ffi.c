/*
 * rt_ffi.c — extern functions: calls from the guest into C libraries
 * through libffi, and C's calls back into the guest.
 *
 * Each extern function of the image (vm_extern) becomes a native of the
 * VM whose bridge is ffi_call_extern, so the interpreter and compiled
 * code call it like any other native (CALLN). Nothing is loaded at link:
 * the first call asks the permission layer (rt_sys_check_ffi) for the
 * library and for the symbol, opens the library (once per VM), looks the
 * symbol up and prepares its ffi_cif, which every later call reuses.
 *
 * A call converts each argument to its C type, checking what C's type
 * cannot hold (an int out of the type's range, a NUL inside a cstr, null
 * where C needs a struct or a function), and the result back. Strings go
 * to C as NUL-terminated copies; a Buffer as its own bytes (the collector
 * never moves an object, and the caller's register keeps it alive); a
 * struct as a C struct filled from the instance's fields (and, passed by
 * pointer, copied back after the call). A Kiln function value passed as
 * a C function pointer becomes a libffi closure for the duration of the
 * call: C may call it any number of times until the call returns, never
 * after.
 *
 * A callback cannot unwind through C frames, so when one raises (or the
 * guest's limits stop it, or it calls os.exit), that is recorded, the
 * callback returns zero to C, every later call of a callback in the same
 * C call returns zero without running, and the error is raised when the
 * C function returns: at the extern call, as if the call had thrown it.
 */
#define _GNU_SOURCE /* dladdr, dlinfo */
#include <dlfcn.h>
#include <ffi.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

/* A library of the program, opened on first use. */
typedef struct rt_lib {
    uint32_t name; /* string index */
    void *handle;
} rt_lib;

/* An extern function as the VM calls it: vm->natives[] points at `nat`. */
typedef struct rt_ext {
    vm_native nat; /* first: the native is the record */
    const vm_extern *e;
    const vm_csig *g;
    uint32_t lib;     /* index in rt_ffi.libs */
    void (*fn)(void); /* the symbol, NULL until the first call resolves it */
    ffi_cif cif;
    ffi_type *atypes[KILN_MAX_PARAMS];
} rt_ext;

/* A callback signature (vm_csig) as libffi calls closures of it. */
typedef struct rt_cbsig {
    bool ready;
    ffi_cif cif;
    ffi_type *atypes[KILN_MAX_PARAMS];
} rt_cbsig;

/* A C struct's libffi type and the offset of each field. */
typedef struct rt_struct {
    ffi_type type;
    ffi_type *elems[VM_MAX_CFIELDS + 1];
    size_t offsets[VM_MAX_CFIELDS];
} rt_struct;

struct rt_ffi {
    rt_lib *libs;
    uint32_t nlibs;
    rt_ext *exts;           /* one per vm_extern */
    rt_struct *structs;     /* one per vm_cstruct */
    rt_cbsig *cbs;          /* one per vm_csig, prepared when first used as a callback */
    struct cbstate *active; /* the extern calls in progress, innermost first */
};

static int call_extern(kiln_vm *vm, const vm_native *n, vm_value *args, vm_value *result);

/* ---- C types on this host ---- */

static ffi_type *scalar_type(uint32_t k)
{
    switch (k) {
    case VM_C_VOID: return &ffi_type_void;
    case VM_C_CHAR: return CHAR_MIN < 0 ? &ffi_type_schar : &ffi_type_uchar;
    case VM_C_SHORT: return &ffi_type_sshort;
    case VM_C_INT: return &ffi_type_sint;
    case VM_C_LONG: return &ffi_type_slong;
    case VM_C_LONGLONG: return &ffi_type_sint64; /* long long is 64 bits on every ABI libffi has */
    case VM_C_UCHAR: return &ffi_type_uchar;
    case VM_C_USHORT: return &ffi_type_ushort;
    case VM_C_UINT: return &ffi_type_uint;
    case VM_C_ULONG: return &ffi_type_ulong;
    case VM_C_ULONGLONG: return &ffi_type_uint64;
    case VM_C_I8: return &ffi_type_sint8;
    case VM_C_I16: return &ffi_type_sint16;
    case VM_C_I32: return &ffi_type_sint32;
    case VM_C_I64: return &ffi_type_sint64;
    case VM_C_U8: return &ffi_type_uint8;
    case VM_C_U16: return &ffi_type_uint16;
    case VM_C_U32: return &ffi_type_uint32;
    case VM_C_U64: return &ffi_type_uint64;
    case VM_C_SIZE: return sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;
    case VM_C_FLOAT: return &ffi_type_float;
    case VM_C_DOUBLE: return &ffi_type_double;
    case VM_C_BOOL: return sizeof(_Bool) == 1 ? &ffi_type_uint8 : &ffi_type_uint32;
    default: return &ffi_type_pointer; /* cstr, ptr, a struct's address, a callback */
    }
}

static ffi_type *ctype_of(const struct rt_ffi *F, uint32_t c)
{
    return VM_CKIND(c) == VM_C_STRUCT ? &F->structs[VM_CIDX(c)].type : scalar_type(VM_CKIND(c));
}

static bool is_signed(const ffi_type *t)
{
    return t->type == FFI_TYPE_SINT8 || t->type == FFI_TYPE_SINT16 || t->type == FFI_TYPE_SINT32 ||
           t->type == FFI_TYPE_SINT64 || t->type == FFI_TYPE_INT;
}

/* ---- Linking ---- */

bool rt_ffi_link(kiln_vm *vm)
{
    const vm_image *im = &vm->img;
    if (!im->nexterns)
        return true;
    struct rt_ffi *F = calloc(1, sizeof *F);
    if (!F)
        return false;
    vm->ffi = F;
    F->libs = calloc(im->nexterns, sizeof *F->libs);
    F->exts = calloc(im->nexterns, sizeof *F->exts);
    F->structs = calloc(im->ncstructs ? im->ncstructs : 1, sizeof *F->structs);
    F->cbs = calloc(im->ncsigs, sizeof *F->cbs);
    if (!F->libs || !F->exts || !F->structs || !F->cbs)
        return false;
    for (uint32_t i = 0; i < im->ncstructs; i++) {
        const vm_cstruct *s = &im->cstructs[i];
        rt_struct *r = &F->structs[i];
        for (uint32_t j = 0; j < s->nfields; j++)
            r->elems[j] = scalar_type(VM_CKIND(s->ctypes[j]));
        r->elems[s->nfields] = NULL;
        r->type.type = FFI_TYPE_STRUCT;
        r->type.elements = r->elems;
        if (ffi_get_struct_offsets(FFI_DEFAULT_ABI, &r->type, r->offsets) != FFI_OK)
            return false;
    }
    for (uint32_t i = 0; i < im->nexterns; i++) {
        const vm_extern *e = &im->externs[i];
        rt_ext *x = &F->exts[i];
        x->e = e;
        x->g = &im->csigs[e->sig];
        x->nat.sig.name = vm_image_str(im, im->natives[e->native].name);
        x->nat.sig.params = "";
        x->nat.bridge = call_extern;
        uint32_t l = 0;
        while (l < F->nlibs && strcmp(vm_image_str(im, F->libs[l].name), vm_image_str(im, e->lib)))
            l++;
        if (l == F->nlibs)
            F->libs[F->nlibs++].name = e->lib;
        x->lib = l;
        vm->natives[e->native] = &x->nat;
    }
    return true;
}

void rt_ffi_free(kiln_vm *vm)
{
    struct rt_ffi *F = vm->ffi;
    if (!F)
        return;
    for (uint32_t i = 0; F->libs && i < F->nlibs; i++)
        if (F->libs[i].handle)
            dlclose(F->libs[i].handle);
    free(F->libs);
    free(F->exts);
    free(F->structs);
    free(F->cbs);
    free(F);
    vm->ffi = NULL;
}

/* Does the shared object of `lm` itself define `sym`, as its dynamic
 * symbol table says (found through its GNU or SysV hash table)? dlsym
 * cannot say: it also searches the object's dependencies, and its result
 * may lie elsewhere (an IFUNC resolved into the vDSO). */
static bool defines(const struct link_map *lm, const char *sym)
{
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const uint32_t *gnu = NULL, *sysv = NULL;
    for (const ElfW(Dyn) *d = lm->l_ld; d && d->d_tag != DT_NULL; d++) {
        uintptr_t a = d->d_un.d_ptr;
        if (a < lm->l_addr) /* not relocated by the loader (some ABIs): an offset */
            a += lm->l_addr;
        switch (d->d_tag) {
        case DT_SYMTAB: symtab = (const ElfW(Sym) *)a; break;
        case DT_STRTAB: strtab = (const char *)a; break;
        case DT_GNU_HASH: gnu = (const uint32_t *)a; break;
        case DT_HASH: sysv = (const uint32_t *)a; break;
        default: break;
        }
    }
    if (!symtab || !strtab)
        return false;
    const ElfW(Sym) *found = NULL;
    if (gnu) {
        uint32_t nbuckets = gnu[0], base = gnu[1], nbloom = gnu[2];
        const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(gnu + 4) + nbloom);
        const uint32_t *chain = buckets + nbuckets;
        uint32_t h = 5381;
        for (const unsigned char *c = (const unsigned char *)sym; *c; c++)
            h = h * 33 + *c;
        uint32_t i = nbuckets ? buckets[h % nbuckets] : 0;
        for (; i >= base && i; i++) {
            uint32_t ch = chain[i - base];
            if ((ch | 1) == (h | 1) && !strcmp(strtab + symtab[i].st_name, sym)) {
                found = &symtab[i];
                break;
            }
            if (ch & 1)
                break;
        }
    } else if (sysv) {
        uint32_t nbuckets = sysv[0], h = 0;
        for (const unsigned char *c = (const unsigned char *)sym; *c; c++) {
            h = (h << 4) + *c;
            uint32_t g = h & 0xf0000000u;
            h ^= g >> 24;
            h &= ~g;
        }
        const uint32_t *chain = sysv + 2 + nbuckets;
        for (uint32_t i = nbuckets ? sysv[2 + h % nbuckets] : 0; i; i = chain[i])
            if (!strcmp(strtab + symtab[i].st_name, sym)) {
                found = &symtab[i];
                break;
            }
    }
    return found && found->st_shndx != SHN_UNDEF;
}

/* The first call: the library (opened once per VM) and the symbol, each
 * through the permission layer, and the prepared call. False after
 * raising. */
static bool resolve(kiln_vm *vm, rt_ext *x)
{
    struct rt_ffi *F = vm->ffi;
    const vm_image *im = &vm->img;
    rt_lib *L = &F->libs[x->lib];
    const char *lib = vm_image_str(im, L->name), *sym = x->nat.sig.name;
    if (!L->handle) {
        if (!rt_sys_check_ffi(vm, "ffi.load", lib, NULL))
            return false;
        dlerror();
        L->handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (!L->handle) {
            const char *why = dlerror();
            rt_raise(vm, RT_ERR_IO, "cannot load library %.200s%s: %.250s", lib,
                     strlen(lib) > 200 ? "..." : "", why ? why : "unknown error");
            return false;
        }
    }
    if (!rt_sys_check_ffi(vm, "ffi.symbol", lib, sym))
        return false;
    dlerror();
    void *p = dlsym(L->handle, sym);
    const char *why = dlerror();
    if (!p) {
        rt_raise(vm, RT_ERR_IO, "library %.200s has no function %.100s: %.200s", lib, sym,
                 why ? why : "the symbol is NULL");
        return false;
    }
    /* dlsym also finds what the library's dependencies define (libc's
     * system through libm): only the named library's own functions are
     * granted with it. */
    struct link_map *own = NULL;
    if (dlinfo(L->handle, RTLD_DI_LINKMAP, &own) != 0 || !own || !defines(own, sym)) {
        Dl_info info;
        rt_raise(vm, RT_ERR_IO, "library %.200s has no function %.100s (%.200s defines it)", lib,
                 sym, dladdr(p, &info) && info.dli_fname ? info.dli_fname : "another library");
        return false;
    }
    const vm_csig *g = x->g;
    for (uint32_t j = 0; j < g->nparams; j++)
        x->atypes[j] = ctype_of(F, g->params[j]);
    ffi_status st =
        g->nfixed < g->nparams
            ? ffi_prep_cif_var(&x->cif, FFI_DEFAULT_ABI, g->nfixed, g->nparams, ctype_of(F, g->ret),
                               x->atypes)
            : ffi_prep_cif(&x->cif, FFI_DEFAULT_ABI, g->nparams, ctype_of(F, g->ret), x->atypes);
    if (st != FFI_OK) {
        rt_raise(vm, RT_ERR_VALUE, "%.100s: libffi cannot make this call (status %d)", sym,
                 (int)st);
        return false;
    }
    x->fn = (void (*)(void))p; /* POSIX: a function's address as an object pointer */
    return true;
}

/* ---- Values between Kiln and C ---- */

/* Where an argument goes wrong: the function and the parameter, for
 * messages like "crc32: argument 2 (buf: cstr) ...". */
typedef struct where {
    const rt_ext *x;
    uint32_t arg;      /* 0-based */
    const char *field; /* a struct's field, or NULL */
} where;

static void raise_at(kiln_vm *vm, const where *w, int kind, const char *what)
{
    const vm_image *im = &vm->img;
    uint32_t c = w->x->g->params[w->arg];
    const char *pname = w->arg < w->x->g->nparams ? vm_image_str(im, w->x->e->pnames[w->arg]) : "?";
    rt_raise(vm, kind, "%s: argument %u (%s: %s%s)%s%s %s", w->x->nat.sig.name, w->arg + 1, pname,
             VM_CKIND(c) == VM_C_STRUCTP ? "*" : "",
             VM_CKIND(c) == VM_C_STRUCT || VM_CKIND(c) == VM_C_STRUCTP
                 ? vm_image_str(im, im->classes[im->cstructs[VM_CIDX(c)].cls].name)
                 : vm_ctype_name(VM_CKIND(c)),
             w->field ? " field " : "", w->field ? w->field : "", what);
}

/* Int v as C integer type t at p; false (nothing written) when out of range. */
static bool put_int(const ffi_type *t, int64_t v, void *p)
{
    size_t bits = t->size * 8;
    if (is_signed(t)) {
        if (bits < 64 && (v < -((int64_t)1 << (bits - 1)) || v >= ((int64_t)1 << (bits - 1))))
            return false;
    } else if (v < 0 || (bits < 64 && (uint64_t)v >> bits)) {
        return false;
    }
    switch (t->size) {
    case 1: *(uint8_t *)p = (uint8_t)v; break;
    case 2: *(uint16_t *)p = (uint16_t)v; break;
    case 4: *(uint32_t *)p = (uint32_t)v; break;
    default: *(uint64_t *)p = (uint64_t)v; break;
    }
    return true;
}

/* The C integer of type t at p as an int; false when it is an unsigned
 * value past int's range. */
static bool get_int(const ffi_type *t, const void *p, int64_t *v)
{
    bool s = is_signed(t);
    switch (t->size) {
    case 1: *v = s ? *(const int8_t *)p : *(const uint8_t *)p; return true;
    case 2: *v = s ? *(const int16_t *)p : *(const uint16_t *)p; return true;
    case 4: *v = s ? *(const int32_t *)p : (int64_t) * (const uint32_t *)p; return true;
    default: *v = *(const int64_t *)p; return s || *v >= 0;
    }
}

/* A new ptr for C's address p (NULL: the guest's null); false after
 * raising OutOfMemoryError. */
static bool box_ptr(kiln_vm *vm, void *p, vm_value *out)
{
    out->p = NULL;
    if (!p)
        return true;
    vm_ptr *b = (vm_ptr *)vm_alloc(vm, sizeof(vm_ptr), VM_OBJ_PTR, "a ptr");
    if (!b)
        return false;
    b->addr = p;
    out->p = b;
    return true;
}

/* The address a ptr-typed value stands for: a ptr's, a Buffer's bytes. */
static void *unbox_ptr(const vm_value v)
{
    const gc_obj *o = v.p;
    if (!o)
        return NULL;
    return o->kind == VM_OBJ_BYTES ? (void *)((vm_bytes *)v.p)->data : ((const vm_ptr *)v.p)->addr;
}

/* Scalar value v of C kind k (not a struct, cstr or callback) into C
 * memory p of type t; false after raising. */
static bool scalar_in(kiln_vm *vm, const where *w, uint32_t k, const ffi_type *t, vm_value v,
                      void *p)
{
    if (VM_C_ISINT(k)) {
        if (put_int(t, v.i, p))
            return true;
        char what[128];
        size_t bits = t->size * 8;
        int64_t lo = is_signed(t) ? (int64_t)(UINT64_MAX << (bits - 1)) : 0;
        unsigned long long hi = is_signed(t) ? (unsigned long long)INT64_MAX >> (64 - bits)
                                : bits < 64  ? (1ull << bits) - 1
                                             : (unsigned long long)INT64_MAX;
        snprintf(what, sizeof what, "is %lld, out of range (%lld to %llu)", (long long)v.i,
                 (long long)lo, hi);
        raise_at(vm, w, RT_ERR_VALUE, what);
        return false;
    }
    switch (k) {
    case VM_C_FLOAT: *(float *)p = (float)v.f; break;
    case VM_C_DOUBLE: *(double *)p = v.f; break;
    case VM_C_BOOL:
        if (t->size == 1)
            *(uint8_t *)p = v.i != 0;
        else
            *(uint32_t *)p = v.i != 0;
        break;
    default: *(void **)p = unbox_ptr(v); break; /* ptr */
    }
    return true;
}

/* C memory p of scalar kind k, type t, as a Kiln value; false after
 * raising (an unsigned value past int's range, no memory for a ptr). */
static bool scalar_out(kiln_vm *vm, uint32_t k, const ffi_type *t, const void *p, vm_value *out,
                       const char *who, const char *what)
{
    if (VM_C_ISINT(k)) {
        if (get_int(t, p, &out->i))
            return true;
        rt_raise(vm, RT_ERR_VALUE, "%s: %s %llu is out of int's range", who, what,
                 (unsigned long long)*(const uint64_t *)p);
        return false;
    }
    switch (k) {
    case VM_C_FLOAT: out->f = *(const float *)p; return true;
    case VM_C_DOUBLE: out->f = *(const double *)p; return true;
    case VM_C_BOOL:
        out->i = t->size == 1 ? *(const uint8_t *)p != 0 : *(const uint32_t *)p != 0;
        return true;
    case VM_C_CSTR: {
        const char *s = *(const char *const *)p;
        out->s = s ? vm_str_cstr(vm, s) : NULL;
        return !s || out->s;
    }
    default: return box_ptr(vm, *(void *const *)p, out); /* ptr */
    }
}

/* The fields of instance `in` into C struct memory p; false after raising. */
static bool struct_in(kiln_vm *vm, const where *w, uint32_t si, const vm_inst *in, void *p)
{
    const vm_cstruct *s = &vm->img.cstructs[si];
    const rt_struct *r = &vm->ffi->structs[si];
    where fw = *w;
    for (uint32_t j = 0; j < s->nfields; j++) {
        fw.field = vm_image_str(&vm->img, vm->img.classes[s->cls].field_names[j]);
        if (!scalar_in(vm, &fw, VM_CKIND(s->ctypes[j]), r->elems[j], in->fields[j],
                       (char *)p + r->offsets[j]))
            return false;
    }
    return true;
}

/* C struct memory p into the fields of instance `in` (kept alive by the
 * caller); false after raising. */
static bool struct_out(kiln_vm *vm, uint32_t si, vm_inst *in, const void *p, const char *who,
                       const char *what)
{
    const vm_cstruct *s = &vm->img.cstructs[si];
    const rt_struct *r = &vm->ffi->structs[si];
    for (uint32_t j = 0; j < s->nfields; j++) {
        const char *at = (const char *)p + r->offsets[j];
        /* A ptr field C left as it was keeps its value: a Buffer stays a
         * Buffer, and stays alive. */
        if (VM_CKIND(s->ctypes[j]) == VM_C_PTR && *(void *const *)at == unbox_ptr(in->fields[j]))
            continue;
        vm_value v;
        if (!scalar_out(vm, VM_CKIND(s->ctypes[j]), r->elems[j], at, &v, who, what))
            return false;
        in->fields[j] = v;
        if (VM_CKIND(s->ctypes[j]) == VM_C_PTR)
            gc_barrier(&vm->heap, &in->obj, v.p);
    }
    return true;
}

/* ---- Callbacks ---- */

/* An extern call in progress (rt_ffi.active is the innermost): the first
 * failure of a callback that ran inside it. A callback's error belongs to
 * the innermost C call, whichever call the callback was made for: its
 * frames are the ones between the callback and the guest code the error
 * unwinds to. */
typedef struct cbstate {
    int failed;   /* 0, or the err_kind that stopped a callback (RT_PENDING for
                     a guest error, RT_LIMIT, RT_EXIT, or a kind raised here) */
    vm_inst *exc; /* RT_PENDING: the error object (a GC root: rt_ffi_mark) */
    char msg[sizeof(((vm_ctx *)0)->err_msg)];
    pthread_t thread;     /* the thread of the C call: the only one that may run the guest */
    _Atomic bool foreign; /* a closure made for this call was called on another thread */
    struct cbstate *prev;
} cbstate;

typedef struct rt_cb {
    kiln_vm *vm;
    const char *name; /* the extern function it was passed to */
    vm_closure *fn;
    const vm_csig *g;
    cbstate *home; /* the call it was made for */
} rt_cb;

static void cb_fail(cbstate *st, int kind, const char *msg)
{
    st->failed = kind;
    snprintf(st->msg, sizeof st->msg, "%s", msg);
}

void rt_ffi_mark(kiln_vm *vm)
{
    for (const cbstate *s = vm->ffi ? vm->ffi->active : NULL; s; s = s->prev)
        if (s->exc)
            gc_mark(&vm->heap, &s->exc->obj);
}

/* libffi calls this for every call C makes through a closure. */
static void callback(ffi_cif *cif, void *ret, void **cargs, void *ud)
{
    rt_cb *cb = ud;
    kiln_vm *vm = cb->vm;
    vm_ctx *X = vm->ctx;
    const vm_csig *g = cb->g;
    memset(ret, 0, cif->rtype->size > sizeof(ffi_arg) ? cif->rtype->size : sizeof(ffi_arg));
    /* Another thread may touch nothing of the VM: it only says it came. */
    if (!pthread_equal(pthread_self(), cb->home->thread)) {
        atomic_store(&cb->home->foreign, true);
        return;
    }
    cbstate *st = vm->ffi->active; /* never NULL: closures live only during calls */
    if (st->failed)
        return; /* an earlier callback failed: nothing more runs */
    vm_rtfunc *f = cb->fn->fn;
    vm_value argv[KILN_MAX_PARAMS + KILN_MAX_CAPTURES];
    uint32_t pushed = 0;
    for (uint32_t j = 0; j < g->nparams; j++) {
        uint32_t k = VM_CKIND(g->params[j]);
        if (!scalar_out(vm, k, scalar_type(k), cargs[j], &argv[j], cb->name,
                        "a callback's argument")) {
            vm_root_pop(vm, pushed);
            cb_fail(st, X->err_kind, X->err_msg);
            return;
        }
        if (VM_T_ISREF(vm_ctype_kiln(k))) {
            if (!vm_root_push(vm, argv[j].p)) {
                vm_root_pop(vm, pushed);
                cb_fail(st, X->err_kind, X->err_msg);
                return;
            }
            pushed++;
        }
    }
    for (uint32_t j = 0; j < f->ncaps; j++)
        argv[f->nparams + j] = cb->fn->caps[j];
    vm_value res = {0};
    X->pending = NULL;
    int rc = f->entry(vm, f, argv, &res);
    vm_root_pop(vm, pushed);
    if (rc == -2) {
        cb_fail(st, RT_EXIT, "");
        return;
    }
    if (rc != 0) {
        /* An uncaught guest error is the context's pending one; a limit
         * or an internal error is err_kind and err_msg. */
        if (X->err_kind == RT_LIMIT || X->err_kind == RT_FATAL || !X->pending) {
            cb_fail(st, X->err_kind ? X->err_kind : RT_ERR_ERROR, X->err_msg);
        } else {
            st->exc = X->pending; /* kept alive by the call (rt_ffi_mark) */
            X->pending = NULL;
            st->failed = RT_PENDING;
        }
        return;
    }
    uint32_t k = VM_CKIND(g->ret);
    if (k == VM_C_VOID)
        return;
    ffi_type *t = scalar_type(k);
    if (VM_C_ISINT(k)) {
        /* libffi widens small integer results to ffi_arg */
        union {
            int64_t i;
            uint8_t b[8];
        } v = {0};
        if (!put_int(t, res.i, &v)) {
            char msg[128];
            snprintf(msg, sizeof msg, "%.60s: the callback's result %lld is out of %s's range",
                     cb->name, (long long)res.i, vm_ctype_name(k));
            cb_fail(st, RT_ERR_VALUE, msg);
            return;
        }
        int64_t w;
        get_int(t, &v, &w);
        if (is_signed(t))
            *(ffi_sarg *)ret = (ffi_sarg)w;
        else
            *(ffi_arg *)ret = (ffi_arg)w;
        return;
    }
    if (k == VM_C_BOOL)
        *(ffi_arg *)ret = res.i != 0;
    else if (k == VM_C_FLOAT)
        *(float *)ret = (float)res.f;
    else
        *(double *)ret = res.f;
}

/* The cif of callback signature si, prepared on first use; NULL when
 * libffi refuses it. */
static ffi_cif *callback_cif(kiln_vm *vm, uint32_t si)
{
    rt_cbsig *c = &vm->ffi->cbs[si];
    if (c->ready)
        return &c->cif;
    const vm_csig *g = &vm->img.csigs[si];
    for (uint32_t j = 0; j < g->nparams; j++)
        c->atypes[j] = scalar_type(VM_CKIND(g->params[j]));
    if (ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, g->nparams, scalar_type(VM_CKIND(g->ret)),
                     c->atypes) != FFI_OK)
        return NULL;
    c->ready = true;
    return &c->cif;
}

/* ---- The call ---- */

/* Memory one call needs besides its argument slots: copies of strings,
 * structs, closures. Small needs come from `inline`, the rest from
 * malloc, all released by call_free. */
typedef struct scratch {
    _Alignas(16) char inline_[1024];
    size_t used;
    void *heap[KILN_MAX_PARAMS + 1];
    uint32_t nheap;
    ffi_closure *closures[KILN_MAX_PARAMS];
    rt_cb cbs[KILN_MAX_PARAMS];
    uint32_t nclosures;
} scratch;

static void *scratch_alloc(scratch *s, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n <= sizeof s->inline_ - s->used) {
        void *p = s->inline_ + s->used;
        s->used += n;
        return p;
    }
    void *p = malloc(n ? n : 1);
    if (p)
        s->heap[s->nheap++] = p;
    return p;
}

static void scratch_free(scratch *s)
{
    for (uint32_t i = 0; i < s->nheap; i++)
        free(s->heap[i]);
    for (uint32_t i = 0; i < s->nclosures; i++)
        ffi_closure_free(s->closures[i]);
}

/* Argument i (of C type c, the guest's value v) into avalue; false after
 * raising. */
static bool arg_in(kiln_vm *vm, const rt_ext *x, uint32_t i, vm_value v, scratch *s, cbstate *state,
                   void *slot, void **avalue)
{
    uint32_t c = x->g->params[i], k = VM_CKIND(c);
    where w = {x, i, NULL};
    *avalue = slot;
    switch (k) {
    case VM_C_CSTR: {
        vm_str *str = v.s;
        if (!str) {
            *(void **)slot = NULL;
            return true;
        }
        if (memchr(str->data, 0, str->len)) {
            raise_at(vm, &w, RT_ERR_VALUE, "holds a NUL byte");
            return false;
        }
        char *copy = scratch_alloc(s, (size_t)str->len + 1);
        if (!copy) {
            rt_raise(vm, RT_ERR_OOM, "out of memory copying a string for C");
            return false;
        }
        memcpy(copy, str->data, (size_t)str->len + 1);
        *(void **)slot = copy;
        return true;
    }
    case VM_C_STRUCT:
    case VM_C_STRUCTP: {
        if (!v.p) {
            raise_at(vm, &w, RT_ERR_NULL, "is null");
            return false;
        }
        rt_struct *r = &vm->ffi->structs[VM_CIDX(c)];
        void *mem = scratch_alloc(s, r->type.size);
        if (!mem) {
            rt_raise(vm, RT_ERR_OOM, "out of memory copying a struct for C");
            return false;
        }
        memset(mem, 0, r->type.size); /* padding, for C that compares bytes */
        if (!struct_in(vm, &w, VM_CIDX(c), v.p, mem))
            return false;
        if (k == VM_C_STRUCT)
            *avalue = mem;
        else
            *(void **)slot = mem;
        return true;
    }
    case VM_C_FN: {
        if (!v.p) {
            raise_at(vm, &w, RT_ERR_NULL, "is null");
            return false;
        }
        ffi_cif *cif = callback_cif(vm, VM_CIDX(c));
        void *code = NULL;
        ffi_closure *cl = cif ? ffi_closure_alloc(sizeof(ffi_closure), &code) : NULL;
        if (!cl) {
            raise_at(vm, &w, RT_ERR_OOM, "cannot be made a C function (no closure memory)");
            return false;
        }
        uint32_t n = s->nclosures++;
        s->closures[n] = cl;
        s->cbs[n] = (rt_cb){vm, x->nat.sig.name, v.p, &vm->img.csigs[VM_CIDX(c)], state};
        if (ffi_prep_closure_loc(cl, cif, callback, &s->cbs[n], code) != FFI_OK) {
            raise_at(vm, &w, RT_ERR_ERROR, "cannot be made a C function");
            return false;
        }
        *(void **)slot = code;
        return true;
    }
    default: return scalar_in(vm, &w, k, x->atypes[i], v, slot);
    }
}

/* The bridge of every extern function (vm_native.bridge). */
static int call_extern(kiln_vm *vm, const vm_native *n, vm_value *args, vm_value *result)
{
    rt_ext *x = (rt_ext *)n;
    if (!x->fn && !resolve(vm, x))
        return -1;
    const vm_csig *g = x->g;
    _Alignas(16) uint64_t slots[KILN_MAX_PARAMS][2];
    void *avalues[KILN_MAX_PARAMS];
    scratch s;
    s.used = 0;
    s.nheap = 0;
    s.nclosures = 0;
    cbstate state; /* msg is written only on a failure */
    state.failed = 0;
    state.exc = NULL;
    state.thread = pthread_self();
    atomic_init(&state.foreign, false);
    for (uint32_t i = 0; i < g->nparams; i++)
        if (!arg_in(vm, x, i, args[i], &s, &state, slots[i], &avalues[i])) {
            scratch_free(&s);
            return -1;
        }
    size_t rsize = x->cif.rtype->size > sizeof(ffi_arg) ? x->cif.rtype->size : sizeof(ffi_arg);
    _Alignas(16) char rsmall[64];
    void *rv = rsize <= sizeof rsmall ? rsmall : scratch_alloc(&s, rsize);
    if (!rv) {
        scratch_free(&s);
        rt_raise(vm, RT_ERR_OOM, "out of memory for the result of %s", n->sig.name);
        return -1;
    }
    struct rt_ffi *F = vm->ffi;
    state.prev = F->active;
    F->active = &state;
    ffi_call(&x->cif, x->fn, rv, avalues);
    F->active = state.prev;
    if (atomic_load(&state.foreign) && !state.failed)
        cb_fail(&state, RT_ERR_ERROR, "a callback was called from another thread");
    int st = 0;
    if (state.failed) {
        vm_ctx *X = vm->ctx;
        if (state.failed == RT_PENDING) {
            X->pending = state.exc; /* the callback's error object goes on */
            X->err_kind = RT_PENDING;
        } else if (state.failed == RT_EXIT) {
            X->err_kind = RT_EXIT;
        } else {
            rt_raise(vm, state.failed, "%s", state.msg);
        }
        st = -1;
    }
    /* Structs passed by pointer come back, C's changes included. */
    for (uint32_t i = 0; st == 0 && i < g->nparams; i++)
        if (VM_CKIND(g->params[i]) == VM_C_STRUCTP &&
            !struct_out(vm, VM_CIDX(g->params[i]), args[i].p, *(void **)avalues[i], n->sig.name,
                        "a struct field C wrote,"))
            st = -1;
    uint32_t k = VM_CKIND(g->ret);
    if (st == 0 && k == VM_C_STRUCT) {
        const vm_cstruct *cs = &vm->img.cstructs[VM_CIDX(g->ret)];
        vm_inst *in = vm_inst_new(vm, &vm->classes[cs->cls]);
        if (!in || !vm_root_push(vm, in)) {
            st = -1;
        } else {
            if (struct_out(vm, VM_CIDX(g->ret), in, rv, n->sig.name, "its result"))
                result->p = in;
            else
                st = -1;
            vm_root_pop(vm, 1);
        }
    } else if (st == 0 && k != VM_C_VOID) {
        /* libffi returns integers narrower than ffi_arg widened to it */
        const ffi_type *t = x->cif.rtype;
        ffi_arg a = *(ffi_arg *)rv;
        if (VM_C_ISINT(k) && t->size < sizeof(ffi_arg))
            result->i = is_signed(t) ? (int64_t)(ffi_sarg)a : (int64_t)a;
        else if (k == VM_C_BOOL && t->size < sizeof(ffi_arg))
            result->i = a != 0;
        else if (!scalar_out(vm, k, t, rv, result, n->sig.name, "its result"))
            st = -1;
    }
    scratch_free(&s);
    /* C may take long: an interrupt or the deadline meanwhile stops the guest now. */
    if (st == 0 && vm_poll_after_native(vm))
        st = -1;
    return st;
}
