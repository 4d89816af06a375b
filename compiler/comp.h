/*
 * comp.h — internal declarations of the compiler.
 *
 *   source ──lex──▶ tokens ──parse──▶ AST ──check──▶ typed AST ──emit──▶ vm_image ──▶ bytes
 *          comp_lex.c     comp_parse.c     comp_check.c         comp_emit.c   vm_image_write
 *
 * Every pass reports problems through comp_error and keeps going, so one
 * run shows several errors; emission runs only on a program without
 * errors. All memory comes from one arena released at the end; running out
 * of memory longjmps back to comp_compile.
 */
#ifndef KILN_COMP_H
#define KILN_COMP_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vm/image.h"

/* A module's source as comp_env.load gives it. */
typedef struct comp_source {
    char *src;
    size_t len;
    char *file;
    char why[300];
} comp_source;

/* What the compiler gets from the VM it compiles for: all it knows of the
 * world outside the image layer. */
typedef struct comp_env {
    /* The source of module `name` (`len` bytes) that the module in file
     * `importer` imports: 1 with out->src (malloc'd, out->len bytes) and
     * out->file (malloc'd: the module's file, named in diagnostics), which
     * the compiler frees; 0 when there is no such module to load (the
     * standard and native modules are looked at next), out->file then
     * NULL or the file looked for; -1 when it cannot be loaded, with the
     * reason in out->why. NULL: only the standard modules can be
     * imported. */
    int (*load)(void *ctx, const char *name, uint32_t len, const char *importer,
                struct comp_source *out);
    void *load_ctx;
    /* The natives a program may call, "name" or "module.name": the
     * embedder's first, then the standard library's. */
    vm_natlist natives;
    /* Source of the built-in classes, compiled before every program. */
    const char *prelude;
    /* Can `import name` be satisfied without a file (a standard module,
     * or one of the embedder's)? module_const: its constant `name`:
     * 'f' for a float in *value (math.PI), 'i' for an int in *ivalue
     * (math.INT_MAX), 0 when there is none. */
    bool (*module_exists)(const void *ctx, const char *name, uint32_t len);
    const void *module_ctx;
    char (*module_const)(const char *module, uint32_t mlen, const char *name, uint32_t len,
                         double *value, int64_t *ivalue);
} comp_env;

/* comp_compile: compiles `len` bytes of source `src`, named `name` in
 * diagnostics, into image bytes appended to `image`, with every module it
 * imports, against the natives and modules of `env`. On errors returns false with the
 * diagnostics (file:line:col: error: ..., source line, caret) appended to
 * `diags`. */
bool comp_compile(const char *name, const char *src, size_t len, const comp_env *env, vm_buf *image,
                  vm_buf *diags);

/* ---- Tokens ---- */
enum {
    T_EOF,
    T_SEMI,
    T_IDENT,
    T_INT,
    T_FLOAT,
    T_STRING,
    T_INTERP,
    /* punctuation */
    T_LPAREN,
    T_RPAREN,
    T_LBRACE,
    T_RBRACE,
    T_LBRACKET,
    T_RBRACKET,
    T_COMMA,
    T_COLON,
    T_DOT,
    T_DOTDOT,
    T_DOTDOTEQ,
    T_ARROW,
    /* operators; the compound assignments follow their operator's order */
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_PERCENT,
    T_AMP,
    T_PIPE,
    T_CARET,
    T_SHL,
    T_SHR,
    T_PLUS_EQ,
    T_MINUS_EQ,
    T_STAR_EQ,
    T_SLASH_EQ,
    T_PERCENT_EQ,
    T_AMP_EQ,
    T_PIPE_EQ,
    T_CARET_EQ,
    T_SHL_EQ,
    T_SHR_EQ,
    T_TILDE,
    T_BANG,
    T_ANDAND,
    T_OROR,
    T_EQ,
    T_EQEQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    /* keywords */
    T_LET,
    T_VAR,
    T_FN,
    T_RETURN,
    T_IF,
    T_ELSE,
    T_WHILE,
    T_FOR,
    T_IN,
    T_BREAK,
    T_CONTINUE,
    T_TRUE,
    T_FALSE,
    T_NULL,
    /* reserved for later parts of the language */
    T_IMPORT,
    T_CLASS,
    T_TRY,
    T_CATCH,
    T_THROW,
    T_IS,
    T_AS,
    T_SELF,
    T_SUPER,
    T_EXTERN,
    T_ELLIPSIS, /* '...' */
    T_FMTSPEC,  /* "${x:SPEC}": the SPEC */
    T_FATARROW, /* '=>' */
    T__COUNT
};
const char *comp_token_name(int t);

