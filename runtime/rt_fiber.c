/*
 * rt_fiber.c — fibers: each an execution context (vm_ctx: slot stack,
 * frames, pending error) and a machine stack of its own, switched by a
 * few instructions that save the callee-saved registers and the stack
 * pointer. A fiber runs until it blocks (a channel, join, sleep); the
 * scheduler then runs the next runnable fiber, in the order they became
 * runnable (FIFO), or, when none is, the VM's libuv loop until a timer or
 * an I/O completion makes one runnable. Nothing runnable and nothing
 * pending on the loop is a deadlock: the main program gets DeadlockError.
 *
 * The main program is a fiber too, the VM's own context (vm->main) on the
 * stack of whoever called kiln_run. When it ends, the run ends: fibers
 * still alive are resumed one by one with RT_CANCEL, which no catch
 * clause takes, so their frames (and any native in them) unwind, and they
 * end. A fiber's uncaught error stays in its Fiber for join() to throw
 * again; one that no join took becomes the run's error (rt_fiber_end).
 *
 * Under AddressSanitizer and ThreadSanitizer the switches are announced
 * to them (they follow one stack per thread otherwise).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <uv.h>

#include "../vm/frame.h"
#include "rt.h"

#if defined(__SANITIZE_ADDRESS__)
#define KILN_ASAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_ASAN_FIBERS 1
#endif
#endif
#ifdef KILN_ASAN_FIBERS
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
#endif

/* ---- The switch ----
 * rt_switch(&from->sp, to->sp): pushes the callee-saved registers and the
 * floating-point control words on the current stack, stores the stack
 * pointer in *from, loads `to` and pops its registers: it returns on the
 * other stack, where that fiber called rt_switch (or, the first time, in
 * rt_boot). */
#if defined(__x86_64__) && !defined(KILN_FIBER_UCONTEXT)
void rt_switch(void **from, void *to);
void rt_boot(void);
__asm__(".text\n"
        ".globl rt_switch\n"
        ".hidden rt_switch\n"
        ".type rt_switch,@function\n"
        "rt_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $8, %rsp\n"
        "    stmxcsr (%rsp)\n"
        "    fnstcw 4(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    ldmxcsr (%rsp)\n"
        "    fldcw 4(%rsp)\n"
        "    addq $8, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size rt_switch, .-rt_switch\n"
        /* A new fiber's first switch returns here: r12 holds the fiber,
         * r13 the function to call with it (which never returns). */
        ".globl rt_boot\n"
        ".hidden rt_boot\n"
        ".type rt_boot,@function\n"
        "rt_boot:\n"
        "    movq %r12, %rdi\n"
        "    callq *%r13\n"
        "    ud2\n"
        ".size rt_boot, .-rt_boot\n");
#define RT_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

enum { F_NEW, F_RUNNABLE, F_RUNNING, F_BLOCKED, F_DONE };
/* Why a fiber was resumed, besides the wake it waited for. */
enum { W_NONE, W_CANCEL, W_DEADLOCK, W_END };

typedef struct rt_fiber {
    vm_ctx ctx; /* its own context (the main program's is the VM's) */
    vm_ctx *X;  /* &ctx, or the VM's main context */
    kiln_vm *vm;
    void *sp;                     /* its stack pointer while another runs */
    char *mem;                    /* its machine stack, the guard page at the bottom */
    size_t mem_len;               /* 0: the main program's (the caller's stack) */
    struct rt_fiber *next;        /* the run queue */
    struct rt_fiber *live_next;   /* every fiber not yet ended (rt_sched.live) */
    struct rt_fiber *failed_next; /* ended with an error, Fiber alive (rt_sched.failed) */
    vm_fiberobj *obj;             /* its Fiber */
    vm_closure *fn;               /* what it runs, until it starts */
    vm_inst *error;               /* its uncaught error, once ended */
    char *trace;                  /* ... and where it was thrown */
    struct rt_fiber *joiner;      /* fibers waiting in join, through join_next */
    struct rt_fiber *join_next;
    uint64_t wake_at; /* sleeping: the loop's time (ms) it wakes at */
    uint32_t heap_at; /* sleeping: its place in the sleepers' heap + 1 */
    uint32_t id;
    uint8_t state, wake;
    bool joined, main;
    bool cancelled;  /* resumed to end (RT_CANCEL): it runs no more guest code */
    size_t charged;  /* bytes counted toward the heap limit */
    size_t slot_top; /* bytes of its slot stack in use when last charged */
#ifndef RT_ASM_SWITCH
    ucontext_t uc;
#endif
#ifdef KILN_ASAN_FIBERS
    const void *asan_lo; /* its stack, as AddressSanitizer is told */
    size_t asan_size;
    void *asan_fake;
#endif
#ifdef __SANITIZE_THREAD__
    void *tsan;
#endif
} rt_fiber;

