/*
 * vm_live.h — which reference registers of a function are live at each
 * instruction, computed once at load time from verified bytecode, so that
 * the collector marks only those of a frame: a dead temporary is never a
 * root (ARCHITECTURE.md decision 1).
 *
 * A register is live at an instruction when the instruction or one after
 * it (along any path: fall-through, jumps, and exception edges into catch
 * handlers) may read its value before writing it. The set of an
 * instruction is its live-in set: what it reads, plus what is live after
 * it minus what it writes (it writes its results last, after anything
 * that may collect), plus what a catch handler covering it needs (an
 * instruction that raises has written nothing). So the set is right for a
 * collection at any moment of the instruction: an allocation (CONCAT's B
 * and C are in it), a call it waits in (the call's arguments are, its
 * result register is not), or the error object made when it raises.
 *
 * The collector's root scan of a frame of function f, stopped with the
 * interpreter's pc pointer `pc`:
 *
 *     const uint8_t *set = vm_live_at(l, (uint32_t)(pc - 1 - f->code));
 *     for (uint32_t i = 0; i < l->nrefs; i++)
 *         if (vm_live_has(set, i))
 *             gc_mark(h, R[l->refs[i]].p);
 *
 * where pc points just past the opcode word of the instruction being
 * executed, or past its X word, or (a frame waiting for its callee) just
 * past the CALL: word pc - 1 - f->code belongs to that instruction in
 * every case. (Not so at a back-edge poll, where pc already points at the
 * jump's target: polls do not collect today; if one ever does, it must
 * pass the branch's word.)
 */
#ifndef KILN_VM_LIVE_H
#define KILN_VM_LIVE_H

#include "image.h"

/* The live sets of one function. refs, at and sets are one allocation. */
typedef struct vm_live {
    uint32_t ncode;    /* words of the function's code */
    uint16_t nrefs;    /* its reference registers: the bits of a set */
    uint16_t setbytes; /* bytes of a set: (nrefs + 7) / 8 */
    uint32_t nsets;    /* distinct sets; set 0 holds every reference register */
    uint32_t *at;      /* ncode: the set of the instruction of each word */
    uint8_t *sets;     /* nsets * setbytes: bit i (byte i / 8, bit i % 8) is refs[i] */
    uint8_t *refs;     /* nrefs: the reference registers, ascending */
} vm_live;

/* vm_live_build: computes the live sets of function `f` of image `im`,
 * which vm_verify must have accepted (the analysis trusts every operand),
 * into *out. Returns false, with *out empty, only when memory runs out.
 * Release with vm_live_free. Cost: about 25 ns a code word (the AWFY
 * harness, 8,400 words in 623 functions: 0.2 ms, half of loading its
 * image), and the result takes 4 bytes a word; a collector may as well
 * build a function's sets the first time it meets one of its frames. */
bool vm_live_build(const vm_image *im, const vm_func *f, vm_live *out);

/* vm_live_at: the set of the instruction containing code word `word`
 * (setbytes bytes, a bit per reference register). A word past the code
 * gets set 0, every reference register: never less than the truth. */
const uint8_t *vm_live_at(const vm_live *l, uint32_t word);

/* vm_live_has: is bit i (register refs[i]) in `set`? */
static inline bool vm_live_has(const uint8_t *set, uint32_t i)
{
    return (set[i >> 3] >> (i & 7)) & 1u;
}

/* vm_live_free: releases what vm_live_build allocated; *l becomes empty
 * (freeing an empty one does nothing). */
void vm_live_free(vm_live *l);

#endif