typedef struct comp_token {
    uint8_t type;
    bool auto_semi; /* a T_SEMI the lexer inserted at a newline */
    uint32_t line, col;
    union {
        uint64_t i; /* T_INT: the magnitude (up to 2^64-1 for hex) */
        double f;
    } v;
    const char *s; /* T_IDENT, T_STRING, T_INTERP: bytes (decoded for strings) */
    uint32_t len;
    bool hex; /* T_INT written in hex */
} comp_token;

/* ---- Types ----
 * A type id is an int. Ids below VM_MAX_TYPES (0..0xFFFF) are the image's:
 * 0-4 fixed, then the type table, classes first (comp_class.c). Those are
 * the only ids the emitter writes, as the image's uint16_t. The ids from
 * VM_MAX_TYPES up exist only in the compiler, so no count of classes or
 * types can make one equal an image id:
 *   CT_EMPTY      the literal [] (or [[]]...), typed by its context
 *   CT_EMPTY_MAP  the literal {}, typed by its context
 *   CT_NULL       the null literal
 *   CT_ERR        an error was already reported here
 *   CT_VARIANT    Option.None of a generic enum: its instance comes from the
 *                 context, as a null literal's type does (node->cls: the enum)
 *   CT_NAMED + i  a type as the parser wrote it (it cannot know class names
 *                 yet): i indexes C->tnames, and the checker resolves it
 *                 (comp_resolve_type); i is below CT_MAX_TNAMES. */
enum { CT_EMPTY_MAP = VM_MAX_TYPES, CT_EMPTY, CT_NULL, CT_ERR, CT_VARIANT, CT_NAMED };
#define CT_MAX_TNAMES ((uint32_t)(INT32_MAX - CT_NAMED))
struct comp;
const char *comp_type_name(struct comp *C, int t);

/* ---- AST ---- */
enum {
    /* expressions */
    N_INT,
    N_FLOAT,
    N_BOOL,
    N_NULL,
    N_STR,
    N_INTERP,
    N_NAME,
    N_UNARY,
    N_BINARY,
    N_CALL,
    N_INDEX,
    N_FIELD,
    N_SELF,
    N_SUPER,
    N_IS,
    N_AS,
    N_ARRAY,
    N_MAP,
    N_LAMBDA,
    /* statements */
    N_LET,
    N_ASSIGN,
    N_EXPR,
    N_IF,
    N_WHILE,
    N_FOR,
    N_BREAK,
    N_CONTINUE,
    N_RETURN,
    N_BLOCK,
    N_FN,
    N_THROW,
    N_TRY,
    N_CATCH,
    /* v1: match subject { arms }, each arm `patterns => body` (list: the
     * patterns; b: the body, an expression or a block) */
    N_MATCH,
    N_ARM
};

typedef struct comp_sym comp_sym;

/* A C type of an extern declaration, as written (image.h's VM_C_*). */
typedef struct comp_ctype {
    uint8_t kind; /* VM_C_* */
    int32_t type; /* the Kiln type it takes and gives (a struct's class and a
                     callback's function type are CT_NAMED until resolved) */
    uint32_t line, col;
    struct comp_ctype *params; /* VM_C_FN: the callback's parameters */
    uint32_t nparams;
    struct comp_ctype *ret; /* VM_C_FN: its result */
} comp_ctype;
typedef struct comp_fn comp_fn;
typedef struct comp_module comp_module;

/* A type parameter of a generic function or class: <T> or <T: Bound>. */
struct comp_tparam {
    const char *name, *bound; /* bound: an interface's name, or NULL */
    uint32_t len, blen, line, col;
    const char *bqs; /* the bound's module as written (T: util.Shape), or NULL */
    uint32_t bqlen, bline, bcol;
    struct comp_module *mod; /* the module that declares it */
};
/* What the type parameters of a template stand for in one instance. */
typedef struct comp_subst {
    const struct comp_tparam *tparams;
    uint32_t n;
    const int32_t *targs; /* resolved types */
    const char *what;     /* the instance, as messages name it: "f<int>", "Box<str>" */
    uint32_t line;        /* where it was first used */
} comp_subst;

