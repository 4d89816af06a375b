/*
 * frame.h — the frame contract: how a call is laid out on a context's slot
 * stack, and the one walker every consumer uses (the interpreter's return
 * and unwind paths, the collector's root scan, stack traces; later the JIT,
 * snapshots and a debugger). Nothing else decodes frames.
 *
 * A frame is a record of VM_FRAME_SLOTS 64-bit slots followed by the
 * function's registers, and R, the address of register 0, names it:
 *
 *     R[-3]  fn      the frame's function (its runtime record)
 *     R[-2]  ret_pc  where the caller resumes: the instruction after its call
 *     R[-1]  dest    the caller's register that receives the result (32 bits)
 *            back    the caller's registers are at R - back (32 bits)
 *     R[0 .. nregs-1]  the registers, parameters first; reference
 *                      registers start null
 *
 * A callee's record starts right after its caller's last register, so a
 * stack is frames end to end, and `back` is the caller's register count
 * plus the record: three slots a frame, as many as a caller link, a return
 * pc and the function take, so the depth a stack allows is what it was
 * before frames had a contract. An entry frame — one the interpreter was
 * entered for from C (a run, kiln_call, a native calling back in) — has
 * dest == VM_FRAME_ENTRY: its result goes back to C, and back/ret_pc
 * record the frame that was interrupted (the native's caller, with the pc
 * of its CALLN), or back == 0 at the bottom of the stack. So one chain of links
 * runs through every frame of a context: the collector follows it to the
 * bottom; the unwinder and stack traces stop at the first entry frame,
 * where control returns to C.
 *
 * A pc in a frame (the context's saved pc for the innermost frame, ret_pc
 * for the others) points just past the instruction word being executed or
 * past the whole call: `pc - 1` is always inside the current instruction,
 * which is how handlers, line numbers and liveness are looked up.
 */
#ifndef KILN_FRAME_H
#define KILN_FRAME_H

#include "vm.h"

typedef struct vm_frame {
    vm_rtfunc *fn;
    const uint32_t *ret_pc;
    uint32_t dest;
    uint32_t back; /* 0: no caller (a stack holds fewer than 2^32 slots) */
} vm_frame;

enum { VM_FRAME_SLOTS = 3 };
#define VM_FRAME_ENTRY UINT32_MAX
_Static_assert(sizeof(vm_frame) == VM_FRAME_SLOTS * sizeof(vm_value), "frame record size");

/* The record of the frame whose registers start at R. */
static inline vm_frame *vm_frame_of(vm_value *R)
{
    return (vm_frame *)(R - VM_FRAME_SLOTS);
}

/* The registers of a frame pushed above the frame R of function f. */
static inline vm_value *vm_frame_next(vm_value *R, const vm_rtfunc *f)
{
    return R + f->nregs + VM_FRAME_SLOTS;
}

/* The caller of frame R (for an entry frame, the frame it interrupted), or
 * NULL at the bottom of the stack. */
static inline vm_value *vm_frame_caller(vm_value *R)
{
    uint32_t back = vm_frame_of(R)->back;
    return back ? R - back : NULL;
}

/* The caller of frame R when R is not an entry frame: where a return goes. */
static inline vm_value *vm_frame_return_to(vm_value *R)
{
    return R - vm_frame_of(R)->back;
}

/* The word index of the instruction a frame is at, from its pc. */
static inline uint32_t vm_frame_at(const vm_rtfunc *f, const uint32_t *pc)
{
    return (uint32_t)(pc - 1 - f->code);
}

/* A walk over a context's frames, innermost first:
 *
 *     for (vm_frame_iter it = vm_frames(ctx); it.R; vm_frames_step(&it))
 *         ... it.R, it.fn, it.pc ...
 *
 * it.entry is true for an entry frame: the last one to visit for walks
 * that stop where control returns to C (unwinding, traces). */
typedef struct vm_frame_iter {
    vm_value *R;
    vm_rtfunc *fn;
    const uint32_t *pc;
    bool entry;
} vm_frame_iter;

/* A walk starting at frame R, stopped at pc. */
static inline vm_frame_iter vm_frames_from(vm_value *R, const uint32_t *pc)
{
    vm_frame_iter it = {R, NULL, pc, false};
    if (R) {
        it.fn = vm_frame_of(R)->fn;
        it.entry = vm_frame_of(R)->dest == VM_FRAME_ENTRY;
    }
    return it;
}

static inline vm_frame_iter vm_frames(const vm_ctx *ctx)
{
    return vm_frames_from(ctx->frame, ctx->pc);
}

static inline void vm_frames_step(vm_frame_iter *it)
{
    *it = vm_frames_from(vm_frame_caller(it->R), vm_frame_of(it->R)->ret_pc);
}

#endif
