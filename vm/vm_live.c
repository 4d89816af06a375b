/*
 * vm_live.c — liveness of reference registers (see vm_live.h), a standard
 * backward dataflow over one verified function:
 *
 *   code ──decode──▶ per instruction: the reference registers it reads
 *                    (gen) and writes (kill), its successors
 *        ──solve───▶ live-in set of every instruction, iterated to a fixed
 *                    point from the last instruction to the first
 *        ──pack────▶ the distinct sets in a pool, a set index per code word
 *
 * Only reference registers are tracked: bit i of a set stands for the
 * i-th of them. What an instruction reads and writes comes from the
 * opcode table: an operand whose role names a register (its kind) is
 * read, except A when the flags say OPF_SETA; the roles whose registers
 * depend on the callee (a call's arguments and result, FNEW's captures)
 * count them from its signature. Successors come from the flags too: the
 * next instruction unless OPF_TERM, the target of the jump operand, and,
 * for OPF_THROW, the handler of every catch clause covering one of the
 * instruction's words (an exception edge):
 *
 *   in(i) = gen(i) ∪ ((in(i+1) ∪ in(target)) − kill(i))
 *                  ∪ ⋃ over covering clauses c: (in(c.handler) − {c.reg})
 *
 * An instruction that raises has written nothing, so an exception edge
 * is not cut by kill(i); the clause's register is written by the catch.
 * Sets only grow from empty, so the iteration ends; in reverse order each
 * pass carries liveness through straight code, and a loop costs a pass
 * per nesting level.
 */
#include <stdlib.h>
#include <string.h>

#include "vm_live.h"

#define NONE UINT32_MAX

/* The kind (VM_OPND_*) of each operand of each opcode: the two tables
 * folded into one at compile time, since decoding is most of the work. */
enum {
#define ROLE(name, kind, doc) KIND_##name = VM_OPND_##kind,
#include "roles.h"
#undef ROLE
};
static const uint8_t KINDS[OP__COUNT][4] = {
#define OP(name, fmt, a, b, c, x, flags, doc) {KIND_##a, KIND_##b, KIND_##c, KIND_##x},
#include "opcodes.h"
#undef OP
};

/* A catch clause, for the exception edges. The backward pass opens it at
 * the last instruction it covers and closes it past the first, so an
 * instruction looks only at the clauses covering it. */
typedef struct clause {
    uint32_t handler;    /* instruction */
    uint32_t bit;        /* the bit of the register it writes, or NONE */
    uint32_t next_open;  /* the next clause opening at the same instruction, + 1 */
    uint32_t next_close; /* the next clause closing at the same instruction, + 1 */
    uint32_t pos;        /* its place in `active` while open */
} clause;

typedef struct solver {
    const vm_image *im;
    const vm_func *f;
    uint32_t nregs;              /* f->nregs, at most KILN_MAX_REGS (the image's limit) */
    uint32_t nrefs, nw;          /* tracked registers; 64-bit words per set */
    uint16_t bit[KILN_MAX_REGS]; /* register -> its bit + 1, 0 if not a reference */
    uint32_t n;                  /* instructions */
    bool backward;               /* a successor comes before its instruction: iterate */
    /* Scratch, one allocation, sized by ncode (at least n): */
    uint64_t *gen, *kill; /* a set (nw words) per instruction */
    uint64_t *in;         /* the same, and after the last one every register */
    uint32_t *start;      /* the first word of each instruction */
    uint32_t *target;     /* its jump target's instruction, or NONE */
    uint32_t *set_of;     /* ncode + 1: its set among the distinct ones (n: every register) */
    uint32_t *ins_of;     /* the instruction of each word */
    uint32_t *slots;      /* nslots: hash table of distinct sets, an instruction + 1 (0: empty) */
    size_t nslots;
    uint32_t *first;           /* ncode + 1: the first instruction of each distinct set */
    uint32_t *opens, *closes;  /* per instruction: its first clause opening / closing, + 1 */
    clause *cl;                /* nhandlers */
    uint32_t *active, nactive; /* the open clauses */
} solver;