typedef struct comp_node comp_node;
struct comp_node {
    uint8_t kind;
    uint8_t op;        /* operator token, or for N_LET: 1 if mutable (var) */
    bool checked_args; /* N_CALL of a generic function: its arguments checked early */
    bool spawn;        /* N_CALL spawn made (comp_parse.c): of its literal, or of the native */
    bool prechecked;   /* checked already, then moved (comp_check.c, chan_loop) */
    int32_t type;      /* expressions: the checked type */
    uint32_t line, col;
    comp_node *a, *b, *c; /* children, by kind (see comp_parse.c) */
    comp_node **list;     /* arguments, statements, interpolation parts */
    uint32_t n;
    int64_t i; /* N_INT value, N_BOOL value; N_FOR: 1 if inclusive */
    double f;
    const char *s; /* names and string bytes */
    uint32_t len;
    int32_t decl_type;       /* N_LET / N_FN params: the annotated type, or -1 */
    comp_sym *sym;           /* N_NAME, N_LET, N_FOR: the variable */
    comp_fn *fn;             /* N_CALL of a user function or method; N_FN; N_LAMBDA;
                                N_NAME of a top-level function used as a value */
    struct comp_class *cls;  /* N_CALL constructing it; N_IS / N_AS target */
    int32_t slot;            /* N_CALL of a virtual method: its vtable slot, else -1 */
    int32_t field;           /* N_FIELD: the field's index in its class */
    const vm_natsig *native; /* N_CALL of a native */
    int builtin;             /* N_CALL of a conversion or str method done inline */
    /* A name written with its module, util.name: the qualifier as written
     * (N_IS, N_AS, a catch clause's class), or the module it resolved to
     * (N_NAME). */
    const char *qs;
    uint32_t qlen;
    comp_module *qual;
    /* name<T, U>(...): the type arguments written (CT_NAMED ids) */
    int32_t *targs;
    uint32_t ntargs;
};

enum { SYM_LOCAL, SYM_GLOBAL };
enum { SYM_ROLE_VAR, SYM_ROLE_PARAM, SYM_ROLE_LOOP, SYM_ROLE_CATCH }; /* for error messages */
struct comp_sym {
    const char *name;
    uint32_t len;
    uint8_t kind;
    uint8_t role; /* SYM_ROLE_* */
    bool mutable_;
    int32_t type;
    int32_t index;    /* SYM_GLOBAL: global index; SYM_LOCAL: register, set by emit */
    comp_node *konst; /* a global `let` with a literal value: uses become the literal */
    uint32_t line, col;
    /* Closures: a function literal that uses a local of an enclosing
     * function gets a capture symbol of its own, whose `outer` is the
     * symbol it copies (the local, or the enclosing literal's capture).
     * A local that is captured and assigned anywhere lives in a cell. */
    comp_sym *outer; /* a capture: what it captures */
    comp_sym *root;  /* the local all its captures lead back to (itself if none) */
    bool captured, assigned;
    /* A global a function may read before its declaration ran: code ran
     * at the top level before it (or in its initializer), so its reads
     * outside the top level are checked (GETGC: InitError). */
    bool late;
    comp_module *mod; /* SYM_GLOBAL: the module that declares it */
};
/* Does this local (or capture) live in a cell? */
#define SYM_BOXED(s) ((s)->root && (s)->root->captured && (s)->root->assigned)

