/*
 * image.h — the image layer: what a Kiln program is as data, apart from any
 * running VM. Types, the instruction encoding and opcode table, the
 * in-memory form of a bytecode image, its reader, writer, verifier and
 * disassembler, and the signatures of natives a program may link against.
 *
 * A program exists in three forms that all share the structures below:
 * the compiler fills a vm_image; vm_image_write turns it into bytes (the
 * portable .kbc file); vm_image_read turns bytes back into a vm_image, which
 * vm_verify checks and the VM links. Running from source goes through the
 * same bytes, so source and image runs cannot differ.
 *
 * This is the bottom layer: it includes nothing of the VM state, the
 * collector, the interpreter or the compiler, so the compiler (which sees
 * only this header) cannot reach them.
 */
#ifndef KILN_IMAGE_H
#define KILN_IMAGE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* ---- Types of registers, globals, constants, parameters and results ---- */
enum {
    VM_T_VOID,   /* only as a function result: returns nothing */
    VM_T_INT,    /* int64_t, wrapping */
    VM_T_FLOAT,  /* IEEE double */
    VM_T_BOOL,   /* 0 or 1 */
    VM_T_STR,    /* vm_str *, may be null */
    VM_T_PTR,    /* a C pointer from the FFI, boxed (vm_ptr); null is C's NULL */
    VM_T_BUFFER, /* bytes for C (vm_bytes); also a ptr: passed as its data */
    VM_T__COUNT
};
/* Types past VM_T__COUNT are entries of the image's type table (arrays,
 * classes, ...): index VM_T__COUNT + i is im->types[i]. All are references. */
#define VM_T_ISREF(t) ((t) >= VM_T_STR)
const char *vm_type_name(int t); /* of the fixed types 0-6 */
/* Type ids are uint16_t in the image (and in vm_type.a's halves), so ids
 * 0..0xFFFF: the fixed ones and at most VM_MAX_TYPES - VM_T__COUNT
 * table entries. */
#define VM_MAX_TYPES 0x10000
/* A class's fields, inherited ones included: GETF and SETF name a field
 * with an 8-bit operand. */
#define VM_MAX_FIELDS 256
/* Kinds of type-table entries. A cell is never a language type: it boxes
 * a local variable that a closure captures and someone assigns. */
enum { VM_K_CLASS = 1, VM_K_ARRAY, VM_K_MAP, VM_K_FN, VM_K_CELL };
typedef struct vm_type {
    uint8_t kind;     /* VM_K_* */
    uint32_t a;       /* VM_K_CLASS: the class index; VM_K_ARRAY: the element type;
                         VM_K_MAP: key type | value type << 16;
                         VM_K_FN: result type | number of parameters << 16;
                         VM_K_CELL: the type of the value it holds */
    uint16_t *params; /* VM_K_FN: the parameter types */
} vm_type;
#define VM_FN_RET(a) ((a)&0xffffu)
#define VM_FN_NPARAMS(a) ((a) >> 16)
#define VM_MAP_KEY(a) ((a)&0xffffu)
#define VM_MAP_VAL(a) ((a) >> 16)

/* An enum's variant: its name and its payload, fields first ..
 * first + n - 1 of the enum's class (field 0 is the variant's number,
 * the tag; the variants' payloads follow it in order, so variant i's
 * `first` is where variant i - 1's ends). */
typedef struct vm_variant {
    uint32_t name; /* string index */
    uint16_t first, n;
} vm_variant;

/* A class: its module, its superclass, its fields (the superclass's first,
 * same types), its vtable (method slots; a subclass's starts with its
 * superclass's, each slot overridden by a function of the same signature;
 * slot 0 is to_str), and for an enum its variants. */
typedef struct vm_class {
    uint32_t name;   /* string index: the class's own name ("Point", "Box<int>") */
    uint32_t module; /* module index: the module that declares it */
    int32_t super;   /* class index, -1 for a root class; always < own index */
    uint16_t type;   /* its type id */
    uint16_t nfields;
    uint16_t *field_types;
    uint32_t *field_names; /* string indices, for the disassembler */
    uint16_t nslots;
    uint32_t *slots;    /* function indices */
    uint16_t nvariants; /* an enum's (at least one), else 0 */
    vm_variant *variants;
} vm_class;