/* a * b into *r, false if it does not fit in size_t */
static bool mul_size(size_t a, size_t b, size_t *r)
{
    if (b && a > SIZE_MAX / b)
        return false;
    *r = a * b;
    return true;
}

/* Lays out `count` elements of `size` bytes after the *used bytes of a
 * block: their offset in *off; false if the block's size overflows. */
static bool reserve(size_t *used, size_t count, size_t size, size_t *off)
{
    size_t bytes;
    if (!mul_size(count, size, &bytes) || *used > SIZE_MAX - bytes)
        return false;
    *off = *used;
    *used += bytes;
    return true;
}

/* The scratch of s in one zeroed block (the caller frees s->gen); false
 * when its size overflows or memory runs out. The 64-bit arrays come
 * first, then the 32-bit ones, then bytes, so each is aligned. */
static bool alloc_scratch(solver *s)
{
    size_t ncode = s->f->ncode, nh = s->f->nhandlers, used = 0, sets, o[13];
    s->nslots = 16;
    while (s->nslots < 2 * (ncode + 1))
        s->nslots *= 2;
    if (!mul_size(ncode, s->nw, &sets) || !reserve(&used, sets, 8, &o[0]) ||
        !reserve(&used, sets, 8, &o[1]) || !reserve(&used, ncode + 1, 8 * s->nw, &o[2]) ||
        !reserve(&used, ncode, 4, &o[3]) || !reserve(&used, ncode, 4, &o[4]) ||
        !reserve(&used, ncode + 1, 4, &o[5]) || !reserve(&used, ncode, 4, &o[6]) ||
        !reserve(&used, s->nslots, 4, &o[7]) || !reserve(&used, ncode + 1, 4, &o[8]) ||
        !reserve(&used, ncode, 4, &o[9]) || !reserve(&used, ncode, 4, &o[10]) ||
        !reserve(&used, nh, sizeof(clause), &o[11]) || !reserve(&used, nh, 4, &o[12]))
        return false;
    char *b = calloc(used, 1);
    if (!b)
        return false;
    s->gen = (uint64_t *)(b + o[0]);
    s->kill = (uint64_t *)(b + o[1]);
    s->in = (uint64_t *)(b + o[2]);
    s->start = (uint32_t *)(b + o[3]);
    s->target = (uint32_t *)(b + o[4]);
    s->set_of = (uint32_t *)(b + o[5]);
    s->ins_of = (uint32_t *)(b + o[6]);
    s->slots = (uint32_t *)(b + o[7]);
    s->first = (uint32_t *)(b + o[8]);
    s->opens = (uint32_t *)(b + o[9]);
    s->closes = (uint32_t *)(b + o[10]);
    s->cl = (clause *)(b + o[11]);
    s->active = (uint32_t *)(b + o[12]);
    return true;
}

static void add_reg(const solver *s, uint64_t *set, uint32_t r)
{
    if (r < s->nregs && s->bit[r]) {
        uint32_t b = s->bit[r] - 1u;
        set[b >> 6] |= (uint64_t)1 << (b & 63);
    }
}

/* What a call (or FNEW) takes from its callee's signature. */
typedef struct callee {
    uint32_t nparams, ncaps;
    bool result; /* the callee returns a value, written to A */
} callee;

/* The callee named by the operands of `op`: a function, a method slot of
 * B's class, a function type (CALLF) or a native. */