struct comp_fn {
    const char *name;
    uint32_t len;
    struct comp_class *cls; /* a method's class (params[0] is self), else NULL */
    const char *full;       /* "Class.method", the name in the image */
    uint8_t synth;          /* SYNTH_*: made by comp_class.c, body by the emitter */
    bool prelude;           /* declared by the prelude: traces name <prelude> */
    comp_module *mod;       /* the module that declares it */
    uint32_t line, col;
    uint32_t nparams;
    comp_sym **params;
    int32_t ret;
    comp_node *body; /* N_BLOCK; NULL for the module initializer */
    uint32_t index;  /* function index in the image */
    /* A function literal: its enclosing function, and what it captures
     * (registers nparams .. nparams+ncaps-1 of its frame). */
    bool lambda;
    bool too_many_caps; /* reported */
    comp_fn *parent;
    comp_sym **caps;
    uint32_t ncaps, caps_cap;
    /* An extern function (synth SYNTH_EXTERN): its library, the C type of
     * each parameter and of its result; variadic: more arguments may
     * follow the declared ones. */
    const char *lib;
    uint32_t liblen;
    comp_ctype *cparams;
    comp_ctype cret;
    bool variadic;
    /* Generics. A generic function (ntparams > 0) is a template: it is
     * never checked or emitted itself, and neither are the function
     * literals inside it (in_template). Each call with new type arguments
     * makes an instance (comp_generic.c): a copy of its body whose
     * `generic` is the template and `targs` the type of each of the
     * template's parameters, which names in the copy resolve to. */
    struct comp_tparam *tparams;
    uint32_t ntparams;
    bool in_template;
    comp_fn *generic;
    const struct comp_subst *subst; /* an instance's (or its class's) type arguments */
    bool lazy;        /* a library function of the prelude (__name): made when first called */
    bool untyped;     /* a literal fn(x) { ... }: parameter types (CT_NULL) from the context */
    bool infer_ret;   /* ... and its result type from its first `return e` (xs.map) */
    bool ret_omitted; /* written without -> R */
    bool generated;   /* written by the compiler (an enum's to_str and __eq) */
    /* A method of a generic class's instance that no call has named yet:
     * the template's method, whose body is copied in when a call names it
     * (comp_need_method). Until then it is not checked, and its code is a
     * trap. */
    const comp_fn *body_from;
};

enum { SYNTH_NONE, SYNTH_TO_STR, SYNTH_FIELDS, SYNTH_EXTERN, SYNTH_ABSTRACT };

typedef struct comp_field {
    const char *name;
    uint32_t len;
    int32_t type;
    comp_node *init; /* initializer, or NULL */
    uint32_t line, col;
} comp_field;

typedef struct comp_class {
    const char *name;
    uint32_t len, line, col;
    bool prelude;           /* declared by the prelude */
    comp_module *mod;       /* the module that declares it */
    const char *super_name; /* as written, or NULL */
    uint32_t super_len, super_line, super_col;
    const char *super_qs; /* the superclass's module, as written, or NULL */
    uint32_t super_qlen;
    struct comp_class *super;
    uint32_t index;  /* class index in the image */
    int32_t type;    /* its type id */
    comp_field *own; /* declared here */
    uint32_t nown, own_cap;
    comp_fn **methods; /* declared here (init included) */
    uint32_t nmethods, methods_cap;
    /* After checking: every field, the superclass's first; the vtable. */
    comp_field **fields;
    uint32_t nfields;
    comp_fn **vtable;
    uint32_t nslots;
    comp_fn *init;       /* own or inherited init, or NULL */
    comp_fn *field_init; /* sets the initialized fields, own and inherited; or NULL */
    int state;           /* checking: 0 new, 1 in progress, 2 done */
    /* An extern struct: the C type of each own field (else NULL), and
     * its index in the image's C structs + 1 once emitted (0 before). */
    comp_ctype *cfields;
    uint32_t cstruct;
    /* Generics: a generic class (ntparams > 0) is a template, never laid
     * out; each use with type arguments makes an instance (comp_generic.c)
     * whose `generic` is the template and `subst` its type arguments.
     * super_targs: the superclass's type arguments as written. */
    struct comp_tparam *tparams;
    uint32_t ntparams;
    struct comp_class *generic;
    const comp_subst *subst;
    int32_t *super_targs;
    uint32_t nsuper_targs;
    bool laid_out;
    /* the interfaces it declares: class C : Super, Ordered */
    struct comp_iface_ref {
        const char *name;
        uint32_t len, line, col;
        struct comp_class *cls; /* an interface of the program, once laid out */
        const char *qs;         /* its module, as written (lib.Shape), or NULL */
        uint32_t qlen;
    } * ifaces;
    uint32_t nifaces;
    /* An enum: a class whose field 0 is the variant's number (_tag), then
     * each variant's payload (_Name_0, ...); its to_str and __eq are made
     * from source (comp_parse.c). */
    bool is_enum;
    bool tuple; /* the prelude's __TupleN, or an instance: (A, B) */
    /* An interface: a class with abstract methods (SYNTH_ABSTRACT) and no
     * fields. A value of class C is an interface value as an instance of
     * the wrapper I$C (wrap_of: made when first needed), a subclass of I
     * whose field 0 is the C and whose methods call C's. */
    bool is_iface;
    struct comp_class *wrapped; /* a wrapper: the class it wraps */
    struct comp_class **wrappers;
    uint32_t nwrappers, wrappers_cap;
    struct comp_variant {
        const char *name;
        uint32_t len, line, col;
        uint32_t first, n; /* its payload: fields first .. first+n-1 */
    } * variants;
    uint32_t nvariants;
    /* A library class of the prelude other than the errors (StringBuilder):
     * made like an instance of a generic class without type parameters,
     * when a program first uses it, so programs that do not carry none of
     * its code. */
    bool lazy;
} comp_class;