typedef struct rt_sched {
    uv_loop_t own;    /* the VM's loop, unless the host gave one */
    uv_loop_t *L;     /* the loop in use: &own or kiln_config.loop */
    uv_timer_t timer; /* the first sleeper's wake-up */
    uv_timer_t poll;  /* while the loop waits: interrupts and the deadline */
    rt_fiber main;
    rt_fiber *cur;
    rt_fiber *head, *tail; /* runnable, in order */
    rt_fiber *live;        /* started or not, not ended */
    rt_fiber *dead;        /* ended: its stacks are unmapped by the next to run */
    rt_fiber *failed;      /* ended with an error, newest first */
    rt_fiber *prev;        /* the fiber the last switch left */
    rt_fiber **sleepers;   /* a binary heap by wake_at */
    uint32_t nsleepers, sleepers_cap;
    uint32_t next_id;
    uint32_t spins; /* switches since the loop was last looked at */
    rt_kept *kept;  /* handles open past their objects (rt_io_keep) */
    int end_kind;   /* W_END: what the main program raises */
    char end_msg[sizeof(((vm_ctx *)0)->err_msg)];
} rt_sched;

/* What the heap limit is charged for a fiber (the pages of its stacks it
 * touches, about). Its machine stack is vm->cfg.fiber_stack bytes. */
enum { FIBER_CHARGE = 16 << 10 };
/* Longest wait of the loop between looks at kiln_interrupt's flag and
 * the deadline, in milliseconds. */
enum { POLL_MS = 4 };

/* ---- The run queue ---- */

static void push(rt_sched *S, rt_fiber *f, bool front)
{
    f->state = F_RUNNABLE;
    f->next = NULL;
    if (!S->head) {
        S->head = S->tail = f;
    } else if (front) {
        f->next = S->head;
        S->head = f;
    } else {
        S->tail->next = f;
        S->tail = f;
    }
}

static rt_fiber *pop(rt_sched *S)
{
    rt_fiber *f = S->head;
    if (f && !(S->head = f->next))
        S->tail = NULL;
    return f;
}

/* Makes a waiting fiber runnable; one already runnable or running is left
 * where it is. */
static void wake(rt_sched *S, rt_fiber *f)
{
    if (f->state == F_BLOCKED)
        push(S, f, false);
}

/* ---- Sleepers: a binary heap on wake_at ---- */

static bool earlier(const rt_fiber *a, const rt_fiber *b)
{
    return a->wake_at < b->wake_at || (a->wake_at == b->wake_at && a->id < b->id);
}

static void heap_set(rt_sched *S, uint32_t i, rt_fiber *f)
{
    S->sleepers[i] = f;
    f->heap_at = i + 1;
}