static callee callee_of(const solver *s, uint32_t op, const uint32_t v[4])
{
    const vm_image *im = s->im;
    const vm_func *g = NULL;
    callee c = {0, 0, false};
    for (int i = 1; i < 4; i++) {
        switch (KINDS[op][i]) {
        case VM_OPND_FUNC: g = &im->funcs[v[i]]; break;
        case VM_OPND_SLOT: g = &im->funcs[vm_class_of(im, s->f->types[v[1]])->slots[v[i]]]; break;
        case VM_OPND_NATIVE:
            c.nparams = im->natives[v[i]].nparams;
            c.result = im->natives[v[i]].ret != VM_T_VOID;
            break;
        case VM_OPND_TYPE: {
            const vm_type *t = vm_fn_type(im, v[i]); /* NULL: an array or map type */
            if (t) {
                c.nparams = VM_FN_NPARAMS(t->a);
                c.result = VM_FN_RET(t->a) != VM_T_VOID;
            }
            break;
        }
        default: break;
        }
    }
    if (g) {
        c.nparams = g->nparams;
        c.ncaps = g->ncaps;
        c.result = g->ret != VM_T_VOID;
    }
    return c;
}

/* gen and kill of the instruction `op` at word pc with operands v, from
 * its roles and flags; its jump target's word, or NONE. */
static uint32_t effects(const solver *s, uint32_t op, uint32_t pc, const uint32_t v[4],
                        uint64_t *gen, uint64_t *kill)
{
    callee c = {0, 0, false};
    bool known = false; /* c */
    uint32_t target = NONE;
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t r = v[i];
        int kind = KINDS[op][i];
        if (kind >= VM_OPND_RESULT && kind <= VM_OPND_PACKED && !known) {
            c = callee_of(s, op, v);
            known = true;
        }
        switch (kind) {
        case VM_OPND_REG:
            add_reg(s, i == 0 && (vm_ops[op].flags & OPF_SETA) ? kill : gen, r);
            break;
        case VM_OPND_RESULT: /* a callee without result leaves R[A] (A is 0) alone */
            if (c.result)
                add_reg(s, kill, r);
            break;
        case VM_OPND_FNARGS: /* the function value, then its arguments */
            add_reg(s, gen, r++);
            /* fall through */
        case VM_OPND_ARGS:
            for (uint32_t k = 0; k < c.nparams; k++)
                add_reg(s, gen, r + k);
            break;
        case VM_OPND_CAPS:
            for (uint32_t k = 0; k < c.ncaps; k++)
                add_reg(s, gen, r + k);
            break;
        case VM_OPND_PARG: /* B passes parameter 0, C parameter 1 */
            if (i - 1 < c.nparams)
                add_reg(s, gen, r);
            break;
        case VM_OPND_PACKED: /* a byte per argument after the receiver */
            for (uint32_t k = 0; k + 1 < c.nparams && k < 4; k++)
                add_reg(s, gen, (r >> (8 * k)) & 0xffu);
            break;
        case VM_OPND_JUMP: /* modulo 2^32: a backward offset too */
            target = pc + VM_INS_WORDS(op) + r;
            break;
        default: break;
        }
    }
    return target;
}

/* Finds the instructions, their gen and kill sets and jump targets, and
 * whether any successor comes first (a loop, or a handler placed before
 * what it covers). */
static void decode(solver *s)
{
    const vm_func *f = s->f;
    uint32_t i = 0;
    for (uint32_t pc = 0; pc < f->ncode; i++) {
        uint32_t op = INS_OP(f->code[pc]), words = VM_INS_WORDS(op), v[4];
        vm_ins_operands(op, &f->code[pc], v);
        s->start[i] = pc;
        s->target[i] = effects(s, op, pc, v, &s->gen[(size_t)i * s->nw],
                               &s->kill[(size_t)i * s->nw]); /* a word, for now */
        for (uint32_t k = 0; k < words; k++)
            s->ins_of[pc + k] = i;
        pc += words;
    }
    s->n = i;
    for (i = 0; i < s->n; i++)
        if (s->target[i] != NONE && (s->target[i] = s->ins_of[s->target[i]]) <= i)
            s->backward = true;
    for (uint32_t h = 0; h < f->nhandlers; h++) {
        const vm_handler *c = &f->handlers[h];
        clause *k = &s->cl[h];
        k->handler = s->ins_of[c->handler];
        k->bit = c->reg < s->nregs && s->bit[c->reg] ? s->bit[c->reg] - 1u : NONE;
        if (c->end <= c->start)
            continue; /* covers nothing */
        uint32_t first = s->ins_of[c->start], last = s->ins_of[c->end - 1];
        k->next_open = s->opens[last];
        s->opens[last] = h + 1;
        k->next_close = s->closes[first];
        s->closes[first] = h + 1;
        if (k->handler <= last)
            s->backward = true;
    }
}