/* Builtins handled inline by the emitter rather than as natives. */
enum {
    B_NONE,
    B_INT_OF_FLOAT,
    B_FLOAT_OF_INT,
    B_IDENTITY,
    B_STRLEN,
    B_NATIVE,
    B_NEW,
    B_TO_STR,
    B_ALEN,
    B_APUSH,
    B_APOP,
    B_ASLICE,
    B_MGETD,
    B_MHAS,
    B_MDEL,
    B_MLEN,
    B_MKEYS,
    B_MRESERVE,
    B_FNCALL,
    B_VARIANT /* Enum.Variant(payload): cls, i the variant's number */
};

/* ---- Compiler state ---- */
typedef struct comp_arena_block comp_arena_block;

typedef struct comp_map { /* open addressing: bytes -> int */
    struct comp_map_slot {
        const char *key;
        uint32_t len;
        int32_t val;
    } * slots;
    uint32_t cap, count;
} comp_map;

/* A module: one source file. mods[0] is the root (the file compiled),
 * mods[1] the prelude, then every imported file in the order first
 * imported. The top-level names of the root and the prelude are keyed by
 * themselves in the compiler's name maps; those of an imported module by
 * "module.name" (comp_key), which no identifier can spell. */
struct comp_module {
    const char *name; /* the file's base name without .kn */
    uint32_t len;
    const char *file; /* the path, as diagnostics and traces show it */
    const char *src;
    size_t srclen;
    uint32_t index;
    comp_fn *init;   /* its top-level code */
    comp_node **top; /* top-level statements */
    uint32_t ntop, top_cap;
    comp_map imports; /* module name -> module index, or -1 for a native module */
    struct comp_import {
        uint32_t mod, line, col;
    } * deps; /* the Kiln modules it imports */
    uint32_t ndeps, deps_cap;
    int state; /* ordering: 0 new, 1 in progress, 2 done */
};