/* ---- Instructions (see opcodes.h for the formats) ---- */
enum vm_opcode {
#define OP(name, ...) OP_##name,
#include "opcodes.h"
#undef OP
    OP__COUNT
};
enum { FMT_ABC, FMT_ABx, FMT_AsBx, FMT_sJ, FMT_ABCX, FMT_AsBxX };
/* Operand roles (roles.h) and what kind of operand each is. */
enum {
#define ROLE(name, kind, doc) ROLE_##name,
#include "roles.h"
#undef ROLE
    ROLE__COUNT
};
enum {
    VM_OPND_NONE,
    VM_OPND_REG,
    VM_OPND_RESULT,
    VM_OPND_ARGS,
    VM_OPND_CAPS,
    VM_OPND_FNARGS,
    VM_OPND_PARG,
    VM_OPND_PACKED,
    VM_OPND_IMM,
    VM_OPND_UIMM,
    VM_OPND_JUMP,
    VM_OPND_CONST,
    VM_OPND_CLASS,
    VM_OPND_FIELD,
    VM_OPND_SLOT,
    VM_OPND_TYPE,
    VM_OPND_GLOBAL,
    VM_OPND_FUNC,
    VM_OPND_NATIVE
};
/* Names a register: REG .. PARG (PACKED names several, a byte each). */
#define VM_OPND_ISREG(k) ((k) >= VM_OPND_REG && (k) <= VM_OPND_PARG)
typedef struct vm_roleinfo {
    const char *name;
    uint8_t kind; /* VM_OPND_* */
    const char *doc;
} vm_roleinfo;
extern const vm_roleinfo vm_roles[ROLE__COUNT];
/* Opcode flags: what an instruction may do (opcodes.h says each one). */
enum {
    OPF_CALL = 1 << 0,      /* calls a function: its frame waits in it */
    OPF_BRANCH = 1 << 1,    /* has a jump target (a JO operand) */
    OPF_TERM = 1 << 2,      /* never falls through */
    OPF_ALLOC = 1 << 3,     /* allocates in the GC heap, so may collect */
    OPF_THROW = 1 << 4,     /* may raise: goes to a catch clause */
    OPF_SAFEPOINT = 1 << 5, /* may collect or poll: ALLOC, CALL, BRANCH */
    OPF_SETA = 1 << 6,      /* writes register A without reading it */
    OPF_RWA = 1 << 7,       /* reads and writes register A */
    OPF_RWC = 1 << 8        /* reads and writes register C */
};
typedef struct vm_opinfo {
    const char *name;
    uint8_t format;
    uint8_t role[4]; /* A, B, C, X */
    uint16_t flags;  /* OPF_* */
    const char *doc;
} vm_opinfo;
extern const vm_opinfo vm_ops[OP__COUNT];
#define VM_INS_WORDS(op) (vm_ops[op].format >= FMT_ABCX ? 2u : 1u)
/* vm_ins_operands: the values of A, B, C and X (0 where the format has
 * none) of the instruction of opcode `op` at code[0] (and code[1]): Bx or
 * sBx as B, sJ as A. */
void vm_ins_operands(uint32_t op, const uint32_t *code, uint32_t vals[4]);

#define INS_OP(w) ((w)&0xffu)
#define INS_A(w) (((w) >> 8) & 0xffu)
#define INS_B(w) (((w) >> 16) & 0xffu)
#define INS_C(w) ((w) >> 24)
#define INS_Bx(w) ((w) >> 16)
#define INS_sBx(w) ((int32_t)(int16_t)(uint16_t)((w) >> 16))
#define INS_sJ(w) (((int32_t)(w)) >> 8)
#define MK_ABC(op, a, b, c) \
    ((uint32_t)(op) | (uint32_t)(a) << 8 | (uint32_t)(b) << 16 | (uint32_t)(c) << 24)
#define MK_ABx(op, a, bx) ((uint32_t)(op) | (uint32_t)(a) << 8 | (uint32_t)(bx) << 16)
#define MK_sJ(op, j) ((uint32_t)(op) | (uint32_t)(j) << 8)
#define VM_SJ_MAX ((1 << 23) - 1)

/* ---- C types of extern functions (the FFI) ----
 * A C type is a u32: its kind (VM_C_*) in the low byte, and for the
 * kinds that name something an index above it: VM_C_STRUCT and
 * VM_C_STRUCTP a C struct (vm_image.cstructs), VM_C_FN a C signature
 * (vm_image.csigs). The image keeps C's names (c_long), not sizes, so
 * an image stays portable; the VM resolves them on its host. */