/* Word w of what the exception edges of an instruction carry: what the
 * handler of each open clause needs but the error the clause stores. */
static uint64_t caught(const solver *s, uint32_t w)
{
    uint64_t o = 0;
    for (uint32_t a = 0; a < s->nactive; a++) {
        const clause *k = &s->cl[s->active[a]];
        o |= s->in[(size_t)k->handler * s->nw + w] &
             ~(k->bit != NONE && w == k->bit >> 6 ? (uint64_t)1 << (k->bit & 63) : 0);
    }
    return o;
}

/* One backward pass over every instruction; true if a set grew. */
static bool pass(solver *s)
{
    const uint32_t nw = s->nw;
    const bool clauses = s->f->nhandlers != 0;
    bool changed = false;
    s->nactive = 0;
    for (uint32_t i = s->n; i-- > 0;) {
        for (uint32_t h = clauses ? s->opens[i] : 0; h; h = s->cl[h - 1].next_open) {
            s->cl[h - 1].pos = s->nactive;
            s->active[s->nactive++] = h - 1;
        }
        uint16_t flags = vm_ops[INS_OP(s->f->code[s->start[i]])].flags;
        size_t at = (size_t)i * nw;
        const uint64_t *next = !(flags & OPF_TERM) && i + 1 < s->n ? &s->in[at + nw] : NULL;
        const uint64_t *jump = s->target[i] != NONE ? &s->in[(size_t)s->target[i] * nw] : NULL;
        bool throws = (flags & OPF_THROW) && s->nactive;
        for (uint32_t w = 0; w < nw; w++) {
            uint64_t o = (next ? next[w] : 0) | (jump ? jump[w] : 0);
            o = s->gen[at + w] | (o & ~s->kill[at + w]);
            if (throws)
                o |= caught(s, w);
            changed |= o != s->in[at + w];
            s->in[at + w] = o;
        }
        for (uint32_t h = clauses ? s->closes[i] : 0; h; h = s->cl[h - 1].next_close) {
            uint32_t p = s->cl[h - 1].pos; /* the last open one takes its place */
            s->active[p] = s->active[--s->nactive];
            s->cl[s->active[p]].pos = p;
        }
    }
    return changed;
}

/* ---- Packing: the distinct sets, found through a hash table ---- */

static bool same_set(const uint64_t *a, const uint64_t *b, uint32_t nw)
{
    for (uint32_t w = 0; w < nw; w++)
        if (a[w] != b[w])
            return false;
    return true;
}

/* The distinct set that set i of s->in is (i == n: every register),
 * adding it when new. */
static uint32_t intern(solver *s, uint32_t i, uint32_t *nsets)
{
    const uint64_t *set = &s->in[(size_t)i * s->nw];
    uint64_t h = 0;
    for (uint32_t w = 0; w < s->nw; w++)
        h = (h ^ set[w]) * 0x9e3779b97f4a7c15u; /* Fibonacci hashing */
    size_t k = (size_t)(h >> 32) & (s->nslots - 1);
    for (; s->slots[k]; k = (k + 1) & (s->nslots - 1)) {
        uint32_t j = s->slots[k] - 1;
        if (same_set(&s->in[(size_t)j * s->nw], set, s->nw))
            return s->set_of[j];
    }
    s->slots[k] = i + 1;
    s->set_of[i] = *nsets;
    s->first[*nsets] = i;
    return (*nsets)++;
}