typedef struct comp {
    const char *file;
    const char *src;
    size_t srclen;
    jmp_buf oom;
    comp_arena_block *arena;
    size_t arena_step; /* the size of the arena's next block */
    vm_buf *diags;
    int nerrors;
    struct comp_diag { /* kept to be printed in source order */
        uint32_t mod, line, col, seq;
        char *text;
    } diag[KILN_MAX_DIAGS];
    /* modules; `mod` is the one being parsed or checked (file, src and
     * srclen are its) */
    comp_module **mods;
    uint32_t nmods, mods_cap;
    comp_module *mod;
    comp_module **order; /* initialization order: imports before importers */
    uint32_t norder;
    const comp_env *env;
    /* tokens */
    comp_token *toks;
    uint32_t ntoks, tok_cap;
    comp_token *held_toks; /* the module's, while a generated text's are lexed */
    /* parse */
    uint32_t pos;
    int depth;
    comp_fn **fns; /* fns[0] is the root module's initializer */
    uint32_t nfns, fns_cap;
    comp_map fn_map;
    /* classes, in declaration order until the checker sorts them so that a
     * superclass comes before its subclasses */
    comp_class **classes;
    uint32_t nclasses, classes_cap;
    comp_class **sorted; /* by class index: superclasses first; no templates,
                            and instances of generic classes appended */
    uint32_t nsorted, sorted_cap;
    uint32_t nprelude_classes; /* the first classes come from the prelude */
    bool in_prelude;           /* parsing the prelude */
    bool library_text;         /* resolving a library native's type text: the prelude's classes */
    comp_map class_map;
    struct comp_tname {
        const char *name; /* a class name, or NULL for an array type */
        uint32_t len, line, col;
        int elem;    /* array type: the element type (maybe named itself);
                        map type: the key type */
        int val;     /* map type: the value type; -1 for an array type;
                        -2 for a function type (elem: its result type) */
        int *params; /* function type: the parameter types */
        uint32_t nparams;
        const char *qs; /* a class written util.Name: the module, or NULL */
        uint32_t qlen;
        comp_module *mod; /* where it is written */
        int32_t *targs;   /* Name<A, B>: the type arguments (named ids) */
        uint32_t ntargs;
    } * tnames;
    /* What each image type id past the fixed ones is: a class (an index in
     * sorted) or an interned type (an index in xtypes), in the order they
     * were made, so an array's element type always has a smaller id. */
    struct comp_tkind {
        bool cls;
        uint32_t idx;
    } * tkinds;
    uint32_t ntkinds, tkinds_cap;
    /* map key types that are tuples or enums, checked for Hash once every
     * class is laid out (comp_check) */
    struct comp_keycheck {
        int32_t type;
        uint32_t line, col;
        comp_module *mod;
    } * keychecks;
    uint32_t nkeychecks, keychecks_cap;
    const char **tname_cache; /* comp_type_name's, by type id - VM_T__COUNT */
    const char *lib_shown; /* a call of the library's generics: how messages name it (xs.map()) */
    uint32_t tname_cache_len;
    bool layout_done;                /* comp_classes laid out the declared classes */
    uint32_t layout_depth;           /* classes being laid out now (lay_out inside lay_out) */
    struct comp_class **layout_wait; /* instances made meanwhile, laid out after */
    uint32_t nlayout_wait, layout_wait_cap;
    /* Interned array, map, function and cell types. */
    struct comp_xtype {
        uint8_t kind;     /* VM_K_ARRAY, VM_K_MAP, VM_K_FN or VM_K_CELL */
        int32_t a;        /* the element type, the key type, a function's result
                             type or a cell's content type */
        int32_t b;        /* the value type of a map; the parameter count of a function */
        uint16_t *params; /* a function type's parameter types, as the image
                             holds them (all are resolved types: image ids) */
    } * xtypes;
    uint32_t nxtypes, xtypes_cap;
    comp_map xtype_map;
    bool types_full; /* "too many types" was reported */
    uint32_t ntnames, tnames_cap;
    /* check */
    comp_sym **globals;
    uint32_t nglobals, globals_cap;
    comp_map global_map;
    /* generics: the instance whose type parameters names resolve to now
     * (NULL outside one), and every instance made, keyed by template and
     * type arguments */
    const comp_subst *subst;
    comp_map inst_map;
    /* Lazy methods of instances: the (class type, vtable slot) pairs some
     * checked call has reached; the methods whose bodies wait for a call
     * (body_from); the
     * next function the checker's loop takes, and the functions given
     * bodies after the loop passed them. */
    comp_map called;
    uint32_t ntemps; /* hidden locals made so far (let (a, b) = e) */
    comp_fn **deferred;
    uint32_t ndeferred, deferred_cap;
    uint32_t check_next;
    comp_fn **late;
    uint32_t nlate, late_cap;
} comp;

/* comp_free: releases a compiler state made by calloc and filled by the
 * passes: its arena, its tokens, and the state itself. */
void comp_free(comp *C);

void *comp_alloc(comp *C, size_t n);
/* A new AST node of `kind` at (line, col), its fields at their "none"
 * values (type CT_ERR, decl_type, slot and field -1). */
comp_node *comp_node_new(comp *C, int kind, uint32_t line, uint32_t col);
void *comp_grow(comp *C, void *p, uint32_t *cap, uint32_t need, size_t elem);
char *comp_strdup(comp *C, const char *s, size_t n);
/* comp_take: the bytes of `b` copied into the arena, NUL-terminated; `b`
 * is freed, also when memory runs out (then to C->oom, after it). */
char *comp_take(comp *C, vm_buf *b);
/* comp_take_all: comp_take of n buffers (those with data; out[i] NULL for
 * the others), every one freed before running out of memory. */