static void sift(rt_sched *S, uint32_t i)
{
    rt_fiber *f = S->sleepers[i];
    while (i > 0 && earlier(f, S->sleepers[(i - 1) / 2])) {
        heap_set(S, i, S->sleepers[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        const rt_fiber *best = f;
        if (l < S->nsleepers && earlier(S->sleepers[l], best))
            best = S->sleepers[m = l];
        if (r < S->nsleepers && earlier(S->sleepers[r], best))
            m = r;
        if (m == i)
            break;
        heap_set(S, i, S->sleepers[m]);
        i = m;
    }
    heap_set(S, i, f);
}

static void unsleep(rt_sched *S, rt_fiber *f)
{
    if (!f->heap_at)
        return;
    uint32_t i = f->heap_at - 1;
    f->heap_at = 0;
    rt_fiber *last = S->sleepers[--S->nsleepers];
    if (i < S->nsleepers) {
        S->sleepers[i] = last;
        sift(S, i);
    }
}

static void arm(rt_sched *S);

static void on_timer(uv_timer_t *t)
{
    rt_sched *S = t->data;
    uint64_t now = uv_now(S->L);
    while (S->nsleepers && S->sleepers[0]->wake_at <= now) {
        rt_fiber *f = S->sleepers[0];
        unsleep(S, f);
        wake(S, f);
    }
    arm(S);
}

static void arm(rt_sched *S)
{
    if (!S->nsleepers) {
        uv_timer_stop(&S->timer);
        return;
    }
    uint64_t now = uv_now(S->L), at = S->sleepers[0]->wake_at;
    uv_timer_start(&S->timer, on_timer, at > now ? at - now : 0, 0);
}

static void on_poll(uv_timer_t *t)
{
    (void)t; /* uv_run returns: the scheduler looks at the limits */
}

/* One turn of the loop. Its callbacks may be the host's (kiln_config.loop):
 * while it turns, the API refuses to run guest code or to free or reset the
 * VM (vm->in_loop), as libuv's loop is not reentrant. */
static void turn(kiln_vm *vm, uv_loop_t *L, uv_run_mode mode)
{
    rt_nopipe np; /* libuv writes what sockets still have to send */
    rt_nopipe_begin(&np);
    vm->in_loop++;
    uv_run(L, mode);
    vm->in_loop--;
    rt_nopipe_end(&np);
}

/* ---- Making the scheduler and fibers ---- */

static rt_sched *sched(kiln_vm *vm)
{
    if (vm->sched)
        return vm->sched;
    rt_sched *S = calloc(1, sizeof *S);
    if (S)
        S->L = vm->cfg.loop ? (uv_loop_t *)vm->cfg.loop : &S->own;
    if (!S || (S->L == &S->own && uv_loop_init(S->L) != 0)) {
        free(S);
        rt_raise(vm, RT_ERR_OOM, "out of memory: no event loop for fibers");
        return NULL;
    }
    uv_timer_init(S->L, &S->timer);
    uv_timer_init(S->L, &S->poll);
    uv_unref((uv_handle_t *)&S->poll); /* it keeps no fiber waiting */
    S->timer.data = S;
    S->main.X = &vm->main;
    S->main.vm = vm;
    S->main.state = F_RUNNING;
    S->main.main = true;
    S->next_id = 1;
#ifdef __SANITIZE_THREAD__
    S->main.tsan = __tsan_get_current_fiber();
#endif
    S->cur = &S->main;
    vm->sched = S;
    return S;
}

static vm_fiberobj *new_object(kiln_vm *vm, rt_fiber *f)
{
    if (!vm->fiber_class) {
        rt_raise(vm, RT_ERR_ERROR, "this program has no class Fiber");
        return NULL;
    }
    vm_fiberobj *o = (vm_fiberobj *)vm_alloc(vm, sizeof *o, VM_OBJ_FIBER, "a fiber");
    if (!o)
        return NULL;
    o->cls = vm->fiber_class;
    o->f = f;
    f->obj = o;
    return o;
}

static void boot(rt_fiber *f);

/* The machine stack: a guard page below FIBER_STACK bytes, and the first
 * frame of rt_boot on top of it. */
static bool make_stack(rt_fiber *f)
{
    long page = 4096;
    size_t size = f->vm->cfg.fiber_stack, len = size + (size_t)page;
    char *m =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return false;
    if (mprotect(m, (size_t)page, PROT_NONE) != 0) {
        munmap(m, len);
        return false;
    }
    f->mem = m;
    f->mem_len = len;
    vm_ctx *X = f->X;
    X->c_thread = 0; /* jit_thread_enter: set when it starts (this thread) */
    X->c_lo = (uintptr_t)m + (uintptr_t)page;
    X->c_hi = (uintptr_t)m + len;
#ifdef RT_ASM_SWITCH
    /* rt_switch pops the control words, six registers, then returns to
     * rt_boot with the stack 16-byte aligned, so that its call gives boot
     * the alignment of any function's entry. */
    uint64_t *sp = (uint64_t *)(((uintptr_t)m + len) & ~(uintptr_t)15);
    *--sp = (uint64_t)rt_boot; /* return address */
    *--sp = 0;                 /* rbp */
    *--sp = 0;                 /* rbx */
    *--sp = (uint64_t)f;       /* r12: the fiber */
    *--sp = (uint64_t)boot;    /* r13: what rt_boot calls */
    *--sp = 0;                 /* r14 */
    *--sp = 0;                 /* r15 */
    *--sp = 0x037F00001F80ull; /* mxcsr 0x1F80, x87 control word 0x037F */
    f->sp = sp;
#else
    if (getcontext(&f->uc) != 0) {
        munmap(m, len);
        return false;
    }
    f->uc.uc_stack.ss_sp = m + page;
    f->uc.uc_stack.ss_size = size;
    f->uc.uc_link = NULL;
    makecontext(&f->uc, (void (*)(void))boot, 1, f);
#endif
#ifdef KILN_ASAN_FIBERS
    f->asan_lo = m + page;
    f->asan_size = size;
#endif
#ifdef __SANITIZE_THREAD__
    f->tsan = __tsan_create_fiber(0);
#endif
    return true;
}

/* What a fiber holds besides its object, once it has ended (or at the
 * end of a run for one that never started): its stacks and its charge. */
static void drop_stacks(kiln_vm *vm, rt_fiber *f)
{
    if (f->mem) {
#ifdef KILN_ASAN_FIBERS
        /* its frames' redzones stay in the shadow memory unless cleared:
         * the next mapping at this address would inherit them */
        __asan_unpoison_memory_region(f->mem, f->mem_len);
#endif
        munmap(f->mem, f->mem_len);
        f->mem = NULL;
    }
#ifdef __SANITIZE_THREAD__
    if (f->tsan) {
        __tsan_destroy_fiber(f->tsan);
        f->tsan = NULL;
    }
#endif
    vm_ctx_free(&f->ctx);
    gc_roots_free(&f->ctx.roots);
    gc_release(&vm->heap, f->charged);
    f->charged = 0;
}

int rt_fiber_spawn(kiln_vm *vm, vm_closure *fn, vm_value *out)
{
    rt_sched *S = sched(vm);
    if (!S)
        return -1;
    if (!gc_reserve(&vm->heap, FIBER_CHARGE)) {
        rt_raise(vm, RT_ERR_OOM, "out of memory making a fiber: the heap limit is %zu bytes",
                 vm->heap.limit);
        return -1;
    }
    rt_fiber *f = calloc(1, sizeof *f);
    if (!f) {
        gc_release(&vm->heap, FIBER_CHARGE);
        rt_raise(vm, RT_ERR_OOM, "out of memory making a fiber");
        return -1;
    }
    f->charged = FIBER_CHARGE;
    f->vm = vm;
    f->X = &f->ctx;
    gc_roots_init(&f->ctx.roots, KILN_MAX_ROOTS);
    if (!vm_ctx_init(&f->ctx) || !make_stack(f)) {
        drop_stacks(vm, f);
        free(f);
        rt_raise(vm, RT_ERR_OOM, "out of memory making a fiber's stacks");
        return -1;
    }
    f->fn = fn;
    f->id = S->next_id++;
    f->state = F_NEW;
    /* Live (a root) before its object is made, which may collect. */
    f->live_next = S->live;
    S->live = f;
    vm_fiberobj *o = new_object(vm, f);
    if (!o) {
        S->live = f->live_next;
        drop_stacks(vm, f);
        free(f);
        return -1;
    }
    push(S, f, false);
    out->p = &o->obj;
    return 0;
}

vm_fiberobj *rt_fiber_current(kiln_vm *vm)
{
    rt_sched *S = sched(vm);
    if (!S)
        return NULL;
    return S->cur->obj ? S->cur->obj : new_object(vm, S->cur);
}

/* ---- What a waiting fiber's stacks cost ---- */

static size_t page_up(size_t n)
{
    return (n + 4095) & ~(size_t)4095;
}

/* When a fiber gives way, its stacks are charged to the heap limit for
 * what they hold now (the slot stack up to its innermost frame, the
 * machine stack down to here), and the pages of its slot stack above
 * that, touched by a deeper recursion since, go back to the system: a
 * thousand fibers that each recursed deep and then wait cost what they
 * hold, and past the limit the one giving way gets OutOfMemoryError.
 * (The running fiber's stacks are bounded by their sizes.) False after
 * raising. */
static bool charge_stacks(kiln_vm *vm, rt_fiber *f)
{
    if (!f->mem)
        return true; /* the main program: the caller's stack */
    vm_ctx *X = f->X;
    size_t slots = 0;
    if (X->frame) {
        const vm_frame *fr = vm_frame_of(X->frame);
        vm_value *top = fr->fn ? vm_frame_next(X->frame, fr->fn) : X->frame;
        slots = page_up((size_t)((char *)top - (char *)X->stack) + 8 * VM_STACK_SLACK);
    }
    size_t machine = page_up((size_t)(f->mem + f->mem_len - (char *)__builtin_frame_address(0)));
    if (f->slot_top > slots) /* deeper before: those pages are given back */
        (void)madvise((char *)X->stack + slots, f->slot_top - slots, MADV_DONTNEED);
    f->slot_top = slots;
    size_t need = slots + machine < FIBER_CHARGE ? FIBER_CHARGE : slots + machine;
    if (need > f->charged) {
        if (!gc_reserve(&vm->heap, need - f->charged)) {
            rt_raise(vm, RT_ERR_OOM,
                     "out of memory: a waiting fiber's stacks hold %zu bytes, past the heap "
                     "limit of %zu bytes",
                     need, vm->heap.limit);
            return false;
        }
    } else {
        gc_release(&vm->heap, f->charged - need);
    }
    f->charged = need;
    return true;
}

/* ---- Switching ---- */

/* Unmaps the stacks of a fiber that has ended, once another runs. */
static void reap(rt_sched *S)
{
    rt_fiber *d = S->dead;
    if (d && d != S->cur) {
        S->dead = NULL;
        drop_stacks(d->vm, d);
    }
}

static void arrived(rt_sched *S)
{
#ifdef KILN_ASAN_FIBERS
    const void *lo;
    size_t size;
    __sanitizer_finish_switch_fiber(S->cur->asan_fake, &lo, &size);
    if (S->prev && S->prev->main) { /* the caller's stack, as ASan knows it */
        S->prev->asan_lo = lo;
        S->prev->asan_size = size;
    }
#endif
    reap(S);
}

static void switch_to(rt_sched *S, rt_fiber *from, rt_fiber *to)
{
    kiln_vm *vm = from->vm;
    vm_ticks_leave(vm); /* fuel is the run's, whichever fiber spends it */
    S->cur = to;
    S->prev = from;
    vm->ctx = to->X;
    vm_ticks_enter(vm);
    to->state = F_RUNNING;
#ifdef KILN_ASAN_FIBERS
    __sanitizer_start_switch_fiber(from->state == F_DONE ? NULL : &from->asan_fake, to->asan_lo,
                                   to->asan_size);
#endif
#ifdef __SANITIZE_THREAD__
    __tsan_switch_to_fiber(to->tsan, 0);
#endif
#ifdef RT_ASM_SWITCH
    rt_switch(&from->sp, to->sp);
#else
    swapcontext(&from->uc, &to->uc);
#endif
    /* back: another fiber switched to this one */
    arrived(S);
}

/* Ends the run where the main program stands: it raises `kind` (a limit,
 * os.exit, an internal error) as soon as it runs again. */
static void end_run(rt_sched *S, int kind, const char *msg)
{
    rt_fiber *m = &S->main;
    if (m->wake == W_END)
        return; /* the first reason stands */
    S->end_kind = kind;
    snprintf(S->end_msg, sizeof S->end_msg, "%s", msg);
    m->wake = W_END;
    if (m->state == F_BLOCKED)
        push(S, m, true);
}

/* The running fiber (me) gives way: to the next runnable fiber, or to
 * the loop until one is. Returns when me runs again: 0, or -1 after
 * raising what it was resumed for (DeadlockError, a limit, the end). An
 * ended fiber calls it to leave for good. */
static int give_way(kiln_vm *vm)
{
    rt_sched *S = vm->sched;
    rt_fiber *me = S->cur;
    if (me->state != F_DONE && !charge_stacks(vm, me)) {
        unsleep(S, me); /* it runs on, to raise: out of every line */
        for (rt_fiber **p = &S->head, *prev = NULL; *p; prev = *p, p = &(*p)->next)
            if (*p == me) {
                *p = me->next;
                if (S->tail == me)
                    S->tail = prev;
                break;
            }
        me->state = F_RUNNING;
        return -1;
    }
    for (;;) {
        /* Fibers that keep handing the CPU to each other must not starve
         * the timers and the sockets: every 64 switches the loop is looked
         * at, without waiting (what it wakes queues behind). */
        if (S->head && ++S->spins >= 64) {
            S->spins = 0;
            turn(vm, S->L, UV_RUN_NOWAIT);
        }
        rt_fiber *next = pop(S);
        if (next) {
            if (next != me)
                switch_to(S, me, next);
            me->state = F_RUNNING;
            break;
        }
        /* The run ends: rt_fiber_end waits for the fiber it resumed, which
         * has ended or waits again: on with the next, though the loop may
         * still hold the I/O of fibers not yet cancelled. */
        if (S->main.wake == W_CANCEL) {
            if (me->main) {
                me->state = F_RUNNING;
                break;
            }
            if (S->main.state == F_BLOCKED) {
                push(S, &S->main, true);
                continue;
            }
        }
        if (!uv_loop_alive(S->L)) { /* nothing can wake anyone */
            if (me->main) {
                me->state = F_RUNNING;
                rt_raise(vm, RT_ERR_DEADLOCK,
                         "deadlock: every fiber is blocked and nothing is pending that could "
                         "wake one");
                return -1;
            }
            if (S->main.wake == W_NONE)
                S->main.wake = W_DEADLOCK;
            if (S->main.state == F_BLOCKED)
                push(S, &S->main, true);
            continue;
        }
        vm_flush(vm); /* what was printed shows while the VM waits */
        uv_timer_start(&S->poll, on_poll, POLL_MS, POLL_MS);
        uint64_t waited = uv_hrtime();
        turn(vm, S->L, UV_RUN_ONCE);
        uv_timer_stop(&S->poll);
        vm_fuel_waited(vm, (double)(uv_hrtime() - waited) / 1e9); /* fuel burns while all wait */
        if (vm_limit_reached(vm) && !S->head) {
            if (me->state != F_DONE && me->wake == W_NONE) {
                me->state = F_RUNNING; /* raised here: the fiber unwinds */
                if (vm_poll_after_native(vm))
                    return -1;
            } else if (S->main.state == F_BLOCKED && S->main.wake != W_CANCEL) {
                char why[96];
                vm_limit_text(vm, why, sizeof why);
                end_run(S, RT_LIMIT, why);
            }
        }
    }
    int why = me->wake;
    me->wake = W_NONE;
    switch (why) {
    case W_CANCEL:
        if (me->main) /* rt_fiber_end's wait: not an error */
            return 0;
        me->cancelled = true;
        rt_raise(vm, RT_CANCEL, "cancelled");
        return -1;
    case W_DEADLOCK:
        rt_raise(vm, RT_ERR_DEADLOCK,
                 "deadlock: every fiber is blocked and nothing is pending that could wake one");
        return -1;
    case W_END: rt_raise(vm, S->end_kind, "%s", S->end_msg); return -1;
    default: return 0;
    }
}

/* A fiber's whole life, on its own stack. */
static void boot(rt_fiber *f)
{
    kiln_vm *vm = f->vm;
    rt_sched *S = vm->sched;
    arrived(S);
    vm_ctx *X = f->X;
    /* Its machine stack for compiled code's overflow check (jit_thread_enter
     * keeps what is set for this thread): a quarter kept in reserve. */
    X->c_thread = (unsigned long)pthread_self();
    X->c_limit = X->c_lo + (X->c_hi - X->c_lo) / 4;
    int rc = 0;
    if (f->wake != W_CANCEL) {
        vm_closure *c = f->fn;
        f->fn = NULL; /* its captures are the frame's registers from here */
        X->err_kind = RT_ERR_NONE;
        vm_value result;
        rc = c->fn->entry(vm, c->fn, c->caps, &result);
    }
    f->wake = W_NONE;
    if (rc != 0) {
        int kind = rc == -2 ? RT_EXIT : X->err_kind;
        if (X->pending && kind != RT_EXIT && kind != RT_LIMIT && kind != RT_FATAL &&
            kind != RT_CANCEL) {
            f->error = X->pending; /* join throws it again */
            X->pending = NULL;
            const char *frames = strchr(vm->error, '\n');
            size_t n = strlen("fiber 4294967295") + (frames ? strlen(frames) : 0) + 1;
            if ((f->trace = malloc(n)))
                snprintf(f->trace, n, "fiber %u%s", f->id, frames ? frames : "");
            f->failed_next = S->failed;
            S->failed = f;
        } else if (kind != RT_CANCEL) {
            end_run(S, kind, X->err_msg); /* os.exit, a limit: the whole run stops */
        }
    }
    f->state = F_DONE;
    for (rt_fiber *j = f->joiner; j; j = j->join_next)
        wake(S, j);
    f->joiner = NULL;
    /* off the live list: its stacks go once another fiber runs */
    for (rt_fiber **p = &S->live; *p; p = &(*p)->live_next)
        if (*p == f) {
            *p = f->live_next;
            break;
        }
    S->dead = f;
    for (;;)
        give_way(vm); /* nothing resumes an ended fiber */
}

/* ---- What the natives do ---- */

static rt_sched *running_sched(kiln_vm *vm)
{
    return vm->sched ? vm->sched : sched(vm);
}

int rt_fiber_park(kiln_vm *vm)
{
    rt_sched *S = running_sched(vm);
    if (!S)
        return -1;
    S->cur->state = F_BLOCKED;
    return give_way(vm);
}

bool rt_fiber_cancelled(kiln_vm *vm)
{
    return vm->sched && vm->sched->cur->cancelled;
}

bool rt_fiber_ended(vm_fiberobj *o)
{
    return !o->f || o->f->state == F_DONE;
}

void rt_fiber_wake(kiln_vm *vm, vm_fiberobj *o)
{
    if (vm->sched && o->f)
        wake(vm->sched, o->f);
}

int rt_fiber_join(kiln_vm *vm, vm_fiberobj *o)
{
    rt_sched *S = running_sched(vm);
    if (!S)
        return -1;
    rt_fiber *f = o->f, *me = S->cur;
    if (f == me) {
        rt_raise(vm, RT_ERR_DEADLOCK, "deadlock: a fiber cannot join itself");
        return -1;
    }
    while (f->state != F_DONE) {
        rt_fiber **end = &f->joiner; /* in line: joiners are woken first come first */
        while (*end)
            end = &(*end)->join_next;
        me->join_next = NULL;
        *end = me;
        me->state = F_BLOCKED;
        int rc = give_way(vm);
        for (rt_fiber **p = &f->joiner; *p; p = &(*p)->join_next) /* still listed: woken else */
            if (*p == me) {
                *p = me->join_next;
                break;
            }
        if (rc)
            return rc;
    }
    f->joined = true;
    if (f->error) {
        vm->ctx->pending = f->error;
        rt_raise(vm, RT_PENDING, "an error of fiber %u", f->id);
        return -1;
    }
    return 0;
}

int rt_fiber_sleep(kiln_vm *vm, int64_t ms)
{
    if (ms < 0) {
        rt_raise(vm, RT_ERR_VALUE, "sleep: %lld milliseconds is negative", (long long)ms);
        return -1;
    }
    rt_sched *S = running_sched(vm);
    if (!S)
        return -1;
    rt_fiber *me = S->cur;
    if (ms == 0) { /* the others that can run go first */
        push(S, me, false);
        return give_way(vm);
    }
    if (S->nsleepers == S->sleepers_cap) {
        uint32_t cap = S->sleepers_cap ? S->sleepers_cap * 2 : 16;
        rt_fiber **more = realloc(S->sleepers, cap * sizeof *more);
        if (!more) {
            rt_raise(vm, RT_ERR_OOM, "out of memory: no room for another sleeping fiber");
            return -1;
        }
        S->sleepers = more;
        S->sleepers_cap = cap;
    }
    uv_update_time(S->L);
    uint64_t now = uv_now(S->L);
    me->wake_at = (uint64_t)ms > UINT64_MAX - now ? UINT64_MAX : now + (uint64_t)ms;
    S->sleepers[S->nsleepers++] = me;
    sift(S, S->nsleepers - 1);
    arm(S);
    me->state = F_BLOCKED;
    int rc = give_way(vm);
    if (me->heap_at) { /* woken early (a limit, the end of the run) */
        unsleep(S, me);
        arm(S);
    }
    return rc;
}

/* ---- Host I/O ---- */

uv_loop_t *rt_io_loop(kiln_vm *vm)
{
    rt_sched *S = running_sched(vm);
    return S ? S->L : NULL;
}

void rt_io_begin(kiln_vm *vm, rt_io *w)
{
    w->fiber = vm->sched->cur;
    w->done = false;
    w->status = 0;
}

void rt_io_done(rt_io *w)
{
    w->done = true;
    wake(w->fiber->vm->sched, w->fiber);
}

int rt_io_wait(kiln_vm *vm, rt_io *w)
{
    while (!w->done) {
        vm->sched->cur->state = F_BLOCKED;
        if (give_way(vm))
            return -1;
    }
    return 0;
}

void rt_io_drain(kiln_vm *vm, rt_io *w)
{
    rt_sched *S = vm->sched;
    while (!w->done && uv_loop_alive(S->L))
        turn(vm, S->L, UV_RUN_ONCE); /* what it wakes waits its turn in the queue */
    w->done = true;
}

void rt_io_keep(kiln_vm *vm, rt_kept *k, uv_handle_t *h, void (*closed)(uv_handle_t *h))
{
    rt_sched *S = vm->sched;
    k->h = h;
    k->closed = closed;
    k->prev = NULL;
    k->next = S->kept;
    if (S->kept)
        S->kept->prev = k;
    S->kept = k;
}

void rt_io_unkeep(kiln_vm *vm, rt_kept *k)
{
    rt_sched *S = vm->sched;
    if (k->prev)
        k->prev->next = k->next;
    else if (S->kept == k)
        S->kept = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->prev = k->next = NULL;
}

/* ---- The end of a run ---- */

rt_fiber *rt_fiber_end(kiln_vm *vm)
{
    rt_sched *S = vm->sched;
    if (!S)
        return NULL;
    rt_fiber *m = &S->main;
    vm->ctx = &vm->main;
    S->cur = m;
    m->state = F_RUNNING;
    m->wake = W_NONE;
    S->head = S->tail = NULL;
    while (S->nsleepers) /* no timer keeps the loop waiting */
        unsleep(S, S->sleepers[0]);
    arm(S);
    /* One at a time: each is resumed to unwind, and comes back here when
     * it has ended (or one that never started ends at once). */
    while (S->live) {
        rt_fiber *f = S->live;
        unsleep(S, f);
        if (f->state == F_NEW) {
            S->live = f->live_next;
            f->state = F_DONE;
            f->fn = NULL;
            drop_stacks(vm, f);
            continue;
        }
        f->wake = W_CANCEL;
        push(S, f, false);
        m->state = F_BLOCKED;
        m->wake = W_CANCEL; /* give_way returns when nothing is left to run */
        give_way(vm);
        m->state = F_RUNNING;
        m->wake = W_NONE;
    }
    reap(S);
    S->head = S->tail = NULL;
    vm->ctx = &vm->main;
    /* An error no join took: the oldest. Each is told once. */
    rt_fiber *first = NULL;
    for (rt_fiber *f = S->failed; f; f = f->failed_next)
        if (!f->joined) {
            first = f;
            f->joined = true;
        }
    return first;
}

void rt_fiber_report(kiln_vm *vm, rt_fiber *f)
{
    rt_trace_fiber(vm, f->error, f->trace ? f->trace : "a fiber");
}

const char *rt_fiber_trace_of(kiln_vm *vm, const vm_inst *exc)
{
    if (!vm->sched || !exc)
        return NULL;
    for (const rt_fiber *f = vm->sched->failed; f; f = f->failed_next)
        if (f->error == exc)
            return f->trace;
    return NULL;
}

/* ---- The collector ---- */

void rt_fiber_mark(gc_heap *h, kiln_vm *vm)
{
    rt_sched *S = vm->sched;
    if (!S)
        return;
    if (S->main.obj)
        gc_mark(h, &S->main.obj->obj);
    for (rt_fiber *f = S->live; f; f = f->live_next) {
        gc_mark(h, f->obj ? &f->obj->obj : NULL);
        gc_mark(h, f->fn ? &f->fn->obj : NULL);
        vm_gc_mark_ctx(h, f->X);
    }
    /* An error no join has taken stays (with its Fiber) until the run's
     * end reports it, though nothing of the program holds the Fiber. */
    for (rt_fiber *f = S->failed; f; f = f->failed_next)
        if (!f->joined)
            gc_mark(h, f->obj ? &f->obj->obj : NULL);
}

void rt_fiber_trace(gc_heap *h, vm_fiberobj *o)
{
    if (o->f && o->f->error)
        gc_mark(h, &o->f->error->obj);
}

void rt_fiber_release(kiln_vm *vm, vm_fiberobj *o)
{
    rt_fiber *f = o->f;
    o->f = NULL;
    if (!f)
        return;
    f->obj = NULL;
    if (f->main || f->state != F_DONE) /* at kiln_free: rt_fiber_free's */
        return;
    for (rt_fiber **p = &vm->sched->failed; *p; p = &(*p)->failed_next)
        if (*p == f) {
            *p = f->failed_next;
            break;
        }
    free(f->trace);
    free(f);
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void rt_fiber_free(kiln_vm *vm)
{
    rt_sched *S = vm->sched;
    if (!S)
        return;
    while (S->live) { /* none, unless kiln_free came in the middle of a run */
        rt_fiber *f = S->live;
        S->live = f->live_next;
        drop_stacks(vm, f);
        free(f);
    }
    if (S->dead && S->dead != &S->main)
        drop_stacks(vm, S->dead);
    while (S->kept) { /* closed by their own callbacks, which free them */
        rt_kept *k = S->kept;
        rt_io_unkeep(vm, k);
        if (!uv_is_closing(k->h))
            uv_close(k->h, k->closed);
    }
    /* Every handle closed (the modules' were, as their objects were
     * freed; any left is closed here), their callbacks run, then the loop
     * itself, with its descriptors. On the host's loop, only the VM's own
     * handles are closed, and one turn of it runs their callbacks. */
    if (S->L == &S->own) {
        uv_walk(S->L, close_handle, NULL);
        turn(vm, S->L, UV_RUN_DEFAULT);
        uv_loop_close(S->L);
    } else {
        uv_close((uv_handle_t *)&S->timer, NULL);
        uv_close((uv_handle_t *)&S->poll, NULL);
        turn(vm, S->L, UV_RUN_NOWAIT);
    }
    free(S->sleepers);
    free(S);
    vm->sched = NULL;
}