/* The distinct sets into *out (whose ncode, nrefs and setbytes are set):
 * set 0 every reference register, then the instructions' live-in sets,
 * as bytes. One block: at, then the sets, then refs. */
static bool pack(solver *s, vm_live *out)
{
    const uint32_t nb = out->setbytes, nw = s->nw;
    uint64_t *all = &s->in[(size_t)s->n * nw];
    uint32_t nsets = 0;
    for (uint32_t r = 0; r < s->nrefs; r++)
        all[r >> 6] |= (uint64_t)1 << (r & 63);
    intern(s, s->n, &nsets);
    for (uint32_t i = 0; i < s->n; i++) /* the same set as the previous instruction: common */
        s->set_of[i] = i && same_set(&s->in[(size_t)i * nw], &s->in[(size_t)(i - 1) * nw], nw)
                           ? s->set_of[i - 1]
                           : intern(s, i, &nsets);
    size_t used = 0, o_at, o_sets, o_refs;
    if (!reserve(&used, out->ncode, 4, &o_at) || !reserve(&used, nsets, nb, &o_sets) ||
        !reserve(&used, out->nrefs, 1, &o_refs))
        return false;
    char *b = malloc(used);
    if (!b)
        return false;
    out->at = (uint32_t *)(b + o_at);
    out->sets = (uint8_t *)(b + o_sets);
    out->refs = (uint8_t *)(b + o_refs);
    out->nsets = nsets;
    for (uint32_t w = 0; w < out->ncode; w++)
        out->at[w] = s->set_of[s->ins_of[w]];
    for (uint32_t k = 0; k < nsets; k++) {
        const uint64_t *set = &s->in[(size_t)s->first[k] * nw];
        for (uint32_t j = 0; j < nb; j++)
            out->sets[(size_t)k * nb + j] = (uint8_t)(set[j >> 3] >> (8 * (j & 7)));
    }
    for (uint32_t r = 0; r < s->nregs; r++)
        if (s->bit[r])
            out->refs[s->bit[r] - 1] = (uint8_t)r;
    return true;
}

bool vm_live_build(const vm_image *im, const vm_func *f, vm_live *out)
{
    memset(out, 0, sizeof *out);
    solver s; /* not zeroed whole: only bit[0 .. nregs-1] is ever read */
    s.im = im;
    s.f = f;
    s.nregs = f->nregs < KILN_MAX_REGS ? f->nregs : KILN_MAX_REGS;
    s.nrefs = 0;
    s.backward = false;
    for (uint32_t r = 0; r < s.nregs; r++)
        s.bit[r] = VM_T_ISREF(f->types[r]) ? (uint16_t)++s.nrefs : 0;
    if (s.nrefs == 0 || f->ncode == 0) {
        out->ncode = f->ncode;
        return true; /* nothing to track: every set is empty */
    }
    s.nw = (s.nrefs + 63) / 64;
    if (!alloc_scratch(&s))
        return false;
    decode(&s);
    /* in reverse order one pass is enough when every successor comes
     * later; otherwise until nothing grows */
    while (pass(&s) && s.backward)
        ;
    out->ncode = f->ncode;
    out->nrefs = (uint16_t)s.nrefs;
    out->setbytes = (uint16_t)((s.nrefs + 7) / 8);
    bool ok = pack(&s, out);
    free(s.gen);
    if (!ok)
        memset(out, 0, sizeof *out);
    return ok;
}

const uint8_t *vm_live_at(const vm_live *l, uint32_t word)
{
    static const uint8_t EMPTY[1];
    if (!l->at)
        return EMPTY; /* no reference registers */
    return l->sets + (size_t)(word < l->ncode ? l->at[word] : 0) * l->setbytes;
}

void vm_live_free(vm_live *l)
{
    free(l->at);
    memset(l, 0, sizeof *l);
}