void comp_take_all(comp *C, vm_buf *bufs, char **out, int n);
void comp_error(comp *C, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int32_t comp_map_get(const comp_map *m, const char *key, uint32_t len);
void comp_map_put(comp *C, comp_map *m, const char *key, uint32_t len, int32_t val);

/* comp_module.c */
comp_module *comp_module_new(comp *C, const char *name, uint32_t len, const char *file,
                             const char *src, size_t srclen);
comp_module *comp_enter(comp *C, comp_module *m); /* makes m current; returns the previous */
const char *comp_key(comp *C, const comp_module *m, const char *name, uint32_t len, uint32_t *klen);
comp_fn *comp_find_fn(comp *C, const comp_module *m, const char *name, uint32_t len, bool own);
comp_class *comp_find_class(comp *C, const comp_module *m, const char *name, uint32_t len,
                            bool own);
/* comp_find_library_class: the prelude's class `name`, even where the
 * program has a class of that name; comp_class_hideable: whether a
 * program may declare a class of c's name (c is the prelude's and not one
 * of the language's own, Error, Option, Fiber...). */
comp_class *comp_find_library_class(comp *C, const char *name, uint32_t len);
bool comp_class_hideable(comp *C, const comp_class *c);
int32_t comp_find_global(comp *C, const comp_module *m, const char *name, uint32_t len);
/* Kiln module `name` as imported by `from`, or NULL (also for a native module). */
comp_module *comp_imported(comp *C, const comp_module *from, const char *name, uint32_t len);
bool comp_is_import(const comp_module *from, const char *name, uint32_t len);
/* mod.name written in `from`: the module, or NULL after reporting an
 * unknown module or a private name. */
comp_module *comp_qualifier(comp *C, const comp_module *from, const char *qs, uint32_t qlen,
                            const char *name, uint32_t len, uint32_t line, uint32_t col);
/* A class named in `from` (qs: its module as written, or NULL), or NULL
 * after reporting it unknown (as a `what`: "class", "type"). */
comp_class *comp_class_ref(comp *C, const comp_module *from, const char *qs, uint32_t qlen,
                           const char *name, uint32_t len, uint32_t line, uint32_t col,
                           const char *what);
void comp_import(comp *C, const comp_token *name); /* `import name` in the current module */
void comp_order_modules(comp *C);

/* comp_class.c */
/* Links, orders and lays out the classes and resolves the functions'
 * types; false (reported) when the classes are too many for the image's
 * type ids, so nothing has a type to be checked against. */
bool comp_classes(comp *C);
int comp_resolve_type(comp *C, int t);
comp_class *comp_class_of(comp *C, int type);
bool comp_subclass(comp *C, int from, int to);
/* The interned array, map, function and cell types: a new one past the
 * image's type ids is an error reported at (line, col) (once), and CT_ERR. */
int comp_array_type(comp *C, int elem, uint32_t line, uint32_t col);
int comp_elem_of(comp *C, int type); /* -1 unless an array type */
int comp_map_type(comp *C, int key, int val, uint32_t line, uint32_t col);
bool comp_map_types(comp *C, int type, int *key, int *val);
int comp_elem_of_ctx(const void *C, uint32_t type); /* the same, for vm_natsig_find */
int comp_fn_type(comp *C, int ret, uint32_t nparams, const int *params, uint32_t line,
                 uint32_t col);
const struct comp_xtype *comp_fn_sig(comp *C, int type); /* NULL unless a function type */
int comp_cell_type(comp *C, int content, uint32_t line, uint32_t col);
/* A native signature letter's type ('S' is interned like comp_array_type). */
int comp_letter_type(comp *C, char c, uint32_t line, uint32_t col);
/* The type of parameter i of native `nat` (i == its parameter count: its
 * result): its letter's, or for 'T' the type its text names ("[Point]",
 * "{str: int}", "fn(int) -> str", "(int, str)", "util.Shape", "Box<int>",
 * names as the root module sees them, or qualified by any module of the
 * program); CT_ERR, reported at (line, col), when the text names none. */
int comp_native_type(comp *C, const vm_natsig *nat, uint32_t i, uint32_t line, uint32_t col);
/* vm_natsig_find's test of a 'T' parameter (ctx: the comp). */
bool comp_text_fits(const void *C, const char *text, uint32_t t);
int comp_find_slot(const comp_class *c, const char *name, uint32_t len);
int comp_find_field(const comp_class *c, const char *name, uint32_t len);

/* comp_generic.c */
/* The type parameter `name` of the instance being checked, or -1. */
int comp_subst_lookup(const comp *C, const char *name, uint32_t len);
/* Generic `fn` called with arguments `args` (checked) at `at`, with the
 * type arguments written explicitly (`explicit`, nexplicit of them, CT_NAMED
 * ids) or none: its instance, or NULL after reporting why there is none. */
/* Does type t satisfy the built-in interface `bound` (Eq, Ordered, Hash)? */
bool comp_satisfies(comp *C, int t, const struct comp_tparam *tp);
/* The interface a type parameter's bound names (not a built-in one), or
 * NULL; reported when `report`. */
struct comp_class *comp_bound_iface(comp *C, const struct comp_tparam *tp, bool report);
/* Hash: int, str, bool, and tuples and enums of Hash values (map keys) */
bool comp_hashable(comp *C, int t);
bool comp_known_bound(const char *bound, uint32_t blen);
bool comp_declares(const comp_class *c, const char *name);
/* Does class c (or a superclass) declare interface i? */
bool comp_implements(comp *C, const comp_class *c, const comp_class *i);
/* The wrapper class that makes a c an i (comp_class.is_iface). */
comp_class *comp_wrapper(comp *C, comp_class *i, comp_class *c);
comp_fn *comp_instantiate(comp *C, comp_fn *fn, comp_node *at, comp_node **args, uint32_t nargs,
                          const int *explicit, uint32_t nexplicit);
/* Generic class g with type arguments: `explicit` (nexplicit CT_NAMED ids,
 * as written at (line, col)), or inferred from constructor arguments
 * `args` when nexplicit is 0. Its instance's type, or CT_ERR reported. */
int comp_instantiate_class(comp *C, comp_class *g, uint32_t line, uint32_t col, comp_node **args,
                           uint32_t nargs, const int *explicit, uint32_t nexplicit);
/* The same, inferring from args against the parameter types ptypes (as
 * written in g): an enum variant's payload. */
int comp_instantiate_class_with(comp *C, comp_class *g, uint32_t line, uint32_t col,
                                comp_node **args, const int *ptypes, uint32_t np,
                                const int *explicit, uint32_t nexplicit);
/* comp_class.c: makes class c (an instance, its superclass placed) a
 * type, and lays it out now or, before comp_classes has laid out the
 * declared classes, right after them. */
void comp_place_class(comp *C, comp_class *c);
void comp_class_ready(comp *C, comp_class *c);
/* Does c's chain of superclasses come back to c? (Reported; the caller
 * then cuts it.) */
bool comp_inherits_itself(comp *C, const comp_class *c);
/* A template, or part of one: never checked or emitted itself. */
#define COMP_TEMPLATE_CLASS(c) ((c)->ntparams || (c)->lazy)
#define COMP_TEMPLATE_FN(f) \
    ((f)->ntparams || (f)->lazy || (f)->in_template || ((f)->cls && COMP_TEMPLATE_CLASS((f)->cls)))
/* Class c as a program names it where no type arguments can be written
 * (is, as, catch): a lazy class's instance, or NULL after reporting a
 * generic one. */
comp_class *comp_class_use(comp *C, comp_class *c, uint32_t line, uint32_t col);
comp_fn *comp_clone_fn(comp *C, const comp_fn *f, comp_fn ***lits, uint32_t *nlits, uint32_t *cap);
/* A checked call reaches `target`, in vtable slot `slot` of class `recv`
 * when it is virtual (else recv is NULL): the instance methods it may
 * run, target and those in that slot of recv's subclasses, get their
 * bodies now, to be checked and emitted. */
void comp_need_method(comp *C, comp_fn *target, const comp_class *recv, int slot);
/* f(xs, fn(x) { ... }) for a generic f: the function type argument i (a
 * literal without parameter types) is expected to have, in the type
 * arguments that the other arguments (already checked) bind; *infer when
 * its result type mentions a type parameter they do not bind (the
 * literal's first return gives it). -1 when they do not bind its
 * parameters' types. Explicit type arguments (f<int>(...)) bind theirs. */
int comp_literal_want(comp *C, const comp_fn *g, comp_node **args, uint32_t nargs, uint32_t i,
                      const int32_t *explicit, uint32_t nexplicit, bool *infer);
/* Instance class c is laid out: its methods that calls already reach
 * (through a superclass's slot) get their bodies. */
void comp_methods_laid_out(comp *C, comp_class *c);
void comp_resolve_sig(comp *C, comp_fn *f);

void comp_lex(comp *C);
void comp_parse(comp *C);
void comp_check(comp *C);
void comp_emit(comp *C, vm_image *im);

#endif