enum {
    VM_C_VOID, /* only as a result */
    VM_C_CHAR,
    VM_C_SHORT,
    VM_C_INT,
    VM_C_LONG,
    VM_C_LONGLONG,
    VM_C_UCHAR,
    VM_C_USHORT,
    VM_C_UINT,
    VM_C_ULONG,
    VM_C_ULONGLONG,
    VM_C_I8,
    VM_C_I16,
    VM_C_I32,
    VM_C_I64,
    VM_C_U8,
    VM_C_U16,
    VM_C_U32,
    VM_C_U64,
    VM_C_SIZE,
    VM_C_FLOAT,
    VM_C_DOUBLE,
    VM_C_BOOL,
    VM_C_CSTR,    /* str: a NUL-terminated copy in, a copy out */
    VM_C_PTR,     /* ptr (or a Buffer, passed as its bytes) */
    VM_C_STRUCT,  /* a struct by value: an instance of its class */
    VM_C_STRUCTP, /* a pointer to a struct: copied in and back out */
    VM_C_FN,      /* a function pointer: a Kiln function value (callback) */
    VM_C__COUNT
};
#define VM_CTYPE(kind, idx) ((uint32_t)(kind) | (uint32_t)(idx) << 8)
#define VM_CKIND(c) ((c)&0xffu)
#define VM_CIDX(c) ((c) >> 8)
/* Whether kind k is one of C's integer types (char .. size). */
#define VM_C_ISINT(k) ((k) >= VM_C_CHAR && (k) <= VM_C_SIZE)
/* The name of kind k as a program writes it ("c_int", "ptr"; "struct",
 * "*struct" and "fn" for the kinds that name something). */
const char *vm_ctype_name(uint32_t k);
/* The kind of a scalar C type named `name` (c_char .. ptr), or -1. */
int vm_ctype_named(const char *name, size_t len);
/* The Kiln type a scalar kind (VM_C_VOID .. VM_C_PTR) takes and gives. */
uint32_t vm_ctype_kiln(uint32_t k);
/* Extern structs and variadic calls have at most this many members. */
#define VM_MAX_CFIELDS 64

/* A C struct: the class whose instances stand for it (a root class with
 * exactly these fields, of the Kiln types of these C types), and the C
 * type of each field: scalars other than cstr, in C's order. */
typedef struct vm_cstruct {
    uint32_t cls;
    uint16_t nfields;
    uint32_t *ctypes;
} vm_cstruct;
/* A C function's signature: nfixed parameters, then (variadic) the rest,
 * as one call passes them. A callback's (VM_C_FN) is never variadic. */
typedef struct vm_csig {
    uint32_t ret;
    uint8_t nparams, nfixed;
    uint32_t *params;
} vm_csig;
/* An extern function: native `native` of the image (whose name is the C
 * symbol, whose types are the Kiln types of sig's) is the symbol of
 * library `lib` (a string index), called with signature `sig`; its
 * parameters' names (string indexes, sig's nparams) are for errors. */
typedef struct vm_extern {
    uint32_t native, lib, sig;
    uint32_t *pnames;
} vm_extern;

/* ---- The image: a whole linked program as data ---- */
typedef struct vm_const {
    uint8_t type;  /* VM_T_INT, VM_T_FLOAT or VM_T_STR */
    uint64_t bits; /* the int, the double's bits, or a string index */
} vm_const;

/* A global: its name is the program's ("count" in the root module,
 * "util.count" in module util); `var` ones may be set from the host. */
enum { VM_GLOBAL_VAR = 1 };
typedef struct vm_global {
    uint32_t name; /* string index */
    uint16_t type;
    uint8_t flags; /* VM_GLOBAL_* */
} vm_global;

/* A reference to a native function, resolved by name and signature when the
 * image is linked, so an image never holds a host address. */
typedef struct vm_nativeref {
    uint32_t name; /* string index, e.g. "print" or "str.find" */
    uint8_t nparams;
    uint16_t ret;
    uint16_t params[KILN_MAX_PARAMS];
    int32_t ext; /* its vm_extern, or -1: set by vm_image_read, not written */
} vm_nativeref;

typedef struct vm_line {
    uint32_t pc;   /* first instruction of the run */
    uint32_t line; /* source line of the run */
} vm_line;

/* A catch clause: a throw at a pc in [start, end) of an instance of
 * `cls` (or of anything, when cls is VM_CATCH_ALL) stores the error in
 * register `reg` and continues at `handler`. Inner clauses come first. */
#define VM_CATCH_ALL 0xffffffffu
typedef struct vm_handler {
    uint32_t start, end, handler;
    uint32_t cls;
    uint16_t reg;
} vm_handler;

typedef struct vm_func {
    uint32_t name;   /* string index */
    uint32_t module; /* module index: the file of its line table */
    uint8_t nparams;
    uint8_t ncaps; /* captured values: registers nparams .. nparams+ncaps-1 */
    uint16_t ret;
    uint16_t nregs;
    uint16_t *types; /* nregs; the first nparams are the parameters */
    uint32_t ncode;
    uint32_t *code;
    uint32_t nlines;
    vm_line *lines;
    uint32_t nhandlers;
    vm_handler *handlers;
} vm_func;

typedef struct vm_module {
    uint32_t name; /* string index */
    uint32_t file; /* string index: the source path, for traces */
    uint32_t init; /* function index of its top-level code */
} vm_module;

typedef struct vm_image {
    uint32_t ntypes; /* type-table entries: ids VM_T__COUNT.. */
    vm_type *types;
    uint32_t nclasses;
    vm_class *classes;
    uint32_t nstrs;
    uint32_t *str_off; /* into str_data */
    uint32_t *str_len;
    char *str_data;
    uint32_t nconsts;
    vm_const *consts;
    uint32_t nglobals;
    vm_global *globals;
    uint32_t nnatives;
    vm_nativeref *natives;
    uint32_t nfuncs;
    vm_func *funcs;
    uint32_t ncstructs, ncsigs, nexterns; /* the FFI's */
    vm_cstruct *cstructs;
    vm_csig *csigs;
    vm_extern *externs;
    uint32_t nmodules;
    vm_module *modules;
    uint32_t entry; /* module index of the root module */
    int32_t main;   /* function index of main(), or -1 */
} vm_image;

/* Growable byte buffer, used for image bytes and text output. */
typedef struct vm_buf {
    char *data;
    size_t len, cap;
    bool oom; /* an append failed: the contents are truncated */
} vm_buf;
void vm_buf_put(vm_buf *b, const void *p, size_t n);
void vm_buf_printf(vm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vm_buf_free(vm_buf *b);

/* vm_image_write: serializes `im` into `out` (appended). Returns false only
 * when memory runs out. The same image always gives the same bytes. */
bool vm_image_write(const vm_image *im, vm_buf *out);

/* vm_image_read: parses `len` bytes at `buf` into `im` (which it owns
 * afterwards; release with vm_image_free, also on failure). Checks the
 * structure: magic, version, checksum (unless `check_sum` is false), section
 * bounds, and that every index refers to an existing entry. On failure
 * returns false with "invalid image: <what> at <where>" in err. */
bool vm_image_read(const uint8_t *buf, size_t len, bool check_sum, vm_image *im, char *err,
                   size_t errlen);
void vm_image_free(vm_image *im);
bool vm_image_is(const void *buf, size_t len); /* starts with the magic? */
const char *vm_image_str(const vm_image *im, uint32_t idx);

/* vm_type_str: the name of type `t` of `im` ("int", "Circle", ...): a
 * class's own name, without its module. */
const char *vm_type_str(const vm_image *im, uint32_t t);

/* The module the prelude's classes belong to: the compiler puts the root
 * module first (the entry) and the prelude second. */
#define VM_PRELUDE_MODULE 1u

/* vm_class_module: the name of the module class c is written with
 * ("util" for util.Point), or NULL when it is written bare: a class of
 * the entry module or of the prelude, as the root module names them. */
const char *vm_class_module(const vm_image *im, const vm_class *c);

/* vm_type_write: type `t` as the language writes it in the root module
 * ("[int]", "{str: Circle}", "fn(int) -> str", "util.Point",
 * "Option<util.Point>") at the end of `b`. */
void vm_type_write(const vm_image *im, uint32_t t, vm_buf *b);

/* vm_text_same: does type text `text` name the type written `written`
 * (as vm_type_write writes it) in im? Spaces do not count, and `text` may
 * leave out a module's name where `written` has one ("Point" for
 * "util.Point") only where the bare name means that module's class: no
 * class of the entry module or the prelude has the name, nor another
 * module's. It may not add or change a module's name. */
bool vm_text_same(const vm_image *im, const char *text, const char *written);

/* vm_type_named: the type of im that type text `text` names, as
 * vm_text_same matches ("util.Point" is util's; "Point" the entry
 * module's or the prelude's class, else the one module's class of that
 * name). When none: -1 if nothing is near; -2 if the text, leaving out
 * module names freely, would name two types (in *a and *b: say which to
 * write); -3 if it would name one (in *a: what it may mean); -4 when
 * memory ran out. */
int64_t vm_type_named(const vm_image *im, const char *text, uint32_t *a, uint32_t *b);

/* vm_assignable: may a value of type `from` be stored where `to` is
 * expected? Equal types, a class and one of its ancestors, or a Buffer
 * where a ptr is expected. */
bool vm_assignable(const vm_image *im, uint32_t from, uint32_t to);

/* The class of a class type, or NULL. */
const vm_class *vm_class_of(const vm_image *im, uint32_t t);

/* The index of the class Error (the root of what can be thrown), or -1. */
int vm_error_class(const vm_image *im);

/* The element type of an array type, or -1. */
int vm_elem_of(const vm_image *im, uint32_t t);

/* The key and value types of a map type; false if t is not one. */
bool vm_map_types(const vm_image *im, uint32_t t, uint32_t *key, uint32_t *val);

/* The function type t, or NULL if t is not one. */
const vm_type *vm_fn_type(const vm_image *im, uint32_t t);

/* The content type of a cell type, or -1. */
int vm_cell_of(const vm_image *im, uint32_t t);

/* vm_verify: the bytecode verifier, one linear pass over every function
 * (operand types, indices, jump targets, call signatures, register counts,
 * result types). On failure returns false with
 * "invalid image: <what> at <function>:<pc>" in err. */
bool vm_verify(const vm_image *im, char *err, size_t errlen);

/* vm_disasm: appends a listing of every function in `im` to `out`. */
void vm_disasm(const vm_image *im, vm_buf *out);
/* vm_disasm_with: the same, calling `hook` after each instruction of
 * function fi (words from..to) and once after its last (from = its
 * length, to = UINT32_MAX): kiln dis --jit adds machine code there. */
typedef void (*vm_disasm_hook)(void *ud, uint32_t fi, uint32_t from, uint32_t to, vm_buf *out);
void vm_disasm_with(const vm_image *im, vm_buf *out, vm_disasm_hook hook, void *ud);

/* vm_func_line: the source line of instruction `pc` of `f` (0 if unknown). */
uint32_t vm_func_line(const vm_func *f, uint32_t pc);

/* ---- Format specs of interpolation, "${x:SPEC}" (vm_fmt.c) ---- */
#define VM_FMT_MAX_WIDTH 1000000
#define VM_FMT_MAX_PRECISION 1000
typedef struct vm_fmtspec {
    char fill[4]; /* one character, UTF-8 */
    uint8_t fill_len;
    char align; /* '<' '>' '^' '=' or 0: the type's default */
    char sign;  /* '+' '-' ' ' or 0 */
    bool alt, zero, comma;
    uint32_t width;
    int32_t precision; /* -1: none */
    char type;         /* d x X o b e f g % s, or 0 */
} vm_fmtspec;
/* vm_fmtspec_parse: parses the n bytes of spec s into *f; NULL, or what is
 * wrong with it. vm_fmtspec_fits: NULL if a value of kind 'i' 'f' 's' 'b'
 * (int, float, str, bool) can take spec f, else why not. */
const char *vm_fmtspec_parse(const char *s, size_t n, vm_fmtspec *f);
const char *vm_fmtspec_fits(const vm_fmtspec *f, char kind);

/* ---- Natives as a program sees them: names and signatures ---- */
/* A native's signature: the image refers to natives by name and parameter
 * types (vm_nativeref); the linker and the compiler match them against
 * these. The implementations belong to the VM layer (vm_native). */
typedef struct vm_natsig {
    const char *name;         /* "print", "str.find", "math.sqrt", ... */
    const char *params;       /* one letter a parameter: i f b s p y, S I F for [str] [int] [float],
                                 T for a type written in `types` (the embedder's natives) */
    char ret;                 /* the same letters, or v for none */
    const char *const *types; /* for each T: the type as text, at the parameter's index
                                 (the result's: at the parameter count) */
    bool library; /* the standard library's: its type text names the prelude's classes */
} vm_natsig;

/* A list of signatures searched in order (the embedder's natives first,
 * then the standard library's), without knowing where they are stored:
 * at(ctx, i) is the i-th of count. */
typedef struct vm_natlist {
    const vm_natsig *(*at)(const void *ctx, size_t i);
    size_t count;
    const void *ctx;
} vm_natlist;

/* Does type t (whose element type is `elem`, -1 unless an array) fit the
 * signature letter c? */
bool vm_letter_fits(char c, uint32_t t, int elem);

/* vm_natsig_find: the first signature of `list` called `name` whose
 * parameters fit the types `params`; elem_of(ctx, t) gives a type's
 * element type (-1 if none), text_fits(ctx, text, t) whether type t fits a
 * T parameter's text (NULL: none does). NULL when none fits. */
const vm_natsig *vm_natsig_find(const vm_natlist *list, const char *name, const uint16_t *params,
                                int nparams, int (*elem_of)(const void *ctx, uint32_t t),
                                bool (*text_fits)(const void *ctx, const char *text, uint32_t t),
                                const void *ctx);

#endif
